"""Issue 21: the trading window (§4.4 `market_open_from` / `market_open_until`) and the market
makers' cash set apart from the outside mid (§2.5 `mm_cash_ratio`).

The byte-identity test compares against digests written by the code of commit 6830021 (before
these options existed; see tests/baseline_digests.py), never against values of the code under
test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from pydantic import ValidationError

from baseline_digests import SAMPLES, all_digests
from bilancio_lite import ModelParams, simulate_pair
from bilancio_lite.params import describe_errors
from bilancio_lite.ring import build_initial_state
from bilancio_lite.sweep.config import SweepConfig, load_sweep_config
from factories.sweeps import REPO, cli

BASELINE = json.loads((Path(__file__).parent / "data" / "baseline_6830021.json").read_text())
#: Plan 024 cells with mu > 0 used by the behavioural tests (N = 100, as the sweeps).
CELLS = [c for c in SAMPLES["plan024"][1] if c["mu"] > 0]
OUTCOME_COLUMNS = ["trader_id", "defaulted", "default_day"]


def _outcomes(run) -> list:
    t = run.tables["traders"]
    return t[OUTCOME_COLUMNS].astype(str).values.tolist()


# --- defaults: byte for byte the outputs of 6830021 --------------------------------------------
@pytest.mark.skipif(
    sys.version_info[:2] != (3, 11),
    reason="the digests were computed by 6830021 on Python 3.11; from 3.12 on, sum() of floats is "
           "compensated (Neumaier), so every version's outputs differ from 3.11's in the last bits "
           "(same code, same seed: identical within one Python version)")
def test_default_window_and_cash_are_byte_identical_to_6830021():
    """Every run table of both regimes, and the comparison row over its 6830021 columns, of 44
    pairs (smoke, plan024, invest, risk_priced, liquidity_aware samples)."""
    now = all_digests(BASELINE["comparison_columns"])
    assert set(now) == set(BASELINE["pairs"]) and len(now) == 44
    diff = [(pair, k) for pair, d in now.items() for k, v in d.items() if BASELINE["pairs"][pair][k] != v]
    assert diff == []


def test_explicit_defaults_change_nothing():
    """Writing the defaults out (every day open; cash ratio = rho) gives the same pair."""
    base = dict(n_traders=20, Q_total=2000.0, kappa=0.5, mu=0.75, outside_mid_ratio=0.8)
    a = simulate_pair(**base)
    b = simulate_pair(**base, market_open_from=0, market_open_until=a.params.last_day, mm_cash_ratio=0.8)
    for name in a.active.tables:
        assert a.active.tables[name].equals(b.active.tables[name]), name
    assert {k: v for k, v in a.comparison.items() if k != "market_open_until"} == \
           {k: v for k, v in b.comparison.items() if k != "market_open_until"}


def test_sweep_files_without_the_options_keep_their_config_hash():
    """sweep.yaml and the config hash (resume checks it) do not mention the new fields at their
    defaults; the hashes are those 6830021 computed for these files."""
    for name in BASELINE_HASHES:
        cfg = load_sweep_config(REPO / "params" / f"{name}.yaml")
        text = cfg.to_yaml()
        assert "market_open" not in text and "mm_cash_ratio" not in text
        assert cfg.config_hash() == BASELINE_HASHES[name], name


#: config_hash() of these sweep files as computed by the code of 6830021.
BASELINE_HASHES = {"smoke": "17d769abd3d9744f", "plan024": "5860406cf6f3e22b", "invest": "9f12ab8f31c39caa",
                   "plan024_risk_priced": "bfebe2535ddc463c"}


# --- the window ----------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", [{}, {"rollover_lender": "liquidity_aware"}])
def test_closing_after_day_0_changes_nothing_where_every_trade_is_on_day_0(rule):
    """Where the default run trades on day 0 only, `market_open_until: 0` gives the same trader
    outcomes, trades and defaults (the rationed-seller count may differ: a closed day rations).
    Checked on every Plan 024 sample cell with mu > 0 that qualifies (6 or 7 of 7 do; under
    invest = true and risk_priced most trade later, see the next test)."""
    checked = 0
    for cell in CELLS:
        p = dict(n_traders=100, **cell, **rule)
        full = simulate_pair(**p)
        if full.comparison["last_customer_trade_day"] not in (None, 0):
            continue
        checked += 1
        closed = simulate_pair(**p, market_open_until=0)
        assert _outcomes(closed.active) == _outcomes(full.active), cell
        assert closed.active.tables["trades"].equals(full.active.tables["trades"]), cell
        for k in ("delta_active", "defaulted_lineages_active", "n_defaulted_traders_active", "total_trades"):
            assert closed.comparison[k] == full.comparison[k], (cell, k)
    assert checked >= 6


def test_some_plan024_cells_trade_on_day_0_only_and_some_later():
    """The previous test is not vacuous: on risk_priced some cell trades after day 0, and closing
    the market after day 0 then removes exactly those trades."""
    lasts = [simulate_pair(n_traders=100, **c).comparison["last_customer_trade_day"] for c in CELLS]
    assert 0 in lasts
    later = None
    for c in CELLS:
        full = simulate_pair(n_traders=100, rollover_price="risk_priced", t_end=50, **c)
        if (full.comparison["last_customer_trade_day"] or 0) > 0:
            later = (c, full)
            break
    assert later is not None
    c, full = later
    closed = simulate_pair(n_traders=100, rollover_price="risk_priced", t_end=50, market_open_until=0, **c)
    tr = closed.active.tables["trades"]
    assert (tr.loc[tr["kind"] == "customer", "day"] == 0).all()
    n0 = int(((full.active.tables["trades"]["kind"] == "customer") & (full.active.tables["trades"]["day"] == 0)).sum())
    assert closed.comparison["total_trades"] == n0 < full.comparison["total_trades"]


@pytest.mark.parametrize("cell", CELLS[:3], ids=lambda c: f"k{c['kappa']}_mu{c['mu']}")
@pytest.mark.parametrize("rule", [{}, {"invest": True}, {"rollover_price": "risk_priced", "t_end": 50}])
def test_opening_after_the_horizon_gives_the_passive_outcomes(cell, rule):
    p = dict(n_traders=100, **cell, **rule)
    last = ModelParams(**p).last_day
    pair = simulate_pair(**p, market_open_from=last + 1)
    c = pair.comparison
    assert c["total_trades"] == 0 and c["failed_attempts"] == 0
    assert c["delta_active"] == c["delta_passive"] and c["effect_class"] == "unchanged"
    assert c["identical_default_set"]
    assert _outcomes(pair.active) == _outcomes(pair.passive)
    assert pair.active.rng_draws == 0  # a closed market draws nothing from the trading stream


@settings(max_examples=12, deadline=None)
@given(start=st.integers(0, 12), length=st.integers(0, 8), invest=st.booleans())
def test_customer_trades_happen_only_inside_the_window(start, length, invest):
    pair = simulate_pair(n_traders=20, Q_total=2000.0, kappa=0.5, mu=0.75, invest=invest,
                         rollover_price="risk_priced", market_open_from=start,
                         market_open_until=start + length)
    tr = pair.active.tables["trades"]
    days = tr.loc[tr["kind"] == "customer", "day"]
    assert ((days >= start) & (days <= start + length)).all()


def test_window_validation_names_the_fields():
    with pytest.raises(ValidationError) as e:
        ModelParams(market_open_from=5, market_open_until=3)
    (line,) = describe_errors(e.value)
    assert "market_open_until (3) must be >= market_open_from (5)" in line
    with pytest.raises(ValidationError) as e:
        ModelParams(market_open_from=-1)
    assert "allowed range [0, 100000]" in describe_errors(e.value)[0]
    with pytest.raises(ValidationError) as e:
        ModelParams(mm_cash_ratio=2.5)
    assert describe_errors(e.value)[0].startswith("mm_cash_ratio:") and "[0, 2]" in describe_errors(e.value)[0]


def test_cli_window_options():
    r = cli("pair", "--n-traders", "10", "--Q-total", "200", "--market-open-from", "4",
            "--market-open-until", "2")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "market_open_until (2) must be >= market_open_from (4)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = cli("pair", "--n-traders", "10", "--Q-total", "200", "--market-open-until", "0", "--mm-cash-ratio", "0.5")
    assert r.returncode == 0, r.stderr


def test_sweep_grid_axis_market_open_until_with_none():
    cfg = SweepConfig.from_dict({"name": "w", "model": {"n_traders": 10, "Q_total": 200.0},
                                 "grid": {"kappa": [0.5], "market_open_until": [0, 2, None]}})
    ids = [p.pair_id for p in cfg.pairs()]
    assert ids == ["k0.5_c1_mu0.5_rho0.75_s42_market_open_until-0", "k0.5_c1_mu0.5_rho0.75_s42_market_open_until-2",
                   "k0.5_c1_mu0.5_rho0.75_s42_market_open_until-none"]


# --- the market makers' cash -----------------------------------------------------------------------
def test_mm_cash_ratio_sets_the_holders_cash_not_the_mid():
    p = ModelParams(n_traders=20, Q_total=2000.0, mu=0.75, outside_mid_ratio=0.9, mm_cash_ratio=0.4)
    book, info = build_initial_state(p)
    N, S = p.n_traders, p.face_value
    for b in range(3):
        assert book.cash[N + b] == pytest.approx(0.4 * S * info.D[b])
        assert book.cash[N + 3 + b] == pytest.approx(0.4 * S * info.V[b])
    pair = simulate_pair(p)
    assert pair.passive.tables["system_state_timeseries"]["M_short"].iloc[0] == 0.9
    assert pair.comparison["mm_cash_ratio"] == 0.4
    same = simulate_pair(p, mm_cash_ratio=None)
    assert same.comparison["mm_cash_ratio"] == 0.9
    # trader cash and the ring are untouched: the passive defaults do not depend on the MMs' cash
    assert pair.comparison["delta_passive"] == same.comparison["delta_passive"]


def test_market_maker_pnl_columns():
    pair = simulate_pair(n_traders=100, kappa=0.25, mu=0.75, outside_mid_ratio=1.0)
    c = pair.comparison
    assert c["mm_total_pnl"] == pytest.approx(c["dealer_total_pnl"] + c["vbt_total_pnl"])
    pm = pair.passive.metrics
    assert c["mm_total_pnl_passive"] == pytest.approx(pm["dealer_pnl"] + pm["vbt_pnl"])
    cost = c["mm_total_pnl_passive"] - c["mm_total_pnl"]
    avoided = c["defaulted_lineages_passive"] - c["defaulted_lineages_active"]
    assert avoided > 0 and cost > 0  # rho = 1: the market makers overpay, and trading rescues some
    assert c["avoided_defaults_per_mm_loss"] * cost == pytest.approx(20.0 * avoided)
    no_trade = simulate_pair(n_traders=20, Q_total=2000.0, mu=0.0)
    assert no_trade.comparison["total_trades"] == 0
    assert no_trade.comparison["avoided_defaults_per_mm_loss"] is None


def test_a_store_written_before_the_new_columns_still_opens(smoke_ref, tmp_path):
    """comparison.csv of a sweep made by 6830021 lacks the six columns added here: the SQL view
    and the pandas reader take the file's own columns (old stores, e.g. plan024_r20, stay readable)."""
    import shutil

    import pandas as pd

    from bilancio_lite.analysis import load_sweep
    from bilancio_lite.store import load_sweep as load_store

    old = tmp_path / "old"
    shutil.copytree(smoke_ref, old)
    comp = old / "aggregate" / "comparison.csv"
    df = pd.read_csv(comp, dtype=str, keep_default_na=False)
    df[BASELINE["comparison_columns"]].to_csv(comp, index=False)
    n = load_store(old).sql("SELECT count(*) AS n, sum(total_trades) AS t FROM comparison")
    assert int(n["n"].iloc[0]) == 16 and int(n["t"].iloc[0]) == int(df["total_trades"].astype(int).sum())
    assert len(load_sweep(old).comparison.columns) == len(BASELINE["comparison_columns"])
