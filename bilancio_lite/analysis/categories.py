"""Count tables for figures that replace over-plotted or degenerate ones (notebooks 01, 02; §7.3).

Many runs sit at exactly 0 or 1 of a fraction (dealers never / always empty) or at exactly zero
traded volume; a histogram or strip plot then hides most of them on an axis. These functions put
every run in a named category and count the runs per category and grid value instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import require

#: dealer_empty_fraction (§7.3) categories, in order.
EMPTY_CATEGORIES: tuple[str, ...] = ("never empty", "empty < 50% of days", "empty >= 50% of days", "always empty")
#: Traded face / F0 categories of an unchanged pair (the 1% threshold is H1's, §8.6 C).
VOLUME_CATEGORIES: tuple[str, ...] = ("no trade", "< 1% of F0", ">= 1% of F0")


def empty_category(fraction: pd.Series) -> pd.Series:
    """The :data:`EMPTY_CATEGORIES` label of each dealer_empty_fraction."""
    x = fraction.astype("float64").to_numpy()
    labels = np.select([x <= 0, x < 0.5, x < 1], list(EMPTY_CATEGORIES[:3]), default=EMPTY_CATEGORIES[3])
    return pd.Series(labels, index=fraction.index)


def volume_category(share: pd.Series) -> pd.Series:
    """The :data:`VOLUME_CATEGORIES` label of each traded face share."""
    x = share.astype("float64").to_numpy()
    labels = np.select([x <= 0, x < 0.01], list(VOLUME_CATEGORIES[:2]), default=VOLUME_CATEGORIES[2])
    return pd.Series(labels, index=share.index)


def category_counts(frame: pd.DataFrame, by: str, category: pd.Series, order: tuple[str, ...]) -> pd.DataFrame:
    """Runs per value of ``by`` (rows) and category (columns in ``order``, zeros kept)."""
    require(frame, [by], "frame")
    t = pd.crosstab(frame[by], pd.Categorical(category, categories=list(order)), dropna=False)
    t = t.reindex(columns=list(order), fill_value=0)
    t.columns = list(order)
    t.index.name = by
    return t.reset_index()


def dealer_empty_counts(comparison: pd.DataFrame, by: str = "kappa") -> pd.DataFrame:
    """Active runs per ``by`` value and :data:`EMPTY_CATEGORIES` (from dealer_empty_fraction)."""
    require(comparison, ["dealer_empty_fraction"], "comparison")
    return category_counts(comparison, by, empty_category(comparison["dealer_empty_fraction"]), EMPTY_CATEGORIES)


def volume_counts(volume: pd.DataFrame, by: str = "kappa") -> pd.DataFrame:
    """Unchanged pairs per ``by`` value and :data:`VOLUME_CATEGORIES` (from traded_face_share)."""
    require(volume, ["traded_face_share"], "volume")
    return category_counts(volume, by, volume_category(volume["traded_face_share"]), VOLUME_CATEGORIES)


def takeaway_counts(table: pd.DataFrame, by: str, what: str) -> str:
    """How many runs fall in each category, overall (one sentence)."""
    cats = [c for c in table.columns if c != by]
    total = int(table[cats].to_numpy().sum())
    if total == 0:
        return f"No {what} to count."
    parts = [f"{int(table[c].sum())} {c}" for c in cats]
    return f"Of {total} {what}: " + ", ".join(parts) + "."
