"""Counterfactuals on the active regime (§12): interventions as data handed to the run.

A :class:`Counterfactual` is plain data: four per-trader masks (one bool per trader, index
``0..N-1``) and an optional exogenous :class:`PricePath`. :class:`engine.Run` reads them in its
stage functions (S5 queues and ticket choice, S7 hazard, S8 rollover, S9 anchors); nothing is
subclassed or patched, so another engine can honour the same data. An all-False mask blocks
nothing and the run is the active run byte for byte (§12, intervention ``none``).

This module holds data only (no engine import); :mod:`bilancio_lite.attribution` builds the
interventions of §12 and runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Counterfactual", "PricePath", "mask"]


@dataclass(frozen=True, slots=True)
class PricePath:
    """An exogenous price path (§12 ``passive_prices``): for each day t = 0..t_end, the outside
    mids ``M[t]`` and spreads ``O[t]`` per bucket after S9 of day t (what day t+1 trades on),
    and the rollover hazard ``hazard[t]`` (lambda_t of §5.4, set at S7 of day t)."""

    M: tuple[tuple[float, float, float], ...]
    O: tuple[tuple[float, float, float], ...]
    hazard: tuple[float, ...]

    def __post_init__(self) -> None:
        if not len(self.M) == len(self.O) == len(self.hazard):
            raise ValueError("PricePath: M, O and hazard must have one entry per day")


def mask(n: int, traders: Iterable[int] = ()) -> tuple[bool, ...]:
    """A per-trader mask of length ``n``, True at the given trader indices (0-based)."""
    on = set(traders)
    bad = [i for i in on if not 0 <= i < n]
    if bad:
        raise ValueError(f"trader index {min(bad)} is outside 0..{n - 1}")
    return tuple(i in on for i in range(n))


@dataclass(frozen=True, slots=True)
class Counterfactual:
    """The interventions of one counterfactual active run (§12). Empty masks block nobody.

    - ``no_sell[i]``: trader i is never queued as a seller (``own_sales``);
    - ``no_paper_sale[j]``: no trader sells a ticket issued by j (``paper_sales``);
    - ``no_buy[i]``: trader i is never queued as a buyer (``own_buys``);
    - ``mm_retire[j]``: a ticket issued by j and held by a market maker at maturity is repaid and
      not rolled over; the lineage retires as declined (``mm_rollover``);
    - ``prices``: anchors and rollover hazard follow this path instead of the run's own
      (``passive_prices``).
    """

    no_sell: tuple[bool, ...] = ()
    no_paper_sale: tuple[bool, ...] = ()
    no_buy: tuple[bool, ...] = ()
    mm_retire: tuple[bool, ...] = ()
    prices: PricePath | None = None

    def check(self, n_traders: int, days: int) -> None:
        """Raise ValueError unless every non-empty mask has one entry per trader and the price
        path one entry per day."""
        for name in ("no_sell", "no_paper_sale", "no_buy", "mm_retire"):
            m: Sequence[bool] = getattr(self, name)
            if m and len(m) != n_traders:
                raise ValueError(f"Counterfactual.{name} has {len(m)} entries, the run {n_traders} traders")
        if self.prices is not None and len(self.prices.hazard) != days:
            raise ValueError(f"Counterfactual.prices covers {len(self.prices.hazard)} days, the run {days}")

    @staticmethod
    def masks_of(cf: "Counterfactual | None") -> tuple:
        """(no_sell, no_paper_sale, no_buy, mm_retire) with empty masks as None (the engine's
        fast path: None means the stage runs exactly its §4/§5 rule)."""
        if cf is None:
            return None, None, None, None
        return tuple(m if m else None for m in (cf.no_sell, cf.no_paper_sale, cf.no_buy, cf.mm_retire))
