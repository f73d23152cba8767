"""Recipe lookup for the glue: `iga_core.sources.find_recipe`, cached by (path, size, mtime, verify mode)
so a generation does not re-read headers or re-hash weights, and a re-stamped file is seen at once."""

from __future__ import annotations

import os
import threading

from iga_core.sources import RecipeSource, find_recipe
from iga_webui import settings

_lock = threading.Lock()
_cache: dict[tuple, RecipeSource] = {}
_MAX = 256


def _key(path: str, verify: str) -> tuple:
    st = os.stat(path)
    return (os.path.abspath(path), st.st_size, st.st_mtime_ns, verify)


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
