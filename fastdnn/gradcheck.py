"""Gradient checking: backprop against central differences (the course's ``gradient_check_n``).

For any network (depth, hidden activation, output), with or without L2 regularisation,
dropout off, in float64:

.. math::

    \\text{difference} = \\frac{\\lVert g - g_{approx} \\rVert_2}
                               {\\lVert g \\rVert_2 + \\lVert g_{approx} \\rVert_2},
    \\qquad g_{approx, i} = \\frac{J(\\theta + \\varepsilon e_i) - J(\\theta - \\varepsilon e_i)}
                                   {2 \\varepsilon}

where ``g`` is the backpropagated gradient of the cost ``J`` (with its L2 term) over every
parameter ``W1, b1, ..., WL, bL`` flattened in that order. The course reads the result as: below
``1e-7``, backpropagation is right; above ``1e-3``, it is almost certainly wrong.

``g`` and ``J`` are the training step's own (its backward pass and its L2, on the chosen
backend), and ``J`` comes from the logits, more precisely than the course's ``np.log(AL)``: on
the course's ``gradient_check_n`` test case the difference is about 1.8e-9, where the course's
notebook shows 1.2e-7.
"""

from __future__ import annotations

import numpy as np

from . import _validation as v
from ._layout import n_parameters, param_views
from ._types import LEAKY_SLOPE, OUTPUT_LOSS, ActivationName, Backend, OutputName, Params
from .backends import get_stepper
from .steppers import NetSpec, Train, Workspace


def gradient_check(
    params: Params,
    X,
    Y,
    hidden: ActivationName = "relu",
    output: OutputName = "sigmoid",
    *,
    lambd: float = 0.0,
    epsilon: float = 1e-7,
    backend: Backend = "numpy",
    slope: float = LEAKY_SLOPE,
    return_gradients: bool = False,
):
    """Relative difference between backpropagation and central differences.

    Parameters
    ----------
    params : dict
        The course's ``{"W1", "b1", ..., "WL", "bL"}`` (any depth); computed in float64.
    X : array_like of shape (n_x, m)
    Y : array_like of shape (n_y, m)
        Targets for ``output`` (0/1 labels for sigmoid, one-hot or class indices for softmax,
        real values for linear).
    hidden, output : str
        The network's activations, as for :class:`fastdnn.DNN`.
    lambd : float, default 0.0
        L2 strength: the cost and its gradient include ``lambd / 2m * sum ||W||^2``.
    epsilon : float, default 1e-7
        The course's step for the central differences.
    backend : {"numpy", "jit", "naive"}, default "numpy"
        Whose backpropagation is checked.
    slope : float, default 0.01
        leaky_relu's slope.
    return_gradients : bool, default False
        Also return the backpropagated and the approximated gradient (flat, float64).

    Returns
    -------
    float, or (float, ndarray, ndarray)
        The relative difference (and the two gradients).

    Notes
    -----
    relu and leaky_relu have a kink at 0: an example whose pre-activation lies within
    ``epsilon`` of it makes the difference large although backpropagation is right. The cost
    takes ``2 * n_parameters`` forward passes: meant for small networks, as in the course.

    Examples
    --------
    >>> import numpy as np, fastdnn
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.normal(size=(4, 5)), (rng.random((1, 5)) > 0.5).astype(float)
    >>> p = fastdnn.initialize_parameters([4, 3, 1], seed=0)
    >>> fastdnn.gradient_check(p, X, Y, hidden="tanh", lambd=0.7) < 1e-7
    True
    """
    params, dims, _ = v.check_params(params, np.dtype(np.float64))
    v.check_activation("hidden", hidden)
    v.check_output_units(v.check_output(output), dims[-1], f"params (layers {dims})")
    stepper_class = get_stepper(v.check_backend(backend))
    lambd = v.check_non_negative_finite(lambd, "lambd")
    epsilon = v.check_positive_finite(epsilon, "epsilon")
    slope = v.check_positive_finite(slope, "slope")
    dtype = np.dtype(np.float64)
    X = v.check_X(X, dims[0], dtype)
    spec = NetSpec(tuple(dims), hidden, output, slope, dtype)
    Y = v.check_Y(Y, dims[-1], X.shape[1], _loss_name(output), dtype)
    m = X.shape[1]
    theta = np.empty(n_parameters(dims))
    for key, view in param_views(theta, dims).items():
        view[...] = params[key]
    grad = np.zeros_like(theta)
    # The training step's own code: its gradient, then its L2 (not a second implementation)
    stepper = stepper_class(
        spec, theta, grad, X, Y, None, Workspace(dims, m, dtype, False), train=Train(lambd=lambd)
    )

    def cost_and_gradient() -> float:
        return stepper.gradient(X, Y, 1.0 / m) + stepper.regularise(m)

    cost_and_gradient()
    backprop = grad.copy()
    approx = np.empty_like(theta)
    for i in range(theta.size):
        keep = theta[i]
        theta[i] = keep + epsilon
        plus = cost_and_gradient()
        theta[i] = keep - epsilon
        minus = cost_and_gradient()
        theta[i] = keep
        approx[i] = (plus - minus) / (2 * epsilon)
    norm = np.linalg.norm(backprop) + np.linalg.norm(approx)
    if not norm:  # 0/0: nothing was compared, which must not read as a pass
        raise ValueError(
            "both gradients are zero, so the check compares nothing: the cost does not depend "
            "on the parameters at this point (e.g. every relu unit inactive for these X)"
        )
    difference = float(np.linalg.norm(backprop - approx) / norm)
    return (difference, backprop, approx) if return_gradients else difference


def _loss_name(output: str) -> str:
    return OUTPUT_LOSS[output]
