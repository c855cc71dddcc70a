"""Notebook 07's tables (§6.4 variants, §7.2): the headline per variant and its verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bilancio_lite.analysis import robustness as rb


def comp(variant, effects, kappa=None):
    n = len(effects)
    return pd.DataFrame({"variant": variant, "delta_passive": 0.5, "delta_active": 0.5 - np.array(effects),
                         "trading_effect": effects, "kappa": kappa or [1.0] * n,
                         "outside_mid_ratio": [0.75] * n,
                         "effect_class": ["improved" if e > 0 else "worsened" if e < 0 else "unchanged"
                                          for e in effects]})


def test_table_in_sweep_order_with_ci_and_classes():
    c = pd.concat([comp("z_last", [0.0, 0.0]), comp("base", [0.1, 0.2, 0.0]), comp("flip", [-0.1, -0.2])])
    t = rb.robustness_table(c, ["base", "flip", "z_last"])
    assert t["variant"].tolist() == ["base", "flip", "z_last"]
    b = t.iloc[0]
    assert b["mean_trading_effect"] == pytest.approx(0.1) and b["ci_low"] <= 0.1 <= b["ci_high"]
    assert (b["n_improved"], b["n_unchanged"], b["n_worsened"]) == (2, 1, 0)
    assert rb.takeaway_variant(t, "flip", "base").startswith("flip: the headline does not survive")
    assert "weakens" in rb.takeaway_variant(t, "z_last", "base") or "does not survive" in rb.takeaway_variant(t, "z_last", "base")


def test_verdicts_survive_and_weaken():
    c = pd.concat([comp("base", [0.1] * 10), comp("same", [0.2] * 10), comp("noisy", [1.0, -0.9, 0.1, -0.1])])
    t = rb.robustness_table(c, ["base", "same", "noisy"])
    assert "the headline survives" in rb.takeaway_variant(t, "same", "base")
    assert "2.00 times the baseline" in rb.takeaway_variant(t, "same", "base")
    assert "weakens" in rb.takeaway_variant(t, "noisy", "base")
    assert rb.takeaway_variant(t, "base", "base").startswith("Baseline base:")


def test_sweep_without_variants_is_one_row():
    c = comp("", [0.1, 0.0]).drop(columns="variant")
    t = rb.robustness_table(c)
    assert t["variant"].tolist() == [rb.NO_VARIANT]
    assert rb.effect_by_axis(c, "kappa").columns.tolist() == ["kappa", rb.NO_VARIANT]


def test_effect_by_axis_pivots_per_variant():
    c = pd.concat([comp("a", [0.1, 0.3], kappa=[1.0, 2.0]), comp("b", [0.0, 0.2], kappa=[1.0, 2.0])])
    w = rb.effect_by_axis(c, "kappa", ["b", "a"])
    assert w.columns.tolist() == ["kappa", "b", "a"] and w["a"].tolist() == pytest.approx([0.1, 0.3])
