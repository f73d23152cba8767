"""The CLI's progress bar for long file work (hashing, stamping), shared by every command family.

`progress_for(args, path, label)` gives a `(done, total)` callback, or None: a bar is drawn on stderr when the
command was given `--progress`, or, by default, when the file is large and stderr is a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

#: files at least this large get a progress bar on stderr (when stderr is a terminal, or with --progress)
PROGRESS_THRESHOLD = 256 * 1024 * 1024


def add_progress_option(p: argparse.ArgumentParser) -> None:
    """The `--progress/--no-progress` flag that `progress_for` reads."""
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: for large files, when stderr is a terminal)")  # fmt: skip


def format_size(n: float) -> str:
    """`n` bytes for people: 512 bytes, 1.50 KiB, ..., 6.46 GiB."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n} bytes"


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most ten times a second. Each redraw pads to the
    longest line drawn before, so a shorter line leaves no characters of a longer one ("212 MB/sB/s").
    Work in phases (a stamp hashes, then writes) calls `start_phase(label)` (`stamp.phase`): the bar ends
    the phase's line and labels the next one with what it measures."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.start = time.monotonic()
        self.last = 0.0
        self.drawn = False
        self.width = 0  # of the longest line drawn in this phase
        self.total_seen = 0
        self.last_done = 0

    def start_phase(self, label: str) -> None:
        self._end_line()
        self.label = label
        self.start = time.monotonic()
        self.last = 0.0
        self.total_seen = self.last_done = 0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        if self.drawn and (total != self.total_seen or done < self.last_done):  # a phase nobody announced
            self._end_line()
            self.start = now
        self.total_seen, self.last_done, self.last = total, done, now
        frac = done / total if total else 1.0
        rate = done / max(now - self.start, 1e-6) / 1e6
        bar = "#" * int(frac * 30)
        line = f"{self.label} [{bar:<30}] {frac:6.1%} {format_size(done)}/{format_size(total)} {rate:,.0f} MB/s"
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()
        self.width = max(self.width, len(line))
        self.drawn = True

    def _end_line(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self.drawn = False
        self.width = 0

    def close(self) -> None:
        self._end_line()


@contextlib.contextmanager
def progress_for(args: argparse.Namespace, path: Path, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback (or None) for work on `path`, following the command's --progress flag."""
    wanted = getattr(args, "progress", None)
    if wanted is None:
        try:
            big = Path(path).stat().st_size >= PROGRESS_THRESHOLD
        except OSError:
            big = False
        wanted = big and sys.stderr.isatty()
    bar = ProgressBar(label) if wanted else None
    try:
        yield bar
    finally:
        if bar is not None:
            bar.close()
