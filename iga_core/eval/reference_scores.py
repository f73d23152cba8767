"""Quality scores that need the reference model's known distribution (not available for real checkpoints).

Likelihood is the wrong score here: over-smoothed samples are *more* likely than true draws (docs/evaluation.md, "The analytic reference model").
So the scores compare against the mixture itself:

- `residual_ratio` (per image): squared distance to the nearest component mean of the prompt's class,
  divided by D*s^2. A true draw scores about 1; over-smoothed images score below 1, noisy or broken
  ones above.
- `mmd` (per set of images): unbiased squared maximum mean discrepancy with a Gaussian kernel against
  fresh draws from the mixture, the kernel width fixed by the median distance between those draws.
  `noise_floor` is what sets of true draws of the same size score (95th percentile); the unbiased
  statistic can be negative, and anything below the floor is indistinguishable from true draws.
"""

from __future__ import annotations

import numpy as np

from iga_core.eval.metrics import as_float_image
from iga_core.eval.reference_model import GaussianMixtureImages

REFERENCE_DRAWS = 256
DRAW_SEED = 7_000_001  # far from the protocol's seeds, so the reference set is independent of them


def _flat(images) -> np.ndarray:
    """Images in 0..1 (HxWx3) -> rows in the model's -1..1 space (C, H, W order)."""
    arr = np.stack([as_float_image(img) for img in images])
    return (arr.transpose(0, 3, 1, 2).reshape(len(arr), -1)) * 2.0 - 1.0


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None, :], 0.0)


class MixtureScores:
    """Scores against the (prompt-conditional) mixture; callables fit `run_protocol`'s score hooks."""

    def __init__(self, mixture: GaussianMixtureImages, prompt: str | None) -> None:
        self.mixture = mixture
        comps = mixture.class_mask(prompt)
        self.means = mixture.means if comps is None else mixture.means[comps]
        draws = mixture.draw(REFERENCE_DRAWS, DRAW_SEED, prompt).clip(-1.0, 1.0)  # images are clipped too
        self.reference = draws.reshape(len(draws), -1)
        d = _sq_dists(self.reference, self.reference)
        self.bandwidth2 = float(np.median(d[np.triu_indices(len(d), 1)]))
        self._k_yy = self._kernel_mean(self.reference, self.reference, same=True)
        self._prompt = prompt
        self._floors: dict[tuple, float] = {}

    def residual_ratio(self, image) -> float:
        x = _flat([image])
        d2 = _sq_dists(x, self.means).min()
        return float(d2 / (x.shape[1] * self.mixture.spec.component_std**2))

    def _kernel_mean(self, a: np.ndarray, b: np.ndarray, *, same: bool) -> float:
        k = np.exp(-_sq_dists(a, b) / self.bandwidth2)
        if same:
            n = len(a)
            return float((k.sum() - np.trace(k)) / (n * (n - 1)))
        return float(k.mean())

    def mmd(self, images) -> float:
        x = _flat(images)
        if len(x) < 2:
            return float("nan")
        return self._kernel_mean(x, x, same=True) + self._k_yy - 2.0 * self._kernel_mean(x, self.reference, same=False)

    def noise_floor(self, n: int, sets: int = 40, seed: int = DRAW_SEED + 1) -> float:
        """The 95th percentile of MMD^2 over `sets` independent sets of n true draws: a sampler scoring
        below it is indistinguishable from the true distribution with n seeds."""
        key = (n, sets, seed)
        if key in self._floors:
            return self._floors[key]
        scores = []
        for k in range(sets):
            draws = self.mixture.draw(n, seed + k, self._prompt).clip(-1.0, 1.0)
            scores.append(self.mmd((draws.transpose(0, 2, 3, 1) + 1.0) / 2.0))
        self._floors[key] = float(np.percentile(scores, 95))
        return self._floors[key]
