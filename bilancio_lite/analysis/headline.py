"""The sweep's headline (spec §7.2): the mean trading effect ``δ passive − δ active`` over every
pair of the sweep, with its confidence interval as notebook 01 computes it, and the improved /
unchanged / worsened counts. The report site's front page (:mod:`bilancio_lite.site`) shows it.

The interval comes from one call, :func:`headline_estimate`, to the estimator notebook 01 uses for
its cuts (:func:`bilancio_lite.analysis.replicates.paired_effect_by_slice`, every pair of the sweep
as one slice); pointing that call at another estimator changes the front page with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._common import require
from .replicates import paired_effect_by_slice, replicate_count

#: The one slice of the whole sweep (the column :func:`headline_estimate` groups by).
_ALL = "all_pairs"
#: How :func:`headline_estimate`'s interval is computed, in words (the front page says it; change
#: it with the estimator).
HEADLINE_CI_METHOD = "percentile bootstrap over the pairs, every replicate pooled, as notebook 01's cuts"


def headline_estimate(comparison: pd.DataFrame) -> pd.Series:
    """One row of the estimator notebook 01 uses: ``mean_effect``, ``ci_low``, ``ci_high``,
    ``n_pairs``, ``n_seeds``, ``p_value``, ``note`` for every pair of the sweep as one slice (the
    CI is NaN with one replicate per cell: then the grid cells, not replicates, would be
    resampled, and 01 shows no CI either)."""
    table = paired_effect_by_slice(comparison.assign(**{_ALL: "all"}), _ALL)
    return table.iloc[0]


@dataclass(frozen=True)
class Headline:
    """The headline numbers of a sweep (§7.2); :meth:`sentence` says them in words."""

    n_pairs: int
    replicates: int
    mean_delta_passive: float
    mean_delta_active: float
    mean_effect: float
    ci_low: float
    ci_high: float
    p_value: float
    n_improved: int
    n_unchanged: int
    n_worsened: int

    @property
    def has_ci(self) -> bool:
        return bool(np.isfinite(self.ci_low) and np.isfinite(self.ci_high))

    def sentence(self) -> str:
        """E.g. "Trading with the dealers changes the default share (δ, share of lineages) from
        0.310 to 0.228: a mean trading effect of 0.082 (95% CI 0.070 to 0.094; …)."""
        if self.has_ci:
            ci = (f"95% CI {self.ci_low:.3f} to {self.ci_high:.3f}: {HEADLINE_CI_METHOD}; {self.n_pairs} pairs, "
                  f"{self.replicates} replicate seeds; Wilcoxon signed-rank p = {self.p_value:.2g}")
        else:
            ci = (f"no CI with {self.replicates} replicate per grid cell: the pairs are different cells, "
                  f"not replicates; rerun with replicates > 1 for one")
        return (f"Trading with the dealers changes the mean default share δ (share of lineages) from "
                f"{self.mean_delta_passive:.3f} without them to {self.mean_delta_active:.3f} with them: a mean "
                f"trading effect of {self.mean_effect:+.3f} ({ci}). Fewer defaults in {self.n_improved} of "
                f"{self.n_pairs} pairs, the same in {self.n_unchanged}, more in {self.n_worsened}.")


def sweep_headline(comparison: pd.DataFrame) -> Headline:
    """The :class:`Headline` of a sweep's comparison table (every pair; a sweep with variants:
    pass the rows of one variant, as notebook 01 does with its first)."""
    require(comparison, ["delta_passive", "delta_active", "trading_effect", "effect_class", "seed"], "comparison")
    if comparison.empty:
        raise ValueError("comparison: no pairs")
    est = headline_estimate(comparison)
    replicates = replicate_count(comparison)
    if replicates < 2:  # as notebook 01: with R = 1 the pairs are grid cells, not replicates: no CI
        est = est.copy()
        est[["ci_low", "ci_high", "p_value"]] = np.nan
    classes = comparison["effect_class"].value_counts()
    return Headline(n_pairs=len(comparison), replicates=replicates,
                    mean_delta_passive=float(comparison["delta_passive"].mean()),
                    mean_delta_active=float(comparison["delta_active"].mean()),
                    mean_effect=float(est["mean_effect"]), ci_low=float(est["ci_low"]),
                    ci_high=float(est["ci_high"]), p_value=float(est["p_value"]),
                    n_improved=int(classes.get("improved", 0)), n_unchanged=int(classes.get("unchanged", 0)),
                    n_worsened=int(classes.get("worsened", 0)))
