"""Market makers (§3): VBT anchors and outside quotes, the dealer kernel, executions, re-homing.

`kernel` is a pure function of `(a, C, M, O, S)`; every test vector of §11 (T1–T10, T14, T15)
checks it. `Market` holds the per-bucket state (anchors M and O, the dealer's home inventory `a`
and its current quote) and carries out one-ticket executions on the :class:`~bilancio_lite.book.Book`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .book import Book, Ticket, bucket_of, bucket_table
from .params import ModelParams
from .schema import BUCKETS


class Quote(NamedTuple):
    """The dealer kernel of one bucket (§3.2). Prices are per unit face."""

    guard: bool      # M <= M_min: every order passes through to the VBT
    K: int           # ladder top K* in tickets
    lam: float       # per-trade layoff probability 1/(K*+1)
    I: float         # inside width lam*O
    p: float         # ladder mid p(x) at the current inventory
    ask_int: float   # interior ask p + I/2
    bid_int: float   # interior bid p - I/2
    ask: float       # clipped ask: ask_int clamped into [B, A]
    bid: float       # clipped bid: bid_int clamped into [B, A]
    A: float         # outside ask
    B: float         # outside bid
    M: float         # outside mid
    O: float         # outside spread (after the floor)


def outside_quotes(M: float, O: float, O_min: float = 0.0, clip_B: bool = True) -> tuple[float, float]:
    """§3.1: A = M + O/2, B = M - O/2 (floored at 0 with clip_B), spread floored at O_min."""
    O = max(O_min, O)
    B = M - O / 2
    return M + O / 2, (max(0.0, B) if clip_B else B)


def kernel(a: int, C: float, M: float, O: float, S: float, *, M_min: float = 0.02,
           O_min: float = 0.0, clip_B: bool = True) -> Quote:
    """§3.2: Treynor one-sided L1 kernel from the dealer's balance sheet (a tickets, C cash)."""
    O = max(O_min, O)
    A, B = outside_quotes(M, O, O_min, clip_B)
    if M <= M_min:
        return Quote(True, 0, 1.0, O, M, A, B, A, B, A, B, M, O)
    MS = M * S
    K = math.floor((MS * a + C + 1e-9 * S) / MS)  # eps_cash guards V/(M*S) landing a hair below an integer
    if K < 0:
        K = 0
    lam = 1.0 / (K + 1)
    inside = lam * O
    p = M - O / (K + 2) * (a - K / 2)
    ask_int = p + inside / 2
    bid_int = p - inside / 2
    # Clipped quotes are the interior quotes clamped into [B, A]. §3.2 writes min(A, ask_int) and
    # max(B, bid_int), which is the same whenever B = M - O/2. With clip_B and M < O/2, however,
    # the ladder runs below B = 0 and ask_int can fall under B (even under 0): the spec's own I5
    # (B <= bid_c <= ask_c <= A) and A31 (no negative prices) then require the floor at B as well.
    ask = min(A, max(B, ask_int))
    bid = max(B, min(A, bid_int))
    return Quote(False, K, lam, inside, p, ask_int, bid_int, ask, bid, A, B, M, O)


@dataclass(slots=True)
class Fill:
    """The result of one attempted customer execution (§3.3), with the state needed for trades.csv."""

    ok: bool
    side: str             # "SELL" or "BUY", from the customer's view
    bucket: int
    route: str            # "interior" | "passthrough" | "" when nothing executed
    reason: str           # pass-through / failure reason, "" for interior
    price: float          # per unit face (nan when nothing executed)
    ticket: Ticket | None
    counterparty: int     # dealer or VBT agent id (-1 when nothing executed)
    quote: Quote          # the kernel before the trade
    a_before: int
    a_after: int
    C_before: float
    C_after: float

    @property
    def hit_inventory_limit(self) -> bool:
        """§3.3 limit flag: the dealer's own balance sheet sent the order to the VBT."""
        return self.route == "passthrough" and self.reason in ("capacity", "cash", "empty")


class Market:
    """Per-bucket anchors (§3.1, §3.6), dealer inventories and kernels (§3.2), executions (§3.3)."""

    def __init__(self, book: Book, params: ModelParams) -> None:
        self.book = book
        self.S = book.S
        self.eps = 1e-9 * book.S
        self.M = [params.outside_mid_ratio] * 3
        spreads = params.spreads
        self.O = [spreads[b] for b in BUCKETS]
        self.M_min, self.O_min, self.clip_B = params.M_min, params.O_min, params.clip_B
        self.finite_vbt = params.vbt_depth == "finite"
        self.phi_M, self.phi_O = params.phi_M, params.phi_O
        self.a = [0, 0, 0]
        self.quotes: list[Quote] = [self._kernel(b) for b in range(3)]
        self.vbt_overdraft = 0.0  # outside money used under vbt_depth = infinite (§3.1)

    # --- kernels ------------------------------------------------------------------------------
    def _kernel(self, b: int) -> Quote:
        return kernel(self.a[b], self.book.cash[self.book.dealer(b)], self.M[b], self.O[b], self.S,
                      M_min=self.M_min, O_min=self.O_min, clip_B=self.clip_B)

    def home_count(self, agent: int, b: int, t: int) -> int:
        """Tickets held by `agent` whose bucket on day t is b (§3.1 kernel membership)."""
        bt = bucket_table(t, self.book.max_due)
        return sum(1 for tk in self.book.held[agent].values() if bt[tk.due] == b)

    def recompute(self, t: int) -> None:
        """S4: recount each dealer's home inventory and recompute every kernel (§3.2)."""
        for b in range(3):
            self.a[b] = self.home_count(self.book.dealer(b), b, t)
            self.quotes[b] = self._kernel(b)

    def outside(self, b: int) -> tuple[float, float]:
        return outside_quotes(self.M[b], self.O[b], self.O_min, self.clip_B)

    # --- executable quotes (§3.4) -----------------------------------------------------------
    def _vbt_can_pay(self, b: int, price: float) -> bool:
        return (not self.finite_vbt) or self.book.cash[self.book.vbt(b)] >= price * self.S - self.eps

    def _interior_buy_ok(self, b: int) -> bool:
        q = self.quotes[b]
        return (not q.guard and self.a[b] + 1 <= q.K
                and self.book.cash[self.book.dealer(b)] >= self.S * q.bid - self.eps)

    def exec_bid(self, b: int) -> float | None:
        """bid_c if an interior dealer buy is feasible, else B if the VBT can pay, else None."""
        if self._interior_buy_ok(b):
            return self.quotes[b].bid
        B = self.quotes[b].B
        return B if self._vbt_can_pay(b, B) else None

    def _matching(self, agent: int, b: int, t: int, buyer: int, issuer: int | None) -> Ticket | None:
        """The lowest (due, id) ticket of bucket b held by `agent` that `buyer` may buy (§3.3, §4.3)."""
        best = None
        for tk in self.book.held[agent].values():
            if bucket_of(tk.due - t) != b or tk.issuer == buyer:
                continue
            if issuer is not None and tk.issuer != issuer:
                continue
            if best is None or (tk.due, tk.id) < (best.due, best.id):
                best = tk
        return best

    def exec_ask(self, b: int, t: int, buyer: int, issuer: int | None) -> tuple[float, Ticket, str] | None:
        """(price, ticket, route) of the buy `buyer` would get in bucket b, or None (§3.4)."""
        q = self.quotes[b]
        if not q.guard:
            tk = self._matching(self.book.dealer(b), b, t, buyer, issuer)
            if tk is not None:
                return q.ask, tk, "interior"
        tk = self._matching(self.book.vbt(b), b, t, buyer, issuer)
        return (q.A, tk, "passthrough") if tk is not None else None

    # --- executions (§3.3) ------------------------------------------------------------------
    def customer_sell(self, tk: Ticket, seller: int, t: int) -> Fill:
        """The dealer of the ticket's bucket buys it: interior, else pass-through to the VBT."""
        book, S = self.book, self.S
        b = bucket_of(tk.due - t)
        dealer = book.dealer(b)
        q = self.quotes[b]
        a0, C0 = self.a[b], book.cash[dealer]
        if self._interior_buy_ok(b):
            price = q.bid
            book.pay(dealer, seller, price * S)
            book.transfer(tk, dealer)
            self.a[b] = a0 + 1
            self.quotes[b] = self._kernel(b)
            return Fill(True, "SELL", b, "interior", "", price, tk, dealer, q, a0, a0 + 1, C0, book.cash[dealer])
        reason = "guard" if q.guard else ("capacity" if a0 + 1 > q.K else "cash")
        if self._vbt_can_pay(b, q.B):
            vbt = book.vbt(b)
            self._vbt_pays(vbt, q.B * S)
            book.pay(vbt, seller, q.B * S)
            book.transfer(tk, vbt)
            return Fill(True, "SELL", b, "passthrough", reason, q.B, tk, vbt, q, a0, a0, C0, C0)
        return Fill(False, "SELL", b, "", "no_liquidity", math.nan, tk, -1, q, a0, a0, C0, C0)

    def customer_buy(self, buyer: int, b: int, t: int, issuer: int | None, budget: float) -> Fill:
        """A customer buys one ticket of bucket b: interior at ask_c, else pass-through at A."""
        book, S = self.book, self.S
        dealer = book.dealer(b)
        q = self.quotes[b]
        a0, C0 = self.a[b], book.cash[dealer]
        tk = None if q.guard else self._matching(dealer, b, t, buyer, issuer)
        if tk is not None:
            route, reason, price, seller = "interior", "", q.ask, dealer
        else:
            reason = "guard" if q.guard else ("empty" if a0 == 0 else "issuer")
            tk = self._matching(book.vbt(b), b, t, buyer, issuer)
            if tk is None:
                return Fill(False, "BUY", b, "", "no_liquidity", math.nan, None, -1, q, a0, a0, C0, C0)
            route, price, seller = "passthrough", q.A, book.vbt(b)
        if price * S > budget + self.eps:
            return Fill(False, "BUY", b, "", "buyer_cash", price, None, -1, q, a0, a0, C0, C0)
        book.pay(buyer, seller, price * S)
        book.transfer(tk, buyer)
        if route == "interior":
            self.a[b] = a0 - 1
            self.quotes[b] = self._kernel(b)
        return Fill(True, "BUY", b, route, reason, price, tk, seller, q, a0, self.a[b], C0, book.cash[dealer])

    def _vbt_pays(self, vbt: int, amount: float) -> None:
        short = amount - self.book.cash[vbt]
        if short > 0:
            self.vbt_overdraft += min(short, amount)

    # --- re-homing (§3.5) -----------------------------------------------------------------
    def rehome(self, t: int) -> list[tuple[Ticket, int, int, float, int, int, float, float]]:
        """S2: sell every off-bucket MM ticket to the same-type MM of its bucket at that bucket's mid.

        Processed in ascending (due, id); skipped (left off-bucket) when the receiver cannot pay.
        Returns (ticket, sender, receiver, unit price, bucket, receiving dealer's a and cash before,
        and its cash after) per executed transfer. Updates `a`.
        """
        book, S = self.book, self.S
        moving = []
        bt = bucket_table(t, book.max_due)
        for kind_offset in (0, 3):
            for b in range(3):
                agent = book.N + kind_offset + b
                for tk in book.held[agent].values():
                    nb = bt[tk.due]
                    if nb >= 0 and nb != b:
                        moving.append((tk.due, tk.id, tk, agent, book.N + kind_offset + nb, nb))
        for b in range(3):
            self.a[b] = self.home_count(book.dealer(b), b, t)
        done = []
        moving.sort(key=lambda r: (r[0], r[1]))
        for _, _, tk, sender, receiver, nb in moving:
            price = self.M[nb]
            if book.cash[receiver] < price * S - self.eps:
                continue
            a0, c0 = self.a[nb], book.cash[book.dealer(nb)]
            book.pay(receiver, sender, price * S)
            book.transfer(tk, receiver)
            if receiver == book.dealer(nb):
                self.a[nb] += 1
            done.append((tk, sender, receiver, price, nb, a0, c0, book.cash[book.dealer(nb)]))
        return done

    # --- anchors (§3.6) -----------------------------------------------------------------------
    def set_anchors(self, M: Sequence[float], O: Sequence[float]) -> None:
        """S9 under an exogenous price path (§12 ``passive_prices``): M_b and O_b as given."""
        self.M[:] = M
        self.O[:] = O

    def update_anchors(self, ell: list[float]) -> None:
        """S9: M_b -= phi_M*ell_b (floored at 0), O_b += phi_O*ell_b (floored at O_min)."""
        for b in range(3):
            if ell[b] != 0.0:
                self.M[b] = max(0.0, self.M[b] - self.phi_M * ell[b])
                self.O[b] = max(self.O_min, self.O[b] + self.phi_O * ell[b])
