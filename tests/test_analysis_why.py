"""Notebook 06's tables (§7.5): trade days, defaults by cycle, mid path, provenance, mechanisms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bilancio_lite.analysis import why


def traders_frame(rows):
    """rows: (regime, trader_id, default_day or None); pair 'P', N = 4."""
    return pd.DataFrame([{"run_id": f"{r}_P", "regime": r, "trader_id": t, "default_day": d, "n_traders": 4}
                         for r, t, d in rows])


def sale(trader, day, issuer, due):
    return {"run_id": "active_P", "regime": "active", "kind": "customer", "side": "SELL",
            "seller_type": "trader", "seller_id": trader, "day": day, "issuer_id": issuer,
            "ticket_due_day": due}


COMP = pd.DataFrame({"active_run_id": ["active_P"], "variant": [""], "rollover_lender": ["forced"]})


def mechanisms(traders, sales):
    trades = pd.DataFrame(sales, columns=list(sale("H1", 0, "H4", 1)))
    return why.trader_mechanisms(traders_frame(traders), trades, COMP).set_index("trader_id")["mechanism"].to_dict()


def test_each_harmed_mechanism():
    # H1 harmed after selling a claim on H4 due day 1 (H4 defaults on day 2: it paid); H2 harmed after selling a claim whose issuer
    # (H1) defaulted by its due day; H3 harmed without a sale, its debtor H2 defaulted with trading
    # only; H4 harmed for no listed reason
    traders = [("passive", t, None) for t in ("H1", "H2", "H3", "H4")] + [
        ("active", "H1", 3), ("active", "H2", 5), ("active", "H3", 6), ("active", "H4", 2)]
    m = mechanisms(traders, [sale("H1", 0, "H4", 1), sale("H2", 1, "H1", 4)])
    assert m == {"H1": "sold_claim_that_paid", "H2": "sold_claim_issuer_defaulted",
                 "H3": "debtor_defaulted_active_only", "H4": "other"}


def test_each_rescued_mechanism_and_sales_after_the_default_day_do_not_count():
    # H2 rescued by a sale on day 2 (its passive default day); H3 rescued without a sale because
    # its debtor H2 was rescued; H4 sold only after its passive default day: other
    traders = [("passive", "H1", None), ("passive", "H2", 2), ("passive", "H3", 4), ("passive", "H4", 1)] + [
        ("active", t, None) for t in ("H1", "H2", "H3", "H4")]
    m = mechanisms(traders, [sale("H2", 2, "H1", 5), sale("H4", 3, "H3", 8)])
    assert m == {"H2": "rescued_by_sale", "H3": "debtor_rescued", "H4": "other"}


def test_mechanisms_need_only_the_rows_of_defaulted_traders():
    # the declared read keeps traders with defaulted = True: the other rows never change the result
    traders = traders_frame([("passive", "H1", None), ("passive", "H2", 2), ("passive", "H3", 4), ("passive", "H4", None),
                             ("active", "H1", 3), ("active", "H2", None), ("active", "H3", None), ("active", "H4", None)])
    assert why.trader_mechanisms.reads["traders"].where == {"defaulted": (True,)}
    sales = pd.DataFrame([sale("H2", 2, "H1", 5), sale("H1", 0, "H4", 1)])
    whole = why.trader_mechanisms(traders, sales, COMP)
    assert set(whole["mechanism"]) == {"sold_claim_that_paid", "rescued_by_sale", "debtor_rescued"}
    only = why.trader_mechanisms(traders[traders["default_day"].notna()], sales, COMP)
    pd.testing.assert_frame_equal(only, whole)


def test_h1s_debtor_is_the_last_trader_of_the_ring():
    traders = [("passive", "H1", None), ("passive", "H4", None), ("active", "H1", 3), ("active", "H4", 2)]
    out = why.trader_mechanisms(traders_frame(traders), pd.DataFrame(columns=list(sale("H1", 0, "H4", 1))), COMP)
    assert out.set_index("trader_id").loc["H1", "debtor_id"] == "H4"
    assert out.set_index("trader_id").loc["H1", "mechanism"] == "debtor_defaulted_active_only"


def test_mechanism_counts_list_every_mechanism_and_shares_add_up():
    mech = pd.DataFrame({"outcome": ["harmed", "rescued", "rescued"], "mechanism": ["other", "rescued_by_sale",
                         "debtor_rescued"], "rollover_lender": ["forced", "forced", "liquidity_aware"]})
    c = why.mechanism_counts(mech)
    assert len(c) == len(why.HARMED_MECHANISMS) + len(why.RESCUED_MECHANISMS)
    assert c.groupby("outcome")["share_of_outcome"].sum().tolist() == [1.0, 1.0]
    by = why.mechanism_counts(mech, ["rollover_lender"])
    assert set(by["rollover_lender"]) == {"forced", "liquidity_aware"} and by["n_traders"].sum() == 3
    text = why.takeaway_mechanisms(c)
    assert "1 traders were harmed" in text and "2 traders were rescued" in text
    # a tie between rescued_by_sale and debtor_rescued goes to the first listed mechanism
    assert "rescued by a sale" in text


def test_trade_days_fill_missing_days_and_shares_sum_to_one():
    trades = pd.DataFrame({"run_id": ["a", "a", "b", "b"], "regime": ["active"] * 3 + ["passive"],
                           "kind": ["customer", "customer", "transfer", "customer"], "day": [0, 3, 0, 1]})
    t = why.trade_days(trades, last_day=5)
    assert t["day"].tolist() == list(range(6))
    assert t["n_trades"].tolist() == [1, 0, 0, 1, 0, 0] and t["share"].sum() == pytest.approx(1.0)
    assert "50.0% on day 0, the last on day 3" in why.takeaway_trade_days(t)
    # row counts per (run, regime, kind, day) (Need.counts) give the same table
    more = pd.concat([trades, trades.iloc[[0, 0, 1]]], ignore_index=True)
    grouped = more.groupby(["run_id", "regime", "kind", "day"], as_index=False).size().rename(columns={"size": "n_rows"})
    assert len(grouped) < len(more)
    pd.testing.assert_frame_equal(why.trade_days(grouped, 5), why.trade_days(more, 5))


def test_defaults_by_cycle_counts_defaulted_cohorts():
    rep = pd.DataFrame({"regime": ["passive", "passive", "active", "active"], "cycle": [1, 2, 1, 1],
                        "outcome": ["defaulted", "defaulted", "repaid", "defaulted"],
                        "face_value": [20.0, 40.0, 20.0, 60.0], "maturity_day": [3, 8, 3, 4]})
    t = why.defaults_by_cycle(rep)
    assert t[["regime", "cycle", "n_matured", "n_defaulted"]].values.tolist() == [
        ["passive", 1, 1, 1], ["passive", 2, 1, 1], ["active", 1, 2, 1]]
    assert t.loc[2, "face_defaulted"] == 60.0 and t.loc[2, "default_rate"] == 0.5
    assert "passive: 1 of 2 defaulted cohorts (50%) in cycle 1" in why.takeaway_defaults_by_cycle(t)


def test_defaults_by_cycle_on_grouped_rows_equals_rows():
    rep = pd.DataFrame({"regime": ["passive"] * 4 + ["active"] * 4, "cycle": [1, 1, 2, 2, 1, 1, 3, 3],
                        "outcome": ["defaulted", "defaulted", "repaid", "defaulted"] * 2,
                        "face_value": [20.0, 40.0, 20.0, 60.0, 80.0, 20.0, 40.0, 20.0],
                        "maturity_day": [3, 3, 8, 9, 4, 5, 12, 12]})
    keys = ["regime", "cycle", "outcome", "maturity_day"]
    grouped = rep.groupby(keys, as_index=False).agg(n_rows=("face_value", "size"), face_value=("face_value", "sum"))
    assert len(grouped) < len(rep)
    pd.testing.assert_frame_equal(why.defaults_by_cycle(grouped), why.defaults_by_cycle(rep))


def test_pair_of_strips_the_regime_keeping_the_index():
    run_id = pd.Series(["active_k0.5_s1", "passive_k0.5_s1", "active_k1_s2", "active_k0.5_s1"], index=[7, 3, 5, 1])
    got = why.pair_of(run_id)
    assert got.tolist() == ["k0.5_s1", "k0.5_s1", "k1_s2", "k0.5_s1"] and got.index.tolist() == [7, 3, 5, 1]


def test_outside_mid_path_gives_mean_and_quantiles_per_bucket_and_day():
    ss = pd.DataFrame({"regime": ["active"] * 4, "day": [0, 0, 1, 1], "M_short": [1.0, 0.5, 0.8, 0.4],
                       "M_mid": [1.0] * 4, "M_long": [1.0] * 4})
    p = why.outside_mid_path(ss)
    row = p[(p["bucket"] == "short") & (p["day"] == 1)].iloc[0]
    assert row["mean_M"] == pytest.approx(0.6) and row["p10_M"] == pytest.approx(0.44)
    assert "short 0.750 -> 0.600" in why.takeaway_outside_mid(p)


def test_lender_scope_keeps_variants_that_change_only_the_lender(tmp_path):
    assert why.lender_scope(tmp_path) is None
    (tmp_path / "sweep.yaml").write_text("variants:\n  base: {}\n  lc: {rollover_lender: liquidity_aware}\n"
                                         "  both: {rollover_lender: liquidity_aware, horizon_H: 3}\n")
    assert why.lender_scope(tmp_path) == ["base", "lc"]


def test_diagnostics_table_summarises_pairs_per_lender():
    comp = pd.DataFrame({"rollover_lender": ["forced", "forced", "liquidity_aware"], "trading_effect": [0.1, 0.3, 0.0],
                         "trade_day_share_day0": [1.0, 0.5, None], "defaults_after_cycle1_active": [0, 2, 1],
                         "declined_rollovers_active": [0, 0, 7], "dealer_inventory_from_customers_share": [0.1, 0.3, 0.0],
                         "rationed_seller_days": [1, 2, 3], "harmed_traders": [1, 0, 0], "rescued_traders": [2, 3, 4],
                         "min_M_active": [0.5, 0.7, 0.6]})
    t = why.diagnostics_table(comp, "rollover_lender").set_index("rollover_lender")
    assert t.loc["forced", "n_pairs"] == 2 and t.loc["forced", "mean_trading_effect"] == pytest.approx(0.2)
    assert t.loc["forced", "mean_share_trades_day0"] == pytest.approx(0.75)
    assert t.loc["forced", "pairs_with_defaults_after_cycle1"] == 1
    assert t.loc["liquidity_aware", "declined_rollovers_active"] == 7
    assert why.diagnostics_table(comp)["pairs"].tolist() == ["all pairs"]


def test_inventory_provenance_counts_each_source():
    trades = pd.DataFrame({"run_id": ["active_P"] * 3 + ["passive_P"], "regime": ["active"] * 3 + ["passive"],
                           "kind": ["customer", "transfer", "customer", "transfer"],
                           "side": ["SELL", "TRANSFER", "BUY", "TRANSFER"], "route": ["interior", "", "interior", ""],
                           "buyer_type": ["dealer", "dealer", "trader", "dealer"],
                           "seller_type": ["trader", "dealer", "dealer", "dealer"]})
    comp = COMP.assign(dealer_inventory_from_customers_share=0.25)
    rep = pd.DataFrame({"run_id": ["active_P", "active_P", "passive_P"], "regime": ["active", "active", "passive"],
                        "outcome": ["repaid", "defaulted", "repaid"], "face_held_by_dealers": [40.0, 20.0, 60.0],
                        "ticket_face": [20.0] * 3})
    tr = pd.DataFrame({"run_id": ["active_P", "active_P", "passive_P"], "regime": ["active", "active", "passive"],
                       "dealer_tickets": [1, 2, 5]})
    p = why.inventory_provenance(trades, comp, rep, tr).iloc[0]
    assert (p["tickets_bought_from_customers"], p["tickets_sold_to_customers"], p["tickets_rehomed_in"]) == (1, 1, 1)
    assert p["tickets_at_t0"] == 3 and p["tickets_repaid_to_dealers"] == 2
    assert p["mean_share_ticket_days_from_customers"] == 0.25
    assert "3 received at t = 0" in why.takeaway_provenance(why.inventory_provenance(trades, comp, rep, tr))
    # grouped rows (Need.counts): faces and tickets summed per distinct combination of the rest
    g_rep = rep.groupby(["run_id", "regime", "outcome", "ticket_face"], as_index=False).agg(
        n_rows=("outcome", "size"), face_held_by_dealers=("face_held_by_dealers", "sum"))
    g_tr = tr.groupby(["run_id", "regime"], as_index=False).agg(n_rows=("regime", "size"),
                                                                dealer_tickets=("dealer_tickets", "sum"))
    pd.testing.assert_frame_equal(why.inventory_provenance(trades, comp, g_rep, g_tr),
                                  why.inventory_provenance(trades, comp, rep, tr))
