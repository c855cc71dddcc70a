"""The columnar sweep store (issue 10): Parquet parts, export, load_sweep, integrity and resume."""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bilancio_lite import load_sweep, schema, store
from bilancio_lite.cli import main
from bilancio_lite.sweep import run_sweep
from factories.sweeps import SMOKE, assert_same_csvs, cli, fail_pair, run_parquet, smoke_config

RUN_TABLES = list(schema.FILES)


@pytest.fixture(scope="module")
def pq_ref(tmp_path_factory) -> Path:
    """A clean inline smoke sweep in the Parquet store (the default format)."""
    out = tmp_path_factory.mktemp("pq_ref") / "smoke"
    assert run_parquet(out).exit_code == 0
    return out


def table_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in (root / "tables").rglob("*.parquet"))


def assert_same_tables(a: Path, b: Path) -> None:
    fa, fb = table_files(a), table_files(b)
    assert fa == fb and len(fa) == 12
    differ = [f for f in fa if not filecmp.cmp(a / f, b / f, shallow=False)]
    assert not differ, f"parts differ: {differ}"
    assert (a / "aggregate" / "comparison.csv").read_bytes() == (b / "aggregate" / "comparison.csv").read_bytes()


# --- layout and types -----------------------------------------------------------------------------
def test_the_default_format_writes_one_part_per_shard_and_table(pq_ref):
    assert smoke_config(format=None).output.format == "parquet"  # the file says nothing: default
    assert sorted(p.name for p in (pq_ref / "tables").iterdir()) == sorted([*RUN_TABLES, "pairs"])
    assert len(table_files(pq_ref)) == 6 * 2                       # smoke: 2 shards
    assert not (pq_ref / "passive").exists() and not (pq_ref / "aggregate" / "pairs").exists()
    assert len(pd.read_csv(pq_ref / "aggregate" / "comparison.csv")) == 16
    for t in RUN_TABLES:
        f = pq.ParquetFile(pq_ref / "tables" / t / "part-00000.parquet")
        assert f.schema_arrow == store.table_schema(t)            # the §8 column names and types
        assert f.schema_arrow.names == schema.columns(t)
        rg = f.metadata.row_group(0)
        for i in range(rg.num_columns):
            col = rg.column(i)
            assert col.compression == "ZSTD"
            if col.path_in_schema in schema.identity_names(t):
                assert col.has_dictionary_page, (t, col.path_in_schema)
    man = json.loads((pq_ref / "manifest.json").read_text())
    assert man["format"] == "parquet"


def test_status_records_rows_bytes_and_sha256_of_every_part(pq_ref):
    st = json.loads((pq_ref / "status" / "shard_0001.json").read_text())
    assert sorted(st["parts"]) == sorted([*RUN_TABLES, "pairs"])
    for t, rec in st["parts"].items():
        path = pq_ref / "tables" / rec["file"]
        assert rec["rows"] == pq.ParquetFile(path).metadata.num_rows
        assert rec["bytes"] == path.stat().st_size and rec["sha256"] == store.sha256_file(path)
    assert st["parts"]["pairs"]["rows"] == 8 and st["parts"]["traders"]["rows"] == 8 * 2 * 20


def test_same_params_and_seed_give_byte_identical_parts(pq_ref, tmp_path):
    assert run_parquet(tmp_path / "again").exit_code == 0
    assert_same_tables(pq_ref, tmp_path / "again")


# --- export -------------------------------------------------------------------------------------
def test_export_is_byte_identical_to_the_csv_format(pq_ref, smoke_ref, tmp_path):
    out = tmp_path / "export"
    assert main(["export", str(pq_ref), "--out", str(out)]) == 0
    for regime in ("passive", "active"):
        names = sorted(p.name for p in (out / regime / "runs").iterdir())
        assert names == sorted(p.name for p in (smoke_ref / regime / "runs").iterdir())
        assert len(names) == 16
    # every run file, byte for byte (the CSV sweep's own aggregate/ is compared separately)
    (out / "aggregate").mkdir()
    shutil.copytree(smoke_ref / "aggregate" / "pairs", out / "aggregate" / "pairs")
    shutil.copy(smoke_ref / "aggregate" / "comparison.csv", out / "aggregate" / "comparison.csv")
    assert assert_same_csvs(smoke_ref, out) == 16 * 2 * 5 + 16 + 1
    # comparison.csv of the two formats is the same file
    assert ((pq_ref / "aggregate" / "comparison.csv").read_bytes()
            == (smoke_ref / "aggregate" / "comparison.csv").read_bytes())
    assert not list(out.rglob(".tmp-*"))


def test_export_selected_runs_by_glob(pq_ref, smoke_ref, tmp_path):
    out = tmp_path / "some"
    r = cli("export", str(pq_ref), "--runs", "active_k0.5_*", "passive_k2_c2_mu0_rho0.9_s42", "--out", str(out))
    assert r.returncode == 0, r.stderr
    active = sorted(p.name for p in (out / "active" / "runs").iterdir())
    passive = sorted(p.name for p in (out / "passive" / "runs").iterdir())
    assert len(active) == 8 and all(a.startswith("active_k0.5_") for a in active)
    assert passive == ["passive_k2_c2_mu0_rho0.9_s42"]
    for regime, rid in [("passive", passive[0]), ("active", active[3])]:
        for t in RUN_TABLES:
            a = smoke_ref / regime / "runs" / rid / f"{t}.csv"
            assert filecmp.cmp(a, out / regime / "runs" / rid / f"{t}.csv", shallow=False)


def test_export_refuses_bad_input_with_one_line_and_writes_nothing(pq_ref, smoke_ref, tmp_path):
    out = tmp_path / "none"
    r = cli("export", str(pq_ref), "--runs", "nothing_*", "--out", str(out))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--runs" in r.stderr
    r = cli("export", str(smoke_ref), "--out", str(out))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "SWEEP" in r.stderr
    r = cli("export", str(tmp_path / "missing"), "--out", str(out))
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert not out.exists()


# --- load_sweep ----------------------------------------------------------------------------------
def _sorted(df: pd.DataFrame, key: str = "run_id") -> pd.DataFrame:
    return df.sort_values(key, kind="stable").reset_index(drop=True)


def test_load_sweep_reads_both_formats_into_the_same_frames(pq_ref, smoke_ref):
    a, b = load_sweep(pq_ref), load_sweep(smoke_ref)
    assert (a.format, b.format) == ("parquet", "csv")
    for t in RUN_TABLES:
        x, y = a.table(t), b.table(t)
        assert list(x.columns) == schema.columns(t)
        pd.testing.assert_frame_equal(_sorted(x), _sorted(y))
    pd.testing.assert_frame_equal(_sorted(a.comparison, "active_run_id"), _sorted(b.comparison, "active_run_id"))
    assert len(a.run_ids) == 32 and a.run_ids == b.run_ids


def test_a_filter_reads_only_the_parts_it_needs(pq_ref, monkeypatch):
    opened: list[str] = []
    real = store.pq.ParquetFile

    def spy(source, *args, **kw):
        opened.extend(source if isinstance(source, list) else [source])
        return real(source, *args, **kw)

    monkeypatch.setattr(store.pq, "ParquetFile", spy)
    s = load_sweep(pq_ref)
    one = s.filter(kappa=2, concentration=2, mu=0, outside_mid_ratio=0.9, regime="active")
    assert one.run_ids == ["active_k2_c2_mu0_rho0.9_s42"]
    tr = one.trades
    assert set(tr["run_id"]) <= {"active_k2_c2_mu0_rho0.9_s42"} and len(one.traders) == 20
    assert opened and all(Path(p).name == "part-00001.parquet" for p in opened)  # kappa 2: shard 1
    full = s.trades
    pd.testing.assert_frame_equal(tr.reset_index(drop=True),
                                  full[full["run_id"] == "active_k2_c2_mu0_rho0.9_s42"].reset_index(drop=True))
    run = s.run("passive_k0.5_c0.5_mu0_rho0.75_s42")
    assert set(run) == set(RUN_TABLES) and len(run["traders"]) == 20
    assert len(s.filter(regime="passive", mu=[0, 0.75]).comparison) == 16
    with pytest.raises(KeyError, match="filter nope"):
        s.filter(nope=1)


@pytest.mark.parametrize("which", ["parquet", "csv"])
def test_columns_and_where_are_pushed_into_the_read(which, pq_ref, smoke_ref):
    s = load_sweep(pq_ref if which == "parquet" else smoke_ref)
    full = s.trades
    got = s.table("trades", ["face", "run_id", "route"], {"regime": "active", "kind": ["customer"]})
    assert list(got.columns) == ["run_id", "face", "route"]  # the file's column order
    want = full.loc[(full["regime"] == "active") & (full["kind"] == "customer"), ["run_id", "face", "route"]]
    assert 0 < len(got) < len(full)
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True))
    sub = s.filter(kappa=0.5)  # a run selection and a projection together
    part = sub.table("inventory_timeseries", ["run_id", "day", "vbt_used_this_step"], {"regime": "passive"})
    inv = sub.inventory_timeseries
    inv = inv.loc[inv["regime"] == "passive", ["run_id", "day", "vbt_used_this_step"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, inv)
    assert part["vbt_used_this_step"].dtype == bool
    fresh = load_sweep(s.path)
    fresh.table("trades", ["day"])
    assert "trades" not in fresh._cache  # a projection is not cached (the caller keeps it)
    with pytest.raises(KeyError, match="cannot filter on 'nope'"):
        s.table("trades", ["day"], {"nope": 1})


@pytest.mark.parametrize("which", ["parquet", "csv"])
def test_count_rows_counts_per_combination_without_loading_the_table(which, pq_ref, smoke_ref):
    s = load_sweep(pq_ref if which == "parquet" else smoke_ref)
    got = s.count_rows("trades", ["kind", "run_id", "route"], {"regime": "active"})
    assert list(got.columns) == ["run_id", "kind", "route", "n_rows"]
    act = s.trades[s.trades["regime"] == "active"]
    want = act.groupby(["run_id", "kind", "route"], dropna=False).size()
    assert got["n_rows"].sum() == len(act) and len(got) == len(want)
    assert got["route"].isna().any()  # transfers have no route: a group of their own
    for row in got.head(20).itertuples(index=False):
        n = ((act["run_id"] == row.run_id) & (act["kind"] == row.kind)
             & ((act["route"] == row.route) if isinstance(row.route, str) else act["route"].isna())).sum()
        assert row.n_rows == n


def test_the_store_does_not_import_the_analysis_layer():
    import ast

    tree = ast.parse(Path(store.__file__).read_text())
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if "analysis" in m]


@pytest.mark.parametrize("which", ["parquet", "csv"])
def test_sql_queries_every_table_in_place(which, pq_ref, smoke_ref):
    s = load_sweep(pq_ref if which == "parquet" else smoke_ref)
    got = s.sql("select regime, count(*) as n from trades group by regime order by regime")
    want = s.trades.groupby("regime").size()
    assert dict(zip(got["regime"], got["n"])) == want.to_dict()
    n = s.sql("select count(*) as n from traders t join comparison c on t.run_id = c.active_run_id")["n"][0]
    assert n == 16 * 20
    assert s.sql("select count(*) as n from registry")["n"][0] == 16
    sub = s.filter(regime="active", kappa=0.5)
    assert sub.sql("select count(distinct run_id) as n from traders")["n"][0] == 8


def test_analysis_layer_reads_the_store(pq_ref, smoke_ref):
    from bilancio_lite.analysis.io import load_sweep as analysis_load

    a, b = analysis_load(pq_ref), analysis_load(smoke_ref)
    for key in ("trades", "repayments", "inventory", "system_state", "traders"):
        pd.testing.assert_frame_equal(_sorted(getattr(a, key)), _sorted(getattr(b, key)))


# --- integrity and resume --------------------------------------------------------------------------
def test_a_damaged_or_deleted_part_is_detected_recomputed_and_identical(pq_ref, tmp_path):
    out = tmp_path / "smoke"
    shutil.copytree(pq_ref, out)
    trades0 = out / "tables" / "trades" / "part-00000.parquet"
    data = bytearray(trades0.read_bytes())
    data[len(data) // 2] ^= 0xFF                       # same size, one byte flipped
    trades0.write_bytes(bytes(data))
    messages: list[str] = []
    res = run_parquet(out, log=messages.append)
    assert (res.n_ok, res.n_skipped, res.n_failed) == (8, 8, 0)
    assert any("integrity: shard 0" in m and "sha256" in m and "recomputing" in m for m in messages), messages
    assert any(m.startswith("resuming: 8 of 16 pairs already complete (1 shard(s)") for m in messages)
    assert_same_tables(pq_ref, out)

    (out / "tables" / "traders" / "part-00001.parquet").unlink()   # a deleted part
    (out / "aggregate" / "comparison.csv").unlink()
    messages.clear()
    res = run_parquet(out, log=messages.append)
    assert (res.n_ok, res.n_skipped) == (8, 8)
    assert any("integrity: shard 1: traders/part-00001.parquet is missing" in m for m in messages), messages
    assert_same_tables(pq_ref, out)

    (out / "tables" / "pairs" / "part-00001.parquet").write_bytes(b"truncated")
    messages.clear()
    assert run_parquet(out, log=messages.append).n_ok == 8
    assert any("pairs/part-00001.parquet has 9 bytes" in m for m in messages), messages
    assert_same_tables(pq_ref, out)

    messages.clear()                                        # intact: nothing to redo
    res = run_parquet(out, log=messages.append)
    assert (res.n_ok, res.n_skipped) == (0, 16)
    assert not any("integrity" in m for m in messages)


def test_a_failed_pair_reruns_its_whole_shard(tmp_path, monkeypatch, pq_ref):
    bad = fail_pair(monkeypatch, 9)
    out = tmp_path / "smoke"
    res = run_parquet(out)
    assert (res.n_ok, res.n_failed) == (15, 1)
    st = json.loads((out / "status" / "shard_0001.json").read_text())
    assert st["parts"]["pairs"]["rows"] == 7                       # the failed pair has no rows
    assert len(pd.read_csv(out / "aggregate" / "comparison.csv")) == 15
    monkeypatch.undo()                                      # the real simulate_pair again
    res = run_parquet(out)
    assert (res.n_ok, res.n_skipped, res.n_failed) == (8, 8, 0)
    assert_same_tables(pq_ref, out)


def test_a_new_shard_size_recomputes_rather_than_mixing_parts(pq_ref, tmp_path):
    out = tmp_path / "smoke"
    shutil.copytree(pq_ref, out)
    messages: list[str] = []
    res = run_sweep(smoke_config(format="parquet", shard_size=4), out, engine="inline", workers=0,
                    log=messages.append, progress=False)
    assert res.n_ok == 16 and any("shard size 8, not 4" in m for m in messages)
    assert len(table_files(out)) == 6 * 4
    a, b = load_sweep(pq_ref), load_sweep(out)
    pd.testing.assert_frame_equal(_sorted(a.trades), _sorted(b.trades))


@pytest.mark.integration
def test_papermill_parquet_sweep_matches_inline(pq_ref, tmp_path):
    out = tmp_path / "pm"
    r = cli("sweep", str(SMOKE), "--engine", "papermill", "--workers", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    assert_same_tables(pq_ref, out)
    assert len(list((out / "executed").glob("shard_*.ipynb"))) == 2


def test_a_bad_format_is_one_line_naming_the_field_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMOKE.read_text().replace("  shard_size: 8", "  shard_size: 8\n  format: xml"))
    out = tmp_path / "out"
    r = cli("sweep", str(bad), "--out", str(out))
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "output.format" in r.stderr and "'parquet' or 'csv'" in r.stderr
    assert not out.exists()


def test_a_folder_keeps_its_format(pq_ref, tmp_path):
    out = tmp_path / "smoke"
    shutil.copytree(pq_ref, out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    r = cli("sweep", str(SMOKE), "--format", "csv", "--engine", "inline", "--out", str(out))
    assert r.returncode == 2 and "output.format: parquet -> csv" in r.stderr
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    # the format is part of the configuration only when it is not the default (old hashes hold)
    assert smoke_config(format="parquet").config_hash() != smoke_config(format="csv").config_hash()


def test_the_analysis_layer_reads_one_variant_from_the_store(tmp_path):
    import yaml

    from bilancio_lite.analysis.io import load_sweep as analysis_load
    from bilancio_lite.sweep import load_sweep_config

    data = {"name": "vs", "model": {"n_traders": 20, "Q_total": 2000.0}, "grid": {"kappa": [0.5, 2]},
            "variants": {"baseline": {}, "h1": {"horizon_H": 1}}, "output": {"shard_size": 3}}
    f = tmp_path / "vs.yaml"
    f.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "out"
    assert run_sweep(load_sweep_config(f), out, engine="inline", workers=0, log=None, progress=False).exit_code == 0
    assert (out / "tables" / "traders").is_dir()
    d = analysis_load(out)
    assert d.variants == ("baseline",) and len(d.comparison) == 2
    assert set(d.traders["run_id"].str.split("__").str[0]) == {"passive_baseline", "active_baseline"}
    assert set(analysis_load(out, variant=None).traders["run_id"].str.split("__").str[0]) == {
        "passive_baseline", "active_baseline", "passive_h1", "active_h1"}
    assert load_sweep(out).filter(variant="h1").traders["run_id"].nunique() == 4


@pytest.mark.parametrize("which", ["parquet", "csv"])
def test_aggregate_counts_and_sums_per_group_like_a_groupby_of_the_rows(which, pq_ref, smoke_ref):
    s = load_sweep(pq_ref if which == "parquet" else smoke_ref)
    got = s.aggregate("repayments", ["strategy", "run_id", "outcome"], ["face_value", "sell_count"],
                      {"regime": "active"})
    assert list(got.columns) == ["run_id", "outcome", "strategy", "n_rows", "face_value", "sell_count"]
    assert str(got["sell_count"].dtype) == "int64" and str(got["face_value"].dtype) == "float64"
    rep = s.repayment_events
    act = rep[rep["regime"] == "active"]
    want = (act.groupby(["run_id", "outcome", "strategy"])
            .agg(n_rows=("face_value", "size"), face_value=("face_value", "sum"), sell_count=("sell_count", "sum"))
            .reset_index())
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert got["n_rows"].sum() == len(act) and act["sell_count"].sum() > 0
    with pytest.raises(KeyError, match="not a per-run table"):
        s.aggregate("pairs", ["seed"])
    with pytest.raises(ValueError, match="at least one column"):
        s.aggregate("trades", [])
