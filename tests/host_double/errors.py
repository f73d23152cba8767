"""Mirror of modules/errors.py (A 38-95; F same): `report` writes to the console and keeps a record, it
never aborts. The double keeps the reports in `REPORTS` so tests can see what a host would have logged."""

from __future__ import annotations

import traceback

REPORTS: list[str] = []


def report(message: str, *, exc_info: bool = False) -> None:
    text = message
    if exc_info:
        text += "\n" + traceback.format_exc()
    REPORTS.append(text)


def display(e: Exception, task: str, *, full_traceback: bool = False) -> None:
    REPORTS.append(f"{task}: {type(e).__name__}: {e}")


def display_once(e: Exception, task: str) -> None:
    display(e, task)
