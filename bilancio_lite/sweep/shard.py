"""One shard of a sweep (spec §6.4): what `notebooks/00_run_shard.ipynb` calls, and the shard tasks.

A shard is ``shard_size`` consecutive pairs of the sweep's pair order. :func:`shard_job` validates
the notebook's parameters and resolves them; :func:`run_shard` runs the pairs (skipping complete
ones, recording a failing pair and going on) and writes the shard's status file, the commit of its
work; :func:`shard_table` and :func:`shard_takeaway` are what the notebook shows. The tasks of
:data:`TASKS` run one shard on an executor's worker, through the notebook (papermill engine: the
executed copy is kept as ``<out>/executed/shard_XXXX.ipynb``) or directly (inline engine); both
write the same files and return only the path of the status file.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .. import atomic, store
from ..attribution import attribute
from ..engine import simulate_pair
from ..errors import SweepGoneError, one_line
from ..logs import collect_comparison, pair_row_path, write_pair
from ..procs import LOCK_NAME, guard_env, guard_ok
from .config import SMOKE_FILE, PairSpec, SweepConfig, load_sweep_config
from ..resources import notebooks_dir, outputs_dir
from .outdir import check_out_dir
from .progress import counter_path, report_pairs_done
from .registry import executed_path, now, status_path

NOTEBOOKS = notebooks_dir()
SHARD_NOTEBOOK = NOTEBOOKS / "00_run_shard.ipynb"
ENGINES = ("papermill", "inline")


class ShardParams(BaseModel):
    """The parameters of `00_run_shard.ipynb` (papermill only warns about unknown ones)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sweep_file: str = Field("", description="absolute path of a sweep YAML; '' = params/smoke.yaml")
    shard_index: int = Field(0, ge=0, description="which shard of the expanded grid to run (0-based)")
    out_dir: str = Field("", description="absolute output folder; '' = outputs/<sweep name> in the repo")
    shard_size: int = Field(8, ge=1, description="pairs per shard")


@dataclass
class ShardJob:
    """A resolved shard: its configuration, output folder and pairs."""

    config: SweepConfig
    out_dir: Path
    shard_index: int
    shard_size: int
    pairs: list[PairSpec]

    @property
    def status_path(self) -> Path:
        return status_path(self.out_dir, self.shard_index)


def shard_job(sweep_file: str = "", shard_index: int = 0, out_dir: str = "", shard_size: int = 8) -> ShardJob:
    """Validate the shard notebook's parameters and resolve them into a :class:`ShardJob`.

    Empty ``sweep_file`` means the smoke sweep; empty ``out_dir`` means ``<repo>/outputs/<name>``.
    The folder's ``sweep.yaml`` is written if missing, and a folder made by another configuration
    is refused (:class:`~bilancio_lite.errors.ConfigMismatchError`).
    """
    sp = ShardParams(sweep_file=sweep_file, shard_index=shard_index, out_dir=out_dir, shard_size=shard_size)
    config = load_sweep_config(sp.sweep_file or SMOKE_FILE)
    out = Path(sp.out_dir).resolve() if sp.out_dir else outputs_dir() / config.name
    shards = config.shards(sp.shard_size)
    if sp.shard_index >= len(shards):
        raise ValueError(f"shard_index {sp.shard_index} is out of range: sweep {config.name!r} has "
                         f"{len(shards)} shard(s) of {sp.shard_size} pairs")
    check_out_dir(config, out)
    if not (out / "sweep.yaml").exists():
        atomic.write_text(out / "sweep.yaml", config.to_yaml())
    return ShardJob(config, out, sp.shard_index, sp.shard_size, shards[sp.shard_index])


def run_shard(job: ShardJob) -> dict[str, Any]:
    """Run the shard's pairs, skipping complete ones; write the status file and return its content.

    Each pair is caught on its own: a failure is recorded (error and traceback) and the next pair
    runs. Pair files are written by :func:`write_pair` (run folders atomically, row file last).
    """
    started = now()
    records = []
    parquet = job.config.output.format == "parquet"
    scope = job.config.output.attribution
    writer = store.ShardWriter(job.out_dir, job.shard_index, attribution=scope != "off") if parquet else None
    if parquet:  # a shard whose recorded parts are all there was done before: write nothing
        done = store.complete_shard(job.out_dir, job.shard_index, job.shard_size, scope)
        if done is not None and {r["pair_id"] for r in done["pairs"]} == {p.pair_id for p in job.pairs}:
            return {**done, "pairs": [{**r, "status": "skipped", "wall_time": None} for r in done["pairs"]]}
    ran = 0  # pairs run (ok or failed) so far
    for spec in job.pairs:
        _check_guard(job)
        rec: dict[str, Any] = {"pair_id": spec.pair_id, "index": spec.index}
        if not parquet and pair_row_path(job.out_dir, spec.pair_id).exists():
            records.append({**rec, "status": "skipped", "wall_time": None, "error": ""})
            continue
        t0 = time.perf_counter()
        try:
            pair = simulate_pair(spec.params)
            if writer is not None:  # parquet: the shard's parts are written once, after the loop
                # §12: the pair's counterfactual attribution, kept with its tables (all or nothing)
                writer.add_pair(pair, None if scope == "off" else attribute(pair, scope=scope))
            else:
                write_pair(pair, job.out_dir, update_comparison=False)
            records.append({**rec, "status": "ok", "wall_time": time.perf_counter() - t0, "error": ""})
        except Exception as e:  # one bad pair never aborts the shard (conventions: Outputs)
            records.append({**rec, "status": "failed", "wall_time": time.perf_counter() - t0,
                            "error": one_line(e), "traceback": traceback.format_exc()})
        ran += 1
        report_pairs_done(job.out_dir, job.shard_index, ran)  # per-pair progress for the sweep
    status = {"shard_index": job.shard_index, "shard_size": job.shard_size,
              "config_hash": job.config.config_hash(), "started": started, "finished": now(),
              "pairs": records}
    _check_guard(job)
    if writer is not None:  # parts first, then the status file that records them (the commit)
        status["format"] = "parquet"
        status["parts"] = writer.write()
        if scope != "off":  # the scope its attribution part was written with (§12)
            status["attribution"] = scope
        _check_guard(job)
    atomic.write_text(job.status_path, json.dumps(status, indent=1))
    counter_path(job.out_dir, job.shard_index).unlink(missing_ok=True)  # the status file counts now
    return status


def _check_guard(job: ShardJob) -> None:
    if not guard_ok():
        raise SweepGoneError(f"the sweep that started shard {job.shard_index} no longer holds "
                             f"{job.out_dir / LOCK_NAME} (killed or ended): stopping without writing")


def shard_table(job: ShardJob, status: dict[str, Any]) -> pd.DataFrame:
    """The shard's pairs with their status and main results (for the shard notebook)."""
    st = pd.DataFrame(status["pairs"])[["pair_id", "status"]]
    st["status"] = st["status"].replace({"skipped": "done before"})
    ids = [p.pair_id for p in job.pairs]
    comp = (store.read_pairs_parquet(job.out_dir, ids) if job.config.output.format == "parquet"
            else collect_comparison(job.out_dir, ids))
    comp = comp.assign(pair_id=comp["active_run_id"].str.removeprefix("active_"))
    cols = ["pair_id", "kappa", "concentration", "mu", "outside_mid_ratio", "delta_passive",
            "delta_active", "trading_effect", "effect_class", "stress_regime"]
    return st.merge(comp[cols], on="pair_id", how="left")[cols[:1] + ["status"] + cols[1:]]


def shard_takeaway(table: pd.DataFrame) -> str:
    """One sentence on the shard's pairs, computed from its table."""
    done = table.dropna(subset=["trading_effect"])
    if done.empty:
        return "No pair of this shard has results."
    counts = done["effect_class"].value_counts()
    return (f"Trading lowered δ in {counts.get('improved', 0)} of {len(done)} pairs of this shard, left it "
            f"unchanged in {counts.get('unchanged', 0)} and raised it in {counts.get('worsened', 0)} "
            f"(mean trading effect {done['trading_effect'].mean():+.3f}).")


# --- shard tasks (run on the executor's workers; they return a path, never data) --------------
def shard_task_inline(sweep_file: str, shard_index: int, out_dir: str, shard_size: int) -> str:
    """Run one shard in this process; return the path of its status file."""
    with guard_env(str(Path(out_dir) / LOCK_NAME)):
        job = shard_job(sweep_file, shard_index, out_dir, shard_size)
        run_shard(job)
    return str(job.status_path)


def shard_task_papermill(sweep_file: str, shard_index: int, out_dir: str, shard_size: int) -> str:
    """Run one shard by executing 00_run_shard.ipynb; keep the executed copy; return the status path."""
    from ..nbexec import execute_notebook

    params = {"sweep_file": str(sweep_file), "shard_index": int(shard_index),
              "out_dir": str(out_dir), "shard_size": int(shard_size)}
    with guard_env(str(Path(out_dir) / LOCK_NAME)):  # the kernel inherits it
        execute_notebook(SHARD_NOTEBOOK, executed_path(out_dir, shard_index), params)
    return str(status_path(out_dir, shard_index))


TASKS: dict[str, Callable[[str, int, str, int], str]] = {
    "papermill": shard_task_papermill, "inline": shard_task_inline}
