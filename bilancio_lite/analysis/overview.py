"""Sweep overview table and one-sentence takeaways computed from the analysis tables (§7.2, §8.6).

Every notebook figure is captioned by a ``takeaway_*`` sentence computed here from the data, so
the text never drifts from the numbers. Each takeaway handles empty tables with a sentence that
says there is nothing to report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import (
    STRATEGIES, class_counts, empty_frame, fmt_value, norm_keys, pick_extreme, require, resolve_param,
    sort_frame,
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
    best = pick_extreme(ov, "mean_trading_effect", tie_keys=[key])
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
    best = pick_extreme(c, "pearson_r", by_abs=True, tie_keys=["strategy"])
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
    best = pick_extreme(activity, "mean_trading_effect", tie_keys=["bin"])
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
    best = pick_extreme(summary, "dealer_usage_rate", tie_keys=[key])
    return (f"Dealer use is highest for {key} {best[key]} ({_pct(best['dealer_usage_rate'])} of "
            f"{int(best['n_traders'])} traders); overall the dealer rescued "
            f"{int(summary['n_rescued'].sum())} and harmed {int(summary['n_harmed'].sum())} traders.")


def takeaway_replicates(table: pd.DataFrame) -> str:
    """How many slices have a CI over replicate seeds excluding zero (§7.6)."""
    if table.empty:
        return "No pairs to summarise."
    ok = table.dropna(subset=["ci_low", "ci_high"])
    if ok.empty:
        return (f"None of the {len(table)} slices has two or more seeds, so no interval or test "
                f"is available (R = 1).")
    pos = int((ok["ci_low"] > 0).sum())
    neg = int((ok["ci_high"] < 0).sum())
    return (f"In {pos} of {len(ok)} slices the 95% CI over replicate seeds of the paired trading "
            f"effect lies above zero and in {neg} below zero.")


# --------------------------------------------------------------------------- takeaways: 02–05


def _h(hypothesis: str) -> str:
    return hypothesis.split("_")[0]


def takeaway_replicate_count(comparison: pd.DataFrame) -> str:
    """The sentence shown instead of per-slice intervals when the sweep has one replicate."""
    col = "replicate" if "replicate" in comparison.columns else "seed"
    r = int(comparison[col].nunique()) if not comparison.empty else 0
    if r > 1:
        return f"The sweep has R = {r} replicates per cell; per-slice intervals and tests apply."
    return (f"The sweep has R = {r} replicate per cell ({len(comparison)} pairs, one seed each), so "
            f"there is no paired bootstrap interval or Wilcoxon test across seeds; rerun with "
            f"replicates > 1 to get them.")


def takeaway_no_difference_summary(summary: pd.DataFrame) -> str:
    """Headline counts of :func:`no_difference_summary` (§8.6 C)."""
    s = summary.set_index("diagnostic")
    n = int(s.loc["unchanged pairs", "n"]) if not summary.empty else 0
    if n == 0:
        return "There are no unchanged pairs to explain."
    g = lambda k: int(s.loc[k, "n"])  # noqa: E731
    d, dn = g("defaulting traders that traded"), int(s.loc["defaulting traders that traded", "out_of"])
    return (f"Of {n} unchanged pairs, {g('no dealer-trader trade')} had no dealer-trader trade, "
            f"the dealer was never used in {g('dealer never used (no interior trade)')}, "
            f"{g('zero-default pairs')} had no default at all, and {d} of {dn} defaulting traders "
            f"ever traded with the dealer; {g('explained by no hypothesis')} pairs fit none of H1-H3.")


def takeaway_hypothesis(verdicts: pd.DataFrame, hypothesis: str) -> str:
    """One hypothesis' verdict from :func:`hypothesis_verdicts`, e.g. "H1 (there is simply very
    little trading) is confirmed: it holds for 5 of 8 unchanged pairs (62.5%; testable in 8)." """
    r = verdicts.set_index("hypothesis").loc[hypothesis]
    name = f"{_h(hypothesis)} ({r['description']})"
    if int(r["n_pairs"]) == 0:
        return f"{name} cannot be tested: there are no unchanged pairs."
    if r["verdict"] == "not testable":
        why = ("no unchanged pair has a defaulting trader" if _h(hypothesis) == "H2"
               else "nothing was traded in any unchanged pair")
        return f"{name} cannot be tested: {why}."
    return (f"{name} is {r['verdict']}: it holds for {int(r['n_holds'])} of {int(r['n_pairs'])} "
            f"unchanged pairs ({_pct(r['share'])}; testable in {int(r['n_testable'])}).")


def takeaway_traded_volume(table: pd.DataFrame) -> str:
    """Dealer-trader traded face relative to the initial debt in unchanged pairs (needs
    ``traded_face_share`` from :func:`with_initial_face`)."""
    if table.empty:
        return "There are no unchanged pairs to explain."
    x = table["traded_face_share"].astype("float64")
    return (f"In the {len(table)} unchanged pairs traders traded a median {_pct(x.median())} of the "
            f"initial debt face with the market makers (max {_pct(x.max())}); {int((x < 0.01).sum())} "
            f"pairs are below the 1% H1 threshold.")


def takeaway_defaulters_traded(table: pd.DataFrame) -> str:
    """How many defaulting traders of unchanged pairs ever traded (§8.6 C, H2)."""
    if table.empty:
        return "There are no unchanged pairs to explain."
    with_def = table["n_defaulters_active"] > 0
    if not with_def.any():
        return f"None of the {len(table)} unchanged pairs has a defaulting trader."
    tot, trd = int(table["n_defaulters_active"].sum()), int(table["n_defaulters_that_traded"].sum())
    none = int((with_def & (table["n_defaulters_that_traded"] == 0)).sum())
    return (f"{trd} of {tot} defaulting traders in unchanged pairs traded with the market makers; in "
            f"{none} of {int(with_def.sum())} pairs with defaults no defaulter traded at all.")


def takeaway_dealer_idle(table: pd.DataFrame) -> str:
    """How often the dealers of the given pairs are empty or unused (``dealer_empty_fraction``,
    ``dealer_never_used``)."""
    if table.empty:
        return "There are no pairs to summarise."
    e = table["dealer_empty_fraction"].astype("float64")
    return (f"Across {len(table)} pairs the dealers were empty in every bucket on a mean "
            f"{_pct(e.mean())} of days ({int((e >= 1).sum())} pairs empty every day), and "
            f"{int(table['dealer_never_used'].astype(bool).sum())} pairs had no interior dealer trade.")


def _traded_share(cut: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    nt = cut.loc[cut["strategy"] == "no_trade", keys + ["face_share"]]
    face = cut.groupby(keys, dropna=False)["face"].sum().rename("_face").reset_index()
    out = face.merge(nt, on=keys, how="left")
    out["traded_share"] = np.where(out["_face"] > 0, 1.0 - out["face_share"].fillna(1.0), np.nan)
    return out


def takeaway_strategy_shares(cut: pd.DataFrame, by: str) -> str:
    """Where the traded share of matured face (1 − no_trade share) is highest and lowest, from
    :func:`strategy_cut`."""
    key = resolve_param(by)
    if cut.empty or cut["face"].sum() <= 0:
        return "No matured liabilities in the active runs."
    t = _traded_share(cut, [key]).dropna(subset=["traded_share"])
    if t["traded_share"].max() <= 0:
        return f"No matured face was traded in any {by} group: every liability is no_trade."
    hi = pick_extreme(t, "traded_share", tie_keys=[key])
    lo = pick_extreme(t, "traded_share", largest=False, tie_keys=[key])
    if len(t) == 1:
        return f"{_pct(hi['traded_share'])} of matured face was traded ({by} = {fmt_value(hi[key])})."
    return (f"The traded share of matured face is highest for {by} = {fmt_value(hi[key])} "
            f"({_pct(hi['traded_share'])}) and lowest for {by} = {fmt_value(lo[key])} "
            f"({_pct(lo['traded_share'])}).")


def takeaway_strategy_default_rates(cut: pd.DataFrame, by: str) -> str:
    """In how many groups traded liabilities default less (face-weighted) than untraded ones,
    from :func:`strategy_cut`."""
    key = resolve_param(by)
    if cut.empty or cut["face"].sum() <= 0:
        return "No matured liabilities in the active runs."
    c = cut.assign(_traded=cut["strategy"] != "no_trade")
    g = c.groupby([key, "_traded"], dropna=False)[["face", "default_face"]].sum().reset_index()
    g = g.loc[g["face"] > 0].assign(rate=lambda d: d["default_face"] / d["face"])
    w = g.pivot(index=key, columns="_traded", values="rate").dropna()
    if w.empty or True not in w.columns or False not in w.columns:
        return (f"No {by} group has both traded and never-traded liabilities, so their default "
                f"rates cannot be compared.")
    less = int((w[True] < w[False]).sum())
    more = int((w[True] > w[False]).sum())
    return (f"Traded liabilities default less often than never-traded ones in {less} of {len(w)} "
            f"{by} groups with both (more often in {more}).")


def _paired_phrase(r: pd.Series) -> str:
    return (f"{int(r['n_liabilities'])} {r['strategy']} liabilities defaulted at "
            f"{_pct(r['default_rate_active'])} of face with the dealer versus "
            f"{_pct(r['default_rate_passive'])} for the same liabilities without it "
            f"({int(r['n_rescued'])} rescued, {int(r['n_harmed'])} harmed)")


def takeaway_strategy_vs_passive(paired: pd.DataFrame) -> str:
    """Paired outcome of every strategy used, from :func:`strategy_vs_passive`."""
    used = paired.loc[paired["n_liabilities"] > 0] if not paired.empty else paired
    if used.empty:
        return "No matured liabilities in the active runs."
    return "; ".join(_paired_phrase(r) for _, r in used.iterrows()) + "."


def takeaway_buy_and_hold(paired: pd.DataFrame, flags: pd.DataFrame) -> str:
    """Answer "does buying from the dealer and holding to maturity help repay your own debt?"
    from :func:`strategy_vs_passive` and :func:`strategy_flags`; says so when nobody bought."""
    f = flags.iloc[0]
    if int(f["n_with_buy"]) == 0:
        inv = ("" if pd.isna(f["n_pairs_invest"])
               else f" ({int(f['n_pairs_invest'])} of {int(f['n_pairs'])} pairs have the buyer policy on)")
        return (f"No trader bought from the market makers in this sweep{inv}: only no_trade and "
                f"sell_before occur, so whether buying and holding to maturity helps cannot be "
                f"answered here (run a sweep with invest: true, e.g. params/invest.yaml).")
    row = paired.loc[paired["strategy"] == "hold_to_maturity"]
    if row.empty or int(row.iloc[0]["n_liabilities"]) == 0:
        return (f"Traders bought in {int(f['n_with_buy'])} liability windows but always sold again "
                f"before maturity, so no liability was bought and held to maturity.")
    r = row.iloc[0]
    diff = r["default_rate_passive"] - r["default_rate_active"]
    net = int(r["n_rescued"]) - int(r["n_harmed"])
    if r["default_rate_passive"] == 0 and r["default_rate_active"] == 0:
        verdict = "it made no difference: these liabilities are repaid with or without the dealer"
    else:
        verdict = ("it helped" if net > 0 and diff > 0 else "it hurt" if net < 0 and diff < 0
                   else "no clear net effect")
    return f"Buying and holding to maturity: {_paired_phrase(r)}, so {verdict}."


def takeaway_many_round_trips(flags: pd.DataFrame) -> str:
    """How often the many-round-trips flag (min(b, s) ≥ 2, §7.4) occurs."""
    f = flags.iloc[0]
    if int(f["n_liabilities"]) == 0:
        return "No matured liabilities in the active runs."
    if int(f["n_round_trip"]) == 0:
        return (f"No liability had both a buy and a sell in its window (0 round trips of "
                f"{int(f['n_liabilities'])} liabilities), so many_round_trips never occurs.")
    return (f"{int(f['n_round_trip'])} of {int(f['n_liabilities'])} liabilities were round trips, "
            f"{int(f['n_many_round_trips'])} with many round trips (defaulting at "
            f"{_pct(f['default_rate_many_round_trips'])} of face).")


def _feature_label(feature: str, bin_: object) -> str:
    names = {"cash_debt_bin": "cash/debt", "claims_tercile": "claims tercile",
             "mismatch_sign": "maturity mismatch"}
    return f"{names.get(feature, feature)} {bin_}"


def takeaway_usage_by_feature(by_feature: pd.DataFrame) -> str:
    """Which bin of each §8.6 E feature uses the dealer most (:func:`initial_conditions_by_feature`)."""
    if by_feature.empty:
        return "No traders with the needed initial conditions."
    if by_feature["dealer_usage_rate"].max() <= 0:
        first = by_feature.loc[by_feature["feature"] == by_feature["feature"].iloc[0], "n_traders"]
        return f"No trader used the dealer (0 of {int(first.sum())} traders)."
    parts = []
    for feature, g in by_feature.groupby("feature", sort=False):
        b = pick_extreme(g, "dealer_usage_rate", tie_keys=["bin"])
        parts.append(f"{_feature_label(feature, b['bin'])} ({_pct(b['dealer_usage_rate'])} of "
                     f"{int(b['n_traders'])})")
    return "Dealer use is highest for " + ", ".join(parts) + "."


def takeaway_paired_defaults(by_feature: pd.DataFrame) -> str:
    """Where the dealer lowers the same traders' default rate most, and in how many bins it
    raises it (:func:`initial_conditions_by_feature`)."""
    if by_feature.empty:
        return "No traders with the needed initial conditions."
    d = by_feature.assign(_drop=by_feature["default_rate_passive"] - by_feature["default_rate_active"])
    b = pick_extreme(d, "_drop", tie_keys=["feature", "bin"])
    up = int((d["_drop"] < 0).sum())
    if b["_drop"] <= 0:
        lead = "The dealer lowers the default rate in no bin"
    else:
        lead = (f"The dealer lowers the default rate of the same traders most for "
                f"{_feature_label(b['feature'], b['bin'])} (from {_pct(b['default_rate_passive'])} to "
                f"{_pct(b['default_rate_active'])})")
    return f"{lead}; it raises it in {up} of {len(d)} bins."


def takeaway_strategy_mix(by_feature: pd.DataFrame) -> str:
    """Which bin trades the largest share of its matured face, and with which strategy."""
    if by_feature.empty:
        return "No traders with the needed initial conditions."
    d = by_feature.assign(_traded=1.0 - by_feature["share_no_trade"])
    d = d.loc[d[[f"share_{s}" for s in STRATEGIES]].sum(axis=1) > 0]
    if d.empty or d["_traded"].max() <= 0:
        return "No bin traded any of its matured face: every liability is no_trade."
    b = pick_extreme(d, "_traded", tie_keys=["feature", "bin"])
    mix = pd.DataFrame({"strategy": list(STRATEGIES[1:]), "share": [b[f"share_{s}"] for s in STRATEGIES[1:]]})
    top = pick_extreme(mix, "share", tie_keys=["strategy"])["strategy"]
    return (f"The traded share of matured face is highest for {_feature_label(b['feature'], b['bin'])} "
            f"({_pct(b['_traded'])}, mostly {top}).")


def takeaway_rescued_harmed(by_feature: pd.DataFrame) -> str:
    """Rescued and harmed traders overall and the bin with the most rescues (cash/debt feature)."""
    if by_feature.empty:
        return "No traders with the needed initial conditions."
    feat = "cash_debt_bin" if (by_feature["feature"] == "cash_debt_bin").any() else by_feature["feature"].iloc[0]
    g = by_feature.loc[by_feature["feature"] == feat]
    r, h, n = int(g["n_rescued"].sum()), int(g["n_harmed"].sum()), int(g["n_traders"].sum())
    if r + h == 0:
        return f"No trader's default status changes with the dealer ({n} traders)."
    b = pick_extreme(g, "n_rescued", tie_keys=["bin"])
    return (f"The dealer rescued {r} and harmed {h} of {n} traders; most rescues "
            f"({int(b['n_rescued'])}) are at {_feature_label(feat, b['bin'])}.")


def takeaway_inactive(usage: pd.DataFrame) -> str:
    """Share of the horizon the dealers are inactive (empty in every bucket, §7.3)."""
    if usage.empty or usage["dealer_empty_fraction"].isna().all():
        return "No active-run inventory rows."
    e = usage["dealer_empty_fraction"].astype("float64").dropna()
    return (f"Dealers hold nothing in any bucket on a mean {_pct(e.mean())} of days (median "
            f"{_pct(e.median())}); in {int((e > 0.5).sum())} of {len(e)} pairs they are empty "
            f"more than half the horizon.")


def takeaway_inventory_vs_debt(frame: pd.DataFrame) -> str:
    """Dealer inventory vs the remaining debt stock, active runs (:func:`dealer_inventory_vs_debt`)."""
    act = frame.loc[frame["regime"] == "active"] if not frame.empty else frame
    if act.empty:
        return "No active-run inventory rows."
    by_day = act.groupby("day").agg(share=("dealer_share_of_debt", "mean"),
                                    debt=("total_face_outstanding", "mean"))
    live = by_day.dropna(subset=["share"])
    if live.empty:
        return "No day with debt outstanding in the active runs."
    d0, d1 = live.index.min(), live.index.max()
    return (f"Dealers hold {_pct(live.loc[d0, 'share'])} of the outstanding debt on day {int(d0)} and "
            f"{_pct(live.loc[d1, 'share'])} on day {int(d1)}, while the mean debt stock goes from "
            f"{live.loc[d0, 'debt']:.0f} u to {live.loc[d1, 'debt']:.0f} u.")


def takeaway_debt_path(path: pd.DataFrame) -> str:
    """Start and end of the mean debt/money path per regime (:func:`debt_money_path`)."""
    if path.empty:
        return "No system-state rows."
    p = path.assign(_w=path["n_runs"] * path["mean_debt_to_money"])
    g = p.groupby(["regime", "day"])[["_w", "n_runs"]].sum()
    g = (g["_w"] / g["n_runs"]).rename("d2m").reset_index()
    parts = []
    for regime, label in (("passive", "without the dealer"), ("active", "with it")):
        r = g.loc[g["regime"] == regime].sort_values("day")
        if not r.empty:
            parts.append(f"{r['d2m'].iloc[0]:.2f} to {r['d2m'].iloc[-1]:.2f} {label}")
    first, last = int(g["day"].min()), int(g["day"].max())
    return f"Mean debt/money goes from day {first} to day {last}: " + "; ".join(parts) + "."


def takeaway_late_activity(table: pd.DataFrame) -> str:
    """Whether improvements concentrate where dealers stay active late (:func:`late_activity_effect`)."""
    if table.empty or table["n_pairs"].sum() == 0:
        return "No pairs to summarise."
    t = table.set_index("dealer_activity")
    parts = [f"{int(t.loc[g, 'n_improved'])} of {int(t.loc[g, 'n_pairs'])} ({_pct(t.loc[g, 'share_improved'])}) "
             f"where the dealer is {g}" for g in t.index if t.loc[g, "n_pairs"] > 0]
    late, early = t.loc["active in 2nd half"], t.loc["inactive in 2nd half"]
    if late["n_pairs"] > 0 and early["n_pairs"] > 0:
        verdict = ("improvements concentrate where dealers stay active late"
                   if late["share_improved"] > early["share_improved"]
                   else "improvements do not concentrate where dealers stay active late")
    else:
        verdict = "one of the two activity groups is empty, so the comparison is open"
    return f"Improved pairs: {'; '.join(parts)}; {verdict}."
