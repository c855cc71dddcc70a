"""Paired effects across replicates: kappa .5 has 4 seeds with effects (.1, .2, 0, .3); kappa 1 has
3 seeds with all-zero effects; kappa 2 has a single pair."""

import math

import numpy as np
import pytest

from bilancio_lite.analysis import (
    CELL_KEYS, paired_effect_by_slice, replicate_count, takeaway_replicate_count, wilcoxon_test,
)
from bilancio_lite.analysis.replicates import EFFECT_VALUE_COLUMNS
from factories.frames import P, comparison


def comp():
    pairs = [P(0.5, s, delta_passive=d, delta_active=0.0) for s, d in zip([1, 2, 3, 4], [.1, .2, 0, .3])]
    pairs += [P(1.0, s) for s in (1, 2, 3)]
    pairs += [P(2.0, 1, delta_passive=0.5)]
    return comparison(*pairs)


def test_paired_effect_by_kappa_gives_mean_bootstrap_ci_and_wilcoxon_p():
    t = paired_effect_by_slice(comp(), "kappa", n_boot=500)
    assert list(t.columns) == ["kappa"] + EFFECT_VALUE_COLUMNS
    a, b, c = (t.iloc[i] for i in range(3))
    assert (a.kappa, a.n_pairs, a.n_seeds, a.n_nonzero) == (0.5, 4, 4, 3)
    assert a.mean_effect == pytest.approx(0.15)
    # zeros dropped: (.1, .2, .3) all positive -> W- = 0, exact two-sided p = 2/2^3
    assert (a.wilcoxon_statistic, a.p_value, a.note) == (0.0, 0.25, "")
    # a bootstrap mean of 4 values from {0, .1, .2, .3} is a multiple of .025 in [0, .3]
    assert 0.0 <= a.ci_low <= a.mean_effect <= a.ci_high <= 0.3
    for v in (a.ci_low, a.ci_high):
        assert abs(v / 0.025 - round(v / 0.025)) < 1e-9
    assert (b.mean_effect, b.ci_low, b.ci_high, b.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert math.isnan(b.wilcoxon_statistic) and b.note == "all differences zero"
    assert c.n_pairs == 1 and math.isnan(c.ci_low) and math.isnan(c.p_value)
    assert c.note.startswith("fewer than 2 pairs")


def test_paired_effect_is_deterministic_and_independent_of_other_slices():
    t1 = paired_effect_by_slice(comp(), "kappa", n_boot=300, seed=7)
    t2 = paired_effect_by_slice(comp(), "kappa", n_boot=300, seed=7)
    assert t1.equals(t2)
    only = paired_effect_by_slice(comp().query("kappa == 0.5"), "kappa", n_boot=300, seed=7)
    assert only.iloc[0].ci_low == t1.iloc[0].ci_low and only.iloc[0].ci_high == t1.iloc[0].ci_high


def test_one_pair_per_cell_has_no_ci_and_no_p_value():
    t = paired_effect_by_slice(comp().query("seed == 1"), list(CELL_KEYS))
    assert len(t) == 3 and (t["n_pairs"] == 1).all()
    assert t["ci_low"].isna().all() and t["p_value"].isna().all()
    assert t["note"].str.startswith("fewer than 2").all()


def test_paired_effect_accepts_the_rho_alias_and_keeps_columns_when_empty():
    t = paired_effect_by_slice(comp(), "rho", n_boot=100)
    assert t.columns[0] == "outside_mid_ratio" and t.iloc[0].n_pairs == 8
    e = paired_effect_by_slice(comp().iloc[0:0], "kappa")
    assert e.empty and list(e.columns) == ["kappa"] + EFFECT_VALUE_COLUMNS


def test_wilcoxon_of_all_zero_differences_is_p_1_and_of_one_difference_nan():
    assert wilcoxon_test(np.array([0.0, 0.0]))[1:] == (1.0, "all differences zero")
    assert math.isnan(wilcoxon_test(np.array([0.3]))[1])


# --------------------------------------------------------------------------- replicates


def test_replicate_count_counts_seeds_per_cell_and_says_so():
    one = comparison(P(0.5, 1), P(1.0, 1))
    two = comparison(P(0.5, 1), P(0.5, 2))
    assert replicate_count(one) == 1 and replicate_count(two) == 2
    assert replicate_count(one.iloc[0:0]) == 0
    assert takeaway_replicate_count(one).startswith("The sweep has R = 1 replicate per cell (2 pairs")
    assert "R = 2 replicates" in takeaway_replicate_count(two)
