"""Coverage of the CI of a cut (docs/model.md §7.6) on synthetic sweeps with a known truth.

Each synthetic sweep is a comparison table of a fixed 3^4 grid (81 cells, the design) with R
replicate seeds. A cell's true effect is fixed across sweeps (heterogeneous; zero in the mu = 0
cells, as in the model, where no claim is tradable); the noise of a pair is a seed shock shared by
every tradable cell of the seed (common random numbers correlate the cells of a seed, §6.3) plus
an idiosyncratic term. The truth of the whole-grid headline is the mean of the true cell effects.

Over 1,000 sweeps at R = 20 the 95% CI over seeds must cover the truth 93–97% of the time. The
same check fails for the two CIs this project used before (a percentile bootstrap over pairs,
which treats the correlated pairs of a seed as independent and undercovers; one over cell means,
which measures how different the cells are and overcovers), so the test can fail.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bilancio_lite.analysis import CELL_KEYS, paired_effect_by_slice

N_SWEEPS = 1000
LEVELS = (0.0, 0.5, 1.0)  # every axis; mu = 0 is the first mu level
SIGMA_SEED, SIGMA_PAIR = 0.03, 0.06


def true_cell_effects() -> tuple[pd.DataFrame, float]:
    """The fixed design: 81 cells with heterogeneous true effects, zero where mu = 0."""
    rng = np.random.default_rng(2026)
    cells = pd.DataFrame(list(itertools.product(LEVELS, repeat=4)), columns=list(CELL_KEYS))
    tau = 0.08 + 0.05 * cells["kappa"] + rng.normal(0.0, 0.08, len(cells))
    cells["true_effect"] = np.where(cells["mu"] > 0, tau, 0.0)
    return cells, float(cells["true_effect"].mean())


def synthetic_sweeps(n_sweeps: int, R: int, seed: int = 7) -> tuple[pd.DataFrame, float]:
    """One comparison table holding ``n_sweeps`` sweeps (column ``sweep``), and the truth."""
    cells, truth = true_cell_effects()
    rng = np.random.default_rng(seed)
    tradable = (cells["mu"] > 0).to_numpy(dtype=float)[None, :, None]
    shock = rng.normal(0.0, SIGMA_SEED, (n_sweeps, 1, R))  # shared by every cell of a seed
    noise = rng.normal(0.0, SIGMA_PAIR, (n_sweeps, len(cells), R))
    effect = cells["true_effect"].to_numpy()[None, :, None] + tradable * (shock + noise)
    sweep, cell, r = np.meshgrid(np.arange(n_sweeps), np.arange(len(cells)), np.arange(R), indexing="ij")
    comp = cells.iloc[cell.ravel()][list(CELL_KEYS)].reset_index(drop=True)
    comp["sweep"] = sweep.ravel()
    comp["seed"] = 42 + r.ravel()
    comp["trading_effect"] = effect.ravel()
    return comp, truth


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
