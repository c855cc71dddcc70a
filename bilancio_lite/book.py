"""The ledger: agents, cash and tickets, with double-entry moves only (§0, §6.2, §10 I1–I4).

Agents are integers. Traders H1..HN are 0..N-1, then DLR_short, DLR_mid and DLR_long are N..N+2,
then VBT_short, VBT_mid and VBT_long are N+3..N+5. Cash moves only through :meth:`Book.pay`, and a
ticket changes hands only through :meth:`Book.transfer`. So conservation holds by construction,
and the tests check it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .schema import BUCKETS

SHORT, MID, LONG = 0, 1, 2
TRADER, DEALER, VBT = 0, 1, 2
KIND_NAMES = ("trader", "dealer", "vbt")

# §2.4: bucket by remaining maturity tau; -1 means "due today / matured" (no bucket).
_BUCKET_TABLE = [-1, 0, 0, 0, 1, 1, 1, 1, 1]


def bucket_of(tau: int) -> int:
    """§2.4: short for 1 <= tau <= 3, mid for 4..8, long for tau >= 9, and -1 for tau <= 0."""
    if tau <= 0:
        return -1
    return _BUCKET_TABLE[tau] if tau < 9 else 2


class DueBuckets(dict):
    """{due: bucket_of(due - t)} for the days t..max_due; any earlier due (matured) maps to -1."""

    __slots__ = ()

    def __missing__(self, due: int) -> int:
        return -1


def bucket_table(t: int, max_due: int) -> DueBuckets:
    """bucket_of(due - t) looked up by due day: one dict lookup per ticket in daily scans.

    Built only over the days t..max_due (at most T + a rollover's term ahead), not over every due
    day since day 0: a list over 0..max_due made every daily scan cost O(t), a run O(t_end^2)
    (issue 24)."""
    table = DueBuckets()
    for d in range(max(t, 0), max_due + 1):
        table[d] = bucket_of(d - t)
    return table


@dataclass(slots=True)
class Ticket:
    """One indivisible claim of face S (§0)."""

    id: int
    issuer: int
    holder: int
    due: int
    dT: int
    lineage: int
    cycle: int


class Book:
    """Cash of every agent and every outstanding ticket, with holder, issuer and due-day indexes."""

    def __init__(self, n_traders: int, face_value: float) -> None:
        N = n_traders
        self.N = N
        self.S = float(face_value)
        self.eps = 1e-9 * self.S  # eps_cash (§0)
        self.n_agents = N + 6
        self.names = [f"H{i + 1}" for i in range(N)]
        self.names += [f"DLR_{b}" for b in BUCKETS] + [f"VBT_{b}" for b in BUCKETS]
        self.kind = [TRADER] * N + [DEALER] * 3 + [VBT] * 3
        self.cash = [0.0] * self.n_agents
        self.tickets: dict[int, Ticket] = {}
        self.held: list[dict[int, Ticket]] = [{} for _ in range(self.n_agents)]
        self.issued: list[dict[int, Ticket]] = [{} for _ in range(self.n_agents)]
        self.by_due: dict[int, dict[int, Ticket]] = {}
        self.next_id = 0
        self.max_due = 0
        self.defaulted = [False] * self.n_agents
        self.default_day = [-1] * self.n_agents

    # --- agents ---------------------------------------------------------------------------
    def dealer(self, b: int) -> int:
        return self.N + b

    def vbt(self, b: int) -> int:
        return self.N + 3 + b

    def is_trader(self, agent: int) -> bool:
        return agent < self.N

    # --- double-entry moves ---------------------------------------------------------------
    def pay(self, payer: int, payee: int, amount: float) -> None:
        """Move `amount` u of cash (I4).

        R2.6: a payer left within eps_cash below zero (a rounding residue) pays what it had, so
        its balance is exactly 0 and total cash is still conserved.
        """
        cash = self.cash
        left = cash[payer] - amount
        if left < 0.0 and left > -self.eps:
            amount, left = cash[payer], 0.0
        cash[payer] = left
        cash[payee] += amount

    def issue(self, issuer: int, holder: int, due: int, dT: int,
              lineage: int | None = None, cycle: int = 1) -> Ticket:
        """Create a ticket with the next id. An initial ticket starts its own lineage."""
        tid = self.next_id
        self.next_id += 1
        tk = Ticket(tid, issuer, holder, due, dT, tid if lineage is None else lineage, cycle)
        if due > self.max_due:
            self.max_due = due
        self.tickets[tid] = tk
        self.held[holder][tid] = tk
        self.issued[issuer][tid] = tk
        day = self.by_due.get(due)
        if day is None:
            self.by_due[due] = {tid: tk}
        else:
            day[tid] = tk
        return tk

    def transfer(self, tk: Ticket, new_holder: int) -> None:
        """Move a ticket whole to a new holder (trades and re-homing; I3)."""
        del self.held[tk.holder][tk.id]
        tk.holder = new_holder
        self.held[new_holder][tk.id] = tk

    def remove(self, tk: Ticket) -> None:
        """Delete a ticket (settled or extinguished at maturity)."""
        del self.tickets[tk.id]
        del self.held[tk.holder][tk.id]
        del self.issued[tk.issuer][tk.id]
        day = self.by_due.get(tk.due)
        if day is not None:
            day.pop(tk.id, None)

    # --- read-outs ------------------------------------------------------------------------
    def total_cash(self) -> float:
        return sum(self.cash)

    def fingerprint(self) -> str:
        """§6.2: a hash over every agent's cash and sorted (issuer, holder, due, dT) tuples."""
        h = hashlib.sha256()
        for agent in range(self.n_agents):
            rows = sorted((t.issuer, t.holder, t.due, t.dT) for t in self.held[agent].values())
            h.update(f"{self.names[agent]}|{self.cash[agent]!r}|{rows}\n".encode())
        return h.hexdigest()
