"""IGA-I001: an allowed value that differs from the recipe's default (recorded, never blocks)."""

from __future__ import annotations

from iga_core.guard.context import same_grid_ids
from iga_core.guard.rules import Observation, rule
from iga_core.guard.verdict import steps_text


@rule("IGA-I001", "info", ("sampler", "schedule", "steps", "cfg", "host"),
      title="allowed value that differs from the recipe's default",
      remedy="nothing required; the Native preset restores the default")
def differs_from_default(ctx):
    """Reported per field only when the value is allowed (a disallowed value has its own finding), so
    audits can tell "native" runs from tuned ones."""
    recipe, req = ctx.recipe, ctx.request
    run = ctx.sampler_run  # ComfyUI's ddim runs Euler: the native sampler when the recipe's is Euler
    if run is not None and run.id != recipe.sampler_info.id and recipe.sampler_allowed(run.id):
        own, asked = ctx.sampler_name(recipe.sampler_info.id), ctx.sampler_name(ctx.sampler.id)
        yield Observation("sampler", own, asked, f"sampler {asked} differs from the recipe's {own}",
                          f"use {own} for the native result", {"sampler": own})
    if (ctx.schedule is not None and recipe.schedule_info is not None
            and recipe.schedule_info.id not in same_grid_ids(ctx.schedule.id, ctx.dialect)
            and ctx.schedule_allowed(ctx.schedule.id)):
        own, asked = ctx.schedule_name(recipe.schedule_info.id), ctx.schedule_name(ctx.schedule.id)
        yield Observation("schedule", own, asked, f"schedule type {asked} differs from the recipe's {own}",
                          f"use {own} for the native result", {"schedule": own})
    default = recipe.steps.default
    if req.steps is not None and default is not None and req.steps != default and recipe.steps.contains(req.steps):
        yield Observation("steps", default, req.steps, f"{steps_text(req.steps)} differs from the recipe's {default:g}",
                          f"use {steps_text(default)} for the native result", {"steps": int(default)})
    default = recipe.cfg.default
    if req.cfg is not None and default is not None and abs(req.cfg - default) > 1e-9 and recipe.cfg.contains(req.cfg):
        yield Observation("cfg", default, req.cfg, f"CFG {req.cfg:g} differs from the recipe's {default:g}",
                          f"use CFG {default:g} for the native result", {"cfg": default})
