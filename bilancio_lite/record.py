"""A finished run and a finished pair as data (§6, §7, §8).

When a run ends, `engine.Run` freezes what the metrics (§7) and the logs (§8) need into a
:class:`RunRecord`; :func:`metrics.run_metrics` and :func:`logs.build_tables` read only the
record, never the live run, so neither imports the engine (the import graph is
``engine -> metrics, logs -> record -> runstate``). :class:`RunResult` and :class:`PairResult`
are what :func:`engine.simulate_pair` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .params import ModelParams
from .ring import RingInfo
from .runstate import Counters, Rows

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One regime's run after its last day (§6.2): rows, totals and end-of-run facts.

    Built once by the engine and only read afterwards (the row lists and counters it holds are the
    run's own, handed over, not copied)."""

    regime: str
    run_id: str
    params: ModelParams
    info: RingInfo
    S: float                                  # ticket face, in u
    N: int                                    # traders
    names: tuple[str, ...]                    # agent names: H1..HN, then dealers and VBTs
    rows: Rows                                # the log rows (§8.1–§8.4)
    counters: Counters                        # run totals (§7)
    default_day: dict[str, int]               # trader name -> default day, defaulted traders only
    sold: tuple[int, ...]                     # tickets each trader sold over the run
    bought: tuple[int, ...]                   # ... and bought
    lineage_defaulted: bytes                  # 1 where the lineage defaulted (§7.1)
    traders_used: frozenset[int]              # traders with at least one customer trade (§7.3)
    last_trade_day: int | None                # last day with a customer trade (§7.5)
    dealer_active_days: tuple[bool, ...]      # per day: a > 0 in some bucket at S6 (§7.3)
    vbt_used_days: tuple[bool, ...]           # per day: a pass-through happened (§7.3)
    equity0: tuple[list[float], list[float]]      # (dealers, VBTs) equity per bucket at t = 0 (§7.3)
    equity_end: tuple[list[float], list[float]]   # the same at t_end
    vbt_overdraft: float                      # outside money used under vbt_depth = infinite (§3.1)


@dataclass
class RunResult:
    """One regime's run: its tables (the §8 files), metrics (§7) and identity."""

    regime: str
    run_id: str
    params: ModelParams
    info: RingInfo
    fingerprint: str
    tables: Mapping[str, "pd.DataFrame"]   # logs.RunTables: name -> DataFrame, built on first access
    metrics: dict[str, Any]
    default_day: dict[str, int]        # trader name -> default day
    rng_draws: int
    wall_time: float


@dataclass
class PairResult:
    """A passive/active pair from one initial state (§6), with its comparison row (§8.5)."""

    params: ModelParams
    passive: RunResult
    active: RunResult
    comparison: dict[str, Any]
    wall_time: float = 0.0

    @property
    def pair_id(self) -> str:
        return self.params.pair_id
