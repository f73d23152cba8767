"""One advisory lock per checkpoint file, held by everything that writes it (stamp, strip, sidecar, extract,
the repair of an interrupted header write), so two writers never interleave: the second waits, or gives
up after `DEFAULT_WAIT_S` with a message saying who holds the file. Readers take no lock (a rewrite is an
atomic rename; an in-place header write is journaled, `iga_core.checkpoint.journal`).

The lock is `flock` on `.NAME.iga-lock` beside the file (a file that may not exist yet, for a copy), which
the holder deletes before it unlocks; a waiter that then gets the lock on the deleted file sees that the
path no longer names it and takes the lock again on the new one. A killed holder's lock is released by
the kernel, so a crash never leaves the file locked. Windows has no `flock`: `msvcrt.locking` on the lock
file's first byte, and the file is left in place (an open file cannot be deleted there).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from iga_core.errors import IgaIOError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = ".iga-lock"
DEFAULT_WAIT_S = 120.0  # a full rewrite of a 6 GB SDXL file takes about 20 s on a slow disk
_POLL_S = 0.05


class FileBusy(IgaIOError):
    """Another iga process is writing this file and did not finish in time."""


class LockUnavailable(IgaIOError):
    """The lock file beside the checkpoint cannot be created (read-only folder, permissions)."""


def lock_path(target: str | os.PathLike) -> Path:
    target = Path(target)
    return target.with_name(f".{target.name}{LOCK_SUFFIX}")


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except (BlockingIOError, PermissionError):  # held by someone else (EAGAIN; msvcrt says EACCES)
        return False
    return True


def _release(fd: int, path: Path) -> None:
    try:
        if fcntl is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)  # before unlocking: a waiter then sees the path no longer names its file
        else:  # pragma: no cover - Windows
            import msvcrt

            with contextlib.suppress(OSError):
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    finally:
        os.close(fd)


def _still_named(fd: int, path: Path) -> bool:
    try:
        st, mine = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


@contextlib.contextmanager
def held(target: str | os.PathLike, *, wait_s: float = DEFAULT_WAIT_S,
         on_wait: Callable[[], None] | None = None) -> Iterator[Path]:
    """Hold the write lock of `target` for the block (yields the lock file's path). Waits up to `wait_s`
    seconds for another holder, calling `on_wait()` once when it starts to wait; then raises `FileBusy`."""
    path = lock_path(target)
    deadline = time.monotonic() + wait_s
    waiting = False
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise LockUnavailable(f"cannot create the lock file {path}: {exc.strerror or exc}",
                                  "iga writes small helper files beside the checkpoint: the folder must be "
                                  "writable (or write a copy elsewhere with --out)") from None  # fmt: skip
        if _try_lock(fd):
            if fcntl is None or _still_named(fd, path):
                break
            os.close(fd)  # we locked a lock file its holder had just deleted: take the new one
            continue
        os.close(fd)
        if not waiting:
            waiting = True
            if on_wait is not None:
                on_wait()
        if time.monotonic() >= deadline:
            raise FileBusy(f"another iga process is writing {Path(target).name} (it holds {path.name})",
                           "wait for that stamp to finish and run the command again")  # fmt: skip
        time.sleep(_POLL_S)
    try:
        yield path
    finally:
        _release(fd, path)
