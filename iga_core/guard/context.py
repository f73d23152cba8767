"""What every rule reads: the recipe, digested once (`RecipeView`), and one request with its names resolved
(`RuleContext`).

Digesting a recipe (resolving its names through the vocabulary, collecting ranges and constraint sets) is
the only costly part of a check, so views are cached by the recipe's content; a rule then only compares
ids and numbers. Derived answers (grid classes, size checks, each rule's findings) are memoised in the
view's `memo`.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iga_core import vocab
from iga_core.errors import IgaInvalid

_PREDICTION_ALIASES: dict[str, str] = {
    alias.lower(): canonical
    for canonical, aliases in json.loads(
        (Path(__file__).with_name("data") / "prediction_types.json").read_text(encoding="utf-8")
    ).items()
    if not canonical.startswith("_")
    for alias in aliases
}


class GuardRecipeError(IgaInvalid):
    """The recipe handed to the guard cannot be read (missing or malformed fields, unknown names)."""


def canonical_prediction_type(name: str) -> str | None:
    """"epsilon" → "eps", "v_prediction" → "v"; None when the spelling is unknown."""
    return _PREDICTION_ALIASES.get(name.strip().lower())


@dataclass(frozen=True)
class Range:
    default: float | None
    min: float | None
    max: float | None

    def contains(self, value: float) -> bool:
        eps = 1e-9
        return (self.min is None or value >= self.min - eps) and (self.max is None or value <= self.max + eps)

    def clamp(self, value: float) -> float:
        if self.min is not None and value < self.min:
            return self.min
        if self.max is not None and value > self.max:
            return self.max
        return value

    def as_expected(self) -> dict:
        return {"min": self.min, "max": self.max}


def _range(block: Any, where: str) -> Range:
    if not isinstance(block, dict):
        raise GuardRecipeError(f"recipe field {where} must be an object with default/min/max",
                               f"fix {where} in the recipe, then run `iga validate`")
    values = {}
    for key in ("default", "min", "max"):
        value = block.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise GuardRecipeError(f"recipe field {where}.{key} must be a number, got {value!r}",
                                   f"fix {where}.{key} in the recipe, then run `iga validate`")
        values[key] = value
    return Range(values["default"], values["min"], values["max"])


def _size(block: Any, where: str) -> tuple[int, int]:
    if not isinstance(block, dict) or not all(isinstance(block.get(k), int) for k in ("width", "height")):
        raise GuardRecipeError(f"recipe field {where} must be {{\"width\": int, \"height\": int}}",
                               f"fix {where} in the recipe, then run `iga validate`")
    return block["width"], block["height"]


@functools.lru_cache(maxsize=4096)
def resolve_sampler(name: str):
    """vocab.resolve_sampler, memoised: (SamplerInfo | None, UnknownName | None)."""
    try:
        return vocab.resolve_sampler(name), None
    except vocab.UnknownName as exc:
        return None, exc


@functools.lru_cache(maxsize=4096)
def resolve_schedule(name: str):
    """vocab.resolve_schedule, memoised: (ScheduleInfo | None, UnknownName | None)."""
    try:
        return vocab.resolve_schedule(name), None
    except vocab.UnknownName as exc:
        return None, exc


@functools.lru_cache(maxsize=8192)
def normalize(sampler: str, schedule: str | None):
    """vocab.normalize, memoised; returns (sampler_info, schedule_info, error)."""
    try:
        s, sch = vocab.normalize(sampler, schedule)
        return s, sch, None
    except (vocab.UnknownName, vocab.ConflictingNames) as exc:
        return None, None, exc


def _resolve_ids(names: Any, kind: str, where: str) -> frozenset[str]:
    if names is None:
        return frozenset()
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise GuardRecipeError(f"recipe field {where} must be a list of names",
                               f"fix {where} in the recipe, then run `iga validate`")
    resolve = resolve_sampler if kind == "sampler" else resolve_schedule
    ids = set()
    for name in names:
        info, err = resolve(name)
        if err is not None:
            raise GuardRecipeError(f"recipe field {where} names an unknown {kind} {name!r}",
                                   err.hint or f"run `iga vocab` to list known {kind} names")
        ids.add(info.id)
    return frozenset(ids)


@dataclass
class RecipeView:
    """The recipe, digested for rules. Names are vocabulary ids; absent optional fields are None/empty."""

    recipe: dict
    sampler: Any  # vocab.SamplerInfo of the recipe's sampler
    schedule: Any  # vocab.ScheduleInfo of the recipe's schedule (None for timestep samplers)
    schedule_declared: Any  # the recipe's scheduler.name resolved on its own (kept even for timestep samplers)
    prediction_type: str
    steps: Range
    cfg: Range
    distilled: Range | None
    forbid_samplers: frozenset[str]
    allow_samplers: frozenset[str]
    forbid_schedules: frozenset[str]
    allow_schedules: frozenset[str]
    scheduler: dict
    vae: dict | None
    clip_skip: int | None
    preferred: tuple[tuple[int, int], ...]  # resolution.preferred plus the presets' sizes
    declared_preferred: tuple[tuple[int, int], ...]  # resolution.preferred only
    max_size: tuple[int | None, int | None] | None
    allowed_steps: tuple[int, ...] | None
    memo: dict = field(default_factory=dict)  # derived per-recipe answers (grid classes, size checks)

    def sampler_allowed(self, sampler_id: str) -> bool:
        if sampler_id in self.forbid_samplers:
            return False
        return not self.allow_samplers or sampler_id in self.allow_samplers or sampler_id == self.sampler.id

    def schedule_allowed(self, schedule_id: str) -> bool:
        if schedule_id in self.forbid_schedules:
            return False
        own = self.schedule.id if self.schedule is not None else None
        return not self.allow_schedules or schedule_id in self.allow_schedules or schedule_id == own

    def allowed_samplers(self) -> list[str]:
        """Ids of samplers the recipe names as allowed, its own first (for remedies)."""
        ids = [self.sampler.id, *sorted(self.allow_samplers - {self.sampler.id})]
        return [i for i in ids if self.sampler_allowed(i)]

    def allowed_schedules(self) -> list[str]:
        own = [self.schedule.id] if self.schedule is not None else []
        ids = own + sorted(self.allow_schedules - set(own))
        return [i for i in ids if self.schedule_allowed(i)]


def build_view(recipe: dict) -> RecipeView:
    """Digest a recipe dict; raises GuardRecipeError (with a hint) when a field the guard reads is broken."""
    if not isinstance(recipe, dict):
        raise GuardRecipeError("the recipe must be a JSON object", "pass the parsed recipe dict")
    sampler_block = recipe.get("sampler")
    scheduler = recipe.get("scheduler")
    if not isinstance(sampler_block, dict) or not isinstance(sampler_block.get("name"), str):
        raise GuardRecipeError("the recipe has no sampler.name", "add sampler.name, then run `iga validate`")
    if not isinstance(scheduler, dict) or not isinstance(scheduler.get("name"), str):
        raise GuardRecipeError("the recipe has no scheduler.name", "add scheduler.name, then run `iga validate`")
    sampler, schedule, err = normalize(sampler_block["name"], scheduler["name"])
    if err is not None:
        raise GuardRecipeError(f"the recipe's sampler/scheduler names are unknown: {err.message}",
                               err.hint or "run `iga vocab` to list known names")
    declared, err = resolve_schedule(scheduler["name"])
    if err is not None:
        raise GuardRecipeError(f"the recipe's scheduler.name is unknown: {err.message}",
                               err.hint or "run `iga vocab` to list known names")
    prediction = recipe.get("prediction_type")
    if not isinstance(prediction, str) or canonical_prediction_type(prediction) is None:
        raise GuardRecipeError(f"the recipe's prediction_type {prediction!r} is not eps, v, x0 or flow",
                               "fix prediction_type, then run `iga validate`")
    cfg_block = recipe.get("cfg")
    cfg = _range(cfg_block, "cfg")
    distilled = _range(cfg_block["distilled"], "cfg.distilled") if cfg_block.get("distilled") is not None else None
    constraints = recipe.get("constraints") or {}
    if not isinstance(constraints, dict):
        raise GuardRecipeError("recipe field constraints must be an object", "fix constraints, then run `iga validate`")
    resolution = recipe.get("resolution") or {}
    declared_sizes = tuple(_size(p, "resolution.preferred[]") for p in resolution.get("preferred") or ())
    # a preset's size is the author saying "this size is typical too"
    preset_sizes = tuple((p["width"], p["height"]) for p in recipe.get("presets") or ()
                         if isinstance(p, dict) and isinstance(p.get("width"), int)
                         and isinstance(p.get("height"), int))
    preferred = tuple(dict.fromkeys(declared_sizes + preset_sizes)) if declared_sizes else ()
    max_block = resolution.get("max")
    max_size = None
    if max_block is not None:
        if not isinstance(max_block, dict):
            raise GuardRecipeError("resolution.max must be an object", "fix resolution.max, then run `iga validate`")
        max_size = (max_block.get("width"), max_block.get("height"))
    subsample = scheduler.get("subsample") or {}
    allowed_steps = subsample.get("allowed_steps") if isinstance(subsample, dict) else None
    vae = recipe.get("vae")
    clip_skip = recipe.get("clip_skip")
    return RecipeView(
        recipe=copy.deepcopy(recipe), sampler=sampler, schedule=schedule, schedule_declared=declared,
        prediction_type=canonical_prediction_type(prediction), steps=_range(recipe.get("steps"), "steps"),
        cfg=cfg, distilled=distilled,
        forbid_samplers=_resolve_ids(constraints.get("forbid_samplers"), "sampler", "constraints.forbid_samplers"),
        allow_samplers=_resolve_ids(constraints.get("allow_samplers"), "sampler", "constraints.allow_samplers"),
        forbid_schedules=_resolve_ids(constraints.get("forbid_schedules"), "schedule",
                                      "constraints.forbid_schedules"),
        allow_schedules=_resolve_ids(constraints.get("allow_schedules"), "schedule", "constraints.allow_schedules"),
        scheduler=scheduler, vae=vae if isinstance(vae, dict) else None,
        clip_skip=clip_skip if isinstance(clip_skip, int) else None,
        preferred=preferred, declared_preferred=declared_sizes, max_size=max_size,
        allowed_steps=tuple(allowed_steps) if isinstance(allowed_steps, list) else None,
    )


@dataclass(frozen=True)
class RuleContext:
    """One request against one recipe view. Resolution of the request's names happens here, once.

    `sampler`/`schedule` are vocab infos or None (not given, unknown, or, for the schedule, ignored by a
    timestep sampler); `schedule_ignored` says the request named a schedule its sampler does not use.
    `effective_schedule` is the schedule id that shapes the step grid (a timestep sampler's own spacing).
    """

    view: RecipeView
    request: Any  # GuardRequest
    sampler: Any = None
    schedule: Any = None
    sampler_unknown: Any = None  # vocab.UnknownName
    schedule_unknown: Any = None
    names_conflict: Any = None  # vocab.ConflictingNames: "DPM++ 2M Karras" with schedule "Exponential"
    schedule_ignored: bool = False
    prediction_type: str | None = None
    prediction_unknown: bool = False


def sampler_label(sampler_id: str) -> str:
    info, _ = resolve_sampler(sampler_id)
    return info.label if info is not None else sampler_id


def schedule_label(schedule_id: str) -> str:
    info, _ = resolve_schedule(schedule_id)
    return info.label if info is not None else schedule_id
