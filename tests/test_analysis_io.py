"""Reading a sweep's per-run CSVs and writing analysis tables (bilancio_lite/analysis/io.py)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from bilancio_lite import schema
from bilancio_lite.analysis import load_sweep, read_table, write_table
from factories.frames import (
    INV_COLS, P, REP_COLS, SYS_COLS, TRADE_COLS, comparison, frame, inv, rep, run_id, sysrow, trade,
)


def _write_sweep(root, pairs):
    for p in pairs:
        for regime in ("passive", "active"):
            d = root / regime / "runs" / run_id(p, regime)
            d.mkdir(parents=True)
            rows = [rep(p, regime, "H1", 2, "repaid")]
            frame(rows, REP_COLS).to_csv(d / "repayment_events.csv", index=False)
            t = [trade(p, 0, "H1")] if regime == "active" else []
            frame(t, TRADE_COLS).to_csv(d / "trades.csv", index=False)  # header-only if empty
            frame([inv(p, regime, 0, "short", 1)], INV_COLS).to_csv(
                d / "inventory_timeseries.csv", index=False)
            frame([sysrow(p, regime, 0, 100.0, 1.0)], SYS_COLS).to_csv(
                d / "system_state_timeseries.csv", index=False)
    (root / "aggregate").mkdir()
    comparison(*pairs).to_csv(root / "aggregate" / "comparison.csv", index=False)


def test_load_sweep_concatenates_runs(tmp_path):
    pairs = [P(0.5), P(1.0)]
    _write_sweep(tmp_path, pairs)
    sd = load_sweep(tmp_path)
    assert len(sd.comparison) == 2
    assert len(sd.repayments) == 4 and set(sd.repayments["regime"]) == {"passive", "active"}
    assert len(sd.trades) == 2  # passive trades.csv files are header-only
    assert sd.trades["hit_inventory_limit"].dtype == bool
    assert sd.inventory["is_at_zero"].dtype == bool
    assert sd.comparison["identical_default_set"].dtype == bool
    assert len(sd.system_state) == 4
    assert sd.repayments is sd.repayments  # cached


def test_load_sweep_skips_unfinished_run_folders(tmp_path):
    p = P(1.0)
    _write_sweep(tmp_path, [p])
    hidden = tmp_path / "active" / "runs" / ".tmp-x-1234"
    hidden.mkdir()
    frame([rep(p, "active", "H9", 1, "repaid")], REP_COLS).to_csv(
        hidden / "repayment_events.csv", index=False)
    assert "H9" not in set(load_sweep(tmp_path).repayments["trader_id"])


def test_load_sweep_keeps_columns_and_dtypes_of_header_only_files(tmp_path):
    p = P(1.0)
    d = tmp_path / "active" / "runs" / run_id(p, "active")
    d.mkdir(parents=True)
    frame([], TRADE_COLS).to_csv(d / "trades.csv", index=False)
    t = load_sweep(tmp_path).trades
    assert t.empty and list(t.columns) == TRADE_COLS
    assert t["hit_inventory_limit"].dtype == bool


def test_load_sweep_names_the_missing_folder_or_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        load_sweep(tmp_path / "nope")
    sd = load_sweep(tmp_path)
    with pytest.raises(FileNotFoundError, match="comparison.csv"):
        _ = sd.comparison
    with pytest.raises(FileNotFoundError, match="repayment_events.csv"):
        _ = sd.repayments


def test_write_table_writes_atomically_under_aggregate_and_refuses_other_paths(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    path = write_table(df, tmp_path, "my_table")
    assert path == tmp_path / "aggregate" / "my_table.csv"
    assert path.read_text().splitlines() == ["a,b", "1,x", "2,y"]
    assert os.listdir(tmp_path / "aggregate") == ["my_table.csv"]  # no temp file left
    write_table(df.iloc[:1], tmp_path, "my_table.csv")  # overwrite, ".csv" accepted
    assert pd.read_csv(path).shape == (1, 2)
    with pytest.raises(ValueError):
        write_table(df, tmp_path, "../evil")


def row_level_frame() -> pd.DataFrame:
    """A frame with the dtypes the analyses write: nullable ints, bools, text with gaps, NaN."""
    return pd.DataFrame({
        "run_id": ["active_k0.5", "active_k0.5", "passive_k0.5"],
        "seed": [42, 42, 43],
        "trader_id": ["H1", "H2", None],
        "day": pd.array([0, None, 2], dtype="Int64"),
        "share": [0.125, float("nan"), 1 / 3],
        "used_dealer": [True, False, True],
    })


def test_a_row_level_table_is_written_as_parquet_with_its_columns_and_dtypes(tmp_path):
    name = "trader_initial_conditions"
    assert schema.aggregate_format(name) == "parquet" and schema.aggregate_format("overview_by_kappa") == "csv"
    df = row_level_frame()
    path = write_table(df, tmp_path, name)
    assert path == tmp_path / "aggregate" / f"{name}.parquet"
    assert os.listdir(tmp_path / "aggregate") == [f"{name}.parquet"]  # no CSV, no temp file
    pd.testing.assert_frame_equal(pd.read_parquet(path), df)
    pd.testing.assert_frame_equal(read_table(tmp_path, name), df)
    # the rule, not a suffix, picks the format
    assert write_table(df, tmp_path, f"{name}.csv") == path
    assert write_table(df, tmp_path, "my_summary.parquet") == tmp_path / "aggregate" / "my_summary.csv"


def test_write_table_removes_the_other_format_left_by_an_earlier_version(tmp_path):
    folder = tmp_path / "aggregate"
    folder.mkdir()
    df = row_level_frame()
    df.to_csv(folder / "dealer_inventory_share.csv", index=False)  # as the report wrote it before
    (folder / "overview_by_kappa.parquet").write_bytes(b"stale")
    write_table(df, tmp_path, "dealer_inventory_share")
    write_table(df, tmp_path, "overview_by_kappa")
    assert sorted(os.listdir(folder)) == ["dealer_inventory_share.parquet", "overview_by_kappa.csv"]


def test_read_table_reads_either_format_and_names_a_missing_table(tmp_path):
    df = row_level_frame()
    write_table(df, tmp_path, "overview_by_kappa")
    assert read_table(tmp_path, "overview_by_kappa.csv")["share"].tolist()[0] == 0.125
    df.to_csv(tmp_path / "aggregate" / "bucket_depletion.csv", index=False)  # a report before the rule
    assert len(read_table(tmp_path, "bucket_depletion")) == 3
    with pytest.raises(FileNotFoundError, match="why_trader_mechanisms.parquet"):
        read_table(tmp_path, "why_trader_mechanisms")


@pytest.mark.integration
def test_row_level_tables_are_views_in_sql(smoke_ref):
    df = row_level_frame()
    write_table(df, smoke_ref, "dealer_inventory_vs_debt")
    write_table(df, smoke_ref, "overview_by_kappa")  # a summary: a CSV, no view
    data = load_sweep(smoke_ref)
    got = data.sql("SELECT run_id, count(*) AS n, sum(share) AS s FROM dealer_inventory_vs_debt "
                   "GROUP BY run_id ORDER BY run_id")
    assert got["run_id"].tolist() == ["active_k0.5", "passive_k0.5"] and got["n"].tolist() == [2, 1]
    assert got["s"].tolist() == pytest.approx([0.125, 1 / 3])
    with pytest.raises(Exception, match="overview_by_kappa"):
        data.sql("SELECT * FROM overview_by_kappa")
    n_rep = len(data.read("repayments", ["run_id"]))
    assert data.sql("SELECT count(*) AS n FROM repayment_events")["n"].tolist() == [n_rep]  # still there
