"""The targets a benchmark checks (`targets.json`), and what this run found of them.

A benchmark calls `check(target_id, figure, ok)` where it prints a verdict; with `IGA_BENCH_RESULTS` set to a
file, the findings are appended to it as JSON lines when the benchmark exits, for `summary.py` to tabulate.
"""

from __future__ import annotations

import atexit
import json
import os
from pathlib import Path

TARGETS: dict[str, dict[str, str]] = json.loads(Path(__file__).with_name("targets.json").read_text("utf-8"))["targets"]
_found: list[dict] = []


def check(target_id: str, figure: str, ok: bool) -> str:
    """Record one target's figure and verdict; returns the verdict as printed ("met" / "NOT MET")."""
    if target_id not in TARGETS:
        raise KeyError(f"{target_id!r} is not in benchmarks/targets.json")
    _found.append({"id": target_id, "figure": figure, "met": bool(ok), "load": round(os.getloadavg()[0], 2)})
    return "met" if ok else "NOT MET"


@atexit.register
def _write() -> None:
    out = os.environ.get("IGA_BENCH_RESULTS")
    if out and _found:
        with open(out, "a", encoding="utf-8") as fh:
            fh.writelines(json.dumps(f) + "\n" for f in _found)
