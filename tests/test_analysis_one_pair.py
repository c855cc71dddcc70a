"""plots.py smoke tests and notebook 08's tables from one pair simulated in process (§6, §5.2)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bilancio_lite import ModelParams, plots, simulate_pair  # noqa: E402
from bilancio_lite.analysis import one_pair, why  # noqa: E402
from bilancio_lite.analysis import robustness as rb  # noqa: E402

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


def _labelled(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    for ax in fig.axes:
        if ax.axison and not ax.get_label() == "<colorbar>":
            assert ax.get_xlabel() or ax.get_ylabel() or ax.get_title(), "unlabelled axes"
    plt.close(fig)


def test_one_pair_plots(traced):
    pair, due = traced
    out = one_pair.trader_outcomes(pair)
    _labelled(plots.dealer_panels(one_pair.dealer_quotes(pair)))
    _labelled(plots.trade_timeline(one_pair.customer_trades(pair), 20, P.last_day))
    _labelled(plots.trade_timeline(one_pair.customer_trades(pair).iloc[:0], 20, P.last_day))  # no trades
    _labelled(plots.cash_vs_due(one_pair.cash_at_due(due, out)))
    _labelled(plots.ring(out, "title"))


def test_sweep_plots():
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
                         "effect_class": ["improved", "improved", "unchanged", "worsened"]})
    _labelled(plots.robustness_forest(rb.robustness_table(comp, ["a", "b"])))
    _labelled(plots.effect_by_axis(rb.effect_by_axis(comp, "kappa", ["a", "b"]), "kappa"))
    grid = pd.DataFrame({"x": [1, 1, 2, 3], "y": [0, 0, 1, 1]})
    _labelled(plots.counts_grid(grid, "x", "y", "t", "x (days)", "y (days)"))


def test_category_counts_keep_every_run_and_category():
    from bilancio_lite.analysis import categories as cat

    comp = pd.DataFrame({"kappa": [0.5, 0.5, 2.0, 2.0, 2.0], "dealer_empty_fraction": [0.0, 1.0, 0.2, 0.5, 1.0]})
    t = cat.dealer_empty_counts(comp)
    assert t.columns.tolist() == ["kappa", *cat.EMPTY_CATEGORIES]
    assert t.set_index("kappa").loc[2.0].tolist() == [0, 1, 1, 1]
    assert t.set_index("kappa").loc[0.5].tolist() == [1, 0, 0, 1]
    assert cat.takeaway_counts(t, "kappa", "active runs").startswith("Of 5 active runs: 1 never empty")
    vol = pd.DataFrame({"kappa": [1.0, 1.0, 1.0], "traded_face_share": [0.0, 0.005, 0.2]})
    assert cat.volume_counts(vol).iloc[0, 1:].tolist() == [1, 1, 1]
    _labelled(plots.stacked_counts(t, "kappa", "t", "kappa", "runs (count)"))
