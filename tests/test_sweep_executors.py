"""Sweeps end to end: a killed sweep resumes to identical files, papermill == inline, a real Dask
cluster == local processes, and `bilancio-lite report` renders the overview."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pandas as pd
import pytest

from bilancio_lite.sweep import run_sweep
from factories.sweeps import REPO, SMOKE, assert_same_csvs, cli, smoke_config

pytestmark = pytest.mark.integration


def test_killed_sweep_resumes_to_identical_files(smoke_ref, tmp_path):
    out = tmp_path / "smoke"
    cmd = [sys.executable, "-m", "bilancio_lite", "sweep", str(SMOKE), "--format", "csv", "--engine", "inline",
           "--workers", "1", "--shard-size", "4", "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # its own process group: the worker dies with it
    rows = out / "aggregate" / "pairs"
    deadline = time.monotonic() + 60
    try:
        while not (rows.is_dir() and any(rows.glob("*.csv"))):
            assert proc.poll() is None, "the sweep ended before writing a pair"
            assert time.monotonic() < deadline, "no pair row after 60 s"
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    n_before = len(list(rows.glob("*.csv")))
    assert 1 <= n_before < 16, n_before
    assert not (out / "aggregate" / "comparison.csv").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"

    done = cli("sweep", str(SMOKE), "--format", "csv", "--engine", "inline", "--workers", "1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"resuming: {n_before} of 16 pairs already complete, skipping them" in done.stdout
    assert (out / "aggregate" / "comparison.csv").read_bytes() == \
        (smoke_ref / "aggregate" / "comparison.csv").read_bytes()
    assert_same_csvs(smoke_ref, out)
    assert not list(out.glob("*/runs/.tmp-*")) and not list(out.rglob("*.tmp"))
    reg = pd.read_csv(out / "registry.csv")
    assert (reg["status"] == "skipped").sum() == n_before and (reg["status"] == "ok").sum() == 16 - n_before


def check_papermill_outputs(out, stderr: str) -> None:
    """Executed shard notebooks exist, record their parameters and carry no kernel warnings."""
    for shard in (0, 1):
        nb = nbformat.read(out / "executed" / f"shard_{shard:04d}.ipynb", as_version=4)
        params = nb.metadata["papermill"]["parameters"]
        assert params == {"sweep_file": str(out / "sweep.yaml"), "shard_index": shard,
                          "out_dir": str(out), "shard_size": 8}
        assert nb.metadata["kernelspec"]["name"] == "python3"
        texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                    if o.output_type == "error" or o.get("name") == "stderr"]
        assert not any("TCP" in t or "WARNING" in t for t in texts)
    assert "TCP without encryption" not in stderr and "ZMQError" not in stderr
    reg = pd.read_csv(out / "registry.csv")
    assert reg["executed_notebook"].tolist() == [f"executed/shard_{i // 8:04d}.ipynb" for i in range(16)]


def test_papermill_engine_matches_inline(smoke_ref, tmp_path):
    out = tmp_path / "smoke_pm"
    done = cli("sweep", str(SMOKE), "--format", "csv", "--engine", "papermill", "--workers", "2", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""  # no progress bar off a terminal, no kernel warnings
    assert "16 pairs: 16 ok, 0 failed, 0 skipped" in done.stdout
    assert assert_same_csvs(smoke_ref, out) == 16 * 2 * 5 + 16 + 1
    check_papermill_outputs(out, done.stderr)


def test_dask_local_cluster_matches_local_run(smoke_ref, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "smoke_dask"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        res = run_sweep(smoke_config(), out, engine="papermill", scheduler=cluster.scheduler_address,
                        log=None, progress=False)
    assert (res.n_ok, res.n_failed) == (16, 0)
    assert_same_csvs(smoke_ref, out)
    check_papermill_outputs(out, "")
    man = json.loads((out / "manifest.json").read_text())
    assert man["executor"] == {"scheduler": cluster.scheduler_address}
