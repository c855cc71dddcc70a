"""The sweep's headline (spec §7.2): the mean trading effect ``δ passive − δ active`` over every
pair of the sweep, with its confidence interval as notebook 01 computes it, and the improved /
unchanged / worsened counts. The report site's front page (:mod:`bilancio_lite.site`) shows it.

The interval comes from one call, :func:`headline_estimate`, to the estimator notebook 01 opens with
(:func:`bilancio_lite.analysis.replicates.headline_table`, §7.6: the mean over cells of the cell
means, with a CI and t-test over the replicate seeds' means), for all cells and for the cells with
a tradable claim (mu > 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._common import require
from .replicates import CI_METHOD_NAMES, CI_UNIT, headline_table, replicate_count

#: How :func:`headline_estimate`'s interval is computed, in words (the front page says it).
HEADLINE_CI_METHOD = f"{CI_METHOD_NAMES['t']} (unit: {CI_UNIT})"


def headline_estimate(comparison: pd.DataFrame) -> pd.DataFrame:
    """Notebook 01's headline rows (``cut`` "all cells" and "mu > 0"): ``mean_effect``,
    ``ci_low``, ``ci_high``, ``p_value``, ``n_cells``, ``n_seeds`` (the CI is NaN with one
    replicate per cell, as in 01)."""
    return headline_table(comparison).set_index("cut")


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
    #: the same estimate over the cells with a tradable claim (mu > 0; NaN when the sweep has none)
    tradable_effect: float = float("nan")
    tradable_ci_low: float = float("nan")
    tradable_ci_high: float = float("nan")

    @property
    def has_ci(self) -> bool:
        return bool(np.isfinite(self.ci_low) and np.isfinite(self.ci_high))

    def sentence(self) -> str:
        """E.g. "Trading with the dealers changes the default share (δ, share of lineages) from
        0.310 to 0.228: a mean trading effect of 0.082 (95% CI 0.070 to 0.094; …)."""
        if self.has_ci:
            ci = (f"95% CI {self.ci_low:.3f} to {self.ci_high:.3f}: {HEADLINE_CI_METHOD}; {self.n_pairs} pairs, "
                  f"{self.replicates} replicate seeds; t-test over the seed means p = {self.p_value:.2g}")
        else:
            ci = (f"no CI with {self.replicates} replicate per grid cell: the pairs are different cells, "
                  f"not replicates; rerun with replicates > 1 for one")
        return (f"Trading with the dealers changes the mean default share δ (share of lineages) from "
                f"{self.mean_delta_passive:.3f} without them to {self.mean_delta_active:.3f} with them: a mean "
                f"trading effect of {self.mean_effect:+.3f} ({ci}). Fewer defaults in {self.n_improved} of "
                f"{self.n_pairs} pairs, the same in {self.n_unchanged}, more in {self.n_worsened}.{self._tradable()}")

    def _tradable(self) -> str:
        if not np.isfinite(self.tradable_effect):
            return ""
        ci = (f" (95% CI {self.tradable_ci_low:.3f} to {self.tradable_ci_high:.3f})"
              if np.isfinite(self.tradable_ci_low) and np.isfinite(self.tradable_ci_high) else "")
        return (f" Over the cells with a tradable claim (mu > 0; with mu = 0 the effect is zero by "
                f"construction): {self.tradable_effect:+.3f}{ci}.")


def sweep_headline(comparison: pd.DataFrame) -> Headline:
    """The :class:`Headline` of a sweep's comparison table (every pair; a sweep with variants:
    pass the rows of one variant, as notebook 01 does with its first)."""
    require(comparison, ["delta_passive", "delta_active", "trading_effect", "effect_class", "seed"], "comparison")
    if comparison.empty:
        raise ValueError("comparison: no pairs")
    rows = headline_estimate(comparison)
    replicates = replicate_count(comparison)
    if replicates < 2:  # as notebook 01: with R = 1 the pairs are grid cells, not replicates: no CI
        rows[["ci_low", "ci_high", "p_value"]] = np.nan
    est, tradable = rows.loc["all cells"], rows.loc["mu > 0"]
    classes = comparison["effect_class"].value_counts()
    return Headline(n_pairs=len(comparison), replicates=replicates,
                    mean_delta_passive=float(comparison["delta_passive"].mean()),
                    mean_delta_active=float(comparison["delta_active"].mean()),
                    mean_effect=float(est["mean_effect"]), ci_low=float(est["ci_low"]),
                    ci_high=float(est["ci_high"]), p_value=float(est["p_value"]),
                    n_improved=int(classes.get("improved", 0)), n_unchanged=int(classes.get("unchanged", 0)),
                    n_worsened=int(classes.get("worsened", 0)),
                    tradable_effect=float(tradable["mean_effect"]), tradable_ci_low=float(tradable["ci_low"]),
                    tradable_ci_high=float(tradable["ci_high"]))
