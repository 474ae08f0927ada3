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


def test_copy_splits_examples_between_threads(monkeypatch):
    monkeypatch.setattr(_transpose, "MIN_EXAMPLES_PER_THREAD", 10)
    names = []
    copyto = np.copyto

    def spy(dst, src):
        names.append((threading.current_thread().name, dst.shape[0]))
        copyto(dst, src)

    monkeypatch.setattr(_transpose.np, "copyto", spy)
    X = np.arange(3 * 45.0).reshape(3, 45)
    assert_array_equal(_transpose.examples_contiguous(X, threads=8), X)
    # 45 examples, at least 10 a thread: 4 threads of 11-12 examples, none in the caller
    assert sorted(n for _, n in names) == [11, 11, 11, 12]
    assert {name for name, _ in names} == {"fastdnn-copy"}


def test_a_failed_copy_raises_in_the_caller(monkeypatch):
    monkeypatch.setattr(_transpose, "MIN_EXAMPLES_PER_THREAD", 1)

    def broken(dst, src):
        raise MemoryError("no room")

    monkeypatch.setattr(_transpose.np, "copyto", broken)
    with pytest.raises(MemoryError, match="no room"):
        _transpose.examples_contiguous(np.ones((2, 8)), threads=2)
