"""What the guard is asked about (`GuardRequest`) and how strictly it answers (`GuardPolicy`).

Both are plain frozen dataclasses so they can be logged, compared and rebuilt from JSON (API payloads,
audit records) without any host types. `from_dict` refuses unknown keys and wrong types with a typed
error instead of guessing, because a silently dropped field would be a field the guard never checked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from iga_core.errors import IgaInvalid
from iga_core.guard.control import ControlUnit, ControlUnitInvalid, control_units
from iga_core.guard.modes import MODES
from iga_core.vocab.dialects import DIALECTS

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


COMPUTED_BY = ("host", "iga")
EXECUTED_KINDS = ("sigmas", "timesteps", "sigma_range")


@dataclass(frozen=True)
class ExecutedSchedule:
    """What a host will actually run for one pass, read from the host's own sampler code at run time.

    `kind`: "sigmas" (k-diffusion samplers: the sigmas handed to the sampling function, final one included),
    "timesteps" (timestep samplers: the timesteps the host built) or "sigma_range" (DPM fast / adaptive:
    only sigma_max and sigma_min are handed over; the function picks its own steps). `values` are those
    numbers; `timesteps` are where the model is evaluated, in training-timestep space, descending, one per
    step (empty for "sigma_range"). `computed_by`: "host" (the host's code) or "iga" (our model of it).
    """

    kind: str
    values: tuple[float, ...]
    timesteps: tuple[float, ...]
    computed_by: str = "host"
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in EXECUTED_KINDS:
            raise GuardRequestInvalid(f"unknown executed schedule kind {self.kind!r}",
                                      f"use one of: {', '.join(EXECUTED_KINDS)}")
        if self.computed_by not in COMPUTED_BY:
            raise GuardRequestInvalid(f"computed_by must be host or iga, got {self.computed_by!r}",
                                      "say which side computed the values")
        for name in ("values", "timesteps"):
            raw = getattr(self, name)
            if isinstance(raw, (str, bytes)) or not hasattr(raw, "__iter__"):
                raise GuardRequestInvalid(f"executed.{name} must be a list of numbers", "pass a list")
            vals = tuple(float(v) for v in raw)
            if not all(math.isfinite(v) for v in vals):
                raise GuardRequestInvalid(f"executed.{name} holds a value that is not finite",
                                          "pass finite numbers")
            object.__setattr__(self, name, vals)

    @classmethod
    def from_dict(cls, d: dict) -> ExecutedSchedule:
        if not isinstance(d, dict):
            raise GuardRequestInvalid("executed must be an object", "pass {\"kind\": \"sigmas\", \"values\": [...]}")
        unknown = sorted(set(d) - {"kind", "values", "timesteps", "computed_by", "source"})
        if unknown:
            raise GuardRequestInvalid(f"unknown executed field(s): {', '.join(map(str, unknown))}",
                                      "use only: kind, values, timesteps, computed_by, source")
        return cls(kind=d.get("kind"), values=d.get("values", ()), timesteps=d.get("timesteps", ()),
                   computed_by=d.get("computed_by", "host"), source=str(d.get("source", "")))

    def to_dict(self) -> dict:
        """The values as the host computed them, unrounded (the audit record is the protocol's "effective
        sigma grid": a rounded copy could not show a 1e-7 difference between two runs)."""
        return {"kind": self.kind, "values": list(self.values), "timesteps": list(self.timesteps),
                "computed_by": self.computed_by, **({"source": self.source} if self.source else {})}


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
    # host facts (None = not known): what the host will run, read from its own code at run time
    zero_terminal_snr: bool | None = None  # the noise schedule the host samples this model with
    architecture: str | None = None  # of the checkpoint that runs this pass (sd1, sd2, sdxl, sd3, flux)
    upstream_architecture: str | None = None  # a second pass: the architecture whose latents it continues
    executed: ExecutedSchedule | None = None  # the sigmas / timesteps the host will run
    sampler_sent: str | None = None  # the names the caller sent, before the host rewrote them
    schedule_sent: str | None = None
    host: str | None = None  # the WebUI that runs it (a1111, forge, forge-neo, ...): hard findings name its settings
    #: what set the prediction type the host runs when the checkpoint's own config and keys did not: a cause the
    #: host's remedies name (host_settings.json `causes`, e.g. reForge's "advanced_model_sampling" script, or
    #: "advanced_model_sampling_left_over", its patch left on the model by an earlier run); None = the checkpoint
    prediction_set_by: str | None = None
    # the enabled control units (ControlNet, T2I-Adapter, IP-Adapter), where the host exposes them; None = not known
    control: tuple[ControlUnit, ...] | None = None
    #: the naming dialect of `sampler` / `schedule` and the semantics they run with ("comfyui": its ddim is
    #: Euler on the schedule's sigmas); None: the WebUI hosts (A1111 / Forge). Remedies use its names.
    dialect: str | None = None
    #: the request fields the page it came from has no control for (Forge Classic's schedule type without
    #: "Display the Scheduler Dropdown"): a remedy that changes one first says how to show the control;
    #: None: not known, or not from a page (the API sets every field)
    hidden_controls: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.hidden_controls is not None:
            if isinstance(self.hidden_controls, (str, bytes)) or not hasattr(self.hidden_controls, "__iter__"):
                raise GuardRequestInvalid("hidden_controls must be a list of request field names",
                                          'pass e.g. ["schedule"]')
            hidden = tuple(self.hidden_controls)
            bad = [h for h in hidden if h not in self.REQUEST_FIELDS]
            if bad:
                raise GuardRequestInvalid(f"hidden_controls names unknown request field(s): {bad!r:.120}",
                                          f"use only: {', '.join(self.REQUEST_FIELDS)}")
            object.__setattr__(self, "hidden_controls", hidden)
        try:
            object.__setattr__(self, "control", control_units(self.control))
        except ControlUnitInvalid as exc:
            raise GuardRequestInvalid(exc.message, exc.hint) from exc
        if isinstance(self.executed, dict):
            object.__setattr__(self, "executed", ExecutedSchedule.from_dict(self.executed))
        if self.executed is not None and not isinstance(self.executed, ExecutedSchedule):
            raise GuardRequestInvalid("executed must be an executed-schedule object", "pass {\"kind\": ...}")
        if self.zero_terminal_snr is not None and not isinstance(self.zero_terminal_snr, bool):
            raise GuardRequestInvalid(f"zero_terminal_snr must be true or false, got {self.zero_terminal_snr!r}",
                                      "pass a boolean")
        if self.dialect is not None and self.dialect not in DIALECTS:
            raise GuardRequestInvalid(f"unknown dialect {self.dialect!r:.80}", f"use one of: {', '.join(DIALECTS)}")
        for name in ("sampler", "schedule", "vae", "prediction_type", "architecture", "upstream_architecture",
                     "sampler_sent", "schedule_sent", "host", "prediction_set_by"):
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
        out = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        if self.executed is not None:
            out["executed"] = self.executed.to_dict()
        if self.control is not None:
            out["control"] = [u.to_dict() for u in self.control]
        if self.hidden_controls is not None:
            out["hidden_controls"] = list(self.hidden_controls)
        return out

    #: the fields that describe the request itself (host facts left out): what audit params record
    REQUEST_FIELDS = ("sampler", "schedule", "steps", "cfg", "distilled_cfg", "vae", "clip_skip", "width",
                      "height", "prediction_type", "denoising_strength")


@dataclass(frozen=True)
class HostFacts:
    """What the host itself reads from the model it will sample, for a check made before Generate (the panel's
    live verdict, POST /iga/v1/check): the host facts Generate's own request carries (`GuardRequest.host`,
    `prediction_type`, `zero_terminal_snr`, `architecture`), read by the same glue from the same loaded model.
    A field left None is not known (the checkpoint is not loaded yet); `later` says, in words, what only
    Generate knows (the schedule a sampler that does not exist yet will run, ...), so a verdict that is green
    before Generate says what it could not check rather than pretending it did."""

    host: str | None = None  # the WebUI (a1111, forge, ...): hard findings name its settings
    prediction_type: str | None = None
    zero_terminal_snr: bool | None = None
    architecture: str | None = None
    prediction_set_by: str | None = None  # what set the prediction type when not the checkpoint (reForge's AMS)
    #: not the model's but the host's: the clip skip Generate runs for a request that sets none (a page without
    #: a clip-skip control: the recipe's, which Generate sets, or under Custom the host's setting)
    clip_skip: int | None = None
    source: str | None = None  # where the host keeps them ("ldm_patched model_sampling", ...)
    loaded: bool = False  # read from the loaded model (else only `host` is known)
    later: tuple[str, ...] = ()  # what is judged only at Generate, in words

    #: the request fields a host fact fills
    FIELDS = ("host", "prediction_type", "zero_terminal_snr", "architecture", "prediction_set_by", "clip_skip")

    def request_fields(self) -> dict:
        """The request fields these facts fill, for building a request that states none of them itself."""
        return {k: v for k in self.FIELDS if (v := getattr(self, k)) is not None}

    def apply(self, request: GuardRequest) -> GuardRequest:
        """`request` with the host facts it does not state itself: a caller's own values win (an API caller
        who sends what Generate judged, `prediction_type` included, is judged on exactly that)."""
        changes = {k: getattr(self, k) for k in self.FIELDS
                   if getattr(request, k) is None and getattr(self, k) is not None}
        return replace(request, **changes) if changes else request

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in (*self.FIELDS, "source") if getattr(self, k) is not None}
        return {**out, "loaded": self.loaded, "later": list(self.later)}


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
