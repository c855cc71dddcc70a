"""§8.6 C on hand-built pairs (N = 4, S = 20):

- U1 kappa 1: unchanged, no trades, no defaults (initial_tickets 10, F0 = 200).
- U2 kappa 2: unchanged; H3 defaults in both regimes and sold 1 ticket (interior, 20 face); healthy
  H1 sold 2 (pass-through, 40 face). H1 False (60 >= 2), H2 False, H3 True (40/60 > .5).
- U3 kappa 4: unchanged; H2 defaults in both and never trades; H4 (defaults in passive only) sold
  1 ticket via the VBT (20 face, F0 = 20*200 = 4000). H1 True (20 < 40), H2 True, H3 False.
- I1 kappa .5: improved, excluded.
"""

import math

import pandas as pd
import pytest

from bilancio_lite.analysis import (
    hypothesis_shares, hypothesis_verdicts, no_difference_pairs, no_difference_summary,
    takeaway_dealer_idle, takeaway_defaulters_traded, takeaway_hypothesis,
    takeaway_no_difference_summary, takeaway_traded_volume, with_initial_face,
)
from bilancio_lite.analysis.no_difference import NO_DIFFERENCE_COLUMNS, VERDICT_COLUMNS
from factories.frames import (
    INV_COLS, P, REP_COLS, TRADE_COLS, comparison, frame, inv, rep, trade,
)

U1 = P(1.0)
U2 = P(2.0, delta_passive=0.25, delta_active=0.25, identical_default_set=True)
U3 = P(4.0, delta_passive=0.5, delta_active=0.5, initial_tickets=200)
I1 = P(0.5, delta_passive=0.5, delta_active=0.25)


def world():
    comp = comparison(I1, U3, U2, U1)
    trades = frame([
        trade(U2, 1, "H3", route="interior"), trade(U2, 2, "H1", route="passthrough"),
        trade(U2, 2, "H1", route="passthrough"), trade(U2, 3, None, kind="transfer"),
        trade(U3, 1, "H4", route="passthrough"),
        trade(I1, 1, "H1", route="interior"),
    ], TRADE_COLS)
    reps = frame([
        rep(U2, "passive", "H3", 2, "defaulted"), rep(U2, "active", "H3", 2, "defaulted", "sell_before", sells=1),
        rep(U2, "active", "H1", 2, "repaid", "sell_before", sells=2),
        rep(U3, "passive", "H2", 2, "defaulted"), rep(U3, "active", "H2", 2, "defaulted"),
        rep(U3, "passive", "H4", 1, "defaulted"), rep(U3, "active", "H4", 1, "repaid", "sell_before", sells=1),
    ], REP_COLS)
    invs = frame([
        inv(U2, "active", 0, "short", 0), inv(U2, "active", 0, "mid", 1),
        inv(U2, "active", 1, "short", 0), inv(U2, "active", 1, "mid", 0),
        inv(U3, "active", 0, "short", 0),
    ], INV_COLS)
    return comp, trades, reps, invs


def test_no_difference_pairs_match_the_hand_built_pairs():
    t = no_difference_pairs(*world())
    assert list(t.columns) == NO_DIFFERENCE_COLUMNS
    assert t["kappa"].tolist() == [1.0, 2.0, 4.0]
    u1, u2, u3 = (t.iloc[i] for i in range(3))
    assert (u1.trader_dealer_trade_count, u1.total_face_traded, u1.n_defaulters_active) == (0, 0.0, 0)
    assert u1.dealer_never_used and u1.zero_default_pair and math.isnan(u1.dealer_empty_fraction)
    assert (u1.H1_little_trading, u1.H2_defaulters_never_traded, u1.H3_healthy_traders_trade) == (
        True, False, False)
    assert (u2.trader_dealer_trade_count, u2.total_face_traded) == (3, 60.0)
    assert (u2.n_defaulters_active, u2.n_defaulters_that_traded) == (1, 1)
    assert u2.dealer_empty_fraction == 0.5 and not u2.dealer_never_used
    assert u2.identical_default_set and not u2.zero_default_pair
    assert (u2.H1_little_trading, u2.H2_defaulters_never_traded, u2.H3_healthy_traders_trade) == (
        False, False, True)
    assert (u3.trader_dealer_trade_count, u3.n_defaulters_active, u3.n_defaulters_that_traded) == (1, 1, 0)
    assert u3.dealer_never_used and u3.dealer_empty_fraction == 1.0
    assert (u3.H1_little_trading, u3.H2_defaulters_never_traded, u3.H3_healthy_traders_trade) == (
        True, True, False)
    assert t["H1_little_trading"].dtype == bool


def test_no_difference_no_unchanged_pairs():
    comp, trades, reps, invs = world()
    t = no_difference_pairs(comp[comp.effect_class != "unchanged"], trades, reps, invs)
    assert t.empty and list(t.columns) == NO_DIFFERENCE_COLUMNS


def test_no_difference_without_any_trades():
    comp, trades, reps, invs = world()
    t = no_difference_pairs(comp, trades.iloc[0:0], reps, invs.iloc[0:0])
    assert t["H1_little_trading"].all() and t["dealer_never_used"].all()
    assert t["H2_defaulters_never_traded"].tolist() == [False, True, True]


def test_hypothesis_shares_count_the_pairs_each_hypothesis_explains():
    s = hypothesis_shares(no_difference_pairs(*world()))
    assert s["hypothesis"].tolist() == ["H1_little_trading", "H2_defaulters_never_traded",
                                        "H3_healthy_traders_trade"]
    assert s["n_holds"].tolist() == [2, 1, 1] and (s["n_pairs"] == 3).all()
    assert s["share"].tolist() == [2 / 3, 1 / 3, 1 / 3]
    assert s["explains_most"].tolist() == [True, False, False]


def test_hypothesis_shares_ties_and_empty():
    tie = pd.DataFrame({"H1_little_trading": [False, False], "H2_defaulters_never_traded": [True, False],
                        "H3_healthy_traders_trade": [False, True]})
    assert hypothesis_shares(tie)["explains_most"].tolist() == [False, True, True]
    e = hypothesis_shares(pd.DataFrame(columns=NO_DIFFERENCE_COLUMNS))
    assert len(e) == 3 and e["share"].isna().all() and not e["explains_most"].any()
    assert (e["n_pairs"] == 0).all()


# --------------------------------------------------------------------------- §8.6 C (notebook 02)


def nd_table():
    # U1: no trades, no defaults (F0 200); U2: 60 face traded, its one defaulter traded, H3 holds;
    # U3: 20 face traded (F0 4000), its one defaulter never traded: H1 and H2 hold.
    return no_difference_pairs(*world())


def test_hypothesis_verdicts_follow_the_share_of_testable_pairs():
    v = hypothesis_verdicts(nd_table())
    assert list(v.columns) == VERDICT_COLUMNS
    # H1 holds for U1, U3 (2/3 >= .5); H2 for U3 of the 2 pairs with defaulters (U2, U3);
    # H3 for U2 of the 2 pairs with traded face (U2, U3).
    assert v["n_holds"].tolist() == [2, 1, 1]
    assert v["n_testable"].tolist() == [3, 2, 2]
    assert v["share"].tolist() == pytest.approx([2 / 3, 1 / 3, 1 / 3])
    assert v["share_of_testable"].tolist() == pytest.approx([2 / 3, 0.5, 0.5])
    assert v["verdict"].tolist() == ["confirmed", "partly", "partly"]


def test_hypothesis_verdicts_untestable_and_rejected():
    t = nd_table()
    only_u1 = hypothesis_verdicts(t.iloc[[0]])  # no defaulters, no trades
    assert only_u1["verdict"].tolist() == ["confirmed", "not testable", "not testable"]
    only_u2 = hypothesis_verdicts(t.iloc[[1]])  # 60 face >= 1% of 200; defaulter traded
    assert only_u2["verdict"].tolist() == ["rejected", "rejected", "confirmed"]
    empty = hypothesis_verdicts(pd.DataFrame(columns=NO_DIFFERENCE_COLUMNS))
    assert (empty["verdict"] == "not testable").all() and empty["share"].isna().all()
    assert "no unchanged pairs" in takeaway_hypothesis(empty, "H1_little_trading")
    assert "cannot be tested: no unchanged pair has a defaulting trader" in takeaway_hypothesis(
        only_u1, "H2_defaulters_never_traded")
    assert takeaway_hypothesis(hypothesis_verdicts(t), "H1_little_trading") == (
        "H1 (there is simply very little trading) is confirmed: it holds for 2 of 3 unchanged "
        "pairs (66.7%; testable in 3).")


def test_no_difference_summary_counts_each_diagnostic_and_takeaway():
    s = no_difference_summary(nd_table()).set_index("diagnostic")
    # no trade: U1; never used: U1, U3; empty fractions NaN, .5, 1; zero-default: U1;
    # identical set: U2; defaulters 1 + 1, of which U2's traded; every pair fits some hypothesis.
    expect = {"unchanged pairs": (3, 3), "no dealer-trader trade": (1, 3),
              "dealer never used (no interior trade)": (2, 3), "dealer empty every day": (1, 3),
              "dealer empty more than half the days": (1, 3), "zero-default pairs": (1, 3),
              "identical default set": (1, 3), "defaulting traders that traded": (1, 2),
              "explained by at least one hypothesis": (3, 3), "explained by no hypothesis": (0, 3)}
    assert {k: (int(r.n), int(r.out_of)) for k, r in s.iterrows()} == expect
    assert s.loc["defaulting traders that traded", "share"] == 0.5
    text = takeaway_no_difference_summary(s.reset_index())
    assert text.startswith("Of 3 unchanged pairs, 1 had no dealer-trader trade")
    assert "1 of 2 defaulting traders" in text
    e = no_difference_summary(pd.DataFrame(columns=NO_DIFFERENCE_COLUMNS))
    assert e["n"].sum() == 0 and e["share"].isna().all()
    assert takeaway_no_difference_summary(e) == "There are no unchanged pairs to explain."


def test_with_initial_face_and_volume_takeaways():
    comp = world()[0]
    t = with_initial_face(nd_table(), comp)
    assert t["initial_face"].tolist() == [200.0, 200.0, 4000.0]
    assert t["traded_face_share"].tolist() == pytest.approx([0.0, 0.3, 0.005])
    assert takeaway_traded_volume(t) == (
        "In the 3 unchanged pairs traders traded a median 0.5% of the initial debt face with the "
        "market makers (max 30.0%); 2 pairs are below the 1% H1 threshold.")
    assert takeaway_defaulters_traded(t).startswith("1 of 2 defaulting traders")
    assert "in 1 of 2 pairs with defaults no defaulter traded" in takeaway_defaulters_traded(t)
    idle = takeaway_dealer_idle(t)  # mean of (.5, 1) = 75%
    assert "mean 75.0% of days (1 pairs empty every day)" in idle and "2 pairs had no interior" in idle
    assert takeaway_traded_volume(t.iloc[0:0]) == "There are no unchanged pairs to explain."
