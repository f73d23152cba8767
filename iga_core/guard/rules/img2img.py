"""IGA-I002: img2img where steps × denoising strength is below one step.

img2img runs only the last `steps × strength` steps of the grid (A1111: int(strength·steps)+1, diffusers:
int(strength·steps)). Few-step models (Turbo: 1–4 steps) hit zero quickly: diffusers then refuses and
A1111 runs a single step from the very end of the grid, so the image barely changes.
"""

from __future__ import annotations

import math

from iga_core.guard.rules import Observation, rule
from iga_core.guard.verdict import steps_text


@rule("IGA-I002", "info", ("steps", "denoising_strength"),
      title="img2img with steps × denoising strength below 1",
      remedy="raise steps (within range) so that steps × strength ≥ 1, else raise the strength")
def img2img_too_few_steps(ctx):
    """Reported with the smallest allowed step count that gives at least one full denoising step."""
    recipe, req = ctx.recipe, ctx.request
    strength, steps = req.denoising_strength, req.steps
    if strength is None or steps is None or strength >= 1 or steps * strength >= 1:
        return
    needed = math.ceil(1 / strength - 1e-9) if strength > 0 else None  # steps giving one full step
    candidates = recipe.allowed_steps or ((needed,) if needed else ())
    options = sorted(n for n in candidates if needed and n >= needed and recipe.steps.contains(n))
    if options:
        fix, remedy = {"steps": options[0]}, f"use {steps_text(options[0])}"
    else:
        low = math.ceil(100 / steps) / 100
        fix, remedy = {"denoising_strength": min(1.0, low)}, f"use denoising strength ≥ {min(1.0, low):g}"
    yield Observation("denoising_strength", {"min": round(1 / steps, 4), "max": 1.0}, strength,
                      f"img2img at strength {strength:g} × {steps_text(steps)} runs less than one denoising step",
                      remedy, fix)
