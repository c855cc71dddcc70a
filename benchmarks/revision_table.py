"""The Plan 024 grid under one set of model rules: the figures of the revision-2 closing notes.

    python benchmarks/revision_table.py                                   # revision 2 defaults
    python benchmarks/revision_table.py rollover_lender=liquidity_aware
    python benchmarks/revision_table.py rollover_price=risk_priced --save rp.json
    python benchmarks/revision_table.py --compare-passive rev1.json       # passive identity check

Runs the 625 pairs in process (2 workers) and prints one block of figures. Everything is computed
from the run tables and the pair's parameters, not from revision-2 metrics, so the same script
runs against an older checkout (``PYTHONPATH=/path/to/old python benchmarks/revision_table.py``)
and the two outputs compare like for like. `--save` writes every passive run's results (δ,
δ_initial, trader default rate, each trader's default day) as JSON; `--compare-passive` checks
them pair by pair against such a file.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

GRID = dict(kappa=[0.25, 0.5, 1, 2, 4], concentration=[0.2, 0.5, 1, 2, 5], mu=[0, 0.25, 0.5, 0.75, 1],
            outside_mid_ratio=[1.0, 0.9, 0.8, 0.75, 0.5])


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def one_pair(args: tuple[dict, dict]) -> dict:
    from bilancio_lite import ModelParams, simulate_pair
    point, overrides = args
    pair = simulate_pair(ModelParams(**point, **overrides))
    c, ps, ac = pair.comparison, pair.passive, pair.active
    tr = ac.tables["trades"]
    cust = tr[tr["kind"] == "customer"]
    sys_a = ac.tables["system_state_timeseries"]
    traders = ac.tables["traders"].set_index("trader_id")
    harmed = sorted(set(ac.default_day) - set(ps.default_day))
    rescued = sorted(set(ps.default_day) - set(ac.default_day))
    # harmed traders that sold a claim which (or whose rolled successor) falls due on the day the
    # seller defaulted: in the baseline every ticket of issuer j has dT = T_j (traders.csv)
    succ_harm = 0
    for h in harmed:
        d_def = ac.default_day[h]
        sold = cust[(cust["trader_id"] == h) & (cust["side"] == "SELL") & (cust["day"] <= d_def)]
        for r in sold.itertuples():
            dT = int(traders.loc[r.issuer_id, "own_due_day"])
            if r.ticket_due_day <= d_def and (d_def - r.ticket_due_day) % dT == 0:
                succ_harm += 1
                break
    def_rows = {reg: run.tables["repayment_events"] for reg, run in (("passive", ps), ("active", ac))}
    after1 = {reg: int(rows.loc[(rows["outcome"] == "defaulted") & (rows["cycle"] > 1), "n_tickets"].sum())
              for reg, rows in def_rows.items()}
    last_def = {reg: max(run.default_day.values(), default=-1) for reg, run in (("passive", ps), ("active", ac))}
    cols = sys_a.columns
    return {
        "point": point,
        "delta_passive": c["delta_passive"], "delta_active": c["delta_active"],
        "effect": c["trading_effect"], "class": c["effect_class"],
        "harmed": len(harmed), "rescued": len(rescued), "harmed_successor_sale": succ_harm,
        "trades": len(cust), "trades_day0": int((cust["day"] == 0).sum()),
        "trade_days_after0": int(cust.loc[cust["day"] > 0, "day"].nunique()),
        "rationed": int(sys_a["n_rationed_sellers"].sum()) if "n_rationed_sellers" in cols else math.nan,
        "declined": int(sys_a["declined_rollovers"].sum()) if "declined_rollovers" in cols else 0,
        "declined_passive": (int(ps.tables["system_state_timeseries"]["declined_rollovers"].sum())
                             if "declined_rollovers" in cols else 0),
        "final_M": float(sys_a["M_short"].iloc[-1]), "M_zero": bool(sys_a["M_short"].iloc[-1] <= 0),
        "dealer_return": c["dealer_total_return"], "vbt_return": c.get("vbt_total_return", math.nan),
        "after_cycle1_passive": after1["passive"], "after_cycle1_active": after1["active"],
        "last_default_passive": last_def["passive"], "last_default_active": last_def["active"],
        "mean_q_active": (float(sys_a["mean_rollover_price"].mean()) if "mean_rollover_price" in cols
                          and sys_a["mean_rollover_price"].notna().any() else 1.0),
        "min_cash": float(min(run.tables[f][col].min() for run in (ps, ac) for f, col in
                              (("system_state_timeseries", "cash_traders"), ("system_state_timeseries", "cash_dealers"),
                               ("system_state_timeseries", "cash_vbts"), ("inventory_timeseries", "dealer_cash"),
                               ("inventory_timeseries", "vbt_cash"), ("trades", "trader_cash_after"),
                               ("trades", "dealer_cash_after")) if len(run.tables[f]))),
        "passive_record": {"delta": ps.metrics["delta"], "delta_initial": ps.metrics["delta_initial"],
                           "trader_default_rate": ps.metrics["trader_default_rate"],
                           "default_day": dict(sorted(ps.default_day.items()))},
        "dealer_inventory_by_day": (ac.tables["inventory_timeseries"].groupby("day")["dealer_inventory"].sum()
                                    .tolist()),
    }


def summarize(rows: list[dict]) -> list[str]:
    n = len(rows)
    mean = lambda k: sum(r[k] for r in rows) / n  # noqa: E731
    classes = {k: sum(r["class"] == k for r in rows) for k in ("improved", "unchanged", "worsened")}
    trades = sum(r["trades"] for r in rows)
    rho75 = [r for r in rows if r["point"]["outside_mid_ratio"] == 0.75]
    inv = [sum(r["dealer_inventory_by_day"][d] for r in rows) / n for d in (0, 1, 5, 10, 20, 30)
           if d < len(rows[0]["dealer_inventory_by_day"])]
    return [
        f"pairs                                  {n}",
        f"mean delta passive / active            {mean('delta_passive'):.4f} / {mean('delta_active'):.4f}",
        f"mean trading effect                    {mean('effect'):+.4f}",
        f"improved / unchanged / worsened        {classes['improved']} / {classes['unchanged']} / {classes['worsened']}",
        f"harmed / rescued traders               {sum(r['harmed'] for r in rows)} / {sum(r['rescued'] for r in rows)}",
        f"harmed after selling a claim that (or whose successor) fell due on the default day  "
        f"{sum(r['harmed_successor_sale'] for r in rows)}",
        f"customer trades; share on day 0        {trades}; {sum(r['trades_day0'] for r in rows) / max(trades, 1):.3f}",
        f"days with customer trades after day 0  {mean('trade_days_after0'):.2f} per run",
        f"rationed seller-days                   {sum(r['rationed'] for r in rows)}",
        f"declined rollovers passive / active    {sum(r['declined_passive'] for r in rows)} / {sum(r['declined'] for r in rows)}",
        f"mean final M at rho = 0.75             {sum(r['final_M'] for r in rho75) / len(rho75):.4f}",
        f"active runs ending with M = 0          {sum(r['M_zero'] for r in rows)}",
        f"mean dealer / VBT return               {mean('dealer_return'):+.4f} / {mean('vbt_return'):+.4f}",
        f"runs with defaults after cycle 1 (passive / active)  "
        f"{sum(r['after_cycle1_passive'] > 0 for r in rows)} / {sum(r['after_cycle1_active'] > 0 for r in rows)}",
        f"last default day (max passive / active) {max(r['last_default_passive'] for r in rows)} / "
        f"{max(r['last_default_active'] for r in rows)}",
        f"mean rollover price (active, mean of daily means)  {mean('mean_q_active'):.4f}",
        "mean dealer inventory (tickets, all buckets) on days 0/1/5/10/20/30  " + " / ".join(f"{x:.1f}" for x in inv),
        f"lowest cash value in any run table     {min(r['min_cash'] for r in rows):.3g}",
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("overrides", nargs="*", help="model field=value, applied to every pair")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--save", type=Path, help="write the passive records to this JSON file")
    ap.add_argument("--compare-passive", type=Path, help="check passive records against this JSON file")
    args = ap.parse_args()
    overrides = dict(kv.split("=", 1) for kv in args.overrides)
    overrides = {k: _value(v) for k, v in overrides.items()}
    points = [dict(zip(GRID, vals)) for vals in itertools.product(*GRID.values())]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as ex:
        rows = list(ex.map(one_pair, [(p, overrides) for p in points], chunksize=8))
    wall = time.perf_counter() - t0
    print(f"Plan 024 grid, overrides {overrides or 'none'}: {wall:.1f} s on {args.workers} workers")
    for line in summarize(rows):
        print("  " + line)
    records = {json.dumps(r["point"], sort_keys=True): r["passive_record"] for r in rows}
    if args.save:
        args.save.write_text(json.dumps(records, sort_keys=True))
    if args.compare_passive:
        old = json.loads(args.compare_passive.read_text())
        diff = [k for k in records if old.get(k) != records[k]]
        print(f"  passive results identical to {args.compare_passive.name}: {len(records) - len(diff)} of "
              f"{len(records)} pairs" + (f"; differing: {diff[:5]}" if diff else ""))
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
