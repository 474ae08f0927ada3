"""The jitted loop's matrix products: every library and every transpose, against NumPy."""

import ctypes
import dataclasses
import os
import threading
import warnings

import numpy as np
import pytest
from numba.core.errors import NumbaPerformanceWarning
from numpy.testing import assert_allclose

from fastdnn import DNN, _blas, _env
from fastdnn.steppers import gram

CODES = {"numpy": _blas.USE_NUMPY_BLAS, "scipy": _blas.USE_SCIPY_BLAS, "mkl": _blas.USE_MKL,
         "numba": _blas.USE_NUMBA_DOT, "loops": _blas.USE_LOOPS}  # fmt: skip
MKL_INSTALLED = _blas.mkl_path() is not None


def use_rule(monkeypatch, rule: str) -> None:
    monkeypatch.setattr(_env, "SETTINGS", dataclasses.replace(_env.SETTINGS, blas=rule))


def operands(shape, trans, dtype, seed):
    """Random ``A`` and ``B`` for a product of ``shape`` (M, N, K), stored as ``trans`` says."""
    rng = np.random.default_rng(seed)
    M, N, K = shape
    ta, tb = trans
    A = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
    B = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
    return A, B


@pytest.mark.parametrize("shape", [(7, 5, 33), (1, 5, 33), (7, 1, 33), (1, 1, 33), (1, 9, 1)],
                         ids=["matrix", "row: gemv", "column: gemv", "dot", "outer"])  # fmt: skip
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("trans", [(False, False), (False, True), (True, False), (True, True)])
@pytest.mark.parametrize("provider", list(CODES))
def test_gemm_matches_numpy(provider, trans, dtype, shape, monkeypatch):
    use_rule(monkeypatch, "auto")  # every library the machine has loaded
    blas, available = _blas.gemm_functions(dtype)
    code = CODES[provider]
    if code not in available | {_blas.USE_LOOPS}:
        pytest.skip(f"{provider} BLAS not found in this environment")
    M, N, K = shape
    ta, tb = trans
    A, B = operands(shape, trans, dtype, seed=0)
    C = np.full((M, N), np.nan, dtype=dtype)
    _blas.gemm(blas, code, A, ta, B, tb, C)
    expected = (A.T if ta else A) @ (B.T if tb else B)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert_allclose(C, expected, rtol=rtol, atol=rtol * 10)


@pytest.mark.parametrize("shape", [(7, 5, 33), (1, 5, 33), (7, 1, 33), (1, 9, 1)],
                         ids=["matrix", "row: gemv", "column: gemv", "outer"])  # fmt: skip
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("trans", [(False, False), (False, True), (True, False), (True, True)])
@pytest.mark.parametrize("provider", ["numpy", "scipy", "mkl"])
def test_gemm_add_adds_the_scaled_product(provider, trans, dtype, shape, monkeypatch):
    """``C += alpha op(A) @ op(B)``: what a descending training step does to ``W``."""
    use_rule(monkeypatch, "auto")
    blas, available = _blas.gemm_functions(dtype)
    code = CODES[provider]
    if code not in available:
        pytest.skip(f"{provider} BLAS not found in this environment")
    assert _blas.is_library(code)
    M, N, K = shape
    ta, tb = trans
    A, B = operands(shape, trans, dtype, seed=1)
    C0 = np.random.default_rng(11).standard_normal((M, N)).astype(dtype)
    C = C0.copy()
    _blas.gemm_add(blas, code, A, ta, B, tb, C, -0.3)
    expected = C0.astype(np.float64) - 0.3 * ((A.T if ta else A) @ (B.T if tb else B))
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert_allclose(C, expected, rtol=rtol, atol=rtol * 10)


def block_of_columns(X: np.ndarray) -> np.ndarray:
    """``X``'s values as a block of columns of a wider C-ordered matrix, NaN around it: a
    product that read past a row of the block would give NaN."""
    wide = np.full((X.shape[0], X.shape[1] + 5), np.nan, dtype=X.dtype)
    wide[:, 2 : 2 + X.shape[1]] = X
    return wide[:, 2 : 2 + X.shape[1]]


@pytest.mark.parametrize("shape, blocks", [((7, 5, 33), "AB"), ((1, 5, 33), "B"),
                                           ((7, 1, 33), "A")],
                         ids=["matrix", "row: gemv", "column: gemv"])  # fmt: skip
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("trans", [(False, False), (False, True), (True, False), (True, True)])
@pytest.mark.parametrize("provider", ["numpy", "scipy", "mkl"])
def test_library_products_read_blocks_of_columns_in_place(provider, trans, dtype, shape, blocks,
                                                          monkeypatch):  # fmt: skip
    """A split step (fastdnn.steppers.split) hands BLAS a block of the columns of a C-ordered
    X, its leading dimension X's row length: the matrix operands of gemm and gemv."""
    use_rule(monkeypatch, "auto")
    blas, available = _blas.gemm_functions(dtype)
    code = CODES[provider]
    if code not in available:
        pytest.skip(f"{provider} BLAS not found in this environment")
    M, N, K = shape
    ta, tb = trans
    A, B = operands(shape, trans, dtype, seed=2)
    Ab = block_of_columns(A) if "A" in blocks else A
    Bb = block_of_columns(B) if "B" in blocks else B
    assert not (Ab.flags.c_contiguous and Bb.flags.c_contiguous)
    C = np.full((M, N), np.nan, dtype=dtype)
    with warnings.catch_warnings():  # compiling gemm for such arrays, Numba says its np.dot
        warnings.simplefilter("ignore", NumbaPerformanceWarning)  # (not taken) would copy
        _blas.gemm(blas, code, Ab, ta, Bb, tb, C)
    expected = (A.T if ta else A) @ (B.T if tb else B)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert_allclose(C, expected, rtol=rtol, atol=rtol * 10)


def test_only_libraries_take_gemm_add():
    assert not _blas.is_library(_blas.USE_LOOPS)
    assert not _blas.is_library(_blas.USE_NUMBA_DOT)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_code_gets_each_librarys_functions_as_addresses(dtype, monkeypatch):
    use_rule(monkeypatch, "auto")
    blas, available = _blas.gemm_functions(dtype)
    assert blas.dtype == np.int64 and blas.shape == (6,) and not blas.flags.writeable
    assert all(blas) and len(set(blas)) == 6  # a missing library gets stand-ins, never NULL
    assert _blas.USE_NUMPY_BLAS in available and _blas.USE_SCIPY_BLAS in available
    # NumPy's OpenBLAS is the one that exports ILP64 names ("64_"); the slot holds its gemm.
    dll = ctypes.CDLL(_blas._library_paths()["numpy"])
    name = {np.float64: "cblas_dgemm64_", np.float32: "cblas_sgemm64_"}[dtype]
    symbol = next(p + name for p in ("scipy_", "") if hasattr(dll, p + name))
    address = ctypes.cast(getattr(dll, symbol), ctypes.c_void_p).value
    assert blas[_blas.NUMPY_SLOT + _blas.GEMM] == address


@pytest.mark.parametrize("provider", list(CODES))
def test_training_agrees_whatever_the_library(provider, monkeypatch):
    if provider == "mkl" and not MKL_INSTALLED:
        pytest.skip("MKL is not installed (pip install 'fastdnn[mkl]')")
    use_rule(monkeypatch, provider)
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


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("vendor", ["intel", "amd", "other"])
def test_default_rule_is_one_fixed_library(vendor, threads, monkeypatch):
    use_rule(monkeypatch, "default")
    monkeypatch.setattr(_blas, "cpu_vendor", lambda: vendor)
    mkl = MKL_INSTALLED and vendor == "intel"  # MKL's fast code paths are Intel's
    if mkl:
        monkeypatch.setattr(_blas.load_mkl(), "MKL_Get_Max_Threads", lambda: threads)
    # The planar net (largest product 3,200 multiply-adds: never MKL), a net above
    # MKL_MIN_PRODUCT (784 x 128 x 100 = 10M: MKL), and the Gram step of the cat net
    # (20 x 209 x 209 = 0.87M: MKL at 1 thread only).
    cases = [([2, 4, 1], 400, None, False), ([784, 128, 1], 100, None, mkl)]
    dims, m = [12288, 20, 7, 5, 1], 209
    cases.append((dims, m, gram.gram_products(dims, m), mkl and threads == 1))
    for dims, m, products, large in cases:
        for dtype in ("float64", "float32"):
            codes = _blas.choose(dims, m, dtype, products)
            expected = _blas.USE_MKL if large else _blas.DEFAULT_LIBRARY[dtype]
            assert codes == [expected] * len(products or _blas.step_products(dims, m))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_default_rule_keeps_openblas_for_full_batches_mkl_handles_badly(dtype, monkeypatch):
    if not MKL_INSTALLED:
        pytest.skip("MKL is not installed: the rule has nothing to choose between")
    use_rule(monkeypatch, "default")
    monkeypatch.setattr(_blas, "cpu_vendor", lambda: "intel")
    mkl, openblas = _blas.USE_MKL, _blas.DEFAULT_LIBRARY[dtype]
    dims, itemsize = [784, 128, 64, 1], np.dtype(dtype).itemsize
    per_row = _blas.MKL_ALIASED_ROW_BYTES // itemsize  # m whose rows are 8 KiB long

    def library(m, full_batch):
        codes = _blas.choose(dims, m, dtype, full_batch=full_batch)
        assert len(set(codes)) == 1  # one library per step
        return codes[0]

    # Rows a multiple of 8 KiB long: OpenBLAS for full batches, in either dtype.
    for m in (per_row, 3 * per_row):
        assert library(m, full_batch=True) == openblas
        assert library(m, full_batch=False) == mkl  # mini-batches of that size are not hurt
    # A little off the multiple: MKL, however many examples.
    assert library(600, full_batch=True) == mkl
    big = 3 * per_row + 8
    assert library(big, full_batch=True) == mkl
    assert library(big, full_batch=False) == mkl


def test_default_rule_keeps_openblas_for_large_gram_steps(monkeypatch):
    """In either dtype: the Gram product is float64 in every fit, and one library serves the
    whole step (a float32 step mixing them ran 1.5-2.7x slower at 2 threads)."""
    if not MKL_INSTALLED:
        pytest.skip("MKL is not installed: the rule has nothing to choose between")
    use_rule(monkeypatch, "default")
    monkeypatch.setattr(_blas, "cpu_vendor", lambda: "intel")
    dims = [12288, 20, 7, 5, 1]

    def library(m, dtype, gram_step):
        products = gram.gram_products(dims, m) if gram_step else None
        codes = _blas.choose(dims, m, dtype, products, full_batch=True, gram=gram_step)
        assert len(set(codes)) == 1
        return codes[0]

    bound = _blas.MKL_MAX_GRAM_M
    for m in (bound + 8, 3 * bound - 8):  # off the aliased row lengths
        assert library(m, "float64", gram_step=True) == _blas.DEFAULT_LIBRARY["float64"]
        assert library(m, "float32", gram_step=True) == _blas.DEFAULT_LIBRARY["float32"]
        assert library(m, "float64", gram_step=False) == _blas.USE_MKL  # the direct step
    for dtype in ("float64", "float32"):  # 20 x 600 x 600 = 7.2M multiply-adds: MKL's size
        assert library(600, dtype, gram_step=True) == _blas.USE_MKL


def spy_on_choose(monkeypatch, keyword: str) -> list:
    """The values of ``keyword`` that ``_blas.choose`` is called with from now on."""
    seen = []
    choose = _blas.choose

    def spy(*args, **kw):
        seen.append(kw.get(keyword, False))
        return choose(*args, **kw)

    monkeypatch.setattr(_blas, "choose", spy)
    return seen


def test_fit_tells_the_rule_whether_its_steps_are_full_batches(monkeypatch):
    seen = spy_on_choose(monkeypatch, "full_batch")
    X = np.random.default_rng(0).random((5, 40))
    Y = (X[:1] > 0.5).astype(float)
    DNN([5, 3, 1], seed=0).fit(X, Y, learning_rate=0.1, num_iterations=2)
    assert seen == [True]
    seen.clear()
    DNN([5, 3, 1], seed=0).fit(X, Y, learning_rate=0.1, num_iterations=2, batch_size=8)
    assert seen == [False]


def test_the_gram_path_tells_the_rule_its_steps_are_gram_steps(monkeypatch):
    seen = spy_on_choose(monkeypatch, "gram")
    X = np.random.default_rng(0).random((50, 20))
    Y = (X[:1] > 0.5).astype(float)
    DNN([50, 3, 1], seed=0, wide_input=True).fit(X, Y, learning_rate=0.1, num_iterations=2)
    assert seen and all(seen)


def test_forcing_mkl_without_it_says_how_to_install(monkeypatch):
    use_rule(monkeypatch, "mkl")
    without_mkl = frozenset({_blas.USE_NUMBA_DOT, _blas.USE_NUMPY_BLAS, _blas.USE_SCIPY_BLAS})
    with pytest.raises(RuntimeError, match=r"FASTDNN_BLAS=mkl.*pip install \"fastdnn\[mkl\]\""):
        _blas.default_library(np.float64, without_mkl, 10**9)


@pytest.mark.skipif(not MKL_INSTALLED, reason="MKL is not installed (pip install 'fastdnn[mkl]')")
def test_mkl_runs_in_its_reproducible_mode_with_fastdnn_threads(monkeypatch):
    use_rule(monkeypatch, "mkl")
    lib = _blas.load_mkl()
    if os.environ.get("MKL_CBWR", "").strip():
        pytest.skip("MKL_CBWR is set: MKL's mode is the user's")
    lib.MKL_CBWR_Get.restype = ctypes.c_int
    assert lib.MKL_CBWR_Get(ctypes.c_int(1)) == 2  # MKL_CBWR_BRANCH -> MKL_CBWR_AUTO
    from threadpoolctl import threadpool_info

    _blas.set_num_threads(1)
    mkl = [i for i in threadpool_info() if i["internal_api"] == "mkl"]
    assert mkl and all(i["num_threads"] == 1 for i in mkl)
    # MKL counts threads per calling thread: a fit in a new Python thread gets fastdnn's too.
    seen = []
    worker = threading.Thread(
        target=lambda: (_blas.gemm_functions(np.float64), seen.append(lib.MKL_Get_Max_Threads()))
    )
    worker.start()
    worker.join()
    assert seen == [1]
    # Same seed, same bits: twice in this process, with arrays allocated afresh each time.
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(3)
        X, Y = rng.standard_normal((300, 500)), (rng.random((1, 500)) < 0.5).astype(float)
        net = DNN([300, 64, 32, 1], seed=0)  # its largest product (64 x 500 x 300) calls MKL
        assert _blas.choose(net.layer_dims, 500, np.float64)[0] == _blas.USE_MKL
        net.fit(X, Y, learning_rate=0.05, num_iterations=20)
        runs.append(net.params)
    for key in runs[0]:
        assert np.array_equal(runs[0][key], runs[1][key])


def test_auto_rule_times_once_per_shape_and_remembers(monkeypatch):
    use_rule(monkeypatch, "auto")
    codes = _blas.choose([6, 5, 1], 50, np.float64)
    assert len(codes) == len(_blas.step_products([6, 5, 1], 50)) == 5
    assert _blas.choose([6, 5, 1], 50, np.float64) is codes
    assert set(codes) <= {0, 1, 2, 3, 4}
    libraries = set(codes) - {_blas.USE_LOOPS}
    assert len(libraries) <= 1  # never two BLAS libraries (two thread pools) in one step


def test_set_num_threads_validates():
    with pytest.raises(ValueError, match="positive integer number of threads; got 0"):
        _blas.set_num_threads(0)
