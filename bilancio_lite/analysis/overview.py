"""Sweep overview table and one-sentence takeaways computed from the analysis tables (§7.2, §8.6).

Every notebook figure is captioned by a ``takeaway_*`` sentence computed here from the data, so
the text never drifts from the numbers. Each takeaway handles empty tables with a sentence that
says there is nothing to report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import (
    STRATEGIES, class_counts, empty_frame, fmt_value, norm_keys, require, resolve_param, sort_frame,
)

OVERVIEW_VALUE_COLUMNS: list[str] = ["n_pairs", "mean_delta_passive", "mean_delta_active",
                                     "mean_trading_effect", "n_improved", "n_unchanged",
                                     "n_worsened"]


def sweep_overview(comparison: pd.DataFrame, by: str = "kappa") -> pd.DataFrame:
    """Mean δ passive / active, mean ``trading_effect`` and effect-class counts per value of one
    parameter (``rho``/``outside_mid_ratio``, ``kappa``, ``c``/``concentration``, ``mu`` or
    ``stress_regime``). Columns: ``by`` + :data:`OVERVIEW_VALUE_COLUMNS`."""
    key = resolve_param(by)
    if comparison.empty:
        return empty_frame([key] + OVERVIEW_VALUE_COLUMNS)
    require(comparison, [key, "delta_passive", "delta_active", "trading_effect", "effect_class"],
            "comparison")
    df = norm_keys(comparison)
    g = (df.groupby(key, dropna=False)
         .agg(n_pairs=("trading_effect", "size"), mean_delta_passive=("delta_passive", "mean"),
              mean_delta_active=("delta_active", "mean"),
              mean_trading_effect=("trading_effect", "mean"))
         .reset_index())
    out = g.merge(class_counts(df, [key]), on=key, how="left")
    return sort_frame(out[[key] + OVERVIEW_VALUE_COLUMNS], [key])


# --------------------------------------------------------------------------- helpers


def _pct(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


def _num(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3f}"


# --------------------------------------------------------------------------- takeaways


def takeaway_overview(comparison: pd.DataFrame, by: str = "kappa") -> str:
    """E.g. "Trading reduced defaults in 212 of 625 pairs (unchanged 300, worsened 113); the
    largest mean effect is at kappa=0.5 (0.083)." """
    if comparison.empty:
        return "No pairs to summarise."
    key = resolve_param(by)
    ov = sweep_overview(comparison, key)
    n, imp = int(ov["n_pairs"].sum()), int(ov["n_improved"].sum())
    unch, wor = int(ov["n_unchanged"].sum()), int(ov["n_worsened"].sum())
    best = ov.loc[ov["mean_trading_effect"].idxmax()]
    return (f"Trading reduced defaults in {imp} of {n} pairs (unchanged {unch}, worsened {wor}); "
            f"the largest mean effect is at {by}={fmt_value(best[key])} "
            f"({_num(best['mean_trading_effect'])}).")


def takeaway_strategies(by_run: pd.DataFrame) -> str:
    """Matured-face split across strategies and their face-weighted default rates (§8.6 A)."""
    if by_run.empty or by_run["total_face_value"].sum() <= 0:
        return "No matured liabilities in the active runs."
    total = by_run["total_face_value"].sum()
    parts = []
    for s in STRATEGIES:
        face = by_run[f"face_{s}"].sum()
        if face > 0:
            rate = by_run[f"default_face_{s}"].sum() / face
            parts.append(f"{s} {_pct(face / total)} of face (defaults {_pct(rate)})")
    return f"Across {len(by_run)} active runs, liabilities split as " + ", ".join(parts) + "."


def takeaway_strategy_correlation(corr: pd.DataFrame) -> str:
    """Which strategy's face share correlates most with ``trading_effect`` (§8.6 A)."""
    c = corr.dropna(subset=["pearson_r"]) if not corr.empty else corr
    if c.empty:
        return "Too few runs with matured face, or no variation, to correlate strategies with the trading effect."
    best = c.loc[c["pearson_r"].abs().idxmax()]
    return (f"The trading effect correlates most with the face share of {best['strategy']} "
            f"(Pearson r = {best['pearson_r']:.2f} over {int(best['n_runs'])} runs).")


def takeaway_usage(usage: pd.DataFrame) -> str:
    """How many pairs used the dealer and the mean effect with vs without trades (§8.6 B)."""
    if usage.empty:
        return "No pairs to summarise."
    used = usage["trader_dealer_trade_count"] > 0
    e_used = usage.loc[used, "trading_effect"].mean() if used.any() else np.nan
    e_not = usage.loc[~used, "trading_effect"].mean() if (~used).any() else np.nan
    return (f"Traders traded with the dealer in {int(used.sum())} of {len(usage)} pairs; the mean "
            f"trading effect is {_num(e_used)} in those pairs and {_num(e_not)} in the others.")


def takeaway_traded_vs_untraded(table: pd.DataFrame) -> str:
    """Pooled face-weighted default rates of traded vs never-traded liabilities (§8.6 A/B)."""
    if table.empty:
        return "No matured liabilities in the active runs."
    tf, uf = table["traded_face"].sum(), table["untraded_face"].sum()
    tr = table["traded_default_face"].sum() / tf if tf > 0 else np.nan
    ur = table["untraded_default_face"].sum() / uf if uf > 0 else np.nan
    if tf <= 0:
        return f"No liability was traded; never-traded liabilities defaulted at {_pct(ur)} of face."
    return (f"Traded liabilities defaulted at {_pct(tr)} of face versus {_pct(ur)} for never-traded "
            f"ones ({_pct(tf / (tf + uf))} of matured face was traded).")


def takeaway_no_difference(shares: pd.DataFrame) -> str:
    """Which hypothesis explains most unchanged pairs (§8.6 C)."""
    n = int(shares["n_pairs"].max()) if not shares.empty else 0
    if n == 0:
        return "There are no unchanged pairs to explain."
    parts = [f"{r.hypothesis.split('_')[0]} {_pct(r.share)}" for r in shares.itertuples()]
    best = shares.loc[shares["explains_most"]]
    if best.empty:
        lead = "none of the hypotheses holds for any pair"
    else:
        verb = " explains the most" if len(best) == 1 else " explain the most (tied)"
        lead = " and ".join(f"{h.split('_')[0]} ({d})" for h, d in
                            zip(best["hypothesis"], best["description"])) + verb
    return f"Of {n} unchanged pairs, {lead} ({', '.join(parts)})."


def takeaway_first_defaults(first: pd.DataFrame) -> str:
    """How trading shifts the first default day (§8.6 D)."""
    if first.empty:
        return "No pairs to summarise."
    both = first.dropna(subset=["first_default_day_passive", "first_default_day_active"])
    n_p = int(first["first_default_day_passive"].notna().sum())
    n_a = int(first["first_default_day_active"].notna().sum())
    if both.empty:
        return (f"Defaults occur in {n_p} passive and {n_a} active runs of {len(first)} pairs; "
                f"no pair defaults in both regimes.")
    later = int((both["first_default_delay"] > 0).sum())
    return (f"Defaults occur in {n_p} passive and {n_a} active runs of {len(first)} pairs; where "
            f"both default, trading delays the first default in {later} of {len(both)} pairs "
            f"(mean shift {both['first_default_delay'].mean():+.1f} days).")


def takeaway_activity(activity: pd.DataFrame, column: str = "dealer_active_fraction") -> str:
    """Which activity bin has the largest mean trading effect (§8.6 D)."""
    if activity.empty:
        return "No pairs to summarise."
    best = activity.loc[activity["mean_trading_effect"].idxmax()]
    return (f"The mean trading effect is largest ({_num(best['mean_trading_effect'])}, "
            f"{int(best['n_pairs'])} pairs) when {column} is in {best['bin']}.")


def takeaway_inventory_share(shares: pd.DataFrame) -> str:
    """Dealer inventory share of bucket face at the first vs last day, active runs (§8.6 D)."""
    act = shares.loc[shares["regime"] == "active"] if not shares.empty else shares
    if act.empty:
        return "No active-run inventory rows."
    first, last = act["day"].min(), act["day"].max()
    s0 = act.loc[act["day"] == first, "dealer_inventory_share"].mean()
    s1 = act.loc[act["day"] == last, "dealer_inventory_share"].mean()
    return (f"Dealers hold on average {_pct(s0)} of their bucket's outstanding face on day "
            f"{int(first)} and {_pct(s1)} on day {int(last)}.")


def takeaway_depletion(depletion: pd.DataFrame) -> str:
    """How many active dealer buckets ever empty, and how fast (§8.6 D)."""
    act = depletion.loc[depletion["regime"] == "active"] if not depletion.empty else depletion
    if act.empty:
        return "No active-run inventory rows."
    emptied = act["first_day_at_zero"].notna()
    med = act.loc[emptied, "first_day_at_zero"].median() if emptied.any() else np.nan
    tail = f", at a median day of {med:g}" if emptied.any() else ""
    return (f"{int(emptied.sum())} of {len(act)} active dealer buckets run empty at least once"
            f"{tail}; inventories change by {act['mean_daily_change'].mean():+.2f} tickets a day on "
            f"average.")


def takeaway_initial_conditions(summary: pd.DataFrame) -> str:
    """Which bin uses the dealer most and the rescued/harmed balance (§8.6 E)."""
    if summary.empty:
        return "No traders with the needed initial conditions."
    key = summary.columns[0]
    best = summary.loc[summary["dealer_usage_rate"].idxmax()]
    return (f"Dealer use is highest for {key} {best[key]} ({_pct(best['dealer_usage_rate'])} of "
            f"{int(best['n_traders'])} traders); overall the dealer rescued "
            f"{int(summary['n_rescued'].sum())} and harmed {int(summary['n_harmed'].sum())} traders.")


def takeaway_replicates(table: pd.DataFrame) -> str:
    """How many slices have a CI excluding zero (§6.3 replicates)."""
    if table.empty:
        return "No pairs to summarise."
    ok = table.dropna(subset=["ci_low", "ci_high"])
    if ok.empty:
        return (f"None of the {len(table)} slices has two or more pairs, so no interval or test "
                f"is available (R = 1).")
    pos = int((ok["ci_low"] > 0).sum())
    neg = int((ok["ci_high"] < 0).sum())
    return (f"In {pos} of {len(ok)} slices the bootstrap interval of the paired trading effect lies above "
            f"zero and in {neg} below zero.")
