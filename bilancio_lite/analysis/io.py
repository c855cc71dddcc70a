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

from ..atomic import write_csv
from ..store import (ALIASES, BOOL_COLUMNS, READ_KEYS, FIRST_VARIANT, Sweep, coerce_bools,  # noqa: F401  (re-exported)
                     read_comparison_csv, sweep_variants)
from ..store import load_sweep as _load_sweep

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


def write_table(df: pd.DataFrame, sweep_dir: str | os.PathLike, name: str) -> Path:
    """Write ``df`` to ``<sweep>/aggregate/<name>.csv`` atomically (:func:`atomic.write_csv`),
    without the index, and return the path (§8.6)."""
    stem = name[:-4] if name.endswith(".csv") else name
    if not stem or "/" in stem or os.sep in stem:
        raise ValueError(f"table name must be a plain file name, got {name!r}")
    folder = Path(sweep_dir) / "aggregate"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}.csv"
    write_csv(df, target)
    return target
