"""IGA-H001: the request's sampler is forbidden, or missing from the recipe's whitelist."""

from __future__ import annotations

from iga_core.guard.rules import Observation, rule


@rule("IGA-H001", "hard", ("sampler",),
      title="sampler forbidden by the recipe, or not in its allow list",
      remedy="use the recipe's sampler (or another one it allows)")
def sampler_not_allowed(ctx):
    """`constraints.forbid_samplers` names the sampler, or `constraints.allow_samplers` is non-empty and does
    not (the recipe's own sampler is always allowed unless forbidden). A name the request's dialect runs as
    another sampler is judged as that one (ComfyUI's ddim is Euler). Remedies use the dialect's names."""
    recipe = ctx.recipe
    if ctx.sampler is None or recipe.sampler_allowed(ctx.sampler.id):
        return
    run = ctx.sampler_run
    if run is not None and run.id != ctx.sampler.id and recipe.sampler_allowed(run.id):
        return
    allowed = [ctx.sampler_name(i) for i in recipe.allowed_samplers()]
    label = ctx.sampler_name(ctx.sampler.id)
    why = "forbidden by" if ctx.sampler.id in recipe.forbid_sampler_ids else "not among the samplers allowed by"
    if allowed:
        yield Observation("sampler", allowed, label, f"{label} is {why} this model's recipe",
                          f"use {allowed[0]}", {"sampler": allowed[0]})
    else:
        yield Observation("sampler", [], label, f"{label} is {why} this model's recipe",
                          "the recipe allows no sampler; fix its constraints", None)
