"""Sigma and timestep grids of the standard schedule types, and whether a request stays on a recipe's grid.

numpy only (no scipy, no torch): the core runs inside both hosts and in CI without the eval stack.
"""

from __future__ import annotations

from iga_core import vocab
from iga_core.schedules.beta_dist import beta_cdf, beta_ppf
from iga_core.schedules.classify import DEFAULT_TOLERANCE, GridMatch, classify_grid, classify_timesteps
from iga_core.schedules.grids import (
    DEFAULT_PARAMS,
    GRID_IDS,
    SAMPLER_GRIDS,
    SIGMA_SCHEDULES,
    SPACINGS,
    ays_tables,
    compute_grid,
    compute_timesteps,
    lcm_timesteps,
    spacing_timesteps,
)
from iga_core.schedules.noise import (
    NUM_TRAIN_TIMESTEPS,
    NoiseModel,
    ScheduleInputError,
    alphas_cumprod,
    flow_sigmas,
    make_betas,
    rescale_zero_terminal_snr,
    sigmas_from_alphas_cumprod,
    time_shift_exponential,
)
from iga_core.schedules.params import ScheduleParamError, check_params, param_bounds, param_problems


def timestep_sampler_schedule(sampler_id: str) -> str | None:
    """The schedule whose grid a timestep sampler (DDIM, PLMS, UniPC, TCD) follows; None for others."""
    return vocab.resolve_sampler(sampler_id).grid_schedule


__all__ = [
    "DEFAULT_PARAMS",
    "DEFAULT_TOLERANCE",
    "GRID_IDS",
    "NUM_TRAIN_TIMESTEPS",
    "SAMPLER_GRIDS",
    "SIGMA_SCHEDULES",
    "SPACINGS",
    "GridMatch",
    "NoiseModel",
    "ScheduleInputError",
    "ScheduleParamError",
    "alphas_cumprod",
    "ays_tables",
    "beta_cdf",
    "beta_ppf",
    "check_params",
    "classify_grid",
    "classify_timesteps",
    "compute_grid",
    "compute_timesteps",
    "flow_sigmas",
    "lcm_timesteps",
    "make_betas",
    "param_bounds",
    "param_problems",
    "rescale_zero_terminal_snr",
    "sigmas_from_alphas_cumprod",
    "spacing_timesteps",
    "time_shift_exponential",
    "timestep_sampler_schedule",
]
