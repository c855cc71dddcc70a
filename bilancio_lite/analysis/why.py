"""Why the results look the way they do: the §7.5 diagnostics across a sweep (notebook 06).

Pure functions over the §8 tables: on which days customers trade (§8.1), when defaults happen by
cycle (§8.2), the outside mid's path (§8.4), where the dealers' inventory comes from (§7.5, §8.1
transfers = re-homing, §3.5), and a mechanism for every harmed or rescued trader (§7.5).

Mechanisms (:func:`trader_mechanisms`). A trader is *harmed* if it defaulted in the active run only,
*rescued* if it defaulted in the passive run only (§7.5). ``D`` is its default day (active for
harmed, passive for rescued); its *debtor* is the ring neighbour whose claims it holds (H_{i-1},
§2.1); a sale is a customer SELL of the trader in the active run on or before ``D``.

harmed:
  - ``sold_claim_that_paid``: it sold at a discount a claim whose issuer had not defaulted by the
    claim's due day (the claim, or its rolled successor, paid the buyer in full);
  - ``sold_claim_issuer_defaulted``: it sold only claims whose issuer defaulted by their due day
    (the sale avoided a loss, yet it still defaulted);
  - ``debtor_defaulted_active_only``: no sale; its debtor defaulted in the active run on or before
    ``D`` but not in the passive run (contagion from someone else's trading);
  - ``other``: none of these.
rescued:
  - ``rescued_by_sale``: it sold at least one claim on or before ``D``;
  - ``debtor_rescued``: no sale; its debtor defaulted in the passive run on or before ``D`` but not
    (or later) in the active run;
  - ``other``: none of these.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import BUCKETS, require, trader_index
from .needs import ACTIVE, CUSTOMER_TRADES, Need, reads, row_counts

HARMED_MECHANISMS: tuple[str, ...] = (
    "sold_claim_that_paid", "sold_claim_issuer_defaulted", "debtor_defaulted_active_only", "other")
RESCUED_MECHANISMS: tuple[str, ...] = ("rescued_by_sale", "debtor_rescued", "other")
MECHANISM_TEXT: dict[str, str] = {
    "sold_claim_that_paid": "sold at a discount a claim that then paid in full",
    "sold_claim_issuer_defaulted": "sold only claims whose issuer later defaulted",
    "debtor_defaulted_active_only": "did not sell; its debtor defaulted with trading only",
    "rescued_by_sale": "was rescued by a sale before its passive default day",
    "debtor_rescued": "did not sell; its debtor was rescued",
    "other": "none of the above",
}
MECHANISM_COLUMNS: list[str] = [
    "pair_id", "variant", "rollover_lender", "trader_id", "outcome", "default_day", "n_sales",
    "n_sales_issuer_paid", "debtor_id", "debtor_default_day_passive", "debtor_default_day_active",
    "mechanism"]


def lender_scope(sweep_dir: str | os.PathLike) -> list[str] | None:
    """The variants notebook 06 reads (§6.4): None for a sweep without variants (every pair);
    otherwise the first variant (the baseline) and every variant that changes only
    ``rollover_lender``, so the mechanisms can be compared by lender rule."""
    import yaml

    path = Path(sweep_dir) / "sweep.yaml"
    data = yaml.safe_load(path.read_text()) if path.is_file() else {}
    variants = (data or {}).get("variants") or {}
    if not variants:
        return None
    names = list(variants)
    return [names[0]] + [v for v in names[1:] if set(variants[v] or {}) == {"rollover_lender"}]


def pair_of(run_id: pd.Series) -> pd.Series:
    """The pair id of a run id (``{regime}_{pair_id}``, §8). Each distinct run id is split once."""
    codes, uniques = pd.factorize(run_id, use_na_sentinel=False)
    pairs = pd.Series(uniques).astype(str).str.split("_", n=1).str[1].to_numpy()
    return pd.Series(pairs[codes], index=run_id.index, name=run_id.name, dtype=object)


def _pair_context(comparison: pd.DataFrame) -> pd.DataFrame:
    ctx = pd.DataFrame({"pair_id": pair_of(comparison["active_run_id"])})
    ctx["variant"] = comparison["variant"].fillna("").astype(str) if "variant" in comparison else ""
    ctx["rollover_lender"] = comparison["rollover_lender"] if "rollover_lender" in comparison else "forced"
    return ctx


@reads(trades=Need(["run_id", "regime", "kind", "day"], where=CUSTOMER_TRADES, counts=True))
def trade_days(trades: pd.DataFrame, last_day: int | None = None) -> pd.DataFrame:
    """Customer trades per day of the active runs (§8.1): ``day``, ``n_trades``, ``share`` of all,
    ``n_runs_trading`` (runs with a trade that day). Days without trades up to ``last_day`` are 0.
    ``trades`` may also be row counts per (run_id, regime, kind, day) (``Need.counts``)."""
    require(trades, ["run_id", "regime", "kind", "day"], "trades")
    cust = trades[(trades["regime"] == "active") & (trades["kind"] == "customer")]
    cust = cust.assign(_n=row_counts(cust))
    g = cust.groupby("day").agg(n_trades=("_n", "sum"), n_runs_trading=("run_id", "nunique"))
    top = int(max(last_day or 0, g.index.max() if len(g) else 0))
    g = g.reindex(range(top + 1), fill_value=0).rename_axis("day").reset_index()
    total = g["n_trades"].sum()
    g["share"] = g["n_trades"] / total if total else 0.0
    return g[["day", "n_trades", "share", "n_runs_trading"]]


def takeaway_trade_days(table: pd.DataFrame) -> str:
    """How concentrated customer trading is in time."""
    total = int(table["n_trades"].sum())
    if total == 0:
        return "No customer traded in any active run."
    day0 = float(table.loc[table["day"] == 0, "share"].sum())
    last = int(table.loc[table["n_trades"] > 0, "day"].max())
    return (f"{total} customer trades: {100 * day0:.1f}% on day 0, the last on day {last}; traders "
            f"sell when the gap projection first shows a shortfall, which for most is at t = 0.")


@reads(repayments=Need(["regime", "cycle", "outcome", "face_value", "maturity_day"], counts=True,
                       sums=("face_value",)))
def defaults_by_cycle(repayments: pd.DataFrame) -> pd.DataFrame:
    """Defaulted liability cohorts by regime and cycle (§8.2): ``n_defaulted``, ``face_defaulted``
    (u), ``n_matured``, ``default_rate`` (count share) and ``first_day`` / ``last_day``.

    ``repayments`` may also be grouped rows (``Need.counts``): ``n_rows`` rows per distinct
    (regime, cycle, outcome, maturity_day) with their ``face_value`` summed."""
    require(repayments, ["regime", "cycle", "outcome", "face_value", "maturity_day"], "repayment_events")
    d = repayments["outcome"] == "defaulted"
    n = row_counts(repayments)
    df = pd.DataFrame({"regime": repayments["regime"], "cycle": repayments["cycle"],
                       "_n": n, "_nd": d.astype("int64") * n,
                       "_fd": repayments["face_value"].where(d, 0.0),
                       "_day": repayments["maturity_day"].where(d)})
    g = df.groupby(["regime", "cycle"]).agg(
        n_matured=("_n", "sum"), n_defaulted=("_nd", "sum"), face_defaulted=("_fd", "sum"),
        first_day=("_day", "min"), last_day=("_day", "max")).reset_index()
    g["default_rate"] = g["n_defaulted"] / g["n_matured"]
    g["regime"] = pd.Categorical(g["regime"], ["passive", "active"], ordered=True)
    g = g.sort_values(["regime", "cycle"], kind="mergesort").reset_index(drop=True)
    g["regime"] = g["regime"].astype(str)
    return g[["regime", "cycle", "n_matured", "n_defaulted", "default_rate", "face_defaulted",
              "first_day", "last_day"]]


def takeaway_defaults_by_cycle(table: pd.DataFrame) -> str:
    """Share of defaulted cohorts that fall in cycle 1, per regime."""
    parts = []
    for regime in ("passive", "active"):
        t = table[table["regime"] == regime]
        n = int(t["n_defaulted"].sum())
        if n == 0:
            parts.append(f"{regime}: no defaults")
            continue
        first = int(t.loc[t["cycle"] == 1, "n_defaulted"].sum())
        parts.append(f"{regime}: {first} of {n} defaulted cohorts ({100 * first / n:.0f}%) in cycle 1")
    return ("Defaults by cycle — " + "; ".join(parts) + ". Defaults after cycle 1 need losses to "
            "change the terms of later cycles (e.g. risk-priced rollover, §5.4).")


@reads(system_state=Need(["regime", "day", *[f"M_{b}" for b in BUCKETS]]))
def outside_mid_path(system_state: pd.DataFrame) -> pd.DataFrame:
    """Outside mid per day, bucket and regime over runs (§8.4): mean, 10th and 90th percentiles."""
    cols = [f"M_{b}" for b in BUCKETS]
    require(system_state, ["regime", "day", *cols], "system_state")
    long = system_state.melt(id_vars=["regime", "day"], value_vars=cols, var_name="bucket", value_name="M")
    long["bucket"] = long["bucket"].str[2:]
    g = long.groupby(["regime", "bucket", "day"])["M"]
    out = pd.DataFrame({"mean_M": g.mean(), "p10_M": g.quantile(0.1), "p90_M": g.quantile(0.9)}).reset_index()
    out["regime"] = pd.Categorical(out["regime"], ["passive", "active"], ordered=True)
    out["bucket"] = pd.Categorical(out["bucket"], list(BUCKETS), ordered=True)
    out = out.sort_values(["regime", "bucket", "day"], kind="mergesort").reset_index(drop=True)
    out[["regime", "bucket"]] = out[["regime", "bucket"]].astype(str)
    return out


def takeaway_outside_mid(path: pd.DataFrame) -> str:
    """How far the mean outside mid falls from day 0 to the last day (active runs)."""
    act = path[path["regime"] == "active"]
    if act.empty:
        return "No active runs."
    parts = []
    for b in BUCKETS:
        t = act[act["bucket"] == b].sort_values("day")
        if t.empty:
            continue
        parts.append(f"{b} {t['mean_M'].iloc[0]:.3f} -> {t['mean_M'].iloc[-1]:.3f}"
                     f" (lowest {t['mean_M'].min():.3f})")
    return ("Mean outside mid from day 0 to the last day, active runs: " + "; ".join(parts) +
            " (the anchors move with realised losses, §3.6).")


@reads(trades=Need(["run_id", "regime", "kind", "buyer_type", "seller_type"], where=ACTIVE, counts=True),
       repayments=Need(["run_id", "regime", "outcome", "face_held_by_dealers", "ticket_face"], where=ACTIVE,
                       counts=True, sums=("face_held_by_dealers",)),
       traders=Need(["run_id", "regime", "dealer_tickets"], where=ACTIVE, counts=True, sums=("dealer_tickets",)))
def inventory_provenance(trades: pd.DataFrame, comparison: pd.DataFrame, repayments: pd.DataFrame | None = None,
                         traders: pd.DataFrame | None = None) -> pd.DataFrame:
    """Where the dealers' inventory comes from, per variant, over the active runs (§7.5): tickets
    received at t = 0 (``dealer_tickets`` of traders.csv, §2.5), repaid tickets the dealers held at
    settlement, which roll back to them as new paper (§5.4; an upper bound: a dealer short of
    cash lets one lapse), tickets bought from customers (interior SELLs) and received by re-homing
    transfers (§3.5), tickets sold to customers, and the mean of
    ``dealer_inventory_from_customers_share`` (share of ticket-days bought from customers).

    ``trades`` may also be row counts per (run_id, regime, kind, buyer_type, seller_type) in a
    column ``n_rows`` (:meth:`~bilancio_lite.analysis.io.SweepData.count`), and ``repayments`` /
    ``traders`` grouped rows with ``face_held_by_dealers`` / ``dealer_tickets`` summed (whole
    tickets, so the sums are exact): the same result without holding the tables in memory."""
    require(trades, ["run_id", "regime", "kind", "buyer_type", "seller_type"], "trades")
    ctx = _pair_context(comparison)[["pair_id", "variant"]]

    def active(df: pd.DataFrame) -> pd.DataFrame:
        a = df[df["regime"] == "active"]
        return a.assign(pair_id=pair_of(a["run_id"])).merge(ctx, on="pair_id", how="inner")

    t = active(trades)
    t["from_customers"] = (t["kind"] == "customer") & (t["buyer_type"] == "dealer")
    t["to_customers"] = (t["kind"] == "customer") & (t["seller_type"] == "dealer")
    t["rehomed_in"] = (t["kind"] == "transfer") & (t["buyer_type"] == "dealer")
    n = row_counts(t)  # grouped rows stand for n_rows rows each
    for c in ("from_customers", "to_customers", "rehomed_in"):
        t[c] = t[c].astype("int64") * n
    g = t.groupby("variant")[["from_customers", "to_customers", "rehomed_in"]].sum()
    g.columns = ["tickets_bought_from_customers", "tickets_sold_to_customers", "tickets_rehomed_in"]
    share = comparison.assign(variant=ctx["variant"].to_numpy()).groupby(
        "variant")["dealer_inventory_from_customers_share"].mean().rename("mean_share_ticket_days_from_customers")
    out = share.to_frame().join(g, how="left")
    if traders is not None:
        require(traders, ["run_id", "regime", "dealer_tickets"], "traders")
        out = out.join(active(traders).groupby("variant")["dealer_tickets"].sum().rename("tickets_at_t0"), how="left")
    if repayments is not None:
        require(repayments, ["run_id", "regime", "outcome", "face_held_by_dealers", "ticket_face"], "repayment_events")
        r = active(repayments)
        r = r.assign(_n=(r["face_held_by_dealers"] / r["ticket_face"]).where(r["outcome"] == "repaid", 0.0))
        out = out.join(r.groupby("variant")["_n"].sum().round().rename("tickets_repaid_to_dealers"), how="left")
    out = out.fillna(0).reset_index()
    for c in out.columns[2:]:
        out[c] = out[c].astype("int64")
    return out


def takeaway_provenance(table: pd.DataFrame) -> str:
    """The share of dealer ticket-days that came from customers, per variant."""
    if table.empty:
        return "No active runs."
    parts = []
    for r in table.to_dict("records"):
        extra = "".join(f", {r[c]} {label}" for c, label in (("tickets_at_t0", "received at t = 0"),
                                                               ("tickets_repaid_to_dealers", "rollovers of repaid tickets they held"))
                        if c in r)
        parts.append(f"{r['variant'] or 'all pairs'}: {100 * r['mean_share_ticket_days_from_customers']:.1f}% of "
                     f"ticket-days from customers ({r['tickets_bought_from_customers']} tickets bought, "
                     f"{r['tickets_rehomed_in']} re-homed in{extra})")
    top = float(table["mean_share_ticket_days_from_customers"].max())
    lead = ("Most of what the dealers hold is their t = 0 allocation, their own rolled paper and re-homed "
            "tickets, not purchases" if top < 0.5 else "Much of what the dealers hold was bought from customers")
    return lead + " — " + "; ".join(parts) + "."


def _debtor(trader_id: pd.Series, n_traders: pd.Series) -> pd.Series:
    """H_{i-1} (cyclic): the trader whose ring claims H_i holds (§2.1)."""
    i = trader_id.map(trader_index).astype("int64")
    n = n_traders.astype("int64")
    return "H" + np.where(i == 1, n, i - 1).astype(str)


@reads(traders=Need(["run_id", "regime", "trader_id", "default_day", "n_traders"], where={"defaulted": True}),
       trades=Need(["run_id", "regime", "kind", "side", "seller_type", "seller_id", "day", "issuer_id",
                    "ticket_due_day"],
                   where={"regime": "active", "kind": "customer", "side": "SELL", "seller_type": "trader"}))
def trader_mechanisms(traders: pd.DataFrame, trades: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """One row per harmed or rescued trader with the mechanism that explains it (module docstring).

    ``traders``: traders.csv of both regimes (only the rows of defaulted traders are used: a trader
    without a row in a regime did not default there); ``trades``: trades.csv (the active runs'
    customer sales are used; a pair whose trades were not logged shows no sales); ``comparison``
    adds the variant and rollover_lender. Columns :data:`MECHANISM_COLUMNS`, sorted by pair and trader.
    """
    require(traders, ["run_id", "regime", "trader_id", "default_day", "n_traders"], "traders")
    require(trades, ["run_id", "regime", "kind", "side", "seller_type", "seller_id", "day",
                     "issuer_id", "ticket_due_day"], "trades")
    tr = traders.assign(pair_id=pair_of(traders["run_id"]))
    dd = tr.pivot_table(index=["pair_id", "trader_id"], columns="regime", values="default_day",
                        aggfunc="first", dropna=False)
    dd = dd.reindex(columns=["passive", "active"])
    n_by_pair = tr.groupby("pair_id")["n_traders"].first()
    dd = dd.reset_index().rename(columns={"passive": "dd_passive", "active": "dd_active"})
    harmed = dd["dd_active"].notna() & dd["dd_passive"].isna()
    rescued = dd["dd_passive"].notna() & dd["dd_active"].isna()
    out = dd[harmed | rescued].copy()
    out["outcome"] = np.where(harmed[harmed | rescued], "harmed", "rescued")
    out["default_day"] = out["dd_active"].where(out["outcome"] == "harmed", out["dd_passive"])
    out["debtor_id"] = _debtor(out["trader_id"], out["pair_id"].map(n_by_pair))
    dmap = dd.set_index(["pair_id", "trader_id"])
    key = pd.MultiIndex.from_arrays([out["pair_id"], out["debtor_id"]])
    out["debtor_default_day_passive"] = dmap["dd_passive"].reindex(key).to_numpy()
    out["debtor_default_day_active"] = dmap["dd_active"].reindex(key).to_numpy()
    # the active runs' customer sales by traders, with whether the issuer paid the ticket
    s = trades[(trades["regime"] == "active") & (trades["kind"] == "customer") & (trades["side"] == "SELL")
               & (trades["seller_type"] == "trader")]
    s = s.assign(pair_id=pair_of(s["run_id"]))[["pair_id", "seller_id", "day", "issuer_id", "ticket_due_day"]]
    iss = dmap["dd_active"].reindex(pd.MultiIndex.from_arrays([s["pair_id"], s["issuer_id"]])).to_numpy()
    s = s.assign(issuer_paid=~(pd.notna(iss) & (iss <= s["ticket_due_day"].to_numpy())))
    s = s.merge(out[["pair_id", "trader_id", "default_day"]], left_on=["pair_id", "seller_id"],
                right_on=["pair_id", "trader_id"], how="inner")
    s = s[s["day"] <= s["default_day"]]
    agg = s.groupby(["pair_id", "trader_id"]).agg(n_sales=("day", "size"), n_sales_issuer_paid=("issuer_paid", "sum"))
    out = out.merge(agg.reset_index(), on=["pair_id", "trader_id"], how="left")
    out[["n_sales", "n_sales_issuer_paid"]] = out[["n_sales", "n_sales_issuer_paid"]].fillna(0).astype("int64")
    D = out["default_day"]
    dp, da = out["debtor_default_day_passive"], out["debtor_default_day_active"]
    sold = out["n_sales"] > 0
    is_h = out["outcome"] == "harmed"
    mech = np.select(
        [is_h & (out["n_sales_issuer_paid"] > 0), is_h & sold,
         is_h & da.notna() & (da <= D) & dp.isna(),
         ~is_h & sold, ~is_h & dp.notna() & (dp <= D) & (da.isna() | (da > dp))],
        ["sold_claim_that_paid", "sold_claim_issuer_defaulted", "debtor_defaulted_active_only",
         "rescued_by_sale", "debtor_rescued"], default="other")
    out["mechanism"] = mech
    out = out.merge(_pair_context(comparison), on="pair_id", how="left")
    out["variant"] = out["variant"].fillna("")
    for c in ("default_day", "debtor_default_day_passive", "debtor_default_day_active"):
        out[c] = out[c].astype("Int64")
    out = out.assign(_t=out["trader_id"].map(trader_index)).sort_values(
        ["pair_id", "_t"], kind="mergesort").reset_index(drop=True)
    return out[MECHANISM_COLUMNS]


def mechanism_counts(mechanisms: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Traders per outcome and mechanism (and ``by``, e.g. rollover_lender), every mechanism of
    each outcome listed (0 when absent), with the share within the outcome."""
    by = list(by)
    if by and len(mechanisms):
        groups = sorted({tuple(r) for r in mechanisms[by].itertuples(index=False, name=None)}, key=str)
    else:
        groups = [()]
    rows = []
    for gv in groups:
        sub = mechanisms
        for k, v in zip(by, gv):
            sub = sub[sub[k] == v]
        for outcome, mechs in (("harmed", HARMED_MECHANISMS), ("rescued", RESCUED_MECHANISMS)):
            o = sub[sub["outcome"] == outcome]
            for m in mechs:
                n = int((o["mechanism"] == m).sum())
                rows.append({**dict(zip(by, gv)), "outcome": outcome, "mechanism": m, "n_traders": n,
                             "share_of_outcome": n / len(o) if len(o) else 0.0,
                             "meaning": MECHANISM_TEXT[m]})
    return pd.DataFrame(rows, columns=[*by, "outcome", "mechanism", "n_traders", "share_of_outcome", "meaning"])


def takeaway_mechanisms(counts: pd.DataFrame) -> str:
    """The commonest mechanism per outcome (ties: the order of the mechanism lists)."""
    parts = []
    for outcome in ("harmed", "rescued"):
        o = counts[counts["outcome"] == outcome]
        o = o.groupby("mechanism", sort=False)["n_traders"].sum()
        n = int(o.sum())
        if n == 0:
            parts.append(f"no trader was {outcome}")
            continue
        top = max(o.index, key=lambda m: (o[m], -list(o.index).index(m)))
        why = ("for none of the listed mechanisms" if top == "other"
               else f"because the trader {MECHANISM_TEXT[top]}")
        parts.append(f"{n} traders were {outcome}, most often {why} ({int(o[top])}, {100 * o[top] / n:.0f}%)")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


#: §7.5 diagnostics of the comparison rows summarised by :func:`diagnostics_table`.
DIAGNOSTIC_COLUMNS: list[str] = [
    "n_pairs", "mean_trading_effect", "mean_share_trades_day0", "pairs_with_defaults_after_cycle1",
    "declined_rollovers_active", "mean_share_inventory_from_customers", "rationed_seller_days",
    "harmed_traders", "rescued_traders", "mean_min_M_active"]


def diagnostics_table(comparison: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """The §7.5 diagnostics per value of ``by`` (e.g. rollover_lender; None: one row "all pairs"):
    mean trading effect, mean share of customer trades on day 0, pairs with an active default
    after cycle 1, declined rollovers (active), mean share of dealer ticket-days from customers,
    rationed seller-days, harmed and rescued traders, mean lowest outside mid (active)."""
    require(comparison, ["trading_effect", "trade_day_share_day0", "defaults_after_cycle1_active",
                         "declined_rollovers_active", "dealer_inventory_from_customers_share",
                         "rationed_seller_days", "harmed_traders", "rescued_traders", "min_M_active"], "comparison")
    key = by or "pairs"
    df = comparison.assign(pairs="all pairs") if by is None else comparison
    g = df.groupby(key, sort=True).agg(
        n_pairs=("trading_effect", "size"), mean_trading_effect=("trading_effect", "mean"),
        mean_share_trades_day0=("trade_day_share_day0", "mean"),
        pairs_with_defaults_after_cycle1=("defaults_after_cycle1_active", lambda s: int((s > 0).sum())),
        declined_rollovers_active=("declined_rollovers_active", "sum"),
        mean_share_inventory_from_customers=("dealer_inventory_from_customers_share", "mean"),
        rationed_seller_days=("rationed_seller_days", "sum"), harmed_traders=("harmed_traders", "sum"),
        rescued_traders=("rescued_traders", "sum"), mean_min_M_active=("min_M_active", "mean"))
    return g.reset_index()[[key, *DIAGNOSTIC_COLUMNS]]
