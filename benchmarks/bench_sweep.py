"""Benchmark: the full plan024 sweep (625 pairs, all logs on) with both engines.

    python benchmarks/bench_sweep.py [--workers 2] [--shard-size K] [--sweep params/plan024.yaml]

Runs `bilancio-lite sweep` as a subprocess into a temporary folder, once with
`--engine papermill` and once with `--engine inline`, prints the wall times, where the time
went (pair compute + CSV writing, from registry.csv, vs. everything else: process and kernel
start-up, imports, the shard notebook's table and plot) and checks that both engines wrote
byte-identical CSVs. A sample of pairs is also timed in this process, split into simulation and
CSV writing. Prints figures only; not part of the test pass/fail.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def run(engine: str, sweep: Path, out: Path, workers: int, shard_size: int | None) -> float:
    cmd = [sys.executable, "-m", "bilancio_lite", "sweep", str(sweep), "--out", str(out),
           "--engine", engine, "--workers", str(workers), "--no-progress"]
    if shard_size:
        cmd += ["--shard-size", str(shard_size)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr, sep="\n")
        raise SystemExit(f"{engine}: exit status {proc.returncode}")
    if proc.stderr.strip():
        print(f"  [{engine}] stderr was not empty:\n{proc.stderr}")
    return wall


def csv_files(root: Path) -> list[Path]:
    """The result files: per-run CSVs and pair rows (output.format csv), Parquet parts (parquet,
    the default) and aggregate/comparison.csv."""
    return sorted(p.relative_to(root) for p in [*root.rglob("*.csv"), *root.rglob("*.parquet")]
                  if p.parts[len(root.parts)] in ("passive", "active", "aggregate", "tables")
                  and p.name != "registry.csv")


def sample_profile(sweep: Path, n: int = 20) -> tuple[float, float]:
    from bilancio_lite import simulate_pair, write_pair
    from bilancio_lite.sweep import load_sweep_config

    pairs = load_sweep_config(sweep).pairs()
    step = max(1, len(pairs) // n)
    sim = wr = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        chosen = pairs[::step][:n]
        for spec in chosen:
            t0 = time.perf_counter()
            pair = simulate_pair(spec.params)
            t1 = time.perf_counter()
            write_pair(pair, tmp, update_comparison=False)
            wr += time.perf_counter() - t1
            sim += t1 - t0
    return sim / len(chosen), wr / len(chosen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", type=Path, default=REPO / "params" / "plan024.yaml")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shard-size", type=int, default=None)
    ap.add_argument("--engines", nargs="+", default=["papermill", "inline"])
    ap.add_argument("--keep", action="store_true", help="keep the output folders")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    results = {}
    try:
        for engine in args.engines:
            out = tmp / engine
            wall = run(engine, args.sweep, out, args.workers, args.shard_size)
            reg = pd.read_csv(out / "registry.csv")
            pair_s = reg["wall_time_s"].sum()
            n_shards = reg["shard"].nunique()
            other = wall * args.workers - pair_s
            results[engine] = (wall, out)
            print(f"{engine:>9}: {wall:6.1f} s wall for {len(reg)} pairs in {n_shards} shards "
                  f"({args.workers} workers); pair compute+write {pair_s:.1f} worker-s "
                  f"({pair_s / len(reg) * 1000:.0f} ms/pair), everything else {other:.1f} worker-s "
                  f"({other / n_shards:.2f} s/shard)")
        if len(results) == 2:
            (_, a), (_, b) = results.values()
            files = csv_files(a)
            same = files == csv_files(b) and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files)
            print(f"result files byte-identical across engines: {same} ({len(files)} files)")
        sim, wr = sample_profile(args.sweep)
        print(f"in-process sample: simulate_pair {sim * 1000:.0f} ms/pair, write_pair {wr * 1000:.0f} ms/pair")
    finally:
        if args.keep:
            print(f"outputs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
