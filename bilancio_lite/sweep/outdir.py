"""A sweep's output folder (spec §6.4): checks before anything is written, preparing and cleaning it.

:func:`check_out_path` refuses a folder that is a file or cannot be written;
:func:`check_out_dir` refuses a folder holding a sweep made with another configuration (naming what
differs); :func:`prepare_out_dir` clears it (``force``), removes what interrupted writers left
(:func:`clean_stale_temp`) and writes the resolved ``sweep.yaml``. Errors are
:class:`~bilancio_lite.errors.InputError` (nothing has been written).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from .. import atomic
from ..errors import ConfigMismatchError, InputError, SweepConfigError
from ..procs import LOCK_NAME
from .config import SweepConfig, load_sweep_config

#: Files that mark a folder as a sweep folder.
SWEEP_MARKERS = ("sweep.yaml", "manifest.json")


def check_out_dir(config: SweepConfig, out: Path) -> None:
    """Refuse a folder whose sweep.yaml was resolved from another configuration."""
    sy = out / "sweep.yaml"
    if not sy.exists():
        return
    try:
        old = load_sweep_config(sy)
    except SweepConfigError as e:
        raise ConfigMismatchError(f"{out} holds a sweep.yaml this version cannot read ({e.lines[0]}); "
                                  f"use another --out, or --force to clear it") from None
    if old.config_hash() != config.config_hash():
        diff = _config_diff(old.resolved(), config.resolved())
        raise ConfigMismatchError(
            f"{out} holds a sweep made with a different configuration (config hash "
            f"{old.config_hash()} there, {config.config_hash()} now; {diff}); use another --out, "
            f"or --force to clear it")


def _config_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    changes = []
    for section in ("model", "grid"):
        for k in sorted(set(old[section]) | set(new[section])):
            a, b = old[section].get(k, "-"), new[section].get(k, "-")
            if a != b:
                changes.append(f"{section}.{k}: {a} -> {b}")
    for k in ("replicates", "base_seed"):
        if old[k] != new[k]:
            changes.append(f"{k}: {old[k]} -> {new[k]}")
    if old["output"]["detailed_logging"] != new["output"]["detailed_logging"]:
        changes.append("output.detailed_logging changed")
    if old["output"].get("format") != new["output"].get("format"):
        changes.append(f"output.format: {old['output'].get('format')} -> {new['output'].get('format')}")
    shown = "; ".join(changes[:4]) + (f"; … {len(changes) - 4} more" if len(changes) > 4 else "")
    return shown or "no visible difference"


def check_out_path(out: Path, option: str = "--out") -> None:
    """Refuse, before anything runs or is written, an output folder that is a file, lies under a
    file, or cannot be created or written by this user."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{option}: {out} is a file, not a folder; give a new or existing folder")
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{option}: {out} cannot be created: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        what = "folder" if probe == out else f"folder {probe} (where {out} would be created)"
        raise InputError(f"{option}: {out} is not writable: no write permission on the {what}")


def _sweep_entries(out: Path) -> list[Path]:
    """The folder's entries other than the sweep lock file."""
    if not out.is_dir():
        return []
    return [e for e in out.iterdir() if e.name != LOCK_NAME]


def precheck_out_dir(config: SweepConfig, out: Path, *, force: bool = False) -> None:
    """The read-only checks of :func:`prepare_out_dir` (run before the folder is locked)."""
    check_out_path(out)
    is_sweep = any((out / m).exists() for m in SWEEP_MARKERS)
    if _sweep_entries(out) and not is_sweep:
        raise InputError(f"{out} is not empty and holds no sweep.yaml: not a sweep folder; "
                         f"choose a new or empty --out")
    if not (force and is_sweep):
        check_out_dir(config, out)


def prepare_out_dir(config: SweepConfig, out: Path, *, force: bool = False) -> int:
    """Check or clear the folder, remove stale temporary files, write sweep.yaml.

    Returns the number of stale temporary entries removed (left by an interrupted sweep).
    """
    precheck_out_dir(config, out, force=force)
    if force and any((out / m).exists() for m in SWEEP_MARKERS):
        for entry in _sweep_entries(out):
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    out.mkdir(parents=True, exist_ok=True)
    removed = clean_stale_temp(out)
    atomic.write_text(out / "sweep.yaml", config.to_yaml())
    return removed


def clean_stale_temp(out: Path) -> int:
    """Remove the hidden temporary folders/files of interrupted writers (never run with workers active)."""
    n = 0
    for regime in ("passive", "active"):
        for tmp in (out / regime / "runs").glob(".tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
            n += 1
    for folder in (out, out / "aggregate", out / "aggregate" / "pairs", out / "status"):
        for tmp in folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
            n += 1
    for folder in (out / "tables").glob("*"):
        for tmp in folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
            n += 1
    for conn in (out / "executed").glob(".kernel-*.json"):  # connection files of killed kernels
        conn.unlink(missing_ok=True)
        n += 1
    return n


def sweep_label(sweep_dir: str | os.PathLike) -> str:
    """The sweep's name from its sweep.yaml (the folder name if there is none)."""
    import yaml

    path = Path(sweep_dir) / "sweep.yaml"
    with contextlib.suppress(OSError, AttributeError, yaml.YAMLError):
        return str(yaml.safe_load(path.read_text())["name"])
    return Path(sweep_dir).name
