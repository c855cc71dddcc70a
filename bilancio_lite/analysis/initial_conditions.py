"""Strategies and outcomes vs traders' initial conditions (spec §8.6 E).

:func:`trader_initial_conditions` builds aggregate/trader_initial_conditions.parquet, one row per
(pair, trader). What the four CSVs determine is derived from passive cycle-1 repayment rows (in the
passive run nobody trades, so holdings at the first settlement are the initial holdings, §2.6):

- ``own_due_day`` = T_i, the trader's cycle-1 ``maturity_day``; ``debtor_due_day`` = T_{i-1}, that of
  its ring debtor H_{i-1} (H_N for H_1);
- ``init_liability_face`` = ``n_tickets × S`` of its cycle-1 row;
- ``init_claims_face`` = the debtor's cycle-1 ``face_held_by_traders`` (all ring tickets of
  H_{i-1} are held by H_i until then).

Only per-trader facts of the repayment rows are used (cycle-1 features, per regime defaulted / first
default day, active usage sums): :func:`trader_repayments` reduces the rows to one row per (pair,
trader) (:data:`TRADER_REPAYMENT_COLUMNS`), :func:`read_trader_repayments` gives the same frame with
DuckDB scanning the sweep's files in place, and :func:`trader_initial_conditions` accepts either the
rows or that frame.

Initial cash is not in the four §8 CSVs: pass ``initial_traders`` (columns ``trader_id, init_cash,
init_liability_face, init_claims_face, own_due_day, debtor_due_day`` + pair keys; the logs writer's
traders.csv, ``SweepData.traders``, has them, and its passive rows are used when both regimes are
given) to supply it; its non-missing values take precedence over the derived ones. Missing features
stay NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._common import (
    PAIR_KEYS, STRATEGIES, as_list, empty_frame, norm_keys, pair_context, ratio, require,
    sort_frame, trader_indices, with_liability_face,
)
from .io import SweepData
from .needs import Need, columns, reads
from .strategies import LIABILITY_FACE_COLUMNS

CASH_DEBT_EDGES: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, np.inf)
CASH_DEBT_LABELS: tuple[str, ...] = ("[0, 0.25)", "[0.25, 0.5)", "[0.5, 1)", "[1, 2)", "[2, inf)")
TERCILE_LABELS: tuple[str, ...] = ("low", "mid", "high")
MISMATCH_LABELS: tuple[str, ...] = ("<0", "=0", ">0")
BIN_ORDERS: dict[str, tuple[str, ...]] = {
    "cash_debt_bin": CASH_DEBT_LABELS, "claims_tercile": TERCILE_LABELS,
    "mismatch_sign": MISMATCH_LABELS}
INITIAL_FEATURES: tuple[str, ...] = (
    "init_cash", "init_liability_face", "init_claims_face", "own_due_day", "debtor_due_day")

#: The columns of traders.csv :func:`trader_initial_conditions` reads (its ``initial_traders``).
INITIAL_TRADER_COLUMNS: tuple[str, ...] = columns(PAIR_KEYS, "regime", "trader_id", INITIAL_FEATURES)

TRADER_COLUMNS: list[str] = [
    *PAIR_KEYS, "trader_id", *INITIAL_FEATURES, "init_cash_debt_ratio", "maturity_mismatch",
    "net_position", "defaulted_passive", "defaulted_active", "default_day_passive",
    "default_day_active", "used_dealer", "buy_count", "sell_count", "n_liabilities_active",
    "face_active", *[f"face_{s}" for s in STRATEGIES], "cash_debt_bin", "claims_tercile",
    "mismatch_sign"]
#: One row per (pair, trader) of the repayment rows (§8.2): ``own_due_day`` / ``init_liability_face``
#: of its cycle-1 row (the passive one if present), ``held_face_passive`` (``face_held_by_traders``
#: of its passive cycle-1 row: the claims on it held by its ring creditor at t = 0), the per-regime
#: outcomes and the active usage sums of :data:`TRADER_COLUMNS`.
TRADER_REPAYMENT_COLUMNS: list[str] = [
    *PAIR_KEYS, "trader_id", "own_due_day", "init_liability_face", "held_face_passive",
    "defaulted_passive", "default_day_passive", "defaulted_active", "default_day_active", "used_dealer",
    "buy_count", "sell_count", "n_liabilities_active", "face_active", *[f"face_{s}" for s in STRATEGIES]]
SUMMARY_VALUE_COLUMNS: list[str] = [
    "n_traders", "dealer_usage_rate", *[f"share_{s}" for s in STRATEGIES], "default_rate_passive",
    "default_rate_active", "n_rescued", "n_harmed"]


def _cycle_one(rep: pd.DataFrame) -> pd.DataFrame:
    pk = list(PAIR_KEYS)
    c1 = rep.loc[rep["cycle"] == 1]
    # Due days are identical in both regimes; holdings are initial only in the passive run.
    c1 = c1.assign(_pref=(c1["regime"] != "passive").astype(int)).sort_values(
        pk + ["trader_id", "_pref"], kind="mergesort")
    first = c1.drop_duplicates(pk + ["trader_id"], keep="first")
    own = first[pk + ["trader_id", "maturity_day", "liability_face"]].rename(
        columns={"maturity_day": "own_due_day", "liability_face": "init_liability_face"})
    held = first.loc[first["regime"] == "passive", pk + ["trader_id", "face_held_by_traders"]]
    return own.merge(held.rename(columns={"face_held_by_traders": "held_face_passive"}),
                     on=pk + ["trader_id"], how="left")


def _regime_outcomes(rep: pd.DataFrame, regime: str) -> pd.DataFrame:
    pk = list(PAIR_KEYS)
    r = rep.loc[rep["regime"] == regime]
    r = r.assign(_d=r["outcome"] == "defaulted", _dday=r["maturity_day"].where(r["outcome"] == "defaulted"))
    return (r.groupby(pk + ["trader_id"])
            .agg(**{f"defaulted_{regime}": ("_d", "any"), f"default_day_{regime}": ("_dday", "min")})
            .reset_index())


def _active_usage(rep: pd.DataFrame) -> pd.DataFrame:
    pk = list(PAIR_KEYS)
    a = rep.loc[rep["regime"] == "active"]
    a = a.assign(_used=(a["buy_count"] + a["sell_count"]) > 0,
                 **{f"face_{s}": a["liability_face"].where(a["strategy"] == s, 0.0) for s in STRATEGIES})
    return (a.groupby(pk + ["trader_id"])
            .agg(used_dealer=("_used", "any"), buy_count=("buy_count", "sum"),
                 sell_count=("sell_count", "sum"), n_liabilities_active=("_used", "size"),
                 face_active=("liability_face", "sum"),
                 **{f"face_{s}": (f"face_{s}", "sum") for s in STRATEGIES})
            .reset_index())


def _filled(per_trader: pd.DataFrame) -> pd.DataFrame:
    """Types of :data:`TRADER_REPAYMENT_COLUMNS`; a trader without rows of a regime did not
    default or trade there (false / 0)."""
    out = norm_keys(per_trader)
    for c in ("own_due_day", "init_liability_face", "held_face_passive", "default_day_passive",
              "default_day_active"):
        out[c] = out[c].astype("float64")
    for c in ("defaulted_passive", "defaulted_active", "used_dealer"):
        out[c] = out[c].astype("boolean").fillna(False).astype(bool)
    for c in ("buy_count", "sell_count", "n_liabilities_active"):
        out[c] = out[c].fillna(0).astype("int64")
    for c in ["face_active", *[f"face_{s}" for s in STRATEGIES]]:
        out[c] = out[c].fillna(0.0).astype("float64")
    return out


@reads(repayments=Need(columns(PAIR_KEYS, "regime", "trader_id", "cycle", "maturity_day", "outcome",
                               "face_held_by_traders", "buy_count", "sell_count", "strategy",
                               LIABILITY_FACE_COLUMNS)))
def trader_repayments(repayments: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """The repayment rows (§8.2) reduced to one row per (pair, trader) with
    :data:`TRADER_REPAYMENT_COLUMNS` (§8.6 E): ``defaulted_<regime>`` / ``default_day_<regime>``
    (some cohort defaulted / its earliest ``maturity_day``), and over the active rows
    ``used_dealer`` (some ``buy_count + sell_count > 0``), the trade counts, the number of matured
    liabilities and their face, in all and per ``strategy`` (§7.4). Sorted by pair and trader."""
    pk = list(PAIR_KEYS)
    require(repayments, pk + ["regime", "trader_id", "cycle", "maturity_day", "outcome",
                              "face_held_by_traders", "buy_count", "sell_count", "strategy"],
            "repayments")
    rep = with_liability_face(repayments, comparison)
    out = rep[pk + ["trader_id"]].drop_duplicates()
    for part in (_cycle_one(rep), _regime_outcomes(rep, "passive"), _regime_outcomes(rep, "active"),
                 _active_usage(rep)):
        out = out.merge(part, on=pk + ["trader_id"], how="left")
    if out.empty:
        return empty_frame(TRADER_REPAYMENT_COLUMNS)
    return sort_frame(_filled(out[TRADER_REPAYMENT_COLUMNS]), [*PAIR_KEYS, "trader_id"])


_TRADER_KEYS = ", ".join([*PAIR_KEYS, "trader_id"])
_READ_TRADER_REPAYMENTS = f"""
WITH passive AS (
    SELECT {_TRADER_KEYS},
        min(maturity_day) FILTER (WHERE cycle = 1) AS due_passive,
        min(face_value) FILTER (WHERE cycle = 1) AS face_passive,
        min(face_held_by_traders) FILTER (WHERE cycle = 1) AS held_face_passive,
        bool_or(outcome = 'defaulted') AS defaulted_passive,
        min(maturity_day) FILTER (WHERE outcome = 'defaulted') AS default_day_passive
    FROM repayment_events WHERE regime = 'passive' GROUP BY ALL),
active AS (
    SELECT {_TRADER_KEYS},
        min(maturity_day) FILTER (WHERE cycle = 1) AS due_active,
        min(face_value) FILTER (WHERE cycle = 1) AS face_active_c1,
        bool_or(outcome = 'defaulted') AS defaulted_active,
        min(maturity_day) FILTER (WHERE outcome = 'defaulted') AS default_day_active,
        bool_or(buy_count + sell_count > 0) AS used_dealer,
        sum(buy_count)::BIGINT AS buy_count,
        sum(sell_count)::BIGINT AS sell_count,
        count(*) AS n_liabilities_active,
        fsum(face_value) AS face_active,
        {", ".join(f"fsum(face_value) FILTER (WHERE strategy = '{s}') AS face_{s}" for s in STRATEGIES)}
    FROM repayment_events WHERE regime = 'active' GROUP BY ALL)
-- one cycle-1 row per trader and regime (its t = 0 liabilities share a due day, §2.6): the passive one
-- if present
SELECT *, coalesce(due_passive, due_active) AS own_due_day,
    coalesce(face_passive, face_active_c1) AS init_liability_face
FROM passive FULL OUTER JOIN active USING ({_TRADER_KEYS})
"""


def read_trader_repayments(data: SweepData) -> pd.DataFrame:
    """:func:`trader_repayments` of ``data``'s repayment rows, computed by DuckDB over the files in
    place (:meth:`~bilancio_lite.analysis.io.SweepData.sql`), so the rows are never held in memory
    (§8.6 E; issue 10). ``face_value`` of repayment_events is the liability face ``n_tickets × S``
    (§8.2); faces are multiples of S, so their sums are exact in any order."""
    out = data.sql(_READ_TRADER_REPAYMENTS)
    if out.empty:
        return empty_frame(TRADER_REPAYMENT_COLUMNS)
    return sort_frame(_filled(out[TRADER_REPAYMENT_COLUMNS]), [*PAIR_KEYS, "trader_id"])


def _debtor_features(per_trader: pd.DataFrame, ctx: pd.DataFrame) -> pd.DataFrame:
    """Per (pair, trader) with a cycle-1 row: ``debtor_due_day`` and ``init_claims_face``, the
    ``own_due_day`` and ``held_face_passive`` of its ring debtor H_{i-1} (H_N for H_1, §2.6)."""
    pk = list(PAIR_KEYS)
    own = per_trader.loc[per_trader["own_due_day"].notna(),
                         pk + ["trader_id", "own_due_day", "held_face_passive"]]
    n = own[pk].merge(ctx[pk + ["n_traders"]], on=pk, how="left")["n_traders"].to_numpy("int64")
    own = own.assign(_i=trader_indices(own["trader_id"]))
    own["_debtor"] = (own["_i"].to_numpy() - 2) % n + 1
    debtor = own[pk + ["_i", "own_due_day", "held_face_passive"]].rename(
        columns={"_i": "_debtor", "own_due_day": "debtor_due_day", "held_face_passive": "init_claims_face"})
    return own[pk + ["trader_id", "_debtor"]].merge(debtor, on=pk + ["_debtor"], how="left").drop(
        columns="_debtor")


def cash_debt_bin(ratio_values) -> pd.Series:
    """§8.6 E bins [0, .25), [.25, .5), [.5, 1), [1, 2), [2, ∞); NaN / negative → missing."""
    x = pd.Series(ratio_values, dtype="float64")
    return pd.cut(x, list(CASH_DEBT_EDGES), labels=list(CASH_DEBT_LABELS), right=False).astype(object)


def claims_tercile(values) -> pd.Series:
    """Terciles over all given values (the whole sweep): ``low`` ≤ q(1/3) < ``mid`` ≤ q(2/3) <
    ``high`` (linear-interpolated quantiles; equal values share a bin)."""
    x = pd.Series(values, dtype="float64")
    out = pd.Series([None] * len(x), index=x.index, dtype=object)
    if x.notna().sum() == 0:
        return out
    q1, q2 = np.nanquantile(x, [1 / 3, 2 / 3])
    out[x <= q1] = "low"
    out[(x > q1) & (x <= q2)] = "mid"
    out[x > q2] = "high"
    return out


def mismatch_sign(values) -> pd.Series:
    """``<0`` / ``=0`` / ``>0`` of ``maturity_mismatch`` (missing stays missing)."""
    x = pd.Series(values, dtype="float64")
    out = pd.Series([None] * len(x), index=x.index, dtype=object)
    out[x < 0] = "<0"
    out[x == 0] = "=0"
    out[x > 0] = ">0"
    return out


@reads(repayments=trader_repayments.reads["repayments"], traders=Need(INITIAL_TRADER_COLUMNS))
def trader_initial_conditions(repayments: pd.DataFrame, comparison: pd.DataFrame,
                              initial_traders: pd.DataFrame | None = None) -> pd.DataFrame:
    """aggregate/trader_initial_conditions.parquet (§8.6 E): one row per (pair, trader) with
    :data:`TRADER_COLUMNS`.

    ``repayments``: the repayment rows (§8.2), or their reduction to one row per (pair, trader)
    (:func:`trader_repayments`, :func:`read_trader_repayments`; recognised by its column
    ``n_liabilities_active``). ``init_cash_debt_ratio = init_cash / init_liability_face``;
    ``maturity_mismatch = debtor_due_day − own_due_day`` (> 0: paid after paying); ``net_position
    = init_cash + init_claims_face − init_liability_face`` (equity at face, §2.6). Outcomes come
    from repayment rows: ``defaulted_*`` / ``default_day_*`` per regime; ``used_dealer``, trade
    counts and the strategy face ``face_<s>`` from the active rows (trades inside matured windows).
    """
    pk = list(PAIR_KEYS)
    if "n_liabilities_active" in repayments.columns:
        require(repayments, TRADER_REPAYMENT_COLUMNS, "per-trader repayments")
        per_trader = norm_keys(repayments)
    else:
        per_trader = trader_repayments(repayments, comparison)
    ctx = pair_context(comparison)
    per_trader = per_trader.merge(ctx[pk], on=pk, how="inner")
    init = None
    if initial_traders is not None:
        require(initial_traders, pk + ["trader_id", *INITIAL_FEATURES], "initial_traders")
        init = norm_keys(initial_traders)
        if "regime" in init.columns:  # traders.csv: identical t = 0 rows in both regimes
            init = init.assign(_pref=(init["regime"] != "passive").astype(int)).sort_values(
                "_pref", kind="mergesort")  # stable: the first passive row is kept
        init = init.drop_duplicates(pk + ["trader_id"], keep="first")[pk + ["trader_id", *INITIAL_FEATURES]]
        init = init.merge(ctx[pk], on=pk, how="inner")
    ids = [per_trader[pk + ["trader_id"]]] + ([init[pk + ["trader_id"]]] if init is not None else [])
    base = pd.concat(ids, ignore_index=True).drop_duplicates()
    if base.empty:
        return empty_frame(TRADER_COLUMNS)

    out = _filled(base.merge(per_trader, on=pk + ["trader_id"], how="left"))
    out = out.merge(_debtor_features(per_trader, ctx), on=pk + ["trader_id"], how="left")
    out["init_cash"] = np.nan
    if init is not None:
        out = out.merge(init.rename(columns={f: f"_given_{f}" for f in INITIAL_FEATURES}),
                        on=pk + ["trader_id"], how="left")
        for f in INITIAL_FEATURES:
            out[f] = out[f"_given_{f}"].astype("float64").combine_first(out[f].astype("float64"))
            out = out.drop(columns=f"_given_{f}")
    for f in INITIAL_FEATURES:
        out[f] = out[f].astype("float64")

    out["init_cash_debt_ratio"] = ratio(out["init_cash"], out["init_liability_face"], np.nan)
    out["maturity_mismatch"] = out["debtor_due_day"] - out["own_due_day"]
    out["net_position"] = out["init_cash"] + out["init_claims_face"] - out["init_liability_face"]
    out["cash_debt_bin"] = cash_debt_bin(out["init_cash_debt_ratio"]).to_numpy()
    out["claims_tercile"] = claims_tercile(out["init_claims_face"]).to_numpy()
    out["mismatch_sign"] = mismatch_sign(out["maturity_mismatch"]).to_numpy()
    return sort_frame(out[TRADER_COLUMNS], [*PAIR_KEYS, "trader_id"])


def initial_conditions_summary(table: pd.DataFrame,
                               by: str | Sequence[str] = "cash_debt_bin") -> pd.DataFrame:
    """Per bin of :func:`trader_initial_conditions` (§8.6 E): ``n_traders``, ``dealer_usage_rate``
    (share of traders with ``used_dealer``), face-weighted strategy mix ``share_<s>`` (0 if no
    face), ``default_rate_passive`` / ``default_rate_active`` (share of the same traders defaulting
    without / with the dealer), ``n_rescued`` (defaulted only in passive) and ``n_harmed`` (only in
    active). Traders with a missing bin are left out; only observed bins appear, in bin order."""
    keys = as_list(by)
    if table.empty:
        return empty_frame(keys + SUMMARY_VALUE_COLUMNS)
    require(table, keys, "trader_initial_conditions table")
    t = table.dropna(subset=keys)
    if t.empty:
        return empty_frame(keys + SUMMARY_VALUE_COLUMNS)
    t = t.assign(_rescued=t["defaulted_passive"] & ~t["defaulted_active"],
                 _harmed=t["defaulted_active"] & ~t["defaulted_passive"])
    out = (t.groupby(keys)
           .agg(n_traders=("trader_id", "size"), dealer_usage_rate=("used_dealer", "mean"),
                default_rate_passive=("defaulted_passive", "mean"),
                default_rate_active=("defaulted_active", "mean"),
                n_rescued=("_rescued", "sum"), n_harmed=("_harmed", "sum"),
                face_active=("face_active", "sum"),
                **{f"_f_{s}": (f"face_{s}", "sum") for s in STRATEGIES})
           .reset_index())
    for s in STRATEGIES:
        out[f"share_{s}"] = ratio(out[f"_f_{s}"], out["face_active"])
    for c in ("n_rescued", "n_harmed"):
        out[c] = out[c].astype("int64")
    out = out[keys + SUMMARY_VALUE_COLUMNS]
    orders = {k: BIN_ORDERS[k] for k in keys if k in BIN_ORDERS}
    if orders:
        out = out.sort_values(keys, key=lambda s: s.map({v: i for i, v in enumerate(orders[s.name])})
                              if s.name in orders else s, kind="mergesort")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- notebook 04 helpers

#: The three §8.6 E features, as (bin column, human label with units).
FEATURES: dict[str, str] = {
    "cash_debt_bin": "initial cash / own debt (ratio)",
    "claims_tercile": "initial claims held (tercile of face in u)",
    "mismatch_sign": "maturity mismatch T(i-1) - T(i) (sign, days)",
}
BY_FEATURE_COLUMNS: list[str] = ["feature", "bin", *SUMMARY_VALUE_COLUMNS]
_LONG_KINDS: dict[str, tuple[list[str], str, str]] = {
    "defaults": (["default_rate_passive", "default_rate_active"], "regime", "default_rate"),
    "strategies": ([f"share_{s}" for s in STRATEGIES], "strategy", "face_share"),
    "rescued": (["n_rescued", "n_harmed"], "outcome", "n_traders_changed"),
}
_LONG_NAMES: dict[str, str] = {
    "default_rate_passive": "without dealer (passive)", "default_rate_active": "with dealer (active)",
    "n_rescued": "rescued (defaulted only without dealer)",
    "n_harmed": "harmed (defaulted only with dealer)",
    **{f"share_{s}": s for s in STRATEGIES},
}


def initial_conditions_by_feature(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`initial_conditions_summary` for each of the three §8.6 E bin columns, stacked: one
    row per (feature, bin) in feature then bin order. Columns: :data:`BY_FEATURE_COLUMNS`."""
    parts = []
    for feature in FEATURES:
        s = initial_conditions_summary(table, feature)
        if s.empty:
            continue
        parts.append(s.rename(columns={feature: "bin"}).assign(feature=feature))
    if not parts:
        return empty_frame(BY_FEATURE_COLUMNS)
    return pd.concat(parts, ignore_index=True)[BY_FEATURE_COLUMNS]


def initial_conditions_long(by_feature: pd.DataFrame, what: str) -> pd.DataFrame:
    """Long form of :func:`initial_conditions_by_feature` for plotting. ``what``:
    ``"defaults"`` (column ``regime``: without / with dealer, value ``default_rate``; the same
    traders in both), ``"strategies"`` (``strategy``, ``face_share``) or ``"rescued"``
    (``outcome``: rescued / harmed, ``n_traders_changed``). Keeps ``feature``, ``bin``,
    ``n_traders``."""
    if what not in _LONG_KINDS:
        raise ValueError(f"what must be one of {sorted(_LONG_KINDS)}, got {what!r}")
    values, var, val = _LONG_KINDS[what]
    ids = ["feature", "bin", "n_traders"]
    if by_feature.empty:
        return empty_frame(ids + [var, val])
    long = by_feature.melt(id_vars=ids, value_vars=values, var_name=var, value_name=val)
    long[var] = long[var].map(_LONG_NAMES)
    return long[ids + [var, val]]
