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


#: Act code -> ``g(Z, slope, out)``, writing ``A = g(Z)`` into ``out`` (which may be ``Z``).
ACTIVATIONS = {
    Act.LINEAR: _copy_into,
    Act.SIGMOID: _sigmoid_into,
    Act.TANH: lambda Z, slope, out: np.tanh(Z, out=out),
    Act.RELU: lambda Z, slope, out: np.maximum(Z, 0, out=out),
    Act.LEAKY_RELU: lambda Z, slope, out: np.multiply(
        Z, np.where(Z > 0, 1, slope).astype(Z.dtype), out=out
    ),
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
        An :class:`fastdnn._types.Act` code: linear, sigmoid, tanh, relu or leaky_relu.
    slope : float
        Slope of leaky_relu for ``z < 0`` (ignored by the other activations).
    A_out : ndarray of shape (n, m)
        Written with ``g(Z)``. May be ``Z`` itself (in place).

    Notes
    -----
    sigmoid(z) = 1 / (1 + e^-z), evaluated as ``e^-|z| / (1 + e^-|z|)`` for z < 0 so it is
    finite for every z; tanh; relu(z) = max(z, 0); leaky_relu(z) = z if z > 0 else slope * z;
    linear(z) = z.
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
    ``dZ_L = AL - Y`` holds for the two output/loss pairs fastdnn trains: sigmoid with binary
    cross-entropy (the sigmoid's derivative cancels the loss's denominator) and linear with
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
    MSE: ``(z - y)^2 / 2`` per entry.
    """
    m = ZL.shape[1]
    Z = ZL.astype(np.float64, copy=False)
    Yd = Y.astype(np.float64, copy=False)
    with np.errstate(over="ignore"):  # an infinite cost is the answer, and is checked for
        if loss == Loss.BCE:
            per_entry = np.maximum(Z, 0) - Z * Yd + np.log1p(np.exp(-np.abs(Z)))
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
