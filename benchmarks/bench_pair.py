"""Benchmark: wall time of one passive/active pair (issue 2; not a test).

    python benchmarks/bench_pair.py [--repeats 15]

Prints the median and IQR for N=100 (defaults; logging on and off; the mu=0 worst case, where every
ticket rolls every day; simulation plus writing the ten CSVs) and for N=1,000 (Q scaled to keep
S=20 and the same debt per trader).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from bilancio_lite import ModelParams, simulate_pair, write_pair

CASES = {
    "N=100 defaults (logs on)": dict(),
    "N=100 defaults (logs off)": dict(detailed_logging=False),
    "N=100 mu=0 (daily rollover of all)": dict(mu=0.0),
    "N=100 kappa=0.25 mu=1 (stress)": dict(kappa=0.25, mu=1.0),
    "N=100 defaults, simulate + write CSVs": dict(write=True),
    "N=1000 defaults (logs on)": dict(n_traders=1000, Q_total=100_000),
}


def bench(params: ModelParams, repeats: int, write: bool = False) -> list[float]:
    simulate_pair(params)  # warm-up
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeats):
            t0 = time.perf_counter()
            pair = simulate_pair(params)
            if write:
                write_pair(pair, f"{tmp}/{k}", update_comparison=False)
            out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    print(f"{'case':40s} {'median s':>9s} {'q1':>8s} {'q3':>8s}")
    medians = {}
    for name, kw in CASES.items():
        reps = args.repeats if "1000" not in name else max(3, args.repeats // 3)
        kw = dict(kw)
        write = kw.pop("write", False)
        ts = sorted(bench(ModelParams(**kw), reps, write))
        q1, med, q3 = statistics.quantiles(ts, n=4) if len(ts) >= 4 else (ts[0], statistics.median(ts), ts[-1])
        medians[name] = med
        print(f"{name:40s} {med:9.4f} {q1:8.4f} {q3:8.4f}")
    ratio = medians["N=1000 defaults (logs on)"] / medians["N=100 defaults (logs on)"]
    print(f"\nN=1000 / N=100 cost ratio: {ratio:.1f} (linear growth would be 10)")


if __name__ == "__main__":
    main()
