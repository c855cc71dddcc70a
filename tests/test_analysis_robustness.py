"""Notebook 07's tables (§6.4 variants, §7.2, §7.6): the headline per variant with its CI over
replicate seeds, its difference from the baseline paired by (cell, seed), and the verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bilancio_lite.analysis import robustness as rb

T_975_DF2 = 4.302652729911275  # Student t quantile, 2 degrees of freedom (tables)


def comp(variant, effects, kappa=None, seeds=None):
    """One pair per effect; cells by ``kappa`` (default all 1.0), seeds 1.. unless given."""
    n = len(effects)
    return pd.DataFrame({"variant": variant, "delta_passive": 0.5, "delta_active": 0.5 - np.array(effects),
                         "trading_effect": effects, "kappa": kappa or [1.0] * n,
                         "concentration": 1.0, "mu": 0.5, "outside_mid_ratio": [0.75] * n,
                         "seed": seeds or list(range(1, n + 1)),
                         "effect_class": ["improved" if e > 0 else "worsened" if e < 0 else "unchanged"
                                          for e in effects]})


def test_table_in_sweep_order_with_seed_ci_difference_and_classes():
    c = pd.concat([comp("z_last", [0.0, 0.0, 0.0]), comp("base", [0.1, 0.2, 0.0]), comp("flip", [-0.1, -0.2, -0.3])])
    t = rb.robustness_table(c, ["base", "flip", "z_last"])
    assert t["variant"].tolist() == ["base", "flip", "z_last"]
    b, f = t.iloc[0], t.iloc[1]
    se = np.std([0.1, 0.2, 0.0], ddof=1) / np.sqrt(3)
    assert b["mean_trading_effect"] == pytest.approx(0.1) and b["n_seeds"] == 3
    assert (b["ci_low"], b["ci_high"]) == pytest.approx((0.1 - T_975_DF2 * se, 0.1 + T_975_DF2 * se))
    assert (b["n_improved"], b["n_unchanged"], b["n_worsened"]) == (2, 1, 0)
    assert (b["diff_vs_baseline"], b["diff_ci_low"], b["diff_ci_high"]) == (0.0, 0.0, 0.0)
    # flip - base paired by seed: (-.2, -.4, -.3)
    dse = np.std([-0.2, -0.4, -0.3], ddof=1) / np.sqrt(3)
    assert f["diff_vs_baseline"] == pytest.approx(-0.3)
    assert (f["diff_ci_low"], f["diff_ci_high"]) == pytest.approx((-0.3 - T_975_DF2 * dse, -0.3 + T_975_DF2 * dse))
    assert rb.takeaway_variant(t, "flip", "base").startswith("flip: the headline does not survive")
    assert "does not survive" in rb.takeaway_variant(t, "z_last", "base")


def test_differences_are_paired_by_cell_and_seed():
    base = comp("base", [0.1, 0.2, 0.3, 0.4], kappa=[1.0, 1.0, 2.0, 2.0], seeds=[1, 2, 1, 2])
    var = comp("v", [0.5, 0.2, 0.3, 0.1], kappa=[2.0, 1.0, 1.0, 2.0], seeds=[2, 2, 1, 1])
    d = rb.variant_differences(pd.concat([base, var]), "v", "base")
    got = {(r.kappa, r.seed): r.trading_effect for r in d.itertuples()}
    assert got == pytest.approx({(2.0, 2): 0.1, (1.0, 2): 0.0, (1.0, 1): 0.2, (2.0, 1): -0.2})


def test_verdicts_survive_weaken_and_size():
    c = pd.concat([comp("base", [0.1, 0.12, 0.08, 0.1]), comp("same", [0.2, 0.22, 0.18, 0.2]),
                   comp("close", [0.1, 0.13, 0.07, 0.1]), comp("noisy", [1.0, -0.9, 0.1, -0.1])])
    t = rb.robustness_table(c, ["base", "same", "close", "noisy"])
    s = rb.takeaway_variant(t, "same", "base")
    assert "the headline survives" in s and "95% CI over 4 seeds" in s and ": changes the size)" in s
    assert "does not change the size detectably" in rb.takeaway_variant(t, "close", "base")
    assert "weakens" in rb.takeaway_variant(t, "noisy", "base")
    assert rb.takeaway_variant(t, "base", "base").startswith("Baseline base:")


def test_one_seed_gives_no_ci_and_no_survival_verdict():
    c = pd.concat([comp("base", [0.1]), comp("v", [0.2])])
    t = rb.robustness_table(c, ["base", "v"])
    assert t["ci_low"].isna().all() and t["diff_ci_low"].isna().all()
    s = rb.takeaway_variant(t, "v", "base")
    assert "survival is not judged" in s and "no CI with R = 1" in s


def test_sweep_without_variants_is_one_row():
    c = comp("", [0.1, 0.0]).drop(columns="variant")
    t = rb.robustness_table(c)
    assert t["variant"].tolist() == [rb.NO_VARIANT]
    assert rb.effect_by_axis(c, "kappa").columns.tolist() == ["kappa", rb.NO_VARIANT]


def test_effect_by_axis_pivots_per_variant():
    c = pd.concat([comp("a", [0.1, 0.3], kappa=[1.0, 2.0]), comp("b", [0.0, 0.2], kappa=[1.0, 2.0])])
    w = rb.effect_by_axis(c, "kappa", ["b", "a"])
    assert w.columns.tolist() == ["kappa", "b", "a"] and w["a"].tolist() == pytest.approx([0.1, 0.3])
