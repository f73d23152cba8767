"""Content hashes of checkpoint files, streamed in large blocks and cached per file state.

`weights_sha256` is the sha256 of the tensor-data section only (everything after the safetensors header),
the definition behind ModelSpec's `hash_sha256` and kohya's addnet hash: stamping a recipe into the
header never changes it. Files without a safetensors header (`.ckpt`, `.pt`, ...) have no separate data
section, so their weights hash is the full-file hash. `file_sha256` is the full-file hash the WebUI shows
as "Model hash" (AutoV2 = its first 10 hex digits).

Results are cached in a small JSON file keyed by the real path and the file's identity (device, inode, size,
mtime_ns, ctime_ns): a same-size file swapped in, or a byte flipped with the mtime set back, has another
inode or ctime (which no user call can set), so it is hashed again; an unchanged multi-GB file is hashed once.
A result is remembered only for the identity of the file actually read, checked before and after reading.
The cache lives in `$IGA_CACHE_DIR`, else the user cache dir (`$XDG_CACHE_HOME/iga`, `~/.cache/iga`, or
`%LOCALAPPDATA%\\iga` on Windows). A missing or corrupt cache is simply rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
from collections.abc import Callable
from pathlib import Path

from iga_core import paths
from iga_core.checkpoint.atomic import AtomicWriteFailed, write_text_atomic
from iga_core.checkpoint.safetensors_io import (
    LENGTH_PREFIX,
    CheckpointUnreadable,
    is_safetensors_path,
    open_for_read,
    raw_header_from,
)
from iga_core.errors import IgaIOError
from iga_core.records import Record

BLOCK_SIZE = 16 * 1024 * 1024
CACHE_FILE = "hashes.json"
CACHE_VERSION = 2  # 2: entries keyed by the full file identity (1 had size and mtime only)
CACHE_MAX_ENTRIES = 2000  # a few hundred KB of JSON at most
IDENTITY_FIELDS = ("dev", "ino", "size", "mtime_ns", "ctime_ns")

#: progress(done_bytes, total_bytes), called after each block
Progress = Callable[[int, int], None]
#: copy(offset, length): copies that block of the file being hashed (`hash_range`)
Copier = Callable[[int, int], None]
#: sink(block, offset): one consumer of the blocks `_pump` reads
Sink = Callable[[memoryview, int], None]
#: (st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns): which file, in which state
Identity = tuple[int, int, int, int, int]


class FileChangedWhileHashing(IgaIOError):
    """The file was replaced or written while it was being hashed: the digest describes no file state."""


def identity_of(st: os.stat_result) -> Identity:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def file_identity(path: str | os.PathLike) -> Identity | None:
    """The identity of the file at `path` now (symlinks followed), or None when there is none."""
    try:
        return identity_of(os.stat(path))
    except OSError:
        return None


class Digests(Record, frozen=True):  # a record, not a dataclass: iga_core.records
    """What one pass over one file state gave: `identity` is that state (see `Identity`)."""

    weights_sha256: str
    file_sha256: str | None
    identity: Identity
    #: the tensor-index digest a stamp of this very file state recorded (None: not cached; the header's own
    #: `tensor_index_sha256` is the source of truth, this only spares recomputing it)
    tensor_index_sha256: str | None = None


def cache_dir() -> Path:
    return paths.cache_dir()


def weights_sha256(path: str | os.PathLike, progress: Progress | None = None, *, use_cache: bool = True) -> str:
    """sha256 (hex) of the tensor bytes after the header; of the whole file for non-safetensors files."""
    return digests(path, progress, want_file=False, use_cache=use_cache).weights_sha256


def file_sha256(path: str | os.PathLike, progress: Progress | None = None, *, use_cache: bool = True) -> str:
    """sha256 (hex) of the whole file, as A1111's "sha256" / AutoV2."""
    if use_cache and (hit := cached(path, "file_sha256")):
        return hit
    with open_for_read(path) as fh:
        return hash_file(fh, os.fspath(path), progress, want_file=True, want_weights=False).file_sha256


def file_and_weights_sha256(
    path: str | os.PathLike, progress: Progress | None = None, *, use_cache: bool = True
) -> tuple[str, str]:
    """Both hashes in one pass over the file: (file_sha256, weights_sha256)."""
    got = digests(path, progress, want_file=True, use_cache=use_cache)
    return got.file_sha256, got.weights_sha256


def digests(path: str | os.PathLike, progress: Progress | None = None, *, want_file: bool = True,
            use_cache: bool = True) -> Digests:
    """The weights hash (and with `want_file` the full-file hash) of the file at `path`, with the identity
    they belong to; from the cache when it holds them for the file's identity now."""
    with open_for_read(path) as fh:
        return digests_of(fh, os.fspath(path), progress, want_file=want_file, use_cache=use_cache)


def digests_of(fh, name: str, progress: Progress | None = None, *, want_file: bool = True,
               use_cache: bool = True, compute: bool = True) -> Digests | None:
    """`digests` of an open file: a caller holding the file (a stamp) gets the hashes of exactly what it
    holds, and `identity` to check that what it writes is still that file. `compute=False`: only from the
    cache (None when it has none: a stamp that rewrites the file then hashes while it copies)."""
    if use_cache and (hit := cached_digests(fh, name, want_file=want_file)) is not None:
        return hit
    return hash_file(fh, name, progress, want_file=want_file) if compute else None


def cached_digests(fh, name: str, *, want_file: bool = True) -> Digests | None:
    """The digests the cache holds for the open file's identity now, or None (then they are to be computed)."""
    ident = identity_of(os.fstat(fh.fileno()))
    entry = _entry_for(name, ident)
    weights = entry.get(_weights_kind(name))
    file_digest = entry.get("file_sha256")
    if isinstance(weights, str) and (not want_file or isinstance(file_digest, str)):
        index = entry.get("tensor_index_sha256")
        return Digests(weights, file_digest if isinstance(file_digest, str) else None, ident,
                       index if isinstance(index, str) else None)  # fmt: skip
    return None


def _weights_kind(name: str) -> str:
    return "weights_sha256" if is_safetensors_path(name) else "file_sha256"


def hash_file(fh, name: str, progress: Progress | None = None, *, want_file: bool,
              want_weights: bool = True, copy_to: Copier | None = None) -> Digests:
    """Hash an open file in one pass and remember the result for its identity, provided the file did not
    change while it was read (raises `FileChangedWhileHashing` when it did). `copy_to`: what copies each
    block of the data section as it is hashed, in the same pass (`hash_range`)."""
    weights_part = want_weights and is_safetensors_path(name)
    before = identity_of(os.fstat(fh.fileno()))
    skip = 0
    if weights_part:
        raw, _ = raw_header_from(fh, name)  # validates the bounds; the JSON itself is not needed here
        skip = LENGTH_PREFIX + len(raw)
    found = hash_range(fh, skip, want_file=want_file or not weights_part, progress=progress, name=name,
                       copy_to=copy_to)  # fmt: skip
    after = identity_of(os.fstat(fh.fileno()))
    if after != before:
        raise FileChangedWhileHashing(f"{name} changed while it was being hashed", "run the command again")
    result = {"file_sha256": found.get("file")} if (want_file or not weights_part) else {}
    result["weights_sha256"] = found["data"] if weights_part else found["file"]
    remember(name, identity=before, **{k: v for k, v in result.items() if v and (k != "weights_sha256" or weights_part)})
    return Digests(result["weights_sha256"], result.get("file_sha256"), before)


def autov2(file_digest: str) -> str:
    """The WebUI's short "Model hash": the first 10 hex digits of the full-file sha256."""
    return file_digest[:10]


#: A1111's old "model hash" (AutoV1; kohya's `ss_sd_model_hash`): sha256 of the 64 KiB at offset 1 MiB, first
#: 8 hex digits (A1111 v1.10.1 modules/sd_models.py:203-215 `model_hash`, kohya train_util.py `model_hash`)
AUTOV1_OFFSET = 0x100000
AUTOV1_LENGTH = 0x10000


def autov1(path: str | os.PathLike) -> str:
    """The old 8-hex A1111 model hash. A file shorter than 1 MiB hashes the empty read, as the host does
    (sha256 of nothing: "e3b0c442"). Cheap (one 64 KiB read), so never cached."""
    with open_for_read(path) as fh:
        return autov1_of(fh)


def autov1_of(fh) -> str:
    fh.seek(AUTOV1_OFFSET)
    return hashlib.sha256(fh.read(AUTOV1_LENGTH)).hexdigest()[:8]


def hash_range(
    source,
    data_start: int,
    *,
    want_file: bool = False,
    progress: Progress | None = None,
    block_size: int | None = None,
    name: str | None = None,
    copy_to: Copier | None = None,
) -> dict[str, str]:
    """Stream a file (a path, or an open binary file) once from its start; return {"data": sha256 of the
    bytes from data_start on, "file": full sha256 if wanted}. With `copy_to`, `copy_to(offset, length)` is
    called for each block from `data_start` on, in order, once it is read: a rewrite that needs the hashes
    copies each block while it is hashed (`iga_core.checkpoint.stamp`: from the page cache the read just
    filled, so the data is read from the disk once). Each digest and the copy work on a thread of their
    own while the next block is read (`_pump`): two digests on two cores where there are two."""
    block_size = block_size or BLOCK_SIZE
    if isinstance(source, (str, os.PathLike)):
        with open_for_read(source) as fh:
            return hash_range(fh, data_start, want_file=want_file, progress=progress, block_size=block_size,
                              name=os.fspath(source), copy_to=copy_to)  # fmt: skip
    fh = source
    data_hash = hashlib.sha256()
    file_hash = hashlib.sha256() if want_file else None
    try:
        total = os.fstat(fh.fileno()).st_size
        fh.seek(0)
        if data_start:
            head = fh.read(data_start)
            if file_hash is not None:
                file_hash.update(head)
        sinks = [_digest(data_hash)] if file_hash is None else [_digest(data_hash), _digest(file_hash)]
        copy = _copying(copy_to) if copy_to is not None else None
        _pump(fh, sinks, fh.tell(), total, progress, block_size, copy=copy)
    except _CopyFailed as exc:
        raise exc.error from None  # writing the copy failed: the caller's to report, not a read error
    except OSError as exc:
        raise CheckpointUnreadable(f"cannot read {name or fh.name}: {exc}", "check the disk and retry") from exc
    out = {"data": data_hash.hexdigest()}
    if file_hash is not None:
        out["file"] = file_hash.hexdigest()
    return out


#: blocks in flight at once in `_pump`: one being read while the digests work on the others
PIPELINE_DEPTH = 3
#: how far (in blocks) the copy may fall behind the reading: it reads the source itself (a kernel copy from
#: the page cache the reading just filled), so it holds no buffer; the bound keeps those pages in the cache
COPY_LAG = 16


class _CopyFailed(Exception):
    """Writing a copy failed (not reading): carries the OSError."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _digest(h) -> Sink:
    return lambda view, _offset: h.update(view)


def _copying(copy: Copier) -> Callable[[int, int], None]:
    def sink(offset: int, length: int) -> None:
        try:
            copy(offset, length)
        except OSError as exc:
            raise _CopyFailed(exc) from exc

    return sink


def _pump(fh, sinks: list[Sink], done: int, total: int, progress: Progress | None, block_size: int,
          copy: Callable[[int, int], None] | None = None) -> None:
    """Read `fh` from its position to its end in blocks and hand every block to each sink, in order, and
    `copy(offset, length)` each block once it is read. A file of one block is handled inline; a larger one
    runs each sink and the copy on a thread of their own (hashlib, copy_file_range and fsync release the
    GIL), `PIPELINE_DEPTH` blocks in flight for the digests, a buffer reused once both digests are done with
    it. The copy reads the source itself, so it holds no buffer and waits for nobody: its flushes to disk
    (`stamp._block_copier`) overlap the hashing instead of stalling the reads. Memory stays at the
    buffers' size."""
    size = max(1, min(block_size, total - done))
    if total - done <= block_size:
        buf = bytearray(size)  # a small file: no full-size buffer to zero, no threads to start
        while n := fh.readinto(buf):
            for sink in sinks:
                sink(memoryview(buf)[:n], done)
            if copy is not None:
                copy(done, n)
            done += n
            if progress is not None:
                progress(done, total)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    buffers = [bytearray(size) for _ in range(PIPELINE_DEPTH)]
    workers = [ThreadPoolExecutor(max_workers=1, thread_name_prefix="iga-hash") for _ in sinks]  # one each: in order
    copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iga-copy") if copy is not None else None
    in_flight: deque = deque()
    copies: deque = deque()
    try:
        for i in itertools.count():
            if len(in_flight) == PIPELINE_DEPTH:  # the oldest block's buffer is the one to fill next
                for job in in_flight.popleft():
                    job.result()
            while copies and (len(copies) >= COPY_LAG or copies[0].done()):
                copies.popleft().result()  # a failed copy stops the pass at once
            buf = buffers[i % PIPELINE_DEPTH]
            n = fh.readinto(buf)
            if not n:
                break
            view = memoryview(buf)[:n]
            in_flight.append([worker.submit(sink, view, done) for worker, sink in zip(workers, sinks, strict=True)])
            if copier is not None:
                copies.append(copier.submit(copy, done, n))
            done += n
            if progress is not None:
                progress(done, total)
        while in_flight:
            for job in in_flight.popleft():
                job.result()
        while copies:
            copies.popleft().result()
    finally:
        for worker in [*workers, *([copier] if copier is not None else [])]:
            worker.shutdown(wait=True, cancel_futures=True)


# ---- cache ----


def _load_cache() -> dict:
    try:
        data = json.loads((cache_dir() / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or not isinstance(data.get("files"), dict):
        return {}
    return data["files"]


def _matches(entry: object, ident: Identity) -> bool:
    return isinstance(entry, dict) and tuple(entry.get(k) for k in IDENTITY_FIELDS) == ident


def _entry_for(path: str | os.PathLike, ident: Identity) -> dict:
    entry = _load_cache().get(os.path.realpath(path))
    return entry if _matches(entry, ident) else {}


def cached(path: str | os.PathLike, kind: str) -> str | None:
    """A cached hash ("weights_sha256" or "file_sha256") for the file as it is now, or None. Costs one stat."""
    ident = file_identity(path)
    if ident is None:
        return None
    value = _entry_for(path, ident).get(kind)
    return value if isinstance(value, str) else None


def remember(path: str | os.PathLike, *, identity: Identity | None = None, **hashes: str) -> None:
    """Record hashes for `identity` (default: the file's identity now). Cache write failures are ignored:
    it is only a cache."""
    ident = identity if identity is not None else file_identity(path)
    if ident is None:
        return
    key = os.path.realpath(path)
    files = _load_cache()
    entry = files.pop(key, None)
    if not _matches(entry, ident):
        entry = dict(zip(IDENTITY_FIELDS, ident, strict=True))
    entry.update({kind: value for kind, value in hashes.items() if value})
    files[key] = entry  # re-inserted last: oldest entries are dropped first
    while len(files) > CACHE_MAX_ENTRIES:
        files.pop(next(iter(files)))
    text = json.dumps({"version": CACHE_VERSION, "files": files}, separators=(",", ":"))
    with contextlib.suppress(AtomicWriteFailed):
        write_text_atomic(cache_dir() / CACHE_FILE, text, parents=True, durable=False)  # a cache: no fsync
