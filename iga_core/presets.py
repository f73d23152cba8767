"""Presets: "Native" (the recipe's defaults), the recipe's own presets, and "Custom" (the user's values),
resolved into concrete parameters a host can set. A recipe with pipelines (schema 1.1.0) has a group of
presets per pipeline (`preset_groups`): a pipeline's name stands for its defaults, and every preset is
resolved and checked against the pipeline it belongs to.

A recipe preset only lists what it changes; everything else comes from Native. Every resolved preset is
checked by the guard: one that a standard-mode guard would block or warn about (outside the recipe's
ranges, a sampler it forbids, ...) is refused with `PresetOutOfRange`, so applying a preset can never
produce a request the same recipe rejects.
"""

from __future__ import annotations

from dataclasses import dataclass

from iga_core.errors import IgaInvalid
from iga_core.guard.context import (
    require_recipe,
    resolve_sampler,
    resolve_schedule,
    sampler_label,
    schedule_label,
)
from iga_core.guard.engine import run_rules
from iga_core.guard.request import GuardRequest
from iga_core.guard.verdict import Finding
from iga_core.recipe import DEFAULT_PIPELINE, Preset, Recipe

NATIVE = "Native"
CUSTOM = "Custom"
RESERVED = (NATIVE, CUSTOM)

#: keys of a resolved preset, in display order (request field names, so it feeds GuardRequest directly)
PARAM_KEYS = ("sampler", "schedule", "steps", "cfg", "distilled_cfg", "width", "height", "clip_skip", "vae")
#: recipe preset field -> resolved key
_PRESET_KEYS = {"sampler": "sampler", "scheduler": "schedule", "steps": "steps", "cfg": "cfg",
                "distilled_cfg": "distilled_cfg", "width": "width", "height": "height"}


class PresetNotFound(IgaInvalid):
    """The recipe has no preset of that name."""


class PresetOutOfRange(IgaInvalid):
    """A preset asks for values its own recipe does not allow."""

    def __init__(self, message: str, hint: str = "", findings: tuple[Finding, ...] = ()) -> None:
        super().__init__(message, hint)
        self.findings = findings

    def to_dict(self) -> dict:
        return {**super().to_dict(), "findings": [f.to_dict() for f in self.findings]}


@dataclass(frozen=True)
class PresetProblem:
    preset: str
    message: str
    findings: tuple[Finding, ...] = ()


def preset_groups(recipe: Recipe) -> list[tuple[str, list[str]]]:
    """(pipeline name, its preset names) per pipeline, in the recipe's order: the top-level pipeline
    ("default") with Native and the top-level presets, then each of `pipelines` with its own name (its
    defaults) and its presets. A recipe without pipelines has one group."""
    recipe = require_recipe(recipe)
    groups = [(DEFAULT_PIPELINE, [NATIVE, *(p.name for p in recipe.presets or () if p.name not in RESERVED)])]
    for pl in recipe.pipelines or ():
        groups.append((pl.name, [pl.name, *(p.name for p in pl.presets or ())]))
    return groups


def preset_names(recipe: Recipe) -> list[str]:
    """"Native", the recipe's presets in order (a recipe with pipelines: each pipeline's name and presets
    after the top-level ones, `preset_groups`), then "Custom"."""
    return [*(name for _, names in preset_groups(recipe) for name in names), CUSTOM]


def pipeline_recipe(recipe: Recipe, preset: str | None) -> Recipe:
    """The recipe as the pipeline that owns `preset` runs it (the recipe itself when it has one pipeline,
    or when no preset of that name exists: resolving it then says so)."""
    recipe = require_recipe(recipe)
    if not recipe.pipelines or not preset:
        return recipe
    owner = recipe.pipeline_of(preset)
    return recipe.pipeline_view(owner) if owner is not None else recipe


def native_params(recipe: Recipe) -> dict:
    """The recipe's defaults as concrete parameters; fields the recipe leaves open are None."""
    recipe = require_recipe(recipe)
    width = height = None
    if recipe.declared_sizes:
        width, height = recipe.declared_sizes[0]
    vae = None
    if recipe.vae is not None:
        vae = recipe.vae.id or ("None" if recipe.vae.embedded else None)
    distilled = recipe.cfg.distilled
    return {
        "sampler": recipe.sampler_info.label,
        "schedule": schedule_label(recipe.schedule_declared.id),
        "steps": int(recipe.steps.default),
        "cfg": recipe.cfg.default,
        "distilled_cfg": distilled.default if distilled is not None else None,
        "width": width, "height": height, "clip_skip": recipe.clip_skip, "vae": vae,
    }


#: request fields a check (`iga check`, `POST /iga/v1/check`) takes from the recipe's defaults when the caller
#: leaves them out: the step count, since the hard grid rules judge sampler, schedule and steps together, and
#: a request without one would let any sampler through ("allowed") that the same request at the recipe's own
#: step count is refused. Generate always has a step count; a check should judge one too.
DEFAULTED_WHEN_MISSING = ("steps",)
#: fields judged together: a check that gives one side of the size gets the other from the recipe's default,
#: as Generate does for a txt2img request that omits it (seen in a real Forge Neo: `/check` with width 1088
#: alone said allowed, the same txt2img body was refused with IGA-H005); a check with no size judges none
PAIRED_WHEN_MISSING = (("width", "height"),)


def missing_defaults(recipe: Recipe, values: dict) -> dict:
    """{field: the recipe's default} for each field of `DEFAULTED_WHEN_MISSING` that `values` leaves out
    (or sets to None), and for the missing side of a pair in `PAIRED_WHEN_MISSING` whose other side it gives;
    the caller adds them to the request and says which it added."""
    native = native_params(recipe)
    missing = [k for k in DEFAULTED_WHEN_MISSING if values.get(k) is None]
    for pair in PAIRED_WHEN_MISSING:
        absent = [k for k in pair if values.get(k) is None]
        if len(absent) < len(pair):
            missing.extend(absent)
    return {k: native[k] for k in missing if native.get(k) is not None}


def _find(recipe: Recipe, name: str, full: Recipe | None = None) -> Preset:
    presets = recipe.presets or ()
    for match in (lambda p: p.name == name, lambda p: p.name.lower() == name.lower()):
        found = [p for p in presets if match(p)]
        if found:
            return found[0]
    raise PresetNotFound(f"this recipe has no preset named {name!r}",
                         f"choose one of: {', '.join(preset_names(full or recipe))}")


def _host_grid_of_own_sampler(recipe: Recipe, request: GuardRequest, finding: Finding) -> bool:
    """An IGA-H004 on the recipe's own sampler where A1111 / Forge implement it with their own grid (DDIM's
    and UniPC's timesteps, LCM's 50-step table): the preset says what the recipe means; that a host's
    implementation misses the grid is auto-configure's finding (IGA-C003, with a substitute that lands on
    it) and the guard's on the request that would run it, not a fault of the preset."""
    if finding.rule_id != "IGA-H004":
        return False
    sampler = resolve_sampler(request.sampler)[0] if request.sampler else recipe.sampler_info
    return (sampler is not None and sampler.id == recipe.sampler_info.id
            and (sampler.timestep_based or bool(sampler.grid_options.get("denoiser"))))


def _problems(recipe: Recipe, params: dict) -> tuple[Finding, ...]:
    request = GuardRequest(**{k: v for k, v in params.items() if k in PARAM_KEYS and v is not None})
    return tuple(f for f in run_rules(recipe, request)
                 if f.severity != "info" and not _host_grid_of_own_sampler(recipe, request, f))


def resolve_preset(recipe: Recipe, name: str = NATIVE, *, custom: dict | None = None) -> dict:
    """Concrete parameters for preset `name`: {"preset", "description", sampler, schedule, steps, cfg,
    distilled_cfg, width, height, clip_skip, vae}. "Custom" returns only the `custom` values given (the
    host keeps the rest as the user set them). Raises PresetNotFound or PresetOutOfRange."""
    recipe = require_recipe(recipe)
    if not isinstance(name, str) or not name.strip():
        raise PresetNotFound("the preset name is empty", f"choose one of: {', '.join(preset_names(recipe))}")
    if name.lower() == CUSTOM.lower():
        custom = dict(custom or {})
        unknown = sorted(set(custom) - set(PARAM_KEYS))
        if unknown:
            raise PresetOutOfRange(f"unknown Custom preset field(s): {', '.join(unknown)}",
                                   f"use only: {', '.join(PARAM_KEYS)}")
        return {"preset": CUSTOM, "description": "the values set by the user", **custom}
    # a pure function of the recipe and the name: answered once per recipe (its memo), a copy each time
    memo_key = ("resolve_preset", name)
    if (known := recipe.memo.get(memo_key)) is not None:
        return dict(known)
    owner = recipe.pipeline_of(name) if recipe.pipelines else None
    full, recipe = recipe, pipeline_recipe(recipe, name)
    params = native_params(recipe)
    description = "the recipe's defaults"
    resolved_name = NATIVE
    own_pipeline = next((pl for pl in full.pipelines or () if pl.name.strip().lower() == name.strip().lower()), None)
    if own_pipeline is not None:  # a pipeline's name: its defaults
        resolved_name, description = own_pipeline.name, own_pipeline.description or f"the {own_pipeline.name} defaults"
    elif name.lower() != NATIVE.lower():
        preset = _find(recipe, name, full)
        resolved_name = preset.name
        description = preset.description or ""
        params.update({key: getattr(preset, attr) for attr, key in _PRESET_KEYS.items()
                       if getattr(preset, attr) is not None})
        params["sampler"] = _label("sampler", params["sampler"])
        if params.get("schedule") is not None:
            params["schedule"] = _label("schedule", params["schedule"])
    problems = _problems(recipe, params)  # against the preset's own pipeline
    if problems:
        raise PresetOutOfRange(
            f"preset {resolved_name!r} is outside its recipe: " + "; ".join(f.advice() for f in problems),
            "fix the preset (or the recipe's ranges), then run `iga validate`", problems)
    full.memo[memo_key] = {"preset": resolved_name, "description": description, **params,
                           **({"pipeline": owner} if owner is not None else {})}
    return dict(full.memo[memo_key])


def _label(kind: str, name: str) -> str:
    """A preset may write names in any dialect; resolved presets use the vocabulary's labels."""
    info, _ = (resolve_sampler if kind == "sampler" else resolve_schedule)(name)
    if info is None:
        return name  # left as written: the guard reports it as an unknown name (IGA-H006)
    return sampler_label(info.id) if kind == "sampler" else schedule_label(info.id)


def check_presets(recipe: Recipe) -> list[PresetProblem]:
    """Every recipe preset that resolves outside its recipe (for `iga validate` and recipe authoring).
    Reserved preset names never get this far: validation refuses them."""
    out = []
    for name in preset_names(recipe)[:-1]:
        try:
            resolve_preset(recipe, name)
        except PresetOutOfRange as exc:
            out.append(PresetProblem(name, exc.message, exc.findings))
    return out


def preset_request(params: dict) -> GuardRequest:
    """The guard request a resolved preset stands for."""
    return GuardRequest(**{k: v for k, v in params.items() if k in PARAM_KEYS and v is not None})
