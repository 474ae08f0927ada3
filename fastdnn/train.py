"""The thin Python training loop: chunks of steps on one backend, bookkeeping in between.

The loop runs ``k`` gradient steps per call of the backend (for ``jit``, one compiled call with
no Python in between), then records the cost, checks for divergence, updates progress and
callbacks, and lets Ctrl-C stop cleanly. A chunk ends at every cost record and after about
``CHUNK_SECONDS`` of work, so an interrupt is answered quickly however long training is.

Nothing here does math: the steps are :mod:`fastdnn._jit_loop` (jit) or the per-step kernels of
:mod:`fastdnn.kernels.naive` / :mod:`fastdnn.kernels.vectorized` (naive, numpy).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import _blas, _jit_loop
from ._layout import layer_table, param_views
from ._numba import JIT_DISABLED
from ._types import ACTIVATIONS, LOSSES
from .backends import get_backend

CHUNK_SECONDS = 0.1


class DivergenceError(FloatingPointError):
    """Training produced a non-finite cost or non-finite parameters."""


@dataclass
class History:
    """What one call of :meth:`fastdnn.DNN.fit` did.

    Attributes
    ----------
    iterations : list of int
        Step numbers at which the cost was recorded (counted over the model's whole life, so a
        second ``fit`` continues the numbering).
    costs : list of float
        Training cost of the forward pass at each recorded step (full batch), or of that
        step's mini-batch.
    val_iterations, val_costs, val_accuracy : list
        Cost (and accuracy, for a sigmoid output) on ``validation_data`` at the same steps.
    n_steps : int
        Gradient steps completed by this call.
    wall_time : float
        Seconds spent in this call.
    stop_reason : str
        ``"completed"``, ``"interrupted"`` (Ctrl-C), ``"diverged"`` or ``"callback"``.
    """

    iterations: list[int] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)
    val_iterations: list[int] = field(default_factory=list)
    val_costs: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    n_steps: int = 0
    wall_time: float = 0.0
    stop_reason: str = "completed"

    def __repr__(self) -> str:
        last = f", last cost {self.costs[-1]:.6g}" if self.costs else ""
        return (
            f"History({self.n_steps} steps in {self.wall_time:.3g} s, "
            f"{len(self.costs)} costs recorded{last}, stop_reason={self.stop_reason!r})"
        )


class Workspace:
    """Work buffers for one (network, batch width, dtype): allocated once, reused every step."""

    def __init__(self, layer_dims: Sequence[int], m: int, dtype, minibatch: bool):
        dims = list(layer_dims)
        widest_hidden = max(dims[1:-1], default=1)
        self.m = m
        self.acts = np.empty(sum(dims[1:]) * m, dtype=dtype)  # A of every layer, flat
        self.ZL = np.empty(dims[-1] * m, dtype=dtype)  # output logits, for the cost
        self.D = np.empty(max(widest_hidden, dims[-1]) * m, dtype=dtype)  # deltas, ping
        self.E = np.empty(widest_hidden * m, dtype=dtype)  # deltas, pong
        self.Xb = np.empty(dims[0] * m if minibatch else 0, dtype=dtype)
        self.Yb = np.empty(dims[-1] * m if minibatch else 0, dtype=dtype)


def jit_table(layer_dims: Sequence[int], m: int, dtype) -> np.ndarray:
    """The layer table of :mod:`fastdnn._jit_loop`, with the BLAS library for each product."""
    base = layer_table(layer_dims)
    table = np.zeros((len(base), _jit_loop.TABLE_COLUMNS), dtype=np.int64)
    table[:, :4] = base
    codes = iter(_blas.choose(layer_dims, m, dtype))  # in the order of _blas.step_products
    for l in range(len(base)):
        table[l, _jit_loop.GEMM_FWD] = next(codes)
        table[l, _jit_loop.GEMM_DW] = next(codes)
        if l > 0:
            table[l, _jit_loop.GEMM_DA] = next(codes)
    return table


def _python_step(kernels, X, Y, theta, grad, dims, hidden, output, slope, lr, loss, ws, want_cost):
    """One gradient step with the per-step kernels of a Python backend (naive or numpy).

    Overflow is not warned about: divergence is detected after the chunk, for every backend.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _python_step_body(kernels, X, Y, theta, grad, dims, hidden, output, slope, lr,
                                 loss, ws, want_cost)  # fmt: skip


def _python_step_body(kernels, X, Y, theta, grad, dims, hidden, output, slope, lr, loss, ws,
                      want_cost):  # fmt: skip
    L = len(dims) - 1
    m = X.shape[1]
    params = param_views(theta, dims)
    grads = param_views(grad, dims, prefix="d")
    acts, off = [], 0
    A_prev = X
    for l in range(1, L + 1):
        n = dims[l]
        A = ws.acts[off : off + n * m].reshape(n, m)
        Z = ws.ZL[: n * m].reshape(n, m) if l == L else A
        act = output if l == L else hidden
        kernels.linear_activation_forward(
            A_prev, params[f"W{l}"], params[f"b{l}"], act, slope, Z, A
        )
        acts.append(A)
        A_prev, off = A, off + n * m
    cost = kernels.cost_from_logits(Z, Y, loss) if want_cost else math.nan
    dA = None
    for l in range(L, 0, -1):
        n, k = dims[l], dims[l - 1]
        A_prev = acts[l - 2] if l > 1 else X
        dZ = (ws.D if (L - l) % 2 == 0 else ws.E)[: n * m].reshape(n, m)
        dA_prev = (ws.E if (L - l) % 2 == 0 else ws.D)[: k * m].reshape(k, m) if l > 1 else ws.E[:0]
        W, dW, db = params[f"W{l}"], grads[f"dW{l}"], grads[f"db{l}"]
        if l == L:
            kernels.output_backward(acts[-1], Y, A_prev, W, dZ, dA_prev, dW, db)
        else:
            kernels.linear_activation_backward(
                dA, acts[l - 1], A_prev, W, hidden, slope, dZ, dA_prev, dW, db
            )
        dA = dA_prev
    kernels.update(theta, grad, lr)
    return cost


class Stepper:
    """Runs chunks of gradient steps of one backend on one training set.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
        C- or Fortran-contiguous, already in ``dtype`` (never copied, never written).
    Y : ndarray of shape (n_y, m)
    theta, grad : ndarray
        Flat parameter and gradient buffers.
    """

    def __init__(self, backend, X, Y, theta, grad, dims, hidden, output, slope, loss,
                 batch_size, workspace):  # fmt: skip
        self.backend = backend
        self.kernels = get_backend(backend)
        self.dims = list(dims)
        self.hidden = int(ACTIVATIONS[hidden])
        self.output = int(ACTIVATIONS[output])
        self.loss = int(LOSSES[loss])
        self.slope = float(slope)
        self.X, self.Y, self.theta, self.grad = X, Y, theta, grad
        self.m = X.shape[1]
        self.batch_size = batch_size
        self.ws = workspace
        self.counter = np.zeros(1, dtype=np.int64)
        if backend == "jit":
            # Hand the jitted loop X's storage as C-contiguous: X itself, or X.T for a
            # Fortran-ordered X (examples contiguous), flagged by x_t. No copy either way.
            self.x_t = not X.flags.c_contiguous
            self.X_store = X.T if self.x_t else X
            self.f_np, self.f_sp, _ = _blas.gemm_functions(X.dtype)
            self.table = jit_table(dims, min(batch_size or self.m, self.m), X.dtype)
        elif not X.flags.c_contiguous:
            self.X = np.ascontiguousarray(X)  # the Python kernels assume C order

    def full_batch(self, n_steps: int, lr: float, want_cost: bool) -> float:
        if self.backend == "jit":
            return _jit_loop.full_batch_steps(
                self.X_store, self.x_t, self.Y, self.theta, self.grad, self.table, self.hidden,
                self.output, self.slope, lr, self.loss, self.ws.acts, self.ws.ZL, self.ws.D,
                self.ws.E, self.f_np, self.f_sp, n_steps, want_cost, self.counter,
            )  # fmt: skip
        cost = math.nan
        for s in range(n_steps):
            c = _python_step(self.kernels, self.X, self.Y, self.theta, self.grad, self.dims,
                             self.hidden, self.output, self.slope, lr, self.loss, self.ws,
                             want_cost and s == 0)  # fmt: skip
            cost = c if s == 0 else cost
            self.counter[0] += 1
        return cost

    def minibatch(self, order, first_batch: int, n_steps: int, lr: float, want_cost: bool) -> float:
        B = self.batch_size
        if self.backend == "jit":
            return _jit_loop.minibatch_steps(
                self.X_store, self.x_t, self.Y, order, first_batch, B, self.theta, self.grad,
                self.table, self.hidden, self.output, self.slope, lr, self.loss, self.ws.acts,
                self.ws.ZL, self.ws.D, self.ws.E, self.ws.Xb, self.ws.Yb, self.f_np, self.f_sp,
                n_steps, want_cost, self.counter,
            )  # fmt: skip
        cost = math.nan
        for s in range(n_steps):
            start = (first_batch + s) * B
            idx = order[start : start + B]
            b = idx.shape[0]
            xb = self.ws.Xb[: self.dims[0] * b].reshape(self.dims[0], b)
            yb = self.ws.Yb[: self.dims[-1] * b].reshape(self.dims[-1], b)
            np.take(self.X, idx, axis=1, out=xb)
            np.take(self.Y, idx, axis=1, out=yb)
            c = _python_step(self.kernels, xb, yb, self.theta, self.grad, self.dims, self.hidden,
                             self.output, self.slope, lr, self.loss, self.ws,
                             want_cost and s == 0)  # fmt: skip
            cost = c if s == 0 else cost
            self.counter[0] += 1
        return cost


@dataclass
class Schedule:
    """Which steps to run: full batch (``batch_size is None``) or mini-batches by epoch."""

    n_steps: int
    batch_size: int | None
    m: int

    @property
    def batches_per_epoch(self) -> int:
        return 1 if self.batch_size is None else -(-self.m // self.batch_size)


def run(
    stepper: Stepper,
    schedule: Schedule,
    learning_rate: float,
    *,
    start_iteration: int,
    cost_every: int,
    rng: np.random.Generator,
    on_cost: Callable[[int, float], bool] | None = None,
    on_divergence: str = "raise",
    progress=None,
    history: History | None = None,
) -> History:
    """Run ``schedule`` with ``stepper``; return the :class:`History`.

    ``on_cost(iteration, cost)`` is called at each recorded cost; returning True stops
    training. On divergence the parameters are restored to the last finite ones (taken at the
    start of the chunk that diverged).
    """
    history = History() if history is None else history
    t_start = time.perf_counter()
    theta = stepper.theta
    backup = theta.copy()  # the last parameters known finite and whole
    backup_steps = 0
    step_seconds = None  # measured time per step, to bound each chunk's duration
    stepper.counter[0] = 0  # steps completed in this run, advanced inside the backend's call
    order = None
    nb = schedule.batches_per_epoch
    try:
        while (done := int(stepper.counter[0])) < schedule.n_steps:
            global_step = start_iteration + done
            want_cost = global_step % cost_every == 0
            k = min(schedule.n_steps - done, cost_every - global_step % cost_every)
            # The first call may compile: time one step, then size chunks to CHUNK_SECONDS.
            k = 1 if step_seconds is None else min(k, max(1, int(CHUNK_SECONDS / step_seconds)))
            t0 = time.perf_counter()
            if schedule.batch_size is None:
                cost = stepper.full_batch(k, learning_rate, want_cost)
            else:
                batch_in_epoch = global_step % nb
                if order is None or batch_in_epoch == 0:
                    order = rng.permutation(schedule.m).astype(np.int64)
                k = min(k, nb - batch_in_epoch)
                cost = stepper.minibatch(order, batch_in_epoch, k, learning_rate, want_cost)
            elapsed = time.perf_counter() - t0
            if step_seconds is None or k > 1:
                step_seconds = max(elapsed / k, 1e-9)
            finite = np.isfinite(theta).all() and (math.isfinite(cost) or not want_cost)
            if not finite:
                theta[...] = backup
                stepper.counter[0] = backup_steps
                history.stop_reason = "diverged"
                last = global_step + k - 1
                span = f"iteration {global_step}" if k == 1 else f"iterations {global_step}-{last}"
                msg = (
                    f"training diverged in {span}: the cost or the parameters became "
                    f"non-finite (learning_rate={learning_rate} is probably too large); the "
                    f"parameters at the start of iteration {start_iteration + backup_steps} "
                    "are kept."
                )
                if on_divergence == "raise":
                    history.n_steps = backup_steps
                    history.wall_time = time.perf_counter() - t_start
                    raise DivergenceError(msg)
                warnings.warn(msg, RuntimeWarning, stacklevel=3)
                break
            backup[...] = theta
            backup_steps = int(stepper.counter[0])
            if want_cost:
                history.iterations.append(global_step)
                history.costs.append(float(cost))
            if progress is not None:
                progress.update(k)
                if want_cost:
                    progress.set_postfix(cost=f"{cost:.6g}", refresh=False)
            if want_cost and on_cost is not None and on_cost(global_step, float(cost)):
                history.stop_reason = "callback"
                break
    except KeyboardInterrupt:
        # A jitted chunk is one call: Python sees the interrupt only after it returns, so
        # theta always holds counter[0] whole steps. A Python backend may be stopped inside a
        # step: go back to the last whole, finite parameters.
        atomic = stepper.backend == "jit" and not JIT_DISABLED  # NUMBA_DISABLE_JIT: Python
        if not atomic or not np.isfinite(theta).all():
            theta[...] = backup
            stepper.counter[0] = backup_steps
        history.stop_reason = "interrupted"
        warnings.warn(
            f"training interrupted after {int(stepper.counter[0])} steps (iteration "
            f"{start_iteration + int(stepper.counter[0])}); the parameters of that step are kept.",
            RuntimeWarning,
            stacklevel=3,
        )
    history.n_steps = int(stepper.counter[0])
    history.wall_time = time.perf_counter() - t_start
    return history
