"""Sigma and timestep grids of the standard schedule types, and whether a request stays on a recipe's grid.

numpy only (no scipy, no torch): the core runs inside both hosts and in CI without the eval stack.
"""

from __future__ import annotations

from iga_core import vocab
from iga_core.lazy import lazy_exports

# loaded on first use (iga_core.lazy): a recipe that names a grid does not load numpy until a grid is computed
__all__ = [*lazy_exports(__name__, {
    "iga_core.schedules.beta_dist": ("beta_cdf", "beta_ppf"),
    "iga_core.schedules.classify": ("DEFAULT_TOLERANCE", "GridMatch", "classify_grid", "classify_timesteps"),
    "iga_core.schedules.grids": ("DEFAULT_PARAMS", "GRID_IDS", "SAMPLER_GRIDS", "SIGMA_SCHEDULES", "SPACINGS",
                                 "ays_tables", "compute_grid", "compute_timesteps", "lcm_timesteps",
                                 "spacing_timesteps"),
    "iga_core.schedules.noise": ("NUM_TRAIN_TIMESTEPS", "NoiseModel", "ScheduleInputError", "alphas_cumprod",
                                 "flow_sigmas", "make_betas", "rescale_zero_terminal_snr",
                                 "sigmas_from_alphas_cumprod", "time_shift_exponential"),
    "iga_core.schedules.params": ("ScheduleParamError", "check_params", "param_bounds", "param_problems"),
}), "timestep_sampler_schedule"]


def timestep_sampler_schedule(sampler_id: str) -> str | None:
    """The schedule whose grid a timestep sampler (DDIM, PLMS, UniPC, TCD) follows; None for others."""
    return vocab.resolve_sampler(sampler_id).grid_schedule
