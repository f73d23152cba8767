"""Packaging (issue #17 items 3 and 7): the license is an SPDX expression (setuptools >= 77, no deprecation
warning), and a built wheel, installed as a non-editable copy, has every demo checkpoint's recipe, the Recipes
tab's templates and the app's JS and CSS (setup.py copies the root files into `iga_core/_shipped/`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (A1111 v1.10.1's): its backport, from the test extra
    import tomli as tomllib

from iga_core import paths

ROOT = Path(__file__).resolve().parents[1]
#: what a build needs from the checkout (the tests, docs and benchmarks stay out of the wheel)
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "iga_core", *paths.SHIPPED)


def _pyproject() -> str:
    return (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_the_license_is_an_spdx_expression_with_its_file():
    text = _pyproject()
    data = tomllib.loads(text)
    assert data["project"]["license"] == "MIT"
    assert data["project"]["license-files"] == ["LICENSE"]
    requires = data["build-system"]["requires"]
    assert "setuptools>=77" in requires  # the first release that reads `license` as an SPDX expression
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "License ::" not in text  # PEP 639: no license classifier next to an expression


def test_setup_py_ships_what_paths_looks_up():
    # setup.py cannot import iga_core at build time, so it holds its own copy of the names
    tree = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert re.search(r"SHIPPED = \((.*?)\)", tree).group(1) == ", ".join(f'"{n}"' for n in paths.SHIPPED)
    for name in paths.SHIPPED:
        assert paths.shipped(name) == ROOT / name and (ROOT / name).exists()  # a clone reads its root


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    import setuptools

    if tuple(int(x) for x in setuptools.__version__.split(".")[:2]) < (77, 0):
        pytest.skip(f"setuptools {setuptools.__version__} cannot build an SPDX license (needs >= 77)")
    work = tmp_path_factory.mktemp("build")
    src = work / "src"
    for name in BUILD_INPUTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_shipped"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(source, src / name)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                          "-v", "-w", str(work / "dist"), str(src)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    (built,) = (work / "dist").glob("sd_webui_iga-*.whl")
    return {"path": built, "log": out.stdout + out.stderr, "work": work}


@pytest.mark.slow
def test_the_build_has_no_license_deprecation(wheel):
    lines = [line for line in wheel["log"].splitlines() if "deprecat" in line.lower() and "licen" in line.lower()]
    assert lines == []
    with zipfile.ZipFile(wheel["path"]) as whl:
        (meta,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = whl.read(meta).decode()
        assert "License-Expression: MIT" in metadata and "License-File: LICENSE" in metadata
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in whl.namelist())


@pytest.mark.slow
def test_the_wheel_holds_every_demo_recipe_template_and_asset(wheel):
    with zipfile.ZipFile(wheel["path"]) as whl:
        names = set(whl.namelist())
    for name in paths.SHIPPED:
        source = ROOT / name
        files = [source] if source.is_file() else [p for p in source.rglob("*") if p.is_file()]
        for path in files:
            inside = f"iga_core/_shipped/{path.relative_to(ROOT).as_posix()}"
            assert inside in names, f"{inside} is not in the wheel"
    assert not any(n.startswith(("tests/", "docs/", "benchmarks/")) for n in names)


@pytest.mark.slow
def test_a_non_editable_install_shows_every_demo_checkpoint_and_template(wheel):
    site = wheel["work"] / "site"
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target",
                          str(site), str(wheel["path"])], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    probe = (
        "import json, iga_core\n"
        "from iga_core.ui.demo_models import ensure_demo_models, examples_dir\n"
        "from iga_core.ui.app import assets\n"
        "from iga_core.ui.recipes_actions import template_names\n"
        "folder = ensure_demo_models()\n"
        "css, js = assets()\n"
        "print(json.dumps({'package': iga_core.__file__, 'examples': str(examples_dir()),\n"
        "  'demo': sorted(p.name for p in folder.glob('*.safetensors')), 'templates': template_names(),\n"
        "  'css': len(css), 'js': len(js)}))\n"
    )
    data_root = wheel["work"] / "user"
    env = {**os.environ, "PYTHONPATH": str(site), "IGA_DATA_DIR": str(data_root / "data"),
           "IGA_CACHE_DIR": str(data_root / "cache"), "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
    env.pop("IGA_REGISTRY", None)
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=wheel["work"], env=env,
                         timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(got["package"]).is_relative_to(site)  # the installed copy, not the checkout
    assert Path(got["examples"]) == site / "iga_core" / "_shipped" / "metadata_examples"
    examples = sorted(p.name[: -len(".iga.json")] for p in (ROOT / "metadata_examples").glob("*.iga.json"))
    assert got["demo"] == sorted([f"{e}.safetensors" for e in examples] + ["no-recipe-sd15.safetensors"])
    assert got["templates"] == examples  # the Recipes tab's templates
    assert got["css"] > 0 and got["js"] > 0
