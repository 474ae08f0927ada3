"""Steppers: how one backend runs training steps. One interface, one implementation per backend.

A stepper is prepared once per ``fit`` for one network and one training set, then asked for
chunks of steps by the thin loop in :mod:`fastdnn.train`, which knows nothing about how they
run. :mod:`fastdnn.backends` maps a backend name to its kernels and its stepper class.

Interface (:class:`Stepper`)
----------------------------
``Stepper(spec, theta, grad, X, Y, batch_size, workspace)``
    Prepare: the network ``spec``, the flat parameter and gradient buffers (updated in place),
    the checked training data, the mini-batch size (None: full batch), the work buffers.
``full_batch(n_steps, learning_rate, want_cost) -> cost``
    ``n_steps`` gradient steps on the whole set; the cost of the first one when asked.
``minibatch(order, first_batch, n_steps, learning_rate, want_cost) -> cost``
    ``n_steps`` steps over the batches ``first_batch, ...`` of one epoch's shuffle ``order``.
``gradient(X, Y, scale) -> cost``
    The gradient of a block of examples times ``scale * m_block`` into ``grad``, no update:
    the unit of work for data-parallel and out-of-core training.
``forward(spec, theta, X, AL_out)`` (class method)
    Inference: the network's output for ``X``, on this backend's route.
``snapshot(into=None)``, ``restore(snapshot)``, ``is_finite()``
    Save and restore everything a step changes (for divergence and interruption), and say
    whether it is all finite.
``counter``
    ``counter[0]`` counts the steps completed since the loop last reset it.
``atomic``
    True when a chunk runs as one uninterruptible call (so Ctrl-C never lands mid-step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._types import ACTIVATIONS, OUTPUTS


@dataclass(frozen=True)
class NetSpec:
    """What a stepper needs to know about a network (validated by :class:`fastdnn.DNN`)."""

    layer_dims: tuple[int, ...]
    hidden: str
    output: str
    slope: float
    dtype: np.dtype

    @property
    def hidden_code(self) -> int:
        return int(ACTIVATIONS[self.hidden])

    @property
    def output_code(self) -> int:
        return int(OUTPUTS[self.output].act)

    @property
    def loss_code(self) -> int:
        return int(OUTPUTS[self.output].loss)


class Workspace:
    """Work buffers for one (network, batch width, dtype): allocated once, reused every step."""

    def __init__(self, layer_dims: Sequence[int], m: int, dtype, minibatch: bool):
        dims = list(layer_dims)
        widest_hidden = max(dims[1:-1], default=1)
        self.key = (tuple(dims), m, np.dtype(dtype), minibatch)
        self.m = m
        self.acts = np.empty(sum(dims[1:]) * m, dtype=dtype)  # A of every layer, flat
        self.ZL = np.empty(dims[-1] * m, dtype=dtype)  # output logits, for the cost
        self.D = np.empty(max(widest_hidden, dims[-1]) * m, dtype=dtype)  # deltas, ping
        self.E = np.empty(widest_hidden * m, dtype=dtype)  # deltas, pong
        self.Xb = np.empty(dims[0] * m if minibatch else 0, dtype=dtype)
        self.Yb = np.empty(dims[-1] * m if minibatch else 0, dtype=dtype)

    @classmethod
    def reuse(cls, old: Workspace | None, layer_dims, m: int, dtype, minibatch: bool):
        """``old`` if it has this shape, else a new workspace (the old one is dropped)."""
        key = (tuple(layer_dims), m, np.dtype(dtype), minibatch)
        return old if old is not None and old.key == key else cls(layer_dims, m, dtype, minibatch)


class Stepper:
    """Base of every backend's stepper; see the module docstring for the interface."""

    atomic: bool = False

    def __init__(self, spec: NetSpec, theta, grad, X, Y, batch_size, workspace: Workspace):
        self.spec = spec
        self.theta, self.grad = theta, grad
        self.X, self.Y = X, Y
        self.batch_size = batch_size
        self.ws = workspace
        self.counter = np.zeros(1, dtype=np.int64)

    def snapshot(self, into=None):
        """A copy of the state a step changes (the parameters), reusing ``into`` if given."""
        if into is None:
            return self.theta.copy()
        into[...] = self.theta
        return into

    def restore(self, snapshot) -> None:
        self.theta[...] = snapshot

    def is_finite(self) -> bool:
        return bool(np.isfinite(self.theta).all())

    def full_batch(self, n_steps: int, learning_rate: float, want_cost: bool) -> float:
        raise NotImplementedError

    def minibatch(
        self, order, first_batch: int, n_steps: int, learning_rate: float, want_cost: bool
    ) -> float:
        raise NotImplementedError

    def gradient(self, X, Y, scale: float) -> float:
        raise NotImplementedError

    @classmethod
    def forward(cls, spec: NetSpec, theta, X, AL_out) -> None:
        raise NotImplementedError
