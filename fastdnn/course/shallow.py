"""Week 3: "Planar data classification with one hidden layer" (assignment W3A1).

The course's 2-layer network, LINEAR -> TANH -> LINEAR -> SIGMOID, with the course's names,
arguments, defaults and return values: :func:`layer_sizes`, :func:`initialize_parameters`,
:func:`forward_propagation`, :func:`compute_cost`, :func:`backward_propagation`,
:func:`update_parameters`, :func:`nn_model` and :func:`predict`. The data is the course's
flower, :func:`fastdnn.datasets.load_planar_dataset`.

Randomness is the course's: NumPy's legacy global RNG, seeded with ``np.random.seed(3)`` inside
:func:`nn_model` and nowhere else (:func:`initialize_parameters` draws without seeding, as in
the current assignment), so ``nn_model(X, Y, n_h=4, num_iterations=10000)`` retraces the
course's run. Where fastdnn differs from the course: nothing; :func:`compute_cost` also accepts
the older assignment's third argument ``parameters`` (unused there too).
"""

# ruff: noqa: NPY002 - the course's legacy global RNG (np.random.seed/randn) is the contract.
from __future__ import annotations

import numpy as np

from .logistic import sigmoid

__all__ = [
    "backward_propagation",
    "compute_cost",
    "forward_propagation",
    "initialize_parameters",
    "layer_sizes",
    "nn_model",
    "predict",
    "sigmoid",
    "update_parameters",
]


def layer_sizes(X, Y):
    """Sizes of the three layers.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    Y : ndarray of shape (n_y, m)

    Returns
    -------
    n_x, n_h, n_y : tuple of int
        Input size, hidden size (always 4, as in the course), output size.
    """
    return (X.shape[0], 4, Y.shape[0])


def initialize_parameters(n_x, n_h, n_y):
    """Small random weights (``randn * 0.01``) and zero biases, drawn from the global RNG.

    The draws are ``W1`` then ``W2``, unseeded: seed before calling (``nn_model`` seeds 3).

    Parameters
    ----------
    n_x, n_h, n_y : int
        Layer sizes.

    Returns
    -------
    parameters : dict
        ``"W1"`` (n_h, n_x), ``"b1"`` (n_h, 1), ``"W2"`` (n_y, n_h), ``"b2"`` (n_y, 1).
    """
    W1 = np.random.randn(n_h, n_x) * 0.01
    W2 = np.random.randn(n_y, n_h) * 0.01
    return {"W1": W1, "b1": np.zeros((n_h, 1)), "W2": W2, "b2": np.zeros((n_y, 1))}


def forward_propagation(X, parameters):
    """Forward pass: ``A1 = tanh(W1 X + b1)``, ``A2 = sigmoid(W2 A1 + b2)``.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    parameters : dict
        ``"W1"``, ``"b1"``, ``"W2"``, ``"b2"`` as from :func:`initialize_parameters`.

    Returns
    -------
    A2 : ndarray of shape (1, m)
        Output probabilities.
    cache : dict
        ``"Z1"``, ``"A1"`` of shape (n_h, m) and ``"Z2"``, ``"A2"`` of shape (1, m).
    """
    Z1 = np.dot(parameters["W1"], X) + parameters["b1"]
    A1 = np.tanh(Z1)
    Z2 = np.dot(parameters["W2"], A1) + parameters["b2"]
    A2 = sigmoid(Z2)
    return A2, {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


def compute_cost(A2, Y, parameters=None):
    """Cross-entropy cost ``-(1/m) * sum(Y log A2 + (1 - Y) log(1 - A2))``.

    Parameters
    ----------
    A2 : ndarray of shape (1, m)
        Output probabilities.
    Y : ndarray of shape (1, m)
        Labels, 0 or 1 (bool or integer accepted).
    parameters : dict, optional
        Ignored; accepted for the older assignment's ``compute_cost(A2, Y, parameters)``.

    Returns
    -------
    cost : float
    """
    m = Y.shape[1]
    logprobs = np.multiply(np.log(A2), Y) + np.multiply(np.log(1 - A2), 1 - Y)
    return float(np.squeeze(-np.sum(logprobs) / m))


def backward_propagation(parameters, cache, X, Y):
    """Gradients of the cost with respect to the four parameters.

    Parameters
    ----------
    parameters : dict
        ``"W1"``, ``"b1"``, ``"W2"``, ``"b2"``.
    cache : dict
        ``"A1"`` and ``"A2"`` from :func:`forward_propagation` (``"Z1"``, ``"Z2"`` unused).
    X : ndarray of shape (n_x, m)
    Y : ndarray of shape (1, m)

    Returns
    -------
    grads : dict
        ``"dW1"`` (n_h, n_x), ``"db1"`` (n_h, 1), ``"dW2"`` (1, n_h), ``"db2"`` (1, 1).
    """
    m = X.shape[1]
    A1, A2 = cache["A1"], cache["A2"]
    dZ2 = A2 - Y
    dW2 = (1 / m) * np.dot(dZ2, A1.T)
    db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = np.dot(parameters["W2"].T, dZ2) * (1 - np.power(A1, 2))
    dW1 = (1 / m) * np.dot(dZ1, X.T)
    db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


def update_parameters(parameters, grads, learning_rate=1.2):
    """One gradient-descent step, ``theta - learning_rate * dtheta``, into a new dict.

    Parameters
    ----------
    parameters : dict
        ``"W1"``, ``"b1"``, ``"W2"``, ``"b2"`` (not modified).
    grads : dict
        ``"dW1"``, ``"db1"``, ``"dW2"``, ``"db2"``.
    learning_rate : float, default 1.2

    Returns
    -------
    parameters : dict
        The updated parameters.
    """
    return {k: parameters[k] - learning_rate * grads["d" + k] for k in ("W1", "b1", "W2", "b2")}


def nn_model(X, Y, n_h, num_iterations=10000, print_cost=False):
    """Train the 2-layer network by gradient descent (learning rate 1.2).

    Seeds the global RNG with 3, then draws the weights with :func:`initialize_parameters`.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
    Y : ndarray of shape (n_y, m)
    n_h : int
        Hidden-layer size.
    num_iterations : int, default 10000
    print_cost : bool, default False
        Print ``"Cost after iteration %i: %f"`` every 1000 iterations.

    Returns
    -------
    parameters : dict
        The trained ``"W1"``, ``"b1"``, ``"W2"``, ``"b2"``.

    Examples
    --------
    >>> from fastdnn.datasets import load_planar_dataset
    >>> X, Y = load_planar_dataset()
    >>> parameters = nn_model(X, Y, n_h=4, num_iterations=1000)
    >>> float(np.mean(predict(parameters, X) == Y)) > 0.85
    True
    """
    np.random.seed(3)
    n_x, _, n_y = layer_sizes(X, Y)
    parameters = initialize_parameters(n_x, n_h, n_y)
    for i in range(num_iterations):
        A2, cache = forward_propagation(X, parameters)
        cost = compute_cost(A2, Y)
        grads = backward_propagation(parameters, cache, X, Y)
        parameters = update_parameters(parameters, grads)
        if print_cost and i % 1000 == 0:
            print(f"Cost after iteration {i}: {float(cost):f}")
    return parameters


def predict(parameters, X):
    """Predict class 1 where the network's output exceeds 0.5.

    Parameters
    ----------
    parameters : dict
        ``"W1"``, ``"b1"``, ``"W2"``, ``"b2"``.
    X : ndarray of shape (n_x, m)

    Returns
    -------
    predictions : ndarray of shape (1, m), bool
        ``True`` for class 1 (blue), ``False`` for class 0 (red).
    """
    A2, _ = forward_propagation(X, parameters)
    return A2 > 0.5
