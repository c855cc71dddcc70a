"""Sweep overview and the one-sentence takeaways, on hand-made tables with known answers."""

import pandas as pd
import pytest

from bilancio_lite.analysis import (
    hypothesis_shares, sweep_overview, takeaway_activity, takeaway_depletion,
    takeaway_first_defaults, takeaway_initial_conditions, takeaway_inventory_share,
    takeaway_no_difference, takeaway_overview, takeaway_replicates, takeaway_strategies,
    takeaway_strategy_correlation, takeaway_traded_vs_untraded, takeaway_usage,
)
from bilancio_lite.analysis.overview import OVERVIEW_VALUE_COLUMNS
from factories.frames import P, comparison

E = pd.DataFrame()


def comp():
    return comparison(P(2.0, 1, delta_active=0.25), P(1.0, 1),
                      P(0.5, 2, delta_passive=0.15, delta_active=0.10),
                      P(0.5, 1, delta_passive=0.25, delta_active=0.0))


def test_sweep_overview_by_kappa_gives_mean_deltas_and_class_counts():
    o = sweep_overview(comp(), "kappa")
    assert list(o.columns) == ["kappa"] + OVERVIEW_VALUE_COLUMNS
    assert o["kappa"].tolist() == [0.5, 1.0, 2.0]
    assert o["n_pairs"].tolist() == [2, 1, 1]
    assert o["mean_delta_passive"].tolist() == pytest.approx([0.2, 0.0, 0.0])
    assert o["mean_delta_active"].tolist() == pytest.approx([0.05, 0.0, 0.25])
    assert o["mean_trading_effect"].tolist() == pytest.approx([0.15, 0.0, -0.25])
    assert o[["n_improved", "n_unchanged", "n_worsened"]].values.tolist() == [[2, 0, 0], [0, 1, 0],
                                                                              [0, 0, 1]]


def test_sweep_overview_other_keys_and_empty():
    s = sweep_overview(comp(), "stress_regime")
    assert s["stress_regime"].tolist() == ["low", "medium"] and s["n_pairs"].tolist() == [2, 2]
    r = sweep_overview(comp(), "rho")
    assert r.columns[0] == "outside_mid_ratio" and r.iloc[0].n_pairs == 4
    assert sweep_overview(comp().iloc[0:0], "mu").columns.tolist() == ["mu"] + OVERVIEW_VALUE_COLUMNS


def test_takeaway_overview():
    assert takeaway_overview(comp(), "kappa") == (
        "Trading reduced defaults in 2 of 4 pairs (unchanged 1, worsened 1); the largest mean "
        "effect is at kappa=0.5 (0.150).")
    assert takeaway_overview(comp().iloc[0:0]) == "No pairs to summarise."


def test_takeaway_strategies():
    by_run = pd.DataFrame({
        "total_face_value": [160.0, 40.0],
        "face_no_trade": [60.0, 40.0], "default_face_no_trade": [60.0, 0.0],
        "face_hold_to_maturity": [0.0, 0.0], "default_face_hold_to_maturity": [0.0, 0.0],
        "face_sell_before": [100.0, 0.0], "default_face_sell_before": [0.0, 0.0],
        "face_round_trip": [0.0, 0.0], "default_face_round_trip": [0.0, 0.0]})
    assert takeaway_strategies(by_run) == (
        "Across 2 active runs, liabilities split as no_trade 50.0% of face (defaults 60.0%), "
        "sell_before 50.0% of face (defaults 0.0%).")
    assert takeaway_strategies(by_run.iloc[0:0]) == "No matured liabilities in the active runs."


def test_takeaway_strategy_correlation():
    corr = pd.DataFrame({"strategy": ["no_trade", "sell_before"], "n_runs": [5, 5],
                         "pearson_r": [0.2, -0.7], "spearman_r": [0.1, -0.6]})
    assert takeaway_strategy_correlation(corr) == (
        "The trading effect correlates most with the face share of sell_before "
        "(Pearson r = -0.70 over 5 runs).")
    assert takeaway_strategy_correlation(corr.assign(pearson_r=float("nan"))).startswith("Too few")


def test_takeaway_usage_and_traded():
    usage = pd.DataFrame({"trader_dealer_trade_count": [3, 0, 1], "trading_effect": [0.3, 0.0, 0.1]})
    assert takeaway_usage(usage) == (
        "Traders traded with the dealer in 2 of 3 pairs; the mean trading effect is 0.200 in those "
        "pairs and 0.000 in the others.")
    t = pd.DataFrame({"traded_face": [100.0, 60.0], "traded_default_face": [20.0, 0.0],
                      "untraded_face": [40.0, 0.0], "untraded_default_face": [20.0, 0.0]})
    assert takeaway_traded_vs_untraded(t) == (
        "Traded liabilities defaulted at 12.5% of face versus 50.0% for never-traded ones "
        "(80.0% of matured face was traded).")
    none = t.assign(traded_face=0.0, traded_default_face=0.0)
    assert takeaway_traded_vs_untraded(none) == (
        "No liability was traded; never-traded liabilities defaulted at 50.0% of face.")
    assert takeaway_usage(E) == "No pairs to summarise."


def test_takeaway_no_difference():
    table = pd.DataFrame({"H1_little_trading": [True, True, False],
                          "H2_defaulters_never_traded": [False, True, False],
                          "H3_healthy_traders_trade": [False, False, True]})
    assert takeaway_no_difference(hypothesis_shares(table)) == (
        "Of 3 unchanged pairs, H1 (there is simply very little trading) explains the most "
        "(H1 66.7%, H2 33.3%, H3 33.3%).")
    tie = table.assign(H2_defaulters_never_traded=[True, True, False])
    assert takeaway_no_difference(hypothesis_shares(tie)).startswith(
        "Of 3 unchanged pairs, H1 (there is simply very little trading) and H2 (traders who default "
        "never trade with the dealer) explain the most (tied) (H1 66.7%, H2 66.7%")
    assert takeaway_no_difference(hypothesis_shares(table.iloc[0:0])) == (
        "There are no unchanged pairs to explain.")


def test_takeaway_horizons():
    first = pd.DataFrame({"first_default_day_passive": [1.0, 3.0, None, 2.0],
                          "first_default_day_active": [7.0, 3.0, 4.0, None]})
    first["first_default_delay"] = first["first_default_day_active"] - first["first_default_day_passive"]
    assert takeaway_first_defaults(first) == (
        "Defaults occur in 3 passive and 3 active runs of 4 pairs; where both default, trading "
        "delays the first default in 1 of 2 pairs (mean shift +3.0 days).")
    act = pd.DataFrame({"bin": ["[0, 0.25]", "(0.25, 0.5]"], "n_pairs": [3, 2],
                        "mean_trading_effect": [0.01, 0.08]})
    assert takeaway_activity(act) == (
        "The mean trading effect is largest (0.080, 2 pairs) when dealer_active_fraction is in "
        "(0.25, 0.5].")
    shares = pd.DataFrame({"regime": ["active"] * 4 + ["passive"], "day": [0, 0, 30, 30, 0],
                           "dealer_inventory_share": [0.2, 0.1, 0.0, None, 0.9]})
    assert takeaway_inventory_share(shares) == (
        "Dealers hold on average 15.0% of their bucket's outstanding face on day 0 and 0.0% on day 30.")
    dep = pd.DataFrame({"regime": ["active", "active", "passive"], "first_day_at_zero": [4.0, None, 1.0],
                        "mean_daily_change": [-0.5, 0.1, 0.0]})
    assert takeaway_depletion(dep) == (
        "1 of 2 active dealer buckets run empty at least once, at a median day of 4; inventories "
        "change by -0.20 tickets a day on average.")
    assert takeaway_first_defaults(E) == "No pairs to summarise."
    assert takeaway_activity(E) == "No pairs to summarise."
    assert takeaway_inventory_share(E) == "No active-run inventory rows."
    assert takeaway_depletion(E) == "No active-run inventory rows."


def test_takeaway_initial_conditions_and_replicates():
    s = pd.DataFrame({"claims_tercile": ["low", "mid"], "n_traders": [10, 5],
                      "dealer_usage_rate": [0.2, 0.6], "n_rescued": [1, 2], "n_harmed": [0, 1]})
    assert takeaway_initial_conditions(s) == (
        "Dealer use is highest for claims_tercile mid (60.0% of 5 traders); overall the dealer "
        "rescued 3 and harmed 1 traders.")
    assert takeaway_initial_conditions(E) == "No traders with the needed initial conditions."
    r = pd.DataFrame({"ci_low": [0.01, -0.2, None], "ci_high": [0.2, -0.1, None]})
    assert takeaway_replicates(r) == (
        "In 1 of 2 slices the 95% CI over replicate seeds of the paired trading effect lies above zero "
        "and in 1 below zero.")
    assert takeaway_replicates(r.iloc[[2]]).startswith("None of the 1 slices")
