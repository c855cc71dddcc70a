"""Counts per category (bilancio_lite/analysis/categories.py) and their stacked-bar plot."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from bilancio_lite import plots  # noqa: E402
from factories.figures import assert_labelled as _labelled  # noqa: E402


def test_category_counts_keep_every_run_and_category():
    from bilancio_lite.analysis import categories as cat

    comp = pd.DataFrame({"kappa": [0.5, 0.5, 2.0, 2.0, 2.0], "dealer_empty_fraction": [0.0, 1.0, 0.2, 0.5, 1.0]})
    t = cat.dealer_empty_counts(comp)
    assert t.columns.tolist() == ["kappa", *cat.EMPTY_CATEGORIES]
    assert t.set_index("kappa").loc[2.0].tolist() == [0, 1, 1, 1]
    assert t.set_index("kappa").loc[0.5].tolist() == [1, 0, 0, 1]
    assert cat.takeaway_counts(t, "kappa", "active runs").startswith("Of 5 active runs: 1 never empty")
    vol = pd.DataFrame({"kappa": [1.0, 1.0, 1.0], "traded_face_share": [0.0, 0.005, 0.2]})
    assert cat.volume_counts(vol).iloc[0, 1:].tolist() == [1, 1, 1]
    _labelled(plots.stacked_counts(t, "kappa", "t", "kappa", "runs (count)"))
