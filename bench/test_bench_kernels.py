"""Kernel benchmarks: one forward pass, one backward pass, one full step (functional API).

Every backend on every shape of ``KERNEL_SHAPES`` (naive on the small ones only), both dtypes.
The tiny shapes measure per-call Python overhead; the others are one step of each workload.
Each benchmark calls its function once before timing, so Numba compilation stays out.
"""

from __future__ import annotations

import pytest
from fastdnn_bench_common import (
    KERNEL_SHAPE_IDS,
    KERNEL_SHAPES,
    naive_skip_reason,
    shape_data,
    shape_params,
)

import fastdnn

OUTPUT = "sigmoid"


def _problem(backend, dtype, shape_id):
    shape = KERNEL_SHAPES[shape_id]
    if backend == "naive" and (reason := naive_skip_reason(shape)):
        pytest.skip(reason)
    X, Y = shape_data(shape, dtype)
    return shape, X, Y, shape_params(shape, dtype)


@pytest.mark.parametrize("shape_id", KERNEL_SHAPE_IDS)
def test_forward(benchmark, label, backend, dtype, shape_id):
    shape, X, _, params = _problem(backend, dtype, shape_id)

    def forward():
        return fastdnn.model_forward(X, params, shape.hidden, OUTPUT, backend)

    forward()  # compile
    label(backend, "forward", shape_id, dtype)
    AL, _ = benchmark(forward)
    assert AL.shape == (shape.layer_dims[-1], shape.m)


@pytest.mark.parametrize("shape_id", KERNEL_SHAPE_IDS)
def test_backward(benchmark, label, backend, dtype, shape_id):
    shape, X, Y, params = _problem(backend, dtype, shape_id)
    AL, caches = fastdnn.model_forward(X, params, shape.hidden, OUTPUT, backend)

    def backward():
        return fastdnn.model_backward(AL, Y, caches, shape.hidden, OUTPUT, backend)

    backward()  # compile
    label(backend, "backward", shape_id, dtype)
    grads = benchmark(backward)
    assert grads["dW1"].shape == params["W1"].shape


@pytest.mark.parametrize("shape_id", KERNEL_SHAPE_IDS)
def test_step(benchmark, label, backend, dtype, shape_id):
    """Forward, backward and update: one gradient step of the functional API."""
    shape, X, Y, params = _problem(backend, dtype, shape_id)

    def step():
        AL, caches = fastdnn.model_forward(X, params, shape.hidden, OUTPUT, backend)
        grads = fastdnn.model_backward(AL, Y, caches, shape.hidden, OUTPUT, backend)
        return fastdnn.update_parameters(params, grads, 0.01, backend)

    step()  # compile
    label(backend, "step", shape_id, dtype)
    new = benchmark(step)
    assert new["W1"].dtype == params["W1"].dtype
