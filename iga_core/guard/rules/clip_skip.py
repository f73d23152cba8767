"""IGA-S006: a clip skip other than the recipe's."""

from __future__ import annotations

from iga_core.guard.rules import Observation, rule


@rule("IGA-S006", "soft", ("clip_skip",),
      title="clip skip other than the recipe's",
      remedy="use the recipe's clip skip")
def other_clip_skip(ctx):
    """Models trained with clip skip 2 (many anime SD1 models) lose prompt adherence at 1, and the reverse.
    Forge resets clip skip to 1 on every page load, so this is common."""
    expected, asked = ctx.recipe.clip_skip, ctx.request.clip_skip
    if expected is None or asked is None or asked == expected:
        return
    yield Observation("clip_skip", expected, asked,
                      f"clip skip {asked} differs from this model's clip skip {expected}",
                      f"use clip skip {expected}", {"clip_skip": expected})
