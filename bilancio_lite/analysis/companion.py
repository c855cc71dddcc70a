"""Companion sweeps: a second sweep an analysis notebook section reads besides its main sweep
(issue 21: ``params/horizons.yaml`` for notebook 05, ``params/rho_decomposition.yaml`` for 07,
``params/invest.yaml`` for 03).

A notebook takes the companion's folder as a parameter (``horizons_dir``, ...). Empty means
"look next to the main sweep": ``<parent of sweep_dir>/<name>`` (``outputs/horizons`` beside
``outputs/plan024``). When no finished sweep is there, the section shows the command that makes
one instead of a figure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Companion", "find_companion"]


@dataclass(frozen=True)
class Companion:
    """Where a companion sweep is (``path``; None if missing) and the sentence to show when it is
    missing (``missing_note``)."""

    name: str
    path: Path | None
    missing_note: str

    @property
    def found(self) -> bool:
        return self.path is not None


def find_companion(name: str, given: str | os.PathLike = "", sweep_dir: str | os.PathLike = "",
                   params_file: str | None = None) -> Companion:
    """The companion sweep ``name``: the folder ``given`` if not empty, else
    ``<parent of sweep_dir>/<name>``; found when it holds ``aggregate/comparison.csv`` or
    ``tables/pairs`` (a finished sweep)."""
    params_file = params_file or f"params/{name}.yaml"
    if str(given):
        candidate = Path(given)
    elif str(sweep_dir):
        candidate = Path(sweep_dir).resolve().parent / name
    else:
        candidate = None
    found = candidate is not None and (
        (candidate / "aggregate" / "comparison.csv").is_file() or (candidate / "tables" / "pairs").is_dir())
    where = f" (looked in {candidate.name}/ beside the main sweep)" if candidate is not None and not str(given) else ""
    note = (f"No finished `{name}` sweep was found{where}. Run `bilancio-lite sweep {params_file}` "
            f"to see this section, then pass its folder as the notebook parameter `{name}_dir` "
            f"(or keep it beside the main sweep).")
    return Companion(name, candidate if found else None, note)
