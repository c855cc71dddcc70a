"""The day loop (§5) for one regime, and the pair runner (§6).

`Run.day(t)` reads like the stage table of §5: S1 … S10, one short method each. Rows for the run
logs (§8) are collected as tuples in the column order of :mod:`bilancio_lite.schema` and turned
into DataFrames once, at the end (:mod:`bilancio_lite.logs`).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

#: ``progress(regime, day, last_day)``, called after each simulated day (see :func:`simulate_pair`).
Progress = Callable[[str, int, int], None]

from . import metrics as _metrics
from .book import BUCKET_NAMES, DEALER, KIND_NAMES, TRADER, VBT, Book, bucket_of, bucket_table
from .dealer import Fill, Market, kernel
from .logs import RunTables, build_tables
from .params import ModelParams
from .ring import RingInfo, build_initial_state
from .settlement import Rollover, Settlement, rollover, settle
from .traders import best_sale, buyer_bucket, has_tradable_ticket, liquidity_gap, order_flow

NAN = math.nan


class TradeStream:
    """rng_trade (§6.3): Random(f"{s}:trading"), counting its draws so I11 can be tested."""

    def __init__(self, seed: int | str) -> None:
        self._r = random.Random(seed)
        self.draws = 0

    def random(self) -> float:
        self.draws += 1
        return self._r.random()

    def randrange(self, n: int) -> int:
        self.draws += 1
        return self._r.randrange(n)


@dataclass
class RunResult:
    """One regime's run: its tables (the §8 files), metrics (§7) and identity."""

    regime: str
    run_id: str
    params: ModelParams
    info: RingInfo
    fingerprint: str
    tables: RunTables                   # name -> DataFrame, built on first access
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


class Run:
    """One regime of one parameter set, from §2's initial state to t_end."""

    def __init__(self, params: ModelParams, regime: str, *, amounts: list[float] | None = None,
                 book: Book | None = None, info: RingInfo | None = None) -> None:
        if regime not in ("passive", "active"):
            raise ValueError(f"regime must be 'passive' or 'active', got {regime!r}")
        self.p = p = params
        self.regime = regime
        self.active = regime == "active"
        if book is None:
            book, info = build_initial_state(p, amounts)
        self.book, self.info = book, info
        self.fingerprint = book.fingerprint()
        self.market = Market(book, p)
        self.rng = TradeStream(f"{p.seed}:trading") if self.active else None
        self.S, self.N, self.H, self.roll = book.S, book.N, p.H, p.rollover
        self.details = p.detailed_logging
        N = self.N
        # log rows (schema order)
        self.trade_rows: list[tuple] = []
        self.repay_rows: list[tuple] = []
        self.inv_rows: list[tuple] = []
        self.sys_rows: list[tuple] = []
        self.seq = 0
        # repayment windows (§8.2)
        self.win_start = [0] * N
        self.win_buy = [0] * N
        self.win_sell = [0] * N
        self.win_pnl = [0.0] * N
        self.win_match = [False] * N
        self.win_gap = [NAN] * N
        self.cycle = [1] * N
        self.sold = [0] * N
        self.bought = [0] * N
        # single-issuer rule (§4.3): the issuer of the claims a trader holds at t = 0
        self.k_issuer: list[int | None] = []
        for i in range(N):
            issuers = {tk.issuer for tk in book.held[i].values()}
            self.k_issuer.append(issuers.pop() if len(issuers) == 1 else None)
        # lineages and run counters (§7)
        self.lin_defaulted = bytearray(info.n_lineages)
        self.c = dict(matured=0, matured_defaulted=0, initial_defaulted=0, recovered=0.0, interior=0,
                      passthrough=0, limit_hits=0, failed=0, transfers=0, cash_volume=0.0, unfunded=0)
        self.traders_used: set[int] = set()
        self.day_a_any: list[bool] = []
        self.day_vbt_used: list[bool] = []
        self.sells_today = [0] * N
        self.n_int = [0, 0, 0]
        self.n_pass = [0, 0, 0]
        self.hit = [False, False, False]
        self.a_start = [0, 0, 0]
        self._count_holdings(0)
        self.equity0 = self._mm_equity(0)

    # --------------------------------------------------------------------------------------
    def run(self, progress: Progress | None = None) -> RunResult:
        t0 = time.perf_counter()
        for t in range(self.p.last_day + 1):
            self.day(t)
            if progress is not None:
                progress(self.regime, t, self.p.last_day)
        return self._result(time.perf_counter() - t0)

    def day(self, t: int) -> None:
        """§5: the stage table."""
        self.s1_age(t)
        if self.active:
            self.s2_rehome(t)
        sys_row = self.s3_snapshot(t)
        if self.active:
            self.s4_kernels(t)
            self.s5_trading(t)
        self.s6_snapshot(t)
        st = self.s7_settle(t)
        ro = self.s8_rollover(t, st)
        self.s9_anchors(st)
        self.s10_bookkeeping(t, st, ro, sys_row)

    # --- S1 --------------------------------------------------------------------------------
    def s1_age(self, t: int) -> None:
        """S1: tau = due - t is derived on demand; here the repayment windows note what they need."""
        book = self.book
        self.n_int = [0, 0, 0]
        self.n_pass = [0, 0, 0]
        self.hit = [False, False, False]
        for i in range(self.N):
            issued = book.issued[i]
            if book.defaulted[i] or not issued:
                continue
            D = next(iter(issued.values())).due
            if not self.win_match[i]:
                for tk in book.held[i].values():
                    if tk.due == D:
                        self.win_match[i] = True
                        break
            if t == self.win_start[i]:
                self.win_gap[i] = liquidity_gap(book, i, t, self.H, self.roll)

    # --- S2 --------------------------------------------------------------------------------
    def s2_rehome(self, t: int) -> None:
        """S2 (A): re-home market makers' tickets to the bucket they now belong to (§3.5)."""
        book, m, S = self.book, self.market, self.S
        for tk, sender, receiver, price, nb, a0, c0 in m.rehome(t):
            self.c["transfers"] += 1
            if not self.details:
                continue
            q = kernel(a0, c0, m.M[nb], m.O[nb], S, M_min=m.M_min, O_min=m.O_min, clip_B=m.clip_B)
            to_dealer = receiver == book.dealer(nb)
            a1, c1 = (a0 + 1, c0 - price * S) if to_dealer else (a0, c0)
            self.seq += 1
            self.trade_rows.append((
                t, self.seq, "transfer", "TRANSFER", BUCKET_NAMES[nb], tk.id, tk.lineage,
                book.names[tk.issuer], tk.due, tk.due - t, S, price, price * S,
                book.names[receiver], KIND_NAMES[book.kind[receiver]],
                book.names[sender], KIND_NAMES[book.kind[sender]], "", "", False,
                q.M, q.B, q.A, q.p, q.bid, q.ask, a0, a1, c0, c1, q.K,
                "", NAN, NAN, NAN, NAN, False))

    # --- S3 --------------------------------------------------------------------------------
    def s3_snapshot(self, t: int) -> list:
        """S3: start-of-day stocks for system_state_timeseries (§8.4); flows are added at S10.

        Holdings are counted here, in the one scan of all tickets a day; trading (S5) then adjusts
        them trade by trade for the S6 inventory rows.
        """
        book, N, S = self.book, self.N, self.S
        hold = self._count_holdings(t)
        face = [sum(hold[b]) for b in range(4)]
        due_today = face[3]
        cash = book.cash
        total_face = S * (face[0] + face[1] + face[2] + due_today)
        total_cash = sum(cash)
        cash_traders = sum(cash[:N])
        stranded = sum(cash[i] for i in range(N) if book.defaulted[i])
        live_cash = cash_traders - stranded
        t_dm = total_face / live_cash if live_cash > 0 else NAN
        kappa_t = live_cash / total_face if total_face > 0 else NAN
        m = self.market
        return [t, total_face, S * face[0], S * face[1], S * face[2], S * due_today, total_cash,
                cash_traders, sum(cash[N:N + 3]), sum(cash[N + 3:N + 6]), stranded,
                total_face / total_cash if total_cash > 0 else NAN, t_dm, kappa_t,
                m.M[0], m.M[1], m.M[2]]

    def _count_holdings(self, t: int) -> list[list[int]]:
        """Tickets per bucket (index 3: due today) and holder kind; dealers' off-bucket tickets;
        VBTs' home-bucket tickets. Stored for S6 and returned."""
        book, N = self.book, self.N
        hold = [[0, 0, 0] for _ in range(4)]
        off = [0, 0, 0]
        vbt_home = [0, 0, 0]
        bt = bucket_table(t, book.max_due)
        kind = book.kind
        for tk in book.tickets.values():
            b = bt[tk.due]
            h = tk.holder
            k = kind[h]
            hold[b][k] += 1
            if k == DEALER:
                if b >= 0 and h - N != b:
                    off[h - N] += 1
            elif k == VBT and h - N - 3 == b:
                vbt_home[b] += 1
        self.hold, self.off, self.vbt_home = hold, off, vbt_home
        return hold

    # --- S4 --------------------------------------------------------------------------------
    def s4_kernels(self, t: int) -> None:
        """S4 (A): recompute every dealer kernel (§3.2)."""
        self.market.recompute(t)
        self.a_start = list(self.market.a)

    # --- S5 --------------------------------------------------------------------------------
    def s5_trading(self, t: int, sellers: list[int] | None = None, buyers: list[int] | None = None) -> int:
        """S5 (A): the order-flow loop (§4.4). Explicit queues are for the §11 harness tests."""
        book, p, m = self.book, self.p, self.market
        theta_S = p.theta * self.S
        if sellers is None:
            sellers, buyers_auto = [], []
            for i in range(self.N):
                self.sells_today[i] = 0
                if book.defaulted[i]:
                    continue
                g = liquidity_gap(book, i, t, self.H, self.roll)
                if g > theta_S:
                    if has_tradable_ticket(book, m, i, t):
                        sellers.append(i)
                elif p.invest and g <= 0:
                    if buyer_bucket(book, m, i, t, self.k_issuer[i], self.H, p.H_inv, p.buffer,
                                    self.roll) is not None:
                        buyers_auto.append(i)
            if buyers is None:
                buyers = buyers_auto
        else:
            for i in sellers:
                self.sells_today[i] = 0
        return order_flow(sellers, buyers or [], self.rng, p.pi_sell, p.N_max,
                          lambda i: self._try_sell(i, t), lambda i: self._try_buy(i, t))

    def _try_sell(self, i: int, t: int) -> bool:
        """One SELL arrival for trader i (§4.2). Returns whether i stays in the seller queue."""
        book, p, m = self.book, self.p, self.market
        g0, tk, g1 = best_sale(book, m, i, t, self.H, self.roll)
        if tk is None:
            return False
        cash0 = book.cash[i]
        fill = m.customer_sell(tk, i, t)
        if not fill.ok:
            self.c["failed"] += 1
            return False
        g1 = liquidity_gap(book, i, t, self.H, self.roll)
        self._record_fill(t, fill, i, cash0, g0, g1)
        self.sells_today[i] += 1
        if g1 <= p.theta * self.S:
            return False
        if p.max_sells_day is not None and self.sells_today[i] >= p.max_sells_day:
            return False
        return best_sale(book, m, i, t, self.H, self.roll)[1] is not None

    def _try_buy(self, i: int, t: int) -> bool:
        """One BUY arrival for trader i (§4.3): at most one purchase a day, so i always leaves."""
        book, m = self.book, self.market
        issuer = self.k_issuer[i]
        for b in range(3):
            if m.exec_ask(b, t, i, issuer) is not None:
                break
        else:
            self.c["failed"] += 1
            return False
        cash0 = book.cash[i]
        g0 = liquidity_gap(book, i, t, self.H, self.roll)
        fill = m.customer_buy(i, b, t, issuer, cash0)
        if not fill.ok:
            self.c["failed"] += 1
            return False
        if issuer is None:
            self.k_issuer[i] = fill.ticket.issuer
        self._record_fill(t, fill, i, cash0, g0, liquidity_gap(book, i, t, self.H, self.roll))
        return False

    def _record_fill(self, t: int, fill: Fill, trader: int, cash0: float, g0: float, g1: float) -> None:
        book, S = self.book, self.S
        tk, q, b = fill.ticket, fill.quote, fill.bucket
        price = fill.price
        c = self.c
        if fill.route == "interior":
            c["interior"] += 1
            self.n_int[b] += 1
        else:
            c["passthrough"] += 1
            self.n_pass[b] += 1
        limit = fill.hit_inventory_limit
        if limit:
            c["limit_hits"] += 1
            self.hit[b] = True
        c["cash_volume"] += price * S
        self.traders_used.add(trader)
        if fill.side == "SELL":
            buyer, seller = fill.counterparty, trader
            moved_to, moved_from = book.kind[buyer], TRADER
            self.win_sell[trader] += 1
            self.sold[trader] += 1
            self.win_pnl[trader] += price * S
        else:
            buyer, seller = trader, fill.counterparty
            moved_to, moved_from = TRADER, book.kind[seller]
            self.win_buy[trader] += 1
            self.bought[trader] += 1
            self.win_pnl[trader] -= price * S
        hold = self.hold[b]  # the S3 holdings, kept current for the S6 rows
        hold[moved_from] -= 1
        hold[moved_to] += 1
        if buyer == book.vbt(b):
            self.vbt_home[b] += 1
        elif seller == book.vbt(b):
            self.vbt_home[b] -= 1
        if not self.details:
            return
        self.seq += 1
        names, kind = book.names, book.kind
        self.trade_rows.append((
            t, self.seq, "customer", fill.side, BUCKET_NAMES[b], tk.id, tk.lineage, names[tk.issuer],
            tk.due, tk.due - t, S, price, price * S, names[buyer], KIND_NAMES[kind[buyer]],
            names[seller], KIND_NAMES[kind[seller]], fill.route,
            fill.reason if fill.route == "passthrough" else "", limit,
            q.M, q.B, q.A, q.p, q.bid, q.ask, fill.a_before, fill.a_after, fill.C_before, fill.C_after,
            q.K, names[trader], cash0, book.cash[trader], g0, g1, g0 > 0))

    # --- S6 --------------------------------------------------------------------------------
    def s6_snapshot(self, t: int) -> None:
        """S6: end-of-trading inventory rows (§8.3). Passive holders are described as if dealers."""
        book, m, S = self.book, self.market, self.S
        if not self.active:
            m.recompute(t)
            self.a_start = list(m.a)
        self.day_a_any.append(any(a > 0 for a in m.a))
        self.day_vbt_used.append(any(n > 0 for n in self.n_pass))
        if not self.details:
            return
        hold, off, vbt_home = self.hold, self.off, self.vbt_home
        for b in range(3):
            q = m.quotes[b]
            a = m.a[b]
            dealer, vbt = book.dealer(b), book.vbt(b)
            f_d, f_v, f_t = S * hold[b][DEALER], S * hold[b][VBT], S * hold[b][TRADER]
            tot = f_d + f_v + f_t
            sd, sv, st = (f_d / tot, f_v / tot, f_t / tot) if tot > 0 else (0.0, 0.0, 0.0)
            self.inv_rows.append((
                t, BUCKET_NAMES[b], self.a_start[b], a, off[b], book.cash[dealer], q.K, S * q.K,
                100.0 * a / q.K if q.K > 0 else 0.0, a == 0, self.hit[b], self.n_pass[b] > 0,
                self.n_int[b], self.n_pass[b], q.bid, q.ask, q.p, q.M, q.O, vbt_home[b], book.cash[vbt],
                tot, f_d, f_v, f_t, sd, sv, sd + sv, st))

    # --- S7 --------------------------------------------------------------------------------
    def s7_settle(self, t: int) -> Settlement:
        """S7: clearing with proportional recovery (§5.2), defaults (§5.3), repayment rows (§8.2)."""
        book, S, N = self.book, self.S, self.N
        day = book.by_due.get(t)
        if not day:
            return Settlement()
        held_by: dict[int, list[int]] = {}
        for tk in day.values():
            row = held_by.get(tk.issuer)
            if row is None:
                row = held_by[tk.issuer] = [0, 0, 0]
            row[book.kind[tk.holder]] += 1
        ended_holding = {i: bool(book.held[i]) for i in held_by}
        st = settle(book, t, self.p.clearing)
        names = book.names
        for i in sorted(held_by):
            counts = held_by[i]
            n = counts[0] + counts[1] + counts[2]
            R = st.R[i]
            nb, ns = self.win_buy[i], self.win_sell[i]
            strategy = ("no_trade" if nb == 0 and ns == 0 else "hold_to_maturity" if ns == 0
                        else "sell_before" if nb == 0 else "round_trip")
            self.repay_rows.append((
                names[i], f"{names[i]}@{t}", self.cycle[i], t, n, S * n, S * counts[TRADER],
                S * counts[DEALER], S * counts[VBT], "repaid" if R == 1.0 else "defaulted", R,
                self.win_start[i], t, nb, ns, S * nb, S * ns, self.win_pnl[i], self.win_match[i],
                ended_holding[i], strategy, min(nb, ns) >= 2, nb + ns > 0, self.win_gap[i]))
            self.cycle[i] += 1
            self.win_start[i] = t + 1
            self.win_buy[i] = self.win_sell[i] = 0
            self.win_pnl[i] = 0.0
            self.win_match[i] = False
            self.win_gap[i] = NAN
        return st

    # --- S8 --------------------------------------------------------------------------------
    def s8_rollover(self, t: int, st: Settlement) -> Rollover:
        """S8: rollover with the funding rule (§5.4)."""
        if not self.roll or not st.matured:
            return Rollover(not_rolled=list(st.matured))
        return rollover(self.book, st, t)

    # --- S9 --------------------------------------------------------------------------------
    def s9_anchors(self, st: Settlement) -> None:
        """S9: anchor update from the day's realized losses (§3.6)."""
        if self.p.anchor_update == "off" or not st.matured:
            return
        ell = sum(1.0 - st.R[tk.issuer] for tk in st.matured) / len(st.matured)
        self.market.update_anchors([ell] * 3 if self.p.anchor_scope == "system" else [ell, 0.0, 0.0])

    # --- S10 -------------------------------------------------------------------------------
    def s10_bookkeeping(self, t: int, st: Settlement, ro: Rollover, sys_row: list) -> None:
        """S10: lineage bookkeeping and the day's flows (§7.1, §8.4)."""
        c, S = self.c, self.S
        defaulted_tickets = 0
        for tk in st.matured:
            if st.R[tk.issuer] < 1.0:
                defaulted_tickets += 1
                self.lin_defaulted[tk.lineage] = 1
                if tk.cycle == 1:
                    c["initial_defaulted"] += 1
        c["matured"] += len(st.matured)
        c["matured_defaulted"] += defaulted_tickets
        c["recovered"] += st.recovered_cash
        c["unfunded"] += len(ro.lapsed)
        n_def = sum(1 for i in range(self.N) if self.book.defaulted[i])
        M = sys_row[-3:]
        self.sys_rows.append((*sys_row[:-3], n_def, st.settled_face, S * defaulted_tickets,
                              st.recovered_cash, S * len(ro.rolled), len(ro.lapsed), *M))

    # --- results ---------------------------------------------------------------------------
    def _mm_equity(self, t: int) -> tuple[list[float], list[float]]:
        """E_b = C_b + S * sum over held tickets of M at the ticket's current bucket (§7.3).

        Tickets due on day t count at par (before settlement)."""
        book, m, S = self.book, self.market, self.S
        out = ([0.0] * 3, [0.0] * 3)
        for k, base in ((0, book.N), (1, book.N + 3)):
            for b in range(3):
                agent = base + b
                value = book.cash[agent]
                for tk in book.held[agent].values():
                    nb = bucket_of(tk.due - t)
                    value += S * (1.0 if nb < 0 else m.M[nb])
                out[k][b] = value
        return out

    def _result(self, wall: float) -> RunResult:
        book, p = self.book, self.p
        equity_end = self._mm_equity(p.last_day)
        tables = build_tables(self)
        default_day = {book.names[i]: book.default_day[i] for i in range(self.N) if book.defaulted[i]}
        mets = _metrics.run_metrics(self, equity_end)
        return RunResult(self.regime, p.run_id(self.regime), p, self.info, self.fingerprint, tables,
                         mets, default_day, self.rng.draws if self.rng else 0, wall)


def validated(params: ModelParams | None = None, **overrides: Any) -> ModelParams:
    """``params`` (with ``overrides``) validated again, however it was built: a ModelParams made by
    ``model_copy(update=...)`` or ``model_construct(...)`` skipped validation (kappa = -1 would run
    with delta = 1.0, n_traders = 0 die with ZeroDivisionError). Unknown overrides are refused.
    Raises pydantic's ValidationError (field, value and allowed range via ``describe_errors``)."""
    if params is None:
        return ModelParams(**overrides)
    if not isinstance(params, ModelParams):
        raise TypeError(f"params must be a ModelParams, got {type(params).__name__}")
    return ModelParams.model_validate({**params.model_dump(), **overrides})


def run_regime(params: ModelParams, regime: str, *, amounts: list[float] | None = None,
               progress: Progress | None = None) -> RunResult:
    """Run one regime from the §2 initial state to t_end (``params`` validated first)."""
    return Run(validated(params), regime, amounts=amounts).run(progress)


def simulate_pair(params: ModelParams | None = None, *, progress: Progress | None = None,
                  **overrides: Any) -> PairResult:
    """§6: run the passive and the active regime from identical initial states and compare them.

    `simulate_pair(ModelParams(kappa=0.5))` or `simulate_pair(kappa=0.5)`. The parameters are
    validated again whatever way they were built, and an unknown override is an error
    (:func:`validated`). ``progress(regime, day, last_day)`` is called after each simulated day.
    """
    params = validated(params, **overrides)
    t0 = time.perf_counter()
    passive = run_regime(params, "passive", progress=progress)
    active = run_regime(params, "active", progress=progress)
    if passive.fingerprint != active.fingerprint:  # §6.2 pair identity
        raise AssertionError("initial-state fingerprints of the passive and active runs differ")
    row = _metrics.comparison_row(params, passive, active)
    return PairResult(params, passive, active, row, time.perf_counter() - t0)
