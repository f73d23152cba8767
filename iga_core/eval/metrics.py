"""Image consistency metrics, numpy only.

Every function takes images as HxWx3 arrays: uint8 (0..255) or float (0..1). `as_float_image` is the one
conversion; it keeps NaN/inf so that the failure detectors can see them.

- `ssim`: structural similarity with the Gaussian window of Wang et al. 2004 (11x11, sigma 1.5, K1 0.01,
  K2 0.03), computed per channel on the valid region and averaged.
- `hue_saturation`: saturation-weighted circular mean hue (degrees) and mean saturation (HSV).
- `sharpness`: variance of the 4-neighbour Laplacian of the luminance.
- `detect_failures`: NaN, black, saturated, near-constant.
- `kendall_tau`: tau-b between two rankings (ties allowed), for seed repeatability.
- `axis_spread`: how much one metric moves along the varied axis (sample variance, or circular variance
  for angles).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])


def as_float_image(image) -> np.ndarray:
    """HxWx3 float64 in 0..1 (uint8 divided by 255); non-finite values are kept for the detectors."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 image, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float64) / 255.0
    return arr.astype(np.float64)


def luminance(image) -> np.ndarray:
    return as_float_image(image) @ LUMA


# --- SSIM -----------------------------------------------------------------------------------------------


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Normalised 1-D Gaussian; SSIM applies it separably along rows and columns."""
    x = np.arange(size) - (size - 1) / 2.0
    w = np.exp(-(x**2) / (2 * sigma**2))
    return w / w.sum()


def _filter_valid(channel: np.ndarray, window: np.ndarray) -> np.ndarray:
    # Separable 'valid' convolution (no padding, so no invented border pixels); the window is symmetric,
    # so correlation equals convolution.
    rows = np.lib.stride_tricks.sliding_window_view(channel, len(window), axis=1) @ window
    return np.lib.stride_tricks.sliding_window_view(rows, len(window), axis=0) @ window


def ssim(a, b, *, data_range: float = 1.0, win_size: int = 11, sigma: float = 1.5) -> float:
    """Mean SSIM over channels and window positions. Images smaller than the window use a window as
    large as the smaller side (odd), so 16x16 reference images still get a spatial SSIM."""
    x, y = as_float_image(a), as_float_image(b)
    if x.shape != y.shape:
        raise ValueError(f"SSIM needs images of one shape, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return float("nan")
    size = min(win_size, x.shape[0], x.shape[1])
    size -= 1 - size % 2
    window = gaussian_window(size, sigma)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    scores = []
    for ch in range(3):
        xc, yc = x[..., ch], y[..., ch]
        mx, my = _filter_valid(xc, window), _filter_valid(yc, window)
        vx = _filter_valid(xc * xc, window) - mx * mx
        vy = _filter_valid(yc * yc, window) - my * my
        cov = _filter_valid(xc * yc, window) - mx * my
        num = (2 * mx * my + c1) * (2 * cov + c2)
        den = (mx * mx + my * my + c1) * (vx + vy + c2)
        scores.append(np.mean(num / den))
    return float(np.mean(scores))


# --- colour ---------------------------------------------------------------------------------------------


def hsv_hue_saturation(image) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel hue in degrees [0, 360) and HSV saturation in [0, 1] (clipped input)."""
    rgb = np.clip(as_float_image(image), 0.0, 1.0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    mx, mn = rgb.max(axis=2), rgb.min(axis=2)
    delta = mx - mn
    sat = np.where(mx > 0, delta / np.where(mx > 0, mx, 1.0), 0.0)
    safe = np.where(delta > 0, delta, 1.0)
    hue = np.where(
        mx == r, ((g - b) / safe) % 6.0, np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0)
    )
    hue = np.where(delta > 0, hue * 60.0, 0.0)
    return hue, sat


def circular_mean_deg(angles_deg, weights=None) -> tuple[float, float]:
    """(mean angle in degrees [0, 360), resultant length R in [0, 1]); R = 0 means no defined direction."""
    ang = np.radians(np.asarray(angles_deg, dtype=np.float64))
    w = np.ones_like(ang) if weights is None else np.asarray(weights, dtype=np.float64)
    total = w.sum()
    if total <= 0:
        return 0.0, 0.0
    c, s = (w * np.cos(ang)).sum() / total, (w * np.sin(ang)).sum() / total
    r = math.hypot(c, s)
    if r < 1e-12:
        return 0.0, 0.0  # opposite directions cancel: no mean direction
    # arctan2 of a rounding-level negative sine is -0.0000…1 degrees, which `% 360` turns into 360.0:
    # snap angles within 1e-9 degrees of a full turn back to 0, so the result is always in [0, 360)
    mean = float(np.degrees(math.atan2(s, c)) % 360.0)
    return (0.0 if mean >= 360.0 - 1e-9 else mean), float(min(r, 1.0))


def hue_difference_deg(h1: float, h2: float) -> float:
    """Signed smallest difference h2 - h1 on the circle, in (-180, 180]; NaN when either has no hue."""
    if not (math.isfinite(h1) and math.isfinite(h2)):
        return float("nan")
    d = (h2 - h1 + 180.0) % 360.0 - 180.0
    return 180.0 if d == -180.0 else float(d)


def hue_saturation(image) -> tuple[float, float]:
    """(saturation-weighted circular mean hue in degrees, mean saturation). Grey pixels carry no hue, so
    they get no weight; an all-grey image has no hue (NaN), which the spread statistics leave out."""
    hue, sat = hsv_hue_saturation(image)
    if sat.sum() <= 1e-9:
        return float("nan"), float(sat.mean())
    mean_hue, _ = circular_mean_deg(hue, sat)
    return mean_hue, float(sat.mean())


# --- sharpness ------------------------------------------------------------------------------------------


def sharpness(image) -> float:
    """Variance of the 4-neighbour Laplacian of the luminance (valid region)."""
    y = luminance(image)
    lap = y[1:-1, :-2] + y[1:-1, 2:] + y[:-2, 1:-1] + y[2:, 1:-1] - 4.0 * y[1:-1, 1:-1]
    return float(lap.var())


def sharpness_drift(image, anchor) -> float:
    """log2 of the sharpness ratio to an anchor image: +1 = twice as sharp, -1 = half."""
    eps = 1e-12
    return float(np.log2((sharpness(image) + eps) / (sharpness(anchor) + eps)))


# --- failures -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailureThresholds:
    """What counts as a failed image. Recorded in every report so that a rerun uses the same bar."""

    black_mean: float = 0.03  # mean luminance below this: black
    clip_fraction: float = 0.5  # more than this share of channel values at 0 or 1: saturated
    clip_margin: float = 1.0 / 255.0
    constant_std: float = 0.01  # luminance std below this: near-constant

    def to_dict(self) -> dict:
        return asdict(self)


FAILURE_KINDS = ("nan", "black", "saturated", "near_constant")


def detect_failures(image, thresholds: FailureThresholds = FailureThresholds()) -> list[str]:
    """The failure kinds this image shows, in FAILURE_KINDS order; [] for a usable image."""
    x = as_float_image(image)
    if not np.isfinite(x).all():
        return ["nan"]
    found = []
    y = x @ LUMA
    if y.mean() < thresholds.black_mean:
        found.append("black")
    clipped = (x <= thresholds.clip_margin) | (x >= 1.0 - thresholds.clip_margin)
    if clipped.mean() > thresholds.clip_fraction:
        found.append("saturated")
    if y.std() < thresholds.constant_std:
        found.append("near_constant")
    return found


# --- rankings and spread --------------------------------------------------------------------------------


def kendall_tau(a, b) -> float:
    """Kendall tau-b of two equally long score lists; NaN when either list is constant or too short."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("kendall_tau needs two 1-D sequences of one length")
    n = len(x)
    if n < 2:
        return float("nan")
    i, j = np.triu_indices(n, k=1)
    sx, sy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    n0 = len(i)
    tx, ty = np.count_nonzero(sx == 0), np.count_nonzero(sy == 0)
    denom = math.sqrt((n0 - tx) * (n0 - ty))
    if denom == 0:
        return float("nan")
    return float(np.sum(sx * sy) / denom)


def axis_spread(values, *, circular: bool = False) -> float:
    """Spread of one metric along the varied axis: sample variance (ddof 1), or for angles in degrees the
    circular variance 1 - R. NaN entries (failed images) are left out; NaN when fewer than 2 remain."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return float("nan")
    if circular:
        return 1.0 - circular_mean_deg(v)[1]
    return float(v.var(ddof=1))
