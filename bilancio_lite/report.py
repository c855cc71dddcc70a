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
from .resources import notebooks_dir

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebooks_dir()
_ANALYSIS_NB = re.compile(r"^(\d\d)_[^/]*\.ipynb$")

#: Notebooks that simulate one pair (parameters: model fields), not rendered on a sweep (09: the
#: live explorer, opened with `bilancio-lite lab`).
PAIR_NOTEBOOKS: frozenset[str] = frozenset({"08_one_pair.ipynb", "09_explore.ipynb"})
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


def render_html(notebook: str | os.PathLike, html_path: str | os.PathLike, *, show_code: bool = False,
                footer: str | None = None) -> Path:
    """Render an executed notebook to standalone HTML for readers: no In/Out prompts, code cells
    hidden unless ``show_code``, nothing loaded from the network, no table index columns, and the
    reader's fixes of :func:`readable_page` (printed takeaways as Markdown, tables that wrap or
    scroll, ``footer`` at the end)."""
    import nbformat
    from nbconvert import HTMLExporter

    from .site import readable_notebook

    nb = readable_notebook(nbformat.read(str(notebook), as_version=4))
    exporter = HTMLExporter(exclude_input_prompt=True, exclude_output_prompt=True,
                            exclude_input=not show_code, embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    body = readable_page(drop_index_columns(strip_remote(body)), footer)
    return atomic.write_text(html_path, body, encoding="utf-8")


# --- readers' fixes and the report site (issue 22; bilancio_lite.site) ---------------------------
#: Kernel options of report notebooks: tables shown by bilancio_lite.display (whole text, integers,
#: "—" for missing values; an IPython extension).
REPORT_KERNEL_ARGS: tuple[str, ...] = ("--ext=bilancio_lite.display",)


def readable_page(page: str, footer: str | None = None) -> str:
    """A rendered report with the report CSS, breakable table headers and ``footer``."""
    from .site import add_css, add_footer, breakable_headers

    page = add_css(breakable_headers(page))
    return add_footer(page, footer) if footer else page


def _execute_one(nb: str, sweep: str) -> dict[str, Any]:
    """Execute one analysis notebook into ``sweep/reports`` (a task of :func:`run_report`); an
    error is kept in the result, not raised, so the other notebooks still run."""
    from .nbexec import execute_notebook

    t0 = time.perf_counter()
    nb_path = Path(nb)
    out_nb = Path(sweep) / "reports" / nb_path.name
    res: dict[str, Any] = {"notebook": nb_path.name, "executed": out_nb, "html": None, "error": ""}
    try:
        execute_notebook(nb_path, out_nb, {"sweep_dir": sweep}, kernel_args=REPORT_KERNEL_ARGS)
    except Exception as e:  # keep going: the other notebooks may still work
        res["error"] = f"{type(e).__name__}: {' '.join(str(e).split())[:500]}"
    res["wall_time"] = time.perf_counter() - t0
    return res


def _render_one(res: dict[str, Any], html: bool, show_code: bool = False,
                footer: str | None = None) -> dict[str, Any]:
    """Render an executed notebook of :func:`_execute_one` to HTML (if asked and it exists)."""
    t0 = time.perf_counter()
    if html and Path(res["executed"]).exists():
        res["html"] = render_html(res["executed"], Path(res["executed"]).with_suffix(".html"), show_code=show_code,
                                  footer=footer)
    res["wall_time"] += time.perf_counter() - t0
    return res


def _warm_html() -> None:
    """Render an empty notebook and discard it: the first rendering imports nbconvert and loads
    its templates (~2 s), which :func:`run_report` does while the kernels work."""
    try:
        import nbformat
        from nbconvert import HTMLExporter

        HTMLExporter(exclude_input_prompt=True, exclude_output_prompt=True).from_notebook_node(
            nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]))
    except Exception:  # only a warm-up: the real rendering reports its own errors
        pass


def completeness_notice(sweep_dir: str | os.PathLike, allow_incomplete: bool = False) -> str:
    """'' for a complete sweep; else, with ``allow_incomplete``, the Markdown notice every report
    then opens with (the missing share first); without it :class:`InputError` (one line naming what
    is missing or that the sweep is still running). Issue 24: an incomplete sweep is never "ok"."""
    from .store import sweep_status

    st = sweep_status(sweep_dir)
    if st.ok:
        return ""
    if not allow_incomplete:
        raise InputError(f"{Path(sweep_dir)} is not a complete sweep: {'; '.join(st.problems())}; "
                         f"finish or resume the sweep, or pass --allow-incomplete to report on the present pairs")
    share = (f"**{100 * st.missing_share:.1f}% of the sweep is missing** ({st.missing} of {st.expected} "
             f"pairs): every figure and table below covers only the {st.complete} pairs present."
             if st.expected is not None else "**The sweep's size is unknown** (no readable sweep.yaml).")
    others = [p for p in st.problems() if "pairs (" not in p]
    return ("## Incomplete sweep\n\n" + share + ("\n\nAlso: " + "; ".join(others) + "." if others else "")
            + "\n\n(Rendered with `bilancio-lite report --allow-incomplete`.)")


def add_notice(executed: str | os.PathLike, notice: str) -> None:
    """Put ``notice`` (Markdown) as the first cell of an executed notebook (atomically)."""
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(notice, id="incomplete-sweep-notice"))
    atomic.write_text(executed, nbformat.writes(nb), encoding="utf-8")


def run_report(sweep_dir: str | os.PathLike, *, notebooks: list[Path] | None = None, html: bool = True,
               log: Callable[[str], None] | None = print, workers: int | None = None,
               show_code: bool = False, progress: bool | None = False,
               allow_incomplete: bool = False) -> list[dict[str, Any]]:
    """Execute each analysis notebook with ``sweep_dir`` and render it; one result dict per
    notebook, in reading order. Up to ``workers`` notebooks run at a time (default: one per CPU, at
    most one per notebook; 0 or 1 = one after the other), each on its own kernel driven from a
    thread of this process (:func:`run_scheduled`: no worker processes, so parallelism costs only
    the kernels' memory), scheduled by :data:`NOTEBOOK_WEIGHTS` within :data:`WEIGHT_BUDGET`.

    With ``html``, every report gets the provenance footer and ``reports/index.html`` is written
    last (:func:`write_site`). ``progress``: a bar of notebooks done on stderr when stderr is a
    terminal, else plain progress lines (:class:`ReportProgress`; None: the bar only on a terminal,
    False: neither)."""
    say = log or (lambda _m: None)
    sweep = Path(sweep_dir).resolve()
    if not (sweep / "aggregate" / "comparison.csv").is_file():
        raise InputError(f"{sweep} is not a finished sweep folder (no aggregate/comparison.csv); "
                         f"run `bilancio-lite sweep` first")
    notice = completeness_notice(sweep, allow_incomplete)  # refuses an incomplete sweep unless allowed
    if notice:
        say("warning: " + notice.split("\n\n")[1].replace("**", ""))
    (sweep / "reports").mkdir(exist_ok=True)
    nbs = notebooks if notebooks is not None else analysis_notebooks()
    if workers is None:
        from .sweep.executors import default_workers

        workers = default_workers()
    workers = min(workers, len(nbs))
    done: dict[str, dict[str, Any]] = {}
    prov: dict[str, Any] | None = None
    footer: str | None = None
    if html:  # the provenance every report's footer and the index show (bilancio_lite.site)
        from .site import footer_html, provenance

        prov = provenance(sweep)
        footer = footer_html(prov)
    bar = ReportProgress(len(nbs), say, enabled=progress)
    say = bar.write

    def run_one(nb: Path) -> dict[str, Any]:
        try:
            return _execute_one(str(nb), str(sweep))
        except Exception as e:  # defensive: _execute_one keeps execution errors in its result
            return {"notebook": nb.name, "executed": sweep / "reports" / nb.name, "html": None,
                    "error": f"{type(e).__name__}: {' '.join(str(e).split())[:500]}", "wall_time": 0.0}

    def show(nb: Path, res: dict[str, Any]) -> None:
        # rendered here (this thread) while the scheduler's threads execute the next notebooks
        if notice and Path(res["executed"]).exists():
            add_notice(res["executed"], notice)
        done[nb.name] = res = _render_one(res, html, show_code, footer)
        res["source"] = nb
        shown = res["html"] or res["executed"]
        state = "FAILED " + res["error"] if res["error"] else "ok"
        say(f"{res['notebook']}: {state} ({res['wall_time']:.1f} s) -> {shown}")
        bar.update()

    if workers <= 1:
        for nb in nbs:
            show(nb, run_one(nb))
    else:
        if html:  # nbconvert's imports and templates load while the first notebooks execute
            import threading

            threading.Thread(target=_warm_html, name="report-warm-html", daemon=True).start()
        run_scheduled(nbs, run_one, show, workers, weight=lambda nb: NOTEBOOK_WEIGHTS.get(nb.name, 0))
    bar.close()
    results = [done[nb.name] for nb in nbs]
    if prov is not None:
        say(f"index: {write_site(sweep, results, prov)}")
    return results


def write_site(sweep: Path, results: list[dict[str, Any]], prov: dict[str, Any]) -> Path:
    """Write ``reports/index.html`` for the rendered ``results`` (:func:`bilancio_lite.site.write_index`),
    with the same footer as the reports."""
    from .site import footer_html, write_index

    ran = {r["notebook"] for r in results}
    earlier = [{"notebook": nb.name, "source": nb, "html": sweep / "reports" / f"{nb.stem}.html", "error": ""}
               for nb in analysis_notebooks() if nb.name not in ran and (sweep / "reports" / f"{nb.stem}.html").is_file()]
    listed = sorted([*results, *earlier], key=lambda r: r["notebook"])  # a report of an earlier run stays listed
    return write_index(sweep, listed, prov, footer=footer_html(prov))


class ReportProgress:
    """Notebooks done: a tqdm bar on stderr when it is a terminal (lines printed through it stay
    above the bar); otherwise a plain line every :attr:`every` seconds while notebooks run
    ("report: 3 of 7 notebooks done, 1 min 30 s"), besides the line each finished notebook prints.
    ``enabled``: None = the bar on a terminal, plain lines elsewhere; False = nothing extra."""

    def __init__(self, total: int, say: Callable[[str], None], enabled: bool | None = None,
                 every: float = 30.0) -> None:
        import sys
        import threading

        self.every = every
        self.total, self.n, self._say, self.t0 = total, 0, say, time.perf_counter()
        self.bar = None
        self._stop = threading.Event()
        if enabled is False or total == 0:
            return
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="notebook", desc="report", file=sys.stderr, leave=False)
        else:
            threading.Thread(target=self._beat, name="report-progress", daemon=True).start()

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            self._say(self.line())

    def line(self) -> str:
        s = int(time.perf_counter() - self.t0)
        took = f"{s // 60} min {s % 60} s" if s >= 60 else f"{s} s"
        return f"report: {self.n} of {self.total} notebooks done, {took}"

    def write(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message)
        else:
            self._say(message)

    def update(self) -> None:
        self.n += 1
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        self._stop.set()
        if self.bar is not None:
            self.bar.close()


#: Memory weights of the analysis notebooks for :func:`run_scheduled` (issue 10: the whole report
#: in <= 1 GiB), from their kernels' peaks on plan024 (``benchmarks/bench_report.py --per-notebook``
#: minus the report process's 0.18 GiB): 03, 04 and 05 (0.33-0.40 GiB; on plan024_r20 1.5-2.2 GiB)
#: 2, 01, 02 and 06 (0.25-0.31 GiB; on plan024_r20 0.7-0.95 GiB) 1, 07 (0.18 GiB) 0. With
#: :data:`WEIGHT_BUDGET` 3, two of 03, 04 and 05 never run together (~1.0 GiB on plan024), and
#: each runs beside one of the lighter notebooks.
NOTEBOOK_WEIGHTS: dict[str, int] = {"01_sweep_overview.ipynb": 1, "02_no_difference_pairs.ipynb": 1,
                                    "03_strategies.ipynb": 2, "04_strategies_vs_initial_conditions.ipynb": 2,
                                    "05_dealer_capacity_and_horizons.ipynb": 2,
                                    "06_why_the_results_look_this_way.ipynb": 1}
#: The largest summed weight of notebooks running at once (one of any weight may always start alone).
WEIGHT_BUDGET = 3


def run_scheduled(items: list[Any], run: Callable[[Any], Any], done: Callable[[Any, Any], None],
                  workers: int, weight: Callable[[Any], int] = lambda _x: 0, budget: int = WEIGHT_BUDGET) -> None:
    """``run(item)`` for every item on ``workers`` threads; ``done(item, result)`` is called in this
    thread as each finishes. An item starts when a thread is free and the summed ``weight`` of the
    running items plus its own stays within ``budget`` (or nothing runs); the heaviest pending
    item that fits starts first (ties: in the given order). ``run`` must not raise. The threads
    are daemons: on Ctrl-C the caller gets KeyboardInterrupt at once and the kernels die with this
    process."""
    import queue
    import threading

    pending = sorted(items, key=lambda x: -weight(x))  # stable: heaviest first, else given order
    load = [0, 0]  # running items, their summed weight
    cond = threading.Condition()
    finished: queue.Queue = queue.Queue()

    def next_item() -> Any:
        with cond:
            while pending:
                for i, item in enumerate(pending):
                    if load[0] == 0 or load[1] + weight(item) <= budget:
                        load[0] += 1
                        load[1] += weight(item)
                        return pending.pop(i)
                cond.wait()
            return None

    def worker() -> None:
        while (item := next_item()) is not None:
            result = run(item)
            with cond:
                load[0] -= 1
                load[1] -= weight(item)
                cond.notify_all()
            finished.put((item, result))

    for i in range(max(1, workers)):
        threading.Thread(target=worker, name=f"report-{i}", daemon=True).start()
    for _ in items:
        done(*finished.get())


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
    execute_notebook(nb, executed, pair_notebook_parameters(params), kernel_args=REPORT_KERNEL_ARGS)
    from .site import pair_footer_html

    return render_html(executed, executed.with_suffix(".html"), show_code=show_code,
                       footer=pair_footer_html(params.pair_id))


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
