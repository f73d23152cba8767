"""Training noise schedules: betas, alphas, the discrete sigma table, and the k-diffusion t <-> sigma maps.

Formulas follow the hosts and the libraries they mirror: `scaled_linear` betas as in diffusers
(`beta_schedule="scaled_linear"`) and the CompVis `make_beta_schedule`; zero-terminal-SNR rescaling
as A1111 modules/sd_models.py:628-644 (which keeps the last alpha_bar at 4.8973451890853435e-08 so the
top sigma stays finite); t <-> sigma as k-diffusion `DiscreteSchedule` (log-sigma interpolation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from iga_core.errors import IgaInvalid

#: SD 1.x / 2.x / SDXL training schedule
SD_BETA_START = 0.00085
SD_BETA_END = 0.012
NUM_TRAIN_TIMESTEPS = 1000
#: alpha_bar A1111 keeps at the last timestep after zero-terminal-SNR rescaling (sd_models.py:643)
ZTSNR_LAST_ALPHA_BAR = 4.8973451890853435e-08

BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")


class ScheduleInputError(IgaInvalid):
    """Inputs a noise or step schedule cannot be built from (bad range, unknown type, too few steps)."""


def make_betas(beta_schedule: str = "scaled_linear", *, beta_start: float = SD_BETA_START,
               beta_end: float = SD_BETA_END, num_train_timesteps: int = NUM_TRAIN_TIMESTEPS) -> np.ndarray:
    """Training betas, float64, as diffusers builds them for `beta_schedule`."""
    if num_train_timesteps < 2:
        raise ScheduleInputError(f"num_train_timesteps is {num_train_timesteps}", "use at least 2 (SD uses 1000)")
    if beta_schedule == "linear":
        return np.linspace(beta_start, beta_end, num_train_timesteps, dtype=np.float64)
    if beta_schedule == "scaled_linear":
        return np.linspace(beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=np.float64) ** 2
    if beta_schedule == "squaredcos_cap_v2":
        def alpha_bar(t: float) -> float:
            return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

        n = num_train_timesteps
        return np.array([min(1 - alpha_bar((i + 1) / n) / alpha_bar(i / n), 0.999) for i in range(n)])
    raise ScheduleInputError(f"unknown beta schedule {beta_schedule!r}", f"use one of {', '.join(BETA_SCHEDULES)}")


def alphas_cumprod(betas: np.ndarray) -> np.ndarray:
    betas = np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or len(betas) < 2 or np.any(betas <= 0) or np.any(betas >= 1):
        raise ScheduleInputError("betas must be a 1-D list of numbers in (0, 1)", "pass the model's training betas")
    return np.cumprod(1.0 - betas)


def rescale_zero_terminal_snr(alphas_bar: np.ndarray) -> np.ndarray:
    """alpha_bar rescaled so the last timestep has (almost) zero SNR ("Common Diffusion Noise Schedules
    and Sample Steps are Flawed", Alg. 1), keeping the last value finite as A1111 does."""
    sqrt_ab = np.sqrt(np.asarray(alphas_bar, dtype=np.float64))
    first, last = sqrt_ab[0], sqrt_ab[-1]
    sqrt_ab = (sqrt_ab - last) * (first / (first - last))
    out = sqrt_ab**2
    out[-1] = ZTSNR_LAST_ALPHA_BAR
    return out


def sigmas_from_alphas_cumprod(alphas_bar: np.ndarray) -> np.ndarray:
    """sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t), ascending in t."""
    ab = np.asarray(alphas_bar, dtype=np.float64)
    return np.sqrt((1.0 - ab) / ab)


@dataclass(frozen=True)
class NoiseModel:
    """A discrete model's sigma table (index = training timestep) and k-diffusion's maps between
    continuous timesteps and sigmas (DiscreteSchedule.sigma_to_t / t_to_sigma)."""

    sigmas: np.ndarray
    log_sigmas: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        s = np.asarray(self.sigmas, dtype=np.float64)
        if s.ndim != 1 or len(s) < 2 or not np.all(np.isfinite(s)) or np.any(s <= 0) or np.any(np.diff(s) <= 0):
            raise ScheduleInputError("a sigma table must be positive, finite and increasing",
                                     "build it with NoiseModel.from_betas or NoiseModel.sd")
        object.__setattr__(self, "sigmas", s)
        object.__setattr__(self, "log_sigmas", np.log(s))

    @classmethod
    def from_betas(cls, betas, *, zero_terminal_snr: bool = False) -> NoiseModel:
        ab = alphas_cumprod(np.asarray(betas, dtype=np.float64))
        if zero_terminal_snr:
            ab = rescale_zero_terminal_snr(ab)
        return cls(sigmas_from_alphas_cumprod(ab))

    @classmethod
    def sd(cls, *, zero_terminal_snr: bool = False) -> NoiseModel:
        """SD 1.x / SDXL: scaled_linear betas 0.00085 -> 0.012 over 1000 steps (sigma 0.0292 .. 14.6146)."""
        return _sd_model(zero_terminal_snr)

    @property
    def sigma_min(self) -> float:
        return float(self.sigmas[0])

    @property
    def sigma_max(self) -> float:
        return float(self.sigmas[-1])

    @property
    def t_max(self) -> int:
        return len(self.sigmas) - 1

    def sigma_to_t(self, sigma) -> np.ndarray:
        """Continuous timestep of each sigma; sigmas outside the table clamp to its ends."""
        log_sigma = np.log(np.clip(np.asarray(sigma, dtype=np.float64), self.sigmas[0], self.sigmas[-1]))
        idx = np.searchsorted(self.log_sigmas, log_sigma, side="right") - 1
        low = np.clip(idx, 0, len(self.log_sigmas) - 2)
        lo, hi = self.log_sigmas[low], self.log_sigmas[low + 1]
        w = np.clip((lo - log_sigma) / (lo - hi), 0.0, 1.0)
        return (1.0 - w) * low + w * (low + 1)

    def t_to_sigma(self, t) -> np.ndarray:
        t = np.clip(np.asarray(t, dtype=np.float64), 0, self.t_max)
        low = np.floor(t).astype(np.int64)
        high = np.ceil(t).astype(np.int64)
        w = t - low
        return np.exp((1.0 - w) * self.log_sigmas[low] + w * self.log_sigmas[high])


_SD_CACHE: dict[bool, NoiseModel] = {}


def _sd_model(zero_terminal_snr: bool) -> NoiseModel:
    if zero_terminal_snr not in _SD_CACHE:
        _SD_CACHE[zero_terminal_snr] = NoiseModel.from_betas(make_betas(), zero_terminal_snr=zero_terminal_snr)
    return _SD_CACHE[zero_terminal_snr]


def flow_sigmas(steps: int, *, shift: float = 1.0, num_train_timesteps: int = NUM_TRAIN_TIMESTEPS) -> np.ndarray:
    """Flow-matching sigmas as diffusers FlowMatchEulerDiscreteScheduler.set_timesteps (static shift), then
    a final 0: evenly spaced from 1 down to the *shifted* smallest training sigma, each then shifted by
    s' = shift*s / (1 + (shift-1)*s). (diffusers shifts the lower end twice; kept, to match it.)"""
    if steps < 1:
        raise ScheduleInputError(f"steps is {steps}", "use at least 1 step")
    if shift <= 0:
        raise ScheduleInputError(f"shift is {shift}", "use a shift > 0 (SD3: 3.0, Flux schnell: 1.0)")

    def shifted(s):
        return shift * s / (1.0 + (shift - 1.0) * s)

    s = np.linspace(1.0, shifted(1.0 / num_train_timesteps), steps, dtype=np.float64)
    return np.append(shifted(s), 0.0)


def time_shift_exponential(mu: float, sigma: float, t):
    """Flux's resolution-dependent shift (diffusers `time_shift_type="exponential"`)."""
    t = np.asarray(t, dtype=np.float64)
    return math.exp(mu) / (math.exp(mu) + (1.0 / t - 1.0) ** sigma)
