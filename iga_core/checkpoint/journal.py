"""The in-place header write, made repairable after a power cut.

An in-place stamp overwrites the header (length prefix + JSON, up to the header's size) at the start of
the file. `kill -9` cannot tear that write, but a power cut can leave part of the new header on disk and
part of the old one: a file no reader opens. So the write is journaled:

1. the old header block is written to `.NAME.iga-journal` beside the file with its sha256, the sha256
   of the new block and the file size; the journal and its folder are fsynced;
2. the new block is written over the old one and fsynced;
3. the journal is deleted (no fsync needed: a journal that survives a crash after step 2 is recognised
   as done, because the file then holds the new block).

Steps 1 and 2 flush with `fdatasync` where the OS has it: it writes the data and the metadata needed to
read it back (a new file's size and blocks), which is all the repair needs, and skips the timestamps;
on ext4 and XFS an overwrite of existing blocks then costs no journal commit. The folder's fsync (the
journal's name) stays a full one.

`repair` (run with the file's write lock by every stamp, strip and sidecar write, and by `read_header`
when it finds a journal) looks at the file: the new block → the write finished, the journal goes; the old
block → it never started, the journal goes; anything else → it was torn, the old block is written back
(fsynced) and the journal goes. A journal that does not check out (torn itself: step 1 did not finish,
so the file was not touched yet) is deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from iga_core import untrusted_files
from iga_core.checkpoint.atomic import fsync_dir
from iga_core.errors import IgaIOError

JOURNAL_SUFFIX = ".iga-journal"
MAGIC = b"IGA-HEADER-JOURNAL 1\n"
_MAX_BLOCK = 100_000_000 + 8  # the header cap (safetensors_io.MAX_HEADER_SIZE) plus its length prefix


class JournalWriteFailed(IgaIOError):
    """The safety copy of the header could not be written; the file was not touched."""


def journal_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}{JOURNAL_SUFFIX}")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_block(fh, path: str | os.PathLike, old_block: bytes, new_block: bytes) -> None:
    """Overwrite `old_block` (the file's first bytes, as read) with `new_block` (the same length) through
    `fh` (open "r+b"), journaled as the module docstring says. OS errors propagate (the caller's
    `WriteFailed`); a journal that cannot be written raises `JournalWriteFailed` before the file is touched."""
    assert len(old_block) == len(new_block)
    journal = journal_path(path)
    size = os.fstat(fh.fileno()).st_size
    meta = {"file_size": size, "length": len(old_block), "old_sha256": _sha(old_block), "new_sha256": _sha(new_block)}
    try:
        fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
        try:
            _write_all(fd, MAGIC + json.dumps(meta).encode("ascii") + b"\n" + old_block)
            _flush_data(fd)
        finally:
            os.close(fd)
        fsync_dir(journal.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(journal)
        raise JournalWriteFailed(f"cannot write the header's safety copy {journal.name}: {exc.strerror or exc}",
                                 "the folder must be writable; or write a stamped copy elsewhere with --out") from None
    fh.seek(0)
    fh.write(new_block)
    fh.flush()
    _flush_data(fh.fileno())  # the same length over the same blocks: only data changes
    with contextlib.suppress(OSError):
        os.unlink(journal)


#: data plus what is needed to read it back (POSIX fdatasync); a full fsync where there is no fdatasync
_flush_data = getattr(os, "fdatasync", os.fsync)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read(journal: Path) -> tuple[dict, bytes] | None:
    """(meta, old block) of a journal that checks out, else None."""
    try:
        data = untrusted_files.read_bytes(journal, _MAX_BLOCK + 4096, what="header journal")
    except untrusted_files.FileInvalid:
        return None
    if not data.startswith(MAGIC):
        return None
    line, sep, old_block = data[len(MAGIC):].partition(b"\n")
    try:
        meta = json.loads(line)
    except ValueError:
        return None
    if (not sep or not isinstance(meta, dict) or meta.get("length") != len(old_block)
            or meta.get("old_sha256") != _sha(old_block) or not isinstance(meta.get("new_sha256"), str)
            or not isinstance(meta.get("file_size"), int)):  # fmt: skip
        return None
    return meta, old_block


def pending(path: str | os.PathLike) -> bool:
    """Whether an interrupted in-place write left a journal beside `path` (one stat)."""
    return os.path.lexists(journal_path(path))


def repair(path: str | os.PathLike) -> str | None:
    """Finish or undo an interrupted in-place header write of `path` (call it holding the file's write
    lock). Returns a sentence saying what was done, or None when there was nothing to do."""
    journal = journal_path(path)
    if not os.path.lexists(journal):
        return None
    found = _read(journal)
    if found is None:
        _unlink(journal)
        return f"removed {journal.name}: an incomplete safety copy (the file had not been touched yet)"
    meta, old_block = found
    try:
        with open(path, "r+b") as fh:
            if os.fstat(fh.fileno()).st_size != meta["file_size"]:
                _unlink(journal)
                return f"removed {journal.name}: it belongs to an earlier state of {Path(path).name}"
            current = fh.read(len(old_block))
            if _sha(current) == meta["new_sha256"]:
                outcome = "the interrupted stamp had finished"
            elif current == old_block:
                outcome = "the interrupted stamp had not started"
            else:
                fh.seek(0)
                fh.write(old_block)
                fh.flush()
                os.fsync(fh.fileno())
                outcome = "the header torn by an interrupted stamp was restored to the one before it"
    except OSError as exc:
        raise IgaIOError(f"cannot repair {Path(path).name} from {journal.name}: {exc.strerror or exc}",
                         "run `iga verify` on it with write access to the file and its folder") from None
    _unlink(journal)
    return f"{Path(path).name}: {outcome} ({journal.name} removed)"


def _unlink(journal: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(journal)
