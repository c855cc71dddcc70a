"""constraints.txt installs on every Python the project claims (issue 26).

The pins are one resolution (tools/lock.sh) for the oldest supported interpreter, Debian 12's
Python 3.11.2. These tests resolve the project's requirements (every extra) under those pins for
each supported version, wheels only, without installing anything: a pin that needs a newer
Python (soupsieve 4.1.3 needs 3.11.5) or has no wheel for one of them fails here, in seconds,
instead of on a user's machine. They need the package index (PyPI), as the install itself does.
"""

from __future__ import annotations

import platform
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONSTRAINTS = REPO / "constraints.txt"
#: the oldest patch release of each supported minor version (pyproject's requires-python)
SUPPORTED_PYTHONS = ("3.11.2", "3.12.0", "3.13.0")



def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def project_requirements() -> list[str]:
    """Every requirement of the package and its extras (the project's own extras excluded)."""
    project = _pyproject()
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += [r for r in extra if not r.startswith(project["name"])]
    return reqs


def pins(text: str) -> dict[str, str]:
    """``name -> version`` of a requirements file's ``name==version`` lines (names normalised)."""
    found = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line)
        if m:
            found[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return found


def resolve(python: str, constraints: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """uv's resolution of the requirements under ``constraints`` for ``python`` on this platform."""
    reqs = tmp_path / "requirements.in"
    reqs.write_text("\n".join(project_requirements()) + "\n")
    return subprocess.run(
        [sys.executable, "-m", "uv", "pip", "compile", "--quiet", "--no-header", "--no-annotate",
         "--python-version", python, "--python-platform", f"{platform.machine()}-manylinux_2_28",
         "--only-binary", ":all:", "-c", str(constraints), "-o", str(tmp_path / "resolved.txt"),
         str(reqs)],
        capture_output=True, text=True, timeout=600)


@pytest.mark.integration
@pytest.mark.parametrize("python", SUPPORTED_PYTHONS)
def test_every_pin_installs_on_each_supported_python(python, tmp_path):
    res = resolve(python, CONSTRAINTS, tmp_path)
    assert res.returncode == 0, f"constraints.txt does not install on Python {python}:\n{res.stderr}"
    resolved = pins((tmp_path / "resolved.txt").read_text())
    pinned = pins(CONSTRAINTS.read_text())
    unpinned = sorted(set(resolved) - set(pinned))
    assert not unpinned, f"Python {python} needs packages constraints.txt does not pin: {unpinned}"
    moved = {n: (v, pinned[n]) for n, v in resolved.items() if v != pinned[n]}
    assert not moved, f"Python {python} resolves other versions than the pins: {moved}"


@pytest.mark.integration
def test_a_pin_that_needs_a_newer_patch_release_fails(tmp_path):
    """The check can fail: soupsieve 4.1.3 (Requires-Python >= 3.11.5) was pinned once."""
    bad = tmp_path / "constraints.txt"
    bad.write_text(re.sub(r"(?m)^soupsieve==\S+", "soupsieve==4.1.3", CONSTRAINTS.read_text()))
    assert "soupsieve==4.1.3" in bad.read_text()
    res = resolve("3.11.2", bad, tmp_path)
    assert res.returncode != 0
    assert "soupsieve" in res.stderr


def test_supported_range_is_the_same_everywhere():
    """pyproject's requires-python and classifiers, tools/check_python.py and tools/lock.sh agree."""
    project = _pyproject()
    assert project["requires-python"] == ">=3.11,<3.14"
    minors = {tuple(int(x) for x in v.split(".")[:2]) for v in SUPPORTED_PYTHONS}
    classified = {tuple(int(x) for x in c.rsplit(" ", 1)[1].split("."))
                  for c in project["classifiers"] if c.startswith("Programming Language :: Python :: 3.")}
    assert classified == minors
    check = {}
    exec(compile((REPO / "tools" / "check_python.py").read_text(), "check_python.py", "exec"), check)
    assert set(check["SUPPORTED"]) == minors
    assert f"--python-version {SUPPORTED_PYTHONS[0]}" in (REPO / "tools" / "lock.sh").read_text()


@pytest.mark.parametrize("version, ok", [((3, 10), False), ((3, 11), True), ((3, 13), True), ((3, 14), False)])
def test_check_python_names_the_supported_range(version, ok):
    code = ("import sys, runpy; sys.version_info = (%d, %d, 0, 'final', 0); "
            "runpy.run_path(%r, run_name='__main__')" % (*version, str(REPO / "tools" / "check_python.py")))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (res.returncode == 0) == ok
    if not ok:
        assert res.stderr.strip().startswith("bilancio-lite needs Python 3.11, 3.12 or 3.13")
        assert len(res.stderr.strip().splitlines()) == 1


def test_every_requirement_is_pinned_and_environment_yml_uses_the_pins():
    text = CONSTRAINTS.read_text()
    entries = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert all("==" in ln for ln in entries), [ln for ln in entries if "==" not in ln]
    pinned = pins(text)
    for req in project_requirements():
        name = re.sub(r"[-_.]+", "-", re.split(r"[\[<>=~!; ]", req)[0]).lower()
        assert name in pinned, f"{name} is not pinned in constraints.txt"
    env = (REPO / "environment.yml").read_text()
    assert "- -c constraints.txt" in env and "- -e .[dev]" in env and "python>=3.11,<3.14" in env
