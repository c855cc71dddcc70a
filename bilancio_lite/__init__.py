"""bilancio_lite: a Kalecki debt ring with Treynor dealers and value-based traders (Plan 024).

Quick start::

    from bilancio_lite import ModelParams, simulate_pair, write_pair
    pair = simulate_pair(ModelParams(kappa=0.5, mu=0.5))
    pair.comparison["trading_effect"], pair.active.tables["trades"].head()
    write_pair(pair, "outputs/one_pair")

The model is documented in `docs/model.md` (§ numbers in docstrings refer to it).
"""

from ._version import __version__
from .attribution import attribute
from .engine import PairResult, Run, RunResult, run_regime, simulate_pair
from .logs import collect_comparison, write_pair
from .params import ModelParams, describe_errors
from .store import Sweep, load_sweep

__all__ = ["ModelParams", "attribute", "PairResult", "Run", "RunResult", "collect_comparison", "describe_errors",
           "run_regime", "simulate_pair", "write_pair", "Sweep", "load_sweep", "__version__"]
