"""Crash-safe file replacement, the one way iga writes a file it may be asked to read back.

Every write goes to a temp file in the target's folder (same filesystem, so the rename is atomic), is
fsynced, then renamed over the target with `os.replace`; the folder is fsynced so the rename survives a power
cut. A crash, a full disk or Ctrl-C leaves the old file or the new one, never half of one, and no temp file.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from iga_core.errors import IgaIOError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without loading typing (tests/test_cli_imports.py)
if TYPE_CHECKING:
    from typing import IO, Any

TEMP_SUFFIX = ".iga-tmp"
NEW_FILE_MODE = 0o644  # mkstemp creates 0600; a written recipe or image should be readable like any other file


class AtomicWriteFailed(IgaIOError):
    """The temp file could not be created, written or renamed over the target."""


def dumps_pretty(value: Any) -> str:
    """The readable JSON form iga writes: 2-space indent, UTF-8, trailing newline."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


@contextlib.contextmanager
def temp_file_beside(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """Yield `(fd, temp_path)` for a new temp file in `path`'s folder; the caller owns (and closes) the fd.
    If the block raises, the temp file is removed; on success the block has renamed it away (`commit`)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = _create_temp(folder, f".{target.name}.")
    try:
        yield fd, tmp
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


#: how `temp_file_beside` names its files: 8 random characters (mkstemp's alphabet) between prefix and suffix
_TEMP_RANDOM_LEN = 8
_TEMP_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_"
_TEMP_SET = frozenset(_TEMP_ALPHABET)


def _create_temp(folder: Path, prefix: str) -> tuple[int, str]:
    """`tempfile.mkstemp(dir=folder, prefix=prefix, suffix=TEMP_SUFFIX)`, the same way (a new file, created
    exclusively, mode 0600, a random name tried again on a clash) without importing tempfile, which loads
    shutil and random: a command that writes one small file should not pay for them."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = "".join(_TEMP_ALPHABET[b % len(_TEMP_ALPHABET)] for b in os.urandom(_TEMP_RANDOM_LEN))
        tmp = os.path.join(folder, f"{prefix}{name}{TEMP_SUFFIX}")
        try:
            return os.open(tmp, flags, 0o600), os.path.abspath(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp file name in {folder}")


def stale_temps(path: str | os.PathLike) -> list[Path]:
    """The temp files `temp_file_beside(path)` created and nothing removed: a process killed mid-write
    (kill -9, power cut) leaves its `.NAME.xxxxxxxx.iga-tmp`, up to a checkpoint's size. Only call this
    holding the file's write lock (`iga_core.checkpoint.locks`), when no live writer can own one."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    prefix = f".{target.name}."
    size = len(prefix) + _TEMP_RANDOM_LEN + len(TEMP_SUFFIX)

    def ours(name: str) -> bool:  # prefix, 8 characters of the alphabet, suffix (no regex to compile per file)
        return (len(name) == size and name.startswith(prefix) and name.endswith(TEMP_SUFFIX)
                and set(name[len(prefix):len(prefix) + _TEMP_RANDOM_LEN]) <= _TEMP_SET)  # fmt: skip

    try:
        with os.scandir(folder) as entries:
            return [folder / e.name for e in entries if ours(e.name) and e.is_file(follow_symlinks=False)]
    except OSError:
        return []


def remove_stale_temps(path: str | os.PathLike) -> list[tuple[Path, int]]:
    """Delete `stale_temps(path)`; returns (path, size) of each one removed."""
    removed = []
    for temp in stale_temps(path):
        with contextlib.suppress(OSError):
            size = temp.stat().st_size
            temp.unlink()
            removed.append((temp, size))
    return removed


def commit(tmp: str, target: str | os.PathLike, mode: int | None = None, *, durable: bool = True) -> None:
    """Give the fsynced temp file `mode`, rename it over `target` and (`durable`) make the rename durable."""
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, target)
    if durable:
        fsync_dir(Path(target).parent)


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename in `folder` durable (POSIX); not possible, nor needed, on Windows."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        dfd = os.open(folder if str(folder) else ".", os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def write_atomic(path: str | os.PathLike, write: Callable[[IO[bytes]], Any], *, parents: bool = False,
                 durable: bool = True) -> Path:
    """Replace `path` with what `write(fh)` writes to a binary file handle; returns the path.

    An existing file keeps its permission bits; a new one gets `NEW_FILE_MODE`. `parents=True` creates missing
    folders (for iga's own data folders; a user's output path should exist). `durable=False` skips the
    fsyncs, for caches: still never half a file, but a power cut may lose the write (it costs a recompute).
    OS failures raise `AtomicWriteFailed` with the target unchanged."""
    target = Path(path)
    try:
        if parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        with temp_file_beside(target) as (fd, tmp):
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                if durable:
                    os.fsync(fh.fileno())
            commit(tmp, target, _mode_for(target), durable=durable)
    except OSError as exc:
        raise AtomicWriteFailed(f"cannot write {target}: {exc.strerror or exc}",
                                "check the folder exists, is writable and has free space") from exc  # fmt: skip
    return target


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, parents: bool = False, durable: bool = True) -> Path:
    """Replace `path` with `data` atomically."""
    return write_atomic(path, lambda fh: fh.write(data), parents=parents, durable=durable)


def write_text_atomic(path: str | os.PathLike, text: str, *, parents: bool = False, durable: bool = True) -> Path:
    """Replace `path` with `text` (UTF-8) atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"), parents=parents, durable=durable)


def write_json_atomic(path: str | os.PathLike, value: Any, *, parents: bool = False) -> Path:
    """Replace `path` with `value` as pretty JSON (`dumps_pretty`) atomically."""
    return write_text_atomic(path, dumps_pretty(value), parents=parents)


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return NEW_FILE_MODE
