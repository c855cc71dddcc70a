"""Settlement (§5.2), defaults (§5.3) and rollover (§5.4), with the rollover price of R2.7.

Clearing finds the greatest fixed point `p_i = min(D_i, c_i + r_i(p))` by Gauss–Seidel sweeps from
`p = D` in ascending issuer index. Ring payments flow from H_i to H_{i+1}, so one sweep carries a
shortfall all the way around the ring, and sweeps converge in a handful of passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable

from .book import Book, Ticket

MAX_SWEEPS = 10_000


class ClearingDidNotConverge(RuntimeError):
    pass


@dataclass
class Settlement:
    """What S7 did on one day."""

    matured: list[Ticket] = field(default_factory=list)   # Mat_t, in ascending id
    due: dict[int, float] = field(default_factory=dict)    # D_i per issuer, in u
    paid: dict[int, float] = field(default_factory=dict)   # p_i per issuer, in u
    R: dict[int, float] = field(default_factory=dict)      # recovery per issuer
    defaulters: list[int] = field(default_factory=list)    # issuers with R < 1, ascending
    sweeps: int = 0

    @property
    def settled_face(self) -> float:
        return sum(self.due.values())

    @property
    def recovered_cash(self) -> float:
        return sum(self.paid.values())


def clearing_vector(issuers: list[int], D: dict[int, float], cash: list[float],
                    incoming: dict[int, dict[int, float]], eps: float) -> tuple[dict[int, float], int]:
    """§5.2: the greatest solution of p_i = min(D_i, c_i + sum_j w_ij * p_j / D_j).

    `incoming[i][j]` is the face (u) of maturing tickets issued by j and held by i.
    """
    p = dict(D)
    for sweep in range(1, MAX_SWEEPS + 1):
        changed = False
        for i in issuers:
            r = 0.0
            inc = incoming.get(i)
            if inc:
                for j, w in inc.items():
                    r += w * p[j] / D[j]
            new = min(D[i], cash[i] + r)
            if abs(new - p[i]) > eps:
                changed = True
            p[i] = new
        if not changed:
            return p, sweep
    raise ClearingDidNotConverge(f"clearing did not converge within {MAX_SWEEPS} sweeps")


def settle(book: Book, t: int, clearing: str = "simultaneous") -> Settlement:
    """S7: settle every ticket due on day t with proportional recovery; record defaults."""
    day = book.by_due.pop(t, None)
    out = Settlement()
    if not day:
        return out
    S, eps, cash = book.S, 1e-9 * book.S, book.cash
    mat = sorted(day.values(), key=lambda tk: tk.id)
    out.matured = mat
    D: dict[int, float] = {}
    for tk in mat:
        D[tk.issuer] = D.get(tk.issuer, 0.0) + S
    issuers = sorted(D)
    out.due = D
    if clearing == "simultaneous":
        incoming: dict[int, dict[int, float]] = {}
        for tk in mat:
            if tk.holder in D:
                inc = incoming.setdefault(tk.holder, {})
                inc[tk.issuer] = inc.get(tk.issuer, 0.0) + S
        p, out.sweeps = clearing_vector(issuers, D, cash, incoming, eps)
        R = {}
        for i in issuers:
            if p[i] >= D[i] - eps:
                p[i], R[i] = D[i], 1.0
            else:
                R[i] = p[i] / D[i]
        for tk in mat:  # each holder gets S*R per ticket from its issuer (double entry, I4)
            amount = S * R[tk.issuer]
            cash[tk.issuer] -= amount
            cash[tk.holder] += amount
        for i in issuers:
            if R[i] < 1.0 or -eps < cash[i] < 0.0:
                cash[i] = 0.0  # exact zero: c_i + r_i - p_i = 0 up to the clearing tolerance (R2.6)
    else:  # sequential (reference-like): each issuer pays once, in ascending index
        by_issuer: dict[int, list[Ticket]] = {}
        for tk in mat:
            by_issuer.setdefault(tk.issuer, []).append(tk)
        p, R = {}, {}
        for i in issuers:
            r = min(1.0, max(0.0, cash[i]) / D[i])
            if r >= 1.0 - eps / D[i]:
                r = 1.0
            R[i], p[i] = r, r * D[i]
            for tk in by_issuer[i]:
                book.pay(i, tk.holder, S * r)
            if (r < 1.0 and abs(cash[i]) <= eps) or -eps < cash[i] < 0.0:
                cash[i] = 0.0  # R2.6: no rounding residue below zero
        out.sweeps = 1
    out.paid, out.R = p, R
    tickets, held, issued = book.tickets, book.held, book.issued
    for tk in mat:  # delete all due tickets (by_due[t] is already gone)
        tid = tk.id
        del tickets[tid]
        del held[tk.holder][tid]
        del issued[tk.issuer][tid]
    for i in issuers:
        if R[i] < 1.0:
            book.defaulted[i] = True
            book.default_day[i] = t
            if book.issued[i]:  # §5.3: impossible here (one due date per trader); guard variants
                raise RuntimeError(f"{book.names[i]} defaulted with liabilities due on other days")
            out.defaulters.append(i)
    return out


def rollover_price(dT: int, hazard: float, floor: float) -> float:
    """§5.4 (R2.7): q = max(floor, 1 - dT * lambda). Exactly 1 (par) when the hazard is 0."""
    if hazard == 0.0:
        return 1.0
    return max(floor, 1.0 - dT * hazard)


def rollover_hazard(loss_rates: list[float], t: int, T: int) -> float:
    """§5.4 (R2.7): lambda_t = (1/T) * sum of the outstanding-basis loss rates of days t-T+1..t.

    Re-summed every day (no running total), so the hazard is exactly 0 once no loss is left in
    the window. `loss_rates[u]` is ell_u; days before 1 count as 0.
    """
    window = loss_rates[max(1, t - T + 1):t + 1]
    return sum(window) / T if any(window) else 0.0


@dataclass
class Rollover:
    rolled: list[tuple[Ticket, Ticket]] = field(default_factory=list)   # (matured, new)
    prices: list[float] = field(default_factory=list)                   # q of each rolled pair
    lapsed: list[Ticket] = field(default_factory=list)                  # unfunded candidates
    declined: list[Ticket] = field(default_factory=list)                # lender kept the cash (R2.2)
    not_rolled: list[Ticket] = field(default_factory=list)              # defaulted issuer or holder

    @property
    def mean_price(self) -> float | None:
        """Mean q of the day's rollovers (None when nothing rolled)."""
        return sum(self.prices) / len(self.prices) if self.prices else None


#: `declines(holder, ticket, price)`: whether a trader holder with enough cash declines to re-lend
Decider = Callable[[int, Ticket, float], bool]


def rollover(book: Book, st: Settlement, t: int, *, price: Callable[[int], float] | None = None,
             declines: Decider | None = None, mm_retire: Sequence[bool] | None = None) -> Rollover:
    """S8 (§5.4): the holder at maturity re-lends q*S to the issuer for a new ticket of face S due
    t + dT (q = `price(dT)`, 1 at par).

    Candidates: issuer paid in full and holder not a defaulted trader. Processed in passes in
    ascending id. A candidate whose lender has less than q*S waits for the next pass; passes repeat
    until one executes nothing and the rest lapse (lineage retired, unfunded). With `declines`
    (`rollover_lender = liquidity_aware`, R2.2) a trader lender that has the cash but would be left
    a projected gap declines at once, for good (lineage retired, declined); market makers never
    decline. Each decision sees the earlier ones. With ``mm_retire`` (§12 ``mm_rollover``) a
    candidate issued by j with ``mm_retire[j]`` and held by a market maker is declined before the
    passes (lineage retired, declined).
    """
    out = Rollover()
    S, eps, N = book.S, 1e-9 * book.S, book.N
    pending = []
    for tk in st.matured:
        if st.R[tk.issuer] == 1.0 and not book.defaulted[tk.holder]:
            if mm_retire is not None and tk.holder >= N and mm_retire[tk.issuer]:
                out.declined.append(tk)
            else:
                pending.append(tk)
        else:
            out.not_rolled.append(tk)
    cash, rolled, prices = book.cash, out.rolled, out.prices
    tickets, held, issued, by_due = book.tickets, book.held, book.issued, book.by_due
    while pending:
        left = []
        for tk in pending:
            h, i = tk.holder, tk.issuer
            q = 1.0 if price is None else price(tk.dT)
            amount = q * S
            if cash[h] < amount - eps:
                left.append(tk)
                continue
            if declines is not None and h < N and declines(h, tk, q):
                out.declined.append(tk)
                continue
            if cash[h] < amount:  # within eps_cash: pay what there is, so no balance goes negative (R2.6)
                amount = cash[h]
            cash[h] -= amount  # the lender pays q*S to the borrower (double entry, I10)
            cash[i] += amount
            due = t + tk.dT  # Book.issue, inlined: this loop runs for every repaid ticket
            tid = book.next_id
            book.next_id = tid + 1
            new = Ticket(tid, i, h, due, tk.dT, tk.lineage, tk.cycle + 1)
            tickets[tid] = new
            held[h][tid] = new
            issued[i][tid] = new
            day = by_due.get(due)
            if day is None:
                by_due[due] = {tid: new}
            else:
                day[tid] = new
            if due > book.max_due:
                book.max_due = due
            rolled.append((tk, new))
            prices.append(q)
        if len(left) == len(pending):
            break
        pending = left
    out.lapsed = pending
    return out
