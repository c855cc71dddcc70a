"""The estimator of a cut (docs/model.md §7.6): mean of cell means, t interval and t-test over the
replicate seeds' means. Expected values are worked out by hand (or with numpy from the definition),
never read from the code under test."""

import math

import numpy as np
import pandas as pd
import pytest

from bilancio_lite.analysis import (
    CELL_KEYS, cell_effects, headline_table, heterogeneity_summary, paired_effect_by_slice,
    replicate_count, seed_interval, takeaway_headline, takeaway_heterogeneity, takeaway_replicate_count,
)
from bilancio_lite.analysis.replicates import EFFECT_VALUE_COLUMNS
from factories.frames import P, comparison

T_975_DF3 = 3.182446305284263  # Student t quantile, 3 degrees of freedom (tables)


def comp():
    """kappa .5: one cell, 4 seeds with effects (.1, .2, 0, .3); kappa 1: one cell, 3 seeds all 0;
    kappa 2: one cell, a single seed."""
    pairs = [P(0.5, s, delta_passive=d, delta_active=0.0) for s, d in zip([1, 2, 3, 4], [.1, .2, 0, .3])]
    pairs += [P(1.0, s) for s in (1, 2, 3)]
    pairs += [P(2.0, 1, delta_passive=0.5)]
    return comparison(*pairs)


def test_one_cell_per_slice_gives_the_t_interval_over_its_seeds():
    t = paired_effect_by_slice(comp(), "kappa")
    assert list(t.columns) == ["kappa"] + EFFECT_VALUE_COLUMNS
    a, b, c = (t.iloc[i] for i in range(3))
    assert (a.kappa, a.n_pairs, a.n_cells, a.n_seeds) == (0.5, 4, 1, 4)
    assert a.mean_effect == pytest.approx(0.15)
    se = np.std([.1, .2, 0, .3], ddof=1) / 2
    assert (a.ci_low, a.ci_high) == pytest.approx((0.15 - T_975_DF3 * se, 0.15 + T_975_DF3 * se))
    assert a.t_statistic == pytest.approx(0.15 / se) and a.note == ""
    assert 0.05 < a.p_value < 0.2  # t = 2.32 on 3 df: two-sided p ~ 0.10
    # all seeds zero: the CI is the point, nothing to test
    assert (b.mean_effect, b.ci_low, b.ci_high, b.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert math.isnan(b.t_statistic) and b.note.startswith("every seed mean is equal")
    assert c.n_seeds == 1 and math.isnan(c.ci_low) and math.isnan(c.p_value) and c.note == "R = 1: no CI and no test"


def test_the_seed_is_the_unit_not_the_pair():
    """Three cells share each seed's shock (common random numbers): the cut's CI is the t interval
    of the R = 4 seed means, not of the 12 pairs."""
    base = {1.0: 0.0, 2.0: 0.3, 4.0: 0.6}
    shock = {1: -0.02, 2: 0.01, 3: 0.03, 4: 0.0}
    c = comparison(*[P(k, s, trading_effect=base[k] + shock[s]) for k in base for s in shock])
    t = paired_effect_by_slice(c, None)
    assert (t.iloc[0].n_pairs, t.iloc[0].n_cells, t.iloc[0].n_seeds) == (12, 3, 4)
    seed_means = 0.3 + np.array(list(shock.values()))
    se = seed_means.std(ddof=1) / 2
    assert t.iloc[0].mean_effect == pytest.approx(0.3 + 0.005)
    assert (t.iloc[0].ci_low, t.iloc[0].ci_high) == pytest.approx((0.305 - T_975_DF3 * se, 0.305 + T_975_DF3 * se))
    # a CI over the 12 pairs would be about 4 times wider here (it counts the cells' spread)
    assert (t.iloc[0].ci_high - t.iloc[0].ci_low) < 0.1


def test_estimate_is_the_mean_of_cell_means_not_of_pairs():
    # kappa .5 has 4 seeds (mean .15), kappa 1 two seeds at 1.0: cells weigh equally
    c = pd.concat([comp().query("kappa == 0.5"),
                   comparison(*[P(1.0, s, delta_passive=1.0) for s in (1, 2)])])
    t = paired_effect_by_slice(c, None)
    assert t.iloc[0].mean_effect == pytest.approx((0.15 + 1.0) / 2)
    assert t.iloc[0].n_seeds == 4 and t.iloc[0].n_cells == 2


def test_one_pair_per_cell_has_no_ci_and_no_p_value():
    t = paired_effect_by_slice(comp().query("seed == 1"), list(CELL_KEYS))
    assert len(t) == 3 and (t["n_pairs"] == 1).all()
    assert t["ci_low"].isna().all() and t["p_value"].isna().all()
    assert (t["note"] == "R = 1: no CI and no test").all()


def test_accepts_the_rho_alias_and_keeps_columns_when_empty():
    t = paired_effect_by_slice(comp(), "rho")
    assert t.columns[0] == "outside_mid_ratio" and t.iloc[0].n_pairs == 8 and t.iloc[0].n_cells == 3
    e = paired_effect_by_slice(comp().iloc[0:0], "kappa")
    assert e.empty and list(e.columns) == ["kappa"] + EFFECT_VALUE_COLUMNS


def test_bootstrap_methods_are_scipy_bootstrap_over_the_seed_means():
    x = np.array([[0.1, 0.2, 0.0, 0.3, 0.25, 0.15]])
    for m in ("bca", "percentile"):
        r = seed_interval(x, method=m, n_resamples=2000)
        # a mean of 6 of these values lies in [0, 0.3]; the interval brackets the mean
        assert 0.0 <= r["ci_low"][0] < 1 / 6 < r["ci_high"][0] <= 0.3
        assert r["p_value"][0] == pytest.approx(seed_interval(x)["p_value"][0])  # the same t-test
    with pytest.raises(ValueError, match="method must be one of"):
        seed_interval(x, method="basic")


def test_seed_interval_is_vectorised_and_skips_missing_seeds():
    x = np.array([[0.1, 0.2, 0.0, 0.3], [0.1, np.nan, 0.3, np.nan], [0.5, np.nan, np.nan, np.nan]])
    r = seed_interval(x)
    assert r["mean"] == pytest.approx([0.15, 0.2, 0.5])
    se = np.std([0.1, 0.3], ddof=1) / np.sqrt(2)
    assert r["ci_high"][1] == pytest.approx(0.2 + 12.706204736174698 * se)  # t quantile, 1 df
    assert math.isnan(r["ci_low"][2]) and math.isnan(r["p_value"][2])


def test_headline_for_all_cells_and_for_mu_positive():
    c = pd.concat([comp().query("kappa == 0.5"),
                   comparison(*[P(0.5, s, mu=0.0) for s in (1, 2, 3, 4)])])
    h = headline_table(c)
    assert h["cut"].tolist() == ["all cells", "mu > 0"]
    assert h["mean_effect"].tolist() == pytest.approx([0.075, 0.15])
    assert h["n_cells"].tolist() == [2, 1] and (h["n_seeds"] == 4).all()
    assert h["ci_method"].str.contains("over the seed means (unit: replicate seed)", regex=False).all()
    text = takeaway_headline(h)
    assert "+0.0750 over all cells (2 cells; 95% CI over 4 seeds [" in text and "+0.1500 over mu > 0" in text
    assert "no CI with R = 1" in takeaway_headline(headline_table(c.query("seed == 1")))


def test_heterogeneity_is_a_distribution_of_cell_effects():
    cells = cell_effects(comp())
    assert cells["mean_effect"].tolist() == pytest.approx([0.15, 0.0, 0.5])
    s = dict(heterogeneity_summary(cells).itertuples(index=False))
    assert (s["cells"], s["min"], s["median"], s["max"]) == pytest.approx((3, 0.0, 0.15, 0.5))
    assert s["share with mean > 0"] == pytest.approx(2 / 3) and s["share with mean = 0"] == pytest.approx(1 / 3)
    # kappa .5's own CI includes 0; kappa 1's is [0, 0]; kappa 2 has no CI
    assert s["share with seed CI above 0"] == 0.0 and s["share with seed CI below 0"] == 0.0
    text = takeaway_heterogeneity(heterogeneity_summary(cells))
    assert text.startswith("Across the 3 cells the cell mean effect ranges from +0.000 to +0.500")
    assert text.endswith("; 0 (0%) have a positive effect whose own seed CI excludes zero and 0 (0%) a negative one.")


def test_replicate_count_counts_seeds_per_cell_and_says_so():
    one = comparison(P(0.5, 1), P(1.0, 1))
    two = comparison(P(0.5, 1), P(0.5, 2))
    assert replicate_count(one) == 1 and replicate_count(two) == 2
    assert replicate_count(one.iloc[0:0]) == 0
    assert takeaway_replicate_count(one).startswith("The sweep has R = 1 replicate per cell (2 pairs")
    assert "R = 2 replicates" in takeaway_replicate_count(two)


def test_slices_are_the_observed_combinations_only():
    # two keys whose cartesian product has a combination no pair has (kappa 2, mu 0)
    c = comparison(P(0.5, 1, mu=0.0), P(0.5, 2, mu=0.0), P(0.5, 1), P(0.5, 2), P(2.0, 1), P(2.0, 2))
    t = paired_effect_by_slice(c, ["kappa", "mu"])
    assert list(zip(t["kappa"], t["mu"])) == [(0.5, 0.0), (0.5, 0.5), (2.0, 0.5)]
    assert (t["n_seeds"] == 2).all()


def test_a_cut_by_an_outcome_takes_the_mean_of_its_seed_means():
    # the kappa 1 cell is "low" stress in seed 1 and "medium" in seed 2: the medium slice has the
    # kappa .5 cell in both seeds and the kappa 1 cell in seed 2 only
    c = comparison(P(0.5, 1, delta_passive=0.5, delta_active=0.4), P(0.5, 2, delta_passive=0.5, delta_active=0.2),
                   P(1.0, 1, delta_passive=0.05), P(1.0, 2, delta_passive=0.5, delta_active=0.0))
    t = paired_effect_by_slice(c, "stress_regime").set_index("stress_regime")
    med = t.loc["medium"]
    # seed means: seed 1 -> .1 (kappa .5 only), seed 2 -> (.3 + .5) / 2 = .4
    assert med.mean_effect == pytest.approx(0.25) and med.n_cells == 2 and med.n_seeds == 2
    assert med.ci_low < 0.25 < med.ci_high and med.note.startswith("a cut by an outcome")
