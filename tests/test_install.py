"""install.py: stdlib only, reads pyproject, installs missing / too-old deps through launch.run_pip, honours
skip-install, never touches what the host pins."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def install():
    spec = importlib.util.spec_from_file_location("iga_install_under_test", ROOT / "install.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeLaunch:
    """What A1111/Forge's `launch` module offers (A launch_utils.py:121-144): `args.skip_install`, run_pip."""

    def __init__(self, skip=False):
        self.args = SimpleNamespace(skip_install=skip)
        self.calls: list[str] = []

    def run_pip(self, command, desc=None):
        self.calls.append(command)


def test_install_py_imports_only_the_stdlib():
    tree = ast.parse((ROOT / "install.py").read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    # tomllib is stdlib from 3.11; install.py falls back to a regex without it (A1111 v1.10.1 runs 3.10)
    allowed = set(sys.stdlib_module_names) | {"__future__", "launch", "tomllib"}
    assert names - allowed == set()


def _toml():
    """tomllib (3.11+) or tomli, its backport (the test extra installs it on 3.10): a TOML parser that is not
    install.py's own reader, to hold that reader to."""
    try:
        import tomllib
    except ModuleNotFoundError:
        tomllib = pytest.importorskip("tomli", reason="Python 3.10 needs tomli (pip install '.[test]')")
    return tomllib


def test_requirements_come_from_pyproject(install):
    expected = _toml().loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert install.read_requirements() == expected


def test_regex_fallback_reads_the_same_list(install, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tomllib", None)  # Python 3.10 has no tomllib: import raises
    fallback = install.read_requirements(ROOT / "pyproject.toml")
    monkeypatch.undo()
    # on 3.10 both calls take the fallback: compare with a real TOML parser too
    assert fallback == install.read_requirements(ROOT / "pyproject.toml")
    assert fallback == _toml().loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


@pytest.mark.parametrize(("requirement", "have", "action"), [
    ("jsonschema>=4.17,<5", None, "install"),
    ("jsonschema>=4.17,<5", "4.16.2", "install"),
    ("jsonschema>=4.17,<5", "4.17.0", "ok"),
    ("jsonschema>=4.17,<5", "4.23.0", "ok"),
    ("jsonschema>=4.17,<5", "5.0.1", "too-new"),
    ("Pillow>=9.5", "9.5.0", "ok"),          # A1111's pin
    ("Pillow>=9.5", "9.4.0", "install"),
    ("rfc8785>=0.1.2,<0.2", "0.1.4", "ok"),
    ("numpy>=1.23", "2.0.0rc1", "ok"),
])
def test_plan(install, requirement, have, action):
    assert install.plan(requirement, have) == action


def test_missing_and_old_packages_go_through_run_pip(install, monkeypatch):
    versions = {"jsonschema": "4.10.0", "rfc8785": None, "numpy": "1.26.4", "Pillow": "9.5.0", "piexif": "1.1.3"}
    monkeypatch.setattr(install, "read_requirements", lambda: [
        "jsonschema>=4.17,<5", "rfc8785>=0.1.2,<0.2", "numpy>=1.23", "Pillow>=9.5", "piexif>=1.1.3,<2",
        "gradio>=3.41.2,<5", "pydantic>=1", "torch>=2.1"])
    monkeypatch.setattr(install, "installed_version", lambda name: versions.get(name))
    launch = FakeLaunch()
    assert install.main(launch) == 0
    assert launch.calls == ['install "jsonschema>=4.17,<5"', 'install "rfc8785>=0.1.2,<0.2"']


def test_host_owned_packages_are_never_installed(install, monkeypatch):
    monkeypatch.setattr(install, "read_requirements", lambda: ["gradio>=9", "pydantic>=9", "torch>=99"])
    monkeypatch.setattr(install, "installed_version", lambda name: None)
    launch = FakeLaunch()
    install.main(launch)
    assert launch.calls == []


def test_skip_install_does_nothing(install, monkeypatch):
    monkeypatch.setattr(install, "installed_version", lambda name: None)
    launch = FakeLaunch(skip=True)
    install.main(launch)
    assert launch.calls == []


def test_declared_ranges_admit_both_hosts_pins(install):
    # A1111 v1.10.1 and Forge pin these (requirements_versions.txt of each host)
    pins = {"Pillow": ["9.5.0", "10.4.0"], "numpy": ["1.26.2"], "jsonschema": ["4.23.0"], "piexif": ["1.1.3"]}
    for requirement in install.read_requirements():
        name, _ = install.parse(requirement)
        for version in pins.get(name, []):
            assert install.plan(requirement, version) == "ok", (requirement, version)
