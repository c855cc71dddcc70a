"""Reading a finished sweep's tables and writing the §8.6 aggregate tables.

A sweep written with ``output.format: parquet`` (the default) keeps its per-run tables in
``<sweep>/tables/<table>/`` (read through :mod:`bilancio_lite.store`); one written with
``output.format: csv`` keeps them as below.

Layout (conventions, "Outputs"; spec §8): ``<sweep>/{passive,active}/runs/<run_id>/<name>.csv`` for
the per-run files of §8.1–§8.4 and ``<sweep>/aggregate/comparison.csv`` for §8.5. The per-run files
are concatenated over runs on first access and cached on the :class:`SweepData` object.
:meth:`SweepData.read`, :meth:`SweepData.read_for` and :meth:`SweepData.count` read only some
columns and rows of a table (or count them) instead, pushed down into the read, and cache nothing:
a table of a replicated sweep need never be held whole (issue 10).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import write_csv
from ..logs import read_run_files
from ..store import BOOL_COLUMNS, Sweep, coerce_bools, read_comparison_csv  # noqa: F401  (BOOL_COLUMNS: re-exported)
from .needs import union

#: Per-run file names (without ``.csv``) of §8.1–§8.4.
RUN_FILES: dict[str, str] = {
    "trades": "trades",
    "repayments": "repayment_events",
    "inventory": "inventory_timeseries",
    "system_state": "system_state_timeseries",
    "traders": "traders",
}
_TABLE_KEYS = {v: k for k, v in RUN_FILES.items()}

#: ``load_sweep(..., variant=FIRST_VARIANT)``: the sweep's first variant (its baseline) when it has
#: variants, every pair otherwise. Not a valid variant name, so it cannot clash with one.
FIRST_VARIANT = "<first>"


def sweep_variants(sweep_dir: str | os.PathLike) -> list[str]:
    """The variant names of a sweep folder (from its sweep.yaml, in file order; [] without)."""
    import yaml

    path = Path(sweep_dir) / "sweep.yaml"
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text()) or {}
    return [str(v) for v in (data.get("variants") or {})]


@dataclass
class SweepData:
    """The CSVs of one sweep folder, read lazily and cached (§8.1–§8.5).

    Attributes are DataFrames: ``comparison`` (aggregate/comparison.csv), ``trades``,
    ``repayments``, ``inventory``, ``system_state`` and ``traders`` (each concatenated over both
    regimes' runs; folders whose name starts with "." are unfinished writes and are skipped).
    """

    sweep_dir: Path
    #: the variants whose pairs this object reads (§6.4); None: every pair of the sweep
    variants: tuple[str, ...] | None = None

    def scope_note(self) -> str:
        """One sentence on which pairs of the sweep this object reads."""
        names = sweep_variants(self.sweep_dir)
        if not names:
            return "The sweep has no variants: every pair is shown."
        if self.variants is None:
            return f"The sweep has {len(names)} variants ({', '.join(names)}); all are pooled here."
        shown = ", ".join(self.variants)
        return (f"The sweep has {len(names)} variants ({', '.join(names)}); this notebook shows "
                f"{shown} only (07_robustness compares them).")

    def _store(self) -> Sweep:
        store = Sweep(self.sweep_dir)
        if self.variants is not None:  # only these variants' runs (Parquet: row groups) are read
            store = store.filter(variant=list(self.variants))
        return store

    def _run_table(self, key: str, columns: Sequence[str] | None = None,
                   where: Mapping[str, Any] | None = None) -> pd.DataFrame:
        name = RUN_FILES[key]
        if (self.sweep_dir / "tables" / name).is_dir() or columns is not None or where is not None:
            return self._store().table(name, columns, where)  # the Parquet store (issue 10), or a projection
        paths = []
        for regime in ("passive", "active"):
            runs = self.sweep_dir / regime / "runs"
            if self.variants is None:
                found = list(runs.glob(f"*/{name}.csv"))
            else:
                found = [p for v in self.variants for p in runs.glob(f"{regime}_{v}__*/{name}.csv")]
            # skip hidden folders: a run being written sits in ".tmp-<run_id>-…" until renamed
            paths += sorted(p for p in found if not p.parent.name.startswith("."))
        if not paths:
            raise FileNotFoundError(
                f"no {name}.csv found under {self.sweep_dir}/{{passive,active}}/runs/*/")
        return coerce_bools(read_run_files(paths, name), name)

    def read(self, table: str, columns: Sequence[str] | None = None,
             where: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """One per-run table (``trades``, ``repayments``, ``inventory``, ``system_state``,
        ``traders``, or its §8 file name) over this object's pairs, reading only ``columns`` (None:
        all, in the file's column order) of the rows matching ``where`` ({column: value or list of
        values}, all must hold; None: every row). Both are pushed down into the read, so e.g.
        ``read("trades", ["run_id", "day"], {"regime": "active", "kind": "customer"})`` never
        holds the re-homing transfers in memory. Not cached: keep the result."""
        key = _TABLE_KEYS.get(table, table)
        if key not in RUN_FILES:
            raise KeyError(f"unknown table {table!r}; tables: {', '.join(RUN_FILES)}")
        if columns is None and where is None:
            return getattr(self, key)
        return self._run_table(key, columns, where)

    def count(self, table: str, by: Sequence[str], where: Mapping[str, Any] | None = None,
              sums: Sequence[str] = ()) -> pd.DataFrame:
        """The number of rows (column ``n_rows``) of a per-run table per distinct combination of
        the ``by`` columns, and the sum of each ``sums`` column, over the rows matching ``where``
        (as in :meth:`read`); DuckDB scans the files in place (:meth:`Sweep.aggregate`), so the
        table is never held in memory. Sorted by ``by``."""
        key = _TABLE_KEYS.get(table, table)
        if key not in RUN_FILES:
            raise KeyError(f"unknown table {table!r}; tables: {', '.join(RUN_FILES)}")
        return self._store().aggregate(RUN_FILES[key], by, sums, where)

    def sql(self, query: str) -> pd.DataFrame:
        """A DuckDB query over this object's pairs: the per-run tables (``trades``,
        ``repayment_events``, ``inventory_timeseries``, ``system_state_timeseries``,
        ``traders``) are views over the files holding only these pairs' runs, ``comparison`` is
        the whole comparison table (:meth:`bilancio_lite.store.Sweep.sql`)."""
        return self._store().sql(query)

    def read_for(self, *analyses: Any) -> dict[str, pd.DataFrame]:
        """The tables some analysis functions read, each read once with the union of the columns
        and rows they declare (:mod:`bilancio_lite.analysis.needs`): ``{table key: DataFrame}``,
        e.g. ``t = data.read_for(no_difference_pairs)`` then
        ``no_difference_pairs(comp, t["trades"], t["repayments"], t["inventory"])``. A table that
        every one of them only counts (and sums) comes grouped, as row counts and sums (:meth:`count`)."""
        out = {}
        for key, need in union(*analyses).items():
            if need.counts:
                out[key] = self.count(key, [c for c in need.columns if c not in need.sums], need.where,
                                      need.sums)
            else:
                out[key] = self.read(key, list(need.columns), need.where)
        return out

    @cached_property
    def comparison(self) -> pd.DataFrame:
        path = self.sweep_dir / "aggregate" / "comparison.csv"
        if not path.is_file():
            raise FileNotFoundError(f"comparison table not found: {path}")
        comp = read_comparison_csv(path)
        if "variant" in comp.columns:
            comp["variant"] = comp["variant"].fillna("").astype(str)
            if self.variants is not None:
                comp = comp[comp["variant"].isin(self.variants)].reset_index(drop=True)
        return comp

    @cached_property
    def trades(self) -> pd.DataFrame:
        return self._run_table("trades")

    @cached_property
    def repayments(self) -> pd.DataFrame:
        return self._run_table("repayments")

    @cached_property
    def inventory(self) -> pd.DataFrame:
        return self._run_table("inventory")

    @cached_property
    def system_state(self) -> pd.DataFrame:
        return self._run_table("system_state")

    @cached_property
    def attribution(self) -> pd.DataFrame:
        """The counterfactual attribution (§12) of this object's pairs: one row per changed trader.
        Empty (with its columns) when the sweep did not write it (``output.attribution: off``, or
        a csv-format sweep)."""
        if not any((self.sweep_dir / "tables" / "attribution").glob("part-*.parquet")):
            from ..store import ATTRIBUTION, table_schema

            return table_schema(ATTRIBUTION).empty_table().to_pandas()
        return self._store().table("attribution")

    @cached_property
    def traders(self) -> pd.DataFrame:
        """traders.csv (the logs writer's addition: per-trader initial conditions and outcome)."""
        return self._run_table("traders")


def load_sweep(sweep_dir: str | os.PathLike, variant: str | list[str] | None = FIRST_VARIANT) -> SweepData:
    """Open a finished sweep folder. Files are read on first attribute access.

    ``variant`` (§6.4): a variant name or list of names to read only their pairs; None for every
    pair; the default :data:`FIRST_VARIANT` reads the first variant (the baseline) of a sweep with
    variants and every pair of a sweep without. Analyses that join on the grid keys need one
    variant at a time.

    Raises ``FileNotFoundError`` naming the folder if it does not exist; a missing file raises
    ``FileNotFoundError`` naming that file when its attribute is first read.
    """
    path = Path(sweep_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"sweep folder not found: {path}")
    names = sweep_variants(path)
    if variant == FIRST_VARIANT:
        chosen = (names[0],) if names else None
    elif variant is None:
        chosen = None
    else:
        chosen = (variant,) if isinstance(variant, str) else tuple(variant)
        unknown = [v for v in chosen if v not in names]
        if unknown:
            raise ValueError(f"variant(s) {', '.join(unknown)} not in the sweep {path} "
                             f"(its variants: {', '.join(names) or 'none'})")
    return SweepData(path, chosen)


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
