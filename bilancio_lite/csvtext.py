"""The bytes ``DataFrame.to_csv(index=False)`` writes, formatted column by column (§8.6 tables).

``to_csv`` formats each value, then hands every row to Python's csv writer: on the aggregate
tables of a replicated sweep (millions of rows, e.g. aggregate/dealer_inventory_share.csv) that
takes seconds per million rows. :func:`csv_chunks` gives the same bytes for frames of plain
columns: each distinct value of a column is formatted once, exactly as ``to_csv`` formats it
(float64, integers and bools: NumPy's ``astype(str)``, missing floats ""; text as is, missing ""),
and Arrow joins the columns into lines. A frame with any other column, or with text the csv
writer would quote (a comma, quote or line break) or that is not ASCII, gets None: write it
with ``to_csv``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Rows formatted and joined at a time (bounds the memory of the text).
CHUNK_ROWS = 250_000
_QUOTED = r'[,"\r\n]'


def _numeric_text(values: np.ndarray) -> pa.Array:
    """float64 / integer / bool values as to_csv writes them (NaN: ""), each distinct value once.
    Floats are told apart by their bits, so -0.0 and 0.0 keep their own text."""
    keys = values.view("int64") if values.dtype == np.float64 else values
    codes, uniques = pd.factorize(keys)
    if values.dtype == np.float64:
        uniques = uniques.view("float64")
    text = uniques.astype(str).astype(object)
    if values.dtype == np.float64:
        text[np.isnan(uniques)] = ""
    return pc.take(pa.array(text, type=pa.string()), pa.array(codes))


def _column_text(col: pd.Series) -> pa.Array | None:
    """One column's fields, or None if :func:`csv_chunks` cannot write it."""
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "fiub":
        if col.dtype.kind == "f" and col.dtype != np.float64:
            return None
        return _numeric_text(col.to_numpy())
    if isinstance(col.dtype, pd.StringDtype) or col.dtype == object:
        arr = (pa.array(col.array) if isinstance(col.dtype, pd.StringDtype)  # Arrow-backed: no copy
               else pa.array(col.to_numpy(dtype=object, na_value=None), from_pandas=True))
        if isinstance(arr, pa.ChunkedArray):  # an Arrow-backed column may hold several chunks
            arr = arr.combine_chunks()
        if not any(test(arr.type) for test in (pa.types.is_string, pa.types.is_large_string, pa.types.is_null)):
            return None  # other objects: to_csv writes their str()
        enc = arr.cast(pa.string()).fill_null("").dictionary_encode()  # each distinct text checked once
        words = enc.dictionary
        if len(words) and (not pc.all(pc.string_is_ascii(words)).as_py()
                           or pc.any(pc.match_substring_regex(words, _QUOTED)).as_py()):
            return None
        return words.take(enc.indices)
    return None


def csv_chunks(df: pd.DataFrame) -> Iterator[bytes] | None:
    """The bytes of ``df.to_csv(index=False)`` (line ends "\\n") in pieces, or None when a column
    or a value needs the csv writer (see the module docstring); header names are held to the
    same rule."""
    names = [str(c) for c in df.columns]
    if (isinstance(df.columns, pd.MultiIndex) or len(names) < 2  # one column: an empty field is quoted
            or any(not n.isascii() or any(ch in n for ch in ',"\r\n') for n in names)):
        return None
    cols = [_column_text(df.iloc[:, i]) for i in range(len(names))]
    if any(c is None for c in cols):
        return None

    def pieces() -> Iterator[bytes]:
        yield (",".join(names) + "\n").encode()
        for start in range(0, len(df), CHUNK_ROWS):
            part = [c.slice(start, CHUNK_ROWS) for c in cols]
            part[-1] = pc.binary_join_element_wise(part[-1], "\n", "")
            lines = pc.binary_join_element_wise(*part, ",")  # no nulls: its text is one buffer
            _, offsets, text = lines.buffers()
            ends = np.frombuffer(offsets, dtype=np.int32)[lines.offset:lines.offset + len(lines) + 1]
            yield text[int(ends[0]):int(ends[-1])].to_pybytes()

    return pieces()
