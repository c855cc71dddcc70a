"""The sweep's attribution table (output.attribution, docs/model.md §12) and its summaries."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import yaml

from bilancio_lite import load_sweep, simulate_pair
from bilancio_lite.analysis.channels import (CHANNELS, agreement_rate, channel_shares, collateral_means,
                                             label_agreement, rule_set, with_rule_set)
from bilancio_lite.attribution import attribute, revert_counts
from bilancio_lite.errors import SweepConfigError
from bilancio_lite.schema import COMPARISON_ATTRIBUTION, columns
from bilancio_lite.store import ATTRIBUTION, TABLES, check_part, sha256_file
from bilancio_lite.sweep import SweepConfig, run_sweep

from factories.sweeps import SMOKE


def config(scope: str | None, **output):
    data = yaml.safe_load(SMOKE.read_text())
    if scope is not None:
        data["output"]["attribution"] = scope
    data["output"].update(output)
    return SweepConfig.from_dict(data)


def run(cfg, out):
    return run_sweep(cfg, out, engine="inline", workers=0, log=None, progress=False)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("attr")
    run(config("off"), root / "off")
    run(config("changed"), root / "changed")
    return root


def test_default_is_off_and_csv_cannot_hold_it():
    data = yaml.safe_load(SMOKE.read_text())
    data["output"].pop("attribution", None)
    assert SweepConfig.from_dict(data).output.attribution == "off"  # measured: on costs > 40% (config.py)
    assert SweepConfig.from_dict({**data, "output": {"format": "csv"}}).output.attribution == "off"
    # overriding the format (bilancio-lite sweep --format csv) turns a file's attribution off
    on = {**data, "output": {**data["output"], "attribution": "changed"}}
    assert SweepConfig.from_dict(on).output.attribution == "changed"
    assert SweepConfig.from_dict(on, format="csv").output.attribution == "off"
    with pytest.raises(SweepConfigError, match="attribution must be off with format csv"):
        config("changed", format="csv")
    with pytest.raises(SweepConfigError, match="attribution"):
        config("everyone")
    # the option changes no pair's results: the config hash (and so an existing store) is kept
    assert config("off").config_hash() == config("changed").config_hash()


def test_the_table_holds_attribute_of_every_pair(swept):
    sw = load_sweep(swept / "changed")
    att = sw.attribution
    assert list(att.columns) == columns("attribution")
    comp = sw.comparison
    assert len(att) == int(comp["harmed_traders"].sum() + comp["rescued_traders"].sum()) + int(
        (att["change"] == "moved").sum())
    assert len(att) > 0
    pairs = {p.pair_id: p for p in config("changed").pairs()}
    for rid in sorted(set(att["run_id"]))[:3]:
        want = attribute(simulate_pair(pairs[rid.removeprefix("active_")].params))
        got = att[att["run_id"] == rid].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert int(sw.sql("select count(*) as n from attribution")["n"].iloc[0]) == len(att)


def test_existing_outputs_are_unchanged_and_comparison_gains_revert_counts(swept):
    off, on = swept / "off", swept / "changed"
    for t in TABLES:  # the five run tables and the pair rows: byte for byte
        for part in sorted((off / "tables" / t).glob("part-*.parquet")):
            assert sha256_file(part) == sha256_file(on / "tables" / t / part.name), part
    assert not (off / "tables" / ATTRIBUTION).exists()
    a = (off / "aggregate" / "comparison.csv").read_text().splitlines()
    b = (on / "aggregate" / "comparison.csv").read_text().splitlines()
    names = [c.name for c in COMPARISON_ATTRIBUTION]
    assert b[0] == a[0] + "," + ",".join(names)
    assert all(lb.startswith(la + ",") for la, lb in zip(a[1:], b[1:])) and len(a) == len(b)
    sw = load_sweep(on)
    comp, att = sw.comparison, sw.attribution
    for _, row in comp.iterrows():
        want = revert_counts(att[att["run_id"] == row["active_run_id"]])
        assert {k: int(row[k]) for k in names} == want
    assert int(sw.sql("select sum(rescued_revert_own_sales) as n from comparison")["n"].iloc[0]) == \
        int(comp["rescued_revert_own_sales"].sum())


def test_a_damaged_or_missing_attribution_part_is_recomputed(swept, tmp_path):
    out = tmp_path / "store"
    shutil.copytree(swept / "changed", out)
    want = load_sweep(out).attribution
    status = json.loads((out / "status" / "shard_0000.json").read_text())
    rec = status["parts"][ATTRIBUTION]
    part = out / "tables" / rec["file"]
    part.write_bytes(part.read_bytes()[:-10] + b"0123456789")
    assert "sha256" in check_part(out, rec)
    res = run(config("changed"), out)
    assert res.n_ok == 8 and res.n_skipped == 8  # one shard of 8 recomputed
    pd.testing.assert_frame_equal(load_sweep(out).attribution, want)


def test_turning_attribution_on_for_an_existing_store_adds_the_table(swept, tmp_path):
    out = tmp_path / "store"
    shutil.copytree(swept / "off", out)
    res = run(config("changed"), out)
    assert res.n_ok == 16  # no shard had an attribution part
    pd.testing.assert_frame_equal(load_sweep(out).attribution, load_sweep(swept / "changed").attribution)
    res = run(config("off"), out)  # and back: nothing to redo
    assert res.n_skipped == 16
    res = run(config("harmed"), out)  # another scope: every shard is redone with it
    assert res.n_ok == 16
    changed = load_sweep(swept / "changed").attribution
    want = changed[changed["change"] == "harmed"].reset_index(drop=True)
    got = load_sweep(out).attribution
    assert len(got) == len(want)  # (no harmed trader in the smoke sweep)
    pd.testing.assert_frame_equal(got, want, check_index_type=False, check_dtype=False)
    assert json.loads((out / "status" / "shard_0000.json").read_text())["attribution"] == "harmed"


# --- summaries ---------------------------------------------------------------------------------------
def _toy() -> pd.DataFrame:
    rows = []
    for k, (change, revs, channel) in enumerate([
            ("harmed", {"paper_sales", "mm_rollover"}, "paper_sales+mm_rollover"),
            ("harmed", {"own_sales"}, "own_sales"),
            ("harmed", set(), "joint"),
            ("harmed", set(), "not explained"),
            ("rescued", {"own_sales"}, "own_sales")]):
        r = {"run_id": "active_p1", "trader_id": f"H{k + 1}", "change": change, "channel": channel}
        for iv in ("own_sales", "paper_sales", "own_buys", "mm_rollover", "passive_prices", "joint"):
            r[f"{iv}_applies"] = iv != "own_buys"
            r[f"{iv}_reverts"] = iv in revs or (iv == "joint" and channel == "joint")
            r[f"{iv}_collateral"] = k if iv != "own_buys" else None
        rows.append(r)
    return pd.DataFrame(rows)


def test_channel_shares_count_each_reverting_single_and_the_joint_rest():
    s = channel_shares(_toy()).set_index("change")
    assert list(s.columns) == ["n_traders", *CHANNELS]
    assert s.loc["harmed", "n_traders"] == 4
    assert s.loc["harmed", "paper_sales"] == 0.25 and s.loc["harmed", "mm_rollover"] == 0.25
    assert s.loc["harmed", "own_sales"] == 0.25 and s.loc["harmed", "joint"] == 0.25
    assert s.loc["harmed", "not explained"] == 0.25 and s.loc["harmed", "own_buys"] == 0.0
    assert s.loc["rescued", "own_sales"] == 1.0


def test_collateral_means_per_intervention():
    c = collateral_means(_toy()).set_index("intervention")
    assert c.loc["own_sales", "runs"] == 5 and c.loc["own_sales", "mean_collateral"] == 2.0
    assert c.loc["own_sales", "max_collateral"] == 4
    assert c.loc["own_buys", "runs"] == 0
    assert c.loc["own_sales", "share_reverting"] == 0.4


def test_label_agreement_checks_what_each_old_label_claims():
    mech = pd.DataFrame({"pair_id": ["p1"] * 5, "trader_id": ["H1", "H2", "H3", "H4", "H5"],
                         "outcome": ["harmed"] * 4 + ["rescued"],
                         "mechanism": ["sold_claim_that_paid", "sold_claim_that_paid",
                                       "debtor_defaulted_active_only", "other", "rescued_by_sale"]})
    ag = label_agreement(mech, _toy()).set_index("trader_id")
    assert not ag.loc["H1", "agrees"] and ag.loc["H2", "agrees"]   # own sales revert H2 only
    assert ag.loc["H3", "agrees"]                                   # joint: explained, not own sales
    assert pd.isna(ag.loc["H4", "agrees"]) and ag.loc["H5", "agrees"]
    rate = agreement_rate(ag.reset_index()).set_index("mechanism")
    assert rate.loc["sold_claim_that_paid", "n_agree"] == 1 and rate.loc["sold_claim_that_paid", "share_agree"] == 0.5
    assert pd.isna(rate.loc["other", "share_agree"])


def test_rule_sets_name_variants_or_rules():
    comp = pd.DataFrame({"active_run_id": ["active_a", "active_b"], "rollover_price": ["par", "risk_priced"],
                         "rollover_lender": ["forced", "forced"], "variant": ["", ""]})
    assert rule_set(comp).tolist() == ["par / forced", "risk_priced / forced"]
    assert rule_set(comp.assign(variant=["base", "rp"])).tolist() == ["base", "rp"]
    att = pd.DataFrame({"run_id": ["active_b", "active_a"]})
    assert with_rule_set(att, comp)["rule_set"].tolist() == ["risk_priced / forced", "par / forced"]


def test_channel_figure_is_labelled_and_the_outcome_table_reads_as_text():
    import matplotlib

    matplotlib.use("Agg")
    from bilancio_lite import plots
    from bilancio_lite.analysis.channels import outcome_table
    from factories.figures import assert_labelled

    toy = _toy().assign(rule_set=["a", "a", "b", "b", "b"])
    assert_labelled(plots.channel_shares(channel_shares(toy, ["rule_set"]), "rule_set"))
    toy = toy.assign(default_day_passive=[None] * 4 + [3], default_day_active=[18] * 4 + [None],
                     **{f"{iv}_default_day": None for iv in ("own_sales", "paper_sales", "own_buys", "mm_rollover",
                                                             "passive_prices", "joint")})
    t = outcome_table(toy).set_index("trader_id")
    assert t.loc["H1", "paper_sales"] == "none, reverts"
    assert t.loc["H2", "paper_sales"] == "none, +1 others"
    assert t.loc["H1", "own_buys"] == "" and t.loc["H5", "passive"] == "day 3" and t.loc["H1", "active"] == "day 18"
