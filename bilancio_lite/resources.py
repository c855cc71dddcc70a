"""Where the shipped notebooks and sweep files are: in a repository checkout, or in the installed
package (issue 22).

The notebooks (``notebooks/*.ipynb``) and sweep files (``params/*.yaml``) live at the repository's
top level. A wheel ships copies of them inside the package, as ``bilancio_lite/notebooks/`` and
``bilancio_lite/params/`` (``setup.py`` copies them at build time). Code asks this module for
them: the package's own copy when there is one (an installed wheel), else the checkout's folder
(a source tree or an editable install). ``bilancio-lite sweep plan024`` finds a shipped sweep file
by name (:func:`shipped_sweep_file`).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The repository root when running from a checkout (the folder holding ``pyproject.toml``).
REPO = PACKAGE_DIR.parent
#: The shipped folders: (name, pattern of the files shipped).
SHIPPED: tuple[tuple[str, str], ...] = (("notebooks", "*.ipynb"), ("params", "*.yaml"))


def _shipped(name: str) -> Path:
    installed = PACKAGE_DIR / name
    return installed if installed.is_dir() else REPO / name


def notebooks_dir() -> Path:
    """The notebooks: ``bilancio_lite/notebooks`` when installed from a wheel, else ``<repo>/notebooks``."""
    return _shipped("notebooks")


def params_dir() -> Path:
    """The sweep files: ``bilancio_lite/params`` when installed from a wheel, else ``<repo>/params``."""
    return _shipped("params")


def is_checkout() -> bool:
    """True when the package runs from a source tree (editable install or ``python -m`` in the repo)."""
    return not (PACKAGE_DIR / "notebooks").is_dir() and (REPO / "pyproject.toml").is_file()


def outputs_dir() -> Path:
    """Default home of sweep folders the notebooks build on their own (the smoke sweep):
    ``<repo>/outputs`` in a checkout, else ``./outputs`` under the current directory."""
    return REPO / "outputs" if is_checkout() else Path.cwd() / "outputs"


def shipped_sweeps() -> list[str]:
    """Names of the shipped sweep files (``plan024``, ``smoke``, …), sorted."""
    return sorted(p.stem for p in params_dir().glob("*.yaml"))


def shipped_sweep_file(name: str | os.PathLike) -> Path | None:
    """The shipped sweep file named ``name`` (a bare name such as ``plan024`` or ``plan024.yaml``,
    no folder), or None."""
    p = Path(name)
    if p.parent != Path(".") or p.suffix not in ("", ".yaml") or not p.stem:
        return None
    shipped = params_dir() / f"{p.stem}.yaml"
    return shipped if shipped.is_file() else None
