"""Week 2: "Logistic Regression with a Neural Network mindset" (assignment W2A2).

The course's functions with the course's names, arguments, defaults and return values:
:func:`sigmoid`, :func:`initialize_with_zeros`, :func:`propagate`, :func:`optimize`,
:func:`predict` and :func:`model`. Inputs are the course's: ``X`` of shape ``(n_x, m)`` with
examples as columns (``(12288, m)`` for the 64x64x3 cat pictures, see
:func:`fastdnn.datasets.flatten_images`), labels ``Y`` of shape ``(1, m)``.

Nothing here is random (the weights start at zero), so a run is the course's run whatever the
seed. Where fastdnn differs from the course: nothing.
"""

from __future__ import annotations

import copy

import numpy as np

__all__ = ["initialize_with_zeros", "model", "optimize", "predict", "propagate", "sigmoid"]


def sigmoid(z):
    """The logistic function ``1 / (1 + exp(-z))``, elementwise.

    Parameters
    ----------
    z : float or ndarray of any shape

    Returns
    -------
    s : float or ndarray of the shape of ``z``

    Examples
    --------
    >>> sigmoid(np.array([0, 2]))
    array([0.5       , 0.88079708])
    """
    return 1 / (1 + np.exp(-z))


def initialize_with_zeros(dim):
    """Zero weights and bias.

    Parameters
    ----------
    dim : int
        Number of input features (``n_x``).

    Returns
    -------
    w : ndarray of shape (dim, 1)
        Zeros.
    b : float
        ``0.0``.
    """
    return np.zeros((dim, 1)), 0.0


def propagate(w, b, X, Y):
    """Cost of the logistic-regression model and its gradient (one forward and backward pass).

    Parameters
    ----------
    w : ndarray of shape (n_x, 1)
        Weights.
    b : float
        Bias.
    X : ndarray of shape (n_x, m)
        Inputs, examples as columns.
    Y : ndarray of shape (1, m)
        Labels, 0 or 1.

    Returns
    -------
    grads : dict
        ``"dw"``: ndarray of shape (n_x, 1), the gradient with respect to ``w``;
        ``"db"``: float64, the gradient with respect to ``b``.
    cost : ndarray of shape ()
        The cross-entropy ``-(1/m) * sum(Y log A + (1 - Y) log(1 - A))`` with
        ``A = sigmoid(w.T X + b)``.
    """
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dZ = A - Y
    grads = {"dw": np.dot(X, dZ.T) / m, "db": np.sum(dZ) / m}
    return grads, np.squeeze(np.array(cost))


def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    """Gradient descent on ``w`` and ``b``.

    Parameters
    ----------
    w : ndarray of shape (n_x, 1)
        Initial weights (not modified: the course works on a deep copy).
    b : float
        Initial bias.
    X : ndarray of shape (n_x, m)
        Inputs.
    Y : ndarray of shape (1, m)
        Labels, 0 or 1.
    num_iterations : int, default 100
        Number of gradient steps.
    learning_rate : float, default 0.009
        Step size.
    print_cost : bool, default False
        Print ``"Cost after iteration %i: %f"`` every 100 iterations.

    Returns
    -------
    params : dict
        ``"w"``: ndarray of shape (n_x, 1) and ``"b"``: float, after the last step.
    grads : dict
        ``"dw"`` and ``"db"`` of the last iteration (computed before its update).
    costs : list of ndarray of shape ()
        The cost at iterations 0, 100, 200, ... (before each of those steps).
    """
    w = copy.deepcopy(w)
    b = copy.deepcopy(b)
    costs = []
    for i in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        dw, db = grads["dw"], grads["db"]
        w = w - learning_rate * dw
        b = b - learning_rate * db
        if i % 100 == 0:
            costs.append(cost)
            if print_cost:
                print(f"Cost after iteration {i}: {float(cost):f}")
    return {"w": w, "b": b}, {"dw": dw, "db": db}, costs


def predict(w, b, X):
    """Label each example 1 if ``sigmoid(w.T X + b) > 0.5``, else 0.

    Parameters
    ----------
    w : ndarray of shape (n_x, 1)
        Weights (any shape with ``n_x`` entries; reshaped to a column).
    b : float
        Bias.
    X : ndarray of shape (n_x, m)
        Inputs.

    Returns
    -------
    Y_prediction : ndarray of shape (1, m), float64
        0.0 or 1.0 per example.
    """
    w = w.reshape(X.shape[0], 1)
    A = sigmoid(np.dot(w.T, X) + b)
    return (A > 0.5).astype(np.float64)


def model(
    X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False
):
    """Train logistic regression from zero weights and predict on both sets.

    Parameters
    ----------
    X_train : ndarray of shape (n_x, m_train)
    Y_train : ndarray of shape (1, m_train)
    X_test : ndarray of shape (n_x, m_test)
    Y_test : ndarray of shape (1, m_test)
    num_iterations : int, default 2000
    learning_rate : float, default 0.5
    print_cost : bool, default False
        Print the cost every 100 iterations, then ``"train accuracy: {} %"`` and
        ``"test accuracy: {} %"``.

    Returns
    -------
    d : dict
        ``"costs"`` (list, every 100 iterations), ``"Y_prediction_test"`` (1, m_test),
        ``"Y_prediction_train"`` (1, m_train), ``"w"`` (n_x, 1), ``"b"``, ``"learning_rate"``,
        ``"num_iterations"``.

    Examples
    --------
    The course's cat run (``train_x``, ``test_x`` from :func:`fastdnn.datasets.load_cat_data`)::

        d = model(train_x, train_y, test_x, test_y, num_iterations=2000,
                  learning_rate=0.005, print_cost=True)
        # ... train accuracy: 99.04306220095694 %, test accuracy: 70.0 %
    """
    w, b = initialize_with_zeros(X_train.shape[0])
    params, _, costs = optimize(w, b, X_train, Y_train, num_iterations, learning_rate, print_cost)
    w, b = params["w"], params["b"]
    Y_prediction_test = predict(w, b, X_test)
    Y_prediction_train = predict(w, b, X_train)
    if print_cost:
        for name, pred, Y in (
            ("train", Y_prediction_train, Y_train),
            ("test", Y_prediction_test, Y_test),
        ):
            print(f"{name} accuracy: {100 - np.mean(np.abs(pred - Y)) * 100} %")
    return {
        "costs": costs,
        "Y_prediction_test": Y_prediction_test,
        "Y_prediction_train": Y_prediction_train,
        "w": w,
        "b": b,
        "learning_rate": learning_rate,
        "num_iterations": num_iterations,
    }
