"""exp and tanh that LLVM can vectorize, for the jitted elementwise passes.

Numba lowers ``np.tanh`` and ``np.exp`` to one libm call per element, which no loop can
vectorize (this llvmlite has no SVML): in the planar net's step, tanh of 1,600 numbers took
more time than everything else together. These versions are branch-free arithmetic (selects,
``floor``, multiplies), so a loop over them compiles to SIMD code.

Both compute in float64, whatever the array dtype, and are accurate to a few units in the
last place over the whole float64 range (tested against NumPy in ``tests/test_vecmath.py``):

* ``expm1(y)`` for ``0 <= y <= 40``: ``y = k ln2 + r`` with ``|r| <= ln2 / 2`` (Cody-Waite:
  ``ln2`` split in two so ``k ln2`` is exact), ``expm1(r)`` by its Taylor series to ``r^13``
  (the next term is below 1e-17 relative), then ``expm1(y) = 2^k expm1(r) + (2^k - 1)``.
  ``2^k`` is built from the bits of ``k`` by selects, because a scalar bit-cast is not
  available here.
* ``tanh(x) = sign(x) u / (u + 2)`` with ``u = expm1(2|x|)``: no cancellation for small
  ``|x|``; ``|x| > 19.1`` gives exactly +-1, as correctly rounded tanh does.
* ``exp(-a)`` for ``a >= 0`` (what a stable sigmoid needs): the same reduction, with ``2^-k``
  assembled from the smallest factor up, so only the final multiply can go subnormal.
"""

from __future__ import annotations

import math

import numpy as np

from ._numba import njit

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # high bits of ln 2: k * _LN2_HI is exact for |k| < 2^20
_LN2_LO = 1.90821492927058770002e-10
# Taylor coefficients 1/n!, n = 2 .. 13
_C2, _C3, _C4, _C5 = 1 / 2, 1 / 6, 1 / 24, 1 / 120
_C6, _C7, _C8, _C9 = 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880
_C10, _C11, _C12, _C13 = 1 / 3628800, 1 / 39916800, 1 / 479001600, 1 / 6227020800


@njit(inline="always")
def _expm1_reduced(r):
    """expm1(r) for |r| <= ln2 / 2, as r + r^2/2! + ... + r^13/13!."""
    p = _C13
    p = p * r + _C12
    p = p * r + _C11
    p = p * r + _C10
    p = p * r + _C9
    p = p * r + _C8
    p = p * r + _C7
    p = p * r + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    return r + r * r * p


@njit(inline="always")
def tanh(x):
    """tanh(x) of a float64, branch-free."""
    a = min(abs(x), 20.0)  # NaN stays NaN (min keeps its first argument when unordered)
    y = 2.0 * a
    k = np.floor(y * _LOG2E + 0.5)  # 0 <= k <= 58
    r = (y - k * _LN2_HI) - k * _LN2_LO
    q = _expm1_reduced(r)
    # 2^k from the bits of k (k < 64): six selects instead of a bit-cast.
    s = 1.0
    t = k
    b = t >= 32.0
    s = s * (4294967296.0 if b else 1.0)
    t = t - (32.0 if b else 0.0)
    b = t >= 16.0
    s = s * (65536.0 if b else 1.0)
    t = t - (16.0 if b else 0.0)
    b = t >= 8.0
    s = s * (256.0 if b else 1.0)
    t = t - (8.0 if b else 0.0)
    b = t >= 4.0
    s = s * (16.0 if b else 1.0)
    t = t - (4.0 if b else 0.0)
    b = t >= 2.0
    s = s * (4.0 if b else 1.0)
    t = t - (2.0 if b else 0.0)
    s = s * (2.0 if t >= 1.0 else 1.0)
    u = s * q + (s - 1.0)  # expm1(2a); exact scaling, one rounding in the sum
    t = u / (u + 2.0)
    t = 1.0 if a > 19.1 else t
    return math.copysign(t, x)


@njit(inline="always")
def exp_neg(a):
    """exp(-a) for a float64 ``a >= 0`` (or NaN), branch-free; 0 for a > 745.2."""
    x = -min(a, 746.0)
    k = np.floor(x * _LOG2E + 0.5)  # -1077 <= k <= 0
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 + _expm1_reduced(r)
    # 2^k, k <= 0, from the bits of -k (< 2048), smallest factor first.
    t = -k
    b = t >= 1024.0
    t = t - (1024.0 if b else 0.0)
    big = b
    b512 = t >= 512.0
    t = t - (512.0 if b512 else 0.0)
    b256 = t >= 256.0
    t = t - (256.0 if b256 else 0.0)
    b128 = t >= 128.0
    t = t - (128.0 if b128 else 0.0)
    b64 = t >= 64.0
    t = t - (64.0 if b64 else 0.0)
    b32 = t >= 32.0
    t = t - (32.0 if b32 else 0.0)
    b16 = t >= 16.0
    t = t - (16.0 if b16 else 0.0)
    b8 = t >= 8.0
    t = t - (8.0 if b8 else 0.0)
    b4 = t >= 4.0
    t = t - (4.0 if b4 else 0.0)
    b2 = t >= 2.0
    t = t - (2.0 if b2 else 0.0)
    p = p * (0.5 if t >= 1.0 else 1.0)
    p = p * (0.25 if b2 else 1.0)
    p = p * (0.0625 if b4 else 1.0)
    p = p * (2.0**-8 if b8 else 1.0)
    p = p * (2.0**-16 if b16 else 1.0)
    p = p * (2.0**-32 if b32 else 1.0)
    p = p * (2.0**-64 if b64 else 1.0)
    p = p * (2.0**-128 if b128 else 1.0)
    p = p * (2.0**-256 if b256 else 1.0)
    p = p * (2.0**-512 if b512 else 1.0)
    p = p * (2.0**-1024 if big else 1.0)
    return 0.0 if a > 745.2 else p


@njit(inline="always")
def sigmoid(z):
    """1 / (1 + e^-z) of a float64, stable for every z: e = e^-|z| never overflows."""
    e = exp_neg(abs(z))
    return (1.0 if z >= 0.0 else e) / (1.0 + e)
