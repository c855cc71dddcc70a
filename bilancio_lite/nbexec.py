"""Notebook execution: papermill on Jupyter kernels, from parallel workers or the report's threads
(conventions: Sweeps with papermill). (Named ``nbexec``: in this package "kernel" alone means the
dealer's pricing kernel, §3.)

Parallel kernels started over TCP pick their ports independently and can race for them
(``ZMQError: Address already in use``, papermill issue #511). :class:`IPCKernelManager` starts every
kernel on ZeroMQ's IPC transport instead, so two kernels can never ask for the same address, and
ipykernel ≥ 7.3 does not print its "Kernel is running over TCP without encryption" warning (it
only warns for TCP). On Linux the sockets live in the abstract namespace (``ipc://@blk-…``): they
are no files, so a killed kernel leaves nothing in /tmp. The connection file goes next to the
executed notebook (``.kernel-….json``, removed at shutdown; the next sweep removes one left by a
kill). Elsewhere the sockets are files in a private temporary folder removed at shutdown.

Every kernel is started with :func:`bilancio_lite.procs.die_with_parent`: kernels run in their own
session (out of reach of a process-group kill), so this is what ends a kernel whose worker was
killed, within milliseconds and before it writes anything more.

The kernel *process*'s own stdout/stderr (ipykernel's start-up and shutdown log lines, e.g.
"KeyboardInterrupt caught in kernel" when jupyter_client interrupts it before shutdown) go to a
log file next to the executed notebook instead of the worker's terminal; the file is deleted if
it stays empty. Cell outputs are unaffected: they travel over the kernel's IOPub socket into the
notebook.

Kept apart from :mod:`bilancio_lite.sweep` and :mod:`bilancio_lite.report` so that the CLI imports
jupyter_client only when a notebook is actually executed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from jupyter_client.manager import AsyncKernelManager

from .procs import kernel_preexec

#: Abstract-namespace IPC sockets (no files) are a Linux feature.
ABSTRACT_IPC = sys.platform.startswith("linux")

KERNEL_NAME = "python3"
#: Kernel command-line options: no IPython history database (parallel kernels would contend for
#: its SQLite lock, and executed notebooks need no history).
KERNEL_ARGS = ["--HistoryManager.enabled=False"]
#: Allocator settings of every kernel (issue 10: the report's peak memory); a value already in the
#: environment wins. Arrow allocates through malloc instead of its own jemalloc pool, and glibc
#: serves blocks of 64 KiB and more with mmap, so a freed DataFrame column goes back to the system
#: at once instead of staying in the kernel's resident set (an analysis notebook's peak drops by
#: ~0.17 GiB). Allocation only: no result depends on them.
KERNEL_ENV: dict[str, str] = {"ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_MMAP_THRESHOLD_": "65536"}


class IPCKernelManager(AsyncKernelManager):
    """An AsyncKernelManager (nbclient's default) whose kernel talks over IPC sockets: abstract
    ones named ``@blk-<pid>-<random>-{1..5}`` on Linux, else files in a private temporary folder
    (``/tmp/blk-XXXXXXXX/kernel-ipc-{1..5}``).

    Class attributes (see :func:`execute_notebook`): ``kernel_log`` names the file that receives
    the kernel process's stdout/stderr (None: discarded); ``conn_dir`` is the folder of the
    connection file (None: the temporary folder / the system's temporary folder).
    """

    kernel_log: str | None = None
    conn_dir: str | None = None

    def __init__(self, **kwargs: Any) -> None:
        token = f"blk-{os.getpid()}-{secrets.token_hex(6)}"
        self._ipc_dir: str | None = None
        kwargs.setdefault("transport", "ipc")
        if ABSTRACT_IPC:
            folder = self.conn_dir or tempfile.gettempdir()
            kwargs.setdefault("connection_file", os.path.join(folder, f".kernel-{token}.json"))
            kwargs.setdefault("ip", f"@{token}")
        else:  # short path: AF_UNIX socket paths are limited to ~104 bytes
            self._ipc_dir = tempfile.mkdtemp(prefix="blk-")
            kwargs.setdefault("connection_file", os.path.join(self._ipc_dir, "kernel.json"))
        super().__init__(**kwargs)
        self._log_handle: IO[bytes] | None = None

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        if self._log_handle is None:
            self._log_handle = open(self.kernel_log or os.devnull, "ab")
        kw.setdefault("stdout", self._log_handle)
        kw.setdefault("stderr", self._log_handle)
        kw.setdefault("preexec_fn", kernel_preexec(os.getpid()))
        env = dict(kw.get("env") or os.environ)
        for key, value in KERNEL_ENV.items():
            env.setdefault(key, value)
        kw["env"] = env
        await super()._async_launch_kernel(kernel_cmd, **kw)

    _launch_kernel = _async_launch_kernel  # type: ignore[assignment]

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            if self._log_handle is not None:
                self._log_handle.close()
                self._log_handle = None
            if self._ipc_dir is not None:
                shutil.rmtree(self._ipc_dir, ignore_errors=True)
            else:
                Path(self.connection_file).unlink(missing_ok=True)

    cleanup_resources = _async_cleanup_resources  # type: ignore[assignment]


def execute_notebook(input_path: str | os.PathLike, output_path: str | os.PathLike,
                     parameters: dict[str, Any], *, execution_timeout: float | None = None,
                     start_timeout: float = 120, retries: int = 2, kernel_args: tuple[str, ...] = ()) -> None:
    """Run a notebook with papermill on an IPC kernel named ``python3``; keep the executed copy.
    ``kernel_args`` are added to the kernel's command line after :data:`KERNEL_ARGS` (the report
    loads :mod:`bilancio_lite.display` with them).

    The kernel process's stdout/stderr go to ``<output_path minus .ipynb>.kernel.log``, removed
    when empty. A failing cell raises ``PapermillExecutionError`` at once. Any other failure (the
    kernel did not start or died) is retried ``retries`` times: the shard notebooks are idempotent.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    log = output_path.with_suffix(".kernel.log")
    log.unlink(missing_ok=True)
    manager = type("IPCKernelManager", (IPCKernelManager,),
                   {"kernel_log": str(log), "conn_dir": str(output_path.parent)})
    # papermill writes the notebook as it runs: into a hidden temporary file, renamed when whole
    # (a full disk or a kill never leaves a truncated notebook under the final name; issue 24)
    tmp = temp_notebook(output_path)
    try:
        for attempt in range(retries + 1):
            try:
                pm.execute_notebook(
                    literal_path(input_path), literal_path(tmp), parameters=parameters,
                    kernel_name=KERNEL_NAME, progress_bar=False, log_output=False,
                    start_timeout=start_timeout, execution_timeout=execution_timeout,
                    kernel_manager_class=manager, extra_arguments=[*KERNEL_ARGS, *kernel_args], shutdown_kernel="immediate")
                coalesce_streams(tmp, output_path)
                return
            except PapermillExecutionError:  # the notebook is whole and shows the failing cell
                coalesce_streams(tmp, output_path)
                raise
            except Exception:
                if attempt == retries:
                    raise
                time.sleep(0.5 * (attempt + 1))
    finally:
        tmp.unlink(missing_ok=True)
        if log.exists() and log.stat().st_size == 0:
            log.unlink()


def temp_notebook(output_path: Path) -> Path:
    """The hidden file a notebook is executed into before it is renamed to ``output_path``."""
    return output_path.with_name(f".{output_path.stem}.{os.getpid()}.tmp.ipynb")


def literal_path(path: str | os.PathLike) -> str:
    """``path`` as papermill takes it literally: papermill formats input and output paths with the
    notebook's parameters (``str.format``), so ``{`` and ``}`` are doubled (issue 24: a folder named
    ``q{shard_size}`` stays that folder)."""
    return str(path).replace("{", "{{").replace("}", "}}")


def coalesce_streams(notebook: str | os.PathLike, target: str | os.PathLike | None = None) -> None:
    """Merge each cell's consecutive stdout (stderr) outputs of an executed notebook, in place
    (or into ``target``, atomically, recording ``target`` as papermill's output path).

    The kernel sends what a cell prints on a timer, so under load one ``print`` can arrive as two
    outputs (the text, then ``"\n"``); merged, the outputs are the same on every run (nbconvert's
    ``CoalesceStreamsPreprocessor``; nbval compares them merged too)."""
    import nbformat
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    from .atomic import write_text

    nb = nbformat.read(str(notebook), as_version=4)
    CoalesceStreamsPreprocessor().preprocess(nb, {})
    if target is not None and "papermill" in nb.metadata:
        nb.metadata["papermill"]["output_path"] = str(target)
    text = nbformat.writes(nb)
    write_text(target if target is not None else notebook, text if text.endswith("\n") else text + "\n",
               encoding="utf-8")
