"""The examples-contiguous copy of X that mini-batch fits gather from (fastdnn._transpose)."""

import threading

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastdnn import _transpose


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("order", ["C", "F", "strided"])
def test_copy_equals_x_with_examples_contiguous(threads, dtype, order, monkeypatch):
    monkeypatch.setattr(_transpose, "MIN_EXAMPLES_PER_THREAD", 4)
    rng = np.random.default_rng(threads)
    X = rng.standard_normal((7, 41)).astype(dtype)
    X = np.asfortranarray(X) if order == "F" else X
    X = rng.standard_normal((14, 83)).astype(dtype)[::2, 1::2] if order == "strided" else X
    before = X.copy()
    out = _transpose.examples_contiguous(X, threads)
    assert out.flags.f_contiguous and out.dtype == X.dtype
    assert not np.shares_memory(out, X)
    assert_array_equal(out, X)
    assert_array_equal(X, before)  # the user's array is read, never written


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "shape",
    # whole tiles, ragged rows and examples, more than one block each way, tiny and empty
    [(8, 16), (13, 37), (70, 1100), (1, 9), (9, 1), (1, 1), (0, 5), (5, 0)],
)
@pytest.mark.parametrize("view", ["C", "reversed rows", "column slice", "row slice"])
def test_tiled_copy_equals_x_for_any_row_stride(dtype, shape, view, monkeypatch):
    """The compiled tile copy (rows of adjacent values, any row stride) against NumPy's copy."""
    monkeypatch.setattr(_transpose, "MIN_EXAMPLES_PER_THREAD", 16)
    rng = np.random.default_rng(sum(shape))
    base = rng.standard_normal((shape[0] + 3, shape[1] + 5)).astype(dtype)
    X = {
        "C": base[: shape[0], : shape[1]].copy(),
        "reversed rows": base[: shape[0], : shape[1]][::-1],
        "column slice": base[: shape[0], 5:],
        "row slice": base[3:, : shape[1]],
    }[view]
    assert X.shape == shape and (X.size == 0 or X.strides[1] == X.itemsize)
    before = X.copy()
    for threads in (1, 3):
        out = _transpose.examples_contiguous(X, threads)
        assert out.flags.f_contiguous and out.shape == X.shape
        assert_array_equal(out, X)
    assert_array_equal(X, before)


@pytest.mark.skipif(_transpose._tiled_copy is None, reason="no compiled code (NUMBA_DISABLE_JIT)")
def test_rows_of_adjacent_values_take_the_tiled_copy(monkeypatch):
    def unwanted(*args, **kwargs):
        raise AssertionError("NumPy's copy was used")

    monkeypatch.setattr(_transpose.np, "copyto", unwanted)
    X = np.arange(20 * 30.0).reshape(20, 30)
    assert_array_equal(_transpose.examples_contiguous(X), X)


def test_copy_splits_examples_between_threads(monkeypatch):
    monkeypatch.setattr(_transpose, "MIN_EXAMPLES_PER_THREAD", 10)
    names = []
    copy = _transpose._copy_examples

    def spy(X, out, rows, start, stop):
        names.append((threading.current_thread().name, stop - start))
        copy(X, out, rows, start, stop)

    monkeypatch.setattr(_transpose, "_copy_examples", spy)
    X = np.arange(3 * 45.0).reshape(3, 45)
    assert_array_equal(_transpose.examples_contiguous(X, threads=8), X)
    # 45 examples, at least 10 a thread: 4 threads of 11-12 examples, none in the caller
    assert sorted(n for _, n in names) == [11, 11, 11, 12]
    assert {name for name, _ in names} == {"fastdnn-copy"}


def test_a_failed_copy_raises_in_the_caller(monkeypatch):
    monkeypatch.setattr(_transpose, "MIN_EXAMPLES_PER_THREAD", 1)

    def broken(X, out, rows, start, stop):
        raise MemoryError("no room")

    monkeypatch.setattr(_transpose, "_copy_examples", broken)
    with pytest.raises(MemoryError, match="no room"):
        _transpose.examples_contiguous(np.ones((2, 8)), threads=2)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("view", ["C", "F", "strided"])
@pytest.mark.parametrize("shape", [(13, 37), (70, 1100), (8, 16), (1, 9)])
def test_copy_in_an_order_holds_the_examples_in_that_order(
    threads, dtype, view, shape, monkeypatch
):
    """Example j of the copy is example order[j] of X: the tiled copy writes each tile's rows
    to their own places (ragged edges, several blocks and threads, any layout of X)."""
    monkeypatch.setattr(_transpose, "MIN_EXAMPLES_PER_THREAD", 4)
    rng = np.random.default_rng(shape[1] + threads)
    n_x, m = shape
    X = rng.standard_normal((2 * n_x, m)).astype(dtype)
    X = {"C": X[:n_x], "F": np.asfortranarray(X[:n_x]), "strided": X[::2]}[view]
    order = rng.permutation(m)
    before = X.copy()
    out = _transpose.examples_contiguous(X, threads, order)
    assert out.flags.f_contiguous and out.dtype == X.dtype
    assert_array_equal(out, X[:, order])
    assert_array_equal(X, before)
    assert_array_equal(_transpose.examples_contiguous(X, threads, np.arange(m)), X)


@pytest.mark.parametrize(
    "order",
    [
        [0, 1, 2, 3],  # too short
        [0, 1, 2, 3, 3],  # a repeat (an example of the copy never written)
        [0, 1, 2, 3, 5],  # past the end
        [-1, 0, 1, 2, 3],  # before the start
        [0.0, 1.0, 2.0, 3.0, 4.0],  # not integers
        [[0, 1, 2, 3, 4]],  # not 1-D
    ],
)
def test_an_order_that_is_not_a_permutation_is_refused(order, monkeypatch):
    def unwanted(*args, **kwargs):
        raise AssertionError("copied before the order was checked")

    monkeypatch.setattr(_transpose, "_copy_examples", unwanted)
    with pytest.raises(ValueError, match=r"order must be a permutation of range\(m\) with m = 5"):
        _transpose.examples_contiguous(np.ones((3, 5)), 1, np.array(order))


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("shuffled", [False, True])
@pytest.mark.parametrize("shape", [(16, 16), (16, 37), (64, 1100), (80, 515)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_copy_streams_whole_lines_and_equals_x(dtype, threads, shuffled, shape, monkeypatch):
    """Rows of whole cache lines (n_x a multiple of 8 in float64, of 16 in float32: two tiles
    stacked) take the non-temporal stores where the machine has them: the copy starts on a
    line and equals X (ragged examples, several blocks and threads); rows that end inside a
    line take plain stores."""
    monkeypatch.setattr(_transpose, "MIN_EXAMPLES_PER_THREAD", 4)
    rng = np.random.default_rng(shape[1])
    X = rng.standard_normal(shape).astype(dtype)
    order = rng.permutation(shape[1]) if shuffled else None
    seen = []
    streams = _transpose._streams
    monkeypatch.setattr(_transpose, "_streams", lambda out: seen.append(streams(out)) or seen[-1])
    out = _transpose.examples_contiguous(X, threads, order)
    assert out.T.ctypes.data % _transpose.LINE_BYTES == 0
    assert_array_equal(out, X if order is None else X[:, order])
    if _transpose._tiled_copy is not None:
        assert seen and all(s == _transpose.STREAMING for s in seen)
    for n_x in (7, 8, 24):  # rows ending inside a line (in float32; 7 in either dtype)
        other = X[:n_x]
        if other.shape[0] * other.itemsize % _transpose.LINE_BYTES == 0:
            continue
        seen.clear()
        copy = _transpose.examples_contiguous(other, threads, order)
        assert_array_equal(copy, other if order is None else other[:, order])
        assert not any(seen)


# check_finite's sum of a small array warns of the overflow or the inf - inf it meets (it
# skips np.errstate there, which would double its cost); the ValueError is what counts here
@pytest.mark.filterwarnings("ignore:(overflow|invalid value) encountered:RuntimeWarning")
@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("view", ["C", "strided"])
@pytest.mark.parametrize("shape", [(16, 37), (13, 37), (64, 1100)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_copy_refuses_every_nan_and_inf_when_it_checks(
    dtype, shape, view, threads, monkeypatch
):
    """check_finite: a NaN or inf anywhere (in a tile, a streamed line, the ragged edges; in
    any thread's part; the tiled copy or NumPy's) is refused with check_finite's message,
    naming its index; the largest finite values pass (x - x is 0 where a sum overflows);
    without check_finite, the copy is made as ever."""
    monkeypatch.setattr(_transpose, "MIN_EXAMPLES_PER_THREAD", 4)
    rng = np.random.default_rng(shape[1] + threads)
    n_x, m = shape

    def viewed(A):
        return A if view == "C" else np.repeat(A, 2, axis=1)[:, ::2]

    X = viewed(rng.standard_normal(shape).astype(dtype))
    order = rng.permutation(m)
    top = viewed(np.full(shape, np.finfo(dtype).max, dtype=dtype))
    top[::2] *= -1
    assert_array_equal(
        _transpose.examples_contiguous(top, threads, order, check_finite="X"), top[:, order]
    )
    places = {(0, 0), (n_x - 1, m - 1), (n_x // 2, m // 3), (n_x - 1, 0), (0, m - 1)}
    places.add((int(rng.integers(n_x)), int(rng.integers(m))))
    for i, j in sorted(places):
        for value in (np.nan, np.inf, -np.inf):
            bad = X.copy() if view == "C" else viewed(X.copy())
            bad[i, j] = value
            with pytest.raises(
                ValueError, match=rf"^X must be finite; found {value} at index \({i}, {j}\)$"
            ):
                _transpose.examples_contiguous(bad, threads, order, check_finite="X")
            out = _transpose.examples_contiguous(bad, threads, order)  # not checked: copied
            assert_array_equal(out, bad[:, order])
