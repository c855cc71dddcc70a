"""Bad input is refused with one line naming the field and its allowed range, exit status 2, no
traceback and nothing written (issue 11); size limits are stated in --help; large pairs show
progress; output files respect the umask; the pinned environment is what the README installs."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest
from pydantic import ValidationError

from bilancio_lite import ModelParams, simulate_pair
from bilancio_lite.cli import main
from bilancio_lite.engine import run_regime
from bilancio_lite.params import MAX_TICKETS, describe_errors
from factories.sweeps import REPO, SMOKE, cli, run_smoke

SMALL = dict(n_traders=10, Q_total=200.0)


def one_line_error(r: subprocess.CompletedProcess, *needles: str) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# --- pair --out ----------------------------------------------------------------------------------
def test_pair_out_naming_a_file_is_refused_before_simulating(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("mine")
    # a pair that takes ~8 s to simulate: the refusal must come long before that
    t0 = time.monotonic()
    r = cli("pair", "--n-traders", "1000", "--Q-total", "1000000", "--out", str(f))
    assert time.monotonic() - t0 < 6
    one_line_error(r, "--out", str(f), "is a file")
    assert r.stdout == "" and f.read_text() == "mine"
    r = cli("pair", "--out", str(f / "sub"))
    one_line_error(r, "--out", "cannot be created", "is a file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_pair_out_in_an_unwritable_folder_is_refused(tmp_path, monkeypatch, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root may write anywhere: make access() answer as for a user
            real = os.access
            monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == ro else real(p, mode, **kw))
        for target in (ro, ro / "new"):
            assert main(["pair", *sum(([f"--{k.replace('_', '-')}", str(v)] for k, v in SMALL.items()), []),
                         "--out", str(target)]) == 2
            err = capsys.readouterr()
            assert err.out == "" and err.err.count("\n") == 1 and "is not writable" in err.err
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_sweep_out_naming_a_file_is_refused(tmp_path):
    f = tmp_path / "out.txt"
    f.write_text("x")
    one_line_error(cli("sweep", str(SMOKE), "--engine", "inline", "--out", str(f)), "is a file")
    assert f.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


# --- size limits -------------------------------------------------------------------------------
@pytest.mark.parametrize("args,needles", [
    (["--face-value", "1e-300"], ["Q_total/face_value = 1e+304 tickets", f"{MAX_TICKETS:,}"]),
    (["--Q-total", "1e12"], ["Q_total/face_value = 5e+10 tickets", f"{MAX_TICKETS:,}"]),
    (["--n-traders", "100000"], ["n_traders = 100000"]),
    (["--n-traders", "100000", "--Q-total", "2e6", "--maturity-days", "100"], ["8 GB", "n_traders"]),
    (["--n-traders", "100001", "--Q-total", "3e6"], ["n_traders", "[2, 100000]"]),
])
def test_oversized_pairs_are_refused_at_once(args, needles):
    t0 = time.monotonic()
    r = cli("pair", *args)
    assert time.monotonic() - t0 < 10           # no hang, no MemoryError
    one_line_error(r, *needles)


def test_size_limits_are_stated_in_help():
    for cmd in ("pair", "sweep"):
        r = cli(cmd, "--help")
        text = " ".join(r.stdout.split())
        assert r.returncode == 0
        assert "Size limits: n_traders <= 100,000; tickets Q_total/face_value <= 1,000,000" in text
        assert "estimated memory of one pair <= 8 GB" in text and "show progress" in text


def test_large_pairs_show_progress_and_small_ones_do_not(capsys):
    from bilancio_lite.cli import _pair_progress

    assert _pair_progress(ModelParams(**SMALL)) is None
    big = ModelParams(n_traders=100_000, Q_total=2e6)          # ~4 min, 2.5 GB: not run here
    progress = _pair_progress(big)
    assert progress is not None
    err = capsys.readouterr().err
    assert err.startswith("large pair: 100,000 tickets, 100,000 traders, 31 days per regime")
    for regime in ("passive", "active"):
        for day in range(big.last_day + 1):
            progress(regime, day, big.last_day)
    assert "active: 100%" in capsys.readouterr().err.replace("\r", "\n")


def test_runs_report_every_day_to_the_progress_callback():
    seen = []
    simulate_pair(ModelParams(**SMALL), progress=lambda r, t, last: seen.append((r, t, last)))
    days = ModelParams(**SMALL).last_day
    assert seen == [(r, t, days) for r in ("passive", "active") for t in range(days + 1)]


# --- simulate_pair validates whatever it is given ------------------------------------------------
@pytest.mark.parametrize("make,field", [
    (lambda: ModelParams(**SMALL).model_copy(update={"kappa": -1.0}), "kappa"),
    (lambda: ModelParams.model_construct(kappa=-1.0), "kappa"),
    (lambda: ModelParams(**SMALL).model_copy(update={"n_traders": 0}), "n_traders"),
    (lambda: ModelParams.model_construct(n_traders=0), "n_traders"),
    (lambda: ModelParams.model_construct(face_value=1e-300), "Q_total/face_value"),
])
def test_simulate_pair_revalidates_unvalidated_params(make, field):
    for run in (simulate_pair, lambda p: run_regime(p, "passive")):
        with pytest.raises(ValidationError) as exc:
            run(make())
        text = "\n".join(describe_errors(exc.value))
        assert field in text and ("allowed range" in text or "limit" in text), text


def test_simulate_pair_refuses_unknown_overrides():
    with pytest.raises(ValidationError) as exc:
        simulate_pair(ModelParams(**SMALL), foo=1)
    assert describe_errors(exc.value) == ["foo: unknown parameter (not a field of this model)"]
    with pytest.raises(ValidationError):
        simulate_pair(foo=1, **SMALL)
    assert simulate_pair(ModelParams(**SMALL), kappa=2.0).params.kappa == 2.0   # known ones apply


def test_a_bool_is_not_a_number():
    with pytest.raises(ValidationError) as exc:
        ModelParams(kappa=True)
    assert describe_errors(exc.value) == [
        "kappa: Input should be a number, not a boolean (true/false) (got True); allowed range (0, 1e+06]"]
    assert ModelParams(clip_B=False).clip_B is False


# --- sweep files -------------------------------------------------------------------------------
BAD_FILES = {
    "duplicate grid key": ("grid:\n  kappa: [0.5, 1]\n  mu: [0]\n  kappa: [2]\n",
                           ["grid.kappa: key written twice (lines 2 and 4)"]),
    "duplicate model key": ("model: {n_traders: 20, n_traders: 30}\n", ["model.n_traders: key written twice"]),
    "bool in a grid": ("grid:\n  kappa: [true, 2]\n", ["grid.kappa[0]", "not a boolean", "allowed range (0, 1e+06]"]),
    "bool in the model": ("model:\n  n_traders: false\n", ["model.n_traders", "not a boolean", "[2, 100000]"]),
    "bool replicates": ("replicates: true\n", ["replicates", "whole numbers in [1, 100000]"]),
    "empty file": ("", ["the sweep file is empty"]),
    "comments only": ("# nothing here\n", ["the sweep file is empty"]),
    "oversized model": ("model: {face_value: 1.0e-300}\n", ["model: Q_total/face_value = 1e+304 tickets"]),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_sweep_files_are_refused_with_one_line(name, tmp_path):
    text, needles = BAD_FILES[name]
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    out = tmp_path / "out"
    one_line_error(cli("sweep", str(f), "--engine", "inline", "--out", str(out)), str(f), *needles)
    assert not out.exists()


# --- file modes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_output_files_respect_the_umask(umask, tmp_path):
    out = tmp_path / "smoke"
    r = subprocess.run([sys.executable, "-m", "bilancio_lite", "sweep", str(SMOKE), "--engine", "inline",
                        "--workers", "0", "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                       preexec_fn=lambda: os.umask(umask))
    assert r.returncode == 0, r.stderr
    from bilancio_lite.analysis import write_table
    import pandas as pd

    old = os.umask(umask)
    try:
        write_table(pd.DataFrame({"a": [1]}), out, "extra_table")
    finally:
        os.umask(old)
    want = 0o666 & ~umask
    files = [p for p in out.rglob("*") if p.is_file() and p.name != ".sweep.lock"]
    modes = {str(p.relative_to(out)): stat.S_IMODE(p.stat().st_mode) for p in files}
    for name in ("registry.csv", "manifest.json", "sweep.yaml", "aggregate/comparison.csv",
                 "aggregate/extra_table.csv"):
        assert modes[name] == want, (name, oct(modes[name]))
    assert set(modes.values()) == {want}, {k: oct(v) for k, v in modes.items() if v != want}


# --- the pinned environment ------------------------------------------------------------------------
def _readme_block(after: str) -> str:
    text = (REPO / "README.md").read_text()
    m = re.search(re.escape(after) + r".*?```bash\n(.*?)\n```", text, re.S)
    assert m, after
    return m.group(1).strip()


def test_ci_runs_exactly_the_readme_test_command():
    command = _readme_block("**Tests:**")
    script = [ln for ln in (REPO / ".ci" / "run").read_text().splitlines()
              if ln.strip() and not ln.startswith("#") and not ln.startswith(("set ", "cd "))]
    assert script == [command]
    assert "python3.11 -m venv .venv" in command and "-c constraints.txt" in command
    assert command.endswith(".venv/bin/python -m pytest")
    main_job = _readme_block("**Main job:**")
    assert main_job.startswith(command.split(" && .venv/bin/python -m pytest")[0])


def test_constraints_pin_every_dependency_and_environment_yml_uses_them():
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned with ==: {line}"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    for req in wanted:
        name = re.sub(r"[-_.]+", "-", re.split(r"[\[<>=~! ]", req)[0]).lower()
        if name == project["name"]:  # an extra including another extra ([dev] includes [dask])
            continue
        assert name in pins, f"{name} is not pinned in constraints.txt"
    env = (REPO / "environment.yml").read_text()
    assert "- -c constraints.txt" in env and "- -e .[dev]" in env and "python=3.11" in env


def test_manifest_records_the_installed_versions(tmp_path):
    res = run_smoke(tmp_path / "smoke")
    man = json.loads((res.out_dir / "manifest.json").read_text())
    libs = man["libraries"]
    for dist in ("numpy", "pandas", "pyarrow", "pydantic", "papermill", "nbval", "dask", "distributed"):
        assert libs[dist] == metadata.version(dist), dist
    assert list(libs) == sorted(libs) and len(libs) >= 50
    assert man["pid"] == os.getpid() and man["status"] == "completed"


def test_a_sweep_of_large_pairs_says_so_before_it_runs(tmp_path):
    from bilancio_lite.sweep import SweepConfig
    from bilancio_lite.sweep.runner import _note_large_pairs

    said: list[str] = []
    big = SweepConfig.from_dict({"name": "big", "model": {"n_traders": 100_000, "Q_total": 2e6}})
    _note_large_pairs(big.pairs(), said.append)
    assert said == ["note: large pairs (up to 100,000 tickets, 100,000 traders, 31 days; estimated 2.7 GB "
                    "per worker): each pair takes a while, and the progress bar counts finished pairs"]
    said.clear()
    _note_large_pairs(SweepConfig.from_dict({"name": "small", "model": SMALL}).pairs(), said.append)
    assert said == []
