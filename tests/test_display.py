"""Readable tables and takeaways in the reports (bilancio_lite.display, issue 22)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune as md2html

from bilancio_lite.display import MISSING, frame_html, load_ipython_extension, readable_frame, takeaway_markdown


def test_whole_number_days_show_as_integers_and_missing_values_as_a_dash():
    df = pd.DataFrame({"first_day": [1.0, np.nan, 10.0], "n": pd.array([3, None, 5], dtype="Int64"),
                       "flag": pd.array([True, None, False], dtype="boolean"), "label": ["a", None, "c"]})
    shown = readable_frame(df)
    assert shown["first_day"].tolist() == ["1", MISSING, "10"]
    assert shown["n"].tolist() == ["3", MISSING, "5"]
    assert shown["flag"].tolist() == ["True", MISSING, "False"]
    assert shown["label"].tolist() == ["a", MISSING, "c"]
    html = frame_html(df)
    assert "<NA>" not in html and "&lt;NA&gt;" not in html and "NaN" not in html and "None" not in html
    assert "1.0" not in html and "10.0" not in html


def test_fractions_keep_their_decimals_even_when_whole():
    df = pd.DataFrame({"share_of_outcome": [0.0, 1.0], "default_rate": [1.0, 0.0], "x": [0.5, 1.0]})
    shown = readable_frame(df)
    for col in df.columns:  # untouched: pandas' float formatting
        assert shown[col].dtype == np.float64
    assert "1.0" in frame_html(df)


def test_long_text_and_many_columns_are_never_cut():
    text = "defaulted with trading only; its debtor defaulted with trading only too, at length"
    df = pd.DataFrame({f"column_{i}": [i] for i in range(40)}).assign(meaning=text)
    html = frame_html(pd.concat([df] * 80, ignore_index=True))  # 80 rows > pandas' 60-row limit
    assert text in html and "..." not in html and "…" not in html
    assert html.count("<tr") == 81 and "column_39" in html


def test_row_numbers_are_dropped_and_a_named_index_becomes_columns():
    df = pd.DataFrame({"kappa": [0.5, 1.0, 0.5], "effect": [0.1, 0.2, 0.3]})
    filtered = df[df["effect"] > 0.15]  # row numbers 1, 2: not data
    assert list(readable_frame(filtered).columns) == ["kappa", "effect"]
    grouped = df.groupby("kappa")[["effect"]].mean()
    shown = readable_frame(grouped)
    assert list(shown.columns) == ["kappa", "effect"] and shown["kappa"].tolist() == [0.5, 1.0]
    html = frame_html(grouped)
    assert html.count("<tr") == 3  # one header row (pandas puts a named index on a second one)


def test_the_ipython_extension_formats_every_dataframe():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        load_ipython_extension(shell)
        data, _ = shell.display_formatter.format(pd.DataFrame({"day": [1.0, np.nan]}))
        assert MISSING in data["text/html"] and "1.0" not in data["text/html"]
    finally:
        from bilancio_lite.display import unload_ipython_extension

        unload_ipython_extension(shell)
        InteractiveShell.clear_instance()


@pytest.mark.parametrize("text, html", [
    ("rows of aggregate/no_difference_pairs.csv:", "rows of <code>aggregate/no_difference_pairs.csv</code>:"),
    ("largest when dealer_active_fraction is in (0.75, 1].",
     "largest when <code>dealer_active_fraction</code> is in (0.75, 1]."),
    ("mismatch >0 and <NA> & x", "mismatch &gt;0 and &lt;NA&gt; &amp; x"),
    ("short 0.825 -> 0.635", "short 0.825 -&gt; 0.635"),
    ("pair k0.5_c1_mu0.75_rho0.75_s42: N = 20.", "pair <code>k0.5_c1_mu0.75_rho0.75_s42</code>: N = 20."),
    ("- not a list", "- not a list"),
    ("1. not a list", "1. not a list"),
    ("# not a heading", "# not a heading"),
    ("a*b*c and [x](y)", "a*b*c and [x](y)"),
    ("cash/debt and/or", "cash/debt and/or"),
    ("run `bilancio-lite report` first", "run <code>bilancio-lite report</code> first"),
])
def test_printed_takeaways_render_as_the_same_prose(text, html):
    assert md2html(takeaway_markdown(text)).strip() == f"<p>{html}</p>"


def test_each_printed_line_is_a_paragraph():
    out = md2html(takeaway_markdown("first line.\n\nsecond line.\n"))
    assert out.count("<p>") == 2 and "<pre" not in out


# --- legends list only the series that show ----------------------------------------------------
def _legend_labels(ax):
    leg = ax.get_legend()
    return [t.get_text() for t in leg.texts] if leg is not None else []


def test_bar_legends_drop_series_without_a_bar_and_keep_the_rest():
    import matplotlib.pyplot as plt
    import seaborn as sns

    from bilancio_lite import plots
    from bilancio_lite.display import prune_legends

    counts = pd.DataFrame({"kappa": [0.5, 2.0], "no trade": [4, 4], "< 1% of F0": [0, 0], ">= 1% of F0": [1, 0]})
    fig = plots.stacked_counts(counts, "kappa", "t", "x", "y")
    assert prune_legends(fig) == 1
    assert _legend_labels(fig.axes[0]) == ["no trade", ">= 1% of F0"]
    verdicts = pd.DataFrame({"label": ["H1", "H2", "H3"], "share": [1.0, 0.5, 0.0],
                             "verdict": ["confirmed", "partly", "not testable"]})
    fig2, ax = plt.subplots()
    _ = sns.barplot(data=verdicts, y="label", x="share", hue="verdict", dodge=False, errorbar=None, ax=ax,
                    hue_order=["confirmed", "partly", "rejected", "not testable"])
    assert prune_legends(fig2) == 2  # "rejected" has no bar, "not testable" a zero-width one
    assert _legend_labels(ax) == ["confirmed", "partly"]
    fig3, ax3 = plt.subplots()  # a line legend is left alone
    _ = ax3.plot([0, 1], [0, 0], label="flat")
    _ = ax3.legend()
    assert prune_legends(fig3) == 0 and _legend_labels(ax3) == ["flat"]
    plots.close_all([fig, fig2, fig3])


def test_outside_mid_buckets_that_coincide_share_one_legend_entry():
    from bilancio_lite import plots

    rows = []
    for regime in ("passive", "active"):
        for b in ("short", "mid", "long"):
            for day in range(3):
                m = 0.8 - 0.1 * day if (regime == "passive" or b != "long") else 0.9
                rows.append({"regime": regime, "bucket": b, "day": day, "mean_M": m, "p10_M": m - 0.1, "p90_M": m + 0.1})
    fig = plots.outside_mid_path(pd.DataFrame(rows))
    passive, active = fig.axes
    assert _legend_labels(passive) == ["short = mid = long"] and len(passive.lines) == 1
    assert _legend_labels(active) == ["short = mid", "long"] and len(active.lines) == 2
    plots.close_all([fig])


def test_an_empty_mechanism_panel_says_so_instead_of_drawing_axes():
    from bilancio_lite import plots

    counts = pd.DataFrame({"outcome": ["harmed", "harmed", "rescued"], "mechanism": ["a", "other", "b"],
                           "n_traders": [0, 0, 17]})
    fig = plots.mechanism_counts(counts)
    harmed, rescued = fig.axes
    assert not harmed.axison and any("none in this sweep" in t.get_text() for t in harmed.texts)
    assert rescued.axison and len(rescued.patches) == 1
    plots.close_all([fig])


def test_the_ring_legend_lists_only_the_kinds_of_trader_drawn():
    from bilancio_lite import plots

    outcomes = pd.DataFrame({"trader_id": ["H1", "H2", "H3"], "index": [1, 2, 3],
                             "default_day_passive": [4.0, np.nan, np.nan], "default_day_active": [np.nan] * 3,
                             "outcome": ["rescued", "repaid", "repaid"]})
    fig = plots.ring(outcomes)
    labels = [t.get_text() for t in fig.legends[0].texts]
    assert labels == ["did not default", "defaulted", "rescued (passive default only)"]  # nobody harmed
    plots.close_all([fig])
