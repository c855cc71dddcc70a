"""Takeaways never depend on float ties or row order (issue 11): `pick_extreme` replaces idxmax."""

from __future__ import annotations

import pandas as pd
import pytest

from bilancio_lite.analysis import grid_overview
from bilancio_lite.analysis import takeaway_strategy_correlation, takeaway_strategy_shares
from bilancio_lite.analysis._common import TIE_DECIMALS, pick_extreme

# The two correlations of notebook 03 (smoke sweep): exact mirror images up to the last bit.
MIRROR = [("no_trade", -0.11122919911469466), ("sell_before", 0.11122919911469467)]


def _corr(rows):
    return pd.DataFrame([{"strategy": s, "n_runs": 16, "pearson_r": r, "spearman_r": r} for s, r in rows])


@pytest.mark.parametrize("rows", [MIRROR, MIRROR[::-1]], ids=["as-computed", "reversed"])
def test_mirror_image_correlations_pick_the_same_strategy_in_any_order(rows):
    corr = _corr(rows + [("hold_to_maturity", float("nan")), ("round_trip", float("nan"))])
    # idxmax on abs() picks sell_before (its last bit is larger); the tie rule picks no_trade
    assert pick_extreme(corr, "pearson_r", by_abs=True, tie_keys=["strategy"])["strategy"] == "no_trade"
    assert takeaway_strategy_correlation(corr) == (
        "The trading effect correlates most with the face share of no_trade (Pearson r = -0.11 over 16 runs).")


def test_ties_follow_the_natural_order_then_the_value_decides():
    # natural strategy order (no_trade, hold_to_maturity, sell_before, round_trip), not alphabetical
    t = pd.DataFrame({"strategy": ["sell_before", "hold_to_maturity"], "x": [0.3, 0.3 + 1e-15]})
    assert pick_extreme(t, "x", tie_keys=["strategy"])["strategy"] == "hold_to_maturity"
    # a difference above the rounding precision is not a tie
    t = pd.DataFrame({"strategy": ["sell_before", "hold_to_maturity"], "x": [0.3 + 10 ** -(TIE_DECIMALS - 2), 0.3]})
    assert pick_extreme(t, "x", tie_keys=["strategy"])["strategy"] == "sell_before"
    assert pick_extreme(t, "x", largest=False, tie_keys=["strategy"])["strategy"] == "hold_to_maturity"
    t = pd.DataFrame({"k": [2.0, 1.0, 3.0], "x": [float("nan"), 0.1, 0.1]})
    assert pick_extreme(t, "x")["k"] == 1.0 and pick_extreme(t, "x", largest=False)["k"] == 1.0
    with pytest.raises(ValueError, match="no value"):
        pick_extreme(t.assign(x=float("nan")), "x")


def test_strategy_shares_and_heatmap_takeaways_are_order_independent():
    cut = pd.DataFrame({"kappa": [0.5, 0.5, 2.0, 2.0], "strategy": ["no_trade", "sell_before"] * 2,
                        "face": [90.0, 10.0, 90.0, 10.0],
                        "face_share": [0.9, 0.1, 0.9 + 1e-16, 0.1 - 1e-16], "default_face": [0.0] * 4})
    a = takeaway_strategy_shares(cut, "kappa")
    b = takeaway_strategy_shares(cut.iloc[::-1].reset_index(drop=True), "kappa")
    assert a == b and "highest for kappa = 0.5" in a and "lowest for kappa = 0.5" in a
    heat = pd.DataFrame({"outside_mid_ratio": [0.9, 0.9, 0.75, 0.75], "kappa": [0.5, 2.0, 0.5, 2.0],
                         "concentration": [1.0] * 4, "n_pairs": [1] * 4,
                         "mean_trading_effect": [0.2 - 1e-16, 0.0, 0.2, 0.0],
                         "n_improved": [1, 0, 1, 0], "n_worsened": [0] * 4})
    a = grid_overview.takeaway_heatmap(heat)
    assert a == grid_overview.takeaway_heatmap(heat.iloc[::-1].reset_index(drop=True))
    # ties go to the higher rho (the table's and the heatmap panels' order)
    assert "for kappa=0.5, c=1, rho=0.9" in a and "largest average effect is 0.9" in a
