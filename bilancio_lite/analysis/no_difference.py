""""No-difference" diagnostics for pairs whose effect class is ``unchanged`` (spec §8.6 C).

Hypotheses (§8.6 C):
- H1 little trading: ``trader_dealer_trade_count = 0`` or ``total_face_traded < 0.01·F0`` with
  ``F0 = S × initial_tickets`` (§7.1);
- H2 defaulters never traded: ``n_defaulters_active > 0`` and ``n_defaulters_that_traded = 0``;
- H3 healthy traders trade: more than 50% of traded face comes from traders that default in
  neither regime (false when nothing was traded).
"Traded" means the trader was the customer of at least one active-run customer trade (trades.csv).
:func:`no_difference_pairs` only counts trades and adds up their face, so it also accepts the
trades grouped by the columns it reads (``n_rows`` per group, ``face`` summed; what
:meth:`~bilancio_lite.analysis.io.SweepData.read_for` gives it): faces are multiples of S, so the
sums are exact in any order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import (
    PAIR_KEYS, customer_trades, empty_frame, norm_keys, pair_context, regime_rows, require,
    sort_frame,
)
from .needs import CUSTOMER_TRADES, Need, columns, reads, row_counts
from .usage import inventory_stats

NO_DIFFERENCE_COLUMNS: list[str] = list(PAIR_KEYS) + [
    "identical_default_set", "trader_dealer_trade_count", "total_face_traded", "n_defaulters_active",
    "n_defaulters_that_traded", "dealer_empty_fraction", "dealer_never_used", "zero_default_pair",
    "H1_little_trading", "H2_defaulters_never_traded", "H3_healthy_traders_trade"]
HYPOTHESES: dict[str, str] = {
    "H1_little_trading": "there is simply very little trading",
    "H2_defaulters_never_traded": "traders who default never trade with the dealer",
    "H3_healthy_traders_trade": "the dealer trades mostly with healthy traders",
}
SHARE_COLUMNS: list[str] = ["hypothesis", "description", "n_holds", "n_pairs", "share",
                            "explains_most"]
_BOOL_COLUMNS = ("identical_default_set", "dealer_never_used", "zero_default_pair",
                 "H1_little_trading", "H2_defaulters_never_traded", "H3_healthy_traders_trade")


def _defaulters(repayments: pd.DataFrame, regime: str) -> pd.DataFrame:
    rep = regime_rows(repayments, regime)
    rep = rep.loc[rep["outcome"] == "defaulted", list(PAIR_KEYS) + ["trader_id"]]
    return rep.drop_duplicates()


def _weighted_customer_trades(trades: pd.DataFrame) -> pd.DataFrame:
    """Active-run customer trades with ``_n`` (the rows each stands for: its ``n_rows`` when the
    trades come grouped, else 1) and ``_interior`` (``_n`` for interior trades, else 0)."""
    cust = customer_trades(trades)
    n = row_counts(cust)
    return cust.assign(_n=n, _interior=n.where(cust["route"] == "interior", 0))


@reads(trades=Need(columns(PAIR_KEYS, "regime", "kind", "route", "trader_id", "buyer_type", "seller_type"),
                   where=CUSTOMER_TRADES, counts=True, sums=("face",)),
       repayments=Need(columns(PAIR_KEYS, "regime", "trader_id", "outcome"), where={"outcome": "defaulted"},
                       counts=True),
       inventory=inventory_stats.reads["inventory"])
def no_difference_pairs(comparison: pd.DataFrame, trades: pd.DataFrame, repayments: pd.DataFrame,
                        inventory: pd.DataFrame) -> pd.DataFrame:
    """aggregate/no_difference_pairs.csv (§8.6 C): one row per ``unchanged`` pair with
    :data:`NO_DIFFERENCE_COLUMNS` (pair keys + the columns and hypotheses listed in §8.6 C).

    ``trades`` and ``repayments`` may come as rows or grouped, with a column ``n_rows`` (the
    declared reads, ``counts=True``): only trade counts, trade face sums and the distinct
    defaulting traders are used."""
    pk = list(PAIR_KEYS)
    ctx = pair_context(comparison, extra=["initial_tickets", "delta_passive"])
    require(ctx, ["initial_tickets"], "comparison")
    require(trades, pk + ["regime", "kind", "route", "face", "trader_id", "buyer_type",
                          "seller_type"], "trades")
    require(repayments, pk + ["regime", "trader_id", "outcome"], "repayments")
    ctx = ctx.loc[ctx["effect_class"] == "unchanged"]
    if ctx.empty:
        out = empty_frame(NO_DIFFERENCE_COLUMNS)
        for c in _BOOL_COLUMNS:
            out[c] = out[c].astype(bool)
        return out

    cust = _weighted_customer_trades(trades)
    # The "never used" test counts every customer interior trade; the rest only trader customers.
    interior = cust.groupby(pk)["_interior"].sum().rename("_any_interior").reset_index()
    cust = cust.loc[(cust["buyer_type"] == "trader") | (cust["seller_type"] == "trader")]
    per_trader = (cust.groupby(pk + ["trader_id"])
                  .agg(_n=("_n", "sum"), _face=("face", "sum"))
                  .reset_index())
    trade_tot = (per_trader.groupby(pk)
                 .agg(trader_dealer_trade_count=("_n", "sum"), total_face_traded=("_face", "sum"))
                 .reset_index())

    d_act = _defaulters(repayments, "active")
    d_pas = _defaulters(repayments, "passive")
    n_def = d_act.groupby(pk).size().rename("n_defaulters_active").reset_index()
    traded_def = d_act.merge(per_trader[pk + ["trader_id"]], on=pk + ["trader_id"], how="inner")
    n_def_tr = traded_def.groupby(pk).size().rename("n_defaulters_that_traded").reset_index()
    any_def = pd.concat([d_act, d_pas], ignore_index=True).drop_duplicates()
    any_def["_defaulted_somewhere"] = True
    pt = per_trader.merge(any_def, on=pk + ["trader_id"], how="left")
    pt["_healthy_face"] = pt["_face"].where(pt["_defaulted_somewhere"].isna(), 0.0)
    healthy = pt.groupby(pk)["_healthy_face"].sum().reset_index()

    inv = inventory_stats(inventory)[pk + ["dealer_empty_fraction"]]

    out = ctx[pk + ["identical_default_set", "delta_passive", "face_value", "initial_tickets"]]
    for part in (trade_tot, n_def, n_def_tr, healthy, interior, inv):
        out = out.merge(norm_keys(part), on=pk, how="left")
    for c in ("trader_dealer_trade_count", "n_defaulters_active", "n_defaulters_that_traded",
              "_any_interior"):
        out[c] = out[c].fillna(0).astype("int64")
    for c in ("total_face_traded", "_healthy_face"):
        out[c] = out[c].fillna(0.0).astype("float64")
    f0 = out["face_value"].astype("float64") * out["initial_tickets"].astype("float64")
    out["dealer_never_used"] = out["_any_interior"] == 0
    out["zero_default_pair"] = out["delta_passive"] == 0
    out["H1_little_trading"] = (out["trader_dealer_trade_count"] == 0) | (
        out["total_face_traded"] < 0.01 * f0)
    out["H2_defaulters_never_traded"] = (out["n_defaulters_active"] > 0) & (
        out["n_defaulters_that_traded"] == 0)
    out["H3_healthy_traders_trade"] = (out["total_face_traded"] > 0) & (
        out["_healthy_face"] > 0.5 * out["total_face_traded"])
    for c in _BOOL_COLUMNS:
        out[c] = out[c].astype(bool)
    return sort_frame(out[NO_DIFFERENCE_COLUMNS], pk)


def hypothesis_shares(table: pd.DataFrame) -> pd.DataFrame:
    """Share of unchanged pairs for which each hypothesis holds (§8.6 C).

    One row per hypothesis (H1, H2, H3, always present) with ``n_holds``, ``n_pairs``, ``share``
    (NaN when there are no unchanged pairs) and ``explains_most`` (true for the hypothesis with the
    largest positive share; ties are all true).
    """
    n = len(table)
    rows = []
    for h, desc in HYPOTHESES.items():
        held = int(table[h].astype(bool).sum()) if n else 0
        rows.append({"hypothesis": h, "description": desc, "n_holds": held, "n_pairs": n,
                     "share": held / n if n else np.nan})
    out = pd.DataFrame(rows, columns=SHARE_COLUMNS[:-1])
    best = out["n_holds"].max()
    out["explains_most"] = (out["n_holds"] == best) & (best > 0)
    return out


# --------------------------------------------------------------------------- notebook 02 helpers

#: Which unchanged pairs can show each hypothesis at all: H2 needs a defaulter in the active run,
#: H3 needs some traded face. H1 can hold for any pair.
VERDICT_COLUMNS: list[str] = ["hypothesis", "description", "n_holds", "n_testable", "n_pairs",
                              "share", "share_of_testable", "verdict"]
SUMMARY_COLUMNS: list[str] = ["diagnostic", "n", "out_of", "share"]


def _testable(table: pd.DataFrame, hypothesis: str) -> pd.Series:
    if hypothesis == "H2_defaulters_never_traded":
        return table["n_defaulters_active"] > 0
    if hypothesis == "H3_healthy_traders_trade":
        return table["total_face_traded"] > 0
    return pd.Series(True, index=table.index)


def hypothesis_verdicts(table: pd.DataFrame, confirm_at: float = 0.5) -> pd.DataFrame:
    """Verdict on each hypothesis of §8.6 C over the unchanged pairs of :func:`no_difference_pairs`.

    ``share`` is the share of all unchanged pairs for which the hypothesis holds (the share it
    explains); ``n_testable`` counts the pairs where it could hold at all (H2: some active
    defaulter; H3: some traded face; H1: every pair) and ``share_of_testable = n_holds /
    n_testable``. ``verdict``: ``confirmed`` if ``share >= confirm_at``, ``partly`` if it holds for
    some pairs, ``rejected`` if for none while some pair was testable, ``not testable`` otherwise
    (including when there are no unchanged pairs).
    """
    n = len(table)
    rows = []
    for h, desc in HYPOTHESES.items():
        held = int(table[h].astype(bool).sum()) if n else 0
        testable = int(_testable(table, h).sum()) if n else 0
        share = held / n if n else np.nan
        if testable == 0:
            verdict = "not testable"
        elif share >= confirm_at:
            verdict = "confirmed"
        else:
            verdict = "partly" if held > 0 else "rejected"
        rows.append({"hypothesis": h, "description": desc, "n_holds": held, "n_testable": testable,
                     "n_pairs": n, "share": share,
                     "share_of_testable": held / testable if testable else np.nan,
                     "verdict": verdict})
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def no_difference_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Counts behind the user's questions on the unchanged pairs (§8.6 C), one row per diagnostic:
    ``n`` of ``out_of`` (pairs, or traders for the defaulter row) and ``share = n / out_of`` (NaN
    when ``out_of`` is 0). Rows, in order: ``unchanged pairs``, ``no dealer-trader trade``,
    ``dealer never used (no interior trade)``, ``dealer empty every day``, ``dealer empty more
    than half the days``, ``zero-default pairs``, ``identical default set``, ``defaulting traders
    that traded`` (out of all active-run defaulters), ``explained by at least one hypothesis``,
    ``explained by no hypothesis``."""
    n = len(table)
    empty = table["dealer_empty_fraction"].astype("float64") if n else pd.Series(dtype="float64")
    any_h = table[list(HYPOTHESES)].astype(bool).any(axis=1) if n else pd.Series(dtype=bool)
    rows = [
        ("unchanged pairs", n, n),
        ("no dealer-trader trade", int((table["trader_dealer_trade_count"] == 0).sum()), n),
        ("dealer never used (no interior trade)", int(table["dealer_never_used"].astype(bool).sum()), n),
        ("dealer empty every day", int((empty >= 1.0).sum()), n),
        ("dealer empty more than half the days", int((empty > 0.5).sum()), n),
        ("zero-default pairs", int(table["zero_default_pair"].astype(bool).sum()), n),
        ("identical default set", int(table["identical_default_set"].astype(bool).sum()), n),
        ("defaulting traders that traded", int(table["n_defaulters_that_traded"].sum()),
         int(table["n_defaulters_active"].sum())),
        ("explained by at least one hypothesis", int(any_h.sum()), n),
        ("explained by no hypothesis", int((~any_h).sum()), n),
    ]
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS[:-1])
    out["share"] = [r.n / r.out_of if r.out_of else np.nan for r in out.itertuples()]
    return out


def with_initial_face(table: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """``table`` (pair keys) with ``initial_face`` F0 = S × initial_tickets (u) and
    ``traded_face_share = total_face_traded / F0`` (0 when F0 is 0), for the H1 volume check."""
    pk = list(PAIR_KEYS)
    f0 = norm_keys(comparison[pk + ["face_value", "initial_tickets"]])
    f0["initial_face"] = f0["face_value"].astype("float64") * f0["initial_tickets"].astype("float64")
    out = norm_keys(table).merge(f0[pk + ["initial_face"]], on=pk, how="left")
    f = out["initial_face"].to_numpy(dtype="float64")
    v = out["total_face_traded"].to_numpy(dtype="float64")
    out["traded_face_share"] = np.divide(v, f, out=np.zeros_like(v), where=f > 0)
    return out


# --------------------------------------------------------------------------- structural vs behavioural
#: The two kinds of unchanged pair (issue 21): ``structural`` when no trader can ever close a gap
#: by selling (every due day is the same, lead = round_half_even(mu*(T-1)) = 0 (§2.2): a claim
#: pays its holder on the day the holder pays, so a sale below par only widens the gap), and
#: ``behavioural`` otherwise: trading was possible and the traders' and dealers' choices left the
#: defaults unchanged.
UNCHANGED_KINDS: tuple[str, ...] = ("structural", "behavioural")
KIND_COLUMNS: list[str] = ["kind", "n_pairs", "share", "n_no_trade", "n_zero_default"]


def unchanged_kind(no_diff: pd.DataFrame, comparison: pd.DataFrame) -> pd.Series:
    """``structural`` / ``behavioural`` per row of :func:`no_difference_pairs` (see
    :data:`UNCHANGED_KINDS`), aligned with ``no_diff``'s index."""
    pk = list(PAIR_KEYS)
    if no_diff.empty:
        return pd.Series([], index=no_diff.index, dtype=object)
    T = norm_keys(comparison[pk + ["maturity_days"]]).drop_duplicates(pk)
    m = norm_keys(no_diff[pk]).merge(T, on=pk, how="left")
    lead = np.array([round(mu * (t - 1)) for mu, t in zip(m["mu"].astype(float), m["maturity_days"].astype(int))])
    return pd.Series(np.where(lead == 0, UNCHANGED_KINDS[0], UNCHANGED_KINDS[1]), index=no_diff.index)


def unchanged_kinds_table(no_diff: pd.DataFrame, kinds: pd.Series) -> pd.DataFrame:
    """Counts per kind: pairs, share of the unchanged pairs, pairs without any dealer-trader trade,
    and zero-default pairs (nothing to rescue)."""
    n = len(no_diff)
    rows = []
    for k in UNCHANGED_KINDS:
        g = no_diff.loc[kinds == k]
        rows.append({"kind": k, "n_pairs": len(g), "share": len(g) / n if n else np.nan,
                     "n_no_trade": int((g["trader_dealer_trade_count"] == 0).sum()),
                     "n_zero_default": int(g["zero_default_pair"].astype(bool).sum())})
    return pd.DataFrame(rows, columns=KIND_COLUMNS)


def takeaway_user_count(kinds_table: pd.DataFrame, n_pairs_total: int, user_count: int = 108) -> str:
    """The paragraph relating this sweep's unchanged pairs to the user's "108 pairs"."""
    n = int(kinds_table["n_pairs"].sum())
    s = int(kinds_table.loc[kinds_table["kind"] == "structural", "n_pairs"].sum())
    b = n - s
    return (f"The user's earlier system reported {user_count} identical pairs of its 625; this sweep has "
            f"{n} unchanged pairs of {n_pairs_total}. {s} of them are structural (every due day the same, "
            f"mu = 0 on this grid: no trade can help by construction) and {b} behavioural. The counts are "
            f"not comparable one for one: the earlier system differed in rules that move the count "
            f"(model.md §9: holder claims sized 18.2/9.1/72.7% rather than 25/12.5/62.5%, A3; traded prices at par "
            f"whatever rho, A8; a new ring per rho value, A39), so its {user_count} pairs are neither our "
            f"{n} nor our {b}; the hypotheses below are tested on the {b} behavioural pairs, the only ones "
            f"where trading could have made a difference.")
