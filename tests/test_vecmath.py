"""The vectorizable tanh / exp / sigmoid against NumPy's libm, over the whole float64 range."""

import numpy as np
import pytest

from fastdnn import _vecmath
from fastdnn._numba import njit


def _loop(fn_code, x, out):
    for i in range(x.shape[0]):
        if fn_code == 0:
            out[i] = _vecmath.tanh(x[i])
        elif fn_code == 1:
            out[i] = _vecmath.exp_neg(x[i])
        elif fn_code == 2:
            out[i] = _vecmath.sigmoid(x[i])
        else:
            out[i] = _vecmath.pow2(x[i])


# As the kernels' activation loops compile them (FMA contraction where the CPU has FMA), and
# as a CPU without FMA computes them (each product rounded on its own).
_COMPILED = {"fma": njit(contract=True)(_loop), "no-fma": njit(_loop)}


@pytest.fixture(params=sorted(_COMPILED))
def apply(request):
    compiled = _COMPILED[request.param]

    def run(code, x):
        out = np.empty_like(x)
        compiled(code, x, out)
        return out

    return run


def ulps(got, ref):
    """Distance in units of the last place of the reference (0 where equal)."""
    scale = np.spacing(np.maximum(np.abs(ref), np.finfo(np.float64).tiny))
    return np.where(got == ref, 0.0, np.abs(got - ref) / scale)


def samples(rng, low_exp=-320, high_exp=3):
    """Uniform values, plus magnitudes spread log-uniformly over the float64 range."""
    return np.concatenate([
        rng.uniform(-25, 25, 200_000),
        np.sign(rng.standard_normal(200_000)) * 10 ** rng.uniform(low_exp, high_exp, 200_000),
    ])  # fmt: skip


def test_tanh_within_3_ulp_everywhere(apply):
    x = samples(np.random.default_rng(0))
    assert ulps(apply(0, x), np.tanh(x)).max() <= 3


def test_tanh_special_values(apply):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 19.1, -19.1, 5e-324, 1e308])
    got = apply(0, x)
    np.testing.assert_array_equal(got, np.tanh(x))
    assert np.signbit(got[1])  # tanh(-0) = -0


def test_exp_neg_within_1_ulp_for_normal_results(apply):
    rng = np.random.default_rng(1)
    a = np.concatenate([rng.uniform(0, 750, 200_000), 10 ** rng.uniform(-320, 2.87, 200_000)])
    with np.errstate(under="ignore"):
        ref = np.exp(-a)
    got = apply(1, a)
    normal = ref >= np.finfo(np.float64).tiny
    assert ulps(got[normal], ref[normal]).max() <= 1
    # Subnormal results (a > 708.4) lose bits gradually, as any exp does: absolute error tiny.
    assert np.abs(got[~normal] - ref[~normal]).max() <= 2 * 5e-324
    special = apply(1, np.array([0.0, np.inf, np.nan, 745.2, 746.0]))
    np.testing.assert_array_equal(special, [1.0, 0.0, np.nan, np.exp(-745.2), 0.0])


@pytest.mark.parametrize("scale", [1.0, 30.0, 800.0])
def test_sigmoid_within_2_ulp(scale, apply):
    z = np.random.default_rng(2).uniform(-scale, scale, 400_000)
    e = np.exp(-np.abs(z))
    with np.errstate(under="ignore"):
        ref = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    got = apply(2, z)
    normal = ref >= np.finfo(np.float64).tiny
    assert ulps(got[normal], ref[normal]).max() <= 2
    assert np.all((got >= 0) & (got <= 1))


def test_pow2_exact_over_the_normal_range(apply):
    k = np.arange(-1022.0, 1024.0)
    np.testing.assert_array_equal(apply(3, k), np.ldexp(1.0, k.astype(int)))
    # As plain Python (NUMBA_DISABLE_JIT) too: the same numbers.
    assert [_vecmath.pow2(float(e)) for e in (-1022, -1, 0, 1, 1023)] == [
        2.0**-1022,
        0.5,
        1.0,
        2.0,
        2.0**1023,
    ]


# ---------------------------------------------------------------- float32
def ulps32(got, ref64):
    """Distance in float32 ulps of the float64 reference rounded to float32."""
    ref = ref64.astype(np.float32)
    scale = np.spacing(np.maximum(np.abs(ref), np.finfo(np.float32).tiny)).astype(np.float64)
    return np.where(got == ref, 0.0, np.abs(got.astype(np.float64) - ref64) / scale)


def test_float32_versions_within_2_ulp(apply):
    rng = np.random.default_rng(3)
    x = np.concatenate([
        rng.uniform(-12, 12, 200_000),
        np.sign(rng.standard_normal(100_000)) * 10 ** rng.uniform(-40, 1.5, 100_000),
    ]).astype(np.float32)  # fmt: skip
    got = apply(0, x)
    assert got.dtype == np.float32
    assert ulps32(got, np.tanh(x.astype(np.float64))).max() <= 2.5
    a = np.concatenate([rng.uniform(0, 110, 200_000), 10 ** rng.uniform(-40, 2, 100_000)])
    a = a.astype(np.float32)
    ref = np.exp(-a.astype(np.float64))
    normal = ref >= np.finfo(np.float32).tiny
    got = apply(1, a)
    assert ulps32(got[normal], ref[normal]).max() <= 1
    assert np.abs(got[~normal] - ref[~normal]).max() <= 2 * 1.5e-45
    z = rng.uniform(-120, 120, 200_000).astype(np.float32)
    e = np.exp(-np.abs(z.astype(np.float64)))
    ref = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    normal = ref >= np.finfo(np.float32).tiny
    got = apply(2, z)
    assert ulps32(got[normal], ref[normal]).max() <= 2.5
    assert np.all((got >= 0) & (got <= 1))


def test_float32_special_values(apply):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 9.02, -9.02, 1e-45, 3e38], np.float32)
    got = apply(0, x)
    np.testing.assert_array_equal(got, np.tanh(x.astype(np.float64)).astype(np.float32))
    assert np.signbit(got[1])
    special = apply(1, np.array([0.0, np.inf, np.nan, 104.0], np.float32))
    np.testing.assert_array_equal(special, np.array([1.0, 0.0, np.nan, 0.0], np.float32))
