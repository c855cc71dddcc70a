"""Re-execute the notebooks against the smoke sweep and store their outputs (for nbval).

    python tests/refresh_notebooks.py            # all notebooks/NN_*.ipynb
    python tests/refresh_notebooks.py 03 05      # only these

nbval (`python -m pytest`) re-runs every notebook and compares its text and HTML outputs with
the stored ones (images are not compared; tests/nbval_sanitize.cfg masks what legitimately
varies). Run this after a change that is meant to move a number a notebook shows, then review
the diff. The smoke sweep is rebuilt from scratch first, so the stored outputs match a fresh clone.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def main(selected: list[str]) -> None:
    from bilancio_lite.nbexec import IPCKernelManager
    from bilancio_lite.sweep import SMOKE_OUT, ensure_sweep

    shutil.rmtree(SMOKE_OUT, ignore_errors=True)
    ensure_sweep()
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if selected and path.name[:2] not in selected:
            continue
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, kernel_name="python3", timeout=600, record_timing=False, store_widget_state=False,
                       kernel_manager_class=IPCKernelManager,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        nbformat.write(nb, path)
        print(f"refreshed {path.relative_to(REPO)}")


if __name__ == "__main__":
    main(sys.argv[1:])
