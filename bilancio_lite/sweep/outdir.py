"""A sweep's output folder (spec §6.4): checks before anything is written, preparing and cleaning it.

Ownership (issue 24): a folder is a sweep folder only if it holds this tool's own
``manifest.json`` (package name, format version, config hash: :func:`owner_problem`). A sweep writes
into a missing or empty folder or one of its own; anything else is refused, ``--force`` included.
``--force`` removes only the files and folders the tool itself writes (:func:`is_tool_path`,
:func:`remove_tool_files`) and names whatever else it left in place.

:func:`check_out_path` refuses a folder that is a file or cannot be written;
:func:`check_out_dir` refuses a folder holding a sweep made with another configuration (naming what
differs); :func:`prepare_out_dir` clears it (``force``), writes the ownership manifest first,
removes what interrupted writers left (:func:`clean_stale_temp`) and writes the resolved
``sweep.yaml``. Errors are :class:`~bilancio_lite.errors.InputError` (nothing has been written).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from .. import atomic
from ..errors import ConfigMismatchError, InputError, SweepConfigError
from ..procs import LOCK_NAME
from .config import SweepConfig, load_sweep_config

#: Files that mark a folder as a sweep folder (the manifest alone proves it is this tool's).
SWEEP_MARKERS = ("sweep.yaml", "manifest.json")
#: The ``package`` a sweep's manifest.json names, and the manifest's format version (1: issue 24;
#: manifests written before it have no ``format_version`` and are read as version 0).
MANIFEST_PACKAGE = "bilancio-lite"
MANIFEST_FORMAT = 1

#: What this tool writes into a sweep folder, as paths relative to it (``*`` matches within one
#: name; a pattern ending in ``/**`` owns everything below). ``--force`` removes these and nothing
#: else; hidden temporary files (``.*.tmp``) anywhere below an owned folder are the tool's too.
TOOL_PATHS: tuple[str, ...] = (
    "sweep.yaml", "manifest.json", "registry.csv", LOCK_NAME,
    "tables/*/part-*.parquet",
    "status/shard_*.json",
    "executed/shard_*.ipynb", "executed/.kernel-*.json", "executed/.*.tmp.ipynb", "reports/.*.tmp.ipynb",
    "aggregate/*.csv", "aggregate/*.parquet", "aggregate/*/*.parquet", "aggregate/pairs/*.csv",
    "reports/*.ipynb", "reports/*.html", "reports/*.css", "reports/*.js", "reports/*.png",
    "reports/*.svg", "reports/*.json", "reports/*/*.ipynb", "reports/*/*.html", "reports/*/*.png",
    "reports/*/*.svg", "reports/*/*.css", "reports/*/*.js",
    "passive/runs/*/*.csv", "active/runs/*/*.csv", "passive/runs/.tmp-*/**", "active/runs/.tmp-*/**",
    "export/passive/runs/*/*.csv", "export/active/runs/*/*.csv",
    "export/passive/runs/.tmp-*/**", "export/active/runs/.tmp-*/**",
)
#: Top-level folders this tool makes (temporary files below them are its own).
TOOL_FOLDERS = ("tables", "status", "executed", "aggregate", "reports", "passive", "active", "export")


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
    try:
        encoded = os.fsencode(str(out))
        str(out).encode("utf-8")  # the path is written into JSON, YAML and notebooks as text
    except UnicodeEncodeError:
        raise InputError(f"{option}: {ascii(str(out))} cannot be encoded for the file system "
                         f"({sys.getfilesystemencoding()}); choose a plain name") from None
    name_max = 255  # NAME_MAX of Linux file systems (os.pathconf would need an existing folder)
    long = [part for part in encoded.split(b"/") if len(part) > name_max]
    if long:
        raise InputError(f"{option}: a name in {out} is {len(long[0])} bytes long, above the file "
                         f"system's limit of {name_max}")
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
    try:  # /proc, /sys, a read-only mount: os.access can say yes where nothing can be created
        os.rmdir(tempfile.mkdtemp(prefix=".bilancio-probe-", dir=probe))
    except OSError as e:
        raise InputError(f"{option}: {out} cannot be created or written under {probe}: "
                         f"{e.strerror or e}") from None


def _sweep_entries(out: Path) -> list[Path]:
    """The folder's entries other than the sweep lock file."""
    if not out.is_dir():
        return []
    return [e for e in out.iterdir() if e.name != LOCK_NAME]


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The folder's manifest.json as a dict, or None (missing, unreadable, not a JSON object)."""
    try:
        data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def owner_problem(out: Path) -> str:
    """'' if ``out`` is missing, empty (but for a lock file) or a sweep folder of this tool (its
    manifest.json names this package, a format version it reads and a config hash); else why not."""
    if not out.exists() or not _sweep_entries(out):
        return ""
    if not (out / "manifest.json").exists():
        return "it is not empty and holds no manifest.json of bilancio-lite"
    m = read_manifest(out)
    if m is None:
        return "its manifest.json is not a JSON object this tool wrote"
    if m.get("package") != MANIFEST_PACKAGE:
        return f"its manifest.json names package {m.get('package')!r}, not {MANIFEST_PACKAGE!r}"
    version = m.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version <= MANIFEST_FORMAT:
        return f"its manifest.json has format version {version!r}; this version reads 0..{MANIFEST_FORMAT}"
    if not isinstance(m.get("config_hash"), str) or not m["config_hash"]:
        return "its manifest.json records no config hash"
    return ""


def is_tool_path(rel: PurePosixPath) -> bool:
    """Whether ``rel`` (relative to a sweep folder) is a file this tool writes (:data:`TOOL_PATHS`)."""
    parts = rel.parts
    if not parts:
        return False
    if len(parts) > 1 and parts[0] in TOOL_FOLDERS and fnmatch.fnmatchcase(parts[-1], ".*.tmp"):
        return True
    if len(parts) == 1 and fnmatch.fnmatchcase(parts[0], ".*.tmp"):
        return True
    for pat in TOOL_PATHS:
        pp = pat.split("/")
        if pp[-1] == "**":
            head = pp[:-1]
            if len(parts) > len(head) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(parts, head)):
                return True
        elif len(pp) == len(parts) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(parts, pp)):
            return True
    return False


def remove_tool_files(out: Path) -> tuple[int, list[str]]:
    """Remove what this tool wrote under ``out`` (never following links; the lock file stays);
    return (files removed, the entries left in place because they are not the tool's)."""
    removed, kept = 0, []
    for root, dirs, files in os.walk(out, topdown=False):
        here = Path(root)
        for name in files + [d for d in dirs if (here / d).is_symlink()]:
            path = here / name
            rel = PurePosixPath(path.relative_to(out).as_posix())
            if is_tool_path(rel) and rel.as_posix() != LOCK_NAME:
                path.unlink()
                removed += 1
            elif rel.as_posix() != LOCK_NAME:
                kept.append(rel.as_posix())
        if here != out and not here.is_symlink():
            with contextlib.suppress(OSError):  # only empty folders go (one holding the user's stays)
                if here.relative_to(out).parts[0] in TOOL_FOLDERS:
                    here.rmdir()
    return removed, sorted(kept)


def precheck_out_dir(config: SweepConfig, out: Path, *, force: bool = False) -> None:
    """The read-only checks of :func:`prepare_out_dir` (run before the folder is locked): the
    folder must be missing, empty or this tool's (``--force`` does not change that)."""
    check_out_path(out)
    problem = owner_problem(out)
    if problem:
        raise InputError(f"{out} is not a bilancio-lite sweep folder ({problem}); nothing was touched: "
                         f"choose a new or empty --out")
    is_sweep = any((out / m).exists() for m in SWEEP_MARKERS)
    if not (force and is_sweep):
        check_out_dir(config, out)


def ownership_manifest(config: SweepConfig) -> dict[str, Any]:
    """The manifest written before anything else into a new folder: it makes the folder this tool's."""
    return {"sweep": config.name, "package": MANIFEST_PACKAGE, "format_version": MANIFEST_FORMAT,
            "config_hash": config.config_hash(), "status": "starting"}


def prepare_out_dir(config: SweepConfig, out: Path, *, force: bool = False,
                    kept: list[str] | None = None) -> int:
    """Check or clear the folder (``force``: only the tool's files; the others it left are appended
    to ``kept``), write the ownership manifest if there is none, remove stale temporary files,
    write sweep.yaml. Returns the number of stale temporary entries removed."""
    precheck_out_dir(config, out, force=force)
    if force and any((out / m).exists() for m in SWEEP_MARKERS):
        _, left = remove_tool_files(out)
        if kept is not None:
            kept += left
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "manifest.json").exists():
        atomic.write_json(out / "manifest.json", ownership_manifest(config))
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
    for folder in (out / "executed", out / "reports"):  # notebooks a killed run was executing
        for tmp in folder.glob(".*.tmp.ipynb"):
            tmp.unlink(missing_ok=True)
            n += 1
    return n


def sweep_label(sweep_dir: str | os.PathLike) -> str:
    """The sweep's name from its sweep.yaml (the folder name if there is none)."""
    import yaml

    path = Path(sweep_dir) / "sweep.yaml"
    with contextlib.suppress(OSError, AttributeError, yaml.YAMLError):
        return str(yaml.safe_load(path.read_text())["name"])
    return Path(sweep_dir).name
