"""The report site of a sweep (issue 22): ``reports/index.html`` and what every report carries.

- :func:`provenance` collects what a reader needs to trust a report: the sweep (name, configuration
  hash, pairs, replicates, package version and git commit that ran it, when it finished) and the
  rendering (package version, git commit, date). :func:`footer_html` shows it; every report and the
  index carry the same footer.
- :func:`write_index` writes the front page: the sweep's headline with its CI
  (:func:`bilancio_lite.analysis.headline.sweep_headline`), one line per report answering its
  question (computed from the tables the report wrote to ``aggregate/``, :data:`REPORT_ANSWERS`),
  links to the reports, and the provenance.
- :func:`readable_notebook` and :data:`REPORT_CSS` are the rendering fixes for readers: printed
  takeaways as Markdown prose (:func:`bilancio_lite.display.takeaway_markdown`), tables that wrap
  or scroll inside their own box, long column names that break at underscores.

Everything is offline: no script, font or stylesheet from another host.
"""

from __future__ import annotations

import html
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from . import atomic
from ._version import __version__

INDEX_NAME = "index.html"

#: Styles added to every report (after nbconvert's): prose-width takeaways, tables in their own
#: horizontal scroller that wrap long text, header names that break at underscores, the footer.
REPORT_CSS = """
.jp-OutputArea-output.jp-RenderedMarkdown { border-left: 3px solid #4c78a8; padding: 0.1em 0 0.1em 0.9em;
  margin: 0.3em 0 0.6em 0; max-width: 60em; }
.jp-OutputArea-output.jp-RenderedMarkdown p { margin: 0.35em 0; }
.jp-RenderedText pre { white-space: pre-wrap; overflow-wrap: break-word; word-break: normal; }
.jp-RenderedHTML { overflow-x: auto; max-width: 100%; }
.jp-RenderedHTML table.dataframe { table-layout: auto; }
.jp-RenderedHTML table.dataframe td { max-width: 32em; white-space: normal; overflow-wrap: break-word; }
.jp-RenderedHTML table.dataframe th { max-width: 14em; white-space: normal; vertical-align: bottom; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
footer.blk-provenance { font-family: var(--jp-content-font-family, system-ui), system-ui, sans-serif;
  margin: 3em 0 1em 0; padding-top: 0.8em; border-top: 1px solid #ccc; color: #555;
  font-size: 0.85em; line-height: 1.5; }
footer.blk-provenance code { font-size: 0.95em; }
"""

#: The front page's own page (no nbconvert styles): a readable column of text.
INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222;
  max-width: 58em; margin: 2em auto; padding: 0 1.2em; line-height: 1.5; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
.blk-sub { color: #555; margin-top: 0; }
.blk-headline { background: #f3f6fa; border-left: 4px solid #4c78a8; padding: 0.8em 1.1em; margin: 1.2em 0; }
.blk-headline .blk-effect { font-size: 1.5em; font-weight: 600; }
ol.blk-reports { padding-left: 1.4em; }
ol.blk-reports li { margin: 0.7em 0; }
ol.blk-reports .blk-answer { color: #333; }
.blk-failed { color: #b00020; }
code { background: #f2f2f2; padding: 0 0.25em; border-radius: 3px; font-size: 0.92em; }
""" + REPORT_CSS + """
.blk-index-link { display: none; }
"""


# --- provenance ----------------------------------------------------------------------------------
def provenance(sweep_dir: str | os.PathLike, *, rendered: str | None = None) -> dict[str, Any]:
    """What the footer shows: the sweep's manifest facts and this rendering's version, commit and
    date (UTC). Missing facts are None (a sweep folder without manifest.json still renders)."""
    from .analysis.replicates import replicate_count
    from .sweep.registry import git_info
    from .sweep import sweep_label

    sweep = Path(sweep_dir)
    try:
        manifest = json.loads((sweep / "manifest.json").read_text())
    except (OSError, ValueError):
        manifest = {}
    try:
        comp = pd.read_csv(sweep / "aggregate" / "comparison.csv", usecols=lambda c: c in ("seed", "replicate"))
        replicates: int | None = replicate_count(comp)
    except (OSError, ValueError):
        replicates = None
    git = git_info()
    sweep_git = manifest.get("git") or {}
    return {
        "sweep": sweep_label(sweep), "config_hash": manifest.get("config_hash"), "n_pairs": manifest.get("n_pairs"),
        "replicates": replicates, "status": manifest.get("status"), "finished": manifest.get("finished"),
        "sweep_version": manifest.get("package_version"), "sweep_commit": sweep_git.get("commit"),
        "sweep_dirty": sweep_git.get("dirty"),
        "version": __version__, "commit": git["commit"] if git else None, "dirty": git["dirty"] if git else None,
        "rendered": rendered or datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _commit(commit: str | None, dirty: bool | None) -> str:
    if not commit:
        return "not in a git checkout"
    return f"<code>{html.escape(commit[:12])}</code>" + (" (with uncommitted changes)" if dirty else "")


def footer_html(prov: dict[str, Any]) -> str:
    """The provenance footer every report and the index carry (same text for one rendering)."""
    e = lambda v: html.escape(str(v)) if v is not None else "—"  # noqa: E731
    sweep = (f"Sweep <strong>{e(prov['sweep'])}</strong>: configuration hash <code>{e(prov['config_hash'])}</code>, "
             f"{e(prov['n_pairs'])} pairs, {e(prov['replicates'])} replicate(s) per cell; "
             f"run by bilancio-lite {e(prov['sweep_version'])} at commit "
             f"{_commit(prov['sweep_commit'], prov['sweep_dirty'])}, finished {e(prov['finished'])} "
             f"(status {e(prov['status'])}).")
    report = (f"Report rendered {e(prov['rendered'])} by bilancio-lite {e(prov['version'])} at commit "
              f"{_commit(prov['commit'], prov['dirty'])}. <span class=\"blk-index-link\"><a href=\"{INDEX_NAME}\">All reports of this sweep</a>.</span>")
    return f'<footer class="blk-provenance">\n<p>{sweep}</p>\n<p>{report}</p>\n</footer>\n'


def pair_footer_html(pair_id: str, rendered: str | None = None) -> str:
    """The provenance footer of a one-pair report (``pair --report``): the pair, and the package
    version, git commit and date of the rendering."""
    from .sweep.registry import git_info

    git = git_info()
    when = rendered or datetime.now(timezone.utc).isoformat(timespec="seconds")
    return (f'<footer class="blk-provenance">\n<p>Pair <code>{html.escape(pair_id)}</code> simulated in this report; '
            f"rendered {html.escape(when)} by bilancio-lite {html.escape(__version__)} at commit "
            f"{_commit(git['commit'] if git else None, git['dirty'] if git else None)}.</p>\n</footer>\n")


def add_footer(page: str, footer: str) -> str:
    """``page`` with ``footer`` as the last thing in its body (once)."""
    i = page.rfind("</body>")
    return page + footer if i < 0 else page[:i] + footer + page[i:]


def add_css(page: str, css: str = REPORT_CSS) -> str:
    """``page`` with ``css`` as the last stylesheet of its head (so it wins over nbconvert's)."""
    i = page.find("</head>")
    block = f"<style>{css}</style>\n"
    return block + page if i < 0 else page[:i] + block + page[i:]


# --- readable notebooks --------------------------------------------------------------------------
def readable_notebook(nb: Any) -> Any:
    """The executed notebook ``nb`` (nbformat) as readers should see it, changed in place and
    returned: each cell's printed text (stdout) becomes one Markdown output
    (:func:`bilancio_lite.display.takeaway_markdown`), so takeaways render as prose."""
    import nbformat

    from .display import takeaway_markdown

    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                md = takeaway_markdown(out.get("text", ""))
                if md:
                    outputs.append(nbformat.v4.new_output("display_data", data={"text/markdown": md}))
                continue
            outputs.append(out)
        cell["outputs"] = outputs
    return nb


_TH = re.compile(r"(<th\b[^>]*>)([^<]*)(</th>)")


def breakable_headers(page: str) -> str:
    """Let long column names (``mean_share_ticket_days_from_customers``) wrap after each
    underscore: a ``<wbr>`` after every ``_`` inside table header cells."""
    return _TH.sub(lambda m: m.group(1) + m.group(2).replace("_", "_<wbr>") + m.group(3), page)


# --- the front page ------------------------------------------------------------------------------
def _read(sweep: Path, name: str) -> pd.DataFrame:
    from .analysis.io import read_table  # either format (§8.6: row-level tables are Parquet)

    return read_table(sweep, name)


def _answer_01(sweep: Path) -> str:
    from .analysis import load_sweep, takeaway_overview

    return takeaway_overview(load_sweep(sweep).comparison, "rho")


def _answer_02(sweep: Path) -> str:
    from .analysis import takeaway_no_difference

    return takeaway_no_difference(_read(sweep, "no_difference_hypothesis_shares"))


def _answer_03(sweep: Path) -> str:
    from .analysis import takeaway_strategies

    return takeaway_strategies(_read(sweep, "strategy_outcomes_by_run"))


def _answer_04(sweep: Path) -> str:
    from .analysis import takeaway_rescued_harmed

    return takeaway_rescued_harmed(_read(sweep, "initial_conditions_by_bin"))


def _answer_05(sweep: Path) -> str:
    from .analysis import takeaway_depletion

    return takeaway_depletion(_read(sweep, "bucket_depletion"))


def _answer_06(sweep: Path) -> str:
    from .analysis.channels import takeaway_channels
    from .analysis.why import takeaway_mechanisms

    try:  # the counterfactual channels (§12) when the sweep wrote attribution rows
        return takeaway_channels(_read(sweep, "why_channel_shares"), "rule_set")
    except FileNotFoundError:
        return ("No attribution in this sweep; first-match labels, unverified: "
                + takeaway_mechanisms(_read(sweep, "why_mechanism_counts")))


def _answer_07(sweep: Path) -> str:
    from .analysis import robustness as rb
    from .analysis.io import sweep_variants

    order = sweep_variants(sweep)
    if len(order) < 2:
        return "This sweep has no variants to compare (run params/robustness.yaml for the comparison)."
    table = _read(sweep, "robustness_headline").astype({"variant": str})
    return " ".join(rb.takeaway_variant(table, v, order[0]) for v in order[1:])


#: Per report (by its number): the function that answers its question in one line, from the tables
#: the report wrote to ``aggregate/`` (the same takeaway function the notebook prints).
REPORT_ANSWERS: dict[str, Callable[[Path], str]] = {
    "01": _answer_01, "02": _answer_02, "03": _answer_03, "04": _answer_04, "05": _answer_05,
    "06": _answer_06, "07": _answer_07}


def report_answer(sweep_dir: str | os.PathLike, notebook: str) -> str:
    """The one-line answer of report ``notebook`` (e.g. ``03_strategies.ipynb``) for a sweep whose
    report ran; "" when there is no answer function for it or its table is missing."""
    fn = REPORT_ANSWERS.get(Path(notebook).name[:2])
    if fn is None:
        return ""
    try:
        return fn(Path(sweep_dir))
    except (OSError, KeyError, ValueError):  # the report failed or predates its table
        return ""


def notebook_title(notebook: str | os.PathLike) -> str:
    """The first Markdown heading of a notebook (its question), e.g. "03 · How do traders manage
    their debts, and does it work?"; the file name without a heading."""
    import nbformat

    try:
        nb = nbformat.read(str(notebook), as_version=4)
    except (OSError, ValueError):
        return Path(notebook).stem
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return Path(notebook).stem


def index_html(sweep_dir: str | os.PathLike, results: list[dict[str, Any]], prov: dict[str, Any],
               footer: str | None = None) -> str:
    """The front page's HTML: headline, one entry per report (title link, one-line answer, or the
    error of a failed one), footer."""
    from .analysis import load_sweep
    from .analysis.headline import sweep_headline

    sweep = Path(sweep_dir)
    e = html.escape
    try:
        data = load_sweep(sweep)
        head = sweep_headline(data.comparison)
        effect = (f"{head.mean_effect:+.3f}" + (f" <span class=\"blk-ci\">(95% CI {head.ci_low:.3f} to "
                                                 f"{head.ci_high:.3f})</span>" if head.has_ci else ""))
        scope = data.scope_note()
        headline = (f'<div class="blk-headline"><p>Mean trading effect δ passive − δ active '
                    f'(share of lineages; &gt; 0: fewer defaults with the dealers)</p>'
                    f'<p class="blk-effect">{effect}</p><p>{e(head.sentence())}</p>'
                    f'<p>{e(scope)}</p></div>')
    except (OSError, KeyError, ValueError) as exc:
        headline = f'<div class="blk-headline blk-failed"><p>No headline: {e(str(exc))}</p></div>'
    items = []
    for res in results:
        nb = Path(res["notebook"])
        title = e(notebook_title(Path(res.get("source") or nb)))
        page = Path(res["html"]).name if res.get("html") else None
        link = f'<a href="{e(page)}">{title}</a>' if page else title
        if res.get("error"):
            body = f'<span class="blk-failed">failed: {e(res["error"])}</span>'
        else:
            answer = report_answer(sweep, nb.name)
            body = f'<span class="blk-answer">{e(answer)}</span>' if answer else ""
        items.append(f"<li>{link}<br>{body}</li>" if body else f"<li>{link}</li>")
    name = e(str(prov.get("sweep")))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{name} · bilancio-lite reports</title><style>{INDEX_CSS}</style></head>\n<body>\n"
            f"<h1>Sweep {name}</h1>\n<p class=\"blk-sub\">What trading with the dealers does to defaults in "
            f"the Kalecki debt ring of this sweep; the reports below explain the headline.</p>\n{headline}\n"
            f"<h2>Reports</h2>\n<ol class=\"blk-reports\">\n" + "\n".join(items) + "\n</ol>\n"
            f"{footer or footer_html(prov)}</body></html>\n")


def write_index(sweep_dir: str | os.PathLike, results: list[dict[str, Any]], prov: dict[str, Any],
                footer: str | None = None) -> Path:
    """Write ``<sweep>/reports/index.html`` (:func:`index_html`; ``footer``: the reports' footer,
    so the index carries the same one) atomically and return its path."""
    path = Path(sweep_dir) / "reports" / INDEX_NAME
    return atomic.write_text(path, index_html(sweep_dir, results, prov, footer), encoding="utf-8")
