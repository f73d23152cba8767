"""The decision log: every block, warning and override, one JSON object per line, for later audit.

Appending is cheap and safe with several WebUI workers writing at once: each entry is one `os.write` of
one line to a file opened with O_APPEND, so lines never interleave. When the file would grow past
`max_bytes` it is rotated (`decisions.jsonl` -> `.1` -> `.2` ..., `backups` kept) under an advisory lock,
re-checked after the lock is taken so two writers never rotate twice. Reading skips lines that are not
valid entries (a crash mid-write, a hand edit) and counts them instead of failing.

Entry (version 1), usually made from an audit record with `entry_from_record`:

    {"v": 1, "time": "2026-11-26T15:30:00Z", "kind": "block" | "warn" | "override" | "audit" | "error",
     "mode": "standard", "outcome": "blocked", "summary": "blocked by IGA-H001 (sampler)",
     "checkpoint": {"name": ..., "weights_sha256": ...}, "recipe": {"digest": ..., "source": ...} | null,
     "preset": ..., "request": {"sampler": ..., "steps": ..., ...},
     "findings": [{"rule_id", "severity", "field", "expected", "actual", "blocking", "overridden"}],
     "overrides": [{"rule_id", "reason"}], "output": "outputs/txt2img-images/00001-5.png" | null}
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from iga_core import untrusted_files
from iga_core.errors import ExitCode, IgaInvalid, IgaIOError

LOG_VERSION = 1
LOG_FILENAME = "decisions.jsonl"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_BACKUPS = 3
MAX_ENTRY_BYTES = 256 * 1024
KINDS = ("block", "warn", "override", "audit", "error")
#: audit outcome -> log kind; outcomes missing here (ok, off, norecipe, unchecked) are not logged
KIND_OF_OUTCOME = {"blocked": "block", "warn": "warn", "override": "override", "audit": "audit", "error": "error"}
CSV_COLUMNS = ("time", "kind", "mode", "outcome", "checkpoint", "weights_sha256", "recipe_digest", "recipe_source",
               "preset", "sampler", "schedule", "steps", "cfg", "width", "height", "rules", "blocking",
               "overridden", "overrides", "summary", "output")
_RELATIVE = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class DecisionLogInvalid(IgaInvalid):
    """An entry cannot be logged, or an option (such as --since) cannot be understood."""


class SinceInvalid(DecisionLogInvalid):
    """A `--since` that is neither a date nor an age: the command line is wrong."""

    exit_code = ExitCode.USAGE


class DecisionLogIOError(IgaIOError):
    """The log file cannot be read or written."""


@dataclass(frozen=True)
class LogRead:
    entries: list[dict]
    skipped: int  # lines that were not valid entries


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """An ISO date or date-time (naive = UTC) as an aware datetime; raises ValueError."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """`--since`: an ISO date / date-time, or a relative age such as 30m, 12h, 7d, 2w."""
    m = _RELATIVE.match(text)
    if m:
        return (now or datetime.now(timezone.utc)) - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        return parse_time(text)
    except ValueError:
        raise SinceInvalid(
            f"--since {text!r} is neither a date nor an age",
            "use an ISO date such as 2026-11-01 or 2026-11-01T12:00:00Z, or an age such as 30m, 12h, 7d, 2w",
        ) from None


def entry_from_record(record: dict, *, output: str | os.PathLike | None = None, kind: str | None = None) -> dict | None:
    """The log entry for an image's audit record, or None when there is nothing to log (the request was
    inside the recipe, the guard was off, or the checkpoint has no recipe)."""
    guard = record["guard"]
    kind = kind or KIND_OF_OUTCOME.get(guard["outcome"])
    if kind is None:
        return None
    return {
        "v": LOG_VERSION, "time": record.get("timestamp") or _utc_text(datetime.now(timezone.utc)), "kind": kind,
        "mode": guard["mode"], "outcome": guard["outcome"], "summary": guard.get("summary", ""),
        "checkpoint": record.get("checkpoint"), "recipe": record.get("recipe"), "preset": record.get("preset"),
        "request": record.get("params", {}), "findings": guard.get("findings", []),
        "overrides": guard.get("overrides", []), "output": os.fspath(output) if output is not None else None,
        "host": record.get("host"), "failure": record.get("failure"),
    }


def _encode(entry: dict) -> bytes:
    if not isinstance(entry, dict):
        raise DecisionLogInvalid(f"a log entry must be a dict, not {type(entry).__name__}",
                                 "build entries with entry_from_record(record)")
    entry = {"v": LOG_VERSION, **entry}
    entry.setdefault("time", _utc_text(datetime.now(timezone.utc)))
    if entry.get("kind") not in KINDS:
        raise DecisionLogInvalid(f"log entry kind {entry.get('kind')!r} is not one of {', '.join(KINDS)}",
                                 "log only blocks, warnings, overrides, audit-mode passes and failures")
    try:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise DecisionLogInvalid(f"log entry is not plain JSON: {exc}",
                                 "entries hold only strings, finite numbers, booleans, null, lists and dicts") from exc
    if len(line) > MAX_ENTRY_BYTES:
        raise DecisionLogInvalid(f"log entry is {len(line)} bytes, more than {MAX_ENTRY_BYTES}",
                                 "log the audit record's summary fields, not whole images or recipes")
    return line + b"\n"


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock on a sidecar file (POSIX); elsewhere rotation relies on re-checking."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; os.replace of an open file fails there and is retried later
        yield
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class DecisionLog:
    """A JSON Lines log at `path`, rotated past `max_bytes`, keeping `backups` older files."""

    def __init__(self, path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS):
        if max_bytes < 1024 or backups < 0:
            raise DecisionLogInvalid(f"max_bytes {max_bytes} / backups {backups} out of range",
                                     "use max_bytes of at least 1024 and backups of 0 or more")
        self.path = Path(path)
        self.max_bytes = int(max_bytes)
        self.backups = int(backups)

    # ------------------------------------------------------------------------------------------ writing

    def files(self) -> list[Path]:
        """Existing log files, oldest first."""
        older = [self.path.with_name(f"{self.path.name}.{i}") for i in range(self.backups, 0, -1)]
        return [p for p in [*older, self.path] if p.exists()]

    def append(self, entry: dict) -> None:
        """Add one entry (a dict from `entry_from_record`, or any dict with a valid "kind")."""
        line = _encode(entry)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = self._open()
            try:
                size = os.fstat(fd).st_size
                if size and size + len(line) > self.max_bytes:
                    os.close(fd)
                    fd = -1
                    self._rotate(len(line))
                    fd = self._open()
                    size = os.fstat(fd).st_size
                if size and hasattr(os, "pread") and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a crash left a partial line: do not glue ours onto it
                self._write_all(fd, line)
            finally:
                if fd >= 0:
                    os.close(fd)
        except OSError as exc:
            raise DecisionLogIOError(f"cannot write the decision log {self.path}: {exc.strerror or exc}",
                                     "check free space and permissions, or turn the decision log off") from exc

    def _open(self) -> int:
        # read-write so the torn-line check can pread; O_APPEND still puts every write at the end
        return os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        written = os.write(fd, data)  # one write: O_APPEND keeps concurrent lines whole
        while written < len(data):  # only on a short write (disk nearly full); finish the line
            written += os.write(fd, data[written:])

    def _rotate(self, incoming: int) -> None:
        with _locked(self.path.with_name(self.path.name + ".lock")):
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                return
            if size + incoming <= self.max_bytes:
                return  # another writer rotated while we waited for the lock
            if self.backups == 0:
                os.unlink(self.path)  # no backups wanted: start over
                return
            for i in range(self.backups - 1, 0, -1):
                src = self.path.with_name(f"{self.path.name}.{i}")
                if src.exists():
                    os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    # ------------------------------------------------------------------------------------------ reading

    def read(self, since: datetime | str | None = None) -> LogRead:
        """All entries, oldest first, from the backups and the current file; `since` keeps entries at or
        after that time (a datetime, or text for `parse_since`). Bad lines are skipped and counted."""
        if isinstance(since, str):
            since = parse_since(since)
        elif since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        entries: list[dict] = []
        skipped = 0
        for path in self.files():
            try:
                fh = untrusted_files.open_regular(path, what="decision log")  # a FIFO or device never blocks
            except untrusted_files.FileUnreadable as exc:
                raise DecisionLogIOError(exc.message, exc.hint) from None
            with fh:
                while raw := fh.readline(MAX_ENTRY_BYTES + 2):
                    if not raw.strip():
                        continue
                    entry = self._decode(raw)
                    if entry is None:
                        skipped += 1
                        if not raw.endswith(b"\n"):  # an over-long line: skip the rest of it
                            while (rest := fh.readline(MAX_ENTRY_BYTES)) and not rest.endswith(b"\n"):
                                pass
                        continue
                    if since is None or entry["_time"] >= since:
                        entries.append(entry)
        for entry in entries:
            del entry["_time"]
        return LogRead(entries=entries, skipped=skipped)

    @staticmethod
    def _decode(raw: bytes) -> dict | None:
        if len(raw) > MAX_ENTRY_BYTES + 1 or not raw.endswith(b"\n"):
            return None
        try:
            entry = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("time"), str) or entry.get("kind") not in KINDS:
            return None
        try:
            entry["_time"] = parse_time(entry["time"])
        except ValueError:
            return None
        return entry

    def tail(self, n: int = 10) -> LogRead:
        got = self.read()
        return LogRead(entries=got.entries[-n:] if n > 0 else [], skipped=got.skipped)

    def export(self, fmt: str = "json", since: datetime | str | None = None) -> str:
        """The entries as a JSON array or as CSV (one row per entry; see CSV_COLUMNS)."""
        if fmt not in ("json", "csv"):
            raise DecisionLogInvalid(f"export format {fmt!r} is not json or csv", "use json or csv")
        return export_entries(self.read(since).entries, fmt)


# ---------------------------------------------------------------------------------------------- export


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        return f"{value:g}" if isinstance(value, float) else str(value)
    # a cell starting with = + - @ is a formula in spreadsheets: keep user text (names, reasons) inert
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_row(entry: dict) -> dict[str, str]:
    request = entry.get("request") or {}
    checkpoint = entry.get("checkpoint") or {}
    ran = entry.get("recipe") or {}  # the entry's recipe part: digest, source
    findings = entry.get("findings") or []
    row = {
        "time": entry.get("time"), "kind": entry.get("kind"), "mode": entry.get("mode"),
        "outcome": entry.get("outcome"), "checkpoint": checkpoint.get("name"),
        "weights_sha256": checkpoint.get("weights_sha256"), "recipe_digest": ran.get("digest"),
        "recipe_source": ran.get("source"), "preset": entry.get("preset"),
        **{k: request.get(k) for k in ("sampler", "schedule", "steps", "cfg", "width", "height")},
        "rules": " ".join(f.get("rule_id", "?") for f in findings),
        "blocking": " ".join(f.get("rule_id", "?") for f in findings if f.get("blocking")),
        "overridden": " ".join(f.get("rule_id", "?") for f in findings if f.get("overridden")),
        "overrides": "; ".join(f"{o.get('rule_id')}: {o.get('reason') or ''}".rstrip(": ")
                               for o in entry.get("overrides") or []),
        "summary": entry.get("summary"), "output": entry.get("output"),
    }
    return {k: _cell(row[k]) for k in CSV_COLUMNS}


def export_entries(entries: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow(csv_row(entry))
    return buf.getvalue()
