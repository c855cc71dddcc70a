"""Benchmark: how long the report's table writing takes, per format (issue 25).

    python benchmarks/bench_csv_write.py SWEEP [--top N]

SWEEP is a sweep folder on which ``bilancio-lite report`` has run. Each table of its
``aggregate/`` folder is read back and written again the way :func:`bilancio_lite.analysis.write_table`
writes it: a summary with ``DataFrame.to_csv`` (``atomic.write_csv``), a row-level table as
Parquet. Prints, for the slowest tables and in total, the best of three wall and CPU times (CPU
time is the figure to trust on a shared machine). ``comparison.csv`` is written by the sweep, not
the report, and is shown apart.

Measured for issue 25 (csvtext removed) on plan024_r20: the 65 summary CSVs the report writes take
0.65 s of CPU with ``to_csv`` in total (10.7 MB), spread over the notebooks; the five Parquet tables
1.06 s (8.3 MB; as CSVs they were 481 MB and took ~20 s of CPU, 16 s of it in notebook 04, whose
``trader_initial_conditions`` has text with commas and so went through ``to_csv``). Prints figures only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def best_of(fn, n: int = 3) -> tuple[float, float]:
    """(best wall s, best CPU s) of ``n`` calls."""
    wall, cpu = [], []
    for _ in range(n):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    from bilancio_lite.analysis.io import write_parquet
    from bilancio_lite.atomic import write_csv

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep", type=Path)
    ap.add_argument("--top", type=int, default=8, help="tables listed one by one [default: 8]")
    args = ap.parse_args(argv)
    files = sorted(p for p in (args.sweep / "aggregate").iterdir()
                   if p.is_file() and p.suffix in (".csv", ".parquet") and not p.name.startswith("."))
    if not files:
        print(f"no tables under {args.sweep / 'aggregate'}: run `bilancio-lite report` first", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for p in files:
            df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
            target = Path(tmp) / p.name
            writer = write_parquet if p.suffix == ".parquet" else write_csv
            wall, cpu = best_of(lambda: writer(df, target))
            rows.append((p.name, len(df), len(df.columns), wall, cpu, target.stat().st_size))
    rows.sort(key=lambda r: -r[4])
    print(f"{'table':48s} {'rows':>9s} {'cols':>4s} {'wall s':>7s} {'CPU s':>7s} {'MB':>7s}")
    for name, n, c, wall, cpu, size in rows[:args.top]:
        print(f"{name:48s} {n:9d} {c:4d} {wall:7.3f} {cpu:7.3f} {size / 1e6:7.2f}")
    for label, pick in (("summary CSVs the report writes", lambda r: r[0].endswith(".csv") and r[0] != "comparison.csv"),
                        ("row-level Parquet tables", lambda r: r[0].endswith(".parquet")),
                        ("comparison.csv (written by the sweep)", lambda r: r[0] == "comparison.csv")):
        sel = [r for r in rows if pick(r)]
        print(f"{label}: {len(sel)} table(s), {sum(r[3] for r in sel):.2f} s wall, "
              f"{sum(r[4] for r in sel):.2f} s CPU, {sum(r[5] for r in sel) / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
