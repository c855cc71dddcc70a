"""The spec oracle: the model's rules re-derived from docs/model.md, independently of the package.

Nothing here reuses the package's own formulas for expected values: the ladder, K*, the clearing
vector, the sequential settlement and the holder allocation are re-derived from the spec text, so
a bug in the package cannot hide behind a shared helper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bilancio_lite.book import Book
from bilancio_lite.dealer import Market
from bilancio_lite.engine import Run
from bilancio_lite.params import ModelParams

EPS_TOT = 1e-6          # §0 eps_tot (system totals)
SHORT, MID, LONG = 0, 1, 2


# --------------------------------------------------------------------------------------------
# spec formulas, written out independently
# --------------------------------------------------------------------------------------------
def spec_bucket(tau: int) -> int | None:
    """§2.4: short 1..3, mid 4..8, long >= 9, none for tau <= 0."""
    if tau <= 0:
        return None
    if tau <= 3:
        return SHORT
    if tau <= 8:
        return MID
    return LONG


def ladder_p(a: float, K: int, M: float, O: float) -> float:
    """§3.2: p = M - O/(K*+2) * (a - K*/2) (tickets)."""
    return M - O / (K + 2) * (a - K / 2)


def spec_outside(M: float, O: float, clip: bool = True) -> tuple[float, float]:
    A, B = M + O / 2, M - O / 2
    return A, (max(0.0, B) if clip else B)


def round_half_up(z: float) -> int:
    return math.floor(z + 0.5)


def spec_largest_remainder(weights: list[float], total: int) -> list[int]:
    floors = [math.floor(w) for w in weights]
    need = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(weights[i] - floors[i]), i))
    for k in range(need):
        floors[order[k]] += 1
    return floors


def spec_holder_allocation(n: list[int], due: list[int], v: float = 0.25, d: float = 0.125,
                           basis: str = "final"):
    """§2.5 steps 1–3: V_b, D_b and the per-trader (v_i, d_i)."""
    if basis == "final":
        fv, fd = v / (1 - v - d), d / (1 - v - d)
    else:
        fv, fd = v, d
    N = len(n)
    V, D = [0, 0, 0], [0, 0, 0]
    vi, di = [0] * N, [0] * N
    for b in range(3):
        mem = [i for i in range(N) if spec_bucket(due[i]) == b]
        Nb = sum(n[i] for i in mem)
        V[b], D[b] = round_half_up(fv * Nb), round_half_up(fd * Nb)
        for i, k in zip(mem, spec_largest_remainder([fv * n[i] for i in mem], V[b])):
            vi[i] = k
        for i, k in zip(mem, spec_largest_remainder([fd * n[i] for i in mem], D[b])):
            di[i] = k
    return V, D, vi, di


def spec_clearing(D: dict[int, float], cash: list[float], incoming: dict[int, dict[int, float]],
                  tol: float = 1e-13, cap: int = 500_000) -> dict[int, float]:
    """§5.2 greatest fixed point, by *Jacobi* iteration from p = D (the package uses Gauss–Seidel)."""
    p = dict(D)
    for _ in range(cap):
        new = {}
        for i in D:
            r = sum(w * p[j] / D[j] for j, w in incoming.get(i, {}).items())
            new[i] = min(D[i], cash[i] + r)
        delta = max(abs(new[i] - p[i]) for i in D)
        p = new
        if delta <= tol:
            return p
    raise AssertionError("independent clearing did not converge")


def spec_sequential(mat: list[tuple[int, int]], S: float, cash: list[float]) -> tuple[list[float], dict]:
    """§5.2 option sequential: each issuer pays once, ascending index, R = min(1, cash/D)."""
    cash = list(cash)
    D: dict[int, float] = {}
    for iss, _ in mat:
        D[iss] = D.get(iss, 0.0) + S
    R = {}
    for i in sorted(D):
        r = min(1.0, max(0.0, cash[i]) / D[i])
        R[i] = r
        for iss, h in mat:
            if iss == i:
                cash[i] -= S * r
                cash[h] += S * r
    return cash, R


def spec_q(dT: int, hazard: float, floor: float) -> float:
    """§5.4 (R2.7): q = max(floor, 1 - dT*lambda); exactly 1 without a recent loss."""
    return 1.0 if hazard == 0 else max(floor, 1.0 - dT * hazard)


def spec_gap(book: Book, i: int, t: int, H: int, rollover: bool, *, drop: int | None = None,
             extra_cash: float = 0.0, successors: bool = False, hazard: float = 0.0,
             floor: float = 0.5, cash: float | None = None, extra_held: tuple[int, int] | None = None) -> float:
    """§4.1 projected liquidity gap, day by day. `rollover`: flows roll (forced lender);
    `successors`: a rolling ticket also falls due at due + dT, due + 2dT, … (R2.1); `hazard`: each
    rolling day also leaves the net terminal flow -/+(1-q)*S (R2.7). `drop` removes one held ticket
    (a sale of it, with its successors) and `extra_cash` adds its proceeds, for the greedy choice
    of §4.2; `cash` replaces the trader's cash and `extra_held = (due, dT)` adds a held ticket
    (the lender's check of §5.4)."""
    S, N = book.S, book.N
    out, inn, tout, tin = {}, {}, {}, {}
    last = t + H

    def days(due: int, dT: int, rolls: bool) -> list[int]:
        if not (rolls and successors):
            return [due]
        ds, d = [], due
        while d <= last:
            ds.append(d)
            d += dT
        return ds

    for tk in book.issued[i].values():          # (the indexes are checked against book.tickets)
        rolls = rollover and not (tk.holder < N and book.defaulted[tk.holder])
        for d in days(tk.due, tk.dT, rolls):
            out[d] = out.get(d, 0.0) + S
            net = S if not rolls else (1.0 - spec_q(tk.dT, hazard, floor)) * S
            tout[d] = tout.get(d, 0.0) + net
    held = [(tk.due, tk.dT) for tk in book.held[i].values()
            if tk.id != drop and not book.defaulted[tk.issuer]]
    if extra_held is not None:
        held.append(extra_held)
    for due, dT in held:
        for d in days(due, dT, rollover):
            inn[d] = inn.get(d, 0.0) + S
            net = S if not rollover else (1.0 - spec_q(dT, hazard, floor)) * S
            tin[d] = tin.get(d, 0.0) + net
    P = (book.cash[i] if cash is None else cash) + extra_cash
    best = 0.0
    for d in range(t, t + H + 1):
        need = out.get(d, 0.0) - inn.get(d, 0.0) - P
        best = max(best, need)
        P += tin.get(d, 0.0) - tout.get(d, 0.0)
    return best


def spec_projection(p: ModelParams, hazard: float = 0.0) -> dict:
    """The keyword arguments of spec_gap for a run's rules (§4.1, rev 2)."""
    rolling = p.rollover and p.rollover_lender == "forced"
    return dict(rollover=rolling, successors=rolling and p.gap_successors,
                hazard=hazard if p.rollover_price == "risk_priced" else 0.0, floor=p.rollover_price_floor)


def spec_exec_bid(book: Book, m: Market, b: int, p: ModelParams) -> float | None:
    """§3.4 executable bid: bid_c if an interior dealer buy is feasible, else B if the VBT can pay."""
    S = book.S
    q = m.quotes[b]
    C = book.cash[book.dealer(b)]
    if not q.guard and m.a[b] + 1 <= q.K and C >= S * q.bid - 1e-9 * S:
        return q.bid
    if p.vbt_depth == "infinite" or book.cash[book.vbt(b)] >= q.B * S - 1e-9 * S:
        return q.B
    return None


def sale_options(book: Book, m: Market, i: int, t: int, p: ModelParams, hazard: float = 0.0):
    """[(reduction, due, price, id)] for every tradable held ticket of trader i (§4.2)."""
    proj = spec_projection(p, hazard)
    g0 = spec_gap(book, i, t, p.H, **proj)
    opts = []
    for tk in book.held[i].values():
        b = spec_bucket(tk.due - t)
        if b is None:
            continue
        price = spec_exec_bid(book, m, b, p)
        if price is None:
            continue
        g1 = spec_gap(book, i, t, p.H, **proj, drop=tk.id, extra_cash=price * book.S)
        opts.append((g0 - g1, tk.due, price, tk.id))
    return g0, opts


# --------------------------------------------------------------------------------------------
# the invariant checker: wraps a real Run's stages and executions and checks I1–I10, I14
# --------------------------------------------------------------------------------------------
#: Positions in the Checker's ticket snapshot rows ``snap()["tickets"][id]``.
ISSUER, HOLDER, DUE, DT, LINEAGE, CYCLE = range(6)

STAGES = ("s1_age", "s2_rehome", "s3_snapshot", "s4_kernels", "s5_trading", "s6_snapshot",
          "s7_settle", "s8_rollover", "s9_anchors", "s10_bookkeeping")


@dataclass
class Stats:
    interior_sells: int = 0
    passthrough_sells: int = 0
    interior_buys: int = 0
    passthrough_buys: int = 0
    failed: int = 0
    transfers: int = 0
    defaults: int = 0
    rolled: int = 0
    lapsed: int = 0
    fixed_point_days: int = 0
    reasons: dict = field(default_factory=dict)


class Checker:
    """Attach to a Run before it starts; every stage and execution is checked against §3–§5/§10."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.book = b = run.book
        self.m = run.market
        self.p = run.p
        self.S = b.S
        self.eps = 1e-9 * b.S
        self.N = b.N
        self.total0 = sum(b.cash)
        self.stats = Stats()
        self.stage_log: list[tuple[int, str]] = []
        self.t = None
        self.last_settlement = None
        self.cash_before_s7 = None
        self.count_start = None
        self.count_start_day = None
        self.matured_today = 0
        self.rolled_today = 0
        self.max_id_seen = max(b.tickets, default=-1)
        self.defaulted_at: dict[int, int] = {}
        self.mo_history: list[tuple[int, list, list]] = []
        self.sold_today: dict[int, int] = {}
        self.bought_today: set[int] = set()
        self.failed_today: set[int] = set()
        self.policy_checks = 0
        self.ells: list[float] = []      # ell_u on the outstanding basis (§3.6), one per day
        self.hazard = 0.0                # lambda_t after S7 of day t (§5.4)
        self.hazard_prev = 0.0           # lambda_{t-1}: what the day's projections use
        self.declined = 0
        for name in STAGES:
            setattr(run, name, self._wrap_stage(name, getattr(run, name)))
        self._orig_sell, self._orig_buy, self._orig_rehome = self.m.customer_sell, self.m.customer_buy, self.m.rehome
        self.m.customer_sell = self._sell
        self.m.customer_buy = self._buy
        self.m.rehome = self._rehome
        self.check_structure()

    # --- snapshots -------------------------------------------------------------------------
    def snap(self):
        b = self.book
        return dict(
            cash=list(b.cash),
            tickets={tid: (tk.issuer, tk.holder, tk.due, tk.dT, tk.lineage, tk.cycle)   # ISSUER … CYCLE
                     for tid, tk in b.tickets.items()},
            M=list(self.m.M), O=list(self.m.O),
            defaulted=list(b.defaulted), default_day=list(b.default_day))

    def check_structure(self) -> None:
        """I3: each ticket has exactly one holder; the indexes agree; I1/I2 totals."""
        b = self.book
        n = len(b.tickets)
        assert sum(len(h) for h in b.held) == n
        assert sum(len(h) for h in b.issued) == n
        assert sum(len(d) for d in b.by_due.values()) == n
        for tid, tk in b.tickets.items():
            assert tk.id == tid
            assert b.held[tk.holder].get(tid) is tk
            assert b.issued[tk.issuer].get(tid) is tk
            assert b.by_due[tk.due].get(tid) is tk
            assert 0 <= tk.issuer < self.N, "only traders issue"
            assert tk.issuer != tk.holder
            assert tk.dT >= 1 and tk.cycle >= 1
        # I1 and I2
        assert abs(sum(b.cash) - self.total0) <= EPS_TOT, (sum(b.cash), self.total0)
        for agent, c in enumerate(b.cash):   # I2, and R2.6: no balance below zero at all
            if self.p.vbt_depth == "infinite" and agent >= self.N + 3:
                continue
            assert c >= 0.0, (b.names[agent], c)

    # --- stage wrapper ----------------------------------------------------------------------
    def _wrap_stage(self, name, fn):
        def wrapped(*args, **kw):
            if name == "s1_age":
                self.t = args[0]
            pre = self.snap()
            out = fn(*args, **kw)
            self.stage_log.append((self.t, name))
            self.after_stage(name, pre, args, out)
            return out
        return wrapped

    def after_stage(self, name, pre, args, out) -> None:
        b, t, S = self.book, self.t, self.S
        post = self.snap()
        self.check_structure()
        # I14: anchors move only at S9
        if name != "s9_anchors":
            assert post["M"] == pre["M"] and post["O"] == pre["O"], f"anchors moved at {name}"
        # I9: defaults only at S7, never undone, default day fixed
        for i in range(self.N):
            if pre["defaulted"][i]:
                assert post["defaulted"][i] and post["default_day"][i] == pre["default_day"][i]
            elif post["defaulted"][i]:
                assert name == "s7_settle" and post["default_day"][i] == t
        # §5.3: a defaulted trader never pays again (its stranded cash can only grow)
        for i in range(self.N):
            if pre["defaulted"][i]:
                assert post["cash"][i] >= pre["cash"][i] - 1e-12, ("defaulted trader paid", i, name)
        # A45 single-issuer asset rule: a trader's claims are on one issuer
        for i in range(self.N):
            assert len({tk.issuer for tk in b.held[i].values()}) <= 1, ("two issuers held", i)
        if name in ("s1_age", "s3_snapshot", "s4_kernels", "s6_snapshot", "s10_bookkeeping"):
            assert post["cash"] == pre["cash"], f"cash moved at {name}"
            assert post["tickets"] == pre["tickets"], f"tickets changed at {name}"
        if name == "s1_age":
            self.count_start, self.count_start_day = len(pre["tickets"]), t
            self.hazard_prev = self.hazard
        if name == "s3_snapshot":  # tickets whose last tradable bucket is short (due today included)
            self.n_short_s3 = sum(1 for row in post["tickets"].values() if 0 <= row[DUE] - t <= 3)
            self.matured_today = self.rolled_today = 0
            self.sold_today, self.bought_today, self.failed_today = {}, set(), set()
        if name == "s5_trading" and not args[1:] and not kw_is_harness(self.run):
            self._check_sellers_done(out)
        if name in ("s2_rehome", "s5_trading"):
            assert self.run.active, f"{name} ran in the passive regime"
            # trades and transfers change holders only (I3)
            assert pre["tickets"].keys() == post["tickets"].keys()
            for tid, row in pre["tickets"].items():
                now = post["tickets"][tid]
                assert row[:HOLDER] + row[HOLDER + 1:] == now[:HOLDER] + now[HOLDER + 1:]
        elif name == "s7_settle":
            self.cash_before_s7 = pre["cash"]
            self._check_settlement(pre, post, out)
        elif name == "s8_rollover":
            self._check_rollover(pre, post, out)
        elif name == "s9_anchors":
            self._check_anchors(pre, post)
        elif name == "s10_bookkeeping":
            # I3 ticket count: #end = #start - |Mat| + rolled
            assert len(post["tickets"]) == self.count_start - self.matured_today + self.rolled_today
            self.mo_history.append((t, list(self.m.M), list(self.m.O)))

    def _check_sellers_done(self, n_arrivals: int) -> None:
        """§4.2/§4.4: after the loop, no trader is left with a gap above theta*S and a ticket whose
        sale would still reduce it, unless it left for a stated reason (failed execution, daily
        sell limit) or N_max cut the day short. Only without buyers (their trades move quotes)."""
        p, bk, t = self.p, self.book, self.t
        if p.invest or (p.N_max is not None and n_arrivals >= p.N_max):
            return
        for i in range(self.N):
            if bk.defaulted[i] or i in self.failed_today:
                continue
            if p.max_sells_day is not None and self.sold_today.get(i, 0) >= p.max_sells_day:
                continue
            g0, opts = sale_options(bk, self.m, i, t, p, self.hazard_prev)
            if g0 > p.theta * self.S + 1e-7 * self.S:
                best = max((o[0] for o in opts), default=0.0)
                assert best <= 1e-6 * self.S, ("seller stopped early", bk.names[i], t, g0, best)
            self.policy_checks += 1

    # --- S7 (I8) ---------------------------------------------------------------------------
    def _check_settlement(self, pre, post, st) -> None:
        t, S, eps = self.t, self.S, self.eps
        mat = sorted((tid, row) for tid, row in pre["tickets"].items() if row[DUE] == t)
        self.matured_today = len(mat)
        assert [tk.id for tk in st.matured] == [tid for tid, _ in mat]
        # all due tickets deleted, others untouched
        for tid, row in pre["tickets"].items():
            if row[DUE] == t:
                assert tid not in post["tickets"]
            else:
                assert post["tickets"][tid] == row
        if not mat:
            assert post["cash"] == pre["cash"]
            self._record_loss(0.0, len(pre["tickets"]))
            return
        c = pre["cash"]
        D: dict[int, float] = {}
        for _, row in mat:
            assert not pre["defaulted"][row[ISSUER]], "a defaulted trader had a liability (I9)"
            D[row[ISSUER]] = D.get(row[ISSUER], 0.0) + S
        assert st.due == D
        R = st.R
        for i in D:
            assert 0.0 <= R[i] <= 1.0
        if self.p.clearing == "simultaneous":
            incoming: dict[int, dict[int, float]] = {}
            for _, row in mat:
                if row[HOLDER] in D:
                    inc = incoming.setdefault(row[HOLDER], {})
                    inc[row[ISSUER]] = inc.get(row[ISSUER], 0.0) + S
            p = {i: R[i] * D[i] for i in D}
            # p is a fixed point of §5.2 (within the clearing tolerance)
            for i in D:
                r = sum(w * p[j] / D[j] for j, w in incoming.get(i, {}).items())
                assert abs(p[i] - min(D[i], c[i] + r)) <= 1e-6 * S, (i, p[i], D[i], c[i], r)
            # ... and the greatest one (independent Jacobi iteration)
            ref = spec_clearing(D, c, incoming)
            for i in D:
                assert p[i] == _approx(ref[i], 1e-6 * S), (i, p[i], ref[i])
                assert (R[i] < 1.0) == (ref[i] < D[i] - eps)
            self.stats.fixed_point_days += 1
            expected = list(c)
            for _, row in mat:
                expected[row[ISSUER]] -= S * R[row[ISSUER]]
                expected[row[HOLDER]] += S * R[row[ISSUER]]
            for i in D:
                if R[i] < 1.0:
                    assert abs(expected[i]) <= 1e-6 * S
                    expected[i] = 0.0
        else:
            expected, Rseq = spec_sequential([(row[ISSUER], row[HOLDER]) for _, row in mat], S, c)
            for i in D:
                assert R[i] == _approx(Rseq[i], 1e-12)
        for a, (x, y) in enumerate(zip(post["cash"], expected)):
            assert abs(x - y) <= 1e-6 * S, (self.book.names[a], x, y)
        # total paid = sum p_i = sum of what holders received
        paid = sum(R[i] * D[i] for i in D)
        assert abs(st.recovered_cash - paid) <= 1e-6 * S
        received = sum(post["cash"][a] - c[a] for a in range(len(c)) if a not in D)
        payers_net = sum(c[i] - post["cash"][i] for i in D)
        assert abs(received - payers_net) <= EPS_TOT
        # defaulters: R < 1, marked with today's date; under clearing they end at exactly 0 cash
        # (under sequential settlement a defaulter may still receive later issuers' payments, T13)
        for i in D:
            if R[i] < 1.0:
                if self.p.clearing == "simultaneous":
                    assert post["cash"][i] == 0.0
                assert post["defaulted"][i] and post["default_day"][i] == t
                self.stats.defaults += 1
                assert i not in self.defaulted_at, "defaulted twice (I9)"
                self.defaulted_at[i] = t
            else:
                assert not post["defaulted"][i]
        self.last_settlement = st
        self._record_loss(sum((1.0 - R[row[ISSUER]]) * S for _, row in mat), len(pre["tickets"]))

    def _record_loss(self, lost: float, n_outstanding: int) -> None:
        """§3.6 ell_t = lost face / face outstanding at S3 (trades keep the count; day 0: 0) and
        §5.4 lambda_t = mean of the last T days' ell (days >= 1), today's included."""
        t, T = self.t, self.p.maturity_days
        ell = lost / (self.S * n_outstanding) if t >= 1 and n_outstanding else 0.0
        assert 0.0 <= ell <= 1.0 + 1e-12                                   # I17
        self.ells.append(ell)
        assert len(self.ells) == t + 1
        self.hazard = sum(self.ells[max(1, t - T + 1):t + 1]) / T

    # --- S8 (I10, I16, I19) ----------------------------------------------------------------
    def _check_rollover(self, pre, post, ro) -> None:
        """Replay §5.4 independently from the pre-S8 state: passes in ascending id, funding test
        on q*S, the liquidity_aware lender's check (§4.1 terminal flows at t+1 with cash - q*S and
        the new ticket), and compare rolled / lapsed / declined sets and every balance."""
        t, S, N, p = self.t, self.S, self.N, self.p
        st = self.last_settlement if self.matured_today else None
        new = {tid: row for tid, row in post["tickets"].items() if tid not in pre["tickets"]}
        for tid, row in pre["tickets"].items():
            assert post["tickets"][tid] == row, "rollover changed or removed a ticket"
        self.rolled_today = len(new)
        if st is None or not p.rollover:
            assert not new and post["cash"] == pre["cash"]
            return
        risk = p.rollover_price == "risk_priced"
        aware = p.rollover_lender == "liquidity_aware"
        cash = list(pre["cash"])
        pending = [tk for tk in st.matured if st.R[tk.issuer] == 1.0 and not post["defaulted"][tk.holder]]
        rolled, declined = [], []
        while pending:
            left = []
            for tk in pending:
                h, i = tk.holder, tk.issuer
                q = spec_q(tk.dT, self.hazard if risk else 0.0, p.rollover_price_floor)
                assert p.rollover_price_floor <= q <= 1.0                     # I19
                if cash[h] < q * S - self.eps:
                    left.append(tk)
                    continue
                if aware and h < N:
                    g = self._lender_gap(h, t, cash[h] - q * S, t + tk.dT, pre["tickets"],
                                         post["defaulted"], rolled)
                    if g > p.theta * S + 1e-9 * S:
                        declined.append(tk.id)
                        continue
                amount = min(q * S, cash[h])
                cash[h] -= amount
                cash[i] += amount
                rolled.append((tk, q))
            if len(left) == len(pending):
                break
            pending = left
        lapsed = [tk.id for tk in pending]
        assert [tk.id for tk in ro.lapsed] == lapsed
        assert [tk.id for tk in ro.declined] == declined
        assert [old.id for old, _ in ro.rolled] == [tk.id for tk, _ in rolled]
        for q_run, (_, q) in zip(ro.prices, rolled):      # the hazard is re-derived: equal to rounding
            assert q_run == _approx(q, 1e-12)
        if not aware:
            assert not declined                                                # I16
        for tk in ro.declined:
            assert tk.holder < N, "a market maker declined (I16)"
        by_lineage = {tk.lineage: tk for tk in st.matured}
        for tid in sorted(new):
            issuer, holder, due, dT, lineage, cycle = new[tid]
            assert tid > self.max_id_seen, "ids must increase in creation order"
            self.max_id_seen = tid
            old = by_lineage[lineage]
            assert (old.issuer, old.holder, old.dT) == (issuer, holder, dT)
            assert due == t + dT and cycle == old.cycle + 1
            assert st.R[issuer] == 1.0, "rolled a defaulted claim (I10)"
            assert not post["defaulted"][holder] and not post["defaulted"][issuer]
            assert old.id not in declined and old.id not in lapsed                # I16
        assert len(new) == len(rolled)
        for a, (x, y) in enumerate(zip(post["cash"], cash)):
            assert abs(x - y) <= 1e-9 * S * 10, (self.book.names[a], x, y)
        assert len(ro.rolled) + len(ro.lapsed) + len(ro.declined) + len(ro.not_rolled) == self.matured_today
        self.stats.rolled += len(new)
        self.stats.lapsed += len(lapsed)
        self.declined += len(declined)
        # I10 neutrality: full par rollover and no default today -> trader cash after S8 = after S5
        if not st.defaulters and len(new) == self.matured_today and not risk:
            for i in range(self.N):
                assert abs(post["cash"][i] - self.cash_before_s7[i]) <= 1e-6 * S, (i, t)

    def _lender_gap(self, h: int, t: int, cash_after: float, new_due: int, rows, defaulted,
                    rolled_so_far) -> float:
        """§5.4 liquidity_aware: h's §4.1 gap on day t+1 with every flow terminal, from the pre-S8
        tickets, the rollovers replayed before this decision and the new ticket it would hold."""
        S, H = self.S, self.p.H
        own = [r[DUE] for r in rows.values() if r[ISSUER] == h] + [t + tk.dT for tk, _ in rolled_so_far if tk.issuer == h]
        held = ([r[DUE] for r in rows.values() if r[HOLDER] == h and not defaulted[r[ISSUER]]]
                + [t + tk.dT for tk, _ in rolled_so_far if tk.holder == h] + [new_due])
        P, best = cash_after, 0.0
        for d in range(t + 1, t + 2 + H):
            o, i = S * own.count(d), S * held.count(d)
            best = max(best, o - i - P)
            P += i - o
        return best

    # --- S9 (I14) --------------------------------------------------------------------------
    def _check_anchors(self, pre, post) -> None:
        st = self.last_settlement if self.matured_today else None
        if st is None or self.p.anchor_update == "off":
            assert post["M"] == pre["M"] and post["O"] == pre["O"]
            return
        if self.p.anchor_loss_basis == "maturing":       # revision 1 (R2.3)
            ell = sum(1.0 - st.R[tk.issuer] for tk in st.matured) / len(st.matured)
        elif self.p.anchor_scope == "system":
            ell = self.ells[-1]
        else:  # scope = bucket: short tickets (and due-today ones) only
            n_short = self.n_short_s3
            lost = sum(1.0 - st.R[tk.issuer] for tk in st.matured) * self.S
            ell = lost / (self.S * n_short) if n_short else 0.0
        ells = [ell] * 3 if self.p.anchor_scope == "system" else [ell, 0.0, 0.0]
        for b in range(3):
            if ells[b] == 0.0:
                assert post["M"][b] == pre["M"][b] and post["O"][b] == pre["O"][b]
            else:
                assert post["M"][b] == _approx(max(0.0, pre["M"][b] - self.p.phi_M * ells[b]), 1e-12)
                assert post["O"][b] == _approx(max(self.p.O_min, pre["O"][b] + self.p.phi_O * ells[b]), 1e-12)

    # --- executions (I4–I7) ----------------------------------------------------------------
    def _kernel_ok(self, b: int) -> None:
        """I5: the stored kernel equals a fresh recomputation; a and the quotes are in range."""
        m, bk, S = self.m, self.book, self.S
        dealer = bk.dealer(b)
        t = self.t
        a_true = sum(1 for tk in bk.held[dealer].values() if spec_bucket(tk.due - t) == b)
        assert m.a[b] == a_true, ("stale inventory", b, m.a[b], a_true)
        q = m.quotes[b]
        M, O = m.M[b], max(self.p.O_min, m.O[b])
        A, B = spec_outside(M, O, self.p.clip_B)
        assert q.A == _approx(A, 1e-12) and q.B == _approx(B, 1e-12)
        C = bk.cash[dealer]
        if M <= self.p.M_min:
            assert q.guard and q.K == 0 and q.ask == q.A and q.bid == q.B
            return
        K = math.floor((M * S * a_true + C + 1e-9 * S) / (M * S))   # V >= K*M*S up to eps_cash
        assert q.K == K, ("stale kernel", b, q.K, K)
        assert 0 <= a_true <= K
        pa = ladder_p(a_true, K, M, O)
        I = O / (K + 1)
        assert q.p == _approx(pa, 1e-12)
        # clipped quotes = interior quotes clamped into [B, A] (model.md I5; see dealer.kernel)
        assert q.ask == _approx(min(A, max(B, pa + I / 2)), 1e-12)
        assert q.bid == _approx(max(B, min(A, pa - I / 2)), 1e-12)
        assert q.ask <= A + 1e-12 and B - 1e-12 <= q.bid
        assert q.bid <= q.ask + 1e-12                              # I5 ordering
        if self.p.clip_B:
            assert q.bid >= 0 and q.ask >= 0                       # A31: no negative prices
        if K >= 1 and O > 0:
            assert ladder_p(0, K, M, O) + I / 2 < A
            assert ladder_p(K - 1, K, M, O) - I / 2 > M - O / 2   # vs the unclipped outside bid

    def _exec_snap(self, b: int):
        bk = self.book
        return (list(bk.cash), {tid: tk.holder for tid, tk in bk.tickets.items()}, list(self.m.a),
                set(bk.held[bk.dealer(b)]), self.m.quotes[b])

    def _sell(self, tk, seller, t):
        bk, S = self.book, self.S
        b = spec_bucket(tk.due - t)
        assert b is not None, "a ticket due today was offered"
        assert seller < self.N and not bk.defaulted[seller] and tk.holder == seller
        for bb in range(3):
            self._kernel_ok(bb)
        # §4.2: the seller has a gap above theta*S and sells the greedy choice
        if not kw_is_harness(self.run):
            g0, opts = sale_options(bk, self.m, seller, t, self.p, self.hazard_prev)
            assert g0 > self.p.theta * S - 1e-9 * S, ("not a seller", seller, g0)
            mine = [o for o in opts if o[3] == tk.id]
            assert mine and mine[0][0] > 1e-9 * S, "the sale must strictly reduce the gap"
            top = max(o[0] for o in opts)
            assert mine[0][0] >= top - 1e-7 * S, ("not the largest reduction", mine, top)
            ties = [o for o in opts if o[0] >= top - 1e-7 * S]
            assert min((o[1], -o[2], o[3]) for o in ties) == (mine[0][1], -mine[0][2], mine[0][3])
            assert seller not in self.bought_today, "bought and sold on one day"
        cash0, holders0, a0, dt0, q = self._exec_snap(b)
        dealer, vbt = bk.dealer(b), bk.vbt(b)
        interior_ok = (not q.guard) and a0[b] + 1 <= q.K and cash0[dealer] >= S * q.bid - self.eps
        fill = self._orig_sell(tk, seller, t)
        cash1 = bk.cash
        exp = list(cash0)
        if fill.ok:
            if fill.route == "interior":
                assert interior_ok  # I6
                assert fill.price == q.bid and fill.counterparty == dealer
                assert self.m.a[b] == a0[b] + 1 and set(bk.held[dealer]) == dt0 | {tk.id}
                self.stats.interior_sells += 1
            else:
                assert fill.route == "passthrough" and not interior_ok
                assert fill.price == q.B and fill.counterparty == vbt
                assert self.m.a[b] == a0[b] and set(bk.held[dealer]) == dt0   # I7
                want = "guard" if q.guard else ("capacity" if a0[b] + 1 > q.K else "cash")
                assert fill.reason == want
                assert fill.hit_inventory_limit == (want in ("capacity", "cash"))
                self.stats.passthrough_sells += 1
                self.stats.reasons[("SELL", want)] = self.stats.reasons.get(("SELL", want), 0) + 1
            exp[fill.counterparty] -= fill.price * S          # I4 double entry
            exp[seller] += fill.price * S
            self.sold_today[seller] = self.sold_today.get(seller, 0) + 1
            self._one_move(holders0, tk.id, fill.counterparty)
        else:
            self.stats.failed += 1
            self.failed_today.add(seller)
            assert not interior_ok
            assert self.p.vbt_depth == "finite" and cash0[vbt] < q.B * S
            assert {tid: tk2.holder for tid, tk2 in bk.tickets.items()} == holders0
        assert all(abs(x - y) <= 1e-12 * max(1.0, abs(y)) for x, y in zip(cash1, exp))
        for bb in range(3):
            if bb != b:
                assert self.m.a[bb] == a0[bb]
            self._kernel_ok(bb)                        # recomputed after every trade (I5)
        return fill

    def _buy(self, buyer, b, t, issuer, budget):
        bk, S = self.book, self.S
        assert buyer < self.N and not bk.defaulted[buyer]
        for bb in range(3):
            self._kernel_ok(bb)
        if not kw_is_harness(self.run):   # §4.3 eligibility, one BUY a day, never buy and sell
            assert spec_gap(bk, buyer, t, self.p.H, **spec_projection(self.p, self.hazard_prev)) <= 1e-9 * S
            own = [tk.due for tk in bk.tickets.values() if tk.issuer == buyer]
            assert not own or min(own) >= t + self.p.H_inv
            assert buyer not in self.bought_today and buyer not in self.sold_today
            self.bought_today.add(buyer)
            # §4.3: bucket preference short -> mid -> long, skipping buckets with no eligible ticket;
            # the single-issuer rule; cash >= buffer + A_b*S
            held_iss = {tk.issuer for tk in bk.held[buyer].values()}
            if held_iss:
                assert issuer in held_iss
            def eligible(bb, agent):
                return any(spec_bucket(tk.due - t) == bb and tk.issuer != buyer
                           and (issuer is None or tk.issuer == issuer) for tk in bk.held[agent].values())
            for bb in range(b):
                qb = self.m.quotes[bb]
                assert not ((not qb.guard and eligible(bb, bk.dealer(bb))) or eligible(bb, bk.vbt(bb)))
            assert bk.cash[buyer] >= self.p.buffer + self.m.quotes[b].A * S - 1e-9 * S
        cash0, holders0, a0, dt0, q = self._exec_snap(b)
        dealer, vbt = bk.dealer(b), bk.vbt(b)
        fill = self._orig_buy(buyer, b, t, issuer, budget)
        exp = list(cash0)
        if fill.ok:
            tk = fill.ticket
            assert spec_bucket(tk.due - t) == b and tk.issuer != buyer
            if issuer is not None:
                assert tk.issuer == issuer
            src = fill.counterparty
            eligible = [tk2 for tk2 in bk.tickets.values()
                        if holders0[tk2.id] == src and spec_bucket(tk2.due - t) == b and tk2.issuer != buyer
                        and (issuer is None or tk2.issuer == issuer)]
            assert (tk.due, tk.id) == min((x.due, x.id) for x in eligible)   # lowest (due, id)
            if fill.route == "interior":
                assert not q.guard and src == dealer and holders0[tk.id] == dealer   # I6
                assert fill.price == q.ask and self.m.a[b] == a0[b] - 1
                self.stats.interior_buys += 1
            else:
                assert src == vbt and fill.price == q.A
                assert self.m.a[b] == a0[b] and set(bk.held[dealer]) == dt0    # I7
                dealer_has = [tk2 for tk2 in bk.tickets.values() if holders0[tk2.id] == dealer
                              and spec_bucket(tk2.due - t) == b and tk2.issuer != buyer
                              and (issuer is None or tk2.issuer == issuer)]
                assert q.guard or not dealer_has
                want = "guard" if q.guard else ("empty" if a0[b] == 0 else "issuer")
                assert fill.reason == want
                assert fill.hit_inventory_limit == (want == "empty")
                self.stats.passthrough_buys += 1
                self.stats.reasons[("BUY", want)] = self.stats.reasons.get(("BUY", want), 0) + 1
            exp[src] += fill.price * S
            exp[buyer] -= fill.price * S
            assert cash0[buyer] >= fill.price * S - self.eps
            self._one_move(holders0, tk.id, buyer)
        else:
            self.stats.failed += 1
            assert {tid: tk2.holder for tid, tk2 in bk.tickets.items()} == holders0
        assert all(abs(x - y) <= 1e-12 * max(1.0, abs(y)) for x, y in zip(bk.cash, exp))
        for bb in range(3):
            self._kernel_ok(bb)
        return fill

    def _one_move(self, holders0, tid, new_holder) -> None:
        """I3/I4: exactly one ticket changed holder, and it went to the counterparty."""
        now = {x: tk.holder for x, tk in self.book.tickets.items()}
        assert now.keys() == holders0.keys()
        changed = [x for x in now if now[x] != holders0[x]]
        assert changed == [tid] and now[tid] == new_holder

    def _rehome(self, t):
        bk, S = self.book, self.S
        cash0 = list(bk.cash)
        holders0 = {tid: tk.holder for tid, tk in bk.tickets.items()}
        done = self._orig_rehome(t)
        exp = list(cash0)
        moved = set()
        order = []
        for tk, sender, receiver, price, nb, _a0, _c0, c1 in done:
            assert c1 >= 0.0
            assert holders0[tk.id] == sender and tk.holder == receiver and tk.id not in moved
            moved.add(tk.id)
            order.append((tk.due, tk.id))
            assert spec_bucket(tk.due - t) == nb
            same_type = (sender - self.N) // 3 == (receiver - self.N) // 3
            assert sender >= self.N and receiver >= self.N and same_type
            assert (receiver - self.N) % 3 == nb and (sender - self.N) % 3 != nb
            assert price == self.m.M[nb]                 # receiving bucket's mid (§3.5)
            exp[receiver] -= price * S
            exp[sender] += price * S
        assert order == sorted(order), "re-homing must process ascending (due, id)"
        # §3.5 completeness, simulated independently: every off-bucket MM ticket (tau >= 1), in
        # ascending (due, id), moves to the same-type MM of its bucket iff that MM can pay M*S then
        sim = list(cash0)
        want = []
        offb = []
        for tk in bk.tickets.values():
            h = holders0[tk.id]
            nb = spec_bucket(tk.due - t)
            if h >= self.N and nb is not None and (h - self.N) % 3 != nb:
                offb.append((tk.due, tk.id, h, self.N + 3 * ((h - self.N) // 3) + nb, nb))
        for due, tid, h, rcv, nb in sorted(offb):
            price = self.m.M[nb] * S
            if sim[rcv] >= price - 1e-9 * S:
                sim[rcv] -= price
                sim[h] += price
                want.append(tid)
        assert [d[0].id for d in done] == want, "re-homing skipped or added a transfer"
        for x, tk in bk.tickets.items():
            if x not in moved:
                assert tk.holder == holders0[x]
        assert all(abs(x - y) <= 1e-9 * S for x, y in zip(bk.cash, exp))
        self.stats.transfers += len(done)
        return done

    # --- after the run ---------------------------------------------------------------------
    def stage_order_ok(self) -> None:
        """§5: the stage table, in order, every day; (A) stages only in the active regime."""
        want_day = [s for s in STAGES if self.run.active or s not in ("s2_rehome", "s4_kernels", "s5_trading")]
        days = sorted({t for t, _ in self.stage_log})
        assert days == list(range(self.p.last_day + 1))
        for d in days:
            assert [s for t, s in self.stage_log if t == d] == want_day


def kw_is_harness(run) -> bool:
    """Tests that drive S5 with explicit queues set `run.harness = True` to skip policy checks."""
    return getattr(run, "harness", False)


def _approx(x: float, tol: float):
    import pytest
    return pytest.approx(x, abs=tol)


def checked_run(params: ModelParams, regime: str, amounts=None):
    """Run one regime under the Checker; return (RunResult, Checker)."""
    run = Run(params, regime, amounts=amounts)
    chk = Checker(run)
    res = run.run()
    chk.stage_order_ok()
    return res, chk
