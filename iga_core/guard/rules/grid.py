"""IGA-H004: the (schedule, steps) pair gives a step grid outside the recipe's allowed subsampling.

Distilled models are trained on a few fixed timesteps (DMD2: 999, 749, 499, 249; Lightning: trailing
spacing). `schedules.classify_grid` says whether a request's grid is the recipe's canonical grid, a
monotone subsample of it, or off-grid; only off-grid is a finding. Classifications and remedies are
memoised per (schedule, steps) in the recipe view, since a recipe meets the same few pairs again and again.
"""

from __future__ import annotations

from iga_core.guard.context import GuardRecipeError, schedule_label
from iga_core.guard.rules import Observation, rule
from iga_core.schedules import ScheduleInputError, classify_grid

#: step counts tried when looking for the nearest on-grid remedy
_MAX_REMEDY_STEPS = 200


def effective_schedule_id(ctx) -> str | None:
    """The schedule that shapes the grid: a timestep sampler's own spacing, else the resolved schedule."""
    if ctx.sampler is not None and ctx.sampler.timestep_based:
        if ctx.sampler.id == ctx.view.sampler.id:
            # the recipe itself names this timestep sampler (Hyper-SD: DDIM trailing); whether a host's
            # implementation reaches the recipe's grid is auto-configure's question, not the request's
            return None
        return ctx.sampler.grid_schedule
    if ctx.schedule is not None:
        return ctx.schedule.id
    if ctx.sampler is None and ctx.schedule_unknown is None and ctx.request.schedule is None:
        # no sampler and no schedule in the request: the recipe's own schedule
        return ctx.view.schedule.id if ctx.view.schedule is not None else None
    return None


def classify(view, schedule_id: str, steps: int):
    key = (schedule_id, steps)
    match = view.grid_memo.get(key)
    if match is None:
        try:
            match = classify_grid(view.scheduler, schedule_id, steps, architecture=view.recipe.get("architecture"))
        except ScheduleInputError as exc:  # the recipe's grid itself is malformed
            raise GuardRecipeError(f"the recipe's step grid cannot be used: {exc.message}", exc.hint) from None
        view.grid_memo[key] = match
    return match


def _on_grid(view, schedule_id: str, steps: int) -> bool:
    return classify(view, schedule_id, steps).kind != "off_grid"


def _candidates(view, steps: int) -> list[int]:
    """Step counts to try for a remedy, nearest first, in-range ones before out-of-range ones."""
    pool = set(view.allowed_steps or ())
    canonical = view.scheduler.get("canonical_steps")
    if isinstance(canonical, int):
        pool.add(canonical)
    if view.steps.default is not None:
        pool.add(int(view.steps.default))
    upper = int(view.steps.max) if view.steps.max is not None else max(pool | {steps})
    pool.update(range(1, min(upper, _MAX_REMEDY_STEPS) + 1))
    return sorted(pool, key=lambda n: (not view.steps.contains(n), abs(n - steps), n))


def _remedy(view, schedule_id: str, steps: int, schedule_was_asked: bool) -> tuple[str, dict | None]:
    memo_key = ("remedy", schedule_id, steps)
    if memo_key in view.grid_memo:
        return view.grid_memo[memo_key]
    result = ("use the recipe's schedule and step count", None)
    if schedule_was_asked:
        for n in _candidates(view, steps):
            if n != steps and _on_grid(view, schedule_id, n):
                result = (f"use {n} steps", {"steps": n})
                break
    if result[1] is None and view.schedule is not None:
        own = view.schedule.id
        for n in _candidates(view, steps):
            if _on_grid(view, own, n):
                label = schedule_label(own)
                fix = {"sampler": view.sampler.label, "schedule": label, "steps": n}
                result = (f"use {view.sampler.label} with {label} at {n} steps", fix)
                break
    view.grid_memo[memo_key] = result
    return result


@rule("IGA-H004", "hard", ("sampler", "schedule", "steps"),
      title="step grid outside the recipe's allowed subsampling",
      remedy="use an allowed step count for this schedule, or the recipe's schedule and steps")
def off_grid(ctx):
    """The sigmas/timesteps that (schedule, steps) produce are neither the recipe's canonical grid nor a
    subsample it allows (`scheduler.subsample`); timestep samplers are judged by their own spacing."""
    steps = ctx.request.steps
    if steps is None:
        return
    schedule_id = effective_schedule_id(ctx)
    if schedule_id is None:
        return
    match = classify(ctx.view, schedule_id, steps)
    if match.kind != "off_grid":
        return
    remedy, fix = _remedy(ctx.view, schedule_id, steps, ctx.sampler is not None or ctx.schedule is not None)
    where = schedule_label(schedule_id)
    yield Observation("steps", "the recipe's grid or an allowed subsample", {"schedule": where, "steps": steps},
                      f"{where} at {steps} steps is off this model's step grid ({match.reason})", remedy, fix)
