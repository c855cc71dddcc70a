"""Each analysis's declared reads (analysis.needs) are enough: with only those columns and rows it
gives exactly the tables it gives on the whole §8 tables, in both storage formats (issue 10)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pandas as pd
import pytest

from bilancio_lite import analysis
from bilancio_lite.analysis import horizons, initial_conditions, io, no_difference, strategies, usage, why
from bilancio_lite.analysis.needs import COUNT, Need, reads, row_counts, union
from bilancio_lite.sweep import run_sweep
from factories.sweeps import smoke_config

CALLS = {
    "trade_stats": lambda t, c: usage.trade_stats(t["trades"]),
    "inventory_stats": lambda t, c: usage.inventory_stats(t["inventory"]),
    "system_stats": lambda t, c: usage.system_stats(t["system_state"]),
    "repayment_trade_stats": lambda t, c: usage.repayment_trade_stats(t["repayments"], c),
    "dealer_usage_by_run": lambda t, c: usage.dealer_usage_by_run(c, t["trades"], t["repayments"], t["inventory"],
                                                                  t["system_state"]),
    "cells_traded_default_less": lambda t, c: usage.cells_traded_default_less(t["repayments"], c),
    "no_difference_pairs": lambda t, c: no_difference.no_difference_pairs(c, t["trades"], t["repayments"],
                                                                          t["inventory"]),
    "strategy_outcomes_by_run": lambda t, c: strategies.strategy_outcomes_by_run(t["repayments"], c),
    "traded_vs_untraded": lambda t, c: strategies.traded_vs_untraded(t["repayments"], c, "effect_class"),
    "strategy_vs_passive": lambda t, c: strategies.strategy_vs_passive(t["repayments"], c, by="held_matching_maturity"),
    "strategy_flags": lambda t, c: strategies.strategy_flags(t["repayments"], c),
    "trader_initial_conditions": lambda t, c: initial_conditions.trader_initial_conditions(
        t["repayments"], c, t["traders"]),
    "trader_repayments": lambda t, c: initial_conditions.trader_repayments(t["repayments"], c),
    "dealer_inventory_share": lambda t, c: horizons.dealer_inventory_share(t["inventory"], t["system_state"]),
    "first_default_days": lambda t, c: horizons.first_default_days(t["repayments"], c),
    "bucket_depletion": lambda t, c: horizons.bucket_depletion(t["inventory"]),
    "debt_money_path": lambda t, c: horizons.debt_money_path(t["system_state"], by="kappa"),
    "trade_days": lambda t, c: why.trade_days(t["trades"], 10),
    "defaults_by_cycle": lambda t, c: why.defaults_by_cycle(t["repayments"]),
    "outside_mid_path": lambda t, c: why.outside_mid_path(t["system_state"]),
    "inventory_provenance": lambda t, c: why.inventory_provenance(t["trades"], c, t["repayments"], t["traders"]),
    "trader_mechanisms": lambda t, c: why.trader_mechanisms(t["traders"], t["trades"], c),
}
FUNCS = {name: f for m in (usage, no_difference, strategies, initial_conditions, horizons, why)
         for name, f in inspect.getmembers(m, inspect.isfunction) if hasattr(f, "reads")}


@pytest.fixture(scope="module")
def pq_smoke(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("needs") / "smoke"
    res = run_sweep(smoke_config(format="parquet"), out, engine="inline", workers=0, log=None, progress=False)
    assert res.exit_code == 0
    return out


def test_every_declaring_function_is_checked_below():
    assert sorted(FUNCS) == sorted(CALLS)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_declared_reads_give_the_same_tables_as_whole_tables(name, fmt, pq_smoke, smoke_ref):
    data = io.load_sweep(pq_smoke if fmt == "parquet" else smoke_ref)
    comp = data.comparison
    whole = {k: getattr(data, k) for k in ("trades", "repayments", "inventory", "system_state", "traders")}
    part = data.read_for(FUNCS[name])
    assert set(part) == set(FUNCS[name].reads)
    for key, frame in part.items():  # the read is narrower than the whole table
        assert len(frame.columns) < len(whole[key].columns) or len(frame) < len(whole[key])
    got, want = CALLS[name](part, comp), CALLS[name](whole, comp)
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    else:
        assert got == want


def test_row_counts_stand_in_for_the_trades_of_inventory_provenance(pq_smoke):
    data = io.load_sweep(pq_smoke)
    counts = data.read_for(why.inventory_provenance)["trades"]
    assert COUNT in counts.columns and len(counts) < len(data.trades)
    assert counts[COUNT].sum() == int((data.trades["regime"] == "active").sum())
    prov = why.inventory_provenance(counts, data.comparison)
    pd.testing.assert_frame_equal(prov, why.inventory_provenance(data.trades, data.comparison))
    assert prov["tickets_rehomed_in"].iloc[0] > 0  # the transfers are counted, not dropped


def test_union_of_needs_keeps_every_column_and_only_shared_row_conditions():
    a = Need(["x", "y"], where={"regime": "active", "kind": "customer"})
    b = Need(["y", "z"], where={"regime": ["passive"]})
    u = a | b
    assert u.columns == ("x", "y", "z") and dict(u.where) == {"regime": ("active", "passive")}
    assert (a | Need(["w"])).where is None                    # one reads every row: so does the union
    assert (Need(["x"], counts=True) | Need(["y"])).counts is False
    f = reads(trades=a)(lambda: None)
    g = reads(trades=b, traders=Need(["run_id"]))(lambda: None)
    assert list(union(f, g)) == ["trades", "traders"] and union(f, g)["trades"] == u
    with pytest.raises(ValueError, match="unknown table"):
        reads(tradez=a)
    with pytest.raises(ValueError, match="declares no reads"):
        union(len)


def test_read_narrows_columns_and_rows_and_rejects_unknown_names(pq_smoke):
    data = io.load_sweep(pq_smoke)
    cust = data.read("trades", ["day", "run_id", "kind"], {"regime": "active", "kind": "customer"})
    assert list(cust.columns) == ["run_id", "day", "kind"]    # the file's column order
    full = data.trades
    want = full.loc[(full["regime"] == "active") & (full["kind"] == "customer"), ["run_id", "day", "kind"]]
    pd.testing.assert_frame_equal(cust, want.reset_index(drop=True))
    assert data.read("repayment_events", ["outcome"]).shape == (len(data.repayments), 1)
    with pytest.raises(KeyError, match="unknown table 'nope'"):
        data.read("nope", ["x"])
    with pytest.raises(KeyError, match="no column"):
        data.read("trades", ["nope"])
    with pytest.raises(ValueError, match="missing values cannot be matched"):
        data.read("trades", ["day"], {"route": ""})


def test_the_package_exports_notebook_01_tables():
    for name in ("overview_tables", "takeaway_cuts", "overview_ci_tables", "takeaway_ci", "effect_heatmap_table",
                 "heatmap_matrix", "takeaway_heatmap", "dealer_activity_by_run", "dealer_activity_summary",
                 "takeaway_dealer_activity", "replicate_count"):
        assert name in analysis.__all__ and callable(getattr(analysis, name))


def test_row_counts_are_the_group_sizes_of_grouped_rows_and_one_per_raw_row():
    raw = pd.DataFrame({"run_id": ["a", "a", "b"], "day": [0, 0, 3]}, index=[5, 6, 9])
    grouped = raw.groupby(["run_id", "day"]).size().rename(COUNT).reset_index()
    assert row_counts(raw).tolist() == [1, 1, 1] and row_counts(raw).index.tolist() == [5, 6, 9]
    assert row_counts(grouped).tolist() == [2, 1]
    assert row_counts(grouped).dtype == "int64" and row_counts(raw).dtype == "int64"
