"""Recipes this installation has already found valid, remembered by their content, with their digest.

Validation (the JSON Schema through jsonschema, then the semantic checks through the vocabulary and the
schedules) is the costly part of reading a recipe, and the same recipe is read again and again: every
`iga inspect` / `verify` of a stamped checkpoint, every re-stamp, every model load in the WebUI. So a
document that validated clean is remembered here by a content key, the sha256 of its sorted, compact
JSON (two documents with one key are the same JSON document, so they get the same verdict), together
with its metadata digest (`canonical.metadata_sha256`, the other cost of reading a recipe). Only clean
verdicts are remembered: an invalid document is validated again each time, so its problems are listed.

A verdict holds for the validator that gave it: the memo is kept under a fingerprint of everything the
verdict depends on (the code and data files of `iga_core.recipe`, `iga_core.vocab` and
`iga_core.schedules`, by name, size and mtime, the iga version, the installed jsonschema), and a
different fingerprint starts an empty memo. It lives in the cache folder (`paths.cache_dir()`, as the
hash cache, and like it only a cache: a missing, corrupt or unwritable memo means validating again).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections import namedtuple
from pathlib import Path

from iga_core import __version__, paths

MEMO_FILE = "valid-recipes.json"
MEMO_VERSION = 1
MAX_ENTRIES = 512  # about 70 KB of JSON; the oldest entries go first
#: the packages whose code and data decide a recipe's validity
_PACKAGES = ("recipe", "vocab", "schedules")


#: what the memo knows of a document: `key` its content key (None: not plain JSON, never remembered),
#: `valid` whether it validated clean before under this validator, `digest` its metadata_sha256 if known
Seen = namedtuple("Seen", "key valid digest")


def content_key(document: object) -> str | None:
    """The sha256 of `document` as sorted compact JSON; None for what JSON cannot hold unambiguously."""
    try:
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def recall(document: object) -> Seen:
    """What the memo knows of `document`."""
    key = content_key(document)
    if key is None:
        return Seen(None, False, None)
    entry = _memo().get(key)
    if entry is None:
        return Seen(key, False, None)
    return Seen(key, True, entry or None)


def remember(key: str | None, digest: str | None = None) -> None:
    """Record that the document with content key `key` is valid (and its metadata digest, when known)."""
    if key is None:
        return
    memo = _memo()
    if memo.get(key) == (digest or "") or (digest is None and key in memo):
        return
    memo.pop(key, None)
    memo[key] = digest or ""  # re-inserted last: the oldest entries are dropped first
    while len(memo) > MAX_ENTRIES:
        memo.pop(next(iter(memo)))
    _save(memo)


def problems_of(document: object, digest: str | None = None) -> list:
    """`validate_recipe(document)`, unless the document is remembered valid ([] then); a valid document is
    remembered (with `digest`, its metadata digest, when the caller has it)."""
    seen = recall(document)
    if not seen.valid:
        from iga_core.recipe.validate import validate_recipe

        problems = validate_recipe(document)
        if problems:
            return problems
    if not seen.valid or (digest and not seen.digest):
        remember(seen.key, digest)
    return []


# ---- the memo file ----

_loaded: dict[str, dict[str, str]] = {}  # memo file path -> its entries, read once per process
_fingerprint: list[str] = []


def _path() -> Path:
    return paths.cache_dir() / MEMO_FILE


def _memo() -> dict[str, str]:
    path = str(_path())
    memo = _loaded.get(path)
    if memo is None:
        memo = _loaded[path] = _read(path)
    return memo


def _read(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    if (not isinstance(data, dict) or data.get("version") != MEMO_VERSION or data.get("fingerprint") != fingerprint()
            or not isinstance(data.get("recipes"), dict)):  # fmt: skip
        return {}
    return {k: v for k, v in data["recipes"].items() if isinstance(k, str) and isinstance(v, str)}


def _save(memo: dict[str, str]) -> None:
    path = _path()
    text = json.dumps({"version": MEMO_VERSION, "fingerprint": fingerprint(), "recipes": memo},
                      separators=(",", ":"))  # fmt: skip
    tmp = path.with_name(f".{MEMO_FILE}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)  # a reader sees the old memo or the new one, never half of one
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()


def fingerprint() -> str:
    """A digest of what validity depends on (see the module docstring); computed once per process."""
    if not _fingerprint:
        parts = [__version__]
        core = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for package in _PACKAGES:
            parts += _files_of(os.path.join(core, package), package)
        parts.append(_jsonschema_version())
        _fingerprint.append(hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest())
    return _fingerprint[0]


def _files_of(folder: str, name: str) -> list[str]:
    """"name/file:size:mtime" for the .py and .json files in `folder` and its subfolders, sorted."""
    out = []
    try:
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    out += _files_of(entry.path, f"{name}/{entry.name}")
                elif entry.name.endswith((".py", ".json")):
                    with contextlib.suppress(OSError):
                        st = entry.stat()
                        out.append(f"{name}/{entry.name}:{st.st_size}:{st.st_mtime_ns}")
    except OSError:
        pass
    return out


def _jsonschema_version() -> str:
    """Which jsonschema is installed, without importing it (that is what the memo saves)."""
    import importlib.util

    spec = importlib.util.find_spec("jsonschema")
    if spec is None or not spec.origin:
        return "jsonschema:none"
    folder = os.path.dirname(spec.origin)
    try:
        st = os.stat(os.path.join(folder, "__init__.py"))
    except OSError:
        return f"jsonschema:{folder}"
    return f"jsonschema:{folder}:{st.st_size}:{st.st_mtime_ns}"
