"""Matrix products from inside njit, on the faster of the process's two OpenBLAS builds.

NumPy and SciPy wheels each bundle their own OpenBLAS (NumPy's is ILP64, SciPy's LP64), built
differently: on the course's shapes one can be 2-3x faster than the other for the same product
(e.g. ``dZ @ A_prev.T`` of the cat network's first layer). Numba's ``np.dot`` always uses
SciPy's. So fastdnn looks up ``cblas_?gemm`` in both libraries (and MKL's, see
:func:`mkl_wanted`), passes their addresses to the jitted loop (an int64 array: see
:mod:`fastdnn._native`), and picks one library per network by a fixed rule, or by timing one
step's products with each (see :func:`choose` for both, and why not per product).

If neither library exposes cblas (another BLAS vendor), the jitted loop falls back to
``np.dot``.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import numbers
import os
import platform
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from . import _env
from ._native import ccall, data_pointer
from ._numba import njit
from ._stacklevel import user_stacklevel

USE_NUMBA_DOT, USE_NUMPY_BLAS, USE_SCIPY_BLAS, USE_LOOPS, USE_MKL = 0, 1, 2, 3, 4
#: Under ``FASTDNN_BLAS=auto``, products with at most this many multiply-adds may run as plain
#: loops (no BLAS call overhead) when timing says so: the planar net's are 800-3200.
SMALL_PRODUCT = 16384
TIMING_COLUMNS = 2048
#: The library the deterministic rule uses per dtype (see :func:`choose`). NumPy's build was
#: as fast or faster on every named workload here (1 BLAS thread: W2 7.0 vs 7.7 ms per step
#: in float64, 2.3 vs 3.2 ms in float32; W1, W3, W4 within 5%).
DEFAULT_LIBRARY = {"float64": USE_NUMPY_BLAS, "float32": USE_NUMPY_BLAS}
#: The deterministic rule calls MKL (Intel CPUs, ``mkl`` extra installed) for a training step
#: whose largest product has at least this many multiply-adds, or, when MKL runs one thread,
#: at least :data:`MKL_MIN_PRODUCT_1T`. Measured on Sapphire Rapids, each library's time over
#: MKL's, interleaved in one process: the cat net's Gram step (largest product 0.87M) 1.14x
#: (float64) / 1.30x (float32) at 1 thread, but 0.67x / 0.57x at 2 (MKL's threads cost more
#: than its kernels gain on small products); the planar net (3,200) 0.95-0.98x at either;
#: from 6M up (W2's direct step, W3, W4) 0.93-1.66x, 1.2x on the geometric mean.
MKL_MIN_PRODUCT = 1 << 21
MKL_MIN_PRODUCT_1T = 1 << 16
#: Full-batch steps (every example in each product: rows of ``m`` values) keep OpenBLAS when a
#: row of ``m`` values is a multiple of this many bytes long, whatever the dtype: MKL's products
#: then ran 1.4-2.6x slower (Sapphire Rapids, 1 thread: 784-128-64-1 with m = 1024-12288, the
#: first layer's product up to 3.3x; Intel's own guide says to keep leading dimensions off
#: multiples of large powers of two). Mini-batches (rows of ``batch_size``) were not hurt.
MKL_ALIASED_ROW_BYTES = 8192
#: Gram-path steps (``fastdnn.steppers.gram``) of at least this many examples keep OpenBLAS.
#: Their first layer's product with the m x m Gram matrix is float64 in every fit; whole
#: 300-step float64 fits of 12288-20-7-5-1 on the Gram path, interleaved in one process, 1
#: thread, OpenBLAS time over MKL's: m = 209 1.11x, 1000 1.02x, 1500 0.96x, 2000 0.96x, 3000
#: 0.86x (an earlier VM of the same kind: 0.38-0.69x from m = 1500). float32 fits too, since
#: one library serves the whole step (:func:`choose`): a float32 step with its other layers on
#: MKL ran 1.5-2.7x slower at 2 threads (m = 1100-3000: the two pools' spinning threads),
#: 1.00-1.04x faster at 1. The direct full-batch step has no such bound: whole 784-128-64-1
#: fits in float64, m = 1000-20000, ran 1.04-1.19x faster with MKL at 1 thread and 0.99-1.08x
#: at 2 (off the aliased sizes above). Sapphire Rapids class.
MKL_MAX_GRAM_M = 1024
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _gemm_proto(int_type, float_type):
    # cblas_?gemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    i, f, p = int_type, float_type, ctypes.c_void_p
    return ctypes.CFUNCTYPE(
        None, ctypes.c_int, ctypes.c_int, ctypes.c_int, i, i, i, f, p, i, p, i, f, p, i
    )


def _gemv_proto(int_type, float_type):
    # cblas_?gemv(order, trans, M, N, alpha, A, lda, x, incx, beta, y, incy)
    i, f, p = int_type, float_type, ctypes.c_void_p
    return ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_int, i, i, f, p, i, p, i, f, p, i)


_I64, _I32, _F64, _F32 = ctypes.c_int64, ctypes.c_int32, ctypes.c_double, ctypes.c_float
_PROTOS = {
    # (library, dtype) -> ((prototype, symbol names to try) for gemm, then for gemv).
    # NumPy's build is ILP64 (64-bit integers, "64_" suffix), SciPy's LP64.
    ("numpy", "float64"): (
        (_gemm_proto(_I64, _F64), ("scipy_cblas_dgemm64_", "cblas_dgemm64_")),
        (_gemv_proto(_I64, _F64), ("scipy_cblas_dgemv64_", "cblas_dgemv64_")),
    ),
    ("numpy", "float32"): (
        (_gemm_proto(_I64, _F32), ("scipy_cblas_sgemm64_", "cblas_sgemm64_")),
        (_gemv_proto(_I64, _F32), ("scipy_cblas_sgemv64_", "cblas_sgemv64_")),
    ),
    ("scipy", "float64"): (
        (_gemm_proto(_I32, _F64), ("scipy_cblas_dgemm", "cblas_dgemm")),
        (_gemv_proto(_I32, _F64), ("scipy_cblas_dgemv", "cblas_dgemv")),
    ),
    ("scipy", "float32"): (
        (_gemm_proto(_I32, _F32), ("scipy_cblas_sgemm", "cblas_sgemm")),
        (_gemv_proto(_I32, _F32), ("scipy_cblas_sgemv", "cblas_sgemv")),
    ),
    # MKL's single dynamic library, its LP64 interface: the same types as SciPy's build, so
    # one compiled call site serves both (see gemm).
    ("mkl", "float64"): (
        (_gemm_proto(_I32, _F64), ("cblas_dgemm",)),
        (_gemv_proto(_I32, _F64), ("cblas_dgemv",)),
    ),
    ("mkl", "float32"): (
        (_gemm_proto(_I32, _F32), ("cblas_sgemm",)),
        (_gemv_proto(_I32, _F32), ("cblas_sgemv",)),
    ),
}


def _never_called(*args):  # pragma: no cover - stands in for a missing library
    raise RuntimeError("fastdnn: a BLAS function that was not found was called")


_lock = threading.Lock()
_functions: dict = {}
_routes: dict = {}
_choices: dict = {}


def _library_paths() -> dict[str, str]:
    """Paths of the BLAS builds the jit loop may call, keyed "numpy", "scipy" and "mkl".

    NumPy's and SciPy's OpenBLAS are always there; MKL (the ``mkl`` extra) is loaded and listed
    only when the ``FASTDNN_BLAS`` rule may choose it (:func:`mkl_wanted`).
    """
    import scipy.linalg.cython_blas  # noqa: F401 - loads SciPy's BLAS so threadpoolctl sees it
    from threadpoolctl import threadpool_info

    paths = {}
    if mkl_wanted() and load_mkl() is not None:
        paths["mkl"] = str(mkl_path())
    for info in threadpool_info():
        if info.get("user_api") != "blas" or info.get("internal_api") != "openblas":
            continue
        path = info.get("filepath", "")
        if "numpy" in path and "numpy" not in paths:
            paths["numpy"] = path
        elif "scipy" in path and "scipy" not in paths:
            paths["scipy"] = path
    return paths


# ------------------------------------------------------------------------------ MKL
#: ``mkl_cbwr_set``'s AUTO branch (mkl_service.h): the CPU's fastest code path, with results
#: reproducible from run to run for a fixed number of threads (MKL's "CNR" mode).
_MKL_CBWR_AUTO = 2
_mkl: list = []  # [the loaded library or None], once per process
_mkl_lock = threading.Lock()  # not _lock: gemm_functions holds that one while loading
_threads_set: list[int] = []  # [the BLAS threads fastdnn set for the process], once set
_threads_lock = threading.RLock()  # one setting of the threads at a time, from any thread


def cpu_vendor() -> str:
    """``"intel"``, ``"amd"`` or ``"other"``: the CPU's vendor, from ``/proc/cpuinfo``
    (``platform.processor()`` where there is none)."""
    if not hasattr(cpu_vendor, "value"):
        try:
            with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
                text = next((line for line in f if line.startswith("vendor_id")), "")
        except OSError:
            text = platform.processor()
        cpu_vendor.value = (
            "intel" if "GenuineIntel" in text else "amd" if "AuthenticAMD" in text else "other"
        )
    return cpu_vendor.value


def cpu_name() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (``platform.processor()`` or the machine
    type where there is none), for speed tables: they must say which CPU they came from."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def mkl_path() -> Path | None:
    """The ``mkl`` package's ``mkl_rt`` library (``pip install "fastdnn[mkl]"``), or None."""
    try:
        dist = importlib.metadata.distribution("mkl")
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        name = file.name
        if name.startswith("libmkl_rt.so") or (name.startswith("mkl_rt") and name.endswith(".dll")):
            path = Path(dist.locate_file(file)).resolve()
            if path.is_file():
                return path
    return None


def _sync_mkl_threads() -> None:
    """Give MKL, in the calling thread, the thread count fastdnn set for the process.

    MKL keeps its count per calling thread (OpenMP's rules): in a Python thread started after
    :func:`set_num_threads`, MKL would otherwise use every core, and so (its work split
    differently) round differently from the same fit in the main thread.
    """
    if _threads_set and _mkl and _mkl[0] is not None:
        _mkl[0].MKL_Set_Num_Threads_Local(ctypes.c_int(_threads_set[0]))


def mkl_wanted() -> bool:
    """Whether the ``FASTDNN_BLAS`` rule may call MKL: ``mkl`` and ``auto`` always, the default
    rule on Intel CPUs (MKL's fast code paths are Intel's; on AMD, OpenBLAS)."""
    rule = _rule()
    return rule in ("mkl", "auto") or (rule == "default" and cpu_vendor() == "intel")


def load_mkl():
    """MKL's library (a :class:`ctypes.CDLL`), loaded once; None when it is not installed.

    Unless the user set ``MKL_CBWR``, its reproducible mode is switched on first (it must
    precede every other MKL call): only in that mode does MKL promise the same bits from run
    to run (for a fixed number of threads); otherwise the operands' memory alignment and its
    thread scheduling may change the order of the sums. (On the named workloads' shapes no
    difference showed without it; the mode cost 0-15 % at 2 threads and nothing at 1.)
    """
    with _mkl_lock:
        if not _mkl:
            path = mkl_path()
            lib = None
            if path is not None:
                try:
                    lib = ctypes.CDLL(str(path))
                except OSError as error:
                    warnings.warn(
                        f"fastdnn: MKL at {path} could not be loaded ({error}); using OpenBLAS",
                        RuntimeWarning,
                        stacklevel=user_stacklevel(),
                    )
            if lib is not None and not os.environ.get("MKL_CBWR", "").strip():
                # mkl_service.h's C names are macros for these; the lowercase symbols are
                # the Fortran interface (arguments by reference).
                lib.MKL_CBWR_Set.restype = ctypes.c_int
                lib.MKL_CBWR_Set(ctypes.c_int(_MKL_CBWR_AUTO))
            if lib is not None:
                # MKL maps its CPU's kernel libraries (~110 MB of address space) at its first
                # product: make it now, while loading (e.g. in fastdnn.warmup), not inside
                # some later fit, where a process with a memory cap may no longer have room.
                x = (ctypes.c_double * 1)(1.0)
                dgemm = _gemm_proto(_I32, _F64)(("cblas_dgemm", lib))
                dgemm(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, 1, 1, 1, 1.0, x, 1, x, 1, 0.0, x, 1)
            _mkl.append(lib)
        return _mkl[0]


#: Compiled code receives each library's functions as addresses in an int64 array (see
#: :mod:`fastdnn._native`: a runtime value keeps Numba's cache independent of where a library
#: was loaded, and costs nothing to pass in): ``blas[slot + GEMM]`` is the library's
#: ``cblas_?gemm``, ``blas[slot + GEMV]`` its ``cblas_?gemv``, the slot by library below.
GEMM, GEMV = 0, 1
NUMPY_SLOT, SCIPY_SLOT, MKL_SLOT = 0, 2, 4
_SLOTS = ((NUMPY_SLOT, USE_NUMPY_BLAS, "numpy"), (SCIPY_SLOT, USE_SCIPY_BLAS, "scipy"),
          (MKL_SLOT, USE_MKL, "mkl"))  # fmt: skip
#: The type of that array, for annotations.
Blas = np.ndarray


def gemm_functions(dtype) -> tuple[Blas, frozenset]:
    """``(blas, available)`` for ``dtype``.

    ``blas`` is the read-only int64 array of function addresses described at :data:`GEMM`. A
    library that is missing (or lacks either symbol) gets the addresses of stand-ins that
    raise if called; they are never chosen: ``available`` is the set of ``USE_*`` codes that
    may be.
    """
    _sync_mkl_threads()
    dtype = np.dtype(dtype)
    no_blas = _rule() == "numba"
    key = (dtype, no_blas, mkl_wanted())  # the rule may change (tests), and what it loads
    with _lock:
        if key not in _functions:
            name = dtype.name
            paths = {} if no_blas else _library_paths()
            addresses = np.zeros(2 * len(_SLOTS), dtype=np.int64)
            available, alive = {USE_NUMBA_DOT}, []
            for slot, code, lib in _SLOTS:
                dll = ctypes.CDLL(paths[lib]) if lib in paths else None
                names = [
                    next((n for n in candidates if dll is not None and hasattr(dll, n)), None)
                    for _, candidates in _PROTOS[(lib, name)]
                ]
                if all(names):
                    available.add(code)
                    functions = [getattr(dll, n) for n in names]
                else:
                    functions = [proto(_never_called) for proto, _ in _PROTOS[(lib, name)]]
                alive += [dll, *functions]  # the addresses stay valid while these live
                for i, f in enumerate(functions):
                    addresses[slot + i] = ctypes.cast(f, ctypes.c_void_p).value
            addresses.flags.writeable = False
            _functions[key] = (addresses, frozenset(available), alive)
        return _functions[key][:2]


def route(dtype) -> tuple[Blas, int]:
    """``(blas, code)``: the functions and the library every product of ``dtype`` uses by default.

    The jit backend's kernels (the functional API, ``predict``) and its training loop take
    their products from here, so one backend has one route to BLAS. Remembered per dtype and
    rule: the public kernels ask at every call (it cost 8-14 µs, more than their work on the
    planar net).
    """
    _sync_mkl_threads()
    rule = _rule()
    key = (dtype, rule, mkl_wanted())
    found = _routes.get(key)
    if found is None:
        blas, available = gemm_functions(dtype)
        found = _routes[key] = (blas, default_library(np.dtype(dtype), available))
    return found


@njit
def _gemv(blas, choice, trans, rows, cols, A, x, C, alpha, beta):
    """``C = alpha op(A) @ x + beta C`` for a row-major ``A`` of shape (rows, cols) (its rows
    contiguous, see :func:`leading_dimension`), ``x`` and ``C`` contiguous."""
    # cblas_?gemv(order, trans, M, N, alpha, A, lda, x, incx, beta, y, incy): enums are C
    # ints; the sizes are 64-bit in NumPy's build (ILP64), 32-bit in SciPy's and MKL's.
    head = (np.int32(_ROW_MAJOR), np.int32(trans))
    a, xp, c = data_pointer(A), data_pointer(x), data_pointer(C)
    lda = leading_dimension(A)
    if choice == USE_NUMPY_BLAS:
        i = np.int64
        rest = (i(rows), i(cols), alpha, a, i(lda), xp, i(1), beta, c, i(1))
        ccall(blas[NUMPY_SLOT + GEMV], head + rest)
    else:
        slot = MKL_SLOT if choice == USE_MKL else SCIPY_SLOT
        i = np.int32
        rest = (i(rows), i(cols), alpha, a, i(lda), xp, i(1), beta, c, i(1))
        ccall(blas[slot + GEMV], head + rest)


@njit(inline="always")
def leading_dimension(A):
    """Elements from the start of one row of the row-major matrix ``A`` to the next: its row
    length when ``A`` is C-contiguous, the whole matrix's for a block of columns of a wider
    one (a split step's examples, :mod:`fastdnn.steppers.split`), which BLAS reads in place.
    The elements of a row must be contiguous. A matrix of one row has its row length (NumPy
    may give a dimension of length 1 any stride)."""
    if A.shape[0] <= 1:
        return max(A.shape[1], 1)
    return max(A.strides[0] // A.itemsize, A.shape[1], 1)


#: The ``trans_a``/``trans_b`` flags of :func:`gemm` as NumPy booleans: compiled callers
#: passing ``True``/``False`` would compile one ``gemm`` per combination of literals (four in
#: training, each ~1 s of the first compilation); these are one runtime type.
PLAIN, TRANSPOSED = np.bool_(False), np.bool_(True)


@njit
def gemm(blas, choice, A, trans_a, B, trans_b, C):
    """``C = op(A) @ op(B)``, with ``op(X) = X.T`` when ``trans_X``; ``C`` C-contiguous, ``A``
    and ``B`` too, or (a library's ``choice``) blocks of columns of C-contiguous matrices.

    ``choice`` is one of the ``USE_*`` codes; ``blas`` the address array of
    :func:`gemm_functions`. A product with one row or one column of output is a matrix-vector
    product and goes to ``gemv``: OpenBLAS's ``gemm`` measured 2-3x slower on those shapes
    (logistic regression's every product). Allocates nothing.
    """
    if is_library(choice):
        one, zero = C.dtype.type(1.0), C.dtype.type(0.0)
        _library_gemm(blas, choice, A, trans_a, B, trans_b, C, one, zero)
    elif choice == USE_LOOPS:
        _gemm_loops(A, trans_a, B, trans_b, C)
    elif trans_a and trans_b:
        np.dot(A.T, B.T, out=C)
    elif trans_a:
        np.dot(A.T, B, out=C)
    elif trans_b:
        np.dot(A, B.T, out=C)
    else:
        np.dot(A, B, out=C)


@njit(inline="always")
def is_library(choice) -> bool:
    """Whether ``choice`` is a BLAS library (which :func:`gemm_add` needs)."""
    return choice == USE_NUMPY_BLAS or choice == USE_SCIPY_BLAS or choice == USE_MKL


@njit
def gemm_add(blas, choice, A, trans_a, B, trans_b, C, alpha):
    """``C += alpha op(A) @ op(B)`` in one library call (``beta = 1``): for a training step
    that subtracts ``lr * dW`` from ``W`` as the product computes ``dW``, with no ``dW``
    buffer written and read back. ``choice`` must be a library (:func:`is_library`); the
    loops and ``np.dot`` have no ``C +=`` form."""
    _library_gemm(blas, choice, A, trans_a, B, trans_b, C, C.dtype.type(alpha), C.dtype.type(1.0))


@njit(inline="always")  # gemm's library calls compile as they did before gemm_add shared them
def _library_gemm(blas, choice, A, trans_a, B, trans_b, C, alpha, beta):
    """``C = alpha op(A) @ op(B) + beta C`` by the library ``choice``."""
    M, N = C.shape
    K = A.shape[0] if trans_a else A.shape[1]
    if M == 1:  # C.T (N) = op(B).T (N, K) @ a (K): B is the matrix
        # a is one row, or one column of a (K, 1) array: contiguous either way
        t = _NO_TRANS if trans_b else _TRANS
        _gemv(blas, choice, t, B.shape[0], B.shape[1], B, A, C, alpha, beta)
        return
    if N == 1:  # C (M) = op(A) (M, K) @ b (K): A is the matrix
        t = _TRANS if trans_a else _NO_TRANS
        _gemv(blas, choice, t, A.shape[0], A.shape[1], A, B, C, alpha, beta)
        return
    # cblas_?gemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
    # enums are C ints; the sizes as in _gemv.
    head = (
        np.int32(_ROW_MAJOR),
        np.int32(_TRANS if trans_a else _NO_TRANS),
        np.int32(_TRANS if trans_b else _NO_TRANS),
    )
    a, b, c = data_pointer(A), data_pointer(B), data_pointer(C)
    lda, ldb = leading_dimension(A), leading_dimension(B)
    if choice == USE_NUMPY_BLAS:
        i = np.int64
        sizes = (i(M), i(N), i(K), alpha, a, i(lda), b, i(ldb), beta, c, i(N))
        ccall(blas[NUMPY_SLOT + GEMM], head + sizes)
    else:
        slot = MKL_SLOT if choice == USE_MKL else SCIPY_SLOT
        i = np.int32
        sizes = (i(M), i(N), i(K), alpha, a, i(lda), b, i(ldb), beta, c, i(N))
        ccall(blas[slot + GEMM], head + sizes)


@njit
def _gemm_loops(A, trans_a, B, trans_b, C):
    """Plain loops for tiny products, innermost loop over contiguous memory."""
    M, N = C.shape
    C[:] = 0
    if not trans_a and not trans_b:  # C[i, :] += A[i, k] * B[k, :]
        for i in range(M):
            for k in range(A.shape[1]):
                a = A[i, k]
                for j in range(N):
                    C[i, j] += a * B[k, j]
    elif not trans_a:  # C[i, j] = A[i, :] . B[j, :]
        K = A.shape[1]
        K4 = K - K % 4
        for i in range(M):
            a = A[i]
            for j in range(N):
                b = B[j]
                # Four running sums in a fixed order: the compiler can keep them in one SIMD
                # register (one sum cannot be vectorized without reassociation), and the
                # result stays deterministic.
                s0 = s1 = s2 = s3 = C.dtype.type(0.0)
                for k in range(0, K4, 4):
                    s0 += a[k] * b[k]
                    s1 += a[k + 1] * b[k + 1]
                    s2 += a[k + 2] * b[k + 2]
                    s3 += a[k + 3] * b[k + 3]
                for k in range(K4, K):
                    s0 += a[k] * b[k]
                C[i, j] = (s0 + s1) + (s2 + s3)
    elif not trans_b:  # C[i, :] += A[k, i] * B[k, :]
        for k in range(A.shape[0]):
            for i in range(M):
                a = A[k, i]
                for j in range(N):
                    C[i, j] += a * B[k, j]
    else:
        for i in range(M):
            for j in range(N):
                acc = C.dtype.type(0.0)
                for k in range(A.shape[0]):
                    acc += A[k, i] * B[j, k]
                C[i, j] = acc


def num_threads_key() -> int:
    """BLAS threads now (part of the ``auto`` rule's cache key)."""
    from threadpoolctl import threadpool_info

    return max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=1)


def step_products(layer_dims, m: int) -> list[tuple[int, int, int, bool, bool]]:
    """The matrix products of one training step: ``(M, N, K, trans_a, trans_b)`` each."""
    products = []
    for l in range(1, len(layer_dims)):
        n, k = int(layer_dims[l]), int(layer_dims[l - 1])
        products.append((n, m, k, False, False))  # Z = W @ A_prev
        products.append((n, k, m, False, True))  # dW = dZ @ A_prev.T
        if l > 1:
            products.append((k, m, n, True, False))  # dA_prev = W.T @ dZ
    return products


_FORCED = {
    "numpy": USE_NUMPY_BLAS,
    "scipy": USE_SCIPY_BLAS,
    "numba": USE_NUMBA_DOT,
    "loops": USE_LOOPS,
    "mkl": USE_MKL,
}


def _rule() -> str:
    return _env.SETTINGS.blas


def default_library(
    dtype,
    available,
    largest_product: int | None = None,
    full_batch_m: int | None = None,
    gram: bool = False,
) -> int:
    """The ``USE_*`` code of the fixed rule (or of ``FASTDNN_BLAS``'s forced library).

    The fixed rule depends only on the machine, the installed packages and the shapes, never
    on timing: MKL when it is available (the ``mkl`` extra, loaded on Intel CPUs only) and the
    step's largest product has at least :data:`MKL_MIN_PRODUCT` multiply-adds
    (:data:`MKL_MIN_PRODUCT_1T` when MKL runs one thread; ``None``: no step, e.g. the
    functional API), unless the step is a full batch of ``full_batch_m`` examples (a Gram-path
    step when ``gram``) that MKL handles badly (:func:`_mkl_full_batch_ok`); else
    ``DEFAULT_LIBRARY[dtype]``.

    Raises
    ------
    RuntimeError
        ``FASTDNN_BLAS=mkl`` and MKL is not installed.
    """
    rule = _rule()
    if rule == "mkl" and USE_MKL not in available:
        raise RuntimeError(
            "FASTDNN_BLAS=mkl, but MKL is not installed (or could not be loaded): "
            'pip install "fastdnn[mkl]", or unset FASTDNN_BLAS for the default rule'
        )
    if rule in _FORCED:
        code = _FORCED[rule]
        return code if code in available | {USE_LOOPS} else USE_NUMBA_DOT
    if (
        USE_MKL in available
        and _mkl_pays(largest_product)
        and _mkl_full_batch_ok(dtype, full_batch_m, gram)
    ):
        return USE_MKL
    library = DEFAULT_LIBRARY[np.dtype(dtype).name]
    return library if library in available else USE_NUMBA_DOT


def _mkl_pays(largest_product: int | None) -> bool:
    """The default rule's size test for MKL (see :data:`MKL_MIN_PRODUCT`)."""
    if largest_product is None or largest_product >= MKL_MIN_PRODUCT:
        return True
    if largest_product < MKL_MIN_PRODUCT_1T:
        return False
    lib = load_mkl()  # only between the two sizes does the thread count decide
    return lib is not None and lib.MKL_Get_Max_Threads() == 1


def _mkl_full_batch_ok(dtype, m: int | None, gram: bool = False) -> bool:
    """The default rule's test of a full-batch step of ``m`` examples (``None``: not one), a
    Gram-path step when ``gram``: see :data:`MKL_ALIASED_ROW_BYTES` and
    :data:`MKL_MAX_GRAM_M`."""
    if m is None:
        return True
    dtype = np.dtype(dtype)
    if (m * dtype.itemsize) % MKL_ALIASED_ROW_BYTES == 0:
        return False
    return not (gram and m >= MKL_MAX_GRAM_M)


def blas_rule_summary() -> str:
    """One line for ``fastdnn info``: the ``FASTDNN_BLAS`` rule and what it calls here."""
    rule = _rule()
    if rule != "default":
        return f"FASTDNN_BLAS={rule}"
    if mkl_wanted() and load_mkl() is not None:
        return (
            f"default: MKL (Intel CPU, mkl installed) for steps with a product of at least "
            f"{MKL_MIN_PRODUCT} multiply-adds ({MKL_MIN_PRODUCT_1T} at 1 thread), except "
            f"full-batch steps of m examples with m * itemsize a multiple of "
            f"{MKL_ALIASED_ROW_BYTES} bytes, and Gram-path steps with m >= "
            f"{MKL_MAX_GRAM_M}; "
            "NumPy's OpenBLAS otherwise"
        )
    why = "not installed" if cpu_vendor() == "intel" else f"{cpu_vendor()} CPU"
    return f"default: NumPy's OpenBLAS (MKL: {why})"


def choose(
    layer_dims, m: int, dtype, products=None, full_batch: bool = False, gram: bool = False
) -> list[int]:
    """The ``USE_*`` code for each product of :func:`step_products` (or of ``products``,
    ``(M, N, K, trans_a, trans_b)`` each, for a step that runs others); ``full_batch``: every
    product's rows of examples are the whole data's ``m`` (no mini-batch buffers); ``gram``:
    the products are a Gram-path step's (``fastdnn.steppers.gram``, full batch implied).

    ``FASTDNN_BLAS`` selects the rule (read and validated once, by :mod:`fastdnn._env`):

    ``default`` (unset)
        Deterministic, so the same seed gives the same bits in every process (for a given
        machine, packages and number of threads): every product in the library of
        :func:`default_library`: MKL on Intel CPUs when it is installed and the step is large
        enough (and, for a full batch, of a size MKL handles well), else
        ``DEFAULT_LIBRARY[dtype]``, the OpenBLAS build measured faster on the named workloads.
        (Plain loops won on tiny products only with C-ordered inputs, and lost 1.7x on the
        planar net with Fortran-ordered ``X``, as the course's data is.)
    ``auto``
        Time both libraries on this step's products and keep the faster, then time loops
        against it for the small products. Fastest on an unknown machine, but two processes
        may choose differently and so round differently: not bitwise reproducible.
    ``numpy``, ``scipy``, ``numba`` (``np.dot``), ``loops``
        That one everywhere.

    One library serves the whole step in every rule: each OpenBLAS build keeps its own thread
    pool, whose threads spin for a while after each call, so alternating the two libraries
    call by call makes 4 threads fight over 2 cores (measured: 1.5-2x slower than either
    library alone).
    """
    dtype = np.dtype(dtype)
    if products is None:
        products = step_products(layer_dims, m)
    blas, available = gemm_functions(dtype)
    if _rule() != "auto":
        largest = max((M * N * K for M, N, K, _, _ in products), default=0)
        full_batch_m = m if full_batch or gram else None
        code = default_library(dtype, available, largest, full_batch_m, gram)
        return [code] * len(products)
    key = (tuple(products), dtype.name, num_threads_key())
    if key in _choices:
        return _choices[key]
    rng = np.random.default_rng(0)
    operands = []
    for M, N, K, ta, tb in products:
        # Time on at most TIMING_COLUMNS examples (Z's columns, dW's inner dimension): the
        # speed per example is the same, and the timing data must not add an X-sized
        # allocation to fit's peak memory.
        N = min(N, TIMING_COLUMNS) if not tb else N
        K = min(K, TIMING_COLUMNS) if tb else K
        A = rng.random((K, M) if ta else (M, K)).astype(dtype)
        B = rng.random((N, K) if tb else (K, N)).astype(dtype)
        operands.append((A, ta, B, tb, np.empty((M, N), dtype=dtype)))

    def timed(codes, which=None):
        t = []
        for i in range(len(operands)) if which is None else which:
            A, ta, B, tb, C = operands[i]
            t0 = time.perf_counter()
            gemm(blas, codes[i], A, ta, B, tb, C)
            t.append(time.perf_counter() - t0)
        return np.array(t)

    libraries = sorted(available - {USE_NUMBA_DOT}) or [USE_NUMBA_DOT]
    rounds = {code: [] for code in libraries}
    budget = time.perf_counter() + 0.5  # seconds of timing at most, per process and shape
    for code in libraries:
        timed([code] * len(products))  # compile, page in, wake the library's threads
    for r in range(7):
        for code in libraries:
            timed([code] * len(products))  # let the other library's threads go back to sleep
            rounds[code].append(timed([code] * len(products)))
        if r >= 2 and time.perf_counter() > budget:
            break
    medians = {code: np.median(rounds[code], axis=0) for code in libraries}
    library = min(libraries, key=lambda c: float(medians[c].sum()))
    codes = [library] * len(products)
    small = [i for i, (M, N, K, _, _) in enumerate(products) if M * N * K <= SMALL_PRODUCT]
    if small:
        all_loops = [USE_LOOPS] * len(products)
        timed(all_loops, small)  # compile
        loops = np.median([timed(all_loops, small) for _ in range(7)], axis=0)
        for i, t in zip(small, loops, strict=True):
            if t < medians[library][i]:
                codes[i] = USE_LOOPS
    _choices[key] = codes
    return codes


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def set_num_threads(n: int) -> int:
    """Set the number of BLAS threads of both OpenBLAS builds (NumPy's and SciPy's).

    On a shared 2-core machine, a 2-thread BLAS slows down badly when another process holds a
    core: ``set_num_threads(1)`` is then faster. The ``FASTDNN_NUM_THREADS`` environment
    variable does the same at the first training call. Without either, the first training call
    sets :func:`default_threads` (half the cores), unless ``OPENBLAS_NUM_THREADS`` (or
    ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) is set. A call of this function wins over both,
    also when a first fit runs in another Python thread at the same moment.

    OpenBLAS has one thread pool for the process, and threadpoolctl lets one Python thread set
    it: the first that does so (with ``threadpool_limits``), while it lives. fastdnn never
    keeps that control, but if another thread holds it, this call does not take: it then warns
    and returns what OpenBLAS kept. Call it from the main thread, or from the thread that
    limits BLAS elsewhere.

    Parameters
    ----------
    n : int
        Threads, at least 1. More threads than the cores this process may run on only make
        them take turns, so ``n`` is **clamped** to that number of cores, with a
        ``RuntimeWarning`` (e.g. 99999 on a 2-core machine gives 2 threads).

    Returns
    -------
    int
        The number of threads set: ``n`` (clamped), or what OpenBLAS kept when the call did
        not take (with a ``RuntimeWarning``).

    Raises
    ------
    TypeError
        ``n`` is not an integer.
    ValueError
        ``n`` is less than 1.
    """
    with _threads_lock:
        n = _set_threads(n, "n")
        apply_env_threads.done = True  # the user's choice: no default or variable overrides it
    return n


def current_threads() -> int:
    """The BLAS threads now: fastdnn's setting, else what the BLAS libraries report."""
    return _threads_set[0] if _threads_set else num_threads_key()


def _set_threads(n, name: str) -> int:
    """:func:`set_num_threads`, with ``name`` for the value in messages (``"threads"``: fastdnn's
    default, not a user's choice). Returns the threads OpenBLAS has afterwards (the most of its
    libraries'), which is ``n`` unless another Python thread controls OpenBLAS's threads (see
    :func:`_limit_blas_threads`); a user's choice that did not take gets a ``RuntimeWarning``."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(
            f"{name} must be a positive integer number of threads; got {type(n).__name__} {n!r}"
        )
    if n < 1:
        raise ValueError(f"{name} must be a positive integer number of threads; got {n!r}")
    cores = usable_cores()
    if n > cores:
        warnings.warn(
            f"{name}={n} BLAS threads is more than the {cores} cores this process may run "
            f"on: using {cores}",
            RuntimeWarning,
            stacklevel=user_stacklevel(),
        )
        n = cores
    n = int(n)
    _library_paths()  # make sure SciPy's BLAS (and MKL) are loaded, so the limit reaches them
    counts = _limit_blas_threads(n)
    took = all(c == n for c in counts)
    if not took and name != "threads":  # fastdnn's default may be overruled silently
        shown = " and ".join(map(str, sorted(set(counts))))
        warnings.warn(
            f"{name}={n} did not take: OpenBLAS keeps {shown} thread{'s' * (shown != '1')}. "
            "threadpoolctl lets one Python thread at a time set OpenBLAS's threads, and another "
            "thread holds them (it set them first, e.g. with threadpool_limits); set them from "
            "that thread",
            RuntimeWarning,
            stacklevel=user_stacklevel(),
        )
    got = n if took else max(counts)
    _threads_set[:] = [got]
    _sync_mkl_threads()
    return got


def _limit_blas_threads(n: int) -> list[int]:
    """Set every BLAS library to ``n`` threads; return the threads each OpenBLAS library
    reports after.

    OpenBLAS (built with its own threads, as NumPy's and SciPy's wheels are) has one thread
    pool for the process, and threadpoolctl (3.8 and later) lets only one Python thread set
    it, the first to do so while it lives, and silently ignores the others. fastdnn sets the
    threads without keeping that control (so a first fit in a worker thread does not lock the
    main thread out of :func:`set_num_threads`), and reads the result back instead of assuming
    it.
    """
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=n, user_api="blas")
    try:
        from threadpoolctl import OpenBLASController

        OpenBLASController.clear_controlling_thread()  # only if this thread holds it
    except (ImportError, AttributeError):  # threadpoolctl < 3.8: no controlling thread
        pass
    return [i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas"]


#: Variables through which a user chose the BLAS threads already: fastdnn's default stays out.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def default_threads() -> int:
    """fastdnn's default BLAS threads: half the cores this process may use, at least one.

    Why not all of them: OpenBLAS splits every product evenly between its threads, so when
    another process keeps one core busy, each product waits for the thread that shares that
    core. On a 2-core machine with one core busy, the cat net's step took 9-11 ms with one
    thread and 170-300 ms with two. Half the logical cores is also the physical cores on a
    machine with two hardware threads per core, where a GEMM gains nothing from the second.
    """
    return max(1, usable_cores() // 2)


def apply_env_threads() -> None:
    """Set the BLAS threads once per process, at the first training call.

    ``FASTDNN_NUM_THREADS`` if set (validated at import, :mod:`fastdnn._env`: an invalid value
    never gets here; above the core count it is clamped, with one warning). Otherwise, unless
    the user chose already (:func:`set_num_threads`, or one of
    :data:`BLAS_THREAD_VARIABLES`), at most :func:`default_threads`.
    """
    if getattr(apply_env_threads, "done", False):
        return
    with _threads_lock:  # a set_num_threads in another thread meanwhile wins, never lost
        if getattr(apply_env_threads, "done", False):
            return
        n = _env.SETTINGS.num_threads
        if n is not None:
            _set_threads(n, "FASTDNN_NUM_THREADS")
        elif not any(os.environ.get(name, "").strip() for name in BLAS_THREAD_VARIABLES):
            _set_threads(min(default_threads(), num_threads_key()), "threads")
        apply_env_threads.done = True
