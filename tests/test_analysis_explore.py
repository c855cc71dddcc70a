"""The live explorer of notebook 09 (bilancio_lite.analysis.explore, issue 22): its panels' data
agree with the pair's own metrics (§7), empty panels say so, the controls re-simulate."""

from __future__ import annotations

import typing

import pytest

from bilancio_lite import ModelParams, simulate_pair
from bilancio_lite.analysis import explore

SMALL = ModelParams(n_traders=20, Q_total=2000.0, kappa=0.5)


@pytest.fixture(scope="module")
def small_pair():
    return simulate_pair(SMALL)


def test_rule_options_come_from_the_model_parameters():
    assert explore.rule_options("rollover_lender") == ("forced", "liquidity_aware")
    assert explore.rule_options("gap_successors") == (False, True)
    for r in explore.RULES:  # every rule's default is one of its options
        assert ModelParams.model_fields[r].default in explore.rule_options(r)
    with pytest.raises(TypeError):
        explore.rule_options("kappa")
    # every Literal field of the model with a §3–§5 switch meaning is offered, bar the listed exceptions
    literals = {n for n, f in ModelParams.model_fields.items() if typing.get_origin(f.annotation) is typing.Literal}
    assert literals - set(explore.RULES) == {"liq_mode", "share_basis", "match_cash"}


def test_panel_data_agrees_with_the_pairs_metrics(small_pair):
    data = explore.panel_data(small_pair)
    c, mp, ma = small_pair.comparison, small_pair.passive.metrics, small_pair.active.metrics
    last = data.defaults.groupby("regime")["n_defaulted_traders"].last()
    assert last["passive"] == mp["n_defaulted_traders"] and last["active"] == ma["n_defaulted_traders"]
    assert data.trades[["SELL", "BUY"]].to_numpy().sum() == c["total_trades"]
    assert list(data.trades["day"]) == list(range(SMALL.last_day + 1))
    n = data.changed["outcome"].value_counts()
    assert n.get("rescued", 0) == c["rescued_traders"] and n.get("harmed", 0) == c["harmed_traders"]
    for row in data.changed.itertuples():  # a rescued trader defaulted (only) in the passive run, on that day
        run = small_pair.passive if row.outcome == "rescued" else small_pair.active
        other = small_pair.active if row.outcome == "rescued" else small_pair.passive
        assert run.default_day[row.trader_id] == row.day and row.trader_id not in other.default_day
    assert set(data.inventory["regime"]) == {"passive", "active"}


def test_summary_names_both_deltas_and_the_changed_traders(small_pair):
    text = explore.summary(explore.panel_data(small_pair))
    c = small_pair.comparison
    assert f"δ passive {c['delta_passive']:.4f}" in text and f"δ active {c['delta_active']:.4f}" in text
    assert f"{c['rescued_traders']} trader(s) rescued, {c['harmed_traders']} harmed" in text


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_empty_panels_say_so_in_words():
    # rich traders: nobody defaults, so no trader changes outcome and nobody needs to sell
    pair = simulate_pair(n_traders=10, Q_total=1000.0, kappa=50.0)
    assert pair.comparison["n_defaulted_traders_passive"] == 0 == pair.comparison["total_trades"]
    fig = explore.panels_figure(explore.panel_data(pair))
    said = " ".join(_texts(fig))
    assert "no trader changed outcome" in said and "no customer trade" in said
    assert len(fig.axes) == 4


def test_figure_is_redrawn_on_the_same_figure_and_encodes(small_pair):
    data = explore.panel_data(small_pair)
    fig = explore.panels_figure(data)
    again = explore.panels_figure(data, fig)
    assert again is fig and len(fig.axes) == 4  # cleared, not stacked
    png = explore.figure_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_explorer_update_resimulates_and_refuses_bad_values():
    ex = explore.Explorer(SMALL)
    first = ex.text
    ex.update(kappa=0.25)
    assert ex.params.kappa == 0.25 and ex.text != first and not ex.error
    assert ex.text == explore.summary(explore.panel_data(simulate_pair(SMALL.model_copy(update={"kappa": 0.25}))))
    ex.update(mu=2.0)  # outside 0..1: refused, the pair stays
    assert ex.params.mu == SMALL.mu and ex.params.kappa == 0.25 and "mu" in ex.error
    assert ex.last_seconds > 0


def test_controls_drive_the_explorer():
    ex = explore.Explorer(SMALL)
    box = ex.controls()
    widgets = {w.description: w for row in box.children[:2] for col in row.children for w in col.children}
    assert set(widgets) == {*(explore.LABELS[n] for n in explore.SLIDERS), *explore.RULES}
    assert widgets["κ"].value == pytest.approx(0.5) and widgets["rollover_lender"].value == "forced"
    widgets["rollover_lender"].value = "liquidity_aware"
    assert ex.params.rollover_lender == "liquidity_aware"
    widgets["N"].value = 30
    assert ex.params.n_traders == 30 and "N = 30" in ex.text
    assert box.children[2].value.startswith("redrawn in ")


def test_controls_text_names_every_control_with_its_value():
    ex = explore.Explorer(SMALL)
    text = ex.controls_text()
    assert "κ = 0.5" in text and "N = 20" in text and "rollover_lender = forced" in text
    assert all(r in text for r in explore.RULES)


# --- in a live kernel, as JupyterLab drives it -------------------------------------------------------
def _notebook_code(**params) -> str:
    """Notebook 09's code cells, with the parameter cell's values replaced as papermill would."""
    import nbformat

    from bilancio_lite.resources import notebooks_dir

    nb = nbformat.read(notebooks_dir() / "09_explore.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in nb.cells[2].metadata.get("tags", [])
    return "\n".join([cells[0], *(f"{k} = {v!r}" for k, v in params.items()), *cells[1:]])


@pytest.mark.integration
def test_a_control_moved_in_a_live_kernel_redraws_the_figure_in_place():
    """Run notebook 09 in a kernel, then do what JupyterLab does when a slider moves (a comm
    message setting the widget's value): the kernel answers with update_display_data messages
    replacing the figure and the summary shown by the notebook."""
    import time

    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        def run(code: str) -> list[dict]:
            msg_id = kc.execute(code)
            out = []
            while True:
                msg = kc.get_iopub_msg(timeout=120)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                out.append(msg)
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    return out

        shown = run(_notebook_code(n_traders=20, other={"Q_total": 2000.0}))
        errors = [m["content"] for m in shown if m["msg_type"] == "error"]
        assert not errors, errors
        displays = [m["content"] for m in shown if m["msg_type"] == "display_data"]
        assert "application/vnd.jupyter.widget-view+json" in displays[0]["data"]
        figure_id = displays[1]["transient"]["display_id"]
        assert "image/png" in displays[1]["data"] and "k1_c1_mu0.5" in displays[2]["data"]["text/markdown"]
        (stream,) = [m["content"]["text"] for m in run("print(explorer.widgets['kappa'].model_id)")
                     if m["msg_type"] == "stream"]
        comm_id = stream.strip()
        t0 = time.perf_counter()
        kc.session.send(kc.shell_channel.socket, kc.session.msg(
            "comm_msg", {"comm_id": comm_id, "data": {"method": "update", "state": {"value": 0.5},
                                                      "buffer_paths": []}}))
        updates: dict[str, dict] = {}
        while len(updates) < 2:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["msg_type"] == "update_display_data":
                updates[msg["content"]["transient"]["display_id"]] = msg["content"]["data"]
        seconds = time.perf_counter() - t0
        assert "image/png" in updates[figure_id]
        (text,) = [d["text/markdown"] for k, d in updates.items() if k != figure_id]
        assert "k0.5_c1_mu0.5" in text and "N = 20" in text
        print(f"live redraw after a control moved: {seconds:.2f} s")
        (stream,) = [m["content"]["text"] for m in run("print(explorer.params.kappa)") if m["msg_type"] == "stream"]
        assert stream.strip() == "0.5"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.integration
def test_notebook_09_renders_statically_through_papermill(tmp_path):
    """Executed by papermill (as `report` and `pair --report` execute notebooks) and rendered to
    HTML, 09 shows the figure for its parameters and a line naming the controls."""
    from bilancio_lite.nbexec import execute_notebook
    from bilancio_lite.report import render_html
    from bilancio_lite.resources import notebooks_dir

    out = tmp_path / "09.ipynb"
    execute_notebook(notebooks_dir() / "09_explore.ipynb", out, {"kappa": 0.5, "n_traders": 20,
                                                                  "other": {"Q_total": 2000.0}})
    html = render_html(out, tmp_path / "09.html").read_text()
    assert "Controls (live in JupyterLab" in html and "κ = 0.5" in html and "N = 20" in html
    assert "k0.5_c1_mu0.5_rho0.75_s42" in html and html.count("src=\"data:image/png;base64") == 1
