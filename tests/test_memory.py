"""Training allocates its buffers once: peak memory does not grow with the iterations."""

import gc
import tracemalloc

import numpy as np
import pytest

import fastdnn.train
from fastdnn import DNN


def peak_during(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def retained_after(fn):
    """Bytes still allocated after ``fn()`` returns and the garbage is collected."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return kept - base


@pytest.mark.filterwarnings("ignore:after .* steps the cost")  # random labels: true
@pytest.mark.parametrize("batch_size", [None, 50])
def test_allocation_does_not_grow_with_iterations(backend, batch_size, monkeypatch):
    rng = np.random.default_rng(0)
    m = 200 if backend != "naive" else 60  # naive: Python loops, ~1 us a multiply-add
    X = rng.random((20, m))
    Y = (rng.random((1, m)) < 0.5).astype(float)
    net = DNN([20, 16, 8, 1], backend=backend, seed=0)
    steps = (200, 2000) if backend != "naive" else (2, 8)
    # One step per call of the backend (the most calls, the most chances to leak), and one
    # cost record per fit, so that the History does not grow with the steps.
    monkeypatch.setattr(fastdnn.train, "CHUNK_SECONDS", 0.0)
    kw = dict(learning_rate=0.01, batch_size=batch_size, cost_every=10**9)
    # Warm up: Numba's dispatcher types the tuple arguments it cannot fingerprint (the bundles
    # holding BLAS function pointers) in Python at each call, and keeps a varying few KB of
    # what that builds (measured after 3,000 warm-up calls: 4-48 KB kept by 2,000 more calls,
    # not growing with them). A leak of one small array a step (>= 100 bytes) keeps 200 KB.
    net.fit(X, Y, num_iterations=3000 if backend == "jit" else steps[0], **kw)
    assert retained_after(lambda: net.fit(X, Y, num_iterations=steps[1], **kw)) < 96 * 1024
    # and the transient peak does not grow with the steps either: the dispatcher's few KB
    # (above) show here too (38 KB once, in a full `pytest -n 2` run: a worker that had
    # compiled other tests' signatures first); a leak of 100 bytes a step would add 180 KB
    short = peak_during(lambda: net.fit(X, Y, num_iterations=steps[0], **kw))
    long = peak_during(lambda: net.fit(X, Y, num_iterations=steps[1], **kw))
    assert long - short < 64 * 1024, (short, long)


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
