"""Coverage of the CI of a cut (docs/model.md §7.6) on synthetic sweeps with a known truth
(``factories.synthetic``: a fixed 81-cell grid, heterogeneous true cell effects, seed shocks
shared by the cells of a seed as common random numbers make them, plus pair noise).

Over 1,000 sweeps at R = 20 the 95% CI over seeds must cover the truth 93–97% of the time. The
same check fails for the two CIs this project used before (a percentile bootstrap over pairs,
which treats the correlated pairs of a seed as independent and undercovers; one over cell means,
which measures how different the cells are and overcovers), so the test can fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bilancio_lite.analysis import CELL_KEYS, paired_effect_by_slice
from factories.synthetic import synthetic_sweeps

N_SWEEPS = 1000


def coverage(lo: np.ndarray, hi: np.ndarray, truth: float) -> float:
    return float(np.mean((lo <= truth) & (truth <= hi)))


def old_pair_level_ci(comp: pd.DataFrame, n_sweeps: int) -> tuple[np.ndarray, np.ndarray]:
    """The removed estimator: a percentile bootstrap of the mean over a cut's pairs."""
    x = comp[comp["sweep"] < n_sweeps].sort_values(["sweep"], kind="mergesort")["trading_effect"]
    x = x.to_numpy().reshape(n_sweeps, -1)
    res = stats.bootstrap((x,), np.mean, axis=-1, vectorized=True, method="percentile",
                          n_resamples=499, batch=50, rng=np.random.default_rng(1))
    return res.confidence_interval.low, res.confidence_interval.high


def old_cell_level_ci(comp: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The headline script's estimator: a percentile bootstrap over the cells' means."""
    cm = comp.groupby(["sweep"] + list(CELL_KEYS))["trading_effect"].mean().to_numpy()
    res = stats.bootstrap((cm.reshape(N_SWEEPS, -1),), np.mean, axis=-1, vectorized=True,
                          method="percentile", n_resamples=499, batch=100, rng=np.random.default_rng(1))
    return res.confidence_interval.low, res.confidence_interval.high


@pytest.fixture(scope="module")
def sweeps_r20():
    return synthetic_sweeps(N_SWEEPS, 20)


def test_seed_ci_covers_the_truth_93_to_97_percent_at_r20(sweeps_r20):
    comp, truth = sweeps_r20
    t = paired_effect_by_slice(comp, "sweep")
    assert len(t) == N_SWEEPS and (t["n_seeds"] == 20).all() and (t["n_cells"] == 81).all()
    assert t["mean_effect"].mean() == pytest.approx(truth, abs=0.002)  # unbiased
    cov = coverage(t["ci_low"].to_numpy(), t["ci_high"].to_numpy(), truth)
    assert 0.93 <= cov <= 0.97, cov


def test_the_old_pair_level_ci_undercovers_so_the_check_can_fail(sweeps_r20):
    comp, truth = sweeps_r20
    n = 200  # the pair-level bootstrap resamples 1,620 pairs per sweep: 200 sweeps show it
    lo, hi = old_pair_level_ci(comp, n)
    cov = coverage(lo, hi, truth)
    assert cov < 0.85, cov  # far outside 93-97%: the correlated pairs of a seed are not independent
    new = paired_effect_by_slice(comp[comp["sweep"] < n], "sweep")
    assert (new["ci_high"] - new["ci_low"]).mean() > 1.5 * np.mean(hi - lo)


def test_a_ci_over_cells_overcovers_it_measures_heterogeneity(sweeps_r20):
    comp, truth = sweeps_r20
    lo, hi = old_cell_level_ci(comp)
    assert coverage(lo, hi, truth) > 0.99


def test_seed_ci_also_covers_at_r5():
    comp, truth = synthetic_sweeps(N_SWEEPS, 5, seed=11)
    t = paired_effect_by_slice(comp, "sweep")
    assert 0.93 <= coverage(t["ci_low"].to_numpy(), t["ci_high"].to_numpy(), truth) <= 0.97
