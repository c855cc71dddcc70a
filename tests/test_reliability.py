"""Issue 24 (reliability round 2): each attacked case as a test.

Families: ownership of output folders, sweep completeness and the one reader, bounds, errors at
the edge, Dask deadlines. Servers bind 127.0.0.1 only and every wait is bounded.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from bilancio_lite.book import bucket_of, bucket_table


# --- bounds: the daily bucket table is O(horizon), not O(t) ------------------------------------
@settings(deadline=None)
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


# --- 5. bounds: inputs that validate must run with finite cash ---------------------------------
import math  # noqa: E402

from bilancio_lite.engine import simulate_pair  # noqa: E402
from bilancio_lite.params import MAX_MONEY, ModelParams  # noqa: E402
from bilancio_lite.sweep.config import MAX_PAIRS, load_sweep_config  # noqa: E402


@pytest.mark.parametrize("args, needle", [
    (["--Q-total", "1e308", "--face-value", "1e304"], "Q_total: Input should be less than or equal to"),
    (["--n-traders", "2", "--Q-total", "40", "--liq-mode", "vector", "--liq-vector", "1e308,1e308"],
     "liq_vector: weights must be in (0, 1e+12]"),
    (["--no-clip-B"], "clip_B=false is allowed only with anchor_update='off'"),
    (["--no-clip-B", "--anchor-update", "off", "--outside-mid-ratio", "0.1"], "B = M - O/2 would be"),
    (["--t-end", "100001"], "t_end: Input should be less than or equal to 100000"),
    (["--buffer-inv", "1e300"], "buffer_inv: Input should be less than or equal to"),
])
def test_money_and_horizon_bounds_are_refused_with_one_line(args, needle, capsys):
    assert main(["pair", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and all(ln.startswith("error: ") for ln in err.splitlines())


def test_at_the_money_bounds_every_figure_is_finite():
    p = ModelParams(n_traders=2, Q_total=MAX_MONEY, face_value=MAX_MONEY / 4, kappa=1e6, t_end=12)
    pair = simulate_pair(p)
    for run in (pair.passive, pair.active):
        for name in ("system_state_timeseries", "inventory_timeseries", "traders"):
            nums = run.tables[name].select_dtypes("number")
            assert nums.abs().max().max() < 1e300, name   # finite, not inf, not overflowed
            assert not nums.isin([math.inf, -math.inf]).any().any()
    assert all(math.isfinite(v) for v in pair.comparison.values() if isinstance(v, float) and v == v)


@settings(deadline=None, max_examples=25)
@given(st.integers(0, 2**32), st.sampled_from([0.75, 0.9, 1.2]))
def test_unclipped_bids_that_validate_keep_prices_and_dealer_cash_non_negative(seed, rho):
    """clip_B = false is allowed only where B = M - O/2 >= 0 for good: I2 holds."""
    p = ModelParams(n_traders=8, Q_total=320, clip_B=False, anchor_update="off", outside_mid_ratio=rho,
                    seed=seed, kappa=0.3, t_end=15)
    pair = simulate_pair(p)
    trades = pair.active.tables["trades"]
    assert (trades["unit_price"] >= 0).all()
    inv = pair.active.tables["inventory_timeseries"]
    assert (inv["dealer_cash"] >= -1e-9 * p.face_value).all()


ALIAS_BOMB = """\
a: &a [x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
grid:
  kappa: *i
"""


def test_a_yaml_alias_bomb_is_refused(tmp_path, capsys):
    f = tmp_path / "bomb.yaml"
    f.write_text(ALIAS_BOMB)
    assert main(["sweep", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expands (through its &anchors and *aliases) to more than 100,000" in err
    assert not (tmp_path / "o").exists()


def test_anchors_within_the_limit_still_load(tmp_path):
    f = tmp_path / "ok.yaml"
    f.write_text("model: &m {n_traders: 20, Q_total: 2000.0}\ngrid:\n  kappa: &k [0.5, 2]\n  mu: [0]\n")
    assert load_sweep_config(f).n_pairs == 2


def test_a_sweep_above_the_pair_limit_is_refused_unless_yes(tmp_path, capsys):
    f = tmp_path / "huge.yaml"
    axis = "[" + ", ".join(str(0.1 + i / 100) for i in range(10)) + "]"
    f.write_text(f"model: {{n_traders: 20, Q_total: 2000.0}}\ngrid:\n  kappa: {axis}\n  concentration: {axis}\n"
                 f"  mu: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]\n  outside_mid_ratio: {axis}\n"
                 f"replicates: 100\n")  # 10**4 cells x 100 replicates = 10**6 pairs
    assert main(["sweep", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"1,000,000 pairs" in err and f"limit of {MAX_PAIRS:,}" in err and "--yes" in err
    assert not (tmp_path / "o").exists()
    assert load_sweep_config(SMOKE, max_pairs=16).n_pairs == 16
    with pytest.raises(Exception, match="16 pairs .* above the limit of 15"):
        load_sweep_config(SMOKE, max_pairs=15)


def test_long_pairs_show_progress(capsys):
    from bilancio_lite.cli import _pair_progress

    assert _pair_progress(ModelParams(n_traders=2, Q_total=40, t_end=1_000)) is None
    assert capsys.readouterr().err == ""
    assert _pair_progress(ModelParams(n_traders=2, Q_total=40, t_end=30_000)) is not None
    assert "30001 days per regime" in capsys.readouterr().err


# --- 4. errors at the edge: one line, a defined exit status, nothing half-written ---------------
import errno  # noqa: E402
import os  # noqa: E402


@pytest.mark.parametrize("out, needle", [
    ("/proc/x", "cannot be created or written under /proc"),
    ("/sys/kernel/x", "cannot be created or written under /sys/kernel"),
    ("LONG", "bytes long, above the file system's limit of 255"),
    ("/tmp/\udcff-bilancio", "cannot be encoded"),
])
def test_bad_output_paths_are_one_line_exit_2(out, needle, tmp_path, capsys):
    if out == "LONG":
        out = str(tmp_path / ("a" * 300) / "o")
    assert main([*SWEEP_ARGS, "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_a_full_disk_ends_as_one_line_exit_1_and_a_failed_manifest(tmp_path, capsys, monkeypatch):
    from bilancio_lite import atomic

    out = tmp_path / "s"
    real = atomic.write_csv

    def full(df, path):
        if Path(path).name == "registry.csv":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(df, path)

    monkeypatch.setattr(atomic, "write_csv", full)
    assert main([*SWEEP_ARGS, "--out", str(out), "--format", "csv"]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {out / 'registry.csv'}: No space left on device\n"
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and "No space left on device" in m["error"]
    assert not (out / "aggregate" / "comparison.csv").exists()  # nothing presented as finished
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_a_manifest_that_cannot_be_rewritten_is_flipped_to_failed_in_place(tmp_path):
    from bilancio_lite.sweep.runner import _mark_failed_in_place

    f = tmp_path / "manifest.json"
    f.write_text(json.dumps({"package": "bilancio-lite", "status": "running", "x": 1}, indent=2))
    _mark_failed_in_place(f)
    assert json.loads(f.read_text())["status"] == "failed"


def test_an_os_error_of_any_command_is_one_line(tmp_path, capsys, monkeypatch):
    from bilancio_lite import cli

    def readonly(args):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "x"))

    monkeypatch.setitem(cli.COMMANDS, "export", (cli.COMMANDS["export"][0], readonly))
    assert main(["export", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'x'}: Read-only file system\n"


def test_output_survives_an_ascii_terminal(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    r = subprocess.run([sys.executable, "-m", "bilancio_lite", "pair", "--n-traders", "2", "--Q-total", "40",
                        "--t-end", "3"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and "Traceback" not in r.stderr and "delta passive" in r.stdout


def test_papermill_takes_paths_literally():
    from bilancio_lite.nbexec import literal_path

    assert literal_path("/tmp/b/q{shard_size}/out/x.ipynb").format(shard_size=8) == "/tmp/b/q{shard_size}/out/x.ipynb"


@pytest.mark.integration
def test_a_notebook_runs_into_a_folder_named_with_braces(tmp_path):
    from bilancio_lite.nbexec import execute_notebook

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                                         nbformat.v4.new_code_cell("print(x + 1)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "in{x}.ipynb"
    nbformat.write(nb, str(src))
    out = tmp_path / "q{x}" / "out{x}.ipynb"
    execute_notebook(src, out, {"x": 5})
    done = nbformat.read(str(out), as_version=4)
    assert done.cells[-1].outputs[0]["text"] == "6\n"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["in{x}.ipynb", "out{x}.ipynb"]
    assert done.metadata["papermill"]["output_path"] == str(out)


# --- 2. deadlines on every Dask wait ------------------------------------------------------------
import socket  # noqa: E402
import threading  # noqa: E402
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

from factories.sweeps import cli  # noqa: E402


@pytest.mark.parametrize("value", ["inf", "1e308", "nan", "0", "-1", "3601"])
def test_dask_timeout_must_be_finite(value, tmp_path, capsys):
    out = tmp_path / "o"
    assert main([*SWEEP_ARGS, "--scheduler", "tcp://127.0.0.1:1", "--dask-timeout", value, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --dask-timeout must be a number of seconds in (0, 3600]") and err.count("\n") == 1
    assert not out.exists()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log on the test's stderr
        pass


def _http_server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1], srv.shutdown


def _silent_server():
    """Accepts connections and never says a word."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        s.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(s.accept()[0])
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()

    def close():
        stop.set()
        for c in held:
            c.close()
        s.close()
    return s.getsockname()[1], close


@pytest.mark.integration
@pytest.mark.parametrize("server", [_http_server, _silent_server], ids=["http.server", "silent port"])
def test_a_port_that_is_no_dask_scheduler_ends_within_the_timeout(server, tmp_path):
    port, stop = server()
    try:
        out = tmp_path / "o"
        r = cli("sweep", str(SMOKE), "--scheduler", f"tcp://127.0.0.1:{port}", "--dask-timeout", "2",
                "--out", str(out), timeout=300)
    finally:
        stop()
    assert r.returncode == 2, r.stderr
    assert r.stderr == (f"error: the service at tcp://127.0.0.1:{port} did not answer as a Dask scheduler "
                        f"within 2 s (another kind of server, or a silent one); check --scheduler\n")
    assert not out.exists()


@pytest.mark.integration
def test_a_dying_scheduler_ends_the_sweep_with_one_line(tmp_path):
    """Kill the scheduler mid-sweep: one error line naming it, exit 1, no CancelledError or
    Client.__del__ traceback, the manifest says failed."""
    import subprocess
    import sys
    import time

    with socket.socket() as s1:
        s1.bind(("127.0.0.1", 0))
        port = s1.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    try:
        sched = subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port",
                                  str(port), "--dashboard-address", "127.0.0.1:0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(sched)
        worker = subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--host", "127.0.0.1",
                                   "--no-nanny", "--nthreads", "1", "--no-dashboard"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(worker)
        out = tmp_path / "s"
        proc = subprocess.Popen([sys.executable, "-m", "bilancio_lite", "sweep", str(SMOKE), "--format", "csv",
                                 "--engine", "inline", "--shard-size", "1", "--scheduler", address,
                                 "--dask-timeout", "20", "--out", str(out)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        rows = out / "aggregate" / "pairs"
        deadline = time.monotonic() + 240
        while not (rows.is_dir() and any(rows.glob("*.csv"))):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        sched.kill()
        stdout, stderr = proc.communicate(timeout=200)
        assert proc.returncode == 1, (stdout, stderr)
        assert "Traceback" not in stdout + stderr and "Exception ignored" not in stderr, stderr[-3000:]
        errors = [ln for ln in stdout.splitlines() if ln.startswith("error: ")]
        assert len(errors) == 1 and ("scheduler" in errors[0] or "no worker" in errors[0]), stdout
        assert json.loads((out / "manifest.json").read_text())["status"] == "failed"
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
