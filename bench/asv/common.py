"""Named workloads and kernel shapes: the one definition that every benchmark uses.

pytest-benchmark (``bench/test_bench_*.py``) and asv (``bench/asv/bench_*.py``) both build their
inputs here. asv runs the benchmark files of the current checkout against the fastdnn of each
commit it measures, so this module depends on NumPy only, never on fastdnn: a definition that
lived in the package would change silently from one commit to the next.

THIS FILE IS APPEND-ONLY. Do not change an existing workload, shape, seed or data recipe: that
would make every stored result incomparable with new ones. Add new entries with new ids.

The workloads are the table in the team's ``../shared/DESIGN.md`` ("Named workloads").
Data: ``X`` uniform in [0, 1), ``Y`` random 0/1 (a softmax workload: random one-hot columns),
both from the entry's seed; ``W[l] = randn / sqrt(n[l-1])`` and ``b[l] = 0`` from
``seed + 1``. float32 data are the float64 draws rounded, so the two dtypes train the same
problem.

``fastdnn/bench.py`` (the ``fastdnn bench`` command) is installed without ``bench/`` and keeps a
mirror of the workload table; ``tests/test_bench_smoke.py`` checks that the two agree.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

BACKENDS = ["naive", "numpy", "jit"]
DTYPES = ["float64", "float32"]
#: Contenders that are not fastdnn backends (see ``fastdnn/_references.py``).
REFERENCES = ["course-numpy", "torch", "sklearn-mlp"]

#: naive runs only where one forward pass has at most this many multiply-adds
#: (``m * sum(n[l] * n[l-1])``): it is Python loops, about 1 us per multiply-add.
NAIVE_MAX_MACS = 20_000
#: Steps of a naive training run (about 6 ms each on W1). Training benchmarks record their
#: steps, so time per step compares across contenders that ran different numbers of steps.
NAIVE_STEPS = 20


@dataclass(frozen=True)
class Workload:
    """One named training workload.

    Attributes
    ----------
    key : str
        Short name, ``"W1"``.
    id : str
        Readable id used in benchmark names, ``"W1_planar_2-4-1_m400"``.
    layer_dims : tuple of int
    hidden : str
        Activation of the hidden layers (the output: ``output``, sigmoid unless given).
    m : int
        Number of training examples.
    steps : int
        Gradient steps of the full run: full-batch iterations, or the mini-batch steps of
        ``epochs`` epochs.
    learning_rate : float
    seed : int
        Seed of the data; the parameters use ``seed + 1``.
    shortened : int
        Steps of a quick run: each well under a second for ``numpy``/``jit`` on 2 cores, and
        many enough that the fixed cost of one ``fit`` call stays small beside the steps.
    epochs : int or None
        For mini-batch workloads: the number of epochs of the full run.
    batch_size : int or None
        None for full-batch gradient descent.
    output : str
        The output layer: ``"sigmoid"`` (W1-W4) or ``"softmax"`` (one-hot ``Y``).
    optimizer : str
        ``DNN.fit``'s optimizer: ``"gd"`` (W1-W4) or ``"adam"``.
    """

    key: str
    id: str
    layer_dims: tuple[int, ...]
    hidden: str
    m: int
    steps: int
    learning_rate: float
    seed: int
    shortened: int
    epochs: int | None = None
    batch_size: int | None = None
    # appended for W5; the defaults are what W1-W4 always were
    output: str = "sigmoid"
    optimizer: str = "gd"

    @property
    def width(self) -> int:
        """Columns of one step's batch: ``batch_size`` or ``m``."""
        return self.batch_size or self.m


def _dims_id(dims) -> str:
    return "-".join(str(n) for n in dims)


# ---- append-only: ../shared/DESIGN.md's table --------------------------------------------
WORKLOADS: dict[str, Workload] = {
    w.key: w
    for w in [
        Workload("W1", "W1_planar_2-4-1_m400", (2, 4, 1), "tanh", 400, 10_000, 1.2, 1, 1000),
        Workload(
            "W2",
            "W2_cat_12288-20-7-5-1_m209",
            (12288, 20, 7, 5, 1),
            "relu",
            209,
            2500,
            0.0075,
            2,
            50,
        ),  # fmt: skip
        Workload(
            "W3", "W3_wide_784-128-64-1_m10000", (784, 128, 64, 1), "relu", 10_000, 200, 0.1, 3, 5
        ),  # fmt: skip
        # 60000 / 64 = 937.5: one epoch is 938 steps, the last batch 32 examples.
        Workload(
            "W4",
            "W4_minibatch_784-128-64-1_m60000_b64",
            (784, 128, 64, 1),
            "relu",
            60_000,
            938,
            0.1,
            4,
            100,
            epochs=1,
            batch_size=64,
        ),  # fmt: skip
        # 60000 / 128 = 468.75: one epoch is 469 steps, the last batch 96 examples.
        Workload(
            "W5",
            "W5_softmax_adam_784-128-64-10_m60000_b128",
            (784, 128, 64, 10),
            "relu",
            60_000,
            469,
            0.001,
            5,
            100,
            epochs=1,
            batch_size=128,
            output="softmax",
            optimizer="adam",
        ),  # fmt: skip
    ]
}
WORKLOAD_IDS = [w.id for w in WORKLOADS.values()]
BY_ID: dict[str, Workload] = {w.id: w for w in WORKLOADS.values()}


@dataclass(frozen=True)
class Shape:
    """One network shape for the kernel benchmarks (forward, backward, one step).

    Attributes
    ----------
    id : str
        ``L{layers}_n{dims}_m{m}_{hidden}``, e.g. ``"L2_n2-4-1_m400_tanh"``.
    layer_dims : tuple of int
    hidden : str
    m : int
        Columns of the batch.
    seed : int
    """

    id: str
    layer_dims: tuple[int, ...]
    hidden: str
    m: int
    seed: int

    @property
    def macs(self) -> int:
        """Multiply-adds of one forward pass."""
        d = self.layer_dims
        return self.m * sum(d[l] * d[l - 1] for l in range(1, len(d)))

    @property
    def naive_ok(self) -> bool:
        """Whether the naive backend is fast enough to benchmark on this shape."""
        return self.macs <= NAIVE_MAX_MACS


def _shape(dims, hidden, m, seed) -> Shape:
    return Shape(f"L{len(dims) - 1}_n{_dims_id(dims)}_m{m}_{hidden}", tuple(dims), hidden, m, seed)


# ---- append-only: kernel shapes ------------------------------------------------------------
# The tiny ones measure Python overhead on purpose (numpy's LinalgSmallArrays); the others are
# one step of each workload (W4: one mini-batch).
KERNEL_SHAPES: dict[str, Shape] = {
    s.id: s
    for s in [
        _shape((2, 4, 1), "tanh", 8, 101),
        _shape((8, 8, 1), "relu", 32, 102),
        _shape((2, 4, 1), "tanh", 400, 103),  # W1
        _shape((64, 32, 1), "relu", 512, 104),
        _shape((12288, 20, 7, 5, 1), "relu", 209, 105),  # W2
        _shape((784, 128, 64, 1), "relu", 64, 106),  # W4's mini-batch
        _shape((784, 128, 64, 1), "relu", 10_000, 107),  # W3
    ]
}
KERNEL_SHAPE_IDS = list(KERNEL_SHAPES)


# ---- data ------------------------------------------------------------------------------------
# Cached arrays are shared by every benchmark in a process and stay writable on purpose:
# read-only arrays are a different Numba type, i.e. another compiled specialization than the
# one users get. Every contender copies the parameters before training and never writes X, Y.
def uniform_rows(rng, shape, dtype, rows_per_chunk=64) -> np.ndarray:
    """``rng.random(shape)`` rounded to ``dtype``, drawn a block of rows at a time.

    Same values as one draw of the whole float64 array (the generator fills it in C order),
    without ever holding it: W4's X is 376 MB in float64, and a float32 copy made from a full
    float64 draw would double the peak memory that ``peakmem_fit`` reports.
    """
    out = np.empty(shape, dtype=dtype)
    for r in range(0, shape[0], rows_per_chunk):
        out[r : r + rows_per_chunk] = rng.random((min(rows_per_chunk, shape[0] - r), shape[1]))
    return out


@functools.cache  # = lru_cache(maxsize=None): built once per process
def _data(n_x: int, m: int, n_y: int, seed: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = uniform_rows(rng, (n_x, m), dtype)
    Y = rng.integers(0, 2, size=(n_y, m)).astype(dtype)
    return X, Y


@functools.cache
def _data_one_hot(n_x: int, m: int, n_y: int, seed: int, dtype: str):
    """``X`` as in :func:`_data`; ``Y`` one-hot ``(n_y, m)`` of classes drawn uniformly."""
    rng = np.random.default_rng(seed)
    X = uniform_rows(rng, (n_x, m), dtype)
    labels = rng.integers(0, n_y, size=m)
    Y = np.zeros((n_y, m), dtype=dtype)
    Y[labels, np.arange(m)] = 1
    return X, Y


@functools.cache
def _params(dims: tuple[int, ...], seed: int, dtype: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(dims)):
        W = rng.standard_normal((dims[l], dims[l - 1])) / np.sqrt(dims[l - 1])
        params[f"W{l}"] = W.astype(dtype)
        params[f"b{l}"] = np.zeros((dims[l], 1), dtype=dtype)
    return params


def get(key_or_id: str) -> Workload:
    """The workload named ``"W1"`` or ``"W1_planar_2-4-1_m400"``."""
    if key_or_id in WORKLOADS:
        return WORKLOADS[key_or_id]
    try:
        return BY_ID[key_or_id]
    except KeyError:
        raise ValueError(
            f"unknown workload {key_or_id!r}; known: {list(WORKLOADS)} or {WORKLOAD_IDS}"
        ) from None


def workload_data(w: Workload | str, dtype: str = "float64") -> tuple[np.ndarray, np.ndarray]:
    """``(X, Y)`` of a workload: X (n_x, m) uniform in [0, 1), Y (1, m) of 0/1 (softmax: one-hot
    (n_y, m)). Do not modify."""
    w = get(w) if isinstance(w, str) else w
    recipe = _data_one_hot if w.output == "softmax" else _data
    return recipe(w.layer_dims[0], w.m, w.layer_dims[-1], w.seed, dtype)


def workload_params(w: Workload | str, dtype: str = "float64") -> dict[str, np.ndarray]:
    """Initial parameters of a workload: a new course dict of cached arrays. Do not modify."""
    w = get(w) if isinstance(w, str) else w
    return dict(_params(w.layer_dims, w.seed + 1, dtype))


def shape_data(s: Shape | str, dtype: str = "float64") -> tuple[np.ndarray, np.ndarray]:
    """``(X, Y)`` of a kernel shape. Do not modify."""
    s = KERNEL_SHAPES[s] if isinstance(s, str) else s
    return _data(s.layer_dims[0], s.m, s.layer_dims[-1], s.seed, dtype)


def shape_params(s: Shape | str, dtype: str = "float64") -> dict[str, np.ndarray]:
    """Initial parameters of a kernel shape: a new course dict of cached arrays. Do not modify."""
    s = KERNEL_SHAPES[s] if isinstance(s, str) else s
    return dict(_params(s.layer_dims, s.seed + 1, dtype))


def naive_skip_reason(item: Shape | Workload) -> str | None:
    """Why the naive backend is not benchmarked on a shape or workload (None: it is).

    naive is Python loops, about 1 us per multiply-add: one step of W2-W4 takes seconds to
    minutes, so it runs only on shapes of at most ``NAIVE_MAX_MACS`` multiply-adds.
    """
    if isinstance(item, Workload):
        item = _shape(item.layer_dims, item.hidden, item.width, 0)
    if item.naive_ok:
        return None
    return (
        f"naive is Python loops (about 1 us per multiply-add): benchmarked only up to "
        f"{NAIVE_MAX_MACS} multiply-adds per forward pass, this one has {item.macs}"
    )


def shortened_steps(w: Workload, scale: float = 1.0, backend: str | None = None) -> int:
    """Steps of a quick run, ``round(w.shortened * scale)`` and at least 1.

    For ``backend="naive"`` at most ``NAIVE_STEPS``: its steps are slow enough that a few
    give a stable time per step.
    """
    steps = max(1, round(w.shortened * scale))
    return min(steps, NAIVE_STEPS) if backend == "naive" else steps


# ---- threads ---------------------------------------------------------------------------------
def bench_threads() -> int:
    """BLAS threads for benchmarks: ``FASTDNN_NUM_THREADS``, default 1.

    One thread by default: on a small shared machine a multi-threaded BLAS slows down by an
    order of magnitude as soon as another process holds a core, which drowns every ratio.
    """
    import os

    value = os.environ.get("FASTDNN_NUM_THREADS", "1")
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"FASTDNN_NUM_THREADS must be a positive integer; got {value!r}") from None
    if n < 1:
        raise ValueError(f"FASTDNN_NUM_THREADS must be a positive integer; got {value!r}")
    return n


def limit_blas_threads(n: int | None = None) -> int:
    """Set the threads of every BLAS in the process (NumPy's and SciPy's OpenBLAS); returns n.

    Uses threadpoolctl directly rather than ``fastdnn.set_num_threads``, so the benchmarks can
    run against commits that predate it.
    """
    import scipy.linalg.cython_blas  # noqa: F401 - load SciPy's BLAS so the limit reaches it
    from threadpoolctl import threadpool_limits

    n = bench_threads() if n is None else n
    threadpool_limits(limits=n, user_api="blas")
    return n
