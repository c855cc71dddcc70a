"""§8.6 E on one hand-built pair (N = 4, S = 20), taken from the §2.6 worked example:
due days H1 4, H2 1, H3 8, H4 5; liabilities 5/3/2/1 tickets (100/60/40/20 u); passive cycle-1
face_held_by_traders H1 60, H2 40, H3 20, H4 20 (so H2 holds 60 on H1, H3 40 on H2, H4 20 on H3,
H1 20 on H4). Passive: H1 and H4 default. Active: H1 sells twice and repays (rescued), H2
round-trips and defaults on day 1 (harmed), H3 repays twice without trading, H4 defaults again.
"""

import math

import pandas as pd
import pytest

from bilancio_lite.analysis import (
    cash_debt_bin, claims_tercile, initial_conditions_by_feature, initial_conditions_long,
    initial_conditions_summary, mismatch_sign, takeaway_paired_defaults, takeaway_rescued_harmed,
    takeaway_strategy_mix, takeaway_usage_by_feature, trader_initial_conditions,
)
from bilancio_lite.analysis import io
from bilancio_lite.analysis.initial_conditions import (
    BY_FEATURE_COLUMNS, SUMMARY_VALUE_COLUMNS, TRADER_COLUMNS, TRADER_REPAYMENT_COLUMNS,
    read_trader_repayments, trader_repayments,
)
from bilancio_lite.sweep import run_sweep
from bilancio_lite.sweep.config import SweepConfig
from factories.frames import P, REP_COLS, comparison, frame, rep

PR = P(0.5, delta_passive=0.5, delta_active=0.5)


def world():
    comp = comparison(PR)
    reps = frame([
        rep(PR, "passive", "H1", 5, "defaulted", day=4, held_traders=60.0),
        rep(PR, "passive", "H2", 3, "repaid", day=1, held_traders=40.0),
        rep(PR, "passive", "H3", 2, "repaid", day=8, held_traders=20.0),
        rep(PR, "passive", "H4", 1, "defaulted", day=5, held_traders=20.0),
        rep(PR, "active", "H1", 5, "repaid", "sell_before", sells=2, day=4, held_traders=0.0),
        rep(PR, "active", "H2", 3, "defaulted", "round_trip", buys=1, sells=1, day=1, held_traders=0.0),
        rep(PR, "active", "H3", 2, "repaid", day=8, held_traders=0.0),
        rep(PR, "active", "H3", 2, "repaid", day=16, cycle=2),
        rep(PR, "active", "H4", 1, "defaulted", day=5, held_traders=0.0),
    ], REP_COLS)
    init = pd.DataFrame({"kappa": 0.5, "concentration": 1.0, "mu": 0.5, "outside_mid_ratio": 0.75,
                         "seed": 1, "trader_id": ["H1", "H2", "H3", "H4"],
                         "init_cash": [50.0, 12.0, 80.0, 25.0],
                         "init_liability_face": float("nan"), "init_claims_face": float("nan"),
                         "own_due_day": float("nan"), "debtor_due_day": float("nan")})
    return comp, reps, init


def test_derived_features_and_outcomes():
    comp, reps, _ = world()
    t = trader_initial_conditions(reps, comp)
    assert list(t.columns) == TRADER_COLUMNS
    assert t["trader_id"].tolist() == ["H1", "H2", "H3", "H4"]
    assert t["own_due_day"].tolist() == [4, 1, 8, 5]
    assert t["debtor_due_day"].tolist() == [5, 4, 1, 8]
    assert t["maturity_mismatch"].tolist() == [1, 3, -7, 3]
    assert t["init_liability_face"].tolist() == [100, 60, 40, 20]
    assert t["init_claims_face"].tolist() == [20, 60, 40, 20]  # passive rows, not active ones
    assert t["init_cash"].isna().all() and t["init_cash_debt_ratio"].isna().all()
    assert t["cash_debt_bin"].isna().all() and t["net_position"].isna().all()
    assert t["defaulted_passive"].tolist() == [True, False, False, True]
    assert t["defaulted_active"].tolist() == [False, True, False, True]
    assert t["default_day_passive"].tolist()[0] == 4 and math.isnan(t["default_day_passive"].iloc[1])
    assert t["default_day_active"].iloc[1] == 1 and t["default_day_active"].iloc[3] == 5
    assert t["used_dealer"].tolist() == [True, True, False, False]
    assert t["buy_count"].tolist() == [0, 1, 0, 0] and t["sell_count"].tolist() == [2, 1, 0, 0]
    assert t["n_liabilities_active"].tolist() == [1, 1, 2, 1]
    assert t["face_active"].tolist() == [100, 60, 80, 20]
    assert t["face_sell_before"].tolist() == [100, 0, 0, 0]
    assert t["face_round_trip"].tolist() == [0, 60, 0, 0]
    assert t["face_no_trade"].tolist() == [0, 0, 80, 20]
    # claims [20, 60, 40, 20]: q(1/3) = 20, q(2/3) = 40
    assert t["claims_tercile"].tolist() == ["low", "high", "mid", "low"]
    assert t["mismatch_sign"].tolist() == [">0", ">0", "<0", ">0"]


def test_initial_traders_supply_cash_and_take_precedence():
    comp, reps, init = world()
    init.loc[0, "own_due_day"] = 9.0  # a given value wins over the derived one
    t = trader_initial_conditions(reps, comp, initial_traders=init)
    assert t["init_cash_debt_ratio"].tolist() == [0.5, 0.2, 2.0, 1.25]
    assert t["cash_debt_bin"].tolist() == ["[0.5, 1)", "[0, 0.25)", "[2, inf)", "[1, 2)"]
    assert t["net_position"].tolist() == [-30.0, 12.0, 80.0, 25.0]
    assert t["own_due_day"].iloc[0] == 9 and t["maturity_mismatch"].iloc[0] == -4
    assert t["init_liability_face"].tolist() == [100, 60, 40, 20]  # NaN given -> derived kept


def test_traders_csv_with_both_regimes_is_deduplicated():
    comp, reps, init = world()
    both = pd.concat([init.assign(regime="active", init_cash=999.0), init.assign(regime="passive")])
    t = trader_initial_conditions(reps, comp, initial_traders=both)
    assert t["init_cash"].tolist() == [50.0, 12.0, 80.0, 25.0]  # passive rows preferred


def test_summary_by_cash_debt_bin():
    comp, reps, init = world()
    s = initial_conditions_summary(trader_initial_conditions(reps, comp, initial_traders=init))
    assert list(s.columns) == ["cash_debt_bin"] + SUMMARY_VALUE_COLUMNS
    assert s["cash_debt_bin"].tolist() == ["[0, 0.25)", "[0.5, 1)", "[1, 2)", "[2, inf)"]
    assert s["n_traders"].tolist() == [1, 1, 1, 1]
    assert s["dealer_usage_rate"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert s["share_round_trip"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert s["share_sell_before"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert s["default_rate_passive"].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert s["default_rate_active"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert s["n_rescued"].tolist() == [0, 1, 0, 0] and s["n_harmed"].tolist() == [1, 0, 0, 0]


def test_summary_by_claims_tercile():
    comp, reps, _ = world()
    s = initial_conditions_summary(trader_initial_conditions(reps, comp), "claims_tercile")
    assert s["claims_tercile"].tolist() == ["low", "mid", "high"]
    low = s.iloc[0]  # H1 (sold 100 face, rescued) and H4 (20 face no_trade, defaults in both)
    assert (low.n_traders, low.dealer_usage_rate) == (2, 0.5)
    assert low.share_sell_before == pytest.approx(100 / 120)
    assert low.share_no_trade == pytest.approx(20 / 120)
    assert (low.default_rate_passive, low.default_rate_active, low.n_rescued, low.n_harmed) == (
        1.0, 0.5, 1, 0)


def test_summary_zero_face_and_missing_bins():
    table = pd.DataFrame({"trader_id": ["H1", "H2"], "mismatch_sign": ["=0", None],
                          "used_dealer": [False, True], "defaulted_passive": [False, True],
                          "defaulted_active": [False, True], "face_active": [0.0, 20.0],
                          "face_no_trade": [0.0, 20.0], "face_hold_to_maturity": [0.0, 0.0],
                          "face_sell_before": [0.0, 0.0], "face_round_trip": [0.0, 0.0]})
    s = initial_conditions_summary(table, "mismatch_sign")
    assert s["mismatch_sign"].tolist() == ["=0"]  # the missing bin is left out
    assert s.iloc[0][[f"share_{x}" for x in ("no_trade", "hold_to_maturity", "sell_before",
                                             "round_trip")]].tolist() == [0.0] * 4


def test_empty_repayments_or_comparison_give_empty_tables_with_their_columns():
    comp, reps, _ = world()
    e = trader_initial_conditions(reps.iloc[0:0], comp)
    assert e.empty and list(e.columns) == TRADER_COLUMNS
    assert trader_initial_conditions(reps, comp.iloc[0:0]).empty
    s = initial_conditions_summary(e)
    assert s.empty and list(s.columns) == ["cash_debt_bin"] + SUMMARY_VALUE_COLUMNS
    assert initial_conditions_summary(trader_initial_conditions(reps, comp)).empty  # no cash data


def test_cash_debt_bins_claims_terciles_and_mismatch_signs_label_each_value():
    assert cash_debt_bin([0.0, 0.2499, 0.25, 1.0, 2.0, 100.0]).tolist() == [
        "[0, 0.25)", "[0, 0.25)", "[0.25, 0.5)", "[1, 2)", "[2, inf)", "[2, inf)"]
    assert claims_tercile([0, 1, 2, 3, 4, 5, 6, 7, 8]).tolist() == ["low"] * 3 + ["mid"] * 3 + ["high"] * 3
    assert claims_tercile([5.0, 5.0, 5.0]).tolist() == ["low"] * 3
    assert mismatch_sign([-2, 0, 3]).tolist() == ["<0", "=0", ">0"]


# --------------------------------------------------------------------------- §8.6 E (notebook 04)


def test_initial_conditions_by_feature_and_long():
    comp, reps, init = world()
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
    comp, reps, init = world()
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


# --------------------------------------------------------------------------- per-trader reduction


def test_the_per_trader_reduction_stands_in_for_the_rows():
    comp, reps, init = world()
    per = trader_repayments(reps, comp)
    assert list(per.columns) == TRADER_REPAYMENT_COLUMNS and per["trader_id"].tolist() == ["H1", "H2", "H3", "H4"]
    assert per["held_face_passive"].tolist() == [60, 40, 20, 20]  # the passive cycle-1 rows
    for given in (None, init):
        pd.testing.assert_frame_equal(trader_initial_conditions(per, comp, given),
                                      trader_initial_conditions(reps, comp, given))
    with pytest.raises(KeyError, match="per-trader repayments"):
        trader_initial_conditions(per.drop(columns="face_round_trip"), comp)


@pytest.fixture(scope="module", params=["parquet", "csv"])
def buying_sweep(request, tmp_path_factory):
    """8 small pairs with the buyer policy `invest` on (§1, §4.4), so traders buy, round-trip and default."""
    cfg = SweepConfig.from_dict({
        "name": "buying", "model": {"n_traders": 20, "Q_total": 2000.0, "invest": True},
        "grid": {"kappa": [0.5, 2], "mu": [0, 0.75]}, "replicates": 2, "base_seed": 42,
        "output": {"format": request.param, "detailed_logging": True}}, default_name="buying")
    out = tmp_path_factory.mktemp("buying") / request.param
    assert run_sweep(cfg, out, engine="inline", workers=0, log=None, progress=False).exit_code == 0
    return io.load_sweep(out)


def test_read_trader_repayments_gives_the_reduction_of_the_rows(buying_sweep):
    data = buying_sweep
    rows = data.repayments
    # the sweep exercises what the reduction adds up: buys, round trips, later cycles, defaults
    act = rows[rows["regime"] == "active"]
    assert act["buy_count"].sum() > 0 and (act["strategy"] == "round_trip").any()
    assert (rows["cycle"] > 1).any() and (rows["outcome"] == "defaulted").any()
    got = read_trader_repayments(data)
    want = trader_repayments(rows, data.comparison)
    pd.testing.assert_frame_equal(got, want)
    assert got["defaulted_passive"].any() and got["defaulted_active"].any() and got["used_dealer"].any()
    pd.testing.assert_frame_equal(trader_initial_conditions(got, data.comparison, data.traders),
                                  trader_initial_conditions(rows, data.comparison, data.traders))
