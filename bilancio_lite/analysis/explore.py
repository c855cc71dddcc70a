"""Live exploration of one pair (notebook 09, issue 22): controls, re-simulation, the key panels.

Notebook 09 is thin: it builds an :class:`Explorer` from its parameters and calls
:meth:`Explorer.show`. In JupyterLab the controls (ipywidgets) re-simulate the pair (§6) on every
change and redraw one figure of four panels in place; under papermill/nbval, or in the static
HTML, the same cell shows the figure for the notebook's parameters and a line naming the
controls (widgets need a live kernel).

The four panels (:func:`panels_figure`), passive against active:

* defaulted traders over the days, with δ of both runs and the trading effect in the title (§7.1);
* each bucket's dealer inventory at S6 (§8.3);
* customer trades per day of the active run, sells and buys (§8.1);
* the traders whose outcome changed: rescued (defaulted in the passive run only) and harmed
  (active only, §7.5), at their default day; "none" in words when no trader changed.

The figure is drawn on a :class:`matplotlib.figure.Figure` (no pyplot: nothing is shown twice or
left open) and displayed as PNG. ``benchmarks/bench_explore.py`` measures a redraw.
"""

from __future__ import annotations

import io
import time
import typing
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..engine import PairResult, simulate_pair
from ..params import ModelParams
from ..schema import BUCKETS
from .one_pair import trader_outcomes

#: Continuous controls: field -> (kind, low, high, step). ``log``: a log-scaled slider over
#: [low, high] (powers of 10 in steps of ``step``); ``float``/``int``: linear sliders. The
#: notebook's value is added to the slider's range when it lies outside it.
SLIDERS: dict[str, tuple[str, float, float, float]] = {
    "kappa": ("log", 0.1, 10.0, 0.05),
    "concentration": ("log", 0.1, 10.0, 0.05),
    "mu": ("float", 0.0, 1.0, 0.05),
    "outside_mid_ratio": ("float", 0.3, 1.0, 0.05),
    "n_traders": ("int", 10, 400, 10),
    "seed": ("int", 0, 1000, 1),
}
#: Rule options (§3–§5): each a ModelParams field with a few values (Literal or bool), shown as a
#: drop-down; their values come from ModelParams, the one home of the rules.
RULES: tuple[str, ...] = ("rollover_lender", "rollover_price", "anchor_loss_basis", "gap_successors",
                          "rollover", "clearing", "anchor_update", "anchor_scope", "vbt_depth", "invest")
#: Labels of the controls (the spec's symbols).
LABELS: dict[str, str] = {"kappa": "κ", "concentration": "c", "mu": "μ", "outside_mid_ratio": "ρ",
                          "n_traders": "N", "seed": "seed"}
#: Figure size (inches) and resolution of the displayed PNG.
FIGSIZE = (11.0, 7.0)
DPI = 80


def rule_options(field: str) -> tuple[Any, ...]:
    """The values a rule option may take, from its ModelParams annotation (Literal or bool)."""
    ann = ModelParams.model_fields[field].annotation
    if ann is bool:
        return (False, True)
    if typing.get_origin(ann) is typing.Literal:
        return typing.get_args(ann)
    raise TypeError(f"{field} is not a rule option (Literal or bool), it is {ann}")


def with_changes(params: ModelParams, **changes: Any) -> ModelParams:
    """``params`` with some fields changed, validated again (an invalid value raises)."""
    return ModelParams(**{**params.model_dump(), **changes})


# --- the panels' data ------------------------------------------------------------------------------
@dataclass
class PanelData:
    """What the four panels show, from one pair (long frames, one row per plotted point)."""

    pair: PairResult
    defaults: pd.DataFrame   # regime, day, n_defaulted_traders
    inventory: pd.DataFrame  # regime, day, bucket, dealer_inventory
    trades: pd.DataFrame     # day, SELL, BUY (customer trades of the active run per day)
    changed: pd.DataFrame    # trader_id, index, outcome (rescued/harmed), day (its default day)


def panel_data(pair: PairResult) -> PanelData:
    """The frames of the four panels (module docstring) for one simulated pair."""
    defaults = pd.concat([run.tables["system_state_timeseries"][["day", "n_defaulted_traders"]]
                          .assign(regime=run.regime) for run in (pair.passive, pair.active)],
                         ignore_index=True)[["regime", "day", "n_defaulted_traders"]]
    inv_cols = ["regime", "day", "bucket", "dealer_inventory"]
    inv = [run.tables["inventory_timeseries"][inv_cols] for run in (pair.passive, pair.active)
           if len(run.tables["inventory_timeseries"])]
    inventory = pd.concat(inv, ignore_index=True) if inv else pd.DataFrame(columns=inv_cols)
    days = pd.RangeIndex(pair.params.last_day + 1, name="day")
    t = pair.active.tables["trades"]
    cust = t[t["kind"] == "customer"] if len(t) else t
    trades = pd.DataFrame({side: (cust[cust["side"] == side].groupby("day").size() if len(cust)
                                  else pd.Series(dtype=int)).reindex(days, fill_value=0).astype(int)
                           for side in ("SELL", "BUY")}, index=days).reset_index()
    out = trader_outcomes(pair)
    ch = out[out["outcome"].isin(["rescued", "harmed"])].copy()
    ch["day"] = np.where(ch["outcome"] == "rescued", ch["default_day_passive"].astype("float"),
                         ch["default_day_active"].astype("float")).astype(int) if len(ch) else []
    changed = ch[["trader_id", "index", "outcome", "day"]].reset_index(drop=True)
    return PanelData(pair, defaults, inventory, trades, changed)


def summary(data: PanelData) -> str:
    """One Markdown sentence on the pair: δ of both runs, the effect, trades and changed traders."""
    c, p = data.pair.comparison, data.pair.params
    n = data.changed["outcome"].value_counts()
    n_trades = int(data.trades[["SELL", "BUY"]].to_numpy().sum())
    return (f"**{p.pair_id}** (N = {p.n_traders}, days 0–{p.last_day}): δ passive "
            f"{c['delta_passive']:.4f}, δ active {c['delta_active']:.4f}, trading effect "
            f"{c['trading_effect']:+.4f} ({c['effect_class']}); {n_trades} customer trade(s); "
            f"{int(n.get('rescued', 0))} trader(s) rescued, {int(n.get('harmed', 0))} harmed.")


# --- the figure ------------------------------------------------------------------------------------
_REGIME = {"passive": {"color": "tab:gray", "linestyle": "--"}, "active": {"color": "tab:blue", "linestyle": "-"}}
_MARGINS = {"left": 0.07, "right": 0.98, "bottom": 0.08, "top": 0.95, "wspace": 0.2, "hspace": 0.32}
_BUCKET_COLOR = dict(zip(BUCKETS, ("tab:green", "tab:orange", "tab:purple")))


def panels_figure(data: PanelData, fig: Figure | None = None) -> Figure:
    """The four panels of the module docstring on ``fig`` (cleared first; a new one if None)."""
    fig = fig or Figure(figsize=FIGSIZE, dpi=DPI)
    fig.clear()
    (ax_d, ax_i), (ax_t, ax_c) = fig.subplots(2, 2)
    c, p = data.pair.comparison, data.pair.params
    for regime in ("passive", "active"):
        d = data.defaults[data.defaults["regime"] == regime]
        ax_d.step(d["day"], d["n_defaulted_traders"], where="post", label=regime, **_REGIME[regime])
    ax_d.set(xlabel="day", ylabel="defaulted traders (cumulative)", ylim=(0, max(1, p.n_traders) * 1.02),
             title=f"δ passive {c['delta_passive']:.3f} → active {c['delta_active']:.3f} "
                   f"({c['trading_effect']:+.3f}, {c['effect_class']})")
    ax_d.legend(loc="upper left", fontsize="small")

    if len(data.inventory):
        for b in BUCKETS:
            for regime in ("passive", "active"):
                q = data.inventory[(data.inventory["bucket"] == b) & (data.inventory["regime"] == regime)]
                if len(q):
                    ax_i.step(q["day"], q["dealer_inventory"], where="post", color=_BUCKET_COLOR[b],
                              linestyle=_REGIME[regime]["linestyle"], label=f"{b}, {regime}")
        ax_i.legend(loc="upper right", fontsize="x-small", ncol=2)
    else:
        _say_none(ax_i, "no inventory rows (detailed_logging off)")
    ax_i.set(xlabel="day", ylabel="dealer inventory (tickets, at S6)",
             title="Dealer inventory per bucket (passive dashed)")

    days = data.trades["day"].to_numpy()
    ax_t.bar(days, data.trades["SELL"], color="tab:red", label="sells to the dealer / VBT")
    ax_t.bar(days, data.trades["BUY"], bottom=data.trades["SELL"], color="tab:green", label="buys")
    n_trades = int(data.trades[["SELL", "BUY"]].to_numpy().sum())
    if n_trades:
        ax_t.legend(loc="upper right", fontsize="small")
    else:
        _say_none(ax_t, "no customer trade in the active run")
    ax_t.set(xlabel="day", ylabel="customer trades (count)", xlim=(-0.6, p.last_day + 0.6),
             title=f"Customer trades of the active run ({n_trades})")

    if len(data.changed):
        for outcome, color in (("rescued", "tab:blue"), ("harmed", "tab:red")):
            s = data.changed[data.changed["outcome"] == outcome]
            if len(s):
                ax_c.scatter(s["index"], s["day"], color=color, s=30,
                             label=f"{outcome} ({len(s)}): default day {'passive' if outcome == 'rescued' else 'active'}")
        ax_c.legend(loc="upper right", fontsize="small")
        ax_c.set(xlim=(0, p.n_traders + 1), ylim=(-0.5, p.last_day + 0.5))
    else:
        _say_none(ax_c, "no trader changed outcome: the same traders\ndefaulted in both runs")
    ax_c.set(xlabel="trader (H1..HN)", ylabel="default day", title="Traders whose outcome changed")
    fig.subplots_adjust(**_MARGINS)  # fixed margins: tight_layout would draw the figure once more
    return fig


def _say_none(ax: Any, text: str) -> None:
    """An empty panel says so in words instead of drawing empty axes."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=10, color="dimgray")
    ax.set_xticks([])
    ax.set_yticks([])


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (what the notebook displays)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})  # fast zlib: the PNG is shown once
    return buf.getvalue()


def render(params: ModelParams, fig: Figure | None = None) -> tuple[bytes, str, PanelData]:
    """Simulate the pair (§6) and draw the panels: (PNG, Markdown summary, the panels' data)."""
    data = panel_data(simulate_pair(params))
    fig = panels_figure(data, fig)
    return figure_png(fig), summary(data), data


# --- the live explorer ------------------------------------------------------------------------------
class Explorer:
    """Controls for the main parameters and rule options of one pair, and the panels they redraw.

    :meth:`show` displays the controls (a live kernel with ipywidgets), the figure and the
    summary with the controls' values in words; :meth:`update` changes parameters, re-simulates and redraws in place (what a control
    does); ``last_seconds`` is the time of the last redraw, simulation included.
    """

    def __init__(self, params: ModelParams | None = None) -> None:
        self.params = params or ModelParams()
        self.fig = Figure(figsize=FIGSIZE, dpi=DPI)
        self.png, self.text, self.data = render(self.params, self.fig)
        self.error = ""
        self.last_seconds = 0.0
        self._handles: tuple[Any, ...] = ()
        self.widgets: dict[str, Any] = {}  # field -> its control, once controls() has built them

    def update(self, **changes: Any) -> float:
        """Apply ``changes`` (ModelParams fields), re-simulate, redraw the displayed outputs; the
        seconds it took. An invalid value leaves the pair as it was and says why in the summary."""
        t0 = time.perf_counter()
        try:
            params = with_changes(self.params, **changes)
        except ValueError as e:
            self.error = " ".join(str(e).split())[:300]
        else:
            self.params, self.error = params, ""
            self.png, self.text, self.data = render(params, self.fig)
        self._redraw()
        self.last_seconds = time.perf_counter() - t0
        return self.last_seconds

    def _outputs(self) -> tuple[Any, Any]:
        from IPython.display import Image, Markdown

        text = (self.text + (f"\n\n**Not applied:** {self.error}" if self.error else "")
                + "\n\n" + self.controls_text())
        return Image(data=self.png, format="png"), Markdown(text)

    def _redraw(self) -> None:
        for handle, obj in zip(self._handles, self._outputs()):
            handle.update(obj)

    def controls(self) -> Any:
        """The ipywidgets controls (imported here: only a live notebook needs them)."""
        import ipywidgets as w

        style = {"description_width": "initial"}
        boxes = []
        for name, (kind, lo, hi, step) in SLIDERS.items():
            v = getattr(self.params, name)
            if kind == "log":
                lo, hi = min(lo, v), max(hi, v)
                ctl = w.FloatLogSlider(value=v, base=10, min=np.log10(lo), max=np.log10(hi), step=step,
                                       description=LABELS[name], continuous_update=False, style=style)
            elif kind == "float":
                ctl = w.FloatSlider(value=v, min=min(lo, v), max=max(hi, v), step=step, description=LABELS[name],
                                    continuous_update=False, style=style)
            else:
                ctl = w.IntSlider(value=v, min=int(min(lo, v)), max=int(max(hi, v)), step=int(step),
                                  description=LABELS[name], continuous_update=False, style=style)
            boxes.append(self._bind(ctl, name))
        rules = [self._bind(w.Dropdown(options=list(rule_options(r)), value=getattr(self.params, r),
                                       description=r, style=style, layout=w.Layout(width="300px")), r)
                 for r in RULES]
        timing = w.Label(value="")
        self._timing = timing
        self.widgets = dict(zip([*SLIDERS, *RULES], [*boxes, *rules]))
        return w.VBox([w.HBox([w.VBox(boxes[:3]), w.VBox(boxes[3:])]),
                       w.HBox([w.VBox(rules[:5]), w.VBox(rules[5:])]), timing])

    def _bind(self, ctl: Any, name: str) -> Any:
        def changed(change: dict[str, Any]) -> None:
            seconds = self.update(**{name: change["new"]})
            self._timing.value = f"redrawn in {seconds:.2f} s"
        ctl.observe(changed, names="value")
        return ctl

    def controls_text(self) -> str:
        """The controls' values in words (under the summary, so that the static HTML names them too)."""
        return ("Controls (live in JupyterLab: `bilancio-lite lab`): "
                + ", ".join(f"{LABELS[n]} = {getattr(self.params, n)}" for n in SLIDERS)
                + "; rules: " + ", ".join(f"{r} = {getattr(self.params, r)}" for r in RULES) + ".")

    def show(self) -> None:
        """Display the controls, then the figure and the summary (updated in place by the controls)."""
        from IPython.display import display

        try:
            box = self.controls()
        except ImportError:  # no ipywidgets: the figure for the parameters only
            display({"text/plain": "(the controls need ipywidgets: pip install ipywidgets)"}, raw=True)
        else:  # where widgets cannot render (no kernel), a line instead of the widgets' repr
            bundle = box._repr_mimebundle_()
            data = bundle[0] if isinstance(bundle, tuple) else bundle
            display({**data, "text/plain": "(controls: live in a running kernel, e.g. JupyterLab)"}, raw=True)
        self._handles = tuple(display(obj, display_id=True) for obj in self._outputs())


__all__ = ["SLIDERS", "RULES", "LABELS", "rule_options", "with_changes", "PanelData", "panel_data",
           "summary", "panels_figure", "figure_png", "render", "Explorer"]
