"""The stepper of the Python backends (``naive``, ``numpy``): one kernel call per layer and step.

The same steps as the jitted loop, written as calls to the backend's per-step kernels
(:mod:`fastdnn.kernels.naive` or :mod:`fastdnn.kernels.vectorized`) over views of the flat
buffers, built once when the stepper is prepared.
"""

from __future__ import annotations

import math

import numpy as np

from .._layout import param_views
from . import NetSpec, Stepper, Workspace


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

    def __init__(self, spec: NetSpec, theta, grad, X, Y, batch_size, workspace: Workspace):
        if not X.flags.c_contiguous:
            X = np.ascontiguousarray(X)  # the Python kernels assume C order
        super().__init__(spec, theta, grad, X, Y, batch_size, workspace)
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
        """Forward and backward over the batch ``X, Y``; the mean gradient into ``grad``."""
        k, spec, dims = self.kernels, self.spec, self.spec.layer_dims
        L = len(dims) - 1
        m = X.shape[1]
        if m not in self._views:
            self._views[m] = _layer_views(self.ws, dims, m)
        acts, ZL, deltas, dA_prevs = self._views[m]
        p, g = self.params, self.grads
        A_prev = X
        for l in range(1, L + 1):
            act = spec.output_code if l == L else spec.hidden_code
            Z = ZL if l == L else acts[l - 1]
            k.linear_activation_forward(
                A_prev, p[f"W{l}"], p[f"b{l}"], act, spec.slope, Z, acts[l - 1]
            )
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
                k.linear_activation_backward(
                    dA, acts[l - 1], A_prev, W, spec.hidden_code, spec.slope, dZ, dA_prev, dW, db
                )
            dA = dA_prev
        return cost

    def _step(self, X, Y, learning_rate: float, want_cost: bool) -> float:
        # Overflow is not warned about: divergence is detected after the chunk.
        with np.errstate(over="ignore", invalid="ignore"):
            cost = self._gradient(X, Y, want_cost)
            self.kernels.update(self.theta, self.grad, learning_rate)
        return cost

    # ------------------------------------------------------------------ the interface
    def full_batch(self, n_steps, learning_rate, want_cost):
        cost = math.nan
        for s in range(n_steps):
            c = self._step(self.X, self.Y, learning_rate, want_cost and s == 0)
            cost = c if s == 0 else cost
            self.counter[0] += 1
        return cost

    def minibatch(self, order, first_batch, n_steps, learning_rate, want_cost):
        B, dims = self.batch_size, self.spec.layer_dims
        cost = math.nan
        for s in range(n_steps):
            start = (first_batch + s) * B
            idx = order[start : start + B]
            b = idx.shape[0]
            xb = self.ws.Xb[: dims[0] * b].reshape(dims[0], b)
            yb = self.ws.Yb[: dims[-1] * b].reshape(dims[-1], b)
            np.take(self.X, idx, axis=1, out=xb)
            np.take(self.Y, idx, axis=1, out=yb)
            c = self._step(xb, yb, learning_rate, want_cost and s == 0)
            cost = c if s == 0 else cost
            self.counter[0] += 1
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
