"""Repo-wide test isolation: no test reads or writes the user's iga folders (hash cache, data, registry,
decision log, demo models).

Two layers:
- for the whole session, set in `pytest_configure` before any test module is imported and before any
  fixture runs: IGA's folder variables (and the XDG ones they fall back to) point into a temporary folder.
  Module- and session-scoped fixtures (the started host doubles hash and cache their checkpoints at setup,
  before any function-scoped fixture) then never reach `~/.cache/iga` or `~/.local/share/iga`;
- for each test, `_iga_env` gives fresh folders of its own, outside its `tmp_path` so tests that list
  `tmp_path` see only their own files.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

import tests.host_double as host_double

#: variables iga's folders come from (`iga_core.paths`), with the session's value under its root
SESSION_ENV = {"IGA_CACHE_DIR": "cache", "IGA_DATA_DIR": "data", "XDG_CACHE_HOME": "xdg-cache",
               "XDG_DATA_HOME": "xdg-data"}  # fmt: skip
#: variables that would point past the session root: removed for the session (derived from IGA_DATA_DIR)
SESSION_UNSET = ("IGA_REGISTRY", "IGA_DECISION_LOG")
#: the user's own folders as they were before the session (a test checks nothing lands there)
USER_ENV: dict[str, str | None] = {}
SESSION_ROOT: Path | None = None


def pytest_configure(config):
    global SESSION_ROOT
    SESSION_ROOT = Path(tempfile.mkdtemp(prefix="iga-tests-"))
    for key in (*SESSION_ENV, *SESSION_UNSET):
        USER_ENV[key] = os.environ.get(key)
    for key, sub in SESSION_ENV.items():
        os.environ[key] = str(SESSION_ROOT / sub)
    for key in SESSION_UNSET:
        os.environ.pop(key, None)
    config.iga_session_root = SESSION_ROOT  # for tests/test_test_isolation.py
    config.iga_user_env = dict(USER_ENV)


def pytest_unconfigure(config):
    for key, value in USER_ENV.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    if SESSION_ROOT is not None:
        shutil.rmtree(SESSION_ROOT, ignore_errors=True)


def _installs_the_double(fixturedef) -> bool:
    """A fixture from tests/host_double/fixture.py, or one that calls `tests.host_double.install` itself."""
    func = fixturedef.func
    if getattr(func, "__module__", "") == "tests.host_double.fixture":
        return True
    code, names = getattr(func, "__code__", None), getattr(func, "__globals__", {})
    return code is not None and any(names.get(n) is host_double.install for n in code.co_names)


def pytest_collection_modifyitems(config, items):
    """Tests that use the host double are `host` tests, marked here so no test module has to remember it (the
    a1111-host CI env selects them with `-m host`); `host_double.install` refuses a test that is not marked,
    e.g. one that calls it from its body."""
    for item in items:
        defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {}) or {}
        if any(_installs_the_double(d) for fixturedefs in defs.values() for d in fixturedefs):
            item.add_marker(pytest.mark.host)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    host_double.current_item = item


def pytest_runtest_teardown(item, nextitem):
    host_double.current_item = None
    page = sys.modules.get("iga_webui.page")
    if page is not None:  # what a test's UI build recorded about its page does not reach the next test
        page.clip_skip_control = None


def _host_double_installed() -> bool:
    # A (module-scoped) host double already points the data folder and decision log at its own root, and
    # its tests check the glue uses exactly that folder: leave those two to it.
    return getattr(sys.modules.get("modules"), "DOUBLE_HOST", None) is not None


@pytest.fixture(autouse=True)
def _iga_env(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("iga-env")
    monkeypatch.setenv("IGA_CACHE_DIR", str(root / "cache"))
    monkeypatch.delenv("IGA_REGISTRY", raising=False)  # the default registry is then $IGA_DATA_DIR/registry
    if not _host_double_installed():
        monkeypatch.setenv("IGA_DATA_DIR", str(root / "data"))
        monkeypatch.setenv("IGA_DECISION_LOG", str(root / "data" / "decisions.jsonl"))
    return root
