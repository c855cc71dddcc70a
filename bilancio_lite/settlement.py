"""Settlement (§5.2), defaults (§5.3) and rollover (§5.4).

Clearing finds the greatest fixed point `p_i = min(D_i, c_i + r_i(p))` by Gauss–Seidel sweeps from
`p = D` in ascending issuer index. Ring payments flow from H_i to H_{i+1}, so one sweep carries a
shortfall all the way around the ring, and sweeps converge in a handful of passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
            if R[i] < 1.0:
                cash[i] = 0.0  # exact zero: c_i + r_i - p_i = 0 up to the clearing tolerance
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
            if r < 1.0 and abs(cash[i]) <= eps:
                cash[i] = 0.0
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


@dataclass
class Rollover:
    rolled: list[tuple[Ticket, Ticket]] = field(default_factory=list)   # (matured, new)
    lapsed: list[Ticket] = field(default_factory=list)                  # unfunded candidates
    not_rolled: list[Ticket] = field(default_factory=list)              # defaulted issuer or holder


def rollover(book: Book, st: Settlement, t: int) -> Rollover:
    """S8 (§5.4): the holder at maturity re-lends S to the issuer for a new ticket due t + dT.

    Candidates: issuer paid in full and holder not a defaulted trader. Processed in passes in
    ascending id; a candidate executes only if the lender has S in cash at that moment. Passes
    repeat until one executes nothing; the rest lapse (lineage retired, unfunded).
    """
    out = Rollover()
    S, eps = book.S, 1e-9 * book.S
    pending = []
    for tk in st.matured:
        if st.R[tk.issuer] == 1.0 and not book.defaulted[tk.holder]:
            pending.append(tk)
        else:
            out.not_rolled.append(tk)
    cash, rolled = book.cash, out.rolled
    tickets, held, issued, by_due = book.tickets, book.held, book.issued, book.by_due
    while pending:
        left = []
        for tk in pending:
            h, i = tk.holder, tk.issuer
            if cash[h] < S - eps:
                left.append(tk)
                continue
            cash[h] -= S  # the lender pays S to the borrower (double entry, I10)
            cash[i] += S
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
        if len(left) == len(pending):
            break
        pending = left
    out.lapsed = pending
    return out
