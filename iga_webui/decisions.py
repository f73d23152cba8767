"""Decision-log glue: every block, warning, override and extension error appended to
`iga_core.decision_log.DecisionLog` (JSON Lines, size-capped and rotated), behind the `iga_decision_log`
setting. Where: `iga_core.paths.decision_log_path()` (`$IGA_DECISION_LOG`, else `decisions.jsonl` in IGA's
data folder) -- the same lookup `iga audit export` uses, so the CLI reads what the WebUI wrote. A failure to log is shown but never stops a generation."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from iga_core import paths
from iga_core.decision_log import DecisionLog, entry_from_record
from iga_webui import settings

log = logging.getLogger("iga")


def log_path() -> Path:
    return paths.decision_log_path()


def enabled() -> bool:
    return bool(settings.get("iga_decision_log"))


def append(p: Any, record: dict | None, output: str | None = None) -> bool:
    """Log this generation's decision (if it is one worth logging). True when an entry was written."""
    if record is None or not enabled() or getattr(p, "iga_logged", False):
        return False
    try:
        entry = entry_from_record(record, output=output)
        if entry is None:
            return False
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        DecisionLog(path).append(entry)
    except Exception as exc:  # logging must never cost the user their image
        p.comment(f"[IGA] the decision log could not be written ({type(exc).__name__}: {exc})")
        log.exception("[IGA] decision log")
        return False
    p.iga_logged = True
    return True


def recent(n: int = 5) -> list[dict]:
    """The last `n` decisions, newest last (for the panel)."""
    path = log_path()
    if not path.exists():
        return []
    return DecisionLog(path).tail(n).entries
