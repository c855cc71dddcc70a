"""§8.6 D on hand-built frames (S = 20); expected values worked out in the comments."""

import math

import numpy as np
import pandas as pd
import pytest

from bilancio_lite.analysis import (
    activity_vs_effect, bucket_depletion, dealer_inventory_share, dealer_inventory_vs_debt,
    debt_money_path, first_default_days, late_activity_effect, takeaway_debt_path,
    takeaway_inactive, takeaway_inventory_vs_debt, takeaway_late_activity,
)
from bilancio_lite.analysis.horizons import (
    DEPLETION_COLUMNS, FIRST_DEFAULT_COLUMNS, INVENTORY_DEBT_COLUMNS, LATE_COLUMNS, SHARE_COLUMNS,
)
from factories.frames import (
    INV_COLS, P, REP_COLS, SYS_COLS, comparison, frame, inv, rep, sysrow,
)

P1, P2, P3 = P(0.5), P(1.0), P(2.0)


def test_dealer_inventory_share_is_face_over_bucket_outstanding():
    invs = frame([
        inv(P1, "active", 1, "short", 1, outstanding=100.0),
        inv(P1, "active", 0, "mid", 0, outstanding=0.0),
        inv(P1, "active", 0, "short", 2, outstanding=200.0),
    ], INV_COLS)
    sys_ = frame([sysrow(P1, "active", 0, 500.0, 1.0), sysrow(P1, "active", 1, 300.0, 1.0)], SYS_COLS)
    s = dealer_inventory_share(invs, sys_)
    assert list(s.columns) == SHARE_COLUMNS
    assert s[["day", "bucket"]].values.tolist() == [[0, "short"], [0, "mid"], [1, "short"]]
    assert s["dealer_inventory_face"].tolist() == [40.0, 0.0, 20.0]
    assert s["dealer_inventory_share"].iloc[0] == 0.2 and s["dealer_inventory_share"].iloc[2] == 0.2
    assert math.isnan(s["dealer_inventory_share"].iloc[1])  # empty bucket
    assert s["total_face_outstanding"].tolist() == [500.0, 500.0, 300.0]
    assert dealer_inventory_share(invs.iloc[0:0], sys_).empty


def test_activity_vs_effect_counts_pairs_per_activity_bin():
    usage = pd.DataFrame({
        "dealer_active_fraction": [0.0, 0.2, 0.5, 0.9, float("nan")],
        "trading_effect": [0.0, 0.1, 0.2, 0.3, -0.1],
        "effect_class": ["unchanged", "improved", "improved", "improved", "worsened"]})
    a = activity_vs_effect(usage)
    assert a["bin"].tolist() == ["[0, 0.25]", "(0.25, 0.5]", "(0.75, 1]", "none"]
    assert a["n_pairs"].tolist() == [2, 1, 1, 1]
    assert a["mean_trading_effect"].tolist() == pytest.approx([0.05, 0.2, 0.3, -0.1])
    assert a["n_improved"].tolist() == [1, 1, 1, 0] and a["n_unchanged"].tolist() == [1, 0, 0, 0]
    assert a["bin_low"].iloc[1] == 0.25 and math.isnan(a["bin_high"].iloc[3])
    days = pd.DataFrame({"dealer_last_active_day": [3.0, 12.0, 40.0], "trading_effect": [0.0, 0.1, 0.2],
                         "effect_class": ["unchanged", "improved", "improved"]})
    d = activity_vs_effect(days, "dealer_last_active_day", bins=[0, 10, 20])
    assert d["bin"].tolist() == ["[0, 10]", "(10, 20]", "outside"]
    assert activity_vs_effect(usage.iloc[0:0]).empty


def test_first_default_days_and_delay_per_pair():
    comp = comparison(P3, P2, P1)
    reps = frame([
        rep(P1, "passive", "H1", 1, "defaulted", day=4), rep(P1, "passive", "H2", 1, "defaulted", day=1),
        rep(P1, "active", "H2", 1, "defaulted", day=7), rep(P1, "active", "H1", 1, "repaid", day=2),
        rep(P3, "active", "H1", 1, "defaulted", day=3), rep(P3, "passive", "H1", 1, "repaid", day=3),
    ], REP_COLS)
    f = first_default_days(reps, comp)
    assert list(f.columns) == FIRST_DEFAULT_COLUMNS
    assert f["kappa"].tolist() == [0.5, 1.0, 2.0]
    assert f.iloc[0][["first_default_day_passive", "first_default_day_active",
                      "first_default_delay"]].tolist() == [1.0, 7.0, 6.0]
    assert f.iloc[1][FIRST_DEFAULT_COLUMNS[-3:]].isna().all()  # P2: no defaults
    assert math.isnan(f.iloc[2].first_default_day_passive) and f.iloc[2].first_default_day_active == 3.0
    g = first_default_days(reps.iloc[0:0], comp)
    assert len(g) == 3 and g["first_default_day_active"].isna().all()
    assert first_default_days(reps, comp.iloc[0:0]).empty


def test_bucket_depletion_summarises_each_dealer_bucket_path():
    invs = frame([
        inv(P1, "active", 1, "short", 0, cap=4, limit=True),
        inv(P1, "active", 0, "short", 2, start=3, cap=4),
        inv(P1, "active", 2, "short", 1, cap=4),
        inv(P1, "active", 0, "mid", 2, start=1, cap=2), inv(P1, "active", 1, "mid", 2, cap=2),
        inv(P1, "passive", 0, "short", 4, cap=8),
    ], INV_COLS)
    d = bucket_depletion(invs)
    assert list(d.columns) == DEPLETION_COLUMNS
    assert d[["regime", "bucket"]].values.tolist() == [["passive", "short"], ["active", "short"],
                                                       ["active", "mid"]]
    short = d.iloc[1]
    assert (short.n_days, short.initial_inventory, short.final_inventory) == (3, 3, 1)
    assert (short.min_inventory, short.max_inventory, short.net_change) == (0, 2, -2)
    assert short.mean_daily_change == pytest.approx(-2 / 3)
    assert short.first_day_at_zero == 1 and short.zero_day_fraction == pytest.approx(1 / 3)
    assert math.isnan(short.first_day_at_capacity) and short.limit_hit_days == 1
    mid = d.iloc[2]
    assert (mid.net_change, mid.mean_daily_change, mid.first_day_at_capacity) == (1, 0.5, 0)
    assert math.isnan(mid.first_day_at_zero)
    assert bucket_depletion(invs.iloc[0:0]).empty


# --------------------------------------------------------------------------- §8.6 D (notebook 05)


def test_dealer_inventory_vs_debt_sums_buckets_per_day():
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


def test_debt_money_path_averages_runs_per_regime_and_day():
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


def test_late_activity_effect_groups_pairs_by_when_dealers_were_last_active():
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
