"""Post-processing of a finished sweep's CSVs (spec §8.6): pure functions over DataFrames.

Modules: :mod:`.io` (read a sweep, write tables), :mod:`.strategies` (§8.6 A), :mod:`.usage`
(§8.6 B), :mod:`.no_difference` (§8.6 C), :mod:`.horizons` (§8.6 D), :mod:`.initial_conditions`
(§8.6 E), :mod:`.replicates` (the estimator of every cut: CIs over replicate seeds, §7.6), :mod:`.overview` (sweep overview
and one-sentence takeaways) and :mod:`.grid_overview` (notebook 01: cuts, heatmap, dealer activity). No plotting here: notebooks plot these tables.
"""

from ._common import (
    BREADTHS, BUCKETS, CELL_KEYS, EFFECT_CLASSES, IDENTITY_COLUMNS, PAIR_CONTEXT, PAIR_KEYS,
    PARAM_LABELS, STRATEGIES, STRESS_REGIMES,
)
from .grid_overview import (
    ACTIVITY_METRICS, OVERVIEW_CUTS, dealer_activity_by_run, dealer_activity_summary,
    effect_heatmap_table, heatmap_matrix, overview_ci_tables, overview_tables, takeaway_ci,
    takeaway_cuts, takeaway_dealer_activity, takeaway_heatmap,
)
from .horizons import (
    activity_vs_effect, bucket_depletion, dealer_inventory_share, dealer_inventory_vs_debt,
    debt_money_path, first_default_days, late_activity_effect,
)
from .initial_conditions import (
    cash_debt_bin, claims_tercile, initial_conditions_by_feature, initial_conditions_long,
    initial_conditions_summary, mismatch_sign, trader_initial_conditions,
)
from .io import SweepData, load_sweep, read_table, write_table
from .no_difference import (
    hypothesis_shares, hypothesis_verdicts, no_difference_pairs, no_difference_summary,
    with_initial_face,
)
from .overview import (
    sweep_overview, takeaway_activity, takeaway_depletion, takeaway_first_defaults,
    takeaway_initial_conditions, takeaway_inventory_share, takeaway_no_difference,
    takeaway_overview, takeaway_replicates, takeaway_strategies, takeaway_strategy_correlation,
    takeaway_traded_vs_untraded, takeaway_usage,
    takeaway_buy_and_hold, takeaway_dealer_idle, takeaway_debt_path, takeaway_defaulters_traded,
    takeaway_hypothesis, takeaway_inactive, takeaway_inventory_vs_debt, takeaway_late_activity,
    takeaway_many_round_trips, takeaway_no_difference_summary, takeaway_paired_defaults,
    takeaway_replicate_count, takeaway_rescued_harmed, takeaway_strategy_default_rates,
    takeaway_strategy_mix, takeaway_strategy_shares, takeaway_strategy_vs_passive,
    takeaway_traded_volume, takeaway_usage_by_feature,
)
from .replicates import (
    cell_effects, headline_table, heterogeneity_summary, paired_effect_by_slice, replicate_count,
    seed_interval, seed_means, takeaway_headline, takeaway_heterogeneity,
)
from .strategies import (
    strategy_by_effect_class, strategy_by_stress_and_effect, strategy_by_stress_regime,
    strategy_cut, strategy_effect_correlation, strategy_flags, strategy_outcomes_by_run,
    strategy_outcomes_overall, strategy_vs_passive, traded_long, traded_vs_untraded,
)
from .usage import (
    cells_traded_default_less, dealer_usage_by_run, participation_breadth, usage_by_breadth,
    usage_by_parameter,
)

__all__ = [
    "BREADTHS", "BUCKETS", "CELL_KEYS", "EFFECT_CLASSES", "IDENTITY_COLUMNS", "PAIR_CONTEXT",
    "PAIR_KEYS", "PARAM_LABELS", "STRATEGIES", "STRESS_REGIMES",
    "SweepData", "load_sweep", "read_table", "write_table",
    "strategy_outcomes_by_run", "strategy_outcomes_overall", "strategy_cut",
    "strategy_by_effect_class", "strategy_by_stress_regime", "strategy_by_stress_and_effect",
    "strategy_effect_correlation", "traded_vs_untraded",
    "dealer_usage_by_run", "usage_by_parameter", "usage_by_breadth", "cells_traded_default_less",
    "participation_breadth",
    "no_difference_pairs", "hypothesis_shares",
    "dealer_inventory_share", "activity_vs_effect", "first_default_days", "bucket_depletion",
    "trader_initial_conditions", "initial_conditions_summary", "cash_debt_bin", "claims_tercile",
    "mismatch_sign",
    "paired_effect_by_slice", "seed_interval", "seed_means", "headline_table", "takeaway_headline",
    "cell_effects", "heterogeneity_summary", "takeaway_heterogeneity",
    "sweep_overview", "takeaway_overview", "takeaway_strategies", "takeaway_strategy_correlation",
    "takeaway_usage", "takeaway_traded_vs_untraded", "takeaway_no_difference",
    "takeaway_first_defaults", "takeaway_activity", "takeaway_inventory_share",
    "takeaway_depletion", "takeaway_initial_conditions", "takeaway_replicates",
    # notebooks 02-05
    "hypothesis_verdicts", "no_difference_summary", "with_initial_face",
    "strategy_vs_passive", "strategy_flags", "traded_long",
    "initial_conditions_by_feature", "initial_conditions_long",
    "dealer_inventory_vs_debt", "debt_money_path", "late_activity_effect", "replicate_count",
    "takeaway_replicate_count", "takeaway_no_difference_summary", "takeaway_hypothesis",
    "takeaway_traded_volume", "takeaway_defaulters_traded", "takeaway_dealer_idle",
    "takeaway_strategy_shares", "takeaway_strategy_default_rates", "takeaway_strategy_vs_passive",
    "takeaway_buy_and_hold", "takeaway_many_round_trips", "takeaway_usage_by_feature",
    "takeaway_paired_defaults", "takeaway_strategy_mix", "takeaway_rescued_harmed",
    "takeaway_inactive", "takeaway_inventory_vs_debt", "takeaway_debt_path",
    "takeaway_late_activity",
    # notebook 01
    "OVERVIEW_CUTS", "ACTIVITY_METRICS", "overview_tables", "takeaway_cuts", "overview_ci_tables",
    "takeaway_ci", "effect_heatmap_table", "heatmap_matrix", "takeaway_heatmap",
    "dealer_activity_by_run", "dealer_activity_summary", "takeaway_dealer_activity",
]
