"""Sweep progress per pair (spec §6.4; issue 22): shards report finished pairs, the sweep shows them.

A shard's results become visible to the sweep only when the shard ends (its Parquet parts and
status file are written once, after its last pair). So that progress moves per pair and not in
jumps of a shard, :func:`run_shard <bilancio_lite.sweep.shard.run_shard>` writes after each pair a
small counter file, ``status/.shard_XXXX.progress`` (pairs this run of the shard has finished, ok
or failed), through the atomic writer; the sweep sums the counters of the running shards with the
outcomes of the finished ones (:func:`pairs_done`) and removes the counters at the end
(:func:`clear_counters`). Files work wherever the shards run (a local process pool, notebook
kernels, a Dask cluster sharing the output folder).

:class:`Progress` shows the count: a tqdm bar on a terminal, or, when stdout is not a terminal
(a pipe, a log file, a batch job), a plain line every :data:`PLAIN_INTERVAL` seconds and one at the
end: ``progress: 312 of 625 pairs (49.9%), 20.8 pairs/s, ETA 15 s``. The rate counts from the
first finished pair, so the time workers take to start does not stretch the ETA.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import IO, Any, Iterable

from .. import atomic

#: Seconds between two plain progress lines (stdout not a terminal).
PLAIN_INTERVAL = 10.0


def counter_path(out_dir: str | Path, shard_index: int) -> Path:
    """``<out>/status/.shard_XXXX.progress``: pairs the running shard has finished (hidden: no
    reader of status files sees it)."""
    return Path(out_dir) / "status" / f".shard_{shard_index:04d}.progress"


def report_pairs_done(out_dir: str | Path, shard_index: int, n: int) -> None:
    """Record that the shard has finished ``n`` pairs in this run (called after each pair)."""
    with contextlib.suppress(OSError):  # progress only: never fail a shard over it
        atomic.write_text(counter_path(out_dir, shard_index), f"{n}\n")


def read_counter(out_dir: str | Path, shard_index: int) -> int:
    """The running shard's count (0 when it has not reported yet)."""
    try:
        return int(counter_path(out_dir, shard_index).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def clear_counters(out_dir: str | Path) -> None:
    """Remove every counter file (the sweep's end, or a shard's)."""
    folder = Path(out_dir) / "status"
    if folder.is_dir():
        for p in folder.glob(".shard_*.progress"):
            p.unlink(missing_ok=True)


def pairs_done(out_dir: str | Path, n_before: int, running: Iterable[int],
               statuses: dict[int, dict[str, Any]], errors: dict[int, str]) -> int:
    """Pairs done so far: ``n_before`` (complete before this run), the pairs the finished shards
    ran (ok or failed, from their status), and the counters of the running shards and of the
    shards whose task failed (the pairs they finished before it did)."""
    n = n_before
    for status in statuses.values():
        n += sum(r["status"] in ("ok", "failed") for r in status["pairs"])
    for i in running:
        if i not in statuses:
            n += read_counter(out_dir, i)
    for i in errors:
        if i not in statuses:
            n += read_counter(out_dir, i)
    return n


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def plain_line(done: int, total: int, elapsed: float, failed: int = 0, rate: float | None = None) -> str:
    """One plain progress line: pairs done, rate (default: done / elapsed), ETA at that rate
    (unknown before the first pair)."""
    pct = 100.0 * done / total if total else 100.0
    if rate is None:
        rate = done / elapsed if elapsed > 0 else 0.0
    eta = _duration((total - done) / rate) if rate > 0 else "unknown"
    tail = f", {failed} failed" if failed else ""
    return (f"progress: {done} of {total} pairs ({pct:.1f}%), {rate:.1f} pairs/s, "
            f"ETA {eta if done < total else '0 s'}{tail}")


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """The sweep's progress display. ``mode`` None picks one: plain lines on ``stdout`` when it
    is not a terminal, else a tqdm bar on stderr when that is a terminal, else nothing; True is a
    bar, False nothing, ``"plain"`` plain lines. ``initial``: pairs complete before this run (the
    rate counts only the pairs of this run)."""

    def __init__(self, total: int, initial: int = 0, mode: bool | str | None = None, *,
                 stdout: IO[str] | None = None, stderr: IO[str] | None = None,
                 interval: float = PLAIN_INTERVAL) -> None:
        self.out = stdout or sys.stdout
        err = stderr or sys.stderr
        if mode is None:
            mode = "plain" if not _isatty(self.out) else bool(_isatty(err))
        self.mode = mode
        self.total, self.initial, self.done, self.failed = total, initial, initial, 0
        self.interval = interval
        self.t0 = self.last = time.monotonic()
        self.first: tuple[float, int] | None = None  # (time, count) when the first pairs were done
        self.printed = -1  # the count of the last plain line
        self.bar = None
        if mode is True:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="pair", desc="pairs", file=err,
                            dynamic_ncols=True, smoothing=0.1)

    def update(self, done: int, failed: int = 0) -> None:
        """Pairs done so far (never goes back), of which ``failed`` failed."""
        done = max(done, self.done)
        if self.first is None and done > self.initial:  # the first pair(s): workers are warm now
            self.first = (time.monotonic(), done)
        if self.bar is not None:
            self.bar.update(done - self.done)
            if failed and failed != self.failed:
                self.bar.set_postfix(failed=failed, refresh=False)
        self.done, self.failed = done, failed
        if self.mode == "plain" and time.monotonic() - self.last >= self.interval:
            self._line()

    def rate(self) -> float | None:
        """Pairs per second since the first pair finished (so that starting the workers and
        their kernels does not stretch the ETA), or None before a second reading."""
        if self.first is None:
            return None
        t1, n1 = self.first
        now = time.monotonic()
        return (self.done - n1) / (now - t1) if self.done > n1 and now > t1 else None

    def _line(self) -> None:
        self.last, self.printed = time.monotonic(), self.done
        line = plain_line(self.done - self.initial, self.total - self.initial, self.last - self.t0,
                          self.failed, self.rate())
        if self.initial:
            line += f" (+{self.initial} complete before)"
        print(line, file=self.out, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.mode == "plain" and self.done > self.initial and self.done != self.printed:
            self._line()  # the final count, unless the last line said it

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
