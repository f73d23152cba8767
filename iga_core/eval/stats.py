"""Statistics of the evaluation, numpy only: Fréchet distance, ICC, Kendall tau per arm, bootstrap intervals.

- `frechet_distance(a, b)`: ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2), the FID formula,
  computed through symmetric eigendecompositions (no scipy.linalg.sqrtm, whose complex round-off FID code
  has to strip).
- `icc_consistency(x)`: ICC(3,1) of Shrout & Fleiss (two-way mixed, consistency, single measure) of a
  matrix x[rater, subject]: raters are configurations, subjects are seeds. 1 = every configuration orders
  and spaces the seeds the same way; 0 = the seed explains nothing that carries across configurations.
- `mean_pairwise_tau(x)`: Kendall tau-b between the seed vectors of every pair of configurations, averaged.
- `bootstrap_ci(stat, n_draws, ...)`: percentile interval of `stat(rng)` over `n_draws` replicates, where
  the statistic resamples what it needs (seeds, configurations) from the rng it is given: one seeded
  `numpy.random.Generator`, so an interval is reproducible to the last digit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import combinations

import numpy as np

from iga_core.eval.metrics import kendall_tau

BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 15_000_015


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need an N x D feature matrix with N >= 2, got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1])


def frechet_from_stats(mu_a, cov_a, mu_b, cov_b) -> float:
    root_a = _sqrt_psd(cov_a)
    cross = _sqrt_psd(root_a @ cov_b @ root_a)
    diff = np.asarray(mu_a) - np.asarray(mu_b)
    return float(max(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(cross), 0.0))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows = samples)."""
    return frechet_from_stats(*gaussian_stats(a), *gaussian_stats(b))


def icc_consistency(x) -> float:
    """ICC(3,1) of x[rater, subject] (rows: configurations, columns: seeds); NaN when undefined."""
    m = np.asarray(x, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 2 or not np.isfinite(m).all():
        return float("nan")
    k, n = m.shape  # k raters, n subjects
    grand = m.mean()
    ss_subjects = k * ((m.mean(axis=0) - grand) ** 2).sum()
    ss_raters = n * ((m.mean(axis=1) - grand) ** 2).sum()
    ss_error = ((m - grand) ** 2).sum() - ss_subjects - ss_raters
    ms_subjects = ss_subjects / (n - 1)
    ms_error = ss_error / ((n - 1) * (k - 1))
    denom = ms_subjects + (k - 1) * ms_error
    return float((ms_subjects - ms_error) / denom) if denom > 0 else float("nan")


def mean_pairwise_tau(x) -> float:
    """Mean Kendall tau-b between the seed vectors (rows) of every pair of configurations."""
    m = np.asarray(x, dtype=np.float64)
    taus = [kendall_tau(a, b) for a, b in combinations(m, 2) if np.isfinite(a).all() and np.isfinite(b).all()]
    taus = [t for t in taus if math.isfinite(t)]
    return float(np.mean(taus)) if taus else float("nan")


def percentile_interval(samples, level: float = 0.95) -> list[float] | None:
    s = np.asarray([v for v in samples if v is not None and math.isfinite(v)], dtype=np.float64)
    if len(s) < 10:
        return None
    lo, hi = np.percentile(s, [50 * (1 - level), 50 * (1 + level)])
    return [float(lo), float(hi)]


def bootstrap_ci(stat: Callable[[np.random.Generator], float], *, draws: int = BOOTSTRAP_DRAWS,
                 seed: int = BOOTSTRAP_SEED, level: float = 0.95) -> dict:
    """{"ci": [lo, hi] or None, "draws": n, "undefined": how many replicates gave no finite value}."""
    rng = np.random.default_rng(seed)
    values = []
    undefined = 0
    for _ in range(draws):
        v = stat(rng)
        if v is None or not math.isfinite(v):
            undefined += 1
        else:
            values.append(float(v))
    return {"ci": percentile_interval(values, level), "level": level, "draws": draws, "undefined": undefined,
            "seed": seed}


def resample(rng: np.random.Generator, n: int) -> np.ndarray:
    """n indices drawn with replacement."""
    return rng.integers(0, n, size=n)
