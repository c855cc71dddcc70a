"""The headline of a replicated sweep: mean trading effect with its CI, effect classes, and every
overview cut with its bootstrap CI and signed-rank p-value (the figures of issue 10's closing note).

    python benchmarks/replicate_headline.py outputs/plan024_r20

Reads aggregate/comparison.csv through ``bilancio_lite.load_sweep``. The CI of the overall mean
is a percentile bootstrap over grid cells (each cell's replicate mean), so the replicates of one
cell are not treated as independent of the cell; the per-cut tables use
``bilancio_lite.analysis.replicates.paired_effect_by_slice`` (bootstrap over pairs, Wilcoxon
signed-rank test). Prints figures only.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from bilancio_lite import load_sweep
from bilancio_lite.analysis.replicates import bootstrap_mean_ci, paired_effect_by_slice, wilcoxon_test
from bilancio_lite.analysis import OVERVIEW_CUTS, replicate_count

CELL = ["kappa", "concentration", "mu", "outside_mid_ratio"]


def main(path: str) -> None:
    comp = load_sweep(path).comparison
    R = replicate_count(comp)
    print(f"{path}: {len(comp):,} pairs, {comp.groupby(CELL).ngroups} cells, R = {R}")
    x = comp["trading_effect"].to_numpy(float)
    cells = comp.groupby(CELL)["trading_effect"].mean().to_numpy(float)
    lo, hi = bootstrap_mean_ci(cells, n_boot=4000)
    _, p, _ = wilcoxon_test(x)
    print(f"mean delta passive / active: {comp['delta_passive'].mean():.4f} / {comp['delta_active'].mean():.4f}")
    print(f"mean trading effect: {x.mean():+.4f}  95% CI over cells [{lo:+.4f}, {hi:+.4f}]  "
          f"signed-rank p = {p:.3g}")
    counts = comp["effect_class"].value_counts()
    n = len(comp)
    print("effect classes (pairs): " + ", ".join(
        f"{c} {counts.get(c, 0):,} ({100 * counts.get(c, 0) / n:.1f}%)" for c in ("improved", "unchanged", "worsened")))
    # per cell: the class of the cell's mean effect, and how stable each cell's sign is across replicates
    g = comp.groupby(CELL)["trading_effect"]
    stats = pd.DataFrame({"mean": g.mean(), "n_pos": g.apply(lambda s: int((s > 1e-12).sum())),
                          "n_neg": g.apply(lambda s: int((s < -1e-12).sum())), "n": g.size()})
    print(f"cells with mean effect > 0 / = 0 / < 0: {(stats['mean'] > 1e-12).sum()} / "
          f"{(stats['mean'].abs() <= 1e-12).sum()} / {(stats['mean'] < -1e-12).sum()}")
    print(f"cells improved in every replicate: {(stats['n_pos'] == stats['n']).sum()}; "
          f"worsened in at least one replicate: {(stats['n_neg'] > 0).sum()}; "
          f"worsened in most replicates: {(stats['n_neg'] > stats['n'] / 2).sum()}")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        for by in OVERVIEW_CUTS:
            t = paired_effect_by_slice(comp, by)
            print()
            print(t[[by, "n_pairs", "mean_effect", "ci_low", "ci_high", "p_value"]].round(4).to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "outputs/plan024_r20")
