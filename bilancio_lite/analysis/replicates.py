"""Paired trading effect across replicates, per slice of the grid (spec §6.3, §6.4, §7.2).

Each pair gives one paired difference ``trading_effect = delta_passive − delta_active`` on common
random numbers. For each slice (the pairs sharing the values of ``by``) this module reports the
mean difference, a percentile-bootstrap confidence interval (``numpy.random.default_rng`` seeded
per slice, so a slice's result does not depend on the other slices) and a Wilcoxon signed-rank
test of zero median difference (``scipy.stats.wilcoxon`` on the non-zero differences, as in
Wilcoxon's original zero handling, so small samples get the exact distribution).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._common import as_list, empty_frame, norm_keys, require, sort_frame

EFFECT_VALUE_COLUMNS: list[str] = [
    "n_pairs", "n_seeds", "mean_effect", "ci_low", "ci_high", "n_nonzero", "wilcoxon_statistic",
    "p_value", "note"]


def bootstrap_mean_ci(x: np.ndarray, n_boot: int = 2000, confidence: float = 0.95,
                      seed: int = 12345) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``x`` (NaN, NaN for fewer than 2 values)."""
    x = np.asarray(x, dtype="float64")
    if len(x) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def wilcoxon_test(x: np.ndarray) -> tuple[float, float, str]:
    """(statistic, two-sided p-value, note). All-zero differences give (NaN, 1.0, note); fewer
    than 2 pairs give (NaN, NaN, note)."""
    x = np.asarray(x, dtype="float64")
    if len(x) < 2:
        return float("nan"), float("nan"), "fewer than 2 pairs: no CI or test"
    if not np.any(x != 0):
        return float("nan"), 1.0, "all differences zero"
    from scipy import stats  # imported here: scipy.stats costs ~1 s to import

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.wilcoxon(x[x != 0], alternative="two-sided")
        return float(res.statistic), float(res.pvalue), ""
    except ValueError as exc:  # pragma: no cover - scipy edge cases
        return float("nan"), float("nan"), f"wilcoxon failed: {exc}"


def paired_effect_by_slice(comparison: pd.DataFrame, by: str | Sequence[str],
                           n_boot: int = 2000, confidence: float = 0.95,
                           seed: int = 12345) -> pd.DataFrame:
    """Paired trading effect per slice (§7.2) with bootstrap CI and Wilcoxon test.

    ``by``: one or more parameter columns (aliases ``rho``/``c`` accepted); pass the four grid
    parameters to test each cell across its replicates. Columns: ``by`` + ``n_pairs``,
    ``n_seeds``, ``mean_effect``, ``ci_low``, ``ci_high``, ``n_nonzero``, ``wilcoxon_statistic``,
    ``p_value``, ``note`` (empty when the test ran). With R = 1 and a per-cell ``by`` every slice
    has one pair: CI and p-value are NaN and ``note`` says why.
    """
    keys = as_list(by)
    if comparison.empty:
        return empty_frame(keys + EFFECT_VALUE_COLUMNS)
    require(comparison, keys + ["trading_effect", "seed"], "comparison")
    df = norm_keys(comparison)
    rows = []
    for vals, grp in df.groupby(keys, sort=True, dropna=False):
        x = grp["trading_effect"].to_numpy(dtype="float64")
        lo, hi = bootstrap_mean_ci(x, n_boot=n_boot, confidence=confidence, seed=seed)
        stat, p, note = wilcoxon_test(x)
        row = dict(zip(keys, vals if isinstance(vals, tuple) else (vals,)))
        row.update(n_pairs=len(x), n_seeds=int(grp["seed"].nunique()), mean_effect=float(x.mean()),
                   ci_low=lo, ci_high=hi, n_nonzero=int(np.count_nonzero(x)),
                   wilcoxon_statistic=stat, p_value=p, note=note)
        rows.append(row)
    return sort_frame(pd.DataFrame(rows, columns=keys + EFFECT_VALUE_COLUMNS), keys)


def replicate_count(comparison: pd.DataFrame) -> int:
    """R: the number of distinct replicates (the ``replicate`` column, or ``seed`` without it)."""
    if comparison.empty:
        return 0
    col = "replicate" if "replicate" in comparison.columns else "seed"
    return int(comparison[col].nunique())
