"""The headline of a replicated sweep with its CI over replicate seeds, beside the CIs used before
issue 20, and the variance shares of the grid axes (docs/model.md §7.6).

    python benchmarks/replicate_headline.py outputs/plan024_r20

Reads aggregate/comparison.csv through ``bilancio_lite.load_sweep``. For all cells and for the
mu > 0 cells it prints the estimate (mean over cells of the cell means) with: the t interval over
the R seed means (the estimator of ``bilancio_lite.analysis.replicates``) and its t-test p; the
BCa bootstrap over the same seed means; and, for comparison only, the two CIs this project used
before (a percentile bootstrap over pairs with the Wilcoxon signed-rank p over pairs, as
``analysis/replicates.py`` did; a percentile bootstrap over cell means, as this script did).
Then the cell-effect distribution, every seed mean, each overview cut with its seed CI, and the
variance decomposition. Prints figures only.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from bilancio_lite import load_sweep
from bilancio_lite.analysis import (
    CELL_KEYS, OVERVIEW_CUTS, cell_effects, headline_table, heterogeneity_summary,
    paired_effect_by_slice, replicate_count, seed_means,
)
from bilancio_lite.analysis.variance import variance_decomposition


def pct(x: np.ndarray) -> tuple[float, float]:
    r = stats.bootstrap((x,), np.mean, method="percentile", n_resamples=4000,
                        rng=np.random.default_rng(12345)).confidence_interval
    return float(r.low), float(r.high)


def main(path: str) -> None:
    comp = load_sweep(path).comparison
    R = replicate_count(comp)
    print(f"{path}: {len(comp):,} pairs, {comp.groupby(list(CELL_KEYS)).ngroups} cells, R = {R}")
    print(f"mean delta passive / active: {comp['delta_passive'].mean():.4f} / {comp['delta_active'].mean():.4f}")
    counts, n = comp["effect_class"].value_counts(), len(comp)
    print("effect classes (pairs): " + ", ".join(
        f"{c} {counts.get(c, 0):,} ({100 * counts.get(c, 0) / n:.1f}%)" for c in ("improved", "unchanged", "worsened")))
    g = comp.groupby(list(CELL_KEYS))["trading_effect"]
    n_neg, size = g.apply(lambda s: int((s < -1e-12).sum())), g.size()
    print(f"cells worsened in at least one replicate: {int((n_neg > 0).sum())}; in most: {int((n_neg > size / 2).sum())}")
    bca = headline_table(comp, method="bca").set_index("cut")
    for cut, row in headline_table(comp).set_index("cut").iterrows():
        sub = comp if cut == "all cells" else comp[comp["mu"] > 0]
        x = sub["trading_effect"].to_numpy(float)
        cells = sub.groupby(list(CELL_KEYS))["trading_effect"].mean().to_numpy(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = stats.wilcoxon(x[x != 0]).pvalue
        print(f"\n{cut}: {int(row.n_cells)} cells x {int(row.n_seeds)} seeds, estimate {row.mean_effect:+.4f}")
        print(f"  seed CI (t over {int(row.n_seeds)} seed means)    [{row.ci_low:+.4f}, {row.ci_high:+.4f}]  t-test p = {row.p_value:.2g}")
        print(f"  seed CI (BCa over seed means)      [{bca.loc[cut, 'ci_low']:+.4f}, {bca.loc[cut, 'ci_high']:+.4f}]")
        print("  old: over pairs (percentile)       [{:+.4f}, {:+.4f}]  signed-rank p over pairs = {:.2g}".format(*pct(x), w))
        print("  old: over cells (percentile)       [{:+.4f}, {:+.4f}]".format(*pct(cells)))
        sm = seed_means(sub)
        print("  seed means: " + ", ".join(f"{int(s)}: {m:+.4f}" for s, m in zip(sm["seed"], sm["seed_mean"])))
    print("\ncell-effect distribution (heterogeneity, not uncertainty):")
    h = heterogeneity_summary(cell_effects(comp))
    print("  " + ", ".join(f"{s} {v:.4g}" for s, v in zip(h["statistic"], h["value"])))
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        for by in OVERVIEW_CUTS:
            t = paired_effect_by_slice(comp, by)
            print()
            print(t[[by, "n_cells", "n_seeds", "mean_effect", "ci_low", "ci_high", "p_value"]].round(4).to_string(index=False))
        for label, sub in (("all cells", comp), ("mu > 0 cells", comp[comp["mu"] > 0])):
            v = variance_decomposition(sub)
            print(f"\nvariance decomposition of the cell means, {label} (shares; 95% CI: percentile "
                  f"bootstrap over seeds):")
            print(v.round(4).to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "outputs/plan024_r20")
