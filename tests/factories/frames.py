"""Builders for hand-made sweep frames (§8.1–§8.5 columns, comparison rows of §7): the rows the
analysis tests (tests/test_analysis_*.py) feed to bilancio_lite.analysis, with answers known by
construction. N = 4 traders, S = 20 unless a test says otherwise."""

from __future__ import annotations

import pandas as pd

from bilancio_lite import schema

S = 20.0
# The column lists of the §8 files come from the schema (their one home), so a new column needs no
# edit here; the builders below fill only the columns a test cares about.
IDENTITY = schema.identity_names("trades")
TRADE_COLS = schema.columns("trades")
# §8.2's own face_value (liability face) clashes with the identity face_value (S): the logs writer
# names the identity column ticket_face in repayment_events.csv.
REP_IDENTITY = schema.identity_names("repayment_events")
REP_COLS = schema.columns("repayment_events")
INV_COLS = schema.columns("inventory_timeseries")
SYS_COLS = schema.columns("system_state_timeseries")


def P(kappa: float, seed: int = 1, **kw) -> dict:
    """A pair's parameters (and optional comparison overrides)."""
    d = {"kappa": kappa, "concentration": 1.0, "mu": 0.5, "outside_mid_ratio": 0.75, "seed": seed,
         "n_traders": 4}
    d.update(kw)
    return d


def run_id(p: dict, regime: str) -> str:
    return (f"{regime}_k{p['kappa']}_c{p['concentration']}_mu{p['mu']}_rho{p['outside_mid_ratio']}"
            f"_s{p['seed']}")


def ident(p: dict, regime: str) -> dict:
    return {"run_id": run_id(p, regime), "regime": regime, "seed": p["seed"], "kappa": p["kappa"],
            "concentration": p["concentration"], "mu": p["mu"], "monotonicity": 0.0,
            "outside_mid_ratio": p["outside_mid_ratio"], "n_traders": p["n_traders"],
            "face_value": S}


def comparison(*pairs: dict) -> pd.DataFrame:
    """comparison.csv rows: give delta_passive / delta_active (effect, class, stress follow §7.2)."""
    rows = []
    for p in pairs:
        dp, da = p.get("delta_passive", 0.0), p.get("delta_active", 0.0)
        te = p.get("trading_effect", dp - da)
        row = {k: p[k] for k in ("kappa", "concentration", "mu", "outside_mid_ratio", "seed",
                                 "n_traders")}
        row.update(monotonicity=0.0, replicate=p["seed"] - 1, maturity_days=10, face_value=S,
                   Q_total=400.0, initial_tickets=p.get("initial_tickets", 10),
                   delta_passive=dp, delta_active=da, trading_effect=te,
                   trading_relief_ratio=te / dp if dp > 0 else 0.0,
                   effect_class=p.get("effect_class", "improved" if te > 0 else
                                      "unchanged" if te == 0 else "worsened"),
                   stress_regime="low" if dp < 0.1 else "catastrophic" if dp > 0.9 else "medium",
                   identical_default_set=p.get("identical_default_set", False),
                   dealer_total_pnl=p.get("dealer_total_pnl", 0.0), dealer_total_return=0.0,
                   vbt_total_pnl=0.0, passive_run_id=run_id(p, "passive"),
                   active_run_id=run_id(p, "active"), status="ok")
        rows.append(row)
    cols = list(rows[0]) if rows else None
    return pd.DataFrame(rows, columns=cols) if rows else comparison(P(1.0)).iloc[0:0]


def rep(p: dict, regime: str, trader: str, n_tickets: int, outcome: str, strategy: str = "no_trade",
        buys: int = 0, sells: int = 0, cycle: int = 1, day: int = 1, held_traders: float = 0.0) -> dict:
    r = dict.fromkeys(REP_COLS, 0)
    r.update(ident(p, regime))
    r["ticket_face"] = r.pop("face_value")
    r.update(trader_id=trader, liability_id=f"{trader}@{day}", cycle=cycle, maturity_day=day,
             n_tickets=n_tickets, face_value=n_tickets * S, face_held_by_traders=held_traders,
             outcome=outcome,
             recovery_rate=1.0 if outcome == "repaid" else 0.5, buy_count=buys, sell_count=sells,
             strategy=strategy, many_round_trips=False, used_dealer=buys + sells > 0,
             held_matching_maturity=False, ended_holding=False)
    return r


def trade(p: dict, day: int, trader: str | None, side: str = "SELL", route: str = "interior",
          cash: float = 18.0, limit: bool = False, kind: str = "customer", bucket: str = "short") -> dict:
    r = dict.fromkeys(TRADE_COLS, 0)
    r.update(ident(p, "active"))
    if kind == "transfer":
        bt, st, bid, sid = "dealer", "dealer", "DLR_mid", "DLR_long"
    elif side == "SELL":
        bt = "dealer" if route == "interior" else "vbt"
        bid, st, sid = f"{'DLR' if bt == 'dealer' else 'VBT'}_{bucket}", "trader", trader
    else:
        st = "dealer" if route == "interior" else "vbt"
        sid, bt, bid = f"{'DLR' if st == 'dealer' else 'VBT'}_{bucket}", "trader", trader
    r.update(day=day, kind=kind, side=side if kind == "customer" else "TRANSFER", bucket=bucket,
             face=S, unit_price=cash / S, cash_amount=cash, buyer_id=bid, buyer_type=bt,
             seller_id=sid, seller_type=st, route=route, hit_inventory_limit=limit,
             trader_id=trader, is_liquidity_driven=True)
    return r


def inv(p: dict, regime: str, day: int, bucket: str, a: int, start: int | None = None,
        cap: int = 4, outstanding: float = 100.0, vbt_used: bool = False,
        limit: bool = False) -> dict:
    r = dict.fromkeys(INV_COLS, 0)
    r.update(ident(p, regime))
    r.update(day=day, bucket=bucket, dealer_inventory_start=a if start is None else start,
             dealer_inventory=a, dealer_max_capacity=cap, is_at_zero=a == 0,
             hit_limit_this_step=limit, vbt_used_this_step=vbt_used,
             bucket_face_outstanding=outstanding)
    return r


def sysrow(p: dict, regime: str, day: int, F: float, d2m: float) -> dict:
    r = dict.fromkeys(SYS_COLS, 0)
    r.update(ident(p, regime))
    r.update(day=day, total_face_outstanding=F, debt_to_money=d2m)
    return r


def active_liabilities(P1: dict, P1b: dict, P3: dict) -> list[dict]:
    """Seven active-run liabilities over three pairs, one of each strategy (shared by the
    strategy and usage tests): P1 has H1 sell_before (repaid), H2 no_trade (defaulted), H3
    hold_to_maturity (repaid), H4 round_trip (defaulted); P1b one untraded repaid liability;
    P3 H1 untraded repaid and H2 sell_before defaulted."""
    return [
        rep(P1, "active", "H1", 5, "repaid", "sell_before", sells=2),
        rep(P1, "active", "H2", 3, "defaulted", "no_trade"),
        rep(P1, "active", "H3", 2, "repaid", "hold_to_maturity", buys=1),
        rep(P1, "active", "H4", 1, "defaulted", "round_trip", buys=1, sells=1),
        rep(P1b, "active", "H1", 2, "repaid", "no_trade"),
        rep(P3, "active", "H1", 5, "repaid", "no_trade"),
        rep(P3, "active", "H2", 3, "defaulted", "sell_before", sells=1),
    ]


def frame(rows: list[dict], cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=cols)
