"""Naive kernels: explicit Python loops, the course's "before vectorization" version.

Slow on purpose and written to be read: every sum is a visible loop over the examples. This is
the oracle the other two backends are tested against. Same names and signatures as
:mod:`fastdnn.kernels.vectorized`, which holds the full docstrings; inputs are assumed checked.
"""

from __future__ import annotations

import math

from .._dropout import splitmix64
from .._types import Act, Loss


def linear_forward(A_prev, W, b, Z_out):
    """``Z = W @ A_prev + b`` with three nested loops. See ``vectorized.linear_forward``."""
    n, n_prev = W.shape
    m = A_prev.shape[1]
    for i in range(n):
        for j in range(m):
            z = 0.0
            for k in range(n_prev):
                z += W[i, k] * A_prev[k, j]
            Z_out[i, j] = z + b[i, 0]


def _sigmoid(z, slope):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)  # z < 0: exp cannot overflow
    return e / (1.0 + e)


#: Act code -> ``g(z, slope)`` of one scalar.
ACTIVATIONS = {
    Act.LINEAR: lambda z, slope: z,
    Act.SIGMOID: _sigmoid,
    Act.TANH: lambda z, slope: math.tanh(z),
    Act.RELU: lambda z, slope: z if z > 0 else 0.0,
    Act.LEAKY_RELU: lambda z, slope: z if z > 0 else slope * z,
}
#: Act code -> ``g'(a, slope)``, the derivative written in terms of the output ``a``.
DERIVATIVES = {
    Act.LINEAR: lambda a, slope: 1.0,
    Act.SIGMOID: lambda a, slope: a * (1.0 - a),
    Act.TANH: lambda a, slope: 1.0 - a * a,
    Act.RELU: lambda a, slope: 1.0 if a > 0 else 0.0,
    Act.LEAKY_RELU: lambda a, slope: 1.0 if a > 0 else slope,
}


def _softmax_columns(Z, A_out):
    n, m = Z.shape
    for j in range(m):
        top = max(float(Z[i, j]) for i in range(n))
        e = [math.exp(float(Z[i, j]) - top) for i in range(n)]
        total = sum(e)
        for i in range(n):
            A_out[i, j] = e[i] / total


def activation_forward(Z, act, slope, A_out):
    """``A = g(Z)`` one element at a time (softmax: one column at a time).

    See ``vectorized.activation_forward``.
    """
    if act == Act.SOFTMAX:
        _softmax_columns(Z, A_out)
        return
    g = ACTIVATIONS[act]
    n, m = Z.shape
    for i in range(n):
        for j in range(m):
            A_out[i, j] = g(float(Z[i, j]), slope)


def linear_activation_forward(A_prev, W, b, act, slope, Z_out, A_out):
    """Linear then activation. See ``vectorized.linear_activation_forward``."""
    linear_forward(A_prev, W, b, Z_out)
    activation_forward(Z_out, act, slope, A_out)


def activation_backward(dA, A, act, slope, dZ_out):
    """``dZ = dA * g'(from A)`` one element at a time. See ``vectorized.activation_backward``."""
    g_prime = DERIVATIVES[act]
    n, m = A.shape
    for i in range(n):
        for j in range(m):
            dZ_out[i, j] = dA[i, j] * g_prime(float(A[i, j]), slope)


def linear_backward(dZ, A_prev, W, dA_prev_out, dW_out, db_out):
    """dW, db and dA_prev with explicit sums over examples. See ``vectorized.linear_backward``."""
    n, m = dZ.shape
    n_prev = A_prev.shape[0]
    for i in range(n):
        for k in range(n_prev):
            s = 0.0
            for j in range(m):
                s += dZ[i, j] * A_prev[k, j]
            dW_out[i, k] = s / m
        s = 0.0
        for j in range(m):
            s += dZ[i, j]
        db_out[i, 0] = s / m
    if dA_prev_out.size:
        for k in range(n_prev):
            for j in range(m):
                s = 0.0
                for i in range(n):
                    s += W[i, k] * dZ[i, j]
                dA_prev_out[k, j] = s


def linear_activation_backward(dA, A, A_prev, W, act, slope, dZ_out, dA_prev_out, dW_out, db_out):
    """Activation backward then linear backward. See ``vectorized.linear_activation_backward``."""
    activation_backward(dA, A, act, slope, dZ_out)
    linear_backward(dZ_out, A_prev, W, dA_prev_out, dW_out, db_out)


def output_backward(AL, Y, A_prev, W, dZ_out, dA_prev_out, dW_out, db_out):
    """``dZ_L = AL - Y`` then linear backward. See ``vectorized.output_backward``."""
    n, m = AL.shape
    for i in range(n):
        for j in range(m):
            dZ_out[i, j] = AL[i, j] - Y[i, j]
    linear_backward(dZ_out, A_prev, W, dA_prev_out, dW_out, db_out)


def cost_from_logits(ZL, Y, loss):
    """The cost summed entry by entry, in Python floats. See ``vectorized.cost_from_logits``."""
    n, m = ZL.shape
    total = 0.0
    for i in range(n):
        for j in range(m):
            z = float(ZL[i, j])
            y = float(Y[i, j])
            if loss == Loss.BCE:
                total += max(z, 0.0) - z * y + math.log1p(math.exp(-abs(z)))
            elif loss == Loss.CCE:
                total -= z * y  # the log-sum-exp of the column is added below
            else:
                d = z - y  # d * d overflows to inf; d ** 2 would raise OverflowError
                total += 0.5 * d * d
    if loss == Loss.CCE:
        for j in range(m):
            top = max(float(ZL[i, j]) for i in range(n))
            total += top + math.log(sum(math.exp(float(ZL[i, j]) - top) for i in range(n)))
    return total / m


def update(theta, grad, learning_rate):
    """``theta[k] -= learning_rate * grad[k]`` for each k. See ``vectorized.update``."""
    lr = theta.dtype.type(learning_rate)
    for k in range(theta.shape[0]):
        theta[k] -= lr * grad[k]


def update_momentum(theta, grad, v, learning_rate, beta):
    """Momentum, one parameter at a time. See ``vectorized.update_momentum``."""
    for k in range(theta.shape[0]):
        v[k] = beta * v[k] + (1 - beta) * grad[k]
        theta[k] -= learning_rate * v[k]


def update_rmsprop(theta, grad, s, learning_rate, beta2, epsilon):
    """RMSprop, one parameter at a time. See ``vectorized.update_rmsprop``."""
    for k in range(theta.shape[0]):
        s[k] = beta2 * s[k] + (1 - beta2) * grad[k] * grad[k]
        theta[k] -= learning_rate * grad[k] / (math.sqrt(s[k]) + epsilon)


def update_adam(theta, grad, v, s, t, learning_rate, beta1, beta2, epsilon):
    """Adam with the bias corrections, one parameter at a time. See ``vectorized.update_adam``."""
    for k in range(theta.shape[0]):
        g = float(grad[k])
        v[k] = beta1 * v[k] + (1 - beta1) * g
        s[k] = beta2 * s[k] + (1 - beta2) * g * g
        v_hat = v[k] / (1 - beta1**t)
        s_hat = s[k] / (1 - beta2**t)
        theta[k] -= learning_rate * v_hat / (math.sqrt(s_hat) + epsilon)


def add_l2(W, dW_out, scale):
    """``dW += scale * W`` and ``sum(W^2)``, entry by entry. See ``vectorized.add_l2``."""
    n, n_prev = W.shape
    total = 0.0
    for i in range(n):
        for k in range(n_prev):
            w = float(W[i, k])
            dW_out[i, k] += scale * w
            total += w * w
    return total


def _kept(key, index, keep_prob):
    """Whether unit number ``index`` (0-based, row-major) is kept: the top 53 bits of the
    ``index + 1``-th splitmix64 output from ``key`` below ``keep_prob * 2^53``."""
    mix = splitmix64((key + index * 0x9E3779B97F4A7C15) & ((1 << 64) - 1))
    return (mix >> 11) < int(keep_prob * 2.0**53)


def dropout_forward(A, keep_prob, key):
    """Inverted dropout, unit by unit. See ``vectorized.dropout_forward``."""
    n, m = A.shape
    scale = 1.0 / keep_prob
    for i in range(n):
        for j in range(m):
            A[i, j] = A[i, j] * scale if _kept(key, i * m + j, keep_prob) else 0.0


def dropout_backward(dA, A, keep_prob, key):
    """Backward through inverted dropout, unit by unit. See ``vectorized.dropout_backward``."""
    n, m = A.shape
    scale = 1.0 / keep_prob
    for i in range(n):
        for j in range(m):
            dA[i, j] = dA[i, j] * scale if _kept(key, i * m + j, keep_prob) else 0.0
            A[i, j] = A[i, j] * keep_prob
