"""Sweeps (spec §6.4; conventions: Sweeps with papermill, Outputs): shards, executors, resume.

A sweep expands a sweep file (:mod:`bilancio_lite.sweep.config`) into pairs in a fixed order and
cuts them into shards of ``shard_size`` pairs. Each shard is one task on a
``concurrent.futures.Executor`` (a process pool, or a Dask cluster's executor). A task runs
:func:`~bilancio_lite.sweep.shard.run_shard` either through the notebook
``notebooks/00_run_shard.ipynb`` (papermill engine: the executed copy is kept as
``<out>/executed/shard_XXXX.ipynb``) or directly (inline engine); both write the same files. A task writes files and returns only the path of its status file.

Output folder (``outputs/<name>`` by default)::

    sweep.yaml        the resolved sweep file (every default filled in)
    manifest.json     versions, git commit, config hash, start/end, status
    registry.csv      one row per pair: parameters, status (ok/failed/skipped), wall time, paths, error
    tables/<table>/part-XXXXX.parquet   output.format parquet (default): one part per shard and
                                    table (bilancio_lite.store); recorded in the shard's status file
    passive/runs/<run_id>/*.csv, active/runs/<run_id>/*.csv      output.format csv
    aggregate/pairs/<pair_id>.csv   csv: one comparison row per pair; its existence marks the pair complete
    aggregate/comparison.csv        all rows, sorted (both formats)
    status/shard_XXXX.json          per-pair outcome of each shard, read by the parent (parquet:
                                    and each part's rows, bytes and sha256, verified on resume)
    executed/shard_XXXX.ipynb       executed shard notebooks (papermill engine)

Rerunning into the same folder skips complete pairs; a folder made with another configuration
is refused unless ``force`` clears it. A failing pair is recorded, never aborts the sweep.

Reliability (issue 11; see :mod:`bilancio_lite.procs`): a sweep holds an exclusive lock on its
folder (``.sweep.lock``), so a second sweep into it is refused at once, naming the first one's pid
and start time; a lock left by a killed run is taken over with a note that the run was
interrupted. Local workers and notebook kernels die with the sweep, whatever kills it; SIGTERM and
Ctrl-C stop the workers first, then record the manifest as "interrupted". Before a shard writes a
pair it checks that its sweep still holds the lock. With ``--scheduler`` the scheduler must answer
(and offer a worker) within ``dask_timeout`` seconds before anything is written, and a cluster
that has no worker for that long ends the sweep with a message.

The package, along its jobs::

    config.py     sweep files: validation, defaults, grid and variant expansion, shards (§6.4)
    shard.py      one shard: what 00_run_shard.ipynb calls, and the shard tasks (papermill/inline)
    executors.py  where shards run: a process pool, this process, or a Dask cluster
    outdir.py     the output folder: checks before writing, preparing, stale temporary files
    registry.py   status files, resume (complete pairs), registry.csv, manifest.json
    progress.py   per-pair progress: the shards' counters, a bar or plain lines with rate and ETA
    runner.py     run_sweep (the locked run) and ensure_sweep

Errors are the domain errors of :mod:`bilancio_lite.errors`; files are written by
:mod:`bilancio_lite.atomic`. The names notebooks, tests and users need are importable from
``bilancio_lite.sweep`` itself.
"""

from .config import (
    REPO, SMOKE_FILE, SMOKE_OUT, OutputOptions, PairSpec, SweepConfig, load_sweep_config,
)
from ..errors import (
    ConfigMismatchError, DaskUnavailableError, SweepConfigError, SweepGoneError, SweepInterrupted,
)
from .executors import (
    DASK_TIMEOUT, SerialExecutor, connect_scheduler, default_workers, make_executor, terminate_pool,
)
from .outdir import (
    check_out_dir, check_out_path, clean_stale_temp, precheck_out_dir, prepare_out_dir, sweep_label,
)
from .registry import complete_pairs, executed_path, installed_versions, status_path
from .runner import SweepResult, ensure_sweep, run_sweep
from .shard import (
    ENGINES, NOTEBOOKS, SHARD_NOTEBOOK, TASKS, ShardJob, ShardParams, run_shard, shard_job,
    shard_table, shard_takeaway, shard_task_inline, shard_task_papermill,
)

__all__ = [
    "REPO", "SMOKE_FILE", "SMOKE_OUT", "OutputOptions", "PairSpec", "SweepConfig", "load_sweep_config",
    "ConfigMismatchError", "DaskUnavailableError", "SweepConfigError", "SweepGoneError",
    "SweepInterrupted", "DASK_TIMEOUT", "SerialExecutor", "connect_scheduler", "default_workers",
    "make_executor", "terminate_pool", "check_out_dir", "check_out_path", "clean_stale_temp",
    "precheck_out_dir", "prepare_out_dir", "sweep_label", "complete_pairs", "executed_path",
    "installed_versions", "status_path", "SweepResult", "ensure_sweep", "run_sweep", "ENGINES",
    "NOTEBOOKS", "SHARD_NOTEBOOK", "TASKS", "ShardJob", "ShardParams", "run_shard", "shard_job",
    "shard_table", "shard_takeaway", "shard_task_inline", "shard_task_papermill",
]
