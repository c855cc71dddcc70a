"""Sweep files: validation messages naming the YAML path, defaults, grid expansion (§6.3, §6.4)."""

from __future__ import annotations

import pytest
import yaml

from bilancio_lite.cli import main
from bilancio_lite.sweep import SweepConfig, SweepConfigError, load_sweep_config
from factories.sweeps import PLAN024, REPO, SMOKE


def smoke_dict() -> dict:
    return yaml.safe_load(SMOKE.read_text())


def errors_of(data: dict) -> list[str]:
    with pytest.raises(SweepConfigError) as exc:
        SweepConfig.from_dict(data)
    return exc.value.lines


# --- the shipped files ----------------------------------------------------------------------------
def test_plan024_expands_to_625_pairs_in_a_fixed_order():
    cfg = load_sweep_config(PLAN024)
    pairs = cfg.pairs()
    assert cfg.n_pairs == len(pairs) == 625
    assert len({p.pair_id for p in pairs}) == 625
    assert [p.index for p in pairs] == list(range(625))
    assert pairs[0].pair_id == "k0.25_c0.2_mu0_rho1_s42"       # first value of every axis
    assert pairs[1].pair_id == "k0.25_c0.2_mu0_rho0.9_s42"     # last axis varies fastest
    assert pairs[-1].pair_id == "k4_c5_mu1_rho0.5_s42"
    assert all(p.params.n_traders == 100 and p.params.detailed_logging for p in pairs)
    assert [p.pair_id for p in load_sweep_config(PLAN024).pairs()] == [p.pair_id for p in pairs]
    shards = cfg.shards(32)
    assert len(shards) == cfg.n_shards(32) == 20 and sum(map(len, shards)) == 625
    assert [p for sh in shards for p in sh] == pairs


@pytest.mark.parametrize("name, n, check", [
    ("seed003_rho", 375, lambda p: p.outside_mid_ratio in (0.9, 0.8, 0.7)),
    ("invest", 625, lambda p: p.invest),
    ("smoke", 16, lambda p: p.n_traders == 20),
])
def test_other_sweep_files_expand_to_their_pair_counts(name, n, check):
    cfg = load_sweep_config(REPO / "params" / f"{name}.yaml")
    assert cfg.name == name and cfg.n_pairs == n
    assert all(check(p.params) for p in cfg.pairs())


@pytest.mark.parametrize("name, r", [("plan024_r5", 5), ("plan024_r20", 20)])
def test_replicated_plan024_files_are_the_plan024_grid_with_r_seeds(name, r):
    """The main job's sweep (R = 5) and plan024_r20 (issue 10): Plan 024's 625 cells, each with
    seeds 42 .. 42 + R - 1, every pair logged in full to the Parquet store."""
    base = load_sweep_config(PLAN024).pairs()
    cfg = load_sweep_config(REPO / "params" / f"{name}.yaml")
    pairs = cfg.pairs()
    assert cfg.name == name and cfg.n_pairs == len(pairs) == 625 * r
    assert cfg.output.format == "parquet"
    assert all(p.params.detailed_logging and p.params.n_traders == 100 for p in pairs)
    cells = {p.pair_id.rsplit("_s", 1)[0] for p in base}
    assert {p.pair_id.rsplit("_s", 1)[0] for p in pairs} == cells
    assert sorted({p.params.seed for p in pairs}) == list(range(42, 42 + r))
    assert len({p.pair_id for p in pairs}) == 625 * r


def test_replicates_set_seed_and_replicate():
    cfg = SweepConfig.from_dict({**smoke_dict(), "replicates": 3, "base_seed": 7})
    pairs = cfg.pairs()
    assert len(pairs) == 48
    assert [(p.seed, p.replicate) for p in pairs[::16]] == [(7, 0), (8, 1), (9, 2)]
    assert all(p.params.seed == 7 + p.replicate for p in pairs)


def test_resolved_file_round_trips(tmp_path):
    cfg = load_sweep_config(SMOKE)
    path = tmp_path / "sweep.yaml"
    path.write_text(cfg.to_yaml())
    again = load_sweep_config(path)
    assert again.config_hash() == cfg.config_hash()
    assert again.resolved() == cfg.resolved()
    assert [p.params for p in again.pairs()] == [p.params for p in cfg.pairs()]
    assert again.model["face_value"] == 20.0 and "kappa" not in again.model  # defaults filled in


def test_hash_covers_results_not_bookkeeping():
    d = smoke_dict()
    h = SweepConfig.from_dict(d).config_hash()
    assert SweepConfig.from_dict({**d, "name": "other", "output": {"shard_size": 3}}).config_hash() == h
    assert SweepConfig.from_dict({**d, "model": {**d["model"], "n_traders": 21}}).config_hash() != h
    assert SweepConfig.from_dict({**d, "replicates": 2}).config_hash() != h
    # 1 and 1.0 are the same value
    grid = {**d["grid"], "kappa": [0.5, 2.0]}
    assert SweepConfig.from_dict({**d, "grid": grid}).config_hash() == h


def test_detailed_logging_selectors_pick_matching_pairs_and_reject_unknown_keys():
    d = smoke_dict()
    cfg = SweepConfig.from_dict({**d, "output": {"detailed_logging": [{"kappa": 0.5, "mu": 0}]}})
    on = {p.pair_id for p in cfg.pairs() if p.params.detailed_logging}
    assert len(on) == 4 and all(pid.startswith("k0.5_") and "_mu0_" in pid for pid in on)
    lines = errors_of({**d, "output": {"detailed_logging": [{"kapa": 1}]}})
    assert lines == ["output.detailed_logging[0].kapa: unknown key (did you mean 'kappa'?)"]


# --- error messages name the path in the file --------------------------------------------------------
def test_misspelt_grid_key_names_its_path():
    lines = errors_of({**smoke_dict(), "grid": {"kapas": [1, 2]}})
    assert lines == ["grid.kapas: unknown key (did you mean 'kappa'?)"]


def test_bad_model_value_names_model_kappa():
    d = smoke_dict()
    d["grid"].pop("kappa")
    lines = errors_of({**d, "model": {**d["model"], "kappa": -1}})
    assert len(lines) == 1 and lines[0].startswith("model.kappa: ")
    assert "got -1" in lines[0] and "(0, 1e+06]" in lines[0]


def test_bad_grid_value_names_its_index():
    d = smoke_dict()
    lines = errors_of({**d, "grid": {**d["grid"], "mu": [0, 1.5]}})
    assert len(lines) == 1 and lines[0].startswith("grid.mu[1]: ") and "got 1.5" in lines[0]


@pytest.mark.parametrize("patch, expected", [
    ({"grdi": {}}, "grdi: unknown key (did you mean 'grid'?)"),
    ({"output": {"shard_sise": 4}}, "output.shard_sise: unknown key (did you mean 'shard_size'?)"),
    ({"output": {"shard_size": 0}}, "output.shard_size: Input should be greater than or equal to 1"),
    ({"replicates": 0}, "replicates: Input should be greater than or equal to 1"),
    ({"model": {"seed": 1}}, "model.seed: not allowed here; set by the sweep as base_seed + replicate"),
    ({"model": {"n_traders": 20, "Q_total": 2000.0, "kappa": 1}}, "grid.kappa: also set in model.kappa"),
    ({"model": {"n_tradrs": 20}}, "model.n_tradrs: unknown key (did you mean 'n_traders'?)"),
    ({"grid": {"kappa": 0.5}}, "grid.kappa: Input should be a valid list"),
    ({"grid": {"kappa": []}}, "grid.kappa: list at least one value"),
    ({"grid": {"kappa": [1, 1.0]}}, "grid.kappa[1]: duplicate value 1.0"),
    ({"name": "a b"}, "name: String should match pattern"),
])
def test_each_bad_field_gets_a_message_naming_its_path(patch, expected):
    lines = errors_of({**smoke_dict(), **patch})
    assert any(ln.startswith(expected) for ln in lines), lines


def test_first_failing_cell_is_reported():
    d = smoke_dict()  # Q_total 2000 is a multiple of face 20, not of 300
    lines = errors_of({**d, "grid": {**d["grid"], "face_value": [20, 300]}})
    assert len(lines) == 1 and lines[0].startswith("grid.face_value[1] (face_value=300): ")
    assert "whole multiple of face_value" in lines[0]


def test_a_grid_cell_invalid_across_axes_is_reported_once():
    # each value is valid on its own; the cell n_traders=150 with Q_total=2000 (100 tickets) is not
    d = smoke_dict()
    grid = {"kappa": [1], "n_traders": [20, 150], "Q_total": [4000.0, 2000.0]}
    lines = errors_of({**d, "model": {}, "grid": grid})
    assert len(lines) == 1
    assert lines[0].startswith("grid cell (kappa=1.0, n_traders=150, Q_total=2000.0): ")
    assert "must be >= n_traders = 150" in lines[0]


def test_a_grid_axis_outside_the_id_is_named_in_the_pair_id():
    # issue 9: grid axes may be any model field (this grid used to be refused for colliding ids;
    # the collision guard itself is tested in test_sweep_config_variants.py)
    d = smoke_dict()
    model = {k: v for k, v in d["model"].items() if k != "n_traders"}
    cfg = SweepConfig.from_dict({**d, "model": model, "grid": {**d["grid"], "n_traders": [20, 40]}})
    ids = [p.pair_id for p in cfg.pairs()]
    assert len(ids) == len(set(ids)) == 32
    assert ids[:2] == ["k0.5_c0.5_mu0_rho0.75_s42_n_traders-20", "k0.5_c0.5_mu0_rho0.75_s42_n_traders-40"]


def test_invalid_yaml_and_a_missing_file_are_sweep_config_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: [1, 2\n")
    with pytest.raises(SweepConfigError, match="invalid YAML"):
        load_sweep_config(bad)
    with pytest.raises(SweepConfigError, match="sweep file not found"):
        load_sweep_config(tmp_path / "missing.yaml")


def test_cli_reports_every_problem_with_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {kappa: -1}\ngrid: {kapas: [1]}\n")
    assert main(["sweep", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: {bad}: model.kappa: Input should be greater than 0")
    assert err[1] == f"error: {bad}: grid.kapas: unknown key (did you mean 'kappa'?)"
    assert not (tmp_path / "out").exists()
    assert main(["sweep", str(SMOKE), "--shard-size", "0"]) == 2
    assert "--shard-size must be >= 1" in capsys.readouterr().err
