"""The one place where every output file's columns are defined: name, dtype and meaning (§8).

`docs/outputs.md` is generated from this module
(`python -c "import bilancio_lite.schema as s; print(s.render_markdown())" > docs/outputs.md`),
and a test checks that it is up to date and that written CSVs have exactly these columns.

dtypes: "int" (int64), "Int" (nullable integer, blank when missing), "float", "bool", "str".

Generated from the columns: :class:`RowFields` ``TRADE``, ``REPAY``, ``INV``, ``SYS`` and ``TRADER``,
the column positions inside the rows the engine writes (``row[SYS.settled_face]``), and ``SYS.row``,
which builds a row from values by column name. Also here: the shared vocabulary (buckets,
regimes, grid axes, pair keys, class names) that every other module imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple


class Column(NamedTuple):
    name: str
    dtype: str
    meaning: str


# --- the shared vocabulary: every module imports these names from here -------------------------

#: Maturity buckets by remaining maturity tau, in order (§2.4): index 0, 1, 2 in the engine.
BUCKETS: tuple[str, str, str] = ("short", "mid", "long")
#: The two runs of a pair (§6.2), in the order they are run and reported.
REGIMES: tuple[str, str] = ("passive", "active")
#: The four axes of the Plan 024 grid (§6.4); a grid cell is one value of each.
GRID_AXES: tuple[str, ...] = ("kappa", "concentration", "mu", "outside_mid_ratio")
#: A pair of a grid sweep (§6.2, §6.3): its cell and its replicate seed. Use ``list(PAIR_KEYS)``
#: when passing them to pandas: a tuple would be read as one label.
PAIR_KEYS: tuple[str, ...] = (*GRID_AXES, "seed")
#: The order of the rows of comparison.csv (§8.5): the pair keys with the one further model
#: parameter of the identity columns, monotonicity, in parameter order.
COMPARISON_ORDER: tuple[str, ...] = ("kappa", "concentration", "mu", "monotonicity", "outside_mid_ratio", "seed")
#: Vocabularies of the classification columns (§7.2, §7.4), in their natural order.
EFFECT_CLASSES: tuple[str, ...] = ("improved", "unchanged", "worsened")
STRESS_REGIMES: tuple[str, ...] = ("low", "medium", "catastrophic")
BREADTHS: tuple[str, ...] = ("narrow", "middle", "broad")
STRATEGIES: tuple[str, ...] = ("no_trade", "hold_to_maturity", "sell_before", "round_trip")
#: The single interventions of a counterfactual run (§12), in the order they are tried and named.
INTERVENTIONS: tuple[str, ...] = ("own_sales", "paper_sales", "own_buys", "mm_rollover", "passive_prices")
#: How a trader's outcome changed between the regimes (§12): default only active, only passive,
#: or a default day that moved by at least one cycle (maturity_days).
CHANGES: tuple[str, ...] = ("harmed", "rescued", "moved")
#: Channel labels besides a "+"-joined set of single interventions (§12).
JOINT, NOT_EXPLAINED = "joint", "not explained"
#: ``output.attribution`` of a sweep file (§12): which changed traders get counterfactual runs.
ATTRIBUTION_SCOPES: tuple[str, ...] = ("off", "harmed", "changed")


def _cols(spec: str) -> tuple[Column, ...]:
    out = []
    for line in spec.strip().splitlines():
        name, dtype, meaning = (part.strip() for part in line.split("|", 2))
        out.append(Column(name, dtype, meaning))
    return tuple(out)


IDENTITY = _cols("""
run_id | str | `{regime}_k{kappa}_c{c}_mu{mu}_rho{rho}_s{seed}`; in a sweep with variants or further grid axes `{regime}_{variant}__k…_s{seed}_{axis}-{value}…` (§6.4)
regime | str | passive or active
seed | int | pair seed s = base_seed + replicate (§6.3)
kappa | float | base trader liquidity / base ring debt
concentration | float | Dirichlet concentration c
mu | float | lead-lag maturity misalignment
monotonicity | float | ordering of debt sizes m
outside_mid_ratio | float | rho: initial outside mid per unit face
n_traders | int | N
face_value | float | S: ticket face in u (in repayment_events this identity column is named ticket_face)
""")#: Columns carried by every row of every per-run file (§8), in order.
IDENTITY_COLUMNS: tuple[str, ...] = tuple(c.name for c in IDENTITY)


TRADES = _cols("""
day | int | simulation day
seq | int | order of the execution within the day (transfers first, then customer trades)
kind | str | customer (a trader trades with a market maker) or transfer (re-homing, §3.5)
side | str | SELL / BUY from the customer's view; TRANSFER for re-homing
bucket | str | maturity bucket of the ticket at the trade (short/mid/long)
ticket_id | int | ticket id
lineage_id | int | id of the initial ticket this one descends from
issuer_id | str | issuing trader
ticket_due_day | int | due day of the ticket
tau | int | remaining maturity due - day
face | float | S, in u
unit_price | float | price per unit face
cash_amount | float | unit_price * S, in u
buyer_id | str | buying agent
buyer_type | str | trader / dealer / vbt
seller_id | str | selling agent
seller_type | str | trader / dealer / vbt
route | str | interior or passthrough (blank for transfers)
pass_reason | str | guard / capacity / cash / empty / issuer, blank for interior trades and transfers
hit_inventory_limit | bool | pass-through because of the dealer's own balance sheet (capacity, cash or empty)
outside_mid | float | M_b of the ticket's bucket
outside_bid | float | B_b
outside_ask | float | A_b
dealer_mid | float | kernel mid p(x) before the trade
dealer_bid_before | float | clipped dealer bid before the trade
dealer_ask_before | float | clipped dealer ask before the trade
dealer_inventory_before | int | dealer's home-bucket tickets in this bucket before the trade
dealer_inventory_after | int | same, after (equal for pass-through)
dealer_cash_before | float | dealer cash before, in u
dealer_cash_after | float | dealer cash after, in u
dealer_capacity | int | K* before the trade, in tickets
trader_id | str | the customer (blank for transfers)
trader_cash_before | float | customer cash before, in u (blank for transfers)
trader_cash_after | float | customer cash after, in u (blank for transfers)
trader_gap_before | float | customer's liquidity gap before, in u (§4.1; blank for transfers)
trader_gap_after | float | customer's liquidity gap after, in u (blank for transfers)
is_liquidity_driven | bool | trader_gap_before > 0
""")

REPAYMENT_EVENTS = _cols("""
trader_id | str | the issuing trader
liability_id | str | `{trader_id}@{maturity_day}`
cycle | int | 1 for the initial liabilities, +1 per rollover
maturity_day | int | D, the due day of the cohort
n_tickets | int | tickets in the cohort (ring and holder pieces)
face_value | float | S * n_tickets, in u
face_held_by_traders | float | face of the cohort held by traders at settlement, in u
face_held_by_dealers | float | face held by dealers at settlement, in u
face_held_by_vbts | float | face held by VBTs at settlement, in u
outcome | str | repaid (R = 1) or defaulted
recovery_rate | float | R of the issuer on D
window_start | int | first day of the window (prev_D + 1; 0 for cycle 1)
window_end | int | D (trades on D happen before settlement and count)
buy_count | int | tickets the trader bought in the window
sell_count | int | tickets the trader sold in the window
face_bought | float | S * buy_count, in u
face_sold | float | S * sell_count, in u
net_cash_pnl | float | sale proceeds minus purchase costs in the window, in u
held_matching_maturity | bool | at the start of some day in the window the trader held a ticket due on D
ended_holding | bool | the trader still held tickets at settlement
strategy | str | no_trade / hold_to_maturity / sell_before / round_trip (§7.4)
many_round_trips | bool | min(buy_count, sell_count) >= 2
used_dealer | bool | buy_count + sell_count > 0
gap_at_window_start | float | liquidity gap at the start of the window's first day, in u
rollover_price | float | (addition, rev 2) price q per unit face at which the repaid cohort was offered to roll at S8 (1 at par; §5.4); blank when it defaulted or rollover is off
""")

INVENTORY = _cols("""
day | int | simulation day
bucket | str | short / mid / long
dealer_inventory_start | int | dealer's home-bucket tickets after re-homing (S2)
dealer_inventory | int | home-bucket tickets at the end of trading (S6)
dealer_offbucket_tickets | int | tickets the dealer holds outside its home bucket (not due today)
dealer_cash | float | dealer cash, in u
dealer_max_capacity | int | K*, in tickets
dealer_max_capacity_face | float | X* = S*K*, in u
capacity_used_pct | float | 100*a/K* (0 if K* = 0)
is_at_zero | bool | a = 0
hit_limit_this_step | bool | some trade in this bucket today had hit_inventory_limit
vbt_used_this_step | bool | some pass-through in this bucket today
n_interior | int | interior customer trades in this bucket today
n_passthrough | int | pass-through customer trades in this bucket today
dealer_bid | float | clipped dealer bid (per unit face)
dealer_ask | float | clipped dealer ask (per unit face)
dealer_mid | float | kernel mid p(x)
outside_mid | float | M_b
outside_spread | float | O_b
vbt_inventory | int | the VBT's home-bucket tickets
vbt_cash | float | VBT cash, in u
bucket_face_outstanding | float | S * all tickets in this bucket, any holder, in u
face_dealer | float | face in this bucket held by dealers, in u
face_vbt | float | face in this bucket held by VBTs, in u
face_traders | float | face in this bucket held by traders, in u
share_dealer | float | face_dealer / bucket_face_outstanding (0 if empty)
share_vbt | float | face_vbt / bucket_face_outstanding
share_market_makers | float | share_dealer + share_vbt
share_traders | float | face_traders / bucket_face_outstanding
""")

SYSTEM_STATE = _cols("""
day | int | simulation day
total_face_outstanding | float | S * all outstanding tickets at the start of the day (S3), in u
face_short | float | face in the short bucket, in u
face_mid | float | face in the mid bucket, in u
face_long | float | face in the long bucket, in u
face_due_today | float | face due today, in u
total_cash | float | cash of all agents, in u (constant: I1)
cash_traders | float | cash of all traders (defaulted included), in u
cash_dealers | float | cash of the three dealers, in u
cash_vbts | float | cash of the three VBTs, in u
cash_stranded | float | cash held by defaulted traders, in u
debt_to_money | float | total_face_outstanding / total_cash
trader_debt_to_money | float | face of non-defaulted traders' liabilities / their cash (blank if that cash is 0)
kappa_t | float | 1 / trader_debt_to_money (blank if the debt is 0)
n_defaulted_traders | int | cumulative defaulted traders after today's settlement
settled_face | float | face that matured today (S7), in u
defaulted_face | float | face of today's maturing tickets whose issuer defaulted, in u
recovered_cash | float | cash paid by today's issuers, in u
rolled_face | float | face of new tickets issued by rollover today (S8), in u
unfunded_rollovers | int | rollover candidates that lapsed for lack of lender cash today
declined_rollovers | int | (rev 2) rollover candidates whose trader lender declined to re-lend today (liquidity_aware, §5.4); 0 under forced
n_rationed_sellers | int | (rev 2) traders with a gap and a tau >= 1 ticket but no executable bid for any of them at the end of S5 (§4.2, R2.4); 0 in passive runs
loss_rate_anchor | float | (rev 2) the day's loss rate ell_t that feeds the anchors (§3.6): (settled_face - recovered_cash) / total_face_outstanding under anchor_loss_basis = outstanding
rollover_hazard | float | (rev 2) lambda_t: mean outstanding-basis loss rate of the last T days, today's included (§5.4); computed under par too
mean_rollover_price | float | (rev 2) mean price q of today's rollovers (blank when none rolled; 1 at par)
M_short | float | outside mid of the short bucket used today
M_mid | float | outside mid of the mid bucket used today
M_long | float | outside mid of the long bucket used today
""")

TRADERS = _cols("""
trader_id | str | H1..HN
init_cash | float | cash at t = 0 (base liquidity + matching cash), in u
init_liability_face | float | face of the trader's t = 0 liabilities (ring + holder claims), in u
init_claims_face | float | face of the tickets it holds at t = 0, in u
own_due_day | int | T_i, due day of its liabilities at t = 0
debtor_due_day | int | T_{i-1}, due day of the claims it holds at t = 0
maturity_mismatch | int | T_{i-1} - T_i (> 0: paid after paying)
ring_tickets | int | n_i, its ring tickets
vbt_tickets | int | v_i, tickets it issued to the VBT
dealer_tickets | int | d_i, tickets it issued to the dealer
defaulted | bool | defaulted within the horizon
default_day | Int | day of default (blank if none)
tickets_sold | int | tickets it sold over the run
tickets_bought | int | tickets it bought over the run
""")

COMPARISON = _cols("""
kappa | float | base trader liquidity / base ring debt
concentration | float | Dirichlet concentration
mu | float | maturity misalignment
monotonicity | float | ordering of debt sizes
outside_mid_ratio | float | rho
seed | int | pair seed
replicate | int | replicate index r
variant | str | (addition) name of the sweep variant (§6.4); blank in a sweep without variants
n_traders | int | N
maturity_days | int | T
face_value | float | S
Q_total | float | Q
vbt_share | float | v
dealer_share | float | d
share_basis | str | final / original
horizon_H | int | H
t_end | int | last simulated day
rollover | bool | rollover on
rollover_lender | str | forced / liquidity_aware (§5.4, R2.2)
rollover_price | str | par / risk_priced (§5.4, R2.7)
rollover_price_floor | float | lowest risk-priced rollover price per unit face
clearing | str | simultaneous / sequential
anchor_update | str | on / off
anchor_loss_basis | str | outstanding / maturing (§3.6, R2.3)
invest | bool | buyer policy on
kappa_eff | float | realized trader cash / trader debt at t = 0
initial_tickets | int | initial lineages N_lin
delta_passive | float | defaulted lineages / N_lin, passive
delta_active | float | same, active
phi_passive | float | 1 - delta_passive
phi_active | float | 1 - delta_active
delta_initial_passive | float | defaulted face of initial tickets at first maturity / F0, passive
delta_initial_active | float | same, active
delta_matured_passive | float | defaulted / matured face over all maturities, passive
delta_matured_active | float | same, active
loss_rate_passive | float | 1 - recovered / matured face, passive
loss_rate_active | float | same, active
trader_default_rate_passive | float | defaulted traders / N, passive
trader_default_rate_active | float | same, active
trading_effect | float | delta_passive - delta_active (> 0: trading reduced defaults)
trading_relief_ratio | float | trading_effect / delta_passive (0 if delta_passive = 0)
effect_class | str | improved / unchanged / worsened (exact integer comparison)
stress_regime | str | low (< 0.1) / medium / catastrophic (> 0.9), from delta_passive
identical_default_set | bool | same defaulted traders on the same days in both runs
total_trades | int | executed customer trades in the active run
passthrough_count | int | of which pass-through
limit_hit_count | int | of which flagged hit_inventory_limit
n_traders_using_dealer | int | distinct traders with at least one trade
dealer_total_pnl | float | sum over buckets of the dealer's equity change at mid, in u
dealer_total_return | float | dealer_total_pnl / initial dealer equity
vbt_total_pnl | float | same for the VBTs, in u
failed_attempts | int | attempted customer trades that did not execute (no_liquidity or buyer cash)
rationed_seller_days | int | (rev 2) sum over days of n_rationed_sellers, active run (§4.2, R2.4)
declined_rollovers_passive | int | (rev 2) rollovers declined by trader lenders, passive (§5.4)
declined_rollovers_active | int | (rev 2) same, active
trade_day_share_day0 | float | (rev 2, §7.5) share of customer trades executed on day 0 (blank without trades)
last_customer_trade_day | Int | (rev 2, §7.5) last day with a customer trade (blank without trades)
last_default_day_passive | Int | (addition, rev 2, §7.5) last day on which a trader defaulted, passive (blank if none)
last_default_day_active | Int | (addition, rev 2, §7.5) same, active
defaults_after_cycle1_passive | int | (rev 2, §7.5) defaulted lineages whose default came in a cycle > 1, passive
defaults_after_cycle1_active | int | (rev 2, §7.5) same, active
min_M_active | float | (rev 2, §7.5) lowest outside mid of any bucket used over the active run
dealer_inventory_from_customers_share | float | (rev 2, §7.5) share of the dealers' ticket-days (held at S6) bought from customers rather than received at t = 0, by rollover or by re-homing
harmed_traders | int | (rev 2, §7.5) traders that defaulted in the active run only
rescued_traders | int | (rev 2, §7.5) traders that defaulted in the passive run only
mean_rollover_price_passive | float | (rev 2) mean price q over the run's rollovers, passive (blank if none)
mean_rollover_price_active | float | (rev 2) same, active
passive_run_id | str | run id of the passive run
active_run_id | str | run id of the active run
status | str | ok
delta_ring_passive | float | (addition) delta restricted to ring lineages, passive
delta_ring_active | float | (addition) same, active
defaulted_lineages_passive | int | (addition) numerator of delta_passive
defaulted_lineages_active | int | (addition) numerator of delta_active
n_defaulted_traders_passive | int | (addition) defaulted traders, passive
n_defaulted_traders_active | int | (addition) defaulted traders, active
first_default_day_passive | Int | (addition) first default day, passive (blank if none)
first_default_day_active | Int | (addition) first default day, active (blank if none)
interior_count | int | (addition) interior customer trades
transfer_count | int | (addition) re-homing transfers
total_face_traded | float | (addition) S * customer tickets traded, in u
total_cash_volume | float | (addition) sum of customer p*S, in u
dealer_active_fraction | float | (addition) share of days with a > 0 in some bucket (active run)
dealer_empty_fraction | float | (addition) share of days with a = 0 in every bucket (active run)
vbt_usage_fraction | float | (addition) share of days with a pass-through in some bucket
dealer_last_active_day | Int | (addition) last day with a > 0 in some bucket (blank if never)
frac_defaulted_that_traded | float | (addition) face-weighted share of defaulted liabilities whose trader traded
frac_repaid_that_traded | float | (addition) same among repaid liabilities
vbt_total_return | float | (addition) vbt_total_pnl / initial VBT equity
mean_debt_to_money_passive | float | (addition) mean of debt_to_money over days, passive
mean_debt_to_money_active | float | (addition) same, active
debt_shrink_rate_passive | float | (addition) (F_first - F_last) / F_first, passive
debt_shrink_rate_active | float | (addition) same, active
market_open_from | int | (addition, §4.4) first day of the trading window
market_open_until | Int | (addition, §4.4) last day of the trading window (blank: every day to t_end)
mm_cash_ratio | float | (addition, §2.5) market makers' cash at t = 0 per unit face held (= outside_mid_ratio unless set apart)
mm_total_pnl | float | (addition) dealer_total_pnl + vbt_total_pnl: the market makers' P&L at mid over the active run, in u
mm_total_pnl_passive | float | (addition) the same over the passive run (losses on defaulted claims and marks), in u
avoided_defaults_per_mm_loss | float | (addition) face of defaulted lineages avoided by trading (S x (defaulted_lineages_passive - defaulted_lineages_active)) per u the market makers lost to trading (mm_total_pnl_passive - mm_total_pnl); blank when trading cost them nothing
""")

def _attribution_cols() -> tuple[Column, ...]:
    head = _cols("""
trader_id | str | the changed trader x
change | str | harmed (default only active), rescued (default only passive) or moved (default day moved by at least maturity_days) (§12)
default_day_passive | Int | x's default day in the passive run (blank if none)
default_day_active | Int | x's default day in the active run (blank if none)
channel | str | the single interventions that revert x, joined by "+"; joint when only all applicable ones together revert it; not explained otherwise (§12)
n_applicable | int | single interventions that apply to x
""")
    per = []
    for iv in (*INTERVENTIONS, JOINT):
        what = (f"the active run under {iv}" if iv != JOINT
                else "the active run under every applicable intervention together (run only when no single one reverts x and at least two apply)")
        per += [Column(f"{iv}_applies", "bool", f"whether {iv} was run for x ({what})" if iv == JOINT
                       else f"whether {iv} applies to x (§12) and was run"),
                Column(f"{iv}_default_day", "Int", f"x's default day under {iv} (blank if none or not run)"),
                Column(f"{iv}_reverts", "bool", f"x's outcome under {iv} is its passive outcome (false if not run)"),
                Column(f"{iv}_collateral", "Int", f"other traders whose outcome changes against the active run under {iv} (blank if not run)")]
    return head + tuple(per)


#: attribution (§12, issue 19): one row per changed trader of a pair, written when the sweep's
#: ``output.attribution`` is harmed or changed; identity columns as the active run's.
ATTRIBUTION = _attribution_cols()
#: columns added to comparison.csv when the sweep's ``output.attribution`` is on (§12): per
#: intervention, the pair's harmed and rescued traders that revert under it.
COMPARISON_ATTRIBUTION = tuple(
    Column(f"{kind}_revert_{iv}", "int", f"(§12) {kind} traders of the pair that revert under {iv}")
    for kind in ("harmed", "rescued") for iv in (*INTERVENTIONS, JOINT))

FILES: dict[str, tuple[Column, ...]] = {
    "trades": TRADES,
    "repayment_events": REPAYMENT_EVENTS,
    "inventory_timeseries": INVENTORY,
    "system_state_timeseries": SYSTEM_STATE,
    "traders": TRADERS,
}


# --- the analysis tables under aggregate/ (§8.6): summary CSV or row-level Parquet --------------

#: The row-level analysis tables (§8.6), each with its grain. The rule that makes this list: a
#: table whose rows are keyed by a pair or run *and* by a trader, day or bucket of it (columns
#: ``run_id``, ``pair_id`` or ``seed`` together with ``trader_id``, ``day`` or ``bucket``), like the
#: per-run files of §8.1–§8.4, grows with the sweep (on plan024_r20 up to 2.3 M rows, 213 MB as
#: CSV). :func:`bilancio_lite.analysis.write_table` writes these as ``aggregate/<name>.parquet``
#: (zstd, as the sweep store); every other table the notebooks write is a summary, at most a row
#: per pair (per pair, grid cell, class, cut or test), and stays ``aggregate/<name>.csv``. A test
#: checks the rule against every table the report writes on the smoke sweep.
ROW_LEVEL_TABLES: dict[str, str] = {
    "bucket_depletion": "one row per run × dealer bucket: inventory at the start and end, first days "
                        "at zero and at capacity (05, §8.6 D)",
    "dealer_inventory_share": "one row per run × day × bucket: dealer inventory against the bucket's "
                              "face outstanding (05, §8.6 D)",
    "dealer_inventory_vs_debt": "one row per run × day: dealer inventory face against the total face "
                                "outstanding (05, §8.6 D)",
    "trader_initial_conditions": "one row per pair × trader: initial conditions, outcomes in both "
                                 "regimes, strategy face (04, §8.6 E)",
    "why_trader_mechanisms": "one row per harmed or rescued trader of a pair, with the mechanism that "
                             "explains it (06, §7.5)",
}


def aggregate_format(name: str) -> str:
    """The file format of the analysis table ``name`` under ``aggregate/`` (§8.6): "parquet" for
    a row-level table (:data:`ROW_LEVEL_TABLES`), "csv" for every other (summary) table."""
    return "parquet" if name in ROW_LEVEL_TABLES else "csv"


class RowFields:
    """Positions of a per-run file's own columns inside the rows the engine writes (§8).

    Generated from the file's columns above; the identity columns are not part of the engine's
    rows (they are added when a table is built), so position 0 is the file's first own column.
    Readers use names: ``row[SYS.settled_face]``, ``REPAY.as_dict(row)["outcome"]``; a writer
    that is not in a hot loop builds its row by name with :meth:`row`, so adding a column is a
    change here and in the code that computes its value, nothing else.
    """

    def __init__(self, file: str, cols: tuple[Column, ...]) -> None:
        names = tuple(c.name for c in cols)
        for name in names:
            if name in ("file", "names") or name.startswith("_") or hasattr(type(self), name):
                raise ValueError(f"{file}: column name {name!r} clashes with a RowFields attribute")
        self.__dict__.update({name: k for k, name in enumerate(names)}, file=file, names=names)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the row fields of {self.file} are read-only")

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"RowFields({self.file!r}: {', '.join(self.names)})"

    def row(self, values: Mapping[str, Any]) -> tuple:
        """The row of ``{column: value}`` in schema order; every column once, no other key."""
        try:
            row = tuple([values[name] for name in self.names])
        except KeyError as err:
            raise KeyError(f"{self.file} row: no value for column {err.args[0]!r}") from None
        if len(values) != len(row):
            extra = ", ".join(sorted(set(values) - set(self.names)))
            raise KeyError(f"{self.file} row: not a column of the schema: {extra}")
        return row

    def as_dict(self, row: tuple) -> dict[str, Any]:
        """``{column: value}`` of one engine row (identity columns excluded)."""
        if len(row) != len(self.names):
            raise ValueError(f"{self.file} row has {len(row)} values, the schema {len(self.names)} columns")
        return dict(zip(self.names, row))


#: Column positions inside the engine's rows of each per-run file (identity columns excluded).
ROW_FIELDS: dict[str, RowFields] = {file: RowFields(file, cols) for file, cols in FILES.items()}
TRADE = ROW_FIELDS["trades"]                      # §8.1
REPAY = ROW_FIELDS["repayment_events"]            # §8.2
INV = ROW_FIELDS["inventory_timeseries"]          # §8.3
SYS = ROW_FIELDS["system_state_timeseries"]       # §8.4
TRADER = ROW_FIELDS["traders"]                    # traders.csv (addition)


#: the identity columns as they appear in a given per-run file
def identity_names(file: str) -> list[str]:
    names = [c.name for c in IDENTITY]
    if file == "repayment_events":
        names[names.index("face_value")] = "ticket_face"
    return names


def columns(file: str) -> list[str]:
    """Full column list of a per-run file (identity first) or of comparison.csv."""
    if file == "comparison":
        return [c.name for c in COMPARISON]
    if file == "attribution":
        return identity_names(file) + [c.name for c in ATTRIBUTION]
    return identity_names(file) + [c.name for c in FILES[file]]


def dtypes(file: str) -> dict[str, str]:
    """{column: dtype} of a per-run file (identity columns included) or of comparison.csv."""
    if file == "comparison":
        return {c.name: c.dtype for c in COMPARISON}
    ident = dict(zip(identity_names(file), (c.dtype for c in IDENTITY)))
    return ident | {c.name: c.dtype for c in (ATTRIBUTION if file == "attribution" else FILES[file])}


def render_markdown() -> str:
    """The user-facing table of every output file (docs/outputs.md)."""
    parts = [
        "# Output files",
        "",
        "Generated from `bilancio_lite/schema.py` (`render_markdown`);",
        "a test fails when this file is stale. Model: [`docs/model.md`](model.md) §8. Units: u = currency units;",
        "prices are per unit face (par = 1).",
        "",
        "Per run: `<out>/{passive|active}/runs/<run_id>/<file>.csv`. Every row starts with the identity",
        "columns below. In `repayment_events.csv` the identity column `face_value` (S) is named",
        "`ticket_face`, because §8.2 uses `face_value` for the face of the liability cohort.",
        "",
    ]

    def table(title: str, cols: tuple[Column, ...]) -> None:
        parts.extend([f"## {title}", "", "| column | dtype | meaning |", "|---|---|---|"])
        parts.extend(f"| `{c.name}` | {c.dtype} | {c.meaning} |" for c in cols)
        parts.append("")

    table("Identity columns (every per-run file)", IDENTITY)
    table("trades.csv (§8.1): one row per executed ticket transfer", TRADES)
    table("repayment_events.csv (§8.2): one row per trader liability cohort that matured", REPAYMENT_EVENTS)
    table("inventory_timeseries.csv (§8.3): one row per day × bucket, taken at S6", INVENTORY)
    table("system_state_timeseries.csv (§8.4): one row per day; stocks at S3, flows from S7–S8",
          SYSTEM_STATE)
    table("traders.csv (addition): one row per trader, initial conditions and outcome", TRADERS)
    table("aggregate/comparison.csv (§8.5): one row per pair; columns marked (addition) extend §8.5",
          COMPARISON)
    table("attribution (§12): one row per changed trader of a pair, in the Parquet store when the sweep's "
          "`output.attribution` is `harmed` or `changed`; every row starts with the active run's identity columns",
          ATTRIBUTION)
    table("comparison.csv, columns appended when `output.attribution` is on (§12)", COMPARISON_ATTRIBUTION)
    parts.extend([
        "## aggregate/: the analysis tables (§8.6)",
        "",
        "The analysis notebooks (`bilancio-lite report`) write every table they compute under",
        "`<sweep>/aggregate/`, in one of two formats, by one rule: a **row-level** table, whose rows are",
        "keyed by a pair or run *and* by a trader, day or bucket of it (like the per-run files above),",
        "is written as `aggregate/<name>.parquet` (zstd); every other table is a **summary** (at most",
        "a row per pair: per pair, grid cell, class, cut or test) and is written as",
        "`aggregate/<name>.csv`. Both have the columns of the DataFrame the notebook shows. Read a",
        "Parquet table with `pandas.read_parquet`, with `bilancio_lite.analysis.read_table(sweep, name)`",
        "(either format), or in SQL: `load_sweep(sweep).sql(\"SELECT * FROM trader_initial_conditions\")`",
        "(every `aggregate/*.parquet` is a view of that name).",
        "",
        "| row-level table (Parquet) | rows |",
        "|---|---|",
        *(f"| `aggregate/{name}.parquet` | {grain} |" for name, grain in sorted(ROW_LEVEL_TABLES.items())),
        "",
    ])
    return "\n".join(parts)


if __name__ == "__main__":  # pragma: no cover
    print(render_markdown())
