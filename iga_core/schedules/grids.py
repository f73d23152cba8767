"""Step grids of the standard schedule types, computed the way the hosts compute them.

Every sigma grid is returned descending with the final sigma appended (0 for all but KL Optimal, which
ends at sigma_min as in the hosts), in float64. Sources, by schedule id:

  uniform, normal, sgm_uniform, simple, ddim, beta, kl_optimal, align_your_steps*, turbo:
      A1111 v1.10.1 modules/sd_schedulers.py / Forge dfdcbab modules/sd_schedulers.py
  karras, exponential, polyexponential: k-diffusion sampling.get_sigmas_*
  linear_quadratic: ComfyUI comfy/samplers.py linear_quadratic_schedule
  sd_turbo: ComfyUI comfy_extras/nodes_custom_sampler.py SDTurboScheduler, as SwarmUI's "turbo"
      (SwarmUI ExtraNodes/SwarmComfyCommon/SwarmKSampler.py:396-399): timesteps 999, 899, ..., 99, the
      first `steps` of them, at most 10
  lcm: diffusers LCMScheduler.set_timesteps (original_inference_steps = 50)
  leading, linspace, trailing: diffusers DDIMScheduler.set_timesteps (`timestep_spacing`, `steps_offset`)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import lru_cache
from importlib import resources

import numpy as np

from iga_core.schedules.beta_dist import beta_ppf
from iga_core.schedules.noise import NoiseModel, ScheduleInputError
from iga_core.schedules.params import ScheduleParamError, check_params
from iga_core.vocab.table import GRID_ONLY, load_table

SPACINGS = ("leading", "linspace", "trailing")
#: hosts' defaults for the tunable schedules (A1111 opts.rho -> each schedule's default_rho; beta_dist_alpha/beta)
DEFAULT_PARAMS = {
    "karras": {"rho": 7.0},
    "polyexponential": {"rho": 1.0},
    "beta": {"alpha": 0.6, "beta": 0.6},
    "linear_quadratic": {"threshold_noise": 0.025},
    "lcm": {"original_inference_steps": 50},
}
MAX_STEPS = 4096


def _append_zero(s: np.ndarray) -> np.ndarray:
    return np.append(np.asarray(s, dtype=np.float64), 0.0)


def _karras(n, m, smin, smax, p):
    rho = float(p["rho"])
    ramp = np.linspace(0.0, 1.0, n)
    max_inv, min_inv = smax ** (1 / rho), smin ** (1 / rho)
    return _append_zero((max_inv + ramp * (min_inv - max_inv)) ** rho)


def _exponential(n, m, smin, smax, p):
    return _append_zero(np.exp(np.linspace(math.log(smax), math.log(smin), n)))


def _polyexponential(n, m, smin, smax, p):
    ramp = np.linspace(1.0, 0.0, n) ** float(p["rho"])
    return _append_zero(np.exp(ramp * (math.log(smax) - math.log(smin)) + math.log(smin)))


def _uniform(n, m, smin, smax, p):
    # k-diffusion DiscreteSchedule.get_sigmas: evenly spaced continuous timesteps t_max .. 0
    return _append_zero(m.t_to_sigma(np.linspace(m.t_max, 0, n)))


def _normal(n, m, smin, smax, p):
    start, end = float(m.sigma_to_t(smax)), float(m.sigma_to_t(smin))
    return _append_zero(m.t_to_sigma(np.linspace(start, end, n)))


def _sgm_uniform(n, m, smin, smax, p):
    start, end = float(m.sigma_to_t(smax)), float(m.sigma_to_t(smin))
    return _append_zero(m.t_to_sigma(np.linspace(start, end, n + 1)[:-1]))


def _simple(n, m, smin, smax, p):
    ss = len(m.sigmas) / n
    return _append_zero([m.sigmas[-(1 + int(x * ss))] for x in range(n)])


def _ddim(n, m, smin, smax, p):
    # sigmas[1], sigmas[1 + ss], ... (DDIM "uniform" spacing with offset 1); more than n when 1000 % n != 0
    ss = max(len(m.sigmas) // n, 1)
    return _append_zero(m.sigmas[1::ss][::-1])


def _beta(n, m, smin, smax, p):
    a, b = float(p["alpha"]), float(p["beta"])
    if a <= 0 or b <= 0:
        raise ScheduleInputError(f"beta schedule alpha={a}, beta={b}", "use alpha and beta > 0 (hosts use 0.6, 0.6)")
    return _append_zero(smin + np.asarray(_beta_quantiles(n, a, b)) * (smax - smin))


@lru_cache(maxsize=256)
def _beta_quantiles(n: int, a: float, b: float) -> tuple[float, ...]:
    # the quantile search is the slow part of any grid (~0.3 ms a point); a recipe meets few (n, a, b)
    return tuple(beta_ppf(float(q), a, b) for q in 1.0 - np.linspace(0.0, 1.0, n))


def _kl_optimal(n, m, smin, smax, p):
    i = np.arange(n + 1)
    return np.tan(i / n * math.atan(smin) + (1.0 - i / n) * math.atan(smax))


def _turbo(n, m, smin, smax, p):
    t = np.clip(np.round((np.arange(1, n + 1) * (1000.0 / n) - 1)[::-1]), 0, m.t_max).astype(np.int64)
    return _append_zero(m.sigmas[t])


SD_TURBO_MAX_STEPS = 10


def _sd_turbo(n, m, smin, smax, p):
    if n > SD_TURBO_MAX_STEPS:
        raise ScheduleInputError(f"SwarmUI's turbo schedule has at most {SD_TURBO_MAX_STEPS} steps, not {n}",
                                 f"use {SD_TURBO_MAX_STEPS} steps or fewer")
    t = (np.arange(1, 11) * 100 - 1)[::-1][:n] * (len(m.sigmas) // 1000)
    return _append_zero(m.sigmas[np.clip(t, 0, m.t_max)])


def _linear_quadratic(n, m, smin, smax, p):
    threshold = float(p["threshold_noise"])
    if n == 1:
        sched = [1.0, 0.0]
    else:
        lin_steps = int(p.get("linear_steps") or n // 2)
        if not 1 <= lin_steps < n:
            raise ScheduleParamError(f"linear_quadratic linear_steps {lin_steps} at {n} steps",
                                     f"use 1 to {n - 1} linear steps, or leave linear_steps out (half the steps)")
        quad_steps = n - lin_steps
        diff = lin_steps - threshold * n
        quad_coef = diff / (lin_steps * quad_steps**2)
        lin_coef = threshold / lin_steps - 2 * diff / (quad_steps**2)
        const = quad_coef * lin_steps**2
        x = [i * threshold / lin_steps for i in range(lin_steps)]
        x += [quad_coef * i**2 + lin_coef * i + const for i in range(lin_steps, n)]
        sched = [1.0 - v for v in [*x, 1.0]]
    return np.asarray(sched, dtype=np.float64) * smax


@lru_cache(maxsize=1)
def ays_tables() -> dict:
    text = resources.files("iga_core.schedules").joinpath("data", "ays.json").read_text(encoding="utf-8")
    return json.loads(text)["tables"]


def _loglinear_interp(t_steps: list[float], num_steps: int) -> np.ndarray:
    xs = np.linspace(0, 1, len(t_steps))
    ys = np.log(np.asarray(t_steps, dtype=np.float64)[::-1])
    return np.exp(np.interp(np.linspace(0, 1, num_steps), xs, ys))[::-1].copy()


def _ays(table_id: str):
    def grid(n, m, smin, smax, p):
        arch = str(p.get("architecture") or "sd1")
        table = ays_tables()[table_id]["sdxl" if arch == "sdxl" else "sd1"]
        # the hosts use the table as-is only when n equals its length (an 11-entry table at 11 steps)
        return _append_zero(table if n == len(table) else _loglinear_interp(table, n))

    return grid


GridFn = Callable[[int, NoiseModel, float, float, dict], np.ndarray]

SIGMA_SCHEDULES: dict[str, GridFn] = {
    "uniform": _uniform,
    "karras": _karras,
    "exponential": _exponential,
    "polyexponential": _polyexponential,
    "sgm_uniform": _sgm_uniform,
    "kl_optimal": _kl_optimal,
    "align_your_steps": _ays("align_your_steps"),
    "simple": _simple,
    "normal": _normal,
    "ddim": _ddim,
    "beta": _beta,
    "turbo": _turbo,
    "align_your_steps_gits": _ays("align_your_steps_gits"),
    "align_your_steps_11": _ays("align_your_steps_11"),
    "align_your_steps_32": _ays("align_your_steps_32"),
    "linear_quadratic": _linear_quadratic,
    "sd_turbo": _sd_turbo,
}
TIMESTEP_SCHEDULES = ("lcm", *SPACINGS)


def model_specific(schedule_id: str) -> bool:
    """A vocabulary schedule whose sigmas depend on the model and image size (SwarmUI's ltxv, flux2, ...) or
    that only the host computes (Neo's Bong Tangent, FlowMatchEulerDiscrete): no grid iga can compute."""
    info = load_table().schedules.get(schedule_id)
    return info is not None and not info.grid_known
#: the grids a schedule or a recipe can name
GRID_IDS = (*SIGMA_SCHEDULES, *TIMESTEP_SCHEDULES)
#: where the hosts' own timestep samplers evaluate the model (DDIM / DDIM CFG++ / PLMS, UniPC): grids of a
#: sampler, not schedules anyone can pick, so `compute_timesteps` knows them and GRID_IDS does not
SAMPLER_GRIDS = GRID_ONLY


def spacing_timesteps(spacing: str, steps: int, *, num_train_timesteps: int = 1000, steps_offset: int = 0) -> np.ndarray:
    """Integer timesteps (descending) of a diffusers `timestep_spacing`, as DDIMScheduler.set_timesteps."""
    _check_steps(steps)
    n, t = steps, num_train_timesteps
    if spacing == "linspace":
        return np.linspace(0, t - 1, n).round()[::-1].astype(np.int64)
    if spacing == "leading":
        return (np.arange(0, n) * (t // n)).round()[::-1].astype(np.int64) + int(steps_offset)
    if spacing == "trailing":
        return np.round(np.arange(t, 0, -t / n)).astype(np.int64) - 1
    raise ScheduleInputError(f"unknown timestep spacing {spacing!r}", f"use one of {', '.join(SPACINGS)}")


def lcm_timesteps(steps: int, *, original_inference_steps: int = 50, num_train_timesteps: int = 1000) -> np.ndarray:
    """LCMScheduler's default inference timesteps (e.g. 4 steps: 999, 759, 499, 259)."""
    _check_steps(steps)
    if steps > original_inference_steps:
        raise ScheduleInputError(f"{steps} LCM steps exceed original_inference_steps={original_inference_steps}",
                                 f"use at most {original_inference_steps} steps")
    k = num_train_timesteps // original_inference_steps
    origin = (np.arange(1, original_inference_steps + 1) * k - 1)[::-1]
    idx = np.floor(np.linspace(0, len(origin), num=steps, endpoint=False)).astype(np.int64)
    return origin[idx]


def _check_steps(steps) -> None:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
        raise ScheduleInputError(f"steps is {steps!r}", f"use a whole number from 1 to {MAX_STEPS}")


def _params(grid_id: str, params: dict | None, architecture: str | None) -> dict:
    p = {**DEFAULT_PARAMS.get(grid_id, {}), **(params or {})}
    if architecture is not None:
        p.setdefault("architecture", architecture)
    return p


def compute_grid(schedule_id: str | None, steps: int, *, sigma_min: float | None = None,
                 sigma_max: float | None = None, betas=None, spacing: str | None = None,
                 steps_offset: int = 0, model: NoiseModel | None = None, zero_terminal_snr: bool = False,
                 architecture: str | None = None, params: dict | None = None) -> np.ndarray:
    """The sigma grid (descending, final sigma appended) of `schedule_id` at `steps`.

    The model's sigma table comes from `model`, else from `betas`, else SD's scaled_linear betas (with
    zero-terminal-SNR rescaling when asked). `sigma_min`/`sigma_max` override the table's ends as the
    hosts' "Schedule min/max sigma" settings do. `schedule_id` may also be a timestep spacing
    ("leading", "linspace", "trailing", or None with `spacing=`) or "lcm"; those grids are the sigmas at
    the integer timesteps. `params`: rho (karras, polyexponential), alpha/beta (beta),
    threshold_noise/linear_steps (linear_quadratic), original_inference_steps (lcm); `architecture`
    "sdxl" picks the SDXL Align Your Steps tables.
    """
    _check_steps(steps)
    m = model or (NoiseModel.from_betas(betas, zero_terminal_snr=zero_terminal_snr) if betas is not None
                  else NoiseModel.sd(zero_terminal_snr=zero_terminal_snr))
    grid_id = schedule_id or spacing
    if grid_id in TIMESTEP_SCHEDULES:
        return _append_zero(m.sigmas[compute_timesteps(grid_id, steps, steps_offset=steps_offset, params=params,
                                                       model=m)])
    fn = SIGMA_SCHEDULES.get(grid_id)  # type: ignore[arg-type]
    if fn is None and model_specific(grid_id):
        raise ScheduleInputError(f"the {grid_id} schedule's sigmas depend on the model and on what the tool "
                                 "running it adds (the image size in SwarmUI, its own parameters in Forge Neo); "
                                 "iga cannot compute its grid",
                                 "use a schedule iga knows the grid of to have the step grid checked")
    if fn is None:
        raise ScheduleInputError(f"no grid is known for schedule {grid_id!r}",
                                 f"use one of {', '.join(GRID_IDS)}")
    smin = m.sigma_min if sigma_min is None or sigma_min <= 0 else float(sigma_min)
    smax = m.sigma_max if sigma_max is None or sigma_max <= 0 else float(sigma_max)
    if not smin < smax:
        raise ScheduleInputError(f"sigma_min {smin} is not below sigma_max {smax}", "swap or fix the sigma range")
    p = _params(grid_id, params, architecture)
    check_params(grid_id, p)
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            grid = np.asarray(fn(steps, m, smin, smax, p), dtype=np.float64)
    except (TypeError, ValueError) as exc:  # a non-numeric rho, alpha, ... from a hand-written recipe
        raise ScheduleParamError(f"the {grid_id} schedule cannot use params {params!r} ({exc})",
                                 f"give numbers, e.g. {DEFAULT_PARAMS.get(grid_id, {})}") from None
    except ArithmeticError as exc:  # overflow / division by zero / NaN inside params the bounds let through
        raise ScheduleInputError(f"the {grid_id} grid at {steps} steps cannot be computed from sigma range "
                                 f"{smin:g}..{smax:g} and params {params!r} ({exc})",
                                 "use the schedule's usual params and sigma range") from None
    if not np.all(np.isfinite(grid)):
        raise ScheduleInputError(f"the {grid_id} grid at {steps} steps is not finite with params {params!r}",
                                 "use the schedule's usual params and sigma range")
    return grid


def ddim_timesteps(steps: int, *, num_train_timesteps: int = 1000) -> np.ndarray:
    """Where A1111's / Forge's DDIM, DDIM CFG++ and PLMS evaluate the model: the timesteps
    range(0, T, T // steps) + 1 clipped to T - 1 (A sd_samplers_timesteps.py:94), from the last down to the
    second (the loop of A sd_samplers_timesteps_impl.py:22-25); 4 steps: 751, 501, 251."""
    _check_steps(steps)
    t = num_train_timesteps
    given = np.clip(np.arange(0, t, t // steps) + 1, 0, t - 1)
    if len(given) < 2:
        raise ScheduleInputError(f"A1111's DDIM / PLMS at {steps} step evaluates the model no time "
                                 "(its loop skips the first timestep)", "use at least 2 steps")
    return given[1:][::-1].astype(np.int64)


def unipc_timesteps(steps: int, *, num_train_timesteps: int = 1000) -> np.ndarray:
    """Where A1111's / Forge's UniPC evaluates the model (default skip type time_uniform): over
    N = len(range(0, T, T // steps)) steps (A sd_samplers_timesteps_impl.py:176: steps=len(timesteps)), the
    model input times (t - 1/T) * T for t = linspace(1, 1/T, N + 1), all but the last
    (A sd_samplers_timesteps_impl.py:159-160, uni_pc.py:467-468, 746-757); 4 steps: 999, 749.25, 499.5, 249.75."""
    _check_steps(steps)
    t = num_train_timesteps
    n = len(range(0, t, t // steps))
    return np.linspace(t - 1, 0, n + 1)[:-1]


#: LCM's denoiser keeps every 20th sigma of the training table (t = 19, 39, ..., 999) and evaluates the model
#: at the nearest of them (A sd_samplers_lcm.py:9-48; F reads the same table from its predictor)
LCM_ORIGINAL_STEPS = 50


def _lcm_table(m: NoiseModel) -> tuple[NoiseModel, int]:
    skip = len(m.sigmas) // LCM_ORIGINAL_STEPS
    return NoiseModel(m.sigmas[skip - 1::skip]), skip


def _sampler_timesteps(schedule_id: str, steps: int, m: NoiseModel, options: dict, params, grid_kwargs) -> np.ndarray:
    """A k-diffusion sampler's evaluation timesteps, with the host's sampler options applied."""
    discard = bool(options.get("discard_penultimate"))
    model, skip = (_lcm_table(m) if options.get("denoiser") == "lcm" else (m, 0))
    # Forge's Turbo reads the model's own predictor, not the sampler's table (F sd_schedulers.py:130-135)
    grid_model = m if schedule_id == "turbo" else model
    sigmas = compute_grid(schedule_id, steps + discard, model=grid_model, params=params, **grid_kwargs)
    if discard:  # A sd_samplers_kdiffusion.py:87, 123-124: one step more, the next-to-last sigma dropped
        sigmas = np.concatenate([sigmas[:-2], sigmas[-1:]])
    if skip:  # in float32 like the host's tensors, so a sigma half-way between two entries rounds the same way
        log = np.log(np.asarray(sigmas[:-1], dtype=np.float32))
        idx = np.abs(log[None, :] - model.log_sigmas.astype(np.float32)[:, None]).argmin(axis=0)
        return (idx * skip + (skip - 1)).astype(np.float64)
    return m.sigma_to_t(sigmas[:-1])


def compute_timesteps(schedule_id: str, steps: int, *, steps_offset: int = 0, params: dict | None = None,
                      model: NoiseModel | None = None, sampler_options: dict | None = None,
                      **grid_kwargs) -> np.ndarray:
    """The timesteps the model is evaluated at: integers for spacings and LCM, else the continuous
    timesteps (k-diffusion sigma_to_t) of every sigma but the final one. `sampler_options`: the sampler's
    `grid_options` from the vocabulary (discard_penultimate, denoiser "lcm")."""
    _check_steps(steps)
    m = model or NoiseModel.sd(zero_terminal_snr=bool(grid_kwargs.get("zero_terminal_snr")))
    n_train = len(m.sigmas)
    if schedule_id == "ddim_timesteps":
        return ddim_timesteps(steps, num_train_timesteps=n_train)
    if schedule_id == "unipc_timesteps":
        return unipc_timesteps(steps, num_train_timesteps=n_train)
    if sampler_options and schedule_id in SIGMA_SCHEDULES:
        return _sampler_timesteps(schedule_id, steps, m, sampler_options, params, grid_kwargs)
    if schedule_id in SPACINGS:
        return spacing_timesteps(schedule_id, steps, num_train_timesteps=n_train, steps_offset=steps_offset)
    if schedule_id == "lcm":
        p = _params("lcm", params, None)
        check_params("lcm", p)
        original = int(p["original_inference_steps"])
        return lcm_timesteps(steps, original_inference_steps=original, num_train_timesteps=n_train)
    sigmas = compute_grid(schedule_id, steps, model=m, params=params, **grid_kwargs)
    return m.sigma_to_t(sigmas[:-1])
