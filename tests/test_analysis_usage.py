"""§8.6 B / §7.3 on hand-built frames; every expected number is worked out in the comments.

Pairs (N = 4): P1 kappa .5 s1 (improved .25), P1b kappa .5 s2 (improved .05), P2 kappa 1
(unchanged, no trades), P3 kappa 2 (worsened -.25).
"""

import math

import pytest

from bilancio_lite.analysis import (
    cells_traded_default_less, dealer_usage_by_run, participation_breadth, usage_by_breadth,
    usage_by_parameter,
)
from bilancio_lite.analysis.usage import USAGE_COLUMNS
from factories.frames import (
    INV_COLS, P, REP_COLS, SYS_COLS, TRADE_COLS, active_liabilities, comparison, frame, inv, rep,
    sysrow, trade,
)

P1 = P(0.5, 1, delta_passive=0.25, delta_active=0.0, dealer_total_pnl=3.5)
P1b = P(0.5, 2, delta_passive=0.15, delta_active=0.10)
P2 = P(1.0, 1)
P3 = P(2.0, 1, delta_passive=0.0, delta_active=0.25)


def world():
    comp = comparison(P1, P1b, P2, P3)
    trades = frame([
        trade(P1, 0, "H1", "SELL", "interior", 18.0),
        trade(P1, 0, "H1", "SELL", "passthrough", 15.0, limit=True),
        trade(P1, 1, "H3", "BUY", "interior", 19.0, bucket="mid"),
        trade(P1, 1, None, kind="transfer", cash=15.0),  # re-homing: not usage
        trade(P1b, 3, "H1"), trade(P1b, 3, "H2"), trade(P1b, 4, "H3"), trade(P1b, 4, "H4"),
        trade(P3, 2, "H2", "SELL", "passthrough", 12.0),
    ], TRADE_COLS)
    invs = frame([
        inv(P1, "active", 0, "short", 2), inv(P1, "active", 0, "mid", 0),
        inv(P1, "active", 1, "short", 0, vbt_used=True), inv(P1, "active", 1, "mid", 0),
        inv(P1, "active", 2, "short", 0), inv(P1, "active", 2, "mid", 1),
        inv(P1, "passive", 1, "short", 5), inv(P1, "passive", 1, "mid", 5),  # ignored
        inv(P3, "active", 0, "short", 0), inv(P3, "active", 1, "short", 0),
    ], INV_COLS)
    sys_ = frame([
        sysrow(P1, "active", 2, 100.0, 1.0), sysrow(P1, "active", 0, 200.0, 2.0),
        sysrow(P1, "active", 1, 150.0, 1.5), sysrow(P1, "passive", 0, 999.0, 9.0),
        sysrow(P3, "active", 0, 0.0, 0.0),
    ], SYS_COLS)
    reps = frame(active_liabilities(P1, P1b, P3), REP_COLS)
    return comp, trades, reps, invs, sys_


def test_participation_breadth_thresholds():
    assert list(participation_breadth([0.0, 0.4, 0.41, 0.79, 0.8, 1.0])) == [
        "narrow", "narrow", "middle", "middle", "broad", "broad"]


def test_dealer_usage_by_run_counts_trades_traders_and_inventory_days():
    comp, trades, reps, invs, sys_ = world()
    u = dealer_usage_by_run(comp, trades, reps, invs, sys_)
    assert list(u.columns) == USAGE_COLUMNS
    assert u["kappa"].tolist() == [0.5, 0.5, 1.0, 2.0]
    p1, p1b, p2, p3 = (u.iloc[i] for i in range(4))
    # trades: 3 customer trades (transfer excluded), 2 interior, 1 pass-through with limit flag
    assert (p1.dealer_trade_count, p1.trader_dealer_trade_count, p1.interior_count,
            p1.passthrough_count, p1.limit_hit_count) == (3, 3, 2, 1, 1)
    assert (p1.n_traders_using_dealer, p1.total_face_traded, p1.total_cash_volume) == (2, 60.0, 52.0)
    assert p1.participation_share == 0.5 and p1.participation_breadth == "middle"
    assert p1b.n_traders_using_dealer == 4 and p1b.participation_breadth == "broad"
    assert (p2.dealer_trade_count, p2.n_traders_using_dealer, p2.total_face_traded) == (0, 0, 0.0)
    assert p2.participation_breadth == "narrow"
    assert (p3.passthrough_count, p3.limit_hit_count, p3.total_cash_volume) == (1, 0, 12.0)
    # inventory: P1 days 0 (short 2), 1 (all 0, vbt used), 2 (mid 1)
    assert p1.dealer_active_fraction == pytest.approx(2 / 3)
    assert p1.dealer_empty_fraction == pytest.approx(1 / 3)
    assert p1.vbt_usage_fraction == pytest.approx(1 / 3)
    assert p1.dealer_last_active_day == 2
    assert (p3.dealer_active_fraction, p3.dealer_empty_fraction) == (0.0, 1.0)
    assert math.isnan(p3.dealer_last_active_day)
    assert math.isnan(p2.dealer_active_fraction)  # no inventory rows
    # system state: debt/money 2, 1.5, 1 (rows given out of order); F 200 -> 100
    assert (p1.mean_debt_to_money, p1.final_debt_to_money, p1.debt_shrink_rate) == (1.5, 1.0, 0.5)
    assert math.isnan(p3.debt_shrink_rate)  # F_first = 0
    # repayments: P1 defaulted face 60 (untraded) + 20 (traded); repaid 100 + 40 (both traded)
    assert p1.frac_defaulted_that_traded == pytest.approx(0.25)
    assert p1.frac_repaid_that_traded == 1.0
    assert (p3.frac_defaulted_that_traded, p3.frac_repaid_that_traded) == (1.0, 0.0)
    assert math.isnan(p1b.frac_defaulted_that_traded) and p1b.frac_repaid_that_traded == 0.0
    assert p1.dealer_pnl == 3.5


def test_dealer_usage_without_rows_gives_zero_counts_and_narrow_breadth():
    comp, trades, reps, invs, sys_ = world()
    e = dealer_usage_by_run(comp.iloc[0:0], trades, reps, invs, sys_)
    assert e.empty and list(e.columns) == USAGE_COLUMNS
    u = dealer_usage_by_run(comp, trades.iloc[0:0], reps.iloc[0:0], invs.iloc[0:0], sys_.iloc[0:0])
    assert len(u) == 4 and (u["dealer_trade_count"] == 0).all()
    assert (u["participation_breadth"] == "narrow").all()
    assert u["dealer_active_fraction"].isna().all() and u["frac_repaid_that_traded"].isna().all()


def test_usage_by_parameter_groups_pairs_and_accepts_the_rho_alias():
    comp, trades, reps, invs, sys_ = world()
    u = dealer_usage_by_run(comp, trades, reps, invs, sys_)
    k = usage_by_parameter(u, "kappa").set_index("kappa")
    assert k.index.tolist() == [0.5, 1.0, 2.0]
    assert k.loc[0.5, "n_pairs"] == 2
    assert k.loc[0.5, "mean_trading_effect"] == pytest.approx(0.15)
    assert (k.loc[0.5, "n_improved"], k.loc[0.5, "n_unchanged"], k.loc[0.5, "n_worsened"]) == (2, 0, 0)
    assert k.loc[0.5, "mean_trader_dealer_trade_count"] == 3.5  # (3 + 4) / 2
    assert k.loc[2.0, "n_worsened"] == 1
    r = usage_by_parameter(u, "rho")
    assert r.columns[0] == "outside_mid_ratio" and r.iloc[0].n_pairs == 4
    assert usage_by_parameter(u.iloc[0:0], "mu").empty


def test_usage_by_breadth_groups_pairs_narrow_middle_broad():
    comp, trades, reps, invs, sys_ = world()
    b = usage_by_breadth(dealer_usage_by_run(comp, trades, reps, invs, sys_))
    assert b["participation_breadth"].tolist() == ["narrow", "middle", "broad"]
    assert b["n_pairs"].tolist() == [2, 1, 1]  # narrow: P2, P3; middle: P1; broad: P1b
    assert b.iloc[0].mean_trading_effect == pytest.approx(-0.125)
    assert b.iloc[0].n_unchanged == 1 and b.iloc[0].n_worsened == 1


def test_cells_traded_default_less_keeps_cells_where_traded_face_defaults_less():
    comp, trades, reps, invs, sys_ = world()
    c = cells_traded_default_less(reps, comp)
    # kappa .5: traded 160 face (20 defaulted) -> .125 vs untraded 100 (60) -> .6: kept.
    # kappa 2: traded 60 all defaulted vs untraded 100 none: not kept. kappa 1: no rows.
    assert c["kappa"].tolist() == [0.5]
    assert c.iloc[0].traded_default_rate == pytest.approx(0.125)
    assert c.iloc[0].untraded_default_rate == pytest.approx(0.6)
    assert cells_traded_default_less(reps.iloc[0:0], comp).empty
