"""The test vectors T1–T20 of docs/model.md §11, with the spec's numbers (T21–T25: test_spec_revision2.py).

Every expected number is copied from §11 (printed to 4–6 significant figures, hence abs=1e-4 or
abs=1e-3 where the spec prints fewer digits) or computed by hand from §3.2/§5.2 in the comments.
"""

from __future__ import annotations


import pytest

from bilancio_lite.book import Book
from bilancio_lite.dealer import Market, kernel
from bilancio_lite.engine import Run, TradeStream
from bilancio_lite.params import ModelParams
from bilancio_lite.settlement import rollover, settle
from bilancio_lite.traders import liquidity_gap

from factories.books import ScriptedRng, give, info_for, mini_market, mini_params, repay_frame, trades_frame
from spec_oracle import MID, LONG

A4 = dict(abs=1e-4)
A9 = dict(abs=1e-9)


# ------------------------------------------------------------------------------------------
# kernel vectors: S = 1, M = 1, O = 0.30, A = 1.15, B = 0.85
# ------------------------------------------------------------------------------------------
def dealer_book(a: int, C: float, *, M: float = 1.0, O: float = 0.30, S: float = 1.0, b: int = MID,
                vbt_tickets: int = 3, vbt_cash: float = 10.0, **kw):
    """A mid-bucket dealer with `a` home tickets and cash C on day 0; a VBT with tickets and cash;
    trader 0 holds 3 tickets to sell, trader 1 has 10 u to buy. All tickets are issued by H4."""
    book, m, p = mini_market(n_traders=4, S=S, M=M, O=O, **kw)
    due = {0: 2, 1: 5, 2: 12}[b]
    give(book, 3, book.dealer(b), due, a)
    give(book, 3, book.vbt(b), due, vbt_tickets)
    sell_tickets = give(book, 3, 0, due, 3)
    book.cash[book.dealer(b)] = C
    book.cash[book.vbt(b)] = vbt_cash
    book.cash[1] = 10.0
    m.M[b], m.O[b] = M, O
    m.recompute(0)
    return book, m, sell_tickets


def equity(book: Book, m: Market, b: int) -> float:
    return m.M[b] * book.S * m.a[b] + book.cash[book.dealer(b)]


def test_T1_balanced_start():
    q = kernel(2, 2.0, 1.0, 0.30, 1.0)
    assert not q.guard
    assert q.K == 4                                   # V = 4
    assert q.lam == pytest.approx(0.2, **A9)
    assert q.I == pytest.approx(0.06, **A9)
    assert (q.A, q.B) == (pytest.approx(1.15, **A9), pytest.approx(0.85, **A9))
    assert q.ask == pytest.approx(1.03, **A9) and q.bid == pytest.approx(0.97, **A9)
    for a in range(5):                                # p(a) = 1 - 0.05 (a - 2) along the K* = 4 ladder
        qa = kernel(a, 4.0 - a, 1.0, 0.30, 1.0)       # V = 4 for every a
        assert qa.K == 4
        assert qa.p == pytest.approx(1 - 0.05 * (a - 2), **A9)


def test_T2_round_trip_earns_the_spread():
    book, m, tix = dealer_book(2, 2.0)
    dealer = book.dealer(MID)
    assert equity(book, m, MID) == pytest.approx(4.0, **A9)
    f = m.customer_sell(tix[0], 0, 0)
    assert f.ok and f.route == "interior" and f.price == pytest.approx(0.97, **A9)
    assert m.a[MID] == 3 and book.cash[dealer] == pytest.approx(1.03, **A9)
    assert m.quotes[MID].K == 4                                   # V = 4.03
    assert equity(book, m, MID) == pytest.approx(4.03, **A9)
    assert (m.quotes[MID].ask, m.quotes[MID].bid) == (pytest.approx(0.98, **A9), pytest.approx(0.92, **A9))
    f = m.customer_buy(1, MID, 0, None, budget=10.0)
    assert f.ok and f.route == "interior" and f.price == pytest.approx(0.98, **A9)
    assert m.a[MID] == 2 and book.cash[dealer] == pytest.approx(2.01, **A9)
    assert (m.quotes[MID].ask, m.quotes[MID].bid) == (pytest.approx(1.03, **A9), pytest.approx(0.97, **A9))
    f = m.customer_sell(tix[1], 0, 0)
    assert f.ok and f.price == pytest.approx(0.97, **A9)
    assert m.a[MID] == 3 and book.cash[dealer] == pytest.approx(1.04, **A9)
    assert equity(book, m, MID) == pytest.approx(4.04, **A9)
    assert book.cash[0] == pytest.approx(1.94, **A9) and book.cash[1] == pytest.approx(10 - 0.98, **A9)


def test_T3_running_out_of_inventory():
    book, m, _ = dealer_book(2, 2.0)
    dealer, vbt = book.dealer(MID), book.vbt(MID)
    f = m.customer_buy(1, MID, 0, None, budget=10.0)
    assert f.ok and f.route == "interior" and f.price == pytest.approx(1.03, **A9)
    assert m.a[MID] == 1 and book.cash[dealer] == pytest.approx(3.03, **A9)
    assert (m.quotes[MID].ask, m.quotes[MID].bid) == (pytest.approx(1.08, **A9), pytest.approx(1.02, **A9))
    f = m.customer_buy(1, MID, 0, None, budget=10.0)
    assert f.ok and f.route == "interior" and f.price == pytest.approx(1.08, **A9)
    assert m.a[MID] == 0 and book.cash[dealer] == pytest.approx(4.11, **A9)
    vbt_cash, vbt_n = book.cash[vbt], len(book.held[vbt])
    f = m.customer_buy(1, MID, 0, None, budget=10.0)
    assert f.ok and f.route == "passthrough" and f.reason == "empty"
    assert f.price == pytest.approx(1.15, **A9)
    assert f.hit_inventory_limit is True
    assert m.a[MID] == 0 and book.cash[dealer] == pytest.approx(4.11, **A9)
    assert book.cash[vbt] == pytest.approx(vbt_cash + 1.15, **A9) and len(book.held[vbt]) == vbt_n - 1
    assert book.cash[1] == pytest.approx(10 - 1.03 - 1.08 - 1.15, **A9)


def test_T4_bid_side_passthrough_at_capacity():
    q = kernel(2, 0.10, 1.0, 0.30, 1.0)
    assert q.K == 2 and q.lam == pytest.approx(1 / 3, **A9) and q.I == pytest.approx(0.10, **A9)
    assert q.p == pytest.approx(0.925, **A9) and q.bid == pytest.approx(0.875, **A9)
    book, m, tix = dealer_book(2, 0.10)
    dealer, vbt = book.dealer(MID), book.vbt(MID)
    held0 = set(book.held[dealer])
    f = m.customer_sell(tix[0], 0, 0)
    assert f.ok and f.route == "passthrough" and f.reason == "capacity" and f.hit_inventory_limit
    assert f.price == pytest.approx(0.85, **A9)
    assert m.a[MID] == 2 and book.cash[dealer] == pytest.approx(0.10, **A9) and set(book.held[dealer]) == held0
    assert book.cash[vbt] == pytest.approx(10 - 0.85, **A9)
    assert book.cash[0] == pytest.approx(0.85, **A9)
    assert tix[0].holder == vbt


def test_T5_capacity_jump_up():
    q = kernel(2, 1.97, 1.0, 0.30, 1.0)
    assert q.K == 3 and q.lam == pytest.approx(0.25, **A9) and q.I == pytest.approx(0.075, **A9)
    for a in range(4):          # p = 1 - 0.06 (a - 1.5) on the K* = 3 ladder (V = 3.97)
        assert kernel(a, 3.97 - a, 1.0, 0.30, 1.0).p == pytest.approx(1 - 0.06 * (a - 1.5), **A9)
    assert q.bid == pytest.approx(0.9325, **A9)
    book, m, tix = dealer_book(2, 1.97)
    f = m.customer_sell(tix[0], 0, 0)
    assert f.ok and f.route == "interior" and f.price == pytest.approx(0.9325, **A9)
    assert m.a[MID] == 3 and book.cash[book.dealer(MID)] == pytest.approx(1.0375, **A9)
    assert equity(book, m, MID) == pytest.approx(4.0375, **A9)
    q = m.quotes[MID]
    assert q.K == 4 and q.lam == pytest.approx(0.2, **A9) and q.I == pytest.approx(0.06, **A9)
    assert (q.ask, q.bid) == (pytest.approx(0.98, **A9), pytest.approx(0.92, **A9))


def test_T6_capacity_jump_down():
    q = kernel(4, 0.02, 1.0, 0.30, 1.0)
    assert q.K == 4 and q.ask == pytest.approx(0.93, **A9)
    book, m, _ = dealer_book(4, 0.02)
    f = m.customer_buy(1, MID, 0, None, budget=10.0)
    assert f.ok and f.route == "interior" and f.price == pytest.approx(0.93, **A9)
    assert m.a[MID] == 3 and book.cash[book.dealer(MID)] == pytest.approx(0.95, **A9)
    assert equity(book, m, MID) == pytest.approx(3.95, **A9)
    q = m.quotes[MID]
    assert q.K == 3 and q.lam == pytest.approx(0.25, **A9) and q.I == pytest.approx(0.075, **A9)
    assert q.p == pytest.approx(0.91, **A9)
    assert (q.ask, q.bid) == (pytest.approx(0.9475, **A9), pytest.approx(0.8725, **A9))


@pytest.mark.parametrize("clip", [True, False])
def test_T7_edges_without_clipping(clip):
    assert kernel(4, 0.90, 1.0, 0.30, 1.0, clip_B=clip).K == 4
    q1 = kernel(1, 3.90, 1.0, 0.30, 1.0, clip_B=clip)      # same V = 4.9, so the same K* = 4 ladder
    q3 = kernel(3, 1.90, 1.0, 0.30, 1.0, clip_B=clip)
    assert q1.K == q3.K == 4
    assert q1.ask_int == pytest.approx(1.08, **A9) and q1.ask_int < q1.A
    assert q1.ask == q1.ask_int                               # no clipping needed
    assert q3.bid_int == pytest.approx(0.92, **A9) and q3.bid_int > q3.B
    assert q3.bid == q3.bid_int


def test_T8_guard():
    q = kernel(3, 2.0, 0.01, 0.01, 1.0, M_min=0.02)
    assert q.guard and q.K == 0
    assert q.A == pytest.approx(0.015, **A9) and q.B == pytest.approx(0.005, **A9)
    assert q.ask == pytest.approx(0.015, **A9) and q.bid == pytest.approx(0.005, **A9)
    book, m, tix = dealer_book(3, 2.0, M=0.01, O=0.01)
    dealer, vbt = book.dealer(MID), book.vbt(MID)
    held0 = set(book.held[dealer])
    f = m.customer_sell(tix[0], 0, 0)
    assert f.ok and f.route == "passthrough" and f.reason == "guard" and not f.hit_inventory_limit
    assert f.price == pytest.approx(0.005, **A9) and f.counterparty == vbt
    g = m.customer_buy(1, MID, 0, None, budget=10.0)
    assert g.ok and g.route == "passthrough" and g.reason == "guard" and not g.hit_inventory_limit
    assert g.price == pytest.approx(0.015, **A9) and g.counterparty == vbt
    assert m.a[MID] == 3 and book.cash[dealer] == 2.0 and set(book.held[dealer]) == held0
    assert book.cash[vbt] == pytest.approx(10 - 0.005 + 0.015, **A9)


def test_T9_anchor_update_and_requote():
    book, m, p = mini_market(n_traders=4, S=1.0, M=1.0, O=0.30)
    assert (p.phi_M, p.phi_O) == (1.0, 0.6)                    # §1 defaults
    m.update_anchors([2 / 3] * 3)
    for b in range(3):
        assert m.M[b] == pytest.approx(1 / 3, **A9) and m.O[b] == pytest.approx(0.70, **A9)
        A, B = m.outside(b)
        assert A == pytest.approx(0.68333, **A4) and B == 0.0
    for clip in (True, False):
        q = kernel(0, 2.0, m.M[MID], m.O[MID], 1.0, clip_B=clip)
        assert q.K == 6 and q.lam == pytest.approx(1 / 7, **A9) and q.I == pytest.approx(0.10, **A9)
        assert q.p == pytest.approx(0.59583, **A4)
        assert q.ask == pytest.approx(0.64583, **A4) and q.bid == pytest.approx(0.54583, **A4)
        assert q.B == (0.0 if clip else pytest.approx(-0.01667, **A4))
        for a in range(7):      # p = 1/3 - 0.0875 (a - 3) along the same ladder (V = 2)
            qa = kernel(a, 2.0 - a / 3, m.M[MID], m.O[MID], 1.0, clip_B=clip)
            assert qa.K == 6 and qa.p == pytest.approx(1 / 3 - 0.0875 * (a - 3), **A9)


@pytest.mark.parametrize("clip,price", [(True, 0.0), (False, -0.01667)])
def test_T9_forced_passthrough_executes_at_B(clip, price):
    book, m, tix = dealer_book(0, 0.0, M=1.0, O=0.30, clip_B=clip)
    m.update_anchors([2 / 3] * 3)
    m.recompute(0)
    vbt = book.vbt(MID)
    f = m.customer_sell(tix[0], 0, 0)
    assert f.ok and f.route == "passthrough" and f.counterparty == vbt
    assert f.price == pytest.approx(price, **A4)
    assert book.cash[0] == pytest.approx(price, **A4)


def test_T9_losses_of_two_thirds_through_the_engine():
    """The same update driven by S7 -> S9: 3 tickets mature, 2 of them from a trader with no cash."""
    p = mini_params(n_traders=3, S=1.0, M=1.0, O=0.30)
    book = Book(3, 1.0)
    give(book, 0, 1, 1, 2)          # H1 owes 2, cash 0: R = 0
    give(book, 2, 1, 1, 1)          # H3 owes 1 (also to H2), cash 1: R = 1
    book.cash[2] = 1.0
    run = Run(p, "passive", book=book, info=info_for(book))
    run.day(0)
    assert run.market.M == [1.0, 1.0, 1.0]                     # no losses on day 0
    run.day(1)
    for b in range(3):              # ell = (1 + 1 + 0)/3
        assert run.market.M[b] == pytest.approx(1 / 3, **A9)
        assert run.market.O[b] == pytest.approx(0.70, **A9)


def test_T10_migration_between_buckets():
    book, m, _ = mini_market(n_traders=3, S=1.0, M=1.0, O=0.30)
    m.O = [0.20, 0.20, 0.30]        # mid O = 0.20, long O = 0.30
    dl, dm = book.dealer(LONG), book.dealer(MID)
    give(book, 1, dl, 20)           # long dealer: a = 1 (tau 20, still long tomorrow)
    give(book, 1, dm, 6)            # mid dealer: a = 1 (tau 6, then 5)
    (tk,) = give(book, 1, 0, 9)     # the customer's ticket: tau 9 (long) today, 8 (mid) tomorrow
    book.cash[dl] = book.cash[dm] = 1.0
    m.recompute(0)
    q = m.quotes[LONG]
    assert q.K == 2 and q.I == pytest.approx(0.10, **A9) and q.bid == pytest.approx(0.95, **A9)
    f = m.customer_sell(tk, 0, 0)
    assert f.ok and f.route == "interior" and f.price == pytest.approx(0.95, **A9)
    assert m.a[LONG] == 2 and book.cash[dl] == pytest.approx(0.05, **A9)
    e_long, e_mid = equity(book, m, LONG), equity(book, m, MID)
    assert (e_long, e_mid) == (pytest.approx(2.05, **A9), pytest.approx(2.00, **A9))
    done = m.rehome(1)               # next day: tau 8 -> mid, sold at M_mid = 1.00
    assert [(d[0].id, d[1], d[2]) for d in done] == [(tk.id, dl, dm)]
    assert done[0][3] == pytest.approx(1.0, **A9)
    m.recompute(1)
    assert m.a[LONG] == 1 and book.cash[dl] == pytest.approx(1.05, **A9)
    ql = m.quotes[LONG]
    assert (ql.ask, ql.bid) == (pytest.approx(1.05, **A9), pytest.approx(0.95, **A9))
    assert m.a[MID] == 2 and book.cash[dm] == pytest.approx(0.0, **A9)
    qm = m.quotes[MID]
    assert qm.K == 2 and qm.p == pytest.approx(0.95, **A9)
    assert (qm.ask, qm.bid) == (pytest.approx(0.98333, **A4), pytest.approx(0.91667, **A4))
    assert equity(book, m, LONG) == pytest.approx(2.05, **A9)
    assert equity(book, m, MID) == pytest.approx(2.00, **A9)


# ------------------------------------------------------------------------------------------
# settlement vectors
# ------------------------------------------------------------------------------------------
def _recovery_book(dealer_n: int, vbt_n: int, trader_n: int, cash: float):
    book = Book(3, 1.0)
    give(book, 0, book.dealer(0), 1, dealer_n)
    give(book, 0, book.vbt(0), 1, vbt_n)
    give(book, 0, 1, 1, trader_n)
    book.cash[0] = cash
    return book


@pytest.mark.parametrize("clearing", ["simultaneous", "sequential"])
@pytest.mark.parametrize("holdings,cash,R,payouts,ell", [
    ((3, 2, 3), 3.0, 0.375, (1.125, 0.75, 1.125), 0.625),      # T11
    ((2, 2, 1), 3.0, 0.6, (1.2, 1.2, 0.6), 0.4),              # T12
])
def test_T11_T12_proportional_recovery(clearing, holdings, cash, R, payouts, ell):
    book = _recovery_book(*holdings, cash)
    st = settle(book, 1, clearing)
    assert st.R[0] == pytest.approx(R, **A9)
    got = (book.cash[book.dealer(0)], book.cash[book.vbt(0)], book.cash[1])
    assert got == tuple(pytest.approx(x, **A9) for x in payouts)
    assert book.cash[0] == pytest.approx(0.0, abs=1e-12)
    assert book.defaulted[0] and book.default_day[0] == 1
    assert not book.tickets
    assert sum(1 - st.R[tk.issuer] for tk in st.matured) / len(st.matured) == pytest.approx(ell, **A9)


@pytest.mark.parametrize("holdings,cash,ell", [((3, 2, 3), 3.0, 0.625), ((2, 2, 1), 3.0, 0.4)])
def test_T11_T12_loss_rate_reaches_the_anchors(holdings, cash, ell):
    """ell computed by the engine at S9 from these settlements (M = 1, phi_M = 1, phi_O = 0.6)."""
    book = _recovery_book(*holdings, cash)
    run = Run(mini_params(n_traders=3, S=1.0, M=1.0, O=0.30), "passive", book=book, info=info_for(book))
    run.day(0)
    run.day(1)
    assert run.market.M == [pytest.approx(1 - ell, **A9)] * 3
    assert run.market.O == [pytest.approx(0.30 + 0.6 * ell, **A9)] * 3


def _t13_book():
    book = Book(3, 10.0)
    give(book, 0, 1, 1, 7)          # A owes B 70
    give(book, 1, 2, 1, 5)          # B owes C 50
    give(book, 2, 0, 1, 3)          # C owes A 30
    book.cash[0] = 10.0
    return book


def test_T13_simultaneous_clearing():
    book = _t13_book()
    st = settle(book, 1, "simultaneous")
    assert [st.paid[i] for i in range(3)] == [pytest.approx(x, **A9) for x in (40, 40, 30)]
    assert [st.R[i] for i in range(3)] == [pytest.approx(x, **A9) for x in (4 / 7, 4 / 5, 1)]
    assert st.R[2] == 1.0
    assert book.cash[:3] == [pytest.approx(x, **A9) for x in (0, 0, 10)]
    assert sum(book.cash) == pytest.approx(10, **A9)
    assert book.defaulted[:3] == [True, True, False]


def test_T13_sequential_settlement():
    book = _t13_book()
    st = settle(book, 1, "sequential")
    assert [st.R[i] for i in range(3)] == [pytest.approx(x, **A9) for x in (1 / 7, 1 / 5, 1 / 3)]
    assert book.cash[:3] == [pytest.approx(x, **A9) for x in (10, 0, 0)]
    assert sum(book.cash) == pytest.approx(10, **A9)
    assert book.defaulted[:3] == [True, True, True]


# ------------------------------------------------------------------------------------------
# Plan-024-scale vectors (S = 20)
# ------------------------------------------------------------------------------------------
def test_T14_balanced_mid_dealer():
    q = kernel(40, 600.0, 0.75, 0.30, 20.0)
    assert 0.75 * 20 * 40 + 600 == 1200                          # V
    assert q.K == 80 and q.lam == pytest.approx(1 / 81, **A9) and q.I == pytest.approx(0.0037037, abs=1e-7)
    assert q.p == pytest.approx(0.75, **A9)
    assert q.bid == pytest.approx(0.748148, abs=1e-6) and 20 * q.bid == pytest.approx(14.96296, abs=1e-5)
    assert q.ask == pytest.approx(0.751852, abs=1e-6) and 20 * q.ask == pytest.approx(15.03704, abs=1e-5)
    book, m, tix = dealer_book(40, 600.0, M=0.75, O=0.30, S=20.0, vbt_cash=1000.0)
    f = m.customer_sell(tix[0], 0, 0)
    assert f.ok and f.route == "interior" and f.price * 20 == pytest.approx(14.96296, abs=1e-5)
    assert m.a[MID] == 41 and book.cash[book.dealer(MID)] == pytest.approx(585.037, abs=1e-3)
    q = m.quotes[MID]
    assert q.K == 80 and q.p == pytest.approx(0.746341, abs=1e-6)
    assert q.bid == pytest.approx(0.744490, abs=1e-6) and 20 * q.bid == pytest.approx(14.88980, abs=1e-5)


def test_T15_empty_thin_dealer():
    q = kernel(0, 10.0, 0.75, 0.30, 20.0)
    assert q.K == 0
    assert (q.ask, q.bid) == (pytest.approx(0.90, **A9), pytest.approx(0.60, **A9))
    assert (q.A, q.B) == (pytest.approx(0.90, **A9), pytest.approx(0.60, **A9))
    book, m, tix = dealer_book(0, 10.0, M=0.75, O=0.30, S=20.0, vbt_cash=100.0)
    book.cash[1] = 100.0
    dealer = book.dealer(MID)
    f = m.customer_sell(tix[0], 0, 0)
    assert f.ok and f.route == "passthrough" and f.reason == "capacity" and f.price == pytest.approx(0.60, **A9)
    g = m.customer_buy(1, MID, 0, None, budget=100.0)
    assert g.ok and g.route == "passthrough" and g.reason == "empty" and g.price == pytest.approx(0.90, **A9)
    assert f.hit_inventory_limit and g.hit_inventory_limit
    assert m.a[MID] == 0 and book.cash[dealer] == 10.0 and not book.held[dealer]


# ------------------------------------------------------------------------------------------
# T16–T18: the §2.6 worked example
# ------------------------------------------------------------------------------------------
T16_AMOUNTS = [190, 130, 60, 20]


def t16_params(**kw) -> ModelParams:
    base = dict(n_traders=4, Q_total=400, face_value=20, maturity_days=10, mu=0.75, kappa=0.5,
                outside_mid_ratio=0.75)
    base.update(kw)
    return ModelParams(**base)


def test_T16_ring_construction():
    from bilancio_lite.ring import build_initial_state
    book, info = build_initial_state(t16_params(), amounts=T16_AMOUNTS)
    assert info.n == (10, 6, 3, 1)
    assert info.due == (4, 1, 8, 5)
    assert info.V == (2, 6, 0) and info.D == (1, 3, 0)
    assert info.vbt_tickets == (4, 2, 1, 1) and info.dealer_tickets == (2, 1, 1, 0)
    assert info.base_cash == (50.0, 50.0, 50.0, 50.0)
    assert book.cash[:4] == [170.0, 110.0, 90.0, 70.0]
    assert book.cash[book.vbt(0)] == pytest.approx(30, **A9) and book.cash[book.dealer(0)] == pytest.approx(15, **A9)
    assert book.cash[book.vbt(1)] == pytest.approx(90, **A9) and book.cash[book.dealer(1)] == pytest.approx(45, **A9)
    assert book.cash[book.vbt(2)] == 0 and book.cash[book.dealer(2)] == 0
    assert info.n_lineages == 20 + 2 + 1 + 6 + 3 == len(book.tickets)


def _t16_run(regime="active", **kw) -> Run:
    run = Run(t16_params(**kw), regime, amounts=T16_AMOUNTS)
    run.s1_age(0)
    run.s2_rehome(0)
    run.sys0 = run.s3_snapshot(0)
    run.s4_kernels(0)
    return run


def _finish_day(run: Run, t: int) -> None:
    run.s6_snapshot(t)
    st = run.s7_settle(t)
    ro = run.s8_rollover(t, st)
    run.s9_anchors(st)
    run.s10_bookkeeping(t, st, ro, run.sys0)


def test_T17_one_sellers_day():
    run = _t16_run()
    book, m = run.book, run.market
    H2, dm, vm = 1, book.dealer(MID), book.vbt(MID)
    assert len(book.issued[H2]) == 9 and {tk.due for tk in book.issued[H2].values()} == {1}
    assert book.cash[H2] == 110
    held = list(book.held[H2].values())
    assert len(held) == 10 and {(tk.issuer, tk.due) for tk in held} == {(0, 4)}
    assert liquidity_gap(book, H2, 0, 10, True) == pytest.approx(70, **A9)
    q = m.quotes[MID]
    assert m.a[MID] == 3 and book.cash[dm] == pytest.approx(45, **A9)
    assert q.K == 6 and q.lam == pytest.approx(1 / 7, **A9) and q.I == pytest.approx(0.042857, abs=1e-6)
    rng = ScriptedRng(ranges=[0] * 20)
    run.rng = rng
    run.s5_trading(0, sellers=[H2], buyers=[])
    tr = trades_frame(run)
    assert list(tr["cash_amount"]) == [pytest.approx(x, **A4) for x in (14.5714, 13.8214, 13.0714, 12, 12, 12)]
    assert list(tr["route"]) == ["interior"] * 3 + ["passthrough"] * 3
    assert list(tr["pass_reason"]) == [""] * 3 + ["capacity"] * 3
    assert list(tr["hit_inventory_limit"]) == [False] * 3 + [True] * 3
    assert set(tr["seller_id"]) == {"H2"} and set(tr["bucket"]) == {"mid"}
    assert list(tr["buyer_id"]) == ["DLR_mid"] * 3 + ["VBT_mid"] * 3
    assert rng.calls == [("randrange", 1)] * 6           # one queue only: no side draws
    assert m.a[MID] == 6 and book.cash[dm] == pytest.approx(3.5357, **A4)
    assert book.cash[vm] == pytest.approx(54, **A9)
    assert book.cash[H2] == pytest.approx(187.464, abs=1e-3)
    assert book.cash[H2] - 180 == pytest.approx(7.4643, **A4)     # need(1) = -7.4643
    assert liquidity_gap(book, H2, 0, 10, True) == 0
    assert tr["trader_gap_before"].iloc[0] == pytest.approx(70, **A9) and tr["trader_gap_after"].iloc[-1] == 0
    _finish_day(run, 0)
    run.rng = TradeStream("T17")
    run.day(1)
    assert not book.defaulted[H2]
    rep = repay_frame(run)
    row = rep[rep["trader_id"] == "H2"]
    assert list(row["maturity_day"]) == [1] and list(row["outcome"]) == ["repaid"]
    assert list(row["sell_count"]) == [6] and list(row["strategy"]) == ["sell_before"]


def test_T18_gap_with_and_without_rollover():
    """T18 is a revision-1 vector: the gap counts only outstanding tickets (`gap_successors=False`).
    Under revision 2 the same state has gap 0 (see test_T18_state_under_revision2)."""
    run = _t16_run(gap_successors=False)
    book = run.book
    H3 = 2
    assert book.cash[H3] == 90 and len(book.issued[H3]) == 5
    assert {tk.due for tk in book.issued[H3].values()} == {8}
    held = list(book.held[H3].values())
    assert len(held) == 6 and {(tk.issuer, tk.due) for tk in held} == {(1, 1)}
    assert liquidity_gap(book, H3, 0, 10, True) == pytest.approx(10, **A9)
    assert liquidity_gap(book, H3, 0, 10, False) == 0
    run.rng = ScriptedRng(ranges=[0] * 10)
    run.s5_trading(0, sellers=[H3], buyers=[])
    tr = trades_frame(run)
    assert len(tr) == 1 and tr["issuer_id"].iloc[0] == "H2" and tr["ticket_due_day"].iloc[0] == 1
    assert tr["trader_gap_after"].iloc[0] == 0
    assert liquidity_gap(book, H3, 0, 10, True) == 0


def test_T18_state_under_revision2():
    """R2.1: H2's claims (dT = 1) roll daily, so a successor pays H3 120 on its own due day 8:
    need(8) = 100 - 120 - 90 < 0, gap 0, and H3 is not a seller (the T21 situation)."""
    from bilancio_lite.traders import Projection
    run = _t16_run()
    assert liquidity_gap(run.book, 2, 0, 10, Projection(rolling=True, successors=True)) == 0
    assert liquidity_gap(run.book, 2, 0, 10, run.proj) == 0
    run.rng = TradeStream("T18")
    run.s5_trading(0)
    assert "H3" not in set(trades_frame(run)["trader_id"])


def test_T18_rollover_off_path():
    """rollover off: P(1) = 90 + 120 = 210 covers the 100 due on day 8 (without counting the day-1
    receipt the gap would be 10), and the trader does not sell."""
    run = _t16_run(rollover=False)
    assert liquidity_gap(run.book, 2, 0, 10, False) == 0
    run.rng = TradeStream("T18")
    run.s5_trading(0)                           # automatic queues: H3 is not a seller
    tr = trades_frame(run)
    assert "H3" not in set(tr["trader_id"])


# ------------------------------------------------------------------------------------------
# T19: rollover cash neutrality
# ------------------------------------------------------------------------------------------
def _t19_book(S=20.0):
    book = Book(3, S)
    for i in range(3):
        give(book, i, (i + 1) % 3, 2, 1, dT=2)
        book.cash[i] = 20.0
    return book


def test_T19_rollover_cash_neutrality():
    book = _t19_book()
    old = {tk.lineage: tk for tk in book.tickets.values()}
    st = settle(book, 2)
    assert all(st.R[i] == 1.0 for i in range(3))
    assert book.cash[:3] == [20.0, 20.0, 20.0]
    ro = rollover(book, st, 2)
    assert len(ro.rolled) == 3 and not ro.lapsed
    assert book.cash[:3] == [pytest.approx(20.0, abs=1e-12)] * 3
    new = sorted(book.tickets.values(), key=lambda tk: tk.id)
    assert len(new) == 3
    for tk in new:
        o = old[tk.lineage]
        assert (tk.issuer, tk.holder, tk.dT, tk.due, tk.cycle) == (o.issuer, o.holder, 2, 4, 2)
        assert tk.id > max(old)


def test_T19_through_the_engine():
    book = _t19_book()
    run = Run(mini_params(n_traders=3, S=20.0), "passive", book=book, info=info_for(book))
    for t in range(5):
        run.day(t)
        assert book.cash[:3] == [pytest.approx(20.0, abs=1e-9)] * 3
        if t in (2, 3):
            assert {(tk.due, tk.cycle) for tk in book.tickets.values()} == {(4, 2)}
    assert {(tk.due, tk.cycle) for tk in book.tickets.values()} == {(6, 3)}
    assert not any(book.defaulted)


# ------------------------------------------------------------------------------------------
# T20: order-flow harness
# ------------------------------------------------------------------------------------------
def test_T20_order_flow_harness():
    S1, RICH, POOR, ISS = 0, 1, 2, 3
    p = mini_params(n_traders=4, S=1.0, M=1.0, O=0.30, invest=True, pi_sell=0.5, N_max=3)
    book = Book(4, 1.0)
    dealer = book.dealer(MID)
    give(book, ISS, dealer, 5, 2)                  # dealer as in T1: a = 2, C = 2
    book.cash[dealer] = 2.0
    give(book, ISS, S1, 5, 1)                      # S1's one ticket (mid, tau 5)
    give(book, S1, ISS, 2, 1)                      # S1 owes 1 on day 2 with no cash: gap 1
    book.cash[RICH], book.cash[POOR] = 2.00, 0.90
    run = Run(p, "active", book=book, info=info_for(book))
    run.s1_age(0)
    run.s4_kernels(0)
    q = run.market.quotes[MID]
    assert (q.ask, q.bid) == (pytest.approx(1.03, **A9), pytest.approx(0.97, **A9))
    rng = ScriptedRng(randoms=[0.25], ranges=[0, 1, 0])   # SELL (0.25 < 0.5); then the poor, then the rich
    run.rng = rng
    n = run.s5_trading(0, sellers=[S1], buyers=[RICH, POOR])
    assert n == 3
    assert rng.calls == [("random",), ("randrange", 1), ("randrange", 2), ("randrange", 1)]
    tr = trades_frame(run)
    assert list(tr["side"]) == ["SELL", "BUY"]
    assert list(tr["trader_id"]) == ["H1", "H2"]
    assert list(tr["unit_price"]) == [pytest.approx(0.97, **A9), pytest.approx(0.98, **A9)]
    assert list(tr["route"]) == ["interior", "interior"]
    assert tr["dealer_inventory_after"].iloc[0] == 3 and tr["dealer_cash_after"].iloc[0] == pytest.approx(1.03, **A9)
    assert (tr["dealer_ask_before"].iloc[1], tr["dealer_bid_before"].iloc[1]) == (
        pytest.approx(0.98, **A9), pytest.approx(0.92, **A9))
    assert run.counters.failed == 1                    # the poor buyer's attempt
    assert book.cash[POOR] == 0.90 and not book.held[POOR]
    assert book.cash[RICH] == pytest.approx(2.00 - 0.98, **A9) and len(book.held[RICH]) == 1
    assert run.market.a[MID] == 2 and book.cash[dealer] == pytest.approx(2.01, **A9)
