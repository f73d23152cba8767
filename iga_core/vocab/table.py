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

from iga_core.vocab.dialects import HOST_VARIANTS, SEMANTICS_KEYS
from iga_core.vocab.model import (
    DIALECTS,
    HOST_DIALECT,
    MODES,
    SamplerInfo,
    SamplerSemantics,
    ScheduleInfo,
    VocabDataError,
)

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
    #: dialect -> name_key -> id: the names and aliases each dialect writes, scoped ones included
    dialect_index: dict = None  # type: ignore[assignment]


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


def _scoped_names(info) -> set[str]:
    """The dialect names of a scoped entry: they mean this identity only in their own dialect."""
    if not getattr(info, "scoped", False):
        return set()
    return {n for d in DIALECTS for n in (info.names.get(d), *info.aliases.get(d, ())) if n}


def _index(kind: str, items: dict, skip_names: set[str]) -> dict[str, str]:
    """Every name -> id; a key claimed by two ids is a data bug. Names in `skip_names` are left to
    other lookups (diffusers class names shared by several samplers); a scoped entry's dialect names go
    only into that dialect's index."""
    index: dict[str, str] = {}
    for info in items.values():
        scoped = _scoped_names(info)
        for name in info.all_names():
            if name in skip_names or name in scoped:
                continue
            key = name_key(name)
            if index.get(key, info.id) != info.id:
                raise VocabDataError(f"{kind} name {name!r} is claimed by both {index[key]!r} and {info.id!r}",
                                     "make the name an alias of one identity only in iga_core/vocab/data")
            index[key] = info.id
    return index


def _dialect_index(kind: str, items: dict, skip_names: set[str]) -> dict[str, dict[str, str]]:
    """dialect -> name key -> id over each dialect's own names and aliases (scoped ones too)."""
    out: dict[str, dict[str, str]] = {}
    for dialect in DIALECTS:
        index: dict[str, str] = {}
        for info in items.values():
            for name in (info.names.get(dialect), *info.aliases.get(dialect, ())):
                if not name or name in skip_names:
                    continue
                key = name_key(name)
                if index.get(key, info.id) != info.id:
                    raise VocabDataError(f"{kind} name {name!r} means both {index[key]!r} and {info.id!r} in "
                                         f"{dialect}", "make the name an alias of one identity only")
                index[key] = info.id
        out[dialect] = index
    return out


def _semantics(e: dict, base: SamplerSemantics, inherit: dict[str, str], sampler_ids: set[str],
               schedule_ids: set[str]) -> dict:
    """dialect -> SamplerSemantics: the record's own fields, overridden per dialect by `semantics`."""
    raw = e.get("semantics") or {}
    unknown = set(raw) - set(SEMANTICS_KEYS)
    keys = {"timestep_based", "mode", "eta", "grid_schedule", "grid_options", "runs_as", "automatic"}
    if unknown or any(set(v) - keys for v in raw.values()):
        raise VocabDataError(f"sampler {e['id']!r} has bad semantics {raw!r}",
                             f"dialects and host variants {SEMANTICS_KEYS}, keys {sorted(keys)}")
    out: dict[str, SamplerSemantics] = {}
    for dialect in SEMANTICS_KEYS:
        # a host variant (Forge Classic, Neo) runs what its dialect runs unless it has its own entry
        parent = HOST_VARIANTS.get(dialect)
        source = dialect if dialect in raw else (
            (parent if parent in raw else inherit.get(parent, parent)) if parent else inherit.get(dialect, dialect))
        over = dict(raw.get(source, {}))
        if over.get("timestep_based") is False:
            over.setdefault("grid_schedule", None)
        sem = SamplerSemantics(dialect, bool(over.get("timestep_based", base.timestep_based)),
                               over.get("mode", base.mode), over.get("eta", base.eta),
                               over.get("grid_schedule", base.grid_schedule),
                               dict(over.get("grid_options", base.grid_options)), over.get("runs_as"),
                               over.get("automatic"))
        if sem.mode not in MODES or (sem.runs_as is not None and sem.runs_as not in sampler_ids) \
                or (sem.automatic is not None and (sem.timestep_based or sem.automatic not in schedule_ids)) \
                or bool(sem.grid_schedule) != sem.timestep_based:
            raise VocabDataError(f"sampler {e['id']!r} in {dialect}: {sem!r} is inconsistent",
                                 "fix its semantics in iga_core/vocab/data/samplers.json")
        out[dialect] = sem
    return out


@lru_cache(maxsize=1)
def load_table() -> Table:
    sampler_data = _read("samplers.json")
    schedule_data = _read("schedules.json")
    diffusers = _read("diffusers.json")

    schedules: dict[str, ScheduleInfo] = {}
    for e in schedule_data["schedules"]:
        names, aliases = _names(e)
        same = dict(e.get("same_grid_as") or {})
        if set(same) - set(DIALECTS):
            raise VocabDataError(f"schedule {e['id']!r}: same_grid_as names unknown dialects", "fix schedules.json")
        schedules[e["id"]] = ScheduleInfo(e["id"], e["label"], names, aliases, e.get("diffusers_approx"),
                                          bool(e.get("scoped")), same, e.get("grid") != "model_specific")
    for info in schedules.values():
        for dialect, other in info.same_grid_as.items():
            if other not in schedules or not schedules[other].names.get(dialect):
                raise VocabDataError(f"schedule {info.id!r}: same_grid_as {dialect} {other!r} has no {dialect} name",
                                     "fix schedules.json")

    samplers: dict[str, SamplerInfo] = {}
    inherit = dict(sampler_data.get("semantics_inherit") or {})
    sampler_ids = {e["id"] for e in sampler_data["samplers"]}
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
        base = SamplerSemantics(HOST_DIALECT, bool(e["timestep_based"]), e["mode"], e.get("eta"), grid,
                                dict(e.get("grid_options") or {}))
        semantics = _semantics(e, base, inherit, sampler_ids, set(schedules))
        samplers[e["id"]] = SamplerInfo(e["id"], e["label"], e["mode"], effective, bool(e["timestep_based"]),
                                        explicit is not None, names, aliases, grid, dict(e.get("grid_options") or {}),
                                        tuple(e.get("substitutes") or ()), e.get("eta"), semantics)
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
    dialect_index = {"sampler": _dialect_index("sampler", samplers, shared_classes),
                     "schedule": _dialect_index("schedule", schedules, set())}

    flags = {f["flag"] for f in diffusers["schedule_flags"]}
    for cls, spec in diffusers["classes"].items():
        if set(spec.get("flags") or ()) - flags:
            raise VocabDataError(f"diffusers class {cls} names unknown schedule flags", "fix diffusers.json")
        for rule in spec["rules"]:
            target = rule.get("nearest") if "refuse" in rule else rule.get("sampler")
            if ("refuse" in rule) == ("sampler" in rule) or (target is not None and target not in samplers):
                raise VocabDataError(f"diffusers class {cls}: rule {rule!r} needs a known sampler or a refusal",
                                     "fix iga_core/vocab/data/diffusers.json")
    return Table(samplers, schedules, sampler_index, schedule_index, diffusers, dialect_index)
