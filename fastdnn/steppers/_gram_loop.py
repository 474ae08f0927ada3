"""The wide-input (Gram) training loop: full-batch steps with the first layer in the span of X.

With full-batch gradient descent every update of ``W1`` is ``-lr * delta1 @ X.T`` (``delta1``
is ``dZ1 / m``), so ``W1`` only moves inside the span of the examples. Within one chunk of
steps, starting from ``W1_base``, with ``S(t)`` the sum of ``lr_s * delta1(s)`` over the
chunk's steps ``s < t``::

    W1(t) = W1_base - S(t) @ X.T
    Z1(t) = W1(t) @ X + b1 = P - S(t) @ G + b1        P = W1_base @ X,  G = X.T @ X  (m, m)

So a step costs ``n1 * m * m`` multiply-adds in the first layer instead of ``2 * n1 * n_x * m``
(the forward product and ``dW1``). A chunk starts with ``P = W1 @ X`` and ends by writing
``W1 -= S @ X.T`` into ``theta`` (one product each, together one direct step): between
chunks ``theta`` is ordinary, and whatever the training loop does there (snapshots,
callbacks that change the parameters, a restore after divergence) is simply what the next
chunk starts from.

Rounding. ``S @ G`` sums terms of ``G``'s size, ``n_x`` times larger than ``X``'s; on
inputs that are not centred (pixels in [0, 1]) most of it cancels, so its rounding error is
larger than that of the direct path's ``W1 @ X`` and grows with ``S``, i.e. with the steps
since ``P`` was computed. Recomputing ``P`` at every chunk bounds it: carrying
``P -= S @ G`` across chunks instead saves one product per chunk, but drifted 10x more from
the direct path (2e-13 against 2e-14 relative after the 2500 steps of the course's 2-layer
cat run). For the same reason ``G``, ``P``, ``S`` and ``S @ G`` are float64 whatever the
network's dtype: on a float32 logistic regression (300 inputs in [0, 1), 300 steps) a
float32 state drifted 2.6e-5 from the direct path, the float64 one 4e-6, and the direct path
from itself with ``X`` in the other memory order 7e-7; the cost per step did not measurably
change (the products with ``G`` are small).

Layers 2..L are exactly those of :mod:`fastdnn.steppers._jit_loop`, written out again here so
that changes to that loop's bundles do not reach this one: the same kernels
(:mod:`fastdnn.kernels.jit`), the same BLAS route, the same pre-scaled deltas.

Extension points (exact in the span; not wired yet):

* learning-rate decay: ``S += lr_t * delta1`` already takes the step's own rate; compute
  ``lr_t`` where :func:`gram_steps` reads ``hyper[LEARNING_RATE]``.
* momentum: ``v_W1 = V @ X.T`` with ``V = beta V + (1 - beta) delta1``; accumulate
  ``S += lr_t * V`` and materialise ``v_W1`` at the chunk's end as ``W1`` is.
* L2 (weight decay ``c = 1 - lr_t * lambda / m`` per step): ``W1 = a * W1_base - S @ X.T``
  with ``a *= c`` and ``S = c * S + lr_t * delta1``; the forward becomes ``a * P - S @ G``.

RMSprop and Adam scale ``dW1`` element by element, which leaves the span: they (and
mini-batches, whose ``X`` changes every step) use the direct loop.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._blas import Blas, gemm
from .._numba import njit
from ..kernels.jit import (
    _activation_mask,
    _bias_activation,
    _output_delta,
    cost_from_logits,
    update,
)
from ._jit_loop import B_OFF, GEMM_DA, GEMM_DW, GEMM_FWD, N_PREV, W_OFF, N


class Gram(NamedTuple):
    """The first layer's implicit state (built once per stepper). ``G``, ``P``, ``S`` and ``Q``
    are float64 whatever the network's dtype (see the module's notes on rounding)."""

    G: np.ndarray  #: (m, m): X.T @ X, computed once
    P: np.ndarray  #: (n1, m): W1_base @ X, at the start of each chunk
    S: np.ndarray  #: (n1, m): sum of lr_s * delta1(s) over the chunk's steps so far
    Q: np.ndarray  #: (n1, m): S @ G, each step
    Sx: (
        np.ndarray
    )  #: (n1, m) in the network's dtype: S for the product with X (S itself in float64)
    blas64: Blas  #: float64 BLAS, for S @ G
    code64: int  #: its library (a ``fastdnn._blas.USE_*`` code)


class Hyper(NamedTuple):
    """The step's hyper-parameters, written before each call (the bundle is built once)."""

    theta: np.ndarray
    grad: np.ndarray
    hyper: np.ndarray  #: float64 [learning_rate]


LEARNING_RATE = 0  # index into Hyper.hyper


@njit
def _difference(P, Q, Z):
    """``Z = P - Q``, rounded to ``Z``'s dtype."""
    n, m = Z.shape
    for i in range(n):
        p, q, z = P[i], Q[i], Z[i]
        for j in range(m):
            z[j] = p[j] - q[j]


@njit
def _copy_into(src, dst):
    """``dst[...] = src`` (rounded to ``dst``'s dtype); nothing when they are one array."""
    if src.ctypes.data == dst.ctypes.data:
        return
    n, m = dst.shape
    for i in range(n):
        a, b = src[i], dst[i]
        for j in range(m):
            b[j] = a[j]


@njit
def _accumulate(S, delta, lr):
    """``S += lr * delta``: the first layer's weight update, kept in the span of X."""
    n, m = S.shape
    c = np.float64(lr)
    for i in range(n):
        s, d = S[i], delta[i]
        for j in range(m):
            s[j] += c * d[j]


@njit
def _forward(gram, theta, net, work, m):
    """Forward pass: layer 1 from ``P - S @ G``, layers 2..L as the direct loop's."""
    table, acts = net.table, work.acts
    L = table.shape[0]
    off = 0
    for l in range(L):
        n, k, wo, bo = table[l, N], table[l, N_PREV], table[l, W_OFF], table[l, B_OFF]
        b = theta[bo : bo + n].reshape((n, 1))
        A = acts[off : off + n * m].reshape((n, m))
        Z = work.ZL[: n * m].reshape((n, m)) if l == L - 1 else A
        if l == 0:
            # Z1 = W1 @ X = P - S @ G, without W1 (stale in theta until the chunk ends).
            gemm(gram.blas64, gram.code64, gram.S, False, gram.G, False, gram.Q)
            _difference(gram.P, gram.Q, Z)
        else:
            W = theta[wo : wo + n * k].reshape((n, k))
            A_prev = acts[off - k * m : off].reshape((k, m))
            gemm(net.blas, table[l, GEMM_FWD], W, False, A_prev, False, Z)
        _bias_activation(Z, b, net.output if l == L - 1 else net.hidden, net.slope, A)
        off += n * m


@njit
def _backward(Y, gram, theta, grad, net, work, lr):
    """Backward pass after :func:`_forward`: ``grad`` of layers 2..L and of ``b1`` (times
    ``m``, pre-scaled as in the direct loop), and ``S += lr * delta1`` instead of ``dW1``."""
    table, acts = net.table, work.acts
    L = table.shape[0]
    m = Y.shape[1]
    scale = 1.0 / m
    off = 0
    for l in range(L - 1):
        off += table[l, N] * m
    # Output layer: delta = (AL - Y) / m = dZ_L / m for sigmoid + BCE and linear + halved MSE.
    n = table[L - 1, N]
    AL = acts[off : off + n * m].reshape((n, m))
    delta = work.D[: n * m].reshape((n, m))
    bo = table[L - 1, B_OFF]
    _output_delta(AL, Y, scale, delta, grad[bo : bo + n].reshape((n, 1)))
    for l in range(L - 1, -1, -1):
        n, k, wo = table[l, N], table[l, N_PREV], table[l, W_OFF]
        if l == 0:
            # W1 -= lr * delta1 @ X.T, kept implicit: S accumulates lr * delta1.
            _accumulate(gram.S, delta, lr)
            break
        dW = grad[wo : wo + n * k].reshape((n, k))
        off -= k * m
        A_prev = acts[off : off + k * m].reshape((k, m))
        gemm(net.blas, table[l, GEMM_DW], delta, False, A_prev, True, dW)
        W = theta[wo : wo + n * k].reshape((n, k))
        dA = work.E[: k * m].reshape((k, m))
        gemm(net.blas, table[l, GEMM_DA], W, True, delta, False, dA)
        bo_prev = table[l - 1, B_OFF]
        delta = work.D[: k * m].reshape((k, m))
        db = grad[bo_prev : bo_prev + k].reshape((k, 1))
        _activation_mask(dA, A_prev, net.hidden, net.slope, delta, db, 1.0)


@njit
def _step(data, gram, net, work, upd, lr, want_cost):
    """One full-batch step; returns the cost of its forward pass when ``want_cost``."""
    m = data.Y.shape[1]
    _forward(gram, upd.theta, net, work, m)
    Y = data.Y
    cost = np.nan
    if want_cost:
        cost = cost_from_logits(work.ZL[: Y.size].reshape(Y.shape), Y, net.loss)
    _backward(data.Y, gram, upd.theta, upd.grad, net, work, lr)
    # Everything after W1 (b1 first) moves as in the direct loop; W1 waits for the chunk's end.
    w1_end = net.table[0, B_OFF]
    update(upd.theta[w1_end:], upd.grad[w1_end:], lr)
    return cost


@njit
def begin_chunk(data, gram, net, theta):
    """``P = W1 @ X`` (``W1`` as ``theta`` holds it now), ``S = 0``."""
    table = net.table
    n, k = table[0, N], table[0, N_PREV]
    W1 = theta[: n * k].reshape((n, k))
    # The product in the network's dtype (as the direct path's), into Sx, free until the end.
    gemm(net.blas, table[0, GEMM_FWD], W1, False, data.X, data.x_t, gram.Sx)
    _copy_into(gram.Sx, gram.P)
    gram.S[...] = 0


@njit
def end_chunk(data, gram, net, theta, grad):
    """``W1 -= S @ X.T`` into ``theta`` (``grad``'s ``W1`` block is the scratch space)."""
    table = net.table
    n, k = table[0, N], table[0, N_PREV]
    T = grad[: n * k]
    _copy_into(gram.S, gram.Sx)
    gemm(net.blas, table[0, GEMM_DW], gram.Sx, False, data.X, not data.x_t, T.reshape((n, k)))
    update(theta[: n * k], T, 1.0)


@njit
def gram_steps(data, gram, net, work, upd, n_steps, want_cost, counter):
    """``n_steps`` full-batch gradient steps, the first layer in Gram form; ``W1`` is written
    to ``theta`` at the end. Returns the cost of the first step's forward pass if
    ``want_cost``. ``counter[0]`` counts completed steps."""
    begin_chunk(data, gram, net, upd.theta)
    cost = np.nan
    for s in range(n_steps):
        lr = upd.hyper[LEARNING_RATE]  # learning-rate decay: this step's rate goes here
        c = _step(data, gram, net, work, upd, lr, want_cost and s == 0)
        if s == 0:
            cost = c
        counter[0] += 1
    end_chunk(data, gram, net, upd.theta, upd.grad)
    return cost
