"""A sweep's records (spec §6.4; conventions: Outputs): status files, registry, manifest, resume.

``status/shard_XXXX.json`` records each shard's per-pair outcome (:func:`status_path`);
:func:`complete_pairs` says which pairs an earlier run completed (the resume);
:func:`build_registry` makes ``registry.csv``, one row per pair in sweep order with its
parameters, status (ok/failed/skipped/not_run), wall time, paths and error; and
:func:`build_manifest` makes ``manifest.json``: versions (:func:`installed_versions`), git commit
(:func:`git_info`), config hash, start/end and status.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from .. import store
from .._version import __version__
from ..procs import SweepLock, describe_holder
from ..resources import is_checkout
from .config import REPO, PairSpec, SweepConfig
from .outdir import MANIFEST_FORMAT, MANIFEST_PACKAGE


# --- status files and resume ----------------------------------------------------------------------
def status_path(out_dir: str | os.PathLike, shard_index: int) -> Path:
    """``<out>/status/shard_XXXX.json``: the shard's per-pair outcome (and Parquet part records)."""
    return Path(out_dir) / "status" / f"shard_{shard_index:04d}.json"


def executed_path(out_dir: str | os.PathLike, shard_index: int) -> Path:
    """``<out>/executed/shard_XXXX.ipynb``: the shard notebook as papermill executed it."""
    return Path(out_dir) / "executed" / f"shard_{shard_index:04d}.ipynb"


def complete_pairs(out: Path, pair_ids: set[str], fmt: str = "csv", shard_size: int = 0,
                   attribution: str = "off") -> set[str]:
    """The pairs of ``pair_ids`` that are complete: csv, their row file exists; parquet, their
    shard's recorded parts (with an attribution part of that scope unless ``attribution`` is off) are present with their recorded sizes (checksums:
    :func:`store.verify_store`)."""
    if fmt == "parquet":
        return store.verify_store(out, shard_size, full=False, attribution=attribution)[0] & pair_ids
    folder = out / "aggregate" / "pairs"
    if not folder.is_dir():
        return set()
    with os.scandir(folder) as it:
        names = {e.name[:-4] for e in it if e.name.endswith(".csv") and not e.name.startswith(".")}
    return names & pair_ids


# --- registry.csv ---------------------------------------------------------------------------------
def build_registry(config: SweepConfig, out: Path, pairs: list[PairSpec], shard_size: int,
                   done_before: set[str], statuses: dict[int, dict[str, Any]], errors: dict[int, str],
                   engine: str) -> pd.DataFrame:
    """One row per pair, in sweep order (conventions: Outputs)."""
    old: dict[str, dict[str, Any]] = {}
    old_path = out / "registry.csv"
    if old_path.exists():
        with contextlib.suppress(Exception):
            old = pd.read_csv(old_path).set_index("pair_id").to_dict("index")
    records = {r["pair_id"]: r for st in statuses.values() for r in st["pairs"]}
    fmt = config.output.format
    complete = complete_pairs(out, {p.pair_id for p in pairs}, fmt, shard_size,
                              config.output.attribution)
    axes = list(dict.fromkeys([*config.grid, "kappa", "concentration", "mu", "outside_mid_ratio"]))
    rows = []
    for spec in pairs:
        shard = spec.index // shard_size
        pid = spec.pair_id
        rec = records.get(pid)
        wall: float | None = None
        error = ""
        if pid in done_before or (rec is not None and rec["status"] == "skipped"):
            status = "skipped"
            prev = old.get(pid, {})
            wall = prev.get("wall_time_s") if prev.get("status") in ("ok", "skipped") else None
        elif rec is not None:
            status, wall, error = rec["status"], rec["wall_time"], rec["error"]
        elif pid in complete:  # its shard died after writing it
            status = "ok"
        elif shard in errors:
            status, error = "failed", f"shard {shard} failed: {errors[shard]}"
        else:  # interrupted before its shard ran
            status, error = "not_run", ""
        nb = executed_path(out, shard)
        rows.append({
            "pair_id": pid, **({"variant": spec.variant} if config.variants else {}),
            **{a: getattr(spec.params, a) for a in axes}, "seed": spec.seed,
            "replicate": spec.replicate, "status": status,
            "wall_time_s": None if wall is None or pd.isna(wall) else round(float(wall), 4),
            "shard": shard, **(_store_paths(shard) if fmt == "parquet" else {
                "passive_run_dir": f"passive/runs/{spec.params.run_id('passive')}",
                "active_run_dir": f"active/runs/{spec.params.run_id('active')}",
                "pair_row": f"aggregate/pairs/{pid}.csv"}),
            "executed_notebook": str(nb.relative_to(out)) if nb.exists() else "",
            "error": error,
        })
    return pd.DataFrame(rows)


def _store_paths(shard: int) -> dict[str, str]:
    """Registry paths of a pair in the Parquet store: its runs' rows and its comparison row are
    in the shard's parts (``tables/<table>/part-XXXXX.parquet``)."""
    part = store.part_name(shard)
    return {"passive_run_dir": f"tables/*/{part}", "active_run_dir": f"tables/*/{part}",
            "pair_row": f"tables/{store.PAIRS}/{part}"}


# --- manifest.json -----------------------------------------------------------------------------------
def build_manifest(config: SweepConfig, out: Path, *, engine: str, workers: int, scheduler: str | None,
                   started: str, argv: list[str] | None) -> dict[str, Any]:
    """The content of ``manifest.json`` at the start of a run (status "running")."""
    return {
        "sweep": config.name, "package": MANIFEST_PACKAGE, "format_version": MANIFEST_FORMAT,
        "package_version": __version__,
        "git": git_info(), "python": sys.version.split()[0], "platform": platform.platform(),
        "libraries": installed_versions(), "config_hash": config.config_hash(), "n_pairs": config.n_pairs,
        "shard_size": config.output.shard_size, "format": config.output.format, "engine": engine,
        "executor": {"scheduler": scheduler} if scheduler else {"workers": workers},
        "command": argv if argv is not None else None,
        "pid": os.getpid(), "host": platform.node(),
        "started": started, "finished": None, "status": "running",
    }


def installed_versions() -> dict[str, str]:
    """Every distribution installed in this environment, name -> version, sorted by normalised
    name (the same names and versions as ``pip freeze`` and constraints.txt)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            found.setdefault(re.sub(r"[-_.]+", "-", name).lower(), dist.version)
    return dict(sorted(found.items()))


def git_info() -> dict[str, Any] | None:
    """The repository's HEAD commit and whether the work tree is dirty (None outside git, and for
    an installed wheel: the folder it sits in may belong to another repository)."""
    if not is_checkout():
        return None
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        return {"commit": head, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return None


def now() -> str:
    """The current UTC time, ISO 8601 to the second (manifest and status timestamps)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def previous_run(out: Path, lock: SweepLock) -> str | None:
    """A note on the previous run into ``out`` if it did not end cleanly, else None."""
    if lock.previous:
        return (f"the previous run into {out} ({describe_holder(lock.previous)}) was interrupted "
                f"(killed); resuming")
    with contextlib.suppress(OSError, ValueError):
        old = json.loads((out / "manifest.json").read_text())
        if old.get("status") in ("running", "interrupted"):
            who = f"pid {old['pid']}, " if old.get("pid") else ""
            return (f"the previous run into {out} ({who}started {old.get('started', '?')}) was "
                    f"interrupted; resuming")
    return None
