"""Recipe lookup for the glue: `iga_core.checkpoint.sources.find_recipe`, cached by the state of every file it reads
(the checkpoint, its `<checkpoint>.iga.json` sidecar, the registry folder) and the verify mode, so a
generation does not re-read headers or re-hash weights, and a re-stamped file, a new or edited sidecar
(`iga extract`, `POST /iga/v1/sidecar`) or a registry change (`iga registry add`) is seen at once."""

from __future__ import annotations

import os
import threading
from functools import lru_cache

from iga_core.checkpoint.embedded import SIDECAR_SUFFIX
from iga_core.checkpoint.hashing import file_identity
from iga_core.checkpoint.registry import default_folder
from iga_core.checkpoint.sources import RecipeSource, find_recipe
from iga_webui import settings

_lock = threading.Lock()
_cache: dict[tuple, RecipeSource] = {}
_MAX = 256


def _key(path: str, verify: str) -> tuple:
    # The full identity (device, inode, size, mtime, ctime), as the hash cache keys on: a same-size file
    # swapped in, or a byte flipped with the mtime set back, is a new state. An absent sidecar is part of
    # the state too (one that appears changes the key); registry entries are written with os.replace into
    # the folder, which changes the folder's mtime and ctime.
    state = file_identity(path)
    if state is None:
        os.stat(path)  # an unreadable checkpoint raises here, as find_recipe would
    sidecar = os.fspath(path) + SIDECAR_SUFFIX  # sidecar_path(path), without building Paths per generation
    return (_absolute(path), state, verify, file_identity(sidecar), file_identity(default_folder()))


@lru_cache(maxsize=_MAX)
def _normalised(path: str) -> str:
    return os.path.abspath(path)


def _absolute(path: str) -> str:
    # the hosts hand over absolute checkpoint paths: those normalise the same forever, so once; a relative
    # one depends on the working folder and is worked out each time
    path = os.fspath(path)
    return _normalised(path) if os.path.isabs(path) else os.path.abspath(path)


def lookup(path: str | None) -> RecipeSource | None:
    """The recipe source of a checkpoint or LoRA file; None for no path. Raises the core's typed errors
    for unreadable files."""
    if not path:
        return None
    verify = settings.get("iga_hash_verification")
    key = _key(path, verify)
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    found = find_recipe(path, verify=verify)
    with _lock:
        if len(_cache) >= _MAX:
            _cache.clear()
        _cache[key] = found
    return found


def forget(path: str | None = None) -> None:
    """Drop cached lookups (one file, or all). Called on model load when hashes are checked every load."""
    with _lock:
        if path is None:
            _cache.clear()
            return
        target = os.path.abspath(path)
        for key in [k for k in _cache if k[0] == target]:
            del _cache[key]


def on_model_loaded(sd_model) -> None:
    if settings.get("iga_hash_verification") == "always":
        info = getattr(sd_model, "sd_checkpoint_info", None)
        forget(getattr(info, "filename", None))
