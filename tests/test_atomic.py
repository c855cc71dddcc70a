"""The package's one atomic writer (bilancio_lite.atomic): all or nothing, the umask's mode."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from bilancio_lite import atomic


def test_a_failing_writer_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "manifest.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic.replacing(target) as tmp:
            tmp.write_text("half")
            assert tmp.parent == tmp_path and tmp.name.startswith(".manifest.json.") and tmp.suffix == ".tmp"
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_writers_replace_the_file_with_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        j = atomic.write_json(tmp_path / "sub" / "m.json", {"a": 1})   # the folder is created
        c = atomic.write_csv(pd.DataFrame({"x": [1, 2], "y": ["a", None]}), tmp_path / "t.csv")
        b = atomic.write_bytes(tmp_path / "b.bin", b"\x00\x01")
        atomic.write_text(tmp_path / "t.csv", "replaced\n")
    finally:
        os.umask(old)
    assert j.read_text() == '{\n  "a": 1\n}\n' and json.loads(j.read_text()) == {"a": 1}
    assert c.read_text() == "replaced\n" and b.read_bytes() == b"\x00\x01"
    assert {oct(p.stat().st_mode & 0o777) for p in (j, c, b)} == {"0o640"}
    assert not list(tmp_path.rglob("*.tmp"))


def test_write_csv_writes_what_to_csv_writes(tmp_path):
    df = pd.DataFrame({"x": [1.5, 2.0], "y": ["a,b", None]})
    assert atomic.write_csv(df, tmp_path / "t.csv").read_text() == 'x,y\n1.5,"a,b"\n2.0,\n'


def test_a_folder_appears_whole_or_not_at_all(tmp_path):
    final = tmp_path / "runs" / "active_x"
    with atomic.replacing_folder(final) as tmp:
        (tmp / "a.csv").write_text("1\n")
        assert tmp.name.startswith(".tmp-active_x-") and not final.exists()
    assert sorted(p.name for p in final.iterdir()) == ["a.csv"]
    with pytest.raises(RuntimeError, match="boom"):
        with atomic.replacing_folder(final) as tmp:
            (tmp / "b.csv").write_text("half\n")
            raise RuntimeError("boom")
    assert sorted(p.name for p in final.iterdir()) == ["a.csv"]          # the old folder, untouched
    with atomic.replacing_folder(final) as tmp:
        (tmp / "c.csv").write_text("2\n")
    assert sorted(p.name for p in final.iterdir()) == ["c.csv"]          # replaced whole, not merged
    assert sorted(p.name for p in final.parent.iterdir()) == ["active_x"]  # no temporary folder left
