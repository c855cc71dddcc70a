"""Issue 13: the Plan 024 grid under `rollover_price = par` and `risk_priced`, timed side by side.

    python benchmarks/bench_rollover_price.py [--rounds 2] [--workers 2]

Simulates all 625 pairs (both regimes, full logs, nothing written) with a process pool, alternating
par and risk_priced `--rounds` times so both see the same machine load, and prints each wall time,
the medians and their ratio (the issue asks for risk_priced within ±20% of par).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

GRID = dict(kappa=[0.25, 0.5, 1, 2, 4], concentration=[0.2, 0.5, 1, 2, 5], mu=[0, 0.25, 0.5, 0.75, 1],
            outside_mid_ratio=[1.0, 0.9, 0.8, 0.75, 0.5])


def _pair(point: dict) -> int:
    from bilancio_lite import ModelParams, simulate_pair
    pair = simulate_pair(ModelParams(**point))
    return len(pair.active.tables.rows["trades"])


def grid_time(rule: str, workers: int) -> float:
    points = [dict(zip(GRID, vals), rollover_price=rule) for vals in itertools.product(*GRID.values())]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as ex:
        list(ex.map(_pair, points, chunksize=8))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    times: dict[str, list[float]] = {"par": [], "risk_priced": []}
    for _ in range(args.rounds):
        for rule in times:
            times[rule].append(grid_time(rule, args.workers))
            print(f"{rule:12s} {times[rule][-1]:6.1f} s")
    med = {rule: statistics.median(v) for rule, v in times.items()}
    print(f"median: par {med['par']:.1f} s, risk_priced {med['risk_priced']:.1f} s, "
          f"ratio {med['risk_priced'] / med['par']:.2f}")


if __name__ == "__main__":
    main()
