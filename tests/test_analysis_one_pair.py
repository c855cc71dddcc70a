"""Notebook 08's tables (bilancio_lite/analysis/one_pair.py) from one pair simulated in process, and
their plots (§6, §5.2)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bilancio_lite import ModelParams, plots, simulate_pair  # noqa: E402
from bilancio_lite.analysis import one_pair  # noqa: E402
from factories.figures import assert_labelled as _labelled  # noqa: E402

P = ModelParams(n_traders=20, Q_total=2000.0, kappa=0.5, mu=0.75, concentration=2, outside_mid_ratio=0.9)


@pytest.fixture(scope="module")
def traced():
    return one_pair.simulate_traced(P)


def test_traced_pair_is_the_same_pair(traced):
    pair, _ = traced
    assert pair.comparison == simulate_pair(P).comparison


def test_outcomes_match_the_comparison_row(traced):
    pair, _ = traced
    out = one_pair.trader_outcomes(pair)
    n = out["outcome"].value_counts()
    assert n.get("rescued", 0) == pair.comparison["rescued_traders"]
    assert n.get("harmed", 0) == pair.comparison["harmed_traders"]
    assert len(out) == 20 and out["index"].tolist() == list(range(1, 21))


def test_a_trader_that_defaults_on_its_first_due_day_was_short_of_cash(traced):
    pair, due = traced
    out = one_pair.trader_outcomes(pair)
    cash = one_pair.cash_at_due(due, out)
    assert len(cash) == 40  # every trader owes something on some day, in both regimes
    for regime in ("passive", "active"):
        c = cash[cash["regime"] == regime].set_index("trader_id")
        dd = out.set_index("trader_id")[f"default_day_{regime}"]
        first_day_defaults = [t for t in c.index if pd.notna(dd[t]) and dd[t] == c.loc[t, "day"]]
        assert first_day_defaults, "the fixture should have defaults on first due days"
        assert c.loc[first_day_defaults, "short"].all()
    assert (due["face_due"] > 0).all() and (due["face_due"] % P.face_value == 0).all()


def test_quotes_lie_within_the_outside_band_and_trades_are_customer_trades(traced):
    pair, _ = traced
    q = one_pair.dealer_quotes(pair)
    a = q[q["regime"] == "active"].dropna(subset=["dealer_bid"])
    assert ((a["dealer_bid"] >= a["outside_bid"] - 1e-9) & (a["dealer_ask"] <= a["outside_ask"] + 1e-9)).all()
    assert set(q["bucket"]) == {"short", "mid", "long"} and set(q["regime"]) == {"passive", "active"}
    t = one_pair.customer_trades(pair)
    assert len(t) == pair.comparison["total_trades"]
    assert "rescued" in one_pair.takeaway_pair(pair, one_pair.trader_outcomes(pair), t)


def test_one_pair_plots_are_labelled_figures(traced):
    pair, due = traced
    out = one_pair.trader_outcomes(pair)
    _labelled(plots.dealer_panels(one_pair.dealer_quotes(pair)))
    _labelled(plots.trade_timeline(one_pair.customer_trades(pair), 20, P.last_day))
    _labelled(plots.trade_timeline(one_pair.customer_trades(pair).iloc[:0], 20, P.last_day))  # no trades
    _labelled(plots.cash_vs_due(one_pair.cash_at_due(due, out)))
    _labelled(plots.ring(out, "title"))
