"""The report site: headline, provenance footer, index page, readable notebooks (issue 22)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from bilancio_lite import site
from bilancio_lite.analysis.headline import sweep_headline
from bilancio_lite.report import ReportProgress, render_html


def comparison(effects_by_seed: dict[int, list[float]]) -> pd.DataFrame:
    rows = []
    for seed, effects in effects_by_seed.items():
        for k, e in enumerate(effects):
            rows.append({"kappa": 0.5 * (k + 1), "concentration": 1.0, "mu": 0.0, "outside_mid_ratio": 0.75,
                         "seed": seed, "replicate": seed, "delta_passive": 0.5, "delta_active": 0.5 - e,
                         "trading_effect": e,
                         "effect_class": "improved" if e > 0 else ("worsened" if e < 0 else "unchanged")})
    return pd.DataFrame(rows)


def test_headline_without_replicates_has_no_ci_as_in_notebook_01():
    head = sweep_headline(comparison({42: [0.1, 0.0, -0.05, 0.2]}))
    assert head.replicates == 1 and not head.has_ci and np.isnan(head.ci_low)
    assert head.mean_effect == pytest.approx(0.0625)
    assert (head.n_improved, head.n_unchanged, head.n_worsened) == (2, 1, 1)
    assert "no CI" in head.sentence() and "0.500" in head.sentence() and "0.438" in head.sentence()


def test_headline_with_replicates_has_a_ci_around_the_mean():
    rng = np.random.default_rng(1)
    comp = comparison({s: list(0.1 + 0.01 * rng.standard_normal(5)) for s in range(20)})
    head = sweep_headline(comp)
    assert head.replicates == 20 and head.has_ci
    assert head.ci_low < comp["trading_effect"].mean() < head.ci_high
    assert 0.09 < head.ci_low and head.ci_high < 0.11  # 100 effects of 0.1 ± 0.01
    assert "95% CI" in head.sentence() and "100 pairs, 20 replicate seeds" in head.sentence()


def prov() -> dict:
    return {"sweep": "smoke", "config_hash": "17d769abd3d9744f", "n_pairs": 16, "replicates": 1,
            "status": "completed", "finished": "2026-12-07T23:43:26+00:00", "sweep_version": "0.1.0",
            "sweep_commit": "683002182acc5920fde887ee43c84c7cc714bb60", "sweep_dirty": False, "version": "0.1.0",
            "commit": "8a40bcb9" + "0" * 32, "dirty": True, "rendered": "2026-12-08T00:10:00+00:00"}


def test_footer_names_the_sweep_configuration_version_commit_and_date():
    text = re.sub(r"<[^>]+>", "", site.footer_html(prov()))
    for fact in ("smoke", "17d769abd3d9744f", "16 pairs", "1 replicate", "0.1.0", "683002182acc", "8a40bcb90000",
                 "2026-12-07T23:43:26", "2026-12-08T00:10:00", "uncommitted changes"):
        assert fact in text, fact


def test_provenance_reads_the_manifest_and_the_replicates(tmp_path):
    (tmp_path / "aggregate").mkdir()
    comparison({1: [0.1], 2: [0.2], 3: [0.0]}).to_csv(tmp_path / "aggregate" / "comparison.csv", index=False)
    (tmp_path / "manifest.json").write_text(json.dumps({"sweep": "x", "config_hash": "abc", "n_pairs": 3,
                                                        "package_version": "0.0.9", "git": {"commit": "f" * 40}}))
    (tmp_path / "sweep.yaml").write_text("name: tiny\n")
    p = site.provenance(tmp_path, rendered="then")
    assert (p["sweep"], p["config_hash"], p["n_pairs"], p["replicates"], p["sweep_version"]) == ("tiny", "abc", 3, 3, "0.0.9")
    assert p["sweep_commit"] == "f" * 40 and p["rendered"] == "then"


def test_readable_notebook_turns_printed_text_into_markdown_and_keeps_the_rest(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('x')")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Trading reduced defaults in 8 of 16 pairs.\n"),
                    nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
                    nbformat.v4.new_output("display_data", data={"text/plain": "fig"})]
    nb.cells = [cell]
    out = site.readable_notebook(nb).cells[0].outputs
    assert [o.output_type for o in out] == ["display_data", "stream", "display_data"]
    assert out[0].data["text/markdown"] == "Trading reduced defaults in 8 of 16 pairs."
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    page = render_html(path, tmp_path / "t.html", footer=site.footer_html(prov())).read_text()
    assert "<pre>Trading reduced" not in page and "<p>Trading reduced defaults in 8 of 16 pairs.</p>" in page
    assert page.rstrip().endswith("</html>") and page.index('class="blk-provenance"') < page.index("</body>")
    assert site.REPORT_CSS.strip()[:40] in page


def test_long_column_names_may_break_at_underscores():
    page = '<table class="dataframe"><tr><th>mean_share_from_customers</th><td>a_b</td></tr></table>'
    assert site.breakable_headers(page) == ('<table class="dataframe"><tr><th>mean_<wbr>share_<wbr>from_<wbr>'
                                            'customers</th><td>a_b</td></tr></table>')


def test_index_lists_every_report_with_its_answer_or_its_error(tmp_path, monkeypatch):
    (tmp_path / "aggregate").mkdir()
    (tmp_path / "reports").mkdir()
    comparison({42: [0.1, 0.0]}).to_csv(tmp_path / "aggregate" / "comparison.csv", index=False)
    monkeypatch.setitem(site.REPORT_ANSWERS, "02", lambda sweep: "Two answers here.")
    nb_dir = tmp_path / "nbs"
    nb_dir.mkdir()
    for name, title in (("01_a.ipynb", "# 01 · First question"), ("02_b.ipynb", "# 02 · Second <question>")):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(title)]), nb_dir / name)
    results = [{"notebook": "01_a.ipynb", "source": nb_dir / "01_a.ipynb", "html": None, "error": "NameError: x"},
               {"notebook": "02_b.ipynb", "source": nb_dir / "02_b.ipynb", "html": tmp_path / "reports" / "02_b.html",
                "error": ""}]
    page = site.write_index(tmp_path, results, prov()).read_text()
    assert '<a href="02_b.html">02 · Second &lt;question&gt;</a>' in page and "Two answers here." in page
    assert "01 · First question" in page and "failed: NameError: x" in page and 'href="01_a.html"' not in page
    assert "Mean trading effect" in page and "+0.050" in page and "no CI" in page
    assert "17d769abd3d9744f" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # offline


def test_report_progress_prints_plain_lines_off_a_terminal():
    lines: list[str] = []
    bar = ReportProgress(3, lines.append, enabled=None, every=0.05)  # pytest's stderr is not a terminal
    import time

    time.sleep(0.2)
    bar.update()
    bar.write("01: ok")
    bar.close()
    assert bar.bar is None and "01: ok" in lines
    assert any(re.fullmatch(r"report: [01] of 3 notebooks done, \d+ s", line) for line in lines), lines
    quiet: list[str] = []
    off = ReportProgress(3, quiet.append, enabled=False)
    time.sleep(0.1)
    off.close()
    assert quiet == []


def test_report_answers_use_the_tables_a_report_wrote(tmp_path):
    agg = tmp_path / "aggregate"
    agg.mkdir()
    pd.DataFrame({"outcome": ["harmed", "rescued"], "mechanism": ["other", "rescued_by_sale"],
                  "n_traders": [0, 17], "share_of_outcome": [0.0, 1.0], "meaning": ["x", "y"]}
                 ).to_csv(agg / "why_mechanism_counts.csv", index=False)
    answer = site.report_answer(tmp_path, "06_why_the_results_look_this_way.ipynb")
    assert "17" in answer and "harmed" in answer
    assert site.report_answer(tmp_path, "05_dealer_capacity_and_horizons.ipynb") == ""  # its table is missing
    assert site.report_answer(tmp_path, "09_explore.ipynb") == ""  # no answer function
    assert Path(site.INDEX_NAME).suffix == ".html"


def test_headline_also_gives_the_tradable_cells_with_their_seed_ci():
    """mu = 0 cells (effect zero by construction) dilute the grid mean; the mu > 0 cut leaves them out."""
    rng = np.random.default_rng(2)
    comp = comparison({s: list(0.1 + 0.01 * rng.standard_normal(4)) for s in range(10)})
    comp.loc[comp["kappa"] > 1.0, "mu"] = 0.5           # 2 of the 4 cells are tradable
    comp.loc[comp["mu"] == 0.0, "trading_effect"] = 0.0  # ... and the others have no effect
    head = sweep_headline(comp)
    tradable = comp.loc[comp["mu"] > 0, "trading_effect"].mean()
    assert head.tradable_effect == pytest.approx(tradable)
    assert head.mean_effect == pytest.approx(comp["trading_effect"].mean())
    assert head.tradable_ci_low < tradable < head.tradable_ci_high
    assert "mu > 0" in head.sentence() and "replicate seed" in head.sentence()
