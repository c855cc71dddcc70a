"""Strategy outcomes (spec §8.6 A, labels of §7.4) and traded vs never-traded liabilities.

All tables are built from active-run repayment rows (§8.2); passive rows are all ``no_trade`` by
construction. Face is liability face ``n_tickets × S``. Rates are face-weighted and are 0 when the
face in the denominator is 0 (§8.6 A).

The functions that only count liabilities and add up faces (:func:`strategy_outcomes_by_run`,
:func:`traded_vs_untraded`, :func:`strategy_flags`) also accept the rows grouped, with a row count
:data:`~.needs.COUNT` and the face columns summed (``Need(counts=True)``, issue 10); faces are
integer-valued (``n_tickets × S``), so their sums are exact in any order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._common import (
    CELL_KEYS, PAIR_CONTEXT, PAIR_KEYS, STRATEGIES, as_list, empty_frame, pair_context, ratio,
    regime_rows, require, sort_frame, with_liability_face,
)
from .needs import ACTIVE, COUNT, Need, columns, reads, row_counts

if TYPE_CHECKING:
    from .io import SweepData

_PER_STRATEGY = ("count", "face", "default_count", "default_face", "default_rate", "face_share")

#: Columns of :func:`strategy_outcomes_by_run`.
BY_RUN_COLUMNS: list[str] = (
    list(PAIR_CONTEXT) + ["active_run_id", "total_liabilities", "total_face_value",
                          "default_face_total", "default_rate_total"]
    + [f"{m}_{s}" for s in STRATEGIES for m in _PER_STRATEGY]
)
OVERALL_COLUMNS: list[str] = list(CELL_KEYS) + [
    "strategy", "n_runs", "total_face", "default_face", "default_rate", "runs_using_strategy",
    "mean_trading_effect"]
CUT_VALUE_COLUMNS: list[str] = [
    "strategy", "n_runs", "runs_using_strategy", "face", "face_share", "default_face", "default_rate"]
CORRELATION_COLUMNS: list[str] = ["strategy", "n_runs", "pearson_r", "spearman_r"]
TRADED_VALUE_COLUMNS: list[str] = [
    "traded_liabilities", "traded_face", "traded_default_face", "traded_default_rate",
    "untraded_liabilities", "untraded_face", "untraded_default_face", "untraded_default_rate",
    "rate_difference"]

_REP_COLUMNS = list(PAIR_KEYS) + ["regime", "n_tickets", "outcome", "strategy"]
#: The repayment columns :func:`~._common.with_liability_face` takes the liability face from.
LIABILITY_FACE_COLUMNS: tuple[str, ...] = ("n_tickets", "face_value", "ticket_face")
#: The face columns summed per group when the active rows come grouped (``ticket_face`` = S is a key).
_FACE_SUMS: tuple[str, ...] = ("n_tickets", "face_value")


def _active_counts(*flags: str) -> Need:
    """The active repayment rows grouped by pair, outcome, strategy and ``flags``, faces summed."""
    return Need(columns(_REP_COLUMNS, LIABILITY_FACE_COLUMNS, flags), where=ACTIVE, counts=True,
                sums=_FACE_SUMS)


def _check_strategies(strategy: pd.Series) -> None:
    """Raise ``ValueError`` on a missing or unknown strategy label (§7.4)."""
    bad = set(strategy.dropna().unique()) - set(STRATEGIES)
    if bad or strategy.isna().any():
        raise ValueError(f"unknown strategy label(s) {sorted(map(str, bad))}; expected {STRATEGIES}")


def _active_repayments(repayments: pd.DataFrame, comparison: pd.DataFrame,
                       extra: Sequence[str] = ()) -> pd.DataFrame:
    """The active rows (raw, or grouped with :data:`~.needs.COUNT`) with ``liability_face``,
    ``is_default``, ``default_face`` and the weight ``_n`` (:func:`~.needs.row_counts`); of the input's
    columns only :data:`_REP_COLUMNS`, the face columns and ``extra`` are kept (issue 10: a copy of
    every repayment column was 03's memory peak)."""
    require(repayments, [c for c in _REP_COLUMNS if c != "n_tickets"], "repayments")
    wanted = {*_REP_COLUMNS, *LIABILITY_FACE_COLUMNS, "liability_face", COUNT, *extra}
    repayments = repayments[[c for c in repayments.columns if c in wanted]]
    rep = with_liability_face(regime_rows(repayments, "active"), comparison)
    _check_strategies(rep["strategy"])
    rep["_n"] = row_counts(rep)
    rep["is_default"] = rep["outcome"] == "defaulted"
    rep["default_face"] = rep["liability_face"].where(rep["is_default"], 0.0)
    return rep


@reads(repayments=_active_counts())
def strategy_outcomes_by_run(repayments: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """aggregate/strategy_outcomes_by_run.csv (§8.6 A): one row per pair (active run).

    Columns: :data:`PAIR_CONTEXT`, ``active_run_id``, ``total_liabilities``, ``total_face_value``,
    ``default_face_total``, ``default_rate_total`` and for each strategy s ``count_s``,
    ``face_s``, ``default_count_s``, ``default_face_s``, ``default_rate_s`` (0 if ``face_s`` is 0)
    and ``face_share_s`` (= ``face_s/total_face_value``, 0 if no face).
    """
    ctx = pair_context(comparison, extra=["active_run_id"])
    if "active_run_id" not in ctx.columns:
        ctx["active_run_id"] = None
    if ctx.empty:
        return empty_frame(BY_RUN_COLUMNS)
    rep = _active_repayments(repayments, comparison)
    pk = list(PAIR_KEYS)
    rep["_n_default"] = rep["_n"].where(rep["is_default"], 0)
    per = (rep.groupby(pk + ["strategy"])
           .agg(count=("_n", "sum"), face=("liability_face", "sum"),
                default_count=("_n_default", "sum"), default_face=("default_face", "sum"))
           .unstack("strategy"))
    wide = pd.DataFrame(index=per.index)
    for s in STRATEGIES:
        for m in ("count", "face", "default_count", "default_face"):
            wide[f"{m}_{s}"] = per[(m, s)] if (m, s) in per.columns else 0
    out = ctx.merge(wide.reset_index(), on=pk, how="left")
    for s in STRATEGIES:
        for m in ("count", "default_count"):
            out[f"{m}_{s}"] = out[f"{m}_{s}"].fillna(0).astype("int64")
        for m in ("face", "default_face"):
            out[f"{m}_{s}"] = out[f"{m}_{s}"].fillna(0.0).astype("float64")
    out["total_liabilities"] = sum(out[f"count_{s}"] for s in STRATEGIES)
    out["total_face_value"] = sum(out[f"face_{s}"] for s in STRATEGIES)
    out["default_face_total"] = sum(out[f"default_face_{s}"] for s in STRATEGIES)
    out["default_rate_total"] = ratio(out["default_face_total"], out["total_face_value"])
    for s in STRATEGIES:
        out[f"default_rate_{s}"] = ratio(out[f"default_face_{s}"], out[f"face_{s}"])
        out[f"face_share_{s}"] = ratio(out[f"face_{s}"], out["total_face_value"])
    return sort_frame(out[BY_RUN_COLUMNS], pk)


def _long(by_run: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per (run, strategy) with the run's group keys."""
    parts = []
    for s in STRATEGIES:
        part = by_run[keys + ["trading_effect", "total_face_value"]].copy()
        part["strategy"] = s
        part["count"] = by_run[f"count_{s}"].to_numpy()
        part["face"] = by_run[f"face_{s}"].to_numpy()
        part["default_face"] = by_run[f"default_face_{s}"].to_numpy()
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def strategy_outcomes_overall(by_run: pd.DataFrame) -> pd.DataFrame:
    """aggregate/strategy_outcomes_overall.csv (§8.6 A): one row per (kappa, c, mu, rho,
    strategy) over replicates, from :func:`strategy_outcomes_by_run`.

    Columns: cell keys, ``strategy``, ``n_runs``, ``total_face``, ``default_face``,
    ``default_rate`` (0 if no face), ``runs_using_strategy`` (runs with ``count_s > 0``) and
    ``mean_trading_effect`` over those runs (NaN if none).
    """
    if by_run.empty:
        return empty_frame(OVERALL_COLUMNS)
    keys = list(CELL_KEYS)
    long = _long(by_run, keys)
    long["used"] = long["count"] > 0
    long["effect_if_used"] = long["trading_effect"].where(long["used"])
    out = (long.groupby(keys + ["strategy"], sort=False)
           .agg(n_runs=("count", "size"), total_face=("face", "sum"),
                default_face=("default_face", "sum"), runs_using_strategy=("used", "sum"),
                mean_trading_effect=("effect_if_used", "mean"))
           .reset_index())
    out["default_rate"] = ratio(out["default_face"], out["total_face"])
    out["runs_using_strategy"] = out["runs_using_strategy"].astype("int64")
    return sort_frame(out[OVERALL_COLUMNS], keys + ["strategy"])


def strategy_cut(by_run: pd.DataFrame, by: str | Sequence[str]) -> pd.DataFrame:
    """Strategy face shares and default rates per group of runs (§8.6 A standard cuts).

    Columns: the ``by`` columns, ``strategy``, ``n_runs``, ``runs_using_strategy``, ``face``,
    ``face_share`` (strategy face / all matured face of the group's runs), ``default_face``,
    ``default_rate`` (0 if no face).
    """
    keys = as_list(by)
    if by_run.empty:
        return empty_frame(keys + CUT_VALUE_COLUMNS)
    require(by_run, keys, "strategy_outcomes_by_run table")
    long = _long(by_run, keys)
    long["used"] = long["count"] > 0
    out = (long.groupby(keys + ["strategy"], sort=False, dropna=False)
           .agg(n_runs=("count", "size"), runs_using_strategy=("used", "sum"),
                face=("face", "sum"), default_face=("default_face", "sum"))
           .reset_index())
    group_face = by_run.groupby(keys, dropna=False)["total_face_value"].sum().rename("_gf").reset_index()
    out = out.merge(group_face, on=keys, how="left")
    out["face_share"] = ratio(out["face"], out["_gf"])
    out["default_rate"] = ratio(out["default_face"], out["face"])
    out["runs_using_strategy"] = out["runs_using_strategy"].astype("int64")
    return sort_frame(out[keys + CUT_VALUE_COLUMNS], keys + ["strategy"])


def strategy_by_effect_class(by_run: pd.DataFrame) -> pd.DataFrame:
    """:func:`strategy_cut` by ``effect_class``."""
    return strategy_cut(by_run, "effect_class")


def strategy_by_stress_regime(by_run: pd.DataFrame) -> pd.DataFrame:
    """:func:`strategy_cut` by ``stress_regime``."""
    return strategy_cut(by_run, "stress_regime")


def strategy_by_stress_and_effect(by_run: pd.DataFrame) -> pd.DataFrame:
    """:func:`strategy_cut` by ``stress_regime`` × ``effect_class``."""
    return strategy_cut(by_run, ["stress_regime", "effect_class"])


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= 1e-24 or syy <= 1e-24:
        return float("nan")
    return float(dx @ dy / np.sqrt(sxx * syy))


def strategy_effect_correlation(by_run: pd.DataFrame) -> pd.DataFrame:
    """Correlation of ``trading_effect`` with each strategy's run-level face share (§8.6 A).

    Runs with no matured face are skipped. Columns: ``strategy``, ``n_runs``, ``pearson_r``,
    ``spearman_r`` (NaN with fewer than 2 runs or a constant series).
    """
    if by_run.empty:
        return empty_frame(CORRELATION_COLUMNS)
    runs = by_run.loc[by_run["total_face_value"] > 0]
    y = runs["trading_effect"].to_numpy(dtype="float64")
    rows = []
    for s in STRATEGIES:
        x = runs[f"face_share_{s}"].to_numpy(dtype="float64")
        rx = pd.Series(x).rank().to_numpy()
        ry = pd.Series(y).rank().to_numpy()
        rows.append({"strategy": s, "n_runs": len(runs), "pearson_r": _pearson(x, y),
                     "spearman_r": _pearson(rx, ry)})
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)


@reads(repayments=_active_counts("buy_count", "sell_count"))
def traded_vs_untraded(repayments: pd.DataFrame, comparison: pd.DataFrame,
                       by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Face-weighted default rates of traded vs never-traded liabilities (§8.6 A/B).

    A liability (active repayment row) is *traded* if ``buy_count + sell_count > 0`` in its window.
    ``by`` names pair columns (e.g. ``"effect_class"``, ``"stress_regime"``, cell keys); ``None``
    gives one overall row. Columns: ``by`` columns + :data:`TRADED_VALUE_COLUMNS`;
    ``rate_difference = untraded_default_rate - traded_default_rate`` (rates 0 when face is 0).
    """
    keys = as_list(by)
    cols = keys + TRADED_VALUE_COLUMNS
    ctx = pair_context(comparison)
    require(repayments, ["buy_count", "sell_count"], "repayments")
    rep = _active_repayments(repayments, comparison, extra=["buy_count", "sell_count"])
    if ctx.empty or rep.empty:
        return empty_frame(cols)
    require(ctx, keys, "comparison")
    ctx_cols = list(PAIR_KEYS) + [k for k in keys if k not in PAIR_KEYS]
    rep = rep.drop(columns=[k for k in keys if k not in PAIR_KEYS and k in rep.columns])
    rep = rep.merge(ctx[ctx_cols], on=list(PAIR_KEYS), how="inner")
    if rep.empty:
        return empty_frame(cols)
    rep["traded"] = (rep["buy_count"] + rep["sell_count"]) > 0
    for flag, name in ((True, "traded"), (False, "untraded")):
        m = rep["traded"] == flag
        rep[f"{name}_liabilities"] = rep["_n"].where(m, 0)
        rep[f"{name}_face"] = rep["liability_face"].where(m, 0.0)
        rep[f"{name}_default_face"] = rep["default_face"].where(m, 0.0)
    sums = [f"{n}_{m}" for n in ("traded", "untraded") for m in ("liabilities", "face", "default_face")]
    if keys:
        out = rep.groupby(keys, dropna=False)[sums].sum().reset_index()
    else:
        out = rep[sums].sum().to_frame().T
    for n in ("traded", "untraded"):
        out[f"{n}_liabilities"] = out[f"{n}_liabilities"].astype("int64")
        out[f"{n}_default_rate"] = ratio(out[f"{n}_default_face"], out[f"{n}_face"])
    out["rate_difference"] = out["untraded_default_rate"] - out["traded_default_rate"]
    return sort_frame(out[cols], keys)


# --------------------------------------------------------------------------- notebook 03 helpers

#: Columns of :func:`strategy_vs_passive` (after the ``by`` columns).
PAIRED_VALUE_COLUMNS: list[str] = [
    "strategy", "n_liabilities", "face", "default_rate_active", "n_matched",
    "default_rate_passive", "n_repaid_both", "n_rescued", "n_harmed", "n_defaulted_both",
    "n_no_passive_row"]
FLAG_COLUMNS: list[str] = [
    "n_pairs", "n_pairs_invest", "n_liabilities", "n_traded", "n_with_buy", "n_with_sell",
    "n_hold_to_maturity", "n_round_trip", "n_many_round_trips", "n_held_matching_maturity",
    "face_many_round_trips", "default_rate_many_round_trips"]


#: Columns of :func:`paired_liabilities` / :func:`read_paired_liabilities` (after the ``by`` columns).
PAIRED_ROW_COLUMNS: list[str] = ["strategy", "outcome", "liability_face", "passive_outcome", "passive_face"]


@reads(repayments=Need(columns(_REP_COLUMNS, LIABILITY_FACE_COLUMNS, "liability_id", "buy_count", "sell_count",
                               "held_matching_maturity", "many_round_trips")))  # by: one of these flags
def strategy_vs_passive(repayments: pd.DataFrame, comparison: pd.DataFrame,
                        by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Each active liability paired with the same liability (same pair, same ``liability_id``) in
    the passive run: does a strategy turn defaults into repayments? (§7.4, §8.6 A)

    :func:`paired_by_strategy` of :func:`paired_liabilities`; ``by`` names repayment columns such as
    ``held_matching_maturity`` or ``many_round_trips``.
    """
    return paired_by_strategy(paired_liabilities(repayments, comparison, by), by)


def paired_liabilities(repayments: pd.DataFrame, comparison: pd.DataFrame,
                       by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """One row per active liability of the comparison's pairs (§8.2) with its passive counterpart
    (same pair, same ``liability_id``; at most one, else ``ValueError``): the ``by`` columns and
    :data:`PAIRED_ROW_COLUMNS`, ``passive_outcome``/``passive_face`` missing when there is none."""
    keys = as_list(by)
    pk = list(PAIR_KEYS)
    ctx = pair_context(comparison)
    require(repayments, ["liability_id", "buy_count", "sell_count"] + keys, "repayments")
    # only the columns used below are carried through the merge (issue 10: 03's memory peak)
    used = list(dict.fromkeys(pk + keys + ["liability_id", "strategy", "outcome", "liability_face"]))
    act = _active_repayments(repayments, comparison, extra=used)[used].merge(ctx[pk], on=pk, how="inner")
    pas = with_liability_face(regime_rows(repayments, "passive"), comparison)
    pas = pas[pk + ["liability_id", "outcome", "liability_face"]].rename(
        columns={"outcome": "passive_outcome", "liability_face": "passive_face"})
    m = act.merge(pas, on=pk + ["liability_id"], how="left", validate="one_to_one")
    return m[keys + PAIRED_ROW_COLUMNS]


def read_paired_liabilities(data: SweepData, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`paired_liabilities` of a :class:`~.io.SweepData`'s pairs, joined and grouped by
    DuckDB (issue 10): one row per distinct ``by`` columns, strategy, outcome and passive outcome,
    with the row count :data:`~.needs.COUNT` and both faces summed. The liability face is the
    repayment table's ``face_value`` (§8.2; the sweep's tables name S ``ticket_face``), so a sum
    is exact. A liability with two passive rows would be counted twice here (the raw path raises)."""
    keys = [f'"{k}"' for k in as_list(by)]
    on = ", ".join(f'"{c}"' for c in (*PAIR_KEYS, "liability_id"))
    order = ", ".join([*keys, "strategy", "outcome", "passive_outcome"])
    query = f"""
        WITH a AS (SELECT {", ".join([on, *keys])}, strategy, outcome, face_value AS liability_face
                   FROM repayment_events WHERE regime = 'active'),
             p AS (SELECT {on}, outcome AS passive_outcome, face_value AS passive_face
                   FROM repayment_events WHERE regime = 'passive')
        SELECT {"".join(k + ", " for k in keys)}strategy, NULLIF(outcome, '') AS outcome,
               NULLIF(passive_outcome, '') AS passive_outcome, count(*)::BIGINT AS {COUNT},
               fsum(liability_face) AS liability_face, fsum(passive_face) AS passive_face
        FROM a LEFT JOIN p USING ({on})
        GROUP BY ALL ORDER BY {order} NULLS LAST"""
    return data.sql(query)[as_list(by) + PAIRED_ROW_COLUMNS + [COUNT]]


def paired_by_strategy(paired: pd.DataFrame, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """The strategy-vs-passive table (§7.4, §8.6 A) from :func:`paired_liabilities` rows (or
    :func:`read_paired_liabilities` groups, weighted by :data:`~.needs.COUNT`).

    One row per strategy (all four, in order; per ``by`` group if given):
    ``n_liabilities`` and ``face`` (active), ``default_rate_active`` (face-weighted over all of
    them), ``n_matched`` (those with a passive row), ``default_rate_passive`` (face-weighted over
    the matched passive rows), and the paired counts ``n_repaid_both``, ``n_rescued`` (defaulted
    in passive, repaid in active), ``n_harmed`` (repaid in passive, defaulted in active),
    ``n_defaulted_both``. ``n_no_passive_row`` counts active liabilities without a passive
    counterpart (the trader had already defaulted, or a rollover lapsed, in the passive run).
    Rates are 0 when their face is 0.
    """
    keys = as_list(by)
    require(paired, keys + PAIRED_ROW_COLUMNS, "paired liabilities")
    _check_strategies(paired["strategy"])
    n = row_counts(paired)
    matched = paired["passive_outcome"].notna()
    p_def = paired["passive_outcome"] == "defaulted"
    a_def = paired["outcome"] == "defaulted"
    p_face = paired["passive_face"]
    m = paired[keys + ["strategy"]].assign(
        n_liabilities=n, face=paired["liability_face"], _dface=paired["liability_face"].where(a_def, 0.0),
        n_matched=n.where(matched, 0), _pface=p_face.where(matched, 0.0), _pdface=p_face.where(p_def, 0.0),
        n_repaid_both=n.where(matched & ~p_def & ~a_def, 0), n_rescued=n.where(p_def & ~a_def, 0),
        n_harmed=n.where(matched & ~p_def & a_def, 0), n_defaulted_both=n.where(p_def & a_def, 0),
        n_no_passive_row=n.where(~matched, 0))
    full = (pd.MultiIndex.from_product([sorted(m[k].dropna().unique()) for k in keys]
                                       + [list(STRATEGIES)], names=keys + ["strategy"])
            if keys else pd.Index(list(STRATEGIES), name="strategy"))
    g = m.groupby(keys + ["strategy"]).sum().reindex(full).fillna(0).reset_index()
    g["default_rate_active"] = ratio(g["_dface"], g["face"])
    g["default_rate_passive"] = ratio(g["_pdface"], g["_pface"])
    for c in ("n_liabilities", "n_matched", "n_repaid_both", "n_rescued", "n_harmed",
              "n_defaulted_both", "n_no_passive_row"):
        g[c] = g[c].astype("int64")
    return sort_frame(g[keys + PAIRED_VALUE_COLUMNS], keys + ["strategy"])


@reads(repayments=_active_counts("buy_count", "sell_count", "many_round_trips", "held_matching_maturity"))
def strategy_flags(repayments: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """One-row census of the active liabilities (§7.4): how many pairs had the buyer policy on
    (``invest``, NaN if the column is absent), how many liabilities were traded, had a buy or a
    sell, were ``hold_to_maturity`` / ``round_trip``, carry the ``many_round_trips`` flag or
    ``held_matching_maturity``; plus the face and face-weighted default rate of the
    many-round-trip liabilities (0 if none). Columns: :data:`FLAG_COLUMNS`."""
    require(repayments, ["buy_count", "sell_count", "many_round_trips", "held_matching_maturity"],
            "repayments")
    ctx = pair_context(comparison)
    act = _active_repayments(repayments, comparison,
                             extra=["buy_count", "sell_count", "many_round_trips", "held_matching_maturity"]
                             ).merge(ctx[list(PAIR_KEYS)], on=list(PAIR_KEYS))
    many = act["many_round_trips"].astype(bool)
    face_many = float(act.loc[many, "liability_face"].sum())
    inv = comparison["invest"].astype(bool).sum() if "invest" in comparison.columns else np.nan
    n = act["_n"]
    row = {"n_pairs": len(ctx), "n_pairs_invest": inv, "n_liabilities": int(n.sum()),
           "n_traded": int(n[(act["buy_count"] + act["sell_count"]) > 0].sum()),
           "n_with_buy": int(n[act["buy_count"] > 0].sum()),
           "n_with_sell": int(n[act["sell_count"] > 0].sum()),
           "n_hold_to_maturity": int(n[act["strategy"] == "hold_to_maturity"].sum()),
           "n_round_trip": int(n[act["strategy"] == "round_trip"].sum()),
           "n_many_round_trips": int(n[many].sum()),
           "n_held_matching_maturity": int(n[act["held_matching_maturity"].astype(bool)].sum()),
           "face_many_round_trips": face_many,
           "default_rate_many_round_trips": ratio(float(act.loc[many, "default_face"].sum()), face_many)}
    return pd.DataFrame([row], columns=FLAG_COLUMNS)


def traded_long(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`traded_vs_untraded` in long form for plotting: per group, one row for ``traded``
    and one for ``never traded`` liabilities with ``n_liabilities``, ``face``, ``default_face``
    and ``default_rate``. Group columns are whatever precedes the value columns."""
    keys = [c for c in table.columns if c not in TRADED_VALUE_COLUMNS]
    cols = keys + ["liabilities", "n_liabilities", "face", "default_face", "default_rate"]
    if table.empty:
        return empty_frame(cols)
    parts = []
    for name, label in (("traded", "traded"), ("untraded", "never traded")):
        part = table[keys].copy()
        part["liabilities"] = label
        part["n_liabilities"] = table[f"{name}_liabilities"].to_numpy()
        part["face"] = table[f"{name}_face"].to_numpy()
        part["default_face"] = table[f"{name}_default_face"].to_numpy()
        part["default_rate"] = table[f"{name}_default_rate"].to_numpy()
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[cols]
