"""The analysis layer's door to a sweep folder, and the writer of the §8.6 aggregate tables.

Reading is :class:`bilancio_lite.store.Sweep`, the one sweep reader (issue 24): ``SweepData`` is
that class and :func:`load_sweep` that module's ``load_sweep`` with the analysis default
(``variant=FIRST_VARIANT``). It reads either format (``tables/<table>/`` Parquet parts, or
``{passive,active}/runs/<run_id>/<name>.csv`` with ``aggregate/comparison.csv``, §8), only the parts
a status record lists, and knows whether the sweep is complete (``Sweep.status``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..atomic import replacing, write_csv
from ..store import (ALIASES, BOOL_COLUMNS, READ_KEYS, FIRST_VARIANT, Sweep, coerce_bools,  # noqa: F401  (re-exported)
                     read_comparison_csv, sweep_variants)
from ..store import load_sweep as _load_sweep
from ..schema import aggregate_format

#: Per-run file names (without ``.csv``) of §8.1–§8.4 by the analysis layer's keys (the one name
#: map: :data:`bilancio_lite.store.ALIASES`).
RUN_FILES: dict[str, str] = {k: ALIASES.get(k, k) for k in READ_KEYS}

#: The sweep reader: one class for the store and the analysis layer (issue 24).
SweepData = Sweep


def load_sweep(sweep_dir: str | os.PathLike, variant: str | list[str] | None = FIRST_VARIANT) -> Sweep:
    """:func:`bilancio_lite.store.load_sweep` with the analysis layer's default ``variant``:
    :data:`FIRST_VARIANT` reads the first variant (the baseline) of a sweep with variants and every
    pair of a sweep without (analyses that join on the grid keys need one variant at a time);
    None reads every pair. Files are read on first attribute access."""
    return _load_sweep(sweep_dir, variant)


#: The file suffix of each analysis-table format (§8.6, :func:`bilancio_lite.schema.aggregate_format`).
_SUFFIX = {"csv": ".csv", "parquet": ".parquet"}


def _table_stem(name: str) -> str:
    """``name`` without a ``.csv`` / ``.parquet`` suffix; a ValueError unless it is a plain file name."""
    stem = name
    for suffix in _SUFFIX.values():
        stem = stem.removesuffix(suffix)
    if not stem or "/" in stem or os.sep in stem or stem.startswith("."):
        raise ValueError(f"table name must be a plain file name, got {name!r}")
    return stem


def write_table(df: pd.DataFrame, sweep_dir: str | os.PathLike, name: str) -> Path:
    """Write the analysis table ``df`` under ``<sweep>/aggregate/`` atomically, without the index,
    and return the path (§8.6): ``<name>.parquet`` for a row-level table
    (:data:`bilancio_lite.schema.ROW_LEVEL_TABLES`, zstd as the sweep store), ``<name>.csv`` for
    every other, a summary (``DataFrame.to_csv`` bytes). ``name`` may end in ``.csv`` or
    ``.parquet``: the rule, not the suffix, picks the format. The table's file in the other format
    (left by an earlier version of the package) is removed, so ``aggregate/`` holds one copy."""
    stem = _table_stem(name)
    fmt = aggregate_format(stem)
    folder = Path(sweep_dir) / "aggregate"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}{_SUFFIX[fmt]}"
    if fmt == "parquet":
        write_parquet(df, target)
    else:
        write_csv(df, target)
    for other, suffix in _SUFFIX.items():
        if other != fmt:
            (folder / f"{stem}{suffix}").unlink(missing_ok=True)
    return target


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` as one Parquet file (no index; zstd at the sweep store's level; pandas
    dtypes kept in the file's metadata, so ``pandas.read_parquet`` gives them back), atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..store import _COMPRESSION, _ZSTD_LEVEL

    table = pa.Table.from_pandas(df, preserve_index=False)
    with replacing(path) as tmp:
        pq.write_table(table, tmp, compression=_COMPRESSION, compression_level=_ZSTD_LEVEL)
    return Path(path)


def read_table(sweep_dir: str | os.PathLike, name: str) -> pd.DataFrame:
    """The analysis table ``name`` that :func:`write_table` wrote under ``<sweep>/aggregate/``, in
    whichever format it has (§8.6): a row-level table from its Parquet file (its dtypes as
    written), a summary from its CSV (``pandas.read_csv``'s types); a report written before the
    rule (every table a CSV) is read as it is. FileNotFoundError naming the path when the table was
    not written (run ``bilancio-lite report`` first)."""
    stem = _table_stem(name)
    folder = Path(sweep_dir) / "aggregate"
    fmt = aggregate_format(stem)
    paths = [folder / f"{stem}{_SUFFIX[f]}" for f in (fmt, *(f for f in _SUFFIX if f != fmt))]
    found = next((p for p in paths if p.is_file()), None)
    if found is None:
        raise FileNotFoundError(f"analysis table not found: {paths[0]} (written by `bilancio-lite report`)")
    return pd.read_parquet(found) if found.suffix == ".parquet" else pd.read_csv(found)
