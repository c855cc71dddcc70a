"""Benchmark: one redraw of the live explorer of notebook 09 (issue 22: <= 1 s; not a test).

    python benchmarks/bench_explore.py [--repeats 10]

A redraw is what a control does (:meth:`bilancio_lite.analysis.explore.Explorer.update`): simulate
the pair (§6), build the panels' frames, draw the four panels and encode the PNG the notebook
shows. Prints, per change, the median wall time and the median CPU time of this process (the CPU
time is what a redraw costs on an idle core; the wall time also counts waiting for a busy one),
split into its stages, and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from matplotlib.figure import Figure

from bilancio_lite import ModelParams, simulate_pair
from bilancio_lite.analysis import explore

#: Control changes from the notebook's defaults (the Plan 024 baseline cell, N = 100).
CHANGES = {
    "kappa 1 -> 0.5": {"kappa": 0.5},
    "mu 0.5 -> 0 (daily rollover of all)": {"mu": 0.0},
    "rollover_lender -> liquidity_aware": {"rollover_lender": "liquidity_aware"},
    "N 100 -> 400": {"n_traders": 400},
}


def stages(params: ModelParams, fig: Figure) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of each stage of one redraw."""
    out: dict[str, tuple[float, float]] = {}
    w, c = time.perf_counter(), time.process_time()

    def lap(name: str) -> None:
        nonlocal w, c
        w2, c2 = time.perf_counter(), time.process_time()
        out[name] = (w2 - w, c2 - c)
        w, c = w2, c2

    pair = simulate_pair(params)
    lap("simulate")
    data = explore.panel_data(pair)
    lap("frames")
    explore.panels_figure(data, fig)
    lap("draw")
    explore.figure_png(fig)
    lap("png")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    base = ModelParams()
    fig = Figure(figsize=explore.FIGSIZE, dpi=explore.DPI)
    stages(base, fig)  # warm-up (imports, font cache)
    print(f"explorer redraw, median of {args.repeats} (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs)")
    print(f"{'change':40s} {'wall s':>7s} {'CPU s':>7s}   CPU by stage: simulate / frames / draw / png")
    for label, change in CHANGES.items():
        params = explore.with_changes(base, **change)
        runs = [stages(params, fig) for _ in range(args.repeats)]
        wall = statistics.median(sum(s[0] for s in r.values()) for r in runs)
        cpu = statistics.median(sum(s[1] for s in r.values()) for r in runs)
        split = " / ".join(f"{statistics.median(r[k][1] for r in runs):.3f}" for k in runs[0])
        print(f"{label:40s} {wall:7.3f} {cpu:7.3f}   {split}")
    ex = explore.Explorer(base)  # the whole update path, display handles aside
    t = statistics.median(ex.update(kappa=k) for k in (0.5, 1.0, 0.25, 2.0, 1.0))
    print(f"{'Explorer.update (kappa changes), wall':40s} {t:7.3f}")


if __name__ == "__main__":
    main()
