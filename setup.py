"""Build hook, and nothing else (the project is declared in pyproject.toml).

The standalone app reads files that live at the repository root, where the WebUI needs them (`javascript/`,
`style.css`) or where people look for them (`metadata_examples/`: the demo checkpoints and the Recipes tab's
templates). A wheel holds only packages, so a non-editable `pip install '.[ui]'` lost them and the app came up
with one checkpoint and no templates. This hook copies them into the built package as `iga_core/_shipped/`;
`iga_core.paths.shipped()` reads them from there in an installed copy and from the root in a clone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: what the standalone app reads from the root (iga_core.paths.SHIPPED holds the same names)
SHIPPED = ("metadata_examples", "javascript", "style.css")


class BuildPyWithShipped(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the root itself
            return
        target = Path(self.build_lib) / "iga_core" / "_shipped"
        for name in SHIPPED:
            source, dest = ROOT / name, target / name
            if source.is_dir():
                shutil.copytree(source, dest, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif source.is_file():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)
            else:
                raise SystemExit(f"setup.py: {source} is missing; it must ship with the package")


setup(cmdclass={"build_py": BuildPyWithShipped})
