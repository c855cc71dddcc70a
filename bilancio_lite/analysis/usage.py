"""Dealer usage per pair and its standard cuts (spec §8.6 B, metrics of §7.3).

Every metric is computed from the active run's CSVs: trades.csv (customer trades only; re-homing
transfers are not usage), inventory_timeseries.csv, system_state_timeseries.csv and
repayment_events.csv. ``failed_attempts`` is not computable (trades.csv logs executions only) and,
like the P&L columns, is copied from comparison.csv when present (NaN otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._common import (
    BREADTHS, CELL_KEYS, PAIR_CONTEXT, PAIR_KEYS, as_bool, as_list, class_counts, customer_trades,
    empty_frame, norm_keys, pair_context, ratio, regime_rows, require, sort_frame, with_liability_face,
)
from .needs import ACTIVE, CUSTOMER_TRADES, Need, columns, reads, union
from .strategies import LIABILITY_FACE_COLUMNS, TRADED_VALUE_COLUMNS, traded_vs_untraded

TRADE_METRICS: list[str] = [
    "dealer_trade_count", "trader_dealer_trade_count", "interior_count", "passthrough_count",
    "limit_hit_count", "n_traders_using_dealer", "total_face_traded", "total_cash_volume"]
INVENTORY_METRICS: list[str] = [
    "dealer_active_fraction", "dealer_empty_fraction", "vbt_usage_fraction", "dealer_last_active_day"]
SYSTEM_METRICS: list[str] = ["mean_debt_to_money", "final_debt_to_money", "debt_shrink_rate"]
REPAYMENT_METRICS: list[str] = ["frac_defaulted_that_traded", "frac_repaid_that_traded"]
PNL_METRICS: dict[str, str] = {
    "dealer_pnl": "dealer_total_pnl", "dealer_return": "dealer_total_return", "vbt_pnl": "vbt_total_pnl",
    "failed_attempts": "failed_attempts"}

#: Columns of :func:`dealer_usage_by_run`.
USAGE_COLUMNS: list[str] = (
    list(PAIR_CONTEXT) + ["active_run_id"] + TRADE_METRICS + ["participation_share",
                                                              "participation_breadth"]
    + INVENTORY_METRICS + SYSTEM_METRICS + REPAYMENT_METRICS + list(PNL_METRICS))
GROUP_VALUE_COLUMNS: list[str] = [
    "n_pairs", "mean_trading_effect", "n_improved", "n_unchanged", "n_worsened",
    "mean_trader_dealer_trade_count", "mean_total_face_traded", "mean_n_traders_using_dealer",
    "mean_dealer_active_fraction"]


def participation_breadth(share) -> np.ndarray:
    """§7.2: ``narrow`` if share ≤ 0.4, ``broad`` if ≥ 0.8, else ``middle``."""
    s = np.asarray(share, dtype="float64")
    return np.where(s <= 0.4, "narrow", np.where(s >= 0.8, "broad", "middle")).astype(object)


@reads(trades=Need(columns(PAIR_KEYS, "regime", "kind", "route", "hit_inventory_limit", "face", "cash_amount",
                           "trader_id", "buyer_type", "seller_type"), where=CUSTOMER_TRADES))
def trade_stats(trades: pd.DataFrame) -> pd.DataFrame:
    """Per active run (pair keys): the trade-count metrics of §7.3 from customer trades."""
    pk = list(PAIR_KEYS)
    require(trades, pk + ["regime", "kind", "route", "hit_inventory_limit", "face", "cash_amount",
                          "trader_id", "buyer_type", "seller_type"], "trades")
    cust = customer_trades(trades)
    if cust.empty:
        return empty_frame(pk + TRADE_METRICS)
    cust = cust.assign(
        _trader=(cust["buyer_type"] == "trader") | (cust["seller_type"] == "trader"),
        _interior=cust["route"] == "interior",
        _pass=cust["route"] == "passthrough",
        _limit=as_bool(cust["hit_inventory_limit"]),
    )
    cust["_trader_id"] = cust["trader_id"].where(cust["_trader"])
    return (cust.groupby(pk)
            .agg(dealer_trade_count=("kind", "size"), trader_dealer_trade_count=("_trader", "sum"),
                 interior_count=("_interior", "sum"), passthrough_count=("_pass", "sum"),
                 limit_hit_count=("_limit", "sum"), n_traders_using_dealer=("_trader_id", "nunique"),
                 total_face_traded=("face", "sum"), total_cash_volume=("cash_amount", "sum"))
            .reset_index())


@reads(inventory=Need(columns(PAIR_KEYS, "regime", "day", "bucket", "dealer_inventory", "vbt_used_this_step"),
                      where=ACTIVE))
def inventory_stats(inventory: pd.DataFrame) -> pd.DataFrame:
    """Per active run: day fractions of §7.3 and ``dealer_last_active_day`` (NaN if never)."""
    pk = list(PAIR_KEYS)
    require(inventory, pk + ["regime", "day", "bucket", "dealer_inventory", "vbt_used_this_step"],
            "inventory")
    inv = regime_rows(inventory, "active")
    if inv.empty:
        return empty_frame(pk + INVENTORY_METRICS)
    inv = inv.assign(_active=inv["dealer_inventory"] > 0, _vbt=as_bool(inv["vbt_used_this_step"]))
    days = inv.groupby(pk + ["day"]).agg(active=("_active", "any"), vbt=("_vbt", "any")).reset_index()
    days["active_day"] = days["day"].where(days["active"])
    days["empty"] = ~days["active"]
    return (days.groupby(pk)
            .agg(dealer_active_fraction=("active", "mean"),
                 dealer_empty_fraction=("empty", "mean"),
                 vbt_usage_fraction=("vbt", "mean"), dealer_last_active_day=("active_day", "max"))
            .reset_index())


@reads(system_state=Need(columns(PAIR_KEYS, "regime", "day", "total_face_outstanding", "debt_to_money"),
                         where=ACTIVE))
def system_stats(system_state: pd.DataFrame) -> pd.DataFrame:
    """Per active run: debt-to-money path summaries and ``debt_shrink_rate`` (§7.3)."""
    pk = list(PAIR_KEYS)
    require(system_state, pk + ["regime", "day", "total_face_outstanding", "debt_to_money"],
            "system_state")
    ss = regime_rows(system_state, "active")
    if ss.empty:
        return empty_frame(pk + SYSTEM_METRICS)
    ss = ss.sort_values(pk + ["day"], kind="mergesort")
    g = ss.groupby(pk)
    out = g.agg(mean_debt_to_money=("debt_to_money", "mean"),
                final_debt_to_money=("debt_to_money", "last"),
                _f_first=("total_face_outstanding", "first"),
                _f_last=("total_face_outstanding", "last")).reset_index()
    out["debt_shrink_rate"] = ratio(out["_f_first"] - out["_f_last"], out["_f_first"], np.nan)
    return out[pk + SYSTEM_METRICS]


@reads(repayments=Need(columns(PAIR_KEYS, "regime", "outcome", "buy_count", "sell_count",
                               LIABILITY_FACE_COLUMNS), where=ACTIVE,
                       counts=True, sums=("n_tickets", "face_value")))
def repayment_trade_stats(repayments: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """Per active run: face-weighted share of defaulted / repaid liabilities that traded (§7.3).
    NaN when the run has no defaulted (resp. repaid) face.

    ``repayments`` may also be grouped rows (``Need.counts``): the liability faces (``face_value``,
    ``n_tickets``) summed per distinct combination of the other columns; only faces are added up."""
    pk = list(PAIR_KEYS)
    require(repayments, pk + ["regime", "outcome", "buy_count", "sell_count"], "repayments")
    rep = with_liability_face(regime_rows(repayments, "active"), comparison)
    if rep.empty:
        return empty_frame(pk + REPAYMENT_METRICS)
    traded = (rep["buy_count"] + rep["sell_count"]) > 0
    d = rep["outcome"] == "defaulted"
    rep = rep.assign(_dface=rep["liability_face"].where(d, 0.0),
                     _dtr=rep["liability_face"].where(d & traded, 0.0),
                     _rface=rep["liability_face"].where(~d, 0.0),
                     _rtr=rep["liability_face"].where(~d & traded, 0.0))
    g = rep.groupby(pk)[["_dface", "_dtr", "_rface", "_rtr"]].sum().reset_index()
    g["frac_defaulted_that_traded"] = ratio(g["_dtr"], g["_dface"], np.nan)
    g["frac_repaid_that_traded"] = ratio(g["_rtr"], g["_rface"], np.nan)
    return g[pk + REPAYMENT_METRICS]


@reads(**union(trade_stats, inventory_stats, system_stats, repayment_trade_stats))
def dealer_usage_by_run(comparison: pd.DataFrame, trades: pd.DataFrame, repayments: pd.DataFrame,
                        inventory: pd.DataFrame, system_state: pd.DataFrame) -> pd.DataFrame:
    """aggregate/dealer_usage_by_run.csv (§8.6 B): one row per pair, with :data:`USAGE_COLUMNS`.

    Trade counts are 0 for runs without trades; inventory / system metrics are NaN for runs
    without rows in those files (e.g. ``detailed_logging`` off).
    """
    pk = list(PAIR_KEYS)
    ctx = pair_context(comparison, extra=["active_run_id", *PNL_METRICS.values()])
    if ctx.empty:
        return empty_frame(USAGE_COLUMNS)
    out = ctx.rename(columns={v: k for k, v in PNL_METRICS.items()})
    for col in ["active_run_id", *PNL_METRICS]:
        if col not in out.columns:
            out[col] = np.nan
    for part in (trade_stats(trades), inventory_stats(inventory), system_stats(system_state),
                 repayment_trade_stats(repayments, comparison)):
        out = out.merge(norm_keys(part), on=pk, how="left")
    for c in TRADE_METRICS:
        out[c] = out[c].fillna(0)
        if c.endswith("count") or c == "n_traders_using_dealer":
            out[c] = out[c].astype("int64")
    out["participation_share"] = ratio(out["n_traders_using_dealer"], out["n_traders"])
    out["participation_breadth"] = participation_breadth(out["participation_share"])
    return sort_frame(out[USAGE_COLUMNS], pk)


def _grouped(usage: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if usage.empty:
        return empty_frame(keys + GROUP_VALUE_COLUMNS)
    require(usage, keys, "dealer_usage_by_run table")
    g = (usage.groupby(keys, dropna=False)
         .agg(n_pairs=("trading_effect", "size"), mean_trading_effect=("trading_effect", "mean"),
              mean_trader_dealer_trade_count=("trader_dealer_trade_count", "mean"),
              mean_total_face_traded=("total_face_traded", "mean"),
              mean_n_traders_using_dealer=("n_traders_using_dealer", "mean"),
              mean_dealer_active_fraction=("dealer_active_fraction", "mean"))
         .reset_index())
    out = g.merge(class_counts(usage, keys), on=keys, how="left")
    return sort_frame(out[keys + GROUP_VALUE_COLUMNS], keys)


def usage_by_parameter(usage: pd.DataFrame, by: str | Sequence[str]) -> pd.DataFrame:
    """Mean ``trading_effect``, class counts and mean usage per value of ``by`` (rho / kappa /
    c / mu, aliases accepted) (§8.6 B). Columns: ``by`` + :data:`GROUP_VALUE_COLUMNS`."""
    return _grouped(usage, as_list(by))


def usage_by_breadth(usage: pd.DataFrame) -> pd.DataFrame:
    """The same summary per participation breadth (narrow ≤ 0.4 < middle < 0.8 ≤ broad, §7.2);
    all three breadths appear, empty ones with ``n_pairs = 0``."""
    out = _grouped(usage, ["participation_breadth"])
    full = pd.DataFrame({"participation_breadth": list(BREADTHS)})
    out = full.merge(out, on="participation_breadth", how="left")
    for c in ("n_pairs", "n_improved", "n_unchanged", "n_worsened"):
        out[c] = out[c].fillna(0).astype("int64")
    return out


@reads(**traded_vs_untraded.reads)
def cells_traded_default_less(repayments: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """Grid cells (kappa, c, mu, rho; replicates pooled) where traded liabilities default less
    often, face-weighted, than never-traded ones (§8.6 B). Cells with no traded or no untraded face
    are not comparable and are left out. Columns: cell keys + :data:`TRADED_VALUE_COLUMNS`."""
    t = traded_vs_untraded(repayments, comparison, by=list(CELL_KEYS))
    keep = ((t["traded_face"] > 0) & (t["untraded_face"] > 0)
            & (t["traded_default_rate"] < t["untraded_default_rate"]))
    return t.loc[keep, list(CELL_KEYS) + TRADED_VALUE_COLUMNS].reset_index(drop=True)
