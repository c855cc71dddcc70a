"""Figures shared by the notebooks (01, 06–08): each function draws one message and returns the figure.

Inputs are the frames of :mod:`bilancio_lite.analysis.why` (§7.5), :mod:`.analysis.robustness`
(§6.4 variants, §7.2, §7.6), :mod:`.analysis.variance` (§7.6) and :mod:`.analysis.one_pair` (§3.1 quotes, §8.1 trades, §5.2 clearing).
Every axis is labelled with its unit. Call ``plt.show()`` (or ``display(fig)``) in the notebook;
nothing here prints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib

matplotlib.use(matplotlib.get_backend())  # keep the notebook's backend; Agg in tests
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from .schema import BUCKETS  # noqa: E402
from .analysis.one_pair import OUTCOME_COLORS, OUTCOMES  # noqa: E402

REGIME_STYLE: dict[str, dict] = {"passive": {"color": "tab:gray", "linestyle": "--"},
                                 "active": {"color": "tab:blue", "linestyle": "-"}}


# --- 06: why the results look this way ----------------------------------------------------------
def trade_days(table: pd.DataFrame) -> Figure:
    """Customer trades per day (bars, log scale when day 0 dominates)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    _ = ax.bar(table["day"], table["n_trades"], color="tab:blue")
    if len(table) and table["n_trades"].max() > 20 * max(1, table["n_trades"][table["day"] > 0].max() if
                                                         (table["day"] > 0).any() else 1):
        ax.set_yscale("symlog", linthresh=1)
    _ = ax.set(xlabel="day", ylabel="customer trades (count, all active runs)",
               title="On which days customers trade")
    fig.tight_layout()
    return fig


def defaults_by_cycle(table: pd.DataFrame, max_cycles: int = 12) -> Figure:
    """Defaulted liability cohorts per cycle, passive vs active (grouped bars)."""
    t = table[table["cycle"] <= max_cycles]
    cycles = sorted(t["cycle"].unique())
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    x = np.arange(len(cycles))
    for k, regime in enumerate(("passive", "active")):
        r = t[t["regime"] == regime].set_index("cycle").reindex(cycles)["n_defaulted"].fillna(0)
        _ = ax.bar(x + (k - 0.5) * 0.4, r.to_numpy(), width=0.4, label=regime,
                   color=REGIME_STYLE[regime]["color"])
    _ = ax.set_xticks(x, [str(c) for c in cycles])
    _ = ax.set(xlabel=f"cycle (1 = the t = 0 liabilities; first {max_cycles} shown)",
               ylabel="defaulted cohorts (count)", title="When defaults happen: by cycle")
    _ = ax.legend(title="regime", loc="upper right")
    fig.tight_layout()
    return fig


def same_series(frames: dict[str, pd.DataFrame], columns: Sequence[str]) -> list[list[str]]:
    """Group the keys of ``frames`` whose ``columns`` hold the same values (within 1e-9), in the
    given order: series that would be drawn on top of each other. Each group lists its keys."""
    groups: list[list[str]] = []
    for key, f in frames.items():
        v = f[list(columns)].to_numpy(dtype="float64")
        for g in groups:
            w = frames[g[0]][list(columns)].to_numpy(dtype="float64")
            if v.shape == w.shape and np.allclose(v, w, rtol=0.0, atol=1e-9, equal_nan=True):
                g.append(key)
                break
        else:
            groups.append([key])
    return groups


def outside_mid_path(path: pd.DataFrame) -> Figure:
    """Mean outside mid per day and bucket (10th–90th percentile band), one panel per regime.
    Buckets whose paths coincide are drawn once, labelled together ("short = mid = long"), so
    every legend entry is a visible line."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), sharey=True)
    colors = dict(zip(BUCKETS, ("tab:green", "tab:orange", "tab:purple")))
    for ax, regime in zip(axes, ("passive", "active")):
        r = path[path["regime"] == regime]
        series = {b: r[r["bucket"] == b].sort_values("day") for b in BUCKETS}
        for group in same_series(series, ["day", "mean_M"]):
            s, color = series[group[0]], colors[group[0]]
            if s.empty:
                continue
            _ = ax.plot(s["day"], s["mean_M"], color=color, label=" = ".join(group))
            for b in same_series({b: series[b] for b in group}, ["day", "p10_M", "p90_M"]):
                band = series[b[0]]
                _ = ax.fill_between(band["day"], band["p10_M"], band["p90_M"], color=color, alpha=0.12)
        _ = ax.set(xlabel="day", title=f"{regime} runs", ylabel="outside mid M (per unit face)")
        if ax.get_legend_handles_labels()[0]:
            _ = ax.legend(title="bucket", loc="upper right")
    fig.tight_layout()
    return fig


def say_none(ax: plt.Axes, what: str = "none in this sweep") -> None:
    """An empty panel says so in words instead of drawing empty axes."""
    ax.set_axis_off()
    _ = ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes, fontsize=11, color="0.35")


def mechanism_counts(counts: pd.DataFrame, by: str | None = None) -> Figure:
    """Horizontal bars: traders per mechanism, harmed and rescued side by side (``by``: hue)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
    for ax, outcome in zip(axes, ("harmed", "rescued")):
        o = counts[counts["outcome"] == outcome]
        if o.empty or not (o["n_traders"] > 0).any():
            say_none(ax, f"{outcome} traders: none in this sweep")
            _ = ax.set_title(f"{outcome} traders by mechanism")
            continue
        mechs = list(dict.fromkeys(o["mechanism"]))
        groups = sorted(o[by].unique(), key=str) if by else [None]
        h = 0.8 / len(groups)
        for k, g in enumerate(groups):
            sub = o if g is None else o[o[by] == g]
            n = sub.groupby("mechanism", sort=False)["n_traders"].sum().reindex(mechs).fillna(0)
            _ = ax.barh(np.arange(len(mechs)) + (k - (len(groups) - 1) / 2) * h, n.to_numpy(), height=h,
                        label=None if g is None else str(g))
        _ = ax.set_yticks(np.arange(len(mechs)), mechs)
        ax.invert_yaxis()
        _ = ax.set(xlabel="traders (count, all pairs)", title=f"{outcome} traders by mechanism")
        if by:
            _ = ax.legend(title=by, loc="lower right")
    fig.tight_layout()
    return fig


def channel_shares(shares: pd.DataFrame, by: str | None = None) -> Figure:
    """Horizontal bars: the share of harmed (left) and rescued (right) traders each channel of
    §12 explains (``analysis.channels.channel_shares``), one bar per ``by`` group (hue)."""
    from .analysis.channels import CHANNELS

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharex=True)
    for ax, change in zip(axes, ("harmed", "rescued")):
        o = shares[shares["change"] == change]
        groups = sorted(o[by].unique(), key=str) if by else [None]
        h = 0.8 / max(1, len(groups))
        for k, g in enumerate(groups):
            sub = o if g is None else o[o[by] == g]
            n = int(sub["n_traders"].sum())
            values = sub[list(CHANNELS)].iloc[0].to_numpy(dtype=float) if len(sub) else np.zeros(len(CHANNELS))
            label = f"{g} ({n})" if g is not None else f"{n} traders"
            _ = ax.barh(np.arange(len(CHANNELS)) + (k - (len(groups) - 1) / 2) * h, values, height=h, label=label)
        _ = ax.set_yticks(np.arange(len(CHANNELS)), list(CHANNELS))
        ax.invert_yaxis()
        _ = ax.set(xlabel=f"share of {change} traders it reverts", title=f"{change} traders by channel (§12)",
                   xlim=(0, 1))
        _ = ax.legend(title=by or None, loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


# --- 07: robustness ------------------------------------------------------------------------------
def robustness_forest(table: pd.DataFrame, difference: bool = False) -> Figure:
    """Mean trading effect per variant with its 95% CI over replicate seeds (dots and whiskers);
    ``difference=True``: each variant's difference from the baseline (paired by cell and seed)."""
    t = table.reset_index(drop=True)
    col, lo, hi = (("diff_vs_baseline", "diff_ci_low", "diff_ci_high") if difference
                   else ("mean_trading_effect", "ci_low", "ci_high"))
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(t) + 1.4))
    y = np.arange(len(t))
    err = np.vstack([t[col] - t[lo], t[hi] - t[col]])
    err = np.nan_to_num(err, nan=0.0)
    _ = ax.errorbar(t[col], y, xerr=err, fmt="o", color="tab:blue", capsize=3)
    _ = ax.axvline(0, color="black", linewidth=0.8)
    if len(t) and not difference:  # the first row's (the baseline's) mean, named in the title
        _ = ax.axvline(float(t[col].iloc[0]), color="tab:gray", linestyle=":", linewidth=1)
    _ = ax.set_yticks(y, t["variant"])
    ax.invert_yaxis()
    base = t["variant"].iloc[0] if len(t) else ""
    if difference:
        _ = ax.set(xlabel=f"trading effect minus {base}'s, paired by cell and seed (share of lineages)",
                   title="Difference from the baseline per variant, 95% CI over replicate seeds")
    else:
        first = f"; dotted: {base}" if len(t) else ""
        _ = ax.set(xlabel="mean trading effect δ passive − δ active (share of lineages)",
                   title=f"Headline per variant, 95% CI over replicate seeds{first}")
    fig.tight_layout()
    return fig


def effect_by_axis(wide: pd.DataFrame, axis: str, label: str | None = None) -> Figure:
    """Mean trading effect per value of ``axis``, one line per variant."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    x = wide[axis].astype(float)
    for col in wide.columns:
        if col == axis:
            continue
        _ = ax.plot(x, wide[col], marker="o", label=str(col))
    _ = ax.axhline(0, color="black", linewidth=0.8)
    _ = ax.set(xlabel=label or axis, ylabel="mean trading effect (share of lineages)",
               title=f"Trading effect by {axis}, per variant")
    if axis == "kappa":
        ax.set_xscale("log", base=2)
    _ = ax.legend(title="variant", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    fig.tight_layout()
    return fig


# --- 08: one pair ----------------------------------------------------------------------------------
def dealer_panels(quotes: pd.DataFrame) -> Figure:
    """Per bucket (rows): dealer inventory and capacity K* (left; passive dashed, active solid),
    and the active dealer's bid/ask against the outside bid/ask (right)."""
    fig, axes = plt.subplots(len(BUCKETS), 2, figsize=(12, 2.6 * len(BUCKETS)), sharex=True, squeeze=False)
    for row, b in zip(axes, BUCKETS):
        q = quotes[quotes["bucket"] == b]
        for regime in ("passive", "active"):
            r = q[q["regime"] == regime]
            st = REGIME_STYLE[regime]
            _ = row[0].step(r["day"], r["dealer_inventory"], where="post", label=f"inventory, {regime}", **st)
            _ = row[0].step(r["day"], r["dealer_max_capacity"], where="post", alpha=0.5, linewidth=1,
                            label=f"capacity K*, {regime}", color=st["color"], linestyle=":")
        _ = row[0].set(ylabel=f"{b}: tickets")
        a = q[q["regime"] == "active"]
        _ = row[1].fill_between(a["day"], a["outside_bid"], a["outside_ask"], step="post", color="tab:gray",
                                alpha=0.2, label="outside bid–ask (VBT)")
        _ = row[1].step(a["day"], a["dealer_bid"], where="post", color="tab:red", label="dealer bid")
        _ = row[1].step(a["day"], a["dealer_ask"], where="post", color="tab:green", label="dealer ask")
        _ = row[1].set(ylabel=f"{b}: price per unit face")
    _ = axes[0][0].set_title("Dealer inventory and capacity (tickets)")
    _ = axes[0][1].set_title("Active dealer quotes vs outside quotes")
    _ = axes[0][0].legend(fontsize="x-small", loc="upper right", ncol=2)
    _ = axes[0][1].legend(fontsize="x-small", loc="lower left")
    for ax in axes[-1]:
        _ = ax.set_xlabel("day")
    fig.tight_layout()
    return fig


def trade_timeline(trades: pd.DataFrame, n_traders: int, last_day: int) -> Figure:
    """Every customer trade of the active run in execution order (x: trade number, with the start
    of each trading day marked): who traded (top) and at what price, interior or passed through to
    the VBT (bottom); colour = bucket, marker = side / route."""
    t = trades.sort_values(["day", "seq"], kind="mergesort").reset_index(drop=True)
    k = np.arange(len(t))
    fig, axes = plt.subplots(2, 1, figsize=(10, 5.6), sharex=True)
    colors = dict(zip(BUCKETS, ("tab:green", "tab:orange", "tab:purple")))
    side_marker = {"SELL": "v", "BUY": "^"}
    route_marker = {"interior": "o", "passthrough": "x"}
    for b in BUCKETS:
        for side, m in side_marker.items():
            sel = ((t["bucket"] == b) & (t["side"] == side)).to_numpy()
            if sel.any():
                _ = axes[0].scatter(k[sel], t.loc[sel, "trader_index"], marker=m, color=colors[b], s=24,
                                    label=f"{side} {b}")
        for route, m in route_marker.items():
            sel = ((t["bucket"] == b) & (t["route"] == route)).to_numpy()
            if sel.any():
                _ = axes[1].scatter(k[sel], t.loc[sel, "unit_price"], marker=m, color=colors[b], s=24,
                                    label=f"{route} {b}")
    for d, first in t.groupby("day", sort=True)["day"].apply(lambda s: s.index[0]).items():
        for ax in axes:
            _ = ax.axvline(first - 0.5, color="lightgray", linewidth=1, zorder=0)
        _ = axes[0].annotate(f"day {int(d)}", (first - 0.5, n_traders + 0.5), xytext=(0, 3),
                             textcoords="offset points", fontsize=7, rotation=90, ha="center",
                             va="bottom", annotation_clip=False)
    _ = axes[0].set(ylim=(0.5, n_traders + 0.5), ylabel="trader (H1..HN)")
    _ = fig.suptitle(f"Customer trades of the active run ({len(t)}, days "
                          f"{', '.join(str(int(d)) for d in sorted(t['day'].unique())[:8]) or 'none'}"
                     f"{' …' if t['day'].nunique() > 8 else ''})")
    _ = axes[1].set(xlabel="trade number (execution order; grey lines: start of a day)",
                    ylabel="price per unit face")
    if len(t):
        for ax, title in zip(axes, ("side, bucket", "route, bucket")):
            _ = ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    else:
        _ = axes[0].set_xlim(-1, 1)
    fig.tight_layout()
    return fig


def cash_vs_due(cash: pd.DataFrame) -> Figure:
    """Each trader's cash before clearing against the face it owes on its first due day, one
    panel per regime, coloured by outcome; below the diagonal it cannot pay in full."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True, sharey=True)
    top = float(max(cash["cash_before"].max(), cash["face_due"].max(), 1.0)) * 1.05 if len(cash) else 1.0
    for ax, regime in zip(axes, ("passive", "active")):
        r = cash[cash["regime"] == regime]
        for o in OUTCOMES:
            s = r[r["outcome"] == o]
            if len(s):
                _ = ax.scatter(s["face_due"], s["cash_before"], color=OUTCOME_COLORS[o], s=30, alpha=0.8,
                               label=f"{o} ({len(s)})")
        _ = ax.plot([0, top], [0, top], color="black", linewidth=0.8)
        _ = ax.set(xlim=(0, top), ylim=(0, top), xlabel="face due on its first due day (u)",
                   ylabel="cash just before clearing (u)", title=f"{regime} run")
        _ = ax.legend(title="outcome (traders)", loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def ring(outcomes: pd.DataFrame, title: str = "") -> Figure:
    """The ring (H_i owes H_{i+1}, §2.1) drawn as a circle of traders, one panel per regime; a
    trader is red where it defaulted in that run, green where it did not, with a ring (blue /
    orange edge) marking the rescued / harmed."""
    n = len(outcomes)
    angle = np.pi / 2 - 2 * np.pi * (outcomes["index"].to_numpy() - 1) / max(n, 1)
    x, y = np.cos(angle), np.sin(angle)
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2))
    edge = {"rescued": "tab:blue", "harmed": "tab:orange"}
    for ax, regime in zip(axes, ("passive", "active")):
        dd = outcomes[f"default_day_{regime}"]
        face = np.where(dd.notna().to_numpy(), "tab:red", "tab:green")
        edges = [edge.get(o, "white") for o in outcomes["outcome"]]
        _ = ax.plot(np.append(x, x[:1]), np.append(y, y[:1]), color="lightgray", linewidth=1, zorder=1)
        size = max(12.0, min(160.0, 6000.0 / max(n, 1)))
        _ = ax.scatter(x, y, c=face, edgecolors=edges, linewidths=2.0, s=size, zorder=2)
        if n <= 40:
            for xi, yi, name in zip(x, y, outcomes["trader_id"]):
                _ = ax.annotate(name, (1.13 * xi, 1.13 * yi), ha="center", va="center", fontsize=7)
        ax.set_aspect("equal")
        ax.set_axis_off()
        _ = ax.set(xlim=(-1.3, 1.3), ylim=(-1.3, 1.3),
                   title=f"{regime}: {int(dd.notna().sum())} of {n} traders defaulted")
    defaulted = outcomes[["default_day_passive", "default_day_active"]].notna().to_numpy()
    shown = {"did not default": bool((~defaulted).any()), "defaulted": bool(defaulted.any()),
             "rescued": bool((outcomes["outcome"] == "rescued").any()),
             "harmed": bool((outcomes["outcome"] == "harmed").any())}  # the legend lists what is drawn
    handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor=c, markeredgecolor=e, markersize=9,
                      markeredgewidth=2, label=lab)
               for key, c, e, lab in (("did not default", "tab:green", "white", "did not default"),
                                      ("defaulted", "tab:red", "white", "defaulted"),
                                      ("rescued", "white", "tab:blue", "rescued (passive default only)"),
                                      ("harmed", "white", "tab:orange", "harmed (active default only)"))
               if shown[key]]
    _ = fig.legend(handles=handles, loc="lower center", ncol=4, fontsize="small")
    if title:
        _ = fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def counts_grid(table: pd.DataFrame, x: str, y: str, title: str, xlabel: str, ylabel: str) -> Figure:
    """A count heatmap of two integer columns (replaces a scatter whose points overlap)."""
    m = table.groupby([y, x]).size().unstack(fill_value=0).sort_index(ascending=False)
    fig, ax = plt.subplots(figsize=(max(7.0, 0.5 * m.shape[1] + 3), max(4.5, 0.35 * m.shape[0] + 2)))
    im = ax.imshow(m.to_numpy(), cmap="Blues", aspect="auto")
    ax.grid(False)
    _ = ax.set_xticks(range(m.shape[1]), [_fmt(v) for v in m.columns])
    _ = ax.set_yticks(range(m.shape[0]), [_fmt(v) for v in m.index])
    for (i, j), v in np.ndenumerate(m.to_numpy()):
        if v:
            _ = ax.text(j, i, str(v), ha="center", va="center", fontsize=8,
                        color="white" if v > m.to_numpy().max() / 2 else "black")
    _ = fig.colorbar(im, ax=ax, label="pairs (count)")
    _ = ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    fig.tight_layout()
    return fig


def stacked_counts(table: pd.DataFrame, by: str, title: str, xlabel: str, ylabel: str) -> Figure:
    """Stacked bars: one bar per value of ``by``, one segment per category column (counts)."""
    cats = [c for c in table.columns if c != by]
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    colors = plt.get_cmap("viridis")(np.linspace(0.1, 0.9, max(len(cats), 1)))
    for c, color in zip(cats, colors):
        v = table[c].to_numpy(dtype=float)
        _ = ax.bar(x, v, bottom=bottom, label=c, color=color)
        bottom += v
    _ = ax.set_xticks(x, [_fmt(v) for v in table[by]])
    _ = ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    _ = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    fig.tight_layout()
    return fig


# --- 01: variance decomposition -------------------------------------------------------------------
def variance_shares(table: pd.DataFrame) -> Figure:
    """Share of the variance of the cell-mean effects per ANOVA term (bars) with its 95% CI over
    replicate seeds (whiskers; none with R = 1), from :func:`.analysis.variance.variance_decomposition`."""
    t = table.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(t) + 1.4))
    y = np.arange(len(t))
    colors = t["kind"].map({"main effect": "tab:blue", "two-way interaction": "tab:orange"}).fillna("tab:gray")
    _ = ax.barh(y, 100 * t["share"], color=colors.tolist())
    if np.isfinite(t["ci_low"]).any():
        err = 100 * np.vstack([t["share"] - t["ci_low"], t["ci_high"] - t["share"]])
        _ = ax.errorbar(100 * t["share"], y, xerr=np.clip(np.nan_to_num(err), 0, None), fmt="none",
                        color="black", capsize=2, linewidth=0.8)
    _ = ax.set_yticks(y, t["term"])
    ax.invert_yaxis()
    handles = [Line2D([], [], color=c, linewidth=6, label=k) for k, c in
               (("main effect", "tab:blue"), ("two-way interaction", "tab:orange"), ("higher-order", "tab:gray"))]
    _ = ax.legend(handles=handles, loc="lower right", fontsize="small")
    _ = ax.set(xlabel="share of the variance of the cell-mean trading effects (%)",
               title="Which grid parameter matters most (95% CI over replicate seeds)")
    fig.tight_layout()
    return fig


def _fmt(v: object) -> str:
    if isinstance(v, float) and math.isfinite(v) and v == int(v):
        return str(int(v))
    return str(v)


__all__ = ["trade_days", "defaults_by_cycle", "outside_mid_path", "same_series", "say_none", "mechanism_counts", "channel_shares", "robustness_forest",
           "effect_by_axis", "variance_shares", "dealer_panels", "trade_timeline", "cash_vs_due", "ring", "counts_grid",
           "stacked_counts"]


def close_all(figs: Sequence[Figure] = ()) -> None:
    """Close figures (tests)."""
    for f in figs:
        plt.close(f)
