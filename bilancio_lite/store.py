"""The columnar sweep store (issue 10): Parquet parts per shard, integrity records, export, loading.

With ``output.format: parquet`` (the default) a sweep writes every table kind as a Parquet dataset::

    <sweep>/tables/<table>/part-XXXXX.parquet     one part per shard (zstd), XXXXX = shard index

for the five per-run tables of §8 (``trades``, ``repayment_events``, ``inventory_timeseries``,
``system_state_timeseries``, ``traders``) and ``pairs`` (the comparison rows of §8.5). Columns and
types are exactly those of the §8 CSV contract (:mod:`bilancio_lite.schema`); the identity columns
are dictionary-encoded on disk (Parquet's encoding; they read back as plain columns). Inside a
part the runs are in ``run_id`` order, each run's rows in the order the engine wrote them, and a
run never straddles a row group boundary needlessly: row groups are small enough that a filter
on ``run_id`` (or a parameter) reads only a few of them.

Integrity: the shard's status file (``status/shard_XXXX.json``, written last, atomically) records
for each part its row count, byte size and sha256. A rerun verifies every recorded part and
recomputes only the shards whose parts are missing or damaged (:func:`verify_store`).

``output.format: csv`` keeps the per-run CSV folders (``{passive,active}/runs/<run_id>/*.csv``);
:func:`export_csv` (``bilancio-lite export``) writes the same files, byte for byte, from the store.
:func:`load_sweep` reads either format lazily; :meth:`Sweep.table` can read only some columns and
rows (pushed down into the Parquet read, part by part), :meth:`Sweep.count_rows` counts rows per
group without holding the table, and :meth:`Sweep.sql` queries every table with DuckDB.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from . import atomic, schema
from .logs import _ARROW_TYPE, arrow_schema, comparison_frame, write_run

FORMATS = ("parquet", "csv")
RUN_TABLES: tuple[str, ...] = tuple(schema.FILES)
PAIRS = "pairs"                      #: the table of comparison rows (§8.5), one per pair
TABLES: tuple[str, ...] = (*RUN_TABLES, PAIRS)
#: the per-pair counterfactual attribution (§12): one row per changed trader, written when the
#: sweep's ``output.attribution`` is harmed or changed
ATTRIBUTION = "attribution"


def tables_of(attribution: str = "off") -> tuple[str, ...]:
    """The tables every shard writes (and a resume checks) under ``output.attribution``."""
    return TABLES if attribution == "off" else (*TABLES, ATTRIBUTION)


def attribution_arrow(frames: Sequence[pd.DataFrame]) -> pa.Table:
    """Attribution rows (DataFrames of :func:`attribution.attribute`) as one Arrow table in
    schema order; rows in run_id order, each pair's rows in trader order."""
    sch = table_schema(ATTRIBUTION)
    frames = [f for f in frames if len(f)]
    if not frames:
        return sch.empty_table()
    df = pd.concat(frames, ignore_index=True)
    df = df.sort_values("run_id", kind="stable").reset_index(drop=True)
    arrays = [pa.array(df[f.name].to_numpy(dtype=object, na_value=None), type=f.type) for f in sch]
    return pa.Table.from_arrays(arrays, schema=sch)
#: Short names used by the analysis layer (``SweepData.repayments`` …) -> table names.
ALIASES = {"repayments": "repayment_events", "inventory": "inventory_timeseries",
           "system_state": "system_state_timeseries", "comparison": PAIRS}
#: The per-run tables by the analysis layer's names (``Sweep.read("repayments")`` …), in order.
READ_KEYS: tuple[str, ...] = ("trades", "repayments", "inventory", "system_state", "traders")


def _run_table_name(table: str) -> str:
    """A per-run table's §8 name from its name or its analysis-layer key; KeyError otherwise."""
    name = ALIASES.get(table, table)
    if name not in RUN_TABLES:
        raise KeyError(f"unknown table {table!r}; tables: {', '.join(READ_KEYS)}")
    return name


def union_needs(*funcs_or_needs: Any) -> dict[str, Any]:
    """The union of what some functions (declared with ``analysis.needs.reads``: a ``reads``
    attribute {table key: Need}) or {table key: Need} maps read, per table, in :data:`READ_KEYS`
    order (``Need | Need`` is the union of two declarations)."""
    out: dict[str, Any] = {}
    for item in funcs_or_needs:
        declared = item if isinstance(item, Mapping) else getattr(item, "reads", None)
        if declared is None:
            raise ValueError(f"{getattr(item, '__name__', item)!r} declares no reads (see analysis.needs.reads)")
        for key, need in declared.items():
            out[key] = out[key] | need if key in out else need
    return {k: out[k] for k in READ_KEYS if k in out}


#: Rows per row group: small enough that one run's rows are a few row groups, large enough for
#: good compression (measured on plan024: see benchmarks/bench_store.py).
ROW_GROUP_ROWS = 16_384
_COMPRESSION = "zstd"
_ZSTD_LEVEL = 3


# --- schemas --------------------------------------------------------------------------------------
def table_schema(table: str) -> pa.Schema:
    """The Arrow schema of a table (the same types as the §8 CSV contract)."""
    if table == PAIRS:
        return pa.schema([(n, _ARROW_TYPE[d]) for n, d in schema.dtypes("comparison").items()])
    return arrow_schema(table)


def _identity_columns(table: str) -> list[str]:
    if table == PAIRS:
        return ["passive_run_id", "active_run_id", *[c for c in ("seed", "kappa", "concentration", "mu",
                "monotonicity", "outside_mid_ratio", "n_traders") if c in schema.columns("comparison")]]
    return schema.identity_names(table)


def pairs_arrow(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Comparison rows (dicts, as the engine makes them) as an Arrow table in schema order."""
    df = comparison_frame(list(rows))
    sch = table_schema(PAIRS)
    arrays = []
    for f in sch:
        col = df[f.name]
        if f.type == pa.string():
            values = [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in col]
            arrays.append(pa.array(values, type=f.type))
        else:
            arrays.append(pa.array(col.to_numpy(dtype=object, na_value=None), type=f.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=sch)


# --- writing parts --------------------------------------------------------------------------------
def part_name(shard_index: int) -> str:
    return f"part-{shard_index:05d}.parquet"


def part_path(out_dir: str | os.PathLike, table: str, shard_index: int) -> Path:
    return Path(out_dir) / "tables" / table / part_name(shard_index)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_part(table: pa.Table, path: Path) -> dict[str, Any]:
    """Write one Parquet part atomically (:func:`bilancio_lite.atomic.replacing`); return its record
    (file relative to the sweep's ``tables/`` folder, rows, bytes, sha256)."""
    name = path.parent.name
    with atomic.replacing(path) as tmp:
        pq.write_table(table, tmp, compression=_COMPRESSION, compression_level=_ZSTD_LEVEL,
                       use_dictionary=_identity_columns(name) if name in (*TABLES, ATTRIBUTION) else True,
                       row_group_size=ROW_GROUP_ROWS, write_statistics=True)
        record = {"file": f"{name}/{path.name}", "rows": table.num_rows,
                  "bytes": tmp.stat().st_size, "sha256": sha256_file(tmp)}
    return record


class ShardWriter:
    """Collects a shard's runs as Arrow tables and writes one part per table kind at the end."""

    def __init__(self, out_dir: str | os.PathLike, shard_index: int, *, attribution: bool = False) -> None:
        self.out = Path(out_dir)
        self.shard_index = shard_index
        self.runs: dict[str, list[tuple[str, pa.Table]]] = {t: [] for t in RUN_TABLES}
        self.pair_rows: list[dict[str, Any]] = []
        self.attribution: list[pd.DataFrame] | None = [] if attribution else None

    def add_pair(self, pair: Any, attribution: pd.DataFrame | None = None) -> None:
        """Keep the pair's tables (both regimes), its comparison row and, when the writer was made
        with ``attribution``, its attribution rows (§12) (nothing written yet)."""
        if (self.attribution is None) != (attribution is None):
            raise ValueError("attribution rows are given exactly when the writer collects them")
        tables = {}
        for run in (pair.passive, pair.active):
            for t in RUN_TABLES:
                tables.setdefault(t, []).append((run.run_id, run.tables.arrow(t)))
        for t in RUN_TABLES:  # all of the pair's tables, or none of them
            self.runs[t] += tables[t]
        self.pair_rows.append(pair.comparison)
        if self.attribution is not None:
            self.attribution.append(attribution)

    def write(self) -> dict[str, dict[str, Any]]:
        """Write the parts (runs in run_id order); return {table: record}."""
        records = {}
        for t in RUN_TABLES:
            items = sorted(self.runs[t], key=lambda x: x[0])
            sch = table_schema(t)
            table = (pa.concat_tables([tb for _, tb in items]).combine_chunks() if items
                     else sch.empty_table())
            records[t] = write_part(table.cast(sch), part_path(self.out, t, self.shard_index))
        records[PAIRS] = write_part(pairs_arrow(self.pair_rows), part_path(self.out, PAIRS, self.shard_index))
        if self.attribution is not None:
            records[ATTRIBUTION] = write_part(attribution_arrow(self.attribution),
                                              part_path(self.out, ATTRIBUTION, self.shard_index))
        return records


# --- integrity ------------------------------------------------------------------------------------
def _status_files(out: Path) -> list[Path]:
    folder = out / "status"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("shard_*.json") if not p.name.startswith("."))


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def check_part(out: Path, record: dict[str, Any], *, full: bool = True) -> str:
    """'' if the part matches its record, else what is wrong (missing, size, checksum)."""
    path = out / "tables" / record["file"]
    try:
        size = path.stat().st_size
    except OSError:
        return f"{record['file']} is missing"
    if size != record["bytes"]:
        return f"{record['file']} has {size} bytes, {record['bytes']} recorded"
    if full and sha256_file(path) != record["sha256"]:
        return f"{record['file']} does not match its recorded sha256"
    return ""


def verify_store(out: str | os.PathLike, shard_size: int, *, full: bool = True,
                 remove_bad: bool = False, attribution: str = "off") -> tuple[set[str], list[str]]:
    """Check every shard's recorded parts; return (complete pair ids, one line per problem).

    ``attribution``: the sweep's ``output.attribution``; unless off, each shard must also have
    recorded an attribution part written with that scope, or it is recomputed.

    A shard counts only if its status file records parts written with ``shard_size``, none of its
    pairs failed, and every part is present with the recorded size (and sha256, if ``full``).
    ``remove_bad`` deletes the status file and parts of a damaged shard so that it is recomputed.
    """
    out = Path(out)
    complete: set[str] = set()
    problems: list[str] = []
    for sp in _status_files(out):
        st = read_status(sp)
        if st is None:
            problems.append(f"{sp.name} is unreadable")
            if remove_bad:
                sp.unlink(missing_ok=True)
            continue
        parts = st.get("parts")
        if not parts:
            continue  # a csv-format status, or a shard that wrote nothing
        idx = st["shard_index"]
        bad = ""
        if st.get("shard_size") != shard_size:
            bad = f"its parts were cut with shard size {st.get('shard_size')}, not {shard_size}"
        else:
            for t in tables_of(attribution):
                rec = parts.get(t)
                bad = f"no {t} part recorded" if rec is None else check_part(out, rec, full=full)
                if bad:
                    break
            if not bad and attribution != "off" and st.get("attribution") != attribution:
                bad = f"its attribution part has scope {st.get('attribution')}, not {attribution}"
        if bad:
            problems.append(f"shard {idx}: {bad}")
            if remove_bad:
                sp.unlink(missing_ok=True)
                for t in (*TABLES, ATTRIBUTION):
                    part_path(out, t, idx).unlink(missing_ok=True)
            continue
        if all(r["status"] in ("ok", "skipped") for r in st["pairs"]):  # else: rerun the shard
            complete |= {r["pair_id"] for r in st["pairs"]}
    return complete, problems


def complete_shard(out: str | os.PathLike, shard_index: int, shard_size: int,
                   attribution: str = "off") -> dict[str, Any] | None:
    """The shard's status if it recorded parts of this shard size, no pair failed, and every part
    has its recorded size (the sweep verifies sha256 before it starts: :func:`verify_store`)."""
    out = Path(out)
    st = read_status(out / "status" / f"shard_{shard_index:04d}.json")
    if not st or not st.get("parts") or st.get("shard_size") != shard_size:
        return None
    if any(r["status"] not in ("ok", "skipped") for r in st["pairs"]):
        return None
    if any(t not in st["parts"] or check_part(out, st["parts"][t], full=False) for t in tables_of(attribution)):
        return None
    if attribution != "off" and st.get("attribution") != attribution:
        return None
    return st


def shard_parts(out: Path) -> dict[int, dict[str, Any]]:
    """{shard index: status} of the shards that recorded parts (no verification)."""
    found = {}
    for sp in _status_files(out):
        st = read_status(sp)
        if st and st.get("parts"):
            found[st["shard_index"]] = st
    return found


def recorded_parts(out: str | os.PathLike) -> dict[int, dict[str, Any]]:
    """{shard index: status} of the shards whose status record lists a part of every table and
    whose every listed part is present with its recorded size: the only parts a reader reads (a
    part no record lists, or one changed since, is ignored; :func:`sweep_status` names it)."""
    out = Path(out)
    return {i: st for i, st in shard_parts(out).items()
            if all(t in st["parts"] and not check_part(out, st["parts"][t], full=False) for t in TABLES)}


def read_pairs_parquet(out: str | os.PathLike, pair_ids: Iterable[str] | None = None, *,
                       parts: dict[int, dict[str, Any]] | None = None) -> pd.DataFrame:
    """Comparison rows from the recorded ``tables/pairs`` parts (all, or these pair ids), sorted like
    comparison.csv. ``parts``: :func:`recorded_parts` if already known."""
    out = Path(out)
    parts = recorded_parts(out) if parts is None else parts
    files = [out / "tables" / st["parts"][PAIRS]["file"] for _, st in sorted(parts.items())]
    if not files:
        return comparison_frame([])
    table = pads.dataset([str(f) for f in files], format="parquet", schema=table_schema(PAIRS)).to_table()
    df = table.to_pandas()
    if pair_ids is not None:
        wanted = {f"active_{p}" for p in pair_ids}
        df = df[df["active_run_id"].isin(wanted)]
    return comparison_frame(df.to_dict("records"))


# --- status: complete, running or incomplete -------------------------------------------------------
@dataclass(frozen=True)
class SweepStatus:
    """What a reader knows about a sweep folder's completeness (issue 24).

    ``expected``: the pairs its sweep.yaml defines (None without a readable sweep.yaml);
    ``complete``: those whose results are all present and match their records; ``running``: the
    lock holder (pid, start) if a sweep holds the folder, else ''; ``damaged``: recorded parts that
    no longer match their record (missing, another size); ``unlisted``: files under ``tables/``
    that no status record lists (ignored by every read)."""

    path: Path
    expected: int | None
    complete: int
    running: str = ""
    damaged: tuple[str, ...] = ()
    unlisted: tuple[str, ...] = ()
    missing_ids: tuple[str, ...] = ()

    @property
    def missing(self) -> int:
        return 0 if self.expected is None else max(0, self.expected - self.complete)

    @property
    def missing_share(self) -> float:
        return self.missing / self.expected if self.expected else 0.0

    @property
    def ok(self) -> bool:
        """Finished and whole: not running, every pair present, no damaged or unlisted file."""
        return not self.running and self.expected is not None and not self.missing \
            and not self.damaged and not self.unlisted

    def problems(self) -> list[str]:
        """One line per reason the sweep is not complete ([] when :attr:`ok`)."""
        lines = []
        if self.running:
            lines.append(f"a sweep is still running in it ({self.running})")
        if self.expected is None:
            lines.append("it has no readable sweep.yaml, so its pairs cannot be counted")
        elif self.missing:
            lines.append(f"{self.missing} of {self.expected} pairs ({100 * self.missing_share:.1f}%) "
                         f"are missing or failed" + (f", e.g. {', '.join(self.missing_ids[:3])}"
                                                     if self.missing_ids else ""))
        if self.damaged:
            lines.append(f"{len(self.damaged)} recorded part(s) do not match their records "
                         f"({'; '.join(self.damaged[:3])}{'; …' if len(self.damaged) > 3 else ''})")
        if self.unlisted:
            lines.append(f"{len(self.unlisted)} file(s) under tables/ are in no status record and are "
                         f"ignored ({', '.join(self.unlisted[:3])}{', …' if len(self.unlisted) > 3 else ''})")
        return lines

    def summary(self) -> str:
        """One sentence: complete, or what is missing."""
        if self.ok:
            return f"complete: all {self.expected} pairs present and matching their records"
        return "incomplete: " + "; ".join(self.problems())


def sweep_status(sweep_dir: str | os.PathLike) -> SweepStatus:
    """Completeness of a sweep folder: the pairs its sweep.yaml defines against the pairs whose
    results are present (Parquet: in shards whose status record lists parts that match by size;
    csv: whose pair row exists), whether a live sweep holds its lock, and the files under
    ``tables/`` no record lists. Reads only records and directory listings (no checksums)."""
    from .procs import describe_holder, lock_state

    out = Path(sweep_dir)
    expected_ids: set[str] | None = None
    if (out / "sweep.yaml").is_file():
        try:
            from .sweep.config import load_sweep_config

            expected_ids = {p.pair_id for p in load_sweep_config(out / "sweep.yaml").pairs()}
        except Exception:  # noqa: BLE001  (an unreadable sweep.yaml: pairs cannot be counted)
            expected_ids = None
    state, holder = lock_state(out)
    running = describe_holder(holder) if state == "busy" else ""
    complete: set[str] = set()
    damaged: list[str] = []
    listed: set[str] = set()
    if detect_format(out) == "parquet":
        for idx, st in sorted(shard_parts(out).items()):
            bad = ""
            for t in TABLES:
                rec = st["parts"].get(t)
                if rec is None:
                    bad = bad or f"shard {idx}: no {t} part recorded"
                    continue
                listed.add(rec["file"])
                bad = bad or check_part(out, rec, full=False)
            if bad:
                damaged.append(bad)
            else:
                complete |= {r["pair_id"] for r in st["pairs"] if r["status"] in ("ok", "skipped")}
        present = {f"{d.name}/{f.name}" for d in sorted((out / "tables").iterdir()) if d.is_dir()
                   for f in d.iterdir() if not f.name.startswith(".")}
        unlisted = sorted(present - listed)
    else:
        folder = out / "aggregate" / "pairs"
        if folder.is_dir():
            complete = {f.name[:-4] for f in folder.iterdir() if f.name.endswith(".csv")
                        and not f.name.startswith(".")}
        unlisted = []
    missing_ids: tuple[str, ...] = ()
    if expected_ids is not None:
        complete &= expected_ids
        missing_ids = tuple(sorted(expected_ids - complete))
    return SweepStatus(out, None if expected_ids is None else len(expected_ids), len(complete), running,
                       tuple(damaged), tuple(f"tables/{u}" for u in unlisted), missing_ids)


# --- loading --------------------------------------------------------------------------------------
#: Boolean columns per table; CSV readers may return them as strings when a file is header-only.
BOOL_COLUMNS: dict[str, tuple[str, ...]] = {
    "trades": ("hit_inventory_limit", "is_liquidity_driven"),
    "repayment_events": ("held_matching_maturity", "ended_holding", "many_round_trips", "used_dealer"),
    "inventory_timeseries": ("is_at_zero", "hit_limit_this_step", "vbt_used_this_step"),
    "system_state_timeseries": (),
    "traders": ("defaulted",),
    "comparison": ("identical_default_set", "rollover", "invest"),
}
#: Columns of comparison.csv read as text even when every value looks like a number.
STR_COLUMNS: tuple[str, ...] = ("run_id", "regime", "trader_id", "buyer_id", "seller_id", "issuer_id",
                                "liability_id", "variant")
_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False,
              "": False, "nan": False, "none": False}


def as_bool(series: pd.Series) -> pd.Series:
    """Coerce a column of ``True``/``False``/``1``/``0`` (strings or not) to real bools."""
    if series.dtype == bool:
        return series
    return series.map(lambda v: _BOOL_TEXT[str(v).strip().lower()] if not isinstance(v, bool)
                      else v).astype(bool)


def coerce_bools(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """``df`` (table ``name`` of §8, or ``comparison``) with its :data:`BOOL_COLUMNS` as real bools,
    in place."""
    for c in BOOL_COLUMNS.get(name, ()):
        if c in df.columns:
            df[c] = as_bool(df[c])
    return df


def with_revert_counts(comparison: pd.DataFrame, attribution: pd.DataFrame) -> pd.DataFrame:
    """comparison rows with the §12 columns appended: per pair, its harmed and rescued traders
    that revert under each intervention (0 for a pair without changed traders)."""
    from .attribution import revert_counts

    names = [c.name for c in schema.COMPARISON_ATTRIBUTION]
    counts = {rid: revert_counts(g) for rid, g in attribution.groupby("run_id", sort=False)}
    zero = dict.fromkeys(names, 0)
    extra = pd.DataFrame([counts.get(rid, zero) for rid in comparison["active_run_id"]],
                         columns=names, index=comparison.index).astype("int64")
    return pd.concat([comparison, extra], axis=1)


def read_comparison_csv(path: str | os.PathLike) -> pd.DataFrame:
    """aggregate/comparison.csv (§8.5) with text and bool columns typed."""
    return coerce_bools(pd.read_csv(path, dtype={c: str for c in STR_COLUMNS}), "comparison")


def detect_format(sweep_dir: Path) -> str:
    if (sweep_dir / "tables").is_dir():
        return "parquet"
    return "csv"


class Sweep:
    """THE reader of a sweep folder (either format; issue 24: ``analysis.io.SweepData`` is this
    class); every table is read on first access.

    ``trades``, ``repayment_events`` (``repayments``), ``inventory_timeseries`` (``inventory``),
    ``system_state_timeseries`` (``system_state``), ``traders`` and ``comparison`` are DataFrames
    over the selected runs (all runs unless ``variants`` or :meth:`filter` narrowed them);
    ``run(run_id)`` returns one run's tables; ``sql(query)`` runs a DuckDB query over every table in
    place; :meth:`read`, :meth:`count` and :meth:`read_for` serve the analysis layer (§8.6).

    Only the Parquet parts that a shard's status record lists, with their recorded size, are read:
    a part no record lists (a file copied in) or one that no longer matches its record is ignored,
    and :attr:`status` names it. :attr:`status` also says whether the sweep is complete (every pair
    of its sweep.yaml), still running (its lock held) or neither (:class:`SweepStatus`).
    """

    def __init__(self, sweep_dir: str | os.PathLike, variants: Sequence[str] | None = None, *,
                 run_ids: frozenset[str] | None = None) -> None:
        self.path = Path(sweep_dir)
        if not self.path.is_dir():
            raise FileNotFoundError(f"sweep folder not found: {self.path}")
        self.format = detect_format(self.path)
        #: the variants whose pairs this object reads (§6.4); None: every pair of the sweep
        self.variants: tuple[str, ...] | None = None if variants is None else tuple(variants)
        self._given_run_ids = run_ids
        self._cache: dict[str, pd.DataFrame] = {}

    @property
    def sweep_dir(self) -> Path:
        """The sweep folder (the analysis layer's name for :attr:`path`)."""
        return self.path

    @cached_property
    def _run_ids(self) -> frozenset[str] | None:
        """The selected run ids (None: every run): the given ones, within ``variants``."""
        if self.variants is None:
            return self._given_run_ids
        pairs = self._all_pairs
        if "variant" not in pairs.columns:
            raise KeyError("filter variant: not a column of comparison.csv")
        sel = pairs[pairs["variant"].isin(self.variants)]
        ids = frozenset([*sel["passive_run_id"], *sel["active_run_id"]])
        return ids if self._given_run_ids is None else ids & self._given_run_ids

    def __repr__(self) -> str:
        n = "all" if self._run_ids is None else len(self._run_ids)
        return f"Sweep({str(self.path)!r}, format={self.format!r}, runs={n})"

    @cached_property
    def status(self) -> "SweepStatus":
        """Whether the sweep is complete, running or incomplete (:func:`sweep_status`)."""
        return sweep_status(self.path)

    # --- selection -----------------------------------------------------------------------------
    @cached_property
    def _all_pairs(self) -> pd.DataFrame:
        path = self.path / "aggregate" / "comparison.csv"
        if path.is_file():
            comp = read_comparison_csv(path)
        elif self.format == "parquet":
            comp = read_pairs_parquet(self.path, parts=self._parts)
        else:
            raise FileNotFoundError(f"comparison table not found: {path}")
        if "variant" in comp.columns:
            comp["variant"] = comp["variant"].fillna("").astype(str)
        return comp

    def filter(self, run_id: str | Iterable[str] | None = None, regime: str | Iterable[str] | None = None,
               **params: Any) -> "Sweep":
        """A view on fewer runs: ``run_id`` (ids or glob patterns), ``regime`` ('passive'/'active')
        and any parameter column of comparison.csv (``kappa=0.5``, ``mu=[0, 1]``, ``seed=42`` …).
        Only the files (Parquet: parts and row groups) holding these runs are read."""
        pairs = self._all_pairs
        mask = pd.Series(True, index=pairs.index)
        for name, value in params.items():
            if name not in pairs.columns:
                raise KeyError(f"filter {name}: not a column of comparison.csv")
            values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
            mask &= pairs[name].isin(values)
        sel = pairs[mask]
        regimes = [regime] if isinstance(regime, str) else list(regime) if regime is not None else ["passive", "active"]
        bad = set(regimes) - {"passive", "active"}
        if bad:
            raise ValueError(f"filter regime: must be 'passive' or 'active', got {sorted(bad)}")
        ids = {rid for r in regimes for rid in sel[f"{r}_run_id"]}
        if run_id is not None:
            pats = [run_id] if isinstance(run_id, str) else list(run_id)
            ids = {i for i in ids if any(fnmatch.fnmatchcase(i, p) for p in pats)}
        if self._run_ids is not None:
            ids &= self._run_ids
        return Sweep(self.path, self.variants, run_ids=frozenset(ids))

    @property
    def run_ids(self) -> list[str]:
        """The selected runs' ids (sorted)."""
        if self._run_ids is not None:
            return sorted(self._run_ids)
        p = self._all_pairs
        return sorted([*p["passive_run_id"], *p["active_run_id"]])

    def run(self, run_id: str) -> dict[str, pd.DataFrame]:
        """One run's five tables."""
        if self._run_ids is not None and run_id not in self._run_ids or "*" in run_id:
            raise KeyError(f"run {run_id!r} is not selected in {self!r}")
        one = Sweep(self.path, run_ids=frozenset([run_id]))
        one.__dict__["_parts"] = self._parts if self.format == "parquet" else {}
        if self.format == "csv" and not (self.path / run_id.split("_", 1)[0] / "runs" / run_id).is_dir():
            raise KeyError(f"run {run_id!r} is not in {self.path}")
        if self.format == "parquet" and not any(
                rec["pair_id"] == run_id.split("_", 1)[-1] for st in self._parts.values() for rec in st["pairs"]):
            raise KeyError(f"run {run_id!r} is not in {self.path}")
        return {t: one.table(t) for t in RUN_TABLES}

    # --- tables ---------------------------------------------------------------------------------
    def table(self, name: str, columns: Sequence[str] | None = None,
              where: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """A table over the selected runs as a DataFrame.

        ``columns``: only these columns (in the table's column order); ``where``: only the rows
        whose column holds one of the given values, e.g. ``{"regime": "active", "kind":
        "customer"}`` (all conditions must hold). Both are pushed down into the read (Parquet: only
        these columns are decoded, and rows are filtered part by part, so memory holds the result
        and one part). The whole table (neither argument) is cached on this object; a projected or
        filtered one is not.
        """
        name = ALIASES.get(name, name)
        if name not in TABLES and name != ATTRIBUTION:
            raise KeyError(f"unknown table {name!r}; tables: {', '.join(TABLES)}, {ATTRIBUTION}")
        if name == PAIRS or (columns is None and where is None):
            if name not in self._cache:
                if name == PAIRS:
                    df = self._all_pairs
                    if self._run_ids is not None:
                        df = df[df["passive_run_id"].isin(self._run_ids) | df["active_run_id"].isin(self._run_ids)]
                        df = df.reset_index(drop=True)
                    self._cache[name] = df
                else:
                    self._cache[name] = coerce_bools(self.arrow(name).to_pandas(split_blocks=True), name)
            df = self._cache[name]
            if name == PAIRS and (columns is not None or where is not None):
                df = _select_frame(df, columns, where)
            return df
        return coerce_bools(self.arrow(name, columns, where).to_pandas(split_blocks=True, self_destruct=True), name)

    def arrow(self, name: str, columns: Sequence[str] | None = None,
              where: Mapping[str, Any] | None = None) -> pa.Table:
        """A per-run table as Arrow (the selected runs only; ``columns`` and ``where`` as in
        :meth:`table`)."""
        return self._arrow(name, columns, where)

    def _arrow(self, name: str, columns: Sequence[str] | None, where: Mapping[str, Any] | None,
               reduce: Any = None) -> pa.Table:
        name = ALIASES.get(name, name)
        cols, conds = _projection(name, columns, where)
        if self.format == "parquet":
            return read_parquet_runs(self.path, name, self._run_ids, self._parts, cols, conds, reduce)
        if name == ATTRIBUTION:
            raise FileNotFoundError(f"{self.path} is a csv-format sweep: the attribution table (§12) is "
                                    f"written to the Parquet store only")
        paths = self._csv_paths(name)
        if not paths:
            raise FileNotFoundError(f"no {name}.csv found under {self.path}/{{passive,active}}/runs/*/")
        return read_csv_runs(paths, name, cols, conds, reduce)

    def count_rows(self, name: str, by: Sequence[str], where: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """The number of rows (column ``n_rows``) per distinct combination of the ``by`` columns
        of a per-run table (missing values form their own group), over the selected runs and the
        rows matching ``where`` (as in :meth:`table`); sorted by ``by``. :meth:`aggregate` without
        sums: the table is never held in memory."""
        return self.aggregate(name, by, (), where)

    def aggregate(self, name: str, by: Sequence[str], sums: Sequence[str] = (),
                  where: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Rows of a per-run table grouped by the ``by`` columns (in the table's column order;
        missing values form their own group, empty text counts as missing as in the CSVs): the
        number of rows (column ``n_rows``) and the sum of each ``sums`` column (same name, same
        type), over the selected runs and the rows matching ``where`` (as in :meth:`table`);
        sorted by ``by``. DuckDB scans the files in place, so memory holds the groups, never the
        table. Sums of floats are compensated (``fsum``): exact for integer-valued columns such as
        the faces, and equal to a row-by-row sum to the last bit in practice otherwise."""
        by = list(dict.fromkeys(by))
        sums = [c for c in dict.fromkeys(sums) if c not in by]
        if not by:
            raise ValueError("aggregate: name at least one column to group by")
        name = ALIASES.get(name, name)
        if name not in RUN_TABLES:
            raise KeyError(f"aggregate: {name!r} is not a per-run table; tables: {', '.join(RUN_TABLES)}")
        cols, conds = _projection(name, [*by, *sums], where)
        sch = table_schema(name)
        keys = [c for c in sch.names if c in set(by)]
        texts = {f.name for f in sch if f.type == pa.string()}
        floats = {f.name for f in sch if pa.types.is_floating(f.type)}
        sel = [f"NULLIF({_ident(c)}, '') AS {_ident(c)}" if c in texts else _ident(c) for c in keys]
        aggs = ["count(*)::BIGINT AS n_rows"] + [
            f"fsum({_ident(c)}) AS {_ident(c)}" if c in floats else f"sum({_ident(c)})::BIGINT AS {_ident(c)}"
            for c in sums]
        cond = " AND ".join(f"{_ident(c)} IN ({', '.join(_sql_value(v) for v in vals)})"
                            for c, vals in (conds or {}).items())
        query = (f"SELECT {', '.join(sel + aggs)} FROM {name}{' WHERE ' + cond if cond else ''} "
                 f"GROUP BY ALL ORDER BY {', '.join(f'{_ident(c)} NULLS LAST' for c in keys)}")
        con = self.connect(tables=(name,), analysis_tables=False)
        try:
            arrow = _duck_arrow(con.sql(query))
        finally:
            con.close()
        out = pa.table({**{c: arrow.column(c).cast(sch.field(c).type) for c in keys},
                        "n_rows": arrow.column("n_rows").cast(pa.int64()),
                        **{c: arrow.column(c).cast(sch.field(c).type) for c in sums}})
        df = coerce_bools(out.to_pandas(), name)
        return df.sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)

    def _csv_paths(self, name: str) -> list[Path]:
        if self._run_ids is not None:
            paths = [self.path / rid.split("_", 1)[0] / "runs" / rid / f"{name}.csv"
                     for rid in sorted(self._run_ids, key=lambda r: (r.startswith("active"), r))]
            return [p for p in paths if p.exists()]
        paths: list[Path] = []
        for regime in ("passive", "active"):
            found = (self.path / regime / "runs").glob(f"*/{name}.csv")
            paths += sorted(p for p in found if not p.parent.name.startswith("."))
        return paths

    trades = property(lambda self: self.table("trades"))
    repayment_events = property(lambda self: self.table("repayment_events"))
    inventory_timeseries = property(lambda self: self.table("inventory_timeseries"))
    system_state_timeseries = property(lambda self: self.table("system_state_timeseries"))
    traders = property(lambda self: self.table("traders"))

    @property
    def attribution(self) -> pd.DataFrame:
        """The counterfactual attribution (§12) of the selected pairs: one row per changed trader;
        empty, with its columns, when the sweep did not write it (``output.attribution: off``, or a
        csv-format sweep)."""
        if self.format != "parquet" or not any(ATTRIBUTION in st["parts"] for st in self._parts.values()):
            return table_schema(ATTRIBUTION).empty_table().to_pandas()
        return self.table(ATTRIBUTION)

    comparison = property(lambda self: self.table(PAIRS))
    repayments = repayment_events
    inventory = inventory_timeseries
    system_state = system_state_timeseries

    @cached_property
    def _parts(self) -> dict[int, dict[str, Any]]:
        """The shards whose every recorded part is present with its recorded size."""
        return recorded_parts(self.path)

    # --- the analysis layer's reads (§8.6; formerly analysis.io.SweepData) ----------------------
    def scope_note(self) -> str:
        """One sentence on which pairs of the sweep this object reads."""
        names = sweep_variants(self.path)
        if not names:
            return "The sweep has no variants: every pair is shown."
        if self.variants is None:
            return f"The sweep has {len(names)} variants ({', '.join(names)}); all are pooled here."
        shown = ", ".join(self.variants)
        return (f"The sweep has {len(names)} variants ({', '.join(names)}); this notebook shows "
                f"{shown} only (07_robustness compares them).")

    def read(self, table: str, columns: Sequence[str] | None = None,
             where: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """One per-run table (``trades``, ``repayments``, ``inventory``, ``system_state``,
        ``traders``, or its §8 file name) over this object's pairs, reading only ``columns`` (None:
        all, in the file's column order) of the rows matching ``where`` ({column: value or list of
        values}, all must hold; None: every row). Both are pushed down into the read, so e.g.
        ``read("trades", ["run_id", "day"], {"regime": "active", "kind": "customer"})`` never
        holds the re-homing transfers in memory. The whole table is cached; a projection is not."""
        return self.table(_run_table_name(table), columns, where)

    def count(self, table: str, by: Sequence[str], where: Mapping[str, Any] | None = None,
              sums: Sequence[str] = ()) -> pd.DataFrame:
        """The number of rows (column ``n_rows``) of a per-run table per distinct combination of
        the ``by`` columns, and the sum of each ``sums`` column, over the rows matching ``where``
        (as in :meth:`read`); DuckDB scans the files in place (:meth:`aggregate`). Sorted by ``by``."""
        return self.aggregate(_run_table_name(table), by, sums, where)

    def read_for(self, *analyses: Any) -> dict[str, pd.DataFrame]:
        """The tables some analysis functions read, each read once with the union of the columns
        and rows they declare (``bilancio_lite.analysis.needs``): ``{table key: DataFrame}``. A
        table that every one of them only counts (and sums) comes grouped (:meth:`count`)."""
        out = {}
        for key, need in union_needs(*analyses).items():
            if need.counts:
                out[key] = self.count(key, [c for c in need.columns if c not in need.sums], need.where,
                                      need.sums)
            else:
                out[key] = self.read(key, list(need.columns), need.where)
        return out

    # --- SQL ------------------------------------------------------------------------------------
    def sql(self, query: str) -> pd.DataFrame:
        """Run a DuckDB query; every table (trades, repayment_events, inventory_timeseries,
        system_state_timeseries, traders, comparison, registry, attribution when the sweep wrote
        it, §12, and each row-level analysis table ``aggregate/<name>.parquet`` the report wrote,
        §8.6) is a view over the files in place."""
        con = self.connect()
        try:
            return con.execute(query).df()
        finally:
            con.close()

    def connect(self, tables: Sequence[str] = RUN_TABLES, analysis_tables: bool = True) -> Any:
        """A DuckDB connection with one view per table (over the Parquet parts or the CSVs): the
        per-run ``tables`` (default: all five), ``comparison`` and ``registry``, and with
        ``analysis_tables`` one view ``<name>`` per row-level analysis table
        ``aggregate/<name>.parquet`` (§8.6; the file as the report wrote it, not narrowed by
        :meth:`filter`). Progress bars are off (they would print into notebook outputs)."""
        import duckdb

        con = duckdb.connect()
        try:
            con.execute("SET enable_progress_bar = false")
        except duckdb.InvalidInputException:  # in Jupyter without ipywidgets: the bar is off already,
            pass                              # and DuckDB refuses to change the setting
        for t in tables:
            con.execute(f"CREATE VIEW {t} AS {self._duck_source(t)}")
        if self.format == "parquet" and any((self.path / "tables" / ATTRIBUTION).glob("part-*.parquet")):
            con.execute(f"CREATE VIEW {ATTRIBUTION} AS {self._duck_source(ATTRIBUTION)}")
        comp = self.path / "aggregate" / "comparison.csv"
        if comp.is_file():  # the file's own columns: one written before a column was added still opens
            con.execute(f"CREATE VIEW comparison AS SELECT * FROM read_csv({_sql_str(comp)}, "
                        f"header=true, columns={_duck_columns('comparison', _csv_header(comp))})")
        elif self.format == "parquet":
            con.execute(f"CREATE VIEW comparison AS {self._duck_source(PAIRS)}")
        reg = self.path / "registry.csv"
        if reg.is_file():
            con.execute(f"CREATE VIEW registry AS SELECT * FROM read_csv_auto({_sql_str(reg)}, header=true)")
        if analysis_tables:
            taken = {*TABLES, "comparison", "registry"}
            for f in sorted((self.path / "aggregate").glob("*.parquet")):
                if not f.name.startswith(".") and f.stem not in taken:
                    con.execute(f"CREATE VIEW {_ident(f.stem)} AS SELECT * FROM read_parquet({_sql_str(f)})")
        return con

    def _duck_source(self, table: str) -> str:
        where = ""
        if self._run_ids is not None:
            ids = ", ".join(_sql_str(r) for r in sorted(self._run_ids)) or "NULL"
            where = f" WHERE run_id IN ({ids})"
        if self.format == "parquet":
            files = [self.path / "tables" / st["parts"][table]["file"] for _, st in sorted(self._parts.items())]
            lst = "[" + ", ".join(_sql_str(f) for f in files) + "]"
            return f"SELECT * FROM read_parquet({lst}){where}"
        paths = self._csv_paths(table)
        lst = "[" + ", ".join(_sql_str(p) for p in paths) + "]"
        return (f"SELECT * FROM read_csv({lst}, header=true, columns={_duck_columns(table)}, "
                f"nullstr='')")


_DUCK_TYPE = {"int": "BIGINT", "Int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN", "str": "VARCHAR"}


def _duck_columns(file: str, header: Sequence[str] | None = None) -> str:
    """DuckDB's ``columns`` of a file: every schema column, or those of ``header`` (in its order;
    a name the schema does not know is read as text)."""
    types = schema.dtypes(file)
    if file == "comparison":  # §12: revert counts appended when the sweep wrote attribution
        types = types | {c.name: c.dtype for c in schema.COMPARISON_ATTRIBUTION}
    names = list(types) if header is None else list(header)
    items = ", ".join(f"'{n}': '{_DUCK_TYPE[types.get(n, 'str')]}'" for n in names)
    return "{" + items + "}"


def _csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's header line."""
    import csv

    with open(path, newline="") as fh:
        return next(csv.reader(fh), [])


def _sql_str(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _duck_arrow(relation: Any) -> pa.Table:
    """A DuckDB relation's rows as an Arrow table (``to_arrow_table`` from DuckDB 1.4, ``arrow``
    before)."""
    return relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()


def _ident(name: str) -> str:
    """A column name quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


def _sql_value(value: Any) -> str:
    """A filter value as an SQL literal (text quoted; bools and numbers as such)."""
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(float(value)) if isinstance(value, (float, np.floating)) else str(int(value))
    return _sql_str(value)


def _empty_as_null(table: pa.Table) -> pa.Table:
    """Empty strings as missing, as the §8 CSVs read them (an empty field is a missing value)."""
    for i, f in enumerate(table.schema):
        if f.type == pa.string():
            col = table.column(i)
            if pc.any(pc.equal(col, "")).as_py():
                table = table.set_column(i, f, pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col))
    return table


def _projection(table: str, columns: Sequence[str] | None,
                where: Mapping[str, Any] | None) -> tuple[list[str] | None, dict[str, list[Any]] | None]:
    """(the requested columns in the table's column order, the ``where`` conditions as
    {column: [values]}); a one-line error names an unknown column or a value that cannot match."""
    names = table_schema(table).names
    cols = None
    if columns is not None:
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise KeyError(f"{table}: no column(s) {unknown}; columns: {', '.join(names)}")
        wanted = set(columns)
        cols = [c for c in names if c in wanted]
    if not where:
        return cols, None
    conds = {}
    for col, value in where.items():
        if col not in names:
            raise KeyError(f"{table}: cannot filter on {col!r}, not a column; columns: {', '.join(names)}")
        values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
        if any(v is None or v == "" for v in values):
            raise ValueError(f"{table}: where {col}: missing values cannot be matched (use a non-empty value)")
        conds[col] = values
    return cols, conds


def _expression(conds: dict[str, list[Any]]) -> pc.Expression:
    """All conditions {column: accepted values} as one Arrow filter expression."""
    expr = None
    for col, values in conds.items():
        term = pc.field(col).isin(values)
        expr = term if expr is None else expr & term
    return expr


def _select_frame(df: pd.DataFrame, columns: Sequence[str] | None,
                  where: Mapping[str, Any] | None) -> pd.DataFrame:
    """``columns`` and ``where`` (as in :meth:`Sweep.table`) applied to a frame in memory."""
    if where:
        for col, value in where.items():
            values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
            df = df[df[col].isin(values)]
        df = df.reset_index(drop=True)
    if columns is not None:
        wanted = set(columns)
        df = df[[c for c in df.columns if c in wanted]]
    return df


def read_parquet_runs(sweep_dir: Path, table: str, run_ids: frozenset[str] | None,
                      parts: dict[int, dict[str, Any]] | None = None, columns: list[str] | None = None,
                      where: dict[str, list[Any]] | None = None, reduce: Any = None) -> pa.Table:
    """A per-run table from the store: all parts, or only the parts and row groups holding
    ``run_ids`` (the shard status files say which part holds which pair); only ``columns`` (None:
    all) of the rows matching ``where`` (None: all). Empty strings read as missing, like the CSVs.
    ``reduce`` (a function of an Arrow table) is applied to each part's rows, and the results are
    concatenated instead."""
    out = _read_parquet_runs(sweep_dir, table, run_ids, parts, columns, where, reduce)
    return out if reduce is not None else _empty_as_null(out)


def _read_parquet_runs(sweep_dir: Path, table: str, run_ids: frozenset[str] | None,
                       parts: dict[int, dict[str, Any]] | None = None, columns: list[str] | None = None,
                       where: dict[str, list[Any]] | None = None, reduce: Any = None) -> pa.Table:
    folder = sweep_dir / "tables" / table
    sch = table_schema(table)
    out_sch = sch if columns is None else pa.schema([sch.field(c) for c in columns])
    if parts is None:
        parts = recorded_parts(sweep_dir)
    if run_ids is None:  # only the parts a status record lists (a part copied in is ignored)
        files = [sweep_dir / "tables" / st["parts"][table]["file"] for _, st in sorted(parts.items())
                 if table in st["parts"]]  # attribution (§12) is optional: only shards that wrote it
        if not files:
            raise FileNotFoundError(f"no recorded Parquet parts under {folder}")
        if columns is None and where is None and reduce is None:
            return pq.read_table([str(f) for f in files], schema=sch)
        return _read_parts([str(f) for f in files], sch, out_sch, None, where, reduce)
    if not run_ids:
        return _reduced(out_sch.empty_table(), reduce)
    pairs = {r.split("_", 1)[1] for r in run_ids}
    files = []
    for idx, st in sorted(parts.items()):
        if table in st["parts"] and any(rec["pair_id"] in pairs for rec in st["pairs"]):
            files.append(str(sweep_dir / "tables" / st["parts"][table]["file"]))
    if not files:
        return _reduced(out_sch.empty_table(), reduce)
    return _read_parts(files, sch, out_sch, sorted(run_ids), where, reduce)


def _read_row_groups(files: list[str], sch: pa.Schema, wanted: list[str]) -> pa.Table:
    """The rows of the ``wanted`` runs (sorted ids), every column (see :func:`_read_parts`)."""
    return _read_parts(files, sch, sch, wanted, None)


def _reduced(table: pa.Table, reduce: Any) -> pa.Table:
    return table if reduce is None else reduce(table)


def _concat(tables: list[pa.Table], out_sch: pa.Schema, reduce: Any) -> pa.Table:
    if reduce is not None:
        return pa.concat_tables(tables) if tables else reduce(out_sch.empty_table())
    return pa.concat_tables(tables).cast(out_sch) if tables else out_sch.empty_table()


def _read_parts(files: list[str], sch: pa.Schema, out_sch: pa.Schema, wanted: list[str] | None,
                where: dict[str, list[Any]] | None, reduce: Any = None) -> pa.Table:
    """The columns of ``out_sch`` of the rows of the ``wanted`` runs (sorted ids; None: every run)
    that match ``where``, part by part in file order (rows keep their order). Inside a part the
    runs are contiguous and in run_id order, so each row group's run_id min/max statistics say
    whether it can hold a wanted run; only those row groups, and only the columns needed for the
    output and the filters, are read and decoded."""
    from bisect import bisect_left

    filter_cols = set(where or ())
    need = [c for c in sch.names if c in set(out_sch.names) | filter_cols | ({"run_id"} if wanted else set())]
    value_set = pa.array(wanted, type=pa.string()) if wanted is not None else None
    tables = []
    for f in files:
        pf = pq.ParquetFile(f)
        md = pf.metadata
        if wanted is None:
            groups = list(range(md.num_row_groups))
        else:
            col = pf.schema_arrow.get_field_index("run_id")
            groups = []
            for i in range(md.num_row_groups):
                st = md.row_group(i).column(col).statistics
                if st is None or not st.has_min_max:
                    groups.append(i)
                    continue
                j = bisect_left(wanted, st.min)
                if j < len(wanted) and wanted[j] <= st.max:
                    groups.append(i)
        if not groups:
            continue
        t = pf.read_row_groups(groups, columns=need)
        if value_set is not None:
            t = t.filter(pc.is_in(t.column("run_id"), value_set=value_set))
        if where:
            t = t.filter(_expression(where))
        tables.append(_reduced(t.select(out_sch.names).cast(out_sch), reduce))
    return _concat(tables, out_sch, reduce)


def read_csv_runs(paths: Sequence[str | os.PathLike], table: str, columns: list[str] | None = None,
                  where: dict[str, list[Any]] | None = None, reduce: Any = None) -> pa.Table:
    """Per-run CSV files of one table (§8) with the schema's types, as one Arrow table: only
    ``columns`` (None: all) of the rows matching ``where`` (None: all), file by file (``reduce``
    as in :func:`read_parquet_runs`, per file)."""
    from .logs import read_run_files

    if columns is None and where is None and reduce is None:
        return pa.Table.from_pandas(read_run_files(paths, table), preserve_index=False)
    import pyarrow.csv as pa_csv

    sch = table_schema(table)
    out_sch = sch if columns is None else pa.schema([sch.field(c) for c in columns])
    filter_cols = set(where or ())
    need = [c for c in sch.names if c in set(out_sch.names) | filter_cols]
    options = pa_csv.ConvertOptions(column_types={f.name: f.type for f in sch}, include_columns=need,
                                    strings_can_be_null=True, true_values=["true", "True"],
                                    false_values=["false", "False"])
    tables = []
    for p in paths:
        t = pa_csv.read_csv(str(p), convert_options=options)
        if where:
            t = t.filter(_expression(where))
        tables.append(_reduced(t.select(out_sch.names).cast(out_sch), reduce))
    return _concat(tables, out_sch, reduce)


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


def load_sweep(path: str | os.PathLike, variant: str | Sequence[str] | None = None,
               **filters: Any) -> Sweep:
    """Open a sweep folder (Parquet store or per-run CSVs) for reading; nothing is read yet.

    ``variant`` (§6.4): a variant name or list of names to read only their pairs; None (the
    default here) for every pair; :data:`FIRST_VARIANT` for the first variant (the baseline) of a
    sweep with variants and every pair of one without (the analysis layer's default:
    ``bilancio_lite.analysis.load_sweep``). ``filters`` narrow it at once, as :meth:`Sweep.filter`::

        s = load_sweep("outputs/plan024")
        s.trades                                   # every run's trades, one DataFrame
        s.filter(kappa=0.5, regime="active").trades
        s.sql("select regime, count(*) from trades group by regime")
        s.status.summary()                         # complete? running? what is missing

    Raises ``FileNotFoundError`` naming the folder if it does not exist, ``ValueError`` for a
    variant the sweep does not have.
    """
    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"sweep folder not found: {p}")
    names = sweep_variants(p)
    if variant == FIRST_VARIANT:
        chosen: tuple[str, ...] | None = (names[0],) if names else None
    elif variant is None:
        chosen = None
    else:
        chosen = (variant,) if isinstance(variant, str) else tuple(variant)
        unknown = [v for v in chosen if v not in names]
        if unknown:
            raise ValueError(f"variant(s) {', '.join(unknown)} not in the sweep {p} "
                             f"(its variants: {', '.join(names) or 'none'})")
    s = Sweep(p, chosen)
    return s.filter(**filters) if filters else s


# --- export ---------------------------------------------------------------------------------------
def export_csv(sweep_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None,
               runs: str | Sequence[str] | None = None) -> tuple[Path, int]:
    """Write the per-run §8 CSV folders ``<out>/{passive,active}/runs/<run_id>/*.csv`` from the
    store, byte-identical to what ``output.format: csv`` writes; return (out, number of runs).

    Each run folder appears at once (:func:`bilancio_lite.logs.write_run`). ``runs``: run id glob(s).
    """
    src = Path(sweep_dir)
    if detect_format(src) != "parquet":
        raise ValueError(f"{src} has no tables/ folder: not a Parquet sweep (its runs are CSVs already)")
    out = Path(out_dir) if out_dir is not None else src / "export"
    sweep = Sweep(src)
    if runs is not None:
        sweep = sweep.filter(run_id=runs)
    wanted = sweep._run_ids
    n = 0
    for idx, st in sorted(recorded_parts(src).items()):
        shard_runs = {f"{r}_{rec['pair_id']}" for rec in st["pairs"] if rec["status"] in ("ok", "skipped")
                      for r in ("passive", "active")}
        if wanted is not None:
            shard_runs &= wanted
        if not shard_runs:
            continue
        per_table = {}
        for t in RUN_TABLES:
            path = str(src / "tables" / st["parts"][t]["file"])
            tb = (pq.read_table(path, schema=table_schema(t)) if wanted is None
                  else _read_row_groups([path], table_schema(t), sorted(shard_runs)))
            per_table[t] = _split_runs(tb)
        for rid in sorted(shard_runs):
            regime = rid.split("_", 1)[0]
            tables = {t: per_table[t].get(rid) for t in RUN_TABLES}
            write_run({t: table_schema(t).empty_table() if tb is None else tb for t, tb in tables.items()},
                      out / regime / "runs" / rid)
            n += 1
    return out, n


def _split_runs(table: pa.Table) -> dict[str, pa.Table]:
    """{run_id: its rows} for a part whose runs are contiguous."""
    if table.num_rows == 0:
        return {}
    ids = table.column("run_id").to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    return {ids[s]: table.slice(s, e - s) for s, e in zip(starts, ends)}
