"""Benchmark: run time against t_end (issue 24; not a test).

    python benchmarks/bench_t_end.py [--repeats 3]

Prints the CPU time of `pair --n-traders 2 --Q-total 40 --t-end T` for T = 1,000 ... 20,000 and the
time per simulated day: constant per day means the cost is linear in t_end (before issue 24 the
daily bucket table covered every due day since day 0, so a run cost O(t_end^2): 30 s at 10,000).
"""

from __future__ import annotations

import argparse
import statistics
import time

from bilancio_lite import ModelParams, simulate_pair


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    for t_end in (1_000, 5_000, 10_000, 20_000):
        p = ModelParams(n_traders=2, Q_total=40, t_end=t_end)
        times = []
        for _ in range(args.repeats):
            t0 = time.process_time()
            simulate_pair(p)
            times.append(time.process_time() - t0)
        med = statistics.median(times)
        print(f"t_end {t_end:>6,}: {med:6.2f} s CPU (median of {args.repeats}), "
              f"{1e6 * med / (2 * (t_end + 1)):6.1f} us per regime-day")


if __name__ == "__main__":
    main()
