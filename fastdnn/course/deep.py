"""Week 4: the deep network step by step (W4A1) and its cat application (W4A2).

Mirrors "Building your Deep Neural Network: Step by Step" and "Deep Neural Network -
Application": the course's L-layer network, [LINEAR -> RELU] * (L-1) -> LINEAR -> SIGMOID, with
the course's names, arguments, defaults, return values and caches (a layer's cache is
``((A_prev, W, b), Z)``, i.e. ``(linear_cache, activation_cache)``). The step-by-step functions
(:func:`initialize_parameters` ... :func:`update_parameters`), the application's models
(:func:`two_layer_model`, :func:`L_layer_model`) and the helpers the course imports from
``dnn_utils.py`` / ``dnn_app_utils_v3.py`` (:func:`sigmoid`, :func:`relu`,
:func:`sigmoid_backward`, :func:`relu_backward`, :func:`predict`) are all here.

Backends
--------
The functions that do matrix products take a keyword-only ``backend``:

``"numpy"`` (default)
    The course's own NumPy expressions (``np.dot(W, A) + b``, ``1./m * np.dot(dZ, A_prev.T)``,
    ...), so every number is bitwise the course's.
``"jit"``, ``"naive"``
    The matrix parts (``Z = W A_prev + b``; ``dW``, ``db``, ``dA_prev``) run on fastdnn's
    kernels, :func:`fastdnn.backends.get_backend`; results agree with ``"numpy"`` to rounding.
    (``"naive"`` is pure Python loops: for small checks only.)

Everything else stays in the course's formulas on every backend, since the course's numbers
depend on them: the activations, ``relu_backward`` (``dZ[Z <= 0] = 0``), ``sigmoid_backward``
(recomputed from ``Z``), ``dAL = -(Y/AL - (1-Y)/(1-AL))``, the cost with ``np.log``, the update
and the seeding.

Seeding and the two ``initialize_parameters_deep``
--------------------------------------------------
The course has two: the step-by-step one (``np.random.seed(3)``, ``randn * 0.01``), which is
:func:`initialize_parameters_deep` here, and the application's ``dnn_app_utils_v3`` one
(``np.random.seed(1)``, ``randn / sqrt(layer_dims[l-1])``), which is
:func:`initialize_parameters_deep_app`: :func:`L_layer_model` uses it, as the application does,
and it gives the published cost of 0.771749 at iteration 0. ``DNN.from_params`` trains
fastdnn's network from either.
:func:`initialize_parameters` (seed 1, ``randn * 0.01``) is the same in both assignments.

Where fastdnn differs from the course: the application's models print the last iteration's cost
only when ``print_cost`` is true (the course's ``if print_cost and i % 100 == 0 or i ==
num_iterations - 1`` prints it even with ``print_cost=False``). No number differs.
"""

# ruff: noqa: NPY002 - the course's legacy global RNG (np.random.seed/randn) is the contract.
from __future__ import annotations

import numpy as np

from .. import _validation as v
from ..backends import get_backend

__all__ = [
    "L_layer_model",
    "L_model_backward",
    "L_model_forward",
    "compute_cost",
    "initialize_parameters",
    "initialize_parameters_deep",
    "initialize_parameters_deep_app",
    "linear_activation_backward",
    "linear_activation_forward",
    "linear_backward",
    "linear_forward",
    "predict",
    "relu",
    "relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "two_layer_model",
    "update_parameters",
]


# --- the course's elementwise helpers (dnn_utils.py / dnn_app_utils_v3.py) --------------------


def sigmoid(Z):
    """Sigmoid activation ``1 / (1 + exp(-Z))``.

    Parameters
    ----------
    Z : ndarray of any shape

    Returns
    -------
    A : ndarray of the shape of ``Z``
    cache : ndarray
        ``Z`` itself (the activation cache).
    """
    return 1 / (1 + np.exp(-Z)), Z


def relu(Z):
    """ReLU activation ``max(0, Z)``.

    Parameters
    ----------
    Z : ndarray of any shape

    Returns
    -------
    A : ndarray of the shape of ``Z``
    cache : ndarray
        ``Z`` itself (the activation cache).
    """
    return np.maximum(0, Z), Z


def relu_backward(dA, cache):
    """Backward through ReLU: ``dZ = dA`` where ``Z > 0``, else 0.

    Parameters
    ----------
    dA : ndarray of shape (n, m)
        Gradient with respect to the activation.
    cache : ndarray of shape (n, m)
        ``Z`` from the forward pass.

    Returns
    -------
    dZ : ndarray of shape (n, m)
    """
    dZ = np.array(dA, copy=True)
    dZ[cache <= 0] = 0
    return dZ


def sigmoid_backward(dA, cache):
    """Backward through the sigmoid: ``dZ = dA * s * (1 - s)`` with ``s = sigmoid(Z)``.

    Parameters
    ----------
    dA : ndarray of shape (n, m)
        Gradient with respect to the activation.
    cache : ndarray of shape (n, m)
        ``Z`` from the forward pass.

    Returns
    -------
    dZ : ndarray of shape (n, m)
    """
    s = 1 / (1 + np.exp(-cache))
    return dA * s * (1 - s)


_ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_backward), "relu": (relu, relu_backward)}


def _activation(name):
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"activation must be 'sigmoid' or 'relu'; got {name!r}") from None


# --- kernel dispatch --------------------------------------------------------------------------


def _kernel_arrays(**arrays):
    """``arrays`` checked for a kernel: 2-D, real, C-contiguous, one dtype.

    The dtype is float32 when every float array is float32, else float64; int and bool
    convert (:func:`fastdnn._validation.common_dtype`). Kernels index without bounds checks, so
    nothing unchecked may reach them; NaN and inf pass, as they do through the course's NumPy
    expressions.
    """
    dtype = v.common_dtype(arrays.values())
    checked = [v.as_float_array(a, name, dtype, finite=False) for name, a in arrays.items()]
    return checked, dtype


def _kernel_input(X, backend):
    """``X`` converted once for the kernels (same values), so no iteration copies it again."""
    if backend == "numpy":
        return X
    return _kernel_arrays(X=X)[0][0]


def _linear(A, W, b, backend):
    """``Z = W A + b``: the course's expression on "numpy", a kernel otherwise."""
    kernels = get_backend(v.check_backend(backend))
    if backend == "numpy":
        return np.dot(W, A) + b
    (A, W), dtype = _kernel_arrays(A=A, W=W)
    n, n_prev = W.shape
    if A.shape[0] != n_prev:
        raise ValueError(
            f"A must have {n_prev} rows, the columns of W (W is (n, n_prev), A is (n_prev, m)); "
            f"got A of shape {A.shape} and W of shape {W.shape}"
        )
    b = np.asarray(b)
    if b.dtype.kind not in "biuf":
        raise TypeError(f"b must hold real numbers; got dtype {b.dtype}")
    try:  # the course's b is (n, 1); anything NumPy broadcasts to it is accepted, as in np.dot
        b = np.ascontiguousarray(np.broadcast_to(b, (n, 1)), dtype=dtype)
    except ValueError:
        raise ValueError(f"b must have shape (n, 1) = ({n}, 1) to match W; got {b.shape}") from None
    Z = np.empty((n, A.shape[1]), dtype=dtype)
    kernels.linear_forward(A, W, b, Z)
    return Z


def _linear_grads(dZ, A_prev, W, backend):
    """``(dA_prev, dW, db)``: the course's expressions on "numpy", a kernel otherwise."""
    kernels = get_backend(v.check_backend(backend))
    if backend == "numpy":
        m = A_prev.shape[1]
        dW = 1.0 / m * np.dot(dZ, A_prev.T)
        db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
        return np.dot(W.T, dZ), dW, db
    (dZ, A_prev, W), dtype = _kernel_arrays(dZ=dZ, A_prev=A_prev, W=W)
    if dZ.shape[1] != A_prev.shape[1]:
        raise ValueError(
            f"dZ and A_prev must have the same number of columns m; got dZ of shape "
            f"{dZ.shape} and A_prev of shape {A_prev.shape}"
        )
    if W.shape != (dZ.shape[0], A_prev.shape[0]):
        raise ValueError(
            f"W must have shape (n, n_prev) = ({dZ.shape[0]}, {A_prev.shape[0]}), the rows of dZ "
            f"and of A_prev; got {W.shape}"
        )
    dA_prev = np.empty(A_prev.shape, dtype=dtype)
    dW = np.empty(W.shape, dtype=dtype)
    db = np.empty((W.shape[0], 1), dtype=dtype)
    kernels.linear_backward(dZ, A_prev, W, dA_prev, dW, db)
    return dA_prev, dW, db


# --- W4A1: step by step -----------------------------------------------------------------------


def initialize_parameters(n_x, n_h, n_y):
    """Parameters of the 2-layer network: ``randn * 0.01`` weights after ``np.random.seed(1)``.

    Parameters
    ----------
    n_x, n_h, n_y : int
        Sizes of the input, hidden and output layers.

    Returns
    -------
    parameters : dict
        ``"W1"`` (n_h, n_x), ``"b1"`` (n_h, 1) zeros, ``"W2"`` (n_y, n_h), ``"b2"`` (n_y, 1) zeros.
    """
    np.random.seed(1)
    W1 = np.random.randn(n_h, n_x) * 0.01
    W2 = np.random.randn(n_y, n_h) * 0.01
    return {"W1": W1, "b1": np.zeros((n_h, 1)), "W2": W2, "b2": np.zeros((n_y, 1))}


def initialize_parameters_deep(layer_dims):
    """Parameters of an L-layer network, the step-by-step version (W4A1).

    ``np.random.seed(3)``, then ``W[l] = randn(layer_dims[l], layer_dims[l-1]) * 0.01`` and zero
    biases. (:func:`L_layer_model` uses the application's version instead: see the module.)

    Parameters
    ----------
    layer_dims : sequence of int
        Sizes of the layers, input first.

    Returns
    -------
    parameters : dict
        ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"``; ``W[l]`` is (layer_dims[l], layer_dims[l-1])
        and ``b[l]`` is (layer_dims[l], 1).
    """
    np.random.seed(3)
    return _deep_parameters(layer_dims, lambda W, n_prev: W * 0.01)


def initialize_parameters_deep_app(layer_dims):
    """Parameters of an L-layer network, the application's version (W4A2).

    The ``initialize_parameters_deep`` of the application's ``dnn_app_utils_v3.py``, which
    :func:`L_layer_model` uses: ``np.random.seed(1)``, then ``W[l] = randn(layer_dims[l],
    layer_dims[l-1]) / sqrt(layer_dims[l-1])`` and zero biases. It gives the course's published
    run on the cat data (cost 0.771749 at iteration 0 for ``[12288, 20, 7, 5, 1]``).

    Parameters
    ----------
    layer_dims : sequence of int
        Sizes of the layers, input first.

    Returns
    -------
    parameters : dict
        ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"``; ``W[l]`` is (layer_dims[l], layer_dims[l-1])
        and ``b[l]`` is (layer_dims[l], 1), float64.

    See Also
    --------
    initialize_parameters_deep : The step-by-step version (seed 3, ``randn * 0.01``).
    fastdnn.DNN.from_params : Train fastdnn's network from these exact weights.

    Examples
    --------
    Start :class:`fastdnn.DNN` from the course's initial weights, as the application does:

    >>> from fastdnn import DNN
    >>> start = initialize_parameters_deep_app([12288, 20, 7, 5, 1])
    >>> net = DNN.from_params(start, hidden="relu", output="sigmoid")
    >>> net.layer_dims, bool((net.params["W1"] == start["W1"]).all())
    ([12288, 20, 7, 5, 1], True)
    """
    np.random.seed(1)
    return _deep_parameters(layer_dims, lambda W, n_prev: W / np.sqrt(n_prev))


def _deep_parameters(layer_dims, scale):
    """Draw ``W1``, ``W2``, ... in order from the global RNG, each passed through ``scale``."""
    parameters = {}
    for l in range(1, len(layer_dims)):
        n, n_prev = layer_dims[l], layer_dims[l - 1]
        parameters["W" + str(l)] = scale(np.random.randn(n, n_prev), n_prev)
        parameters["b" + str(l)] = np.zeros((n, 1))
    return parameters


def linear_forward(A, W, b, *, backend="numpy"):
    """Linear part of a layer's forward step: ``Z = W A + b``.

    Parameters
    ----------
    A : ndarray of shape (n_prev, m)
        Activations of the previous layer (or the input ``X``).
    W : ndarray of shape (n, n_prev)
    b : ndarray of shape (n, 1)
    backend : {"numpy", "jit", "naive"}, default "numpy"
        See the module docstring.

    Returns
    -------
    Z : ndarray of shape (n, m)
    cache : tuple
        ``(A, W, b)``, the linear cache.
    """
    return _linear(A, W, b, backend), (A, W, b)


def linear_activation_forward(A_prev, W, b, activation, *, backend="numpy"):
    """Forward step of one layer, LINEAR -> ACTIVATION.

    Parameters
    ----------
    A_prev : ndarray of shape (n_prev, m)
    W : ndarray of shape (n, n_prev)
    b : ndarray of shape (n, 1)
    activation : {"sigmoid", "relu"}
    backend : {"numpy", "jit", "naive"}, default "numpy"

    Returns
    -------
    A : ndarray of shape (n, m)
        The activation's output.
    cache : tuple
        ``((A_prev, W, b), Z)``: the linear cache and the activation cache.
    """
    forward, _ = _activation(activation)
    Z, linear_cache = linear_forward(A_prev, W, b, backend=backend)
    A, activation_cache = forward(Z)
    return A, (linear_cache, activation_cache)


def L_model_forward(X, parameters, *, backend="numpy"):
    """Forward pass of [LINEAR -> RELU] * (L-1) -> LINEAR -> SIGMOID.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    parameters : dict
        ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"``.
    backend : {"numpy", "jit", "naive"}, default "numpy"

    Returns
    -------
    AL : ndarray of shape (1, m)
        Output probabilities.
    caches : list of tuple
        The L layer caches ``((A_prev, W, b), Z)``, first layer first.
    """
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L + 1):
        activation = "relu" if l < L else "sigmoid"
        A, cache = linear_activation_forward(
            A, parameters["W" + str(l)], parameters["b" + str(l)], activation, backend=backend
        )
        caches.append(cache)
    return A, caches


def compute_cost(AL, Y):
    """Cross-entropy cost ``-(1/m) * (Y log(AL).T + (1 - Y) log(1 - AL).T)``.

    Parameters
    ----------
    AL : ndarray of shape (1, m)
        Output probabilities.
    Y : ndarray of shape (1, m)
        Labels, 0 or 1.

    Returns
    -------
    cost : ndarray of shape ()
    """
    m = Y.shape[1]
    cost = (1.0 / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))
    return np.squeeze(cost)


def linear_backward(dZ, cache, *, backend="numpy"):
    """Backward through the linear part of a layer.

    Parameters
    ----------
    dZ : ndarray of shape (n, m)
        Gradient of the cost with respect to ``Z``.
    cache : tuple
        ``(A_prev, W, b)`` from :func:`linear_forward`.
    backend : {"numpy", "jit", "naive"}, default "numpy"

    Returns
    -------
    dA_prev : ndarray of shape (n_prev, m)
        ``W.T dZ``.
    dW : ndarray of shape (n, n_prev)
        ``(1/m) dZ A_prev.T``.
    db : ndarray of shape (n, 1)
        ``(1/m)`` times the row sums of ``dZ``.
    """
    A_prev, W, _ = cache
    return _linear_grads(dZ, A_prev, W, backend)


def linear_activation_backward(dA, cache, activation, *, backend="numpy"):
    """Backward step of one layer, ACTIVATION -> LINEAR.

    Parameters
    ----------
    dA : ndarray of shape (n, m)
        Gradient of the cost with respect to the layer's output.
    cache : tuple
        ``((A_prev, W, b), Z)`` from :func:`linear_activation_forward`.
    activation : {"sigmoid", "relu"}
    backend : {"numpy", "jit", "naive"}, default "numpy"

    Returns
    -------
    dA_prev : ndarray of shape (n_prev, m)
    dW : ndarray of shape (n, n_prev)
    db : ndarray of shape (n, 1)
    """
    _, backward = _activation(activation)
    linear_cache, activation_cache = cache
    dZ = backward(dA, activation_cache)
    return linear_backward(dZ, linear_cache, backend=backend)


def L_model_backward(AL, Y, caches, *, backend="numpy"):
    """Backward pass of [LINEAR -> RELU] * (L-1) -> LINEAR -> SIGMOID.

    Starts from ``dAL = -(Y / AL - (1 - Y) / (1 - AL))``, as the course does.

    Parameters
    ----------
    AL : ndarray of shape (1, m)
        Output of :func:`L_model_forward`.
    Y : ndarray of shape (1, m)
        Labels, 0 or 1 (reshaped to ``AL``'s shape).
    caches : sequence of tuple
        The caches from :func:`L_model_forward`.
    backend : {"numpy", "jit", "naive"}, default "numpy"

    Returns
    -------
    grads : dict
        ``"dA0"`` ... ``"dA{L-1}"`` (the gradient with respect to each layer's input),
        ``"dW1"`` ... ``"dWL"`` and ``"db1"`` ... ``"dbL"``.
    """
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dA = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    for l in reversed(range(L)):
        activation = "sigmoid" if l == L - 1 else "relu"
        dA, dW, db = linear_activation_backward(dA, caches[l], activation, backend=backend)
        grads["dA" + str(l)] = dA
        grads["dW" + str(l + 1)] = dW
        grads["db" + str(l + 1)] = db
    return grads


def update_parameters(params, grads, learning_rate):
    """One gradient-descent step, ``theta - learning_rate * dtheta``, into a new dict.

    Parameters
    ----------
    params : dict
        ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"`` (not modified).
    grads : dict
        ``"dW1"``, ``"db1"``, ... as from :func:`L_model_backward`.
    learning_rate : float

    Returns
    -------
    parameters : dict
        The updated parameters.
    """
    parameters = params.copy()
    for l in range(1, len(parameters) // 2 + 1):
        for name in ("W", "b"):
            key = name + str(l)
            parameters[key] = parameters[key] - learning_rate * grads["d" + key]
    return parameters


# --- W4A2: application ------------------------------------------------------------------------


def _report(i, num_iterations, cost, costs, print_cost):
    """The application's bookkeeping: keep the cost every 100 iterations, print when asked."""
    if print_cost and (i % 100 == 0 or i == num_iterations - 1):
        print(f"Cost after iteration {i}: {np.squeeze(cost)}")
    if i % 100 == 0:
        costs.append(cost)


def two_layer_model(
    X,
    Y,
    layers_dims,
    learning_rate=0.0075,
    num_iterations=3000,
    print_cost=False,
    *,
    backend="numpy",
):
    """Train LINEAR -> RELU -> LINEAR -> SIGMOID by gradient descent (W4A2).

    Seeds ``np.random.seed(1)`` and initializes with :func:`initialize_parameters`.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    Y : ndarray of shape (1, m)
    layers_dims : tuple of int
        ``(n_x, n_h, n_y)``.
    learning_rate : float, default 0.0075
    num_iterations : int, default 3000
    print_cost : bool, default False
        Print ``"Cost after iteration {}: {}"`` every 100 iterations and at the last one.
    backend : {"numpy", "jit", "naive"}, default "numpy"

    Returns
    -------
    parameters : dict
        The trained ``"W1"``, ``"b1"``, ``"W2"``, ``"b2"``.
    costs : list of ndarray of shape ()
        The cost at iterations 0, 100, 200, ...
    """
    np.random.seed(1)
    costs = []
    X = _kernel_input(X, backend)
    n_x, n_h, n_y = layers_dims
    parameters = initialize_parameters(n_x, n_h, n_y)
    for i in range(num_iterations):
        A1, cache1 = linear_activation_forward(
            X, parameters["W1"], parameters["b1"], "relu", backend=backend
        )
        A2, cache2 = linear_activation_forward(
            A1, parameters["W2"], parameters["b2"], "sigmoid", backend=backend
        )
        cost = compute_cost(A2, Y)
        dA2 = -(np.divide(Y, A2) - np.divide(1 - Y, 1 - A2))
        dA1, dW2, db2 = linear_activation_backward(dA2, cache2, "sigmoid", backend=backend)
        _, dW1, db1 = linear_activation_backward(dA1, cache1, "relu", backend=backend)
        grads = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
        parameters = update_parameters(parameters, grads, learning_rate)
        _report(i, num_iterations, cost, costs, print_cost)
    return parameters, costs


def L_layer_model(
    X,
    Y,
    layers_dims,
    learning_rate=0.0075,
    num_iterations=3000,
    print_cost=False,
    *,
    backend="numpy",
):
    """Train [LINEAR -> RELU] * (L-1) -> LINEAR -> SIGMOID by gradient descent (W4A2).

    Seeds ``np.random.seed(1)`` and initializes with the application's
    ``initialize_parameters_deep`` (``dnn_app_utils_v3.py``: seed 1, ``randn / sqrt(n_prev)``),
    not the step-by-step :func:`initialize_parameters_deep`: this is what gives the course's
    published run (cost 0.771749 at iteration 0 for ``[12288, 20, 7, 5, 1]`` on the cat data).

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    Y : ndarray of shape (1, m)
    layers_dims : sequence of int
        Sizes of the layers, input first.
    learning_rate : float, default 0.0075
    num_iterations : int, default 3000
    print_cost : bool, default False
        Print ``"Cost after iteration {}: {}"`` every 100 iterations and at the last one.
    backend : {"numpy", "jit", "naive"}, default "numpy"

    Returns
    -------
    parameters : dict
        The trained ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"``.
    costs : list of ndarray of shape ()
        The cost at iterations 0, 100, 200, ...
    """
    np.random.seed(1)
    costs = []
    X = _kernel_input(X, backend)
    parameters = initialize_parameters_deep_app(layers_dims)
    for i in range(num_iterations):
        AL, caches = L_model_forward(X, parameters, backend=backend)
        cost = compute_cost(AL, Y)
        grads = L_model_backward(AL, Y, caches, backend=backend)
        parameters = update_parameters(parameters, grads, learning_rate)
        _report(i, num_iterations, cost, costs, print_cost)
    return parameters, costs


def predict(X, y, parameters, *, backend="numpy"):
    """Predict with an L-layer network and print ``"Accuracy: ..."`` against ``y``.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    y : ndarray of shape (1, m)
        True labels, for the printed accuracy.
    parameters : dict
        ``"W1"``, ``"b1"``, ..., ``"WL"``, ``"bL"``.
    backend : {"numpy", "jit", "naive"}, default "numpy"

    Returns
    -------
    p : ndarray of shape (1, m), float64
        1.0 where the output probability exceeds 0.5, else 0.0.
    """
    m = X.shape[1]
    probas, _ = L_model_forward(X, parameters, backend=backend)
    p = (probas > 0.5).astype(np.float64)
    print("Accuracy: " + str(np.sum((p == y) / m)))
    return p
