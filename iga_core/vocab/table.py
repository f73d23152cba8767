"""Loads the vocabulary data files once and indexes every name users meet.

Names are matched case-insensitively with whitespace collapsed ("dpm++  2m" == "DPM++ 2M"); nothing
fuzzier. Within a kind every key must lead to one identity: the loader refuses data where two ids
claim the same name, so a name can never be resolved by accident of ordering.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from iga_core.vocab.model import DIALECTS, MODES, SamplerInfo, ScheduleInfo, VocabDataError

#: grid ids a timestep sampler can follow that are no user-selectable schedule: A1111's DDIM / PLMS
#: timesteps range(0, 1000, 1000 // steps) + 1 (A sd_samplers_timesteps.py:94), evaluated from the last
#: down to the second (A sd_samplers_timesteps_impl.py:22-25); UniPC's own time grid over as many steps
#: (A sd_samplers_timesteps_impl.py:159-160, 170-176)
GRID_ONLY = ("ddim_timesteps", "unipc_timesteps")


def name_key(name: str) -> str:
    """The matching key: case-folded, inner whitespace collapsed, ends trimmed."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Table:
    samplers: dict[str, SamplerInfo]
    schedules: dict[str, ScheduleInfo]
    sampler_index: dict[str, str]  # name_key -> sampler id
    schedule_index: dict[str, str]  # name_key -> schedule id
    diffusers: dict  # raw data/diffusers.json


def _read(name: str) -> dict:
    text = resources.files("iga_core.vocab").joinpath("data", name).read_text(encoding="utf-8")
    return json.loads(text)


def _names(entry: dict) -> tuple[dict[str, str | None], dict[str, tuple[str, ...]]]:
    names = {d: entry.get("names", {}).get(d) for d in DIALECTS}
    aliases = {d: tuple(entry.get("aliases", {}).get(d, ())) for d in DIALECTS if entry.get("aliases", {}).get(d)}
    unknown = set(entry.get("names", {})) | set(entry.get("aliases", {}))
    if unknown - set(DIALECTS):
        raise VocabDataError(f"vocabulary entry {entry.get('id')!r} uses unknown dialects {sorted(unknown - set(DIALECTS))}",
                             "fix iga_core/vocab/data/*.json")
    return names, aliases


def _index(kind: str, items: dict, skip_names: set[str]) -> dict[str, str]:
    """Every name -> id; a key claimed by two ids is a data bug. Names in `skip_names` are left to
    other lookups (diffusers class names shared by several samplers)."""
    index: dict[str, str] = {}
    for info in items.values():
        for name in info.all_names():
            if name in skip_names:
                continue
            key = name_key(name)
            if index.get(key, info.id) != info.id:
                raise VocabDataError(f"{kind} name {name!r} is claimed by both {index[key]!r} and {info.id!r}",
                                     "make the name an alias of one identity only in iga_core/vocab/data")
            index[key] = info.id
    return index


@lru_cache(maxsize=1)
def load_table() -> Table:
    sampler_data = _read("samplers.json")
    schedule_data = _read("schedules.json")
    diffusers = _read("diffusers.json")

    schedules: dict[str, ScheduleInfo] = {}
    for e in schedule_data["schedules"]:
        names, aliases = _names(e)
        schedules[e["id"]] = ScheduleInfo(e["id"], e["label"], names, aliases, e.get("diffusers_approx"))

    samplers: dict[str, SamplerInfo] = {}
    for e in sampler_data["samplers"]:
        names, aliases = _names(e)
        if e["mode"] not in MODES:
            raise VocabDataError(f"sampler {e['id']!r} has mode {e['mode']!r}", f"use one of {MODES}")
        explicit = e.get("default_schedule")
        if explicit is not None and explicit not in schedules:
            raise VocabDataError(f"sampler {e['id']!r} defaults to unknown schedule {explicit!r}",
                                 "use a schedule id from schedules.json")
        # Without an explicit option the hosts use the model's own discretisation, which is Uniform
        # (A1111 sd_samplers_kdiffusion.py:79-100: model_wrap.get_sigmas).
        effective = None if e["timestep_based"] else (explicit or "uniform")
        grid = e.get("grid_schedule")
        if bool(grid) != bool(e["timestep_based"]) or (grid and grid not in schedules and grid not in GRID_ONLY):
            raise VocabDataError(f"sampler {e['id']!r}: grid_schedule {grid!r} does not fit timestep_based",
                                 "timestep samplers name the schedule id their timesteps follow; others none")
        samplers[e["id"]] = SamplerInfo(e["id"], e["label"], e["mode"], effective, bool(e["timestep_based"]),
                                        explicit is not None, names, aliases, grid, dict(e.get("grid_options") or {}),
                                        tuple(e.get("substitutes") or ()))
    for info in samplers.values():
        unknown = [i for i in info.substitutes if i not in samplers]
        if unknown:
            raise VocabDataError(f"sampler {info.id!r} names unknown substitutes {unknown}",
                                 "use sampler ids from samplers.json")

    # Diffusers class names are shared (DPMSolverMultistepScheduler is 2M, 2M SDE, 3M SDE ...): they
    # resolve through the class's default config (diffusers_map), not through the plain index.
    shared_classes = set(diffusers["classes"])
    sampler_index = _index("sampler", samplers, shared_classes)
    schedule_index = _index("schedule", schedules, set())

    for cls, spec in diffusers["classes"].items():
        for rule in spec["rules"]:
            if rule["sampler"] not in samplers:
                raise VocabDataError(f"diffusers class {cls} maps to unknown sampler {rule['sampler']!r}",
                                     "fix iga_core/vocab/data/diffusers.json")
    return Table(samplers, schedules, sampler_index, schedule_index, diffusers)
