"""Numba kernels: the product. Same names and signatures as :mod:`fastdnn.kernels.vectorized`.

What differs from the NumPy twin:

* GEMMs go to BLAS through :func:`fastdnn._blas.gemm`, the same route the jitted training loop
  takes (one backend, one way to BLAS); everything elementwise is fused into one pass after or
  before them: bias + activation after the forward GEMM, derivative mask + ``db`` row sums
  before the backward GEMMs.
* Nothing is allocated: every result lands in a caller-owned ``*_out`` array.
* Each activation is two scalar functions, in :data:`ACTIVATIONS` (forward ``g(z)``) and
  :data:`DERIVATIVES` (backward ``dz = da * g'(a)``). Loop factories turn each into a
  whole-row loop, so the activation is chosen once per call, outside the loops, and every
  loop body is branch-free: that is what lets the compiler vectorize them (a test of the
  code inside the loop kept them scalar).
* Scalars are cast to the array dtype (``dtype.type``) so float32 stays float32 in the loops.
* sigmoid and tanh are :mod:`fastdnn._vecmath`'s branch-free versions, which vectorize
  (libm's do not): in float32 arithmetic for float32 arrays, else float64, accurate to a few
  ulp of the dtype. The activation
  loops compile with FMA contraction (:data:`fastdnn._numba.CONTRACT`: their polynomials are
  chains of multiply-adds), and row sums add through :func:`_add`, the one reassociating add,
  so a loop can sum as it goes and still vectorize.

Inputs are assumed checked: C-contiguous, one floating dtype, matching shapes. The public
kernels are thin Python functions that add the BLAS route to a compiled body; the underscored
helpers are what the training loop (:mod:`fastdnn.steppers._jit_loop`) is built from, and each
is tested against its naive twin.
"""

from __future__ import annotations

import numpy as np

from .. import _blas, _vecmath
from .._numba import njit, unique_name
from .._types import Act, Loss

_BCE = int(Loss.BCE)
_CCE = int(Loss.CCE)
_LINEAR = int(Act.LINEAR)
_SIGMOID = int(Act.SIGMOID)
_SOFTMAX = int(Act.SOFTMAX)


# ------------------------------------------------------------------ activations, one place
# Inlined into the row loops at Numba's level: a call the compiler cannot see through would
# keep every loop scalar (measured: tanh over the planar net's 4 x 400 layer 7x slower).
_scalar = njit(inline="always")


# Forward: a = g(z). Backward: dz = da * g'(a), written from the output a (so only A is
# cached). ``s`` is leaky_relu's slope, ``zero``/``one`` are constants of the array dtype.
@_scalar
def _linear(z, s, zero):
    return z


@_scalar
def _linear_back(d, a, s, zero, one):
    return d


@_scalar
def _sigmoid(z, s, zero):
    return _vecmath.sigmoid(z)


@_scalar
def _sigmoid_back(d, a, s, zero, one):
    return d * (a * (one - a))


@_scalar
def _tanh(z, s, zero):
    return _vecmath.tanh(z)


@_scalar
def _tanh_back(d, a, s, zero, one):
    return d * (one - a * a)


@_scalar
def _relu(z, s, zero):
    return z if z > zero else zero


@_scalar
def _relu_back(d, a, s, zero, one):
    return d if a > zero else zero


@_scalar
def _leaky_relu(z, s, zero):
    return z if z > zero else s * z


@_scalar
def _leaky_relu_back(d, a, s, zero, one):
    return d if a > zero else s * d


#: Act code -> ``g(z, s, zero)`` of one scalar.
ACTIVATIONS = {
    Act.LINEAR: _linear,
    Act.SIGMOID: _sigmoid,
    Act.TANH: _tanh,
    Act.RELU: _relu,
    Act.LEAKY_RELU: _leaky_relu,
}
#: Act code -> ``dz = da * g'(a)`` of one scalar, written from the output ``a``.
DERIVATIVES = {
    Act.LINEAR: _linear_back,
    Act.SIGMOID: _sigmoid_back,
    Act.TANH: _tanh_back,
    Act.RELU: _relu_back,
    Act.LEAKY_RELU: _leaky_relu_back,
}


# ------------------------------------------------------------------ row loops, per activation
def _forward_rows(g):
    """A loop ``A_out = g(Z + b)`` over rows, two arrays; ``Z`` keeps ``Z + b``."""

    @njit(contract=True)
    @unique_name(g.__name__)
    def rows(Z, b, slope, A_out):
        n, m = Z.shape
        zero = Z.dtype.type(0.0)
        s = Z.dtype.type(slope)
        for i in range(n):
            bi = b[i, 0]
            z_row = Z[i]
            a_row = A_out[i]
            for j in range(m):
                z = z_row[j] + bi
                z_row[j] = z
                a_row[j] = g(z, s, zero)

    return rows


def _plain_rows(g):
    """A loop ``A_out = g(Z)`` over rows (no bias; ``Z`` untouched)."""

    @njit(contract=True)
    @unique_name(g.__name__)
    def rows(Z, slope, A_out):
        n, m = Z.shape
        zero = Z.dtype.type(0.0)
        s = Z.dtype.type(slope)
        for i in range(n):
            z_row = Z[i]
            a_row = A_out[i]
            for j in range(m):
                a_row[j] = g(z_row[j], s, zero)

    return rows


def _inplace_rows(g):
    """A loop ``Z = g(Z + b)`` over rows, in place (one array: the compiler's overlap check
    between two arrays that may alias would fall back to scalar code, measured 12x slower
    for tanh on W1)."""

    @njit(contract=True)
    @unique_name(g.__name__)
    def rows(Z, b, slope):
        n, m = Z.shape
        zero = Z.dtype.type(0.0)
        s = Z.dtype.type(slope)
        for i in range(n):
            bi = b[i, 0]
            row = Z[i]
            for j in range(m):
                row[j] = g(row[j] + bi, s, zero)

    return rows


def _mask_rows(g_back):
    """A loop ``dZ = dA * g'(A)`` over rows, each row's sum into ``db`` as it goes (the sum's
    adds are :func:`_add`'s, so the loop still vectorizes)."""

    @njit(contract=True)
    @unique_name(g_back.__name__)
    def rows(dA, A, slope, dZ_out, db_out, db_scale):
        n, m = A.shape
        zero = A.dtype.type(0.0)
        one = A.dtype.type(1.0)
        s = A.dtype.type(slope)
        for i in range(n):
            d = dA[i]
            a = A[i]
            out = dZ_out[i]
            total = 0.0
            for j in range(m):
                dz = g_back(d[j], a[j], s, zero, one)
                out[j] = dz
                total = _add(total, dz)
            db_out[i, 0] = total * db_scale

    return rows


def _mask_only_rows(g_back):
    """A loop ``dZ = dA * g'(A)`` over rows."""

    @njit(contract=True)
    @unique_name(g_back.__name__)
    def rows(dA, A, slope, dZ_out):
        n, m = A.shape
        zero = A.dtype.type(0.0)
        one = A.dtype.type(1.0)
        s = A.dtype.type(slope)
        for i in range(n):
            d = dA[i]
            a = A[i]
            out = dZ_out[i]
            for j in range(m):
                out[j] = g_back(d[j], a[j], s, zero, one)

    return rows


def _loops(make_loop, table) -> dict:
    """``{act code: the loop make_loop builds from table[act]}``; each compiles on first use."""
    return {int(a): make_loop(g) for a, g in table.items()}


#: One compiled loop per activation and kind: the switches below (the public kernels) and the
#: training loop's C entry points (:mod:`fastdnn.kernels._jit_entries`) share them.
INPLACE_LOOPS = _loops(_inplace_rows, ACTIVATIONS)
FORWARD_LOOPS = _loops(_forward_rows, ACTIVATIONS)
PLAIN_LOOPS = _loops(_plain_rows, ACTIVATIONS)
MASK_LOOPS = _loops(_mask_rows, DERIVATIVES)
MASK_ONLY_LOOPS = _loops(_mask_only_rows, DERIVATIVES)


def _switch(loops, kind: str):
    """One compiled function ``f(act, *args)`` that runs ``loops[act]`` (a hidden activation,
    codes 0..4): the choice is made once per call, never inside a loop. Compiling the switch
    compiles all five loops."""
    assert sorted(loops) == list(range(5)), sorted(loops)  # the branches below are 0..4
    f0, f1, f2, f3, f4 = (loops[a] for a in range(5))

    @njit
    @unique_name(kind)
    def by_activation(act, *args):
        if act == 0:
            f0(*args)
        elif act == 1:
            f1(*args)
        elif act == 2:
            f2(*args)
        elif act == 3:
            f3(*args)
        else:
            f4(*args)

    return by_activation


# The public kernels' switches (the functional API), compiled on their first use.
_hidden_loop = _switch(INPLACE_LOOPS, "inplace")
_mask_loop = _switch(MASK_LOOPS, "mask")
_forward_loop = _switch(FORWARD_LOOPS, "forward")
_plain_loop = _switch(PLAIN_LOOPS, "plain")
_mask_only_loop = _switch(MASK_ONLY_LOOPS, "mask_only")


@njit(contract=True)
def _softmax_columns(Z, b, A_out):
    """``A_out = softmax(Z + b)`` column by column; ``Z`` keeps ``Z + b`` (``b`` may be None).

    Each column is one example: its max is subtracted before ``exp`` (finite for any logits).
    The loops run down a column, across rows: not vectorized, but the output layer of a
    classifier has a handful of rows and its GEMM dominates.
    """
    n, m = Z.shape
    for j in range(m):
        top = -np.inf
        for i in range(n):
            if b is not None:
                Z[i, j] = Z[i, j] + b[i, 0]
            top = max(top, np.float64(Z[i, j]))
        total = 0.0
        for i in range(n):
            e = _vecmath.exp_neg(top - np.float64(Z[i, j]))
            A_out[i, j] = e
            total += e
        inv = 1.0 / total
        for i in range(n):
            A_out[i, j] = A_out[i, j] * inv


@njit
def _bias_activation(Z, b, act, slope, A_out):
    """``Z += b`` and ``A_out = g(Z)`` for any activation; ``A_out`` may be ``Z`` (then only
    ``A`` is kept). The public kernels' helper; training calls the loops through
    :mod:`fastdnn.kernels._jit_entries`."""
    if act == _SOFTMAX:
        _softmax_columns(Z, b, A_out)
    elif A_out.ctypes.data == Z.ctypes.data:
        _hidden_loop(act, Z, b, slope)
    else:
        _forward_loop(act, Z, b, slope, A_out)


@njit
def _activation_mask(dA, A, act, slope, dZ_out, db_out, db_scale):
    """``dZ = dA * g'(A)`` and ``db = db_scale * sum_j dZ`` (accumulated in float64 whatever
    the dtype). ``dZ_out`` may be ``dA`` (then the loop runs scalar: the compiler cannot prove
    the arrays apart)."""
    _mask_loop(act, dA, A, slope, dZ_out, db_out, db_scale)


# ------------------------------------------------------------------ sums and deltas
@njit(reassociate=True)
def _add(total, x):
    """``total + x`` in float64: the one add of fastdnn's row sums.

    Compiled with :data:`fastdnn._numba.REASSOCIATE`: inlined into a loop, its adds may be
    regrouped into SIMD partial sums (a single running sum is a chain of dependent adds that
    no loop around it can vectorize). The grouping is fixed by the compiled code, so sums are
    the same bits run after run on one machine. ``np.float64`` explicitly: as plain Python
    (``NUMBA_DISABLE_JIT``), float + float32 is float32.
    """
    return total + np.float64(x)


@njit
def _sum(x):
    """Sum of a 1-D array in float64 (see :func:`_add`)."""
    total = 0.0
    for j in range(x.shape[0]):
        total = _add(total, x[j])
    return total


@njit
def _row_sums(dZ, db_out, scale):
    """``db_out[i] = scale * sum_j dZ[i, j]`` for every row."""
    for i in range(dZ.shape[0]):
        db_out[i, 0] = _sum(dZ[i]) * scale


@njit
def _output_delta(AL, Y, scale, dZ_out, db_out):
    """``dZ_L = scale * (AL - Y)`` and ``db = sum_j dZ_L`` in one pass (see
    ``vectorized.output_backward`` for why ``AL - Y`` is the right delta)."""
    n, m = AL.shape
    c = AL.dtype.type(scale)
    for i in range(n):
        a, y, d = AL[i], Y[i], dZ_out[i]
        total = 0.0
        for j in range(m):
            dz = (a[j] - y[j]) * c
            d[j] = dz
            total = _add(total, dz)
        db_out[i, 0] = total


@njit
def _scale(x, c):
    flat = x.reshape(-1)
    c = x.dtype.type(c)
    for k in range(flat.shape[0]):
        flat[k] *= c


@njit
def _weight_grads(dZ, A_prev, W, dA_prev_out, dW_out, dW_scale, blas, code):
    """The two backward GEMMs: ``dW = dW_scale * dZ @ A_prev.T`` and ``dA_prev = W.T @ dZ``."""
    _blas.gemm(blas, code, dZ, _blas.PLAIN, A_prev, _blas.TRANSPOSED, dW_out)
    if dW_scale != 1.0:
        _scale(dW_out, dW_scale)
    if dA_prev_out.size:
        _blas.gemm(blas, code, W, _blas.TRANSPOSED, dZ, _blas.PLAIN, dA_prev_out)


# ------------------------------------------------------------------ compiled bodies
@njit
def _linear_forward(A_prev, W, b, Z_out, blas, code):
    _blas.gemm(blas, code, W, _blas.PLAIN, A_prev, _blas.PLAIN, Z_out)
    _bias_activation(Z_out, b, _LINEAR, 0.0, Z_out)


@njit
def _linear_activation_forward(A_prev, W, b, act, slope, Z_out, A_out, blas, code):
    _blas.gemm(blas, code, W, _blas.PLAIN, A_prev, _blas.PLAIN, Z_out)
    _bias_activation(Z_out, b, act, slope, A_out)


@njit
def _linear_backward(dZ, A_prev, W, dA_prev_out, dW_out, db_out, blas, code):
    m = dZ.shape[1]
    _row_sums(dZ, db_out, 1.0 / m)
    _weight_grads(dZ, A_prev, W, dA_prev_out, dW_out, 1.0 / m, blas, code)


@njit
def _backward(dA, A, A_prev, W, act, slope, dZ_out, dA_prev_out, dW_out, db_out, blas, code):
    m = A.shape[1]
    _activation_mask(dA, A, act, slope, dZ_out, db_out, 1.0 / m)
    _weight_grads(dZ_out, A_prev, W, dA_prev_out, dW_out, 1.0 / m, blas, code)


@njit
def _output_backward(AL, Y, A_prev, W, dZ_out, dA_prev_out, dW_out, db_out, blas, code):
    m = AL.shape[1]
    _output_delta(AL, Y, 1.0, dZ_out, db_out)
    _scale(db_out, 1.0 / m)
    _weight_grads(dZ_out, A_prev, W, dA_prev_out, dW_out, 1.0 / m, blas, code)


# ------------------------------------------------------------------ the public kernels
def linear_forward(A_prev, W, b, Z_out):
    """``Z = W @ A_prev + b``: BLAS GEMM, then one bias pass. See ``vectorized.linear_forward``."""
    _linear_forward(A_prev, W, b, Z_out, *_blas.route(Z_out.dtype))


@njit
def activation_forward(Z, act, slope, A_out):
    """``A = g(Z)`` in one pass. See ``vectorized.activation_forward``."""
    if act == _SOFTMAX:
        _softmax_columns(Z, None, A_out)
    else:
        _plain_loop(act, Z, slope, A_out)


def linear_activation_forward(A_prev, W, b, act, slope, Z_out, A_out):
    """GEMM into ``Z_out``, then bias + activation fused in one pass.

    See ``vectorized.linear_activation_forward``.
    """
    _linear_activation_forward(A_prev, W, b, act, slope, Z_out, A_out, *_blas.route(Z_out.dtype))


@njit
def activation_backward(dA, A, act, slope, dZ_out):
    """``dZ = dA * g'(A)`` in one pass. See ``vectorized.activation_backward``."""
    _mask_only_loop(act, dA, A, slope, dZ_out)


def linear_backward(dZ, A_prev, W, dA_prev_out, dW_out, db_out):
    """Row sums for ``db``, then the two GEMMs. See ``vectorized.linear_backward``."""
    _linear_backward(dZ, A_prev, W, dA_prev_out, dW_out, db_out, *_blas.route(dZ.dtype))


def linear_activation_backward(dA, A, A_prev, W, act, slope, dZ_out, dA_prev_out, dW_out, db_out):
    """Derivative mask and ``db`` in one pass, then the two GEMMs.

    See ``vectorized.linear_activation_backward``.
    """
    _backward(
        dA, A, A_prev, W, act, slope, dZ_out, dA_prev_out, dW_out, db_out, *_blas.route(A.dtype)
    )


def output_backward(AL, Y, A_prev, W, dZ_out, dA_prev_out, dW_out, db_out):
    """``dZ_L = AL - Y`` and ``db`` in one pass, then the two GEMMs.

    See ``vectorized.output_backward`` (why ``AL - Y`` is the right delta).
    """
    _output_backward(AL, Y, A_prev, W, dZ_out, dA_prev_out, dW_out, db_out, *_blas.route(AL.dtype))


@njit
def cost_from_logits(ZL, Y, loss):
    """The cost in one pass, accumulated in float64. See ``vectorized.cost_from_logits``."""
    n, m = ZL.shape
    total = 0.0
    if loss == _CCE:
        for j in range(m):
            top = -np.inf
            for i in range(n):
                top = max(top, np.float64(ZL[i, j]))
            s = 0.0
            for i in range(n):
                z = np.float64(ZL[i, j])
                s += np.exp(z - top)
                total -= np.float64(Y[i, j]) * z
            total += top + np.log(s)
        return total / m
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


# ------------------------------------------------------------------ the course's optimizers
@njit
def update_momentum(theta, grad, v, learning_rate, beta):
    """Momentum in one pass. See ``vectorized.update_momentum``."""
    dt = theta.dtype.type
    lr, b, c = dt(learning_rate), dt(beta), dt(1 - beta)
    for k in range(theta.shape[0]):
        v[k] = b * v[k] + c * grad[k]
        theta[k] -= lr * v[k]


@njit
def update_rmsprop(theta, grad, s, learning_rate, beta2, epsilon):
    """RMSprop in one pass. See ``vectorized.update_rmsprop``."""
    dt = theta.dtype.type
    lr, b2, c2, eps = dt(learning_rate), dt(beta2), dt(1 - beta2), dt(epsilon)
    for k in range(theta.shape[0]):
        g = grad[k]
        s[k] = b2 * s[k] + c2 * g * g
        theta[k] -= lr * g / (np.sqrt(s[k]) + eps)


@njit
def update_adam(theta, grad, v, s, t, learning_rate, beta1, beta2, epsilon):
    """Adam with the bias corrections in one pass. See ``vectorized.update_adam``."""
    dt = theta.dtype.type
    eps = dt(epsilon)
    b1, c1, b2, c2 = dt(beta1), dt(1 - beta1), dt(beta2), dt(1 - beta2)
    # The bias corrections as factors, not divisions: one division and one square root per
    # element instead of three divisions. Measured on W4's 108,801 parameters: 345 -> 188 us
    # a step in float64, 114 -> 52 us in float32. The twins divide: they agree to rounding.
    step = dt(learning_rate / (1 - beta1**t))
    unbias2 = dt(1 / (1 - beta2**t))
    for k in range(theta.shape[0]):
        g = grad[k]
        vk = b1 * v[k] + c1 * g
        sk = b2 * s[k] + c2 * g * g
        v[k] = vk
        s[k] = sk
        theta[k] -= step * vk / (np.sqrt(sk * unbias2) + eps)


# ------------------------------------------------------------------ regularisation
@njit
def add_l2(W, dW_out, scale):
    """``dW += scale * W`` and ``sum(W^2)`` in one pass. See ``vectorized.add_l2``."""
    w = W.reshape(-1)
    d = dW_out.reshape(-1)
    c = W.dtype.type(scale)
    total = 0.0
    for k in range(w.shape[0]):
        d[k] += c * w[k]
        total += np.float64(w[k]) * np.float64(w[k])
    return total


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@_scalar
def _splitmix64(x):
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit
def _dropout_key(seed, step, layer):
    """:func:`fastdnn._dropout.key`, compiled (all arithmetic modulo 2^64)."""
    k = _splitmix64(np.uint64(seed))
    k = _splitmix64(k + np.uint64(step))
    return _splitmix64(k + np.uint64(layer))


@njit
def _dropout_rows(A, keep_prob, key, dA):
    """Forward (``dA`` None): ``A *= D / keep_prob``. Backward: ``dA *= D / keep_prob`` and
    ``A *= keep_prob`` (the activation's own output again, where a unit was kept)."""
    n, m = A.shape
    k = np.uint64(key)
    limit = np.uint64(int(keep_prob * 2.0**53))
    scale = A.dtype.type(1.0 / keep_prob)
    zero = A.dtype.type(0.0)
    kp = A.dtype.type(keep_prob)
    for i in range(n):
        a = A[i]
        base = np.uint64(i * m)
        if dA is None:
            for j in range(m):
                x = _splitmix64(k + (base + np.uint64(j)) * _GOLDEN)
                a[j] = a[j] * scale if (x >> np.uint64(11)) < limit else zero
        else:
            d = dA[i]
            for j in range(m):
                x = _splitmix64(k + (base + np.uint64(j)) * _GOLDEN)
                d[j] = d[j] * scale if (x >> np.uint64(11)) < limit else zero
                a[j] = a[j] * kp


def dropout_forward(A, keep_prob, key):
    """Inverted dropout in one pass. See ``vectorized.dropout_forward``."""
    # np.uint64: Numba types a Python int as int64, which half of the keys overflow.
    _dropout_rows(A, keep_prob, np.uint64(key), None)


def dropout_backward(dA, A, keep_prob, key):
    """Backward through inverted dropout in one pass. See ``vectorized.dropout_backward``."""
    _dropout_rows(A, keep_prob, np.uint64(key), dA)
