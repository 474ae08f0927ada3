"""The jitted loop's private helpers against the naive twin, on random shapes.

The public kernels are compared in ``test_kernels_agree.py``; the training loop is built from
the underscored helpers of :mod:`fastdnn.kernels.jit` and :mod:`fastdnn.steppers._jit_loop`,
so each of those is checked here on its own, not only end to end.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import fastdnn
from fastdnn import DNN
from fastdnn._types import Act
from fastdnn.kernels import _jit_entries, jit, naive
from fastdnn.steppers import Workspace
from fastdnn.steppers import _jit_loop as loop
from fastdnn.steppers.jit import JitStepper

from .conftest import tolerance
from .strategies import activations, random_array, seeds, small_dim, small_m

dtypes = st.sampled_from([np.float64, np.float32])


def naive_forward(Z, b, act, slope):
    """``g(Z + b)`` and ``Z + b`` with the naive kernels."""
    Zb = (Z + b).astype(Z.dtype)
    A = np.empty_like(Z)
    naive.activation_forward(Zb, int(act), slope, A)
    return Zb, A


@given(n=small_dim, m=small_m, act=activations, dtype=dtypes, seed=seeds)
def test_bias_activation_every_way(n, m, act, dtype, seed):
    rng = np.random.default_rng(seed)
    Z0 = random_array(rng, (n, m), dtype)
    b = random_array(rng, (n, 1), dtype)
    rtol, atol = tolerance(dtype)
    Zb, A_ref = naive_forward(Z0, b, act, 0.05)
    # Two arrays: Z keeps Z + b, A gets g(Z + b).
    Z, A = Z0.copy(), np.empty_like(Z0)
    jit._bias_activation(Z, b, int(act), 0.05, A)
    assert_allclose(Z, Zb, rtol=rtol, atol=atol)
    assert_allclose(A, A_ref, rtol=rtol, atol=atol)
    # In place: only g(Z + b) is kept (the public kernel's helper, and the training loop's
    # entry, called by address).
    output = int(act) if act in (Act.SIGMOID, Act.LINEAR) else int(Act.SOFTMAX)
    fns = _jit_entries.entries(int(act), output, dtype)
    for inplace in (lambda Z: jit._bias_activation(Z, b, int(act), 0.05, Z),
                    lambda Z: _jit_entries.hidden_activation(fns, Z, b, 0.05)):  # fmt: skip
        Z = Z0.copy()
        inplace(Z)
        assert_allclose(Z, A_ref, rtol=rtol, atol=atol)
    # The output layer's entry: sigmoid and linear (softmax is in test_course2.py).
    if act in (Act.SIGMOID, Act.LINEAR):
        Z, A = Z0.copy(), np.empty_like(Z0)
        _jit_entries.output_activation(fns, Z, b, A)
        assert_allclose(Z, Zb, rtol=rtol, atol=atol)
        assert_allclose(A, A_ref, rtol=rtol, atol=atol)


@given(n=small_dim, m=small_m, act=activations, dtype=dtypes, seed=seeds)
def test_activation_mask_and_row_sums(n, m, act, dtype, seed):
    rng = np.random.default_rng(seed)
    dA = random_array(rng, (n, m), dtype)
    A = random_array(rng, (n, m), dtype)
    if act in (Act.SIGMOID, Act.TANH):
        A = (np.abs(A) / 2).astype(dtype)  # a sigmoid or tanh output
    rtol, atol = tolerance(dtype)
    dZ_ref = np.empty_like(A)
    naive.activation_backward(dA, A, int(act), 0.05, dZ_ref)
    db_ref = np.array([[sum(float(x) for x in row) * 0.25] for row in dZ_ref])
    fns = _jit_entries.entries(int(act), int(Act.SIGMOID), dtype)
    # The public kernels' switch, then the training loop's entry.
    for mask in (
        lambda dZ, db: jit._activation_mask(dA, A, int(act), 0.05, dZ, db, 0.25),
        lambda dZ, db: _jit_entries.activation_mask(fns, dA, A, 0.05, dZ, db, 0.25),
    ):
        dZ, db = np.empty_like(A), np.empty((n, 1), dtype)
        mask(dZ, db)
        assert_allclose(dZ, dZ_ref, rtol=rtol, atol=atol)
        assert_allclose(db, db_ref, rtol=rtol, atol=atol)
    db2 = np.empty((n, 1), dtype)
    jit._row_sums(dZ_ref, db2, 0.25)
    assert_allclose(db2, db_ref, rtol=rtol, atol=atol)


@given(n=small_dim, m=small_m, dtype=dtypes, seed=seeds)
def test_output_delta(n, m, dtype, seed):
    rng = np.random.default_rng(seed)
    AL = (np.abs(random_array(rng, (n, m), dtype)) / 2).astype(dtype)
    Y = (rng.random((n, m)) < 0.5).astype(dtype)
    rtol, atol = tolerance(dtype)
    dZ_ref = np.empty_like(AL)
    dA_prev, dW, db_ref = np.empty((0, 0), dtype), np.empty((n, 1), dtype), np.empty((n, 1), dtype)
    naive.output_backward(AL, Y, np.ones((1, m), dtype), np.ones((n, 1), dtype), dZ_ref, dA_prev,
                          dW, db_ref)  # fmt: skip
    dZ, db = np.empty_like(AL), np.empty((n, 1), dtype)
    jit._output_delta(AL, Y, 1.0 / m, dZ, db)  # the loop's pre-scaled delta
    assert_allclose(dZ, dZ_ref / m, rtol=rtol, atol=atol)
    assert_allclose(db, db_ref, rtol=rtol, atol=atol)


@given(k=st.integers(0, 300), seed=seeds)  # past several SIMD blocks and their remainder
def test_sum_is_the_sum_in_float64(k, seed):
    x = np.random.default_rng(seed).uniform(-1, 1, k)
    assert_allclose(jit._sum(x), sum(float(v) for v in x), rtol=1e-13, atol=1e-15)
    x32 = x.astype(np.float32)
    assert_allclose(jit._sum(x32), sum(float(v) for v in x32), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("by_rows", [False, True], ids=["by examples", "by rows"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_t", [False, True], ids=["X (n_x, m)", "X stored (m, n_x)"])
def test_gather_batch_copies_the_chosen_examples(x_t, dtype, by_rows):
    rng = np.random.default_rng(0)
    X, Y = rng.random((5, 11)).astype(dtype), rng.random((2, 11)).astype(dtype)
    ws = Workspace([5, 3, 2], 4, dtype, minibatch=True)
    data = loop.Data(np.ascontiguousarray(X.T) if x_t else X, x_t, Y)
    work = loop.Work(ws.acts, ws.ZL, ws.D, ws.E, ws.Xb, ws.Yb)
    order = rng.permutation(11).astype(np.int64)
    for start, b in ((4, 4), (8, 3)):  # a whole batch, and an epoch's shorter last one
        batch = loop.gather_batch(data, order, start, b, work, by_rows)
        idx = order[start : start + b]
        assert batch.x_t  # always stored (b, n_x)
        np.testing.assert_array_equal(batch.X, X[:, idx].T)
        np.testing.assert_array_equal(batch.Y, Y[:, idx])


@pytest.mark.parametrize("vendor", ["intel", "amd", "other"])
def test_the_gather_order_is_the_one_measured_faster_on_the_cpu(vendor, monkeypatch):
    from fastdnn import _blas
    from fastdnn.steppers import jit as jit_stepper

    monkeypatch.setattr(_blas, "cpu_vendor", lambda: vendor)
    assert jit_stepper.gather_by_rows() == (vendor == "intel")


def test_fits_that_gather_train_to_the_same_bits_in_either_order(monkeypatch):
    """The same values are copied either way: only the time differs."""
    from fastdnn import network
    from fastdnn.steppers import jit as jit_stepper

    monkeypatch.setattr(network, "_examples_contiguous_copy", lambda *a: False)  # gather
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 50))
    Y = (X[:1] > 0).astype(float)
    results = []
    for by_rows in (False, True):
        monkeypatch.setattr(jit_stepper, "gather_by_rows", lambda by_rows=by_rows: by_rows)
        net = DNN([6, 4, 1], seed=1, backend="jit")
        net.fit(X, Y, learning_rate=0.1, num_iterations=7, batch_size=8)
        results.append(net.params)
    for key in results[0]:
        np.testing.assert_array_equal(results[0][key], results[1][key])


@pytest.mark.parametrize("backend", ["naive", "numpy", "jit"])
@pytest.mark.parametrize("dims", [[4, 1], [4, 5, 3, 2]], ids=["logistic", "deep"])
def test_block_gradients_add_up_to_the_full_batch_gradient(backend, dims):
    """The gradient-only entry: blocks with scale 1/m_total sum to the functional gradient."""
    rng = np.random.default_rng(1)
    m = 13
    X = rng.uniform(-1, 1, (dims[0], m))
    Y = (rng.random((dims[-1], m)) < 0.5).astype(float)
    net = DNN(dims, hidden="tanh", backend=backend, seed=2)
    AL, caches = fastdnn.model_forward(X, net.params, "tanh", backend="numpy")
    expected = fastdnn.model_backward(AL, Y, caches, "tanh", backend="numpy")
    stepper = fastdnn.backends.get_stepper(backend)(
        net._spec(), net._theta, net._grad, X, Y, None, Workspace(dims, m, np.float64, False)
    )
    total, cost = np.zeros_like(net._grad), 0.0
    for cols in (slice(0, 5), slice(5, 6), slice(6, 13)):  # uneven blocks
        cost += stepper.gradient(np.ascontiguousarray(X[:, cols]), Y[:, cols], 1.0 / m)
        total += net._grad
    grads = fastdnn._layout.param_views(total, dims, prefix="d")
    for key, value in expected.items():
        assert_allclose(grads[key], value, rtol=1e-12, atol=1e-14, err_msg=key)
    assert_allclose(cost, fastdnn.compute_cost(AL, Y), rtol=1e-12)


def test_forward_is_the_predict_route():
    rng = np.random.default_rng(3)
    X = rng.random((6, 9))
    net = DNN([6, 4, 2], hidden="relu", seed=0)
    AL = np.empty((2, 9))
    JitStepper.forward(net._spec(), net._theta, np.asfortranarray(X), AL)
    expected, _ = fastdnn.model_forward(X, net.params, backend="naive")
    assert_allclose(AL, expected, rtol=1e-12)


@given(size=st.integers(0, 5000), dtype=st.sampled_from([np.float32, np.float64]))
def test_aligned_buffers_start_on_a_cache_line(size, dtype):
    from fastdnn._layout import LINE_BYTES, aligned_empty, aligned_zeros

    for out in (aligned_empty(size, dtype), aligned_zeros(size, dtype)):
        assert out.shape == (size,) and out.dtype == dtype and out.flags.c_contiguous
        assert size == 0 or out.ctypes.data % LINE_BYTES == 0
        out[:] = 1  # writable, all of it
    assert not aligned_zeros(size, dtype).any()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", ["gd", "adam"])
def test_a_fits_buffers_start_on_cache_lines(dtype, optimizer):
    """MKL's small GEMM kernels ran W4's first-layer descend 11% slower on operands 16 bytes
    past a line, where NumPy's large buffers start: the parameters, their gradients, the
    optimizer's state and the work buffers start on one."""
    from fastdnn._layout import LINE_BYTES

    rng = np.random.default_rng(0)
    X = rng.random((30, 200)).astype(dtype)
    Y = (X[:1] > 0.5).astype(dtype)
    net = DNN([30, 16, 8, 1], dtype=dtype, seed=0)
    net.fit(X, Y, 0.01, num_iterations=4, batch_size=32, optimizer=optimizer)
    buffers = {"theta": net._theta, "grad": net._grad, **net._optimizer.arrays()}
    buffers.update({k: getattr(net._workspace, k) for k in ("acts", "ZL", "D", "E", "Xb", "Yb")})
    assert len(buffers) == 8 + (optimizer == "adam") * 2
    for name, a in buffers.items():
        assert a.size == 0 or a.ctypes.data % LINE_BYTES == 0, name
    assert net.params["W1"].ctypes.data % LINE_BYTES == 0


def test_a_loaded_model_has_its_parameters_on_a_cache_line(tmp_path):
    from fastdnn._layout import LINE_BYTES

    for n_x in (5, 6, 7, 9, 300):  # buffers of several sizes: NumPy's land anywhere
        DNN([n_x, 3, 1], seed=0).save(tmp_path / f"m{n_x}.npz")
        loaded = DNN.load(tmp_path / f"m{n_x}.npz")
        assert loaded._theta.ctypes.data % LINE_BYTES == 0
        assert loaded._grad.ctypes.data % LINE_BYTES == 0
