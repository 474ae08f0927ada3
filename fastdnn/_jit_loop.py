"""The fully jitted training loop: k gradient steps per call, no Python in between.

For small networks, Python's per-call overhead (dispatch, dict look-ups, new arrays) dominates
a training step; here a whole chunk of steps is one compiled call. One compilation serves every
depth: the layers are described by an int64 table and all arrays are flat buffers, sliced
into views per step (no allocation).

Deltas are kept pre-scaled by ``1/m`` (``delta = dZ / m``): everything downstream is linear in
``delta``, so ``dW = delta @ A_prev.T`` and ``db = sum(delta)`` need no scaling pass, and
``W.T @ delta`` is ``dA_prev / m``, the next layer's pre-scaled input.

Table columns (one row per layer): ``n, n_prev, W offset, b offset`` and the BLAS chosen for
the forward product, the ``dW`` product and the ``dA_prev`` product (see :mod:`fastdnn._blas`).
"""

from __future__ import annotations

import numpy as np

from ._blas import gemm
from ._numba import njit
from .kernels.jit import _bias_activation_inplace, _mask_rowsum, _rowsum, cost_from_logits, update

N, N_PREV, W_OFF, B_OFF, GEMM_FWD, GEMM_DW, GEMM_DA = range(7)
TABLE_COLUMNS = 7


@njit
def _step(X, x_t, Y, theta, grad, table, hidden, output, slope, lr, loss, acts, ZL, D, E,
          f_np, f_sp, want_cost):  # fmt: skip
    """One gradient step on the batch ``X`` (``X.T`` stored when ``x_t``). Returns the cost
    of the forward pass when ``want_cost``, else NaN."""
    L = table.shape[0]
    m = Y.shape[1]
    # Forward: GEMM into the layer's A buffer (or ZL for the output), then bias + g fused.
    off = 0
    for l in range(L):
        n, k, wo, bo = table[l, N], table[l, N_PREV], table[l, W_OFF], table[l, B_OFF]
        W = theta[wo : wo + n * k].reshape((n, k))
        b = theta[bo : bo + n].reshape((n, 1))
        A = acts[off : off + n * m].reshape((n, m))
        Z = ZL[: n * m].reshape((n, m)) if l == L - 1 else A
        if l == 0:
            gemm(table[l, GEMM_FWD], f_np, f_sp, W, False, X, x_t, Z)
        else:
            A_prev = acts[off - k * m : off].reshape((k, m))
            gemm(table[l, GEMM_FWD], f_np, f_sp, W, False, A_prev, False, Z)
        _bias_activation_inplace(Z, b, output if l == L - 1 else hidden, slope, A)
        off += n * m
    cost = np.nan
    if want_cost:
        cost = cost_from_logits(ZL[: Y.shape[0] * m].reshape(Y.shape), Y, loss)

    # Output layer: delta = (AL - Y) / m, which is dZ_L / m for sigmoid + BCE and for
    # linear + halved MSE alike; db_L = row sums of delta.
    inv_m = ZL.dtype.type(1.0 / m)
    n = table[L - 1, N]
    off -= n * m
    AL = acts[off : off + n * m].reshape((n, m))
    delta = D[: n * m].reshape((n, m))
    for i in range(n):
        a, y, d = AL[i], Y[i], delta[i]
        for j in range(m):
            d[j] = (a[j] - y[j]) * inv_m
    bo = table[L - 1, B_OFF]
    _rowsum(delta, grad[bo : bo + n].reshape((n, 1)), 1.0)

    # Hidden layers, last to first. D holds the current delta, E receives W.T @ delta; the
    # next delta (E * g'(A_prev)) goes back into D, whose delta is no longer needed once dW
    # and dA are computed. Two distinct buffers let the mask loop vectorize.
    for l in range(L - 1, -1, -1):
        n, k, wo = table[l, N], table[l, N_PREV], table[l, W_OFF]
        dW = grad[wo : wo + n * k].reshape((n, k))
        if l == 0:
            gemm(table[l, GEMM_DW], f_np, f_sp, delta, False, X, not x_t, dW)
            break
        off -= k * m
        A_prev = acts[off : off + k * m].reshape((k, m))
        gemm(table[l, GEMM_DW], f_np, f_sp, delta, False, A_prev, True, dW)
        W = theta[wo : wo + n * k].reshape((n, k))
        dA = E[: k * m].reshape((k, m))
        gemm(table[l, GEMM_DA], f_np, f_sp, W, True, delta, False, dA)
        bo_prev = table[l - 1, B_OFF]
        delta = D[: k * m].reshape((k, m))
        _mask_rowsum(dA, A_prev, hidden, slope, delta,
                     grad[bo_prev : bo_prev + k].reshape((k, 1)), 1.0)  # fmt: skip
    update(theta, grad, lr)
    return cost


@njit
def full_batch_steps(X, x_t, Y, theta, grad, table, hidden, output, slope, lr, loss,
                     acts, ZL, D, E, f_np, f_sp, n_steps, want_cost, counter):  # fmt: skip
    """``n_steps`` full-batch gradient steps. Returns the cost of the first step's forward
    pass if ``want_cost``. ``counter[0]`` counts completed steps."""
    cost = np.nan
    for s in range(n_steps):
        c = _step(X, x_t, Y, theta, grad, table, hidden, output, slope, lr, loss,
                  acts, ZL, D, E, f_np, f_sp, want_cost and s == 0)  # fmt: skip
        if s == 0:
            cost = c
        counter[0] += 1
    return cost


@njit
def gather_batch(X, x_t, Y, order, start, b, Xb, Yb):
    """Copy the examples ``order[start:start+b]`` into the contiguous batch buffers.

    Returns ``(X_batch_T, Y_batch)``: the batch is always stored transposed, ``(b, n_x)``, one
    example per contiguous row, whatever the layout of ``X``. With ``X`` stored ``(m, n_x)``
    (``x_t``) that is one contiguous copy per example. With ``X`` stored ``(n_x, m)``, every
    value of the batch sits on its own cache line; reading one example at a time and writing
    it contiguously measured 1.6x faster than gathering row by row, but the gather still
    costs about as much as the batch's products on the W4 workload: pass examples-contiguous
    data for mini-batch training.
    """
    idx = order[start : start + b]
    n_y = Y.shape[0]
    if x_t:  # X stored as (m, n_x)
        n_x = X.shape[1]
        xb = Xb[: b * n_x].reshape((b, n_x))
        for j in range(b):
            xb[j, :] = X[idx[j], :]
    else:  # X stored as (n_x, m)
        n_x, m = X.shape
        xb = Xb[: b * n_x].reshape((b, n_x))
        flat = X.reshape(n_x * m)  # plain offsets, no per-index wraparound checks
        for j in range(b):
            c = idx[j]
            row = xb[j]
            for i in range(n_x):
                row[i] = flat[i * m + c]
    yb = Yb[: n_y * b].reshape((n_y, b))
    for i in range(n_y):
        for j in range(b):
            yb[i, j] = Y[i, idx[j]]
    return xb, yb


@njit
def minibatch_steps(X, x_t, Y, order, first_batch, batch_size, theta, grad, table, hidden,
                    output, slope, lr, loss, acts, ZL, D, E, Xb, Yb, f_np, f_sp, n_steps,
                    want_cost, counter):  # fmt: skip
    """``n_steps`` mini-batch steps over ``order`` (one epoch's shuffle), starting at batch
    ``first_batch``; the last batch of an epoch may be smaller. Returns the cost of the first
    batch's forward pass if ``want_cost``."""
    m = order.shape[0]
    cost = np.nan
    for s in range(n_steps):
        start = (first_batch + s) * batch_size
        b = min(batch_size, m - start)
        xb, yb = gather_batch(X, x_t, Y, order, start, b, Xb, Yb)
        c = _step(xb, True, yb, theta, grad, table, hidden, output, slope, lr, loss,
                  acts, ZL, D, E, f_np, f_sp, want_cost and s == 0)  # fmt: skip
        if s == 0:
            cost = c
        counter[0] += 1
    return cost
