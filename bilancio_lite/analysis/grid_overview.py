"""The grid overview of notebook 01 (§6.4, §7.2, §7.3): cuts along each axis, the kappa × c
heatmap per rho and the dealers' activity, each with its one-sentence takeaway.

Pure functions of comparison.csv (§8.5), one row per pair. With R > 1 replicates every cut also
gets its CI and t-test over replicate seeds (:mod:`.replicates`, §7.6).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import pick_extreme
from .overview import sweep_overview
from .replicates import paired_effect_by_slice

#: Overview cuts of 01_sweep_overview (parameter column -> aggregate table name).
OVERVIEW_CUTS: dict[str, str] = {
    "outside_mid_ratio": "overview_by_rho", "kappa": "overview_by_kappa",
    "concentration": "overview_by_concentration", "mu": "overview_by_mu",
    "stress_regime": "overview_by_stress_regime"}
#: The dealer day fractions of §7.3 summarised by :func:`dealer_activity_summary`.
ACTIVITY_METRICS: tuple[str, ...] = ("dealer_empty_fraction", "dealer_active_fraction")
_SHORT = {"outside_mid_ratio": "rho", "concentration": "c"}


def overview_tables(comparison: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Mean δ passive/active, mean trading effect and class counts per value of rho, kappa, c, mu
    and stress regime (keys are the aggregate table names of :data:`OVERVIEW_CUTS`; §7.2)."""
    return {name: sweep_overview(comparison, by) for by, name in OVERVIEW_CUTS.items()}


def takeaway_cuts(tables: dict[str, pd.DataFrame]) -> str:
    """Where the mean trading effect is largest along each overview cut (one sentence)."""
    parts = []
    for by, name in OVERVIEW_CUTS.items():
        t = tables.get(name)
        if t is None or t.empty or by == "stress_regime":
            continue
        best = pick_extreme(t, "mean_trading_effect", tie_keys=[by])
        value = best[by]
        parts.append(f"{_SHORT.get(by, by)}={value:g} ({best['mean_trading_effect']:+.3f})")
    if not parts:
        return "No pairs to summarise."
    return "Along each axis the mean trading effect is largest at " + ", ".join(parts) + "."


def overview_ci_tables(comparison: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every overview cut with the mean trading effect (mean over the cut's cells of the cell
    means), its 95% CI and t-test p-value over the R replicate seeds' means of the cut (§7.6);
    keys are ``<cut table>_ci`` (shown by 01_sweep_overview when R > 1)."""
    return {f"{name}_ci": paired_effect_by_slice(comparison, by) for by, name in OVERVIEW_CUTS.items()}


def takeaway_ci(tables: dict[str, pd.DataFrame], alpha: float = 0.05) -> str:
    """How many slices of the cuts have a CI over seeds that excludes zero and p < alpha, and
    which do not."""
    n = sig = 0
    weak = []
    for by, name in OVERVIEW_CUTS.items():
        t = tables.get(f"{name}_ci")
        if t is None or t.empty:
            continue
        for row in t.itertuples(index=False):
            d = row._asdict()
            n += 1
            ok = (d["ci_low"] > 0 or d["ci_high"] < 0) and d["p_value"] < alpha
            sig += bool(ok)
            if not ok:
                v = d[by]
                weak.append(f"{_SHORT.get(by, by)}={v:g}" if isinstance(v, float) else f"{_SHORT.get(by, by)}={v}")
    if not n:
        return "No pairs to summarise."
    tail = f"; not significant: {', '.join(weak[:8])}{' …' if len(weak) > 8 else ''}" if weak else ""
    return (f"{sig} of {n} slices have a 95% CI over replicate seeds that excludes zero and a t-test "
            f"p < {alpha:g}{tail}.")


def effect_heatmap_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """Mean trading effect and pair count per (rho, kappa, concentration), averaged over mu and
    seeds (§7.2); rows by rho descending, then kappa and concentration ascending."""
    keys = ["outside_mid_ratio", "kappa", "concentration"]
    cols = keys + ["n_pairs", "mean_trading_effect", "n_improved", "n_worsened"]
    if comparison.empty:
        return pd.DataFrame(columns=cols)
    df = comparison.assign(_imp=comparison["effect_class"] == "improved",
                           _wor=comparison["effect_class"] == "worsened")
    g = (df.groupby(keys).agg(n_pairs=("trading_effect", "size"),
                              mean_trading_effect=("trading_effect", "mean"),
                              n_improved=("_imp", "sum"), n_worsened=("_wor", "sum"))
         .reset_index())
    g = g.sort_values(keys, ascending=[False, True, True], kind="mergesort").reset_index(drop=True)
    return g[cols]


def heatmap_matrix(table: pd.DataFrame, rho: float) -> pd.DataFrame:
    """One rho's slice of :func:`effect_heatmap_table` as a concentration × kappa matrix."""
    sl = table[np.isclose(table["outside_mid_ratio"], rho)]
    m = sl.pivot(index="concentration", columns="kappa", values="mean_trading_effect")
    m.index = [f"{v:g}" for v in m.index]
    m.columns = [f"{v:g}" for v in m.columns]
    return m


def takeaway_heatmap(table: pd.DataFrame) -> str:
    """Where the mean trading effect peaks and how many cells are positive / negative."""
    if table.empty:
        return "No pairs to summarise."
    best = pick_extreme(table, "mean_trading_effect", tie_keys=["-outside_mid_ratio", "kappa", "concentration"])  # the table's order
    pos = int((table["mean_trading_effect"] > 0).sum())
    neg = int((table["mean_trading_effect"] < 0).sum())
    by_rho = table.groupby("outside_mid_ratio")["mean_trading_effect"].mean().reset_index()
    top_rho = pick_extreme(by_rho, "mean_trading_effect", tie_keys=["-outside_mid_ratio"])
    return (f"The mean trading effect peaks at {best['mean_trading_effect']:+.3f} for kappa="
            f"{best['kappa']:g}, c={best['concentration']:g}, rho={best['outside_mid_ratio']:g}; "
            f"{pos} of {len(table)} (rho, kappa, c) cells are positive and {neg} negative, and the "
            f"rho with the largest average effect is {top_rho['outside_mid_ratio']:g} ({top_rho['mean_trading_effect']:+.3f}).")


def dealer_activity_by_run(comparison: pd.DataFrame) -> pd.DataFrame:
    """Long table: one row per (active run, metric) for the dealer day fractions of §7.3."""
    keys = ["kappa", "concentration", "mu", "outside_mid_ratio", "seed", "stress_regime", "effect_class"]
    long = comparison[keys + list(ACTIVITY_METRICS)].melt(
        id_vars=keys, value_vars=list(ACTIVITY_METRICS), var_name="metric", value_name="fraction_of_days")
    return long.sort_values(["metric"] + keys[:5], kind="mergesort").reset_index(drop=True)


def dealer_activity_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per metric of §7.3: runs, mean, quartiles, and the shares of runs at exactly 0 and 1."""
    rows = []
    for m in ACTIVITY_METRICS:
        x = comparison[m].astype("float64")
        rows.append({"metric": m, "n_runs": int(x.size), "mean": x.mean(), "p25": x.quantile(0.25),
                     "median": x.median(), "p75": x.quantile(0.75), "share_at_0": (x == 0).mean(),
                     "share_at_1": (x == 1).mean()})
    return pd.DataFrame(rows)


def takeaway_dealer_activity(comparison: pd.DataFrame) -> str:
    """Median empty / active day fractions and how many runs never see an empty dealer."""
    if comparison.empty:
        return "No runs to summarise."
    e, a = comparison["dealer_empty_fraction"], comparison["dealer_active_fraction"]
    return (f"Across {len(comparison)} active runs the dealers are empty on a median "
            f"{100 * e.median():.0f}% of days (active on {100 * a.median():.0f}%); "
            f"{int((e == 0).sum())} runs never see all dealers empty and {int((e > 0.9).sum())} "
            f"have them empty on more than 90% of days.")
