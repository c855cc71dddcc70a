"""Reading a sweep's per-run CSVs and writing analysis tables (bilancio_lite/analysis/io.py)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from bilancio_lite.analysis import load_sweep, write_table
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
