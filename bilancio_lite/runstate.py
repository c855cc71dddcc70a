"""The mutable state of one run, split by job (§5, §7, §8.2): what `engine.Run` keeps besides the
ledger (:class:`book.Book`) and the market (:class:`dealer.Market`).

| class | job | spec |
|---|---|---|
| :class:`Counters` | run totals behind the run metrics | §7.1, §7.3, §7.5 |
| :class:`Tally` | per-trader, per-lineage and per-day facts behind the metrics and traders.csv | §7, §8 |
| :class:`Rows` | the log rows, in the column order of :mod:`schema` | §8.1–§8.4 |
| :class:`Windows` | each trader's open repayment window | §8.2 |
| :class:`Losses` | the daily loss rates and the rollover hazard | §3.6, §5.4 |
| :class:`Holdings` | tickets per bucket and holder kind, counted at S3 and kept current to S6 | §8.3, §8.4 |
| :class:`Day` | the day's scratch, new at S1, and the day's system-state values by column | §5, §8.4 |

The dataclasses use ``__slots__``: the trading loop reads and writes their fields often.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

NAN = math.nan


@dataclass(slots=True)
class Counters:
    """Run totals (§7.1 defaults, §7.3 usage, §7.5 diagnostics), in tickets unless named in u."""

    matured: int = 0                       # tickets that matured (S7)
    matured_defaulted: int = 0             # of which the issuer defaulted
    initial_defaulted: int = 0             # defaulted tickets of cycle 1 (the t = 0 tickets)
    defaults_after_cycle1: int = 0         # defaulted tickets of a later cycle
    recovered: float = 0.0                 # cash paid by issuers at S7, in u
    interior: int = 0                      # customer trades with the dealer (§3.3)
    passthrough: int = 0                   # customer trades passed through to the VBT
    limit_hits: int = 0                    # pass-through because of the dealer's balance sheet
    failed: int = 0                        # attempted customer trades that did not execute
    transfers: int = 0                     # re-homing transfers (§3.5)
    cash_volume: float = 0.0               # sum of customer p*S, in u
    trades_day0: int = 0                   # customer trades on day 0 (§7.5)
    unfunded: int = 0                      # rollovers that lapsed for lack of lender cash (§5.4)
    declined: int = 0                      # rollovers declined by trader lenders (§5.4, R2.2)
    rolled: int = 0                        # rollovers done
    rollover_price_sum: float = 0.0        # sum of their prices q (§5.4, R2.7)
    rationed: int = 0                      # sum over days of the rationed sellers (§4.2, R2.4)
    dealer_ticket_days: int = 0            # dealers' home-bucket tickets summed over S6 snapshots
    dealer_ticket_days_customers: int = 0  # of which bought from customers (§7.5)


@dataclass(slots=True)
class Tally:
    """Who traded, who defaulted and what the dealers did, per trader, lineage or day (§7, §8)."""

    n_traders: int
    n_lineages: int
    sold: list[int] = field(init=False)                # tickets each trader sold over the run
    bought: list[int] = field(init=False)              # ... and bought
    lineage_defaulted: bytearray = field(init=False)   # 1 where the lineage defaulted (§7.1)
    traders_used: set[int] = field(default_factory=set)       # traders with a customer trade
    last_trade_day: int | None = None                  # last day with a customer trade (§7.5)
    from_customers: set[int] = field(default_factory=set)     # ids of dealer tickets bought from customers
    dealer_active_days: list[bool] = field(default_factory=list)  # per day: a > 0 in some bucket (S6)
    vbt_used_days: list[bool] = field(default_factory=list)       # per day: a pass-through happened

    def __post_init__(self) -> None:
        self.sold = [0] * self.n_traders
        self.bought = [0] * self.n_traders
        self.lineage_defaulted = bytearray(self.n_lineages)


@dataclass(slots=True)
class Rows:
    """The run's log rows (§8.1–§8.4), each a tuple in the column order of :mod:`schema` without
    the identity columns; read them by name with ``schema.TRADE``, ``REPAY``, ``INV``, ``SYS``."""

    trades: list[tuple] = field(default_factory=list)
    repay: list[tuple] = field(default_factory=list)
    inv: list[tuple] = field(default_factory=list)
    sys: list[tuple] = field(default_factory=list)
    seq: int = 0                          # the last trades row's `seq` (order within the run)


@dataclass(slots=True)
class Windows:
    """Each trader's current repayment window (§8.2): from the day after its last maturity (day 0
    in cycle 1) to its next one. Indexed by trader."""

    n_traders: int
    start: list[int] = field(init=False)       # first day of the window
    buy: list[int] = field(init=False)         # tickets bought in the window
    sell: list[int] = field(init=False)        # tickets sold in the window
    pnl: list[float] = field(init=False)       # sale proceeds minus purchase costs, in u
    match: list[bool] = field(init=False)      # held a ticket due on its own due day at some S1
    gap: list[float] = field(init=False)       # liquidity gap at the start of the window (§4.1)
    cycle: list[int] = field(init=False)       # 1 for the initial liabilities, +1 per maturity

    def __post_init__(self) -> None:
        N = self.n_traders
        self.start = [0] * N
        self.buy = [0] * N
        self.sell = [0] * N
        self.pnl = [0.0] * N
        self.match = [False] * N
        self.gap = [NAN] * N
        self.cycle = [1] * N

    def close(self, i: int, t: int) -> None:
        """Trader i's liability matured on t: the next window starts on t + 1."""
        self.cycle[i] += 1
        self.start[i] = t + 1
        self.buy[i] = self.sell[i] = 0
        self.pnl[i] = 0.0
        self.match[i] = False
        self.gap[i] = NAN


@dataclass(slots=True)
class Losses:
    """The day's outstanding-basis loss rates ell_t (§3.6) and the rollover hazard lambda_t (§5.4)."""

    rates: list[float] = field(default_factory=list)   # ell_0, ell_1, ... (one per S7)
    hazard: float = 0.0                                 # lambda_t after the latest S7


@dataclass(slots=True)
class Holdings:
    """Ticket counts counted at S3 and kept current by the trades of S5, for the S6 rows (§8.3):
    ``by_bucket[b][kind]`` tickets per bucket (index 3: due today) and holder kind, the dealers'
    off-bucket tickets and the VBTs' home-bucket tickets per bucket."""

    by_bucket: list[list[int]]
    off_bucket: list[int]
    vbt_home: list[int]


@dataclass(slots=True)
class Day:
    """One day's scratch, new at S1 (§5). ``sys`` collects the day's system_state values by column
    name (§8.4): each stage adds what it computes, S10 writes the row (``schema.SYS.row``)."""

    t: int
    sys: dict[str, Any] = field(init=False)
    n_int: list[int] = field(default_factory=lambda: [0, 0, 0])     # interior trades per bucket
    n_pass: list[int] = field(default_factory=lambda: [0, 0, 0])    # pass-through trades per bucket
    hit: list[bool] = field(default_factory=lambda: [False, False, False])  # a limit was hit
    a_start: list[int] = field(default_factory=lambda: [0, 0, 0])   # dealer inventory at S4
    face_s3: float = 0.0          # F_t: face outstanding at S3 (§3.6)
    face_s3_short: float = 0.0    # the same restricted to the short bucket and due today

    def __post_init__(self) -> None:
        # the day opens the row with its date and the counts that (A) stages raise: in the
        # passive regime S5 does not run and nobody is rationed (§4.2, R2.4)
        self.sys = {"day": self.t, "n_rationed_sellers": 0}
