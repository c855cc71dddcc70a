"""The initial state (§2): Dirichlet ring sizes, due days from mu, liquidity and holder claims.

The same `(params, seed)` always builds the same book: the passive and active runs each build
their own copy, and the pair runner asserts that the fingerprints match (§6.2).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from .book import Book, bucket_of
from .params import ModelParams


@dataclass(frozen=True)
class RingInfo:
    """What §2 decided, kept for logs, metrics and the initial-conditions analysis (§8.6 E)."""

    q: tuple[float, ...]            # §2.1 amounts q_i
    n: tuple[int, ...]              # ring tickets of edge i (H_i owes H_{i+1})
    due: tuple[int, ...]            # T_i: due day of every liability of H_i
    vbt_tickets: tuple[int, ...]    # v_i
    dealer_tickets: tuple[int, ...]  # d_i
    V: tuple[int, int, int]         # V_b per bucket
    D: tuple[int, int, int]         # D_b per bucket
    base_cash: tuple[float, ...]    # L0 split (§2.3)
    trader_cash: tuple[float, ...]  # base cash + matching cash (§2.5 step 4)
    kappa_eff: float                # §2.5 step 6
    n_lineages: int                 # number of initial tickets (= initial lineages)
    n_ring_tickets: int             # K = Q/S; ring lineages have ids 0..K-1


def round_half_up(z: float) -> int:
    """§0: floor(z + 1/2)."""
    return math.floor(z + 0.5)


def largest_remainder(weights: list[float], total: int) -> list[int]:
    """§0: floors of the weights, then +1 to the largest fractional parts (ties: lower index)."""
    counts = [math.floor(w) for w in weights]
    short = total - sum(counts)
    if short < 0:
        raise ValueError(f"largest_remainder: floors already exceed the total {total}")
    order = sorted(range(len(weights)), key=lambda i: (-(weights[i] - counts[i]), i))
    k = 0
    while short > 0 and order:
        counts[order[k % len(order)]] += 1
        short -= 1
        k += 1
    return counts


def dirichlet_amounts(N: int, Q: float, c: float, m: float, rng: random.Random) -> list[float]:
    """§2.1 steps 1–4: gamma weights, reference residual and 0.01 floor, monotonicity swaps."""
    g = [rng.gammavariate(c, 1.0) for _ in range(N)]
    total = sum(g)
    if not total > 0:  # every draw underflowed (only for absurdly small c): equal weights
        g, total = [1.0] * N, float(N)
    q = [Q * gi / total for gi in g[:-1]]
    q.append(Q - sum(q))
    deficit = 0.0
    for i, qi in enumerate(q):
        if qi <= 0:
            deficit += 0.01 - qi
            q[i] = 0.01
    if deficit > 0:
        q[max(range(N), key=lambda i: (q[i], -i))] -= deficit
    if m != 0:
        q.sort(reverse=m > 0)
        if abs(m) < 1:
            n_swaps = min(round((1 - abs(m)) * N * (N - 1)), N * (N - 1))
            for _ in range(n_swaps):
                j = rng.randrange(N - 1)
                q[j], q[j + 1] = q[j + 1], q[j]
    return q


def ticketize(q: list[float], S: float, K: int) -> list[int]:
    """§2.1 step 5: at least one ticket per edge, largest remainder to reach K = Q/S."""
    n = [max(1, math.floor(qi / S)) for qi in q]
    rm = K - sum(n)
    if rm > 0:
        frac = [qi / S - math.floor(qi / S) for qi in q]
        for i in sorted(range(len(q)), key=lambda i: (-frac[i], i))[:rm]:
            n[i] += 1
    for _ in range(-rm):
        i = max((i for i in range(len(n)) if n[i] >= 2), key=lambda i: (n[i], -i))
        n[i] -= 1
    return n


def due_days(N: int, T: int, mu: float) -> list[int]:
    """§2.2: the deterministic lead–lag rule (half-even rounding of mu*(T-1))."""
    lead = min(max(round(mu * (T - 1)), 0), T - 1)
    if lead == 0:
        return [1] * N
    return [((idx * lead) % T - lead) % T + 1 for idx in range(N)]


def base_liquidity(p: ModelParams) -> list[float]:
    """§2.3: L0 = kappa*Q split uniformly, to one trader, or by a weight vector."""
    N, L0 = p.n_traders, p.kappa * p.Q_total
    if p.liq_mode == "uniform":
        return [L0 / N] * N
    if p.liq_mode == "single_at":
        out = [0.0] * N
        out[p.liq_single_at - 1] = L0
        return out
    w = list(p.liq_vector)
    tot = sum(w)
    out = [L0 * wi / tot for wi in w[:-1]]
    out.append(L0 - sum(out))
    return out


def build_initial_state(p: ModelParams, amounts: list[float] | None = None) -> tuple[Book, RingInfo]:
    """§2: the t = 0 book shared by both regimes.

    `amounts` replaces the Dirichlet draw of §2.1 (used by the worked example of §2.6 / T16).
    """
    N, S, T = p.n_traders, p.face_value, p.maturity_days
    K = p.n_tickets
    if amounts is None:
        q = dirichlet_amounts(N, p.Q_total, p.concentration, p.monotonicity, random.Random(p.seed))
    else:
        if len(amounts) != N:
            raise ValueError(f"amounts must have n_traders={N} entries, got {len(amounts)}")
        q = [float(x) for x in amounts]
    n = ticketize(q, S, K)
    due = due_days(N, T, p.mu)

    # §2.5 holder claims per bucket.
    v, d = p.vbt_share, p.dealer_share
    if p.share_basis == "final":
        f_v, f_d = v / (1 - v - d), d / (1 - v - d)
    else:
        f_v, f_d = v, d
    bucket = [bucket_of(due[i]) for i in range(N)]
    v_i, d_i = [0] * N, [0] * N
    V, D = [0, 0, 0], [0, 0, 0]
    for b in range(3):
        members = [i for i in range(N) if bucket[i] == b]
        N_b = sum(n[i] for i in members)
        V[b], D[b] = round_half_up(f_v * N_b), round_half_up(f_d * N_b)
        for counts, f, total in ((v_i, f_v, V[b]), (d_i, f_d, D[b])):
            for i, k in zip(members, largest_remainder([f * n[i] for i in members], total)):
                counts[i] = k

    book = Book(N, S)
    for i in range(N):  # ring tickets first, edge by edge: H_i owes H_{i+1}
        for _ in range(n[i]):
            book.issue(i, (i + 1) % N, due[i], due[i])
    for i in range(N):  # then each trader's holder claims: VBT tickets, then dealer tickets
        b = bucket[i]
        for _ in range(v_i[i]):
            book.issue(i, book.vbt(b), due[i], due[i])
        for _ in range(d_i[i]):
            book.issue(i, book.dealer(b), due[i], due[i])

    base = base_liquidity(p)
    if p.match_cash == "face":
        cash = [base[i] + S * (v_i[i] + d_i[i]) for i in range(N)]
    elif p.match_cash == "uniform":
        extra = S * (sum(V) + sum(D)) / N
        cash = [base[i] + extra for i in range(N)]
    else:  # preserve_ratio: scale base cash by total debt / base debt, so kappa_eff = kappa
        factor = (K + sum(V) + sum(D)) / K
        cash = [base[i] * factor for i in range(N)]
    for i in range(N):
        book.cash[i] = cash[i]
    rho = p.mm_cash  # §2.5 step 5: outside_mid_ratio unless mm_cash_ratio sets the cash apart
    for b in range(3):
        book.cash[book.vbt(b)] = rho * S * V[b]
        book.cash[book.dealer(b)] = rho * S * D[b]

    n_trader_tickets = len(book.tickets)
    info = RingInfo(
        q=tuple(q), n=tuple(n), due=tuple(due), vbt_tickets=tuple(v_i), dealer_tickets=tuple(d_i),
        V=tuple(V), D=tuple(D), base_cash=tuple(base), trader_cash=tuple(cash),
        kappa_eff=sum(cash) / (S * n_trader_tickets), n_lineages=n_trader_tickets, n_ring_tickets=K,
    )
    return book, info


__all__ = ["RingInfo", "build_initial_state", "due_days", "ticketize", "dirichlet_amounts",
           "largest_remainder", "round_half_up", "base_liquidity"]
