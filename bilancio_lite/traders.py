"""Trader behaviour (§4): the liquidity-gap projection, the default-avoidance seller, the optional
buyer and the daily order-flow loop.

Flows are kept as `{day: [out, in, term_out, term_in]}` in u, so the greedy seller can evaluate
"what if ticket k were sold" by editing the entries of k and its successors instead of rebuilding
the projection. :class:`Projection` says how rolling flows are treated (rev 2: R2.1, R2.2, R2.7).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Protocol

from .book import Book, Ticket, bucket_of
from .dealer import Market
from .settlement import rollover_price

SELL, BUY = "SELL", "BUY"


@dataclass(frozen=True, slots=True)
class Projection:
    """How §4.1 projects a trader's flows (rev 2: R2.1, R2.2, R2.7).

    - `rolling`: repaid tickets roll over and the trader counts on it (rollover on with
      `rollover_lender = forced`). False: every flow is terminal (rollover off, or
      `liquidity_aware`, where a trader keeps the receipts it needs and cannot count on its own
      creditors re-lending).
    - `successors`: a rolling ticket due D with distance dT also falls due at D + dT, D + 2dT, …
      within the horizon (R2.1). False is revision 1: only outstanding tickets.
    - `hazard`, `floor`: the latest known rollover hazard and the price floor (R2.7). With
      hazard > 0 a rolling own ticket leaves the terminal flow −(1−q)·S on each of its days and a
      rolling held one +(1−q)·S. hazard = 0 is par rollover (q = 1).
    """

    rolling: bool = True
    successors: bool = True
    hazard: float = 0.0
    floor: float = 0.5

    def q(self, dT: int) -> float:
        """§5.4: the price per unit face of a future rollover of a ticket with distance dT."""
        return rollover_price(dT, self.hazard, self.floor)


#: every flow terminal, no successors: rollover off, and the liquidity_aware lender's test (§5.4)
TERMINAL = Projection(rolling=False, successors=False)


def _as_projection(proj: Projection | bool) -> Projection:
    """A bool is revision 1's switch: rollover on (True) or off (False), without successors."""
    if isinstance(proj, Projection):
        return proj
    return Projection(rolling=bool(proj), successors=False)


def _entry(ev: dict[int, list[float]], d: int) -> list[float]:
    e = ev.get(d)
    if e is None:
        e = ev[d] = [0.0, 0.0, 0.0, 0.0]
    return e


def _days(due: int, dT: int, horizon: int, proj: Projection, rolls: bool) -> range:
    """The days on which a ticket (and, when it rolls, its successors) fall due within the horizon."""
    if rolls and proj.successors and dT > 0:
        return range(due, horizon + 1, dT)
    return range(due, min(due, horizon) + 1)


def _add_held(ev: dict[int, list[float]], tk: Ticket, horizon: int, S: float, proj: Projection,
              sign: float) -> None:
    """Add (sign = +1) or remove (sign = −1) a held ticket's inflows, successors included."""
    _add_flows(ev, tk.due, tk.dT, sign * S, horizon, proj, proj.rolling, IN)


def flow_events(book: Book, i: int, t: int, H: int, proj: Projection | bool) -> dict[int, list[float]]:
    """§4.1: out_i(d), in_i(d) and their terminal parts for d in [t, t+H], as
    `{day: [out, in, term_out, term_in]}` in u.

    An own ticket rolls unless its holder is a defaulted trader (then it is terminal and has no
    successor); a held ticket counts only while its issuer has not defaulted. Tickets are first
    grouped by (due, dT) — a trader's tickets mostly share both — so each group's days (successors
    included) are visited once.
    """
    proj = _as_projection(proj)
    S, horizon = book.S, t + H
    defaulted, N = book.defaulted, book.N
    rolling = proj.rolling
    own: dict[tuple[int, int, bool], int] = {}
    for tk in book.issued[i].values():
        if tk.due > horizon:
            continue
        h = tk.holder
        key = (tk.due, tk.dT, rolling and not (h < N and defaulted[h]))
        own[key] = own.get(key, 0) + 1
    held: dict[tuple[int, int], int] = {}
    for tk in book.held[i].values():
        if tk.due > horizon or tk.due < t or defaulted[tk.issuer]:
            continue
        key = (tk.due, tk.dT)
        held[key] = held.get(key, 0) + 1
    ev: dict[int, list[float]] = {}
    for (due, dT, rolls), n in own.items():
        _add_flows(ev, due, dT, n * S, horizon, proj, rolls, OUT)
    for (due, dT), n in held.items():
        _add_flows(ev, due, dT, n * S, horizon, proj, rolling, IN)
    return ev


OUT, IN = 0, 1   # slots of a flow entry [out, in, term_out, term_in]: flow k, terminal part k + 2


def _add_flows(ev: dict[int, list[float]], due: int, dT: int, amount: float, horizon: int,
               proj: Projection, rolls: bool, side: int) -> None:
    """Add `amount` u of outflows (side OUT) or inflows (side IN) due on `due`: a rolling flow also
    falls due on its successors' days and leaves the net terminal part (1 - q) * amount (R2.7);
    a terminal flow is terminal in full."""
    if rolls:
        net = (1.0 - proj.q(dT)) * amount
        for d in _days(due, dT, horizon, proj, True):
            e = _entry(ev, d)
            e[side] += amount
            if net:
                e[side + 2] += net
    elif due <= horizon:
        e = _entry(ev, due)
        e[side] += amount
        e[side + 2] += amount


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


def liquidity_gap(book: Book, i: int, t: int, H: int, proj: Projection | bool) -> float:
    """§4.1 for trader i on day t.

    Shortcut (exact): need(d) <= out(d) + the terminal outflows before d - cash. Every ticket adds
    S to out(d) at most once per day d; a terminal ticket has no successor; a rolling one falls due
    at most H/dT + 1 times in the horizon and leaves at most (1 - q)*S <= dT*lambda*S each time
    (R2.7). So need(d) <= S * sum over issued tickets of (1 + (H + dT)*lambda) - cash, and a trader
    whose cash covers that has gap 0 (at par: cash covers everything it has issued).
    """
    proj = _as_projection(proj)
    cash = book.cash[i]
    issued = book.issued[i]
    bound = book.S * len(issued)
    if proj.hazard > 0.0 and bound <= cash:
        bound += book.S * proj.hazard * sum(H + tk.dT for tk in issued.values())
    if bound <= cash:
        return 0.0
    return gap_from_events(cash, flow_events(book, i, t, H, proj), t, H)


def _gap_without(ev: dict[int, list[float]], tk: Ticket, cash: float, t: int, H: int, S: float,
                 proj: Projection) -> float:
    """The gap if held ticket `tk` (and its successors) left the projection and `cash` were held."""
    horizon = t + H
    days = _days(tk.due, tk.dT, horizon, proj, proj.rolling)
    saved = {d: list(ev[d]) for d in days if d in ev}
    _add_held(ev, tk, horizon, S, proj, -1.0)
    g = gap_from_events(cash, ev, t, H)
    for d in days:  # restore exactly (no rounding residue from adding and subtracting)
        if d in saved:
            ev[d] = saved[d]
        else:
            ev.pop(d, None)
    return g


def best_sale(book: Book, market: Market, i: int, t: int, H: int, proj: Projection | bool,
              blocked: Sequence[bool] | None = None) -> tuple[float, Ticket | None, float]:
    """§4.2 greedy ticket choice: (gap now, ticket to sell or None, gap after selling it).

    Among tradable held tickets (tau >= 1, exec_bid defined) pick the largest strict gap
    reduction; ties go to the shortest tau, then the highest exec_bid, then the lowest id. Selling
    a ticket removes it together with all its projected successors (R2.1). Tickets with the same
    due day and distance share their bucket and their flows: one evaluation each.
    ``blocked[j]`` (§12 ``paper_sales``) removes the tickets issued by j from the choice.
    """
    proj = _as_projection(proj)
    S, cash = book.S, book.cash[i]
    ev = flow_events(book, i, t, H, proj)
    g0 = gap_from_events(cash, ev, t, H)
    groups: dict[tuple[int, int], Ticket] = {}
    for tk in book.held[i].values():
        if tk.due <= t or (blocked is not None and blocked[tk.issuer]):
            continue
        key = (tk.due, tk.dT)
        first = groups.get(key)
        if first is None or tk.id < first.id:
            groups[key] = tk
    best_key, best_tk, best_gap = None, None, g0
    for (due, _), tk in groups.items():
        price = market.exec_bid(bucket_of(due - t))
        if price is None:
            continue
        if book.defaulted[tk.issuer]:  # not in the projection: selling only adds cash
            g1 = gap_from_events(cash + price * S, ev, t, H)
        else:
            g1 = _gap_without(ev, tk, cash + price * S, t, H, S, proj)
        reduction = g0 - g1
        if reduction <= 1e-9 * S:
            continue
        key = (-reduction, due, -price, tk.id)
        if best_key is None or key < best_key:
            best_key, best_tk, best_gap = key, tk, g1
    return g0, best_tk, best_gap


def lender_gap(book: Book, h: int, t: int, H: int, new_due: int, cash_after: float) -> float:
    """§5.4 `liquidity_aware` (R2.2): trader h's gap on day t+1 if it lends for a rollover today.

    The projection has terminal flows only (§4.1 under liquidity_aware); h holds `cash_after`
    (its cash less q*S) and the new ticket, due `new_due`, which pays S.
    """
    S = book.S
    if S * len(book.issued[h]) <= cash_after:
        return 0.0
    ev = flow_events(book, h, t + 1, H, TERMINAL)
    if new_due <= t + 1 + H:
        e = _entry(ev, new_due)
        e[1] += S
        e[3] += S
    return gap_from_events(cash_after, ev, t + 1, H)


def has_tradable_ticket(book: Book, market: Market, i: int, t: int,
                        blocked: Sequence[bool] | None = None) -> bool:
    """§4.2 eligibility: some held ticket with tau >= 1 whose bucket has an executable bid (and,
    with ``blocked``, §12 ``paper_sales``, whose issuer j is not blocked)."""
    seen = set()
    for tk in book.held[i].values():
        if blocked is not None and blocked[tk.issuer]:
            continue
        if tk.due > t and tk.due not in seen:
            seen.add(tk.due)
            if market.exec_bid(bucket_of(tk.due - t)) is not None:
                return True
    return False


def buyer_bucket(book: Book, market: Market, i: int, t: int, issuer: int | None,
                 H: int, H_inv: int, buffer: float, proj: Projection | bool) -> int | None:
    """§4.3 eligibility: the bucket trader i would buy in today, or None if it is not a buyer.

    Requires gap 0, earliest own due date >= t + H_inv, cash >= buffer + A_b*S in the first bucket
    (short -> mid -> long) with an eligible ticket, and gap still 0 after buying at exec_ask.
    """
    if book.defaulted[i]:
        return None
    own_dues = [tk.due for tk in book.issued[i].values()]
    if own_dues and min(own_dues) < t + H_inv:
        return None
    proj = _as_projection(proj)
    S, cash = book.S, book.cash[i]
    ev = flow_events(book, i, t, H, proj)
    if gap_from_events(cash, ev, t, H) > 0:
        return None
    for b in range(3):
        offer = market.exec_ask(b, t, i, issuer)
        if offer is None:
            continue
        price, tk, _ = offer
        if cash < buffer + market.quotes[b].A * S:
            return None
        _add_held(ev, tk, t + H, S, proj, 1.0)
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
