"""What every rule reads: the typed recipe (`iga_core.recipe.Recipe`) and one request with its names resolved
(`RuleContext`).

The recipe arrives parsed: its vocabulary ids, ranges, constraint sets and grid length are the model's own
derived facts, computed once per recipe, so a rule only compares ids and numbers. Derived answers (grid
classes, size checks, each rule's findings) are memoised in the recipe's `memo`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iga_core import vocab
from iga_core.errors import IgaInvalid
from iga_core.recipe import Recipe

_PREDICTION_ALIASES: dict[str, str] = {
    alias.lower(): canonical
    for canonical, aliases in json.loads(
        (Path(__file__).with_name("data") / "prediction_types.json").read_text(encoding="utf-8")
    ).items()
    if not canonical.startswith("_")
    for alias in aliases
}


class GuardRecipeError(IgaInvalid):
    """The guard was handed something other than a parsed `Recipe` (a raw dict, None, ...)."""


def require_recipe(recipe: Any) -> Recipe:
    """`recipe` when it is a parsed Recipe; a raw document is refused, since the guard would be the one
    place it skipped validation."""
    if not isinstance(recipe, Recipe):
        raise GuardRecipeError(f"the guard judges a parsed Recipe, got {type(recipe).__name__}",
                               "parse the recipe document with iga_core.recipe.Recipe.from_dict first")
    return recipe


def canonical_prediction_type(name: str) -> str | None:
    """"epsilon" → "eps", "v_prediction" → "v"; None when the spelling is unknown."""
    return _PREDICTION_ALIASES.get(name.strip().lower())


@functools.lru_cache(maxsize=4096)
def resolve_sampler(name: str, dialect: str | None = None):
    """vocab.resolve_sampler, memoised: (SamplerInfo | None, UnknownName | None)."""
    try:
        return vocab.resolve_sampler(name, dialect), None
    except vocab.UnknownName as exc:
        return None, exc


@functools.lru_cache(maxsize=4096)
def resolve_schedule(name: str, dialect: str | None = None):
    """vocab.resolve_schedule, memoised: (ScheduleInfo | None, UnknownName | None)."""
    try:
        return vocab.resolve_schedule(name, dialect), None
    except vocab.UnknownName as exc:
        return None, exc


@functools.lru_cache(maxsize=8192)
def normalize(sampler: str, schedule: str | None, dialect: str | None = None, runs: str | None = None):
    """vocab.normalize, memoised; returns (sampler_info, schedule_info, error)."""
    try:
        s, sch = vocab.normalize(sampler, schedule, dialect, runs)
        return s, sch, None
    except (vocab.UnknownName, vocab.ConflictingNames) as exc:
        return None, None, exc


def runs_on(request) -> str | None:
    """Whose semantics the request's samplers run with: the request's dialect (ComfyUI's ddim is Euler), else
    the host when it runs some names differently from A1111 / Forge (`vocab.HOST_VARIANTS`: Forge Classic and
    Neo run UniPC on the schedule's sigmas, Neo's LCM has no 50-step table), else None (A1111 / Forge)."""
    host = getattr(request, "host", None)
    variant_of = vocab.HOST_VARIANTS.get(host or "")
    if variant_of is not None and request.dialect in (None, variant_of):
        return host
    return request.dialect


def unknown_host_note(request, how: str) -> str | None:
    """A request that names no host, with a sampler some WebUI runs otherwise than A1111 / Forge (Forge Classic
    and Neo: UniPC on the schedule's sigmas, DPM++ 2M SDE's Automatic, Neo's LCM): the note that it is judged
    as A1111 / Forge / reForge run it, ending in `how` ("{key}", "{title}": the first such host); None
    otherwise."""
    if request.host is not None or request.dialect not in (None, "a1111", "forge") or request.sampler is None:
        return None
    sampler, _, err = normalize(request.sampler, None, request.dialect)
    if err is not None:  # the guard reports the name itself
        return None
    variants = vocab.runs_differently_on(sampler.id)
    if not variants:
        return None
    where = " and ".join(vocab.HOST_VARIANT_TITLES[v] for v in variants)
    return (f"{where} {'run' if len(variants) > 1 else 'runs'} {request.sampler} otherwise (docs/hosts.md §5); "
            f"judged as A1111 / Forge / reForge run it: "
            + how.format(key=variants[0], title=vocab.HOST_VARIANT_TITLES[variants[0]]))


@dataclass(frozen=True)
class RuleContext:
    """One request against one recipe. Resolution of the request's names happens here, once.

    `sampler`/`schedule` are vocab infos or None (not given, unknown, or, for the schedule, ignored by a
    timestep sampler); `schedule_ignored` says the request named a schedule its sampler does not use.
    `effective_schedule` is the schedule id that shapes the step grid (a timestep sampler's own spacing).
    """

    recipe: Recipe
    request: Any  # GuardRequest
    sampler: Any = None
    schedule: Any = None
    sampler_unknown: Any = None  # vocab.UnknownName
    schedule_unknown: Any = None
    names_conflict: Any = None  # vocab.ConflictingNames: "DPM++ 2M Karras" with schedule "Exponential"
    schedule_ignored: bool = False
    prediction_type: str | None = None
    prediction_unknown: bool = False
    #: the request's naming dialect (None: A1111 / Forge); remedies are written in it
    dialect: str | None = None
    #: whose semantics its samplers run with (`runs_on`): the dialect, or a host variant (Forge Classic, Neo)
    runs: str | None = None

    @property
    def semantics(self):
        """How the request's dialect (or host) runs its sampler (vocab.SamplerSemantics), or None without one."""
        return self.sampler.in_dialect(self.runs) if self.sampler is not None else None

    @property
    def sampler_run(self):
        """The sampler the dialect really runs under the request's name (ComfyUI's ddim is Euler)."""
        sem = self.semantics
        if sem is None or sem.runs_as is None:
            return self.sampler
        return resolve_sampler(sem.runs_as)[0]

    def schedule_allowed(self, schedule_id: str) -> bool:
        """The recipe allows this schedule, or one that gives the same grid in the request's dialect (ComfyUI's
        normal for A1111's Uniform)."""
        return any(self.recipe.schedule_allowed(s) for s in same_grid_ids(schedule_id, self.dialect))

    def sampler_name(self, sampler_id: str) -> str:
        return sampler_label(sampler_id, self.dialect)

    def schedule_name(self, schedule_id: str) -> str:
        return schedule_label(schedule_id, self.dialect)


@functools.lru_cache(maxsize=1024)
def same_grid_ids(schedule_id: str, dialect: str | None) -> tuple[str, ...]:
    """`schedule_id` and the schedules that give the same grid in `dialect` (vocabulary `same_grid_as`)."""
    ids = [schedule_id]
    if dialect is not None:
        for info in vocab.all_schedules():
            if info.same_grid_as.get(dialect) == schedule_id:
                ids.append(info.id)
            if info.id == schedule_id and info.same_grid_as.get(dialect):
                ids.append(info.same_grid_as[dialect])
    return tuple(dict.fromkeys(ids))


@functools.lru_cache(maxsize=4096)
def sampler_label(sampler_id: str, dialect: str | None = None) -> str:
    """What a user of `dialect` calls the sampler (A1111 / Forge labels when None)."""
    info, _ = resolve_sampler(sampler_id)
    return vocab.spoken_name("sampler", info.id, dialect) if info is not None else sampler_id


@functools.lru_cache(maxsize=4096)
def schedule_label(schedule_id: str, dialect: str | None = None) -> str:
    """What a user of `dialect` calls the schedule: its name there, or the one with the same grid
    (A1111's Uniform is ComfyUI's normal)."""
    info, _ = resolve_schedule(schedule_id)
    return vocab.spoken_name("schedule", info.id, dialect) if info is not None else schedule_id
