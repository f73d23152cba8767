"""Presets: "Native" (the recipe's defaults), the recipe's own presets, and "Custom" (the user's values),
resolved into concrete parameters a host can set.

A recipe preset only lists what it changes; everything else comes from Native. Every resolved preset is
checked by the guard: one that a standard-mode guard would block or warn about (outside the recipe's
ranges, a sampler it forbids, ...) is refused with `PresetOutOfRange`, so applying a preset can never
produce a request the same recipe rejects.
"""

from __future__ import annotations

from dataclasses import dataclass

from iga_core.errors import IgaInvalid
from iga_core.guard.context import sampler_label, schedule_label
from iga_core.guard.engine import recipe_view, run_rules
from iga_core.guard.request import GuardRequest
from iga_core.guard.verdict import Finding

NATIVE = "Native"
CUSTOM = "Custom"
RESERVED = (NATIVE, CUSTOM)

#: keys of a resolved preset, in display order (request field names, so it feeds GuardRequest directly)
PARAM_KEYS = ("sampler", "schedule", "steps", "cfg", "distilled_cfg", "width", "height", "clip_skip", "vae")
#: recipe preset key -> resolved key
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


def preset_names(recipe) -> list[str]:
    """"Native", the recipe's presets in order, then "Custom"."""
    own = [p.get("name") for p in (_dict(recipe).get("presets") or []) if isinstance(p, dict)]
    return [NATIVE, *[n for n in own if isinstance(n, str) and n not in RESERVED], CUSTOM]


def _dict(recipe) -> dict:
    return recipe if isinstance(recipe, dict) else recipe.to_dict()


def native_params(recipe) -> dict:
    """The recipe's defaults as concrete parameters; fields the recipe leaves open are None."""
    view = recipe_view(recipe)
    width = height = None
    if view.declared_preferred:
        width, height = view.declared_preferred[0]
    vae = None
    if view.vae is not None:
        vae = view.vae.get("id") or ("None" if view.vae.get("embedded") else None)
    schedule = view.schedule_declared
    return {
        "sampler": view.sampler.label,
        "schedule": schedule_label(schedule.id) if schedule is not None else None,
        "steps": int(view.steps.default) if view.steps.default is not None else None,
        "cfg": view.cfg.default,
        "distilled_cfg": view.distilled.default if view.distilled is not None else None,
        "width": width, "height": height, "clip_skip": view.clip_skip, "vae": vae,
    }


def _find(recipe: dict, name: str) -> dict:
    presets = [p for p in (recipe.get("presets") or []) if isinstance(p, dict)]
    for match in (lambda p: p.get("name") == name, lambda p: str(p.get("name", "")).lower() == name.lower()):
        found = [p for p in presets if match(p)]
        if found:
            return found[0]
    raise PresetNotFound(f"this recipe has no preset named {name!r}",
                         f"choose one of: {', '.join(preset_names(recipe))}")


def _problems(recipe, params: dict) -> tuple[Finding, ...]:
    request = GuardRequest(**{k: v for k, v in params.items() if k in PARAM_KEYS and v is not None})
    return tuple(f for f in run_rules(recipe, request) if f.severity != "info")


def resolve_preset(recipe, name: str = NATIVE, *, custom: dict | None = None) -> dict:
    """Concrete parameters for preset `name`: {"preset", "description", sampler, schedule, steps, cfg,
    distilled_cfg, width, height, clip_skip, vae}. "Custom" returns only the `custom` values given (the
    host keeps the rest as the user set them). Raises PresetNotFound or PresetOutOfRange."""
    recipe = _dict(recipe)
    if not isinstance(name, str) or not name.strip():
        raise PresetNotFound("the preset name is empty", f"choose one of: {', '.join(preset_names(recipe))}")
    if name.lower() == CUSTOM.lower():
        custom = dict(custom or {})
        unknown = sorted(set(custom) - set(PARAM_KEYS))
        if unknown:
            raise PresetOutOfRange(f"unknown Custom preset field(s): {', '.join(unknown)}",
                                   f"use only: {', '.join(PARAM_KEYS)}")
        return {"preset": CUSTOM, "description": "the values set by the user", **custom}
    params = native_params(recipe)
    description = "the recipe's defaults"
    resolved_name = NATIVE
    if name.lower() != NATIVE.lower():
        preset = _find(recipe, name)
        resolved_name = preset["name"]
        description = preset.get("description", "")
        params.update({_PRESET_KEYS[k]: v for k, v in preset.items() if k in _PRESET_KEYS})
        params["sampler"] = _label("sampler", params["sampler"])
        if params.get("schedule") is not None:
            params["schedule"] = _label("schedule", params["schedule"])
    problems = _problems(recipe, params)
    if problems:
        raise PresetOutOfRange(
            f"preset {resolved_name!r} is outside its recipe: " + "; ".join(f.advice() for f in problems),
            "fix the preset (or the recipe's ranges), then run `iga validate`", problems)
    return {"preset": resolved_name, "description": description, **params}


def _label(kind: str, name: str) -> str:
    """A preset may write names in any dialect; resolved presets use the vocabulary's labels."""
    from iga_core.guard.context import resolve_sampler, resolve_schedule

    info, _ = (resolve_sampler if kind == "sampler" else resolve_schedule)(name)
    if info is None:
        return name  # left as written: the guard reports it as an unknown name (IGA-H006)
    return sampler_label(info.id) if kind == "sampler" else schedule_label(info.id)


def check_presets(recipe) -> list[PresetProblem]:
    """Every recipe preset that resolves outside its recipe (for `iga validate` and recipe authoring)."""
    recipe = _dict(recipe)
    out = []
    for name in preset_names(recipe)[:-1]:
        try:
            resolve_preset(recipe, name)
        except PresetOutOfRange as exc:
            out.append(PresetProblem(name, exc.message, exc.findings))
    for p in recipe.get("presets") or []:
        if isinstance(p, dict) and p.get("name") in RESERVED:
            out.append(PresetProblem(p["name"], f"preset name {p['name']!r} is reserved; rename the preset"))
    return out


def preset_request(params: dict) -> GuardRequest:
    """The guard request a resolved preset stands for."""
    return GuardRequest(**{k: v for k, v in params.items() if k in PARAM_KEYS and v is not None})
