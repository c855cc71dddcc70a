"""Benchmark: `bilancio-lite report` wall time and peak memory on a finished sweep (issue 10).

    python benchmarks/bench_report.py SWEEP [--workers N] [--per-notebook] [--only NN …] [--copy]

Runs ``bilancio-lite report SWEEP`` (the report writes into SWEEP/reports and SWEEP/aggregate;
``--copy`` runs it on a temporary copy of SWEEP instead) and prints its wall time and peak memory:
the largest sum of the RSS of the report process and all its descendants (workers and Jupyter
kernels), sampled every 50 ms with psutil. ``--per-notebook`` then runs each notebook alone
(``--only NN --workers 1``) and prints the same figures for each.

Targets (issue 10): plan024 (R = 1) <= 30 s and <= 1 GiB for the whole report; plan024_r20: every
notebook rendered in <= 2 min. Prints figures only; not part of the tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GIB = 1024 ** 3


def tree_rss(root_pid: int) -> int:
    """The RSS sum (bytes) of a process and all its descendants (0 if it is gone)."""
    import psutil

    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_measured(cmd: list[str], interval: float = 0.05) -> tuple[float, int, int, str]:
    """(wall s, peak tree RSS bytes, exit status, output) of ``cmd``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.join()
    return wall, peak[0], proc.returncode, out


def report_cmd(sweep: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "bilancio_lite", "report", str(sweep), *extra]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sweep", type=Path, help="a finished sweep folder, e.g. outputs/plan024")
    ap.add_argument("--workers", type=int, help="notebooks in parallel [default: the report's default]")
    ap.add_argument("--only", nargs="+", metavar="NN", help="only these notebooks")
    ap.add_argument("--per-notebook", action="store_true", help="also run each notebook alone")
    ap.add_argument("--copy", action="store_true", help="run on a temporary copy of SWEEP")
    args = ap.parse_args(argv)
    sweep = args.sweep.resolve()
    tmp = None
    if args.copy:
        tmp = Path(tempfile.mkdtemp(prefix="bench_report_"))
        shutil.copytree(sweep, tmp / sweep.name, ignore=shutil.ignore_patterns("reports", "export"))
        sweep = tmp / sweep.name
    try:
        load = os.getloadavg()[0]
        print(f"sweep {sweep} (load average {load:.1f} on {os.cpu_count()} CPUs before the run)")
        extra = []
        if args.workers is not None:
            extra += ["--workers", str(args.workers)]
        if args.only:
            extra += ["--only", *args.only]
        wall, peak, rc, out = run_measured(report_cmd(sweep, *extra))
        print(out.rstrip())
        print(f"whole report{' (--workers %d)' % args.workers if args.workers is not None else ''}: "
              f"{wall:.1f} s, peak {peak / GIB:.2f} GiB, exit {rc}")
        if args.per_notebook:
            from bilancio_lite.report import analysis_notebooks

            names = [nb.name[:2] for nb in analysis_notebooks()]
            if args.only:
                names = [n for n in names if n in args.only]
            for n in names:
                wall, peak, rc, out = run_measured(report_cmd(sweep, "--only", n, "--workers", "1"))
                state = "ok" if rc == 0 else "FAILED: " + out.strip().splitlines()[-1]
                print(f"  notebook {n} alone: {wall:.1f} s, peak {peak / GIB:.2f} GiB, {state}")
        return 0
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
