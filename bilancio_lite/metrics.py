"""Run and pair metrics (§7): default rates, pair classes, dealer usage.

Run metrics are computed from a finished run's :class:`record.RunRecord` (rows read by name with
``schema.SYS`` / ``schema.REPAY``), pair metrics from the two :class:`record.RunResult`.

Default counts are integers, and δ is their ratio over the same denominator in both regimes, so
the effect class is decided exactly (§7.2).
"""

from __future__ import annotations

from typing import Any

from .params import ModelParams
from .record import RunRecord, RunResult
from .schema import EFFECT_CLASSES, REPAY, STRESS_REGIMES, SYS

_LOW, _MEDIUM, _CATASTROPHIC = STRESS_REGIMES
_IMPROVED, _UNCHANGED, _WORSENED = EFFECT_CLASSES


def stress_regime(delta_passive: float) -> str:
    """§7.2: low if < 0.1, medium if in [0.1, 0.9], catastrophic if > 0.9."""
    if delta_passive < 0.1:
        return _LOW
    return _CATASTROPHIC if delta_passive > 0.9 else _MEDIUM


def effect_class(defaulted_passive: int, defaulted_active: int) -> str:
    """§7.2: exact comparison of defaulted-lineage counts."""
    if defaulted_passive > defaulted_active:
        return _IMPROVED
    return _UNCHANGED if defaulted_passive == defaulted_active else _WORSENED


def run_metrics(rec: RunRecord) -> dict[str, Any]:
    """§7.1 and §7.3 (with the §7.5 diagnostics) for one finished run."""
    info, c, S, N = rec.info, rec.counters, rec.S, rec.N
    n_lin = info.n_lineages
    defaulted_lineages = sum(rec.lineage_defaulted)
    ring_defaulted = sum(rec.lineage_defaulted[:info.n_ring_tickets])
    n_def = len(rec.default_day)
    days = len(rec.dealer_active_days)
    active_days = [t for t, a in enumerate(rec.dealer_active_days) if a]
    trades = c.interior + c.passthrough
    sys_rows = rec.rows.sys
    faces = [r[SYS.total_face_outstanding] for r in sys_rows]
    dtm = [r[SYS.debt_to_money] for r in sys_rows]
    i_out, i_face, i_used = REPAY.outcome, REPAY.face_value, REPAY.used_dealer
    face = {"defaulted": 0.0, "repaid": 0.0}
    traded = {"defaulted": 0.0, "repaid": 0.0}
    for row in rec.rows.repay:  # face-weighted share of liabilities whose trader traded (§7.3)
        face[row[i_out]] += row[i_face]
        if row[i_used]:
            traded[row[i_out]] += row[i_face]
    frac_traded = {k: traded[k] / face[k] if face[k] > 0 else 0.0 for k in face}
    dealer0, vbt0 = rec.equity0
    dealer1, vbt1 = rec.equity_end
    dealer_pnl, vbt_pnl = sum(dealer1) - sum(dealer0), sum(vbt1) - sum(vbt0)
    default_days = list(rec.default_day.values())
    i_M = (SYS.M_short, SYS.M_mid, SYS.M_long)
    return {
        "defaulted_lineages": defaulted_lineages,
        "n_lineages": n_lin,
        "delta": defaulted_lineages / n_lin,
        "phi": 1 - defaulted_lineages / n_lin,
        "delta_initial": c.initial_defaulted / n_lin,
        "delta_matured": c.matured_defaulted / c.matured if c.matured else 0.0,
        "loss_rate": 1 - c.recovered / (S * c.matured) if c.matured else 0.0,
        "delta_ring": ring_defaulted / info.n_ring_tickets,
        "n_defaulted_traders": n_def,
        "trader_default_rate": n_def / N,
        "first_default_day": min(default_days) if default_days else None,
        "dealer_trade_count": trades,
        "trader_dealer_trade_count": trades,
        "interior_count": c.interior,
        "passthrough_count": c.passthrough,
        "limit_hit_count": c.limit_hits,
        "failed_attempts": c.failed,
        "transfer_count": c.transfers,
        "n_traders_using_dealer": len(rec.traders_used),
        "total_face_traded": S * trades,
        "total_cash_volume": c.cash_volume,
        "dealer_active_fraction": len(active_days) / days if days else 0.0,
        "dealer_empty_fraction": 1 - len(active_days) / days if days else 0.0,
        "vbt_usage_fraction": sum(rec.vbt_used_days) / days if days else 0.0,
        "dealer_last_active_day": active_days[-1] if active_days else None,
        "mean_debt_to_money": sum(dtm) / len(dtm) if dtm else 0.0,
        "final_debt_to_money": dtm[-1] if dtm else 0.0,
        "debt_shrink_rate": (faces[0] - faces[-1]) / faces[0] if faces and faces[0] > 0 else 0.0,
        "frac_defaulted_that_traded": frac_traded["defaulted"],
        "frac_repaid_that_traded": frac_traded["repaid"],
        "dealer_pnl": dealer_pnl,
        "dealer_return": dealer_pnl / sum(dealer0) if sum(dealer0) > 0 else 0.0,
        "vbt_pnl": vbt_pnl,
        "vbt_return": vbt_pnl / sum(vbt0) if sum(vbt0) > 0 else 0.0,
        "unfunded_rollovers": c.unfunded,
        "vbt_overdraft": rec.vbt_overdraft,
        # §7.5 diagnostics (rev 2)
        "declined_rollovers": c.declined,
        "rationed_seller_days": c.rationed,
        "trade_day_share_day0": c.trades_day0 / trades if trades else None,
        "last_customer_trade_day": rec.last_trade_day,
        "last_default_day": max(default_days) if default_days else None,
        "defaults_after_cycle1": c.defaults_after_cycle1,
        "min_M": min(min(r[k] for k in i_M) for r in sys_rows) if sys_rows else None,
        "dealer_inventory_from_customers_share": (c.dealer_ticket_days_customers / c.dealer_ticket_days
                                                  if c.dealer_ticket_days else 0.0),
        "mean_rollover_price": c.rollover_price_sum / c.rolled if c.rolled else None,
    }


def comparison_row(p: ModelParams, passive: RunResult, active: RunResult) -> dict[str, Any]:
    """§8.5: one row per pair (plus the documented additions of schema.COMPARISON)."""
    mp, ma = passive.metrics, active.metrics
    d_p, d_a = mp["delta"], ma["delta"]
    effect = d_p - d_a
    harmed = sorted(set(active.default_day) - set(passive.default_day))
    rescued = sorted(set(passive.default_day) - set(active.default_day))
    mm_active, mm_passive = ma["dealer_pnl"] + ma["vbt_pnl"], mp["dealer_pnl"] + mp["vbt_pnl"]
    mm_cost = mm_passive - mm_active  # what trading cost the market makers (the subsidy)
    return {
        "kappa": p.kappa, "concentration": p.concentration, "mu": p.mu, "monotonicity": p.monotonicity,
        "outside_mid_ratio": p.outside_mid_ratio, "seed": p.seed, "replicate": p.replicate,
        "variant": p.variant, "n_traders": p.n_traders, "maturity_days": p.maturity_days, "face_value": p.face_value,
        "Q_total": p.Q_total, "vbt_share": p.vbt_share, "dealer_share": p.dealer_share,
        "share_basis": p.share_basis, "horizon_H": p.H, "t_end": p.last_day, "rollover": p.rollover,
        "rollover_lender": p.rollover_lender, "rollover_price": p.rollover_price,
        "rollover_price_floor": p.rollover_price_floor, "clearing": p.clearing,
        "anchor_update": p.anchor_update, "anchor_loss_basis": p.anchor_loss_basis, "invest": p.invest,
        "kappa_eff": passive.info.kappa_eff, "initial_tickets": passive.info.n_lineages,
        "delta_passive": d_p, "delta_active": d_a, "phi_passive": mp["phi"], "phi_active": ma["phi"],
        "delta_initial_passive": mp["delta_initial"], "delta_initial_active": ma["delta_initial"],
        "delta_matured_passive": mp["delta_matured"], "delta_matured_active": ma["delta_matured"],
        "loss_rate_passive": mp["loss_rate"], "loss_rate_active": ma["loss_rate"],
        "trader_default_rate_passive": mp["trader_default_rate"],
        "trader_default_rate_active": ma["trader_default_rate"],
        "trading_effect": effect,
        "trading_relief_ratio": effect / d_p if d_p > 0 else 0.0,
        "effect_class": effect_class(mp["defaulted_lineages"], ma["defaulted_lineages"]),
        "stress_regime": stress_regime(d_p),
        "identical_default_set": passive.default_day == active.default_day,
        "total_trades": ma["dealer_trade_count"], "passthrough_count": ma["passthrough_count"],
        "limit_hit_count": ma["limit_hit_count"], "n_traders_using_dealer": ma["n_traders_using_dealer"],
        "dealer_total_pnl": ma["dealer_pnl"], "dealer_total_return": ma["dealer_return"],
        "vbt_total_pnl": ma["vbt_pnl"],
        "failed_attempts": ma["failed_attempts"], "rationed_seller_days": ma["rationed_seller_days"],
        "declined_rollovers_passive": mp["declined_rollovers"],
        "declined_rollovers_active": ma["declined_rollovers"],
        "trade_day_share_day0": ma["trade_day_share_day0"],
        "last_customer_trade_day": ma["last_customer_trade_day"],
        "last_default_day_passive": mp["last_default_day"], "last_default_day_active": ma["last_default_day"],
        "defaults_after_cycle1_passive": mp["defaults_after_cycle1"],
        "defaults_after_cycle1_active": ma["defaults_after_cycle1"],
        "min_M_active": ma["min_M"],
        "dealer_inventory_from_customers_share": ma["dealer_inventory_from_customers_share"],
        "harmed_traders": len(harmed), "rescued_traders": len(rescued),
        "mean_rollover_price_passive": mp["mean_rollover_price"],
        "mean_rollover_price_active": ma["mean_rollover_price"],
        "passive_run_id": passive.run_id, "active_run_id": active.run_id, "status": "ok",
        "delta_ring_passive": mp["delta_ring"], "delta_ring_active": ma["delta_ring"],
        "defaulted_lineages_passive": mp["defaulted_lineages"],
        "defaulted_lineages_active": ma["defaulted_lineages"],
        "n_defaulted_traders_passive": mp["n_defaulted_traders"],
        "n_defaulted_traders_active": ma["n_defaulted_traders"],
        "first_default_day_passive": mp["first_default_day"],
        "first_default_day_active": ma["first_default_day"],
        "interior_count": ma["interior_count"],
        "transfer_count": ma["transfer_count"], "total_face_traded": ma["total_face_traded"],
        "total_cash_volume": ma["total_cash_volume"],
        "dealer_active_fraction": ma["dealer_active_fraction"],
        "dealer_empty_fraction": ma["dealer_empty_fraction"],
        "vbt_usage_fraction": ma["vbt_usage_fraction"],
        "dealer_last_active_day": ma["dealer_last_active_day"],
        "frac_defaulted_that_traded": ma["frac_defaulted_that_traded"],
        "frac_repaid_that_traded": ma["frac_repaid_that_traded"],
        "vbt_total_return": ma["vbt_return"],
        "mean_debt_to_money_passive": mp["mean_debt_to_money"],
        "mean_debt_to_money_active": ma["mean_debt_to_money"],
        "debt_shrink_rate_passive": mp["debt_shrink_rate"],
        "debt_shrink_rate_active": ma["debt_shrink_rate"],
        "market_open_from": p.market_open_from, "market_open_until": p.market_open_until,
        "mm_cash_ratio": p.mm_cash, "mm_total_pnl": mm_active, "mm_total_pnl_passive": mm_passive,
        "avoided_defaults_per_mm_loss": (p.face_value * (mp["defaulted_lineages"] - ma["defaulted_lineages"])
                                         / mm_cost if mm_cost > 0 else None),
    }
