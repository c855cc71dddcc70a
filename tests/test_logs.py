"""Run logs (§8.1–§8.5) reconciled against each other, the kernel and the invariants, on real runs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bilancio_lite import ModelParams, simulate_pair, write_pair
from bilancio_lite import schema
from bilancio_lite.dealer import kernel
from bilancio_lite.logs import RUN_FILES

CASES = {
    "defaults": dict(),
    "stress_mu1_rho09": dict(kappa=0.25, mu=1.0, outside_mid_ratio=0.9),
    "concentrated_rho05": dict(kappa=0.5, concentration=0.2, mu=0.75, outside_mid_ratio=0.5),
    "invest_small": dict(n_traders=40, Q_total=4000, kappa=2.0, mu=0.25, invest=True, seed=7),
    "sequential_norollover": dict(n_traders=30, Q_total=3000, kappa=0.5, clearing="sequential",
                                  rollover=False, seed=3),
}


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def pair(request):
    return simulate_pair(ModelParams(**CASES[request.param]))


def _runs(pair):
    return (pair.passive, pair.active)


def test_columns_match_schema_in_both_regimes(pair):
    for name in RUN_FILES:
        p_cols = list(pair.passive.tables[name].columns)
        a_cols = list(pair.active.tables[name].columns)
        assert p_cols == a_cols == schema.columns(name), name


def test_identity_columns_on_every_row(pair):
    rho = pair.params.outside_mid_ratio
    for run in _runs(pair):
        for name, df in run.tables.items():
            assert (df["outside_mid_ratio"] == rho).all(), name
            assert (df["run_id"] == run.run_id).all(), name
            assert (df["regime"] == run.regime).all(), name
            face_col = "ticket_face" if name == "repayment_events" else "face_value"
            assert (df[face_col] == pair.params.face_value).all(), name


def test_interior_trades_move_the_dealer_and_match_the_kernel(pair):
    S = pair.params.face_value
    tr = pair.active.tables["trades"]
    cust = tr[tr["kind"] == "customer"]
    inv = pair.active.tables["inventory_timeseries"].set_index(["day", "bucket"])
    interior = cust[cust["route"] == "interior"]
    for row in interior.itertuples():
        sign = 1 if row.side == "SELL" else -1
        assert row.dealer_inventory_after - row.dealer_inventory_before == sign
        assert row.dealer_cash_after - row.dealer_cash_before == pytest.approx(-sign * row.cash_amount, abs=1e-9)
        assert row.cash_amount == pytest.approx(row.unit_price * S, rel=1e-12)
        O = inv.loc[(row.day, row.bucket), "outside_spread"]
        q = kernel(row.dealer_inventory_before, row.dealer_cash_before, row.outside_mid, O, S,
                   M_min=pair.params.M_min, O_min=pair.params.O_min, clip_B=pair.params.clip_B)
        assert q.K == row.dealer_capacity
        expected = q.bid if row.side == "SELL" else q.ask
        assert row.unit_price == pytest.approx(expected, abs=1e-12)
        assert row.dealer_mid == pytest.approx(q.p, abs=1e-12)


def test_passthrough_leaves_dealer_unchanged_and_prices_within_outside_quotes(pair):
    tr = pair.active.tables["trades"]
    cust = tr[tr["kind"] == "customer"]
    pt = cust[cust["route"] == "passthrough"]
    assert (pt["dealer_inventory_after"] == pt["dealer_inventory_before"]).all()
    assert np.allclose(pt["dealer_cash_after"], pt["dealer_cash_before"])
    sells, buys = pt[pt["side"] == "SELL"], pt[pt["side"] == "BUY"]
    assert np.allclose(sells["unit_price"], sells["outside_bid"])
    assert np.allclose(buys["unit_price"], buys["outside_ask"])
    assert ((pt["seller_type"] == "vbt") | (pt["buyer_type"] == "vbt")).all()
    eps = 1e-12
    assert (cust["unit_price"] >= cust["outside_bid"] - eps).all()
    assert (cust["unit_price"] <= cust["outside_ask"] + eps).all()
    # limit flag is exactly the dealer's own balance-sheet reasons (§3.3)
    flagged = cust["pass_reason"].isin(["capacity", "cash", "empty"]) & (cust["route"] == "passthrough")
    assert (cust["hit_inventory_limit"] == flagged).all()


def test_dealer_state_chains_within_a_day(pair):
    """Each customer trade starts from the dealer state the previous one in its bucket left."""
    tr = pair.active.tables["trades"]
    cust = tr[tr["kind"] == "customer"].sort_values(["day", "seq"])
    for _, g in cust.groupby(["day", "bucket"]):
        after = g["dealer_inventory_after"].to_numpy()[:-1]
        before = g["dealer_inventory_before"].to_numpy()[1:]
        assert (after == before).all()
        assert np.allclose(g["dealer_cash_after"].to_numpy()[:-1], g["dealer_cash_before"].to_numpy()[1:])


def test_inventory_reconciles_with_trades(pair):
    for run in _runs(pair):
        inv = run.tables["inventory_timeseries"]
        tr = run.tables["trades"]
        cust = tr[(tr["kind"] == "customer") & (tr["route"] == "interior")]
        net = (cust.assign(d=np.where(cust["side"] == "SELL", 1, -1))
               .groupby(["day", "bucket"])["d"].sum())
        limit = tr[tr["kind"] == "customer"].groupby(["day", "bucket"])["hit_inventory_limit"].any()
        for row in inv.itertuples():
            key = (row.day, row.bucket)
            assert row.dealer_inventory == row.dealer_inventory_start + net.get(key, 0), key
            assert row.hit_limit_this_step == bool(limit.get(key, False)), key
            assert row.is_at_zero == (row.dealer_inventory == 0)
            assert row.face_dealer + row.face_vbt + row.face_traders == pytest.approx(row.bucket_face_outstanding)
        assert len(inv) == 3 * (pair.params.last_day + 1)


def test_repayment_events_reconcile_with_defaults(pair):
    S = pair.params.face_value
    for run in _runs(pair):
        rep = run.tables["repayment_events"]
        defaulted_face = rep.loc[rep["outcome"] == "defaulted", "face_value"].sum()
        assert defaulted_face == pytest.approx(S * run.metrics["defaulted_lineages"])  # I12
        labels = {"no_trade", "hold_to_maturity", "sell_before", "round_trip"}
        assert set(rep["strategy"]) <= labels
        b, s = rep["buy_count"], rep["sell_count"]
        expected = np.select([(b == 0) & (s == 0), s == 0, b == 0], ["no_trade", "hold_to_maturity", "sell_before"],
                             "round_trip")
        assert (rep["strategy"].to_numpy() == expected).all()
        assert (rep["face_value"] == S * rep["n_tickets"]).all()
        held = rep["face_held_by_traders"] + rep["face_held_by_dealers"] + rep["face_held_by_vbts"]
        assert np.allclose(held, rep["face_value"])
        assert ((rep["outcome"] == "repaid") == (rep["recovery_rate"] == 1.0)).all()
        # one row per cycle until default: cycles count up from 1 for each trader
        for _, g in rep.groupby("trader_id"):
            assert list(g["cycle"]) == list(range(1, len(g) + 1))
            assert (g["outcome"].iloc[:-1] == "repaid").all()
    assert (pair.passive.tables["repayment_events"]["strategy"] == "no_trade").all()


def test_repayment_trade_counts_match_trades(pair):
    """Per trader, the window counts add up to the trades it made up to its last maturity."""
    run = pair.active
    tr = run.tables["trades"]
    cust = tr[tr["kind"] == "customer"]
    rep = run.tables["repayment_events"]
    for trader, g in rep.groupby("trader_id"):
        last = g["maturity_day"].max()
        mine = cust[(cust["trader_id"] == trader) & (cust["day"] <= last)]
        assert g["sell_count"].sum() == (mine["side"] == "SELL").sum()
        assert g["buy_count"].sum() == (mine["side"] == "BUY").sum()


def test_system_state_conserves_cash_and_adds_up(pair):
    for run in _runs(pair):
        ss = run.tables["system_state_timeseries"]
        assert ss["total_cash"].max() - ss["total_cash"].min() <= 1e-6  # I1
        parts = ss["face_short"] + ss["face_mid"] + ss["face_long"] + ss["face_due_today"]
        assert np.allclose(parts, ss["total_face_outstanding"])
        cash_parts = ss["cash_traders"] + ss["cash_dealers"] + ss["cash_vbts"]
        assert np.allclose(cash_parts, ss["total_cash"])
        assert (ss["n_defaulted_traders"].diff().fillna(0) >= 0).all()
        assert list(ss["day"]) == list(range(pair.params.last_day + 1))


def test_comparison_row_is_consistent(pair):
    c = pair.comparison
    assert list(c) == schema.columns("comparison")
    assert c["trading_effect"] == c["delta_passive"] - c["delta_active"]
    sign = {"improved": 1, "unchanged": 0, "worsened": -1}[c["effect_class"]]
    assert np.sign(c["trading_effect"]) == sign
    assert c["delta_passive"] == c["defaulted_lineages_passive"] / c["initial_tickets"]
    assert c["total_trades"] == len(pair.active.tables["trades"].query("kind == 'customer'"))
    assert c["outside_mid_ratio"] == pair.params.outside_mid_ratio
    assert 0.0 <= c["delta_passive"] <= 1.0 and 0.0 <= c["delta_active"] <= 1.0


def test_passive_run_has_no_trades(pair):
    assert pair.passive.tables["trades"].empty
    assert pair.passive.rng_draws == 0


def test_write_pair_layout_atomic_and_byte_identical(tmp_path: Path):
    params = ModelParams(n_traders=25, Q_total=2500, kappa=0.5, mu=0.75)
    a, b = tmp_path / "a", tmp_path / "b"
    write_pair(simulate_pair(params), a)
    write_pair(simulate_pair(params), b)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*.csv"))
    files_b = sorted(p.relative_to(b) for p in b.rglob("*.csv"))
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel  # I13
    for regime in ("passive", "active"):
        folder = a / regime / "runs" / params.run_id(regime)
        assert sorted(p.stem for p in folder.glob("*.csv")) == sorted(RUN_FILES)
    assert not list(a.rglob(".tmp*"))
    # writing the same pair again replaces its comparison row instead of appending a duplicate
    write_pair(simulate_pair(params), a)
    other = ModelParams(n_traders=25, Q_total=2500, kappa=2.0, mu=0.75)
    write_pair(simulate_pair(other), a)
    comp = pd.read_csv(a / "aggregate" / "comparison.csv")
    assert sorted(comp["kappa"]) == [0.5, 2.0]


def test_detailed_logging_off_writes_header_only_files(tmp_path: Path):
    params = ModelParams(n_traders=25, Q_total=2500, kappa=0.5, mu=0.75, detailed_logging=False)
    pair = simulate_pair(params)
    write_pair(pair, tmp_path)
    folder = tmp_path / "active" / "runs" / params.run_id("active")
    for name in ("trades", "inventory_timeseries"):
        df = pd.read_csv(folder / f"{name}.csv")
        assert df.empty and list(df.columns) == schema.columns(name)
    assert not pd.read_csv(folder / "repayment_events.csv").empty
    # metrics do not depend on the detailed logs
    on = simulate_pair(params.model_copy(update={"detailed_logging": True}))
    for key in ("dealer_empty_fraction", "total_trades", "delta_active", "limit_hit_count"):
        assert on.comparison[key] == pair.comparison[key]


def test_docs_outputs_md_is_generated_from_schema():
    doc = Path(__file__).resolve().parents[1] / "docs" / "outputs.md"
    assert doc.read_text().strip() == schema.render_markdown().strip(), (
        "docs/outputs.md is stale: regenerate with "
        "python -c 'import bilancio_lite.schema as s; print(s.render_markdown())' > docs/outputs.md")
