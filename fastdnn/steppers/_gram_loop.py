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

Course 2. Learning-rate decay only changes the rate each step adds to ``S``. L2 (weight
decay ``c_t = 1 - lr_t lambd / m``) keeps the span too, with a scalar on the base::

    W1(t+1) = c_t W1(t) - lr_t delta1 @ X.T   =>   W1(t) = a(t) W1_base - S(t) @ X.T
    a <- c_t a,   S <- c_t S + lr_t delta1,   Z1 = a P - S @ G + b1

Inverted dropout masks hidden activations after the first layer's product, and the softmax
output changes only ``delta_L``: ``delta1`` stays an (n1, m) matrix, ``dW1 = delta1 @ X.T``.

Layers 2..L run the direct loop's code (:mod:`fastdnn.steppers._jit_loop`): its bundles
(``Data``, ``Net``, ``Work``, ``State``, ``Train``/``Plain``), its dropout and learning-rate
helpers, the same kernels and BLAS route, the same pre-scaled deltas. Only the first layer's
product, ``dW1`` and the ``W1`` update differ.

Momentum keeps the span as well, but its velocity at a chunk's start, ``v_base``, is any
matrix (zero, or a previous fit's), so it joins ``W1_base`` as a second base, with scalar
coefficients (:func:`_accumulate`)::

    W1 = a W1_base + c v_base - S @ X.T      v_W1 = e W1_base + f v_base + U @ X.T
    Z1 = a P + c R - S @ G + b1              R = v_base @ X

which costs two more products with ``X`` per chunk (``R``, and ``U @ X.T`` at its end).
RMSprop and Adam scale ``dW1`` element by element, which leaves the span; they and
mini-batches (whose ``X`` changes every step) use the direct loop.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._blas import PLAIN, Blas, gemm
from .._numba import njit, overload
from .._types import Opt
from ..kernels._jit_entries import hidden_activation, output_activation
from ..kernels.jit import add_l2, update, update_momentum
from . import DONE, STEP
from ._jit_loop import (
    B_OFF,
    GEMM_DW,
    GEMM_FWD,
    LEARNING_RATE,
    N_PREV,
    W_OFF,
    N,
    Plain,
    _cost,
    _dropout_forward,
    _hidden_layer_backward,
    _is_plain,
    _output_layer_delta,
    learning_rate_at,
)


class Gram(NamedTuple):
    """The first layer's implicit state (built once per stepper): within a chunk,
    ``W1 = a W1_base + c v_base - S @ X.T`` and (momentum) ``v_W1 = e W1_base + f v_base +
    U @ X.T``. All float64 whatever the network's dtype (see the module's notes on rounding)."""

    G: np.ndarray  #: (m, m): X.T @ X, computed once
    P: np.ndarray  #: (n1, m): W1_base @ X, at the start of each chunk
    R: np.ndarray  #: (n1, m): v_base @ X (momentum's velocity of W1), at the chunk's start
    S: np.ndarray  #: (n1, m): W1's span part, negated
    U: np.ndarray  #: (n1, m): momentum's velocity of W1, its span part
    Q: np.ndarray  #: (n1, m): S @ G, each step
    Sx: np.ndarray  #: (n1, m) in the network's dtype: S or U for the products with X
    coef: np.ndarray  #: float64 [a, c, e, f]
    blas64: Blas  #: float64 BLAS, for S @ G
    code64: int  #: its library (a ``fastdnn._blas.USE_*`` code)


CA, CC, CE, CF = range(4)  # indices into Gram.coef
_MOMENTUM = int(Opt.MOMENTUM)


# Course-2 settings, as in _jit_loop: each helper is plain Python (what runs under
# NUMBA_DISABLE_JIT) and, compiled, an overload that picks by the type of ``train`` -- a
# Course-1 run (``Plain``) compiles without decay and L2.
def _rate(train, lr0, step):
    """This step's learning rate (the course's decay)."""
    return lr0 if isinstance(train, Plain) else learning_rate_at(train, lr0, step)


def _l2_mu(train, m):
    """L2's ``lambd / m``: ``dW1 = delta1 @ X.T + mu W1``."""
    return 0.0 if isinstance(train, Plain) else train.lambd / m


def _beta(train):
    """Momentum's ``beta``, or -1 when the optimizer is not momentum."""
    if isinstance(train, Plain) or train.optimizer != _MOMENTUM:
        return -1.0
    return train.beta1


def _l2_rest(theta, grad, table, train, m, want_cost):
    """``dW += lambd/m W`` for layers 2..L (``W1``'s share is :func:`_shrink`); returns the
    cost term ``lambd/2m sum ||W||^2`` when ``want_cost`` (``W1`` from ``theta``: exact at a
    chunk's first step, the only one whose cost is asked for), else 0."""
    if isinstance(train, Plain) or train.lambd == 0.0:
        return 0.0
    return _l2_rest_impl(theta, grad, table, train.lambd, m, want_cost)


@overload(_rate)
def _ol_rate(train, lr0, step):
    if _is_plain(train):
        return lambda train, lr0, step: lr0
    return lambda train, lr0, step: learning_rate_at(train, lr0, step)


@overload(_l2_mu)
def _ol_l2_mu(train, m):
    if _is_plain(train):
        return lambda train, m: 0.0
    return lambda train, m: train.lambd / m


@overload(_beta)
def _ol_beta(train):
    if _is_plain(train):
        return lambda train: -1.0
    return lambda train: train.beta1 if train.optimizer == _MOMENTUM else -1.0


@overload(_l2_rest)
def _ol_l2_rest(theta, grad, table, train, m, want_cost):
    if _is_plain(train):
        return lambda theta, grad, table, train, m, want_cost: 0.0

    def impl(theta, grad, table, train, m, want_cost):
        if train.lambd == 0.0:
            return 0.0
        return _l2_rest_impl(theta, grad, table, train.lambd, m, want_cost)

    return impl


@njit
def _l2_rest_impl(theta, grad, table, lambd, m, want_cost):
    total = 0.0
    for l in range(table.shape[0]):
        n, k, wo = table[l, N], table[l, N_PREV], table[l, W_OFF]
        if l > 0:
            total += add_l2(theta[wo : wo + n * k], grad[wo : wo + n * k], lambd / m)
        elif want_cost:
            w = theta[wo : wo + n * k]
            for i in range(n * k):
                total += np.float64(w[i]) * np.float64(w[i])
    return lambd / (2.0 * m) * total


@njit
def _combine(a, P, c, R, Q, Z):
    """``Z = a P + c R - Q``, rounded to ``Z``'s dtype (``R`` skipped when ``c`` is 0: then it
    may be empty, and is not indexed)."""
    n, m = Z.shape
    for i in range(n):
        p, q, z = P[i], Q[i], Z[i]
        if c == 0.0:
            for j in range(m):
                z[j] = a * p[j] - q[j]
        else:
            r = R[i]
            for j in range(m):
                z[j] = a * p[j] + c * r[j] - q[j]


@njit
def _copy_into(src, dst):
    """``dst[...] = src`` (rounded to ``dst``'s dtype); nothing when they are one array."""
    if src.ctypes.data == dst.ctypes.data:
        return
    n, m = dst.shape
    for i in range(n):
        x, y = src[i], dst[i]
        for j in range(m):
            y[j] = x[j]


@njit
def _accumulate(gram, delta, lr, mu, beta):
    """One step of ``W1`` (and momentum's ``v_W1``) in the span of X, with ``delta1`` and
    ``dW1 = delta1 @ X.T + mu W1``:

    gradient descent: ``W1 <- W1 - lr dW1``, so ``a <- (1 - lr mu) a`` and
    ``S <- (1 - lr mu) S + lr delta1``;
    momentum: ``v <- beta v + (1 - beta) dW1``, ``W1 <- W1 - lr v``, so
    ``U <- beta U + (1 - beta)(delta1 - mu S)``, ``e <- beta e + (1 - beta) mu a``,
    ``f <- beta f + (1 - beta) mu c``, then ``a <- a - lr e``, ``c <- c - lr f``,
    ``S <- S + lr U``.
    """
    S, U, k = gram.S, gram.U, gram.coef
    n, m = S.shape
    lr = np.float64(lr)
    if beta < 0.0:
        shrink = 1.0 - lr * mu
        for i in range(n):
            s, d = S[i], delta[i]
            for j in range(m):
                s[j] = shrink * s[j] + lr * d[j]
        k[CA] *= shrink
        return
    keep = 1.0 - beta
    for i in range(n):
        s, u, d = S[i], U[i], delta[i]
        for j in range(m):
            u[j] = beta * u[j] + keep * (d[j] - mu * s[j])
            s[j] += lr * u[j]
    k[CE] = beta * k[CE] + keep * mu * k[CA]
    k[CF] = beta * k[CF] + keep * mu * k[CC]
    k[CA] -= lr * k[CE]
    k[CC] -= lr * k[CF]


@njit
def _forward(gram, theta, net, work, train, step, m):
    """Forward pass: layer 1 from ``a P - S @ G``, layers 2..L as the direct loop's (dropout
    included: it masks A, after the first layer's product)."""
    table, acts = net.table, work.acts
    L = table.shape[0]
    off = 0
    for l in range(L):
        n, k, wo, bo = table[l, N], table[l, N_PREV], table[l, W_OFF], table[l, B_OFF]
        b = theta[bo : bo + n].reshape((n, 1))
        A = acts[off : off + n * m].reshape((n, m))
        Z = work.ZL[: n * m].reshape((n, m)) if l == L - 1 else A
        if l == 0:
            # Z1 = W1 @ X = a P + c R - S @ G, without W1 (stale in theta until the chunk ends).
            gemm(gram.blas64, gram.code64, gram.S, PLAIN, gram.G, PLAIN, gram.Q)
            _combine(gram.coef[CA], gram.P, gram.coef[CC], gram.R, gram.Q, Z)
        else:
            W = theta[wo : wo + n * k].reshape((n, k))
            A_prev = acts[off - k * m : off].reshape((k, m))
            gemm(net.blas, table[l, GEMM_FWD], W, PLAIN, A_prev, PLAIN, Z)
        if l == L - 1:
            output_activation(net.acts, Z, b, A)
        else:
            hidden_activation(net.acts, A, b, net.slope)
            _dropout_forward(A, train, step, l + 1)
        off += n * m


@njit
def _backward(Y, gram, theta, grad, net, work, train, step, lr, mu, beta):
    """Backward pass after :func:`_forward`: ``grad`` of layers 2..L and of ``b1`` (pre-scaled
    by ``1/m`` as in the direct loop), and :func:`_accumulate` instead of ``dW1``."""
    delta, off = _output_layer_delta(Y, grad, net, work, 1.0 / Y.shape[1])
    for l in range(net.table.shape[0] - 1, 0, -1):
        delta, off = _hidden_layer_backward(
            l, delta, off, theta, grad, net, work, train, step, False, 0.0
        )
    # W1's step, kept implicit: W1 is written at the chunk's end.
    _accumulate(gram, delta, lr, mu, beta)


@njit
def _step(data, gram, net, work, train, st, want_cost):
    """One full-batch step; returns the cost of its forward pass when ``want_cost``."""
    m = data.Y.shape[1]
    step = st.clock[STEP]
    lr = _rate(train, st.hyper[LEARNING_RATE], step)
    _forward(gram, st.theta, net, work, train, step, m)
    cost = _cost(data.Y, net, work) if want_cost else np.nan
    beta = _beta(train)
    _backward(data.Y, gram, st.theta, st.grad, net, work, train, step, lr, _l2_mu(train, m), beta)
    cost += _l2_rest(st.theta, st.grad, net.table, train, m, want_cost)
    # Everything after W1 (b1 first) moves as in the direct loop; W1 waits for the chunk's end.
    w1_end = net.table[0, B_OFF]
    if beta < 0.0:
        update(st.theta[w1_end:], st.grad[w1_end:], lr)
    else:
        update_momentum(st.theta[w1_end:], st.grad[w1_end:], st.v[w1_end:], lr, beta)
    st.clock[STEP] += 1
    st.clock[DONE] += 1
    return cost


@njit
def begin_chunk(data, gram, net, st, momentum):
    """``P = W1 @ X`` (``W1`` as ``theta`` holds it now), ``R = v_W1 @ X`` with momentum,
    ``S = U = 0``, ``a = f = 1``, ``c = e = 0``."""
    table = net.table
    n, k = table[0, N], table[0, N_PREV]
    # The products in the network's dtype (as the direct path's), into Sx, free until the end.
    W1 = st.theta[: n * k].reshape((n, k))
    gemm(net.blas, table[0, GEMM_FWD], W1, PLAIN, data.X, data.x_t, gram.Sx)
    _copy_into(gram.Sx, gram.P)
    if momentum:
        v1 = st.v[: n * k].reshape((n, k))
        gemm(net.blas, table[0, GEMM_FWD], v1, PLAIN, data.X, data.x_t, gram.Sx)
        _copy_into(gram.Sx, gram.R)
        gram.U[...] = 0
    gram.S[...] = 0
    coef = gram.coef
    coef[CA], coef[CC], coef[CE], coef[CF] = 1.0, 0.0, 0.0, 1.0


@njit
def end_chunk(data, gram, net, st, momentum):
    """``W1 = a W1 + c v_W1 - S @ X.T`` into ``theta`` and, with momentum, ``v_W1 = e W1 +
    f v_W1 + U @ X.T`` into ``v`` (``grad``'s ``W1`` block is the scratch space)."""
    table = net.table
    n, k = table[0, N], table[0, N_PREV]
    T = st.grad[: n * k]
    W1 = st.theta[: n * k]
    coef = gram.coef
    a, c, e, f = coef[CA], coef[CC], coef[CE], coef[CF]
    _copy_into(gram.S, gram.Sx)
    gemm(net.blas, table[0, GEMM_DW], gram.Sx, PLAIN, data.X, not data.x_t, T.reshape((n, k)))
    if momentum:
        v1 = st.v[: n * k]
        for i in range(n * k):
            w, v = W1[i], v1[i]
            W1[i] = a * w + c * v - T[i]
            v1[i] = e * w + f * v
        _copy_into(gram.U, gram.Sx)  # Sx may be S itself: S is spent
        gemm(net.blas, table[0, GEMM_DW], gram.Sx, PLAIN, data.X, not data.x_t, T.reshape((n, k)))
        for i in range(n * k):
            v1[i] += T[i]
    elif a == 1.0:
        update(W1, T, 1.0)  # gradient descent without L2: the direct path's W1 - T
    else:
        for i in range(n * k):
            W1[i] = a * W1[i] - T[i]


@njit
def gram_steps(data, gram, net, work, train, st, n_steps, want_cost):
    """``n_steps`` full-batch gradient steps, the first layer in Gram form; ``W1`` is written
    to ``theta`` at the end. Returns the cost of the first step's forward pass if
    ``want_cost``. ``st.clock`` counts the steps."""
    momentum = _beta(train) >= 0.0
    begin_chunk(data, gram, net, st, momentum)
    cost = np.nan
    for s in range(n_steps):
        c = _step(data, gram, net, work, train, st, want_cost and s == 0)
        if s == 0:
            cost = c
    end_chunk(data, gram, net, st, momentum)
    return cost
