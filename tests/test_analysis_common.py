"""Tests of the analysis package's shared helpers (bilancio_lite/analysis/_common.py), and of the
frame builders of tests/factories/frames.py against the logs schema."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bilancio_lite.analysis import PAIR_KEYS
from bilancio_lite.analysis._common import as_bool, ratio, sort_frame
from factories.frames import P, comparison, inv, rep, sysrow, trade


def test_pair_keys_are_the_five_grid_axes_in_order():
    assert PAIR_KEYS == ("kappa", "concentration", "mu", "outside_mid_ratio", "seed")


def test_ratio_zero_denominator_gives_fill():
    out = ratio(pd.Series([1.0, 2.0, 0.0]), pd.Series([2.0, 0.0, 0.0]))
    assert out.tolist() == [0.5, 0.0, 0.0]
    assert math.isnan(ratio(1.0, 0.0, np.nan))


def test_as_bool_handles_strings():
    assert as_bool(pd.Series(["True", "false", "1", 0])).tolist() == [True, False, True, False]


def test_sort_frame_uses_natural_orders():
    df = pd.DataFrame({"effect_class": ["worsened", "improved", "unchanged"],
                       "trader_id": ["H10", "H2", "H1"]})
    assert sort_frame(df, ["effect_class"])["effect_class"].tolist() == [
        "improved", "unchanged", "worsened"]
    assert sort_frame(df, ["trader_id"])["trader_id"].tolist() == ["H1", "H2", "H10"]
    other = pd.DataFrame({"regime": [None, "other", "active", "passive"], "i": [0, 1, 2, 3]})
    assert sort_frame(other, ["regime"])["i"].tolist() == [3, 2, 0, 1]  # unknown and missing last, stable


def test_builders_fill_only_columns_of_the_logs_schema():
    """The builders start from the schema's columns and set some by name: a name the schema does
    not have (a renamed or removed column) would add a stray key."""
    from bilancio_lite import schema

    p = P(1.0)
    built = {"trades": trade(p, 0, "H1"), "repayment_events": rep(p, "active", "H1", 1, "repaid"),
             "inventory_timeseries": inv(p, "active", 0, "short", 1),
             "system_state_timeseries": sysrow(p, "active", 0, 100.0, 1.0)}
    for name, row in built.items():
        assert sorted(row) == sorted(schema.columns(name)), name
    assert set(comparison(P(1.0)).columns) <= set(schema.columns("comparison"))


