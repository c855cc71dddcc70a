"""Property tests (hypothesis) for I1–I4 and I8–I13 (plus I5 and I15) over random parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bilancio_lite.book import Book
from bilancio_lite.dealer import kernel
from bilancio_lite.engine import Run
from bilancio_lite.metrics import comparison_row
from bilancio_lite.params import ModelParams
from bilancio_lite.ring import build_initial_state
from bilancio_lite.settlement import settle

from spec_oracle import Checker, spec_clearing, spec_holder_allocation, spec_sequential

SLOW = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FAST = dict(deadline=None, database=None)


@st.composite
def model_params(draw, max_n: int = 150):
    N = draw(st.one_of(st.integers(3, 25), st.integers(3, max_n)))
    S = draw(st.sampled_from([1.0, 5.0, 20.0]))
    k = draw(st.integers(N, 6 * N))                     # Q/S >= N tickets
    T = draw(st.sampled_from([2, 3, 5, 10, 12]))
    big = N > 60
    return ModelParams(
        n_traders=N, face_value=S, Q_total=S * k, maturity_days=T,
        kappa=draw(st.floats(0.1, 5.0)),
        concentration=draw(st.floats(0.1, 10.0)),
        mu=draw(st.floats(0.0, 1.0)),
        outside_mid_ratio=draw(st.floats(0.3, 1.0)),
        rollover=draw(st.booleans()),
        invest=draw(st.booleans()),
        clearing=draw(st.sampled_from(["simultaneous", "sequential"])),
        monotonicity=draw(st.sampled_from([0.0, 0.0, 0.5, -1.0])),
        t_end=draw(st.integers(2, 8) if big else st.integers(2, 3 * T + 2)),
        seed=draw(st.integers(0, 10_000)),
        rollover_lender=draw(st.sampled_from(["forced", "liquidity_aware"])),
        rollover_price=draw(st.sampled_from(["par", "risk_priced"])),
        anchor_loss_basis=draw(st.sampled_from(["outstanding", "maturing"])),
        gap_successors=draw(st.booleans()),
    )


def _csv(res) -> dict[str, str]:
    return {k: v.to_csv(index=False) for k, v in res.tables.items()}


@settings(max_examples=35, **SLOW)
@given(model_params())
def test_pair_invariants_hold_for_random_parameters(p):
    runs, checkers = {}, {}
    for regime in ("passive", "active"):
        run = Run(p, regime)
        checkers[regime] = Checker(run)          # I1–I4, I6–I10, I14 after every stage / execution
        runs[regime] = run.run()
        checkers[regime].stage_order_ok()
    ps, ac = runs["passive"], runs["active"]
    S = p.face_value
    # I11
    assert ps.fingerprint == ac.fingerprint
    assert ps.tables["trades"].empty and ps.rng_draws == 0
    assert ps.metrics["dealer_trade_count"] == 0
    cust = ac.tables["trades"].query("kind == 'customer'")
    if cust.empty:
        assert ac.default_day == ps.default_day
        assert ac.metrics["delta"] == ps.metrics["delta"]
    # I12
    row = comparison_row(p, ps, ac)
    for res in (ps, ac):
        m = res.metrics
        assert 0 <= m["delta"] <= 1 and 0 <= m["delta_matured"] <= 1 and 0 <= m["delta_initial"] <= m["delta"]
        rep = res.tables["repayment_events"]
        assert rep.loc[rep["outcome"] == "defaulted", "face_value"].sum() == pytest.approx(
            S * m["defaulted_lineages"], abs=1e-9)
        b, s = rep["buy_count"], rep["sell_count"]
        want = np.where((b == 0) & (s == 0), "no_trade", np.where(s == 0, "hold_to_maturity",
                        np.where(b == 0, "sell_before", "round_trip")))
        assert (rep["strategy"].to_numpy() == want).all()
        sysd = res.tables["system_state_timeseries"]
        assert (sysd["total_cash"] - sysd["total_cash"].iloc[0]).abs().max() <= 1e-6
    sign = {"improved": 1, "unchanged": 0, "worsened": -1}[row["effect_class"]]
    assert sign == np.sign(row["trading_effect"])
    assert row["identical_default_set"] == (ps.default_day == ac.default_day)
    # I13 (in-process; the cross-process check is in test_invariants)
    again = Run(p, "active").run()
    assert _csv(again) == _csv(ac) and again.fingerprint == ac.fingerprint


# --- I5: the kernel ---------------------------------------------------------------------------
@settings(max_examples=400, **FAST)
@given(a=st.integers(0, 300), C=st.floats(0, 5_000), M=st.floats(0.021, 2.0), O=st.floats(0.001, 1.5),
       S=st.sampled_from([1.0, 20.0]), clip=st.booleans())
def test_kernel_ladder_and_quotes_follow_the_spec_for_random_inputs(a, C, M, O, S, clip):
    q = kernel(a, C, M, O, S, clip_B=clip)
    assert not q.guard
    V = M * S * a + C
    assert q.K == math.floor(V / (M * S) + 1e-9 / M) or q.K == math.floor(V / (M * S))
    assert 0 <= a <= q.K                                 # C >= 0 implies a <= K*
    assert q.lam == pytest.approx(1 / (q.K + 1), rel=1e-12) and q.I == pytest.approx(q.lam * O, rel=1e-12)
    assert q.A == pytest.approx(M + O / 2, rel=1e-12)
    assert q.B == pytest.approx(max(0.0, M - O / 2) if clip else M - O / 2, abs=1e-12)
    assert q.B - 1e-12 <= q.bid and q.ask <= q.A + 1e-12
    assert q.bid <= q.ask + 1e-12                        # I5 ordering, clipped or not
    if clip:
        assert q.bid >= 0                                # A31: no negative prices
    K = q.K
    p = lambda x: M - O / (K + 2) * (x - K / 2)
    assert q.p == pytest.approx(p(a), abs=1e-9)
    if K >= 1:
        assert p(0) + q.I / 2 < q.A                      # ask_int(0) < A
        assert p(K - 1) - q.I / 2 > M - O / 2            # bid_int(K*-1) > B (unclipped)


@settings(max_examples=200, **FAST)
@given(D=st.integers(0, 200), rho=st.floats(0.05, 2.0), O=st.floats(0.0, 1.0), S=st.sampled_from([1.0, 20.0]))
def test_balanced_start_sits_mid_ladder(D, rho, O, S):
    """§3.2: D tickets and rho*S*D cash give K* = 2D and p = M."""
    q = kernel(D, rho * S * D, rho, O, S)
    assert q.K == 2 * D and q.p == pytest.approx(rho, abs=1e-12)


@settings(max_examples=200, **FAST)
@given(a=st.integers(0, 50), C=st.floats(0, 100), M=st.floats(0.0, 0.02), O=st.floats(0, 1))
def test_guard_sends_everything_outside(a, C, M, O):
    q = kernel(a, C, M, O, 1.0, M_min=0.02)
    assert q.guard and q.K == 0 and q.ask == q.A and q.bid == q.B


# --- I8: settlement on random books -------------------------------------------------------------
@st.composite
def due_books(draw):
    """Up to 12 traders (plus the six MMs) with 1–40 tickets all due on day 1 and assorted cash."""
    n = draw(st.integers(2, 12))
    S = draw(st.sampled_from([1.0, 10.0]))
    book = Book(n, S)
    k = draw(st.integers(1, 40))
    issuers = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k))
    offsets = draw(st.lists(st.integers(1, n + 5), min_size=k, max_size=k))
    for i, off in zip(issuers, offsets):
        book.issue(i, (i + off) % (n + 6), 1, 1)          # any holder but the issuer itself
    units = draw(st.lists(st.sampled_from([0.0, 0.0, 0.5, 1.0, 3.0, 1.7, 4.2]), min_size=n + 6, max_size=n + 6))
    for a, u in enumerate(units):
        book.cash[a] = u * S
    return book


def _snapshot(book):
    return list(book.cash), [(tk.issuer, tk.holder) for tk in sorted(book.tickets.values(), key=lambda x: x.id)]


@settings(max_examples=300, **FAST)
@given(due_books())
def test_clearing_is_the_greatest_fixed_point(book):
    S = book.S
    cash0, mat = _snapshot(book)
    D, inc = {}, {}
    for i, h in mat:
        D[i] = D.get(i, 0.0) + S
    for i, h in mat:
        if h in D:
            inc.setdefault(h, {}).setdefault(i, 0.0)
            inc[h][i] += S
    st_ = settle(book, 1, "simultaneous")
    ref = spec_clearing(D, cash0, inc)
    for i in D:
        assert 0 <= st_.R[i] <= 1
        assert st_.R[i] * D[i] == pytest.approx(ref[i], abs=1e-6 * S)
        if st_.R[i] < 1:
            assert book.cash[i] == 0.0 and book.defaulted[i]
    assert sum(book.cash) == pytest.approx(sum(cash0), abs=1e-6)
    assert min(book.cash) >= -1e-9 * S
    assert not book.tickets and not book.by_due.get(1)


@settings(max_examples=150, **FAST)
@given(due_books(), st.randoms(use_true_random=False))
def test_clearing_does_not_depend_on_agent_order(book, rnd):
    """Relabelling the traders permutes the solution (the order of processing does not matter)."""
    n, S = book.N, book.S
    cash0, mat = _snapshot(book)
    perm = list(range(n))
    rnd.shuffle(perm)
    mp = lambda a: perm[a] if a < n else a
    other = Book(n, S)
    for i, h in mat:
        other.issue(mp(i), mp(h), 1, 1)
    for a in range(n + 6):
        other.cash[mp(a)] = cash0[a]
    s1 = settle(book, 1, "simultaneous")
    s2 = settle(other, 1, "simultaneous")
    for i in s1.R:
        assert s2.R[mp(i)] == pytest.approx(s1.R[i], abs=1e-6)
    for a in range(n + 6):
        assert other.cash[mp(a)] == pytest.approx(book.cash[a], abs=1e-6 * S)


@settings(max_examples=200, **FAST)
@given(due_books())
def test_sequential_settlement_matches_the_spec(book):
    cash0, mat = _snapshot(book)
    want_cash, want_R = spec_sequential(mat, book.S, cash0)
    st_ = settle(book, 1, "sequential")
    for i, r in want_R.items():
        assert st_.R[i] == pytest.approx(r, abs=1e-12)
    assert book.cash == [pytest.approx(x, abs=1e-9) for x in want_cash]


# --- I15 over random rings ---------------------------------------------------------------------
@settings(max_examples=60, **FAST)
@given(model_params())
def test_I15_allocation_holds_for_random_parameters(p):
    book, info = build_initial_state(p)
    N, S = p.n_traders, p.face_value
    assert sum(info.n) == round(p.Q_total / S) and min(info.n) >= 1
    V, D, vi, di = spec_holder_allocation(list(info.n), list(info.due), p.vbt_share, p.dealer_share)
    assert list(info.V) == V and list(info.D) == D
    for b in range(3):
        assert len(book.held[book.dealer(b)]) == D[b] and len(book.held[book.vbt(b)]) == V[b]
        assert book.cash[book.vbt(b)] == pytest.approx(p.outside_mid_ratio * S * V[b], abs=1e-9)
        assert book.cash[book.dealer(b)] == pytest.approx(p.outside_mid_ratio * S * D[b], abs=1e-9)
    for i in range(N):
        assert len({tk.due for tk in book.issued[i].values()}) == 1
        assert len(book.issued[i]) == info.n[i] + vi[i] + di[i]
    assert sum(book.cash[:N]) == pytest.approx(p.kappa * p.Q_total + S * (sum(V) + sum(D)), rel=1e-9)
