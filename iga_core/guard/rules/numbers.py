"""IGA-S001 steps, IGA-S002 CFG and IGA-S003 distilled CFG outside the recipe's ranges."""

from __future__ import annotations

from iga_core.guard.rules import Observation, rule
from iga_core.guard.verdict import range_text, steps_text


def out_of_range(fmt, value: float, r) -> str:
    """The reason text, always "<value> is outside this model's range …" (hosts' logs and tests match on
    it): "… range 1–4", "… range: it uses CFG 1 only", "… range: at most 50 steps". `fmt` spells a value."""
    head = f"{fmt(value)} is outside this model's range"
    if r.min is not None and r.min == r.max:
        return f"{head}: it uses {fmt(r.min)} only"
    if r.min is None or r.max is None:
        return f"{head}: at {'most' if r.min is None else 'least'} {fmt(r.max if r.min is None else r.min)}"
    return f"{head} {range_text(r.min, r.max)}"


def nearest_steps(recipe, steps: int) -> int:
    """The step count in range closest to `steps`, preferring the recipe's allowed subsample counts."""
    candidates = [n for n in (recipe.allowed_steps or ()) if recipe.steps.contains(n)]
    if candidates:
        return min(candidates, key=lambda n: (abs(n - steps), n))
    return int(recipe.steps.clamp(steps))


@rule("IGA-S001", "soft", ("steps",),
      title="steps outside the recipe's range",
      remedy="use the nearest step count in range")
def steps_out_of_range(ctx):
    """Distilled models are trained for a few steps; far more or fewer steps waste time or leave noise."""
    recipe, steps = ctx.recipe, ctx.request.steps
    if steps is None or recipe.steps.contains(steps):
        return
    fix = nearest_steps(recipe, steps)
    yield Observation("steps", recipe.steps.bounds(), steps,
                      out_of_range(steps_text, steps, recipe.steps),
                      f"use {steps_text(fix)}", {"steps": fix})


@rule("IGA-S002", "soft", ("cfg",),
      title="CFG scale outside the recipe's range",
      remedy="use the nearest CFG in range")
def cfg_out_of_range(ctx):
    """Guidance-distilled models (Turbo, Lightning, LCM) burn out above CFG ≈ 1–2."""
    recipe, cfg = ctx.recipe, ctx.request.cfg
    if cfg is None or recipe.cfg.contains(cfg):
        return
    fix = recipe.cfg.clamp(cfg)
    yield Observation("cfg", recipe.cfg.bounds(), cfg,
                      out_of_range(lambda v: f"CFG {v:g}", cfg, recipe.cfg),
                      f"use CFG {fix:g}", {"cfg": fix})


@rule("IGA-S003", "soft", ("distilled_cfg",),
      title="distilled CFG (Flux guidance) outside the recipe's range",
      remedy="use the nearest distilled CFG in range")
def distilled_cfg_out_of_range(ctx):
    """Checked only when the recipe declares `cfg.distilled`: hosts send a distilled CFG for every model."""
    recipe, value = ctx.recipe, ctx.request.distilled_cfg
    if value is None or recipe.cfg.distilled is None or recipe.cfg.distilled.contains(value):
        return
    fix = recipe.cfg.distilled.clamp(value)
    yield Observation("distilled_cfg", recipe.cfg.distilled.bounds(), value,
                      out_of_range(lambda v: f"distilled CFG {v:g}", value, recipe.cfg.distilled),
                      f"use distilled CFG {fix:g}", {"distilled_cfg": fix})
