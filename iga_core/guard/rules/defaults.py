"""IGA-I001: an allowed value that differs from the recipe's default (recorded, never blocks)."""

from __future__ import annotations

from iga_core.guard.context import schedule_label
from iga_core.guard.rules import Observation, rule
from iga_core.guard.verdict import steps_text


@rule("IGA-I001", "info", ("sampler", "schedule", "steps", "cfg"),
      title="allowed value that differs from the recipe's default",
      remedy="nothing required; the Native preset restores the default")
def differs_from_default(ctx):
    """Reported per field only when the value is allowed (a disallowed value has its own finding), so
    audits can tell "native" runs from tuned ones."""
    view, req = ctx.view, ctx.request
    if ctx.sampler is not None and ctx.sampler.id != view.sampler.id and view.sampler_allowed(ctx.sampler.id):
        yield Observation("sampler", view.sampler.label, ctx.sampler.label,
                          f"sampler {ctx.sampler.label} differs from the recipe's {view.sampler.label}",
                          f"use {view.sampler.label} for the native result", {"sampler": view.sampler.label})
    if (ctx.schedule is not None and view.schedule is not None and ctx.schedule.id != view.schedule.id
            and view.schedule_allowed(ctx.schedule.id)):
        own = schedule_label(view.schedule.id)
        yield Observation("schedule", own, ctx.schedule.label,
                          f"schedule type {ctx.schedule.label} differs from the recipe's {own}",
                          f"use {own} for the native result", {"schedule": own})
    default = view.steps.default
    if req.steps is not None and default is not None and req.steps != default and view.steps.contains(req.steps):
        yield Observation("steps", default, req.steps, f"{steps_text(req.steps)} differs from the recipe's {default:g}",
                          f"use {steps_text(default)} for the native result", {"steps": int(default)})
    default = view.cfg.default
    if req.cfg is not None and default is not None and abs(req.cfg - default) > 1e-9 and view.cfg.contains(req.cfg):
        yield Observation("cfg", default, req.cfg, f"CFG {req.cfg:g} differs from the recipe's {default:g}",
                          f"use CFG {default:g} for the native result", {"cfg": default})
