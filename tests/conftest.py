"""Shared pytest set-up and fixtures (builders without pytest live in tests/factories/).

The analysis notebooks (run by nbval) default to the smoke sweep under ``outputs/smoke`` and build
it when it is missing. Build it once here, in the controlling process, before any xdist worker
starts, so that two notebooks never build it at the same time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from factories.sweeps import run_smoke


def pytest_addoption(parser, pluginmanager):
    """With nbval switched off (``-p no:nbval``), accept the nbval options of pyproject's addopts
    (otherwise pytest stops with "unrecognized arguments: --nbval")."""
    if not pluginmanager.has_plugin("nbval"):
        group = parser.getgroup("nbval (switched off)")
        group.addoption("--nbval", action="store_true", help="ignored: nbval is switched off")
        group.addoption("--nbval-sanitize-with", help="ignored: nbval is switched off")


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has done it
        return
    targets = list(config.args) or list(config.getini("testpaths"))
    if not any(str(a).endswith(".ipynb") or "notebooks" in str(a) for a in targets):
        return
    from bilancio_lite.sweep import ensure_sweep

    ensure_sweep()


@pytest.fixture(scope="module")
def smoke_ref(tmp_path_factory) -> Path:
    """An uninterrupted inline smoke sweep: the reference every other run is compared with.

    One per test module, as when each module imported it: a module may add files to it (the
    report test writes reports/ and aggregate tables), which must not leak into another module's
    comparisons."""
    out = tmp_path_factory.mktemp("smoke_ref") / "smoke"
    res = run_smoke(out)
    assert res.exit_code == 0
    return out
