"""The Beta distribution's quantile function, without scipy (the core may only use numpy).

The hosts' Beta schedule calls `scipy.stats.beta.ppf` (A1111 sd_schedulers.py:118-125). Here the
regularized incomplete beta I_x(a, b) is evaluated with the Lentz continued fraction (Numerical
Recipes §6.4) and inverted by Newton's method inside a bisection bracket, which cannot fail on a monotone CDF; both are accurate to
~1e-12, far below what a float32 sigma can show.
"""

from __future__ import annotations

import math

_EPS = 1e-15
_TINY = 1e-300


def _continued_fraction(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def beta_cdf(x: float, a: float, b: float) -> float:
    """Regularized incomplete beta function I_x(a, b) for a, b > 0."""
    if a <= 0 or b <= 0:
        raise ValueError("Beta distribution parameters must be > 0")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    # The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _continued_fraction(a, b, x) / a
    return 1.0 - front * _continued_fraction(b, a, 1.0 - x) / b


def _log_pdf_norm(a: float, b: float) -> float:
    return math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)


def beta_ppf(q: float, a: float, b: float) -> float:
    """The x with I_x(a, b) = q (scipy.stats.beta.ppf): Newton steps kept inside a shrinking bracket,
    falling back to bisection whenever a step would leave it (so it always converges)."""
    if not 0.0 <= q <= 1.0:
        raise ValueError("quantile must be in [0, 1]")
    if q == 0.0:
        return 0.0
    if q == 1.0:
        return 1.0
    norm = _log_pdf_norm(a, b)
    lo, hi, x = 0.0, 1.0, 0.5
    for _ in range(200):
        f = beta_cdf(x, a, b) - q
        if f == 0.0:
            return x
        if f < 0:
            lo = x
        else:
            hi = x
        pdf = math.exp(norm + (a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x))
        step = f / pdf if pdf > 0 and math.isfinite(pdf) else math.inf
        nxt = x - step
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - x) < 1e-15 or hi - lo < 1e-15:
            return nxt
        x = nxt
    return x
