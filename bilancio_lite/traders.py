"""Trader behaviour (§4): the liquidity-gap projection, the default-avoidance seller, the optional
buyer and the daily order-flow loop.

Flows are kept as `{day: [out, in, term_out, term_in]}` in u, so the greedy seller can evaluate
"what if ticket k were sold" by editing one entry instead of rebuilding the projection.
"""

from __future__ import annotations

from typing import Callable, Protocol

from .book import Book, Ticket, bucket_of
from .dealer import Market

SELL, BUY = "SELL", "BUY"


def flow_events(book: Book, i: int, t: int, H: int, rollover: bool) -> dict[int, list[float]]:
    """§4.1: out_i(d), in_i(d) and their terminal parts for d in [t, t+H]."""
    S, horizon = book.S, t + H
    ev: dict[int, list[float]] = {}
    defaulted, N = book.defaulted, book.N
    for tk in book.issued[i].values():
        d = tk.due
        if d > horizon:
            continue
        e = ev.get(d)
        if e is None:
            e = ev[d] = [0.0, 0.0, 0.0, 0.0]
        e[0] += S
        h = tk.holder
        if not rollover or (h < N and defaulted[h]):
            e[2] += S
    for tk in book.held[i].values():
        d = tk.due
        if d > horizon or d < t or defaulted[tk.issuer]:
            continue
        e = ev.get(d)
        if e is None:
            e = ev[d] = [0.0, 0.0, 0.0, 0.0]
        e[1] += S
        if not rollover:
            e[3] += S
    return ev


def gap_from_events(cash: float, ev: dict[int, list[float]], t: int, H: int) -> float:
    """§4.1: gap = max(0, max_d need(d)), need(d) = out(d) - in(d) - P(d-1), P(t-1) = cash.

    Days without flows have need(d) = -P(d-1); only event days change P, so they are visited in
    order and the flow-free days between and after them are covered by one comparison each.
    """
    P, best, prev = cash, 0.0, t - 1
    for d in sorted(ev):
        out, inn, tout, tin = ev[d]
        if d > prev + 1 and -P > best:
            best = -P
        need = out - inn - P
        if need > best:
            best = need
        P += tin - tout
        prev = d
    if prev < t + H and -P > best:
        best = -P
    return best


def liquidity_gap(book: Book, i: int, t: int, H: int, rollover: bool) -> float:
    """§4.1 for trader i on day t.

    Shortcut (exact): need(d) <= out(d) + sum of earlier terminal outflows - cash <= total
    liabilities - cash, so a trader whose cash covers everything it has issued has gap 0.
    """
    cash = book.cash[i]
    if book.S * len(book.issued[i]) <= cash:
        return 0.0
    return gap_from_events(cash, flow_events(book, i, t, H, rollover), t, H)


def best_sale(book: Book, market: Market, i: int, t: int, H: int, rollover: bool,
              ) -> tuple[float, Ticket | None, float]:
    """§4.2 greedy ticket choice: (gap now, ticket to sell or None, gap after selling it).

    Among tradable held tickets (tau >= 1, exec_bid defined) pick the largest strict gap
    reduction; ties go to the shortest tau, then the highest exec_bid, then the lowest id.
    Tickets with the same due day share their bucket and so their effect: one evaluation each.
    """
    S, cash = book.S, book.cash[i]
    ev = flow_events(book, i, t, H, rollover)
    g0 = gap_from_events(cash, ev, t, H)
    groups: dict[int, Ticket] = {}
    for tk in book.held[i].values():
        if tk.due <= t:
            continue
        first = groups.get(tk.due)
        if first is None or tk.id < first.id:
            groups[tk.due] = tk
    best_key, best_tk, best_gap = None, None, g0
    for due, tk in groups.items():
        price = market.exec_bid(bucket_of(due - t))
        if price is None:
            continue
        e = ev.get(due)
        if e is not None:
            e[1] -= S
            if not rollover:
                e[3] -= S
        g1 = gap_from_events(cash + price * S, ev, t, H)
        if e is not None:
            e[1] += S
            if not rollover:
                e[3] += S
        reduction = g0 - g1
        if reduction <= 1e-9 * S:
            continue
        key = (-reduction, due, -price, tk.id)
        if best_key is None or key < best_key:
            best_key, best_tk, best_gap = key, tk, g1
    return g0, best_tk, best_gap


def has_tradable_ticket(book: Book, market: Market, i: int, t: int) -> bool:
    """§4.2 eligibility: some held ticket with tau >= 1 whose bucket has an executable bid."""
    seen = set()
    for tk in book.held[i].values():
        if tk.due > t and tk.due not in seen:
            seen.add(tk.due)
            if market.exec_bid(bucket_of(tk.due - t)) is not None:
                return True
    return False


def buyer_bucket(book: Book, market: Market, i: int, t: int, issuer: int | None,
                 H: int, H_inv: int, buffer: float, rollover: bool) -> int | None:
    """§4.3 eligibility: the bucket trader i would buy in today, or None if it is not a buyer.

    Requires gap 0, earliest own due date >= t + H_inv, cash >= buffer + A_b*S in the first bucket
    (short -> mid -> long) with an eligible ticket, and gap still 0 after buying at exec_ask.
    """
    if book.defaulted[i]:
        return None
    own_dues = [tk.due for tk in book.issued[i].values()]
    if own_dues and min(own_dues) < t + H_inv:
        return None
    S, cash = book.S, book.cash[i]
    ev = flow_events(book, i, t, H, rollover)
    if gap_from_events(cash, ev, t, H) > 0:
        return None
    for b in range(3):
        offer = market.exec_ask(b, t, i, issuer)
        if offer is None:
            continue
        price, tk, _ = offer
        if cash < buffer + market.quotes[b].A * S:
            return None
        if tk.due <= t + H:
            e = ev.setdefault(tk.due, [0.0, 0.0, 0.0, 0.0])
            e[1] += S
            if not rollover:
                e[3] += S
        return b if gap_from_events(cash - price * S, ev, t, H) <= 0 else None
    return None


class TradeRng(Protocol):
    def random(self) -> float: ...
    def randrange(self, n: int) -> int: ...


def order_flow(sellers: list[int], buyers: list[int], rng: TradeRng, pi_sell: float,
               n_max: int | None, try_sell: Callable[[int], bool], try_buy: Callable[[int], bool]) -> int:
    """§4.4 daily order-flow loop. `try_*` attempt one ticket and return whether i stays queued.

    Returns the number of arrivals. The passive regime never calls this, so it never draws.
    """
    Sq, Bq = list(sellers), list(buyers)
    n = 0
    while (Sq or Bq) and (n_max is None or n < n_max):
        if Sq and Bq:
            side = SELL if rng.random() < pi_sell else BUY
        else:
            side = SELL if Sq else BUY
        q = Sq if side == SELL else Bq
        i = q[rng.randrange(len(q))]
        stay = try_sell(i) if side == SELL else try_buy(i)
        if not stay:
            q.remove(i)
        n += 1
    return n
