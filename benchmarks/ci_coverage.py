"""Coverage of 95% CIs for the whole-grid mean effect on synthetic sweeps with a known truth
(docs/model.md §7.6; the generator is tests/factories/synthetic.py: a fixed 81-cell grid,
heterogeneous cell effects, seed shocks shared by the cells of a seed, pair noise).

    python benchmarks/ci_coverage.py [n_sweeps]

Prints, for R = 5 and R = 20, the share of synthetic sweeps whose CI covers the truth for: the
t interval over seed means (the default of bilancio_lite.analysis.replicates), the BCa and
percentile bootstraps over seed means (scipy.stats.bootstrap, the ``method`` option), and the two
CIs used before issue 20 (a percentile bootstrap over pairs; one over cell means). Prints only.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from factories.synthetic import synthetic_sweeps  # noqa: E402

from bilancio_lite.analysis import CELL_KEYS, paired_effect_by_slice  # noqa: E402


def cover(lo, hi, truth) -> str:
    lo, hi = np.asarray(lo), np.asarray(hi)
    return f"{100 * np.mean((lo <= truth) & (truth <= hi)):5.1f}%"


def pct_boot(x: np.ndarray, n_resamples: int = 499):
    res = stats.bootstrap((x,), np.mean, axis=-1, vectorized=True, method="percentile",
                          n_resamples=n_resamples, batch=20, rng=np.random.default_rng(1))
    return res.confidence_interval.low, res.confidence_interval.high


def main(n_sweeps: int) -> None:
    print(f"{n_sweeps} synthetic sweeps per R, 81 cells; coverage of the 95% CI of the whole-grid mean")
    for R in (5, 20):
        t0 = time.perf_counter()
        comp, truth = synthetic_sweeps(n_sweeps, R, seed=100 + R)
        row = {}
        for m in ("t", "bca", "percentile"):
            t = paired_effect_by_slice(comp, "sweep", method=m)
            row[f"seed {m}"] = cover(t["ci_low"], t["ci_high"], truth)
        pairs = comp.sort_values("sweep", kind="mergesort")["trading_effect"].to_numpy().reshape(n_sweeps, -1)
        row["pairs (old)"] = cover(*pct_boot(pairs), truth)
        cells = comp.groupby(["sweep"] + list(CELL_KEYS))["trading_effect"].mean().to_numpy().reshape(n_sweeps, -1)
        row["cells (old)"] = cover(*pct_boot(cells), truth)
        print(f"R = {R:2d}: " + "  ".join(f"{k} {v}" for k, v in row.items())
              + f"   ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
