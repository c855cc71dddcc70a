"""Shared constants and small helpers for the post-processing library (spec §7, §8).

Everything here is a pure function of its arguments. The constants name the vocabularies of the
CSV files (§8.1–§8.5) so every analysis module groups, orders and joins the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ..schema import (  # noqa: F401  (re-exported: the analysis vocabulary)
    BREADTHS, BUCKETS, EFFECT_CLASSES, GRID_AXES, IDENTITY_COLUMNS, PAIR_KEYS, REGIMES, STRATEGIES,
    STRESS_REGIMES,
)
from ..store import as_bool  # noqa: F401  (re-exported: read-side bool coercion lives with the store)

#: A grid cell is a pair without its replicate seed.
CELL_KEYS: tuple[str, ...] = GRID_AXES
#: Pair parameters and pair metrics (§7.2) copied from comparison.csv into the per-run tables.
PAIR_CONTEXT: tuple[str, ...] = PAIR_KEYS + (
    "n_traders", "face_value", "delta_passive", "delta_active", "trading_effect",
    "trading_relief_ratio", "effect_class", "stress_regime", "identical_default_set",
)

#: Axis labels (with units) for the grid parameters and the pair classes, used by the notebooks.
PARAM_LABELS: dict[str, str] = {
    "kappa": "kappa (trader liquidity / ring debt)",
    "concentration": "c (Dirichlet concentration)",
    "mu": "mu (maturity misalignment, 0-1)",
    "outside_mid_ratio": "rho (outside mid, per unit face)",
    "stress_regime": "stress regime (from delta passive)",
    "effect_class": "effect class of the pair",
}

#: Short names accepted wherever a parameter is named.
PARAM_ALIASES: dict[str, str] = {"rho": "outside_mid_ratio", "c": "concentration"}

#: Columns with a natural (non-alphabetical) order; used by :func:`sort_frame`.
ORDERS: dict[str, tuple[str, ...]] = {
    "strategy": STRATEGIES,
    "effect_class": EFFECT_CLASSES,
    "stress_regime": STRESS_REGIMES,
    "participation_breadth": BREADTHS,
    "bucket": BUCKETS,
    "regime": REGIMES,
}

_FLOAT_KEYS = GRID_AXES
#: pandas >= 3 always copies on write, so a shallow copy protects the caller's frame (and saves
#: copying a whole per-run table).
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


def resolve_param(name: str) -> str:
    """Map a short parameter name (``rho``, ``c``) to its column name."""
    return PARAM_ALIASES.get(name, name)


def as_list(by: str | Sequence[str] | None) -> list[str]:
    """Normalise a grouping argument to a list of column names (aliases resolved)."""
    if by is None:
        return []
    if isinstance(by, str):
        return [resolve_param(by)]
    return [resolve_param(b) for b in by]


def require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise ``KeyError`` naming every missing column of ``what``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"{what} is missing column(s) {missing}; it has {list(df.columns)}")


def empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    """An empty frame with exactly ``columns``."""
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})


def norm_keys(df: pd.DataFrame) -> pd.DataFrame:
    """Cast the pair keys to float64 (parameters) and int64 (seed) so joins never miss."""
    out = df.copy(deep=not _COPY_ON_WRITE)  # with copy-on-write the caller's frame never changes
    for k in _FLOAT_KEYS:
        if k in out.columns:
            out[k] = pd.to_numeric(out[k]).astype("float64")
    if "seed" in out.columns:
        out["seed"] = pd.to_numeric(out["seed"]).astype("int64")
    return out


def _order_key(series: pd.Series) -> pd.Series:
    order = ORDERS.get(str(series.name))
    if order is not None:
        rank = pd.Index(order).get_indexer(series)  # -1: not in the order
        return pd.Series(np.where(rank < 0, len(order), rank), index=series.index, name=series.name)
    if series.name == "trader_id":
        return pd.Series(trader_indices(series), index=series.index, name=series.name)
    return series


def sort_frame(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Sort by ``keys`` using the natural orders of :data:`ORDERS`; reset the index."""
    keys = [k for k in keys if k in df.columns]
    if not keys or df.empty:
        return df.reset_index(drop=True)
    return df.sort_values(keys, key=_order_key, kind="mergesort").reset_index(drop=True)


#: Values compared by :func:`pick_extreme` are rounded to this many decimals first, so that two
#: results that differ only in the last bits of a float (e.g. -0.11122919911469466 and
#: +0.11122919911469467 under `abs`) count as a tie. Takeaways print at most 3-4 decimals.
TIE_DECIMALS: int = 9


def pick_extreme(df: pd.DataFrame, column: str, *, largest: bool = True, by_abs: bool = False,
                 tie_keys: Sequence[str] | None = None) -> pd.Series:
    """The row of ``df`` with the largest (``largest=False``: smallest) value of ``column``,
    independent of float noise and of row order (a deterministic replacement for ``idxmax``).

    Values (``abs`` of them with ``by_abs``) are rounded to :data:`TIE_DECIMALS` decimals; ties are
    broken by ``tie_keys`` (default: every other column, left to right), each ascending in its
    natural order (:data:`ORDERS`, e.g. ``no_trade`` before ``sell_before``) or descending when
    written ``"-name"``, then by the row's position. NaN values are never picked; an all-NaN or
    empty frame raises ``ValueError``.
    """
    v = pd.to_numeric(df[column], errors="coerce").astype("float64")
    if by_abs:
        v = v.abs()
    v = v.round(TIE_DECIMALS)
    ok = v.notna()
    if not ok.any():
        raise ValueError(f"no value of {column!r} to pick from")
    wanted = [str(k) for k in (tie_keys if tie_keys is not None else df.columns)]
    keys = [(k.lstrip("-"), not k.startswith("-")) for k in wanted]
    keys = [(k, asc) for k, asc in keys if k != column and k in df.columns]
    cand = df.loc[ok, [k for k, _ in keys]].assign(
        _v=(-v if largest else v)[ok], _pos=np.arange(len(df))[ok.to_numpy()])
    cand = cand.sort_values(["_v"] + [k for k, _ in keys] + ["_pos"],
                            ascending=[True] + [asc for _, asc in keys] + [True],
                            key=lambda s: s if s.name in ("_v", "_pos") else _order_key(s),
                            kind="mergesort", na_position="last")
    return df.iloc[int(cand["_pos"].iloc[0])]


def trader_index(trader_id: object) -> int:
    """``"H17"`` → 17 (used to order traders and find ring predecessors)."""
    s = str(trader_id)
    return int(s[1:]) if s[:1] == "H" and s[1:].isdigit() else -1


def trader_indices(trader_ids: pd.Series) -> np.ndarray:
    """:func:`trader_index` of each id (int64; a missing id gives -1), computed once per distinct id."""
    codes, uniques = pd.factorize(trader_ids)  # a missing id gets code -1: the appended -1
    return np.append([trader_index(t) for t in uniques], -1).astype("int64")[codes]


def ratio(num, den, fill: float = 0.0):
    """Elementwise ``num/den``, ``fill`` where ``den <= 0`` or is missing (e.g. 0 when face is 0)."""
    num_a = np.asarray(num, dtype="float64")
    den_a = np.asarray(den, dtype="float64")
    ok = den_a > 0
    out = np.full(np.broadcast(num_a, den_a).shape, fill, dtype="float64")
    np.divide(num_a, den_a, out=out, where=ok)
    if out.ndim == 0:
        return float(out)
    if isinstance(num, pd.Series):
        return pd.Series(out, index=num.index)
    if isinstance(den, pd.Series):
        return pd.Series(out, index=den.index)
    return out


def regime_rows(df: pd.DataFrame, regime: str) -> pd.DataFrame:
    """Rows of one regime, with normalised pair keys."""
    require(df, ["regime"], "per-run table")
    return norm_keys(df.loc[df["regime"] == regime])


def pair_context(comparison: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    """The :data:`PAIR_CONTEXT` columns of comparison.csv (plus ``extra`` if present), one row per
    pair, sorted by :data:`PAIR_KEYS`. Duplicate pairs raise ``ValueError``."""
    require(comparison, PAIR_CONTEXT, "comparison")
    cols = list(PAIR_CONTEXT) + [c for c in extra if c in comparison.columns and c not in PAIR_CONTEXT]
    ctx = norm_keys(comparison[cols])
    if "identical_default_set" in ctx and not ctx.empty:
        ctx["identical_default_set"] = as_bool(ctx["identical_default_set"])
    dup = ctx.duplicated(list(PAIR_KEYS))
    if dup.any():
        raise ValueError(f"comparison has {int(dup.sum())} duplicate pair(s) on {list(PAIR_KEYS)}")
    return sort_frame(ctx, list(PAIR_KEYS))


def with_liability_face(repayments: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """Repayment rows with a ``liability_face`` column (the cohort's face ``n_tickets × S``, §8.2).

    §8.2's ``face_value`` (liability face) clashes with the identity column ``face_value`` (S). The
    logs writer names the identity column ``ticket_face`` in repayment_events.csv; when that column
    is present, ``face_value`` is the liability face and is used as is. Otherwise the meaning of
    ``face_value`` is ambiguous, so the face is recomputed as ``n_tickets × S`` with S taken from
    comparison.csv. A ``liability_face`` column already present is kept.
    """
    rep = norm_keys(repayments)
    if "liability_face" in rep.columns:
        return rep
    if "ticket_face" in rep.columns and "face_value" in rep.columns:
        rep["liability_face"] = rep["face_value"].astype("float64")
        return rep
    require(rep, list(PAIR_KEYS) + ["n_tickets"], "repayments")
    s = norm_keys(comparison[list(PAIR_KEYS) + ["face_value"]]).rename(columns={"face_value": "_S"})
    rep = rep.merge(s, on=list(PAIR_KEYS), how="left", validate="many_to_one")
    rep["liability_face"] = rep["n_tickets"].astype("float64") * rep["_S"]
    return rep.drop(columns="_S")


def customer_trades(trades: pd.DataFrame) -> pd.DataFrame:
    """Active-run customer trades (re-homing transfers between market makers excluded, §8.1)."""
    act = regime_rows(trades, "active")
    require(act, ["kind"], "trades")
    return act.loc[act["kind"] == "customer"]


def class_counts(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Counts of improved/unchanged/worsened pairs per group (columns ``n_<class>``)."""
    counts = (df.groupby(by + ["effect_class"], dropna=False).size()
              .unstack("effect_class").reindex(columns=list(EFFECT_CLASSES)).fillna(0).astype("int64"))
    counts.columns = [f"n_{c}" for c in counts.columns]
    return counts.reset_index()


def fmt_value(v: object) -> str:
    """Short human form of a parameter value for takeaway sentences."""
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    return str(v)
