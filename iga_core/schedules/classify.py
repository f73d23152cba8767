"""Is a requested (schedule, steps) on the recipe's step grid?

Grids are compared where the model is evaluated, in training-timestep space (k-diffusion sigma_to_t
for sigma grids), so a sigma table, a list of timesteps and a named rule can be compared with each
other. Two grid points match when they are within `tolerance` timesteps (default 1: SGM Uniform's
999, 749.25, 499.5, 249.75 is Lightning's trailing 999, 749, 499, 249; LCM's 999, 759, 499, 259 is
not DMD2's 999, 749, 499, 249).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from iga_core import vocab
from iga_core.schedules.grids import GRID_IDS, SAMPLER_GRIDS, compute_timesteps
from iga_core.schedules.noise import NoiseModel, ScheduleInputError

KINDS = ("canonical", "subsample", "off_grid", "unpinned")
DEFAULT_TOLERANCE = 1.0


@dataclass(frozen=True)
class GridMatch:
    """How a request's grid relates to the recipe's.

    kind: "canonical" (the recipe's grid), "subsample" (a monotone subsample the recipe allows),
    "off_grid" (neither, or an endpoint the model needs is missed), "unpinned" (the recipe fixes no
    grid - no `grid`, no `canonical_steps` - and the request differs from its schedule only in shape,
    with the endpoints the recipe asks for). Only "off_grid" is a violation.
    """

    kind: str
    reason: str
    schedule_id: str
    steps: int
    requested: tuple[float, ...]
    canonical: tuple[float, ...] | None
    pinned: bool

    @property
    def ok(self) -> bool:
        return self.kind != "off_grid"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "reason": self.reason, "schedule_id": self.schedule_id, "steps": self.steps,
                "requested": list(self.requested), "canonical": None if self.canonical is None else list(self.canonical),
                "pinned": self.pinned}


def _fmt(ts) -> str:
    vals = np.asarray(ts, dtype=np.float64).tolist()
    shown = [*vals[:4], None, *vals[-2:]] if len(vals) > 8 else vals
    return ", ".join("…" if v is None else f"{v:.0f}" if abs(v - round(v)) < 0.05 else f"{v:.1f}" for v in shown)


class SchedulerBlock(Protocol):
    """What the classifier reads of a recipe's scheduler: the typed `iga_core.recipe.Scheduler` (this
    layer sits below the recipe package, so it names the attributes instead of importing the class)."""

    name: str
    grid: Any  # .kind "sigmas" | "timesteps" | "rule", .values, .rule, .params; or None
    canonical_steps: int | None
    subsample: Any  # .allowed_steps, .rule; or None
    spacing: str | None
    zero_terminal_snr: bool | None
    sigma_min: float | None
    sigma_max: float | None


def _grid_id(name: str) -> str:
    """A schedule name or id -> the id compute_grid knows (any dialect accepted via the vocabulary)."""
    if name in GRID_IDS or name in SAMPLER_GRIDS:
        return name
    return vocab.resolve_schedule(name).id


def _recipe_schedule_id(sched: SchedulerBlock) -> str | None:
    name = sched.name
    if not isinstance(name, str):
        return None
    try:
        sid = vocab.resolve_schedule(name).id
    except vocab.UnknownName:
        return None
    return sid if sid in GRID_IDS else None


def _is_subsequence(small: np.ndarray, big: np.ndarray, tol: float) -> bool:
    j = 0
    for v in big:
        if j < len(small) and abs(small[j] - v) <= tol:
            j += 1
    return j == len(small)


def _first_difference(a: np.ndarray, b: np.ndarray, tol: float) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if abs(x - y) > tol:
            return f"step {i + 1}: t={_fmt([x])} vs {_fmt([y])}"
    return f"{len(a)} vs {len(b)} steps"


def _subsample_verdict(sched: SchedulerBlock, steps: int, n: int, req: np.ndarray, canon: np.ndarray, tol: float
                       ) -> tuple[bool, str]:
    sub = sched.subsample
    if sub is None:
        return False, f"the recipe allows only its canonical {n} steps (no scheduler.subsample)"
    if sub.allowed_steps is not None:
        allowed = list(sub.allowed_steps)
        if steps in allowed:
            return True, f"{steps} is in subsample.allowed_steps {allowed}"
        return False, f"{steps} is not in subsample.allowed_steps {allowed}"
    rule = sub.rule
    if rule == "any":
        return True, "subsample.rule is any"
    if rule == "divisors":
        if n % steps == 0:
            return True, f"{steps} divides {n} (subsample.rule divisors)"
        return False, f"{steps} does not divide {n} (subsample.rule divisors)"
    if rule == "prefix":
        if np.all(np.abs(req - canon[: len(req)]) <= tol):
            return True, f"the first {steps} entries (subsample.rule prefix)"
        return False, f"not the first {steps} entries of the grid (subsample.rule prefix)"
    return False, f"unknown subsample rule {rule!r}"


def _endpoint_problem(sched: SchedulerBlock, req: np.ndarray, m: NoiseModel, tol: float) -> str | None:
    """Trailing/linspace spacing and zero terminal SNR both need the first step at the last timestep."""
    needs_top = []
    if sched.zero_terminal_snr is True:
        needs_top.append("zero terminal SNR")
    if sched.spacing in ("trailing", "linspace"):
        needs_top.append(f"{sched.spacing} spacing")
    if needs_top and len(req) and req[0] < m.t_max - tol:
        return (f"starts at t={_fmt(req[:1])} but {' and '.join(needs_top)} needs the first step at "
                f"t={m.t_max} (leading-style grids skip the noisiest steps)")
    return None


def classify_grid(recipe_scheduler: SchedulerBlock, schedule_id: str, steps: int, *, betas=None,
                  model: NoiseModel | None = None, architecture: str | None = None, params: dict | None = None,
                  tolerance: float = DEFAULT_TOLERANCE, sampler_options: dict | None = None) -> GridMatch:
    """Classify the grid `schedule_id` gives at `steps` against the recipe's typed `scheduler` block
    (`sampler_options`: the requesting sampler's vocabulary `grid_options`).

    The recipe's grid is `scheduler.grid` (timesteps, sigmas or a rule), else its named schedule at
    `canonical_steps` (or at the requested steps when the recipe gives none). `scheduler.sigma_min` /
    `sigma_max` bound both grids; `zero_terminal_snr` and `spacing` add the endpoint check.
    """
    sched = recipe_scheduler
    m = _model_for(sched, betas, model)
    kw = {"sigma_min": sched.sigma_min, "sigma_max": sched.sigma_max, "architecture": architecture}
    sid = _grid_id(schedule_id)
    req = compute_timesteps(sid, steps, model=m, params=params, sampler_options=sampler_options, **kw)
    # a timestep sampler may run another number of steps than asked (UniPC at 3: 4), judged as it runs
    return _judge(sched, sid, len(req) if sid in SAMPLER_GRIDS else steps, req, m, kw, tolerance)


def classify_timesteps(recipe_scheduler: SchedulerBlock, timesteps, *, label: str = "executed", betas=None,
                       model: NoiseModel | None = None, architecture: str | None = None,
                       tolerance: float = DEFAULT_TOLERANCE) -> GridMatch:
    """Classify timesteps a host reported it will evaluate (descending, training-timestep space, one per
    step) against the recipe's typed `scheduler` block, by the same rules as `classify_grid`."""
    sched = recipe_scheduler
    m = _model_for(sched, betas, model)
    kw = {"sigma_min": sched.sigma_min, "sigma_max": sched.sigma_max, "architecture": architecture}
    req = np.asarray(list(timesteps), dtype=np.float64)
    if req.ndim != 1 or not len(req) or not np.all(np.isfinite(req)):
        raise ScheduleInputError(f"the executed timesteps {list(timesteps)!r} are not a list of numbers",
                                 "pass one finite timestep per step")
    return _judge(sched, label, len(req), req, m, kw, tolerance)


def _model_for(sched: SchedulerBlock, betas, model: NoiseModel | None) -> NoiseModel:
    ztsnr = sched.zero_terminal_snr is True
    return model or (NoiseModel.from_betas(betas, zero_terminal_snr=ztsnr) if betas is not None
                     else NoiseModel.sd(zero_terminal_snr=ztsnr))


def _judge(sched: SchedulerBlock, sid: str, steps: int, req: np.ndarray, m: NoiseModel, kw: dict,
           tolerance: float) -> GridMatch:
    grid = sched.grid
    canonical_steps = sched.canonical_steps
    pinned = grid is not None or canonical_steps is not None
    canon, what = _canonical(sched, grid, canonical_steps, steps, m, kw)

    def match(kind: str, reason: str) -> GridMatch:
        return GridMatch(kind, reason, sid, steps, tuple(np.asarray(req, dtype=np.float64).tolist()),
                         None if canon is None else tuple(np.asarray(canon, dtype=np.float64).tolist()), pinned)

    result = _judge_grid(sched, steps, req, m, canon, what, pinned, match, tolerance)
    allowed = sched.subsample.allowed_steps if sched.subsample is not None else None
    if result.kind != "off_grid" and allowed is not None and steps not in allowed:
        # an explicit list of step counts binds with or without a pinned grid length (the design's
        # `"subsample": [16, 24, 28, 32]` on a rule grid)
        return match("off_grid", f"{steps} is not in subsample.allowed_steps {list(allowed)}")
    return result


def _judge_grid(sched: SchedulerBlock, steps: int, req: np.ndarray, m: NoiseModel, canon, what: str,
                pinned: bool, match, tolerance: float) -> GridMatch:
    endpoint = _endpoint_problem(sched, req, m, tolerance)
    if canon is None:
        if endpoint:
            return match("off_grid", endpoint)
        return match("unpinned", "the recipe names no grid or schedule to compare with")
    same = len(req) == len(canon) and bool(np.all(np.abs(req - canon) <= tolerance))
    if same:
        return match("canonical", f"matches {what} ({_fmt(canon)})")
    if endpoint:
        return match("off_grid", endpoint)
    if not pinned:
        return match("unpinned", f"t={_fmt(req)} differs from {what} ({_fmt(canon)}), but the recipe pins no grid")
    if len(req) < len(canon) and _is_subsequence(req, canon, tolerance):
        ok, why = _subsample_verdict(sched, steps, len(canon), req, canon, tolerance)
        kind = "subsample" if ok else "off_grid"
        return match(kind, f"t={_fmt(req)} is a {len(req)}-of-{len(canon)} subsample of {what}; {why}")
    return match("off_grid", f"t={_fmt(req)} is not {what} ({_fmt(canon)}) nor a subsample of it "
                             f"({_first_difference(req, canon, tolerance)})")


def _values(grid) -> np.ndarray:
    raw = grid.values
    try:
        vals = np.asarray(list(raw) if isinstance(raw, (list, tuple)) else [], dtype=np.float64)
    except (TypeError, ValueError):
        vals = np.asarray([np.nan])
    if vals.ndim != 1 or not np.all(np.isfinite(vals)) or np.any(vals < 0):
        raise ScheduleInputError(f"the recipe's grid values {raw!r} are not finite numbers >= 0",
                                 "list decreasing numbers, e.g. [999, 749, 499, 249]")
    return vals


def _canonical(sched: SchedulerBlock, grid, canonical_steps: int | None, steps: int, m: NoiseModel, kw: dict
               ) -> tuple[np.ndarray | None, str]:
    if grid is not None:
        kind = grid.kind
        if kind == "timesteps":
            vals = _values(grid)
            if not len(vals):
                raise ScheduleInputError("the recipe's timestep grid is empty", "list its timesteps, e.g. [999, 749, 499, 249]")
            return vals, f"the recipe's {len(vals)}-step timestep grid"
        if kind == "sigmas":
            vals = _values(grid)
            if len(vals) < 2:
                raise ScheduleInputError("a sigma grid needs canonical_steps + 1 values (the last is the final sigma)",
                                         "list the sigmas including the final one, e.g. [14.6, 3.2, 0.0]")
            return m.sigma_to_t(vals[:-1]), f"the recipe's {len(vals) - 1}-step sigma grid"
        if kind == "rule" and isinstance(grid.rule, str):
            rule = _grid_id(grid.rule)
            n = canonical_steps or steps
            return (compute_timesteps(rule, n, model=m, params=grid.params, **kw),
                    f"the recipe's {rule} grid at {n} steps")
        raise ScheduleInputError(f"unknown grid kind {kind!r}", "use sigmas, timesteps or rule")
    own = _recipe_schedule_id(sched)
    if own is None:
        return None, ""
    n = canonical_steps or steps
    return compute_timesteps(own, n, model=m, **kw), f"the recipe's {own} schedule at {n} steps"
