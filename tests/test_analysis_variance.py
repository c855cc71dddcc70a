"""The variance decomposition of the grid (docs/model.md §7.6): sums of squares of a balanced full
factorial, checked against statsmodels' ANOVA, and shares with seed-bootstrap CIs."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from bilancio_lite.analysis import CELL_KEYS
from bilancio_lite.analysis.variance import (
    RESIDUAL, effect_array, sums_of_squares, takeaway_variance, variance_decomposition,
)

LEVELS = {"kappa": [0.25, 1.0, 4.0], "concentration": [0.2, 5.0], "mu": [0.0, 0.5, 1.0, 0.25],
          "outside_mid_ratio": [1.0, 0.5, 0.75]}


def grid(n_seeds: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for k, c, m, r in itertools.product(*LEVELS.values()):
        for s in range(42, 42 + n_seeds):
            rows.append({"kappa": k, "concentration": c, "mu": m, "outside_mid_ratio": r, "seed": s,
                         "trading_effect": 3 * m + 0.1 * m * k + 0.1 * c * r + 0.2 * m * r + rng.normal(0, 0.05)})
    return pd.DataFrame(rows)


def test_sums_of_squares_match_statsmodels_anova_on_a_balanced_grid():
    sm = pytest.importorskip("statsmodels.api")
    smf = pytest.importorskip("statsmodels.formula.api")
    df = grid()
    t = variance_decomposition(df, n_resamples=200)
    cm = df.groupby(list(CELL_KEYS))["trading_effect"].mean().reset_index()
    cm.columns = ["k", "c", "m", "r", "y"]
    a = sm.stats.anova_lm(smf.ols("y ~ (C(k) + C(c) + C(m) + C(r))**2", cm).fit(), typ=2)
    names = {"kappa": "C(k)", "c": "C(c)", "mu": "C(m)", "rho": "C(r)"}
    for row in t.itertuples():
        key = RESIDUAL if row.term == RESIDUAL else ":".join(names[p] for p in row.term.split(" × "))
        key = "Residual" if key == RESIDUAL else key
        assert row.sum_sq == pytest.approx(a.loc[key, "sum_sq"], rel=1e-9, abs=1e-12), row.term
        assert row.df == a.loc[key, "df"], row.term
    assert t["share"].sum() == pytest.approx(1.0)
    assert t["share"].to_numpy() == pytest.approx(t["sum_sq"].to_numpy() / ((cm["y"] - cm["y"].mean()) ** 2).sum())


def test_a_pure_main_effect_takes_the_whole_variance():
    cells = np.zeros((3, 2, 4))
    cells[1] = 1.0
    cells[2] = 3.0
    ss = sums_of_squares(cells, 3)
    assert ss[(0,)] == pytest.approx(ss[()]) and ss[(1,)] == 0 and ss[(0, 1)] == pytest.approx(0)


def test_seed_bootstrap_ci_brackets_the_share_and_is_nan_with_one_seed():
    t = variance_decomposition(grid(), n_resamples=500)
    assert list(t["term"][:4]) == ["kappa", "c", "mu", "rho"] and t["term"].iloc[-1] == RESIDUAL
    assert len(t) == 4 + 6 + 1
    assert t["ci_low"].notna().all()
    main = t[t["kind"] == "main effect"]
    assert ((main["ci_low"] <= main["share"] + 1e-12) & (main["share"] <= main["ci_high"] + 1e-12)).all()
    one = variance_decomposition(grid(1), n_resamples=100)
    assert one["ci_low"].isna().all() and one["share"].sum() == pytest.approx(1.0)
    text = takeaway_variance(t)
    assert text.startswith("Of the variance of the cell-mean effects, the largest shares are mu ")
    assert "percentile bootstrap over replicate seeds" in text
    assert "R = 1: no CI" in takeaway_variance(one)


def test_an_incomplete_grid_is_refused_and_single_value_axes_are_dropped():
    df = grid(2)
    with pytest.raises(ValueError, match="needs a complete grid"):
        effect_array(df.iloc[1:])
    t = variance_decomposition(df[df["concentration"] == 0.2], n_resamples=100)
    assert "c" not in set(t["term"]) and len(t) == 3 + 3 + 1
