"""Build step that pyproject.toml cannot express: ship the notebooks and sweep files in the wheel.

``notebooks/*.ipynb`` and ``params/*.yaml`` live at the repository's top level (where researchers
open and edit them); a wheel gets copies as ``bilancio_lite/notebooks/`` and
``bilancio_lite/params/``, which :mod:`bilancio_lite.resources` finds from the installed package.
An editable install needs no copies: it reads the checkout's folders.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

#: (folder at the repository's top level, files shipped): keep in step with bilancio_lite.resources.SHIPPED
SHIPPED = (("notebooks", "*.ipynb"), ("params", "*.yaml"))


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        root = Path(__file__).resolve().parent
        for folder, pattern in SHIPPED:
            target = Path(self.build_lib) / "bilancio_lite" / folder
            self.mkpath(str(target))
            for src in sorted((root / folder).glob(pattern)):
                self.copy_file(str(src), str(target / src.name))


setup(cmdclass={"build_py": BuildPyWithData})
