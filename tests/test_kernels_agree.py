"""numpy and jit kernels agree with the naive oracle, on random shapes and values.

Naive is the oracle on small shapes (it is slow); jit is then checked against numpy on larger
ones, where naive would take too long.
"""

import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from fastdnn import backends
from fastdnn._types import Act, Loss
from fastdnn.kernels import KERNEL_NAMES, jit, naive, vectorized

from .conftest import tolerance
from .strategies import activations, random_array, seeds, small_dim, small_m

FAST = {"numpy": vectorized, "jit": jit}
dtypes = st.sampled_from([np.float64, np.float32])


def public_names(module):
    return sorted(
        name
        for name, obj in vars(module).items()
        if callable(obj)
        and not name.startswith("_")
        and getattr(obj, "__module__", "")
        in (
            module.__name__,
            None,
        )
    )


def test_every_backend_exports_the_same_kernels_with_the_same_signatures():
    expected = sorted(KERNEL_NAMES)
    for module in (naive, vectorized, jit):
        assert public_names(module) == expected, module.__name__
        for name in KERNEL_NAMES:
            ref = inspect.signature(getattr(vectorized, name))
            fn = getattr(module, name)
            fn = getattr(fn, "py_func", fn)
            assert inspect.signature(fn) == ref, f"{module.__name__}.{name}"


def test_backend_registry_and_unknown_name():
    assert set(backends.BACKENDS) == {"naive", "numpy", "jit"}
    with pytest.raises(ValueError, match=r"backend must be one of \['jit', 'naive', 'numpy'\]"):
        backends.get_backend("cuda")


def run(module, name, *args):
    getattr(module, name)(*args)


def compare(out_fast, out_ref, dtype, what):
    rtol, atol = tolerance(dtype)
    for fast, ref in zip(out_fast, out_ref, strict=True):
        assert fast.dtype == ref.dtype == np.dtype(dtype), what
        assert_allclose(fast, ref, rtol=rtol, atol=atol, err_msg=what)


@given(n=small_dim, n_prev=small_dim, m=small_m, act=activations, dtype=dtypes, seed=seeds)
def test_forward_kernels_agree_with_naive(n, n_prev, m, act, dtype, seed):
    rng = np.random.default_rng(seed)
    A_prev = random_array(rng, (n_prev, m), dtype)
    W = random_array(rng, (n, n_prev), dtype)
    b = random_array(rng, (n, 1), dtype)
    slope = 0.05

    def outputs(module):
        Z1 = np.empty((n, m), dtype)
        module.linear_forward(A_prev, W, b, Z1)
        A1 = np.empty((n, m), dtype)
        module.activation_forward(Z1, int(act), slope, A1)
        Z2, A2 = np.empty((n, m), dtype), np.empty((n, m), dtype)
        module.linear_activation_forward(A_prev, W, b, int(act), slope, Z2, A2)
        Z3 = np.empty((n, m), dtype)  # A_out aliasing Z_out: keep A only
        module.linear_activation_forward(A_prev, W, b, int(act), slope, Z3, Z3)
        return Z1, A1, Z2, A2, Z3

    ref = outputs(naive)
    assert_allclose(ref[4], ref[3], rtol=0, atol=0)  # aliasing gives A
    for name, module in FAST.items():
        compare(outputs(module), ref, dtype, f"forward {name} {act.name} {(n, n_prev, m)}")


@given(n=small_dim, n_prev=small_dim, m=small_m, act=activations, dtype=dtypes, seed=seeds)
def test_backward_kernels_agree_with_naive(n, n_prev, m, act, dtype, seed):
    rng = np.random.default_rng(seed)
    dA = random_array(rng, (n, m), dtype)
    A = random_array(rng, (n, m), dtype)
    if act == Act.SIGMOID:
        A = np.abs(A) / 2  # an output of sigmoid is in (0, 1)
    if act == Act.TANH:
        A = A / 2
    A_prev = random_array(rng, (n_prev, m), dtype)
    W = random_array(rng, (n, n_prev), dtype)
    Y = (rng.random((n, m)) < 0.5).astype(dtype)
    slope = 0.05

    def outputs(module):
        dZ1 = np.empty((n, m), dtype)
        module.activation_backward(dA, A, int(act), slope, dZ1)
        dZ2, dA_prev, dW, db = (
            np.empty((n, m), dtype),
            np.empty((n_prev, m), dtype),
            np.empty((n, n_prev), dtype),
            np.empty((n, 1), dtype),
        )
        module.linear_activation_backward(dA, A, A_prev, W, int(act), slope, dZ2, dA_prev, dW, db)
        dW2, db2 = np.empty((n, n_prev), dtype), np.empty((n, 1), dtype)
        skip = np.empty((0, 0), dtype)  # first layer: no dA_prev
        module.linear_backward(dZ1, A_prev, W, skip, dW2, db2)
        dZ3, dA_prev3, dW3, db3 = (
            np.empty((n, m), dtype),
            np.empty((n_prev, m), dtype),
            np.empty((n, n_prev), dtype),
            np.empty((n, 1), dtype),
        )
        module.output_backward(A, Y, A_prev, W, dZ3, dA_prev3, dW3, db3)
        return dZ1, dZ2, dA_prev, dW, db, dW2, db2, dZ3, dA_prev3, dW3, db3

    ref = outputs(naive)
    for name, module in FAST.items():
        compare(outputs(module), ref, dtype, f"backward {name} {act.name} {(n, n_prev, m)}")


@given(n=small_dim, m=small_m, dtype=dtypes, seed=seeds, loss=st.sampled_from(list(Loss)))
def test_cost_and_update_agree_with_naive(n, m, dtype, seed, loss):
    rng = np.random.default_rng(seed)
    Z = random_array(rng, (n, m), dtype, scale=30.0)
    Y = (rng.random((n, m)) < 0.5).astype(dtype)
    ref = naive.cost_from_logits(Z, Y, int(loss))
    for name, module in FAST.items():
        got = module.cost_from_logits(Z, Y, int(loss))
        assert_allclose(got, ref, rtol=1e-12, err_msg=f"cost {name} {loss.name}")

    theta = random_array(rng, (n * m,), dtype)
    grad = random_array(rng, (n * m,), dtype)
    expected = theta.copy()
    naive.update(expected, grad, 0.3)
    for name, module in FAST.items():
        got = theta.copy()
        module.update(got, grad, 0.3)
        assert got.dtype == np.dtype(dtype)
        assert_allclose(got, expected, rtol=tolerance(dtype)[0], err_msg=f"update {name}")


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("act", [a for a in Act if a != Act.SOFTMAX], ids=lambda a: a.name.lower())
def test_jit_agrees_with_numpy_on_larger_shapes(seed, act):
    """Shapes too big for the naive oracle: sums of hundreds of terms, BLAS blocking."""
    rng = np.random.default_rng(seed)
    n, n_prev, m = 37, 300, 257
    A_prev = random_array(rng, (n_prev, m), np.float64)
    W = random_array(rng, (n, n_prev), np.float64, scale=0.1)
    b = random_array(rng, (n, 1), np.float64)
    out = {}
    for name, module in FAST.items():
        Z, A = np.empty((n, m)), np.empty((n, m))
        module.linear_activation_forward(A_prev, W, b, int(act), 0.01, Z, A)
        dZ, dA_prev, dW, db = (
            np.empty((n, m)),
            np.empty((n_prev, m)),
            np.empty((n, n_prev)),
            np.empty((n, 1)),
        )
        module.linear_activation_backward(A, A, A_prev, W, int(act), 0.01, dZ, dA_prev, dW, db)
        out[name] = (Z, A, dZ, dA_prev, dW, db)
    for fast, ref in zip(out["jit"], out["numpy"], strict=True):
        # Sums of 300 terms in different orders: relative error ~ 300 * eps on cancelling sums.
        assert_allclose(fast, ref, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("module", [naive, vectorized, jit], ids=["naive", "numpy", "jit"])
def test_sigmoid_and_cost_are_finite_at_extreme_logits(module):
    Z = np.array([[-1000.0, -700.0, -30.0, 0.0, 30.0, 700.0, 1000.0]])
    A = np.empty_like(Z)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        module.activation_forward(Z, int(Act.SIGMOID), 0.0, A)
    assert np.all(np.isfinite(A))
    assert A[0, 0] == 0.0 and A[0, -1] == 1.0 and A[0, 3] == 0.5
    # sigmoid(-30) = e^-30 / (1 + e^-30), not rounded to 0
    assert_allclose(A[0, 2], np.exp(-30) / (1 + np.exp(-30)), rtol=1e-15)
    Y = np.array([[0, 1, 0, 1, 1, 0, 1]], dtype=float)
    cost = module.cost_from_logits(Z, Y, int(Loss.BCE))
    # Entries: 0, 700, ~0, log 2, ~0, 700, 0 (the confidently wrong ones cost |z|).
    expected = (700 + np.log(2) + 700 + 2 * np.log1p(np.exp(-30))) / 7
    assert_allclose(cost, expected, rtol=1e-12)
