"""A diffusion "model" whose ideal denoiser is known exactly, for runs without a real checkpoint.

The data distribution is a Gaussian mixture in pixel space: one isotropic component (std `s`) around each
of a few procedurally drawn 16x16 RGB images (stripes, disks, checkers, gradients). A finite image set
alone would be memorised by every sampler (docs/evaluation.md, "The analytic reference model"), so the mixture width is what lets
samplers, schedules and step counts differ measurably.

For the DDPM forward process x_t = a*x0 + b*eps (a = sqrt(alphabar_t), b = sqrt(1 - alphabar_t)) the
posterior mean is exact:

    E[x0 | x_t] = sum_k w_k (mu_k + a s^2 / (a^2 s^2 + b^2) (x_t - a mu_k)),
    w_k proportional to N(x_t; a mu_k, (a^2 s^2 + b^2) I)

and the network outputs follow from it: eps = (x_t - a x0)/b, v = a eps - b x0. The prompt selects a
class (its components form the conditional distribution); classifier-free guidance mixes conditional and
unconditional outputs as a real pipeline does. The "distilled" variant answers every timestep as if it
were the nearest one of its training grid, which is how a few-step distilled model behaves off its grid.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import torch

CLASSES = ("stripes", "disk", "checker", "gradient")
SD_BETAS = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000}
DISTILLED_GRID = (999, 749, 499, 249)


@dataclass(frozen=True)
class MixtureSpec:
    """Everything that defines the data distribution; recorded in the report."""

    size: int = 16
    per_class: int = 4
    component_std: float = 0.15
    amplitude: float = 0.55  # means stay in [-amp, amp] so that +-3 std rarely clips at +-1
    seed: int = 20261126

    def to_dict(self) -> dict:
        return {**self.__dict__, "classes": list(CLASSES)}


def _pattern(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """An n x n map in [0, 1] that mixes the two colours of one image."""
    yy, xx = np.mgrid[0:n, 0:n] / (n - 1)
    if kind == "stripes":
        theta, freq, phase = rng.uniform(0, math.pi), rng.uniform(1.5, 3.0), rng.uniform(0, 2 * math.pi)
        return 0.5 + 0.5 * np.sin(2 * math.pi * freq * (xx * math.cos(theta) + yy * math.sin(theta)) + phase)
    if kind == "disk":
        cx, cy, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.35)
        return 1.0 / (1.0 + np.exp(-(r - np.hypot(xx - cx, yy - cy)) * 40.0))
    if kind == "checker":
        cell = int(rng.choice([2, 4]))
        iy, ix = np.mgrid[0:n, 0:n] // cell
        return ((iy + ix) % 2).astype(np.float64)
    theta = rng.uniform(0, 2 * math.pi)  # gradient
    p = xx * math.cos(theta) + yy * math.sin(theta)
    return (p - p.min()) / (p.max() - p.min())


def procedural_means(spec: MixtureSpec) -> tuple[np.ndarray, list[str]]:
    """(K x 3 x n x n means in [-amp, amp], class label per component); deterministic in spec.seed."""
    rng = np.random.default_rng(spec.seed)
    means, labels = [], []
    for kind in CLASSES:
        for _ in range(spec.per_class):
            c1, c2 = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)
            p = _pattern(kind, rng, spec.size)
            img = c1[:, None, None] * (1 - p) + c2[:, None, None] * p
            means.append(spec.amplitude * img)
            labels.append(kind)
    return np.stack(means), labels


def train_alphas_cumprod(betas: dict = SD_BETAS) -> np.ndarray:
    """alphabar_t for the SD 'scaled_linear' schedule, computed as diffusers computes it."""
    n = betas["num_train_timesteps"]
    b = np.linspace(betas["beta_start"] ** 0.5, betas["beta_end"] ** 0.5, n, dtype=np.float64) ** 2
    return np.cumprod(1.0 - b)


class GaussianMixtureImages:
    """The data distribution and its exact posterior mean under DDPM noise."""

    def __init__(self, spec: MixtureSpec = MixtureSpec()) -> None:
        self.spec = spec
        means, self.labels = procedural_means(spec)
        self.shape = means.shape[1:]
        # numpy, not torch: tiny matrices, and torch's thread pool only adds contention here
        self.means = means.reshape(len(means), -1)  # K x D, float64
        self._sq_norms = (self.means**2).sum(axis=1)
        log_sigmas = 0.5 * np.log((1 - (acp := train_alphas_cumprod())) / acp)
        self._log_sigmas = log_sigmas

    def class_mask(self, prompt: str | None) -> np.ndarray | None:
        """Components named in the prompt (a word equal to a class name); None means unconditional."""
        words = set((prompt or "").lower().replace(",", " ").split())
        chosen = [i for i, label in enumerate(self.labels) if label in words]
        return np.array(chosen) if chosen else None

    def alpha_sigma(self, t: float) -> tuple[float, float]:
        """(a, b) of the VP process at a possibly fractional training timestep, interpolating log sigma."""
        log_sigma = float(np.interp(t, np.arange(len(self._log_sigmas)), self._log_sigmas))
        sigma = math.exp(log_sigma)
        a = 1.0 / math.sqrt(1.0 + sigma * sigma)
        return a, sigma * a

    def posterior_mean(self, x_t: np.ndarray, a: float, b: float, components: np.ndarray | None) -> np.ndarray:
        """E[x0 | x_t] for a batch x_t of shape N x D (float64)."""
        mu = self.means if components is None else self.means[components]
        sq = self._sq_norms if components is None else self._sq_norms[components]
        s2 = self.spec.component_std**2
        var = a * a * s2 + b * b
        # |x - a mu|^2 up to a per-row constant, which the softmax ignores
        logits = (a * (x_t @ mu.T) - 0.5 * a * a * sq[None, :]) / var
        logits -= logits.max(axis=1, keepdims=True)
        w = np.exp(logits)
        w /= w.sum(axis=1, keepdims=True)
        mean_mu = w @ mu
        return mean_mu + (a * s2 / var) * (x_t - a * mean_mu)

    def draw(self, n: int, seed: int, prompt: str | None = None) -> np.ndarray:
        """n fresh samples (N x 3 x H x W, float64) from the conditional mixture, for two-sample scores."""
        rng = np.random.default_rng(seed)
        comps = self.class_mask(prompt)
        pool = np.arange(len(self.means)) if comps is None else comps
        k = pool[rng.integers(len(pool), size=n)]
        x = self.means[k] + self.spec.component_std * rng.standard_normal((n, self.means.shape[1]))
        return x.reshape(n, *self.shape)


@dataclass(frozen=True)
class ReferenceVariant:
    """One wrapped network: what it predicts and, for distilled ones, the timesteps it was trained on."""

    name: str
    prediction_type: str  # "eps" | "v"
    trained_timesteps: tuple[int, ...] = field(default_factory=tuple)  # empty: every timestep

    def to_dict(self) -> dict:
        return {"name": self.name, "prediction_type": self.prediction_type, "trained_timesteps": list(self.trained_timesteps)}


VARIANTS = {
    "eps": ReferenceVariant("eps", "eps"),
    "v": ReferenceVariant("v", "v"),
    "distilled": ReferenceVariant("distilled", "eps", DISTILLED_GRID),
}


class ReferenceNetwork:
    """The callable a sampler drives: (model input x_t, timestep, prompt, cfg) -> eps or v prediction.

    The distilled variant is built as if trained by trajectory distillation from the exact model: at a
    grid timestep it returns the eps for which one Euler/DDIM step to the next grid timestep (the last one
    to sigma 0) lands where the exact probability-flow ODE lands. The teacher ODE is integrated with
    Heun substeps in sigma space. Off its grid it answers for the nearest grid timestep, as a network
    that never saw other noise levels would.
    """

    TEACHER_SUBSTEPS = 12

    def __init__(self, variant: ReferenceVariant, mixture: GaussianMixtureImages) -> None:
        self.variant, self.mixture = variant, mixture

    def _timestep_seen(self, t: float) -> float:
        grid = self.variant.trained_timesteps
        return float(min(grid, key=lambda g: abs(g - t))) if grid else float(t)

    def __call__(self, x: torch.Tensor, t: float, prompt: str | None, cfg: float) -> torch.Tensor:
        t_seen = self._timestep_seen(float(t))
        flat = x.reshape(len(x), -1).to(torch.float64).numpy()
        comps = self.mixture.class_mask(prompt)
        out = self._predict(flat, t_seen, comps)
        if comps is not None and cfg != 1.0:
            uncond = self._predict(flat, t_seen, None)
            out = uncond + cfg * (out - uncond)
        return torch.from_numpy(out.reshape(x.shape)).to(x.dtype)

    def _predict(self, flat: np.ndarray, t: float, comps) -> np.ndarray:
        a, b = self.mixture.alpha_sigma(t)
        if self.variant.trained_timesteps:
            eps = self._distilled_eps(flat, t, comps)
        else:
            eps = (flat - a * self.mixture.posterior_mean(flat, a, b, comps)) / b
        if self.variant.prediction_type == "eps":
            return eps
        x0 = (flat - b * eps) / a
        return a * eps - b * x0

    def _denoised(self, x_sigma: np.ndarray, sigma: float, comps) -> np.ndarray:
        """Exact D(x, sigma) in the variance-exploding (k-diffusion) parametrisation."""
        a = 1.0 / math.sqrt(1.0 + sigma * sigma)
        return self.mixture.posterior_mean(x_sigma * a, a, sigma * a, comps)

    def _distilled_eps(self, flat: np.ndarray, t: float, comps) -> np.ndarray:
        grid = sorted(self.variant.trained_timesteps, reverse=True)
        a, b = self.mixture.alpha_sigma(t)
        sigma = b / a
        i = grid.index(int(t))
        sigma_next = 0.0 if i + 1 == len(grid) else self.mixture.alpha_sigma(grid[i + 1])[1] / self.mixture.alpha_sigma(grid[i + 1])[0]
        x = flat / a  # model input is x_sigma / sqrt(1 + sigma^2)
        start = x
        # Heun substeps, log-spaced in sigma, down to the smallest trained sigma; a last Euler step to 0.
        floor = self.mixture.alpha_sigma(0)[1] / self.mixture.alpha_sigma(0)[0]
        target = max(sigma_next, floor)
        sigmas = np.exp(np.linspace(math.log(sigma), math.log(target), self.TEACHER_SUBSTEPS + 1))
        for s, s_next in itertools.pairwise(sigmas):
            d = (x - self._denoised(x, s, comps)) / s
            x_euler = x + (s_next - s) * d
            d_next = (x_euler - self._denoised(x_euler, s_next, comps)) / s_next
            x = x + (s_next - s) * (d + d_next) / 2
        if sigma_next == 0.0:
            x = self._denoised(x, target, comps)
        return (x - start) / (sigma_next - sigma)
