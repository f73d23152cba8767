"""Bounds of the tunable schedules' numeric params (`data/params.json`), checked before any grid maths.

A Karras rule with rho 0.001 is a valid JSON number but overflows the grid (sigma_max ** 1000); the bounds
turn such params into a typed `ScheduleParamError` (and, in recipe validation, a pointer plus hint).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources

from iga_core.schedules.noise import ScheduleInputError


class ScheduleParamError(ScheduleInputError):
    """A schedule param is missing its number or lies outside the range the grid maths can take."""


@lru_cache(maxsize=1)
def param_bounds() -> dict[str, dict[str, dict]]:
    """{schedule id: {param name: bounds}} from data/params.json."""
    text = resources.files("iga_core.schedules").joinpath("data", "params.json").read_text(encoding="utf-8")
    return json.loads(text)["params"]


def param_problems(schedule_id: str, params: dict | None) -> list[tuple[str, str, str]]:
    """(param name, what is wrong, hint) for each param of `schedule_id` outside its bounds; unknown
    params and schedules without bounds are not judged here."""
    bounds = param_bounds().get(schedule_id, {})
    found = []
    for name, value in (params or {}).items():
        b = bounds.get(name)
        if b is None:
            continue
        why = _out_of_bounds(value, b)
        if why:
            found.append((name, f"{schedule_id} {name} {value!r} {why}", b["hint"]))
    return found


def check_params(schedule_id: str, params: dict | None) -> None:
    """Raise `ScheduleParamError` for the first param of `schedule_id` outside its bounds."""
    problems = param_problems(schedule_id, params)
    if problems:
        _, message, hint = problems[0]
        raise ScheduleParamError(message, hint)


def _out_of_bounds(value: object, b: dict) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "is not a number"
    if not math.isfinite(value):
        return "is not finite"
    if b.get("integer") and value != int(value):
        return "is not a whole number"
    if "above" in b and not value > b["above"]:
        return f"must be above {b['above']}"
    if "below" in b and not value < b["below"]:
        return f"must be below {b['below']}"
    if "min" in b and value < b["min"]:
        return f"is below {b['min']}"
    if "max" in b and value > b["max"]:
        return f"is above {b['max']}"
    return None
