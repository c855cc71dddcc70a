"""The finished-run record (record.py): metrics (§7) and tables (§8) come from it, not from a Run.

The record below is written by hand, so every expected metric is worked out from its numbers.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from bilancio_lite.engine import Run
from bilancio_lite.logs import build_tables
from bilancio_lite.metrics import run_metrics
from bilancio_lite.params import ModelParams
from bilancio_lite.record import RunRecord
from bilancio_lite.ring import RingInfo
from bilancio_lite.runstate import Counters, Rows
from bilancio_lite.schema import REPAY, SYS

N, S = 5, 20.0
NAN = math.nan


def _sys(day, face, dtm, M):
    values = {c: 0.0 for c in SYS.names}
    values.update(day=day, total_face_outstanding=face, debt_to_money=dtm,
                  M_short=M[0], M_mid=M[1], M_long=M[2])
    return SYS.row(values)


def _repay(trader, outcome, face, used):
    values = {c: 0 for c in REPAY.names}
    values.update(trader_id=trader, liability_id=f"{trader}@1", outcome=outcome, face_value=face,
                  used_dealer=used, strategy="no_trade", gap_at_window_start=NAN, rollover_price=NAN)
    return REPAY.row(values)


def hand_record() -> RunRecord:
    info = RingInfo(q=(0.0,) * N, n=(1, 1, 1, 1, 1), due=(1, 2, 3, 1, 2), vbt_tickets=(0,) * N,
                    dealer_tickets=(0,) * N, V=(0, 0, 0), D=(0, 0, 0), base_cash=(0.0,) * N,
                    trader_cash=(10.0,) * N, kappa_eff=0.5, n_lineages=4, n_ring_tickets=2)
    rows = Rows(sys=[_sys(0, 100.0, 2.0, (0.9, 0.8, 0.7)), _sys(1, 80.0, 1.0, (0.6, 0.95, 0.9))],
                repay=[_repay("H1", "repaid", 40.0, True), _repay("H3", "repaid", 60.0, False),
                       _repay("H2", "defaulted", 20.0, True)])
    counters = Counters(matured=10, matured_defaulted=2, initial_defaulted=1, defaults_after_cycle1=1,
                        recovered=180.0, interior=3, passthrough=1, limit_hits=1, failed=2, transfers=7,
                        cash_volume=70.0, trades_day0=1, rolled=4, rollover_price_sum=3.6,
                        dealer_ticket_days=8, dealer_ticket_days_customers=2)
    names = tuple(f"H{i + 1}" for i in range(N)) + ("DLR_short", "DLR_mid", "DLR_long",
                                                    "VBT_short", "VBT_mid", "VBT_long")
    return RunRecord(
        regime="active", run_id="active_demo", params=ModelParams(n_traders=N, Q_total=N * S), info=info,
        S=S, N=N, names=names, rows=rows, counters=counters, default_day={"H2": 3, "H5": 1},
        sold=(2, 0, 0, 0, 0), bought=(0, 1, 0, 0, 1), lineage_defaulted=bytes([1, 0, 1, 0]),
        traders_used=frozenset({0, 1, 4}), last_trade_day=1, dealer_active_days=(True, False),
        vbt_used_days=(False, True), equity0=([10.0, 10.0, 10.0], [20.0, 20.0, 20.0]),
        equity_end=([11.0, 10.0, 12.0], [20.0, 20.0, 17.0]), vbt_overdraft=0.0)


def test_run_metrics_from_a_hand_written_record():
    m = run_metrics(hand_record())
    assert m["delta"] == 0.5 and m["delta_ring"] == 0.5 and m["delta_initial"] == 0.25
    assert m["delta_matured"] == 0.2 and m["loss_rate"] == pytest.approx(0.1)     # 1 - 180 / (20 * 10)
    assert m["n_defaulted_traders"] == 2 and m["trader_default_rate"] == 0.4
    assert (m["first_default_day"], m["last_default_day"]) == (1, 3)
    assert m["dealer_trade_count"] == 4 and m["total_face_traded"] == 80.0
    assert m["trade_day_share_day0"] == 0.25 and m["n_traders_using_dealer"] == 3
    assert m["dealer_active_fraction"] == 0.5 and m["dealer_last_active_day"] == 0
    assert m["vbt_usage_fraction"] == 0.5
    assert m["mean_debt_to_money"] == 1.5 and m["final_debt_to_money"] == 1.0
    assert m["debt_shrink_rate"] == pytest.approx(0.2) and m["min_M"] == 0.6
    assert m["frac_repaid_that_traded"] == 0.4 and m["frac_defaulted_that_traded"] == 1.0
    assert m["dealer_pnl"] == 3.0 and m["dealer_return"] == pytest.approx(0.1)
    assert m["vbt_pnl"] == -3.0 and m["vbt_return"] == pytest.approx(-0.05)
    assert m["mean_rollover_price"] == pytest.approx(0.9)
    assert m["dealer_inventory_from_customers_share"] == 0.25


def test_traders_table_from_a_hand_written_record():
    traders = build_tables(hand_record())["traders"]
    assert list(traders["trader_id"]) == ["H1", "H2", "H3", "H4", "H5"]
    assert list(traders["defaulted"]) == [False, True, False, False, True]
    assert list(traders["default_day"].astype("Float64").fillna(-1)) == [-1, 3, -1, -1, 1]
    assert list(traders["tickets_sold"]) == [2, 0, 0, 0, 0] and list(traders["tickets_bought"]) == [0, 1, 0, 0, 1]
    assert list(traders["maturity_mismatch"]) == [2 - 1, 1 - 2, 2 - 3, 3 - 1, 1 - 2]   # T_{i-1} - T_i
    assert set(traders["run_id"]) == {"active_demo"} and set(traders["regime"]) == {"active"}


def test_a_finished_run_is_frozen_into_its_record():
    p = ModelParams(n_traders=8, Q_total=8 * 20 * 3, maturity_days=4)
    run = Run(p, "active")
    for t in range(p.last_day + 1):
        run.day(t)
    rec = run.record()
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.regime = "passive"
    assert rec.rows is run.rows and rec.counters is run.counters
    assert len(rec.rows.sys) == len(rec.dealer_active_days) == p.last_day + 1
    assert rec.default_day == {run.book.names[i]: run.book.default_day[i]
                               for i in range(8) if run.book.defaulted[i]}
    assert run_metrics(rec)["n_lineages"] == run.info.n_lineages
