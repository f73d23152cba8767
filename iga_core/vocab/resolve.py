"""Name -> identity, identity -> name in a dialect, and the A1111 pairing rules (combined names,
"Automatic", timestep samplers).

The hosts fall back to DPM++ 2M for any name they do not know (A1111 sd_samplers.py:100-122); this
module never falls back: an unknown name raises `UnknownName` with the closest known names.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache

from iga_core.vocab.dialects import HOST_VARIANTS
from iga_core.vocab.diffusers_map import from_diffusers
from iga_core.vocab.legacy import legacy_only_alias
from iga_core.vocab.model import (
    DIALECT_TITLES,
    DIALECTS,
    HOST_DIALECT,
    KINDS,
    ConflictingNames,
    SamplerInfo,
    ScheduleInfo,
    UnknownDialect,
    UnknownName,
)
from iga_core.vocab.table import load_table, name_key

AUTOMATIC = "automatic"


@lru_cache(maxsize=2)
def _spellings(kind: str) -> tuple[dict[str, str], dict[str, str]]:
    """name key -> the name as the data spells it, and name key -> the identity it belongs to."""
    table = load_table()
    infos = table.samplers if kind == "sampler" else table.schedules
    spelled: dict[str, str] = {}
    for info in infos.values():
        for n in info.all_names():
            spelled.setdefault(name_key(n), n)
    owner = dict(table.sampler_index if kind == "sampler" else table.schedule_index)
    if kind == "sampler":
        for cls in table.diffusers["classes"]:
            spelled[name_key(cls)] = cls
            owner[name_key(cls)] = "diffusers:" + cls
    return spelled, owner


def _suggest(kind: str, name: str) -> list[str]:
    """Up to three close names, at most one per identity."""
    spelled, owner = _spellings(kind)
    out: list[str] = []
    seen: set[str] = set()
    for key in difflib.get_close_matches(name_key(name), list(spelled), n=12, cutoff=0.6):
        if owner[key] not in seen:
            seen.add(owner[key])
            out.append(spelled[key])
    return out[:3]


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise UnknownName(kind, name, [])
    return name


def _dialect_id(kind: str, name: str, dialect: str | None) -> str | None:
    """The identity `dialect`'s own names give `name` (scoped names included), else the global one."""
    table = load_table()
    if dialect is not None:
        _check_dialect(dialect)
        sid = table.dialect_index[kind][dialect].get(name_key(name))
        if sid is not None:
            return sid
    return (table.sampler_index if kind == "sampler" else table.schedule_index).get(name_key(name))


def resolve_sampler(name: str, dialect: str | None = None) -> SamplerInfo:
    """The sampler any dialect means by `name` (label, alias, ComfyUI or k-diffusion name, diffusers
    class with its default config). Combined names ("DPM++ 2M Karras") are for `normalize`. With
    `dialect`, that dialect's own names are tried first."""
    _check_name("sampler", name)
    table = load_table()
    sid = _dialect_id("sampler", name, dialect)
    if sid is not None:
        return table.samplers[sid]
    if any(name_key(c) == name_key(name) for c in table.diffusers["classes"]):
        return from_diffusers(name, {})[0]
    split = _split_combined(name)
    suggestions = [split[0].label] if split else _suggest("sampler", name)
    raise UnknownName("sampler", name, suggestions)


def resolve_schedule(name: str, dialect: str | None = None) -> ScheduleInfo:
    """The schedule type any dialect means by `name`; "Automatic" is the id "automatic". With `dialect`,
    that dialect's own names are tried first (SwarmUI's "turbo" is not Forge's Turbo)."""
    _check_name("schedule", name)
    table = load_table()
    sid = _dialect_id("schedule", name, dialect)
    if sid is None:
        raise UnknownName("schedule", name, _suggest("schedule", name))
    return table.schedules[sid]


def _split_combined(name: str) -> tuple[SamplerInfo, ScheduleInfo] | None:
    """"DPM++ 2M SDE Karras" -> (DPM++ 2M SDE, Karras): the sampler plus a trailing schedule name, as
    A1111 <= 1.8 wrote them (and as A1111 1.10 still accepts). Longest schedule name first, so a
    two-word schedule ("SGM Uniform") wins over a one-word one."""
    table = load_table()
    key = name_key(name)
    old = legacy_only_alias(name)  # "k_dpmpp_2m_ka": an alias only pre-1.9 A1111 had, schedule included
    if old is not None and old.schedule is not None:
        return old.sampler, old.schedule
    for skey, schedule_id in _combined_suffixes():
        if key.endswith(" " + skey):
            sid = table.sampler_index.get(key[: -len(skey) - 1])
            if sid is not None:
                return table.samplers[sid], table.schedules[schedule_id]
    return None


@lru_cache(maxsize=1)
def _combined_suffixes() -> tuple[tuple[str, str], ...]:
    """The schedule names a combined name may end with: the hosts' labels, names and aliases (A1111
    sd_samplers.py:100-122 strips exactly these), longest first."""
    table = load_table()
    keys: dict[str, str] = {}
    for info in table.schedules.values():
        for dialect in ("a1111", "forge"):
            for n in (info.names.get(dialect), *info.aliases.get(dialect, ())):
                if n:
                    keys[name_key(n)] = info.id
    return tuple(sorted(keys.items(), key=lambda kv: len(kv[0]), reverse=True))


def normalize(sampler: str, schedule: str | None = None, dialect: str | None = None, runs: str | None = None
              ) -> tuple[SamplerInfo, ScheduleInfo | None]:
    """The (sampler, schedule) a host actually runs for a pasted or requested pair.

    Splits combined names, resolves "Automatic" (or no schedule) to the sampler's default, and gives
    None as the schedule for samplers that ignore it in `dialect` (None: A1111 / Forge, where DDIM,
    DDIM CFG++, PLMS and UniPC step on their own timesteps; ComfyUI's ddim and uni_pc run on the
    schedule's sigmas). A combined name whose schedule contradicts an explicit `schedule` raises
    ConflictingNames. `runs` names whose semantics decide whether the sampler ignores the schedule, where
    that is not `dialect`'s: a host variant (`HOST_VARIANTS`, Forge Classic / Neo run UniPC on the schedule).
    """
    _check_name("sampler", sampler)
    table = load_table()
    suffix: ScheduleInfo | None = None
    sid = _dialect_id("sampler", sampler, dialect)
    if sid is not None:
        sampler_info = table.samplers[sid]
    else:
        split = _split_combined(sampler)
        if split is None:
            sampler_info = resolve_sampler(sampler)  # diffusers class, or raises UnknownName
        else:
            sampler_info, suffix = split

    given = None
    if schedule is not None and str(schedule).strip():
        given = resolve_schedule(schedule, dialect)
    if suffix is not None and given is not None and given.id not in (AUTOMATIC, suffix.id):
        raise ConflictingNames(
            f"sampler {sampler!r} names the schedule {suffix.label!r} but the schedule given is {given.label!r}",
            f"use sampler {sampler_info.label!r} with schedule {given.label!r}, or drop one of the two",
        )
    chosen = suffix or given

    sem = sampler_info.in_dialect(runs or dialect)
    if sem.timestep_based:
        return sampler_info, None
    if chosen is None or chosen.id == AUTOMATIC:
        return sampler_info, table.schedules[sem.automatic or sampler_info.default_schedule or "uniform"]
    return sampler_info, chosen


def _info(kind: str, id_or_name: str) -> SamplerInfo | ScheduleInfo:
    if kind not in KINDS:
        raise UnknownDialect(f"unknown kind {kind!r}", f"use one of {', '.join(KINDS)}")
    table = load_table()
    direct = (table.samplers if kind == "sampler" else table.schedules).get(id_or_name)
    if direct is not None:
        return direct
    return resolve_sampler(id_or_name) if kind == "sampler" else resolve_schedule(id_or_name)


def _check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise UnknownDialect(f"unknown dialect {dialect!r}", f"use one of {', '.join(DIALECTS)}")


def export_name(kind: str, id: str, dialect: str) -> str | None:
    """The name `dialect` writes for a sampler or schedule (an id or any known name), or None when that
    dialect has no such thing (e.g. Turbo on A1111, Restart in ComfyUI)."""
    _check_dialect(dialect)
    return _info(kind, id).names.get(dialect)


def spoken_name(kind: str, id_or_name: str, dialect: str | None) -> str:
    """The name to tell a user of `dialect` for a sampler or schedule: that dialect's own name, else the
    name of the schedule that gives the same grid there (A1111's Uniform is ComfyUI's "normal"), else the
    label. None as the dialect means the WebUI hosts' labels."""
    info = _info(kind, id_or_name)
    if dialect is None or dialect in ("a1111", "forge"):
        return info.names.get(dialect or "a1111") or info.label
    _check_dialect(dialect)
    if info.names.get(dialect):
        return info.names[dialect]
    same = getattr(info, "same_grid_as", {}).get(dialect)
    if same is not None:
        return load_table().schedules[same].names[dialect]
    return info.label


@dataclass(frozen=True)
class Translation:
    """A (sampler, schedule) written in one dialect, as another dialect must be asked for the same run.
    None where the target has no such thing; `notes` say what differs; `eta` is the eta to send when the
    source ran the sampler with another one than the target's default."""

    sampler: str | None
    schedule: str | None
    notes: tuple[str, ...] = ()
    eta: float | None = None


def translate(sampler: str, schedule: str | None, source: str | None, target: str = "a1111") -> Translation:
    """How to ask `target` for what `source` ran: ComfyUI's ddim is Euler on its scheduler's sigmas, so
    A1111 is asked for Euler; ComfyUI's uni_pc honours its scheduler, A1111's UniPC does not (noted);
    ComfyUI runs DPM fast with eta 0, A1111 with 1 (eta 0 sent). Raises UnknownName for unknown names."""
    _check_dialect(target)
    table = load_table()
    s, sch = normalize(sampler, schedule, source)
    sem = s.in_dialect(source)
    run = table.samplers[sem.runs_as] if sem.runs_as else s
    notes: list[str] = []
    here, there = DIALECT_TITLES.get(source or HOST_DIALECT), DIALECT_TITLES[target]
    if run is not s:
        notes.append(f"{here}'s {sampler!r} runs {run.label} on the schedule's sigmas, so {there} is asked for "
                     f"{run.label}")
    name = run.names.get(target)
    if name is None:
        notes.append(f"{run.label} has no {there} sampler")
    tsem = run.in_dialect(target)
    out_schedule = None
    if sch is not None:
        if tsem.timestep_based:
            notes.append(f"{there}'s {name or run.label} ignores the schedule type; it ran on {sch.label} here")
        else:
            same = [o for o in table.schedules.values() if o.same_grid_as.get(source) == sch.id]
            out_schedule = sch.names.get(target) or next((o.names[target] for o in same if o.names.get(target)), None)
            if out_schedule is None:
                notes.append(f"the {sch.label} schedule has no {there} name")
    eta = None
    if sem.eta is not None and tsem.eta is not None and sem.eta != tsem.eta:
        eta = sem.eta
        notes.append(f"{here} ran {run.label} with eta {sem.eta:g} ({sem.mode}); {there} defaults to eta "
                     f"{tsem.eta:g} ({tsem.mode}), so eta {sem.eta:g} is sent")
    return Translation(name, out_schedule, tuple(notes), eta)


def lookup(kind: str, name: str) -> SamplerInfo | ScheduleInfo:
    """resolve_sampler / resolve_schedule chosen by `kind` ("sampler" | "schedule")."""
    return _info(kind, name)


def all_samplers() -> tuple[SamplerInfo, ...]:
    return tuple(load_table().samplers.values())


def all_schedules() -> tuple[ScheduleInfo, ...]:
    return tuple(load_table().schedules.values())


def names_in(kind: str, dialect: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(id, name, aliases) of every sampler or schedule `dialect` has, in the data's order."""
    _check_dialect(dialect)
    infos = all_samplers() if kind == "sampler" else all_schedules() if kind == "schedule" else None
    if infos is None:
        raise UnknownDialect(f"unknown kind {kind!r}", f"use one of {', '.join(KINDS)}")
    return [(i.id, i.names[dialect], i.aliases.get(dialect, ())) for i in infos if i.names.get(dialect)]


def runs_differently_on(sampler: str) -> tuple[str, ...]:
    """The host variants (`HOST_VARIANTS` keys) that run `sampler` (any name or id) otherwise than A1111 /
    Forge: where a check that does not name the host judges another grid than the host runs."""
    info = lookup("sampler", sampler)
    base = {**info.in_dialect(None).to_dict(), "dialect": None}
    return tuple(v for v in HOST_VARIANTS if {**info.in_dialect(v).to_dict(), "dialect": None} != base)
