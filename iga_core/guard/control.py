"""Control units a host will run (ControlNet, T2I-Adapter, IP-Adapter), as the guard sees them.

`ControlUnit` is host-free: the WebUI glue builds it from the ControlNet script's own arguments (A1111's
sd-webui-controlnet and Forge's integrated ControlNet both keep one `ControlNetUnit` per unit in the
script's slice of `p.script_args`; iga_webui.host.control_units cites the lines), the API and the CLI from
JSON. Which kind a unit is comes from its model and preprocessor names (data/control_kinds.json).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from iga_core.errors import IgaInvalid

KINDS = ("controlnet", "t2i_adapter", "ip_adapter")
_HASH_SUFFIX = re.compile(r"\s*\[[0-9a-fA-F]{6,}\]\s*$")  # the hosts list models as "name [hash]"
MAX_NAME = 500


class ControlUnitInvalid(IgaInvalid):
    """A control unit handed to the guard has a wrong key, type or value."""


@lru_cache(maxsize=1)
def kinds_data() -> dict:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "control_kinds.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def kind_label(kind: str) -> str:
    return next((k["label"] for k in kinds_data()["kinds"] if k["kind"] == kind), kind)


def kind_of(model: str | None, preprocessor: str | None) -> str:
    """The adapter kind a unit with these names runs (data/control_kinds.json)."""
    names = " ".join(n for n in (model, preprocessor) if n).casefold()
    for entry in kinds_data()["kinds"]:
        if any(p in names for p in entry["patterns"]):
            return entry["kind"]
    return kinds_data()["default"]


def _name(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ControlUnitInvalid(f"control unit {what} must be text, got {value!r:.60}", f"pass the {what} name")
    text = _HASH_SUFFIX.sub("", value.strip())[:MAX_NAME]
    return None if text.casefold() in ("", "none") else text


def _fraction(value: Any, what: str, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ControlUnitInvalid(f"control unit {what} must be a number, got {value!r:.60}", f"pass {what} as a number")
    if not 0 <= value <= high:
        raise ControlUnitInvalid(f"control unit {what} {value} is outside 0..{high:g}", f"pass {what} from 0 to {high:g}")
    return float(value)


@dataclass(frozen=True)
class ControlUnit:
    """One enabled control unit: its kind, model and preprocessor names (the host's " [hash]" cut off, "None"
    read as no name), weight, and guidance start / end (fractions of the sampling steps)."""

    kind: str
    model: str | None = None
    preprocessor: str | None = None
    weight: float | None = None
    guidance_start: float | None = None
    guidance_end: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ControlUnitInvalid(f"unknown control unit kind {self.kind!r}", f"use one of: {', '.join(KINDS)}")

    FIELDS = ("kind", "model", "preprocessor", "weight", "guidance_start", "guidance_end")

    @classmethod
    def from_names(cls, model: Any = None, preprocessor: Any = None, weight: Any = None,
                   guidance_start: Any = None, guidance_end: Any = None, kind: Any = None) -> ControlUnit:
        """A unit from host or JSON values; the kind from the names when not given."""
        model, preprocessor = _name(model, "model"), _name(preprocessor, "preprocessor")
        return cls(kind=kind if kind is not None else kind_of(model, preprocessor), model=model,
                   preprocessor=preprocessor, weight=_fraction(weight, "weight", 2.0),
                   guidance_start=_fraction(guidance_start, "guidance_start", 1.0),
                   guidance_end=_fraction(guidance_end, "guidance_end", 1.0))

    @classmethod
    def from_dict(cls, d: Any) -> ControlUnit:
        if isinstance(d, ControlUnit):
            return d
        if not isinstance(d, dict):
            raise ControlUnitInvalid("a control unit must be an object",
                                     'pass {"model": "control_v11p_sd15_canny", "weight": 1.0}')
        unknown = sorted(set(d) - set(cls.FIELDS))
        if unknown:
            raise ControlUnitInvalid(f"unknown control unit field(s): {', '.join(map(str, unknown))}",
                                     f"use only: {', '.join(cls.FIELDS)}")
        return cls.from_names(**d)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.FIELDS if getattr(self, k) is not None}

    def label(self) -> str:
        names = ", ".join(n for n in (self.model, self.preprocessor) if n)
        return f"{kind_label(self.kind)} ({names})" if names else kind_label(self.kind)


def control_units(value: Any) -> tuple[ControlUnit, ...] | None:
    """A request's `control` (a list of units as objects or dicts) as a tuple; None stays None (not known)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise ControlUnitInvalid("control must be a list of units", 'pass [{"model": "...", "weight": 1.0}]')
    units = tuple(ControlUnit.from_dict(u) for u in value)
    if len(units) > kinds_data()["max_units"]:
        raise ControlUnitInvalid(f"control lists {len(units)} units, more than {kinds_data()['max_units']}",
                                 "pass the enabled units only")
    return units
