"""One pair up close (notebook 08): tables built from a pair simulated in this process (§6).

:func:`simulate_traced` runs the passive and the active regime like
:func:`bilancio_lite.engine.simulate_pair` and also records, for every trader and due day, its
cash just before settlement (S7, §5.2) against the face it owes that day. The other functions turn
the pair's §8 tables into the long frames that :mod:`bilancio_lite.plots` draws.

Trader outcomes (§7.5): ``repaid`` (no default in either run), ``defaulted`` (in both),
``rescued`` (passive only) and ``harmed`` (active only).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..dealer import outside_quotes
from ..engine import PairResult, Run, validated
from .. import metrics as _metrics
from ..params import ModelParams
from ._common import BUCKETS, trader_index

OUTCOMES: tuple[str, ...] = ("repaid", "rescued", "harmed", "defaulted")
OUTCOME_COLORS: dict[str, str] = {"repaid": "tab:green", "rescued": "tab:blue", "harmed": "tab:red",
                                  "defaulted": "dimgray"}


class _TracedRun(Run):
    """A :class:`Run` that records each issuer's cash and due face before S7 clearing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.due_rows: list[tuple] = []

    def s7_settle(self, t: int):  # noqa: ANN201 - same return as Run.s7_settle
        book = self.book
        day = book.by_due.get(t)
        if day:
            owed: dict[int, int] = {}
            for tk in day.values():
                owed[tk.issuer] = owed.get(tk.issuer, 0) + 1
            for i in sorted(owed):
                self.due_rows.append((self.regime, book.names[i], t, book.cash[i], self.S * owed[i]))
        return super().s7_settle(t)


def simulate_traced(params: ModelParams | None = None, **overrides: Any) -> tuple[PairResult, pd.DataFrame]:
    """Simulate one pair (§6) and return it with a frame of ``regime, trader_id, day, cash_before,
    face_due`` (u): each issuer's cash just before clearing on each of its due days (§5.2). The
    pair is identical to ``simulate_pair(params)``."""
    p = validated(params, **overrides)
    runs = {}
    for regime in ("passive", "active"):
        runs[regime] = _TracedRun(p, regime)
    results = {r: run.run() for r, run in runs.items()}
    if results["passive"].fingerprint != results["active"].fingerprint:  # §6.2
        raise AssertionError("initial-state fingerprints of the passive and active runs differ")
    row = _metrics.comparison_row(p, results["passive"], results["active"])
    pair = PairResult(p, results["passive"], results["active"], row)
    due = pd.DataFrame([r for run in runs.values() for r in run.due_rows],
                       columns=["regime", "trader_id", "day", "cash_before", "face_due"])
    return pair, due


def trader_outcomes(pair: PairResult) -> pd.DataFrame:
    """One row per trader: ``trader_id``, ``index`` (1..N), default day in each regime (blank if
    none) and ``outcome`` (module docstring)."""
    n = pair.params.n_traders
    rows = []
    for i in range(1, n + 1):
        name = f"H{i}"
        dp, da = pair.passive.default_day.get(name), pair.active.default_day.get(name)
        outcome = ("repaid" if dp is None and da is None else "defaulted" if dp is not None and da is not None
                   else "rescued" if dp is not None else "harmed")
        rows.append({"trader_id": name, "index": i, "default_day_passive": dp, "default_day_active": da,
                     "outcome": outcome})
    out = pd.DataFrame(rows)
    for c in ("default_day_passive", "default_day_active"):
        out[c] = out[c].astype("Int64")
    return out


def cash_at_due(due: pd.DataFrame, outcomes: pd.DataFrame, first_only: bool = True) -> pd.DataFrame:
    """Each trader's cash before clearing against the face due (from :func:`simulate_traced`), with
    its outcome; ``first_only`` keeps each trader's first due day per regime (its t = 0
    liability). ``short`` = cash_before < face_due (it cannot pay in full)."""
    d = due.sort_values(["regime", "trader_id", "day"], kind="mergesort")
    if first_only:
        d = d.groupby(["regime", "trader_id"], sort=False).head(1)
    d = d.merge(outcomes[["trader_id", "index", "outcome"]], on="trader_id", how="left")
    d["short"] = d["cash_before"] < d["face_due"] - 1e-9
    d["regime"] = pd.Categorical(d["regime"], ["passive", "active"], ordered=True)
    d = d.sort_values(["regime", "index", "day"], kind="mergesort").reset_index(drop=True)
    d["regime"] = d["regime"].astype(str)
    return d[["regime", "trader_id", "index", "day", "cash_before", "face_due", "short", "outcome"]]


def dealer_quotes(pair: PairResult) -> pd.DataFrame:
    """Per regime, day and bucket (§8.3, taken at S6): the dealer's inventory and capacity K*
    (tickets), its clipped bid/ask and the outside bid/ask B, A (§3.1), per unit face."""
    p = pair.params
    frames = []
    for run in (pair.passive, pair.active):
        inv = run.tables["inventory_timeseries"]
        if inv.empty:
            continue
        q = [outside_quotes(m, o, p.O_min, p.clip_B) for m, o in zip(inv["outside_mid"], inv["outside_spread"])]
        f = inv[["regime", "day", "bucket", "dealer_inventory", "dealer_max_capacity", "dealer_bid",
                 "dealer_ask", "outside_mid"]].copy()
        f["outside_ask"] = [a for a, _ in q]
        f["outside_bid"] = [b for _, b in q]
        frames.append(f)
    cols = ["regime", "day", "bucket", "dealer_inventory", "dealer_max_capacity", "dealer_bid",
            "dealer_ask", "outside_mid", "outside_bid", "outside_ask"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def customer_trades(pair: PairResult) -> pd.DataFrame:
    """Every customer trade of the active run (§8.1): day, side, bucket, route, unit price, trader
    and its index (1..N), in execution order."""
    t = pair.active.tables["trades"]
    cols = ["day", "seq", "side", "bucket", "route", "unit_price", "trader_id", "trader_index",
            "issuer_id", "is_liquidity_driven"]
    if t.empty:
        return pd.DataFrame(columns=cols)
    c = t[t["kind"] == "customer"].copy()
    c["trader_index"] = c["trader_id"].map(trader_index)
    return c.sort_values(["day", "seq"], kind="mergesort").reset_index(drop=True)[cols]


def takeaway_pair(pair: PairResult, outcomes: pd.DataFrame, trades: pd.DataFrame) -> str:
    """One sentence: δ in both runs, rescued / harmed traders and the customer trades."""
    c = pair.comparison
    n = outcomes["outcome"].value_counts()
    days = sorted(trades["day"].unique()) if len(trades) else []
    when = (f"on day{'s' if len(days) > 1 else ''} {', '.join(str(int(d)) for d in days[:6])}"
            f"{' …' if len(days) > 6 else ''}" if days else "")
    return (f"δ passive {c['delta_passive']:.4f}, δ active {c['delta_active']:.4f} (trading effect "
            f"{c['trading_effect']:+.4f}, {c['effect_class']}); {int(n.get('rescued', 0))} trader(s) "
            f"rescued, {int(n.get('harmed', 0))} harmed, {int(n.get('defaulted', 0))} defaulted in both "
            f"runs; {len(trades)} customer trade(s) {when}.".replace(" .", "."))


__all__ = ["BUCKETS", "OUTCOMES", "OUTCOME_COLORS", "simulate_traced", "trader_outcomes", "cash_at_due",
           "dealer_quotes", "customer_trades", "takeaway_pair"]
