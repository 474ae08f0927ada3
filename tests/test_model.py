"""The functional API: shapes, dtypes, initializers, a worked example, backends agreeing."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastdnn

from .conftest import tolerance


def test_course_logistic_regression_example_as_a_one_layer_net(backend):
    # The course's week-2 propagate() test case, as a 1-layer net (W1 = w.T, b1 = b).
    # Published: dw = [[0.99845601], [2.39507239]], db = 0.00145557813678,
    # cost = 5.801545319394553 (course notebook "Logistic Regression with a Neural Network
    # mindset", exercise propagate).
    params = {"W1": np.array([[1.0, 2.0]]), "b1": np.array([[2.0]])}
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    Y = np.array([[1, 0, 1]])
    AL, caches = fastdnn.model_forward(X, params, output="sigmoid", backend=backend)
    grads = fastdnn.model_backward(AL, Y, caches, backend=backend)
    assert_allclose(grads["dW1"].T, [[0.99845601], [2.39507239]], rtol=1e-8)
    assert_allclose(grads["db1"], [[0.00145557813678]], rtol=1e-10)
    assert_allclose(fastdnn.compute_cost(AL, Y), 5.801545319394553, rtol=1e-14)


def test_compute_cost_worked_by_hand():
    # -(log 0.8 + log 0.9 + log(1 - 0.4)) / 3 = (0.2231436 + 0.1053605 + 0.5108256) / 3
    assert_allclose(
        fastdnn.compute_cost(np.array([[0.8, 0.9, 0.4]]), np.array([[1, 1, 0]])),
        (0.22314355131420976 + 0.10536051565782628 + 0.5108256237659907) / 3,
        rtol=1e-14,
    )
    # mse is halved: (1/2m) * sum of squares = (1 + 4) / (2 * 2)
    assert fastdnn.compute_cost(np.array([[1.0, 3.0]]), np.array([[0.0, 1.0]]), "mse") == 1.25


def test_compute_cost_at_outputs_exactly_zero_and_one():
    # Right and certain: cost 0 (0 log 0 = 0), not NaN as the course's formula gives.
    assert fastdnn.compute_cost(np.array([[0.0, 1.0]]), np.array([[0, 1]])) == 0.0
    # Wrong and certain: the cost is infinite, and says so.
    assert fastdnn.compute_cost(np.array([[0.0]]), np.array([[1]])) == np.inf


@pytest.mark.parametrize("init", ["course", "xavier", "he"])
def test_initializers_scale_and_seed(init):
    dims = [400, 300, 1]
    p = fastdnn.initialize_parameters(dims, init=init, seed=1)
    expected = {"course": 0.01, "xavier": 1 / np.sqrt(400), "he": np.sqrt(2 / 400)}[init]
    # 120000 standard-normal draws: the sample std is within 1% of the scale.
    assert_allclose(p["W1"].std(), expected, rtol=0.01)
    assert not p["b1"].any()
    again = fastdnn.initialize_parameters(dims, init=init, seed=1)
    assert all(np.array_equal(p[k], again[k]) for k in p)
    p32 = fastdnn.initialize_parameters(dims, init=init, seed=1, dtype="float32")
    assert p32["W1"].dtype == np.float32
    assert np.array_equal(p32["W1"], p["W1"].astype(np.float32))


def test_zeros_init_warns_only_with_hidden_layers():
    with pytest.warns(UserWarning, match="symmetry is never broken"):
        fastdnn.initialize_parameters([3, 2, 1], init="zeros")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = fastdnn.initialize_parameters([3, 1], init="zeros")  # logistic regression
    assert not p["W1"].any()


def test_float32_in_float32_out(backend):
    p = fastdnn.initialize_parameters([4, 3, 1], seed=0, dtype="float32")
    X = np.random.default_rng(0).random((4, 5))  # float64 input: converted once, at the edge
    Y = np.array([[0, 1, 1, 0, 1]])
    AL, caches = fastdnn.model_forward(X, p, backend=backend)
    assert AL.dtype == np.float32 and all(c.A.dtype == np.float32 for c in caches)
    grads = fastdnn.model_backward(AL, Y, caches, backend=backend)
    assert all(g.dtype == np.float32 for g in grads.values())
    new = fastdnn.update_parameters(p, grads, 0.1, backend=backend)
    assert all(w.dtype == np.float32 for w in new.values())
    assert fastdnn.predict(X, p, backend=backend).dtype == np.float32


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hidden", ["relu", "tanh", "leaky_relu"])
def test_two_training_steps_agree_on_all_backends(hidden, dtype):
    rng = np.random.default_rng(5)
    X = rng.random((6, 11))
    Y = (rng.random((1, 11)) < 0.5).astype(float)
    results = {}
    for backend in fastdnn.BACKENDS:
        p = fastdnn.initialize_parameters([6, 5, 3, 1], seed=2, dtype=dtype)
        for _ in range(2):
            AL, caches = fastdnn.model_forward(X, p, hidden, backend=backend)
            grads = fastdnn.model_backward(AL, Y, caches, hidden, backend=backend)
            p = fastdnn.update_parameters(p, grads, 0.5, backend=backend)
        results[backend] = p
    rtol, atol = tolerance(dtype)
    for backend in ("numpy", "jit"):
        for key in results["naive"]:
            assert_allclose(
                results[backend][key],
                results["naive"][key],
                rtol=rtol,
                atol=atol,
                err_msg=f"{backend} {key} {hidden} {dtype}",
            )


def test_nothing_the_caller_owns_is_modified(backend):
    p = fastdnn.initialize_parameters([3, 2, 1], seed=0)
    before = {k: v.copy() for k, v in p.items()}
    X = np.asfortranarray(np.random.default_rng(0).random((3, 4)))  # Fortran order works
    X.flags.writeable = False  # and so does read-only
    AL, caches = fastdnn.model_forward(X, p, backend=backend)
    grads = fastdnn.model_backward(AL, np.array([[0, 1, 0, 1]]), caches, backend=backend)
    new = fastdnn.update_parameters(p, grads, 1.0, backend=backend)
    assert all(np.array_equal(p[k], before[k]) for k in p)
    assert not np.array_equal(new["W1"], p["W1"])


def test_predict_labels_and_regression_output(backend):
    params = {"W1": np.array([[1.0, -1.0]]), "b1": np.array([[0.0]])}
    X = np.array([[2.0, 0.0, 1.0], [0.0, 2.0, 1.0]])  # z = 2, -2, 0
    assert_allclose(fastdnn.predict(X, params, backend=backend), [[1.0, 0.0, 0.0]])
    assert_allclose(
        fastdnn.predict(X, params, output="linear", backend=backend), [[2.0, -2.0, 0.0]]
    )


@pytest.mark.parametrize("threshold", [float("nan"), 0.0, 1.0, 2, "a", None])
def test_predict_refuses_a_threshold_outside_0_1(threshold):
    params = {"W1": np.array([[1.0, -1.0]]), "b1": np.array([[0.0]])}
    X = np.ones((2, 3))
    with pytest.raises((ValueError, TypeError), match="threshold must be a number in"):
        fastdnn.predict(X, params, threshold=threshold)
    with pytest.raises((ValueError, TypeError), match="threshold must be a number in"):
        fastdnn.DNN.from_params(params).predict(X, threshold=threshold)


def test_softmax_needs_two_output_units():
    with pytest.raises(ValueError, match="output='softmax' needs at least 2 output units"):
        fastdnn.DNN([3, 4, 1], output="softmax")
    net = fastdnn.DNN([3, 4, 1])
    with pytest.raises(ValueError, match="needs at least 2 output units"):
        net.output = "softmax"
    assert net.output == "sigmoid"
    # the functional API too: its gradients were all zero, silently
    params, X = fastdnn.initialize_parameters([3, 4, 1], seed=0), np.ones((3, 5))
    with pytest.raises(ValueError, match=r"softmax' needs at least 2 output units; params"):
        fastdnn.model_forward(X, params, output="softmax")
    AL, caches = fastdnn.model_forward(X, params)
    with pytest.raises(ValueError, match="needs at least 2 output units; the last cache's"):
        fastdnn.model_backward(AL, np.ones((1, 5)), list(caches), output="softmax")
    with pytest.raises(ValueError, match=r"loss='cce' needs AL with a row per class"):
        fastdnn.compute_cost(np.ones((1, 5)), np.zeros(5, dtype=int), "cce")


def test_compute_cost_of_other_float_widths_is_computed_in_float64():
    # longdouble reached scipy's xlogy, which has no loop for it (a raw TypeError)
    for dtype in (np.longdouble, np.float16):
        cost = fastdnn.compute_cost(np.array([[0.5, 0.25]], dtype=dtype), np.array([[1, 0]]))
        assert_allclose(cost, (np.log(2) - np.log(0.75)) / 2, rtol=1e-3)


@pytest.mark.parametrize("backend", ["naive", "numpy", "jit"])
def test_model_backward_refuses_activations_the_caches_were_not_made_with(backend):
    """A forgotten hidden="tanh" gave relu's gradients of a tanh net: dW1 off by 67%."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(2, 30)), (rng.random((1, 30)) > 0.5).astype(float)
    params = fastdnn.initialize_parameters([2, 4, 1], seed=0)
    AL, caches = fastdnn.model_forward(X, params, hidden="tanh", backend=backend)
    for given, made in [({}, "hidden='tanh', output='sigmoid'"),
                        ({"hidden": "tanh", "output": "linear"}, "hidden='tanh'")]:  # fmt: skip
        with pytest.raises(ValueError, match=f"made by model_forward with {made}"):
            fastdnn.model_backward(AL, Y, caches, backend=backend, **given)
    AL, caches = fastdnn.model_forward(X, params, hidden="leaky_relu", slope=0.2)
    with pytest.raises(ValueError, match=r"slope=0.2, but model_backward got .*slope=0.01"):
        fastdnn.model_backward(AL, Y, caches, hidden="leaky_relu", backend=backend)
    grads = fastdnn.model_backward(AL, Y, caches, "leaky_relu", slope=0.2, backend=backend)
    assert sorted(grads) == ["dW1", "dW2", "db1", "db2"]


def test_predict_gives_class_indices_for_softmax_as_the_network_does(backend):
    # Three classes, each the favourite of one example: the columns' argmax is 2, 0, 1.
    params = {"W1": np.eye(3), "b1": np.zeros((3, 1))}
    X = np.array([[0.0, 3.0, 1.0], [1.0, 0.0, 4.0], [2.0, 1.0, 0.0]])
    pred = fastdnn.predict(X, params, output="softmax", backend=backend)
    assert pred.dtype == np.int64 and pred.tolist() == [[2, 0, 1]]
    net = fastdnn.DNN.from_params(params, output="softmax", backend=backend)
    assert np.array_equal(net.predict(X), pred)


def test_one_example_and_width_one_layers(backend):
    p = fastdnn.initialize_parameters([1, 1, 1, 1], seed=0)
    AL, caches = fastdnn.model_forward(np.array([[0.5]]), p, backend=backend)
    grads = fastdnn.model_backward(AL, np.array([[1]]), caches, backend=backend)
    assert AL.shape == (1, 1) and all(np.isfinite(g).all() for g in grads.values())


def test_the_courses_predict_argument_order_is_named():
    """predict(X, y, parameters), the course's order, blamed hidden for holding the params."""
    X, Y = np.ones((2, 4)), np.ones((1, 4))
    params = fastdnn.initialize_parameters([2, 3, 1], seed=0)
    for function in (fastdnn.predict, fastdnn.model_forward):
        name = function.__name__
        message = rf"{name} takes \(X, params, hidden, ...\): it got a ndarray where params"
        with pytest.raises(TypeError, match=message + rf".*call {name}\(X, parameters\)"):
            function(X, Y, params)


def test_the_courses_logistic_regression_parameters_move_in():
    """w is a column (n_x, 1) and b a number in the course's week 2: the error blamed b1."""
    w, b = np.arange(4.0).reshape(4, 1), 0.5
    message = r"b1'\] must have shape \(4, 1\) to match W1 of shape \(4, 1\); got \(1, 1\)"
    with pytest.raises(ValueError, match=message + r" \(is W1 transposed\?.*W1 = w.T, b1 = b"):
        fastdnn.DNN.from_params({"W1": w, "b1": np.array([[b]])})
    net = fastdnn.DNN.from_params({"W1": w.T, "b1": b})  # a number for one unit, as (n,) is
    X = np.random.default_rng(0).normal(size=(4, 6))
    assert_allclose(net.predict_proba(X), 1 / (1 + np.exp(-(w.T @ X + b))), rtol=1e-14)
    with pytest.raises(ValueError, match=r"b1'\] must have shape \(3, 1\) to match W1"):
        fastdnn.DNN.from_params({"W1": np.ones((3, 2)), "b1": 0.5})  # a number for 3 units
