"""Benchmark: the columnar sweep store (issue 10) against the per-run CSV format, side by side.

    python benchmarks/bench_store.py [--sweep params/plan024.yaml] [--workers 2] [--keep DIR]
                                     [--skip-report] [--only parquet|csv]

For each format (``--format parquet`` and ``--format csv``) it runs ``bilancio-lite sweep`` with
papermill and ``--workers`` local processes into a temporary folder and prints:

* sweep wall time, disk size (du, bytes of every file incl. executed notebooks) and file count;
* loading: ``load_sweep(sweep).trades`` for all runs, and one run's five tables, in a fresh
  process each (so nothing is cached), :data:`LOAD_REPEATS` times: median (min-max);
* ``bilancio-lite report`` wall time and peak memory (CSV: one notebook at a time, as before;
  Parquet: in parallel, the new default) (the largest sum of RSS over the report's
  process tree, kernels included, sampled every 50 ms).

Targets (issue 10): plan024 (R = 1, all logs) <= 40 MB and <= 150 files, sweep no slower than
CSV; trades <= 1 s, one run <= 0.1 s; report <= 30 s and <= 1 GiB. Prints figures only; not part
of the test pass/fail.
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


def disk(root: Path) -> tuple[int, int]:
    """(bytes on disk as du counts them, number of files) under root."""
    n = 0
    for _, _, files in os.walk(root):
        n += len(files)
    du = subprocess.run(["du", "-sb", str(root)], capture_output=True, text=True).stdout.split()[0]
    return int(du), n


def peak_tree_rss(proc: subprocess.Popen, interval: float = 0.05) -> list[int]:
    """Sample the RSS sum of ``proc`` and its descendants until it exits; return [peak]."""
    import psutil

    peak = [0]

    def loop() -> None:
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while proc.poll() is None:
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            peak[0] = max(peak[0], total)
            time.sleep(interval)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return peak


def timed(cmd: list[str], *, memory: bool = False) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = peak_tree_rss(proc) if memory else [0]
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(out, err, sep="\n")
        raise SystemExit(f"{' '.join(cmd[:4])}: exit status {proc.returncode}")
    time.sleep(0.1)
    return wall, peak[0], out


LOAD = """
import sys, time
t0 = time.perf_counter()
from bilancio_lite import load_sweep
t_import = time.perf_counter() - t0
s = load_sweep(sys.argv[1])
t0 = time.perf_counter(); c0 = time.process_time(); tr = s.trades
t_all = time.perf_counter() - t0; c_all = time.process_time() - c0
rid = sys.argv[2]
s2 = load_sweep(sys.argv[1])
t0 = time.perf_counter(); one = s2.run(rid); t_one = time.perf_counter() - t0
t0 = time.perf_counter(); n = s2.sql("select count(*) from trades")
t_sql = time.perf_counter() - t0
print(f"{t_all:.3f} {len(tr)} {t_one:.3f} {sum(len(v) for v in one.values())} {t_sql:.3f} {c_all:.3f}")
"""


#: Fresh processes the loading figures are measured in (printed: median, then min-max).
LOAD_REPEATS = 5


def spread(values: list[float]) -> str:
    """``median (min-max)`` of some timings, in seconds."""
    v = sorted(values)
    return f"{v[len(v) // 2]:.3f} ({v[0]:.3f}-{v[-1]:.3f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default=str(REPO / "params" / "plan024.yaml"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--engine", default="papermill")
    ap.add_argument("--keep", metavar="DIR", help="keep the sweep folders under DIR/<format>")
    ap.add_argument("--skip-report", action="store_true")
    ap.add_argument("--only", choices=("parquet", "csv"))
    ap.add_argument("--parallel-csv-report", action="store_true",
                    help="render the CSV sweep's report in parallel too (default: one notebook at a "
                         "time, as before issue 10)")
    args = ap.parse_args()

    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_store_"))
    formats = [args.only] if args.only else ["csv", "parquet"]
    exe = [sys.executable, "-m", "bilancio_lite"]
    rows = {}
    for fmt in formats:
        out = base / fmt
        if out.exists():
            shutil.rmtree(out)
        wall, _, _ = timed([*exe, "sweep", args.sweep, "--out", str(out), "--format", fmt,
                            "--engine", args.engine, "--workers", str(args.workers), "--no-progress"])
        size, files = disk(out)
        import pandas as pd

        comp = pd.read_csv(out / "aggregate" / "comparison.csv")
        rid = comp["active_run_id"].iloc[len(comp) // 2]
        # LOAD_REPEATS fresh processes: on a VM the first touch of new memory pages varies a lot
        loads = [timed([sys.executable, "-c", LOAD, str(out), rid])[2].split() for _ in range(LOAD_REPEATS)]
        n_rows = loads[0][1]
        t_all, t_one, t_sql, c_all = (spread([float(lo[i]) for lo in loads]) for i in (0, 2, 4, 5))
        r = {"sweep wall (s)": f"{wall:.1f}", "disk (MB)": f"{size / 1e6:.1f}", "files": f"{files:,}",
             "load trades, all runs (s)": t_all, "  CPU time (s)": c_all, "  rows": f"{int(n_rows):,}",
             "load one run's 5 tables (s)": t_one, "sql count(*) trades (s)": t_sql}
        if not args.skip_report:
            # "before": today's report (one notebook after the other) on the CSV format
            workers = ["--workers", "1"] if fmt == "csv" and not args.parallel_csv_report else []
            hwall, hpeak, _ = timed([*exe, "report", str(out), *workers], memory=True)
            r["report wall (s)"] = f"{hwall:.1f}"
            r["report peak RSS, tree (GiB)"] = f"{hpeak / 2**30:.2f}"
        rows[fmt] = r
        print(f"[{fmt}] done: {r}", flush=True)

    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (other work on the machine skews wall times)")
    print(f"\nsweep {Path(args.sweep).name}, engine {args.engine}, {args.workers} workers, folder {base}")
    keys = list(next(iter(rows.values())))
    print(f"{'':32s}" + "".join(f"{f:>22s}" for f in formats))
    for k in keys:
        print(f"{k:32s}" + "".join(f"{rows[f].get(k, ''):>22s}" for f in formats))
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
