"""Builders for the sweep tests: the smoke sweep run inline (per-run CSV layout or the Parquet
store), an injected pair failure, CSV comparison and the CLI in a subprocess (§6.4).

The session fixture ``smoke_ref`` built from these lives in tests/conftest.py."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

from bilancio_lite.sweep import load_sweep_config, run_sweep

REPO = Path(__file__).resolve().parents[2]  # tests/factories/sweeps.py -> the repository
SMOKE = REPO / "params" / "smoke.yaml"
PLAN024 = REPO / "params" / "plan024.yaml"


def smoke_config(**overrides):
    """The smoke sweep in the per-run CSV layout (the tests of that layout; the Parquet store,
    the default, is tested in test_store.py)."""
    overrides.setdefault("format", "csv")
    return load_sweep_config(SMOKE, **overrides)


def fail_pair(monkeypatch, index: int) -> str:
    """Make the sweep's simulate_pair raise for the smoke sweep's pair number `index`; its id."""
    from bilancio_lite.sweep import shard as sweep  # the module whose simulate_pair the shards call

    bad = smoke_config().pairs()[index].pair_id
    real = sweep.simulate_pair

    def flaky(params):
        if params.pair_id == bad:
            raise RuntimeError("injected failure")
        return real(params)

    monkeypatch.setattr(sweep, "simulate_pair", flaky)
    return bad


def run_smoke(out: Path, **kw):
    """The smoke sweep, inline in this process unless told otherwise."""
    kw.setdefault("engine", "inline")
    kw.setdefault("workers", 0)
    kw.setdefault("log", None)
    kw.setdefault("progress", False)
    return run_sweep(smoke_config(), out, **kw)


def run_parquet(out: Path, **kw):
    kw.setdefault("engine", "inline")
    kw.setdefault("workers", 0)
    kw.setdefault("log", None)
    kw.setdefault("progress", False)
    return run_sweep(smoke_config(format="parquet"), out, **kw)


def result_csvs(root: Path) -> list[Path]:
    """Every result CSV of a sweep folder (runs, pair rows, comparison), relative to it."""
    return sorted(p.relative_to(root) for sub in ("passive", "active", "aggregate")
                  for p in (root / sub).rglob("*.csv") if not p.name.startswith("."))


def assert_same_csvs(a: Path, b: Path) -> int:
    fa, fb = result_csvs(a), result_csvs(b)
    assert fa == fb, f"different file sets: {sorted(set(fa) ^ set(fb))[:5]}"
    differ = [f for f in fa if not filecmp.cmp(a / f, b / f, shallow=False)]
    assert not differ, f"{len(differ)} CSV files differ, e.g. {differ[:3]}"
    return len(fa)


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bilancio_lite", *args], capture_output=True,
                          text=True, cwd=kw.pop("cwd", REPO), **kw)
