"""Sweeps (spec §6.4; conventions: Sweeps with papermill, Outputs): shards, executors, resume.

A sweep expands a sweep file (:mod:`bilancio_lite.sweepconfig`) into pairs in a fixed order and
cuts them into shards of ``shard_size`` pairs. Each shard is one task on a
``concurrent.futures.Executor`` (a process pool, or a Dask cluster's executor). A task runs
:func:`run_shard` either through the notebook ``notebooks/00_run_shard.ipynb`` (papermill engine:
the executed copy is kept as ``<out>/executed/shard_XXXX.ipynb``) or directly (inline engine);
both write the same files. A task writes files and returns only the path of its status file.

Output folder (``outputs/<name>`` by default)::

    sweep.yaml        the resolved sweep file (every default filled in)
    manifest.json     versions, git commit, config hash, start/end, status
    registry.csv      one row per pair: parameters, status (ok/failed/skipped), wall time, paths, error
    tables/<table>/part-XXXXX.parquet   output.format parquet (default): one part per shard and
                                    table (bilancio_lite.store); recorded in the shard's status file
    passive/runs/<run_id>/*.csv, active/runs/<run_id>/*.csv      output.format csv
    aggregate/pairs/<pair_id>.csv   csv: one comparison row per pair; its existence marks the pair complete
    aggregate/comparison.csv        all rows, sorted (both formats)
    status/shard_XXXX.json          per-pair outcome of each shard, read by the parent (parquet:
                                    and each part's rows, bytes and sha256, verified on resume)
    executed/shard_XXXX.ipynb       executed shard notebooks (papermill engine)

Rerunning into the same folder skips complete pairs; a folder made with another configuration
is refused unless ``force`` clears it. A failing pair is recorded, never aborts the sweep.

Reliability (issue 11; see :mod:`bilancio_lite.procs`): a sweep holds an exclusive lock on its
folder (``.sweep.lock``), so a second sweep into it is refused at once, naming the first one's pid
and start time; a lock left by a killed run is taken over with a note that the run was
interrupted. Local workers and notebook kernels die with the sweep, whatever kills it; SIGTERM and
Ctrl-C stop the workers first, then record the manifest as "interrupted". Before a shard writes a
pair it checks that its sweep still holds the lock. With ``--scheduler`` the scheduler must answer
(and offer a worker) within ``dask_timeout`` seconds before anything is written, and a cluster
that has no worker for that long ends the sweep with a message.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import json
import logging
import os
import platform
import re
import shutil
import signal
import subprocess
import threading
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from . import __version__
from .cli import EXIT_FAILED, EXIT_OK, EXTRA_COMMANDS, UsageError
from .engine import simulate_pair
from .logs import collect_comparison, pair_row_path, write_csv_atomic, write_pair
from . import store
from .procs import (
    LOCK_NAME, SweepBusyError, SweepLock, describe_holder, guard_env, guard_ok, lock_state,
    new_file_mode, pool_worker_init,
)
from .sweepconfig import PairSpec, SweepConfig, SweepConfigError, load_sweep_config

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
SHARD_NOTEBOOK = NOTEBOOKS / "00_run_shard.ipynb"
SMOKE_FILE = REPO / "params" / "smoke.yaml"
SMOKE_OUT = REPO / "outputs" / "smoke"
ENGINES = ("papermill", "inline")
_SWEEP_MARKERS = ("sweep.yaml", "manifest.json")
#: Seconds the Dask scheduler has to answer and offer a worker, and the longest a running sweep
#: waits with no worker in the cluster (`--dask-timeout`).
DASK_TIMEOUT = 20.0


class ConfigMismatchError(UsageError):
    """The output folder holds a sweep made with another configuration."""


class SweepGoneError(RuntimeError):
    """A shard's sweep no longer holds its folder's lock (killed or ended): write nothing more."""


class SweepInterrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) reached the sweep: stop the workers, record "interrupted", exit."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class DaskUnavailableError(RuntimeError):
    """The Dask cluster cannot run the sweep (scheduler unreachable, or no worker for too long)."""


# --- one shard ----------------------------------------------------------------------------------
class ShardParams(BaseModel):
    """The parameters of `00_run_shard.ipynb` (papermill only warns about unknown ones)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sweep_file: str = Field("", description="absolute path of a sweep YAML; '' = params/smoke.yaml")
    shard_index: int = Field(0, ge=0, description="which shard of the expanded grid to run (0-based)")
    out_dir: str = Field("", description="absolute output folder; '' = outputs/<sweep name> in the repo")
    shard_size: int = Field(8, ge=1, description="pairs per shard")


@dataclass
class ShardJob:
    """A resolved shard: its configuration, output folder and pairs."""

    config: SweepConfig
    out_dir: Path
    shard_index: int
    shard_size: int
    pairs: list[PairSpec]

    @property
    def status_path(self) -> Path:
        return status_path(self.out_dir, self.shard_index)


def status_path(out_dir: str | os.PathLike, shard_index: int) -> Path:
    return Path(out_dir) / "status" / f"shard_{shard_index:04d}.json"


def executed_path(out_dir: str | os.PathLike, shard_index: int) -> Path:
    return Path(out_dir) / "executed" / f"shard_{shard_index:04d}.ipynb"


def shard_job(sweep_file: str = "", shard_index: int = 0, out_dir: str = "", shard_size: int = 8) -> ShardJob:
    """Validate the shard notebook's parameters and resolve them into a :class:`ShardJob`.

    Empty ``sweep_file`` means the smoke sweep; empty ``out_dir`` means ``<repo>/outputs/<name>``.
    The folder's ``sweep.yaml`` is written if missing, and a folder made by another configuration
    is refused (:class:`ConfigMismatchError`).
    """
    sp = ShardParams(sweep_file=sweep_file, shard_index=shard_index, out_dir=out_dir, shard_size=shard_size)
    config = load_sweep_config(sp.sweep_file or SMOKE_FILE)
    out = Path(sp.out_dir).resolve() if sp.out_dir else REPO / "outputs" / config.name
    shards = config.shards(sp.shard_size)
    if sp.shard_index >= len(shards):
        raise ValueError(f"shard_index {sp.shard_index} is out of range: sweep {config.name!r} has "
                         f"{len(shards)} shard(s) of {sp.shard_size} pairs")
    check_out_dir(config, out)
    if not (out / "sweep.yaml").exists():
        _write_text_atomic(out / "sweep.yaml", config.to_yaml())
    return ShardJob(config, out, sp.shard_index, sp.shard_size, shards[sp.shard_index])


def run_shard(job: ShardJob) -> dict[str, Any]:
    """Run the shard's pairs, skipping complete ones; write the status file and return its content.

    Each pair is caught on its own: a failure is recorded (error and traceback) and the next pair
    runs. Pair files are written by :func:`write_pair` (run folders atomically, row file last).
    """
    started = _now()
    records = []
    parquet = job.config.output.format == "parquet"
    writer = store.ShardWriter(job.out_dir, job.shard_index) if parquet else None
    if parquet:  # a shard whose recorded parts are all there was done before: write nothing
        done = store.complete_shard(job.out_dir, job.shard_index, job.shard_size)
        if done is not None and {r["pair_id"] for r in done["pairs"]} == {p.pair_id for p in job.pairs}:
            return {**done, "pairs": [{**r, "status": "skipped", "wall_time": None} for r in done["pairs"]]}
    for spec in job.pairs:
        _check_guard(job)
        rec: dict[str, Any] = {"pair_id": spec.pair_id, "index": spec.index}
        if not parquet and pair_row_path(job.out_dir, spec.pair_id).exists():
            records.append({**rec, "status": "skipped", "wall_time": None, "error": ""})
            continue
        t0 = time.perf_counter()
        try:
            pair = simulate_pair(spec.params)
            if writer is not None:  # parquet: the shard's parts are written once, after the loop
                writer.add_pair(pair)
            else:
                write_pair(pair, job.out_dir, update_comparison=False)
            records.append({**rec, "status": "ok", "wall_time": time.perf_counter() - t0, "error": ""})
        except Exception as e:  # one bad pair never aborts the shard (conventions: Outputs)
            records.append({**rec, "status": "failed", "wall_time": time.perf_counter() - t0,
                            "error": _one_line(e), "traceback": traceback.format_exc()})
    status = {"shard_index": job.shard_index, "shard_size": job.shard_size,
              "config_hash": job.config.config_hash(), "started": started, "finished": _now(),
              "pairs": records}
    _check_guard(job)
    if writer is not None:  # parts first, then the status file that records them (the commit)
        status["format"] = "parquet"
        status["parts"] = writer.write()
        _check_guard(job)
    _write_text_atomic(job.status_path, json.dumps(status, indent=1))
    return status


def _check_guard(job: ShardJob) -> None:
    if not guard_ok():
        raise SweepGoneError(f"the sweep that started shard {job.shard_index} no longer holds "
                             f"{job.out_dir / LOCK_NAME} (killed or ended): stopping without writing")


def shard_table(job: ShardJob, status: dict[str, Any]) -> pd.DataFrame:
    """The shard's pairs with their status and main results (for the shard notebook)."""
    st = pd.DataFrame(status["pairs"])[["pair_id", "status"]]
    st["status"] = st["status"].replace({"skipped": "done before"})
    ids = [p.pair_id for p in job.pairs]
    comp = (store.read_pairs_parquet(job.out_dir, ids) if job.config.output.format == "parquet"
            else collect_comparison(job.out_dir, ids))
    comp = comp.assign(pair_id=comp["active_run_id"].str.removeprefix("active_"))
    cols = ["pair_id", "kappa", "concentration", "mu", "outside_mid_ratio", "delta_passive",
            "delta_active", "trading_effect", "effect_class", "stress_regime"]
    return st.merge(comp[cols], on="pair_id", how="left")[cols[:1] + ["status"] + cols[1:]]


def shard_takeaway(table: pd.DataFrame) -> str:
    """One sentence on the shard's pairs, computed from its table."""
    done = table.dropna(subset=["trading_effect"])
    if done.empty:
        return "No pair of this shard has results."
    counts = done["effect_class"].value_counts()
    return (f"Trading lowered δ in {counts.get('improved', 0)} of {len(done)} pairs of this shard, left it "
            f"unchanged in {counts.get('unchanged', 0)} and raised it in {counts.get('worsened', 0)} "
            f"(mean trading effect {done['trading_effect'].mean():+.3f}).")


def sweep_label(sweep_dir: str | os.PathLike) -> str:
    """The sweep's name from its sweep.yaml (the folder name if there is none)."""
    import yaml

    path = Path(sweep_dir) / "sweep.yaml"
    with contextlib.suppress(OSError, AttributeError, yaml.YAMLError):
        return str(yaml.safe_load(path.read_text())["name"])
    return Path(sweep_dir).name


# --- shard tasks (run on the executor's workers; they return a path, never data) --------------
def shard_task_inline(sweep_file: str, shard_index: int, out_dir: str, shard_size: int) -> str:
    """Run one shard in this process; return the path of its status file."""
    with guard_env(str(Path(out_dir) / LOCK_NAME)):
        job = shard_job(sweep_file, shard_index, out_dir, shard_size)
        run_shard(job)
    return str(job.status_path)


def shard_task_papermill(sweep_file: str, shard_index: int, out_dir: str, shard_size: int) -> str:
    """Run one shard by executing 00_run_shard.ipynb; keep the executed copy; return the status path."""
    from .kernels import execute_notebook

    params = {"sweep_file": str(sweep_file), "shard_index": int(shard_index),
              "out_dir": str(out_dir), "shard_size": int(shard_size)}
    with guard_env(str(Path(out_dir) / LOCK_NAME)):  # the kernel inherits it
        execute_notebook(SHARD_NOTEBOOK, executed_path(out_dir, shard_index), params)
    return str(status_path(out_dir, shard_index))


TASKS: dict[str, Callable[[str, int, str, int], str]] = {
    "papermill": shard_task_papermill, "inline": shard_task_inline}


# --- the output folder --------------------------------------------------------------------------
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
        raise UsageError(f"{option}: {out} is a file, not a folder; give a new or existing folder")
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{option}: {out} cannot be created: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        what = "folder" if probe == out else f"folder {probe} (where {out} would be created)"
        raise UsageError(f"{option}: {out} is not writable: no write permission on the {what}")


def _sweep_entries(out: Path) -> list[Path]:
    """The folder's entries other than the sweep lock file."""
    if not out.is_dir():
        return []
    return [e for e in out.iterdir() if e.name != LOCK_NAME]


def precheck_out_dir(config: SweepConfig, out: Path, *, force: bool = False) -> None:
    """The read-only checks of :func:`prepare_out_dir` (run before the folder is locked)."""
    check_out_path(out)
    is_sweep = any((out / m).exists() for m in _SWEEP_MARKERS)
    if _sweep_entries(out) and not is_sweep:
        raise UsageError(f"{out} is not empty and holds no sweep.yaml: not a sweep folder; "
                         f"choose a new or empty --out")
    if not (force and is_sweep):
        check_out_dir(config, out)


def prepare_out_dir(config: SweepConfig, out: Path, *, force: bool = False) -> int:
    """Check or clear the folder, remove stale temporary files, write sweep.yaml.

    Returns the number of stale temporary entries removed (left by an interrupted sweep).
    """
    precheck_out_dir(config, out, force=force)
    if force and any((out / m).exists() for m in _SWEEP_MARKERS):
        for entry in _sweep_entries(out):
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    out.mkdir(parents=True, exist_ok=True)
    removed = clean_stale_temp(out)
    _write_text_atomic(out / "sweep.yaml", config.to_yaml())
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


def complete_pairs(out: Path, pair_ids: set[str], fmt: str = "csv", shard_size: int = 0) -> set[str]:
    """The pairs of ``pair_ids`` that are complete: csv, their row file exists; parquet, their
    shard's recorded parts are present with their recorded sizes (checksums: :func:`store.verify_store`)."""
    if fmt == "parquet":
        return store.verify_store(out, shard_size, full=False)[0] & pair_ids
    folder = out / "aggregate" / "pairs"
    if not folder.is_dir():
        return set()
    with os.scandir(folder) as it:
        names = {e.name[:-4] for e in it if e.name.endswith(".csv") and not e.name.startswith(".")}
    return names & pair_ids


# --- the sweep -----------------------------------------------------------------------------------
@dataclass
class SweepResult:
    """Outcome of :func:`run_sweep`; ``exit_code`` is 0 only if every pair succeeded."""

    out_dir: Path
    n_pairs: int
    n_ok: int
    n_failed: int
    n_skipped: int
    wall_time: float
    registry: pd.DataFrame = field(repr=False)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.n_failed == 0 else EXIT_FAILED

    def summary(self, name: str) -> str:
        return (f"sweep {name}: {self.n_pairs} pairs: {self.n_ok} ok, {self.n_failed} failed, "
                f"{self.n_skipped} skipped (complete before) in {self.wall_time:.1f} s -> {self.out_dir}")


class SerialExecutor(cf.Executor):
    """Runs each task at submission, in this process (``workers=0``: debugging, tests)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001  (reported like a worker's failure)
            if isinstance(e, KeyboardInterrupt):
                raise
            fut.set_exception(e)
        return fut


@contextlib.contextmanager
def make_executor(workers: int, scheduler: str | None = None, *, client: Any = None,
                  dask_timeout: float = DASK_TIMEOUT) -> Iterator[tuple[cf.Executor, str]]:
    """A process pool of ``workers`` (0: this process), or a Dask cluster's executor (``client``:
    one already connected by :func:`connect_scheduler`, closed on exit).

    The pool's workers die with this process (:func:`bilancio_lite.procs.pool_worker_init`); if
    the body raises (Ctrl-C, SIGTERM, an error) they are terminated at once, not waited for.
    """
    if scheduler or client is not None:
        if client is None:
            client = connect_scheduler(scheduler, dask_timeout)
        try:
            n = len(client.nthreads(callback_timeout=dask_timeout))
            yield client.get_executor(pure=False), f"Dask scheduler {scheduler} ({n} workers)"
        finally:
            _close_quietly(client)
    elif workers == 0:
        yield SerialExecutor(), "this process"
    else:
        import multiprocessing as mp

        # spawn: workers start clean (no inherited threads, e.g. from a Dask client in a test)
        ex = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                    initializer=pool_worker_init, initargs=(os.getpid(),))
        try:
            yield ex, f"{workers} local process{'es' if workers > 1 else ''}"
        except BaseException:
            terminate_pool(ex)
            raise
        ex.shutdown(wait=True)


def terminate_pool(ex: cf.ProcessPoolExecutor, timeout: float = 1.0) -> None:
    """Stop a process pool now: SIGTERM its workers (their kernels die with them), cancel what is
    queued, and wait up to ``timeout`` s for them to be gone (SIGKILL after that)."""
    procs = list((getattr(ex, "_processes", None) or {}).values())
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    ex.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(1.0)


#: loggers through which distributed reports the futures it cancels while a client closes (after
#: a lost worker: "Couldn't gather … rescheduling", and tornado's "Exception in callback …
#: FutureCancelledError" with a traceback); the sweep has already said what happened in one line
_TEARDOWN_LOGGERS = ("tornado.application", "distributed.client", "distributed.cfexecutor")


def _close_quietly(client: Any) -> None:
    """Close a Dask client without the teardown tracebacks of its cancelled futures."""
    loggers = [logging.getLogger(name) for name in _TEARDOWN_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with contextlib.suppress(Exception):
            client.close(timeout=2)
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def connect_scheduler(address: str, timeout: float = DASK_TIMEOUT) -> Any:
    """Connect to a Dask scheduler and wait for one worker, each within ``timeout`` seconds;
    otherwise :class:`DaskUnavailableError` with a one-line reason (nothing has been written)."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover
        raise DaskUnavailableError("--scheduler needs dask.distributed (pip install 'dask[distributed]')") from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as e:
        raise DaskUnavailableError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({_one_line(e)}); "
            f"start one (dask scheduler --host 127.0.0.1) or check --scheduler") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except Exception as e:  # TimeoutError, or the scheduler went away
        with contextlib.suppress(Exception):
            client.close(timeout=2)
        raise DaskUnavailableError(
            f"the Dask scheduler at {address} has no worker after {timeout:g} s ({_one_line(e)}); "
            f"start one (dask worker {address} --host 127.0.0.1)") from None
    return client


class _DaskWatch:
    """Called while a sweep waits on a Dask cluster: raises :class:`DaskUnavailableError` when
    the cluster has had no worker (or the scheduler has not answered) for ``timeout`` seconds."""

    def __init__(self, client: Any, timeout: float) -> None:
        self.client, self.timeout = client, timeout
        self.last_ok = time.monotonic()
        self.next_check = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now < self.next_check:
            return
        self.next_check = now + min(1.0, self.timeout / 4)
        try:
            n = len(self.client.nthreads(callback_timeout=max(1.0, self.timeout / 4)))
        except Exception:  # noqa: BLE001  (no answer: counts as no worker)
            n = 0
        if n > 0:
            self.last_ok = now
        elif now - self.last_ok > self.timeout:
            raise DaskUnavailableError(
                f"the Dask cluster has had no worker (or its scheduler no answer) for "
                f"{self.timeout:g} s: a worker was lost; unfinished shards are recorded as failed, "
                f"rerun to resume")


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (macOS)
        return os.cpu_count() or 1


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM raises :class:`SweepInterrupted` in the main thread (like Ctrl-C's
    KeyboardInterrupt), so the sweep stops its workers and records "interrupted"."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        raise SweepInterrupted(signum)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _previous_run(out: Path, lock: SweepLock) -> str | None:
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


def run_sweep(config: SweepConfig, out_dir: str | os.PathLike | None = None, *,
              engine: str = "papermill", workers: int | None = None, scheduler: str | None = None,
              force: bool = False, progress: bool | None = None,
              log: Callable[[str], None] | None = print, argv: list[str] | None = None,
              dask_timeout: float = DASK_TIMEOUT, lock_wait: float = 0.0) -> SweepResult:
    """Run (or resume) a sweep; write sweep.yaml, manifest.json, registry.csv, comparison.csv.

    ``workers``: local processes (default: available CPUs, at most one per pending shard; 0 runs
    the shards in this process); ignored with ``scheduler`` (a Dask address such as
    ``tcp://host:8786``). ``progress``: tqdm bar on stderr (None: only when stderr is a TTY).
    ``dask_timeout``: seconds for the scheduler to answer and offer a worker, and the longest the
    sweep waits with no worker. ``lock_wait``: seconds to wait for a folder another sweep holds
    (0: refuse at once). Bad input, a busy folder and an unreachable scheduler raise
    :class:`UsageError` before anything is written.
    """
    if engine not in ENGINES:
        raise UsageError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if workers is not None and workers < 0:
        raise UsageError(f"--workers must be >= 0, got {workers}")
    if not dask_timeout > 0:
        raise UsageError(f"--dask-timeout must be > 0 seconds, got {dask_timeout}")
    say = log or (lambda _msg: None)
    out = Path(out_dir).resolve() if out_dir is not None else Path("outputs", config.name).resolve()
    # read-only checks first: nothing is written when any of them fails
    state, holder = lock_state(out)
    if state == "busy" and lock_wait <= 0:
        raise UsageError(str(SweepBusyError(out, holder)))
    precheck_out_dir(config, out, force=force)
    client = None
    if scheduler:
        try:
            client = connect_scheduler(scheduler, dask_timeout)
        except DaskUnavailableError as e:
            raise UsageError(str(e)) from None
    try:
        lock = SweepLock(out).acquire(wait=lock_wait, info={"command": argv})
    except SweepBusyError as e:
        if client is not None:
            client.close()
        raise UsageError(str(e)) from None
    except BaseException:
        if client is not None:
            client.close()
        raise
    try:
        with _signals_interrupt():
            return _run_locked(config, out, lock, engine=engine, workers=workers, scheduler=scheduler,
                               client=client, force=force, progress=progress, say=say, argv=argv,
                               dask_timeout=dask_timeout)
    finally:
        lock.release()


def _run_locked(config: SweepConfig, out: Path, lock: SweepLock, *, engine: str, workers: int | None,
                scheduler: str | None, client: Any, force: bool, progress: bool | None,
                say: Callable[[str], None], argv: list[str] | None, dask_timeout: float) -> SweepResult:
    t0 = time.perf_counter()
    started = lock.holder["started"]
    previous = _previous_run(out, lock)
    cleared = force and any((out / m).exists() for m in _SWEEP_MARKERS)
    try:
        stale = prepare_out_dir(config, out, force=force)
    except BaseException:
        if client is not None:
            client.close()
        raise
    shard_size = config.output.shard_size
    pairs = config.pairs()
    shards = config.shards(shard_size)
    ids = {p.pair_id for p in pairs}
    fmt = config.output.format
    damaged: list[str] = []
    if fmt == "parquet":  # verify every recorded part (size and sha256); drop damaged shards
        done_before, damaged = store.verify_store(out, shard_size, full=True, remove_bad=True)
        done_before &= ids
    else:
        done_before = complete_pairs(out, ids)
    pending = [i for i, sh in enumerate(shards) if any(p.pair_id not in done_before for p in sh)]
    workers_given = workers is not None
    if workers is None:
        workers = default_workers()
    if 0 < len(pending) < workers:  # never more processes than shards
        workers = len(pending)
    manifest = _manifest(config, out, engine=engine, workers=workers, scheduler=scheduler,
                         started=started, argv=argv)
    if previous:
        manifest["previous_run"] = previous
    _write_json(out / "manifest.json", manifest)

    say(f"sweep {config.name}: {len(pairs)} pairs in {len(shards)} shard(s) of {shard_size} "
        f"(engine {engine}) -> {out}")
    if previous:
        say(previous)
    if scheduler and workers_given:
        say("note: --workers is ignored with --scheduler (the Dask cluster decides)")
    if cleared:
        say(f"--force: cleared {out}")
    if stale:
        say(f"removed {stale} temporary file(s)/folder(s) left by an interrupted run")
    for problem in damaged:
        say(f"integrity: {problem}: recomputing that shard")
    if done_before:
        n_ok_shards = sum(all(p.pair_id in done_before for p in sh) for sh in shards)
        verified = (f" ({n_ok_shards} shard(s) whose {len(store.TABLES) * n_ok_shards} Parquet parts "
                    f"match their recorded row counts and sha256)" if fmt == "parquet" else "")
        say(f"resuming: {len(done_before)} of {len(pairs)} pairs already complete{verified}, skipping them")
    _note_large_pairs(pairs, say)

    sweep_file = str(out / "sweep.yaml")
    task = TASKS[engine]
    errors: dict[int, str] = {}
    statuses: dict[int, dict[str, Any]] = {}
    outcome = "finished"
    fatal = ""
    dask_client = client
    try:
        if pending:
            with make_executor(workers, scheduler, client=client, dask_timeout=dask_timeout) as (ex, where):
                client = None  # make_executor closes it
                say(f"running {len(pending)} shard(s) on {where}")
                if not scheduler and len(pending) < default_workers() and len(pending) < len(pairs) / 2:
                    say(f"note: {len(pending)} shard(s) keep at most {len(pending)} of "
                        f"{default_workers()} CPUs busy; a smaller --shard-size spreads the work")
                futures = {ex.submit(task, sweep_file, i, str(out), shard_size): i for i in pending}
                watch = _DaskWatch(dask_client, dask_timeout) if dask_client is not None else None
                try:
                    _wait_with_progress(futures, out, ids, len(pairs), progress, statuses, errors, fmt, shard_size,
                                        since=time.time() - (time.perf_counter() - t0), watch=watch)
                except DaskUnavailableError as e:
                    fatal = str(e)
                    outcome = "error"
                    for i in pending:
                        if i not in statuses and i not in errors:
                            errors[i] = f"DaskUnavailableError: {e}"
    except KeyboardInterrupt:
        outcome = "interrupted"
        raise
    except BaseException:
        outcome = "error"
        raise
    finally:
        if client is not None:
            client.close()
        if outcome == "interrupted":  # the workers are gone: remove what they left half-made
            clean_stale_temp(out)
        registry = _registry(config, out, pairs, shard_size, done_before, statuses, errors, engine)
        write_csv_atomic(registry, out / "registry.csv")
        ok_ids = registry.loc[registry["status"] != "failed", "pair_id"].tolist()
        comparison = (store.read_pairs_parquet(out, ok_ids) if fmt == "parquet"
                      else collect_comparison(out, ok_ids))
        write_csv_atomic(comparison, out / "aggregate" / "comparison.csv")
        counts = registry["status"].value_counts().to_dict()
        result = SweepResult(out, len(pairs), counts.get("ok", 0), counts.get("failed", 0),
                             counts.get("skipped", 0), time.perf_counter() - t0, registry)
        manifest.update(
            finished=_now(), wall_time_s=round(result.wall_time, 3),
            status=(outcome if outcome != "finished" else "completed" if result.n_failed == 0
                    else "completed_with_failures"),
            pairs={"total": len(pairs), "ok": result.n_ok, "failed": result.n_failed,
                   "skipped": result.n_skipped, "not_run": counts.get("not_run", 0)},
            shard_errors={str(i): e for i, e in sorted(errors.items())})
        if fatal:
            manifest["error"] = fatal
        _write_json(out / "manifest.json", manifest)
    if fatal:
        say(f"error: {fatal}")
    else:
        for i, err in sorted(errors.items()):
            say(f"shard {i} task failed: {err}")
    failed = registry[registry["status"] == "failed"]
    for row in failed.head(10).itertuples():
        say(f"failed: {row.pair_id}: {row.error}")
    if len(failed) > 10:
        say(f"… and {len(failed) - 10} more failed pairs (see registry.csv)")
    say(result.summary(config.name))
    return result


def _note_large_pairs(pairs: list[PairSpec], say: Callable[[str], None]) -> None:
    """Say so when pairs are large (above LARGE_RUN_BYTES): each then takes a while."""
    from .params import LARGE_RUN_BYTES, estimated_memory_bytes

    if not pairs:
        return
    big = max(pairs, key=lambda s: estimated_memory_bytes(s.params.n_tickets, s.params.n_traders,
                                                          s.params.last_day + 1))
    p = big.params
    mem = estimated_memory_bytes(p.n_tickets, p.n_traders, p.last_day + 1)
    if mem > LARGE_RUN_BYTES:
        say(f"note: large pairs (up to {p.n_tickets:,} tickets, {p.n_traders:,} traders, "
            f"{p.last_day + 1} days; estimated {mem / 2**30:.1f} GB per worker): each pair takes a "
            f"while, and the progress bar counts finished pairs")


def _wait_with_progress(futures: dict[cf.Future, int], out: Path, ids: set[str], total: int,
                        progress: bool | None, statuses: dict[int, dict[str, Any]],
                        errors: dict[int, str], fmt: str, shard_size: int, since: float,
                        watch: Callable[[], None] | None = None) -> None:
    from tqdm import tqdm

    n_failed = 0
    with tqdm(total=total, unit="pair", desc="pairs", disable=None if progress is None else not progress,
              file=sys.stderr, dynamic_ncols=True, smoothing=0.1) as bar:
        bar.update(len(complete_pairs(out, ids, fmt, shard_size)))
        waiting = set(futures)
        while waiting:
            finished, waiting = cf.wait(waiting, timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                i = futures[fut]
                try:
                    statuses[i] = json.loads(Path(fut.result()).read_text())
                    n_failed += sum(r["status"] == "failed" for r in statuses[i]["pairs"])
                except Exception as e:  # the task itself failed (kernel, notebook, worker)
                    errors[i] = _one_line(e)
                    sp = status_path(out, i)  # run_shard may have finished before the failure
                    with contextlib.suppress(OSError, ValueError):
                        if sp.stat().st_mtime >= since:
                            statuses[i] = json.loads(sp.read_text())
            done = len(complete_pairs(out, ids, fmt, shard_size)) + n_failed
            bar.update(max(0, done - bar.n))
            if n_failed:
                bar.set_postfix(failed=n_failed, refresh=False)
            if waiting and watch is not None:
                watch()


def _registry(config: SweepConfig, out: Path, pairs: list[PairSpec], shard_size: int,
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
    complete = complete_pairs(out, {p.pair_id for p in pairs}, fmt, shard_size)
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


# --- manifest and small helpers -------------------------------------------------------------------
def _manifest(config: SweepConfig, out: Path, *, engine: str, workers: int, scheduler: str | None,
              started: str, argv: list[str] | None) -> dict[str, Any]:
    return {
        "sweep": config.name, "package": "bilancio-lite", "package_version": __version__,
        "git": _git_info(), "python": sys.version.split()[0], "platform": platform.platform(),
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


def _git_info() -> dict[str, Any] | None:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        return {"commit": head, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _write_text_atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    return _write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def ensure_sweep(sweep_file: str | os.PathLike = SMOKE_FILE, out_dir: str | os.PathLike | None = None) -> Path:
    """The sweep folder of ``sweep_file``, built inline in this process if any pair is missing
    (the analysis notebooks' default: the smoke sweep under ``<repo>/outputs/smoke``)."""
    config = load_sweep_config(sweep_file)
    out = Path(out_dir).resolve() if out_dir else REPO / "outputs" / config.name
    ids = {p.pair_id for p in config.pairs()}
    if ((out / "aggregate" / "comparison.csv").exists()
            and complete_pairs(out, ids, config.output.format, config.output.shard_size) == ids):
        check_out_dir(config, out)
        return out
    # another process (e.g. a second notebook under nbval) may be building it: wait for it
    res = run_sweep(config, out, engine="inline", workers=0, progress=False, log=None, lock_wait=600)
    if res.n_failed:
        raise RuntimeError(f"{res.n_failed} pair(s) of {config.name} failed; see {out / 'registry.csv'}")
    return out


# --- command line ----------------------------------------------------------------------------------
def configure_sweep(p: argparse.ArgumentParser) -> None:
    """run a sweep file (params/*.yaml) locally or on a Dask cluster; resumable"""
    p.description = ("Expand a sweep file into passive/active pairs, run them in shards on local "
                     "processes or a Dask cluster and write outputs/<name>/ (docs/model.md §6.4). Rerunning "
                     "into the same folder skips complete pairs. Exit status: 0 if every pair "
                     "succeeded, 1 if some failed (or the Dask cluster lost its workers), 2 on bad "
                     "input, a folder in use by another sweep or an unreachable scheduler (nothing "
                     "written), 130/143 when interrupted by Ctrl-C/SIGTERM.")
    from .params import size_limits_text

    p.epilog = (size_limits_text() + " A sweep locks its folder while it runs (a second sweep into "
                "it is refused); a killed sweep leaves no process behind, and the next run into its "
                "folder says it was interrupted and resumes.")
    p.add_argument("params_file", metavar="PARAMS.yaml", help="sweep file, e.g. params/plan024.yaml")
    p.add_argument("--out", metavar="DIR",
                   help="output folder [default: outputs/<sweep name> under the current directory]")
    p.add_argument("--workers", type=int, metavar="N",
                   help="local worker processes [default: CPUs, at most one per shard; 0 = this process]")
    p.add_argument("--shard-size", type=int, metavar="K", help="pairs per shard [default: the file's output.shard_size]")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://127.0.0.1:8786 (instead of local processes)")
    p.add_argument("--dask-timeout", type=float, default=DASK_TIMEOUT, metavar="SECONDS",
                   help="with --scheduler: seconds the scheduler has to answer and offer a worker "
                        "before anything is written, and the longest the sweep waits with no worker "
                        f"before it stops with a message [default: {DASK_TIMEOUT:g}]")
    p.add_argument("--engine", choices=ENGINES, default="papermill",
                   help="papermill: run notebooks/00_run_shard.ipynb per shard and keep it under executed/; "
                        "inline: call the same function directly [default: papermill]")
    p.add_argument("--replicates", type=int, metavar="R", help="override the file's replicates")
    p.add_argument("--format", choices=("parquet", "csv"),
                   help="parquet: tables/<table>/ Parquet parts, one per shard; csv: per-run CSV "
                        "folders (bilancio-lite export makes them from parquet) [default: the file's "
                        "output.format, parquet unless it says otherwise]")
    p.add_argument("--force", action="store_true",
                   help="clear the output folder first and start over (needed when it holds a sweep "
                        "made with another configuration)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it only shows on a terminal anyway)")


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.shard_size is not None and args.shard_size < 1:
        raise UsageError(f"--shard-size must be >= 1, got {args.shard_size}")
    if args.replicates is not None and args.replicates < 1:
        raise UsageError(f"--replicates must be >= 1, got {args.replicates}")
    if args.workers is not None and args.workers < 0:
        raise UsageError(f"--workers must be >= 0, got {args.workers}")
    try:
        config = load_sweep_config(args.params_file, replicates=args.replicates, shard_size=args.shard_size,
                                   format=args.format)
    except SweepConfigError as e:
        raise UsageError(str(e).replace("\n", "\nerror: ")) from None
    res = run_sweep(config, args.out, engine=args.engine, workers=args.workers, scheduler=args.scheduler,
                    force=args.force, progress=False if args.no_progress else None,
                    argv=["bilancio-lite", *sys.argv[1:]] if sys.argv else None,
                    dask_timeout=args.dask_timeout)
    return res.exit_code


EXTRA_COMMANDS["sweep"] = (configure_sweep, cmd_sweep)

from .report import cmd_report, configure_report  # noqa: E402  (registers `report` next to `sweep`)

EXTRA_COMMANDS["report"] = (configure_report, cmd_report)
EXTRA_COMMANDS["export"] = (store.configure_export, store.cmd_export)
