"""Where a sweep's shards run (spec §6.4): a local process pool, this process, or a Dask cluster.

:func:`make_executor` yields a ``concurrent.futures.Executor``: a process pool whose workers die
with the sweep (:func:`bilancio_lite.procs.pool_worker_init`) and are terminated at once if the
sweep stops (:func:`terminate_pool`), a :class:`SerialExecutor` (``workers=0``), or a Dask
cluster's executor. With ``--scheduler`` the scheduler must answer and offer a worker within
``dask_timeout`` seconds (:func:`connect_scheduler`), and :class:`DaskWatch` ends a sweep whose
cluster has had no worker for that long; both raise :class:`~bilancio_lite.errors.DaskUnavailableError`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import os
import time
from typing import Any, Iterator

from ..errors import DaskUnavailableError, InputError, one_line
from ..procs import pool_worker_init

#: Seconds the Dask scheduler has to answer and offer a worker, and the longest a running sweep
#: waits with no worker in the cluster (`--dask-timeout`).
DASK_TIMEOUT = 20.0
#: Largest `--dask-timeout` (an hour): every wait on the cluster has a finite deadline (issue 24).
MAX_DASK_TIMEOUT = 3600.0


def check_dask_timeout(timeout: float) -> None:
    """Refuse a `--dask-timeout` that is not a finite number of seconds in (0, MAX_DASK_TIMEOUT]."""
    import math

    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and 0 < timeout <= MAX_DASK_TIMEOUT):
        raise InputError(f"--dask-timeout must be a number of seconds in (0, {MAX_DASK_TIMEOUT:g}], got {timeout}")


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
            with quiet_dask_logs():  # a lost scheduler or worker: the sweep says so in one line
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


@contextlib.contextmanager
def quiet_dask_logs() -> Iterator[None]:
    """distributed's and tornado's log records (reconnect attempts, "Failed to reconnect",
    tracebacks of closed connections) kept off stderr while a sweep runs on a cluster: the sweep
    reports a lost scheduler or worker itself, in one line (issue 24)."""
    names = ["distributed", "tornado", *[n for n in logging.root.manager.loggerDict
                                         if n.startswith(("distributed.", "tornado."))]]
    loggers = [logging.getLogger(name) for name in names]  # each: a child's own level decides
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _ignore_client_del(hook: Any) -> Any:
    """``sys.unraisablehook`` that drops what ``Client.__del__`` raises while the garbage collector
    finalises a client whose scheduler is gone (the sweep has said what happened in one line)."""
    def hook_(unraisable: Any) -> None:
        if getattr(unraisable.object, "__qualname__", "") == "Client.__del__":
            return
        hook(unraisable)
    hook_._bilancio = True  # type: ignore[attr-defined]
    return hook_


def _close_quietly(client: Any) -> None:
    """Close a Dask client without the teardown tracebacks of its cancelled futures."""
    import sys

    if not getattr(sys.unraisablehook, "_bilancio", False):
        sys.unraisablehook = _ignore_client_del(sys.unraisablehook)
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


#: The one line `--scheduler` prints when Dask is not installed.
DASK_MISSING = ("--scheduler needs Dask, the optional extra 'dask' of bilancio-lite: pip install "
                "'bilancio-lite[dask]' (in a checkout: .venv/bin/python -m pip install -c constraints.txt "
                "-e '.[dask]')")


def connect_scheduler(address: str, timeout: float = DASK_TIMEOUT) -> Any:
    """Connect to a Dask scheduler and wait for one worker, each within ``timeout`` seconds;
    otherwise :class:`DaskUnavailableError` with a one-line reason (nothing has been written)."""
    try:
        from distributed import Client
    except ImportError:  # dask is an optional extra (pyproject: [dask], included in [dev])
        raise DaskUnavailableError(DASK_MISSING) from None
    check_dask_timeout(timeout)
    try:
        client = _client_within(Client, address, timeout)
    except (OSError, TimeoutError, ValueError, TypeError) as e:
        raise DaskUnavailableError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({one_line(e)}); "
            f"start one (dask scheduler --host 127.0.0.1) or check --scheduler") from None
    if client is None:  # the port answered the connection but never the Dask handshake
        raise DaskUnavailableError(
            f"the service at {address} did not answer as a Dask scheduler within {timeout:g} s (another "
            f"kind of server, or a silent one); check --scheduler")
    try:
        client.wait_for_workers(1, timeout=timeout)
    except Exception as e:  # TimeoutError, or the scheduler went away
        with contextlib.suppress(Exception):
            client.close(timeout=2)
        raise DaskUnavailableError(
            f"the Dask scheduler at {address} has no worker after {timeout:g} s ({one_line(e)}); "
            f"start one (dask worker {address} --host 127.0.0.1)") from None
    return client


def _client_within(Client: Any, address: str, timeout: float) -> Any:
    """``Client(address)`` with a hard deadline: distributed's own ``timeout`` bounds the TCP
    connection but not the handshake, so a port held by another service (an HTTP server) or one
    that accepts and never answers would hang for ever. The client is made in a daemon thread;
    None after ``timeout`` + 2 s (a client that arrives later is closed)."""
    import threading

    box: dict[str, Any] = {}
    abandoned = threading.Event()

    def connect() -> None:
        try:
            c = Client(address, timeout=timeout, set_as_default=False)
        except BaseException as e:  # noqa: BLE001  (handed to the caller)
            box["error"] = e
            return
        if abandoned.is_set():
            _close_quietly(c)
        else:
            box["client"] = c

    t = threading.Thread(target=connect, name="dask-connect", daemon=True)
    t.start()
    t.join(timeout + 2.0)
    if t.is_alive():
        abandoned.set()
        return None
    if "error" in box:
        raise box["error"]
    return box["client"]


class DaskWatch:
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
