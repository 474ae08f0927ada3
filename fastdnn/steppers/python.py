"""The stepper of the Python backends (``naive``, ``numpy``): one kernel call per layer and step.

The same steps as the jitted loop, written as calls to the backend's per-step kernels
(:mod:`fastdnn.kernels.naive` or :mod:`fastdnn.kernels.vectorized`) over views of the flat
buffers, built once when the stepper is prepared.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _dropout
from .._layout import param_views
from .._types import Opt
from . import ADAM_T, DONE, STEP, NetSpec, Stepper, Train, Workspace, learning_rate_at


def _key(train: Train, step: int, layer: int) -> int:
    return _dropout.key(int(train.seed), step, layer)


def _layer_views(work: Workspace, dims, m: int):
    """Per layer: A (n, m) in ``acts``, and the delta / dA_prev buffers, ping-ponged."""
    L = len(dims) - 1
    acts, off = [], 0
    for l in range(1, L + 1):
        acts.append(work.acts[off : off + dims[l] * m].reshape(dims[l], m))
        off += dims[l] * m
    ZL = work.ZL[: dims[-1] * m].reshape(dims[-1], m)
    deltas, dA_prevs = [], []
    for l in range(L, 0, -1):
        ping, pong = (work.D, work.E) if (L - l) % 2 == 0 else (work.E, work.D)
        n, k = dims[l], dims[l - 1]
        deltas.append(ping[: n * m].reshape(n, m))
        dA_prevs.append(pong[: k * m].reshape(k, m) if l > 1 else work.E[:0])
    return acts, ZL, deltas[::-1], dA_prevs[::-1]


class PythonStepper(Stepper):
    """Runs steps with the per-step kernels of one Python backend."""

    #: The kernel module; set by :func:`for_kernels`.
    kernels = None

    def __init__(self, spec: NetSpec, theta, grad, X, Y, batch_size, workspace: Workspace, **kw):
        if not X.flags.c_contiguous:
            X = np.ascontiguousarray(X)  # the Python kernels assume C order
        # No examples-contiguous copy: batches are taken along the rows of the C-ordered X
        # (np.take), and np.take from the Fortran-ordered copy would first copy it whole, for
        # every batch (275 ms a batch for W4's X in float32).
        kw["copy_threads"] = None
        super().__init__(spec, theta, grad, X, Y, batch_size, workspace, **kw)
        self.params = param_views(theta, spec.layer_dims)
        self.grads = param_views(grad, spec.layer_dims, prefix="d")
        self._views: dict = {}  # batch width -> layer views (a full batch, a last short batch)

    @classmethod
    def for_kernels(cls, kernels) -> type[PythonStepper]:
        """A stepper class bound to one kernel module."""
        name = f"PythonStepper[{kernels.__name__.rsplit('.', 1)[-1]}]"
        return type(name, (cls,), {"kernels": kernels})

    # ------------------------------------------------------------------ one step
    def _gradient(self, X, Y, want_cost: bool) -> float:
        """Forward and backward over the batch ``X, Y``; the mean gradient into ``grad``.

        The same sequence as the compiled step: inverted dropout after each hidden layer's
        activation (and its mask drawn again on the way back), ``dZ_L = AL - Y``.
        """
        k, spec, dims, train = self.kernels, self.spec, self.spec.layer_dims, self.train
        L = len(dims) - 1
        m = X.shape[1]
        step = int(self.clock[STEP])
        if m not in self._views:
            self._views[m] = _layer_views(self.ws, dims, m)
        acts, ZL, deltas, dA_prevs = self._views[m]
        p, g = self.params, self.grads
        dropout = train.keep_prob < 1.0
        A_prev = X
        for l in range(1, L + 1):
            act = spec.output_code if l == L else spec.hidden_code
            Z = ZL if l == L else acts[l - 1]
            k.linear_activation_forward(
                A_prev, p[f"W{l}"], p[f"b{l}"], act, spec.slope, Z, acts[l - 1]
            )
            if dropout and l < L:
                k.dropout_forward(acts[l - 1], train.keep_prob, _key(train, step, l))
            A_prev = acts[l - 1]
        cost = k.cost_from_logits(ZL, Y, spec.loss_code) if want_cost else math.nan
        dA = None
        for l in range(L, 0, -1):
            A_prev = acts[l - 2] if l > 1 else X
            W, dW, db = p[f"W{l}"], g[f"dW{l}"], g[f"db{l}"]
            dZ, dA_prev = deltas[l - 1], dA_prevs[l - 1]
            if l == L:
                k.output_backward(acts[-1], Y, A_prev, W, dZ, dA_prev, dW, db)
            else:
                if dropout:
                    k.dropout_backward(dA, acts[l - 1], train.keep_prob, _key(train, step, l))
                k.linear_activation_backward(
                    dA, acts[l - 1], A_prev, W, spec.hidden_code, spec.slope, dZ, dA_prev, dW, db
                )
            dA = dA_prev
        return cost

    def _regularise(self, m: int) -> float:
        """``dW += lambd/m W`` for every layer; returns the cost term ``lambd/2m sum ||W||^2``."""
        lambd = self.train.lambd
        squares = 0.0
        for l in range(1, len(self.spec.layer_dims)):
            squares += self.kernels.add_l2(self.params[f"W{l}"], self.grads[f"dW{l}"], lambd / m)
        return lambd / (2.0 * m) * squares

    def _update(self, lr0: float) -> None:
        """One update of the chosen optimizer, at this step's learning rate."""
        k, train, opt = self.kernels, self.train, self.optimizer
        lr = learning_rate_at(train, lr0, int(self.clock[STEP]))
        code = train.optimizer
        if code == Opt.MOMENTUM:
            k.update_momentum(self.theta, self.grad, opt.v, lr, train.beta1)
        elif code == Opt.RMSPROP:
            k.update_rmsprop(self.theta, self.grad, opt.s, lr, train.beta2, train.epsilon)
        elif code == Opt.ADAM:
            self.clock[ADAM_T] += 1
            t = int(self.clock[ADAM_T])
            k.update_adam(
                self.theta, self.grad, opt.v, opt.s, t, lr, train.beta1, train.beta2, train.epsilon
            )
        else:
            k.update(self.theta, self.grad, lr)

    def regularise_and_update(self, m: int, learning_rate: float) -> float:
        """The end of a step for the gradient in ``grad``: L2, then the optimizer's update.

        Used by this stepper's own steps, and for a gradient summed elsewhere (over blocks, or
        by a cluster: :class:`fastdnn.blocks.ReducedUpdate`), so that such a step runs the
        engine's update code, not a second optimizer.

        Parameters
        ----------
        m : int
            Examples the gradient is the mean over (L2 adds ``lambd / m * W`` to ``dW``).
        learning_rate : float
            The initial learning rate ``lr0``; decayed to the current step's
            (:func:`~fastdnn.steppers.learning_rate_at`, at ``clock[STEP]``).

        Returns
        -------
        float
            The L2 term of the cost, ``lambd / 2m * sum ||W||^2`` (0.0 without L2).

        Notes
        -----
        Updates ``theta`` and the optimizer's state in place (Adam advances ``clock[ADAM_T]``);
        the step count ``clock[STEP]`` is the caller's to advance. Overflow is not guarded:
        callers that judge divergence afterwards wrap it in ``np.errstate``.
        """
        l2 = self.regularise(m)
        self._update(learning_rate)
        return l2

    def regularise(self, m):
        return self._regularise(m) if self.train.lambd > 0.0 else 0.0

    def _step(self, X, Y, learning_rate: float, want_cost: bool) -> float:
        # Overflow is not warned about: divergence is detected after the chunk.
        with np.errstate(over="ignore", invalid="ignore"):
            cost = self._gradient(X, Y, want_cost)
            cost += self.regularise_and_update(X.shape[1], learning_rate)
        self.clock[STEP] += 1
        self.clock[DONE] += 1
        return cost

    # ------------------------------------------------------------------ the interface
    def full_batch(self, n_steps, learning_rate, want_cost):
        cost = math.nan
        for s in range(n_steps):
            c = self._step(self.X, self.Y, learning_rate, want_cost and s == 0)
            cost = c if s == 0 else cost
        return cost

    def minibatch(self, order, first_batch, n_steps, learning_rate, want_cost):
        B, dims = self.batch_size, self.spec.layer_dims
        X, Y, order, _ = self.epoch_source(order)  # X itself: the order as given
        cost = math.nan
        for s in range(n_steps):
            start = (first_batch + s) * B
            idx = order[start : start + B]
            b = idx.shape[0]
            xb = self.ws.Xb[: dims[0] * b].reshape(dims[0], b)
            yb = self.ws.Yb[: dims[-1] * b].reshape(dims[-1], b)
            np.take(X, idx, axis=1, out=xb)
            np.take(Y, idx, axis=1, out=yb)
            c = self._step(xb, yb, learning_rate, want_cost and s == 0)
            cost = c if s == 0 else cost
        return cost

    def gradient(self, X, Y, scale):
        m = X.shape[1]
        with np.errstate(over="ignore", invalid="ignore"):
            cost = self._gradient(np.ascontiguousarray(X), Y, True)
            self.grad *= self.grad.dtype.type(scale * m)  # the kernels give the mean
        return cost * m * scale

    @classmethod
    def forward(cls, spec, theta, X, AL_out):
        dims = spec.layer_dims
        params = param_views(theta, dims)
        L = len(dims) - 1
        A = np.ascontiguousarray(X)
        for l in range(1, L + 1):
            act = spec.output_code if l == L else spec.hidden_code
            Z = AL_out if l == L else np.empty((dims[l], X.shape[1]), dtype=theta.dtype)
            # A_out is Z itself: only A is needed.
            cls.kernels.linear_activation_forward(
                A, params[f"W{l}"], params[f"b{l}"], act, spec.slope, Z, Z
            )
            A = Z
