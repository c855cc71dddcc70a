"""Digests of a sample of pairs, for the byte-identity test of issue 21 (trading window, market
makers' cash): run with the code of commit 6830021 on the import path, it wrote
``tests/data/baseline_6830021.json``; ``tests/test_trading_window.py`` recomputes the digests
with the current code and compares them.

    git archive 6830021 | tar -x -C /tmp/base
    PYTHONPATH=/tmp/base python tests/baseline_digests.py > tests/data/baseline_6830021.json

A digest is the SHA-256 of a run table's CSV text (pandas ``to_csv``, every column), or of the
comparison row's values (``repr``) over the columns that existed at 6830021. Only the public API
that both versions share is used: ``simulate_pair``, ``RunResult.tables``, ``PairResult.comparison``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from typing import Any

from bilancio_lite.engine import simulate_pair
from bilancio_lite.logs import RUN_FILES

#: The sampled pairs: name -> (fixed parameters, grid cells). The four sweeps the issue names
#: (smoke, plan024, invest, risk_priced), plus liquidity_aware; Plan 024 cells at N = 100.
_PLAN024_CELLS = [dict(kappa=k, concentration=c, mu=m, outside_mid_ratio=r)
                  for k, c, m, r in [(0.25, 0.2, 0.75, 0.75), (0.25, 1, 1, 0.5), (0.5, 0.5, 0.25, 1.0),
                                     (0.5, 5, 0.5, 0.9), (1, 2, 0.75, 0.8), (1, 0.2, 0, 0.75),
                                     (2, 1, 1, 1.0), (4, 0.5, 0.5, 0.5)]]
SAMPLES: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
    "smoke": (dict(n_traders=20, Q_total=2000.0),
              [dict(kappa=k, concentration=c, mu=m, outside_mid_ratio=r)
               for k, c, m, r in itertools.product([0.5, 2], [0.5, 2], [0, 0.75], [0.75, 0.9])]),
    "plan024": (dict(n_traders=100), _PLAN024_CELLS),
    "invest": (dict(n_traders=100, invest=True), _PLAN024_CELLS),
    "risk_priced": (dict(n_traders=100, rollover_price="risk_priced", t_end=50), _PLAN024_CELLS),
    "liquidity_aware": (dict(n_traders=100, rollover_lender="liquidity_aware"), _PLAN024_CELLS[:4]),
}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pair_digests(params: dict[str, Any], comparison_columns: list[str]) -> dict[str, str]:
    """{table@regime: digest} for both runs' tables, and {"comparison": digest} of the row."""
    pair = simulate_pair(**params)
    out = {}
    for run in (pair.passive, pair.active):
        for name in RUN_FILES:
            out[f"{name}@{run.regime}"] = sha(run.tables[name].to_csv(index=False))
    row = pair.comparison
    out["comparison"] = sha(json.dumps([repr(row[c]) for c in comparison_columns]))
    return out


def all_digests(comparison_columns: list[str]) -> dict[str, dict[str, str]]:
    out = {}
    for name, (fixed, cells) in SAMPLES.items():
        for cell in cells:
            params = {**fixed, **cell}
            key = name + ":" + ",".join(f"{k}={v}" for k, v in sorted(params.items()))
            out[key] = pair_digests(params, comparison_columns)
    return out


if __name__ == "__main__":  # pragma: no cover - run once against the baseline commit
    from bilancio_lite.schema import columns
    cols = columns("comparison")
    json.dump({"commit": "6830021", "comparison_columns": cols, "pairs": all_digests(cols)},
              sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
