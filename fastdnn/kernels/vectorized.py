"""Vectorized NumPy kernels: the baseline, and where the full docstrings live.

Inputs are assumed checked (C-contiguous, one floating dtype, matching shapes); see
:mod:`fastdnn.kernels`. Outputs are written into the ``*_out`` arrays the caller owns.
"""

from __future__ import annotations

import numpy as np

from .._types import Act, Loss


def linear_forward(A_prev, W, b, Z_out):
    """Linear part of a layer's forward step: ``Z = W @ A_prev + b``.

    Parameters
    ----------
    A_prev : ndarray of shape (n_prev, m)
        Activations of the previous layer (or the input ``X``).
    W : ndarray of shape (n, n_prev)
        Weights of this layer.
    b : ndarray of shape (n, 1)
        Bias of this layer, broadcast over the ``m`` columns.
    Z_out : ndarray of shape (n, m)
        Written with the pre-activation ``Z``.
    """
    np.matmul(W, A_prev, out=Z_out)
    Z_out += b


def _sigmoid_into(Z, slope, out):
    # Stable for any z: exp only ever sees -|z| <= 0, so it never overflows.
    # Equivalent to 1 / (1 + exp(-z)), which overflows (with a warning) for z < -709.
    e = np.exp(-np.abs(Z))
    np.divide(np.where(Z >= 0, 1, e), 1 + e, out=out)


def _copy_into(Z, slope, out):
    if out is not Z:
        out[...] = Z


def _softmax_into(Z, slope, out):
    # Column by column (an example is a column): subtracting the column's max first keeps
    # exp from overflowing for any logits; the result is unchanged mathematically.
    e = np.exp(Z - Z.max(axis=0, keepdims=True))
    np.divide(e, e.sum(axis=0, keepdims=True), out=out)


#: Act code -> ``g(Z, slope, out)``, writing ``A = g(Z)`` into ``out`` (which may be ``Z``).
ACTIVATIONS = {
    Act.LINEAR: _copy_into,
    Act.SIGMOID: _sigmoid_into,
    Act.TANH: lambda Z, slope, out: np.tanh(Z, out=out),
    Act.RELU: lambda Z, slope, out: np.maximum(Z, 0, out=out),
    Act.LEAKY_RELU: lambda Z, slope, out: np.multiply(
        Z, np.where(Z > 0, 1, slope).astype(Z.dtype), out=out
    ),
    Act.SOFTMAX: _softmax_into,
}
#: Act code -> ``g'(A, slope)``, the derivative written from the output ``A`` (a new array,
#: or a scalar).
DERIVATIVES = {
    Act.LINEAR: lambda A, slope: A.dtype.type(1),
    Act.SIGMOID: lambda A, slope: A * (1 - A),
    Act.TANH: lambda A, slope: 1 - A * A,
    Act.RELU: lambda A, slope: A > 0,
    Act.LEAKY_RELU: lambda A, slope: np.where(A > 0, 1, slope).astype(A.dtype),
}


def activation_forward(Z, act, slope, A_out):
    """Apply the activation ``g`` elementwise: ``A = g(Z)``.

    Parameters
    ----------
    Z : ndarray of shape (n, m)
        Pre-activations.
    act : int
        An :class:`fastdnn._types.Act` code: linear, sigmoid, tanh, relu, leaky_relu, or
        softmax (output layers only).
    slope : float
        Slope of leaky_relu for ``z < 0`` (ignored by the other activations).
    A_out : ndarray of shape (n, m)
        Written with ``g(Z)``. May be ``Z`` itself (in place).

    Notes
    -----
    sigmoid(z) = 1 / (1 + e^-z), evaluated as ``e^-|z| / (1 + e^-|z|)`` for z < 0 so it is
    finite for every z; tanh; relu(z) = max(z, 0); leaky_relu(z) = z if z > 0 else slope * z;
    linear(z) = z. softmax is the one activation that is not elementwise: each column (one
    example) becomes ``exp(z - max z) / sum(exp(z - max z))``, which sums to 1 and is finite
    for any logits.
    """
    ACTIVATIONS[act](Z, slope, A_out)


def linear_activation_forward(A_prev, W, b, act, slope, Z_out, A_out):
    """Fused forward step of one layer: ``Z = W @ A_prev + b`` then ``A = g(Z)``.

    Parameters
    ----------
    A_prev, W, b
        As in :func:`linear_forward`.
    act, slope
        As in :func:`activation_forward`.
    Z_out : ndarray of shape (n, m)
        Written with ``Z``.
    A_out : ndarray of shape (n, m)
        Written with ``A``. Passing ``Z_out`` itself keeps only ``A`` (hidden layers on the
        fast path need nothing else).
    """
    linear_forward(A_prev, W, b, Z_out)
    activation_forward(Z_out, act, slope, A_out)


def activation_backward(dA, A, act, slope, dZ_out):
    """Backward through the activation: ``dZ = dA * g'(Z)``, with ``g'`` taken from ``A``.

    Parameters
    ----------
    dA : ndarray of shape (n, m)
        Gradient of the cost with respect to ``A``.
    A : ndarray of shape (n, m)
        The activation's output from the forward pass.
    act, slope
        As in :func:`activation_forward`.
    dZ_out : ndarray of shape (n, m)
        Written with ``dZ``. May be ``dA`` itself.

    Notes
    -----
    From the output: sigmoid ``A (1 - A)``; tanh ``1 - A^2``; relu ``A > 0``; leaky_relu
    ``1 if A > 0 else slope`` (valid for slope > 0, where sign(A) = sign(Z)); linear ``1``.
    """
    np.multiply(dA, DERIVATIVES[act](A, slope), out=dZ_out)


def linear_backward(dZ, A_prev, W, dA_prev_out, dW_out, db_out):
    """Backward through the linear part of a layer.

    Parameters
    ----------
    dZ : ndarray of shape (n, m)
        Gradient of the cost with respect to ``Z``.
    A_prev : ndarray of shape (n_prev, m)
        The layer's input from the forward pass.
    W : ndarray of shape (n, n_prev)
        The layer's weights.
    dA_prev_out : ndarray of shape (n_prev, m), or of size 0
        Written with ``W.T @ dZ``; skipped when it has size 0 (first layer).
    dW_out : ndarray of shape (n, n_prev)
        Written with ``dZ @ A_prev.T / m``.
    db_out : ndarray of shape (n, 1)
        Written with ``sum(dZ, axis=1) / m``.
    """
    m = dZ.shape[1]
    np.matmul(dZ, A_prev.T, out=dW_out)
    dW_out /= m
    np.sum(dZ, axis=1, keepdims=True, out=db_out)
    db_out /= m
    if dA_prev_out.size:
        np.matmul(W.T, dZ, out=dA_prev_out)


def linear_activation_backward(dA, A, A_prev, W, act, slope, dZ_out, dA_prev_out, dW_out, db_out):
    """Fused backward step of one layer: :func:`activation_backward` then :func:`linear_backward`.

    Parameters
    ----------
    dA, A, act, slope
        As in :func:`activation_backward`.
    A_prev, W, dA_prev_out, dW_out, db_out
        As in :func:`linear_backward`.
    dZ_out : ndarray of shape (n, m)
        Work buffer, written with ``dZ``; may be ``dA`` itself.
    """
    activation_backward(dA, A, act, slope, dZ_out)
    linear_backward(dZ_out, A_prev, W, dA_prev_out, dW_out, db_out)


def output_backward(AL, Y, A_prev, W, dZ_out, dA_prev_out, dW_out, db_out):
    """Backward step of the output layer: ``dZ_L = AL - Y``, then :func:`linear_backward`.

    Parameters
    ----------
    AL : ndarray of shape (n_y, m)
        Output of the network.
    Y : ndarray of shape (n_y, m)
        Targets.
    A_prev, W, dA_prev_out, dW_out, db_out
        As in :func:`linear_backward`.
    dZ_out : ndarray of shape (n_y, m)
        Work buffer, written with ``dZ_L``.

    Notes
    -----
    ``dZ_L = AL - Y`` holds for the three output/loss pairs fastdnn trains: sigmoid with binary
    cross-entropy (the sigmoid's derivative cancels the loss's denominator), softmax with
    categorical cross-entropy and a one-hot ``Y`` (the softmax's Jacobian contracted with
    ``-Y/AL`` gives ``AL - Y`` because each column of ``Y`` sums to 1), and linear with
    ``(1/2m) * sum((AL - Y)^2)``. It never forms ``dAL = -(Y/AL - (1-Y)/(1-AL))``, which is
    infinite or NaN when ``AL`` reaches exactly 0 or 1.
    """
    np.subtract(AL, Y, out=dZ_out)
    linear_backward(dZ_out, A_prev, W, dA_prev_out, dW_out, db_out)


def cost_from_logits(ZL, Y, loss):
    """Cost of the output pre-activations ``ZL`` against ``Y``, averaged over the ``m`` columns.

    Parameters
    ----------
    ZL : ndarray of shape (n_y, m)
        Output-layer pre-activations (logits for BCE; the predictions for MSE).
    Y : ndarray of shape (n_y, m)
        Targets.
    loss : int
        A :class:`fastdnn._types.Loss` code.

    Returns
    -------
    float
        The cost, accumulated in float64 whatever the input dtype.

    Notes
    -----
    BCE from logits: ``max(z, 0) - z*y + log1p(exp(-|z|))`` per entry, which equals
    ``-(y log a + (1-y) log(1-a))`` with ``a = sigmoid(z)`` and is finite for every z.
    CCE from logits, per column: ``logsumexp(z) - sum_i y_i z_i``, which equals
    ``-sum_i y_i log a_i`` with ``a = softmax(z)`` when the column of ``Y`` sums to 1; the
    log-sum-exp is taken after subtracting the column's max, so it is finite for any logits.
    MSE: ``(z - y)^2 / 2`` per entry.
    """
    m = ZL.shape[1]
    Z = ZL.astype(np.float64, copy=False)
    Yd = Y.astype(np.float64, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):  # inf is the answer, and is checked for
        if loss == Loss.BCE:
            per_entry = np.maximum(Z, 0) - Z * Yd + np.log1p(np.exp(-np.abs(Z)))
        elif loss == Loss.CCE:
            top = Z.max(axis=0)
            lse = top + np.log(np.exp(Z - top).sum(axis=0))
            per_entry = lse - (Yd * Z).sum(axis=0)
        else:
            per_entry = 0.5 * (Z - Yd) ** 2
        return float(np.sum(per_entry) / m)


def update(theta, grad, learning_rate):
    """Gradient-descent step in place: ``theta -= learning_rate * grad``.

    Parameters
    ----------
    theta : ndarray of shape (p,)
        Flat parameter buffer, updated in place.
    grad : ndarray of shape (p,)
        Flat gradient buffer, same layout as ``theta``.
    learning_rate : float
        Step size.
    """
    theta -= theta.dtype.type(learning_rate) * grad


# ------------------------------------------------------------------ the course's optimizers
def update_momentum(theta, grad, v, learning_rate, beta):
    """Gradient descent with momentum, in place (the course's ``update_parameters_with_momentum``).

    Parameters
    ----------
    theta, grad : ndarray of shape (p,)
        As in :func:`update`.
    v : ndarray of shape (p,)
        The velocity, updated in place: ``v = beta v + (1 - beta) grad``.
    learning_rate : float
    beta : float
        Momentum, in [0, 1).

    Notes
    -----
    ``theta -= learning_rate * v`` after the velocity update.
    """
    dt = theta.dtype.type
    v *= dt(beta)
    v += dt(1 - beta) * grad
    theta -= dt(learning_rate) * v


def update_rmsprop(theta, grad, s, learning_rate, beta2, epsilon):
    """RMSprop, in place (the course's lectures).

    Parameters
    ----------
    theta, grad : ndarray of shape (p,)
        As in :func:`update`.
    s : ndarray of shape (p,)
        The running mean of squared gradients: ``s = beta2 s + (1 - beta2) grad^2``.
    learning_rate, beta2, epsilon : float

    Notes
    -----
    ``theta -= learning_rate * grad / (sqrt(s) + epsilon)``.
    """
    dt = theta.dtype.type
    s *= dt(beta2)
    s += dt(1 - beta2) * grad * grad
    theta -= dt(learning_rate) * grad / (np.sqrt(s) + dt(epsilon))


def update_adam(theta, grad, v, s, t, learning_rate, beta1, beta2, epsilon):
    """Adam, in place (the course's ``update_parameters_with_adam``).

    Parameters
    ----------
    theta, grad : ndarray of shape (p,)
        As in :func:`update`.
    v, s : ndarray of shape (p,)
        First and second moment estimates, updated in place.
    t : int
        The number of this update, counting from 1 (for the bias correction).
    learning_rate, beta1, beta2, epsilon : float

    Notes
    -----
    ``v = beta1 v + (1 - beta1) grad``, ``s = beta2 s + (1 - beta2) grad^2``, then with the bias
    corrections ``v_hat = v / (1 - beta1^t)``, ``s_hat = s / (1 - beta2^t)``:
    ``theta -= learning_rate * v_hat / (sqrt(s_hat) + epsilon)``.
    """
    dt = theta.dtype.type
    v *= dt(beta1)
    v += dt(1 - beta1) * grad
    s *= dt(beta2)
    s += dt(1 - beta2) * grad * grad
    v_hat = v / dt(1 - beta1**t)
    s_hat = s / dt(1 - beta2**t)
    theta -= dt(learning_rate) * v_hat / (np.sqrt(s_hat) + dt(epsilon))


# ------------------------------------------------------------------ regularisation
def add_l2(W, dW_out, scale):
    """L2 regularisation of one layer: ``dW += scale * W``; returns ``sum(W^2)``.

    Parameters
    ----------
    W : ndarray of shape (n, n_prev)
        The layer's weights (biases are not regularised, as in the course).
    dW_out : ndarray of shape (n, n_prev)
        The weights' gradient, updated in place.
    scale : float
        ``lambd / m``.

    Returns
    -------
    float
        ``sum(W^2)`` in float64: the cost term is ``lambd / (2 m)`` times its sum over layers.
    """
    dW_out += W.dtype.type(scale) * W
    return float(np.sum(np.square(W, dtype=np.float64)))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix64(z):
    """splitmix64's finaliser, elementwise on uint64 (which wraps modulo 2^64)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def _keep(shape, keep_prob, key):
    """The inverted-dropout mask of an array of ``shape``: True where a unit is kept."""
    n = shape[0] * shape[1]
    idx = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        bits = _mix64(np.uint64(key) + idx * _GOLDEN) >> np.uint64(11)
    return (bits < np.uint64(_keep_threshold(keep_prob))).reshape(shape)


def _keep_threshold(keep_prob):
    return int(keep_prob * 2.0**53)  # kept when the draw's top 53 bits are below this


def dropout_forward(A, keep_prob, key):
    """Inverted dropout of a hidden layer's output, in place: ``A = A * D / keep_prob``.

    Parameters
    ----------
    A : ndarray of shape (n, m)
        The layer's activations, overwritten.
    keep_prob : float
        Probability of keeping a unit, in (0, 1].
    key : int
        The mask's key in [0, 2^64): :func:`fastdnn._dropout.key` of (seed, step, layer).

    Notes
    -----
    ``D[i, j]`` is 1 when the top 53 bits of ``splitmix64(key + (i m + j + 1) * golden)`` are
    below ``keep_prob * 2^53``: a counter-based draw, so the mask of a step depends only on the
    seed, the step and the layer -- not on chunking, threads or backend -- and the backward pass
    draws it again instead of storing it.
    """
    A *= _keep(A.shape, keep_prob, key) * A.dtype.type(1.0 / keep_prob)


def dropout_backward(dA, A, keep_prob, key):
    """Backward through :func:`dropout_forward`, in place: ``dA = dA * D / keep_prob``.

    Parameters
    ----------
    dA : ndarray of shape (n, m)
        Gradient with respect to the layer's (dropped-out) output, overwritten.
    A : ndarray of shape (n, m)
        The layer's output after :func:`dropout_forward`; restored in place to the activation's
        own output where a unit was kept (``A * keep_prob``), since the activation's derivative
        is written from it. Dropped units stay 0 (their ``dA`` is 0).
    keep_prob, key
        As given to :func:`dropout_forward`.
    """
    keep = _keep(A.shape, keep_prob, key)
    dA *= keep * dA.dtype.type(1.0 / keep_prob)
    A *= A.dtype.type(keep_prob)
