"""Readable reports: code hidden unless asked, nothing fetched from the network, no index columns;
`pair --report` renders 08_one_pair."""

from __future__ import annotations

import json
import re

import nbformat
import pandas as pd
import pytest

from bilancio_lite import ModelParams, report
from bilancio_lite.cli import main
from bilancio_lite.report import (
    PAIR_NOTEBOOKS, analysis_notebooks, drop_index_columns, pair_notebook_parameters, render_html,
    strip_remote,
)
from factories.sweeps import cli

REMOTE = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I)
SECRET_CODE = "hidden_marker_variable = 12345"


REMOTE_IMPORT = re.compile(r"\bimport\s*\(?\s*[\"'](?:https?:)?//", re.I)


def assert_offline(html: str) -> None:
    bad = REMOTE.findall(html) + REMOTE_IMPORT.findall(html)
    assert not bad, f"remote resources: {bad[:3]}"


def tiny_notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    df = pd.DataFrame({"kappa": [0.5, 2.0], "effect": [0.1, 0.2]})
    code = nbformat.v4.new_code_cell(SECRET_CODE + "\ndf")
    code.outputs = [nbformat.v4.new_output("execute_result", {"text/html": df.to_html(), "text/plain": str(df)},
                                           execution_count=1)]
    named = nbformat.v4.new_code_cell("g")
    g = df.set_index("kappa")
    named.outputs = [nbformat.v4.new_output("execute_result", {"text/html": g.to_html(), "text/plain": str(g)},
                                            execution_count=2)]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\n$x^2$ maths"), code, named]
    nbformat.write(nb, path)
    return path


def test_html_hides_code_by_default_and_works_offline(tmp_path):
    nb = tiny_notebook(tmp_path / "t.ipynb")
    html = render_html(nb, tmp_path / "t.html").read_text()
    assert "Title" in html and SECRET_CODE not in html and "hidden_marker_variable" not in html
    assert_offline(html)
    shown = render_html(nb, tmp_path / "c.html", show_code=True).read_text()
    assert "hidden_marker_variable" in shown
    assert_offline(shown)


def test_html_has_no_row_number_index_but_keeps_a_labelled_index(tmp_path):
    html = render_html(tiny_notebook(tmp_path / "t.ipynb"), tmp_path / "t.html").read_text()
    tables = re.findall(r"<table\b[^>]*class=\"dataframe\".*?</table>", html, flags=re.S)
    assert len(tables) == 2
    plain, labelled = tables
    assert "<th>0</th>" not in plain and "<td>0.5</td>" in plain and "<th>kappa</th>" in plain
    assert re.search(r"<th>0\.5</th>", labelled)  # kappa is data here: kept


def test_drop_index_columns_only_touches_row_numbers():
    df = pd.DataFrame({"a": [1, 2]}, index=[5, 7])
    assert "<th>5</th>" not in drop_index_columns(df.to_html())
    multi = df.set_index([["x", "y"], [1, 2]]).to_html()
    assert drop_index_columns(multi) == multi


def test_strip_remote_removes_cdn_tags_only():
    html = ('<script src="https://cdnjs.cloudflare.com/require.js"></script><script>var x = 1;</script>'
            '<link rel="stylesheet" href="//fonts.example.org/a.css"/><link href="local.css">'
            '<script type="module">const m = (await import("https://cdn.example.org/mermaid.mjs")).default;</script>')
    out = strip_remote(html)
    assert "cdnjs" not in out and "fonts.example" not in out and "mermaid" not in out
    assert "var x = 1" in out and 'href="local.css"' in out


def test_report_renders_01_to_07_and_not_the_pair_notebook():
    names = [p.name for p in analysis_notebooks()]
    assert names[0].startswith("01_") and names[-1] == "07_robustness.ipynb"
    assert "06_why_the_results_look_this_way.ipynb" in names
    assert not PAIR_NOTEBOOKS & set(names)


def test_pair_notebook_parameters_carry_every_non_default_field():
    p = ModelParams(kappa=0.5, horizon_H=3, rollover_lender="liquidity_aware")
    got = pair_notebook_parameters(p)
    assert got["kappa"] == 0.5 and got["n_traders"] == 100
    assert got["other"] == {"horizon_H": 3, "rollover_lender": "liquidity_aware"}
    assert ModelParams(**{k: v for k, v in got.items() if k != "other"}, **got["other"]) == p


@pytest.mark.integration
def test_pair_report_renders_08_for_the_given_parameters(tmp_path):
    r = cli("pair", "--n-traders", "20", "--Q-total", "2000", "--kappa", "0.5", "--mu", "0.75",
            "--rollover-lender", "liquidity_aware", "--report", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    html_path = tmp_path / "rep" / "08_one_pair.html"
    assert f"report               {html_path}" in r.stdout
    html = html_path.read_text()
    # printed lines render as prose, with column names as code (bilancio_lite.display.takeaway_markdown)
    assert "One pair up close" in html and "<code>rollover_lender</code> = <code>liquidity_aware</code>" in html
    assert "<code>k0.5_c1_mu0.75_rho0.75_s42</code>: N = 20" in html
    assert "Pair <code>k0.5_c1_mu0.75_rho0.75_s42</code> simulated in this report" in html  # its footer
    assert "import matplotlib" not in html  # code hidden
    assert_offline(html)
    assert html.count("data:image/png;base64") >= 4  # the four figures, embedded


def test_pair_report_bad_folder_is_one_line_before_simulating(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = cli("pair", "--report", str(f))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "--report" in r.stderr


def test_papermill_documents_every_parameter_of_the_new_notebooks():
    import papermill as pm

    from bilancio_lite.report import NOTEBOOKS

    got = pm.inspect_notebook(str(NOTEBOOKS / "08_one_pair.ipynb"))
    assert list(got) == ["kappa", "concentration", "mu", "outside_mid_ratio", "n_traders", "seed", "other"]
    assert all(p["help"] for p in got.values())
    assert got["kappa"]["default"] == "1.0" and got["seed"]["default"] == "42"
    for name in ("06_why_the_results_look_this_way.ipynb", "07_robustness.ipynb"):
        assert list(pm.inspect_notebook(str(NOTEBOOKS / name))) == ["sweep_dir"]


def _can_cut_network() -> bool:
    import shutil
    import subprocess

    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.integration
@pytest.mark.skipif(not _can_cut_network(), reason="needs `unshare -n` (a network namespace) to cut the network")
def test_pair_report_renders_with_the_network_off(tmp_path):
    import subprocess
    import sys

    from factories.sweeps import REPO

    probe = subprocess.run(["unshare", "-n", sys.executable, "-c",
                            "import socket; socket.create_connection(('1.1.1.1', 443), timeout=2)"],
                           capture_output=True, text=True)
    assert probe.returncode != 0  # the network really is off in there
    r = subprocess.run(["unshare", "-n", sys.executable, "-m", "bilancio_lite", "pair", "--n-traders", "20",
                        "--Q-total", "2000", "--report", str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert_offline((tmp_path / "08_one_pair.html").read_text())


def test_analysis_notebooks_are_discovered(tmp_path):
    for name in ("00_run_shard.ipynb", "01_a.ipynb", "02_b.ipynb", "10_c.ipynb", "x_01.ipynb", "1_d.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in report.analysis_notebooks(tmp_path)] == ["01_a.ipynb", "02_b.ipynb", "10_c.ipynb"]
    assert [p.name for p in report.analysis_notebooks()][:1] == ["01_sweep_overview.ipynb"]


def test_report_refuses_a_non_sweep_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a finished sweep folder" in capsys.readouterr().err


@pytest.mark.integration
def test_report_renders_the_overview(smoke_ref, tmp_path):
    done = cli("report", str(smoke_ref), "--only", "01")
    assert done.returncode == 0, done.stdout + done.stderr
    html = smoke_ref / "reports" / "01_sweep_overview.html"
    nb = nbformat.read(smoke_ref / "reports" / "01_sweep_overview.ipynb", as_version=4)
    assert html.is_file() and nb.metadata["papermill"]["parameters"] == {"sweep_dir": str(smoke_ref)}
    for name in ("overview_by_rho", "overview_by_kappa", "overview_by_concentration", "overview_by_mu",
                 "overview_by_stress_regime", "effect_heatmap_kappa_c_by_rho", "dealer_activity_by_run",
                 "dealer_activity_summary", "headline", "cell_effects", "cell_effect_distribution",
                 "variance_decomposition"):
        assert (smoke_ref / "aggregate" / f"{name}.csv").is_file(), name
    text = html.read_text()
    assert "The mean trading effect peaks at" in text and "dealers are empty on a median" in text
    assert "over all cells (16 cells; no CI with R = 1)" in text and "Which grid parameter matters most" in text
    outputs = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert str(smoke_ref) not in outputs  # outputs show no absolute paths (they vary between runs)


#: The rule of schema.ROW_LEVEL_TABLES, restated: keyed by a pair or run and by a trader, day or bucket.
PAIR_OR_RUN, GRAIN = {"run_id", "pair_id", "seed"}, {"trader_id", "day", "bucket"}


@pytest.mark.integration
def test_report_writes_row_level_tables_as_parquet_and_summaries_as_csv(smoke_ref):
    """Issue 25: every analysis table the report writes is classed by the one rule, the row-level
    ones are Parquet (readable by pandas and in SQL), the summaries CSV; the list names no table
    that no notebook writes."""
    from bilancio_lite.analysis import load_sweep
    from bilancio_lite.schema import ROW_LEVEL_TABLES

    done = cli("report", str(smoke_ref), "--no-html")
    assert done.returncode == 0, done.stdout + done.stderr
    folder = smoke_ref / "aggregate"
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "comparison.csv")
    stems = [p.stem for p in files]
    assert len(stems) == len(set(stems)), "a table written in both formats"
    assert set(ROW_LEVEL_TABLES) <= set(stems)
    data = load_sweep(smoke_ref)
    for path in files:
        if path.suffix == ".parquet":
            assert path.stem in ROW_LEVEL_TABLES, path.name
            table = pd.read_parquet(path)
            n_sql = data.sql(f'SELECT count(*) AS n FROM "{path.stem}"')["n"].iloc[0]
            assert n_sql == len(table) > 0, path.name
        else:
            assert path.suffix == ".csv" and path.stem not in ROW_LEVEL_TABLES, path.name
            table = pd.read_csv(path)
        row_level = bool(PAIR_OR_RUN & set(table.columns)) and bool(GRAIN & set(table.columns))
        assert row_level == (path.stem in ROW_LEVEL_TABLES), (
            f"{path.name}: columns {list(table.columns)} make it "
            f"{'row-level: add it to' if row_level else 'a summary: remove it from'} schema.ROW_LEVEL_TABLES")


@pytest.mark.integration
def test_report_renders_notebooks_in_parallel(tmp_path):
    from factories.sweeps import cli, run_parquet

    out = tmp_path / "smoke"
    assert run_parquet(out).exit_code == 0
    r = cli("report", str(out), "--only", "01", "02", "--workers", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "report: 2 of 2 notebook(s) ok" in r.stdout
    for name in ("01_sweep_overview", "02_no_difference_pairs"):
        assert (out / "reports" / f"{name}.html").is_file()
    assert (out / "aggregate" / "overview_by_kappa.csv").is_file()


def test_run_scheduled_keeps_the_weight_budget_and_runs_every_item_once():
    """run_report's scheduler (issue 10): weighted items never exceed the budget together, an item
    heavier than the budget runs alone, every item runs once and is reported once."""
    import threading
    import time

    weights = {"h1": 3, "h2": 3, "m1": 2, "m2": 2, "a": 0, "b": 0, "c": 0}
    lock = threading.Lock()
    running: list[str] = []
    seen: list[tuple[str, ...]] = []
    ran: list[str] = []

    def run(item):
        with lock:
            running.append(item)
            seen.append(tuple(running))
            ran.append(item)
        time.sleep(0.02)
        with lock:
            running.remove(item)
        return item.upper()

    got = {}
    report.run_scheduled(list(weights), run, lambda item, res: got.__setitem__(item, res), workers=3,
                         weight=weights.__getitem__, budget=2)
    assert got == {k: k.upper() for k in weights}
    assert sorted(ran) == sorted(weights)
    assert ran[0] == "h1"  # heaviest first
    assert max(len(s) for s in seen) > 1  # light items did run together
    for group in seen:
        if len(group) > 1:
            assert sum(weights[x] for x in group) <= 2, group


@pytest.mark.integration
def test_an_executed_notebook_has_one_stream_output_per_print_run(tmp_path):
    """A print that reaches the kernel's output in two messages (forced here by a flush between the
    text and its newline; under load the kernel's flush timer does it) is one output in the
    executed notebook, so its outputs do not depend on the machine's load."""
    from bilancio_lite.nbexec import execute_notebook

    src = tmp_path / "flush.ipynb"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import sys\nprint('a', end='')\nsys.stdout.flush()\nprint('b')\n"
                                  "print('err', file=sys.stderr)\nprint('c')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(src))
    out = tmp_path / "out" / "flush.ipynb"
    execute_notebook(src, out, {"x": 2})
    outputs = nbformat.read(str(out), as_version=4).cells[-1].outputs
    streams = [(o.name, o.text) for o in outputs if o.output_type == "stream"]
    assert len(streams) == len(outputs) and streams[0][1].startswith("ab\n")
    assert all(a[0] != b[0] for a, b in zip(streams, streams[1:]))  # no two stdout outputs in a row
    assert "".join(t for n, t in streams if n == "stdout") == "ab\nc\n"
