"""Training allocates its buffers once: peak memory does not grow with the iterations."""

import tracemalloc

import numpy as np
import pytest

from fastdnn import DNN


def peak_during(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


@pytest.mark.filterwarnings("ignore:after .* steps the cost")  # random labels: true
@pytest.mark.parametrize("batch_size", [None, 50])
def test_allocation_does_not_grow_with_iterations(backend, batch_size):
    rng = np.random.default_rng(0)
    X = rng.random((20, 200))
    Y = (rng.random((1, 200)) < 0.5).astype(float)
    net = DNN([20, 16, 8, 1], backend=backend, seed=0)
    steps = (5, 40) if backend != "naive" else (2, 8)
    # Warm up with many calls of the compiled loop: Numba's dispatcher fills an internal
    # cache over its first few hundred calls with tuple (bundle) arguments, then stops
    # (measured on a tiny net: ~75 KB in all; 1.1 bytes a call after 2,000 calls, 0.2 after
    # 10,000). That is bounded, so it is not what this test is about.
    warm = 1000 if backend == "jit" else steps[0]
    net.fit(X, Y, learning_rate=0.01, num_iterations=warm, batch_size=batch_size, cost_every=1)
    short = peak_during(lambda: net.fit(X, Y, learning_rate=0.01, num_iterations=steps[0],
                                        batch_size=batch_size, cost_every=1))  # fmt: skip
    long = peak_during(lambda: net.fit(X, Y, learning_rate=0.01, num_iterations=steps[1],
                                       batch_size=batch_size, cost_every=1))  # fmt: skip
    # The History's lists grow by a few dozen bytes per recorded cost; nothing else may.
    assert long - short < 16 * 1024, (short, long)


def test_peak_memory_of_fit_is_within_budget():
    """DESIGN's W3 shape with fewer examples: 784-128-64-1 on m = 2000."""
    dims, m = [784, 128, 64, 1], 2000
    rng = np.random.default_rng(0)
    X = rng.random((dims[0], m))
    Y = (rng.random((1, m)) < 0.5).astype(float)
    n_params = sum(dims[l] * (dims[l - 1] + 1) for l in range(1, len(dims)))
    activations = sum(dims[1:]) * m * 8
    budget = 1.5 * (X.nbytes + Y.nbytes + 2 * n_params * 8 + activations)  # params + grads
    # Compilation, Numba's cache loading and the one-off BLAS timing per shape are paid by a
    # first model; a new model of the same shape then allocates only its own buffers.
    DNN(dims, seed=0).fit(X, Y, learning_rate=0.01, num_iterations=1)
    net = DNN(dims, seed=0)
    extra = peak_during(lambda: net.fit(X, Y, learning_rate=0.01, num_iterations=3))
    assert X.nbytes + Y.nbytes + extra <= budget, (extra / 2**20, budget / 2**20)
