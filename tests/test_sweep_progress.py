"""Per-pair sweep progress (bilancio_lite.sweep.progress, issue 22): shards report each finished
pair; the sweep shows a bar on a terminal and plain lines (pairs done, rate, ETA) elsewhere."""

from __future__ import annotations

import io
import re

from factories.sweeps import SMOKE, cli, run_parquet, smoke_config

from bilancio_lite.sweep import progress, run_shard, shard_job


def test_plain_line_counts_rate_and_eta():
    # 312 pairs in 15 s: 20.8 pairs/s; 313 left at that rate: 15.05 s
    assert progress.plain_line(312, 625, 15.0) == "progress: 312 of 625 pairs (49.9%), 20.8 pairs/s, ETA 15 s"
    assert progress.plain_line(0, 10, 3.0).endswith("0.0 pairs/s, ETA unknown")
    assert progress.plain_line(10, 10, 2.0, failed=1) == "progress: 10 of 10 pairs (100.0%), 5.0 pairs/s, ETA 0 s, 1 failed"
    # 100 pairs in 50 s, 12,400 left at 2/s: 6200 s
    assert progress.plain_line(100, 12_500, 50.0).endswith("ETA 1 h 43 min")
    assert progress.plain_line(30, 100, 10.0).endswith("ETA 23 s")
    assert progress.plain_line(10, 1000, 10.0).endswith("ETA 16 min 30 s")


def test_not_a_terminal_gets_plain_lines_and_no_bar():
    out, err = io.StringIO(), io.StringIO()
    with progress.Progress(20, 4, None, stdout=out, stderr=err, interval=0.0) as p:
        assert p.mode == "plain" and p.bar is None
        p.update(5)
        p.update(3)  # never goes back
        p.update(9, failed=1)
    lines = out.getvalue().splitlines()
    assert [re.match(r"progress: (\d+) of 16 pairs", ln).group(1) for ln in lines] == ["1", "1", "5"]
    assert lines[-1].endswith("1 failed (+4 complete before)") and err.getvalue() == ""
    quiet = io.StringIO()
    with progress.Progress(5, 0, False, stdout=quiet, stderr=quiet) as p:
        p.update(5)
    assert quiet.getvalue() == ""


def test_running_shards_are_counted_from_their_counters(tmp_path):
    progress.report_pairs_done(tmp_path, 3, 7)
    progress.report_pairs_done(tmp_path, 4, 2)
    assert progress.read_counter(tmp_path, 3) == 7 and progress.read_counter(tmp_path, 9) == 0
    finished = {1: {"pairs": [{"status": "ok"}, {"status": "failed"}, {"status": "skipped"}]}}
    # 5 before + 2 run by the finished shard 1 + 7 of running shard 3 + 2 of shard 4 whose task failed
    assert progress.pairs_done(tmp_path, 5, {3}, finished, {4: "KernelDied"}) == 16
    progress.clear_counters(tmp_path)
    assert not list((tmp_path / "status").iterdir())


def test_a_shard_reports_each_finished_pair(tmp_path, monkeypatch):
    from bilancio_lite.sweep import shard

    seen: list[int] = []
    real = shard.report_pairs_done

    def spy(out, i, n):
        seen.append(n)
        real(out, i, n)
        assert progress.read_counter(out, i) == n

    monkeypatch.setattr(shard, "report_pairs_done", spy)
    job = shard_job(str(SMOKE), 1, str(tmp_path / "out"), 5)
    status = run_shard(job)
    assert seen == [1, 2, 3, 4, 5] and len(status["pairs"]) == 5
    assert not progress.counter_path(job.out_dir, 1).exists()  # the status file counts now


def test_a_sweep_through_a_pipe_prints_plain_progress_lines(tmp_path):
    n = smoke_config().n_pairs
    r = cli("sweep", str(SMOKE), "--engine", "inline", "--workers", "0", "--out", str(tmp_path / "s"))
    assert r.returncode == 0, r.stderr
    assert re.search(rf"^progress: {n} of {n} pairs \(100\.0%\), [\d.]+ pairs/s, ETA 0 s$", r.stdout, re.M), r.stdout
    assert "\r" not in r.stdout + r.stderr  # no bar redraws in a log
    r = cli("sweep", str(SMOKE), "--engine", "inline", "--workers", "0", "--out", str(tmp_path / "s2"),
            "--no-progress")
    assert r.returncode == 0 and "progress:" not in r.stdout


def test_a_resumed_sweep_clears_counters_a_killed_run_left_before_any_shard_starts(tmp_path, monkeypatch):
    from bilancio_lite.sweep import runner

    out = tmp_path / "s"
    assert run_parquet(out).exit_code == 0
    (out / "status" / "shard_0000.json").unlink()  # shard 0 must run again
    progress.report_pairs_done(out, 0, 99)  # as a killed run of it would have left
    real = runner.TASKS["inline"]
    started: list[bool] = []

    def task(sweep_file, i, out_dir, shard_size):
        started.append(progress.counter_path(out_dir, i).exists())
        return real(sweep_file, i, out_dir, shard_size)

    monkeypatch.setitem(runner.TASKS, "inline", task)
    res = run_parquet(out)
    assert res.exit_code == 0 and started == [False]
    assert not list((out / "status").glob(".shard_*.progress"))


def test_the_rate_counts_from_the_first_finished_pair(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    out = io.StringIO()
    p = progress.Progress(100, 0, "plain", stdout=out, interval=1e9)
    clock[0] = 160.0  # a minute of starting workers: nothing done
    p.update(0)
    assert p.rate() is None
    p.update(10)  # the first pairs
    clock[0] = 170.0
    p.update(30)  # 20 more pairs in 10 s: 2 pairs/s, 70 left: 35 s
    assert p.rate() == 2.0
    p._line()
    assert out.getvalue() == "progress: 30 of 100 pairs (30.0%), 2.0 pairs/s, ETA 35 s\n"
