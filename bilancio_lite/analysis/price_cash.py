"""Price vs cash of the market makers (§2.5 ``mm_cash_ratio``; issue 21,
``params/rho_decomposition.yaml``).

``outside_mid_ratio`` (rho) sets two things at once: the outside mid at which the market makers
value and trade claims (the price) and, by default, their starting cash ``rho*S`` per ticket held.
A sweep that crosses rho with ``mm_cash_ratio`` separates them. With ``E(r, c)`` the mean trading
effect of the cells at price ``r`` and cash ratio ``c``, and the baseline ``r0`` (0.75), moving rho
from ``r0`` to ``r`` under the default rule (cash = rho) changes the effect by
``total = E(r, r) - E(r0, r0)``; its parts are the price part
``1/2 [(E(r, r0) - E(r0, r0)) + (E(r, r) - E(r0, r))]`` (price moved, cash held, averaged over the
two orders) and the cash part ``total - price``. Means are over the grid cells (a fixed design:
no sampling interval; with R > 1 the cells' seeds are averaged first).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import empty_frame, require

__all__ = ["CELL_TABLE_COLUMNS", "SPLIT_COLUMNS", "price_cash_table", "price_cash_split", "takeaway_price_cash"]

CELL_TABLE_COLUMNS: list[str] = ["outside_mid_ratio", "mm_cash_ratio", "n_pairs", "mean_effect",
                                 "mean_mm_pnl", "mean_mm_cost", "avoided_face_per_mm_loss"]
SPLIT_COLUMNS: list[str] = ["outside_mid_ratio", "baseline_rho", "effect_default_rule", "total_change",
                            "price_part", "cash_part", "price_share"]


def price_cash_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per (rho, cash ratio): ``mean_effect`` (mean trading_effect over pairs), ``mean_mm_pnl``
    (mean mm_total_pnl, u), ``mean_mm_cost`` (mean of mm_total_pnl_passive - mm_total_pnl: what
    trading cost the market makers, u) and ``avoided_face_per_mm_loss`` (face of defaults avoided,
    summed over pairs, per u of that cost summed over pairs; NaN when the cost sum is not positive)."""
    need = ["outside_mid_ratio", "mm_cash_ratio", "trading_effect", "mm_total_pnl", "mm_total_pnl_passive",
            "defaulted_lineages_passive", "defaulted_lineages_active", "face_value"]
    require(comparison, need, "comparison")
    if comparison.empty:
        return empty_frame(CELL_TABLE_COLUMNS)
    df = comparison.assign(
        _cost=comparison["mm_total_pnl_passive"] - comparison["mm_total_pnl"],
        _avoided=comparison["face_value"] * (comparison["defaulted_lineages_passive"]
                                             - comparison["defaulted_lineages_active"]))
    g = df.groupby(["outside_mid_ratio", "mm_cash_ratio"], sort=True)
    out = g.agg(n_pairs=("trading_effect", "size"), mean_effect=("trading_effect", "mean"),
                mean_mm_pnl=("mm_total_pnl", "mean"), mean_mm_cost=("_cost", "mean"),
                _avoided=("_avoided", "sum"), _cost=("_cost", "sum")).reset_index()
    out["avoided_face_per_mm_loss"] = np.where(out["_cost"] > 0, out["_avoided"] / out["_cost"].where(out["_cost"] > 0),
                                               np.nan)
    return out[CELL_TABLE_COLUMNS]


def price_cash_split(table: pd.DataFrame, baseline_rho: float = 0.75) -> pd.DataFrame:
    """The change of the mean effect when rho moves from ``baseline_rho`` to each swept value under
    the default rule (cash = rho), split into a price part and a cash part (module docstring).
    Needs the cells (r, r), (r, r0), (r0, r) and (r0, r0) of :func:`price_cash_table`; rows whose
    cells are missing are left out. ``price_share = price_part / total_change`` (NaN when 0)."""
    if table.empty:
        return empty_frame(SPLIT_COLUMNS)
    E = {(float(r.outside_mid_ratio), float(r.mm_cash_ratio)): float(r.mean_effect) for r in table.itertuples()}
    r0 = float(baseline_rho)
    rows = []
    for r in sorted({k[0] for k in E}, reverse=True):
        cells = [(r, r), (r, r0), (r0, r), (r0, r0)]
        if not all(c in E for c in cells):
            continue
        total = E[(r, r)] - E[(r0, r0)]
        price = 0.5 * ((E[(r, r0)] - E[(r0, r0)]) + (E[(r, r)] - E[(r0, r)]))
        rows.append({"outside_mid_ratio": r, "baseline_rho": r0, "effect_default_rule": E[(r, r)],
                     "total_change": total, "price_part": price, "cash_part": total - price,
                     "price_share": price / total if total != 0 else np.nan})
    return pd.DataFrame(rows, columns=SPLIT_COLUMNS)


def takeaway_price_cash(split: pd.DataFrame) -> str:
    """One sentence: over the swept rho, how much of the effect's change is price and how much cash."""
    moved = split.loc[split["total_change"] != 0]
    if moved.empty:
        return "Moving rho does not change the mean trading effect: there is nothing to split into price and cash."
    lo, hi = moved.iloc[-1], moved.iloc[0]  # lowest and highest rho
    def part(r: pd.Series) -> str:
        return (f"rho {r['baseline_rho']:g} -> {r['outside_mid_ratio']:g} changes the mean effect by "
                f"{r['total_change']:+.4f}, of which {r['price_part']:+.4f} is the price and "
                f"{r['cash_part']:+.4f} the market makers' cash")
    text = part(hi) if hi is lo else f"{part(hi)}; {part(lo)}"
    return text[0].upper() + text[1:] + "."
