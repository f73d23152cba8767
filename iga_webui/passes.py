"""Second passes: hires fix and the refiner, each checked against the recipe that governs it.

- Hires fix (txt2img): `hr_sampler_name`, `hr_scheduler`, `hr_second_pass_steps` (0 = same as the first
  pass), denoising strength, and on Forge `hr_cfg`; governed by the `hr_checkpoint_name` checkpoint's
  recipe when one is chosen, else by the first pass's (A processing.py:1166-1183, 1252-1281, 1364-1454).
  The target size is not checked: hires fix exists to go past the native size.
- Refiner: the same sampler, schedule, steps and CFG continue on `refiner_checkpoint` from
  `refiner_switch_at`, so the first pass's request is checked against the refiner's recipe too.
The glue only reads which passes run and their settings from `p`; `iga_core.guard.Pass` derives each
pass's request and `iga_core.guard.judge` folds every pass into one verdict (their fields prefixed with
the pass name), exactly as the API and `iga check` do with the passes they are given.
"""

from __future__ import annotations

from typing import Any

from iga_core.guard import GuardRequest, Pass
from iga_core.recipe import Recipe
from iga_webui import host, recipes

SAME = ("", "None", "none", "Use same sampler", "Use same scheduler", "Use same checkpoint")


def _given(value: Any) -> bool:
    return value is not None and value not in SAME


def _recipe_for(checkpoint_name: Any, fallback: Recipe | None) -> tuple[Recipe | None, str | None]:
    if not _given(checkpoint_name):
        return fallback, None
    info = host.checkpoint_by_name(str(checkpoint_name))
    if info is None:
        return None, str(checkpoint_name)  # the host itself raises "Could not find checkpoint" later
    source = recipes.lookup(info.filename)
    return (source.recipe if source is not None else None), info.name_for_extra


def hires_fields(p: Any) -> dict:
    """The hires pass's own settings; what it leaves out (None) it takes from the first pass."""
    forge_cfg = host.is_forge() and getattr(p, "hr_cfg", None) is not None
    return {
        "sampler": p.hr_sampler_name if _given(getattr(p, "hr_sampler_name", None)) else None,
        "schedule": p.hr_scheduler if _given(getattr(p, "hr_scheduler", None)) else None,
        "steps": int(p.hr_second_pass_steps) if p.hr_second_pass_steps else None,
        "cfg": float(p.hr_cfg) if forge_cfg else None,
        "denoising_strength": float(p.denoising_strength) if p.denoising_strength is not None else None,
    }


def extra_passes(p: Any, first_recipe: Recipe | None, first_request: GuardRequest) -> list[Pass]:
    """The hires and refiner passes this generation runs, each with the recipe that governs it (a pass
    without a recipe to be checked against is left out)."""
    out = []
    if getattr(p, "enable_hr", False):
        recipe, _ = _recipe_for(getattr(p, "hr_checkpoint_name", None), first_recipe)
        if recipe is not None:
            out.append(Pass.hires(recipe, first_request, **hires_fields(p)))
    refiner = getattr(p, "refiner_checkpoint", None)
    if _given(refiner):
        recipe, _ = _recipe_for(refiner, None)
        if recipe is not None:
            out.append(Pass.refiner(recipe, first_request))
    return out
