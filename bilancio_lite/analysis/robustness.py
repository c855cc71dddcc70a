"""The headline across the variants of a sweep (§6.4 variants; §7.2 trading effect and classes).

The headline of a sweep is its mean trading effect ``δ passive − δ active`` over the grid (the mean
over cells of each cell's mean over seeds) with its 95% CI over replicate seeds (§7.6), the
improved / unchanged / worsened counts, and the mean effect by kappa and by rho.
:func:`robustness_table` gives one row per variant, with its difference from the baseline paired by
(cell, seed) and that difference's CI over seeds; :func:`takeaway_variant` says in one sentence
whether the baseline's headline survives a variant, by the criterion :data:`SURVIVAL_CRITERION`.
A sweep without variants has one unnamed variant, shown as ``(no variants)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._common import CELL_KEYS, EFFECT_CLASSES, require
from .replicates import paired_effect_by_slice

#: The label of the one variant of a sweep without variants.
NO_VARIANT = "(no variants)"

#: What each variant of params/robustness.yaml changes, and why it is worth testing.
VARIANT_NOTES: dict[str, str] = {
    "baseline": "revision 2 defaults (forced rollover at par, H = T = 10, outstanding loss basis, "
                "anchors on, simultaneous clearing, final shares)",
    "lender_choice": "a trader lender keeps a repayment it needs instead of re-lending it (§5.4, "
                     "R2.2), so liquidity stays where the gaps are",
    "risk_priced": "rolled paper is priced below par after losses (§5.4, R2.7), so defaults "
                   "continue after the first cycle",
    "horizon_1": "traders project their gap only 1 day ahead (§4.1), so they sell later and less",
    "horizon_3": "traders project their gap 3 days ahead (§4.1)",
    "loss_basis_maturing": "the anchors' loss rate uses revision 1's maturing-face basis (§3.6), "
                           "so outside prices fall faster after defaults",
    "anchors_off": "outside mid and spread never move (§3.6), so bids stay high whatever the losses",
    "sequential_clearing": "settlement pays one trader at a time instead of simultaneously (§5.2)",
    "shares_original": "the holders' shares refer to the base claims as in the reference system (§2.5)",
}

ROBUSTNESS_COLUMNS: list[str] = [
    "variant", "n_pairs", "n_seeds", "mean_delta_passive", "mean_delta_active", "mean_trading_effect",
    "ci_low", "ci_high", "diff_vs_baseline", "diff_ci_low", "diff_ci_high", "diff_p_value",
    "n_improved", "n_unchanged", "n_worsened"]

#: The criterion of :func:`takeaway_variant`, written out in notebook 07.
SURVIVAL_CRITERION = (
    "The headline *survives* a variant when the variant's mean effect has the baseline's sign and its "
    "95% CI over replicate seeds excludes zero; it *weakens* when the sign holds but the CI includes "
    "zero; it *does not survive* when the sign changes. Separately, the variant *changes the size* "
    "of the effect when the CI over seeds of its difference from the baseline (paired by cell and "
    "seed) excludes zero. With R = 1 there are no CIs, so only the sign is compared.")

def variant_labels(comparison: pd.DataFrame) -> pd.Series:
    """The ``variant`` column with blanks (a sweep without variants) shown as :data:`NO_VARIANT`."""
    if "variant" not in comparison.columns:
        return pd.Series(NO_VARIANT, index=comparison.index, dtype="object")
    v = comparison["variant"].fillna("").astype(str)
    return v.where(v != "", NO_VARIANT)


def _order(labels: pd.Series, order: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(labels))
    if order:
        first = [v for v in order if v in set(present)]
        return first + sorted(v for v in present if v not in set(first))
    return sorted(present)


def variant_differences(comparison: pd.DataFrame, variant: str, baseline: str) -> pd.DataFrame:
    """The variant's trading effect minus the baseline's, paired by (cell, seed): one row per
    pair present in both, with the grid axes, ``seed`` and ``trading_effect`` (the difference)."""
    labels = variant_labels(comparison)
    keys = list(CELL_KEYS) + ["seed"]
    v = comparison.loc[labels == variant, keys + ["trading_effect"]]
    b = comparison.loc[labels == baseline, keys + ["trading_effect"]]
    m = v.merge(b, on=keys, suffixes=("", "_baseline"), validate="one_to_one")
    m["trading_effect"] = m["trading_effect"] - m["trading_effect_baseline"]
    return m[keys + ["trading_effect"]]


def robustness_table(comparison: pd.DataFrame, order: Sequence[str] | None = None,
                     confidence: float = 0.95) -> pd.DataFrame:
    """One row per variant (in ``order``, the sweep's order; others sorted after; the first is
    the baseline): pairs, seeds, mean δ passive / active, the mean trading effect (mean over cells
    of the cell means) with its CI over replicate seeds, its difference from the baseline paired by
    (cell, seed) with that difference's CI and t-test p over seeds (§7.6), and the class counts."""
    require(comparison, ["delta_passive", "delta_active", "trading_effect", "effect_class", "seed"]
            + list(CELL_KEYS), "comparison")
    labels = variant_labels(comparison)
    variants = _order(labels, order)
    rows = []
    for v in variants:
        sub = comparison[labels == v]
        h = paired_effect_by_slice(sub, None, confidence=confidence).iloc[0]
        d = paired_effect_by_slice(variant_differences(comparison, v, variants[0]), None,
                                   confidence=confidence).iloc[0]
        counts = sub["effect_class"].value_counts()
        rows.append({"variant": v, "n_pairs": len(sub), "n_seeds": int(h["n_seeds"]),
                     "mean_delta_passive": sub["delta_passive"].mean(),
                     "mean_delta_active": sub["delta_active"].mean(),
                     "mean_trading_effect": h["mean_effect"], "ci_low": h["ci_low"], "ci_high": h["ci_high"],
                     "diff_vs_baseline": d["mean_effect"], "diff_ci_low": d["ci_low"],
                     "diff_ci_high": d["ci_high"], "diff_p_value": d["p_value"],
                     **{f"n_{c}": int(counts.get(c, 0)) for c in EFFECT_CLASSES}})
    return pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)


def effect_by_axis(comparison: pd.DataFrame, axis: str, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean trading effect per value of ``axis`` (rows) and variant (columns, in ``order``)."""
    require(comparison, [axis, "trading_effect"], "comparison")
    df = comparison.assign(variant=variant_labels(comparison))
    wide = df.pivot_table(index=axis, columns="variant", values="trading_effect", aggfunc="mean")
    wide = wide[_order(df["variant"], order)]
    wide.columns.name = None
    return wide.reset_index()


def _sign_word(x: float) -> str:
    return "fewer" if x > 0 else "more" if x < 0 else "no change in"


def takeaway_variant(table: pd.DataFrame, variant: str, baseline: str) -> str:
    """Whether the baseline's headline survives ``variant`` by :data:`SURVIVAL_CRITERION`, with
    the variant's effect and its difference from the baseline, each with its CI over seeds."""
    t = table.set_index("variant")
    if variant not in t.index or baseline not in t.index:
        raise KeyError(f"variant {variant!r} or baseline {baseline!r} not in the table")
    r, b = t.loc[variant], t.loc[baseline]
    note = VARIANT_NOTES.get(variant, "")
    what = f"{variant} — {note} —" if note else f"{variant}:"
    classes = f"{int(r['n_improved'])}/{int(r['n_unchanged'])}/{int(r['n_worsened'])} improved/unchanged/worsened pairs"
    eff, lo, hi = float(r["mean_trading_effect"]), float(r["ci_low"]), float(r["ci_high"])
    n = int(r["n_seeds"])
    ci = f"95% CI over {n} seeds [{lo:+.4f}, {hi:+.4f}]" if np.isfinite(lo) else "no CI with R = 1"
    if variant == baseline:
        return (f"Baseline {what} mean trading effect {eff:+.4f} ({ci}), {classes}; trading means "
                f"{_sign_word(eff)} defaults on average.")
    beff = float(b["mean_trading_effect"])
    same_sign = np.sign(round(eff, 9)) == np.sign(round(beff, 9))
    excludes_zero = np.isfinite(lo) and (lo > 0 or hi < 0)
    if not same_sign:
        verdict = "the headline does not survive (the sign changes)"
    elif not np.isfinite(lo):
        verdict = "the sign of the headline holds (no CI with R = 1, so survival is not judged)"
    elif excludes_zero:
        verdict = "the headline survives"
    else:
        verdict = "the headline weakens to an effect whose CI includes zero"
    diff, dlo, dhi = (float(r[c]) for c in ("diff_vs_baseline", "diff_ci_low", "diff_ci_high"))
    if np.isfinite(dlo):
        size = ("changes the size" if dlo > 0 or dhi < 0 else "does not change the size detectably")
        dtext = f"difference from the baseline {diff:+.4f} (95% CI over seeds [{dlo:+.4f}, {dhi:+.4f}]: {size})"
    else:
        dtext = f"difference from the baseline {diff:+.4f} (no CI with R = 1)"
    return f"{what} {verdict}: mean effect {eff:+.4f} ({ci}), {dtext}, {classes}."
