"""Running a sweep (spec §6.4; conventions: Sweeps with papermill, Outputs): the locked run, resume.

:func:`run_sweep` checks everything read-only first (bad input, a folder in use or made with
another configuration, an unreachable Dask scheduler: nothing is written), locks the folder
(:class:`bilancio_lite.procs.SweepLock`), skips the pairs an earlier run completed, submits one
task per pending shard to an executor (:mod:`bilancio_lite.sweep.executors`), shows a progress bar,
and at the end writes ``registry.csv``, ``aggregate/comparison.csv`` and ``manifest.json``
(:mod:`bilancio_lite.sweep.registry`), even when interrupted. SIGTERM and Ctrl-C stop the workers
first, then record the manifest as "interrupted". :func:`ensure_sweep` builds a sweep inline when
any pair is missing (the analysis notebooks' default: the smoke sweep).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from .. import atomic, store
from ..errors import DaskUnavailableError, InputError, SweepInterrupted, one_line
from ..logs import collect_comparison
from ..procs import SweepLock, busy_error, lock_state
from .config import SMOKE_FILE, PairSpec, SweepConfig, load_sweep_config
from .executors import DASK_TIMEOUT, DaskWatch, check_dask_timeout, connect_scheduler, default_workers, make_executor
from ..resources import outputs_dir
from .progress import Progress, clear_counters, pairs_done
from .outdir import SWEEP_MARKERS, check_out_dir, check_out_path, clean_stale_temp, precheck_out_dir, prepare_out_dir
from .registry import build_manifest, build_registry, complete_pairs, now, previous_run, status_path
from .shard import ENGINES, TASKS


@dataclass
class SweepResult:
    """Outcome of :func:`run_sweep`: pair counts, wall time and the registry.

    ``exit_code`` (0 if every pair succeeded, else 1) is the status `bilancio-lite sweep` exits with.
    """

    out_dir: Path
    n_pairs: int
    n_ok: int
    n_failed: int
    n_skipped: int
    wall_time: float
    registry: pd.DataFrame = field(repr=False)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def ok(self) -> bool:
        """Every pair succeeded (or was complete before)."""
        return self.n_failed == 0

    def summary(self, name: str) -> str:
        return (f"sweep {name}: {self.n_pairs} pairs: {self.n_ok} ok, {self.n_failed} failed, "
                f"{self.n_skipped} skipped (complete before) in {self.wall_time:.1f} s -> {self.out_dir}")


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
    (0: refuse at once). Before anything is written, bad input raises
    :class:`~bilancio_lite.errors.InputError`, a folder another sweep holds
    :class:`~bilancio_lite.errors.SweepBusyError` and an unreachable scheduler
    :class:`~bilancio_lite.errors.DaskUnavailableError`; SIGTERM raises
    :class:`~bilancio_lite.errors.SweepInterrupted` once the manifest records "interrupted".
    """
    if engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if workers is not None and workers < 0:
        raise InputError(f"--workers must be >= 0, got {workers}")
    check_dask_timeout(dask_timeout)  # finite: every wait on a cluster has a deadline
    say = log or (lambda _msg: None)
    out = Path(out_dir).resolve() if out_dir is not None else Path("outputs", config.name).resolve()
    # read-only checks first: nothing is written when any of them fails
    check_out_path(out)  # a file, a name too long, /proc: one line before anything looks inside
    state, holder = lock_state(out)
    if state == "busy" and lock_wait <= 0:
        raise busy_error(out, holder)
    precheck_out_dir(config, out, force=force)
    client = connect_scheduler(scheduler, dask_timeout) if scheduler else None
    try:
        lock = SweepLock(out).acquire(wait=lock_wait, info={"command": argv})
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
    previous = previous_run(out, lock)
    cleared = force and any((out / m).exists() for m in SWEEP_MARKERS)
    kept: list[str] = []
    try:
        stale = prepare_out_dir(config, out, force=force, kept=kept)
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
        done_before, damaged = store.verify_store(out, shard_size, full=True, remove_bad=True,
                                                  attribution=config.output.attribution)
        done_before &= ids
    else:
        done_before = complete_pairs(out, ids)
    pending = [i for i, sh in enumerate(shards) if any(p.pair_id not in done_before for p in sh)]
    workers_given = workers is not None
    if workers is None:
        workers = default_workers()
    if 0 < len(pending) < workers:  # never more processes than shards
        workers = len(pending)
    manifest = build_manifest(config, out, engine=engine, workers=workers, scheduler=scheduler,
                              started=started, argv=argv)
    if previous:
        manifest["previous_run"] = previous
    atomic.write_json(out / "manifest.json", manifest)

    say(f"sweep {config.name}: {len(pairs)} pairs in {len(shards)} shard(s) of {shard_size} "
        f"(engine {engine}) -> {out}")
    if previous:
        say(previous)
    if scheduler and workers_given:
        say("note: --workers is ignored with --scheduler (the Dask cluster decides)")
    if cleared:
        say(f"--force: cleared {out}" + (f" (the tool's files only; left {len(kept)} entr"
                                         f"{'y' if len(kept) == 1 else 'ies'} that are not its own: "
                                         f"{', '.join(kept[:5])}{' …' if len(kept) > 5 else ''})"
                                         if kept else ""))
    if stale:
        say(f"removed {stale} temporary file(s)/folder(s) left by an interrupted run")
    for problem in damaged:
        say(f"integrity: {problem}: recomputing that shard")
    if done_before:
        n_ok_shards = sum(all(p.pair_id in done_before for p in sh) for sh in shards)
        n_parts = len(store.tables_of(config.output.attribution)) * n_ok_shards
        verified = (f" ({n_ok_shards} shard(s) whose {n_parts} Parquet parts "
                    f"match their recorded row counts and sha256)" if fmt == "parquet" else "")
        say(f"resuming: {len(done_before)} of {len(pairs)} pairs already complete{verified}, skipping them")
    _note_large_pairs(pairs, say)

    clear_counters(out)  # progress counters a killed run left behind
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
                watch = DaskWatch(dask_client, dask_timeout) if dask_client is not None else None
                try:
                    _wait_with_progress(futures, out, ids, len(pairs), progress, statuses, errors, fmt, shard_size,
                                        since=time.time() - (time.perf_counter() - t0), watch=watch,
                                        n_before=len(done_before))
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
        registry = build_registry(config, out, pairs, shard_size, done_before, statuses, errors, engine)
        counts = registry["status"].value_counts().to_dict()
        result = SweepResult(out, len(pairs), counts.get("ok", 0), counts.get("failed", 0),
                             counts.get("skipped", 0), time.perf_counter() - t0, registry)
        write_error: OSError | None = None
        try:  # a full disk or a read-only folder: the manifest still says "failed" if it can be written
            atomic.write_csv(registry, out / "registry.csv")
            ok_ids = registry.loc[registry["status"] != "failed", "pair_id"].tolist()
            comparison = (store.read_pairs_parquet(out, ok_ids) if fmt == "parquet"
                          else collect_comparison(out, ok_ids))
            if config.output.attribution != "off":  # §12: revert counts per pair, appended
                comparison = store.with_revert_counts(comparison, _attribution_rows(out))
            atomic.write_csv(comparison, out / "aggregate" / "comparison.csv")
        except OSError as e:
            write_error = e
            (out / "aggregate" / "comparison.csv").unlink(missing_ok=True)  # no stale "finished" marker
        failed = outcome == "error" or write_error is not None
        manifest.update(
            finished=now(), wall_time_s=round(result.wall_time, 3),
            status=("failed" if failed else outcome if outcome != "finished"
                    else "completed" if result.n_failed == 0 else "completed_with_failures"),
            pairs={"total": len(pairs), "ok": result.n_ok, "failed": result.n_failed,
                   "skipped": result.n_skipped, "not_run": counts.get("not_run", 0)},
            shard_errors={str(i): e for i, e in sorted(errors.items())})
        if fatal or write_error is not None:
            manifest["error"] = fatal or f"{write_error.filename}: {write_error.strerror or write_error}"
        try:
            atomic.write_json(out / "manifest.json", manifest)
        except OSError:
            _mark_failed_in_place(out / "manifest.json")
            if write_error is None:
                raise
        if write_error is not None:
            raise write_error
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


def _mark_failed_in_place(path: Path) -> None:
    """Last resort when even a new manifest cannot be written (disk full): flip the status field of
    the one in place (same length or shorter), so it never says "running" or "completed"."""
    with contextlib.suppress(OSError, ValueError):
        text = path.read_text()
        new = text.replace('"status": "running"', '"status": "failed" ').replace(
            '"status": "starting"', '"status": "failed"  ')
        if new != text:
            with open(path, "r+", encoding="utf-8") as fh:
                fh.write(new)


def _note_large_pairs(pairs: list[PairSpec], say: Callable[[str], None]) -> None:
    """Say so when pairs are large (above LARGE_RUN_BYTES): each then takes a while."""
    from ..params import LARGE_RUN_BYTES, estimated_memory_bytes

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
                        watch: Callable[[], None] | None = None, n_before: int | None = None) -> None:
    """Wait for the shard tasks, collecting their statuses and errors, and show progress per pair
    (:mod:`bilancio_lite.sweep.progress`: a bar on a terminal, plain lines when stdout is not one)."""
    if n_before is None:
        n_before = len(complete_pairs(out, ids, fmt, shard_size))
    n_failed = 0
    cancelled = 0
    running = set(futures.values())
    with Progress(total, n_before, progress) as bar:
        waiting = set(futures)
        while waiting:
            finished, waiting = cf.wait(waiting, timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                i = futures[fut]
                running.discard(i)
                try:
                    statuses[i] = json.loads(Path(fut.result()).read_text())
                    n_failed += sum(r["status"] == "failed" for r in statuses[i]["pairs"])
                except cf.CancelledError:  # Dask cancels every task when its scheduler goes away
                    errors[i] = ("cancelled by the Dask cluster (its scheduler was lost or restarted); "
                                 "rerun to resume")
                    cancelled += 1
                except Exception as e:  # the task itself failed (kernel, notebook, worker)
                    errors[i] = one_line(e)
                    sp = status_path(out, i)  # run_shard may have finished before the failure
                    with contextlib.suppress(OSError, ValueError):
                        if sp.stat().st_mtime >= since:
                            statuses[i] = json.loads(sp.read_text())
            bar.update(pairs_done(out, n_before, running, statuses, errors), n_failed)
            if waiting and watch is not None:
                watch()
    clear_counters(out)
    if cancelled and watch is not None:
        raise DaskUnavailableError(
            f"the Dask scheduler went away mid-sweep ({cancelled} shard(s) cancelled): unfinished shards "
            f"are recorded as failed, rerun to resume")


def _attribution_rows(out: Path) -> pd.DataFrame:
    """Every attribution row of the store (§12; empty when no shard wrote any)."""
    try:  # only the parts a status record lists
        return store.read_parquet_runs(out, store.ATTRIBUTION, None).to_pandas()
    except FileNotFoundError:
        return store.table_schema(store.ATTRIBUTION).empty_table().to_pandas()


def ensure_sweep(sweep_file: str | os.PathLike = SMOKE_FILE, out_dir: str | os.PathLike | None = None) -> Path:
    """The sweep folder of ``sweep_file``, built inline in this process if any pair is missing
    (the analysis notebooks' default: the smoke sweep under ``<repo>/outputs/smoke``)."""
    config = load_sweep_config(sweep_file)
    out = Path(out_dir).resolve() if out_dir else outputs_dir() / config.name
    ids = {p.pair_id for p in config.pairs()}
    if ((out / "aggregate" / "comparison.csv").exists()
            and complete_pairs(out, ids, config.output.format, config.output.shard_size,
                               config.output.attribution) == ids):
        check_out_dir(config, out)
        return out
    # another process (e.g. a second notebook under nbval) may be building it: wait for it
    res = run_sweep(config, out, engine="inline", workers=0, progress=False, log=None, lock_wait=600)
    if res.n_failed:
        raise RuntimeError(f"{res.n_failed} pair(s) of {config.name} failed; see {out / 'registry.csv'}")
    return out
