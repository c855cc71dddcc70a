"""Synthetic sweeps with a known truth for the coverage of the CI of a cut (docs/model.md §7.6).

A synthetic sweep is a comparison table of a fixed 3^4 grid (81 cells, the design) with R replicate
seeds. A cell's true effect is fixed across sweeps (heterogeneous; zero in the mu = 0 cells, as in
the model, where no claim is tradable); the noise of a pair is a seed shock shared by every tradable
cell of the seed (common random numbers correlate the cells of a seed, §6.3) plus an idiosyncratic
term. The truth of the whole-grid headline is the mean of the true cell effects. Used by
tests/test_analysis_ci_coverage.py and benchmarks/ci_coverage.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from bilancio_lite.analysis import CELL_KEYS

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
