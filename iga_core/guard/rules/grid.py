"""IGA-H004: the (schedule, steps) pair gives a step grid outside the recipe's allowed subsampling.

Distilled models are trained on a few fixed timesteps (DMD2: 999, 749, 499, 249; Lightning: trailing
spacing). `schedules.classify_grid` says whether a request's grid is the recipe's canonical grid, a
monotone subsample of it, or off-grid; only off-grid is a finding. Classifications and remedies are
memoised per (schedule, steps) in the recipe view, since a recipe meets the same few pairs again and again.
"""

from __future__ import annotations

from dataclasses import dataclass

from iga_core.guard.context import schedule_label
from iga_core.guard.rules import Observation, rule
from iga_core.guard.verdict import steps_text
from iga_core.schedules import (
    GRID_IDS,
    ScheduleInputError,
    ScheduleParamError,
    classify_grid,
    classify_timesteps,
)
from iga_core.vocab.table import GRID_ONLY

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


@dataclass(frozen=True)
class Decided:
    """Stands in for a `GridMatch` when the answer is known without building the grid."""

    kind: str
    reason: str


@dataclass(frozen=True)
class GridFacts:
    """What the recipe's scheduler block alone says about any request's grid (computed once per recipe)."""

    length: int | None  # canonical grid length when the recipe pins one, else None
    endpoints: bool  # zero terminal SNR or trailing/linspace spacing: the first step must be at t_max
    subsample: object


def grid_facts(view) -> GridFacts:
    facts = view.memo.get("facts")
    if facts is None:
        sched = view.scheduler
        grid = sched.get("grid") if isinstance(sched.get("grid"), dict) else None
        canonical = sched.get("canonical_steps") if isinstance(sched.get("canonical_steps"), int) else None
        values = grid.get("values") if grid is not None and isinstance(grid.get("values"), list) else None
        kind = grid.get("kind") if grid is not None else None
        own = view.schedule_declared
        length = None
        if kind == "timesteps" and values:
            length = len(values)
        elif kind == "sigmas" and values and len(values) > 1:
            length = len(values) - 1  # sigma grids list the final sigma too
        elif kind == "rule" or (grid is None and own is not None and own.id in GRID_IDS):
            length = canonical  # a named rule or the recipe's own schedule, at canonical_steps
        endpoints = sched.get("zero_terminal_snr") is True or sched.get("spacing") in ("trailing", "linspace")
        facts = GridFacts(length, endpoints, sched.get("subsample"))
        view.memo["facts"] = facts
    return facts


def shortcut(view, steps: int) -> Decided | None:
    """The grid verdict when it follows from step counts alone (what classify_grid would answer, without
    computing sigmas); None when the grids must be compared. Keeps cold requests cheap."""
    facts = grid_facts(view)
    has_grid = "grid" in view.scheduler or "canonical_steps" in view.scheduler
    if not has_grid and not facts.endpoints:
        return Decided("unpinned", "the recipe pins no grid and no endpoint")
    n = facts.length
    if n is None or steps == n:
        return None
    if steps > n:
        return Decided("off_grid", f"{steps_text(steps)} cannot lie on the recipe's {n}-step grid")
    sub = facts.subsample
    if not isinstance(sub, dict):
        return Decided("off_grid", f"the recipe allows only its canonical {n} steps (no scheduler.subsample)")
    allowed = sub.get("allowed_steps")
    if isinstance(allowed, list) and steps not in allowed:
        return Decided("off_grid", f"{steps} is not in subsample.allowed_steps {allowed}")
    if sub.get("rule") == "divisors" and n % steps:
        return Decided("off_grid", f"{steps} does not divide {n} (subsample.rule divisors)")
    return None


def _own_sampler_exempt(ctx) -> bool:
    """The recipe's own sampler, where the host implements it with its own grid (a timestep sampler, LCM's
    50-step table): whether a host reaches the recipe's grid with it is auto-configure's question, not the
    request's (the executed values are still recorded in the audit)."""
    s = ctx.sampler
    return (s is not None and s.id == ctx.view.sampler.id
            and (s.timestep_based or bool((s.grid_options or {}).get("denoiser"))))


def sampler_options(sampler) -> tuple:
    """The sampler's vocabulary `grid_options` as a hashable memo key part."""
    return tuple(sorted((getattr(sampler, "grid_options", None) or {}).items()))


def _own_steps(view) -> Decided:
    pinned = "grid" in view.scheduler or "canonical_steps" in view.scheduler
    if pinned or grid_facts(view).length:
        return Decided("off_grid", "this sampler picks its own steps between sigma_max and sigma_min, so it "
                                   "cannot follow the recipe's grid")
    return Decided("unpinned", "the recipe pins no grid")


def classify(view, schedule_id: str, steps: int, *, exact: bool = False, options: tuple = ()):
    """classify_grid memoised per (schedule, steps, sampler options) in the recipe view. Unless `exact`
    (auto-configure asks whether two grids are the same), an answer that follows from step counts alone
    is short-cut."""
    key = (schedule_id, steps, exact, options)
    match = view.memo.get(key)
    if match is None and dict(options).get("own_steps"):
        match = _own_steps(view)
    if match is None and not exact and schedule_id not in GRID_ONLY:  # those run another number of steps
        match = shortcut(view, steps)
    if match is None:
        try:
            match = classify_grid(view.scheduler, schedule_id, steps, architecture=view.recipe.get("architecture"),
                                  sampler_options=dict(options) or None)
        except ScheduleParamError as exc:
            # params the grid maths cannot take (e.g. a Karras rule with rho 0 in an unvalidated recipe)
            match = Decided("off_grid", f"the step grid cannot be computed: {exc.message}; {exc.hint}")
        except ScheduleInputError as exc:
            # a grid that cannot even be built (51 LCM steps out of 50) is not on the recipe's grid
            match = Decided("off_grid", f"{exc.message}; {exc.hint}" if exc.hint else exc.message)
        view.memo[key] = match
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
    """Another step count on the same schedule when the request chose it, else the recipe's own sampler
    and schedule at the nearest step count on the grid."""
    memo_key = ("remedy", schedule_id, steps, schedule_was_asked)
    if memo_key in view.memo:
        return view.memo[memo_key]
    result = ("use the recipe's schedule and step count", None)
    if schedule_was_asked:
        for n in _candidates(view, steps):
            if n != steps and _on_grid(view, schedule_id, n):
                result = (f"use {steps_text(n)}", {"steps": n})
                break
    if result[1] is None and view.schedule is not None:
        own = view.schedule.id
        for n in _candidates(view, steps):
            if _on_grid(view, own, n):
                label = schedule_label(own)
                fix = {"sampler": view.sampler.label, "schedule": label, "steps": n}
                result = (f"use {view.sampler.label} with {label} at {steps_text(n)}", fix)
                break
    view.memo[memo_key] = result
    return result


def classify_executed(view, executed):
    """The grid verdict on the values a host reported it will run (`GuardRequest.executed`), memoised."""
    key = ("executed", executed.kind, executed.timesteps)
    match = view.memo.get(key)
    if match is None:
        if executed.kind == "sigma_range":  # DPM fast / adaptive: only sigma_max and sigma_min handed over
            match = _own_steps(view)
        else:
            try:
                match = classify_timesteps(view.scheduler, executed.timesteps,
                                           architecture=view.recipe.get("architecture"))
            except ScheduleInputError as exc:
                match = Decided("off_grid", f"{exc.message}; {exc.hint}" if exc.hint else exc.message)
        view.memo[key] = match
    return match


def _executed_text(executed) -> str:
    if executed.kind == "sigma_range":
        return "its own steps"
    ts = executed.timesteps
    shown = ", ".join(f"{t:.0f}" for t in (ts if len(ts) <= 6 else (*ts[:4], ts[-1])))
    return f"t={shown}{' …' if len(ts) > 6 else ''}"


@rule("IGA-H004", "hard", ("sampler", "schedule", "steps", "executed"),
      title="step grid outside the recipe's allowed subsampling",
      remedy="use an allowed step count for this schedule, or the recipe's schedule and steps")
def off_grid(ctx):
    """The sigmas/timesteps that (schedule, steps) produce are neither the recipe's canonical grid nor a
    subsample it allows (`scheduler.subsample`); timestep samplers are judged by their own spacing. When
    the host reported the values it will run (`executed`), those are judged instead of our model of them."""
    steps = ctx.request.steps
    executed = ctx.request.executed
    if executed is not None and not _own_sampler_exempt(ctx):
        match = classify_executed(ctx.view, executed)
        if match.kind != "off_grid":
            return
        n = steps or len(executed.timesteps)
        schedule_id = effective_schedule_id(ctx) or (ctx.view.schedule.id if ctx.view.schedule else None)
        remedy, fix = (_remedy(ctx.view, schedule_id, n, ctx.sampler is not None or ctx.schedule is not None)
                       if schedule_id is not None and n else ("use the recipe's schedule and step count", None))
        who = "the host" if executed.computed_by == "host" else "iga's model of the host"
        yield Observation("steps", _expected(ctx.view), _executed_text(executed),
                          f"the steps {who} will run ({_executed_text(executed)}) are off this model's step "
                          f"grid ({match.reason})", remedy, fix)
        return
    if steps is None:
        return
    schedule_id = effective_schedule_id(ctx)
    if schedule_id is None:
        return
    sampler = ctx.sampler if ctx.sampler is not None else (ctx.view.sampler if ctx.request.sampler is None else None)
    options = () if sampler is None or sampler.timestep_based or _own_sampler_exempt(ctx) else sampler_options(sampler)
    match = classify(ctx.view, schedule_id, steps, options=options)
    if match.kind != "off_grid":
        return
    remedy, fix = _remedy(ctx.view, schedule_id, steps, ctx.sampler is not None or ctx.schedule is not None)
    where = schedule_label(schedule_id)
    yield Observation("steps", _expected(ctx.view), f"{where} at {steps_text(steps)}",
                      f"{where} at {steps_text(steps)} is off this model's step grid ({match.reason})", remedy, fix)


def _expected(view) -> str:
    facts = grid_facts(view)
    text = f"the recipe's {facts.length}-step grid" if facts.length else "the recipe's grid"
    sub = facts.subsample if isinstance(facts.subsample, dict) else {}
    if isinstance(sub.get("allowed_steps"), list):
        return f"{text} (step counts {', '.join(map(str, sub['allowed_steps']))})"
    if sub.get("rule"):
        return f"{text} (subsample rule {sub['rule']})"
    return text
