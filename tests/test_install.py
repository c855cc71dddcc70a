"""An installable package (issue 22): shipped notebooks and sweep files found from the installed
package, `--version`, `lab`, Dask as an extra, `report` without notebooks, and a wheel installed
into a fresh venv outside the repository that runs a smoke sweep and its report."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from factories.sweeps import REPO, SMOKE, cli

import bilancio_lite
from bilancio_lite import cli as cli_mod
from bilancio_lite import resources


def one_line_error(r: subprocess.CompletedProcess, *needles: str) -> None:
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    for n in needles:
        assert n in r.stderr, r.stderr


# --- finding the shipped files ---------------------------------------------------------------------
def test_a_checkout_reads_its_own_folders():
    assert resources.is_checkout()
    assert resources.notebooks_dir() == REPO / "notebooks" and resources.params_dir() == REPO / "params"
    assert {"plan024", "plan024_r5", "smoke"} <= set(resources.shipped_sweeps())


def test_a_shipped_sweep_file_is_found_by_bare_name_only():
    assert resources.shipped_sweep_file("plan024") == REPO / "params" / "plan024.yaml"
    assert resources.shipped_sweep_file("smoke.yaml") == SMOKE
    for name in ("elsewhere/plan024", "plan024.yml", "nosuch", ""):
        assert resources.shipped_sweep_file(name) is None, name


def test_the_installed_copy_wins_over_the_checkout(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "bilancio_lite"
    (pkg / "notebooks").mkdir(parents=True)
    (pkg / "params").mkdir()
    (pkg / "params" / "mine.yaml").write_text("grid: {kappa: [1]}\n")
    monkeypatch.setattr(resources, "PACKAGE_DIR", pkg)
    monkeypatch.setattr(resources, "REPO", tmp_path / "site")
    assert resources.notebooks_dir() == pkg / "notebooks" and not resources.is_checkout()
    assert resources.shipped_sweeps() == ["mine"] and resources.shipped_sweep_file("mine") == pkg / "params" / "mine.yaml"
    assert resources.outputs_dir() == Path.cwd() / "outputs"


def test_sweep_by_name_and_an_unknown_name(tmp_path):
    from bilancio_lite.sweep import load_sweep_config

    assert load_sweep_config("smoke") == load_sweep_config(SMOKE)
    assert load_sweep_config("plan024.yaml").name == "plan024"
    r = cli("sweep", "no_such_sweep", "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    one_line_error(r, "sweep file not found: no_such_sweep", "plan024", "smoke")
    assert not (tmp_path / "x").exists()


# --- conventions -----------------------------------------------------------------------------------
def test_version_is_the_packages_and_the_metadatas():
    from importlib import metadata

    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"bilancio-lite {bilancio_lite.__version__}"
    assert metadata.version("bilancio-lite") == bilancio_lite.__version__
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" in project["dynamic"]


def test_conventions_files_exist_and_name_the_version():
    assert "MIT License" in (REPO / "LICENSE").read_text()
    cff = (REPO / "CITATION.cff").read_text()
    assert "cff-version:" in cff and f"version: {bilancio_lite.__version__}" in cff
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert f"## {bilancio_lite.__version__}" in changelog
    for issue in (19, 20, 21, 22, 24, 25, 26):
        assert f"(#{issue})" in changelog, issue


def test_dask_is_an_extra_included_in_dev():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("dask") for d in project["dependencies"])
    assert project["optional-dependencies"]["dask"] == ["dask[distributed]>=2024.1"]
    assert "bilancio-lite[dask]" in project["optional-dependencies"]["dev"]


def test_scheduler_without_dask_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed: import fails
    code = cli_mod.main(["sweep", str(SMOKE), "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "bilancio-lite[dask]" in err and "--scheduler" in err
    assert not (tmp_path / "s").exists()  # nothing written


def test_report_without_notebooks_fails_with_a_message(tmp_path, monkeypatch, capsys):
    from bilancio_lite import report

    empty = tmp_path / "nbs"
    empty.mkdir()
    monkeypatch.setattr(report, "NOTEBOOKS", empty)
    monkeypatch.setattr(report, "analysis_notebooks", lambda folder=empty: [])
    code = cli_mod.main(["report", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and f"no analysis notebook (NN_*.ipynb, NN >= 01) in {empty}" in err


# --- lab -------------------------------------------------------------------------------------------
def _lab_args(*argv: str):
    return cli_mod.build_parser().parse_args(["lab", *argv])


def test_lab_listens_on_localhost_with_a_token_on_the_notebooks(monkeypatch):
    cmd = cli_mod.lab_command(_lab_args("--port", "8899", "--no-browser"))
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ServerApp.ip=127.0.0.1" in cmd and f"--ServerApp.root_dir={REPO / 'notebooks'}" in cmd
    assert "--ServerApp.port=8899" in cmd and "--no-browser" in cmd
    assert not any("token" in c or "password" in c for c in cmd)  # JupyterLab's own token stays on
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert "--allow-root" in cli_mod.lab_command(_lab_args())
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--allow-root" not in cli_mod.lab_command(_lab_args())


def test_lab_bad_input_is_one_line(tmp_path):
    one_line_error(cli("lab", "--dir", str(tmp_path / "nope")), "--dir")
    one_line_error(cli("lab", "--port", "70000"), "--port")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.integration
def test_lab_starts_jupyterlab_that_wants_its_token(tmp_path):
    """`bilancio-lite lab` serves the notebooks on 127.0.0.1: without the token the API refuses,
    with the token it lists 09_explore.ipynb."""
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "bilancio_lite", "lab", "--no-browser", "--port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        token, log = None, []
        deadline = time.monotonic() + 120
        while token is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            log.append(line)
            m = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)", line)
            token = m.group(1) if m else None
        assert token, "".join(log)
        base = f"http://127.0.0.1:{port}/api/contents"
        code = None
        while code is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base, timeout=10)
                code = 200
            except urllib.error.HTTPError as e:
                code = e.code
            except urllib.error.URLError:  # not accepting connections yet
                assert proc.poll() is None, "".join(log)
                time.sleep(0.5)
        assert code in (401, 403), (code, "".join(log))  # no token: refused
        with urllib.request.urlopen(f"{base}?token={token}", timeout=10) as resp:
            names = {c["name"] for c in __import__("json").load(resp)["content"]}
        assert "09_explore.ipynb" in names and "08_one_pair.ipynb" in names
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --- the wheel -------------------------------------------------------------------------------------
def _isolation() -> list[str]:
    """Build with this environment's setuptools when it can make wheels (``wheel`` installed, or
    setuptools >= 70.1, which has bdist_wheel): no download. Else pip's isolated build, which
    fetches setuptools and wheel (from its cache when it has them)."""
    import importlib.util
    from importlib import metadata

    try:
        st = tuple(int(x) for x in metadata.version("setuptools").split(".")[:2])
    except metadata.PackageNotFoundError:
        return []
    if st >= (68, 0) and (st >= (70, 1) or importlib.util.find_spec("wheel") is not None):
        return ["--no-build-isolation"]
    return []


@pytest.mark.integration
def test_a_wheel_installed_outside_the_repository_runs_a_sweep_and_its_report(tmp_path):
    """Build the wheel, install it (without dependencies) into a fresh venv outside the repository
    whose dependencies come from this environment's site-packages (a .pth line: no download), then
    from another folder run the shipped smoke sweep by name and its report."""
    t0 = time.perf_counter()
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *_isolation(), "-q", "-w", str(wheels),
                        str(REPO)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (wheel,) = wheels.glob("bilancio_lite-*.whl")
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"bilancio_lite/notebooks/00_run_shard.ipynb", "bilancio_lite/notebooks/09_explore.ipynb",
            "bilancio_lite/params/plan024.yaml", "bilancio_lite/params/smoke.yaml"} <= names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # after the venv's own
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
                    str(wheel)], check=True, capture_output=True, text=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")  # the borrowed dependencies' data (nbconvert templates)
    where = subprocess.run([str(py), "-c", "import bilancio_lite, bilancio_lite.report as r; "
                            "print(bilancio_lite.__file__); print(r.NOTEBOOKS)"],
                           cwd=work, env=env, check=True, capture_output=True, text=True).stdout.split()
    assert where[0].startswith(str(site)) and where[1] == str(site / "bilancio_lite" / "notebooks")
    exe = str(venv / "bin" / "bilancio-lite")
    r = subprocess.run([exe, "sweep", "smoke", "--workers", "1"], cwd=work, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    out = work / "outputs" / "smoke"
    n = len(__import__("bilancio_lite.sweep", fromlist=["x"]).load_sweep_config(SMOKE).pairs())
    assert f"{n} ok, 0 failed" in r.stdout and (out / "aggregate" / "comparison.csv").is_file()
    r = subprocess.run([exe, "report", str(out), "--only", "01", "--workers", "1"], cwd=work, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 of 1 notebook(s) ok" in r.stdout and (out / "reports" / "01_sweep_overview.html").is_file()
    print(f"wheel built, installed, smoke sweep and report 01 in {time.perf_counter() - t0:.1f} s")
