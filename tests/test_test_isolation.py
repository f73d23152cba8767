"""The suite never touches the user's own iga folders, not even from module-scoped fixtures that run before
any function-scoped one (issue #17 item 6: the started host doubles wrote ~/.cache/iga/hashes.json)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iga_core import paths
from iga_core.checkpoint import hashing
from tests.factories import make_checkpoint


def _user_folders(user_env: dict) -> list[Path]:
    """Where iga would write outside the tests: the variables as they were before the session, else the
    platform defaults (`iga_core.paths`)."""
    home = Path.home()
    cache = user_env.get("IGA_CACHE_DIR") or Path(user_env.get("XDG_CACHE_HOME") or home / ".cache") / "iga"
    data = user_env.get("IGA_DATA_DIR") or Path(user_env.get("XDG_DATA_HOME") or home / ".local" / "share") / "iga"
    return [Path(cache), Path(data)]


@pytest.fixture(scope="module")
def seen_at_module_setup(tmp_path_factory):
    """What a module-scoped fixture sees and writes: it runs before the function-scoped `_iga_env`."""
    ckpt = make_checkpoint(tmp_path_factory.mktemp("module") / "m.safetensors")
    hashing.weights_sha256(ckpt)  # writes the hash cache, as a started host double does at setup
    return {"cache": paths.cache_dir(), "data": paths.data_dir(), "registry": paths.registry_dir(),
            "log": paths.decision_log_path(), "cache_file": next(paths.cache_dir().rglob("*.json"), None)}


def test_module_scoped_fixtures_write_inside_the_session_folder(seen_at_module_setup, pytestconfig):
    root = pytestconfig.iga_session_root
    for name, path in seen_at_module_setup.items():
        assert path is not None, name
        assert Path(path).is_relative_to(root), f"{name} at module setup: {path} is outside {root}"
    for user in _user_folders(pytestconfig.iga_user_env):
        for name, path in seen_at_module_setup.items():
            assert not Path(path).is_relative_to(user), f"{name}: {path} is the user's own {user}"


def test_each_test_gets_its_own_folders_too(seen_at_module_setup):
    assert paths.cache_dir() != seen_at_module_setup["cache"]
    assert paths.data_dir() != seen_at_module_setup["data"]
    assert "IGA_REGISTRY" not in os.environ
