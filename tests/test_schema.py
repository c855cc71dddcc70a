"""schema.py's row fields (§8): column positions inside the engine's rows, read and built by name."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bilancio_lite import schema
from bilancio_lite.engine import simulate_pair
from bilancio_lite.logs import RunTables
from bilancio_lite.schema import INV, REPAY, SYS, TRADE, TRADER, Column, RowFields


def test_positions_are_the_documented_column_order():
    """Spot checks against the column order documented in docs/outputs.md (§8.1–§8.4)."""
    assert (TRADE.day, TRADE.seq, TRADE.kind, TRADE.side) == (0, 1, 2, 3)
    assert TRADE.is_liquidity_driven == 36 and len(TRADE) == 37
    assert (REPAY.trader_id, REPAY.liability_id, REPAY.outcome) == (0, 1, 9)
    assert REPAY.rollover_price == len(REPAY) - 1 == 24
    assert (INV.day, INV.bucket, INV.dealer_inventory) == (0, 1, 3)
    assert (SYS.day, SYS.total_face_outstanding, SYS.face_short, SYS.face_mid) == (0, 1, 2, 3)
    assert (TRADER.trader_id, TRADER.tickets_bought) == (0, 13)


def test_identity_columns_are_not_part_of_the_engine_rows():
    for fields in schema.ROW_FIELDS.values():
        for name in ("run_id", "regime", "kappa", "seed"):
            assert not hasattr(fields, name)


def test_row_builds_in_schema_order_and_refuses_missing_or_unknown_columns():
    fields = RowFields("demo", (Column("a", "int", ""), Column("b", "float", ""), Column("c", "str", "")))
    assert fields.row({"c": "z", "a": 1, "b": 2.5}) == (1, 2.5, "z")
    assert fields.as_dict((1, 2.5, "z")) == {"a": 1, "b": 2.5, "c": "z"}
    with pytest.raises(KeyError, match="no value for column 'b'"):
        fields.row({"a": 1, "c": "z"})
    with pytest.raises(KeyError, match="not a column of the schema: d"):
        fields.row({"a": 1, "b": 2.5, "c": "z", "d": 0})
    with pytest.raises(ValueError, match="2 values, the schema 3 columns"):
        fields.as_dict((1, 2.5))


def test_row_fields_are_read_only_and_names_may_not_clash():
    with pytest.raises(AttributeError):
        SYS.day = 3
    assert SYS.day == 0
    with pytest.raises(ValueError, match="clashes"):
        RowFields("demo", (Column("row", "int", ""),))
    with pytest.raises(ValueError, match="clashes"):
        RowFields("demo", (Column("names", "int", ""),))


def test_engine_rows_read_by_name_match_the_tables():
    """Every value read with the row fields from the engine's rows is the value in the table's
    column of that name (the tables are built from the same rows, positionally, by logs)."""
    pair = simulate_pair(kappa=0.5, n_traders=12, Q_total=12 * 20 * 4, maturity_days=5, seed=3)
    run = pair.active
    tables: RunTables = run.tables
    checked = 0
    for file, fields in schema.ROW_FIELDS.items():
        rows, frame = tables.rows[file], tables[file]
        assert len(rows) == len(frame) > 0, file
        for name in fields.names:
            for k in (0, len(rows) - 1):
                got, want = rows[k][getattr(fields, name)], frame[name].iloc[k]
                if got is None or (isinstance(got, float) and math.isnan(got)):
                    assert pd.isna(want), (file, name, k)
                else:
                    assert got == want, (file, name, k)
                checked += 1
    assert checked > 200


def test_tables_refuse_rows_of_the_wrong_width():
    """A row with a column too few would be misread by position: building the table fails."""
    pair = simulate_pair(kappa=0.5, n_traders=6, Q_total=6 * 20 * 2, maturity_days=4, seed=1)
    tables = pair.passive.tables
    bad = {name: list(rows) for name, rows in tables.rows.items()}
    bad["system_state_timeseries"] = [row[:-1] for row in bad["system_state_timeseries"]]
    broken = RunTables(bad, tables.identity)
    width = len(tables.rows["system_state_timeseries"][0])
    message = f"system_state_timeseries: the engine's rows have {width - 1} values, the schema {width} columns"
    with pytest.raises(ValueError, match=message):
        broken["system_state_timeseries"]
    with pytest.raises(ValueError, match=message):
        broken.arrow("system_state_timeseries")
    assert len(broken["trades"].columns) == len(schema.columns("trades"))  # the other files still build
