"""Numba kernels: the product. Same names and signatures as :mod:`fastdnn.kernels.vectorized`.

What differs from the NumPy twin:

* GEMMs go to BLAS through ``np.dot(..., out=...)`` (Numba calls scipy's BLAS); everything
  elementwise is fused into one pass after or before them: bias + activation after the forward
  GEMM, derivative mask + ``db`` row sums before the backward GEMMs.
* Nothing is allocated: every result lands in a caller-owned ``*_out`` array.
* The activation code is tested once per call, outside the loops, so each loop body is
  branch-free apart from sigmoid's sign test.
* Scalars are cast to the array dtype (``dtype.type``) so float32 stays float32 in the loops.
* sigmoid and tanh are :mod:`fastdnn._vecmath`'s branch-free versions, which vectorize
  (libm's do not); they compute in float64 and are accurate to a few ulp.

Inputs are assumed checked: C-contiguous, one floating dtype, matching shapes.
"""

from __future__ import annotations

import numpy as np

from .. import _vecmath
from .._numba import njit
from .._types import Act, Loss

_LINEAR = int(Act.LINEAR)
_SIGMOID = int(Act.SIGMOID)
_TANH = int(Act.TANH)
_RELU = int(Act.RELU)
_LEAKY = int(Act.LEAKY_RELU)
_BCE = int(Loss.BCE)


@njit
def _bias_activation_inplace(Z, b, act, slope, A_out):
    """One pass after the GEMM: ``Z += b`` and ``A_out = g(Z)`` (A_out may be Z)."""
    if A_out.ctypes.data == Z.ctypes.data:
        # One array, not two that may overlap: the compiler's overlap check would fail at
        # run time and fall back to scalar code (measured 12x slower for tanh on W1).
        _bias_activation_rows(Z, b, act, slope)
        return
    n, m = Z.shape
    zero = Z.dtype.type(0.0)
    s = Z.dtype.type(slope)
    for i in range(n):
        bi = b[i, 0]
        z_row = Z[i]
        a_row = A_out[i]
        if act == _SIGMOID:
            for j in range(m):
                z = z_row[j] + bi
                z_row[j] = z
                a_row[j] = _vecmath.sigmoid(z)
        elif act == _TANH:
            for j in range(m):
                z = z_row[j] + bi
                z_row[j] = z
                a_row[j] = _vecmath.tanh(z)
        elif act == _RELU:
            for j in range(m):
                z = z_row[j] + bi
                z_row[j] = z
                a_row[j] = z if z > zero else zero
        elif act == _LEAKY:
            for j in range(m):
                z = z_row[j] + bi
                z_row[j] = z
                a_row[j] = z if z > zero else s * z
        else:
            for j in range(m):
                z = z_row[j] + bi
                z_row[j] = z
                a_row[j] = z


@njit
def _bias_activation_rows(Z, b, act, slope):
    """``Z = g(Z + b)`` in place, keeping only the activation."""
    n, m = Z.shape
    zero = Z.dtype.type(0.0)
    s = Z.dtype.type(slope)
    for i in range(n):
        bi = b[i, 0]
        row = Z[i]
        if act == _SIGMOID:
            for j in range(m):
                row[j] = _vecmath.sigmoid(row[j] + bi)
        elif act == _TANH:
            for j in range(m):
                row[j] = _vecmath.tanh(row[j] + bi)
        elif act == _RELU:
            for j in range(m):
                z = row[j] + bi
                row[j] = z if z > zero else zero
        elif act == _LEAKY:
            for j in range(m):
                z = row[j] + bi
                row[j] = z if z > zero else s * z
        else:
            for j in range(m):
                row[j] = row[j] + bi


@njit
def _row_sum(x):
    """Sum of a 1-D array in float64, in eight running sums (a fixed order, so deterministic).

    One running sum is a chain of dependent additions (about 4 cycles each) that the compiler
    may not reorder; eight independent ones fill a SIMD register.
    """
    m = x.shape[0]
    m8 = m - m % 8
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    for j in range(0, m8, 8):
        s0 += x[j]
        s1 += x[j + 1]
        s2 += x[j + 2]
        s3 += x[j + 3]
        s4 += x[j + 4]
        s5 += x[j + 5]
        s6 += x[j + 6]
        s7 += x[j + 7]
    total = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for j in range(m8, m):
        total += x[j]
    return total


@njit
def _mask_rowsum(dA, A, act, slope, dZ_out, db_out, db_scale):
    """Before the backward GEMMs: ``dZ = dA * g'(A)`` and ``db = db_scale * sum_j dZ``.

    Row by row: the mask over a row (a loop the compiler vectorizes), then the row's sum while
    it is still in L1 (a sum in the same loop would keep the whole loop scalar). ``db`` is
    accumulated in float64 whatever the dtype. ``dZ_out`` may be ``dA`` (then the mask loop
    runs scalar: the compiler cannot prove the arrays apart).
    """
    n, m = A.shape
    one = A.dtype.type(1.0)
    zero = A.dtype.type(0.0)
    s = A.dtype.type(slope)
    for i in range(n):
        d = dA[i]
        a = A[i]
        out = dZ_out[i]
        if act == _SIGMOID:
            for j in range(m):
                out[j] = d[j] * (a[j] * (one - a[j]))
        elif act == _TANH:
            for j in range(m):
                out[j] = d[j] * (one - a[j] * a[j])
        elif act == _RELU:
            for j in range(m):
                out[j] = d[j] if a[j] > zero else zero
        elif act == _LEAKY:
            for j in range(m):
                out[j] = d[j] if a[j] > zero else s * d[j]
        else:
            for j in range(m):
                out[j] = d[j]
        db_out[i, 0] = _row_sum(out) * db_scale


@njit
def _rowsum(dZ, db_out, db_scale):
    for i in range(dZ.shape[0]):
        db_out[i, 0] = _row_sum(dZ[i]) * db_scale


@njit
def _weight_grads(dZ, A_prev, W, dA_prev_out, dW_out, dW_scale):
    """The two backward GEMMs: ``dW = dW_scale * dZ @ A_prev.T`` and ``dA_prev = W.T @ dZ``."""
    np.dot(dZ, A_prev.T, out=dW_out)
    if dW_scale != 1.0:
        scale = dW_out.dtype.type(dW_scale)
        flat = dW_out.reshape(-1)
        for k in range(flat.shape[0]):
            flat[k] *= scale
    if dA_prev_out.size:
        np.dot(W.T, dZ, out=dA_prev_out)


@njit
def linear_forward(A_prev, W, b, Z_out):
    """``Z = W @ A_prev + b``: BLAS GEMM, then one bias pass. See ``vectorized.linear_forward``."""
    np.dot(W, A_prev, out=Z_out)
    _bias_activation_inplace(Z_out, b, _LINEAR, 0.0, Z_out)


@njit
def activation_forward(Z, act, slope, A_out):
    """``A = g(Z)`` in one pass. See ``vectorized.activation_forward``."""
    n, m = Z.shape
    zero = Z.dtype.type(0.0)
    s = Z.dtype.type(slope)
    for i in range(n):
        for j in range(m):
            z = Z[i, j]
            if act == _SIGMOID:
                A_out[i, j] = _vecmath.sigmoid(z)
            elif act == _TANH:
                A_out[i, j] = _vecmath.tanh(z)
            elif act == _RELU:
                A_out[i, j] = z if z > zero else zero
            elif act == _LEAKY:
                A_out[i, j] = z if z > zero else s * z
            else:
                A_out[i, j] = z


@njit
def linear_activation_forward(A_prev, W, b, act, slope, Z_out, A_out):
    """GEMM into ``Z_out``, then bias + activation fused in one pass.

    See ``vectorized.linear_activation_forward``.
    """
    np.dot(W, A_prev, out=Z_out)
    _bias_activation_inplace(Z_out, b, act, slope, A_out)


@njit
def activation_backward(dA, A, act, slope, dZ_out):
    """``dZ = dA * g'(A)`` in one pass. See ``vectorized.activation_backward``."""
    n, m = A.shape
    one = A.dtype.type(1.0)
    zero = A.dtype.type(0.0)
    s = A.dtype.type(slope)
    for i in range(n):
        for j in range(m):
            a = A[i, j]
            if act == _SIGMOID:
                dZ_out[i, j] = dA[i, j] * (a * (one - a))
            elif act == _TANH:
                dZ_out[i, j] = dA[i, j] * (one - a * a)
            elif act == _RELU:
                dZ_out[i, j] = dA[i, j] if a > zero else zero
            elif act == _LEAKY:
                dZ_out[i, j] = dA[i, j] if a > zero else s * dA[i, j]
            else:
                dZ_out[i, j] = dA[i, j]


@njit
def linear_backward(dZ, A_prev, W, dA_prev_out, dW_out, db_out):
    """Row sums for ``db``, then the two GEMMs. See ``vectorized.linear_backward``."""
    m = dZ.shape[1]
    _rowsum(dZ, db_out, 1.0 / m)
    _weight_grads(dZ, A_prev, W, dA_prev_out, dW_out, 1.0 / m)


@njit
def linear_activation_backward(dA, A, A_prev, W, act, slope, dZ_out, dA_prev_out, dW_out, db_out):
    """Derivative mask and ``db`` in one pass, then the two GEMMs.

    See ``vectorized.linear_activation_backward``.
    """
    m = A.shape[1]
    _mask_rowsum(dA, A, act, slope, dZ_out, db_out, 1.0 / m)
    _weight_grads(dZ_out, A_prev, W, dA_prev_out, dW_out, 1.0 / m)


@njit
def output_backward(AL, Y, A_prev, W, dZ_out, dA_prev_out, dW_out, db_out):
    """``dZ_L = AL - Y`` and ``db`` in one pass, then the two GEMMs.

    See ``vectorized.output_backward`` (why ``AL - Y`` is the right delta).
    """
    n, m = AL.shape
    for i in range(n):
        a, y, d = AL[i], Y[i], dZ_out[i]
        for j in range(m):
            d[j] = a[j] - y[j]
    _rowsum(dZ_out, db_out, 1.0 / m)
    _weight_grads(dZ_out, A_prev, W, dA_prev_out, dW_out, 1.0 / m)


@njit
def cost_from_logits(ZL, Y, loss):
    """The cost in one pass, accumulated in float64. See ``vectorized.cost_from_logits``."""
    n, m = ZL.shape
    total = 0.0
    for i in range(n):
        for j in range(m):
            z = np.float64(ZL[i, j])
            y = np.float64(Y[i, j])
            if loss == _BCE:
                total += max(z, 0.0) - z * y + np.log1p(np.exp(-abs(z)))
            else:
                total += 0.5 * (z - y) * (z - y)
    return total / m


@njit
def update(theta, grad, learning_rate):
    """``theta -= learning_rate * grad`` in one pass. See ``vectorized.update``."""
    lr = theta.dtype.type(learning_rate)
    for k in range(theta.shape[0]):
        theta[k] -= lr * grad[k]
