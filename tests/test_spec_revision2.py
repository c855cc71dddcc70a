"""Revision 2 of the model (docs/model.md, R2.1–R2.7): test vectors T21–T25 with the spec's numbers,
and the invariants I16–I19, also as hypothesis properties over random parameters.

Expected numbers are copied from §11 or worked out by hand in the comments; the Checker of
spec_oracle.py replays every rollover (funding test, the lender's check, prices) independently.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bilancio_lite import ModelParams, simulate_pair
from bilancio_lite.book import Book
from bilancio_lite.engine import Run, TradeStream
from bilancio_lite.schema import REPAY, TRADE
from bilancio_lite.settlement import rollover, rollover_hazard, rollover_price, settle
from bilancio_lite.traders import Projection, liquidity_gap

from factories.books import ScriptedRng, give, info_for, mini_params, trades_frame
from spec_oracle import MID, Checker, spec_gap

A9 = dict(abs=1e-9)
SLOW = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
REV1 = Projection(rolling=True, successors=False)
REV2 = Projection(rolling=True, successors=True)


def _run_days(run: Run, days: int) -> None:
    for t in range(days):
        run.day(t)


# ------------------------------------------------------------------------------------------
# T21: successor on the own due date (R2.1)
# ------------------------------------------------------------------------------------------
def _t21(**kw) -> Run:
    """X = H1 (cash 65) owes Z = H3 4 tickets due day 3 (dT 3) and holds 1 ticket on Y = H2 due
    day 1 (dT 1). Y has cash to pay forever. The short VBT can buy (B = 0.9), so X could sell."""
    X, Y, Z = 0, 1, 2
    book = Book(3, 20.0)
    give(book, X, Z, 3, 4, dT=3)
    give(book, Y, X, 1, 1, dT=1)
    book.cash[X], book.cash[Y] = 65.0, 1000.0
    book.cash[book.vbt(0)] = 1000.0
    p = mini_params(n_traders=3, S=20.0, M=1.0, O=0.2, t_end=6, **kw)
    run = Run(p, "active", book=book, info=info_for(book))
    run.rng = TradeStream("T21")
    return run


def test_T21_gap_counts_the_successor_on_the_own_due_date():
    run = _t21()
    book = run.book
    assert liquidity_gap(book, 0, 0, 10, REV1) == pytest.approx(15, **A9)   # 80 - 0 - 65
    assert liquidity_gap(book, 0, 0, 10, REV2) == 0                         # need(3) = 80 - 20 - 65 = -5
    # X's own successors (days 6, 9) also meet a receipt of 20 (independent day-by-day oracle)
    assert spec_gap(book, 0, 0, 10, True, successors=True) == 0
    assert spec_gap(book, 0, 0, 10, True, successors=False) == pytest.approx(15, **A9)


def test_T21_revision2_never_sells_the_claim_and_repays_with_5_left():
    run = _t21()
    book = run.book
    for t in range(3):
        run.day(t)
    assert not run.rows.trades or all(r[TRADE.kind] == "transfer" for r in run.rows.trades)   # no customer trade
    run.s1_age(3)
    run.s2_rehome(3)
    run.sys0 = run.s3_snapshot(3)
    run.s4_kernels(3)
    run.s5_trading(3)
    run.s6_snapshot(3)
    st = run.s7_settle(3)
    assert st.R[0] == 1.0 and book.cash[0] == pytest.approx(65 + 20 - 80, **A9)   # 5 before rollover
    assert not book.defaulted[0]


def test_T21_revision1_sells_the_claim():
    run = _t21(gap_successors=False)
    run.day(0)
    tr = trades_frame(run)
    cust = tr[tr["kind"] == "customer"]
    assert list(cust["trader_id"]) == ["H1"] and list(cust["issuer_id"]) == ["H2"]
    assert cust["trader_gap_before"].iloc[0] == pytest.approx(15, **A9)


# ------------------------------------------------------------------------------------------
# T22: loss rate on outstanding face (R2.3)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("basis, ell, M, O", [("outstanding", 0.2, 0.8, 0.42),
                                              ("maturing", 2 / 3, 1 / 3, 0.70)])
def test_T22_loss_rate_basis(basis, ell, M, O):
    """10 tickets outstanding at S3 of day 1; 3 mature, all issued by H1 with R = 1/3."""
    book = Book(4, 1.0)
    give(book, 0, 1, 1, 3, dT=1)
    give(book, 2, 3, 9, 7, dT=9)
    book.cash[0], book.cash[2] = 1.0, 10.0
    p = mini_params(n_traders=4, S=1.0, M=1.0, O=0.30, anchor_loss_basis=basis, t_end=2)
    run = Run(p, "passive", book=book, info=info_for(book))
    _run_days(run, 2)
    row = run.rows.sys[1]
    names = [c.name for c in __import__("bilancio_lite.schema", fromlist=["SYSTEM_STATE"]).SYSTEM_STATE]
    r = dict(zip(names, row))
    assert r["total_face_outstanding"] == 10 and r["settled_face"] - r["recovered_cash"] == pytest.approx(2, **A9)
    assert r["loss_rate_anchor"] == pytest.approx(ell, **A9)
    assert run.market.M == [pytest.approx(M, **A9)] * 3
    assert run.market.O == [pytest.approx(O, **A9)] * 3


# ------------------------------------------------------------------------------------------
# T23: lender's choice on a three-trader ring (R2.2)
# ------------------------------------------------------------------------------------------
def _t23(lender: str, regime: str = "passive") -> Run:
    A, B, C = 0, 1, 2
    book = Book(3, 10.0)
    give(book, A, B, 2, 1, dT=2)
    give(book, B, C, 3, 1, dT=3)
    give(book, C, A, 4, 1, dT=4)
    book.cash[A], book.cash[B], book.cash[C] = 10.0, 0.0, 10.0
    p = mini_params(n_traders=3, S=10.0, t_end=4, rollover_lender=lender)
    return Run(p, regime, book=book, info=info_for(book))


@pytest.mark.parametrize("regime", ["passive", "active"])
def test_T23_forced_lender_rolls_over_and_H2_defaults(regime):
    run = _t23("forced", regime)
    res = run.run()
    assert run.book.cash[:3] == [pytest.approx(x, **A9) for x in (0, 10, 10)]
    assert res.default_day == {"H2": 3}
    assert res.metrics["delta"] == 1 / 3 and res.metrics["declined_rollovers"] == 0
    assert {(tk.issuer, tk.holder, tk.due) for tk in run.book.tickets.values()} == {(2, 0, 8)}


@pytest.mark.parametrize("regime", ["passive", "active"])
def test_T23_liquidity_aware_lender_declines_and_nobody_defaults(regime):
    run = _t23("liquidity_aware", regime)
    chk = Checker(run)                       # replays each decision with the spec's lender test
    res = run.run()
    chk.stage_order_ok()
    assert run.book.cash[:3] == [pytest.approx(x, **A9) for x in (0, 10, 10)]
    assert res.default_day == {} and res.metrics["delta"] == 0
    assert res.metrics["declined_rollovers"] == 1 == chk.declined
    declined_day = [r for r in res.tables["system_state_timeseries"].itertuples() if r.declined_rollovers]
    assert [r.day for r in declined_day] == [2]
    # B -> C rolled on day 3 (new due 6), C -> A on day 4 (new due 8); A -> B retired (declined)
    assert {(tk.issuer, tk.holder, tk.due) for tk in run.book.tickets.values()} == {(1, 2, 6), (2, 0, 8)}


# ------------------------------------------------------------------------------------------
# T24: rationed seller (R2.4)
# ------------------------------------------------------------------------------------------
def test_T24_rationed_seller_is_counted_and_nothing_else_happens():
    book = Book(4, 1.0)
    dealer, vbt = book.dealer(MID), book.vbt(MID)
    give(book, 3, dealer, 5, 2)            # T4's dealer: a = 2, C = 0.10 -> a sell would exceed K* = 2
    book.cash[dealer] = 0.10
    book.cash[vbt] = 0.50                  # < B*S = 0.85: the VBT cannot buy either
    give(book, 3, 0, 5, 1)                 # H1 holds one mid ticket (tau 5) ...
    give(book, 0, 1, 2, 1)                 # ... and owes 1 on day 2 with no cash: gap 1
    p = mini_params(n_traders=4, S=1.0, M=1.0, O=0.30)
    run = Run(p, "active", book=book, info=info_for(book))
    rng = ScriptedRng()                    # any draw would fail: none may happen
    run.rng = rng
    before = (list(book.cash), {tid: tk.holder for tid, tk in book.tickets.items()})
    run.day(0)
    assert liquidity_gap(book, 0, 0, p.H, run.proj) == 1
    assert rng.calls == [] and run.rows.trades == [] and run.counters.failed == 0
    assert (list(book.cash), {tid: tk.holder for tid, tk in book.tickets.items()}) == before
    names = [c.name for c in __import__("bilancio_lite.schema", fromlist=["SYSTEM_STATE"]).SYSTEM_STATE]
    assert dict(zip(names, run.rows.sys[0]))["n_rationed_sellers"] == 1


def test_rationing_counts_change_no_result(monkeypatch):
    """I18 / R2.4: instrumentation only. With the count switched off, trades, draws and defaults of
    a stressed pair are identical."""
    p = ModelParams(kappa=0.25, concentration=0.5, mu=0.5, outside_mid_ratio=0.5, n_traders=60,
                    Q_total=6000, vbt_share=0.05)          # a thin VBT runs dry: rationed sellers
    with_counts = simulate_pair(p)
    assert with_counts.comparison["rationed_seller_days"] > 0        # the count is exercised
    monkeypatch.setattr(Run, "_rationed_sellers", lambda self, t: 0)
    without = simulate_pair(p)
    assert without.comparison["rationed_seller_days"] == 0
    for regime in ("passive", "active"):
        a, b = getattr(with_counts, regime), getattr(without, regime)
        assert a.tables["trades"].equals(b.tables["trades"])
        assert a.default_day == b.default_day and a.rng_draws == b.rng_draws


# ------------------------------------------------------------------------------------------
# T25: risk-priced rollover (R2.7)
# ------------------------------------------------------------------------------------------
def test_T25_hazard_and_prices():
    ell = [0.0, 0.2, 0.0, 0.0, 0.0, 0.0]                  # days 0..5
    lam5 = rollover_hazard(ell, 5, 10)
    assert lam5 == pytest.approx(0.02, **A9)
    assert rollover_price(4, lam5, 0.5) == pytest.approx(0.92, **A9)
    assert rollover_price(10, lam5, 0.5) == pytest.approx(0.8, **A9)
    lam_big = rollover_hazard([0.0, 0.9, 0, 0, 0, 0], 5, 10)
    assert lam_big == pytest.approx(0.09, **A9) and rollover_price(10, lam_big, 0.5) == 0.5
    assert rollover_hazard([0.0, 0.2] + [0.0] * 10, 11, 10) == 0.0         # window days 2..11
    assert rollover_price(4, 0.0, 0.5) == 1.0                                # exactly par
    assert rollover_hazard([0.0, 0.2], 1, 10) == pytest.approx(0.02, **A9)   # today's loss counts


def _t25(**kw) -> Run:
    """S = 1, T = 10. At S3 of day 1, 100 tickets are outstanding and H1's 20 (due 1) are lost.
    H3 owes H4 one ticket due 1 with dT 5; H5 owes H6 one due 5 with dT 4 and one due 5 with dT 10."""
    book = Book(6, 1.0)
    give(book, 0, 1, 1, 20, dT=1)          # H1 -> H2, H1 has no cash: R = 0, 20 lost
    give(book, 2, 3, 1, 1, dT=5)           # H3 -> H4
    give(book, 4, 5, 5, 1, dT=4)           # H5 -> H6
    give(book, 4, 5, 5, 1, dT=10)
    give(book, 1, 2, 20, 77, dT=20)        # padding: 77 tickets due later (total 100)
    book.cash[1], book.cash[2], book.cash[4] = 100.0, 2.0, 2.0
    p = mini_params(n_traders=6, S=1.0, rollover_price="risk_priced", t_end=11, **kw)
    return Run(p, "passive", book=book, info=info_for(book))


def test_T25_risk_priced_rollover_through_the_engine():
    run = _t25()
    book = run.book
    chk = Checker(run)
    run.day(0)
    run.s1_age(1)
    assert run.proj.hazard == 0.0                     # S5 of day 1 still uses lambda_0 = 0
    sys1 = run.s3_snapshot(1)
    run.s6_snapshot(1)
    st = run.s7_settle(1)
    assert st.R[0] == 0 and run.losses.hazard == pytest.approx(0.02, **A9)     # ell_1 = 20/100
    cash3 = book.cash[3]
    ro = run.s8_rollover(1, st)
    assert ro.prices == [pytest.approx(0.9, **A9)]                       # dT = 5 at S8 of day 1
    assert book.cash[3] == pytest.approx(cash3 - 0.9, **A9) and book.cash[2] == pytest.approx(2 - 1 + 0.9, **A9)
    run.s9_anchors(st)
    run.s10_bookkeeping(1, st, ro, sys1)
    for t in range(2, 6):
        run.day(t)
    rows = {r[REPAY.liability_id]: r for r in run.rows.repay}            # liability id -> row
    assert rows["H5@5"][REPAY.rollover_price] is not None
    prices = sorted(q for (old, _), q in zip(*_rolled_on(run, 5)))
    assert prices == [pytest.approx(0.8, **A9), pytest.approx(0.92, **A9)]
    h6 = book.held[5]
    assert {(tk.due, tk.dT) for tk in h6.values()} == {(9, 4), (15, 10)}  # owes 1 each, paid 0.92 / 0.8
    for t in range(6, 12):
        run.day(t)
    sysd = run.rows.sys
    names = [c.name for c in __import__("bilancio_lite.schema", fromlist=["SYSTEM_STATE"]).SYSTEM_STATE]
    day11 = dict(zip(names, sysd[11]))
    assert day11["rollover_hazard"] == 0.0 and day11["mean_rollover_price"] == 1.0   # H3's ticket, par again
    chk.stage_order_ok()


def _rolled_on(run: Run, t: int):
    """(rolled pairs, prices) of day t, re-derived from the tickets and the repayment rows."""
    book = run.book
    new = [tk for tk in book.tickets.values() if tk.cycle > 1 and tk.due - tk.dT == t]
    pairs = [(tk, tk) for tk in new]
    names = [c.name for c in __import__("bilancio_lite.schema", fromlist=["SYSTEM_STATE"]).SYSTEM_STATE]
    row = dict(zip(names, run.rows.sys[t]))
    assert row["rolled_face"] == len(new)
    # q per ticket from its dT and the day's hazard (checked against the logged mean)
    lam = row["rollover_hazard"]
    qs = [max(run.p.rollover_price_floor, 1 - tk.dT * lam) for tk in new]
    assert row["mean_rollover_price"] == pytest.approx(sum(qs) / len(qs), **A9)
    return pairs, qs


def test_T25_funding_tests_q_times_S():
    """A trader lender holding 0.5 cannot pay q*S = 0.92: it waits, then lapses as unfunded."""
    book = Book(3, 1.0)
    give(book, 0, 1, 5, 1, dT=4)
    book.cash[0] = 1.0
    st = settle(book, 5)
    book.cash[1] = 0.5                               # the lender spent its receipt elsewhere
    ro = rollover(book, st, 5, price=lambda dT: 0.92)
    assert not ro.rolled and [tk.id for tk in ro.lapsed] == [0] and book.cash[1] == 0.5
    book2 = Book(3, 1.0)
    give(book2, 0, 1, 5, 1, dT=4)
    book2.cash[0] = 1.0
    ro2 = rollover(book2, settle(book2, 5), 5, price=lambda dT: 0.92)
    assert ro2.prices == [0.92] and book2.cash[1] == pytest.approx(1 - 0.92, **A9)
    assert book2.cash[0] == pytest.approx(0.92, **A9)


# ------------------------------------------------------------------------------------------
# I16–I19 as properties over random parameters
# ------------------------------------------------------------------------------------------
@st.composite
def rev2_params(draw):
    N = draw(st.integers(3, 40))
    S = draw(st.sampled_from([1.0, 20.0]))
    T = draw(st.sampled_from([3, 5, 10]))
    return ModelParams(
        n_traders=N, face_value=S, Q_total=S * draw(st.integers(N, 5 * N)), maturity_days=T,
        kappa=draw(st.floats(0.1, 3.0)), concentration=draw(st.floats(0.2, 5.0)),
        mu=draw(st.floats(0.0, 1.0)), outside_mid_ratio=draw(st.floats(0.4, 1.0)),
        rollover_lender=draw(st.sampled_from(["forced", "liquidity_aware"])),
        rollover_price=draw(st.sampled_from(["par", "risk_priced"])),
        rollover_price_floor=draw(st.sampled_from([0.0, 0.5, 0.9])),
        anchor_loss_basis=draw(st.sampled_from(["outstanding", "maturing"])),
        invest=draw(st.booleans()), clearing=draw(st.sampled_from(["simultaneous", "sequential"])),
        t_end=draw(st.integers(2, 3 * T + 2)), seed=draw(st.integers(0, 10_000)))


@settings(max_examples=30, **SLOW)
@given(rev2_params())
def test_I16_I17_I18_properties(p):
    """Under both lender rules: every decision replayed by the Checker (declines only with a
    projected gap, market makers never, declined lineages never rolled); ell in [0, 1] and the
    anchors follow it (I17); no sale raises the seller's gap (I18); no negative balance (R2.6)."""
    out = {}
    for regime in ("passive", "active"):
        run = Run(p, regime)
        chk = Checker(run)
        res = run.run()
        chk.stage_order_ok()
        out[regime] = (run, res, chk)
        m = res.metrics
        if p.rollover_lender == "forced":
            assert m["declined_rollovers"] == 0 == chk.declined              # I16
        assert m["declined_rollovers"] == chk.declined
        sysd = res.tables["system_state_timeseries"]
        if p.anchor_loss_basis == "outstanding":                            # I17
            ell = sysd["loss_rate_anchor"]
            assert ((0 <= ell) & (ell <= 1)).all()
            loss_days = sysd[sysd["settled_face"] > sysd["recovered_cash"]]
            if len(loss_days):
                bound = m["defaulted_lineages"] * p.face_value / loss_days["total_face_outstanding"].min()
                assert ell.sum() <= bound + 1e-9
        tr = res.tables["trades"]
        cust = tr[tr["kind"] == "customer"]
        sells = cust[cust["side"] == "SELL"]
        assert (sells["trader_gap_after"] <= sells["trader_gap_before"] + 1e-9 * p.face_value).all()  # I18
        assert (sysd[["cash_traders", "cash_dealers", "cash_vbts", "cash_stranded"]] >= 0).all().all()
    (prun, pres, _), (arun, ares, _) = out["passive"], out["active"]
    # I17: twins with identical defaults, recoveries and outstanding face have identical anchors
    ps, as_ = pres.tables["system_state_timeseries"], ares.tables["system_state_timeseries"]
    same = ["settled_face", "recovered_cash", "total_face_outstanding", "n_defaulted_traders"]
    if pres.default_day == ares.default_day and ps[same].equals(as_[same]):
        assert ps[["M_short", "M_mid", "M_long"]].equals(as_[["M_short", "M_mid", "M_long"]])


@st.composite
def par_vs_risk(draw):
    N = draw(st.integers(3, 30))
    return dict(n_traders=N, face_value=20.0, Q_total=20.0 * draw(st.integers(N, 4 * N)),
                kappa=draw(st.floats(0.1, 6.0)), concentration=draw(st.floats(0.2, 5.0)),
                mu=draw(st.floats(0.0, 1.0)), outside_mid_ratio=draw(st.floats(0.4, 1.0)),
                rollover_lender=draw(st.sampled_from(["forced", "liquidity_aware"])),
                rollover_price_floor=draw(st.sampled_from([0.0, 0.5])),
                t_end=draw(st.integers(2, 25)), seed=draw(st.integers(0, 10_000)))


def _csv(res) -> dict[str, str]:
    return {k: v.to_csv(index=False) for k, v in res.tables.items()}


@settings(max_examples=30, **SLOW)
@given(par_vs_risk())
def test_I19_risk_priced_rollover(kw):
    """q in [floor, 1] and total cash conserved (the Checker, every stage); a run without any
    default is byte-identical under par and risk_priced (but for the rollover_price parameter);
    passive results do not depend on rho."""
    risk = ModelParams(**kw, rollover_price="risk_priced")
    par = ModelParams(**kw)
    for regime in ("passive", "active"):
        run = Run(risk, regime)
        chk = Checker(run)
        res_r = run.run()
        chk.stage_order_ok()
        res_p = Run(par, regime).run()
        if not res_r.default_day and not res_p.default_day:
            assert _csv(res_r) == _csv(res_p)
        q = res_r.tables["system_state_timeseries"]["mean_rollover_price"].dropna()
        assert ((q >= risk.rollover_price_floor - 1e-12) & (q <= 1.0)).all()
    other_rho = ModelParams(**{**kw, "outside_mid_ratio": 0.3}, rollover_price="risk_priced")
    a, b = Run(risk, "passive").run(), Run(other_rho, "passive").run()
    assert a.default_day == b.default_day and a.metrics["delta"] == b.metrics["delta"]
    assert a.tables["repayment_events"].drop(columns=["outside_mid_ratio", "run_id"]).equals(
        b.tables["repayment_events"].drop(columns=["outside_mid_ratio", "run_id"]))
