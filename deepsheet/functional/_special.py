"""Special functions NumPy lacks, vectorized and backend-neutral (private helpers).

* ``_ndtr``: the standard normal CDF Phi (for GELU), from a polynomial fit of the scaled
  complementary error function erfcx(a) = erfc(a) exp(a^2), accurate to a few ulps in
  float32 and float64, with relative accuracy deep into the lower tail;
* ``_log1p_unit``: log(1 + u) for u in (-1, 1] without NumPy's slow ``log1p``.

NumPy has no erf; ``math.erf`` through ``np.frompyfunc`` is far too slow for a tensor.
"""
from __future__ import annotations

import numpy as np

# erfc(a) for a >= 0 as exp(-a^2) * t * P(2t - 1) with t = 1 / (1 + a/2).
# (1 + a/2) erfc(a) exp(a^2) is smooth in t on (0, 1], so one polynomial fits it everywhere:
# these coefficients (powers of s = 2t - 1) are least-squares Chebyshev fits made for this
# library against 40-digit mpmath values, of degree 10 (relative error ~4e-7 in float32,
# i.e. a few ulps) and 24 (relative error ~2e-15 in float64).
_ERFC_P32 = (0.5107913569169453, 0.3435803187091715, 0.139735733461922, 0.018221669457093838,
             -0.010751625626519754, -0.003243452038675461, 0.0015291553685642656,
             0.000430670672175785, -0.0002993804078250022, -3.6601968815172466e-05,
             4.2160173090742466e-05)
_ERFC_P64 = (0.5107913526210115, 0.34358034220690903, 0.13973604627801514, 0.01822111575322542,
             -0.010755330943817991, -0.003239592528259265, 0.0015453060060096192,
             0.00041864795698995366, -0.0003315364668386127, -1.7185161629476017e-05,
             7.223341226264989e-05, -1.707701241573633e-05, -1.0839710906413619e-05,
             8.068074243335256e-06, -5.864391156121371e-07, -1.8367104325961001e-06,
             1.0460041804296273e-06, 1.750408099316623e-08, -3.438689751838088e-07,
             1.484971663544116e-07, 4.862031151976344e-08, -5.0985450152934155e-08,
             1.3742786125500592e-09, 6.518633284451681e-09, -9.99475354581861e-10)
_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


def _erfcx_nonneg(a, xp):
    """The scaled complement erfc(a) exp(a^2) for a >= 0: smooth, between 1 and 1/(a sqrt pi)."""
    coef = _ERFC_P64 if a.dtype == np.float64 else _ERFC_P32
    t = 1.0 / (1.0 + 0.5 * a)
    s = 2.0 * t - 1.0
    p = s * coef[-1]
    p += coef[-2]
    for c in coef[-3::-1]:
        p *= s
        p += c
    p *= t
    return p


def _gauss(a, xp):
    """exp(-a^2 / 2) for a >= 0, with the rounding of a^2 corrected.

    a^2 is off by up to half an ulp, and the exponent multiplies that relative error by
    a^2 / 2 (80 ulps at a = 12 in float32). Dekker's split a = hi + lo (hi with half the
    mantissa bits, so hi^2 and 2 hi lo are exact) gives the exact rounding error r of
    p = fl(a^2); then exp(-(p + r)/2) = exp(-p/2) (1 - r/2) to far below an ulp.
    """
    a = xp.clip(a, 0.0, 1e4)  # exp(-5e7) is 0 anyway; keeps the split finite for a = inf
    c = a * (4097.0 if a.dtype == np.float32 else 134217729.0)  # 2^12 + 1, 2^27 + 1
    hi = c - (c - a)
    lo = a - hi
    p = a * a
    r = hi * hi - p
    r += 2.0 * hi * lo
    r += lo * lo
    g = xp.asarray(xp.exp(p * -0.5))
    g *= 1.0 - 0.5 * r
    return g


def _ndtr(x, xp):
    """Standard normal CDF Phi(x) and the Gaussian exp(-x^2/2) it was made from.

    Phi(x) = erfc(-x / sqrt 2) / 2 = exp(-x^2/2) erfcx(|x| / sqrt 2) / 2 for x < 0 (relative
    accuracy deep into the tail), and 1 minus that for x >= 0.
    """
    a = xp.abs(x)
    g = _gauss(a, xp)
    h = _erfcx_nonneg(a * _SQRT_HALF, xp)
    h *= g
    h *= 0.5
    # h for x < 0, 1 - h for x >= 0, blended with a mask (faster than where)
    cdf = (1.0 - 2.0 * h) * (x >= 0)
    cdf += h
    return cdf, g


def _log1p_unit(u, xp):
    """log(1 + u) for u in (-1, 1], accurate for tiny |u|, without NumPy's slow ``log1p``.

    w = fl(1 + u) loses the low bits of u; log(w) - ((w - 1) - u) / w adds them back
    (first order in the rounding error, which is at most half an ulp of w).
    """
    w = 1.0 + u
    out = xp.asarray(xp.log(w))
    corr = w - 1.0
    corr -= u
    corr /= w
    out -= corr
    return out
