"""Metric correctness on image pairs whose answer is known in closed form (numpy only)."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from iga_core.eval import metrics as M

pytestmark = pytest.mark.eval


def _random_image(seed: int, shape=(16, 16, 3)) -> np.ndarray:
    return np.random.default_rng(seed).random(shape)


def _flat(rgb, shape=(16, 16)) -> np.ndarray:
    return np.broadcast_to(np.asarray(rgb, dtype=np.float64), (*shape, 3)).copy()


def _direct_ssim(x, y, size=11, sigma=1.5):
    """SSIM written the slow way: weighted statistics in every window position."""
    w = np.outer(M.gaussian_window(size, sigma), M.gaussian_window(size, sigma))
    c1, c2 = 0.01**2, 0.03**2
    scores = []
    for ch in range(3):
        for i in range(x.shape[0] - size + 1):
            for j in range(x.shape[1] - size + 1):
                px, py = x[i : i + size, j : j + size, ch], y[i : i + size, j : j + size, ch]
                mx, my = (w * px).sum(), (w * py).sum()
                vx, vy = (w * px * px).sum() - mx * mx, (w * py * py).sum() - my * my
                cov = (w * px * py).sum() - mx * my
                scores.append((2 * mx * my + c1) * (2 * cov + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return float(np.mean(scores))


def test_ssim_identical_is_one():
    img = _random_image(1)
    assert M.ssim(img, img) == pytest.approx(1.0, abs=1e-12)


def test_ssim_of_two_flat_images_has_the_closed_form():
    a, b = 0.3, 0.7  # no variance: SSIM reduces to the luminance term
    expected = (2 * a * b + 0.01**2) / (a * a + b * b + 0.01**2)
    assert M.ssim(_flat([a] * 3), _flat([b] * 3)) == pytest.approx(expected, rel=1e-12)


def test_ssim_matches_the_direct_window_computation():
    x = _random_image(2, (20, 18, 3))
    y = np.clip(x + 0.15 * np.random.default_rng(3).standard_normal(x.shape), 0, 1)
    assert M.ssim(x, y) == pytest.approx(_direct_ssim(x, y), rel=1e-10)
    assert M.ssim(x, y) == pytest.approx(M.ssim(y, x), rel=1e-12)


def test_ssim_falls_as_noise_grows_and_accepts_uint8():
    x = _random_image(4)
    rng = np.random.default_rng(5)
    noise = rng.standard_normal(x.shape)
    scores = [M.ssim(x, np.clip(x + s * noise, 0, 1)) for s in (0.02, 0.1, 0.3)]
    assert scores[0] > scores[1] > scores[2]
    as_u8 = (x * 255).round().astype(np.uint8)
    assert M.ssim(as_u8, as_u8) == pytest.approx(1.0)


def test_ssim_refuses_shape_mismatch_and_is_nan_for_nan_images():
    with pytest.raises(ValueError):
        M.ssim(_random_image(1), _random_image(1, (8, 8, 3)))
    bad = _random_image(1)
    bad[0, 0, 0] = np.nan
    assert np.isnan(M.ssim(bad, _random_image(1)))


def test_hue_of_known_colours_and_a_known_hue_shift():
    for rgb in ((0.9, 0.2, 0.2), (0.3, 0.8, 0.4), (0.2, 0.3, 0.9)):
        hue, sat = M.hue_saturation(_flat(rgb))
        h, s, _ = colorsys.rgb_to_hsv(*rgb)
        assert hue == pytest.approx(h * 360.0) and sat == pytest.approx(s)
    # rotating the channels (r, g, b) -> (b, r, g) turns the hue by +120 degrees
    img = _flat((0.9, 0.5, 0.2))
    h1, s1 = M.hue_saturation(img)
    h2, s2 = M.hue_saturation(img[..., [2, 0, 1]])
    assert M.hue_difference_deg(h1, h2) == pytest.approx(120.0)
    assert s2 == pytest.approx(s1)


def test_circular_hue_statistics_wrap_around_zero():
    mean, r = M.circular_mean_deg([350.0, 10.0])
    assert mean == pytest.approx(0.0, abs=1e-9) and r == pytest.approx(np.cos(np.radians(10)))  # not 360.0
    for angles in ([350.0, 10.0], [359.9999999999, 0.0000000001], [-10.0, 10.0], [720.0], [0.0, 0.0]):
        assert 0.0 <= M.circular_mean_deg(angles)[0] < 360.0
    assert M.circular_mean_deg([90.0, 270.0]) == (0.0, 0.0)  # no mean direction
    assert M.circular_mean_deg([300.0, 340.0])[0] == pytest.approx(320.0)
    assert M.hue_difference_deg(350.0, 10.0) == pytest.approx(20.0)
    assert M.hue_difference_deg(10.0, 350.0) == pytest.approx(-20.0)
    assert M.axis_spread([350.0, 10.0], circular=True) < 0.02
    assert M.axis_spread([0.0, 180.0], circular=True) == pytest.approx(1.0)
    # a half-red, half-cyan-weighted image: grey pixels carry no hue weight
    img = _flat((0.5, 0.5, 0.5))
    img[:8] = (1.0, 0.0, 0.0)
    assert M.hue_saturation(img)[0] == pytest.approx(0.0, abs=1e-9)


def test_saturation_difference_between_grey_and_colour():
    grey_hue, grey = M.hue_saturation(_flat((0.4, 0.4, 0.4)))
    assert np.isnan(grey_hue) and np.isnan(M.hue_difference_deg(grey_hue, 30.0))  # grey has no hue
    _, colour = M.hue_saturation(_flat((0.8, 0.4, 0.2)))
    assert grey == 0.0 and colour == pytest.approx(0.75)


def test_sharpness_scales_with_contrast_squared():
    checker = np.indices((16, 16)).sum(axis=0) % 2
    img = _flat((0.5, 0.5, 0.5)) + 0.1 * (checker[..., None] - 0.5)
    twice = _flat((0.5, 0.5, 0.5)) + 0.2 * (checker[..., None] - 0.5)
    assert M.sharpness(_flat((0.3, 0.3, 0.3))) == 0.0
    assert M.sharpness_drift(img, img) == pytest.approx(0.0, abs=1e-9)
    assert M.sharpness_drift(twice, img) == pytest.approx(2.0, abs=1e-6)  # variance x4 = +2 in log2


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (np.full((16, 16, 3), np.nan), ["nan"]),
        (np.zeros((16, 16, 3)), ["black", "saturated", "near_constant"]),
        (np.ones((16, 16, 3)), ["saturated", "near_constant"]),
        (np.full((16, 16, 3), 0.5), ["near_constant"]),
        (np.random.default_rng(0).integers(0, 2, (16, 16, 3)).astype(float), ["saturated"]),
        (np.random.default_rng(0).uniform(0.2, 0.8, (16, 16, 3)), []),
    ],
    ids=["nan", "black", "white", "flat-grey", "clipped-noise", "normal"],
)
def test_failure_detectors(image, expected):
    assert M.detect_failures(image) == expected


def test_kendall_tau_agrees_with_scipy_including_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(9)
    for _ in range(20):
        a, b = rng.integers(0, 4, 9), rng.integers(0, 4, 9)
        expected = stats.kendalltau(a, b).statistic
        got = M.kendall_tau(a, b)
        assert (np.isnan(expected) and np.isnan(got)) or got == pytest.approx(expected)


def test_kendall_tau_known_rankings():
    assert M.kendall_tau([1, 2, 3], [10, 20, 30]) == 1.0
    assert M.kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0
    # one discordant pair of three, no ties: (2 - 1) / 3
    assert M.kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert np.isnan(M.kendall_tau([1, 1, 1], [1, 2, 3]))  # a constant ranking has no order


def test_axis_spread_skips_failed_entries():
    assert M.axis_spread([1.0, np.nan, 3.0]) == pytest.approx(2.0)
    assert np.isnan(M.axis_spread([1.0, np.nan]))


def test_as_float_image_refuses_wrong_shapes():
    with pytest.raises(ValueError):
        M.as_float_image(np.zeros((16, 16)))
