"""The library's domain errors (issue 12): what went wrong, never how the process should end.

The library raises these; :mod:`bilancio_lite.cli` alone turns them into a one-line message and an
exit status (2 for bad input, a folder in use or an unreachable Dask scheduler, 128 + the signal
for an interruption). A sweep whose pairs failed is no error: it returns a result that says so.

* :class:`InputError` - bad input from the user: a parameter out of range, a path that is a file,
  a folder that is no sweep folder; :class:`ConfigMismatchError` and :class:`SweepConfigError`
  (an invalid sweep file, §6.4) are kinds of it.
* :class:`SweepBusyError` - another live sweep holds the output folder's lock.
* :class:`DaskUnavailableError` - the Dask cluster cannot run the sweep.
* :class:`SweepGoneError` - a shard's sweep no longer holds its folder's lock: write nothing more.
* :class:`SweepInterrupted` - SIGTERM (or SIGINT) reached a running sweep.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any


class BilancioError(Exception):
    """Base class of the library's domain errors."""


class InputError(BilancioError):
    """Bad input from the user (an option, a path, a file); nothing has been written."""


class ConfigMismatchError(InputError):
    """The output folder holds a sweep made with another configuration."""


class SweepConfigError(InputError, ValueError):
    """An invalid sweep file (§6.4): ``lines`` holds one message per problem, each naming its path."""

    def __init__(self, lines: list[str], source: str | None = None) -> None:
        self.lines = list(lines)
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("\n".join(prefix + ln for ln in self.lines))


class SweepBusyError(BilancioError):
    """Another live process holds the sweep folder's lock (``who``: its pid and start time)."""

    def __init__(self, out: Path, holder: dict[str, Any], who: str) -> None:
        self.out, self.holder = out, holder
        super().__init__(f"{out} is in use by another sweep ({who}); wait for it to finish, or "
                         f"choose another --out")


class DaskUnavailableError(BilancioError, RuntimeError):
    """The Dask cluster cannot run the sweep (scheduler unreachable, or no worker for too long)."""


class SweepGoneError(BilancioError, RuntimeError):
    """A shard's sweep no longer holds its folder's lock (killed or ended): write nothing more."""


class SweepInterrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) reached the sweep: stop the workers, record "interrupted", exit."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def one_line(e: BaseException) -> str:
    """``Type: message`` on one line, at most about 300 characters (registry and status files)."""
    text = " ".join(str(e).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
