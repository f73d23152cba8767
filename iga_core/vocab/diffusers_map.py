"""diffusers scheduler classes and their config flags, mapped to (sampler, schedule, spacing).

One diffusers class stands for several samplers (DPMSolverMultistepScheduler is DPM++ 2M, 2M SDE and
3M SDE depending on `algorithm_type` / `solver_order`; UniPCMultistepScheduler is UniPC or UniPC BH2 by
`solver_type`), and the schedule is a config flag (`use_karras_sigmas`, `use_lu_lambdas`, ...) or the
`timestep_spacing`; the rules live in data/diffusers.json. A configuration no host sampler runs is refused
with `NoHostSampler`, which names the reason and the nearest host sampler.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from iga_core.vocab.model import NoHostSampler, SamplerInfo, ScheduleInfo, UnknownName
from iga_core.vocab.table import load_table, name_key

SPACINGS = ("leading", "linspace", "trailing")


@dataclass(frozen=True)
class DiffusersMapping:
    """What a diffusers scheduler config stands for in the hosts' vocabulary.

    `exact` is False when a host's sampler of that name runs differently (`notes` say how); `eta` is the
    eta a host sampler needs to match, when it is not the host's default."""

    class_name: str
    sampler: SamplerInfo
    schedule: ScheduleInfo | None
    spacing: str | None
    notes: tuple[str, ...] = field(default=())
    eta: float | None = None

    @property
    def exact(self) -> bool:
        return not self.notes

    def to_dict(self) -> dict:
        return {"class_name": self.class_name, "sampler": self.sampler.id,
                "schedule": self.schedule.id if self.schedule else None, "spacing": self.spacing,
                "exact": self.exact, "notes": list(self.notes), "eta": self.eta}


def _class_spec(class_name: str) -> tuple[str, dict]:
    classes = load_table().diffusers["classes"]
    if not isinstance(class_name, str):
        raise UnknownName("diffusers scheduler class", class_name, sorted(classes)[:3])
    for cls, spec in classes.items():
        if name_key(cls) == name_key(class_name):
            return cls, spec
    close = difflib.get_close_matches(class_name, list(classes), n=3, cutoff=0.5)
    raise UnknownName("diffusers scheduler class", class_name, close)


def _matches(when: dict, config: dict) -> bool:
    return all(config.get(k) == v for k, v in when.items())


def _shown(cls: str, when: dict, cfg: dict) -> str:
    return f"{cls}({', '.join(f'{k}={cfg.get(k)!r}' for k in when)})"


def describe_diffusers(class_name: str, config: dict[str, Any] | None = None) -> DiffusersMapping:
    """The sampler, schedule type and timestep spacing a diffusers scheduler config stands for, with the
    ways the host sampler differs.

    `config` is a scheduler_config.json dict (or the kwargs given to the class); missing keys take the
    class defaults. Samplers that step on their own timesteps in diffusers (DDIM, PNDM/PLMS, TCD) get no
    schedule, only the spacing; UniPC honours the sigma flags there. A config no host sampler runs raises
    `NoHostSampler` (with the nearest host sampler); one no rule knows raises `UnknownName`.
    """
    table = load_table()
    cls, spec = _class_spec(class_name)
    cfg = {**spec.get("defaults", {}), **{k: v for k, v in (config or {}).items() if not k.startswith("_")}}

    rule = next((r for r in spec["rules"] if _matches(r.get("when", {}), cfg)), None)
    if rule is None:
        shown = {k: cfg.get(k) for r in spec["rules"] for k in r.get("when", {})}
        raise UnknownName("sampler", f"{cls}({', '.join(f'{k}={v!r}' for k, v in shown.items())})",
                          [_shown(cls, r["when"], r["when"]) for r in spec["rules"]
                           if r.get("when") and "sampler" in r][:3])
    if "refuse" in rule:
        nearest = table.samplers[rule["nearest"]].label if rule.get("nearest") else None
        raise NoHostSampler(_shown(cls, rule.get("when", {}), cfg), rule["refuse"], nearest)
    sampler = table.samplers[rule["sampler"]]
    spacing = cfg.get("timestep_spacing")
    if spacing is not None and spacing not in SPACINGS:
        raise UnknownName("timestep spacing", spacing, list(SPACINGS))
    notes = [rule["note"]] if rule.get("note") else []
    for key, host_value in (spec.get("host_config") or {}).items():
        if cfg.get(key) != host_value:
            notes.append(f"{key} {cfg.get(key)!r}: the hosts run {sampler.label} with {key} {host_value!r}")
    schedule = None
    if not sampler.in_dialect("diffusers").timestep_based:
        schedule = table.schedules[_schedule_id(spec, cfg, table.diffusers)]
    return DiffusersMapping(cls, sampler, schedule, spacing, tuple(notes), rule.get("eta"))


def from_diffusers(class_name: str, config: dict[str, Any] | None = None
                   ) -> tuple[SamplerInfo, ScheduleInfo | None, str | None]:
    """(sampler, schedule, spacing) of `describe_diffusers`."""
    found = describe_diffusers(class_name, config)
    return found.sampler, found.schedule, found.spacing


def _flags(spec: dict, data: dict) -> list[dict]:
    """The schedule flags this class has, in the order its set_timesteps tests them."""
    own = set(spec.get("flags") or ())
    return [f for f in data["schedule_flags"] if f["flag"] in own]


def _schedule_id(spec: dict, cfg: dict, data: dict) -> str:
    key = spec.get("schedule_key")
    if key and cfg.get(key["key"]) in key["values"]:
        return key["values"][cfg[key["key"]]]
    for flag in _flags(spec, data):
        if cfg.get(flag["flag"]):
            return flag["schedule"]
    if spec.get("schedule"):
        return spec["schedule"]
    return data["spacing_schedules"][cfg.get("timestep_spacing") or "linspace"]


def to_diffusers(sampler_id: str, schedule_id: str | None = None, *, flow: bool = False
                 ) -> tuple[str, dict[str, Any]] | None:
    """The diffusers class and config overrides for a (sampler, schedule) pair, or None when diffusers
    has no such sampler or cannot express the schedule with that class. `flow`: for a flow-matching model
    (FlowMatch* classes); otherwise only the classes for discrete-timestep models are considered."""
    table = load_table()
    data = table.diffusers
    for cls, spec in data["classes"].items():
        if bool(spec.get("flow")) != flow:
            continue
        for rule in spec["rules"]:
            if rule.get("sampler") != sampler_id or rule.get("note"):
                continue  # a refusal, or a configuration the host sampler runs differently
            overrides = {**rule.get("when", {}), **(spec.get("host_config") or {})}  # run it as the hosts do
            if schedule_id is None or table.samplers[sampler_id].in_dialect("diffusers").timestep_based:
                return cls, overrides
            cfg = {**spec.get("defaults", {}), **overrides}
            for candidate in _schedule_overrides(spec, data, schedule_id):
                if _schedule_id(spec, {**cfg, **candidate}, data) == schedule_id:
                    return cls, {**overrides, **candidate}
    return None


def _schedule_overrides(spec: dict, data: dict, schedule_id: str):
    yield {}
    key = spec.get("schedule_key")
    if key:
        for value, sid in key["values"].items():
            if sid == schedule_id:
                yield {key["key"]: value}
    for flag in _flags(spec, data):
        if flag["schedule"] == schedule_id and not flag.get("flow") and flag.get("export", True):
            yield {flag["flag"]: True}
    if "timestep_spacing" in spec.get("defaults", {}):
        for spacing, sid in data["spacing_schedules"].items():
            if sid == schedule_id:
                yield {"timestep_spacing": spacing}
