"""IGA-H005: a size above the recipe's maximum; IGA-S005: a size far from every preferred size.

"Typical" means: some preferred size has a pixel area within ×0.8–×1.25 of the request's and an aspect
ratio within ×1/1.35–×1.35 of it, so SDXL's usual buckets (1152×896, 896×1152) pass a 1024×1024 recipe
while 512×512 (wrong scale) or 1536×640 (unlisted aspect) are reported.
"""

from __future__ import annotations

import math

from iga_core.guard.rules import Observation, rule

AREA_TOLERANCE = 1.25
ASPECT_TOLERANCE = 1.35
SIZE_STEP = 8  # both hosts' width/height sliders move in steps of 8


def _size(w: int, h: int) -> dict:
    return {"width": w, "height": h}


def fit_inside(width: int, height: int, max_w: int | None, max_h: int | None) -> tuple[int, int]:
    """The largest size with the same aspect that fits the maximum, rounded down to the slider step."""
    scale = min((max_w / width) if max_w else math.inf, (max_h / height) if max_h else math.inf, 1.0)
    w = max(SIZE_STEP, int(width * scale) // SIZE_STEP * SIZE_STEP)
    h = max(SIZE_STEP, int(height * scale) // SIZE_STEP * SIZE_STEP)
    return min(w, max_w or w), min(h, max_h or h)


@rule("IGA-H005", "hard", ("width", "height"),
      title="width or height above the recipe's maximum",
      remedy="use the same aspect scaled down to fit (rounded to 8 px), or the closest preferred size")
def above_max_resolution(ctx):
    """`resolution.max` bounds each side separately; larger sizes tile or duplicate subjects and can run
    out of memory."""
    req, recipe = ctx.request, ctx.recipe
    if recipe.max_size is None or req.width is None or req.height is None:
        return
    max_w, max_h = recipe.max_size
    if (max_w is None or req.width <= max_w) and (max_h is None or req.height <= max_h):
        return
    w, h = fit_inside(req.width, req.height, max_w, max_h)
    if recipe.preferred_sizes and not _typical_in_recipe(recipe, w, h):
        # scaling alone lands on a size the model is not made for: offer the closest preferred one instead
        fitting = [p for p in recipe.preferred_sizes if (max_w is None or p[0] <= max_w) and (max_h is None or p[1] <= max_h)]
        if fitting:
            w, h = min(fitting, key=lambda p: _distance(req.width, req.height, *p))
    limit = f"{max_w or '∞'}×{max_h or '∞'}"
    yield Observation("size", {"max": _size(max_w, max_h)}, _size(req.width, req.height),
                      f"{req.width}×{req.height} is above this model's maximum size {limit}",
                      f"use {w}×{h}", {"width": w, "height": h})


def _distance(req_w: int, req_h: int, w: int, h: int) -> tuple[float, float]:
    aspect = abs(math.log((req_w / req_h) / (w / h)))
    area = abs(math.log((req_w * req_h) / (w * h)))
    return aspect, area


_LOG_ASPECT = math.log(ASPECT_TOLERANCE) + 1e-12
_LOG_AREA = math.log(AREA_TOLERANCE) + 1e-12


def is_typical(width: int, height: int, preferred) -> bool:
    for w, h in preferred:
        aspect, area = _distance(width, height, w, h)
        if aspect <= _LOG_ASPECT and area <= _LOG_AREA:
            return True
    return False


def _typical_in_recipe(recipe, width: int, height: int) -> bool:
    key = ("typical", width, height)
    if key not in recipe.memo:
        recipe.memo[key] = is_typical(width, height, recipe.preferred_sizes)
    return recipe.memo[key]


@rule("IGA-S005", "soft", ("width", "height"),
      title="size far from every preferred size (area or aspect)",
      remedy="use the preferred size closest in aspect")
def atypical_resolution(ctx):
    """Compared with `resolution.preferred`: the area must be within ×0.8–×1.25 and the aspect ratio within
    ×1/1.35–×1.35 of one preferred size. Models trained at one scale compose badly far from it."""
    req, recipe = ctx.request, ctx.recipe
    if not recipe.preferred_sizes or req.width is None or req.height is None:
        return
    if _typical_in_recipe(recipe, req.width, req.height):
        return
    w, h = min(recipe.preferred_sizes, key=lambda p: _distance(req.width, req.height, *p))
    yield Observation("size", [_size(*p) for p in recipe.preferred_sizes], _size(req.width, req.height),
                      f"{req.width}×{req.height} is an atypical size for this model",
                      f"use {w}×{h}", {"width": w, "height": h})
