"""The grid overview of notebook 01 (bilancio_lite/analysis/grid_overview.py): the cuts, the heatmap,
dealer activity, and the per-cut confidence tables when R > 1 (issue 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bilancio_lite.analysis import grid_overview as overview01
from bilancio_lite.analysis import replicate_count


def replicated_comparison(R: int = 6) -> pd.DataFrame:
    """kappa 0.5 cells: effect 0.1 ± noise (clearly positive); kappa 2: zero-mean noise."""
    rng = np.random.default_rng(3)
    rows = []
    for kappa, effect in ((0.5, 0.1), (2.0, 0.0)):
        for mu in (0.0, 1.0):
            for r in range(R):
                e = effect + rng.normal(0, 0.02)
                rows.append({"kappa": kappa, "concentration": 1.0, "mu": mu, "outside_mid_ratio": 0.8,
                             "seed": 42 + r, "replicate": r, "trading_effect": e,
                             "stress_regime": "medium", "delta_passive": 0.5, "delta_active": 0.5 - e})
    return pd.DataFrame(rows)


def test_every_cut_gets_a_ci_and_t_test_over_seeds_when_replicated():
    comp = replicated_comparison()
    assert replicate_count(comp) == 6
    tables = overview01.overview_ci_tables(comp)
    assert sorted(tables) == sorted(f"{n}_ci" for n in overview01.OVERVIEW_CUTS.values())
    k = tables["overview_by_kappa_ci"].set_index("kappa")
    assert k.loc[0.5, "n_pairs"] == 12 and k.loc[0.5, "n_seeds"] == 6 and k.loc[0.5, "n_cells"] == 2
    assert 0 < k.loc[0.5, "ci_low"] < k.loc[0.5, "mean_effect"] < k.loc[0.5, "ci_high"]
    assert k.loc[0.5, "p_value"] < 0.01                       # 6 seed means near 0.1, sd ~0.014
    assert k.loc[2.0, "ci_low"] < 0 < k.loc[2.0, "ci_high"] and k.loc[2.0, "p_value"] > 0.05
    text = overview01.takeaway_ci(tables)
    assert "kappa=2" in text and "kappa=0.5" not in text
    assert "slices have a 95% CI over replicate seeds that excludes zero and a t-test p < 0.05" in text


def test_takeaway_ci_without_pairs():
    assert overview01.takeaway_ci({}) == "No pairs to summarise."


def test_overview_helpers_on_the_smoke_sweep(smoke_ref):
    comp = pd.read_csv(smoke_ref / "aggregate" / "comparison.csv")
    tables = overview01.overview_tables(comp)
    assert set(tables) == set(overview01.OVERVIEW_CUTS.values())
    assert tables["overview_by_rho"]["n_pairs"].sum() == 16
    heat = overview01.effect_heatmap_table(comp)
    assert len(heat) == 8 and heat["n_pairs"].sum() == 16
    m = overview01.heatmap_matrix(heat, 0.75)
    assert m.shape == (2, 2)
    best = heat["mean_trading_effect"].max()
    assert f"{best:+.3f}" in overview01.takeaway_heatmap(heat)
    act = overview01.dealer_activity_by_run(comp)
    assert len(act) == 32 and set(act["metric"]) == set(overview01.ACTIVITY_METRICS)
    summ = overview01.dealer_activity_summary(comp)
    assert summ.set_index("metric").loc["dealer_empty_fraction", "mean"] == pytest.approx(
        comp["dealer_empty_fraction"].mean())
    median = comp["dealer_empty_fraction"].median()
    assert f"median {100 * median:.0f}% of days" in overview01.takeaway_dealer_activity(comp)
    assert overview01.takeaway_cuts(tables).startswith("Along each axis the mean trading effect is largest at rho=")
