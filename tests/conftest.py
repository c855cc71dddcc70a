"""Shared pytest set-up.

The analysis notebooks (run by nbval) default to the smoke sweep under ``outputs/smoke`` and build
it when it is missing. Build it once here, in the controlling process, before any xdist worker
starts, so that two notebooks never build it at the same time.
"""

from __future__ import annotations


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has done it
        return
    targets = list(config.args) or list(config.getini("testpaths"))
    if not any(str(a).endswith(".ipynb") or "notebooks" in str(a) for a in targets):
        return
    from bilancio_lite.sweep import ensure_sweep

    ensure_sweep()
