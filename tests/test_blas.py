"""The jitted loop's matrix products: every library and every transpose, against NumPy."""

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastdnn import DNN, _blas, _env

CODES = {"numpy": _blas.USE_NUMPY_BLAS, "scipy": _blas.USE_SCIPY_BLAS,
         "numba": _blas.USE_NUMBA_DOT, "loops": _blas.USE_LOOPS}  # fmt: skip


@pytest.mark.parametrize("shape", [(7, 5, 33), (1, 5, 33), (7, 1, 33), (1, 1, 33), (1, 9, 1)],
                         ids=["matrix", "row: gemv", "column: gemv", "dot", "outer"])  # fmt: skip
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("trans", [(False, False), (False, True), (True, False), (True, True)])
@pytest.mark.parametrize("provider", list(CODES))
def test_gemm_matches_numpy(provider, trans, dtype, shape):
    blas, available = _blas.gemm_functions(dtype)
    code = CODES[provider]
    if code not in available | {_blas.USE_LOOPS}:
        pytest.skip(f"{provider} BLAS not found in this environment")
    rng = np.random.default_rng(0)
    M, N, K = shape
    ta, tb = trans
    A = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
    B = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
    C = np.full((M, N), np.nan, dtype=dtype)
    _blas.gemm(blas, code, A, ta, B, tb, C)
    expected = (A.T if ta else A) @ (B.T if tb else B)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert_allclose(C, expected, rtol=rtol, atol=rtol * 10)


@pytest.mark.parametrize("provider", list(CODES))
def test_training_agrees_whatever_the_library(provider, monkeypatch):
    monkeypatch.setattr(_env, "SETTINGS", dataclasses.replace(_env.SETTINGS, blas=provider))
    rng = np.random.default_rng(1)
    X = rng.random((30, 64))
    Y = (rng.random((1, 64)) < 0.5).astype(float)
    results = {}
    for backend in ("numpy", "jit"):
        net = DNN([30, 16, 8, 1], backend=backend, seed=0)
        net.fit(X, Y, learning_rate=0.1, num_iterations=5)
        results[backend] = net.params
    for key in results["numpy"]:
        assert_allclose(results["jit"][key], results["numpy"][key], rtol=1e-11, atol=1e-13)


def test_default_rule_is_one_fixed_library(monkeypatch):
    monkeypatch.setattr(_env, "SETTINGS", dataclasses.replace(_env.SETTINGS, blas="default"))
    for dims, m in (([6, 5, 1], 50), ([784, 128, 1], 100)):
        for dtype in ("float64", "float32"):
            codes = _blas.choose(dims, m, dtype)
            assert codes == [_blas.DEFAULT_LIBRARY[dtype]] * len(_blas.step_products(dims, m))


def test_auto_rule_times_once_per_shape_and_remembers(monkeypatch):
    monkeypatch.setattr(_env, "SETTINGS", dataclasses.replace(_env.SETTINGS, blas="auto"))
    codes = _blas.choose([6, 5, 1], 50, np.float64)
    assert len(codes) == len(_blas.step_products([6, 5, 1], 50)) == 5
    assert _blas.choose([6, 5, 1], 50, np.float64) is codes
    assert set(codes) <= {0, 1, 2, 3}
    libraries = set(codes) - {_blas.USE_LOOPS}
    assert len(libraries) <= 1  # never two OpenBLAS builds in one step


def test_set_num_threads_validates():
    with pytest.raises(ValueError, match="positive integer number of threads; got 0"):
        _blas.set_num_threads(0)
