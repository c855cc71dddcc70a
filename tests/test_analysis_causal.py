"""Issue 21's analyses: the effect by trading window, the price/cash split of rho, the
structural/behavioural split of unchanged pairs, the logits with controls, companion sweeps.
Expected values are worked out by hand from the inputs, not taken from the code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bilancio_lite.analysis.companion import find_companion
from bilancio_lite.analysis.controls import cannot_default_summary, fit_logits, logit_frame, takeaway_margins
from bilancio_lite.analysis.no_difference import unchanged_kind, unchanged_kinds_table, takeaway_user_count
from bilancio_lite.analysis.price_cash import price_cash_split, price_cash_table, takeaway_price_cash
from bilancio_lite.analysis.window import OPEN_EVERY_DAY, takeaway_window, window_effect


def _window_comp():
    rows = []
    # two cells, three seeds; effect(u) per seed: day 0 -> 0.1*s, every day -> 0.2*s (cell 1),
    # cell 2 adds 0.1 to both; trades 2 and 4
    for seed in (1, 2, 3):
        for cell, add in ((1, 0.0), (2, 0.1)):
            for u, eff, tr in ((0, 0.1 * seed, 2), (None, 0.2 * seed, 4)):
                rows.append(dict(variant="par", kappa=cell, seed=seed, market_open_from=0, market_open_until=u,
                                 trading_effect=eff + add, total_trades=tr))
    return pd.DataFrame(rows)


def test_window_effect_means_over_seeds_and_shares():
    t = window_effect(_window_comp())
    assert list(t["last_open_day"]) == [0, OPEN_EVERY_DAY]
    d0, full = t.iloc[0], t.iloc[1]
    # per seed: day 0 mean over cells = 0.1 s + 0.05 -> 0.15, 0.25, 0.35; every day: 0.25, 0.45, 0.65
    assert d0["mean_effect"] == pytest.approx(0.25) and full["mean_effect"] == pytest.approx(0.45)
    # t interval over 3 seeds: sd = 0.1, t(0.975, 2) = 4.302653
    assert d0["ci_high"] - d0["mean_effect"] == pytest.approx(4.302653 * 0.1 / np.sqrt(3), rel=1e-5)
    # share per seed: 0.15/0.25, 0.25/0.45, 0.35/0.65
    assert d0["share_of_full_effect"] == pytest.approx(np.mean([0.6, 0.25 / 0.45, 0.35 / 0.65]))
    assert full["share_of_full_effect"] == pytest.approx(1.0)
    assert d0["n_pairs"] == 6 and d0["n_seeds"] == 3 and d0["mean_trades"] == 2
    text = takeaway_window(t, "par")
    assert "0.4500" in text and "closing the market after day 0 keeps 56%" in text


def test_price_cash_split_by_hand():
    rows = []
    E = {(1.0, 1.0): 0.30, (1.0, 0.75): 0.25, (0.75, 1.0): 0.18, (0.75, 0.75): 0.15}
    for (r, c), e in E.items():
        for k in range(2):  # two pairs per cell with effects e -/+ 0.01
            rows.append(dict(outside_mid_ratio=r, mm_cash_ratio=c, trading_effect=e + (0.01 if k else -0.01),
                             mm_total_pnl=-10.0, mm_total_pnl_passive=0.0, face_value=20.0,
                             defaulted_lineages_passive=3, defaulted_lineages_active=1))
    table = price_cash_table(pd.DataFrame(rows))
    assert len(table) == 4 and (table["n_pairs"] == 2).all()
    # avoided face 2 x 20 = 40 per pair, cost 10 per pair
    assert (table["avoided_face_per_mm_loss"] == 4.0).all()
    split = price_cash_split(table)
    row = split.loc[split["outside_mid_ratio"] == 1.0].iloc[0]
    # total 0.30 - 0.15 = 0.15; price = 1/2[(0.25 - 0.15) + (0.30 - 0.18)] = 0.11; cash 0.04
    assert row["total_change"] == pytest.approx(0.15)
    assert row["price_part"] == pytest.approx(0.11) and row["cash_part"] == pytest.approx(0.04)
    assert "+0.1100 is the price" in takeaway_price_cash(split)


def test_structural_split_uses_the_lead_of_section_2_2():
    pk = dict(kappa=1.0, concentration=1.0, outside_mid_ratio=0.75, seed=42)
    no_diff = pd.DataFrame([dict(pk, mu=mu, trader_dealer_trade_count=n, zero_default_pair=z)
                            for mu, n, z in ((0.0, 0, True), (0.05, 0, False), (0.25, 3, False))])
    comp = no_diff[["kappa", "concentration", "mu", "outside_mid_ratio", "seed"]].assign(maturity_days=10)
    kinds = unchanged_kind(no_diff, comp)
    # lead = round(mu*9): 0, round(0.45) = 0, round(2.25) = 2
    assert list(kinds) == ["structural", "structural", "behavioural"]
    table = unchanged_kinds_table(no_diff, kinds)
    assert table["n_pairs"].tolist() == [2, 1] and table["n_no_trade"].tolist() == [2, 0]
    assert "2 of them are structural" in takeaway_user_count(table, 625)


def _traders(n_seeds=5, n=4000, seed=0):
    rng = np.random.default_rng(seed)
    cash = rng.uniform(0.0, 1.5, n)
    mism = rng.integers(-5, 6, n).astype(float)
    # default probability falls with cash/debt, does not depend on mismatch; dealer use rises with mismatch
    p_def = 1 / (1 + np.exp(-(2.0 - 5.0 * cash)))
    p_use = 1 / (1 + np.exp(-(-1.0 + 0.5 * mism)))
    return pd.DataFrame(dict(
        kappa=rng.choice([0.5, 1.0], n), concentration=rng.choice([0.5, 2.0], n), mu=rng.choice([0.25, 0.75], n),
        outside_mid_ratio=rng.choice([0.75, 1.0], n), seed=rng.integers(0, n_seeds, n), trader_id=np.arange(n),
        init_cash_debt_ratio=cash, init_claims_face=rng.uniform(10, 30, n), init_liability_face=20.0,
        maturity_mismatch=mism, defaulted_passive=rng.random(n) < p_def, defaulted_active=rng.random(n) < p_def,
        used_dealer=rng.random(n) < p_use))


def test_logits_recover_the_signs_and_cluster_by_seed():
    frame = logit_frame(_traders())
    m = fit_logits(frame).set_index(["outcome", "regressor"])
    assert m.loc[("defaulted", "cash_debt"), "dy_dx"] < -0.3 and m.loc[("defaulted", "cash_debt"), "p_value"] < 1e-6
    assert abs(m.loc[("defaulted", "mismatch"), "dy_dx"]) < 0.01  # no effect in the data
    assert m.loc[("used_dealer", "mismatch"), "dy_dx"] > 0.05
    assert (m["se_type"] == "clustered by seed").all() and (m["n_clusters"] == 5).all() and m["converged"].all()
    # only traders with cash/debt < 1 are fitted: 2 rows (passive, active) each
    n_can = int((_traders()["init_cash_debt_ratio"] < 1).sum())
    assert m.loc[("defaulted", "cash_debt"), "n_obs"] == 2 * n_can
    s = cannot_default_summary(frame)
    assert s["n_traders"].tolist() == [n_can, 4000 - n_can]
    assert "initial cash / debt" in takeaway_margins(fit_logits(frame))


def test_logits_with_one_seed_say_so():
    m = fit_logits(logit_frame(_traders(n_seeds=1)))
    assert (m["se_type"].str.startswith("HC1")).all() and (m["n_clusters"] == 0).all()


def test_find_companion(tmp_path):
    main = tmp_path / "plan024"
    main.mkdir()
    c = find_companion("horizons", "", main)
    assert not c.found and "bilancio-lite sweep params/horizons.yaml" in c.missing_note
    (tmp_path / "horizons" / "aggregate").mkdir(parents=True)
    (tmp_path / "horizons" / "aggregate" / "comparison.csv").write_text("x\n")
    c = find_companion("horizons", "", main)
    assert c.found and c.path == tmp_path / "horizons"
    assert not find_companion("horizons", tmp_path / "elsewhere", main).found


def test_timing_summary_by_hand():
    from bilancio_lite.analysis.window import takeaway_timing, timing_summary
    comp = pd.DataFrame([
        dict(rollover_price="par", rollover_lender="forced", total_trades=10, trade_day_share_day0=1.0,
             last_customer_trade_day=0, defaults_after_cycle1_passive=0),
        dict(rollover_price="par", rollover_lender="forced", total_trades=30, trade_day_share_day0=0.9,
             last_customer_trade_day=4, defaults_after_cycle1_passive=0),
        dict(rollover_price="par", rollover_lender="forced", total_trades=0, trade_day_share_day0=None,
             last_customer_trade_day=None, defaults_after_cycle1_passive=0),
        dict(rollover_price="risk_priced", rollover_lender="forced", total_trades=5, trade_day_share_day0=0.2,
             last_customer_trade_day=17, defaults_after_cycle1_passive=3)])
    t = timing_summary(comp).set_index("rollover_price")
    assert t.loc["par", "share_day0"] == pytest.approx(37 / 40) and t.loc["par", "pairs_trading_after_day0"] == 1
    assert t.loc["risk_priced", "pairs_defaulting_after_cycle1"] == 1 and t.loc["risk_priced", "last_trade_day"] == 17
    assert "92.5% of 40 customer trades happen on day 0" in takeaway_timing(t.reset_index())
