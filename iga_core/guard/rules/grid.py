"""IGA-H004: the (schedule, steps) pair gives a step grid outside the recipe's allowed subsampling.

Distilled models are trained on a few fixed timesteps (DMD2: 999, 749, 499, 249; Lightning: trailing
spacing). `schedules.classify_grid` says whether a request's grid is the recipe's canonical grid, a
monotone subsample of it, or off-grid; only off-grid is a finding. Classifications and remedies are
memoised per (schedule, steps) on the recipe, since a recipe meets the same few pairs again and again.
"""

from __future__ import annotations

from dataclasses import dataclass

from iga_core.guard.context import schedule_label
from iga_core.guard.rules import Observation, rule
from iga_core.guard.verdict import steps_text
from iga_core.schedules import ScheduleInputError, ScheduleParamError, classify_grid

#: step counts tried when looking for the nearest on-grid remedy
_MAX_REMEDY_STEPS = 200


def effective_schedule_id(ctx) -> str | None:
    """The schedule that shapes the grid: a timestep sampler's own spacing, else the resolved schedule."""
    if ctx.sampler is not None and ctx.sampler.timestep_based:
        if ctx.sampler.id == ctx.recipe.sampler_info.id:
            # the recipe itself names this timestep sampler (Hyper-SD: DDIM trailing); whether a host's
            # implementation reaches the recipe's grid is auto-configure's question, not the request's
            return None
        return ctx.sampler.grid_schedule
    if ctx.schedule is not None:
        return ctx.schedule.id
    if ctx.sampler is None and ctx.schedule_unknown is None and ctx.request.schedule is None:
        # no sampler and no schedule in the request: the recipe's own schedule
        return ctx.recipe.schedule_info.id if ctx.recipe.schedule_info is not None else None
    return None


@dataclass(frozen=True)
class Decided:
    """Stands in for a `GridMatch` when the answer is known without building the grid."""

    kind: str
    reason: str


def shortcut(recipe, steps: int) -> Decided | None:
    """The grid verdict when it follows from step counts alone (what classify_grid would answer, without
    computing sigmas); None when the grids must be compared. Keeps cold requests cheap."""
    sched = recipe.scheduler
    if not sched.pins_grid and not sched.pins_endpoints:
        return Decided("unpinned", "the recipe pins no grid and no endpoint")
    n = sched.pinned_steps
    if n is None or steps == n:
        return None
    if steps > n:
        return Decided("off_grid", f"{steps_text(steps)} cannot lie on the recipe's {n}-step grid")
    sub = sched.subsample
    if sub is None:
        return Decided("off_grid", f"the recipe allows only its canonical {n} steps (no scheduler.subsample)")
    if sub.allowed_steps is not None and steps not in sub.allowed_steps:
        return Decided("off_grid", f"{steps} is not in subsample.allowed_steps {list(sub.allowed_steps)}")
    if sub.rule == "divisors" and n % steps:
        return Decided("off_grid", f"{steps} does not divide {n} (subsample.rule divisors)")
    return None


def classify(recipe, schedule_id: str, steps: int, *, exact: bool = False):
    """classify_grid memoised per (schedule, steps) on the recipe. Unless `exact` (auto-configure
    asks whether two grids are the same), an answer that follows from step counts alone is short-cut."""
    key = (schedule_id, steps, exact)
    match = recipe.memo.get(key)
    if match is None and not exact:
        match = shortcut(recipe, steps)
    if match is None:
        try:
            match = classify_grid(recipe.scheduler, schedule_id, steps, architecture=recipe.architecture)
        except ScheduleParamError as exc:
            # params the grid maths cannot take (e.g. a Karras rule with rho 0 in an unvalidated recipe)
            match = Decided("off_grid", f"the step grid cannot be computed: {exc.message}; {exc.hint}")
        except ScheduleInputError as exc:
            # a grid that cannot even be built (51 LCM steps out of 50) is not on the recipe's grid
            match = Decided("off_grid", f"{exc.message}; {exc.hint}" if exc.hint else exc.message)
        recipe.memo[key] = match
    return match


def _on_grid(recipe, schedule_id: str, steps: int) -> bool:
    return classify(recipe, schedule_id, steps).kind != "off_grid"


def _candidates(recipe, steps: int) -> list[int]:
    """Step counts to try for a remedy, nearest first, in-range ones before out-of-range ones."""
    pool = set(recipe.allowed_steps or ())
    canonical = recipe.scheduler.canonical_steps
    if canonical is not None:
        pool.add(canonical)
    if recipe.steps.default is not None:
        pool.add(int(recipe.steps.default))
    upper = int(recipe.steps.max) if recipe.steps.max is not None else max(pool | {steps})
    pool.update(range(1, min(upper, _MAX_REMEDY_STEPS) + 1))
    return sorted(pool, key=lambda n: (not recipe.steps.contains(n), abs(n - steps), n))


def _remedy(recipe, schedule_id: str, steps: int, schedule_was_asked: bool) -> tuple[str, dict | None]:
    """Another step count on the same schedule when the request chose it, else the recipe's own sampler
    and schedule at the nearest step count on the grid."""
    memo_key = ("remedy", schedule_id, steps, schedule_was_asked)
    if memo_key in recipe.memo:
        return recipe.memo[memo_key]
    result = ("use the recipe's schedule and step count", None)
    if schedule_was_asked:
        for n in _candidates(recipe, steps):
            if n != steps and _on_grid(recipe, schedule_id, n):
                result = (f"use {steps_text(n)}", {"steps": n})
                break
    if result[1] is None and recipe.schedule_info is not None:
        own = recipe.schedule_info.id
        for n in _candidates(recipe, steps):
            if _on_grid(recipe, own, n):
                label = schedule_label(own)
                fix = {"sampler": recipe.sampler_info.label, "schedule": label, "steps": n}
                result = (f"use {recipe.sampler_info.label} with {label} at {steps_text(n)}", fix)
                break
    recipe.memo[memo_key] = result
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
    match = classify(ctx.recipe, schedule_id, steps)
    if match.kind != "off_grid":
        return
    remedy, fix = _remedy(ctx.recipe, schedule_id, steps, ctx.sampler is not None or ctx.schedule is not None)
    where = schedule_label(schedule_id)
    yield Observation("steps", _expected(ctx.recipe), f"{where} at {steps_text(steps)}",
                      f"{where} at {steps_text(steps)} is off this model's step grid ({match.reason})", remedy, fix)


def _expected(recipe) -> str:
    n = recipe.scheduler.pinned_steps
    text = f"the recipe's {n}-step grid" if n else "the recipe's grid"
    sub = recipe.scheduler.subsample
    if sub is not None and sub.allowed_steps is not None:
        return f"{text} (step counts {', '.join(map(str, sub.allowed_steps))})"
    if sub is not None and sub.rule:
        return f"{text} (subsample rule {sub.rule})"
    return text
