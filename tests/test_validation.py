"""Bad input is refused before any work, with the argument, the expected and the actual."""

import numpy as np
import pytest

import fastdnn

P = fastdnn.initialize_parameters([3, 2, 1], seed=0)


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (
            np.ones((4, 3)),
            ValueError,
            r"X has 4 rows but layer_dims\[0\] is 3.*did you pass X\.T\?",
        ),
        (
            np.ones((5, 2)),
            ValueError,
            r"X has 5 rows but layer_dims\[0\] is 3; X must be \(n_x, m\)",
        ),
        (np.ones(3), ValueError, r"X must be 2-D; got 1-D with shape \(3,\)"),
        (np.ones((3, 0)), ValueError, r"X must not be empty; got shape \(3, 0\)"),
        (
            np.array([[1.0], [np.nan], [0.0]]),
            ValueError,
            r"X must be finite; found nan at index \(1, 0\)",
        ),
        (np.array([[1.0], [np.inf], [0.0]]), ValueError, r"X must be finite; found inf"),
        (np.array([["a"], ["b"], ["c"]]), TypeError, r"X must hold real numbers .* got dtype <U1"),
        (np.array([[1], [2], [None]], dtype=object), TypeError, r"got dtype object - convert it"),
        (np.ones((3, 2), dtype=complex), TypeError, r"X must hold real numbers"),
    ],
)
def test_bad_X(X, error, match):
    with pytest.raises(error, match=match):
        fastdnn.model_forward(X, P)


def test_integer_and_bool_inputs_convert():
    AL_int, _ = fastdnn.model_forward(np.ones((3, 2), dtype=np.int64), P)
    AL_bool, _ = fastdnn.model_forward(np.ones((3, 2), dtype=bool), P)
    assert AL_int.dtype == AL_bool.dtype == np.float64
    assert np.array_equal(AL_int, AL_bool)


@pytest.mark.parametrize(
    ("Y", "match"),
    [
        (np.array([[0, 1, 2]]), r"Y must hold binary labels 0 or 1 for loss 'bce'.*\[2\.0\]"),
        (np.array([[0, 1]]), r"Y must have shape \(n_y, m\) = \(1, 3\).*got \(1, 2\)"),
        (np.array([[0], [1], [1]]), r"did you pass Y\.T\?"),
        (np.array([[0, np.nan, 1]]), r"Y must be finite"),
    ],
)
def test_bad_Y(Y, match):
    AL, caches = fastdnn.model_forward(np.ones((3, 3)), P)
    with pytest.raises(ValueError, match=match):
        fastdnn.model_backward(AL, Y, caches)


def test_one_dimensional_Y_is_a_row():
    AL, caches = fastdnn.model_forward(np.ones((3, 3)), P)
    g1 = fastdnn.model_backward(AL, np.array([0, 1, 1]), caches)
    g2 = fastdnn.model_backward(AL, np.array([[0, 1, 1]]), caches)
    assert all(np.array_equal(g1[k], g2[k]) for k in g1)


@pytest.mark.parametrize(
    ("dims", "error", "match"),
    [
        ([3], ValueError, r"at least the input and output sizes"),
        ([3, 0, 1], ValueError, r"layer_dims\[1\] must be a positive integer; got 0"),
        ([3, -2, 1], ValueError, r"layer_dims\[1\] must be a positive integer; got -2"),
        ([3, 2.5, 1], TypeError, r"layer_dims\[1\] must be a positive integer; got 2.5"),
        ([3, True, 1], TypeError, r"layer_dims\[1\] must be a positive integer; got True"),
        ("341", TypeError, r"layer_dims must be a sequence of positive integers"),
    ],
)
def test_bad_layer_dims(dims, error, match):
    with pytest.raises(error, match=match):
        fastdnn.initialize_parameters(dims)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"init": "glorot"},
            r"init must be one of \['course', 'he', 'xavier', 'zeros'\]; got 'glorot'",
        ),
        ({"dtype": "float16"}, r"dtype must be 'float64' or 'float32'; got 'float16'"),
    ],
)
def test_bad_init_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fastdnn.initialize_parameters([2, 1], **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"hidden": "gelu"},
            r"hidden must be one of \['leaky_relu', 'linear', 'relu', 'sigmoid', 'tanh'\]",
        ),
        ({"output": "softmax"}, r"output must be one of \['linear', 'sigmoid'\]; got 'softmax'"),
        ({"backend": "cuda"}, r"backend must be one of \['jit', 'naive', 'numpy'\]; got 'cuda'"),
    ],
)
def test_bad_names_list_the_valid_ones(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fastdnn.model_forward(np.ones((3, 1)), P, **kwargs)


def test_bad_params():
    with pytest.raises(ValueError, match=r"params is missing \['b2'\]"):
        fastdnn.model_forward(
            np.ones((3, 1)), {"W1": np.ones((2, 3)), "b1": np.ones((2, 1)), "W2": np.ones((1, 2))}
        )
    with pytest.raises(
        ValueError, match=r"params\['W2'\] has shape \(1, 4\): its 4 columns must equal the 2 rows"
    ):
        fastdnn.model_forward(np.ones((3, 1)), {**P, "W2": np.ones((1, 4))})
    with pytest.raises(
        ValueError, match=r"params\['b1'\] must have shape \(2, 1\) to match W1; got \(3, 1\)"
    ):
        fastdnn.model_forward(np.ones((3, 1)), {**P, "b1": np.ones((3, 1))})
    with pytest.raises(TypeError, match=r"params must be a dict"):
        fastdnn.model_forward(np.ones((3, 1)), [P["W1"]])


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf")])
def test_bad_learning_rate(lr):
    AL, caches = fastdnn.model_forward(np.ones((3, 2)), P)
    grads = fastdnn.model_backward(AL, np.array([[0, 1]]), caches)
    with pytest.raises(ValueError, match=r"learning_rate must be a positive finite number; got"):
        fastdnn.update_parameters(P, grads, lr)
