"""At what horizons does the dealer matter? The trading effect by trading window (§4.4,
``market_open_until`` / ``market_open_from``; issue 21, ``params/horizons.yaml``).

Closing the market after day ``u`` removes exactly the trades of later days (everything before is
the same run), so the trading effect as a function of ``u`` is a causal answer: how much of the
full effect the trades up to day ``u`` deliver. Statistics take the replicate seed as the sampling
unit (the grid is a fixed design): per seed, the trading effect is averaged over the grid cells;
the table gives the mean over seeds and a t interval over the seeds (``n_seeds - 1`` degrees of
freedom), and the same for the share of the full-window effect.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._common import empty_frame, require

__all__ = ["WINDOW_COLUMNS", "OPEN_EVERY_DAY", "TIMING_COLUMNS", "window_effect", "takeaway_window",
           "timing_summary", "takeaway_timing"]

#: ``market_open_until`` of a window open every day (blank in comparison.csv) in these tables.
OPEN_EVERY_DAY: int = -1
WINDOW_COLUMNS: list[str] = ["variant", "window", "last_open_day", "n_pairs", "n_seeds", "mean_effect",
                             "ci_low", "ci_high", "share_of_full_effect", "share_ci_low", "share_ci_high",
                             "mean_trades"]


def _t_interval(x: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """(mean, low, high): a t interval over the values (one per seed); NaN bounds below 2 values."""
    x = np.asarray(x, dtype="float64")
    m = float(x.mean()) if len(x) else float("nan")
    if len(x) < 2:
        return m, float("nan"), float("nan")
    from scipy import stats  # imported here: scipy.stats costs ~1 s to import

    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return m, m - half, m + half


def window_effect(comparison: pd.DataFrame, window: str = "market_open_until",
                  by: Sequence[str] = ("variant",), confidence: float = 0.95) -> pd.DataFrame:
    """The trading effect per trading window (:data:`WINDOW_COLUMNS`), one row per (``by``,
    window value), windows in day order with "every day" last.

    ``window``: ``market_open_until`` (the last open day; blank = every day) or
    ``market_open_from``. Per seed the effect is averaged over the grid cells; ``mean_effect``
    and its t interval are over the seeds. ``share_of_full_effect`` divides each seed's mean
    effect by the same seed's effect with the window open every day (``market_open_until``
    blank and ``market_open_from`` 0), then averages over seeds (NaN where that is 0).
    ``mean_trades``: customer trades per pair."""
    keys = list(by)
    require(comparison, keys + [window, "seed", "trading_effect", "total_trades",
                                "market_open_from", "market_open_until"], "comparison")
    if comparison.empty:
        return empty_frame(WINDOW_COLUMNS)
    df = comparison.copy()
    df["_w"] = df[window].astype("float64").fillna(OPEN_EVERY_DAY)
    full = df["market_open_until"].isna() & (df["market_open_from"].astype("int64") == 0)
    per_seed = df.groupby(keys + ["_w", "seed"], sort=True).agg(
        effect=("trading_effect", "mean"), trades=("total_trades", "mean"), n=("trading_effect", "size")).reset_index()
    base = (df.loc[full].groupby(keys + ["seed"])["trading_effect"].mean().rename("_full").reset_index())
    per_seed = per_seed.merge(base, on=keys + ["seed"], how="left")
    per_seed["_share"] = np.where(per_seed["_full"] != 0, per_seed["effect"] / per_seed["_full"].where(
        per_seed["_full"] != 0), np.nan)
    rows = []
    for vals, grp in per_seed.groupby(keys + ["_w"], sort=True):
        vals = vals if isinstance(vals, tuple) else (vals,)
        w = vals[-1]
        m, lo, hi = _t_interval(grp["effect"].to_numpy(), confidence)
        shares = grp["_share"].dropna().to_numpy()
        sm, slo, shi = _t_interval(shares, confidence) if len(shares) else (np.nan, np.nan, np.nan)
        row = dict(zip(keys, vals[:-1]))
        row.update(window=window, last_open_day=int(w), n_pairs=int(grp["n"].sum()),
                   n_seeds=int(grp["seed"].nunique()), mean_effect=m, ci_low=lo, ci_high=hi,
                   share_of_full_effect=sm, share_ci_low=slo, share_ci_high=shi,
                   mean_trades=float(grp["trades"].mean()))
        rows.append(row)
    out = pd.DataFrame(rows)
    out["_order"] = out["last_open_day"].where(out["last_open_day"] != OPEN_EVERY_DAY, 10**9)
    out = out.sort_values(keys + ["_order"], kind="mergesort").drop(columns="_order").reset_index(drop=True)
    if "variant" not in keys:
        out.insert(0, "variant", "")
    return out[WINDOW_COLUMNS]


def _day(d: int) -> str:
    return "every day" if d == OPEN_EVERY_DAY else f"day {d}"


def takeaway_window(table: pd.DataFrame, variant: str, reach: float = 0.9) -> str:
    """One sentence: the effect with the market open on day 0 only and every day, and the first
    last-open day whose mean effect reaches ``reach`` of the full effect (per variant)."""
    t = table.loc[table["variant"] == variant]
    if t.empty:
        return f"No pairs of variant {variant!r}."
    full = t.loc[t["last_open_day"] == OPEN_EVERY_DAY]
    if full.empty:
        return f"Variant {variant!r} has no pair with the market open every day: no reference effect."
    f = full.iloc[0]
    parts = [f"Under {variant or 'this sweep'}, trading with the market open every day lowers the default "
             f"rate by {f['mean_effect']:.4f} (95% CI over {int(f['n_seeds'])} seeds "
             f"{f['ci_low']:.4f} to {f['ci_high']:.4f})"]
    day0 = t.loc[t["last_open_day"] == 0]
    if not day0.empty:
        d = day0.iloc[0]
        parts.append(f"; closing the market after day 0 keeps {d['share_of_full_effect']:.0%} of it "
                     f"({d['mean_effect']:.4f})")
    ok = t.loc[(t["last_open_day"] != OPEN_EVERY_DAY) & (t["mean_effect"] >= reach * f["mean_effect"])]
    if f["mean_effect"] > 0 and not ok.empty:
        parts.append(f", and markets open until {_day(int(ok['last_open_day'].iloc[0]))} already give "
                     f"{reach:.0%} of it")
    elif f["mean_effect"] > 0:
        parts.append(f"; no earlier closing day reaches {reach:.0%} of it")
    return "".join(parts) + "."


TIMING_COLUMNS: list[str] = ["rollover_price", "rollover_lender", "n_pairs", "customer_trades", "share_day0",
                             "pairs_trading_after_day0", "last_trade_day", "defaults_after_cycle1_passive",
                             "pairs_defaulting_after_cycle1"]


def timing_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """When trading and defaults happen, per rollover rule (§5.4, §7.5): customer trades, the
    share executed on day 0 (trade-weighted), pairs with a trade after day 0, the last trade day,
    and the defaulted lineages after cycle 1 of the passive runs (and the pairs with any)."""
    need = ["rollover_price", "rollover_lender", "total_trades", "trade_day_share_day0",
            "last_customer_trade_day", "defaults_after_cycle1_passive"]
    require(comparison, need, "comparison")
    if comparison.empty:
        return empty_frame(TIMING_COLUMNS)
    df = comparison.assign(_day0=comparison["total_trades"] * comparison["trade_day_share_day0"].fillna(0.0),
                           _late=comparison["last_customer_trade_day"].fillna(0) > 0,
                           _cyc=comparison["defaults_after_cycle1_passive"] > 0)
    g = df.groupby(["rollover_price", "rollover_lender"], sort=True)
    out = g.agg(n_pairs=("total_trades", "size"), customer_trades=("total_trades", "sum"), _day0=("_day0", "sum"),
                pairs_trading_after_day0=("_late", "sum"), last_trade_day=("last_customer_trade_day", "max"),
                defaults_after_cycle1_passive=("defaults_after_cycle1_passive", "sum"),
                pairs_defaulting_after_cycle1=("_cyc", "sum")).reset_index()
    out["share_day0"] = np.where(out["customer_trades"] > 0, out["_day0"] / out["customer_trades"].where(
        out["customer_trades"] > 0), np.nan)
    return out[TIMING_COLUMNS]


def takeaway_timing(timing: pd.DataFrame) -> str:
    """One sentence per rollover rule: share of trades on day 0 and defaults after cycle 1."""
    if timing.empty:
        return "No pairs."
    parts = []
    for r in timing.itertuples():
        share = "no customer trade" if r.customer_trades == 0 else f"{r.share_day0:.1%} of {int(r.customer_trades)} customer trades happen on day 0"
        last = "" if pd.isna(r.last_trade_day) else f", the last on day {int(r.last_trade_day)}"
        parts.append(f"Under {r.rollover_price} rollover ({r.rollover_lender} lender) {share}{last}; "
                     f"{int(r.pairs_defaulting_after_cycle1)} of {int(r.n_pairs)} passive runs have a default "
                     f"after the first cycle")
    return ". ".join(parts) + "."
