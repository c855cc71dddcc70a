"""Horizons at which the dealer matters (spec §8.6 D).

- :func:`dealer_inventory_share`: per run, day and bucket, the dealer's inventory face as a share of
  the bucket's outstanding face, next to the system's total outstanding face (§8.3, §8.4).
- :func:`activity_vs_effect`: ``dealer_last_active_day`` / ``dealer_active_fraction`` (§7.3)
  binned against ``trading_effect``.
- :func:`first_default_days`: the first day with a default in each regime of each pair.
- :func:`bucket_depletion`: how fast each dealer bucket empties or fills.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._common import (
    EFFECT_CLASSES, PAIR_KEYS, as_bool, as_list, class_counts, empty_frame, norm_keys, pair_context, ratio,
    require, sort_frame,
)
from .needs import Need, columns, reads

SHARE_COLUMNS: list[str] = ["run_id", "regime", *PAIR_KEYS, "day", "bucket", "dealer_inventory",
                            "dealer_inventory_face", "bucket_face_outstanding",
                            "dealer_inventory_share", "total_face_outstanding"]
ACTIVITY_COLUMNS: list[str] = ["bin", "bin_low", "bin_high", "n_pairs", "mean_trading_effect",
                               "n_improved", "n_unchanged", "n_worsened"]
FIRST_DEFAULT_COLUMNS: list[str] = [*PAIR_KEYS, "first_default_day_passive",
                                    "first_default_day_active", "first_default_delay"]
DEPLETION_COLUMNS: list[str] = [
    "run_id", "regime", *PAIR_KEYS, "bucket", "n_days", "initial_inventory", "final_inventory",
    "min_inventory", "max_inventory", "net_change", "mean_daily_change", "first_day_at_zero",
    "zero_day_fraction", "first_day_at_capacity", "limit_hit_days"]

#: Default bin edges for :func:`activity_vs_effect` (right-closed, lowest edge included).
DEFAULT_ACTIVITY_BINS: dict[str, tuple[float, ...]] = {
    "dealer_active_fraction": (0.0, 0.25, 0.5, 0.75, 1.0),
    "dealer_last_active_day": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0),
}


@reads(inventory=Need(columns("run_id", "regime", PAIR_KEYS, "day", "bucket", "dealer_inventory",
                              "bucket_face_outstanding", "face_value")),
       system_state=Need(["run_id", "day", "total_face_outstanding"]))
def dealer_inventory_share(inventory: pd.DataFrame, system_state: pd.DataFrame) -> pd.DataFrame:
    """Per (run, day, bucket): ``dealer_inventory_face = dealer_inventory × S`` and
    ``dealer_inventory_share = dealer_inventory_face / bucket_face_outstanding`` (NaN when the
    bucket is empty), with the day's ``total_face_outstanding`` (§8.6 D). Both regimes."""
    require(inventory, ["run_id", "regime", *PAIR_KEYS, "day", "bucket", "dealer_inventory",
                        "bucket_face_outstanding", "face_value"], "inventory")
    require(system_state, ["run_id", "day", "total_face_outstanding"], "system_state")
    if inventory.empty:
        return empty_frame(SHARE_COLUMNS)
    inv = norm_keys(inventory)
    inv["dealer_inventory_face"] = inv["dealer_inventory"].astype("float64") * inv["face_value"]
    inv["dealer_inventory_share"] = ratio(inv["dealer_inventory_face"],
                                          inv["bucket_face_outstanding"], np.nan)
    ss = system_state[["run_id", "day", "total_face_outstanding"]].drop_duplicates(["run_id", "day"])
    out = inv.merge(ss, on=["run_id", "day"], how="left")
    return sort_frame(out[SHARE_COLUMNS], [*PAIR_KEYS, "regime", "day", "bucket"])


def _labels(edges: Sequence[float]) -> list[str]:
    labels = []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        left = "[" if i == 0 else "("
        labels.append(f"{left}{lo:g}, {hi:g}]")
    return labels


def activity_vs_effect(usage: pd.DataFrame, column: str = "dealer_active_fraction",
                       bins: Sequence[float] | None = None) -> pd.DataFrame:
    """``trading_effect`` per bin of a dealer-activity column of :func:`dealer_usage_by_run`
    (§8.6 D). Bins are right-closed with the lowest edge included; values outside the edges get
    bin ``"outside"`` and missing values (e.g. a dealer never active) ``"none"``. Only bins with
    pairs appear, in edge order. Columns: :data:`ACTIVITY_COLUMNS`."""
    edges = list(bins if bins is not None else DEFAULT_ACTIVITY_BINS[column])
    if usage.empty:
        return empty_frame(ACTIVITY_COLUMNS)
    require(usage, [column, "trading_effect", "effect_class"], "dealer_usage_by_run table")
    labels = _labels(edges)
    x = usage[column].astype("float64")
    cut = pd.cut(x, edges, labels=labels, right=True, include_lowest=True)
    df = usage.assign(bin=cut.astype(object))
    df.loc[x.isna(), "bin"] = "none"
    df.loc[x.notna() & cut.isna(), "bin"] = "outside"
    g = (df.groupby("bin").agg(n_pairs=("trading_effect", "size"),
                               mean_trading_effect=("trading_effect", "mean")).reset_index())
    g = g.merge(class_counts(df, ["bin"]), on="bin", how="left")
    lo = dict(zip(labels, edges[:-1]))
    hi = dict(zip(labels, edges[1:]))
    g["bin_low"] = g["bin"].map(lo).astype("float64")
    g["bin_high"] = g["bin"].map(hi).astype("float64")
    order = {b: i for i, b in enumerate(labels + ["outside", "none"])}
    g = g.sort_values("bin", key=lambda s: s.map(order)).reset_index(drop=True)
    return g[ACTIVITY_COLUMNS]


@reads(repayments=Need(columns(PAIR_KEYS, "regime", "maturity_day", "outcome"), where={"outcome": "defaulted"},
                       counts=True))
def first_default_days(repayments: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """Per pair: the first ``maturity_day`` with a defaulted repayment row in each regime (NaN if
    none) and ``first_default_delay = active − passive`` (§8.6 D). Only which rows exist matters,
    so ``repayments`` may also be grouped rows (``Need.counts``)."""
    pk = list(PAIR_KEYS)
    ctx = pair_context(comparison)
    require(repayments, pk + ["regime", "maturity_day", "outcome"], "repayments")
    if ctx.empty:
        return empty_frame(FIRST_DEFAULT_COLUMNS)
    rep = norm_keys(repayments)
    rep = rep.loc[rep["outcome"] == "defaulted"]
    first = (rep.groupby(pk + ["regime"])["maturity_day"].min().unstack("regime")
             .reindex(columns=["passive", "active"]))
    first.columns = ["first_default_day_passive", "first_default_day_active"]
    out = ctx[pk].merge(first.reset_index(), on=pk, how="left") if not rep.empty else ctx[pk].assign(
        first_default_day_passive=np.nan, first_default_day_active=np.nan)
    for c in ("first_default_day_passive", "first_default_day_active"):
        out[c] = out[c].astype("float64")
    out["first_default_delay"] = out["first_default_day_active"] - out["first_default_day_passive"]
    return out[FIRST_DEFAULT_COLUMNS]


@reads(inventory=Need(columns("run_id", "regime", PAIR_KEYS, "day", "bucket", "dealer_inventory_start",
                              "dealer_inventory", "dealer_max_capacity", "hit_limit_this_step")))
def bucket_depletion(inventory: pd.DataFrame) -> pd.DataFrame:
    """Per (run, bucket): how the dealer bucket empties or fills over the horizon (§8.6 D).

    ``initial_inventory`` is ``dealer_inventory_start`` on the first day, ``final_inventory`` the
    end-of-trading inventory on the last day; ``net_change`` is their difference and
    ``mean_daily_change = net_change / n_days`` (tickets per day; negative = emptying).
    ``first_day_at_zero`` / ``first_day_at_capacity`` are the first days with ``dealer_inventory``
    0 / ≥ ``dealer_max_capacity`` > 0 (NaN if never); ``zero_day_fraction`` is the share of days
    at 0; ``limit_hit_days`` counts days with ``hit_limit_this_step``. Both regimes."""
    require(inventory, ["run_id", "regime", *PAIR_KEYS, "day", "bucket", "dealer_inventory_start",
                        "dealer_inventory", "dealer_max_capacity", "hit_limit_this_step"],
            "inventory")
    if inventory.empty:
        return empty_frame(DEPLETION_COLUMNS)
    keys = ["run_id", "regime", *PAIR_KEYS, "bucket"]
    inv = norm_keys(inventory).sort_values(keys + ["day"], kind="mergesort")
    inv = inv.assign(
        _zero_day=inv["day"].where(inv["dealer_inventory"] == 0),
        _cap_day=inv["day"].where((inv["dealer_max_capacity"] > 0)
                                  & (inv["dealer_inventory"] >= inv["dealer_max_capacity"])),
        _zero=inv["dealer_inventory"] == 0,
        _limit=as_bool(inv["hit_limit_this_step"]),
    )
    out = (inv.groupby(keys, sort=False)
           .agg(n_days=("day", "size"), initial_inventory=("dealer_inventory_start", "first"),
                final_inventory=("dealer_inventory", "last"),
                min_inventory=("dealer_inventory", "min"), max_inventory=("dealer_inventory", "max"),
                first_day_at_zero=("_zero_day", "min"), zero_day_fraction=("_zero", "mean"),
                first_day_at_capacity=("_cap_day", "min"), limit_hit_days=("_limit", "sum"))
           .reset_index())
    out["net_change"] = out["final_inventory"] - out["initial_inventory"]
    out["mean_daily_change"] = out["net_change"] / out["n_days"]
    out["limit_hit_days"] = out["limit_hit_days"].astype("int64")
    return sort_frame(out[DEPLETION_COLUMNS], [*PAIR_KEYS, "regime", "bucket"])


# --------------------------------------------------------------------------- notebook 05 helpers

INVENTORY_DEBT_COLUMNS: list[str] = ["run_id", "regime", *PAIR_KEYS, "day", "dealer_inventory_face",
                                     "total_face_outstanding", "dealer_share_of_debt"]
PATH_VALUE_COLUMNS: list[str] = ["n_runs", "mean_debt_to_money", "mean_total_face_outstanding",
                                 "mean_total_cash", "mean_n_defaulted_traders"]
LATE_GROUPS: tuple[str, ...] = ("never active", "inactive in 2nd half", "active in 2nd half")
LATE_COLUMNS: list[str] = ["dealer_activity", "n_pairs", "mean_trading_effect", "n_improved",
                           "n_unchanged", "n_worsened", "share_improved"]


def dealer_inventory_vs_debt(shares: pd.DataFrame) -> pd.DataFrame:
    """Per (run, day), from :func:`dealer_inventory_share`: the dealers' inventory face summed over
    the three buckets (u), the system's ``total_face_outstanding`` (u) and
    ``dealer_share_of_debt`` = their ratio (NaN when no debt is outstanding). Both regimes."""
    if shares.empty:
        return empty_frame(INVENTORY_DEBT_COLUMNS)
    keys = ["run_id", "regime", *PAIR_KEYS, "day"]
    out = (shares.groupby(keys, sort=False)
           .agg(dealer_inventory_face=("dealer_inventory_face", "sum"),
                total_face_outstanding=("total_face_outstanding", "first"))
           .reset_index())
    out["dealer_share_of_debt"] = ratio(out["dealer_inventory_face"], out["total_face_outstanding"],
                                        np.nan)
    return sort_frame(out[INVENTORY_DEBT_COLUMNS], [*PAIR_KEYS, "regime", "day"])


@reads(system_state=Need(columns(PAIR_KEYS, "regime", "day", "debt_to_money", "total_face_outstanding",
                                 "total_cash", "n_defaulted_traders")))  # by: a pair key
def debt_money_path(system_state: pd.DataFrame, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """The debt/money path (§8.4) averaged over runs: per (``by``…, regime, day) ``n_runs`` and the
    means of ``debt_to_money``, ``total_face_outstanding`` (u), ``total_cash`` (u) and
    ``n_defaulted_traders``."""
    keys = [*as_list(by), "regime", "day"]
    if system_state.empty:
        return empty_frame(keys + PATH_VALUE_COLUMNS)
    require(system_state, keys + ["debt_to_money", "total_face_outstanding", "total_cash",
                                  "n_defaulted_traders"], "system_state")
    out = (norm_keys(system_state).groupby(keys)
           .agg(n_runs=("debt_to_money", "size"), mean_debt_to_money=("debt_to_money", "mean"),
                mean_total_face_outstanding=("total_face_outstanding", "mean"),
                mean_total_cash=("total_cash", "mean"),
                mean_n_defaulted_traders=("n_defaulted_traders", "mean"))
           .reset_index())
    return sort_frame(out[keys + PATH_VALUE_COLUMNS], keys)


def late_activity_effect(usage: pd.DataFrame, comparison: pd.DataFrame,
                         split: float = 0.5) -> pd.DataFrame:
    """Do improvements concentrate where dealers stay active late? (§8.6 D)

    Pairs of :func:`dealer_usage_by_run` are grouped by ``dealer_last_active_day`` relative to
    their last simulated day ``t_end`` (comparison.csv): ``never active`` (missing),
    ``inactive in 2nd half`` (last active day < ``split × t_end``) and ``active in 2nd half``.
    Per group (all three, in that order): ``n_pairs``, ``mean_trading_effect`` (NaN if empty),
    class counts and ``share_improved`` (0 if empty). Columns: :data:`LATE_COLUMNS`."""
    pk = list(PAIR_KEYS)
    require(comparison, pk + ["t_end"], "comparison")
    rows = []
    if usage.empty:
        df = pd.DataFrame({"dealer_activity": [], "trading_effect": [], "effect_class": []})
    else:
        df = norm_keys(usage).merge(norm_keys(comparison[pk + ["t_end"]]), on=pk, how="left")
        last = df["dealer_last_active_day"].astype("float64")
        late = last >= split * df["t_end"].astype("float64")
        df["dealer_activity"] = np.where(last.isna(), LATE_GROUPS[0],
                                         np.where(late, LATE_GROUPS[2], LATE_GROUPS[1]))
    for group in LATE_GROUPS:
        sub = df.loc[df["dealer_activity"] == group]
        n = len(sub)
        counts = {f"n_{c}": int((sub["effect_class"] == c).sum()) for c in EFFECT_CLASSES}
        rows.append({"dealer_activity": group, "n_pairs": n,
                     "mean_trading_effect": float(sub["trading_effect"].mean()) if n else np.nan,
                     **counts, "share_improved": counts["n_improved"] / n if n else 0.0})
    return pd.DataFrame(rows, columns=LATE_COLUMNS)
