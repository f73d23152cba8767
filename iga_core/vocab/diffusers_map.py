"""diffusers scheduler classes and their config flags, mapped to (sampler, schedule, spacing).

One diffusers class stands for several samplers (DPMSolverMultistepScheduler is DPM++ 2M, 2M SDE and
3M SDE depending on `algorithm_type` / `solver_order`), and the schedule is a config flag
(`use_karras_sigmas`) or the `timestep_spacing`; the rules live in data/diffusers.json.
"""

from __future__ import annotations

import difflib
from typing import Any

from iga_core.vocab.model import SamplerInfo, ScheduleInfo, UnknownName
from iga_core.vocab.table import load_table, name_key

SPACINGS = ("leading", "linspace", "trailing")


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


def from_diffusers(class_name: str, config: dict[str, Any] | None = None
                   ) -> tuple[SamplerInfo, ScheduleInfo | None, str | None]:
    """The sampler, schedule type and timestep spacing a diffusers scheduler config stands for.

    `config` is a scheduler_config.json dict (or the kwargs given to the class); missing keys take the
    class defaults. Timestep samplers (DDIM, PNDM/PLMS, UniPC, TCD) get no schedule, only the spacing.
    A config no host sampler matches (e.g. algorithm_type "dpmsolver") raises UnknownName.
    """
    table = load_table()
    cls, spec = _class_spec(class_name)
    cfg = {**spec.get("defaults", {}), **{k: v for k, v in (config or {}).items() if not k.startswith("_")}}

    sampler_id = next((r["sampler"] for r in spec["rules"] if _matches(r.get("when", {}), cfg)), None)
    if sampler_id is None:
        shown = {k: cfg.get(k) for r in spec["rules"] for k in r.get("when", {})}
        raise UnknownName("sampler", f"{cls}({', '.join(f'{k}={v!r}' for k, v in shown.items())})",
                          [f"{cls}({', '.join(f'{k}={v!r}' for k, v in r['when'].items())})"
                           for r in spec["rules"] if r.get("when")][:3])
    sampler = table.samplers[sampler_id]
    spacing = cfg.get("timestep_spacing")
    if spacing is not None and spacing not in SPACINGS:
        raise UnknownName("timestep spacing", spacing, list(SPACINGS))
    if sampler.timestep_based:
        return sampler, None, spacing
    return sampler, table.schedules[_schedule_id(spec, cfg, table.diffusers)], spacing


def _schedule_id(spec: dict, cfg: dict, data: dict) -> str:
    key = spec.get("schedule_key")
    if key and cfg.get(key["key"]) in key["values"]:
        return key["values"][cfg[key["key"]]]
    for flag in data["schedule_flags"] if spec.get("flags") else ():
        if cfg.get(flag["flag"]):
            return flag["schedule"]
    if spec.get("schedule"):
        return spec["schedule"]
    return data["spacing_schedules"][cfg.get("timestep_spacing") or "linspace"]


def to_diffusers(sampler_id: str, schedule_id: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """The diffusers class and config overrides for a (sampler, schedule) pair, or None when diffusers
    has no such sampler or cannot express the schedule with that class."""
    table = load_table()
    data = table.diffusers
    for cls, spec in data["classes"].items():
        for rule in spec["rules"]:
            if rule["sampler"] != sampler_id:
                continue
            overrides = dict(rule.get("when", {}))
            if schedule_id is None or table.samplers[sampler_id].timestep_based:
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
    for flag in data["schedule_flags"] if spec.get("flags") else ():
        if flag["schedule"] == schedule_id:
            yield {flag["flag"]: True}
    if "timestep_spacing" in spec.get("defaults", {}):
        for spacing, sid in data["spacing_schedules"].items():
            if sid == schedule_id:
                yield {"timestep_spacing": spacing}
