"""The procedural data set the evaluation models are trained on: coloured digits, 16x16 RGB, numpy only.

Everything is in `data/glyphs.json` (font, jitter ranges, colour ranges). `render(n, seed)` draws n images
and their class labels from one `numpy.random.default_rng(seed)`: the same seed gives the same images on
every machine (numpy's PCG64 and float64 arithmetic; no BLAS reductions are involved). Each image is a digit
of a 5x7 bitmap font, placed with a random scale, rotation and shift, drawn with an anti-aliased stroke
(supersampled 4x) in a random saturated ink on a dark paper of roughly the opposite hue, so hue and
saturation carry information a sampler can get wrong.

The sets the project uses are fixed by their seeds (`SETS`): training, the test set the Fréchet distance is
measured against, and the classifier's held-out set.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

DATA_FILE = Path(__file__).with_name("data") / "glyphs.json"

#: name -> (seed, size); disjoint seeds, so no test image is a training image
SETS = {"train": (1, 12000), "test": (2, 2000), "classifier_holdout": (3, 2000)}


@cache
def spec() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


@cache
def _bitmaps() -> np.ndarray:
    s = spec()
    rows = [s["glyphs"][c] for c in s["classes"]]
    return np.array([[[ch == "#" for ch in row] for row in glyph] for glyph in rows], dtype=np.float64)  # 10x7x5


def _hsv_to_rgb(h, s, v) -> np.ndarray:
    """Vectorised HSV -> RGB, all in [0, 1]; shapes broadcast, result has a trailing 3."""
    h = np.mod(h, 1.0) * 6.0
    i = np.floor(h).astype(int) % 6
    f = h - np.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros((*np.shape(h), 3))
    for k, (r, g, b) in enumerate(choices):
        m = i == k
        out[m] = np.stack([np.broadcast_to(r, np.shape(h))[m], np.broadcast_to(g, np.shape(h))[m],
                           np.broadcast_to(b, np.shape(h))[m]], axis=-1)
    return out


def _bilinear(bitmap: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Sample a 7x5 bitmap (zero outside) at fractional cell coordinates (u across, v down; centres at +0.5)."""
    padded = np.pad(bitmap, 1)
    x, y = u - 0.5 + 1.0, v - 0.5 + 1.0
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    h, w = padded.shape

    def at(yy, xx):
        ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        return np.where(ok, padded[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)], 0.0)

    return ((1 - fx) * (1 - fy) * at(y0, x0) + fx * (1 - fy) * at(y0, x0 + 1)
            + (1 - fx) * fy * at(y0 + 1, x0) + fx * fy * at(y0 + 1, x0 + 1))


def render(n: int, seed: int, labels=None) -> tuple[np.ndarray, np.ndarray]:
    """(images N x 16 x 16 x 3 in [0, 1] float32, labels N int64). `labels` fixes the classes (else drawn)."""
    s = spec()
    rng = np.random.default_rng(seed)
    size, ss = s["size"], s["supersample"]
    jit, col = s["jitter"], s["colours"]
    y = rng.integers(0, len(s["classes"]), size=n) if labels is None else np.asarray(labels, dtype=np.int64)
    scale = rng.uniform(*jit["scale"], size=n)
    theta = np.radians(rng.uniform(*jit["rotation_deg"], size=n))
    shift = rng.uniform(*jit["shift_px"], size=(n, 2))
    stroke = rng.uniform(*jit["stroke"], size=n)
    ink_h = rng.uniform(0, 1, size=n)
    ink = _hsv_to_rgb(ink_h, rng.uniform(*col["ink_saturation"], size=n), rng.uniform(*col["ink_value"], size=n))
    paper = _hsv_to_rgb(ink_h + rng.uniform(*col["paper_hue_offset"], size=n),
                        rng.uniform(*col["paper_saturation"], size=n), rng.uniform(*col["paper_value"], size=n))
    fine = (np.arange(size * ss) + 0.5) / ss  # pixel coordinates of the supersampled grid
    py, px = np.meshgrid(fine, fine, indexing="ij")
    bitmaps = _bitmaps()
    out = np.empty((n, size, size, 3), dtype=np.float32)
    for k in range(n):
        dx, dy = px - size / 2 - shift[k, 0], py - size / 2 - shift[k, 1]
        c, si = np.cos(theta[k]), np.sin(theta[k])
        u = (c * dx + si * dy) / scale[k] + 2.5  # inverse rotation, then pixels -> font cells
        v = (-si * dx + c * dy) / scale[k] + 3.5
        b = _bilinear(bitmaps[y[k]], u, v)
        mask = 1.0 / (1.0 + np.exp(-(b - (1.0 - stroke[k])) * 14.0))
        mask = mask.reshape(size, ss, size, ss).mean(axis=(1, 3))[..., None]
        out[k] = (paper[k] * (1 - mask) + ink[k] * mask).astype(np.float32)
    return out, y.astype(np.int64)


def named_set(name: str, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One of `SETS` (optionally only its first n images: a prefix of the same draw is not guaranteed, so
    a smaller n draws a smaller set from the same seed)."""
    seed, size = SETS[name]
    return render(size if n is None else n, seed)


def to_model(images: np.ndarray) -> np.ndarray:
    """N x H x W x 3 in [0, 1] -> N x 3 x H x W in [-1, 1] (the model's space)."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2) * 2.0 - 1.0, dtype=np.float32)


def from_model(x: np.ndarray) -> np.ndarray:
    """N x 3 x H x W in the model's space -> N x H x W x 3 in [0, 1], clipped as a host clips its output."""
    return np.clip((np.asarray(x, dtype=np.float64).transpose(0, 2, 3, 1) + 1.0) / 2.0, 0.0, 1.0)
