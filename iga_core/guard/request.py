"""What the guard is asked about (`GuardRequest`) and how strictly it answers (`GuardPolicy`).

Both are plain frozen dataclasses so they can be logged, compared and rebuilt from JSON (API payloads,
audit records) without any host types. `from_dict` refuses unknown keys and wrong types with a typed
error instead of guessing, because a silently dropped field would be a field the guard never checked.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from iga_core.errors import IgaInvalid

MODES = ("strict", "standard", "audit", "off")

#: stable rule ids: IGA-H… hard, IGA-S… soft, IGA-I… info (request rules); IGA-M… composition; IGA-C… auto-configure
RULE_ID_PATTERN = re.compile(r"^IGA-[HSIMC]\d{3}$")
#: longest name accepted (names are memoised; a hostile API caller must not fill memory with huge ones)
MAX_NAME_LENGTH = 1024
#: most rule ids a policy may name (there are fewer rules than this) and the longest reason kept for one
MAX_OVERRIDES = 64
MAX_REASON_LENGTH = 2000


class GuardRequestInvalid(IgaInvalid):
    """A request or policy handed to the guard has a wrong key, type or value."""


def _check_number(name: str, value: Any, *, integer: bool, low: float | None = None) -> None:
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type:
        kind = "an integer" if integer else "a number"
        raise GuardRequestInvalid(f"{name} must be {kind}, got {value!r}", f"pass {name} as {kind}")
    if not math.isfinite(value):
        raise GuardRequestInvalid(f"{name} must be finite, got {value!r}", f"pass a finite {name}")
    if low is not None and value < low:
        raise GuardRequestInvalid(f"{name} must be at least {low:g}, got {value!r}", f"pass {name} ≥ {low:g}")


@dataclass(frozen=True)
class GuardRequest:
    """The generation parameters a host is about to use; `None` means "not known", which is never checked."""

    sampler: str | None = None
    schedule: str | None = None
    steps: int | None = None
    cfg: float | None = None
    distilled_cfg: float | None = None
    vae: str | None = None
    clip_skip: int | None = None
    width: int | None = None
    height: int | None = None
    prediction_type: str | None = None
    denoising_strength: float | None = None

    def __post_init__(self) -> None:
        for name in ("sampler", "schedule", "vae", "prediction_type"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise GuardRequestInvalid(f"{name} must be a string, got {value!r:.80}", f"pass {name} as text")
            if value is not None and len(value) > MAX_NAME_LENGTH:
                raise GuardRequestInvalid(f"{name} is {len(value)} characters long",
                                          f"pass a {name} name of at most {MAX_NAME_LENGTH} characters")
        for name, low in (("steps", 1), ("clip_skip", 1), ("width", 1), ("height", 1)):
            if getattr(self, name) is not None:
                _check_number(name, getattr(self, name), integer=True, low=low)
        for name in ("cfg", "distilled_cfg"):
            if getattr(self, name) is not None:
                _check_number(name, getattr(self, name), integer=False)
        if self.denoising_strength is not None:
            _check_number("denoising_strength", self.denoising_strength, integer=False, low=0)
            if self.denoising_strength > 1:
                raise GuardRequestInvalid(
                    f"denoising_strength must be between 0 and 1, got {self.denoising_strength!r}",
                    "pass a strength between 0 and 1",
                )

    @classmethod
    def from_dict(cls, d: dict) -> GuardRequest:
        if not isinstance(d, dict):
            raise GuardRequestInvalid(f"a guard request must be a JSON object, got {type(d).__name__}",
                                      "pass an object such as {\"sampler\": \"Euler\", \"steps\": 4}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise GuardRequestInvalid(f"unknown guard request field(s): {', '.join(map(str, unknown))}",
                                      f"use only: {', '.join(sorted(known))}")
        return cls(**d)

    def to_dict(self) -> dict:
        """Only the fields that are set, so audit records stay short."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class GuardPolicy:
    """How findings turn into a decision.

    strict: hard and soft findings block; a soft one passes when its rule id is in `overrides`.
    standard: hard findings block; soft ones warn. audit: nothing blocks, everything is recorded.
    off: no rules run. A hard finding is never lifted by an override, only by the mode.
    """

    mode: str = "standard"
    overrides: frozenset[str] = frozenset()
    override_reasons: dict = field(default_factory=dict, hash=False, compare=True)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise GuardRequestInvalid(f"unknown guard mode {self.mode!r}", f"use one of: {', '.join(MODES)}")
        if isinstance(self.overrides, str) or not all(isinstance(o, str) for o in self.overrides):
            raise GuardRequestInvalid("overrides must be a collection of rule ids",
                                      "pass e.g. [\"IGA-S002\"]")
        object.__setattr__(self, "overrides", frozenset(self.overrides))
        bad = sorted(o for o in self.overrides if not RULE_ID_PATTERN.match(o))
        if bad:
            raise GuardRequestInvalid(f"malformed rule id(s) in overrides: {', '.join(bad)}",
                                      "rule ids look like IGA-S002; docs/guard.md lists them")
        if not isinstance(self.override_reasons, dict):
            raise GuardRequestInvalid("override_reasons must map rule ids to text",
                                      "pass e.g. {\"IGA-S002\": \"testing high CFG\"}")


    @classmethod
    def from_dict(cls, d: dict) -> GuardPolicy:
        if not isinstance(d, dict):
            raise GuardRequestInvalid("a guard policy must be a JSON object", "pass {\"mode\": \"standard\"}")
        unknown = sorted(set(d) - {"mode", "overrides", "override_reasons"})
        if unknown:
            raise GuardRequestInvalid(f"unknown guard policy field(s): {', '.join(map(str, unknown))}",
                                      "use only: mode, overrides, override_reasons")
        overrides = d.get("overrides", ())
        if isinstance(overrides, str) or not isinstance(overrides, (list, tuple, set, frozenset)) \
                or not all(isinstance(o, str) for o in overrides):
            raise GuardRequestInvalid("overrides must be a list of rule ids", 'pass e.g. ["IGA-S002"]')
        if len(overrides) > MAX_OVERRIDES:
            raise GuardRequestInvalid(f"overrides lists {len(overrides)} rule ids, more than {MAX_OVERRIDES}",
                                      "name only the soft rules you acknowledge")
        reasons = d.get("override_reasons", {})
        if not isinstance(reasons, dict) or len(reasons) > MAX_OVERRIDES or not all(
                isinstance(k, str) and isinstance(v, str) and len(v) <= MAX_REASON_LENGTH for k, v in reasons.items()):
            raise GuardRequestInvalid("override_reasons must map rule ids to short texts",
                                      f'pass e.g. {{"IGA-S002": "testing high CFG"}} (at most {MAX_REASON_LENGTH} '
                                      "characters each)")
        return cls(mode=d.get("mode", "standard"), overrides=frozenset(overrides), override_reasons=dict(reasons))

    def to_dict(self) -> dict:
        return {"mode": self.mode, "overrides": sorted(self.overrides),
                "override_reasons": dict(self.override_reasons)}
