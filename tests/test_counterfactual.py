"""Counterfactual runs and attribution (docs/model.md §12)."""

from __future__ import annotations

import itertools
import random

import pandas as pd
import pytest

from bilancio_lite import ModelParams, attribute, simulate_pair
from bilancio_lite.attribution import (changed, changed_traders, counterfactual_run, intervention,
                                       passive_price_path, reverts, revert_counts, summary_lines)
from bilancio_lite.counterfactual import Counterfactual, PricePath, mask
from bilancio_lite.engine import Run
from bilancio_lite.schema import FILES, INTERVENTIONS, columns

# 20 random parameter sets; the 8 combinations of rollover price x lender rule x invest are cycled
# so that every one appears (at least twice)
_RULES = list(itertools.product(("par", "risk_priced"), ("forced", "liquidity_aware"), (False, True)))


def _random_sets(n: int = 20) -> list[ModelParams]:
    r = random.Random(20261207)
    out = []
    for k in range(n):
        price, lender, invest = _RULES[k % len(_RULES)]
        out.append(ModelParams(
            n_traders=r.choice([20, 30, 40]), Q_total=2000.0, kappa=r.choice([0.25, 0.5, 1, 2, 4]),
            concentration=r.choice([0.2, 0.5, 1, 2, 5]), mu=r.choice([0, 0.25, 0.5, 0.75, 1]),
            outside_mid_ratio=r.choice([1.0, 0.9, 0.8, 0.75, 0.5]), seed=r.randrange(1000),
            rollover_price=price, rollover_lender=lender, invest=invest))
    return out


SETS = _random_sets()


def test_the_random_sets_cover_every_rule_combination():
    seen = {(p.rollover_price, p.rollover_lender, p.invest) for p in SETS}
    assert seen == set(_RULES)


@pytest.fixture(scope="module")
def pairs():
    return [simulate_pair(p) for p in SETS]


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


@pytest.mark.parametrize("k", range(len(SETS)))
def test_none_reproduces_the_active_run_byte_for_byte(pairs, k):
    p = SETS[k]
    active = pairs[k].active
    cf = intervention("none", p.n_traders)
    assert cf.no_sell == (False,) * p.n_traders  # the masked code paths run, blocking nobody
    again = Run(p, "active", counterfactual=cf).run()
    for name in FILES:
        assert _csv(again.tables[name]) == _csv(active.tables[name]), name
        assert again.tables.arrow(name).equals(active.tables.arrow(name)), name
    assert again.metrics == active.metrics
    assert again.rng_draws == active.rng_draws
    assert again.fingerprint == active.fingerprint


@pytest.mark.parametrize("k", range(len(SETS)))
def test_blocking_every_sale_and_buy_gives_every_trader_its_passive_outcome(pairs, k):
    p, pair = SETS[k], pairs[k]
    everyone = mask(p.n_traders, range(p.n_traders))
    run = Run(p, "active", counterfactual=Counterfactual(no_sell=everyone, no_buy=everyone)).run()
    assert run.metrics["dealer_trade_count"] == 0
    assert run.default_day == pair.passive.default_day


def test_blocking_every_sale_changes_a_run_that_traded(pairs):
    """The check above is not vacuous: some of the sets trade and change outcomes."""
    traded = [k for k, pr in enumerate(pairs) if pr.active.metrics["dealer_trade_count"] > 0]
    differ = [k for k, pr in enumerate(pairs) if pr.active.default_day != pr.passive.default_day]
    assert len(traded) >= 10 and differ


# --- each intervention's rule ------------------------------------------------------------------
CASE = ModelParams(kappa=0.5, concentration=0.5, mu=0.25, outside_mid_ratio=0.75, rollover_price="risk_priced")


@pytest.fixture(scope="module")
def case():
    return simulate_pair(CASE)


def _run(cf: Counterfactual):
    return Run(CASE, "active", counterfactual=cf).run()


def test_own_sales_keeps_the_trader_out_of_the_seller_queue(case):
    trades = case.active.tables["trades"]
    sellers = trades[(trades["kind"] == "customer") & (trades["side"] == "SELL")]["trader_id"]
    x = sellers.value_counts().index[0]
    i = int(x[1:]) - 1
    run = _run(intervention("own_sales", CASE.n_traders, [i]))
    t = run.tables["trades"]
    assert not ((t["kind"] == "customer") & (t["side"] == "SELL") & (t["trader_id"] == x)).any()
    assert ((t["kind"] == "customer") & (t["side"] == "SELL")).any()  # others still sell


def test_paper_sales_blocks_every_sale_of_the_issuers_tickets(case):
    trades = case.active.tables["trades"]
    sold = trades[(trades["kind"] == "customer") & (trades["side"] == "SELL")]["issuer_id"]
    x = sold.value_counts().index[0]
    run = _run(intervention("paper_sales", CASE.n_traders, [int(x[1:]) - 1]))
    t = run.tables["trades"]
    cust = t[(t["kind"] == "customer") & (t["side"] == "SELL")]
    assert not (cust["issuer_id"] == x).any() and len(cust) > 0


def test_own_buys_keeps_the_trader_out_of_the_buyer_queue():
    p = ModelParams(n_traders=40, Q_total=2000.0, kappa=4, invest=True, mu=0.5)
    act = simulate_pair(p).active.tables["trades"]
    buys = act[(act["kind"] == "customer") & (act["side"] == "BUY")]["trader_id"]
    assert len(buys) > 0
    x = buys.value_counts().index[0]
    run = Run(p, "active", counterfactual=intervention("own_buys", p.n_traders, [int(x[1:]) - 1])).run()
    t = run.tables["trades"]
    assert not ((t["kind"] == "customer") & (t["side"] == "BUY") & (t["trader_id"] == x)).any()


def test_mm_rollover_retires_every_market_maker_held_ticket_at_its_first_repaid_maturity(case):
    rep = case.active.tables["repayment_events"]
    mm = rep[(rep["outcome"] == "repaid") & (rep["face_held_by_dealers"] + rep["face_held_by_vbts"] > 0)]
    x = mm["trader_id"].iloc[0]
    run = _run(intervention("mm_rollover", CASE.n_traders, [int(x[1:]) - 1]))
    r = run.tables["repayment_events"]
    mine = r[(r["trader_id"] == x) & (r["outcome"] == "repaid")]
    S = CASE.face_value
    retired = int(round(((mine["face_held_by_dealers"] + mine["face_held_by_vbts"]) / S).sum()))
    assert retired > 0
    # forced lender: the only declined rollovers are the retired ones
    assert run.metrics["declined_rollovers"] == retired
    assert case.active.metrics["declined_rollovers"] == 0


def test_passive_prices_make_the_anchors_and_hazard_follow_the_passive_run(case):
    path, outcomes = passive_price_path(CASE)
    assert outcomes == [case.passive.default_day.get(f"H{i + 1}") for i in range(CASE.n_traders)]
    run = _run(Counterfactual(prices=path))
    cols = ["M_short", "M_mid", "M_long", "rollover_hazard"]
    got, want = run.tables["system_state_timeseries"][cols], case.passive.tables["system_state_timeseries"][cols]
    assert got.equals(want)
    assert not case.active.tables["system_state_timeseries"][cols].equals(want)  # it did move


def test_a_counterfactual_is_refused_on_the_passive_run_and_checked_for_size():
    with pytest.raises(ValueError, match="active regime only"):
        Run(CASE, "passive", counterfactual=Counterfactual())
    with pytest.raises(ValueError, match="no_sell has 3 entries"):
        Run(CASE, "active", counterfactual=Counterfactual(no_sell=(True, False, False)))
    with pytest.raises(ValueError, match="covers 2 days"):
        Run(CASE, "active", counterfactual=Counterfactual(prices=PricePath(((1, 1, 1),) * 2, ((0.3,) * 3,) * 2, (0, 0))))
    with pytest.raises(ValueError, match="outside 0..2"):
        mask(3, [3])
    with pytest.raises(ValueError, match="unknown intervention"):
        intervention("no_trading", 3)


# --- attribution ---------------------------------------------------------------------------------
def test_outcome_comparisons_follow_section_12():
    assert changed(None, 5, 10) and changed(5, None, 10) and not changed(None, None, 10)
    assert changed(5, 15, 10) and not changed(5, 14, 10)
    assert reverts(None, None, "harmed", 10) and not reverts(18, None, "harmed", 10)
    assert reverts(25, 1, "rescued", 10) and not reverts(None, 1, "rescued", 10)
    assert reverts(12, 5, "moved", 10) and not reverts(15, 5, "moved", 10) and not reverts(None, 5, "moved", 10)
    pas, act = [None, 3, 4, None, 20], [7, None, 4, None, 5]
    assert changed_traders(pas, act, 10) == [(0, "harmed"), (1, "rescued"), (4, "moved")]
    assert changed_traders(pas, act, 10, "harmed") == [(0, "harmed")]


def test_the_worked_case_names_h86_harmed_with_paper_sales_reverting(case):
    """Issue 19's worked case: H87 sells two claims on H86 on day 0; without that, H86 survives."""
    df = attribute(case)
    h86 = df[df["trader_id"] == "H86"].iloc[0]
    assert h86["change"] == "harmed" and h86["default_day_active"] == 18 and pd.isna(h86["default_day_passive"])
    assert h86["paper_sales_applies"] and h86["paper_sales_reverts"]
    assert pd.isna(h86["paper_sales_default_day"])
    assert "paper_sales" in h86["channel"].split("+")
    assert h86["own_sales_applies"] and not h86["own_sales_reverts"]
    assert list(df.columns) == columns("attribution")
    assert (df["run_id"] == CASE.run_id("active")).all()
    # the rescued trader asks the mirror question
    assert set(df["change"]) == {"harmed", "rescued"}
    counts = revert_counts(df)
    assert counts["harmed_revert_paper_sales"] == 1
    assert sum(counts.values()) == int(df[[f"{iv}_reverts" for iv in (*INTERVENTIONS, "joint")]].to_numpy().sum())


def test_attribute_of_parameters_equals_attribute_of_the_finished_pair(case):
    assert attribute(CASE).equals(attribute(case))
    assert attribute(kappa=0.5, concentration=0.5, mu=0.25, outside_mid_ratio=0.75,
                     rollover_price="risk_priced", scope="harmed")["change"].tolist() == ["harmed"]


def test_a_reverting_run_really_reverts(case):
    """The table's outcomes are those of a counterfactual run made by hand."""
    out = counterfactual_run(CASE, intervention("paper_sales", CASE.n_traders, [85]))
    assert out[85] is None
    out = counterfactual_run(CASE, intervention("own_sales", CASE.n_traders, [85]))
    assert out[85] == 18


def test_summary_lines_name_trader_change_channel_and_outcomes(case):
    lines = summary_lines(attribute(case))
    h86 = next(line for line in lines if line.startswith("H86 "))
    assert "harmed" in h86 and "paper_sales: none reverts (collateral" in h86 and "own_sales: day 18" in h86


def test_cli_pair_attribute_prints_one_line_per_changed_trader(capsys):
    from bilancio_lite.cli import main

    code = main(["pair", "--kappa", "0.5", "--concentration", "0.5", "--mu", "0.25", "--outside-mid-ratio",
                 "0.75", "--rollover-price", "risk_priced", "--attribute"])
    out = capsys.readouterr().out
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("  H")]
    assert len(lines) == 2
    h86 = next(line for line in lines if line.startswith("  H86 harmed"))
    assert "channel: paper_sales" in h86
