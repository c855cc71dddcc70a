"""Which grid parameter matters most: a variance decomposition of the cell effects (spec §7.6).

The cell-mean trading effects of a complete, balanced full-factorial grid (every cell with the same
seeds) are split, as in a full-factorial ANOVA, into the sums of squares of each axis's main effect
and each two-way interaction; what is left is the three- and higher-way interactions. On a balanced
grid these terms are orthogonal, so their shares of the total sum of squares add up to 1
(``tests/test_analysis_variance.py`` checks the sums of squares against statsmodels' ``anova_lm``).

The shares describe the fixed grid; their uncertainty comes from the replicate seeds: each CI is a
percentile bootstrap (``scipy.stats.bootstrap``) that resamples whole seeds (the same seeds for every
cell, preserving the common random numbers of §6.3) and recomputes the cell means and the shares.
With R = 1 there is no CI.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._common import CELL_KEYS, PARAM_ALIASES, norm_keys, require

_SHORT = {v: k for k, v in PARAM_ALIASES.items()}
VARIANCE_COLUMNS: list[str] = ["term", "kind", "df", "sum_sq", "share", "ci_low", "ci_high"]
RESIDUAL = "higher-order interactions"


def effect_array(comparison: pd.DataFrame, axes: Sequence[str] = CELL_KEYS,
                 value: str = "trading_effect") -> tuple[np.ndarray, list[np.ndarray]]:
    """(``y``, levels): ``y[i, j, …, r]`` is the effect of the cell with the i-th level of the
    first axis, … in seed r (seeds sorted); ``levels`` lists each axis's sorted values. Raises
    ``ValueError`` when the grid is not complete (a pair missing, a failed pair, a repeated pair)."""
    require(comparison, list(axes) + [value, "seed"], "comparison")
    df = norm_keys(comparison)
    levels = [np.sort(df[a].unique()) for a in axes]
    seeds = np.sort(df["seed"].unique())
    shape = tuple(len(v) for v in levels) + (len(seeds),)
    if len(df) != int(np.prod(shape)) or df.duplicated(list(axes) + ["seed"]).any():
        raise ValueError(f"the variance decomposition needs a complete grid: {len(df)} pairs, "
                         f"expected {int(np.prod(shape))} ({' x '.join(map(str, shape))} axes x seeds)")
    idx = tuple(np.searchsorted(v, df[a].to_numpy()) for v, a in zip(levels, axes))
    y = np.full(shape, np.nan)
    y[idx + (np.searchsorted(seeds, df["seed"].to_numpy()),)] = df[value].to_numpy(dtype="float64")
    return y, levels


def sums_of_squares(cells: np.ndarray, n_axes: int) -> dict[tuple[int, ...], np.ndarray]:
    """Sums of squares of a balanced full factorial: ``cells[..., i1, …, ik]`` (the last
    ``n_axes`` axes are the grid; leading axes are a batch). Keys: ``()`` the total (corrected),
    ``(a,)`` main effects, ``(a, b)`` two-way interactions; vectorised over the batch."""
    grid = tuple(range(cells.ndim - n_axes, cells.ndim))
    grand = cells.mean(axis=grid, keepdims=True)

    def marginal(keep: tuple[int, ...]) -> np.ndarray:
        drop = tuple(grid[a] for a in range(n_axes) if a not in keep)
        return cells.mean(axis=drop, keepdims=True) if drop else cells

    main = {a: marginal((a,)) - grand for a in range(n_axes)}
    ss: dict[tuple[int, ...], np.ndarray] = {(): ((cells - grand) ** 2).sum(axis=grid)}
    for a in range(n_axes):
        ss[(a,)] = (np.broadcast_to(main[a] ** 2, cells.shape)).sum(axis=grid)
    for a, b in itertools.combinations(range(n_axes), 2):
        inter = marginal((a, b)) - main[a] - main[b] - grand
        ss[(a, b)] = np.broadcast_to(inter ** 2, cells.shape).sum(axis=grid)
    return ss


def _shares(cells: np.ndarray, n_axes: int) -> np.ndarray:
    """Shares of the total of every main effect, two-way term and the rest (stacked last)."""
    ss = sums_of_squares(cells, n_axes)
    total = ss.pop(())
    terms = np.stack(list(ss.values()), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = terms / total[..., None]
    return np.concatenate([shares, 1.0 - shares.sum(axis=-1, keepdims=True)], axis=-1)


def variance_decomposition(comparison: pd.DataFrame, axes: Sequence[str] = CELL_KEYS,
                           confidence: float = 0.95, n_resamples: int = 2000,
                           rng_seed: int = 12345, value: str = "trading_effect") -> pd.DataFrame:
    """Full-factorial decomposition of the cell-mean effects over ``axes`` (§7.6).

    One row per main effect, two-way interaction and the remainder (``higher-order
    interactions``): ``df``, ``sum_sq`` (over the cells' means), ``share`` of the total, and a
    percentile-bootstrap CI over replicate seeds (NaN with R = 1). Axes with a single value are
    left out. Raises ``ValueError`` on an incomplete grid."""
    from scipy import stats  # imported here: scipy.stats costs ~1 s to import

    y, levels = effect_array(comparison, axes, value)
    keep = [i for i, v in enumerate(levels) if len(v) > 1]
    axes = [list(axes)[i] for i in keep]
    y = y.reshape(tuple(len(levels[i]) for i in keep) + (y.shape[-1],))
    k, n_seeds = len(axes), y.shape[-1]
    cells = y.mean(axis=-1)
    ss = sums_of_squares(cells, k)
    total = ss.pop(())
    names, kinds, dfs = [], [], []
    for key in ss:
        names.append(" × ".join(_SHORT.get(axes[a], axes[a]) for a in key))
        kinds.append("main effect" if len(key) == 1 else "two-way interaction")
        dfs.append(int(np.prod([y.shape[a] - 1 for a in key])))
    sums = [float(v) for v in ss.values()]
    names.append(RESIDUAL)
    kinds.append("remainder")
    dfs.append(int(np.prod(y.shape[:-1])) - 1 - sum(dfs))
    sums.append(float(total) - sum(sums))
    share = _shares(cells, k)
    lo = hi = np.full(len(names), np.nan)
    if n_seeds >= 2 and total > 0:
        def stat(idx: np.ndarray, axis: int = -1) -> np.ndarray:
            sample = y[..., idx.astype(int)]  # grid..., batch, seeds
            m = np.moveaxis(sample.mean(axis=-1), -1, 0)  # batch, grid...
            return np.moveaxis(_shares(m, k), -1, 0)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap((np.arange(n_seeds, dtype=float),), stat, vectorized=True,
                                  method="percentile", confidence_level=confidence,
                                  n_resamples=n_resamples, batch=200,
                                  rng=np.random.default_rng(rng_seed))
        lo, hi = res.confidence_interval.low, res.confidence_interval.high
    return pd.DataFrame({"term": names, "kind": kinds, "df": dfs, "sum_sq": sums, "share": share,
                         "ci_low": lo, "ci_high": hi}, columns=VARIANCE_COLUMNS)


def takeaway_variance(table: pd.DataFrame) -> str:
    """Which term explains most of the variance of the cell effects, with its seed CI."""
    if table.empty or not np.isfinite(table["share"]).any():
        return "The cell effects do not vary, so there is nothing to decompose."
    t = table[table["kind"] != "remainder"].sort_values(["share", "term"], ascending=[False, True],
                                                        kind="mergesort")
    def one(r) -> str:
        ci = (f" [{100 * r.ci_low:.0f}%, {100 * r.ci_high:.0f}%]" if np.isfinite(r.ci_low) else "")
        return f"{r.term} {100 * r.share:.0f}%{ci}"

    rest = float(table.loc[table["kind"] == "remainder", "share"].sum())
    mains = table.loc[table["kind"] == "main effect"].sort_values(["share", "term"], ascending=[False, True],
                                                                  kind="mergesort")
    ci_note = (" (95% CIs: percentile bootstrap over replicate seeds)"
               if np.isfinite(table["ci_low"]).any() else " (R = 1: no CI)")
    return (f"Of the variance of the cell-mean effects, the largest shares are "
            f"{', '.join(one(r) for r in t.head(3).itertuples())}{ci_note}; the main effects rank "
            f"{' > '.join(mains['term'])}, and higher-order interactions take {100 * rest:.0f}%.")
