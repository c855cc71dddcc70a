"""§8.6 A on a hand-built sweep whose answers are worked out by hand below.

Pairs (N = 4, S = 20): P1 kappa .5 seed 1 (improved, te .25), P1b kappa .5 seed 2 (improved,
te .05), P2 kappa 1 (unchanged, no repayment rows), P3 kappa 2 (worsened, te -.25).
Active rows: P1: H1 5 tickets sell_before repaid, H2 3 no_trade defaulted, H3 2 hold repaid,
H4 1 round_trip defaulted; P1b: H1 2 no_trade repaid; P3: H1 5 no_trade repaid, H2 3 sell_before
defaulted. A passive row (P1 H1 defaulted) must be ignored.
"""

import math

import numpy as np
import pandas as pd
import pytest

from bilancio_lite.analysis import (
    strategy_by_effect_class, strategy_by_stress_and_effect, strategy_effect_correlation,
    strategy_flags, strategy_outcomes_by_run, strategy_outcomes_overall, strategy_vs_passive,
    takeaway_buy_and_hold, takeaway_many_round_trips, takeaway_strategy_default_rates,
    takeaway_strategy_shares, takeaway_strategy_vs_passive, traded_long, traded_vs_untraded,
)
from bilancio_lite.analysis.strategies import (
    BY_RUN_COLUMNS, FLAG_COLUMNS, OVERALL_COLUMNS, PAIRED_VALUE_COLUMNS, TRADED_VALUE_COLUMNS,
)
from factories.frames import P, REP_COLS, active_liabilities, comparison, frame, rep

P1 = P(0.5, 1, delta_passive=0.25, delta_active=0.0)
P1b = P(0.5, 2, delta_passive=0.15, delta_active=0.10)
P2 = P(1.0, 1)
P3 = P(2.0, 1, delta_passive=0.0, delta_active=0.25)


def world():
    comp = comparison(P3, P2, P1b, P1)  # deliberately unsorted
    reps = frame(active_liabilities(P1, P1b, P3) + [
        rep(P1, "passive", "H1", 5, "defaulted", "no_trade"),
    ], REP_COLS)
    return comp, reps


def test_by_run_exact_counts_and_rates():
    comp, reps = world()
    t = strategy_outcomes_by_run(reps, comp)
    assert list(t.columns) == BY_RUN_COLUMNS
    assert t["kappa"].tolist() == [0.5, 0.5, 1.0, 2.0] and t["seed"].tolist() == [1, 2, 1, 1]
    p1 = t.iloc[0]
    assert (p1.total_liabilities, p1.total_face_value, p1.default_face_total) == (4, 220.0, 80.0)
    assert p1.default_rate_total == pytest.approx(80 / 220)
    assert (p1.count_no_trade, p1.face_no_trade, p1.default_count_no_trade,
            p1.default_face_no_trade, p1.default_rate_no_trade) == (1, 60.0, 1, 60.0, 1.0)
    assert p1.face_share_no_trade == pytest.approx(60 / 220)
    assert (p1.face_hold_to_maturity, p1.default_rate_hold_to_maturity) == (40.0, 0.0)
    assert (p1.face_sell_before, p1.default_rate_sell_before) == (100.0, 0.0)
    assert (p1.face_round_trip, p1.default_face_round_trip, p1.default_rate_round_trip) == (
        20.0, 20.0, 1.0)
    assert p1.active_run_id == "active_k0.5_c1.0_mu0.5_rho0.75_s1"
    # P2 has no repayment rows: all zeros, and rates are 0 when face is 0
    p2 = t.iloc[2]
    assert p2.total_liabilities == 0 and p2.total_face_value == 0.0
    assert all(p2[f"default_rate_{s}"] == 0.0 for s in
               ("no_trade", "hold_to_maturity", "sell_before", "round_trip"))
    assert p2.default_rate_total == 0.0 and p2.face_share_no_trade == 0.0
    p3 = t.iloc[3]
    assert (p3.total_face_value, p3.default_face_total, p3.default_rate_total) == (160.0, 60.0, 0.375)
    assert (p3.face_sell_before, p3.default_rate_sell_before) == (60.0, 1.0)
    assert p3.effect_class == "worsened" and p3.trading_effect == -0.25


def test_by_run_liability_face_sources():
    comp, reps = world()
    # an explicit liability_face column wins (pretend S = 1)
    t = strategy_outcomes_by_run(reps.assign(liability_face=reps["n_tickets"] * 1.0), comp)
    assert t.iloc[0].total_face_value == 11.0
    # without ticket_face, face_value is ambiguous: n_tickets x S from comparison (S = 20)
    amb = reps.drop(columns="ticket_face").assign(face_value=20.0)
    assert strategy_outcomes_by_run(amb, comp).iloc[0].total_face_value == 220.0


def test_by_run_rejects_unknown_strategy():
    comp, reps = world()
    reps.loc[0, "strategy"] = "yolo"
    with pytest.raises(ValueError, match="yolo"):
        strategy_outcomes_by_run(reps, comp)


def test_by_run_without_rows_gives_zeros_for_every_pair():
    comp, reps = world()
    assert list(strategy_outcomes_by_run(reps, comp.iloc[0:0]).columns) == BY_RUN_COLUMNS
    t = strategy_outcomes_by_run(reps.iloc[0:0], comp)  # no rows at all: zeros for every pair
    assert len(t) == 4 and t["total_face_value"].sum() == 0 and t["default_rate_total"].sum() == 0


def test_overall_sums_face_and_defaults_per_cell_and_strategy():
    comp, reps = world()
    o = strategy_outcomes_overall(strategy_outcomes_by_run(reps, comp))
    assert list(o.columns) == OVERALL_COLUMNS
    assert len(o) == 3 * 4  # 3 cells x 4 strategies
    k05 = o[o.kappa == 0.5].set_index("strategy")
    assert k05.loc["no_trade", "n_runs"] == 2
    assert k05.loc["no_trade", "total_face"] == 100.0  # 60 (P1) + 40 (P1b)
    assert k05.loc["no_trade", "default_face"] == 60.0
    assert k05.loc["no_trade", "default_rate"] == pytest.approx(0.6)
    assert k05.loc["no_trade", "runs_using_strategy"] == 2
    assert k05.loc["no_trade", "mean_trading_effect"] == pytest.approx(0.15)
    assert k05.loc["sell_before", "runs_using_strategy"] == 1
    assert k05.loc["sell_before", "mean_trading_effect"] == pytest.approx(0.25)
    k1 = o[o.kappa == 1.0]
    assert k1["strategy"].tolist() == ["no_trade", "hold_to_maturity", "sell_before", "round_trip"]
    assert (k1["runs_using_strategy"] == 0).all() and (k1["default_rate"] == 0).all()
    assert k1["mean_trading_effect"].isna().all()
    assert strategy_outcomes_overall(strategy_outcomes_by_run(reps, comp.iloc[0:0])).empty


def test_cut_by_effect_class_gives_face_shares_and_default_rates():
    comp, reps = world()
    c = strategy_by_effect_class(strategy_outcomes_by_run(reps, comp))
    assert c["effect_class"].tolist() == ["improved"] * 4 + ["unchanged"] * 4 + ["worsened"] * 4
    imp = c[c.effect_class == "improved"].set_index("strategy")
    assert imp.loc["no_trade", "face"] == 100.0
    assert imp.loc["no_trade", "face_share"] == pytest.approx(100 / 260)
    assert imp.loc["no_trade", "default_rate"] == pytest.approx(0.6)
    assert imp.loc["round_trip", "default_rate"] == 1.0
    assert imp.loc["hold_to_maturity", "face_share"] == pytest.approx(40 / 260)
    assert (imp["n_runs"] == 2).all()
    unch = c[c.effect_class == "unchanged"]
    assert (unch["face"] == 0).all() and (unch["face_share"] == 0).all() and (unch["default_rate"] == 0).all()
    wor = c[c.effect_class == "worsened"].set_index("strategy")
    assert wor.loc["sell_before", "face_share"] == pytest.approx(60 / 160)
    assert wor.loc["sell_before", "default_rate"] == 1.0


def test_cut_by_stress_and_effect_order():
    comp, reps = world()
    c = strategy_by_stress_and_effect(strategy_outcomes_by_run(reps, comp))
    groups = c[["stress_regime", "effect_class"]].drop_duplicates().values.tolist()
    assert groups == [["low", "unchanged"], ["low", "worsened"], ["medium", "improved"]]


def test_correlation_of_face_shares_with_trading_effect_skips_runs_without_face():
    comp, reps = world()
    r = strategy_effect_correlation(strategy_outcomes_by_run(reps, comp)).set_index("strategy")
    # runs with face: P1 (te .25), P1b (.05), P3 (-.25); P2 has no face and is skipped
    assert (r["n_runs"] == 3).all()
    te = [0.25, 0.05, -0.25]
    assert r.loc["no_trade", "pearson_r"] == pytest.approx(np.corrcoef([60 / 220, 1.0, 100 / 160], te)[0, 1])
    assert r.loc["no_trade", "spearman_r"] == pytest.approx(-0.5)  # ranks (1,3,2) vs (3,2,1)
    assert r.loc["hold_to_maturity", "spearman_r"] == pytest.approx(1.5 / math.sqrt(3))
    assert strategy_effect_correlation(strategy_outcomes_by_run(reps, comp.iloc[0:0])).empty


def test_correlation_single_run_is_nan():
    comp, reps = world()
    one = strategy_outcomes_by_run(reps, comp).iloc[[0]]
    assert strategy_effect_correlation(one)["pearson_r"].isna().all()


def test_traded_vs_untraded_overall_and_by_class():
    comp, reps = world()
    t = traded_vs_untraded(reps, comp)
    assert len(t) == 1
    r = t.iloc[0]
    assert (r.traded_liabilities, r.traded_face, r.traded_default_face) == (4, 220.0, 80.0)
    assert (r.untraded_liabilities, r.untraded_face, r.untraded_default_face) == (3, 200.0, 60.0)
    assert r.traded_default_rate == pytest.approx(80 / 220)
    assert r.untraded_default_rate == pytest.approx(0.3)
    assert r.rate_difference == pytest.approx(0.3 - 80 / 220)
    b = traded_vs_untraded(reps, comp, by="effect_class").set_index("effect_class")
    assert b.index.tolist() == ["improved", "worsened"]
    assert b.loc["improved", "traded_default_rate"] == pytest.approx(20 / 160)
    assert b.loc["improved", "untraded_default_rate"] == pytest.approx(0.6)
    assert b.loc["worsened", "traded_default_rate"] == 1.0
    assert b.loc["worsened", "untraded_default_rate"] == 0.0
    e = traded_vs_untraded(reps.iloc[0:0], comp, by="stress_regime")
    assert e.empty and list(e.columns)[0] == "stress_regime"


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


def test_strategy_vs_passive_matches_each_liability_with_its_passive_outcome():
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


def test_traded_long_gives_a_traded_and_a_never_traded_row_per_class():
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


# ------------------------------------------------- grouped reads and the DuckDB pairing (issue 10)

@pytest.fixture(scope="module", params=["parquet", "csv"])
def invest_smoke(request, tmp_path_factory):
    """The smoke sweep with the buyer policy on (§4.3): buys, all four strategies and
    many-round-trip liabilities occur, which the plain smoke sweep (sells only) lacks."""
    from bilancio_lite.analysis import load_sweep
    from bilancio_lite.sweep import run_sweep
    from factories.sweeps import smoke_config

    out = tmp_path_factory.mktemp("invest") / "smoke"
    cfg = smoke_config(format=request.param, model={"n_traders": 20, "Q_total": 2000.0, "invest": True})
    assert run_sweep(cfg, out, engine="inline", workers=0, log=None, progress=False).exit_code == 0
    data = load_sweep(out)
    act = data.repayments.loc[data.repayments["regime"] == "active"]
    assert set(act["strategy"]) == {"no_trade", "hold_to_maturity", "sell_before", "round_trip"}
    assert act["many_round_trips"].any() and (act["buy_count"] > 0).any()
    return data


def test_grouped_active_rows_give_the_same_strategy_tables(invest_smoke):
    data = invest_smoke
    comp, whole = data.comparison, data.repayments
    grouped = data.read_for(strategy_outcomes_by_run, strategy_flags, traded_vs_untraded)["repayments"]
    assert "n_rows" in grouped.columns and len(grouped) < (whole["regime"] == "active").sum()
    pd.testing.assert_frame_equal(strategy_outcomes_by_run(grouped, comp), strategy_outcomes_by_run(whole, comp))
    pd.testing.assert_frame_equal(strategy_flags(grouped, comp), strategy_flags(whole, comp))
    for by in (None, "effect_class", ["kappa", "mu"]):
        pd.testing.assert_frame_equal(traded_vs_untraded(grouped, comp, by), traded_vs_untraded(whole, comp, by))


@pytest.mark.parametrize("by", [None, "held_matching_maturity", "many_round_trips"])
def test_duckdb_pairing_gives_strategy_vs_passive(invest_smoke, by):
    from bilancio_lite.analysis.strategies import paired_by_strategy, read_paired_liabilities

    data = invest_smoke
    rows = read_paired_liabilities(data, by="held_matching_maturity" if by is None else by)
    assert rows["passive_outcome"].isna().any() and (rows["passive_outcome"] == "defaulted").any()
    want = strategy_vs_passive(data.repayments, data.comparison, by)
    assert want["n_rescued"].sum() > 0 and want["n_no_passive_row"].sum() > 0
    pd.testing.assert_frame_equal(paired_by_strategy(rows, by), want)
