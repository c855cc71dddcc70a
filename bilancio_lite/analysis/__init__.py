"""Post-processing of a finished sweep's CSVs (spec §8.6): pure functions over DataFrames.

Modules: :mod:`.io` (read a sweep, write tables), :mod:`.strategies` (§8.6 A), :mod:`.usage`
(§8.6 B), :mod:`.no_difference` (§8.6 C), :mod:`.horizons` (§8.6 D), :mod:`.initial_conditions`
(§8.6 E), :mod:`.replicates` (paired effects across seeds) and :mod:`.overview` (sweep overview
and one-sentence takeaways). No plotting here: notebooks plot these tables.
"""

from ._common import (
    BREADTHS, BUCKETS, CELL_KEYS, EFFECT_CLASSES, IDENTITY_COLUMNS, PAIR_CONTEXT, PAIR_KEYS,
    STRATEGIES, STRESS_REGIMES,
)
from .horizons import activity_vs_effect, bucket_depletion, dealer_inventory_share, first_default_days
from .initial_conditions import (
    cash_debt_bin, claims_tercile, initial_conditions_summary, mismatch_sign,
    trader_initial_conditions,
)
from .io import SweepData, load_sweep, write_table
from .no_difference import hypothesis_shares, no_difference_pairs
from .overview import (
    sweep_overview, takeaway_activity, takeaway_depletion, takeaway_first_defaults,
    takeaway_initial_conditions, takeaway_inventory_share, takeaway_no_difference,
    takeaway_overview, takeaway_replicates, takeaway_strategies, takeaway_strategy_correlation,
    takeaway_traded_vs_untraded, takeaway_usage,
)
from .replicates import bootstrap_mean_ci, paired_effect_by_slice, wilcoxon_test
from .strategies import (
    strategy_by_effect_class, strategy_by_stress_and_effect, strategy_by_stress_regime,
    strategy_cut, strategy_effect_correlation, strategy_outcomes_by_run, strategy_outcomes_overall,
    traded_vs_untraded,
)
from .usage import (
    cells_traded_default_less, dealer_usage_by_run, participation_breadth, usage_by_breadth,
    usage_by_parameter,
)

__all__ = [
    "BREADTHS", "BUCKETS", "CELL_KEYS", "EFFECT_CLASSES", "IDENTITY_COLUMNS", "PAIR_CONTEXT",
    "PAIR_KEYS", "STRATEGIES", "STRESS_REGIMES",
    "SweepData", "load_sweep", "write_table",
    "strategy_outcomes_by_run", "strategy_outcomes_overall", "strategy_cut",
    "strategy_by_effect_class", "strategy_by_stress_regime", "strategy_by_stress_and_effect",
    "strategy_effect_correlation", "traded_vs_untraded",
    "dealer_usage_by_run", "usage_by_parameter", "usage_by_breadth", "cells_traded_default_less",
    "participation_breadth",
    "no_difference_pairs", "hypothesis_shares",
    "dealer_inventory_share", "activity_vs_effect", "first_default_days", "bucket_depletion",
    "trader_initial_conditions", "initial_conditions_summary", "cash_debt_bin", "claims_tercile",
    "mismatch_sign",
    "paired_effect_by_slice", "bootstrap_mean_ci", "wilcoxon_test",
    "sweep_overview", "takeaway_overview", "takeaway_strategies", "takeaway_strategy_correlation",
    "takeaway_usage", "takeaway_traded_vs_untraded", "takeaway_no_difference",
    "takeaway_first_defaults", "takeaway_activity", "takeaway_inventory_share",
    "takeaway_depletion", "takeaway_initial_conditions", "takeaway_replicates",
]
