"""Which columns and rows of the §8 tables each analysis reads, so that a notebook loads only those.

A function that takes whole per-run tables (trades §8.1, repayments §8.2, inventory §8.3,
system_state §8.4, traders) declares what it reads with :func:`reads`::

    @reads(trades=Need(PAIR_KEYS + ("regime", "kind", "face"), where=CUSTOMER_TRADES))
    def trade_stats(trades): ...

``Need.columns`` are the columns it uses; ``Need.where`` ({column: values}) the rows it can use at
all (rows outside it never change its result, e.g. the re-homing transfers of §3.5 for an analysis
of customer trades). ``Need.counts``: the function only counts rows (and adds up the ``Need.sums`` columns), so it also
accepts the rows grouped by the distinct combination of the other columns, with the number of rows
(column :data:`COUNT`) and each ``sums`` column summed, instead of the rows. :meth:`bilancio_lite.analysis.io.SweepData.read_for` reads the union of what
some functions need, with the column projection and the row filter pushed down into the Parquet
read (:meth:`bilancio_lite.store.Sweep.table`); the functions themselves still accept whole tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd

#: The tables an analysis can read, by their :class:`~bilancio_lite.analysis.io.SweepData` names
#: (one home: :data:`bilancio_lite.store.READ_KEYS`).
from ..store import READ_KEYS as TABLE_KEYS  # noqa: E402
#: The active runs' customer trades (re-homing transfers excluded, §8.1): :func:`customer_trades`.
CUSTOMER_TRADES: dict[str, tuple[str, ...]] = {"regime": ("active",), "kind": ("customer",)}
#: The rows of the active runs only.
ACTIVE: dict[str, tuple[str, ...]] = {"regime": ("active",)}
#: The row-count column of a table read with ``Need(..., counts=True)``.
COUNT = "n_rows"


def row_counts(frame: "pd.DataFrame") -> "pd.Series":
    """How many rows of a table each row of ``frame`` stands for (int64): its :data:`COUNT` when the
    table was read grouped (``Need(counts=True)``), else 1."""
    import pandas as pd

    if COUNT in frame.columns:
        return frame[COUNT].astype("int64")
    return pd.Series(1, index=frame.index, dtype="int64")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Need:
    """The columns of one table an analysis reads and, optionally, the only rows it can use
    (``where``: {column: accepted values}, all conditions must hold; None: every row); ``counts``:
    row counts per distinct combination of the columns (column :data:`COUNT`) will do, with the
    ``sums`` columns (numbers the function only adds up) summed per combination of the others."""

    columns: tuple[str, ...]
    where: Mapping[str, tuple[Any, ...]] | None = field(default=None)
    counts: bool = False
    sums: tuple[str, ...] = ()

    def __init__(self, columns: Iterable[str], where: Mapping[str, Any] | None = None,
                 counts: bool = False, sums: Iterable[str] = ()) -> None:
        sums = tuple(dict.fromkeys(sums))
        if sums and not counts:
            raise ValueError("Need: sums= only with counts=True (the rows are grouped)")
        object.__setattr__(self, "columns", tuple(dict.fromkeys((*columns, *sums))))
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "sums", sums)
        object.__setattr__(self, "where", None if where is None else {
            k: tuple(v) if isinstance(v, (list, tuple, set, frozenset)) else (v,) for k, v in where.items()})

    def __or__(self, other: "Need") -> "Need":
        """The union: every column of both, and the rows either can use (a condition survives only
        on a column both filter on, with the union of their values; so the result may read more
        rows than either needs, never fewer). Grouped rows do for the union only if they do for
        both and no column one sums is one the other groups by."""
        cols = (*self.columns, *other.columns)
        sums = tuple(dict.fromkeys((*self.sums, *other.sums)))
        keys = {c for n in (self, other) for c in n.columns if c not in n.sums}
        counts = self.counts and other.counts and not keys & set(sums)
        sums = sums if counts else ()
        if self.where is None or other.where is None:
            return Need(cols, counts=counts, sums=sums)
        common = {k: tuple(dict.fromkeys((*self.where[k], *other.where[k])))
                  for k in self.where if k in other.where}
        return Need(cols, common or None, counts=counts, sums=sums)


def reads(**needs: Need) -> Callable[[F], F]:
    """Declare what a function reads (keys: :data:`TABLE_KEYS`); stored as ``func.reads``."""
    bad = set(needs) - set(TABLE_KEYS)
    if bad:
        raise ValueError(f"reads: unknown table(s) {sorted(bad)}; tables: {', '.join(TABLE_KEYS)}")

    def mark(func: F) -> F:
        func.reads = dict(needs)  # type: ignore[attr-defined]
        return func

    return mark


def union(*funcs_or_needs: Callable[..., Any] | Mapping[str, Need]) -> dict[str, Need]:
    """The union of what some functions (declared with :func:`reads`) or {table: Need} maps read,
    per table, in :data:`TABLE_KEYS` order (:func:`bilancio_lite.store.union_needs`, which the
    sweep reader's ``read_for`` uses)."""
    from ..store import union_needs

    return union_needs(*funcs_or_needs)


def columns(*groups: Sequence[str] | str) -> tuple[str, ...]:
    """Column names from names and sequences of names, in order, without repeats."""
    flat: list[str] = []
    for g in groups:
        flat += [g] if isinstance(g, str) else list(g)
    return tuple(dict.fromkeys(flat))
