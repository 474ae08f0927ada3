"""The fully jitted training loop: k gradient steps per call, no Python in between.

For small networks, Python's per-call overhead (dispatch, dict look-ups, new arrays) dominates
a training step; here a whole chunk of steps is one compiled call. One compilation serves every
depth: the layers are described by an int64 table and all arrays are flat buffers, sliced
into views per step (no allocation).

Compiled functions take a few named bundles instead of long positional lists (Numba types a
``NamedTuple`` by its fields, so a bundle does not recompile per depth):

* :class:`Data` -- the batch: ``X`` (stored transposed when ``x_t``) and ``Y``;
* :class:`Net` -- the network: layer table, activation loops, loss code, the BLAS functions;
* :class:`Work` -- the work buffers, allocated once per (network, batch width);
* :class:`fastdnn.steppers.Train` -- how one ``fit`` trains: optimizer and its
  hyper-parameters, learning-rate decay, L2, dropout (fixed for the fit);
* :class:`State` -- what a step changes: ``theta``, ``grad``, the optimizer's buffers, the
  step counters (and the learning rate of the chunk).

Bundles are built once per stepper: their contents change, not the objects (Numba's dispatcher
grows an internal cache for every new tuple object it is handed: bounded, but it showed as
memory growing with the iterations).

Deltas are kept pre-scaled (``delta = dZ * scale``, ``scale = 1/m`` for a training step):
everything downstream is linear in ``delta``, so ``dW = delta @ A_prev.T`` and
``db = sum(delta)`` need no scaling pass, and ``W.T @ delta`` is ``dA_prev * scale``, the next
layer's pre-scaled input. The gradient-only entry (:func:`block_gradient`) uses the same code
with ``scale = 1/m_total``, so the gradients of blocks add up to the gradient of their union.

Table columns (one row per layer): ``n, n_prev, W offset, b offset`` and the BLAS chosen for
the forward product, the ``dW`` product and the ``dA_prev`` product (see :mod:`fastdnn._blas`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import literally

from .._blas import PLAIN, TRANSPOSED, Blas, gemm, gemm_add, is_library
from .._numba import njit, overload
from .._types import Opt
from ..kernels._jit_entries import activation_mask, hidden_activation, output_activation
from ..kernels.jit import (
    _dropout_key,
    _dropout_rows,
    _output_delta,
    add_l2,
    cost_from_logits,
    update,
    update_adam,
    update_momentum,
    update_rmsprop,
)
from . import ADAM_T, DONE, STEP
from . import learning_rate_at as _learning_rate_at

N, N_PREV, W_OFF, B_OFF, GEMM_FWD, GEMM_DW, GEMM_DA = range(7)
TABLE_COLUMNS = 7
_MOMENTUM, _RMSPROP, _ADAM = int(Opt.MOMENTUM), int(Opt.RMSPROP), int(Opt.ADAM)


class Data(NamedTuple):
    """One batch: ``X`` is stored ``(n_x, m)``, or ``(m, n_x)`` when ``x_t`` (no copy either
    way: a Fortran-ordered ``X`` is passed as its C-ordered transpose)."""

    X: np.ndarray
    x_t: bool
    Y: np.ndarray


class Net(NamedTuple):
    """The network as compiled code sees it."""

    table: np.ndarray  #: int64 (L, TABLE_COLUMNS)
    acts: np.ndarray  #: int64: the activation loops' addresses (``kernels._jit_entries``)
    loss: int  #: Loss code
    slope: float  #: leaky_relu's slope
    blas: Blas


class Work(NamedTuple):
    """Work buffers, flat, in the parameters' dtype."""

    acts: np.ndarray  #: A of every layer, one after the other
    ZL: np.ndarray  #: output logits (the cost is computed from them)
    D: np.ndarray  #: deltas, ping
    E: np.ndarray  #: deltas, pong
    Xb: np.ndarray  #: the mini-batch's X, stored (b, n_x); empty for full batch
    Yb: np.ndarray  #: the mini-batch's Y; empty for full batch


class State(NamedTuple):
    """What a step changes."""

    theta: np.ndarray
    grad: np.ndarray
    v: np.ndarray  #: momentum's velocity / Adam's first moment (empty when unused)
    s: np.ndarray  #: RMSprop's / Adam's second moment (empty when unused)
    clock: np.ndarray  #: int64 [steps done in this run, global step, Adam's t]
    hyper: np.ndarray  #: float64 [lr0], written before each call


LEARNING_RATE = 0  # index into State.hyper


class Batches(NamedTuple):
    """One epoch's mini-batches: the shuffled ``order``, the batch size, and where to start
    (``first[0]``, a batch index, written before each call); ``consecutive[0]``: the batches
    are consecutive examples of an ``X`` stored transposed (``order`` is not read);
    ``by_rows``: how :func:`gather_batch` reads an ``X`` stored ``(n_x, m)``."""

    order: np.ndarray
    size: int
    first: np.ndarray
    consecutive: np.ndarray
    by_rows: bool


class Plain(NamedTuple):
    """The settings of a Course-1 run: gradient descent and nothing else. A type of its own,
    so that compiling a plain run leaves out the optimizers, dropout, L2 and decay (the
    overloads below choose their no-op implementations for it); a :class:`Train` compiles
    them all. On a network with large layers the settings are a :class:`Descending`
    (:func:`plain_settings` chooses)."""

    optimizer: int = int(Opt.GD)


class Descending(Plain):
    """A :class:`Plain` run whose large layers take their step inside their ``dW`` product
    (see :data:`DESCEND_MIN_WEIGHTS`). A type of its own, so that a run compiles only the
    backward pass it takes: a network with no such layer (the planar net) the whole gradient
    and one update pass, a larger one the descending pass (each about 2.5 s of compiling)."""


def plain_settings(table) -> Plain:
    """The settings of a plain run on a network of this ``table``."""
    return Descending() if _any_descends(table) else Plain()


def _is_plain(train_type) -> bool:
    cls = getattr(train_type, "instance_class", None)
    return isinstance(cls, type) and issubclass(cls, Plain)


def _is_descending(train_type) -> bool:
    return getattr(train_type, "instance_class", None) is Descending


# Each helper below is plain Python (what runs under NUMBA_DISABLE_JIT) and, compiled, an
# overload that picks by the type of ``train``.
def _dropout_forward(A, train, step, layer):
    if not isinstance(train, Plain) and train.keep_prob < 1.0:
        _dropout_rows(A, train.keep_prob, _dropout_key(train.seed, step, layer), None)


def _dropout_backward(dA, A, train, step, layer):
    if not isinstance(train, Plain) and train.keep_prob < 1.0:
        _dropout_rows(A, train.keep_prob, _dropout_key(train.seed, step, layer), dA)


def _l2_term(theta, grad, table, train, m):
    """``dW += lambd/m W`` for every layer; returns the cost term ``lambd/2m sum ||W||^2``."""
    if isinstance(train, Plain) or train.lambd == 0.0:
        return 0.0
    return train.lambd / (2.0 * m) * _l2(theta, grad, table, train.lambd / m)


def _update(train, st, lr0, step):
    """One fused pass of the chosen optimizer, at this step's (decayed) learning rate."""
    if isinstance(train, Plain):
        update(st.theta, st.grad, lr0)
    else:
        _apply_update(train, st, learning_rate_at(train, lr0, step))


def _learn(data, net, work, train, st, m, step):
    """The backward pass and update of one training step; returns the cost's L2 term.

    A plain run (:class:`Plain`: gradient descent alone) on a network with large layers
    (:class:`Descending`) descends during the backward pass (:func:`_descending_learn`), on
    one without them computes the gradient, then updates (:func:`_plain_learn`); the others
    compute the whole gradient, add L2, then run their optimizer's update
    (:func:`_full_learn`).
    """
    if isinstance(train, Descending):
        return _descending_learn(data, net, work, train, st, m, step)
    if isinstance(train, Plain):
        return _plain_learn(data, net, work, train, st, m, step)
    return _full_learn(data, net, work, train, st, m, step)


@njit(inline="always")  # a call level here cost the planar net's step 6-9%
def _plain_learn(data, net, work, train, st, m, step):
    # small layers only (the planar net): the gradient, then one update pass
    _backward(data, st.theta, st.grad, net, work, 1.0 / m, train, step, False, 0.0)
    update(st.theta, st.grad, st.hyper[LEARNING_RATE])
    return 0.0


@njit(inline="always")
def _descending_learn(data, net, work, train, st, m, step):
    lr0 = st.hyper[LEARNING_RATE]
    _backward(data, st.theta, st.grad, net, work, 1.0 / m, train, step, True, lr0)
    return 0.0


@njit(inline="always")
def _full_learn(data, net, work, train, st, m, step):
    lr0 = st.hyper[LEARNING_RATE]
    _backward(data, st.theta, st.grad, net, work, 1.0 / m, train, step, False, 0.0)
    cost = _l2_term(st.theta, st.grad, net.table, train, m)
    _update(train, st, lr0, step)
    return cost


@overload(_dropout_forward)
def _ol_dropout_forward(A, train, step, layer):
    if _is_plain(train):
        return lambda A, train, step, layer: None

    def impl(A, train, step, layer):
        if train.keep_prob < 1.0:
            _dropout_rows(A, train.keep_prob, _dropout_key(train.seed, step, layer), None)

    return impl


@overload(_dropout_backward)
def _ol_dropout_backward(dA, A, train, step, layer):
    if _is_plain(train):
        return lambda dA, A, train, step, layer: None

    def impl(dA, A, train, step, layer):
        if train.keep_prob < 1.0:
            _dropout_rows(A, train.keep_prob, _dropout_key(train.seed, step, layer), dA)

    return impl


@overload(_l2_term)
def _ol_l2_term(theta, grad, table, train, m):
    if _is_plain(train):
        return lambda theta, grad, table, train, m: 0.0

    def impl(theta, grad, table, train, m):
        if train.lambd == 0.0:
            return 0.0
        return train.lambd / (2.0 * m) * _l2(theta, grad, table, train.lambd / m)

    return impl


@overload(_learn, inline="always")
def _ol_learn(data, net, work, train, st, m, step):
    if _is_descending(train):
        return lambda data, net, work, train, st, m, step: _descending_learn(
            data, net, work, train, st, m, step
        )
    if _is_plain(train):
        return lambda data, net, work, train, st, m, step: _plain_learn(
            data, net, work, train, st, m, step
        )
    return lambda data, net, work, train, st, m, step: _full_learn(
        data, net, work, train, st, m, step
    )


@overload(_update)
def _ol_update(train, st, lr0, step):
    if _is_plain(train):
        return lambda train, st, lr0, step: update(st.theta, st.grad, lr0)
    return lambda train, st, lr0, step: _apply_update(train, st, learning_rate_at(train, lr0, step))


@njit
def _forward(data, theta, net, work, train, step):
    """Forward pass over ``data``'s examples: every layer's A into ``work.acts``, Z_L into
    ``ZL``; inverted dropout on the hidden layers when ``train.keep_prob < 1``."""
    table, acts = net.table, work.acts
    L = table.shape[0]
    m = data.Y.shape[1]
    off = 0
    for l in range(L):
        n, k, wo, bo = table[l, N], table[l, N_PREV], table[l, W_OFF], table[l, B_OFF]
        W = theta[wo : wo + n * k].reshape((n, k))
        b = theta[bo : bo + n].reshape((n, 1))
        A = acts[off : off + n * m].reshape((n, m))
        # GEMM into the layer's A buffer (or ZL for the output), then bias + g fused.
        Z = work.ZL[: n * m].reshape((n, m)) if l == L - 1 else A
        if l == 0:
            gemm(net.blas, table[l, GEMM_FWD], W, PLAIN, data.X, data.x_t, Z)
        else:
            A_prev = acts[off - k * m : off].reshape((k, m))
            gemm(net.blas, table[l, GEMM_FWD], W, PLAIN, A_prev, PLAIN, Z)
        if l == L - 1:
            output_activation(net.acts, Z, b, A)
        else:
            hidden_activation(net.acts, A, b, net.slope)
        if l < L - 1:
            _dropout_forward(A, train, step, l + 1)
        off += n * m


@njit
def _backward(data, theta, grad, net, work, scale, train, step, descend, lr):
    """Backward pass after :func:`_forward`: ``grad`` = the gradient times ``scale * m``.

    With ``descend``, gradient descent at learning rate ``lr`` instead: each large layer's
    ``W -= lr dW`` inside the product that computes ``dW`` (see :data:`DESCEND_MIN_WEIGHTS`),
    after ``W`` has served the layer below; the other parameters from ``grad`` at the end.
    ``descend`` is a compile-time constant: each value compiles its own code, so a step that
    does not descend runs exactly the code it ran before descending existed.
    """
    literally(descend)
    delta, off = _output_layer_delta(data.Y, grad, net, work, scale)
    for l in range(net.table.shape[0] - 1, 0, -1):
        delta, off = _hidden_layer_backward(
            l, delta, off, theta, grad, net, work, train, step, descend, lr
        )
    n, k, wo = net.table[0, N], net.table[0, N_PREV], net.table[0, W_OFF]
    dW = grad[wo : wo + n * k].reshape((n, k))
    if descend and _descends(net.table, 0):
        W = theta[wo : wo + n * k].reshape((n, k))
        gemm_add(net.blas, net.table[0, GEMM_DW], delta, PLAIN, data.X, not data.x_t, W, -lr)
    else:
        gemm(net.blas, net.table[0, GEMM_DW], delta, PLAIN, data.X, not data.x_t, dW)
    if descend:  # what was not descended yet: the biases, and the small layers' W
        for l in range(net.table.shape[0]):
            wo, bo, n = net.table[l, W_OFF], net.table[l, B_OFF], net.table[l, N]
            start = bo if _descends(net.table, l) else wo  # a layer's W, then its b
            update(theta[start : bo + n], grad[start : bo + n], lr)


#: A descending step (:func:`_backward`) subtracts ``lr dW`` inside the product that computes
#: ``dW`` (``gemm_add``: ``beta = 1``, so ``dW`` is never written, read back and updated, and
#: OpenBLAS skips its pass that zeroes the output) for layers of at least this many weights.
#: Measured on W4 (784-128-64-1, batches of 64; AMD EPYC Zen 4, 1 thread, alternating
#: processes), steps 1.05-1.06x faster in float32, 1.04-1.055x in float64. Smaller layers
#: (the planar net's) keep ``dW`` and update it with the biases: nothing to gain there, and
#: one pass keeps their step as it was.
DESCEND_MIN_WEIGHTS = 4096


@njit
def _any_descends(table) -> bool:
    for l in range(table.shape[0]):
        if _descends(table, l):
            return True
    return False


@njit
def _descends(table, l) -> bool:
    """Whether layer ``l``'s step is taken inside its ``dW`` product (see
    :data:`DESCEND_MIN_WEIGHTS`): a BLAS library computes it, and the layer is large."""
    return is_library(table[l, GEMM_DW]) and table[l, N] * table[l, N_PREV] >= DESCEND_MIN_WEIGHTS


@njit
def _output_layer_delta(Y, grad, net, work, scale):
    """The output layer's pre-scaled delta into ``work.D`` and its ``db`` into ``grad``;
    returns the delta and the offset of the output layer's A in ``work.acts``.

    ``delta = (AL - Y) * scale`` is ``dZ_L * scale`` for sigmoid + BCE, softmax + CCE and
    linear + halved MSE alike; ``db_L`` = its row sums.
    """
    table = net.table
    L = table.shape[0]
    m = Y.shape[1]
    off = 0
    for l in range(L - 1):
        off += table[l, N] * m
    n, bo = table[L - 1, N], table[L - 1, B_OFF]
    AL = work.acts[off : off + n * m].reshape((n, m))
    delta = work.D[: n * m].reshape((n, m))
    _output_delta(AL, Y, scale, delta, grad[bo : bo + n].reshape((n, 1)))
    return delta, off


@njit
def _hidden_layer_backward(l, delta, off, theta, grad, net, work, train, step, descend, lr):
    """Layer ``l >= 1``'s ``dW`` from its pre-scaled ``delta`` (or, with ``descend``, its step
    ``W -= lr dW``), then layer ``l - 1``'s delta and ``db``; returns that delta and the offset
    of layer ``l - 1``'s A in ``work.acts``.

    ``work.E`` receives ``W.T @ delta`` (before ``W`` moves, in a descending step);
    the next delta (``E * g'(A_prev)``) goes into ``work.D``, whose delta is no longer needed
    once ``dW`` and ``dA`` are computed. Two distinct buffers let the mask loop vectorize.
    """
    literally(descend)
    table = net.table
    m = delta.shape[1]
    n, k, wo = table[l, N], table[l, N_PREV], table[l, W_OFF]
    off -= k * m
    A_prev = work.acts[off : off + k * m].reshape((k, m))
    dW = grad[wo : wo + n * k].reshape((n, k))
    W = theta[wo : wo + n * k].reshape((n, k))
    dA = work.E[: k * m].reshape((k, m))
    if descend and _descends(table, l):  # W serves the layer below before it moves
        gemm(net.blas, table[l, GEMM_DA], W, TRANSPOSED, delta, PLAIN, dA)
        gemm_add(net.blas, table[l, GEMM_DW], delta, PLAIN, A_prev, TRANSPOSED, W, -lr)
    else:
        gemm(net.blas, table[l, GEMM_DW], delta, PLAIN, A_prev, TRANSPOSED, dW)
        gemm(net.blas, table[l, GEMM_DA], W, TRANSPOSED, delta, PLAIN, dA)
    _dropout_backward(dA, A_prev, train, step, l)  # layer l's mask (A_prev), drawn again
    bo = table[l - 1, B_OFF]
    delta = work.D[: k * m].reshape((k, m))
    db = grad[bo : bo + k].reshape((k, 1))
    activation_mask(net.acts, dA, A_prev, net.slope, delta, db, 1.0)
    return delta, off


@njit
def _l2(theta, grad, table, scale):
    """``dW += scale * W`` for every layer; returns ``sum ||W||^2``."""
    total = 0.0
    for l in range(table.shape[0]):
        n, k, wo = table[l, N], table[l, N_PREV], table[l, W_OFF]
        total += add_l2(theta[wo : wo + n * k], grad[wo : wo + n * k], scale)
    return total


learning_rate_at = njit(_learning_rate_at)  # the same source as the Python stepper's


@njit
def _apply_update(train, st, lr):
    """One fused pass of the chosen optimizer over ``theta`` and its state."""
    if train.optimizer == _MOMENTUM:
        update_momentum(st.theta, st.grad, st.v, lr, train.beta1)
    elif train.optimizer == _RMSPROP:
        update_rmsprop(st.theta, st.grad, st.s, lr, train.beta2, train.epsilon)
    elif train.optimizer == _ADAM:
        st.clock[ADAM_T] += 1
        t = st.clock[ADAM_T]
        update_adam(st.theta, st.grad, st.v, st.s, t, lr, train.beta1, train.beta2, train.epsilon)
    else:
        update(st.theta, st.grad, lr)


@njit
def _step(data, net, work, train, st, want_cost):
    """One training step on ``data``; returns the cost of its forward pass (with the L2 term)
    when ``want_cost``, else NaN."""
    m = data.Y.shape[1]
    step = st.clock[STEP]
    _forward(data, st.theta, net, work, train, step)
    cost = _cost(data.Y, net, work) if want_cost else np.nan
    cost += _learn(data, net, work, train, st, m, step)
    st.clock[STEP] += 1
    st.clock[DONE] += 1
    return cost


@njit
def _cost(Y, net, work):
    return cost_from_logits(work.ZL[: Y.size].reshape(Y.shape), Y, net.loss)


@njit
def full_batch_steps(data, net, work, train, st, n_steps, want_cost):
    """``n_steps`` full-batch steps. Returns the cost of the first step's forward pass if
    ``want_cost``. ``st.clock`` counts the steps."""
    cost = np.nan
    for s in range(n_steps):
        c = _step(data, net, work, train, st, want_cost and s == 0)
        if s == 0:
            cost = c
    return cost


@njit
def gather_batch(data, order, start, b, work, by_rows=False):
    """Copy the examples ``order[start:start+b]`` into the batch buffers; return the batch.

    The batch is always stored transposed, ``(b, n_x)``, one example per contiguous row,
    whatever the layout of ``X``. With ``X`` stored ``(m, n_x)`` (``x_t``) that is one
    contiguous copy per example. With ``X`` stored ``(n_x, m)``, every value of the batch sits
    on its own cache line, read one example at a time, or, when ``by_rows``, one row of ``X``
    at a time (the batch's values in that row; the writes scatter across the batch buffer,
    which stays in the L2 cache). Which is faster depends on the CPU: see
    ``fastdnn.steppers.jit.GATHER_BY_ROWS``. Either way the gather costs about as much as the
    batch's products on the W4 workload: long fits copy ``X`` first (``fastdnn._transpose``).
    """
    X, Y = data.X, data.Y
    idx = order[start : start + b]
    n_y = Y.shape[0]
    if data.x_t:  # X stored as (m, n_x)
        n_x = X.shape[1]
        xb = work.Xb[: b * n_x].reshape((b, n_x))
        for j in range(b):  # element by element: a slice assignment compiles Numba's error text
            src, dst = X[idx[j]], xb[j]
            for i in range(n_x):
                dst[i] = src[i]
    else:  # X stored as (n_x, m)
        n_x, m = X.shape
        xb = work.Xb[: b * n_x].reshape((b, n_x))
        flat = X.reshape(n_x * m)  # plain offsets, no per-index wraparound checks
        if by_rows:  # along X's rows
            for i in range(n_x):
                start_i = i * m
                for j in range(b):
                    xb[j, i] = flat[start_i + idx[j]]
        else:  # one example at a time
            for j in range(b):
                c = idx[j]
                row = xb[j]
                for i in range(n_x):
                    row[i] = flat[i * m + c]
    yb = work.Yb[: n_y * b].reshape((n_y, b))
    for i in range(n_y):
        for j in range(b):
            yb[i, j] = Y[i, idx[j]]
    return Data(xb, True, yb)


@njit
def slice_batch(data, start, b, work):
    """The batch of the examples ``start:start+b`` of ``data``, whose ``X`` is stored
    transposed: a view of ``X`` (no copy: the products read it where it is) and ``Y`` copied
    into the batch buffer."""
    X, Y = data.X, data.Y
    m, n_x = X.shape
    xb = X.reshape(m * n_x)[start * n_x : (start + b) * n_x].reshape((b, n_x))
    n_y = Y.shape[0]
    yb = work.Yb[: n_y * b].reshape((n_y, b))
    for i in range(n_y):
        for j in range(b):
            yb[i, j] = Y[i, start + j]
    return Data(xb, True, yb)


@njit
def minibatch_steps(data, batches, net, work, train, st, n_steps, want_cost):
    """``n_steps`` mini-batch steps over ``batches.order`` (one epoch's shuffle), starting at
    batch ``batches.first[0]``; the last batch of an epoch may be smaller. Returns the cost of
    the first batch's forward pass if ``want_cost``."""
    m = batches.order.shape[0]
    cost = np.nan
    for s in range(n_steps):
        start = (batches.first[0] + s) * batches.size
        b = min(batches.size, m - start)
        # Each branch makes its own step call: a slice of a read-only X is read-only, the
        # gathered batch (a work buffer) is not, and Numba cannot give one variable both types.
        if batches.consecutive[0]:
            c = _step(slice_batch(data, start, b, work), net, work, train, st, want_cost and s == 0)
        else:
            batch = gather_batch(data, batches.order, start, b, work, batches.by_rows)
            c = _step(batch, net, work, train, st, want_cost and s == 0)
        if s == 0:
            cost = c
    return cost


@njit
def block_gradient(data, net, work, train, st, scale):
    """The gradient of one block of examples, times ``scale * m_block``, into ``st.grad``; no
    update, no L2 (add it once to the reduced gradient). Returns the block's summed loss times
    ``scale``.

    With ``scale = 1 / m_total`` the gradients of several blocks add up to the full-batch
    gradient of their union, and the returned values to its cost.
    """
    m = data.Y.shape[1]
    step = st.clock[STEP]
    _forward(data, st.theta, net, work, train, step)
    cost = _cost(data.Y, net, work) * m * scale
    _backward(data, st.theta, st.grad, net, work, scale, train, step, False, 0.0)
    return cost


@njit
def add_into(total, part):
    """``total += part`` (a split step's gradients, :mod:`fastdnn.steppers.split`): compiled,
    so a diverging step's inf - inf gives NaN without a NumPy warning, as the step does."""
    for i in range(total.size):
        total[i] += part[i]


@njit
def reduced_update(net, train, st, m):
    """The end of a full-batch step whose gradient (times ``1/m``) was summed into ``st.grad``
    from parts of the examples: L2 and the optimizer's update at the step's learning rate, as
    :func:`_full_learn` (a plain run's step too: nothing descends inside a product, whose
    ``W`` the parts read). Returns the cost's L2 term; ``st.clock`` counts the step."""
    step = st.clock[STEP]
    cost = _l2_term(st.theta, st.grad, net.table, train, m)
    _update(train, st, st.hyper[LEARNING_RATE], step)
    st.clock[STEP] += 1
    st.clock[DONE] += 1
    return cost


@njit
def regularise(net, train, st, m):
    """The training step's L2 on the gradient in ``st.grad`` (``dW += lambd/m W``), alone:
    for :func:`fastdnn.gradient_check`. Returns ``lambd/2m sum ||W||^2``."""
    return _l2_term(st.theta, st.grad, net.table, train, m)


@njit
def forward(data, theta, net, work, train, AL_out):
    """The network's output for ``data.X`` into ``AL_out`` (inference: give ``plain()``
    settings, so no dropout)."""
    _forward(data, theta, net, work, train, np.int64(0))
    m = AL_out.shape[1]
    table = net.table
    n = table[table.shape[0] - 1, N]
    off = 0
    for l in range(table.shape[0] - 1):
        off += table[l, N] * m
    AL = work.acts[off : off + n * m].reshape((n, m))
    for i in range(n):  # element by element: a slice assignment compiles Numba's error text
        for j in range(m):
            AL_out[i, j] = AL[i, j]
