"""The package's one atomic file writer: a temporary file in the same folder, then a rename (§8).

Every file the package writes outside a run folder goes through :func:`replacing` (sweep.yaml,
manifest.json, registry.csv, status files, comparison rows and tables, Parquet parts, HTML
reports): the content is written to ``.<name>.<pid>.<random>.tmp`` next to the target, given the
mode a new file gets (``0o666 & ~umask``, :func:`bilancio_lite.procs.new_file_mode`) and renamed
over the target with ``os.replace``. A reader therefore sees the old file or the new one, never a
half-written one, and a killed writer leaves only a hidden ``.*.tmp`` file that the next sweep
removes (:func:`bilancio_lite.sweep.outdir.clean_stale_temp`). Like the writers it replaces, it
does not fsync: it protects against interrupted writers, not against a power cut.
Folders that must appear whole (a run's §8 CSV files) go through :func:`replacing_folder`: filled
under a hidden ``.tmp-<name>-<random>`` sibling, then renamed into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from .procs import new_file_mode

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@contextlib.contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (its folder is created); when the body returns,
    give the file the umask's mode and rename it over ``path``; if the body raises, remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def replacing_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new empty hidden folder next to ``path``; when the body returns, replace ``path``
    (removed first if it exists) by it with a rename; if the body raises, remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{path.name}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, encoding: str | None = None) -> Path:
    """Write ``text`` to ``path`` atomically; return the path."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def write_json(path: str | os.PathLike, data: Any, indent: int = 2) -> Path:
    """Write ``data`` as indented JSON plus a final newline, atomically; return the path."""
    return write_text(path, json.dumps(data, indent=indent) + "\n")


def write_csv(df: "pd.DataFrame", path: str | os.PathLike) -> Path:
    """Write a DataFrame as CSV (``DataFrame.to_csv``, no index), atomically; return the path.
    (The large per-trader and per-day analysis tables are Parquet, §8.6, so plain ``to_csv``
    is fast enough for every CSV the package writes: ``benchmarks/bench_csv_write.py``.)"""
    with replacing(path) as tmp:
        with open(tmp, "w", newline="") as fh:
            df.to_csv(fh, index=False)
    return Path(path)
