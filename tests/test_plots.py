"""plots.py smoke tests: every sweep-level figure is a labelled matplotlib Figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from bilancio_lite import plots  # noqa: E402
from bilancio_lite.analysis import robustness as rb  # noqa: E402
from bilancio_lite.analysis import why  # noqa: E402
from factories.figures import assert_labelled as _labelled  # noqa: E402


def test_sweep_plots_are_labelled_figures():
    days = pd.DataFrame({"day": [0, 1, 2], "n_trades": [100, 1, 0], "share": [0.99, 0.01, 0], "n_runs_trading": [3, 1, 0]})
    _labelled(plots.trade_days(days))
    cyc = pd.DataFrame({"regime": ["passive", "active"], "cycle": [1, 1], "n_defaulted": [3, 2]})
    _labelled(plots.defaults_by_cycle(cyc))
    mid = pd.DataFrame([{"regime": r, "bucket": b, "day": d, "mean_M": 0.7, "p10_M": 0.6, "p90_M": 0.8}
                        for r in ("passive", "active") for b in ("short", "mid", "long") for d in (0, 1)])
    _labelled(plots.outside_mid_path(mid))
    mech = pd.DataFrame({"outcome": ["harmed", "rescued"], "mechanism": ["other", "rescued_by_sale"],
                         "rollover_lender": ["forced", "liquidity_aware"]})
    _labelled(plots.mechanism_counts(why.mechanism_counts(mech)))
    _labelled(plots.mechanism_counts(why.mechanism_counts(mech, ["rollover_lender"]), "rollover_lender"))
    comp = pd.DataFrame({"variant": ["a", "a", "b", "b"], "delta_passive": 0.5, "delta_active": 0.4,
                         "trading_effect": [0.1, 0.2, 0.0, -0.1], "kappa": [1.0, 2.0, 1.0, 2.0],
                         "concentration": 1.0, "mu": 0.5, "outside_mid_ratio": 0.75, "seed": 42,
                         "effect_class": ["improved", "improved", "unchanged", "worsened"]})
    _labelled(plots.robustness_forest(rb.robustness_table(comp, ["a", "b"])))
    _labelled(plots.robustness_forest(rb.robustness_table(comp, ["a", "b"]), difference=True))
    shares = pd.DataFrame({"term": ["kappa", "kappa × mu", "higher-order interactions"],
                           "kind": ["main effect", "two-way interaction", "remainder"],
                           "share": [0.6, 0.3, 0.1], "ci_low": [0.5, 0.2, 0.05], "ci_high": [0.7, 0.4, 0.2]})
    _labelled(plots.variance_shares(shares))
    _labelled(plots.effect_by_axis(rb.effect_by_axis(comp, "kappa", ["a", "b"]), "kappa"))
    grid = pd.DataFrame({"x": [1, 1, 2, 3], "y": [0, 0, 1, 1]})
    _labelled(plots.counts_grid(grid, "x", "y", "t", "x (days)", "y (days)"))
