"""Run logs (§8): DataFrames from the engine's row buffers, and atomic writing of a pair.

Layout, shared with the sweep (conventions: Outputs):

    <out>/passive/runs/<run_id>/{trades,repayment_events,inventory_timeseries,
                                 system_state_timeseries,traders}.csv
    <out>/active/runs/<run_id>/…                       (same files, same columns)
    <out>/aggregate/pairs/<pair_id>.csv                one comparison row per pair (written last)
    <out>/aggregate/comparison.csv                     all rows, sorted

Every run folder appears at once (written to a hidden temporary folder, then renamed), and a pair
counts as complete once its row file exists, so an interrupted sweep never leaves a half-written
folder behind and can be resumed.
"""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Iterator, Mapping
from typing import Any, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from .atomic import replacing_folder, write_csv  # the package's one atomic writer
from .record import PairResult, RunRecord
from .schema import (COMPARISON_ORDER, FILES, TRADER, columns as schema_columns, dtypes as schema_dtypes,
                     identity_names)

RUN_FILES = tuple(FILES)          # file stems inside a run folder

_NUMPY_DTYPE = {"int": np.int64, "float": np.float64, "bool": np.bool_, "str": object}


def _column(values: Any, dtype: str) -> Any:
    if dtype == "Int":
        return pd.array(values, dtype="Int64")
    return np.asarray(values, dtype=_NUMPY_DTYPE[dtype])


def _by_column(file: str, rows: list[tuple]) -> list[tuple]:
    """The engine's rows of a file turned into its columns, in schema order. A row whose length
    is not the schema's is an error (zip would silently drop or misplace columns)."""
    width = len(FILES[file])
    if not rows:
        return [() for _ in range(width)]
    if len(rows[0]) != width or len(rows[-1]) != width:
        raise ValueError(f"{file}: the engine's rows have {len(rows[0])} values, the schema {width} columns")
    return list(zip(*rows))


def _frame(file: str, rows: list[tuple], identity: dict[str, Any]) -> pd.DataFrame:
    """One per-run table: identity columns, then the file's own columns, with schema dtypes."""
    cols = FILES[file]
    dtypes = schema_dtypes(file)
    n = len(rows)
    data: dict[str, Any] = {}
    for name, value in zip(identity_names(file), identity.values()):
        data[name] = _column([value] * n, dtypes[name])
    columns = _by_column(file, rows)
    for c, values in zip(cols, columns):
        data[c.name] = _column(values, c.dtype)
    return pd.DataFrame(data, copy=False)


def identity_values(rec: RunRecord) -> dict[str, Any]:
    """The identity columns' values of a run (§8), by column name (schema.IDENTITY order)."""
    p = rec.params
    return {"run_id": rec.run_id, "regime": rec.regime, "seed": p.seed, "kappa": p.kappa,
            "concentration": p.concentration, "mu": p.mu, "monotonicity": p.monotonicity,
            "outside_mid_ratio": p.outside_mid_ratio, "n_traders": p.n_traders,
            "face_value": p.face_value}


def _trader_rows(rec: RunRecord) -> list[tuple]:
    """traders.csv (addition): each trader's initial conditions (§2) and outcome, in the column
    order of schema.TRADERS (built by name: one row per trader, not a hot loop)."""
    info, S, N, default_day = rec.info, rec.S, rec.N, rec.default_day
    rows = []
    for i in range(N):
        prev = (i - 1) % N
        name = rec.names[i]
        rows.append(TRADER.row({
            "trader_id": name, "init_cash": info.trader_cash[i],
            "init_liability_face": S * (info.n[i] + info.vbt_tickets[i] + info.dealer_tickets[i]),
            "init_claims_face": S * info.n[prev], "own_due_day": info.due[i],
            "debtor_due_day": info.due[prev], "maturity_mismatch": info.due[prev] - info.due[i],
            "ring_tickets": info.n[i], "vbt_tickets": info.vbt_tickets[i],
            "dealer_tickets": info.dealer_tickets[i], "defaulted": name in default_day,
            "default_day": default_day.get(name), "tickets_sold": rec.sold[i],
            "tickets_bought": rec.bought[i]}))
    return rows


_ARROW_TYPE = {"int": pa.int64(), "Int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
               "str": pa.string()}


def arrow_schema(file: str) -> pa.Schema:
    """The Arrow schema of a per-run file (identity columns first), from :mod:`schema`."""
    return pa.schema([(name, _ARROW_TYPE[dtype]) for name, dtype in schema_dtypes(file).items()])


def read_run_files(paths: Iterable[str | os.PathLike], file: str) -> pd.DataFrame:
    """Read many run files of one kind with Arrow's CSV reader and the schema's column types
    (so a value written as `1` is still a float where the schema says float), as one frame."""
    types = dict(zip(arrow_schema(file).names, arrow_schema(file).types))
    options = pa_csv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                    true_values=["true", "True"], false_values=["false", "False"])
    tables = [pa_csv.read_csv(str(p), convert_options=options) for p in paths]
    return pa.concat_tables(tables).to_pandas() if tables else pd.DataFrame(columns=list(types))


class RunTables(Mapping[str, pd.DataFrame]):
    """A run's per-run files (§8.1–§8.4, plus traders.csv) as a read-only mapping of DataFrames.

    The engine's row buffers are kept as they are; a DataFrame is built on first access and
    cached. Writing goes straight from the rows to Arrow (:meth:`arrow`), so a sweep, which only
    writes, never builds a DataFrame.
    """

    def __init__(self, rows: dict[str, list[tuple]], identity: dict[str, Any]) -> None:
        self.rows = rows
        self.identity = identity
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        frame = self._frames.get(name)
        if frame is None:
            frame = self._frames[name] = _frame(name, self.rows[name], self.identity)
        return frame

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def arrow(self, name: str) -> pa.Table:
        """The file as an Arrow table, in schema order with schema types (NaN and None -> empty)."""
        rows = self.rows[name]
        n = len(rows)
        dtypes = schema_dtypes(name)
        arrays = {}  # same column types as arrow_schema(name)
        for col, value in zip(identity_names(name), self.identity.values()):
            arrays[col] = pa.array([value] * n, type=_ARROW_TYPE[dtypes[col]])
        columns = _by_column(name, rows)
        for c, values in zip(FILES[name], columns):
            arrays[c.name] = pa.array(values, type=_ARROW_TYPE[c.dtype], from_pandas=True)
        return pa.table(arrays)


def build_tables(rec: RunRecord) -> RunTables:
    """The run's per-run files (§8.1–§8.4, plus traders.csv) from its finished record."""
    return RunTables({
        "trades": rec.rows.trades,
        "repayment_events": rec.rows.repay,
        "inventory_timeseries": rec.rows.inv,
        "system_state_timeseries": rec.rows.sys,
        "traders": _trader_rows(rec),
    }, identity_values(rec))


def comparison_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """comparison.csv rows in schema order, sorted by the pair keys (§8.5)."""
    cols = schema_columns("comparison")
    df = pd.DataFrame(list(rows), columns=cols)
    for name, dtype in schema_dtypes("comparison").items():
        if dtype == "Int":
            df[name] = df[name].astype("Int64")
    return df.sort_values(list(COMPARISON_ORDER), kind="stable").reset_index(drop=True)


_CSV_OPTIONS = pa_csv.WriteOptions(include_header=True, quoting_style="needed")


def to_csv_fast(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a run table with Arrow's CSV writer: ~8x faster than `DataFrame.to_csv` on the float-
    heavy logs, with shortest round-trip float text (deterministic; read back exactly by pandas).
    Missing values are empty fields; booleans are `true`/`false`."""
    table = pa.table({name: pa.array(col) for name, col in df.items()})  # skips from_pandas' metadata pass
    pa_csv.write_csv(table, str(path), _CSV_OPTIONS)


def write_run(tables: Mapping[str, pd.DataFrame | pa.Table], final: Path) -> Path:
    """Write a run folder at once (:func:`atomic.replacing_folder`: a hidden temporary sibling, then
    a rename). The tables are the run's RunTables, or a mapping of DataFrames or Arrow tables (the
    store's export)."""
    with replacing_folder(final) as tmp:
        for name in tables:
            path = tmp / f"{name}.csv"
            table = tables.arrow(name) if isinstance(tables, RunTables) else tables[name]
            if isinstance(table, pa.Table):
                pa_csv.write_csv(table, str(path), _CSV_OPTIONS)
            else:
                to_csv_fast(table, path)
    return final


def pair_row_path(out_dir: str | os.PathLike, pair_id: str) -> Path:
    return Path(out_dir) / "aggregate" / "pairs" / f"{pair_id}.csv"


def write_pair(result: PairResult, out_dir: str | os.PathLike, *, update_comparison: bool = True) -> Path:
    """Write both run folders and the pair's comparison row; return the row file's path.

    With `update_comparison` (the single-pair CLI), `aggregate/comparison.csv` is rewritten with
    this pair's row replacing any earlier row of the same pair. A sweep passes False and collects
    every row at the end (:func:`collect_comparison`), so parallel workers never share a file.
    """
    out = Path(out_dir)
    for run in (result.passive, result.active):
        # §8: every file is always written; without detailed_logging the engine records no trades
        # or inventory rows, so those two files hold their header only
        write_run(run.tables, out / run.regime / "runs" / run.run_id)
    row_path = write_csv(comparison_frame([result.comparison]), pair_row_path(out, result.pair_id))
    if update_comparison:
        comp_path = out / "aggregate" / "comparison.csv"
        rows = []
        if comp_path.exists():
            old = pd.read_csv(comp_path)
            old = old[old["active_run_id"] != result.comparison["active_run_id"]]
            rows = old.to_dict("records")
        write_csv(comparison_frame(rows + [result.comparison]), comp_path)
    return row_path


def collect_comparison(out_dir: str | os.PathLike, pair_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Concatenate the per-pair rows (all, or the given pair ids) into one sorted frame."""
    folder = Path(out_dir) / "aggregate" / "pairs"
    paths = ([folder / f"{pid}.csv" for pid in pair_ids] if pair_ids is not None
             else sorted(folder.glob("*.csv")))
    frames = [pd.read_csv(p) for p in paths if p.exists()]
    if not frames:
        return comparison_frame([])
    return comparison_frame(pd.concat(frames, ignore_index=True).to_dict("records"))
