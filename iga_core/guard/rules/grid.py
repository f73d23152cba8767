"""IGA-H004: the (schedule, steps) pair gives a step grid outside the recipe's allowed subsampling.

Distilled models are trained on a few fixed timesteps (DMD2: 999, 749, 499, 249; Lightning: trailing
spacing). `schedules.classify_grid` says whether a request's grid is the recipe's canonical grid, a
monotone subsample of it, or off-grid; only off-grid is a finding. Classifications and remedies are
memoised per (schedule, steps) on the recipe, since a recipe meets the same few pairs again and again.
"""

from __future__ import annotations

from dataclasses import dataclass

from iga_core.guard.context import resolve_sampler, sampler_label, schedule_label
from iga_core.guard.rules import Observation, rule
from iga_core.guard.verdict import steps_text
from iga_core.schedules import (
    SAMPLER_GRIDS,
    ScheduleInputError,
    ScheduleParamError,
    classify_grid,
    classify_timesteps,
)
from iga_core.vocab import DIALECT_TITLES, HOST_VARIANT_TITLES, HOST_VARIANTS

#: step counts tried when looking for the nearest on-grid remedy
_MAX_REMEDY_STEPS = 200


def request_sampler(ctx):
    """The sampler that runs: the request's, else (no sampler asked) the recipe's own."""
    if ctx.sampler is not None:
        return ctx.sampler
    return ctx.recipe.sampler_info if ctx.request.sampler is None else None


def request_dialect(ctx) -> str | None:
    """Whose semantics the running sampler has: the request's dialect or host variant (`ctx.runs`) for its own
    sampler; the recipe's own sampler (none asked) as the WebUI host runs it (its variant: Forge Classic, Neo)."""
    if ctx.sampler is not None:
        return ctx.runs
    return ctx.runs if ctx.runs in HOST_VARIANTS else None


def effective_schedule_id(ctx) -> str | None:
    """The schedule that shapes the grid: a timestep sampler's own spacing (the recipe's own sampler too:
    a host's DDIM runs its own timesteps whatever the recipe meant by it; in ComfyUI ddim and uni_pc run on
    the schedule's sigmas), else the resolved schedule."""
    sampler = request_sampler(ctx)
    if sampler is not None and sampler.in_dialect(request_dialect(ctx)).timestep_based:
        return sampler.in_dialect(request_dialect(ctx)).grid_schedule
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
    sub = sched.subsample
    if sub is not None and sub.allowed_steps is not None and steps not in sub.allowed_steps:
        # an explicit list of step counts is the author's word with or without a grid length (the design's
        # `"subsample": [16, 24, 28, 32]` on a rule grid); validation holds the recipe's own steps to it too
        return Decided("off_grid", f"{steps} is not in subsample.allowed_steps {list(sub.allowed_steps)}")
    if not sched.pins_grid and not sched.pins_endpoints:
        return Decided("unpinned", "the recipe pins no grid and no endpoint")
    n = sched.pinned_steps
    if n is None or steps == n:
        return None
    if steps > n:
        return Decided("off_grid", f"{steps_text(steps)} cannot lie on the recipe's {n}-step grid")
    if sub is None:
        return Decided("off_grid", f"the recipe allows only its canonical {n} steps (no scheduler.subsample)")
    if sub.allowed_steps is not None and steps not in sub.allowed_steps:
        return Decided("off_grid", f"{steps} is not in subsample.allowed_steps {list(sub.allowed_steps)}")
    if sub.rule == "divisors" and n % steps:
        return Decided("off_grid", f"{steps} does not divide {n} (subsample.rule divisors)")
    return None


def sampler_options(sampler, dialect: str | None = None) -> tuple:
    """The sampler's vocabulary `grid_options` in `dialect` (None: A1111 / Forge; ComfyUI drops the penultimate
    sigma for uni_pc, not for DPM++ 3M SDE) as a hashable memo key part (none for a timestep sampler, whose
    grid is its `grid_schedule`)."""
    if sampler is None:
        return ()
    sem = sampler.in_dialect(dialect)
    if sem.timestep_based:
        return ()
    return tuple(sorted((sem.grid_options or {}).items()))


def sampler_grid(sampler, schedule_id: str | None, dialect: str | None = None) -> tuple[str | None, tuple]:
    """(grid id, sampler options) that `sampler` runs `schedule_id` on in `dialect` (None: A1111 / Forge): a
    timestep sampler its own timesteps, a k-diffusion sampler the schedule with its options (LCM's table, the
    dropped penultimate sigma, DPM fast's own steps)."""
    if sampler is not None and sampler.in_dialect(dialect).timestep_based:
        return sampler.in_dialect(dialect).grid_schedule, ()
    return schedule_id, sampler_options(sampler, dialect)


def _own_steps(recipe) -> Decided:
    if recipe.scheduler.pins_grid or recipe.scheduler.pinned_steps:
        return Decided("off_grid", "this sampler picks its own steps between sigma_max and sigma_min, so it "
                                   "cannot follow the recipe's grid")
    return Decided("unpinned", "the recipe pins no grid")


def classify(recipe, schedule_id: str, steps: int, *, exact: bool = False, options: tuple = ()):
    """classify_grid memoised per (schedule, steps, sampler options) on the recipe. Unless `exact`
    (auto-configure asks whether two grids are the same), an answer that follows from step counts alone
    is short-cut."""
    key = (schedule_id, steps, exact, options)
    match = recipe.memo.get(key)
    if match is None and dict(options).get("own_steps"):
        match = _own_steps(recipe)
    if match is None and not exact and schedule_id not in SAMPLER_GRIDS:  # those run another number of steps
        match = shortcut(recipe, steps)
    if match is None:
        try:
            match = classify_grid(recipe.scheduler, schedule_id, steps, architecture=recipe.architecture,
                                  sampler_options=dict(options) or None)
        except ScheduleParamError as exc:
            # params the grid maths cannot take (e.g. a Karras rule with rho 0 in an unvalidated recipe)
            match = Decided("off_grid", f"the step grid cannot be computed: {exc.message}; {exc.hint}")
        except ScheduleInputError as exc:
            # a grid that cannot even be built (51 LCM steps out of 50) is not on the recipe's grid
            match = Decided("off_grid", f"{exc.message}; {exc.hint}" if exc.hint else exc.message)
        recipe.memo[key] = match
    return match


def _on_grid(recipe, schedule_id: str, steps: int, options: tuple = ()) -> bool:
    return classify(recipe, schedule_id, steps, options=options).kind != "off_grid"


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


def _remedy(recipe, schedule_id: str, steps: int, schedule_was_asked: bool, options: tuple = (),
            dialect: str | None = None, runs: str | None = None) -> tuple[str, dict | None]:
    """Another step count on the same schedule (and sampler) when the request chose it, else the first
    sampler the recipe allows (its own first) with the recipe's schedule at the nearest step count that
    lands on the grid as the request's host runs that sampler (A1111 / Forge unless its `dialect`, or the
    host variant `runs`, says otherwise), named in that dialect; none when no allowed sampler gets there."""
    runs = runs or dialect
    memo_key = ("remedy", schedule_id, steps, schedule_was_asked, options, dialect, runs)
    if memo_key in recipe.memo:
        return recipe.memo[memo_key]
    result = None
    if schedule_was_asked:
        for n in _candidates(recipe, steps):
            if n != steps and _on_grid(recipe, schedule_id, n, options):
                result = (f"use {steps_text(n)}", {"steps": n})
                break
    own = recipe.schedule_info.id if recipe.schedule_info is not None else None
    for sampler_id in recipe.allowed_samplers() if result is None else ():
        sampler = resolve_sampler(sampler_id)[0]
        grid_id, sampler_opts = sampler_grid(sampler, own, runs) if sampler is not None else (None, ())
        if sampler is None or grid_id is None:
            continue
        n = next((n for n in _candidates(recipe, steps) if _on_grid(recipe, grid_id, n, sampler_opts)), None)
        if n is not None:
            name = sampler_label(sampler.id, dialect)
            label = schedule_label(own, dialect) if own is not None else None
            fix = {"sampler": name, "steps": n, **({"schedule": label} if label else {})}
            result = (f"use {name}{f' with {label}' if label else ''} at {steps_text(n)}", fix)
            break
    if result is None:
        where = (f"{HOST_VARIANT_TITLES[runs]} runs it" if runs in HOST_VARIANT_TITLES else "A1111 / Forge run it"
                 if dialect in (None, "a1111", "forge") else f"{DIALECT_TITLES[dialect]} runs it")
        result = (f"no sampler this recipe allows reaches its grid the way {where}: run this model where the "
                  "sampler takes the recipe's timesteps (ComfyUI custom sigmas, diffusers timesteps=), or allow a "
                  "sampler that reaches it (auto-configure names one)", None)
    recipe.memo[memo_key] = result
    return result


def classify_executed(recipe, executed):
    """The grid verdict on the values a host reported it will run (`GuardRequest.executed`), memoised."""
    key = ("executed", executed.kind, executed.timesteps)
    match = recipe.memo.get(key)
    if match is None:
        sched = recipe.scheduler
        if not sched.pins_grid and not sched.pins_endpoints:  # as `shortcut`: nothing to be off
            match = Decided("unpinned", "the recipe pins no grid and no endpoint")
        elif executed.kind == "sigma_range":  # DPM fast / adaptive: only sigma_max and sigma_min handed over
            match = _own_steps(recipe)
        else:
            try:
                match = classify_timesteps(recipe.scheduler, executed.timesteps, architecture=recipe.architecture)
            except ScheduleInputError as exc:
                match = Decided("off_grid", f"{exc.message}; {exc.hint}" if exc.hint else exc.message)
        recipe.memo[key] = match
    return match


def _executed_text(executed) -> str:
    if executed.kind == "sigma_range":
        return "its own steps"
    ts = executed.timesteps
    shown = ", ".join(f"{t:.0f}" for t in (ts if len(ts) <= 6 else (*ts[:4], ts[-1])))
    return f"t={shown}{' …' if len(ts) > 6 else ''}"


@rule("IGA-H004", "hard", ("sampler", "schedule", "steps", "executed", "host", "dialect"),
      title="step grid outside the recipe's allowed subsampling",
      remedy="use an allowed step count for this schedule, or the recipe's schedule and steps")
def off_grid(ctx):
    """The sigmas/timesteps that (schedule, steps) produce are neither the recipe's canonical grid nor a
    subsample it allows (`scheduler.subsample`); timestep samplers are judged by their own spacing. When
    the host reported the values it will run (`executed`), those are judged instead of our model of them."""
    steps = ctx.request.steps
    executed = ctx.request.executed
    asked = ctx.sampler is not None or ctx.schedule is not None
    sampler = request_sampler(ctx)
    dialect = request_dialect(ctx)
    if executed is not None:
        match = classify_executed(ctx.recipe, executed)
        if match.kind != "off_grid":
            return
        n = steps or len(executed.timesteps)
        own = ctx.recipe.schedule_info
        grid_id, options = sampler_grid(sampler, effective_schedule_id(ctx) or (own.id if own is not None else None),
                                        dialect)
        remedy, fix = (_remedy(ctx.recipe, grid_id, n, asked, options, ctx.dialect, ctx.runs)
                       if grid_id is not None and n else ("use the recipe's schedule and step count", None))
        who = "the host" if executed.computed_by == "host" else "iga's model of the host"
        yield Observation("steps", _expected(ctx.recipe), _executed_text(executed),
                          f"the steps {who} will run ({_executed_text(executed)}) are off this model's step "
                          f"grid ({match.reason})", remedy, fix)
        return
    if steps is None:
        return
    schedule_id = effective_schedule_id(ctx)
    if schedule_id is None:
        return
    options = sampler_options(sampler, dialect)
    match = classify(ctx.recipe, schedule_id, steps, options=options)
    if match.kind != "off_grid":
        return
    remedy, fix = _remedy(ctx.recipe, schedule_id, steps, asked, options, ctx.dialect, ctx.runs)
    name = sampler_label(sampler.id, ctx.dialect) if sampler is not None else None
    if sampler is not None and (sampler.in_dialect(dialect).timestep_based or dict(options).get("own_steps")):
        where = name
    elif sampler is not None and dict(options).get("denoiser"):
        where = f"{name} with {schedule_label(schedule_id, ctx.dialect)}"
    else:
        where = schedule_label(schedule_id, ctx.dialect)
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
