"""Issue 24 (reliability round 2): each attacked case as a test.

Families: ownership of output folders, sweep completeness and the one reader, bounds, errors at
the edge, Dask deadlines. Servers bind 127.0.0.1 only and every wait is bounded.
"""

from __future__ import annotations

from hypothesis import given, strategies as st

from bilancio_lite.book import bucket_of, bucket_table


# --- bounds: the daily bucket table is O(horizon), not O(t) ------------------------------------
@given(st.integers(0, 50_000), st.integers(0, 40))
def test_bucket_table_covers_only_the_days_ahead(t: int, ahead: int) -> None:
    max_due = t + ahead
    table = bucket_table(t, max_due)
    assert len(table) == ahead + 1  # independent of t: a run's cost is linear in t_end
    for due in range(max(0, t - 5), max_due + 1):
        assert table[due] == bucket_of(due - t)


# --- 1. ownership: never touch what is not ours -----------------------------------------------
import json  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path, PurePosixPath  # noqa: E402

import pytest  # noqa: E402

from bilancio_lite.cli import main  # noqa: E402
from bilancio_lite.sweep.outdir import is_tool_path  # noqa: E402
from factories.sweeps import SMOKE  # noqa: E402

SWEEP_ARGS = ["sweep", str(SMOKE), "--engine", "inline", "--workers", "0", "--no-progress"]


def _user_folder(root: Path, marker: str | None) -> Path:
    """A user's folder: their own manifest.json / sweep.yaml (or none), a file and a source tree."""
    root.mkdir()
    if marker == "manifest.json":
        (root / marker).write_text('{"project": "mine", "files": 3}\n')
    elif marker == "sweep.yaml":
        (root / marker).write_text("name: my-own-sweep\n")
    elif marker == "bad-version":
        (root / "manifest.json").write_text(json.dumps({"package": "bilancio-lite", "format_version": 99,
                                                        "config_hash": "x"}))
    (root / "important.txt").write_text("do not lose me")
    (root / "src").mkdir()
    (root / "src" / "main.py").write_text("print('hi')\n")
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("marker", [None, "manifest.json", "sweep.yaml", "bad-version"])
@pytest.mark.parametrize("force", [False, True])
def test_a_folder_that_is_not_ours_is_refused_and_untouched(tmp_path, capsys, marker, force):
    out = _user_folder(tmp_path / "dir", marker)
    before = _tree(out)
    code = main([*SWEEP_ARGS, "--out", str(out), *(["--force"] if force else [])])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "not a bilancio-lite sweep folder" in err and "Traceback" not in err
    assert _tree(out) == before and sorted(p.name for p in out.iterdir()) == sorted(
        ["important.txt", "src", *([] if marker is None else ["manifest.json" if marker != "sweep.yaml" else "sweep.yaml"])])


def test_force_removes_only_what_the_tool_wrote(tmp_path, capsys):
    out = tmp_path / "s"
    assert main([*SWEEP_ARGS, "--out", str(out), "--format", "csv"]) == 0
    # the user adds their own files into the sweep folder and one of its subfolders
    (out / "notes.md").write_text("mine")
    (out / "aggregate" / "my_plot.pdf").write_bytes(b"%PDF")
    (out / "scratch").mkdir()
    (out / "scratch" / "x.csv").write_text("a\n1\n")
    capsys.readouterr()
    assert main([*SWEEP_ARGS, "--out", str(out), "--format", "csv", "--replicates", "2", "--force"]) == 0
    said = capsys.readouterr().out
    assert "--force: cleared" in said and "left 3 entries" in said
    assert (out / "notes.md").read_text() == "mine"
    assert (out / "aggregate" / "my_plot.pdf").read_bytes() == b"%PDF"
    assert (out / "scratch" / "x.csv").exists()
    m = json.loads((out / "manifest.json").read_text())
    assert m["package"] == "bilancio-lite" and m["format_version"] == 1 and m["status"] == "completed"


def test_a_new_folder_gets_the_ownership_manifest_before_anything_else(tmp_path, monkeypatch):
    from bilancio_lite import sweep
    from bilancio_lite.sweep import outdir

    seen = []
    real = outdir.clean_stale_temp

    def spy(out):
        seen.append(sorted(p.name for p in Path(out).iterdir()))
        return real(out)

    monkeypatch.setattr(outdir, "clean_stale_temp", spy)
    sweep.prepare_out_dir(sweep.load_sweep_config(SMOKE), tmp_path / "new")
    assert seen == [["manifest.json"]]
    assert json.loads((tmp_path / "new" / "manifest.json").read_text())["package"] == "bilancio-lite"


@pytest.mark.parametrize("rel, ours", [
    ("sweep.yaml", True), ("manifest.json", True), ("registry.csv", True),
    ("tables/trades/part-00003.parquet", True), ("tables/trades/.part-00003.parquet.abc.tmp", True),
    ("status/shard_0001.json", True), ("executed/shard_0001.ipynb", True),
    ("aggregate/comparison.csv", True), ("aggregate/pairs/k0.5.csv", True),
    ("reports/01_sweep_overview.html", True), ("passive/runs/passive_k1/trades.csv", True),
    ("important.txt", False), ("src/main.py", False), ("tables/trades/notes.txt", False),
    ("aggregate/plot.pdf", False), ("status/readme.md", False), ("passive/runs/x/y/z.csv", False),
    ("tables/part-00001.parquet", False),
])
def test_tool_paths(rel, ours):
    assert is_tool_path(PurePosixPath(rel)) is ours


# --- 3. incomplete sweeps and the one reader --------------------------------------------------
import nbformat  # noqa: E402

from bilancio_lite import store  # noqa: E402
from bilancio_lite.procs import SweepLock  # noqa: E402
from factories.sweeps import run_parquet  # noqa: E402


@pytest.fixture(scope="module")
def pq_sweep(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pq") / "smoke"
    assert run_parquet(out).exit_code == 0
    return out


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _drop_shard(out: Path, idx: int = 1) -> None:
    """What a SIGTERM before shard `idx` finished leaves: no status record, no parts."""
    (out / "status" / f"shard_{idx:04d}.json").unlink()
    for t in store.TABLES:
        store.part_path(out, t, idx).unlink()


def _foreign_part(out: Path) -> None:
    shutil.copy(store.part_path(out, "trades", 0), store.part_path(out, "trades", 9))


def _damage_part(out: Path) -> None:
    with open(store.part_path(out, "trades", 1), "ab") as fh:
        fh.write(b"x")


def test_one_reader_class_and_name_map():
    from bilancio_lite import analysis
    from bilancio_lite.analysis import io

    assert io.SweepData is store.Sweep and analysis.SweepData is store.Sweep
    assert io.RUN_FILES == {"trades": "trades", "repayments": "repayment_events",
                            "inventory": "inventory_timeseries", "system_state": "system_state_timeseries",
                            "traders": "traders"}



def test_both_load_sweeps_give_the_one_class(pq_sweep):
    from bilancio_lite.analysis import io

    a, b = io.load_sweep(pq_sweep), store.load_sweep(pq_sweep)
    assert type(a) is type(b) is store.Sweep and a.variants is None and b.variants is None
    assert a.read_for  # the analysis API on the store's object
    assert a.comparison.equals(b.comparison)


def test_a_complete_sweep_has_an_ok_status(pq_sweep):
    st = store.load_sweep(pq_sweep).status
    assert st.ok and st.expected == 16 and st.complete == 16 and st.missing_share == 0.0
    assert st.summary().startswith("complete: all 16 pairs")


@pytest.mark.parametrize("damage, needle", [
    (_drop_shard, "8 of 16 pairs (50.0%) are missing"),
    (_foreign_part, "1 file(s) under tables/ are in no status record and are ignored (tables/trades/part-00009.parquet)"),
    (_damage_part, "do not match their records (trades/part-00001.parquet has"),
])
def test_incomplete_sweeps_are_named_and_refused_by_report_and_export(pq_sweep, tmp_path, capsys, damage, needle):
    out = _copy(pq_sweep, tmp_path / "s")
    damage(out)
    st = store.sweep_status(out)
    assert not st.ok and needle in st.summary()
    for cmd in (["report", str(out), "--no-html"], ["export", str(out), "--out", str(tmp_path / "e")]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is not a complete sweep" in err and "--allow-incomplete" in err
        assert needle in err
    assert not (out / "reports").exists() and not (tmp_path / "e").exists()


def test_a_part_in_no_record_is_ignored_by_every_read(pq_sweep, tmp_path):
    out = _copy(pq_sweep, tmp_path / "s")
    before = store.load_sweep(out)
    n_trades, n_sql = len(before.trades), int(before.sql("select count(*) n from trades")["n"][0])
    _foreign_part(out)
    after = store.load_sweep(out)
    assert len(after.trades) == n_trades
    assert int(after.sql("select count(*) n from trades")["n"][0]) == n_sql
    assert len(after.read("trades", ["run_id"])) == n_trades


def test_a_damaged_part_is_not_read(pq_sweep, tmp_path):
    out = _copy(pq_sweep, tmp_path / "s")
    _damage_part(out)
    s = store.load_sweep(out)
    assert set(s.comparison["active_run_id"]) <= set(store.load_sweep(pq_sweep).comparison["active_run_id"])
    assert s.trades["run_id"].str.split("_", n=1).str[1].isin(
        [r["pair_id"] for r in store.read_status(out / "status" / "shard_0000.json")["pairs"]]).all()


def test_a_running_sweep_is_refused(pq_sweep, tmp_path, capsys):
    out = _copy(pq_sweep, tmp_path / "s")
    with SweepLock(out).acquire():
        assert "still running" in store.sweep_status(out).summary()
        assert main(["report", str(out), "--no-html"]) == 2
        err = capsys.readouterr().err
        assert "a sweep is still running in it (pid" in err and err.count("\n") == 1


@pytest.mark.integration
def test_allow_incomplete_reports_state_the_missing_share_first(pq_sweep, tmp_path, capsys):
    out = _copy(pq_sweep, tmp_path / "s")
    _drop_shard(out)
    assert main(["report", str(out), "--only", "01", "--allow-incomplete", "--workers", "0"]) == 0
    said = capsys.readouterr().out
    assert "warning: 50.0% of the sweep is missing (8 of 16 pairs)" in said
    nb = nbformat.read(out / "reports" / "01_sweep_overview.ipynb", as_version=4)
    assert nb.cells[0].cell_type == "markdown" and "**50.0% of the sweep is missing** (8 of 16" in nb.cells[0].source
    html = (out / "reports" / "01_sweep_overview.html").read_text()
    assert html.index("50.0% of the sweep is missing") < html.index("The mean trading effect")
    assert main(["export", str(out), "--out", str(tmp_path / "e"), "--allow-incomplete"]) == 0
    assert len(list((tmp_path / "e" / "active" / "runs").iterdir())) == 8
