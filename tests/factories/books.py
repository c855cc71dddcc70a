"""Builders of small hand-made books and markets for the spec tests (S = 1 vectors of §11), a
scripted rng_trade (§6.3), and a run's trade and repayment rows as frames (§8.1, §8.2)."""

from __future__ import annotations

import pandas as pd

from bilancio_lite import schema
from bilancio_lite.book import Book
from bilancio_lite.dealer import Market
from bilancio_lite.engine import Run
from bilancio_lite.params import ModelParams
from bilancio_lite.ring import RingInfo


def mini_params(n_traders: int = 4, S: float = 1.0, M: float = 1.0, O: float = 0.30, **kw) -> ModelParams:
    base = dict(n_traders=n_traders, Q_total=n_traders * S, face_value=S, outside_mid_ratio=M,
                spread_short=O, spread_mid=O, spread_long=O)
    base.update(kw)
    if base.get("clip_B") is False and base.get("anchor_update", "on") != "off":
        # the unclipped rule of §3.1 (test vector T9) is exercised below ModelParams, which refuses
        # clip_B=false with moving anchors from users (issue 24: B < 0 would break I2)
        return ModelParams(**{**base, "clip_B": True}).model_copy(update={"clip_B": False})
    return ModelParams(**base)


def mini_market(n_traders: int = 4, S: float = 1.0, M: float = 1.0, O: float = 0.30, **kw):
    p = mini_params(n_traders, S, M, O, **kw)
    book = Book(n_traders, S)
    return book, Market(book, p), p


def give(book: Book, issuer: int, holder: int, due: int, count: int = 1, dT: int | None = None):
    return [book.issue(issuer, holder, due, due if dT is None else dT) for _ in range(count)]


def info_for(book: Book) -> RingInfo:
    """A RingInfo for a hand-built book (only the lineage count matters to the engine)."""
    n = len(book.tickets)
    N = book.N
    return RingInfo(q=(0.0,) * N, n=(0,) * N, due=(1,) * N, vbt_tickets=(0,) * N,
                    dealer_tickets=(0,) * N, V=(0, 0, 0), D=(0, 0, 0), base_cash=(0.0,) * N,
                    trader_cash=tuple(book.cash[:N]), kappa_eff=0.0, n_lineages=n, n_ring_tickets=n)


class ScriptedRng:
    """A stand-in for rng_trade: scripted random() and randrange() answers, with a call log."""

    def __init__(self, randoms=(), ranges=()):
        self._randoms = list(randoms)
        self._ranges = list(ranges)
        self.calls: list[tuple] = []
        self.draws = 0

    def random(self) -> float:
        self.draws += 1
        self.calls.append(("random",))
        return self._randoms.pop(0)

    def randrange(self, n: int) -> int:
        self.draws += 1
        self.calls.append(("randrange", n))
        k = self._ranges.pop(0)
        assert 0 <= k < n
        return k


def trades_frame(run: Run) -> pd.DataFrame:
    return pd.DataFrame.from_records(run.rows.trades, columns=[c.name for c in schema.TRADES])


def repay_frame(run: Run) -> pd.DataFrame:
    return pd.DataFrame.from_records(run.rows.repay, columns=[c.name for c in schema.REPAYMENT_EVENTS])
