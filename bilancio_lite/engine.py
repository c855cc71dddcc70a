"""The day loop (§5) for one regime, and the pair runner (§6).

`Run.day(t)` reads like the stage table of §5: S1 … S10, one short method each. The run's state
besides the ledger and the market lives in the small dataclasses of :mod:`bilancio_lite.runstate`
(counters, tallies, rows, repayment windows, losses, holdings, the day's scratch). Rows for the
run logs (§8) are collected as tuples in the column order of :mod:`bilancio_lite.schema`; the
system-state row (§8.4) is collected by column name, each stage adding what it computes, and
written at S10. When the run ends it is frozen into a :class:`record.RunRecord`, from which
:mod:`bilancio_lite.metrics` computes §7 and :mod:`bilancio_lite.logs` builds the tables.
"""

from __future__ import annotations

import math
import random
import time
from typing import Any, Callable

from .book import DEALER, KIND_NAMES, TRADER, VBT, Book, bucket_of, bucket_table
from .counterfactual import Counterfactual
from .dealer import Fill, Market, kernel
from .logs import build_tables
from .metrics import comparison_row, run_metrics
from .params import ModelParams
from .record import PairResult, RunRecord, RunResult
from .ring import RingInfo, build_initial_state
from .runstate import Counters, Day, Holdings, Losses, Rows, Tally, Windows
from .schema import BUCKETS, REGIMES, STRATEGIES, SYS
from .settlement import Rollover, Settlement, rollover, rollover_hazard, rollover_price, settle
from .traders import (Projection, best_sale, buyer_bucket, has_tradable_ticket, lender_gap,
                      liquidity_gap, order_flow)

__all__ = ["PairResult", "Progress", "Run", "RunResult", "TradeStream", "run_regime", "simulate_pair",
           "validated"]

#: ``progress(regime, day, last_day)``, called after each simulated day (see :func:`simulate_pair`).
Progress = Callable[[str, int, int], None]

NAN = math.nan
_PASSIVE, _ACTIVE = REGIMES
_NO_TRADE, _HOLD_TO_MATURITY, _SELL_BEFORE, _ROUND_TRIP = STRATEGIES


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


class Run:
    """One regime of one parameter set, from §2's initial state to t_end.

    State: the ledger ``book`` (§0), the ``market`` (§3), the trading stream ``rng`` (§6.3), the
    day's ``proj`` (§4.1), the single-issuer rule ``k_issuer`` (§4.3), and the runstate
    dataclasses ``counters``, ``tally``, ``rows``, ``windows``, ``losses``, ``holdings``, ``today``.
    """

    def __init__(self, params: ModelParams, regime: str, *, amounts: list[float] | None = None,
                 book: Book | None = None, info: RingInfo | None = None,
                 counterfactual: Counterfactual | None = None) -> None:
        if regime not in REGIMES:
            raise ValueError(f"regime must be {' or '.join(map(repr, REGIMES))}, got {regime!r}")
        if counterfactual is not None and regime != _ACTIVE:
            raise ValueError("a counterfactual (§12) intervenes on the active regime only")
        self.p = p = params
        self.regime = regime
        self.active = regime == _ACTIVE
        if book is None:
            book, info = build_initial_state(p, amounts)
        self.book, self.info = book, info
        self.fingerprint = book.fingerprint()
        self.market = Market(book, p)
        self.rng = TradeStream(f"{p.seed}:trading") if self.active else None
        self.S, self.N, self.H, self.roll = book.S, book.N, p.H, p.rollover
        self.risk_priced = p.rollover_price == "risk_priced"
        self.proj = self._projection(0.0)
        self.details = p.detailed_logging
        N = self.N
        # single-issuer rule (§4.3): the issuer of the claims a trader holds at t = 0
        self.k_issuer: list[int | None] = []
        for i in range(N):
            issuers = {tk.issuer for tk in book.held[i].values()}
            self.k_issuer.append(issuers.pop() if len(issuers) == 1 else None)
        self.sells_today = [0] * N                  # §4.2 max_sells_day: the day's sales per trader
        self.counters = Counters()                  # run totals (§7)
        self.tally = Tally(N, info.n_lineages)      # per trader / lineage / day (§7, traders.csv)
        self.rows = Rows()                          # log rows (§8.1–§8.4)
        self.windows = Windows(N)                   # repayment windows (§8.2)
        self.losses = Losses()                      # ell_t and lambda_t (§3.6, §5.4)
        self.today = Day(0)                         # the day's scratch (§5), new at S1
        self.holdings = self._count_holdings(0)     # S3 counts kept current to S6 (§8.3)
        self.equity0 = self._mm_equity(0)
        # §12 interventions (data): per-trader masks (None = the unmodified rule) and a price path
        if counterfactual is not None:
            counterfactual.check(N, p.last_day + 1)
        self.no_sell, self.no_paper_sale, self.no_buy, self.mm_retire = Counterfactual.masks_of(counterfactual)
        self.price_path = counterfactual.prices if counterfactual is not None else None

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
        values = self.s3_snapshot(t)
        if self.active:
            self.s4_kernels(t)
            self.s5_trading(t)
        self.s6_snapshot(t)
        st = self.s7_settle(t)
        ro = self.s8_rollover(t, st)
        self.s9_anchors(st)
        self.s10_bookkeeping(t, st, ro, values)

    # --- S1 --------------------------------------------------------------------------------
    def _projection(self, hazard: float) -> Projection:
        """§4.1 flows for this run's rules: rolling under forced rollover, with successors (R2.1)
        and the latest known rollover hazard under risk_priced (R2.7)."""
        p = self.p
        rolling = p.rollover and p.rollover_lender == "forced"
        return Projection(rolling, rolling and p.gap_successors, hazard if self.risk_priced else 0.0,
                          p.rollover_price_floor)

    def s1_age(self, t: int) -> None:
        """S1: tau = due - t is derived on demand; here the day's scratch starts, the repayment
        windows note what they need (§8.2), and the day's projection takes the latest known
        rollover hazard (lambda_{t-1}, §5.4)."""
        book, win = self.book, self.windows
        if self.risk_priced:
            self.proj = self._projection(self.losses.hazard)
        self.today = Day(t)
        match, start = win.match, win.start
        for i in range(self.N):
            issued = book.issued[i]
            if book.defaulted[i] or not issued:
                continue
            D = next(iter(issued.values())).due
            if not match[i]:
                for tk in book.held[i].values():
                    if tk.due == D:
                        match[i] = True
                        break
            if t == start[i]:
                win.gap[i] = liquidity_gap(book, i, t, self.H, self.proj)

    # --- S2 --------------------------------------------------------------------------------
    def s2_rehome(self, t: int) -> None:
        """S2 (A): re-home market makers' tickets to the bucket they now belong to (§3.5)."""
        book, m, S = self.book, self.market, self.S
        c, rows, from_customers = self.counters, self.rows, self.tally.from_customers
        for tk, sender, receiver, price, nb, a0, c0, c1 in m.rehome(t):
            c.transfers += 1
            from_customers.discard(tk.id)
            if not self.details:
                continue
            q = kernel(a0, c0, m.M[nb], m.O[nb], S, M_min=m.M_min, O_min=m.O_min, clip_B=m.clip_B)
            to_dealer = receiver == book.dealer(nb)
            a1 = a0 + 1 if to_dealer else a0
            rows.seq += 1
            rows.trades.append((
                t, rows.seq, "transfer", "TRANSFER", BUCKETS[nb], tk.id, tk.lineage,
                book.names[tk.issuer], tk.due, tk.due - t, S, price, price * S,
                book.names[receiver], KIND_NAMES[book.kind[receiver]],
                book.names[sender], KIND_NAMES[book.kind[sender]], "", "", False,
                q.M, q.B, q.A, q.p, q.bid, q.ask, a0, a1, c0, c1, q.K,
                "", NAN, NAN, NAN, NAN, False))

    # --- S3 --------------------------------------------------------------------------------
    def s3_snapshot(self, t: int) -> dict[str, Any]:
        """S3: start-of-day stocks for system_state_timeseries (§8.4), added by column name to the
        day's values, which are returned (S10 writes the row; the flows come from S5–S10).

        Holdings are counted here, in the one scan of all tickets a day; trading (S5) then adjusts
        them trade by trade for the S6 inventory rows.
        """
        book, N, S, today = self.book, self.N, self.S, self.today
        self.holdings = self._count_holdings(t)
        face = [sum(self.holdings.by_bucket[b]) for b in range(4)]
        due_today = face[3]
        cash = book.cash
        total_face = S * (face[0] + face[1] + face[2] + due_today)
        today.face_s3 = total_face                      # F_t of §3.6
        today.face_s3_short = S * (face[0] + due_today)  # scope = bucket: last tradable bucket short
        total_cash = sum(cash)
        cash_traders = sum(cash[:N])
        stranded = sum(cash[i] for i in range(N) if book.defaulted[i])
        live_cash = cash_traders - stranded
        M = self.market.M
        values = today.sys
        values.update(
            total_face_outstanding=total_face, face_short=S * face[0], face_mid=S * face[1],
            face_long=S * face[2], face_due_today=S * due_today, total_cash=total_cash,
            cash_traders=cash_traders, cash_dealers=sum(cash[N:N + 3]), cash_vbts=sum(cash[N + 3:N + 6]),
            cash_stranded=stranded, debt_to_money=total_face / total_cash if total_cash > 0 else NAN,
            trader_debt_to_money=total_face / live_cash if live_cash > 0 else NAN,
            kappa_t=live_cash / total_face if total_face > 0 else NAN,
            M_short=M[0], M_mid=M[1], M_long=M[2])
        return values

    def _count_holdings(self, t: int) -> Holdings:
        """Tickets per bucket (index 3: due today) and holder kind; dealers' off-bucket tickets;
        VBTs' home-bucket tickets (for S3 and the S6 rows)."""
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
        return Holdings(hold, off, vbt_home)

    # --- S4 --------------------------------------------------------------------------------
    def s4_kernels(self, t: int) -> None:
        """S4 (A): recompute every dealer kernel (§3.2)."""
        self.market.recompute(t)
        self.today.a_start = list(self.market.a)

    # --- S5 --------------------------------------------------------------------------------
    def s5_trading(self, t: int, sellers: list[int] | None = None, buyers: list[int] | None = None) -> int:
        """S5 (A): the order-flow loop (§4.4). Explicit queues are for the §11 harness tests."""
        book, p, m = self.book, self.p, self.market
        theta_S = p.theta * self.S
        no_sell, no_buy, blocked = self.no_sell, self.no_buy, self.no_paper_sale  # §12 masks
        is_open = p.market_open(t)  # §4.4 trading window: closed days build empty queues
        if sellers is None:
            sellers, buyers_auto = [], []
            for i in range(self.N):
                self.sells_today[i] = 0
                if book.defaulted[i]:
                    continue
                if not book.held[i]:  # §4.3 (R2.5): k(i) is cleared when the trader holds no claim
                    self.k_issuer[i] = None
                if not is_open:
                    continue
                g = liquidity_gap(book, i, t, self.H, self.proj)
                if g > theta_S:
                    if (no_sell is None or not no_sell[i]) and has_tradable_ticket(book, m, i, t, blocked):
                        sellers.append(i)
                elif p.invest and g <= 0 and (no_buy is None or not no_buy[i]):
                    if buyer_bucket(book, m, i, t, self.k_issuer[i], self.H, p.H_inv, p.buffer,
                                    self.proj) is not None:
                        buyers_auto.append(i)
            if buyers is None:
                buyers = buyers_auto
        else:
            for i in sellers:
                self.sells_today[i] = 0
        n = order_flow(sellers, buyers or [], self.rng, p.pi_sell, p.N_max,
                       lambda i: self._try_sell(i, t), lambda i: self._try_buy(i, t))
        rationed = self._rationed_sellers(t)
        self.today.sys["n_rationed_sellers"] = rationed
        self.counters.rationed += rationed
        return n

    def _rationed_sellers(self, t: int) -> int:
        """§4.2 (R2.4, instrumentation only): at the end of S5, non-defaulted traders with a gap
        above theta*S that hold a ticket with tau >= 1 but none whose bucket has an executable bid
        (on a day outside the §4.4 trading window no bid is executable).
        Reads the state, changes nothing: no queue, no draw."""
        book, m = self.book, self.market
        is_open = self.p.market_open(t)
        bid = [is_open and m.exec_bid(b) is not None for b in range(3)]
        if all(bid):  # every bucket can be sold into: nobody is rationed
            return 0
        theta_S, n = self.p.theta * self.S, 0
        for i in range(self.N):
            if book.defaulted[i]:
                continue
            live = sellable = False
            for tk in book.held[i].values():
                if tk.due > t:
                    live = True
                    if bid[bucket_of(tk.due - t)]:
                        sellable = True
                        break
            if live and not sellable and liquidity_gap(book, i, t, self.H, self.proj) > theta_S:
                n += 1
        return n

    def _try_sell(self, i: int, t: int) -> bool:
        """One SELL arrival for trader i (§4.2). Returns whether i stays in the seller queue."""
        book, p, m = self.book, self.p, self.market
        g0, tk, g1 = best_sale(book, m, i, t, self.H, self.proj, self.no_paper_sale)
        if tk is None:
            return False
        cash0 = book.cash[i]
        fill = m.customer_sell(tk, i, t)
        if not fill.ok:
            self.counters.failed += 1
            return False
        g1 = liquidity_gap(book, i, t, self.H, self.proj)
        self._record_fill(t, fill, i, cash0, g0, g1)
        self.sells_today[i] += 1
        if g1 <= p.theta * self.S:
            return False
        if p.max_sells_day is not None and self.sells_today[i] >= p.max_sells_day:
            return False
        return best_sale(book, m, i, t, self.H, self.proj, self.no_paper_sale)[1] is not None

    def _try_buy(self, i: int, t: int) -> bool:
        """One BUY arrival for trader i (§4.3): at most one purchase a day, so i always leaves."""
        book, m = self.book, self.market
        issuer = self.k_issuer[i]
        for b in range(3):
            if m.exec_ask(b, t, i, issuer) is not None:
                break
        else:
            self.counters.failed += 1
            return False
        cash0 = book.cash[i]
        g0 = liquidity_gap(book, i, t, self.H, self.proj)
        fill = m.customer_buy(i, b, t, issuer, cash0)
        if not fill.ok:
            self.counters.failed += 1
            return False
        if issuer is None:
            self.k_issuer[i] = fill.ticket.issuer
        self._record_fill(t, fill, i, cash0, g0, liquidity_gap(book, i, t, self.H, self.proj))
        return False

    def _record_fill(self, t: int, fill: Fill, trader: int, cash0: float, g0: float, g1: float) -> None:
        """Count one executed customer trade (§7.3, §7.5, §8.2), keep the S3 holdings current and
        log its trades row (§8.1)."""
        book, S, c, today, tally = self.book, self.S, self.counters, self.today, self.tally
        tk, q, b = fill.ticket, fill.quote, fill.bucket
        price = fill.price
        if fill.route == "interior":
            c.interior += 1
            today.n_int[b] += 1
        else:
            c.passthrough += 1
            today.n_pass[b] += 1
        limit = fill.hit_inventory_limit
        if limit:
            c.limit_hits += 1
            today.hit[b] = True
        c.cash_volume += price * S
        if t == 0:
            c.trades_day0 += 1
        tally.last_trade_day = t
        tally.traders_used.add(trader)
        if fill.route == "interior":  # §7.5: dealer inventory bought from customers
            if fill.side == "SELL":
                tally.from_customers.add(tk.id)
            else:
                tally.from_customers.discard(tk.id)
        win = self.windows
        if fill.side == "SELL":
            buyer, seller = fill.counterparty, trader
            moved_to, moved_from = book.kind[buyer], TRADER
            win.sell[trader] += 1
            tally.sold[trader] += 1
            win.pnl[trader] += price * S
        else:
            buyer, seller = trader, fill.counterparty
            moved_to, moved_from = TRADER, book.kind[seller]
            win.buy[trader] += 1
            tally.bought[trader] += 1
            win.pnl[trader] -= price * S
        holdings = self.holdings  # the S3 holdings, kept current for the S6 rows
        hold = holdings.by_bucket[b]
        hold[moved_from] -= 1
        hold[moved_to] += 1
        if buyer == book.vbt(b):
            holdings.vbt_home[b] += 1
        elif seller == book.vbt(b):
            holdings.vbt_home[b] -= 1
        if not self.details:
            return
        rows = self.rows
        rows.seq += 1
        names, kind = book.names, book.kind
        rows.trades.append((
            t, rows.seq, "customer", fill.side, BUCKETS[b], tk.id, tk.lineage, names[tk.issuer],
            tk.due, tk.due - t, S, price, price * S, names[buyer], KIND_NAMES[kind[buyer]],
            names[seller], KIND_NAMES[kind[seller]], fill.route,
            fill.reason if fill.route == "passthrough" else "", limit,
            q.M, q.B, q.A, q.p, q.bid, q.ask, fill.a_before, fill.a_after, fill.C_before, fill.C_after,
            q.K, names[trader], cash0, book.cash[trader], g0, g1, g0 > 0))

    # --- S6 --------------------------------------------------------------------------------
    def s6_snapshot(self, t: int) -> None:
        """S6: end-of-trading inventory rows (§8.3). Passive holders are described as if dealers."""
        book, m, S, today, tally = self.book, self.market, self.S, self.today, self.tally
        if not self.active:
            m.recompute(t)
            today.a_start = list(m.a)
        tally.dealer_active_days.append(any(a > 0 for a in m.a))
        tally.vbt_used_days.append(any(n > 0 for n in today.n_pass))
        if self.active:  # §7.5: the dealers' ticket-days, and those bought from customers
            c, cust = self.counters, tally.from_customers
            for b in range(3):
                held = book.held[book.dealer(b)]
                c.dealer_ticket_days += len(held)
                if cust:
                    c.dealer_ticket_days_customers += sum(1 for tid in held if tid in cust)
        if not self.details:
            return
        holdings = self.holdings
        hold, off, vbt_home = holdings.by_bucket, holdings.off_bucket, holdings.vbt_home
        a_start, hit, n_int, n_pass = today.a_start, today.hit, today.n_int, today.n_pass
        for b in range(3):
            q = m.quotes[b]
            a = m.a[b]
            dealer, vbt = book.dealer(b), book.vbt(b)
            f_d, f_v, f_t = S * hold[b][DEALER], S * hold[b][VBT], S * hold[b][TRADER]
            tot = f_d + f_v + f_t
            sd, sv, st = (f_d / tot, f_v / tot, f_t / tot) if tot > 0 else (0.0, 0.0, 0.0)
            self.rows.inv.append((
                t, BUCKETS[b], a_start[b], a, off[b], book.cash[dealer], q.K, S * q.K,
                100.0 * a / q.K if q.K > 0 else 0.0, a == 0, hit[b], n_pass[b] > 0,
                n_int[b], n_pass[b], q.bid, q.ask, q.p, q.M, q.O, vbt_home[b], book.cash[vbt],
                tot, f_d, f_v, f_t, sd, sv, sd + sv, st))

    # --- S7 --------------------------------------------------------------------------------
    def s7_settle(self, t: int) -> Settlement:
        """S7: clearing with proportional recovery (§5.2), defaults (§5.3), repayment rows (§8.2);
        then the day's loss rate (§3.6) and rollover hazard (§5.4), which S8 and S9 use."""
        book = self.book
        day = book.by_due.get(t)
        if day:
            held_by: dict[int, list[int]] = {}   # issuer -> tickets per holder kind, before clearing
            dT: dict[int, int] = {}
            for tk in day.values():
                row = held_by.get(tk.issuer)
                if row is None:
                    row = held_by[tk.issuer] = [0, 0, 0]
                    dT[tk.issuer] = tk.dT
                row[book.kind[tk.holder]] += 1
            ended_holding = {i: bool(book.held[i]) for i in held_by}
            st = settle(book, t, self.p.clearing)
        else:
            st = Settlement()
        self._record_losses(t, st)
        values = self.today.sys
        values["settled_face"] = st.settled_face
        values["recovered_cash"] = st.recovered_cash
        values["rollover_hazard"] = self.losses.hazard
        if day:
            self._repayment_rows(t, st, held_by, dT, ended_holding)
        return st

    def _repayment_rows(self, t: int, st: Settlement, held_by: dict[int, list[int]], dT: dict[int, int],
                        ended_holding: dict[int, bool]) -> None:
        """§8.2: one row per issuer whose liability cohort matured today; its window closes."""
        S, names, win = self.S, self.book.names, self.windows
        for i in sorted(held_by):
            counts = held_by[i]
            n = counts[0] + counts[1] + counts[2]
            R = st.R[i]
            nb, ns = win.buy[i], win.sell[i]
            strategy = (_NO_TRADE if nb == 0 and ns == 0 else _HOLD_TO_MATURITY if ns == 0
                        else _SELL_BEFORE if nb == 0 else _ROUND_TRIP)
            q = self._price(dT[i]) if R == 1.0 and self.roll else NAN
            self.rows.repay.append((
                names[i], f"{names[i]}@{t}", win.cycle[i], t, n, S * n, S * counts[TRADER],
                S * counts[DEALER], S * counts[VBT], "repaid" if R == 1.0 else "defaulted", R,
                win.start[i], t, nb, ns, S * nb, S * ns, win.pnl[i], win.match[i],
                ended_holding[i], strategy, min(nb, ns) >= 2, nb + ns > 0, win.gap[i], q))
            win.close(i, t)

    def _record_losses(self, t: int, st: Settlement) -> None:
        """ell_t on the outstanding basis (§3.6: lost face / face outstanding at S3) and the
        rollover hazard lambda_t (§5.4), which includes today's losses. Day 0 has no loss."""
        losses, face_s3 = self.losses, self.today.face_s3
        lost = st.settled_face - st.recovered_cash
        ell = lost / face_s3 if lost > 0.0 and face_s3 > 0.0 and t >= 1 else 0.0
        losses.rates.append(ell)
        if self.price_path is not None:  # §12 passive_prices: the hazard follows the given path
            losses.hazard = self.price_path.hazard[t]
        else:
            losses.hazard = rollover_hazard(losses.rates, t, self.p.maturity_days)

    def _price(self, dT: int) -> float:
        """q of a rollover today (§5.4): 1 at par, max(floor, 1 - dT*lambda_t) when risk-priced."""
        if not self.risk_priced:
            return 1.0
        return rollover_price(dT, self.losses.hazard, self.p.rollover_price_floor)

    # --- S8 --------------------------------------------------------------------------------
    def s8_rollover(self, t: int, st: Settlement) -> Rollover:
        """S8: rollover with the funding rule (§5.4); the lender's choice (R2.2) and the rollover
        price (R2.7) as the run's parameters say."""
        ro = self._rollover(t, st)
        values, S = self.today.sys, self.S
        values["rolled_face"] = S * len(ro.rolled)
        values["unfunded_rollovers"] = len(ro.lapsed)
        values["declined_rollovers"] = len(ro.declined)
        values["mean_rollover_price"] = NAN if ro.mean_price is None else ro.mean_price
        return ro

    def _rollover(self, t: int, st: Settlement) -> Rollover:
        if not self.roll or not st.matured:
            return Rollover(not_rolled=list(st.matured))
        p, book = self.p, self.book
        declines = None
        if p.rollover_lender == "liquidity_aware":
            theta_S, H, cash = p.theta * self.S, self.H, book.cash

            def declines(h: int, tk, q: float) -> bool:
                return lender_gap(book, h, t, H, t + tk.dT, cash[h] - q * self.S) > theta_S
        price = None
        if self.risk_priced:  # one q per distance dT today: the passes ask for it once per candidate
            q_of = {dT: self._price(dT) for dT in {tk.dT for tk in st.matured}}
            price = q_of.__getitem__
        return rollover(book, st, t, price=price, declines=declines, mm_retire=self.mm_retire)

    # --- S9 --------------------------------------------------------------------------------
    def s9_anchors(self, st: Settlement) -> None:
        """S9: anchor update from the day's realized losses (§3.6), on the run's loss basis
        (R2.3): lost face over the face outstanding at S3 (`outstanding`), or over the face
        maturing today (`maturing`, revision 1)."""
        p, values = self.p, self.today.sys
        if self.price_path is not None:  # §12 passive_prices: anchors follow the given path
            path, t = self.price_path, self.today.t
            self.market.set_anchors(path.M[t], path.O[t])
        if not st.matured:
            values["loss_rate_anchor"] = 0.0
            return
        if p.anchor_loss_basis == "maturing":
            ell = sum(1.0 - st.R[tk.issuer] for tk in st.matured) / len(st.matured)
        elif p.anchor_scope == "system":
            ell = self.losses.rates[-1]
        else:  # scope = bucket: numerator and denominator restricted to the short bucket (§3.6)
            lost = st.settled_face - st.recovered_cash
            face_short = self.today.face_s3_short
            ell = lost / face_short if lost > 0.0 and face_short > 0.0 else 0.0
        values["loss_rate_anchor"] = ell
        if p.anchor_update == "off" or self.price_path is not None:
            return
        self.market.update_anchors([ell] * 3 if p.anchor_scope == "system" else [ell, 0.0, 0.0])

    # --- S10 -------------------------------------------------------------------------------
    def s10_bookkeeping(self, t: int, st: Settlement, ro: Rollover, values: dict[str, Any]) -> None:
        """S10: lineage bookkeeping (§7.1, §7.5), the run totals, and the day's system_state row
        (§8.4) from ``values``, the day's values by column that S3 returned and S5–S9 completed."""
        c, S, tally = self.counters, self.S, self.tally
        defaulted_tickets = 0
        for tk in st.matured:
            if st.R[tk.issuer] < 1.0:
                defaulted_tickets += 1
                tally.lineage_defaulted[tk.lineage] = 1
                if tk.cycle == 1:
                    c.initial_defaulted += 1
                else:
                    c.defaults_after_cycle1 += 1
        c.matured += len(st.matured)
        c.matured_defaulted += defaulted_tickets
        c.recovered += st.recovered_cash
        c.unfunded += len(ro.lapsed)
        c.declined += len(ro.declined)
        c.rolled += len(ro.rolled)
        c.rollover_price_sum += sum(ro.prices)
        values["n_defaulted_traders"] = sum(1 for i in range(self.N) if self.book.defaulted[i])
        values["defaulted_face"] = S * defaulted_tickets
        self.rows.sys.append(SYS.row(values))

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

    def record(self) -> RunRecord:
        """The finished run as data (:class:`record.RunRecord`): what metrics and logs read."""
        book, p, tally = self.book, self.p, self.tally
        return RunRecord(
            regime=self.regime, run_id=p.run_id(self.regime), params=p, info=self.info, S=self.S,
            N=self.N, names=tuple(book.names), rows=self.rows, counters=self.counters,
            default_day={book.names[i]: book.default_day[i] for i in range(self.N) if book.defaulted[i]},
            sold=tuple(tally.sold), bought=tuple(tally.bought),
            lineage_defaulted=bytes(tally.lineage_defaulted), traders_used=frozenset(tally.traders_used),
            last_trade_day=tally.last_trade_day, dealer_active_days=tuple(tally.dealer_active_days),
            vbt_used_days=tuple(tally.vbt_used_days), equity0=self.equity0,
            equity_end=self._mm_equity(p.last_day), vbt_overdraft=self.market.vbt_overdraft)

    def _result(self, wall: float) -> RunResult:
        rec = self.record()
        return RunResult(self.regime, rec.run_id, rec.params, self.info, self.fingerprint, build_tables(rec),
                         run_metrics(rec), rec.default_day, self.rng.draws if self.rng else 0, wall)


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
    passive = run_regime(params, _PASSIVE, progress=progress)
    active = run_regime(params, _ACTIVE, progress=progress)
    if passive.fingerprint != active.fingerprint:  # §6.2 pair identity
        raise AssertionError("initial-state fingerprints of the passive and active runs differ")
    row = comparison_row(params, passive, active)
    return PairResult(params, passive, active, row, time.perf_counter() - t0)
