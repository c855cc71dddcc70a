"""Checks shared by the plotting tests: every figure of bilancio_lite/plots.py has labelled axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def assert_labelled(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    for ax in fig.axes:
        if ax.axison and not ax.get_label() == "<colorbar>":
            assert ax.get_xlabel() or ax.get_ylabel() or ax.get_title(), "unlabelled axes"
    plt.close(fig)
