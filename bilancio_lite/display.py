"""What a reader sees of the notebooks' tables and takeaways in a report (issue 22).

Two jobs, both presentation only (no number changes):

- **Tables** (:func:`readable_frame`, :func:`frame_html`): every row and column and the whole
  text of every cell (pandas' notebook repr cuts text at 50 characters and wide frames at 20
  columns); whole numbers shown as integers (a day column that holds NaN is float in pandas and
  printed ``1.0``); missing values as "—" (never ``<NA>`` / ``NaN`` / ``None``); a row-number index
  dropped and a named index turned into ordinary columns (one header row). Report kernels load
  this module as an IPython extension (``--ext bilancio_lite.display``, see
  :data:`bilancio_lite.report.REPORT_KERNEL_ARGS`), which makes it the HTML of every DataFrame a
  notebook displays; in JupyterLab, ``%load_ext bilancio_lite.display`` does the same.
- **Takeaways** (:func:`takeaway_markdown`): what a notebook prints (its computed one-sentence
  takeaways) becomes Markdown, so the HTML report shows it as prose that wraps between words
  instead of monospace text broken mid-word; file names and ``snake_case`` column names become
  code spans, and nothing in the text can turn into HTML.
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import pandas as pd

#: What a missing value looks like in a report table.
MISSING = "—"


#: Column names that hold a fraction, mean or ratio even when every value is whole (0 or 1):
#: those keep pandas' float formatting.
_FRACTIONAL = re.compile(r"share|rate|fraction|mean|ratio|effect|delta|phi|p_value|prob|pct|percent", re.I)


def _whole(col: pd.Series) -> bool:
    """A float column whose every present value is a whole number and whose name does not say it
    is a fraction, mean or ratio (:data:`_FRACTIONAL`): a count or a day that pandas made float."""
    if not pd.api.types.is_float_dtype(col.dtype) or _FRACTIONAL.search(str(col.name)):
        return False
    v = col.to_numpy(dtype="float64", na_value=np.nan)
    v = v[~np.isnan(v)]
    return bool(len(v)) and bool(np.all(np.isfinite(v))) and bool(np.all(v == np.round(v))) \
        and bool(np.all(np.abs(v) < 2**53))


def _text(col: pd.Series, fmt: Any = str) -> pd.Series:
    """``col`` as display strings, missing values as :data:`MISSING`."""
    missing = col.isna().to_numpy()
    out = np.array([MISSING if m else fmt(v) for v, m in zip(col.tolist(), missing)], dtype=object)
    return pd.Series(out, index=col.index, name=col.name)


def readable_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` ready to show: a named index becomes columns, a row-number index is dropped (the
    index of the result is a plain RangeIndex that :func:`frame_html` leaves out); whole-number
    float columns become integers and missing values :data:`MISSING` (those columns become text;
    every other column keeps its dtype and pandas' number formatting)."""
    out = df
    idx = df.index
    if all(n is not None for n in idx.names) and not isinstance(df.columns, pd.MultiIndex):
        out = df.reset_index()
    else:
        out = df.reset_index(drop=True)
    cols = {}
    for i, name in enumerate(out.columns):
        col = out.iloc[:, i]
        if _whole(col):
            cols[i] = _text(col, lambda v: str(int(v)))
        elif pd.api.types.is_float_dtype(col.dtype) and not isinstance(col.dtype, np.dtype):
            cols[i] = _text(col)  # nullable Float64: its NA prints as <NA>
        elif not isinstance(col.dtype, np.dtype) or col.dtype == object:
            if col.isna().any():  # nullable Int64 / boolean / string, objects holding None or NA
                cols[i] = _text(col)
    if cols:
        out = out.copy()
        for i, col in cols.items():
            out.isetitem(i, col)
    return out


def frame_html(df: pd.DataFrame) -> str:
    """The HTML of :func:`readable_frame` (pandas' notebook table markup, no row-number index,
    every row, column and character, missing values as :data:`MISSING`)."""
    shown = readable_frame(df)
    with pd.option_context("display.max_colwidth", None):
        return shown.to_html(notebook=True, index=False, na_rep=MISSING, max_rows=None, max_cols=None,
                             show_dimensions=False)


def _rgb(color: Any) -> tuple[float, ...]:
    from matplotlib.colors import to_rgba

    return tuple(round(c, 3) for c in to_rgba(color)[:3])


def prune_legends(fig: Any) -> int:
    """Drop from each axes legend of ``fig`` the bar entries (patch handles) whose series shows no
    bar: no patch of that colour with a non-zero, finite width and height (seaborn lists every
    ``hue_order`` level, and a zero count still gets an entry). Only legends whose patch entries
    match the axes' bars by colour are touched; line and marker entries are kept; a legend left
    empty is removed. Returns the number of entries dropped."""
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import IdentityTransform

    dropped = 0
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None:
            continue
        handles, texts = list(leg.legend_handles), list(leg.texts)
        drawn: dict[tuple[float, ...], bool] = {}
        for p in ax.patches:
            if isinstance(p, Rectangle):
                w, h = p.get_width(), p.get_height()
                shows = bool(np.isfinite(w) and np.isfinite(h) and w != 0 and h != 0 and p.get_visible())
                key = _rgb(p.get_facecolor())
                drawn[key] = drawn.get(key, False) or shows
        patch_keys = [_rgb(h.get_facecolor()) for h in handles if isinstance(h, Rectangle)]
        if not patch_keys or not any(k in drawn for k in patch_keys):
            continue  # not a legend of these bars (e.g. proxies drawn by hand)
        keep = [(h, t.get_text()) for h, t in zip(handles, texts)
                if not isinstance(h, Rectangle) or drawn.get(_rgb(h.get_facecolor()), False)]
        if len(keep) == len(handles):
            continue
        dropped += len(handles) - len(keep)
        if not keep:
            leg.remove()
            continue
        title = leg.get_title().get_text()
        fontsize = texts[0].get_fontsize() if texts else None
        new = ax.legend([h for h, _ in keep], [t for _, t in keep], loc=leg._loc, title=title or None,
                        bbox_to_anchor=leg._bbox_to_anchor, bbox_transform=IdentityTransform(),
                        frameon=leg.get_frame_on(), fontsize=fontsize)  # the anchor is already placed
        new.set_zorder(leg.get_zorder())
    return dropped


def _readable_png_formatter(old: Any) -> Any:
    """IPython's PNG formatter with :func:`prune_legends` applied to every figure before it is
    drawn (the figure printer matplotlib-inline registers later lands on this same object)."""
    from IPython.core.formatters import PNGFormatter
    from matplotlib.figure import Figure

    class ReadablePNGFormatter(PNGFormatter):
        def __call__(self, obj: Any) -> Any:
            if isinstance(obj, Figure):
                prune_legends(obj)
            return super().__call__(obj)

    new = ReadablePNGFormatter(parent=old.parent)
    new.type_printers.update(old.type_printers)
    new.deferred_printers.update(old.deferred_printers)
    new.singleton_printers.update(old.singleton_printers)
    new.enabled = old.enabled
    return new


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext bilancio_lite.display``: every DataFrame a cell displays is shown with
    :func:`frame_html`; every figure's legend lists only series that show (:func:`prune_legends`)."""
    ip.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_html)
    pd.set_option("display.max_colwidth", None)  # the text form too keeps every character
    png = ip.display_formatter.formatters["image/png"]
    if type(png).__name__ != "ReadablePNGFormatter":
        ip.display_formatter.formatters["image/png"] = _readable_png_formatter(png)


def unload_ipython_extension(ip: Any) -> None:
    ip.display_formatter.formatters["text/html"].pop(pd.DataFrame, None)
    pd.reset_option("display.max_colwidth")


#: A word that names a file or folder (has "/" and ends in ".ext" or "/", e.g.
#: ``aggregate/overview_by_rho.csv``, ``outputs/<sweep>/``) or a column (``snake_case``, e.g.
#: ``dealer_active_fraction``, a pair id ``k0.5_c1_mu0_rho0.75_s42``); trailing punctuation is left out.
_CODE_WORD = re.compile(r"(?<![\w`/.<>-])("
                        r"[\w.<>-]*(?:/[\w.<>-]+)+(?:\.[A-Za-z]\w*|/)"  # a path
                        r"|\w[\w.]*_[\w.]*\w"  # an identifier or pair id with an underscore
                        r"|__\w+__)(?![\w/])")
#: Markdown block syntax a printed line could start with by accident (heading, list, quote, rule).
_BLOCK_START = re.compile(r"^(\s*)([#>+*-]|\d+[.)])(\s)")


def takeaway_markdown(text: str) -> str:
    """Printed text as Markdown: one paragraph per line; ``&``, ``<`` and ``>`` escaped (the text
    cannot become HTML); file paths and snake_case names as code spans; a line that would start a
    Markdown heading, list or quote keeps its literal first character. Blank lines are dropped."""
    paras = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = re.split(r"(`[^`]*`)", line)  # keep the text's own code spans as they are
        for k, part in enumerate(parts):
            if k % 2:
                continue
            part = _CODE_WORD.sub(lambda m: "\0" + m.group(1) + "\0", part)
            pieces = part.split("\0")
            for j, piece in enumerate(pieces):
                if j % 2:
                    pieces[j] = f"`{piece}`"
                else:
                    piece = html.escape(piece, quote=False)
                    pieces[j] = re.sub(r"([*_\\\[\]])", r"\\\1", piece)
            parts[k] = "".join(pieces)
        md = "".join(parts).strip()
        md = _BLOCK_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1] + m.group(3), md)
        paras.append(md)
    return "\n\n".join(paras)
