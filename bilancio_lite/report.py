"""Reports: execute the analysis notebooks on a finished sweep and render them to HTML (§8.6).

What ``bilancio-lite report DIR`` and ``bilancio-lite pair --report DIR`` run (their command-line
glue is in :mod:`bilancio_lite.cli`).

The analysis notebooks are ``notebooks/NN_*.ipynb`` with ``NN >= 01`` (so later notebooks are
picked up automatically) except the one-pair notebooks of :data:`PAIR_NOTEBOOKS`; each takes one
parameter, ``sweep_dir`` (absolute). Executed copies go to ``DIR/reports/NN_name.ipynb`` and HTML
renderings to ``DIR/reports/NN_name.html``. The HTML is readable offline and without code
(:func:`render_html`: code cells hidden unless ``show_code``, no script or stylesheet fetched from
the network, no DataFrame index columns).

Notebook 01's tables live in :mod:`bilancio_lite.analysis.grid_overview`, like the other
notebooks' tables in :mod:`bilancio_lite.analysis`.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Callable


from . import atomic
from .errors import InputError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
_ANALYSIS_NB = re.compile(r"^(\d\d)_[^/]*\.ipynb$")

#: Notebooks that simulate one pair (parameters: model fields), not rendered on a sweep.
PAIR_NOTEBOOKS: frozenset[str] = frozenset({"08_one_pair.ipynb"})
#: <script src=…> and <link href=…> pointing to another host (nbconvert's templates load
#: require.js, MathJax and fonts from CDNs): removed so a report opens offline.
_REMOTE_TAG = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>"
                         r"|<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*/?>", re.IGNORECASE)


# --- notebooks -----------------------------------------------------------------------------------
def analysis_notebooks(folder: str | os.PathLike = NOTEBOOKS) -> list[Path]:
    """``NN_*.ipynb`` with NN >= 01 in ``folder``, in reading order."""
    found = []
    for p in Path(folder).glob("*.ipynb"):
        m = _ANALYSIS_NB.match(p.name)
        if m and int(m.group(1)) >= 1 and p.name not in PAIR_NOTEBOOKS:
            found.append(p)
    return sorted(found)


#: inline scripts that import a module from a remote host (the lab template's Mermaid loader)
_REMOTE_IMPORT = re.compile(r"<script\b[^>]*>(?:(?!</script>).)*?\bimport\s*\(?\s*[\"'](?:https?:)?//"
                            r"(?:(?!</script>).)*</script>", re.IGNORECASE | re.S)


def strip_remote(html: str) -> str:
    """Remove every ``<script src>`` and ``<link href>`` that points to a remote host, and every
    inline script that imports a module from one."""
    return _REMOTE_IMPORT.sub("", _REMOTE_TAG.sub("", html))


_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.S)
_LEADING_TH = re.compile(r"^(\s*<th\b[^>]*>.*?</th>)", re.S)


def _drop_leading_th(cells: str, limit: int | None) -> str:
    n = 0
    while limit is None or n < limit:
        m = _LEADING_TH.match(cells)
        if not m:
            break
        cells = cells[m.end():]
        n += 1
    return cells


def _drop_index_cells(table: str) -> str:
    """One ``<table class="dataframe">`` without its index column when that index is a plain row
    number (pandas writes it as one ``<th>`` per body row holding an integer, under an empty
    corner cell). A named or labelled index is data and is kept."""
    head, sep, body = table.partition("<tbody>")
    if not sep:
        return table
    head_rows, body_rows = _ROW.findall(head), _ROW.findall(body)
    if len(head_rows) != 1 or not body_rows:
        return table
    corner = _LEADING_TH.match(head_rows[0])
    if not corner or re.sub(r"<[^>]+>", "", corner.group(1)).strip():
        return table
    for cells in body_rows:
        m = _LEADING_TH.match(cells)
        if not m or not re.fullmatch(r"-?\d+", re.sub(r"<[^>]+>", "", m.group(1)).strip()):
            return table
        if _LEADING_TH.match(cells[m.end():]):
            return table  # a MultiIndex: keep it
    head = _ROW.sub(lambda m: m.group(0).replace(m.group(1), _drop_leading_th(m.group(1), 1), 1), head)
    body = _ROW.sub(lambda m: m.group(0).replace(m.group(1), _drop_leading_th(m.group(1), 1), 1), body)
    return head + sep + body


def drop_index_columns(html: str) -> str:
    """Every pandas table (``class="dataframe"``) of ``html`` without its index column(s)."""
    return re.sub(r"<table\b[^>]*class=\"dataframe\"[^>]*>.*?</table>", lambda m: _drop_index_cells(m.group(0)),
                  html, flags=re.S)


def render_html(notebook: str | os.PathLike, html_path: str | os.PathLike, *, show_code: bool = False) -> Path:
    """Render an executed notebook to standalone HTML for readers: no In/Out prompts, code cells
    hidden unless ``show_code``, nothing loaded from the network, no table index columns."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(exclude_input_prompt=True, exclude_output_prompt=True,
                            exclude_input=not show_code, embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    body = drop_index_columns(strip_remote(body))
    return atomic.write_text(html_path, body, encoding="utf-8")


def _report_one(nb: str, sweep: str, html: bool, show_code: bool = False) -> dict[str, Any]:
    """Execute and render one analysis notebook (a task of :func:`run_report`'s pool)."""
    from .nbexec import execute_notebook

    t0 = time.perf_counter()
    nb_path = Path(nb)
    out_nb = Path(sweep) / "reports" / nb_path.name
    res: dict[str, Any] = {"notebook": nb_path.name, "executed": out_nb, "html": None, "error": ""}
    try:
        execute_notebook(nb_path, out_nb, {"sweep_dir": sweep})
    except Exception as e:  # keep going: the other notebooks may still work
        res["error"] = f"{type(e).__name__}: {' '.join(str(e).split())[:500]}"
    if html and out_nb.exists():
        res["html"] = render_html(out_nb, out_nb.with_suffix(".html"), show_code=show_code)
    res["wall_time"] = time.perf_counter() - t0
    return res


def run_report(sweep_dir: str | os.PathLike, *, notebooks: list[Path] | None = None, html: bool = True,
               log: Callable[[str], None] | None = print, workers: int | None = None,
               show_code: bool = False) -> list[dict[str, Any]]:
    """Execute each analysis notebook with ``sweep_dir`` and render it; one result dict per
    notebook, in reading order. The notebooks run in parallel on ``workers`` local processes
    (default: one per CPU, at most one per notebook; 0 = one after the other in this process)."""
    import concurrent.futures as cf

    say = log or (lambda _m: None)
    sweep = Path(sweep_dir).resolve()
    if not (sweep / "aggregate" / "comparison.csv").is_file():
        raise InputError(f"{sweep} is not a finished sweep folder (no aggregate/comparison.csv); "
                         f"run `bilancio-lite sweep` first")
    (sweep / "reports").mkdir(exist_ok=True)
    nbs = notebooks if notebooks is not None else analysis_notebooks()
    if workers is None:
        from .sweep.executors import default_workers

        workers = default_workers()
    workers = min(workers, len(nbs))
    done: dict[str, dict[str, Any]] = {}

    def show(res: dict[str, Any]) -> None:
        shown = res["html"] or res["executed"]
        state = "FAILED " + res["error"] if res["error"] else "ok"
        say(f"{res['notebook']}: {state} ({res['wall_time']:.1f} s) -> {shown}")

    if workers <= 1:
        for nb in nbs:
            done[nb.name] = _report_one(str(nb), str(sweep), html, show_code)
            show(done[nb.name])
    else:
        import multiprocessing as mp

        from .procs import pool_worker_init
        from .sweep.executors import terminate_pool

        ex = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                    initializer=pool_worker_init, initargs=(os.getpid(),))
        try:
            futures = {ex.submit(_report_one, str(nb), str(sweep), html, show_code): nb for nb in nbs}
            for fut in cf.as_completed(futures):
                nb = futures[fut]
                try:
                    done[nb.name] = fut.result()
                except Exception as e:  # the worker itself died
                    done[nb.name] = {"notebook": nb.name, "executed": sweep / "reports" / nb.name,
                                     "html": None, "error": f"{type(e).__name__}: {e}", "wall_time": 0.0}
                show(done[nb.name])
        except BaseException:
            terminate_pool(ex)
            raise
        ex.shutdown(wait=True)
    return [done[nb.name] for nb in nbs]


#: The explicit parameters of 08_one_pair.ipynb; every other non-default field goes into `other`.
PAIR_NOTEBOOK_PARAMS: tuple[str, ...] = ("kappa", "concentration", "mu", "outside_mid_ratio", "n_traders", "seed")


def pair_notebook_parameters(params: Any) -> dict[str, Any]:
    """The papermill parameters of 08_one_pair.ipynb for a :class:`ModelParams` (§1)."""
    explicit = {k: getattr(params, k) for k in PAIR_NOTEBOOK_PARAMS}
    other = {k: v for k, v in params.model_dump(mode="json", exclude_defaults=True).items()
             if k not in PAIR_NOTEBOOK_PARAMS}
    return {**explicit, "other": other}


def render_pair_report(params: Any, out_dir: str | os.PathLike, *, show_code: bool = False) -> Path:
    """Execute 08_one_pair.ipynb for ``params`` into ``out_dir`` and render it to HTML; returns
    the HTML path. A failing notebook raises with the notebook's error."""
    from .nbexec import execute_notebook

    nb = NOTEBOOKS / "08_one_pair.ipynb"
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    executed = out / nb.name
    execute_notebook(nb, executed, pair_notebook_parameters(params))
    return render_html(executed, executed.with_suffix(".html"), show_code=show_code)


# --- the notebooks' sweep folder ---------------------------------------------------------------------
def resolve_sweep_dir(sweep_dir: str = "") -> Path:
    """The notebooks' ``sweep_dir`` parameter: '' means the smoke sweep, built inline if missing."""
    if not sweep_dir:
        from .sweep import ensure_sweep

        return ensure_sweep()
    path = Path(sweep_dir).resolve()
    if not (path / "aggregate" / "comparison.csv").is_file():
        raise FileNotFoundError(f"not a finished sweep folder (no aggregate/comparison.csv): {path}")
    return path
