"""Helpers and takeaways added for notebooks 02–05, on hand-built frames with answers known by
construction (comments give the arithmetic). S = 20, N = 4 (see test_analysis_common)."""

import math

import numpy as np
import pandas as pd
import pytest

from bilancio_lite.analysis import (
    dealer_inventory_vs_debt, debt_money_path, hypothesis_verdicts, initial_conditions_by_feature,
    initial_conditions_long, initial_conditions_summary, late_activity_effect, no_difference_pairs,
    no_difference_summary, replicate_count, strategy_flags, strategy_vs_passive,
    takeaway_buy_and_hold, takeaway_dealer_idle, takeaway_debt_path, takeaway_defaulters_traded,
    takeaway_hypothesis, takeaway_inactive, takeaway_inventory_vs_debt, takeaway_late_activity,
    takeaway_many_round_trips, takeaway_no_difference_summary, takeaway_paired_defaults,
    takeaway_replicate_count, takeaway_rescued_harmed, takeaway_strategy_default_rates,
    takeaway_strategy_mix, takeaway_strategy_shares, takeaway_strategy_vs_passive,
    takeaway_traded_volume, takeaway_usage_by_feature, trader_initial_conditions, traded_long,
    with_initial_face,
)
from bilancio_lite.analysis.horizons import INVENTORY_DEBT_COLUMNS, LATE_COLUMNS
from bilancio_lite.analysis.initial_conditions import BY_FEATURE_COLUMNS
from bilancio_lite.analysis.no_difference import NO_DIFFERENCE_COLUMNS, VERDICT_COLUMNS
from bilancio_lite.analysis.strategies import FLAG_COLUMNS, PAIRED_VALUE_COLUMNS, TRADED_VALUE_COLUMNS
from test_analysis_common import P, REP_COLS, comparison, frame, rep
from test_analysis_initial_conditions import world as ic_world
from test_analysis_no_difference import world as nd_world

# --------------------------------------------------------------------------- §8.6 C (notebook 02)


def nd_table():
    # U1: no trades, no defaults (F0 200); U2: 60 face traded, its one defaulter traded, H3 holds;
    # U3: 20 face traded (F0 4000), its one defaulter never traded: H1 and H2 hold.
    return no_difference_pairs(*nd_world())


def test_hypothesis_verdicts():
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


def test_no_difference_summary():
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
    comp = nd_world()[0]
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


# --------------------------------------------------------------------------- §7.4 / §8.6 A (notebook 03)

PA = P(0.5, delta_passive=0.25, delta_active=0.0)


def paired_world(invest=None):
    """Active vs passive liabilities of one pair:
    H1@1 sell_before repaid (100 face) vs passive defaulted -> rescued;
    H2@1 no_trade defaulted (60) vs defaulted -> defaulted both;
    H3@1 hold repaid (40, held_matching_maturity) vs repaid -> repaid both;
    H4@1 round_trip defaulted (20, 2 buys 2 sells: many) vs repaid -> harmed;
    H3@11 hold repaid (40), cycle 2, no passive row."""
    comp = comparison(PA)
    if invest is not None:
        comp["invest"] = invest
    rows = [
        rep(PA, "active", "H1", 5, "repaid", "sell_before", sells=2),
        rep(PA, "active", "H2", 3, "defaulted"),
        rep(PA, "active", "H3", 2, "repaid", "hold_to_maturity", buys=1),
        rep(PA, "active", "H4", 1, "defaulted", "round_trip", buys=2, sells=2),
        rep(PA, "active", "H3", 2, "repaid", "hold_to_maturity", buys=1, cycle=2, day=11),
        rep(PA, "passive", "H1", 5, "defaulted"), rep(PA, "passive", "H2", 3, "defaulted"),
        rep(PA, "passive", "H3", 2, "repaid"), rep(PA, "passive", "H4", 1, "repaid"),
    ]
    rows[2]["held_matching_maturity"] = True
    rows[3]["many_round_trips"] = True
    return comp, frame(rows, REP_COLS)


def test_strategy_vs_passive():
    comp, reps = paired_world()
    t = strategy_vs_passive(reps, comp)
    assert list(t.columns) == PAIRED_VALUE_COLUMNS
    assert t["strategy"].tolist() == ["no_trade", "hold_to_maturity", "sell_before", "round_trip"]
    assert t["n_liabilities"].tolist() == [1, 2, 1, 1]
    assert t["face"].tolist() == [60.0, 80.0, 100.0, 20.0]
    assert t["default_rate_active"].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert t["n_matched"].tolist() == [1, 1, 1, 1]
    assert t["default_rate_passive"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert t["n_repaid_both"].tolist() == [0, 1, 0, 0]
    assert t["n_rescued"].tolist() == [0, 0, 1, 0]
    assert t["n_harmed"].tolist() == [0, 0, 0, 1]
    assert t["n_defaulted_both"].tolist() == [1, 0, 0, 0]
    assert t["n_no_passive_row"].tolist() == [0, 1, 0, 0]
    text = takeaway_strategy_vs_passive(t)
    assert "1 sell_before liabilities defaulted at 0.0% of face with the dealer versus 100.0%" in text
    assert "(1 rescued, 0 harmed)" in text


def test_strategy_vs_passive_by_flag():
    comp, reps = paired_world()
    t = strategy_vs_passive(reps, comp, by="held_matching_maturity")
    assert len(t) == 8 and t["held_matching_maturity"].tolist() == [False] * 4 + [True] * 4
    held = t.loc[t["held_matching_maturity"]].set_index("strategy")
    assert held["n_liabilities"].tolist() == [0, 1, 0, 0]
    assert held.loc["hold_to_maturity", "n_repaid_both"] == 1


def test_strategy_flags_and_takeaways():
    comp, reps = paired_world()
    f = strategy_flags(reps, comp)
    assert list(f.columns) == FLAG_COLUMNS
    r = f.iloc[0]
    assert math.isnan(r.n_pairs_invest)  # no invest column
    assert (r.n_pairs, r.n_liabilities, r.n_traded, r.n_with_buy, r.n_with_sell) == (1, 5, 4, 3, 2)
    assert (r.n_hold_to_maturity, r.n_round_trip, r.n_many_round_trips) == (2, 1, 1)
    assert (r.n_held_matching_maturity, r.face_many_round_trips) == (1, 20.0)
    assert r.default_rate_many_round_trips == 1.0
    assert takeaway_many_round_trips(f) == (
        "1 of 5 liabilities were round trips, 1 with many round trips (defaulting at 100.0% of face).")
    paired = strategy_vs_passive(reps, comp)
    # hold: 0% vs 0%, nobody rescued or harmed
    assert takeaway_buy_and_hold(paired, f).endswith(
        "so it made no difference: these liabilities are repaid with or without the dealer.")
    mixed = paired.copy()
    mixed.loc[1, ["default_rate_passive", "default_rate_active", "n_rescued", "n_harmed"]] = [0.5, 0.5, 1, 1]
    assert takeaway_buy_and_hold(mixed, f).endswith("so no clear net effect.")
    helped = paired.copy()
    helped.loc[1, ["default_rate_passive", "n_rescued"]] = [0.5, 3]
    assert takeaway_buy_and_hold(helped, f).endswith("(3 rescued, 0 harmed), so it helped.")


def test_buy_and_hold_without_buyers():
    comp, reps = paired_world(invest=False)
    no_buy = reps.loc[reps["buy_count"] == 0]
    f = strategy_flags(no_buy, comp)
    assert (f.iloc[0].n_pairs_invest, f.iloc[0].n_with_buy, f.iloc[0].n_round_trip) == (0, 0, 0)
    text = takeaway_buy_and_hold(strategy_vs_passive(no_buy, comp), f)
    assert text.startswith("No trader bought from the market makers in this sweep (0 of 1 pairs "
                           "have the buyer policy on)")
    assert "many_round_trips never occurs" in takeaway_many_round_trips(f)


def test_traded_long():
    table = pd.DataFrame([["improved", 2, 100.0, 20.0, 0.2, 3, 300.0, 150.0, 0.5, 0.3]],
                         columns=["effect_class"] + TRADED_VALUE_COLUMNS)
    long = traded_long(table)
    assert long["liabilities"].tolist() == ["traded", "never traded"]
    assert long["n_liabilities"].tolist() == [2, 3] and long["default_rate"].tolist() == [0.2, 0.5]
    assert long["effect_class"].tolist() == ["improved", "improved"]
    assert traded_long(table.iloc[0:0]).empty


def test_strategy_cut_takeaways():
    cut = pd.DataFrame({
        "kappa": [1.0] * 2 + [2.0] * 2, "strategy": ["no_trade", "sell_before"] * 2,
        "face": [80.0, 20.0, 50.0, 50.0], "face_share": [0.8, 0.2, 0.5, 0.5],
        "default_face": [8.0, 10.0, 25.0, 5.0]})
    # traded share: kappa 1 -> 20%, kappa 2 -> 50%; default rates traded vs not: .5 vs .1, .1 vs .5
    assert takeaway_strategy_shares(cut, "kappa") == (
        "The traded share of matured face is highest for kappa = 2 (50.0%) and lowest for "
        "kappa = 1 (20.0%).")
    none = cut.assign(face_share=[1.0, 0.0] * 2, face=[100.0, 0.0] * 2)
    assert takeaway_strategy_shares(none, "kappa") == (
        "No matured face was traded in any kappa group: every liability is no_trade.")
    assert takeaway_strategy_default_rates(cut, "kappa") == (
        "Traded liabilities default less often than never-traded ones in 1 of 2 kappa groups "
        "with both (more often in 1).")


# --------------------------------------------------------------------------- §8.6 E (notebook 04)


def test_initial_conditions_by_feature_and_long():
    comp, reps, init = ic_world()
    t = trader_initial_conditions(reps, comp, initial_traders=init)
    bf = initial_conditions_by_feature(t)
    assert list(bf.columns) == BY_FEATURE_COLUMNS
    assert bf["feature"].unique().tolist() == ["cash_debt_bin", "claims_tercile", "mismatch_sign"]
    for feature in ("cash_debt_bin", "claims_tercile", "mismatch_sign"):
        one = initial_conditions_summary(t, feature).rename(columns={feature: "bin"})
        got = bf.loc[bf["feature"] == feature].drop(columns="feature").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, one, check_dtype=False)
    d = initial_conditions_long(bf, "defaults")
    assert len(d) == 2 * len(bf)
    assert d["regime"].unique().tolist() == ["without dealer (passive)", "with dealer (active)"]
    cash = d.loc[d["feature"] == "cash_debt_bin"]
    # from test_summary_by_cash_debt_bin: passive [0, 1, 1, 0], active [1, 0, 1, 0]
    assert cash["default_rate"].tolist() == [0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert initial_conditions_long(bf, "strategies")["strategy"].nunique() == 4
    r = initial_conditions_long(bf, "rescued")
    assert r.loc[r["feature"] == "cash_debt_bin", "n_traders_changed"].sum() == 2  # 1 rescued, 1 harmed
    with pytest.raises(ValueError):
        initial_conditions_long(bf, "nope")
    assert initial_conditions_by_feature(t.iloc[0:0]).empty


def test_initial_conditions_takeaways():
    comp, reps, init = ic_world()
    bf = initial_conditions_by_feature(trader_initial_conditions(reps, comp, initial_traders=init))
    # usage: cash [0, .25) (H2) 100% of 1; claims high (H2) 100% of 1; mismatch >0 (H1, H2, H4) 2/3
    assert takeaway_usage_by_feature(bf) == (
        "Dealer use is highest for cash/debt [0, 0.25) (100.0% of 1), claims tercile high (100.0% of 1), "
        "maturity mismatch >0 (66.7% of 3).")
    # H1 is rescued in cash [0.5, 1): 100% -> 0%; H2 harmed raises [0, .25), claims high, and
    # no others raise (mismatch >0: passive 2/3, active 2/3)
    text = takeaway_paired_defaults(bf)
    assert text.startswith("The dealer lowers the default rate of the same traders most for "
                           "cash/debt [0.5, 1) (from 100.0% to 0.0%)")
    assert text.endswith("it raises it in 2 of 9 bins.")  # 4 cash + 3 claims + 2 mismatch bins
    assert takeaway_rescued_harmed(bf) == (
        "The dealer rescued 1 and harmed 1 of 4 traders; most rescues (1) are at cash/debt [0.5, 1).")
    assert takeaway_strategy_mix(bf).startswith("The traded share of matured face is highest for "
                                                "cash/debt [0, 0.25) (100.0%, mostly round_trip)")
    idle = bf.assign(dealer_usage_rate=0.0)
    assert takeaway_usage_by_feature(idle) == "No trader used the dealer (0 of 4 traders)."
    empty = bf.iloc[0:0]
    for fn in (takeaway_usage_by_feature, takeaway_paired_defaults, takeaway_strategy_mix,
               takeaway_rescued_harmed):
        assert fn(empty) == "No traders with the needed initial conditions."


# --------------------------------------------------------------------------- §8.6 D (notebook 05)


def test_dealer_inventory_vs_debt():
    ident = {"run_id": "active_x", "regime": "active", "kappa": 1.0, "concentration": 1.0,
             "mu": 0.5, "outside_mid_ratio": 0.75, "seed": 1}
    shares = pd.DataFrame([
        {**ident, "day": 0, "bucket": "short", "dealer_inventory_face": 40.0, "total_face_outstanding": 300.0},
        {**ident, "day": 0, "bucket": "mid", "dealer_inventory_face": 20.0, "total_face_outstanding": 300.0},
        {**ident, "day": 1, "bucket": "short", "dealer_inventory_face": 0.0, "total_face_outstanding": 0.0},
    ])
    t = dealer_inventory_vs_debt(shares)
    assert list(t.columns) == INVENTORY_DEBT_COLUMNS
    assert t["dealer_inventory_face"].tolist() == [60.0, 0.0]
    assert t["dealer_share_of_debt"].iloc[0] == 0.2 and math.isnan(t["dealer_share_of_debt"].iloc[1])
    assert takeaway_inventory_vs_debt(t) == (
        "Dealers hold 20.0% of the outstanding debt on day 0 and 20.0% on day 0, while the mean "
        "debt stock goes from 300 u to 300 u.")
    assert dealer_inventory_vs_debt(shares.iloc[0:0]).empty


def test_debt_money_path():
    rows = []
    for seed, d2m in ((1, 1.0), (2, 3.0)):
        for regime, end in (("passive", 0.5), ("active", 1.0)):
            base = {"regime": regime, "seed": seed, "kappa": 1.0, "concentration": 1.0, "mu": 0.5,
                    "outside_mid_ratio": 0.75, "total_face_outstanding": 100.0 * d2m,
                    "total_cash": 100.0, "n_defaulted_traders": seed}
            rows += [{**base, "day": 0, "debt_to_money": d2m}, {**base, "day": 5, "debt_to_money": end}]
    path = debt_money_path(pd.DataFrame(rows), by="kappa")
    assert path[["regime", "day"]].values.tolist() == [["passive", 0], ["passive", 5],
                                                       ["active", 0], ["active", 5]]
    assert path["n_runs"].tolist() == [2, 2, 2, 2]
    assert path["mean_debt_to_money"].tolist() == [2.0, 0.5, 2.0, 1.0]
    assert path["mean_n_defaulted_traders"].tolist() == [1.5] * 4
    assert takeaway_debt_path(path) == (
        "Mean debt/money goes from day 0 to day 5: 2.00 to 0.50 without the dealer; 2.00 to 1.00 with it.")


def test_late_activity_effect():
    comp = comparison(P(0.5, 1), P(0.5, 2), P(0.5, 3), P(0.5, 4))
    comp["t_end"] = 30
    usage = comp[["kappa", "concentration", "mu", "outside_mid_ratio", "seed"]].assign(
        dealer_last_active_day=[np.nan, 5.0, 15.0, 29.0],  # never, < 15, >= 15, >= 15
        trading_effect=[0.0, 0.0, 0.1, -0.1],
        effect_class=["unchanged", "unchanged", "improved", "worsened"],
        dealer_empty_fraction=[1.0, 0.8, 0.2, 0.0])
    t = late_activity_effect(usage, comp)
    assert list(t.columns) == LATE_COLUMNS
    assert t["dealer_activity"].tolist() == ["never active", "inactive in 2nd half", "active in 2nd half"]
    assert t["n_pairs"].tolist() == [1, 1, 2]
    assert t["n_improved"].tolist() == [0, 0, 1] and t["n_worsened"].tolist() == [0, 0, 1]
    assert t["share_improved"].tolist() == [0.0, 0.0, 0.5]
    assert t["mean_trading_effect"].iloc[2] == pytest.approx(0.0)
    assert takeaway_late_activity(t).endswith("improvements concentrate where dealers stay active late.")
    assert takeaway_inactive(usage) == (
        "Dealers hold nothing in any bucket on a mean 50.0% of days (median 50.0%); in 2 of 4 "
        "pairs they are empty more than half the horizon.")
    e = late_activity_effect(usage.iloc[0:0], comp)
    assert e["n_pairs"].tolist() == [0, 0, 0] and takeaway_late_activity(e) == "No pairs to summarise."


# --------------------------------------------------------------------------- replicates


def test_replicate_count_and_sentence():
    one = comparison(P(0.5, 1), P(1.0, 1))
    two = comparison(P(0.5, 1), P(0.5, 2))
    assert replicate_count(one) == 1 and replicate_count(two) == 2
    assert replicate_count(one.iloc[0:0]) == 0
    assert takeaway_replicate_count(one).startswith("The sweep has R = 1 replicate per cell (2 pairs")
    assert "R = 2 replicates" in takeaway_replicate_count(two)
