"""Sweep runner in this process (inline engine): outputs, resume, failures, refusal, shard tables."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from bilancio_lite import sweep
from bilancio_lite.cli import main
from bilancio_lite.errors import InputError as UsageError  # bad input, exit status 2 in the CLI
from bilancio_lite.logs import collect_comparison
from bilancio_lite.sweep import ConfigMismatchError, ShardParams, shard_job
from factories.sweeps import SMOKE, assert_same_csvs, fail_pair, run_smoke, smoke_config


def test_a_sweep_writes_its_files_and_one_registry_row_per_pair(smoke_ref):
    cfg = smoke_config()
    out = smoke_ref
    for name in ("sweep.yaml", "manifest.json", "registry.csv", "aggregate/comparison.csv"):
        assert (out / name).is_file(), name
    reg = pd.read_csv(out / "registry.csv")
    assert reg["pair_id"].tolist() == [p.pair_id for p in cfg.pairs()]
    assert set(reg["status"]) == {"ok"} and reg["error"].isna().all()
    assert (reg["wall_time_s"] > 0).all()
    for col in ("kappa", "concentration", "mu", "outside_mid_ratio", "seed", "replicate", "shard",
                "passive_run_dir", "active_run_dir", "pair_row"):
        assert col in reg.columns
    assert all((out / p).is_dir() for p in reg["active_run_dir"])
    text = (out / "aggregate" / "comparison.csv").read_text()
    assert text == collect_comparison(out).to_csv(index=False)  # every pair row, sorted
    assert len(pd.read_csv(out / "aggregate" / "comparison.csv")) == 16
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "completed" and man["config_hash"] == cfg.config_hash()
    assert man["pairs"] == {"total": 16, "ok": 16, "failed": 0, "skipped": 0, "not_run": 0}
    for key in ("package_version", "git", "python", "libraries", "started", "finished"):
        assert key in man
    assert {"pandas", "papermill", "dask"} <= set(man["libraries"])
    assert (out / "sweep.yaml").read_text() == cfg.to_yaml()
    assert not list(out.rglob(".tmp-*")) and not list(out.rglob("*.tmp"))


def test_resume_skips_complete_pairs_and_rewrites_identically(smoke_ref, tmp_path):
    out = tmp_path / "smoke"
    shutil.copytree(smoke_ref, out)
    cfg = smoke_config()
    lost = [p for p in cfg.pairs()][3:6]
    for p in lost:  # as if the sweep had been killed before these pairs
        (out / "aggregate" / "pairs" / f"{p.pair_id}.csv").unlink()
        shutil.rmtree(out / "active" / "runs" / p.params.run_id("active"))
    (out / "passive" / "runs" / ".tmp-passive_x-1234").mkdir()   # debris of a killed writer
    (out / "aggregate" / "pairs" / ".k1.csv.abc.tmp").write_text("partial")
    (out / "aggregate" / "comparison.csv").unlink()
    messages = []
    res = run_smoke(out, log=messages.append)
    assert (res.n_ok, res.n_skipped, res.n_failed) == (3, 13, 0)
    assert "resuming: 13 of 16 pairs already complete, skipping them" in messages
    assert any(m.startswith("removed 2 temporary") for m in messages)
    assert_same_csvs(smoke_ref, out)
    reg = pd.read_csv(out / "registry.csv").set_index("pair_id")
    assert (reg.loc[[p.pair_id for p in lost], "status"] == "ok").all()
    assert (reg["status"] == "skipped").sum() == 13
    assert reg.loc[reg["status"] == "skipped", "wall_time_s"].notna().all()  # kept from the old registry


def test_a_failing_pair_is_recorded_and_never_aborts(tmp_path, monkeypatch, capsys):
    bad = fail_pair(monkeypatch, 5)
    out = tmp_path / "smoke"
    code = main(["sweep", str(SMOKE), "--format", "csv", "--engine", "inline", "--workers", "0", "--out", str(out)])
    assert code == 1
    stdout = capsys.readouterr().out
    assert f"failed: {bad}: RuntimeError: injected failure" in stdout
    assert "16 pairs: 15 ok, 1 failed, 0 skipped" in stdout
    reg = pd.read_csv(out / "registry.csv").set_index("pair_id")
    assert reg.loc[bad, "status"] == "failed" and reg.loc[bad, "error"] == "RuntimeError: injected failure"
    assert (reg.drop(index=bad)["status"] == "ok").all()
    status = json.loads((out / "status" / "shard_0000.json").read_text())
    rec = next(r for r in status["pairs"] if r["pair_id"] == bad)
    assert "Traceback" in rec["traceback"] and "injected failure" in rec["traceback"]
    assert len(pd.read_csv(out / "aggregate" / "comparison.csv")) == 15
    assert json.loads((out / "manifest.json").read_text())["status"] == "completed_with_failures"
    # the rerun retries only the failed pair
    monkeypatch.undo()                                      # the real simulate_pair again
    res = run_smoke(out)
    assert (res.n_ok, res.n_skipped, res.n_failed, res.exit_code) == (1, 15, 0, 0)


def test_failed_shard_task_marks_its_pairs_failed(tmp_path, monkeypatch):
    def broken(sweep_file, shard_index, out_dir, shard_size):
        if shard_index == 1:
            raise OSError("worker lost")
        return sweep.shard_task_inline(sweep_file, shard_index, out_dir, shard_size)

    monkeypatch.setitem(sweep.TASKS, "inline", broken)
    res = run_smoke(tmp_path / "smoke")
    reg = res.registry.set_index("shard")
    assert (reg.loc[0, "status"] == "ok").all()
    assert (reg.loc[1, "status"] == "failed").all()
    assert (reg.loc[1, "error"] == "shard 1 failed: OSError: worker lost").all()
    assert res.exit_code == 1


@pytest.mark.integration
def test_other_configuration_is_refused_unless_force(smoke_ref, tmp_path, capsys):
    out = tmp_path / "smoke"
    shutil.copytree(smoke_ref, out)
    with pytest.raises(ConfigMismatchError, match="different configuration"):
        sweep.run_sweep(smoke_config(replicates=2), out, engine="inline", workers=0, log=None)
    args = ["sweep", str(SMOKE), "--format", "csv", "--engine", "inline", "--workers", "0", "--out", str(out)]
    assert main(args + ["--replicates", "2"]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and "replicates: 1 -> 2" in err and "--force" in err
    assert len(pd.read_csv(out / "registry.csv")) == 16  # untouched
    assert main(args + ["--replicates", "2", "--force"]) == 0
    assert "--force: cleared" in capsys.readouterr().out
    assert len(pd.read_csv(out / "aggregate" / "comparison.csv")) == 32


def test_non_sweep_folder_is_refused_even_with_force(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for force in (False, True):
        with pytest.raises(UsageError, match="not a bilancio-lite sweep folder"):
            sweep.run_sweep(smoke_config(), tmp_path, engine="inline", workers=0, force=force, log=None)
    assert (tmp_path / "notes.txt").exists()


def test_shard_job_validates_its_parameters(smoke_ref):
    with pytest.raises(Exception, match="extra"):
        ShardParams(sweep_file=str(SMOKE), shard_idx=1)
    sweep_file = str(smoke_ref / "sweep.yaml")  # the smoke sweep in the CSV layout
    with pytest.raises(ValueError, match="shard_index 2 is out of range: sweep 'smoke' has 2 shard"):
        shard_job(sweep_file, 2, str(smoke_ref), 8)
    job = shard_job(sweep_file, 1, str(smoke_ref), 8)
    assert [p.index for p in job.pairs] == list(range(8, 16))
    status = sweep.run_shard(job)  # everything is complete: all skipped, nothing rewritten
    assert {r["status"] for r in status["pairs"]} == {"skipped"}
    table = sweep.shard_table(job, status)
    assert len(table) == 8 and table["delta_passive"].notna().all()
    assert set(table["status"]) == {"done before"}
    assert "of 8 pairs of this shard" in sweep.shard_takeaway(table)
