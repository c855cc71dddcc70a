"""Sweep variants (§6.4): validation, pair ids that never collide, outputs that name the variant."""

from __future__ import annotations

import hashlib
import re

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bilancio_lite import ModelParams
from bilancio_lite.analysis import load_sweep
from bilancio_lite.analysis.io import sweep_variants
from bilancio_lite.cli import main
from bilancio_lite.sweep import SweepConfig, SweepConfigError, load_sweep_config, run_sweep
from factories.sweeps import PLAN024, REPO, SMOKE

ROBUSTNESS = REPO / "params" / "robustness.yaml"
#: sha256 of the Plan 024 pair ids, one per line, computed with the code before variants existed
PLAN024_IDS_SHA = "14398f5d4ceb65a8f6d7dfd1e46b173b32b075d1b4af43e3b27f5773bec16efa"
SMOKE_IDS_SHA = "21803c0e525142b28a30cdc0430597b6be83c12771d933a2209997a75a43691a"


def errors_of(data: dict) -> list[str]:
    with pytest.raises(SweepConfigError) as exc:
        SweepConfig.from_dict(data, default_name="t")
    return exc.value.lines


def small(**extra) -> dict:
    return {"model": {"n_traders": 10, "Q_total": 400.0}, "grid": {"kappa": [0.5, 2]}, **extra}


# --- ids of sweeps without variants are unchanged ------------------------------------------------
@pytest.mark.parametrize("path, sha, n", [(PLAN024, PLAN024_IDS_SHA, 625), (SMOKE, SMOKE_IDS_SHA, 16)])
def test_pair_ids_without_variants_are_byte_identical_to_before(path, sha, n):
    ids = [p.pair_id for p in load_sweep_config(path).pairs()]
    assert len(ids) == n
    assert hashlib.sha256("\n".join(ids).encode()).hexdigest() == sha
    assert all(re.fullmatch(r"k[\d.]+_c[\d.]+_mu[\d.]+_rho[\d.]+_s42", i) for i in ids)


def test_config_hash_of_a_sweep_without_variants_is_unchanged():
    # the hash of plan024 before variants existed: old output folders are still accepted
    assert load_sweep_config(PLAN024).config_hash() == "5860406cf6f3e22b"


# --- validation -------------------------------------------------------------------------------------
@pytest.mark.parametrize("variants, needle", [
    ({"a": {"kapa": 1}}, "variants.a.kapa: unknown model field (did you mean 'kappa'?)"),
    ({"a": {"kappa": 1}}, "variants.a.kappa: repeats the grid axis grid.kappa"),
    ({"a": {"seed": 3}}, "variants.a.seed: not allowed in a variant"),
    ({"a": {"variant": "x"}}, "variants.a.variant: not allowed in a variant"),
    ({"a__b": {}}, "variants.a__b: invalid variant name"),
    ({"a b": {}}, "variants.a b: invalid variant name"),
    ({"a": {"horizon_H": -1}}, "variants.a.horizon_H: Input should be greater than or equal to 0"),
    ({"a": {"rollover_lender": "sometimes"}}, "variants.a.rollover_lender:"),
    ({"a": [1, 2]}, "variants.a"),
])
def test_bad_variants_get_one_line_naming_the_variant(variants, needle):
    lines = errors_of(small(variants=variants))
    assert any(needle in ln for ln in lines), lines
    assert all("\n" not in ln for ln in lines)


def test_bad_variant_from_the_command_line_is_one_line_and_exit_2(tmp_path, capsys):
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(small(variants={"base": {}, "h": {"kappa": 3}})))
    assert main(["sweep", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "variants.h.kappa: repeats the grid axis grid.kappa" in err[0]
    assert not (tmp_path / "o").exists()


def test_variant_written_twice_is_refused(tmp_path):
    f = tmp_path / "dup.yaml"
    f.write_text("grid: {kappa: [1]}\nvariants:\n  a: {}\n  a: {horizon_H: 3}\n")
    with pytest.raises(SweepConfigError, match="variants.a: key written twice"):
        load_sweep_config(f)


# --- ids with variants and extra axes -------------------------------------------------------------
def test_variant_ids_prefix_the_variant_and_name_the_extra_axes():
    cfg = SweepConfig.from_dict(small(grid={"kappa": [0.5, 2], "phi_M": [1, 2]},
                                      variants={"base": {}, "h3": {"horizon_H": 3}}), default_name="t")
    ids = [p.pair_id for p in cfg.pairs()]
    assert ids[0] == "base__k0.5_c1_mu0.5_rho0.75_s42_phi_M-1"
    assert ids[-1] == "h3__k2_c1_mu0.5_rho0.75_s42_phi_M-2"
    assert cfg.n_pairs == len(ids) == 8 == len(set(ids))
    assert [p.variant for p in cfg.pairs()] == ["base"] * 4 + ["h3"] * 4
    assert all(p.params.H == 3 for p in cfg.pairs() if p.variant == "h3")


def test_a_grid_axis_outside_the_pair_id_is_named_in_it():
    # before variants, a grid over horizon_H was refused for colliding ids; now it is named
    cfg = SweepConfig.from_dict({"grid": {"kappa": [1], "horizon_H": [1, 3]}}, default_name="t")
    assert [p.pair_id for p in cfg.pairs()] == ["k1_c1_mu0.5_rho0.75_s42_horizon_H-1",
                                               "k1_c1_mu0.5_rho0.75_s42_horizon_H-3"]


def test_colliding_ids_are_refused_even_if_the_id_scheme_broke(monkeypatch):
    # the guard of _check_cells: if two pairs ever shared an id the file would be refused
    monkeypatch.setattr(ModelParams, "pair_id", property(lambda self: "same"))
    lines = errors_of(small(variants={"a": {}, "b": {"horizon_H": 3}}))
    assert any("share the pair id 'same'" in ln for ln in lines)


names = st.from_regex(r"[A-Za-z0-9]{1,4}(?:[-._][A-Za-z0-9]{1,3}){0,2}", fullmatch=True)
values = st.sampled_from([0.25, 0.5, 1, 1.5, 2, 4, 0.1, 0.30000000000000004, 0.3])


@settings(max_examples=40, deadline=None)
@given(variant_names=st.lists(names, min_size=1, max_size=4, unique=True),
       kappas=st.lists(values, min_size=1, max_size=3, unique=True),
       phis=st.lists(st.sampled_from([0.5, 1.0, 1.25, 2.0, 3.0]), min_size=1, max_size=3, unique=True),
       overrides=st.lists(st.sampled_from([{}, {"horizon_H": 3}, {"rollover_lender": "liquidity_aware"},
                                           {"anchor_update": "off"}]), min_size=4, max_size=4))
def test_no_two_pairs_of_any_sweep_share_an_id(variant_names, kappas, phis, overrides):
    variants = {v: overrides[i] for i, v in enumerate(variant_names)}  # identical overrides too
    cfg = SweepConfig.from_dict(small(grid={"kappa": kappas, "phi_M": phis}, variants=variants,
                                      replicates=2), default_name="t")
    pairs = cfg.pairs()
    ids = [p.pair_id for p in pairs]
    run_ids = [p.params.run_id(r) for p in pairs for r in ("passive", "active")]
    assert len(ids) == len(set(ids)) == cfg.n_pairs
    assert len(run_ids) == len(set(run_ids))
    for p in pairs:  # the id names the variant first, then the cell, replicate seed and extra axes
        assert p.pair_id.startswith(f"{p.variant}__k")
        assert p.pair_id.endswith(f"_phi_M-{p.params.phi_M:g}")


# --- params/robustness.yaml ------------------------------------------------------------------------
def test_robustness_file_has_the_issue_variants_on_the_plan024_grid():
    cfg = load_sweep_config(ROBUSTNESS)
    assert cfg.grid == load_sweep_config(PLAN024).grid
    assert cfg.variants == {
        "baseline": {}, "lender_choice": {"rollover_lender": "liquidity_aware"},
        "risk_priced": {"rollover_price": "risk_priced"}, "horizon_1": {"horizon_H": 1},
        "horizon_3": {"horizon_H": 3}, "loss_basis_maturing": {"anchor_loss_basis": "maturing"},
        "anchors_off": {"anchor_update": "off"}, "sequential_clearing": {"clearing": "sequential"},
        "shares_original": {"share_basis": "original"}}
    pairs = cfg.pairs()
    assert cfg.replicates >= 5  # 07's CIs are over replicate seeds (issue 20)
    assert len(pairs) == cfg.n_pairs == 9 * 625 * cfg.replicates == len({p.pair_id for p in pairs})
    logged = {p.variant for p in pairs if p.params.detailed_logging}
    assert logged == {"baseline", "lender_choice"}  # what notebook 06 reads
    assert ModelParams().H == 10 and all(p.params.H == 10 for p in pairs if p.variant == "baseline")


# --- a small sweep with variants, end to end -------------------------------------------------------
@pytest.fixture(scope="module")
def variant_sweep(tmp_path_factory):
    data = {"name": "vs", "model": {"n_traders": 20, "Q_total": 2000.0},
            "grid": {"kappa": [0.5, 2], "mu": [0, 0.75]},
            "variants": {"baseline": {}, "lender": {"rollover_lender": "liquidity_aware"},
                         "h1": {"horizon_H": 1}},
            "output": {"detailed_logging": [{"variant": "baseline"}, {"variant": "lender"}], "shard_size": 6,
                       "format": "csv"}}  # the per-run CSV layout (test_store.py covers Parquet)
    f = tmp_path_factory.mktemp("vs") / "vs.yaml"
    f.write_text(yaml.safe_dump(data, sort_keys=False))
    out = f.parent / "out"
    res = run_sweep(load_sweep_config(f), out, engine="inline", workers=0, log=None, progress=False)
    assert res.exit_code == 0
    return out


@pytest.mark.integration
def test_every_output_of_a_variant_sweep_names_its_variant(variant_sweep):
    out = variant_sweep
    comp = pd.read_csv(out / "aggregate" / "comparison.csv")
    reg = pd.read_csv(out / "registry.csv")
    assert len(comp) == len(reg) == 12
    assert sorted(comp["variant"].unique()) == ["baseline", "h1", "lender"]
    assert (comp["active_run_id"].str.split("_", n=1).str[1].str.split("__").str[0] == comp["variant"]).all()
    assert list(reg.columns[:2]) == ["pair_id", "variant"]
    assert (reg["pair_id"].str.split("__").str[0] == reg["variant"]).all()
    assert (comp.loc[comp["variant"] == "h1", "horizon_H"] == 1).all()
    assert (comp.loc[comp["variant"] == "lender", "rollover_lender"] == "liquidity_aware").all()
    runs = sorted(p.name for p in (out / "active" / "runs").iterdir())
    assert len(runs) == 12 and all(r.startswith(("active_baseline__", "active_lender__", "active_h1__")) for r in runs)
    t = pd.read_csv(next((out / "active" / "runs").glob("active_h1__*")) / "trades.csv")
    assert t.empty  # detailed logging only where selected
    assert sweep_variants(out) == ["baseline", "lender", "h1"]


@pytest.mark.integration
def test_load_sweep_reads_one_variant_by_default(variant_sweep):
    d = load_sweep(variant_sweep)
    assert d.variants == ("baseline",)
    assert set(d.comparison["variant"]) == {"baseline"} and len(d.comparison) == 4
    assert set(d.traders["run_id"].str.split("__").str[0]) == {"passive_baseline", "active_baseline"}
    assert "shows baseline only" in d.scope_note()
    both = load_sweep(variant_sweep, variant=["baseline", "lender"])
    assert len(both.comparison) == 8 and both.traders["run_id"].nunique() == 16
    assert len(load_sweep(variant_sweep, variant=None).comparison) == 12
    with pytest.raises(ValueError, match="not in the sweep"):
        load_sweep(variant_sweep, variant="nope")


@pytest.mark.integration
def test_notebooks_06_and_07_render_on_a_variant_sweep(variant_sweep):
    from bilancio_lite.report import NOTEBOOKS, run_report

    nbs = [NOTEBOOKS / "06_why_the_results_look_this_way.ipynb", NOTEBOOKS / "07_robustness.ipynb"]
    results = run_report(variant_sweep, notebooks=nbs, log=None)
    assert [r["error"] for r in results] == ["", ""]
    html06 = results[0]["html"].read_text()
    assert "this notebook shows baseline only" in html06
    # the lender variant is compared (printed names render as code: bilancio_lite.display.takeaway_markdown)
    assert "<code>rollover_lender</code>=<code>liquidity_aware</code>:" in html06
    html07 = results[1]["html"].read_text()
    for v in ("lender", "h1"):
        assert re.search(rf"{v}: the (headline (survives|weakens|does not survive)|sign of the headline holds)",
                         html07), v
    assert "3 variants, baseline &#x27;baseline&#x27;" in html07 or "3 variants, baseline 'baseline'" in html07
    table = pd.read_csv(variant_sweep / "aggregate" / "robustness_headline.csv")
    assert table["variant"].tolist() == ["baseline", "lender", "h1"] and (table["n_pairs"] == 4).all()
