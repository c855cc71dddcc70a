"""csvtext gives the bytes DataFrame.to_csv(index=False) writes, or None where it needs the csv writer."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from bilancio_lite import atomic, csvtext


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode()


def plain_frame(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    f = rng.normal(size=n) * 10.0 ** rng.integers(-20, 20, n)
    f[::7] = np.nan
    f[1:9] = [-0.0, 0.0, np.inf, -np.inf, 1e16, 1e-5, 123456789012345678.0, 0.1 + 0.2]
    return pd.DataFrame({
        "run_id": [f"active_k{i % 13}_s{i}" for i in range(n)], "share": f,
        "face": np.round(rng.random(n) * 50) * 20.0, "day": rng.integers(-10**12, 10**12, n),
        "flag": rng.random(n) > 0.5, "u": np.arange(n, dtype=np.uint32),
        "text": pd.Series([None if i % 5 == 0 else f"x {i}" for i in range(n)], dtype="str"),
        "obj": [None if i % 3 == 0 else "y" for i in range(n)], "empty": [""] * n})


@pytest.mark.parametrize("rows", [slice(None), slice(0, 0), slice(5, 17)])
def test_plain_frames_give_the_bytes_to_csv_writes(rows, monkeypatch):
    df = plain_frame().iloc[rows]
    assert b"".join(csvtext.csv_chunks(df)) == to_csv_bytes(df)
    monkeypatch.setattr(csvtext, "CHUNK_ROWS", 77)  # pieces join up to the same bytes
    assert b"".join(csvtext.csv_chunks(df)) == to_csv_bytes(df)


def test_text_columns_in_several_arrow_chunks_are_joined():
    df = pd.concat([plain_frame(40), plain_frame(30)], ignore_index=True)
    assert pa.array(df["text"].array).num_chunks == 2
    assert b"".join(csvtext.csv_chunks(df)) == to_csv_bytes(df)


@pytest.mark.parametrize("change", [
    {"text": "a,b"}, {"text": 'say "hi"'}, {"text": "two\nlines"}, {"text": "é"},
    {"obj": pd.Series([1.5] * 600, dtype=object)}, {"n": pd.array([1] * 600, dtype="Int64")},
    {"cat": pd.Categorical(["a"] * 600)}, {"f32": np.float32(1.1)}, {"when": pd.Timestamp("2026-01-01")}])
def test_values_the_csv_writer_would_quote_or_format_itself_are_left_to_it(change):
    assert csvtext.csv_chunks(plain_frame().assign(**change)) is None


def test_headers_that_need_the_csv_writer_are_left_to_it():
    df = plain_frame()
    assert csvtext.csv_chunks(df[["share"]]) is None                    # one column
    assert csvtext.csv_chunks(df.rename(columns={"share": "a,b"})) is None
    assert csvtext.csv_chunks(pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "b"), ("a", "c")]))) is None


def test_write_csv_writes_the_same_bytes_either_way(tmp_path):
    for df in (plain_frame(), plain_frame().assign(text="a,b")):
        assert atomic.write_csv(df, tmp_path / "t.csv").read_bytes() == to_csv_bytes(df)
