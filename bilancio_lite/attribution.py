"""Counterfactual attribution per changed trader (§12).

For a pair, the changed traders are those harmed (default only in the active run), rescued
(default only in the passive run) or moved (default in both, days at least one cycle apart).
For each, :func:`attribute` re-runs the active regime under every intervention of §12 that applies
to it (a :class:`counterfactual.Counterfactual` handed to :class:`engine.Run`), records its
outcome, whether that outcome is its passive one, and how many other traders change outcome
against the active run (collateral), and names the channel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .counterfactual import Counterfactual, PricePath, mask
from .engine import Run, run_regime, simulate_pair
from .params import ModelParams
from .record import PairResult
from .schema import ATTRIBUTION_SCOPES, CHANGES, INTERVENTIONS, JOINT, NOT_EXPLAINED, columns, dtypes

__all__ = ["Outcomes", "attribute", "changed", "changed_traders", "counterfactual_run", "identity_values_of",
           "intervention", "passive_price_path", "reverts", "revert_counts", "summary_lines", "timed_attribute"]

_HARMED, _RESCUED, _MOVED = CHANGES
#: an outcome per trader: its default day, or None if it did not default within the horizon
Outcomes = list["int | None"]


def changed(a: int | None, b: int | None, cycle: int) -> bool:
    """§12: two outcomes differ when one is a default and the other not, or both are defaults at
    least one cycle (maturity_days) apart."""
    if (a is None) != (b is None):
        return True
    return a is not None and abs(a - b) >= cycle


def reverts(outcome: int | None, passive: int | None, change: str, cycle: int) -> bool:
    """§12: whether x's outcome under an intervention is its passive outcome: no default for a
    harmed trader, a default for a rescued one (any day), a default less than one cycle from the
    passive day for a moved one."""
    if change == _MOVED:
        return outcome is not None and abs(outcome - passive) < cycle
    return (outcome is None) == (passive is None)


def changed_traders(passive: Outcomes, active: Outcomes, cycle: int, scope: str = "changed"
                    ) -> list[tuple[int, str]]:
    """[(trader index, change)] in index order; ``scope`` harmed keeps the harmed ones only."""
    if scope not in ATTRIBUTION_SCOPES[1:]:
        raise ValueError(f"scope must be harmed or changed, got {scope!r}")
    out = []
    for i, (p, a) in enumerate(zip(passive, active)):
        if p is None and a is not None:
            out.append((i, _HARMED))
        elif scope == "changed" and p is not None and a is None:
            out.append((i, _RESCUED))
        elif scope == "changed" and p is not None and a is not None and abs(a - p) >= cycle:
            out.append((i, _MOVED))
    return out


def _outcomes(run: Run) -> Outcomes:
    book = run.book
    return [book.default_day[i] if book.defaulted[i] else None for i in range(run.N)]


def counterfactual_run(params: ModelParams, cf: Counterfactual | None) -> Outcomes:
    """The active regime under ``cf`` (§12), stepped to t_end; every trader's outcome.
    No log rows are kept (``detailed_logging`` only changes what is recorded)."""
    p = params if not params.detailed_logging else params.model_copy(update={"detailed_logging": False})
    run = Run(p, "active", counterfactual=cf)
    for t in range(p.last_day + 1):
        run.day(t)
    return _outcomes(run)


def passive_price_path(params: ModelParams) -> tuple[PricePath, Outcomes]:
    """The passive run's anchors after S9 and rollover hazard of every day (§12
    ``passive_prices``), and its outcomes."""
    p = params if not params.detailed_logging else params.model_copy(update={"detailed_logging": False})
    run = Run(p, "passive")
    M, O, hazard = [], [], []
    for t in range(p.last_day + 1):
        run.day(t)
        M.append(tuple(run.market.M))
        O.append(tuple(run.market.O))
        hazard.append(run.losses.hazard)
    return PricePath(tuple(M), tuple(O), tuple(hazard)), _outcomes(run)


def intervention(name: str, n: int, traders: Sequence[int] = (), prices: PricePath | None = None
                 ) -> Counterfactual:
    """The :class:`Counterfactual` of one §12 intervention for ``traders`` (``none``: all-False
    masks, which block nobody)."""
    m = mask(n, traders)
    if name == "none":
        off = mask(n)
        return Counterfactual(off, off, off, off)
    if name == "passive_prices":
        if prices is None:
            raise ValueError("passive_prices needs the passive run's price path")
        return Counterfactual(prices=prices)
    fields = {"own_sales": "no_sell", "paper_sales": "no_paper_sale", "own_buys": "no_buy",
              "mm_rollover": "mm_retire"}
    if name not in fields:
        raise ValueError(f"unknown intervention {name!r}; one of none, {', '.join(INTERVENTIONS)}")
    return Counterfactual(**{fields[name]: m})


def _joint(names: Sequence[str], n: int, x: int, prices: PricePath | None) -> Counterfactual:
    parts = [intervention(name, n, [x], prices) for name in names]
    def union(field: str) -> tuple[bool, ...]:
        masks = [getattr(c, field) for c in parts if getattr(c, field)]
        return tuple(any(v) for v in zip(*masks)) if masks else ()
    return Counterfactual(union("no_sell"), union("no_paper_sale"), union("no_buy"), union("mm_retire"),
                          prices if "passive_prices" in names else None)


@dataclass
class _Usage:
    """Which channels the active run used, per trader index (§12 applicability)."""

    sold: set[int]
    bought: set[int]
    paper_sold: set[int]      # issuers whose tickets a trader sold
    mm_held: set[int]         # issuers with a repaid cohort partly held by market makers
    prices_moved: bool        # the active run's anchors or hazard left the passive path


def _usage(pair: PairResult, names: dict[str, int]) -> _Usage:
    act, pas = pair.active.tables, pair.passive.tables
    tr = act["traders"]
    sold = {names[n] for n in tr.loc[tr["tickets_sold"] > 0, "trader_id"]}
    bought = {names[n] for n in tr.loc[tr["tickets_bought"] > 0, "trader_id"]}
    trades = act["trades"]
    cust = trades[(trades["kind"] == "customer") & (trades["side"] == "SELL")]
    paper = {names[n] for n in cust["issuer_id"]}
    rep = act["repayment_events"]
    mm = rep[(rep["outcome"] == "repaid") & (rep["face_held_by_dealers"] + rep["face_held_by_vbts"] > 0)]
    mm_held = {names[n] for n in mm["trader_id"]} if pair.params.rollover else set()
    cols = ["M_short", "M_mid", "M_long", "rollover_hazard", "loss_rate_anchor"]
    moved = not act["system_state_timeseries"][cols].equals(pas["system_state_timeseries"][cols])
    return _Usage(sold, bought, paper, mm_held, moved)


def _applicable(x: int, use: _Usage) -> list[str]:
    flags = {"own_sales": x in use.sold, "paper_sales": x in use.paper_sold, "own_buys": x in use.bought,
             "mm_rollover": x in use.mm_held, "passive_prices": use.prices_moved}
    return [name for name in INTERVENTIONS if flags[name]]


def attribute(source: ModelParams | PairResult | None = None, *, scope: str = "changed",
              progress: Callable[[int, int], None] | None = None, **overrides: Any) -> pd.DataFrame:
    """§12: one row per changed trader of a pair with its outcome under each applicable
    intervention, whether it reverts, the collateral, and the channel (columns of
    ``schema.ATTRIBUTION`` after the active run's identity columns).

    ``source`` is a parameter set (``attribute(kappa=0.5, ...)`` works too; the pair is simulated)
    or a finished :class:`record.PairResult`. ``scope`` is ``changed`` (harmed, rescued and moved
    traders) or ``harmed``. ``progress(done, total)`` is called after each changed trader.
    """
    if isinstance(source, PairResult):
        if overrides:
            raise TypeError("overrides apply to a parameter set, not to a finished pair")
        pair = source
    else:
        pair = simulate_pair(source, **overrides)
    p = pair.params
    if not p.detailed_logging:  # who sold whose paper is read from the trades rows: log them
        detailed = run_regime(p.model_copy(update={"detailed_logging": True}), "active")
        pair = PairResult(p, pair.passive, detailed, pair.comparison, pair.wall_time)
    N, cycle = p.n_traders, p.maturity_days
    names = {f"H{i + 1}": i for i in range(N)}
    pas = [pair.passive.default_day.get(f"H{i + 1}") for i in range(N)]
    act = [pair.active.default_day.get(f"H{i + 1}") for i in range(N)]
    todo = changed_traders(pas, act, cycle, scope)
    rows: list[dict[str, Any]] = []
    if todo:
        use = _usage(pair, names)
        prices = passive_price_path(p)[0] if use.prices_moved else None
        shared: dict[str, Outcomes] = {}   # passive_prices is a whole-run intervention: run once
        for k, (x, change) in enumerate(todo):
            rows.append(_attribute_one(p, x, change, pas, act, _applicable(x, use), prices, shared))
            if progress is not None:
                progress(k + 1, len(todo))
    return _frame(rows, identity_values_of(pair))


def identity_values_of(pair: PairResult) -> dict[str, Any]:
    """The identity columns of the pair's active run (the attribution table's row prefix)."""
    p = pair.params
    return {"run_id": p.run_id("active"), "regime": "active", "seed": p.seed, "kappa": p.kappa,
            "concentration": p.concentration, "mu": p.mu, "monotonicity": p.monotonicity,
            "outside_mid_ratio": p.outside_mid_ratio, "n_traders": p.n_traders,
            "face_value": p.face_value}


def _attribute_one(p: ModelParams, x: int, change: str, pas: Outcomes, act: Outcomes, names: list[str],
                   prices: PricePath | None, shared: dict[str, Outcomes]) -> dict[str, Any]:
    N, cycle = p.n_traders, p.maturity_days
    row: dict[str, Any] = {"trader_id": f"H{x + 1}", "change": change, "default_day_passive": pas[x],
                           "default_day_active": act[x], "n_applicable": len(names)}
    reverting = []

    def record(label: str, out: Outcomes) -> bool:
        back = reverts(out[x], pas[x], change, cycle)
        row.update({f"{label}_applies": True, f"{label}_default_day": out[x], f"{label}_reverts": back,
                    f"{label}_collateral": sum(1 for y in range(N) if y != x and changed(out[y], act[y], cycle))})
        return back

    for name in INTERVENTIONS:
        if name not in names:
            row.update({f"{name}_applies": False, f"{name}_default_day": None, f"{name}_reverts": False,
                        f"{name}_collateral": None})
            continue
        if name == "passive_prices":
            out = shared.get(name)
            if out is None:
                out = shared[name] = counterfactual_run(p, Counterfactual(prices=prices))
        else:
            out = counterfactual_run(p, intervention(name, N, [x], prices))
        if record(name, out):
            reverting.append(name)
    row.update({f"{JOINT}_applies": False, f"{JOINT}_default_day": None, f"{JOINT}_reverts": False,
                f"{JOINT}_collateral": None})
    if reverting:
        row["channel"] = "+".join(reverting)
    elif len(names) >= 2 and record(JOINT, counterfactual_run(p, _joint(names, N, x, prices))):
        row["channel"] = JOINT
    else:
        row["channel"] = NOT_EXPLAINED
    return row


def _frame(rows: list[dict[str, Any]], identity: dict[str, Any]) -> pd.DataFrame:
    cols = columns("attribution")
    df = pd.DataFrame([{**identity, **r} for r in rows], columns=cols)
    for name, dtype in dtypes("attribution").items():
        if dtype == "Int":
            df[name] = df[name].astype("Int64")
        elif dtype == "bool":
            df[name] = df[name].astype(bool)
        elif dtype == "int":
            df[name] = df[name].astype("int64")
    return df


def revert_counts(attribution: pd.DataFrame) -> dict[str, int]:
    """comparison.csv's §12 columns for one pair: harmed and rescued traders reverting under each
    intervention (and jointly)."""
    out = {}
    for kind in (_HARMED, _RESCUED):
        sub = attribution[attribution["change"] == kind]
        for iv in (*INTERVENTIONS, JOINT):
            out[f"{kind}_revert_{iv}"] = int(sub[f"{iv}_reverts"].sum())
    return out


def _outcome_text(day: Any) -> str:
    return "none" if day is None or pd.isna(day) else f"day {int(day)}"


def summary_lines(attribution: pd.DataFrame) -> list[str]:
    """One line per changed trader (the CLI's ``pair --attribute``): trader, change, channel,
    outcome under each intervention run (with its collateral)."""
    lines = []
    for r in attribution.to_dict("records"):
        runs = []
        for iv in (*INTERVENTIONS, JOINT):
            if r[f"{iv}_applies"]:
                mark = " reverts" if r[f"{iv}_reverts"] else ""
                runs.append(f"{iv}: {_outcome_text(r[f'{iv}_default_day'])}{mark} "
                            f"(collateral {int(r[f'{iv}_collateral'])})")
        lines.append(f"{r['trader_id']} {r['change']} (passive {_outcome_text(r['default_day_passive'])}, "
                     f"active {_outcome_text(r['default_day_active'])}) channel: {r['channel']}; "
                     + ("; ".join(runs) if runs else "no intervention applies"))
    return lines


def timed_attribute(pair: PairResult, scope: str) -> tuple[pd.DataFrame, float]:
    """:func:`attribute` of a finished pair and the seconds it took (for sweeps and benchmarks)."""
    t0 = time.perf_counter()
    df = attribute(pair, scope=scope)
    return df, time.perf_counter() - t0

