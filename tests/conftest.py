"""Repo-wide test isolation: no test reads or writes the user's iga folders (hash cache, data, registry,
decision log). Each test gets its own fresh folders, outside its `tmp_path` so tests that list `tmp_path`
see only their own files."""

from __future__ import annotations

import sys

import pytest


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
