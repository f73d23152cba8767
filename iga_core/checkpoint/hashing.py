"""Content hashes of checkpoint files, streamed in large blocks and cached per file state.

`weights_sha256` is the sha256 of the tensor-data section only (everything after the safetensors header),
the definition behind ModelSpec's `hash_sha256` and kohya's addnet hash: stamping a recipe into the
header never changes it. Files without a safetensors header (`.ckpt`, `.pt`, ...) have no separate data
section, so their weights hash is the full-file hash. `file_sha256` is the full-file hash the WebUI shows
as "Model hash" (AutoV2 = its first 10 hex digits).

Results are cached in a small JSON file keyed by (real path, size, mtime_ns), so an unchanged multi-GB file
is hashed once. The cache lives in `$IGA_CACHE_DIR`, else the user cache dir (`$XDG_CACHE_HOME/iga`,
`~/.cache/iga`, or `%LOCALAPPDATA%\\iga` on Windows). A missing or corrupt cache is simply rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from iga_core import paths
from iga_core.checkpoint.atomic import AtomicWriteFailed, write_text_atomic
from iga_core.checkpoint.safetensors_io import (
    CheckpointUnreadable,
    is_safetensors_path,
    open_for_read,
    read_raw_header,
)

BLOCK_SIZE = 16 * 1024 * 1024
CACHE_FILE = "hashes.json"
CACHE_VERSION = 1
CACHE_MAX_ENTRIES = 2000  # a few hundred KB of JSON at most

#: progress(done_bytes, total_bytes), called after each block
Progress = Callable[[int, int], None]


def cache_dir() -> Path:
    return paths.cache_dir()


def weights_sha256(path: str | os.PathLike, progress: Progress | None = None, *, use_cache: bool = True) -> str:
    """sha256 (hex) of the tensor bytes after the header; of the whole file for non-safetensors files."""
    if not is_safetensors_path(path):
        return file_sha256(path, progress, use_cache=use_cache)
    if use_cache and (hit := cached(path, "weights_sha256")):
        return hit
    return _hash_and_remember(path, progress, want_file=False)["weights_sha256"]


def file_sha256(path: str | os.PathLike, progress: Progress | None = None, *, use_cache: bool = True) -> str:
    """sha256 (hex) of the whole file, as A1111's "sha256" / AutoV2."""
    if use_cache and (hit := cached(path, "file_sha256")):
        return hit
    return _hash_and_remember(path, progress, want_file=True, want_weights=False)["file_sha256"]


def file_and_weights_sha256(
    path: str | os.PathLike, progress: Progress | None = None, *, use_cache: bool = True
) -> tuple[str, str]:
    """Both hashes in one pass over the file: (file_sha256, weights_sha256)."""
    if not is_safetensors_path(path):
        digest = file_sha256(path, progress, use_cache=use_cache)
        return digest, digest
    if use_cache and (f := cached(path, "file_sha256")) and (w := cached(path, "weights_sha256")):
        return f, w
    got = _hash_and_remember(path, progress, want_file=True)
    return got["file_sha256"], got["weights_sha256"]


def autov2(file_digest: str) -> str:
    """The WebUI's short "Model hash": the first 10 hex digits of the full-file sha256."""
    return file_digest[:10]


def _hash_and_remember(path, progress, *, want_file: bool, want_weights: bool = True) -> dict[str, str]:
    skip = 0
    if want_weights:
        raw, _ = read_raw_header(path)  # validates the bounds; the JSON itself is not needed here
        skip = 8 + len(raw)
    key = _state_key(path)
    found = hash_range(path, skip, want_file=want_file, progress=progress)
    result = {}
    if want_file:
        result["file_sha256"] = found["file"]
    if want_weights:
        result["weights_sha256"] = found["data"]
    # Only remember if the file did not change while we read it.
    if _state_key(path) == key:
        remember(path, **result)
    return result


def hash_range(
    path: str | os.PathLike,
    data_start: int,
    *,
    want_file: bool = False,
    progress: Progress | None = None,
    block_size: int = BLOCK_SIZE,
) -> dict[str, str]:
    """Stream the file once; return {"data": sha256 of bytes from data_start on, "file": full sha256 if wanted}."""
    data_hash = hashlib.sha256()
    file_hash = hashlib.sha256() if want_file else None
    buf = bytearray(block_size)
    view = memoryview(buf)
    with open_for_read(path) as fh:
        try:
            total = os.fstat(fh.fileno()).st_size
            if data_start:
                head = fh.read(data_start)
                if file_hash is not None:
                    file_hash.update(head)
            done = fh.tell()
            while True:
                n = fh.readinto(buf)
                if not n:
                    break
                chunk = view[:n]
                data_hash.update(chunk)
                if file_hash is not None:
                    file_hash.update(chunk)
                done += n
                if progress is not None:
                    progress(done, total)
        except OSError as exc:
            raise CheckpointUnreadable(f"cannot read {os.fspath(path)}: {exc}", "check the disk and retry") from exc
    out = {"data": data_hash.hexdigest()}
    if file_hash is not None:
        out["file"] = file_hash.hexdigest()
    return out


# ---- cache ----


def _state_key(path: str | os.PathLike) -> tuple[str, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.path.realpath(path), st.st_size, st.st_mtime_ns


def _load_cache() -> dict:
    try:
        data = json.loads((cache_dir() / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or not isinstance(data.get("files"), dict):
        return {}
    return data["files"]


def cached(path: str | os.PathLike, kind: str) -> str | None:
    """A cached hash ("weights_sha256" or "file_sha256") for the file as it is now, or None. Costs one stat."""
    key = _state_key(path)
    if key is None:
        return None
    entry = _load_cache().get(key[0])
    if isinstance(entry, dict) and entry.get("size") == key[1] and entry.get("mtime_ns") == key[2]:
        value = entry.get(kind)
        return value if isinstance(value, str) else None
    return None


def remember(path: str | os.PathLike, **hashes: str) -> None:
    """Record hashes for the file's current (size, mtime). Cache write failures are ignored: it is only a cache."""
    key = _state_key(path)
    if key is None:
        return
    files = _load_cache()
    entry = files.pop(key[0], None)
    if not (isinstance(entry, dict) and entry.get("size") == key[1] and entry.get("mtime_ns") == key[2]):
        entry = {"size": key[1], "mtime_ns": key[2]}
    entry.update(hashes)
    files[key[0]] = entry  # re-inserted last: oldest entries are dropped first
    while len(files) > CACHE_MAX_ENTRIES:
        files.pop(next(iter(files)))
    text = json.dumps({"version": CACHE_VERSION, "files": files}, separators=(",", ":"))
    with contextlib.suppress(AtomicWriteFailed):
        write_text_atomic(cache_dir() / CACHE_FILE, text, parents=True, durable=False)  # a cache: no fsync
