"""Naive kernels: explicit Python loops, the course's "before vectorization" version.

Slow on purpose and written to be read: every sum is a visible loop over the examples. This is
the oracle the other two backends are tested against. Same names and signatures as
:mod:`fastdnn.kernels.vectorized`, which holds the full docstrings; inputs are assumed checked.
"""

from __future__ import annotations

import math

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


def activation_forward(Z, act, slope, A_out):
    """``A = g(Z)`` one element at a time. See ``vectorized.activation_forward``."""
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
            else:
                d = z - y  # d * d overflows to inf; d ** 2 would raise OverflowError
                total += 0.5 * d * d
    return total / m


def update(theta, grad, learning_rate):
    """``theta[k] -= learning_rate * grad[k]`` for each k. See ``vectorized.update``."""
    lr = theta.dtype.type(learning_rate)
    for k in range(theta.shape[0]):
        theta[k] -= lr * grad[k]
