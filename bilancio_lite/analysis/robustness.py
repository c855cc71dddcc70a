"""The headline across the variants of a sweep (§6.4 variants; §7.2 trading effect and classes).

The headline of a sweep is its mean trading effect ``δ passive − δ active`` over the grid, with a
percentile-bootstrap 95% interval over pairs, the improved / unchanged / worsened counts, and the
mean effect by kappa and by rho. :func:`robustness_table` gives one row per variant;
:func:`takeaway_variant` says in one sentence whether the baseline's headline survives a variant.
A sweep without variants has one unnamed variant, shown as ``(no variants)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._common import EFFECT_CLASSES, require
from .replicates import bootstrap_mean_ci

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
    "variant", "n_pairs", "mean_delta_passive", "mean_delta_active", "mean_trading_effect", "ci_low",
    "ci_high", "n_improved", "n_unchanged", "n_worsened"]


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


def robustness_table(comparison: pd.DataFrame, order: Sequence[str] | None = None,
                     n_boot: int = 2000) -> pd.DataFrame:
    """One row per variant (in ``order``, the sweep's order; others sorted after): pairs, mean δ
    passive / active, mean trading effect with its bootstrap 95% CI over pairs, class counts."""
    require(comparison, ["delta_passive", "delta_active", "trading_effect", "effect_class"], "comparison")
    labels = variant_labels(comparison)
    rows = []
    for v in _order(labels, order):
        sub = comparison[labels == v]
        lo, hi = bootstrap_mean_ci(sub["trading_effect"].to_numpy(), n_boot=n_boot)
        counts = sub["effect_class"].value_counts()
        rows.append({"variant": v, "n_pairs": len(sub),
                     "mean_delta_passive": sub["delta_passive"].mean(),
                     "mean_delta_active": sub["delta_active"].mean(),
                     "mean_trading_effect": sub["trading_effect"].mean(), "ci_low": lo, "ci_high": hi,
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
    """Whether the baseline's headline (sign of the mean effect, its CI excluding zero, and the
    majority class) survives ``variant``, with the size relative to the baseline."""
    t = table.set_index("variant")
    if variant not in t.index or baseline not in t.index:
        raise KeyError(f"variant {variant!r} or baseline {baseline!r} not in the table")
    r, b = t.loc[variant], t.loc[baseline]
    note = VARIANT_NOTES.get(variant, "")
    what = f"{variant} — {note} —" if note else f"{variant}:"
    classes = f"{int(r['n_improved'])}/{int(r['n_unchanged'])}/{int(r['n_worsened'])} improved/unchanged/worsened"
    eff, lo, hi = float(r["mean_trading_effect"]), float(r["ci_low"]), float(r["ci_high"])
    ci = f"95% CI [{lo:+.4f}, {hi:+.4f}]" if np.isfinite(lo) else "no CI (fewer than 2 pairs)"
    if variant == baseline:
        return (f"Baseline {what} mean trading effect {eff:+.4f} ({ci}), {classes}; trading means "
                f"{_sign_word(eff)} defaults on average.")
    beff = float(b["mean_trading_effect"])
    same_sign = np.sign(round(eff, 9)) == np.sign(round(beff, 9))
    excludes_zero = np.isfinite(lo) and (lo > 0 or hi < 0)
    if same_sign and excludes_zero:
        verdict = "the headline survives"
    elif same_sign:
        verdict = "the headline weakens to an effect whose CI includes zero"
    else:
        verdict = "the headline does not survive (the sign changes)"
    ratio = f", {eff / beff:.2f} times the baseline's {beff:+.4f}" if beff != 0 else ""
    return f"{what} {verdict}: mean effect {eff:+.4f} ({ci}{ratio}), {classes}."
