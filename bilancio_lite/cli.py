"""Command line: `bilancio-lite pair | sweep | report`.

Every model parameter is an option of `pair`, generated from :class:`ModelParams` so that the help
text, defaults and validation never drift apart. Invalid input prints one line per problem
(field, value, allowed range) and exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
import types
import typing
from pathlib import Path
from typing import Any, Callable, Sequence

from pydantic import ValidationError

from .params import ModelParams, describe_errors

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: printed as `error: …` and exit status 2."""


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

    days = params.last_day + 1
    mem = estimated_memory_bytes(params.n_tickets, params.n_traders, days)
    if mem <= LARGE_RUN_BYTES:
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
            from .sweep import check_out_path

            check_out_path(Path(value).resolve(), option)
    pair = simulate_pair(params, progress=_pair_progress(params))
    print(_summary(pair))
    if args.out:
        path = write_pair(pair, args.out)
        print(f"  wrote                {Path(args.out) / 'passive' / 'runs' / pair.passive.run_id}/, "
              f"{Path(args.out) / 'active' / 'runs' / pair.active.run_id}/, "
              f"{Path(args.out) / 'aggregate' / 'comparison.csv'}")
    if args.report:
        from .report import render_pair_report

        t0 = time.perf_counter()
        html = render_pair_report(params, args.report, show_code=args.show_code)
        print(f"  report               {html} ({time.perf_counter() - t0:.1f} s)")
    return EXIT_OK


# --- parser ------------------------------------------------------------------------------------
#: subcommands registered by other modules: name -> (configure parser, handler)
EXTRA_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None],
                                Callable[[argparse.Namespace], int]]] = {}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bilancio-lite",
        description="Kalecki debt ring with Treynor dealers (Plan 024): paired passive/active runs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{pair,sweep,report,export}")
    from .params import size_limits_text

    pair = sub.add_parser("pair", help="run one passive/active pair and print a summary",
                          description="Run one passive/active pair (docs/model.md §6) and print a summary.",
                          epilog=size_limits_text() + " Bad input: one line per problem, exit status 2.")
    pair.add_argument("--out", default=None, metavar="DIR",
                      help="also write the run logs and comparison row under DIR")
    pair.add_argument("--report", default=None, metavar="DIR",
                      help="also render notebooks/08_one_pair.ipynb for these parameters to DIR/08_one_pair.html")
    pair.add_argument("--show-code", action="store_true", help="with --report: keep the code cells in the HTML")
    add_model_options(pair)
    pair.set_defaults(handler=cmd_pair)
    _register_extra(sub)
    return parser


def _register_extra(sub: Any) -> None:
    try:  # the sweep and report commands live with the sweep machinery
        from . import sweep  # noqa: F401  (registers itself in EXTRA_COMMANDS)
    except ImportError:
        pass
    for name, (configure, handler) in EXTRA_COMMANDS.items():
        p = sub.add_parser(name, help=configure.__doc__.splitlines()[0] if configure.__doc__ else None)
        configure(p)
        p.set_defaults(handler=handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ValidationError as e:
        for line in describe_errors(e):
            print(f"error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM during a sweep (SweepInterrupted)
        signum = getattr(e, "signum", 2)
        print(f"interrupted ({'SIGTERM' if signum == 15 else 'Ctrl-C'})", file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
