"""IGA-H002: the schedule type is forbidden or not whitelisted; IGA-I003: a schedule its sampler ignores."""

from __future__ import annotations

from iga_core.guard.context import resolve_sampler, resolve_schedule
from iga_core.guard.rules import Observation, rule


def _automatic(ctx) -> bool:
    """The schedule came from "Automatic" (or none given), not from the request or a combined name."""
    if ctx.sampler is None or resolve_sampler(ctx.request.sampler, ctx.dialect)[0] is None:  # "DPM++ 2M Karras"
        return False
    named = resolve_schedule(ctx.request.schedule, ctx.dialect)[0] if ctx.request.schedule is not None else None
    return named is None or named.id == "automatic"


@rule("IGA-H002", "hard", ("sampler", "schedule", "host"),
      title="schedule type forbidden by the recipe, or not in its allow list",
      remedy="use the recipe's schedule type (or another one it allows)")
def schedule_not_allowed(ctx):
    """The effective schedule ("Automatic" resolved to the sampler's default) is in
    `constraints.forbid_schedules`, or `constraints.allow_schedules` is non-empty and lacks it. Timestep
    samplers ignore the schedule where they step on their own timesteps (A1111 / Forge: DDIM, PLMS, UniPC), so
    nothing is checked for them there; in ComfyUI they run on the schedule's sigmas and are checked. A schedule
    with the same grid in the request's dialect counts as the one the recipe names (ComfyUI's normal is
    A1111's Uniform), and the remedy is given in that dialect."""
    recipe = ctx.recipe
    if ctx.schedule is None or ctx.schedule_allowed(ctx.schedule.id):
        return
    allowed = list(dict.fromkeys(ctx.schedule_name(i) for i in recipe.allowed_schedules()))
    label = shown = ctx.schedule_name(ctx.schedule.id)
    if _automatic(ctx):
        # say what "Automatic" turned into
        shown = f"Automatic ({label} for {ctx.sampler_name(ctx.sampler.id)})"
    why = "forbidden by" if ctx.schedule.id in recipe.forbid_schedule_ids else "not among the schedules allowed by"
    if allowed:
        fix = {"schedule": allowed[0]}
        if resolve_sampler(ctx.request.sampler or "", ctx.dialect)[0] is None and ctx.sampler is not None:
            # split "DPM++ 2M Karras", or the new schedule would conflict
            fix["sampler"] = ctx.sampler_name(ctx.sampler.id)
        yield Observation("schedule", allowed, label, f"schedule type {shown} is {why} this model's recipe",
                          f"use {allowed[0]}", fix)
    else:
        yield Observation("schedule", [], label, f"schedule type {shown} is {why} this model's recipe",
                          "the recipe allows no schedule; fix its constraints", None)


@rule("IGA-I003", "info", ("sampler", "schedule", "host"),
      title="the sampler ignores the schedule type that was set",
      remedy="nothing to do; set the schedule to Automatic to make that explicit")
def schedule_ignored(ctx):
    """In A1111 and Forge, DDIM, PLMS and UniPC step on their own timestep spacing: a schedule type set next
    to them has no effect, which users rarely expect. Not said in ComfyUI, whose ddim (Euler) and uni_pc run
    on the chosen scheduler's sigmas (the vocabulary's per-dialect semantics)."""
    if not ctx.schedule_ignored:
        return
    yield Observation("schedule", "Automatic", ctx.request.schedule,
                      f"{ctx.sampler_name(ctx.sampler.id)} ignores the schedule type {ctx.request.schedule}",
                      "set the schedule type to Automatic", {"schedule": "Automatic"})
