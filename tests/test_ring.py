"""§2 initial state: Dirichlet sizes, monotonicity, ticketization, due days (§2.2 table), holder
claims (§2.5), balance sheets and the worked example (§2.6), I15."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from bilancio_lite.engine import Run
from bilancio_lite.params import ModelParams
from bilancio_lite.ring import build_initial_state, due_days, ticketize

from spec_oracle import spec_bucket, spec_holder_allocation

WORKED = dict(n_traders=4, Q_total=400, face_value=20, maturity_days=10, mu=0.75, kappa=0.5,
              outside_mid_ratio=0.75)
AMOUNTS = [190, 130, 60, 20]


# --- §2.2 due days --------------------------------------------------------------------------
@pytest.mark.parametrize("mu,lead,first6,dueset", [
    (0.0, 0, [1, 1, 1, 1, 1, 1], {1}),
    (0.25, 2, [9, 1, 3, 5, 7, 9], {1, 3, 5, 7, 9}),
    (0.5, 4, [7, 1, 5, 9, 3, 7], {1, 3, 5, 7, 9}),
    (0.75, 7, [4, 1, 8, 5, 2, 9], set(range(1, 11))),
    (1.0, 9, [2, 1, 10, 9, 8, 7], set(range(1, 11))),
])
def test_due_days_match_the_spec_table(mu, lead, first6, dueset):
    assert due_days(6, 10, mu) == first6
    full = due_days(100, 10, mu)
    assert full[:6] == first6
    assert set(full) == dueset
    # T_i = T_{i-1} + lead (mod T) around the ring
    for i in range(1, 100):
        assert (full[i] - full[i - 1] - lead) % 10 == 0


@pytest.mark.parametrize("T", [2, 3, 5, 10, 17])
@pytest.mark.parametrize("mu", [0.0, 0.1, 0.3, 0.5, 0.61, 0.9, 1.0])
def test_due_days_step_by_the_lead_for_any_horizon_and_mu(T, mu):
    N = 23
    lead = min(max(round(mu * (T - 1)), 0), T - 1)          # Python round = half-even
    d = due_days(N, T, mu)
    assert all(1 <= x <= T for x in d)
    if lead == 0:
        assert d == [1] * N
    else:
        assert d[1] == 1                                     # idx 1: phase = lead -> T_i = 1
        for i in range(1, N):
            assert (d[i] - d[i - 1]) % T == lead % T


def test_mu_half_even_rounding():
    assert due_days(2, 10, 0.5)[0] == 7          # lead 4 (4.5 rounds to even), not 5 (which gives 6)
    assert due_days(2, 4, 0.5)[0] == 3           # mu*(T-1) = 1.5 -> 2: ((0 - 2) mod 4) + 1 = 3


# --- §2.1 sizes -----------------------------------------------------------------------------
def spec_amounts(N, Q, c, m, seed):
    rng = random.Random(seed)
    g = [rng.gammavariate(c, 1.0) for _ in range(N)]
    q = [Q * x / sum(g) for x in g[:-1]]
    q.append(Q - sum(q))
    if m != 0:
        q.sort(reverse=m > 0)
        if abs(m) < 1:
            for _ in range(min(round((1 - abs(m)) * N * (N - 1)), N * (N - 1))):
                j = rng.randrange(N - 1)
                q[j], q[j + 1] = q[j + 1], q[j]
    return q


@pytest.mark.parametrize("N,c,m,seed", [(100, 1.0, 0.0, 42), (37, 0.2, 0.0, 7), (10, 5.0, 1.0, 3),
                                        (10, 5.0, -1.0, 3), (12, 0.5, 0.5, 11), (12, 0.5, -0.25, 11)])
def test_dirichlet_amounts_reproduce_the_reference_stream(N, c, m, seed):
    S = 20
    p = ModelParams(n_traders=N, Q_total=S * 5 * N, face_value=S, concentration=c, monotonicity=m, seed=seed)
    _, info = build_initial_state(p)
    want = spec_amounts(N, p.Q_total, c, m, seed)
    assert list(info.q) == pytest.approx(want, rel=1e-12)
    assert sum(info.q) == pytest.approx(p.Q_total, rel=1e-12)
    if m == 1.0:
        assert list(info.q) == sorted(info.q, reverse=True)
    if m == -1.0:
        assert list(info.q) == sorted(info.q)


def test_concentration_shapes_the_ring():
    """Small c: a few dominant links; large c: a near-equal ring (§2.1 step 3)."""
    def top_share(c):
        p = ModelParams(concentration=c)
        _, info = build_initial_state(p)
        return max(info.q) / p.Q_total
    assert top_share(0.1) > 0.1
    assert top_share(100.0) < 0.02


# --- §2.1 step 5 ticketization --------------------------------------------------------------
def test_ticketize_remainder_tie_goes_to_lower_index():
    assert ticketize([190, 130, 60, 20], 20, 20) == [10, 6, 3, 1]


def test_ticketize_minimum_one_and_removal():
    # floors (0,0,2) -> (1,1,2) = 4 > K = 3: remove one from the largest n >= 2
    assert ticketize([0.5, 0.5, 59.0], 20, 3) == [1, 1, 1]
    # floors (2,2,0,0) -> (2,2,1,1) = 6 > K = 5: tie between the two 2s -> lower index
    assert ticketize([45, 45, 5, 5], 20, 5) == [1, 2, 1, 1]
    # two removals: (3,3,1,1)=8 -> K=6: first from index 0, then index 1
    assert ticketize([70, 70, 5, 5], 20, 6) == [2, 2, 1, 1]


def test_ticketize_adds_by_largest_fraction():
    # q/S = 1.2, 1.7, 2.5, 1.6: floors 1,1,2,1 = 5; K = 7 -> +1 to .7 and .6
    assert ticketize([24, 34, 50, 32], 20, 7) == [1, 2, 2, 2]


# --- §2.6 worked example --------------------------------------------------------------------
def test_worked_example_balance_sheets():
    p = ModelParams(**WORKED)
    book, info = build_initial_state(p, amounts=AMOUNTS)
    S, N = 20, 4
    n, due = info.n, info.due
    assert n == (10, 6, 3, 1) and due == (4, 1, 8, 5)
    v = (4, 2, 1, 1)
    d = (2, 1, 1, 0)
    cash = (170, 110, 90, 70)
    for i in range(N):
        prev = (i - 1) % N
        assert book.cash[i] == pytest.approx(cash[i], abs=1e-9)
        assert book.cash[i] == pytest.approx(50 + S * (v[i] + d[i]), abs=1e-9)
        held = list(book.held[i].values())
        assert len(held) == n[prev]
        assert all(tk.issuer == prev and tk.due == due[prev] for tk in held)
        own = list(book.issued[i].values())
        assert len(own) == n[i] + v[i] + d[i]
        assert {tk.due for tk in own} == {due[i]} and {tk.dT for tk in own} == {due[i]}
        holders = Counter(book.kind[tk.holder] for tk in own)
        assert holders == Counter({0: n[i], 2: v[i], 1: d[i]} if d[i] else {0: n[i], 2: v[i]})
        ring = [tk for tk in own if tk.holder < N]
        assert all(tk.holder == (i + 1) % N for tk in ring)
    # holders: short (H2) V = 2, D = 1; mid (H1, H3, H4) V = 6, D = 3; long empty
    for b, V, D in ((0, 2, 1), (1, 6, 3), (2, 0, 0)):
        vt, dt = list(book.held[book.vbt(b)].values()), list(book.held[book.dealer(b)].values())
        assert len(vt) == V and len(dt) == D
        assert all(spec_bucket(tk.due) == b for tk in vt + dt)
        assert book.cash[book.vbt(b)] == pytest.approx(0.75 * S * V, abs=1e-9)
        assert book.cash[book.dealer(b)] == pytest.approx(0.75 * S * D, abs=1e-9)
        assert not book.issued[book.vbt(b)] and not book.issued[book.dealer(b)]
    assert (book.cash[book.vbt(0)], book.cash[book.dealer(0)]) == (pytest.approx(30), pytest.approx(15))
    assert (book.cash[book.vbt(1)], book.cash[book.dealer(1)]) == (pytest.approx(90), pytest.approx(45))
    # every initial ticket is its own lineage, cycle 1; K + sum(V + D) of them
    assert len(book.tickets) == 20 + 3 + 9 == info.n_lineages
    assert all(tk.lineage == tk.id and tk.cycle == 1 for tk in book.tickets.values())
    # kappa_eff = trader cash / (S * trader-issued tickets) = 440 / (20 * 32)
    assert info.kappa_eff == pytest.approx(440 / 640, abs=1e-12)


def test_worked_example_dealer_mid_ladder():
    """§3.2 property: a dealer starting with D_b tickets and rho*S*D_b cash has K* = 2 D_b, p = M."""
    p = ModelParams(**WORKED)
    run = Run(p, "active", amounts=AMOUNTS)
    run.s1_age(0)
    run.s4_kernels(0)
    for b, D in ((0, 1), (1, 3)):
        q = run.market.quotes[b]
        assert run.market.a[b] == D and q.K == 2 * D and q.p == pytest.approx(0.75, abs=1e-12)


# --- §2.3–2.5 options and I15 ---------------------------------------------------------------
PARAM_SETS = [
    dict(),
    dict(n_traders=37, Q_total=20 * 300, concentration=0.2, mu=0.25, seed=5),
    dict(n_traders=150, Q_total=20 * 150, concentration=10, mu=1.0, seed=9),     # K = N: one ticket each
    dict(n_traders=20, Q_total=20 * 80, mu=0.0, monotonicity=0.5, outside_mid_ratio=0.5),
    dict(n_traders=50, Q_total=20 * 400, mu=0.75, share_basis="original", kappa=0.25),
    dict(n_traders=30, Q_total=20 * 90, maturity_days=15, mu=0.6, vbt_share=0.4, dealer_share=0.3),
    dict(n_traders=8, Q_total=20 * 8, vbt_share=0.0, dealer_share=0.0),
]


@pytest.mark.parametrize("kw", PARAM_SETS)
def test_I15_allocation(kw):
    p = ModelParams(**kw)
    book, info = build_initial_state(p)
    N, S = p.n_traders, p.face_value
    n, due = list(info.n), list(info.due)
    assert sum(n) == p.Q_total / S and min(n) >= 1
    assert due == due_days(N, p.maturity_days, p.mu)
    V, D, vi, di = spec_holder_allocation(n, due, p.vbt_share, p.dealer_share, p.share_basis)
    assert list(info.V) == V and list(info.D) == D
    assert list(info.vbt_tickets) == vi and list(info.dealer_tickets) == di
    for b in range(3):
        assert len(book.held[book.vbt(b)]) == V[b] and len(book.held[book.dealer(b)]) == D[b]
        assert book.cash[book.vbt(b)] == pytest.approx(p.outside_mid_ratio * S * V[b], abs=1e-9)
        assert book.cash[book.dealer(b)] == pytest.approx(p.outside_mid_ratio * S * D[b], abs=1e-9)
        assert all(spec_bucket(tk.due) == b for tk in book.held[book.vbt(b)].values())
        assert all(spec_bucket(tk.due) == b for tk in book.held[book.dealer(b)].values())
    for i in range(N):
        own = book.issued[i].values()
        assert {tk.due for tk in own} == {due[i]}                 # one due date per trader
        assert sum(1 for tk in own if tk.holder == (i + 1) % N) == n[i]
        assert sum(1 for tk in own if tk.holder == book.vbt(spec_bucket(due[i]))) == vi[i]
        assert sum(1 for tk in own if tk.holder == book.dealer(spec_bucket(due[i]))) == di[i]
        assert len(book.issued[i]) == n[i] + vi[i] + di[i]
    L0 = p.kappa * p.Q_total
    for i in range(N):
        assert book.cash[i] == pytest.approx(L0 / N + S * (vi[i] + di[i]), abs=1e-9)
    assert info.n_lineages == len(book.tickets) == sum(n) + sum(V) + sum(D)
    ids = sorted(book.tickets)
    assert ids == list(range(len(ids)))


def test_final_share_basis_gives_62_5_25_12_5():
    book, info = build_initial_state(ModelParams())
    total = len(book.tickets)
    assert sum(info.V) / total == pytest.approx(0.25, abs=0.01)
    assert sum(info.D) / total == pytest.approx(0.125, abs=0.01)
    assert info.n_ring_tickets / total == pytest.approx(0.625, abs=0.01)
    assert info.kappa_eff == pytest.approx((1.0 + 0.6) / 1.6, abs=0.01)


@pytest.mark.parametrize("kappa", [0.25, 1.0, 4.0])
def test_kappa_eff_is_trader_cash_over_trader_debt(kappa):
    book, info = build_initial_state(ModelParams(kappa=kappa))
    trader_tickets = sum(len(book.issued[i]) for i in range(100))
    assert info.kappa_eff == pytest.approx(sum(book.cash[:100]) / (20 * trader_tickets), rel=1e-12)
    assert info.kappa_eff == pytest.approx((kappa + 0.6) / 1.6, rel=0.02)


def test_liq_modes_single_at_and_vector_place_cash_as_given():
    p = ModelParams(n_traders=5, Q_total=200, kappa=0.5, liq_mode="single_at", liq_single_at=3)
    book, info = build_initial_state(p)
    assert info.base_cash == (0.0, 0.0, 100.0, 0.0, 0.0)
    p = ModelParams(n_traders=4, Q_total=200, kappa=1.0, liq_mode="vector", liq_vector=(1, 1, 2, 4))
    _, info = build_initial_state(p)
    assert list(info.base_cash) == pytest.approx([25, 25, 50, 100], abs=1e-9)
    assert sum(info.base_cash) == pytest.approx(200, abs=1e-9)


def test_match_cash_uniform_keeps_the_total_and_preserve_ratio_keeps_kappa():
    base = dict(n_traders=10, Q_total=20 * 40, kappa=0.5, mu=0.5)
    _, face = build_initial_state(ModelParams(**base))
    book_u, uni = build_initial_state(ModelParams(match_cash="uniform", **base))
    extra = 20 * (sum(uni.V) + sum(uni.D)) / 10
    assert list(uni.trader_cash) == pytest.approx([40 + extra] * 10, abs=1e-9)
    assert sum(uni.trader_cash) == pytest.approx(sum(face.trader_cash), abs=1e-9)   # same total
    _, pr = build_initial_state(ModelParams(match_cash="preserve_ratio", **base))
    assert pr.kappa_eff == pytest.approx(0.5, rel=1e-12)                            # keeps kappa


def test_share_basis_original_uses_raw_shares():
    p = ModelParams(n_traders=4, Q_total=400, mu=0.75, share_basis="original")
    _, info = build_initial_state(p, amounts=AMOUNTS)
    # short N_b = 6: V = round(1.5) = 2, D = round(0.75) = 1; mid N_b = 14: V = round(3.5) = 4, D = round(1.75) = 2
    assert info.V == (2, 4, 0) and info.D == (1, 2, 0)


# --- §6.2 fingerprint -----------------------------------------------------------------------
def test_fingerprint_is_equal_for_equal_states_and_changes_with_any_difference():
    p = ModelParams(n_traders=20, Q_total=2000, seed=3)
    b1, _ = build_initial_state(p)
    b2, _ = build_initial_state(p)
    assert b1.fingerprint() == b2.fingerprint()
    assert Run(p, "passive").fingerprint == Run(p, "active").fingerprint == b1.fingerprint()
    b3, _ = build_initial_state(ModelParams(n_traders=20, Q_total=2000, seed=4))
    assert b3.fingerprint() != b1.fingerprint()
    b2.cash[0] += 1e-6
    assert b2.fingerprint() != b1.fingerprint()
    b4, _ = build_initial_state(ModelParams(n_traders=20, Q_total=2000, seed=3, outside_mid_ratio=0.5))
    assert b4.fingerprint() != b1.fingerprint()                    # holder cash differs


def test_common_seed_across_rho_and_kappa():
    """§6.3 / A39: the same s gives the same ring whatever rho or kappa."""
    _, a = build_initial_state(ModelParams(seed=7, outside_mid_ratio=0.5, kappa=0.25))
    _, b = build_initial_state(ModelParams(seed=7, outside_mid_ratio=1.0, kappa=4))
    assert a.q == b.q and a.n == b.n and a.due == b.due
    assert math.isclose(sum(a.q), 10_000)
