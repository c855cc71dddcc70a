"""Inference over replicate seeds: the one estimator of every cut of the grid (spec §7.6, §6.3).

The grid is a fixed design (its cells are chosen, not sampled); the randomness is the replicate
seed, and every cell of a seed shares it (common random numbers, §6.3), so the pairs of one seed
are correlated and the seed, not the pair or the cell, is the sampling unit.

For a cut (the cells sharing the values of ``by``; ``by=[]`` is the whole grid):

- **estimate** — the mean over the cut's cells of each cell's mean effect over its seeds;
- **seed means** — for each replicate seed, the mean over the cut's cells of that seed's effect
  (R values; on a complete grid their mean is the estimate);
- **CI** — by default the Student t interval over the R seed means
  (``scipy.stats.ttest_1samp(...).confidence_interval``); ``method="bca"`` or ``"percentile"``
  gives ``scipy.stats.bootstrap`` over the same R values instead. The t interval is the default
  because the bootstrap's intervals undercover at the R this project runs (measured by
  ``benchmarks/ci_coverage.py``: BCa covers 92% at R = 20 and 83% at R = 5 where 95% is
  nominal; the t interval 94–95% at both);
- **test** — the one-sample t-test of a zero mean over the same R seed means (two-sided). Each seed
  mean averages many cells, so it is close to normal and the t-test keeps its level at any R ≥ 2,
  whereas the Wilcoxon signed-rank test cannot reach p < 0.0625 with R = 5 seeds;
- **R = 1** — no CI and no p-value (NaN, with a note).

A cut by an outcome rather than by the design (the stress regime of §7.2, which a cell can change
from seed to seed) holds different cells in different seeds; its estimate is the mean of its seed
means, so that the CI is about the estimate, and its ``note`` says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ._common import CELL_KEYS, as_list, empty_frame, norm_keys, require, sort_frame

#: How a CI over seed means is computed (see the module docstring).
CIMethod = Literal["t", "bca", "percentile"]
#: The unit and method named next to every seed CI (tables, captions, takeaways).
CI_UNIT = "replicate seed"
CI_METHOD_NAMES: dict[str, str] = {
    "t": "Student t interval over the seed means",
    "bca": "BCa bootstrap over the seed means (scipy.stats.bootstrap)",
    "percentile": "percentile bootstrap over the seed means (scipy.stats.bootstrap)",
}
TEST_NAME = "one-sample t-test over the seed means"
#: The note of a slice with one seed.
ONE_SEED_NOTE = "R = 1: no CI and no test"
#: The note of a slice of a cut by an outcome whose cells differ between seeds.
RAGGED_NOTE = "a cut by an outcome: cells differ between seeds; the estimate is the mean of the seed means"

EFFECT_VALUE_COLUMNS: list[str] = [
    "n_pairs", "n_cells", "n_seeds", "mean_effect", "ci_low", "ci_high", "t_statistic", "p_value",
    "note"]


def replicate_count(comparison: pd.DataFrame) -> int:
    """R: the number of distinct replicates (the ``replicate`` column, or ``seed`` without it)."""
    if comparison.empty:
        return 0
    col = "replicate" if "replicate" in comparison.columns else "seed"
    return int(comparison[col].nunique())


def cell_keys(comparison: pd.DataFrame) -> list[str]:
    """The columns that identify a cell: the grid axes, plus ``variant`` when present (§6.4)."""
    return list(CELL_KEYS) + (["variant"] if "variant" in comparison.columns else [])


# --------------------------------------------------------------------------- arrays of seed means
def seed_interval(x: np.ndarray, confidence: float = 0.95, method: CIMethod = "t",
                  n_resamples: int = 9999, rng_seed: int = 12345) -> dict[str, np.ndarray]:
    """CI and t-test over the last axis of ``x`` (seed means), vectorised over the other axes.

    Returns arrays ``mean``, ``ci_low``, ``ci_high``, ``t_statistic``, ``p_value`` with ``x``'s
    leading shape. NaN entries of ``x`` (a seed missing from a slice) are left out. Fewer than 2
    seeds: all NaN but ``mean``. Seed means all equal: the CI is that value and the test is NaN
    (p = 1 when they are all zero: nothing to test).
    """
    from scipy import stats  # imported here: scipy.stats costs ~1 s to import

    if method not in CI_METHOD_NAMES:
        raise ValueError(f"method must be one of {sorted(CI_METHOD_NAMES)}, got {method!r}")
    x = np.asarray(x, dtype="float64")
    n = np.sum(~np.isnan(x), axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mean = np.nanmean(x, axis=-1)
        res = stats.ttest_1samp(x, 0.0, axis=-1, nan_policy="omit")
        ci = res.confidence_interval(confidence)
        lo, hi = np.asarray(ci.low, dtype="float64"), np.asarray(ci.high, dtype="float64")
        t, p = np.asarray(res.statistic, dtype="float64"), np.asarray(res.pvalue, dtype="float64")
    spread = np.nanmax(x, axis=-1, initial=-np.inf, where=~np.isnan(x)) - np.nanmin(
        x, axis=-1, initial=np.inf, where=~np.isnan(x))
    flat = (n >= 2) & (spread == 0)
    if method != "t":
        lo, hi = _bootstrap(x, n, flat, confidence, method, n_resamples, rng_seed, lo, hi)
    lo, hi = np.where(flat, mean, lo), np.where(flat, mean, hi)
    t = np.where(flat, np.nan, t)
    p = np.where(flat, np.where(mean == 0, 1.0, np.nan), p)
    few = n < 2
    nan = np.full(np.shape(mean), np.nan)
    return {"mean": mean, "ci_low": np.where(few, nan, lo), "ci_high": np.where(few, nan, hi),
            "t_statistic": np.where(few, nan, t), "p_value": np.where(few, nan, p)}


def _bootstrap(x, n, flat, confidence, method, n_resamples, rng_seed, lo, hi):
    """scipy.stats.bootstrap over the seed means of every row with >= 2 seeds and no gap."""
    from scipy import stats

    lo, hi = np.array(lo, dtype="float64", ndmin=1), np.array(hi, dtype="float64", ndmin=1)
    shape = np.shape(lo)
    rows = x.reshape(-1, x.shape[-1])
    ok = (n.reshape(-1) == x.shape[-1]) & (x.shape[-1] >= 2) & ~flat.reshape(-1)
    lo, hi = lo.reshape(-1).copy(), hi.reshape(-1).copy()
    lo[~ok] = hi[~ok] = np.nan
    if ok.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap((rows[ok],), np.mean, axis=-1, vectorized=True, batch=200,
                                  confidence_level=confidence, method=method, n_resamples=n_resamples,
                                  rng=np.random.default_rng(rng_seed))
        lo[ok], hi[ok] = res.confidence_interval.low, res.confidence_interval.high
    return lo.reshape(shape), hi.reshape(shape)


# --------------------------------------------------------------------------- frames
def seed_means(comparison: pd.DataFrame, by: str | Sequence[str] | None = None,
               value: str = "trading_effect") -> pd.DataFrame:
    """One row per (slice of ``by``, seed): ``seed_mean``, the mean of ``value`` over the slice's
    cells in that seed, and ``n_cells``. ``by`` empty or None: the whole grid."""
    keys = as_list(by)
    require(comparison, keys + [value, "seed"], "comparison")
    df = norm_keys(comparison)
    g = df.groupby(keys + ["seed"], sort=True, dropna=False)[value]
    out = g.agg(seed_mean="mean", n_cells="size").reset_index()
    return out


def paired_effect_by_slice(comparison: pd.DataFrame, by: str | Sequence[str] | None,
                           confidence: float = 0.95, method: CIMethod = "t",
                           value: str = "trading_effect") -> pd.DataFrame:
    """The paired trading effect of each slice with its CI and test over replicate seeds (§7.6).

    ``by``: parameter columns (aliases ``rho``/``c`` accepted); ``[]``/None is the whole grid;
    the four grid axes give each cell across its seeds. Columns: ``by`` + ``n_pairs``,
    ``n_cells``, ``n_seeds``, ``mean_effect`` (mean over the slice's cells of the cell means),
    ``ci_low``/``ci_high`` (``method`` over the R seed means, see the module docstring),
    ``t_statistic``/``p_value`` (one-sample t-test over the seed means) and ``note`` (empty
    when the CI and test exist).
    """
    keys = as_list(by)
    if comparison.empty:
        return empty_frame(keys + EFFECT_VALUE_COLUMNS)
    require(comparison, keys + [value, "seed"], "comparison")
    df = norm_keys(comparison)
    cells = cell_keys(df)
    cell_mean = df.groupby(list(dict.fromkeys(keys + cells)), sort=True, dropna=False)[value].mean()
    est = (cell_mean.groupby(level=keys, sort=True, dropna=False).mean() if keys
           else pd.Series([cell_mean.mean()]))
    counts = df.groupby(keys, sort=True, dropna=False) if keys else None
    sm = seed_means(df, keys, value)
    # one row per observed slice, one column per seed (NaN where a slice lacks that seed)
    wide = (sm.set_index(keys + ["seed"])["seed_mean"].unstack("seed") if keys
            else sm.set_index("seed")["seed_mean"].to_frame().T)
    r = seed_interval(wide.to_numpy(), confidence=confidence, method=method)
    out = (wide.index.to_frame(index=False) if keys else pd.DataFrame(index=[0]))
    n_seeds = np.sum(~np.isnan(wide.to_numpy()), axis=1)
    out["n_pairs"] = counts.size().reindex(wide.index).to_numpy() if keys else len(df)
    out["n_cells"] = (cell_mean.groupby(level=keys, sort=True, dropna=False).size()
                      .reindex(wide.index).to_numpy() if keys else len(cell_mean))
    out["n_seeds"] = n_seeds
    est = est.reindex(wide.index).to_numpy() if keys else est.to_numpy()
    # a cut by an outcome (e.g. the stress regime), not by the design: its cells differ between
    # seeds, so the estimate is the mean of its seed means, the value the CI is about
    outcome_cut = any(k not in cells for k in keys)
    ragged = outcome_cut & (out["n_pairs"].to_numpy() != out["n_cells"].to_numpy() * n_seeds)
    out["mean_effect"] = np.where(ragged, r["mean"], est)
    for c in ("ci_low", "ci_high", "t_statistic", "p_value"):
        out[c] = r[c]
    out["note"] = np.where(n_seeds < 2, ONE_SEED_NOTE,
                           np.where(np.isnan(r["t_statistic"]) & (n_seeds >= 2),
                                    "every seed mean is equal: no test",
                                    np.where(ragged, RAGGED_NOTE, "")))
    out = out[keys + EFFECT_VALUE_COLUMNS]
    return sort_frame(out.reset_index(drop=True), keys) if keys else out


# --------------------------------------------------------------------------- the headline
#: The headline cuts: the whole grid, and the cells with a tradable claim (mu > 0: with mu = 0 no
#: trader holds a claim due before its own debt, so the effect is zero by construction, §2).
HEADLINE_CUTS: dict[str, str] = {"all cells": "", "mu > 0": "mu > 0"}
HEADLINE_COLUMNS: list[str] = ["cut", "n_cells", "n_seeds", "mean_effect", "ci_low", "ci_high",
                               "p_value", "ci_method"]


def headline_table(comparison: pd.DataFrame, confidence: float = 0.95,
                   method: CIMethod = "t") -> pd.DataFrame:
    """The headline (§7.6): the mean trading effect over all cells and over the mu > 0 cells,
    each with its CI and t-test over replicate seeds; ``ci_method`` names the method and unit."""
    rows = []
    for cut, query in HEADLINE_CUTS.items():
        sub = comparison.query(query) if query else comparison
        t = paired_effect_by_slice(sub, None, confidence=confidence, method=method)
        d = t.iloc[0].to_dict() if len(t) else {c: np.nan for c in EFFECT_VALUE_COLUMNS}
        rows.append({"cut": cut, **{k: d[k] for k in HEADLINE_COLUMNS[1:-1]},
                     "ci_method": f"{CI_METHOD_NAMES[method]} (unit: {CI_UNIT})"})
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


def _ci_text(lo: float, hi: float, n_seeds: int, confidence: float = 0.95) -> str:
    if not np.isfinite(lo):
        return "no CI with R = 1"
    return f"{100 * confidence:g}% CI over {int(n_seeds)} seeds [{lo:+.4f}, {hi:+.4f}]"


def _p_text(p: float) -> str:
    return "" if not np.isfinite(p) else f", t-test p = {p:.2g}"


def takeaway_headline(table: pd.DataFrame) -> str:
    """One sentence: the headline over all cells and over mu > 0, each with its seed CI."""
    if table.empty or not np.isfinite(table["mean_effect"]).any():
        return "No pairs to summarise."
    parts = []
    for r in table.itertuples(index=False):
        if not np.isfinite(r.mean_effect):
            continue
        parts.append(f"{r.mean_effect:+.4f} over {r.cut} ({int(r.n_cells)} cells; "
                     f"{_ci_text(r.ci_low, r.ci_high, r.n_seeds)}{_p_text(r.p_value)})")
    return "Mean trading effect δ passive − δ active: " + "; ".join(parts) + "."


# --------------------------------------------------------------------------- heterogeneity
CELL_EFFECT_COLUMNS: list[str] = list(CELL_KEYS) + [
    "n_seeds", "mean_effect", "ci_low", "ci_high", "p_value"]
HETEROGENEITY_QUANTILES: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


def cell_effects(comparison: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """One row per grid cell: its mean effect over its seeds, and its own t interval and t-test
    over those seeds (NaN with one seed) — the pieces of the heterogeneity of §7.6."""
    t = paired_effect_by_slice(comparison, list(CELL_KEYS), confidence=confidence)
    return t[CELL_EFFECT_COLUMNS] if not t.empty else empty_frame(CELL_EFFECT_COLUMNS)


def heterogeneity_summary(cells: pd.DataFrame) -> pd.DataFrame:
    """The distribution of the cell effects (a description of the fixed grid, not an
    uncertainty): quantiles of the cell means, and the shares of cells whose mean is positive /
    zero / negative and whose own seed CI lies above / below zero. Columns: statistic, value."""
    x = cells["mean_effect"].to_numpy(dtype="float64")
    rows = [(f"cells", float(len(x)))]
    if len(x):
        names = {0.0: "min", 1.0: "max", 0.5: "median"}
        rows += [(names.get(q, f"p{round(100 * q):02d}"), float(np.quantile(x, q)))
                 for q in HETEROGENEITY_QUANTILES]
        has_ci = np.isfinite(cells["ci_low"].to_numpy(dtype="float64"))
        rows += [("share with mean > 0", float(np.mean(x > 0))),
                 ("share with mean = 0", float(np.mean(x == 0))),
                 ("share with mean < 0", float(np.mean(x < 0))),
                 ("share with seed CI above 0", float(np.mean(has_ci & (cells["ci_low"] > 0))) if has_ci.any() else np.nan),
                 ("share with seed CI below 0", float(np.mean(has_ci & (cells["ci_high"] < 0))) if has_ci.any() else np.nan)]
    return pd.DataFrame(rows, columns=["statistic", "value"])


def takeaway_heterogeneity(summary: pd.DataFrame) -> str:
    """How the cell effects spread and how many cells are positive with a seed CI above zero."""
    s = dict(zip(summary["statistic"], summary["value"]))
    n = int(s.get("cells", 0))
    if not n:
        return "No cells to summarise."
    pct = lambda k: f"{100 * s[k]:.0f}%"  # noqa: E731
    cnt = lambda k: f"{round(n * s[k])} ({pct(k)})"  # noqa: E731
    ci = (f"; {cnt('share with seed CI above 0')} have a positive effect whose own seed CI "
          f"excludes zero and {cnt('share with seed CI below 0')} a negative one"
          if np.isfinite(s.get("share with seed CI above 0", np.nan)) else
          "; with R = 1 no cell has a seed CI")
    return (f"Across the {n} cells the cell mean effect ranges from {s['min']:+.3f} to "
            f"{s['max']:+.3f} (median {s['median']:+.3f}, middle 80% {s['p10']:+.3f} to "
            f"{s['p90']:+.3f}); {pct('share with mean > 0')} of cells are positive, "
            f"{pct('share with mean = 0')} exactly zero and {pct('share with mean < 0')} negative{ci}.")
