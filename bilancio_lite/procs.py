"""Process hygiene for sweeps: children that die with their parent, the sweep folder's lock, and
the guard that stops a shard whose sweep is gone (issue 11).

* :func:`die_with_parent` asks Linux to SIGKILL this process when its parent dies
  (``prctl(PR_SET_PDEATHSIG)``); the local pool's workers call it from their initializer and every
  notebook kernel from its ``preexec_fn``. So a SIGKILL of the sweep takes its workers along, and a
  dead worker takes its kernel along (kernels sit in their own session, out of reach of a
  process-group kill).
* :class:`SweepLock` is an exclusive ``flock`` on ``<out>/.sweep.lock``. The kernel drops a flock
  when its holder dies, however it dies, so a lock is never stuck; the file keeps the holder's pid,
  host and start time for the "in use" message, and is emptied on a clean release (a lock file
  with content but no holder means the previous run was killed).
* :func:`guard_ok` lets a shard check, before each pair it writes, that the sweep that started it
  still holds the lock (``BILANCIO_SWEEP_GUARD`` names the lock file). Nothing is written into a
  folder whose sweep was killed, even by a task on a Dask worker that outlived it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import signal
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import SweepBusyError

LOCK_NAME = ".sweep.lock"
GUARD_ENV = "BILANCIO_SWEEP_GUARD"
_PR_SET_PDEATHSIG = 1

try:
    import fcntl
except ImportError:  # pragma: no cover (Windows)
    fcntl = None  # type: ignore[assignment]


# --- children die with their parent ---------------------------------------------------------------
def die_with_parent(parent_pid: int | None = None, sig: int = signal.SIGKILL) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies (Linux only).

    ``parent_pid``: the pid the parent had before this process started; if it is already gone
    (the parent died before the request took effect) exit at once. Returns whether the request
    was made. Safe to call between fork and exec (``preexec_fn``).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):  # pragma: no cover
        return False
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
    return True


def kernel_preexec(parent_pid: int):
    """A ``preexec_fn`` for a kernel: SIGKILL it when the process that starts it dies."""
    def preexec() -> None:
        die_with_parent(parent_pid)
    return preexec


def pool_worker_init(parent_pid: int) -> None:
    """Initializer of the local pool's workers: die with the sweep; leave Ctrl-C to the sweep
    (the terminal sends SIGINT to the whole process group; the sweep then stops the workers, so no
    worker or papermill half-handles it and writes a failed notebook)."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the sweep folder's lock --------------------------------------------------------------------
def describe_holder(holder: dict[str, Any]) -> str:
    if not holder:
        return "pid unknown"
    host = holder.get("host")
    where = f" on {host}" if host and host != socket.gethostname() else ""
    return f"pid {holder.get('pid', '?')}{where}, started {holder.get('started', '?')}"


def busy_error(out: Path, holder: dict[str, Any]) -> SweepBusyError:
    """The :class:`~bilancio_lite.errors.SweepBusyError` naming the lock's holder."""
    return SweepBusyError(out, holder, describe_holder(holder))


def _read_holder(fd: int) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        data = os.pread(fd, 65536, 0)
        if data.strip():
            value = json.loads(data)
            return value if isinstance(value, dict) else {}
    return {}


def lock_state(out: str | os.PathLike) -> tuple[str, dict[str, Any]]:
    """Look at ``<out>/.sweep.lock`` without writing anything.

    Returns ``("free", {})`` (no lock file, or an emptied one), ``("busy", holder)`` (a live process
    holds it) or ``("stale", holder)`` (its holder died without releasing it: the run was killed).
    """
    path = Path(out) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return "free", {}
    try:
        holder = _read_holder(fd)
        if fcntl is None:  # pragma: no cover
            return ("busy" if holder.get("pid") and pid_alive(int(holder["pid"])) else "free"), holder
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return "busy", holder
        except OSError:  # no flock on this file system: fall back on the pid
            alive = bool(holder.get("pid")) and pid_alive(int(holder["pid"]))
            return ("busy" if alive else "stale" if holder else "free"), holder
        return ("stale" if holder else "free"), holder
    finally:
        os.close(fd)


class SweepLock:
    """An exclusive lock on a sweep folder (see the module docstring)."""

    def __init__(self, out: str | os.PathLike) -> None:
        self.out = Path(out)
        self.path = self.out / LOCK_NAME
        self.fd: int | None = None
        self.previous: dict[str, Any] = {}   # holder left by a killed run, if any

    def acquire(self, *, wait: float = 0.0, info: dict[str, Any] | None = None) -> "SweepLock":
        """Take the lock (creating the folder); wait up to ``wait`` seconds for a busy one, then
        raise :class:`SweepBusyError`. ``previous`` is set when the last holder was killed."""
        self.out.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        deadline = time.monotonic() + wait
        try:
            while fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise busy_error(self.out, _read_holder(fd)) from None
                    time.sleep(0.05)
                except OSError as e:  # pragma: no cover (no flock here: fall back on the pid)
                    if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                        raise
                    holder = _read_holder(fd)
                    if holder.get("pid") and pid_alive(int(holder["pid"])) and holder.get("pid") != os.getpid():
                        raise busy_error(self.out, holder) from None
                    break
            self.previous = _read_holder(fd)
            record = {"pid": os.getpid(), "host": socket.gethostname(),
                      "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), **(info or {})}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.holder = record
        return self

    def release(self) -> None:
        """Empty the lock file (a clean end) and drop the lock. The file stays: removing it could
        let two waiting processes lock two different files."""
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> "SweepLock":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def guard_ok() -> bool:
    """False if this shard was started by a sweep (``BILANCIO_SWEEP_GUARD`` set) that no longer
    holds its folder's lock: that sweep was killed or has ended, so nothing may be written."""
    path = os.environ.get(GUARD_ENV)
    if not path:
        return True
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if fcntl is None:  # pragma: no cover
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True     # held: the sweep is alive
        except OSError:  # pragma: no cover (no flock: trust the pid in the file)
            holder = _read_holder(fd)
            return bool(holder.get("pid")) and pid_alive(int(holder["pid"]))
        return False
    finally:
        os.close(fd)


@contextlib.contextmanager
def guard_env(lock_path: str | None):
    """Set ``BILANCIO_SWEEP_GUARD`` for the duration (inherited by notebook kernels)."""
    old = os.environ.get(GUARD_ENV)
    if lock_path:
        os.environ[GUARD_ENV] = str(lock_path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(GUARD_ENV, None)
        else:
            os.environ[GUARD_ENV] = old


# --- file modes ------------------------------------------------------------------------------------
def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (``/proc/self/status``)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # pragma: no cover (no /proc: the classic set-and-restore)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file: ``0o666 & ~umask`` (``mkstemp`` makes 0o600 files;
    atomic writers chmod their temporary file to this before the rename)."""
    return 0o666 & ~current_umask()
