"""Command line: `bilancio-lite pair | sweep | report | export | lab` and `--version` (spec §6, §6.4, §8).

Every model parameter is an option of `pair`, generated from :class:`ModelParams` so that the help
text, defaults and validation never drift apart. This module is the only one that knows about
argparse, printing to the terminal and exit statuses: the library raises the domain errors of
:mod:`bilancio_lite.errors`, and :func:`main` turns them into one line per problem on stderr and
an exit status, without a traceback:

* 0: done; 1: some pairs (or notebooks) failed, the Dask cluster lost its workers, or the system
  refused a write (an ``OSError``: disk full, read-only, …: one line naming the path);
* 2: bad input (:class:`~bilancio_lite.errors.InputError`, pydantic validation errors), a folder
  in use by another sweep (:class:`~bilancio_lite.errors.SweepBusyError`) or an unreachable Dask
  scheduler (:class:`~bilancio_lite.errors.DaskUnavailableError`): nothing was written;
* 128 + the signal (130 for Ctrl-C, 143 for SIGTERM): interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import types
import typing
from pathlib import Path
from typing import Any, Callable, Sequence

from pydantic import ValidationError

from .errors import DaskUnavailableError, InputError, SweepBusyError
from .params import ModelParams, describe_errors

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


# --- options from the pydantic model -----------------------------------------------------------
def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _base_type(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """One option per ModelParams field; values are validated by pydantic, not argparse."""
    group = parser.add_argument_group("model parameters (docs/model.md §1)")
    for name, info in ModelParams.model_fields.items():
        ann = _base_type(info.annotation)
        default = info.default
        shown = "from the spec" if default is None else default
        help_text = f"{info.description} [default: {shown}]"
        if ann is bool:
            group.add_argument(_option(name), dest=name, action=argparse.BooleanOptionalAction,
                               default=None, help=help_text)
        elif typing.get_origin(ann) is tuple:
            group.add_argument(_option(name), dest=name, default=None, metavar="W1,W2,…",
                               help=help_text + " (comma-separated)")
        elif typing.get_origin(ann) is typing.Literal:
            choices = typing.get_args(ann)
            group.add_argument(_option(name), dest=name, default=None, metavar="{" + ",".join(choices) + "}",
                               help=help_text)
        else:
            group.add_argument(_option(name), dest=name, default=None, metavar=ann.__name__.upper(),
                               help=help_text)


def params_from_args(args: argparse.Namespace) -> ModelParams:
    values: dict[str, Any] = {}
    for name, info in ModelParams.model_fields.items():
        v = getattr(args, name, None)
        if v is None:
            continue
        if typing.get_origin(_base_type(info.annotation)) is tuple and isinstance(v, str):
            v = tuple(x for x in v.split(",") if x.strip())
        values[name] = v
    return ModelParams(**values)


# --- pair --------------------------------------------------------------------------------------
def _summary(pair: Any) -> str:
    c = pair.comparison
    mp, ma = pair.passive.metrics, pair.active.metrics
    p = pair.params
    lines = [
        f"pair {p.pair_id}  (N={p.n_traders}, T={p.maturity_days}, days 0..{p.last_day}, "
        f"{c['initial_tickets']} initial lineages)",
        f"  kappa_eff            {c['kappa_eff']:.4f}",
        f"  delta passive        {c['delta_passive']:.4f}  ({mp['defaulted_lineages']} lineages, "
        f"{mp['n_defaulted_traders']} traders defaulted)",
        f"  delta active         {c['delta_active']:.4f}  ({ma['defaulted_lineages']} lineages, "
        f"{ma['n_defaulted_traders']} traders defaulted)",
        f"  trading effect       {c['trading_effect']:+.4f}  -> {c['effect_class']}; stress regime "
        f"{c['stress_regime']}",
        f"  trades               {c['total_trades']} customer ({ma['interior_count']} interior, "
        f"{c['passthrough_count']} pass-through, {c['limit_hit_count']} at the dealer's limit), "
        f"{ma['transfer_count']} re-homing transfers",
        f"  traders using dealer {c['n_traders_using_dealer']} of {p.n_traders}",
        f"  dealer empty on      {100 * ma['dealer_empty_fraction']:.1f}% of days "
        f"(dealer_empty_fraction {ma['dealer_empty_fraction']:.3f})",
        f"  dealer / VBT P&L     {c['dealer_total_pnl']:+.2f} u / {c['vbt_total_pnl']:+.2f} u",
        f"  rules                rollover_lender={p.rollover_lender}, rollover_price={p.rollover_price}, "
        f"anchor_loss_basis={p.anchor_loss_basis}",
        f"  rescued / harmed     {c['rescued_traders']} / {c['harmed_traders']} traders (defaulted in the "
        f"passive / active run only)",
        f"  declined rollovers   {c['declined_rollovers_passive']} passive, {c['declined_rollovers_active']} "
        f"active (lenders that kept the cash they needed, §5.4)",
        f"  rationed sellers     {c['rationed_seller_days']} seller-days with a gap but no executable bid (§4.2)",
        f"  timing               {_share(c['trade_day_share_day0'])} of customer trades on day 0; "
        f"last trade day {_day(c['last_customer_trade_day'])}; defaults after cycle 1: "
        f"{c['defaults_after_cycle1_passive']} passive, {c['defaults_after_cycle1_active']} active lineages",
        f"  outside mid          lowest M {c['min_M_active']:.4f} (active); mean rollover price "
        f"{_price(c['mean_rollover_price_passive'])} passive, {_price(c['mean_rollover_price_active'])} active",
        f"  wall time            {pair.wall_time:.3f} s",
    ]
    return "\n".join(lines)


def _share(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _day(x: int | None) -> str:
    return "none" if x is None else str(x)


def _price(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _pair_progress(params: ModelParams) -> Callable[[str, int, int], None] | None:
    """A progress callback (stderr) for pairs estimated above LARGE_RUN_BYTES, else None."""
    from .params import LARGE_RUN_BYTES, estimated_memory_bytes

    from .params import LONG_RUN_DAYS

    days = params.last_day + 1
    mem = estimated_memory_bytes(params.n_tickets, params.n_traders, days)
    if mem <= LARGE_RUN_BYTES and days <= LONG_RUN_DAYS:
        return None
    print(f"large pair: {params.n_tickets:,} tickets, {params.n_traders:,} traders, {days} days per "
          f"regime (estimated memory {mem / 2**30:.1f} GB); progress on stderr", file=sys.stderr)
    from tqdm import tqdm

    bar = tqdm(total=2 * days, unit="day", desc="passive", file=sys.stderr, mininterval=1.0,
               dynamic_ncols=True)

    def progress(regime: str, day: int, last_day: int) -> None:
        bar.set_description(regime, refresh=False)
        bar.update(1)
        if regime == "active" and day == last_day:
            bar.close()
    return progress


def cmd_pair(args: argparse.Namespace) -> int:
    from .engine import simulate_pair
    from .logs import write_pair

    params = params_from_args(args)
    for option, value in (("--out", args.out), ("--report", args.report)):
        if value:  # before simulating: a bad folder must not cost a whole run
            from .sweep.outdir import check_out_path

            check_out_path(Path(value).resolve(), option)
    pair = simulate_pair(params, progress=_pair_progress(params))
    print(_summary(pair))
    if args.out:
        path = write_pair(pair, args.out)
        print(f"  wrote                {Path(args.out) / 'passive' / 'runs' / pair.passive.run_id}/, "
              f"{Path(args.out) / 'active' / 'runs' / pair.active.run_id}/, "
              f"{Path(args.out) / 'aggregate' / 'comparison.csv'}")
    if args.attribute:
        from .attribution import attribute, summary_lines

        t0 = time.perf_counter()
        table = attribute(pair, scope=args.attribute)
        print(f"attribution (§12, scope {args.attribute}): {len(table)} changed trader(s), "
              f"{time.perf_counter() - t0:.2f} s")
        for line in summary_lines(table):
            print(f"  {line}")
    if args.report:
        from .report import render_pair_report

        t0 = time.perf_counter()
        html = render_pair_report(params, args.report, show_code=args.show_code)
        print(f"  report               {html} ({time.perf_counter() - t0:.1f} s)")
    return EXIT_OK


# --- sweep -------------------------------------------------------------------------------------
def configure_sweep(p: argparse.ArgumentParser) -> None:
    """run a sweep file (params/*.yaml) locally or on a Dask cluster; resumable"""
    p.description = ("Expand a sweep file into passive/active pairs, run them in shards on local "
                     "processes or a Dask cluster and write outputs/<name>/ (docs/model.md §6.4). Rerunning "
                     "into the same folder skips complete pairs. Exit status: 0 if every pair "
                     "succeeded, 1 if some failed (or the Dask cluster lost its workers), 2 on bad "
                     "input, a folder in use by another sweep or an unreachable scheduler (nothing "
                     "written), 130/143 when interrupted by Ctrl-C/SIGTERM.")
    from .params import size_limits_text
    from .sweep import DASK_TIMEOUT, ENGINES

    p.epilog = (size_limits_text() + " A sweep locks its folder while it runs (a second sweep into "
                "it is refused); a killed sweep leaves no process behind, and the next run into its "
                "folder says it was interrupted and resumes.")
    p.add_argument("params_file", metavar="PARAMS.yaml", help="sweep file, e.g. params/plan024.yaml")
    p.add_argument("--out", metavar="DIR",
                   help="output folder [default: outputs/<sweep name> under the current directory]")
    p.add_argument("--workers", type=int, metavar="N",
                   help="local worker processes [default: CPUs, at most one per shard; 0 = this process]")
    p.add_argument("--shard-size", type=int, metavar="K", help="pairs per shard [default: the file's output.shard_size]")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://127.0.0.1:8786 (instead of local processes)")
    p.add_argument("--dask-timeout", type=float, default=DASK_TIMEOUT, metavar="SECONDS",
                   help="with --scheduler: seconds the scheduler has to answer and offer a worker "
                        "before anything is written, and the longest the sweep waits with no worker "
                        f"before it stops with a message [default: {DASK_TIMEOUT:g}]")
    p.add_argument("--engine", choices=ENGINES, default="papermill",
                   help="papermill: run notebooks/00_run_shard.ipynb per shard and keep it under executed/; "
                        "inline: call the same function directly [default: papermill]")
    p.add_argument("--replicates", type=int, metavar="R", help="override the file's replicates")
    p.add_argument("--format", choices=("parquet", "csv"),
                   help="parquet: tables/<table>/ Parquet parts, one per shard; csv: per-run CSV "
                        "folders (bilancio-lite export makes them from parquet) [default: the file's "
                        "output.format, parquet unless it says otherwise]")
    p.add_argument("--force", action="store_true",
                   help="clear the output folder first and start over (needed when it holds a sweep "
                        "made with another configuration)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it only shows on a terminal anyway)")
    from .sweep.config import MAX_PAIRS

    p.add_argument("--yes", action="store_true",
                   help=f"run a sweep of more than {MAX_PAIRS:,} pairs (refused without it)")


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.shard_size is not None and args.shard_size < 1:
        raise InputError(f"--shard-size must be >= 1, got {args.shard_size}")
    if args.replicates is not None and args.replicates < 1:
        raise InputError(f"--replicates must be >= 1, got {args.replicates}")
    if args.workers is not None and args.workers < 0:
        raise InputError(f"--workers must be >= 0, got {args.workers}")
    from .sweep import load_sweep_config, run_sweep

    from .sweep.config import MAX_PAIRS

    config = load_sweep_config(args.params_file, replicates=args.replicates, shard_size=args.shard_size,
                               format=args.format, max_pairs=None if args.yes else MAX_PAIRS)
    # (an invalid file, or one of too many pairs: SweepConfigError, one line per problem)
    res = run_sweep(config, args.out, engine=args.engine, workers=args.workers, scheduler=args.scheduler,
                    force=args.force, progress=False if args.no_progress else None,
                    argv=["bilancio-lite", *sys.argv[1:]] if sys.argv else None,
                    dask_timeout=args.dask_timeout)
    return EXIT_OK if res.ok else EXIT_FAILED


# --- report ------------------------------------------------------------------------------------
def configure_report(p: argparse.ArgumentParser) -> None:
    """execute the analysis notebooks (notebooks/NN_*.ipynb, NN >= 01) on a sweep folder and render HTML"""
    p.description = ("Execute every analysis notebook (notebooks/NN_*.ipynb with NN >= 01) with papermill "
                     "on a finished sweep, keep the executed copies in DIR/reports/ and render them to "
                     "HTML there. Exit status 1 if a notebook failed, 2 on bad input.")
    p.add_argument("sweep_dir", metavar="DIR", help="a sweep output folder, e.g. outputs/plan024")
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="only these notebooks (file names or NN prefixes, e.g. 01)")
    p.add_argument("--no-html", action="store_true", help="skip the HTML rendering")
    p.add_argument("--workers", type=int, metavar="N",
                   help="notebooks rendered in parallel [default: CPUs; 0 or 1 = one at a time]")
    p.add_argument("--show-code", action="store_true", help="keep the code cells in the HTML (hidden by default)")
    p.add_argument("--screenshots", action="store_true",
                   help="open every HTML report and the index in headless Chromium, save a full-page PNG of "
                        "each in DIR/reports/screenshots/ and list console errors, broken images and "
                        "horizontal overflow (exit 1 if any)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or periodic progress lines")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="report on a sweep that is still running or incomplete (missing pairs, parts "
                        "not matching their records, files in no record); every report then opens "
                        "with the missing share [default: refuse, exit 2]")


def cmd_report(args: argparse.Namespace) -> int:
    from .report import NOTEBOOKS, analysis_notebooks, run_report

    nbs = analysis_notebooks()
    if not nbs:  # e.g. an installation without its notebooks: a report of nothing is a failure
        print(f"error: report: no analysis notebook (NN_*.ipynb, NN >= 01) in {NOTEBOOKS}", file=sys.stderr)
        return EXIT_FAILED
    if args.only:
        wanted = set(args.only)
        nbs = [n for n in nbs if n.name in wanted or n.stem in wanted or n.name[:2] in wanted]
        if not nbs:
            raise InputError(f"no analysis notebook matches {' '.join(args.only)} in {NOTEBOOKS}")
    if args.workers is not None and args.workers < 0:
        raise InputError(f"--workers must be >= 0, got {args.workers}")
    if args.screenshots and args.no_html:
        raise InputError("--screenshots needs the HTML: drop --no-html")
    results = run_report(args.sweep_dir, notebooks=nbs, html=not args.no_html, workers=args.workers,
                         show_code=args.show_code, allow_incomplete=args.allow_incomplete,
                         progress=False if args.no_progress else None)
    failed = [r for r in results if r["error"]]
    print(f"report: {len(results) - len(failed)} of {len(results)} notebook(s) ok -> "
          f"{Path(args.sweep_dir).resolve() / 'reports'}")
    if args.screenshots and not report_screenshots(Path(args.sweep_dir).resolve() / "reports", results):
        return EXIT_FAILED
    return EXIT_FAILED if failed else EXIT_OK


def report_screenshots(reports: Path, results: list[dict]) -> bool:
    """``report --screenshots``: check every rendered page in headless Chromium and save its
    screenshot under ``reports/screenshots/``; print one line per page; False if a page has a
    problem or Chromium is missing."""
    from .browser import BrowserError, check_pages

    pages = [Path(r["html"]) for r in results if r.get("html")]
    if (reports / "index.html").is_file():
        pages.insert(0, reports / "index.html")
    try:
        checks = check_pages(pages, screenshot_dir=reports / "screenshots")
    except BrowserError as e:
        print(f"screenshots: {e}", file=sys.stderr)
        return False
    for c in checks:
        print(f"screenshot {c.screenshot} ({c.n_images} image(s)): " + ("ok" if c.ok else "; ".join(c.problems())))
    return all(c.ok for c in checks)


# --- export ------------------------------------------------------------------------------------
def configure_export(p: argparse.ArgumentParser) -> None:
    """write per-run §8 CSV folders from a sweep's Parquet store (as output.format: csv would)"""
    p.description = ("Write <out>/{passive,active}/runs/<run_id>/*.csv from the Parquet store of a "
                     "sweep folder, byte-identical to what output.format: csv writes. Exit status 2 on "
                     "bad input (nothing written).")
    p.add_argument("sweep_dir", metavar="SWEEP", help="a sweep folder, e.g. outputs/plan024")
    p.add_argument("--runs", nargs="+", metavar="GLOB",
                   help="only runs whose id matches one of these patterns, e.g. 'active_k0.5_*' [default: all]")
    p.add_argument("--out", metavar="DIR", help="output folder [default: SWEEP/export]")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="export the complete shards of a sweep that is running or incomplete "
                        "[default: refuse, exit 2]")


def cmd_export(args: argparse.Namespace) -> int:
    from .store import Sweep, detect_format, export_csv
    from .sweep.outdir import check_out_path

    src = Path(args.sweep_dir)
    if not src.is_dir():
        raise InputError(f"SWEEP: {src} is not a folder")
    if detect_format(src) != "parquet":
        raise InputError(f"SWEEP: {src} has no tables/ folder (not a Parquet sweep; its runs are CSV already)")
    from .store import sweep_status

    status = sweep_status(src)
    if not status.ok:
        if not args.allow_incomplete:
            raise InputError(f"SWEEP: {src} is not a complete sweep: {'; '.join(status.problems())}; "
                             f"finish or resume the sweep, or pass --allow-incomplete")
        print(f"warning: exporting an incomplete sweep: {'; '.join(status.problems())}", file=sys.stderr)
    if args.runs:
        try:
            matched = Sweep(src).filter(run_id=args.runs)._run_ids
        except FileNotFoundError as e:
            raise InputError(f"SWEEP: {e}") from None
        if not matched:
            raise InputError(f"--runs: no run of {src} matches {' '.join(args.runs)}")
    if args.out:
        check_out_path(Path(args.out))
    t0 = time.perf_counter()
    out, n = export_csv(src, args.out, args.runs)
    print(f"export: {n} run folder(s) -> {out} ({time.perf_counter() - t0:.1f} s)")
    return EXIT_OK


# --- lab ---------------------------------------------------------------------------------------
def configure_lab(p: argparse.ArgumentParser) -> None:
    """open JupyterLab on the notebooks (09_explore.ipynb: live exploration of one pair)"""
    p.description = ("Start JupyterLab on the notebooks folder (open 09_explore.ipynb to explore one pair "
                     "live), listening on 127.0.0.1 only, with a token (printed in the URL). As root it "
                     "adds --allow-root. Stop it with Ctrl-C. Exit status 2 when JupyterLab is not installed.")
    p.add_argument("--dir", metavar="DIR", help="folder to open [default: the notebooks folder]")
    p.add_argument("--port", type=int, metavar="PORT", help="port [default: JupyterLab's, 8888 or the next free one]")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser (print the URL only)")


def lab_command(args: argparse.Namespace) -> list[str]:
    """The JupyterLab command line for `bilancio-lite lab` (127.0.0.1, token on; --allow-root as root)."""
    from .resources import notebooks_dir

    folder = Path(args.dir).resolve() if args.dir else notebooks_dir()
    if not folder.is_dir():
        raise InputError(f"--dir: {folder} is not a folder")
    if args.port is not None and not 0 < args.port < 65536:
        raise InputError(f"--port must be in 1..65535, got {args.port}")
    cmd = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={folder}"]
    if args.port is not None:
        cmd.append(f"--ServerApp.port={args.port}")
    if args.no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def cmd_lab(args: argparse.Namespace) -> int:
    import importlib.util
    import subprocess

    cmd = lab_command(args)
    if importlib.util.find_spec("jupyterlab") is None:
        raise InputError("lab needs JupyterLab: pip install jupyterlab (it is part of the [dev] extra)")
    print(f"bilancio-lite lab: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    if os.name == "posix":  # become JupyterLab: Ctrl-C and its shutdown prompt behave as usual
        os.execv(cmd[0], cmd)
    return subprocess.call(cmd)  # pragma: no cover (Windows)


# --- parser ------------------------------------------------------------------------------------
#: subcommands after `pair`: name -> (configure its parser, handler); the first docstring line of
#: the configure function is the subcommand's help
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "sweep": (configure_sweep, cmd_sweep), "report": (configure_report, cmd_report),
    "export": (configure_export, cmd_export), "lab": (configure_lab, cmd_lab)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bilancio-lite",
        description="Kalecki debt ring with Treynor dealers (Plan 024): paired passive/active runs.")
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"bilancio-lite {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{pair,sweep,report,export,lab}")
    from .params import size_limits_text

    pair = sub.add_parser("pair", help="run one passive/active pair and print a summary",
                          description="Run one passive/active pair (docs/model.md §6) and print a summary.",
                          epilog=size_limits_text() + " Bad input: one line per problem, exit status 2.")
    pair.add_argument("--out", default=None, metavar="DIR",
                      help="also write the run logs and comparison row under DIR")
    pair.add_argument("--report", default=None, metavar="DIR",
                      help="also render notebooks/08_one_pair.ipynb for these parameters to DIR/08_one_pair.html")
    pair.add_argument("--show-code", action="store_true", help="with --report: keep the code cells in the HTML")
    pair.add_argument("--attribute", nargs="?", const="changed", default=None, choices=("harmed", "changed"),
                      help="re-run the active regime with one channel switched off for every changed trader "
                           "and print one line per trader: its change, channel, outcome under each "
                           "intervention and collateral (docs/model.md §12; default scope: changed)")
    add_model_options(pair)
    pair.set_defaults(handler=cmd_pair)
    _register_commands(sub)
    return parser


def _register_commands(sub: Any) -> None:
    for name, (configure, handler) in COMMANDS.items():
        p = sub.add_parser(name, help=configure.__doc__.splitlines()[0] if configure.__doc__ else None)
        configure(p)
        p.set_defaults(handler=handler)


def _tolerant_streams() -> None:
    """Print what the terminal's encoding cannot show as escapes (``PYTHONIOENCODING=ascii``: δ,
    … and → would otherwise end the command with UnicodeEncodeError)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a detached or closed stream: leave it
                pass


def os_error_line(e: OSError) -> str:
    """An OSError (disk full, read-only, name too long, no permission …) as one line naming the path."""
    where = " -> ".join(str(f) for f in (e.filename, e.filename2) if f is not None)
    what = e.strerror or " ".join(str(e).split()) or type(e).__name__
    return f"{where}: {what}" if where else what


def main(argv: Sequence[str] | None = None) -> int:
    _tolerant_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ValidationError as e:
        for line in describe_errors(e):
            print(f"error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except (InputError, SweepBusyError, DaskUnavailableError) as e:  # one line per problem
        print("error: " + str(e).replace("\n", "\nerror: "), file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # at the edge: disk full, read-only, a name too long, a path it cannot encode
        print(f"error: {os_error_line(e)}", file=sys.stderr)
        return EXIT_FAILED
    except UnicodeEncodeError as e:  # a path the file system's encoding cannot represent
        print(f"error: a path cannot be encoded for the file system ({e.reason}: {e.object[e.start:e.end]!a})",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM during a sweep (SweepInterrupted)
        signum = getattr(e, "signum", 2)
        print(f"interrupted ({'SIGTERM' if signum == 15 else 'Ctrl-C'})", file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
