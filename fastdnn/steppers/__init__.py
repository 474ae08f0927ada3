"""Steppers: how one backend runs training steps. One interface, one implementation per backend.

A stepper is prepared once per ``fit`` for one network and one training set, then asked for
chunks of steps by the thin loop in :mod:`fastdnn.train`, which knows nothing about how they
run. :mod:`fastdnn.backends` maps a backend name to its kernels and its stepper class.

Interface (:class:`Stepper`)
----------------------------
``Stepper(spec, theta, grad, X, Y, batch_size, workspace, *, train=None, optimizer=None,
start_step=0, copy_threads=None)``
    Prepare: the network ``spec``, the flat parameter and gradient buffers (updated in place),
    the checked training data, the mini-batch size (None: full batch), the work buffers; how
    to train (a :class:`Train`: optimizer, decay, L2, dropout; default plain gradient
    descent), the optimizer's state (an :class:`OptimizerState`, updated in place) and the
    global number of the first step (learning-rate decay and dropout masks depend on it).
    ``copy_threads``: mini-batch steps read their examples from a copy of ``X`` with the
    examples contiguous, made with that many threads in the first epoch's shuffle (see
    :meth:`Stepper.epoch_source`); None: straight from ``X``. A stepper may ignore it (the
    Python backends take their batches along the rows of a C-ordered ``X``).
``copy_x(order, check_finite=None) -> bool``
    Make that copy now, for the epoch shuffled as ``order`` (checking ``X`` for NaN and inf
    as it is read, when ``check_finite`` names it); False if this stepper does not copy.
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
    ``counter[0]`` counts the steps completed since the loop last reset it (a view of
    ``clock``, which also holds the global step number and Adam's ``t``).
``atomic``
    True when a chunk runs as one uninterruptible call (so Ctrl-C never lands mid-step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .._layout import aligned_empty, aligned_zeros
from .._transpose import examples_contiguous, inverse_permutation
from .._types import ACTIVATIONS, OPTIMIZERS, OUTPUTS, Opt


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


class Train(NamedTuple):
    """How one ``fit`` trains, in the course's names (fixed for the fit; the learning rate
    ``lr0`` is given with each chunk of steps)."""

    optimizer: int = int(Opt.GD)  #: Opt code
    beta1: float = 0.9  #: momentum's ``beta``, Adam's ``beta1``
    beta2: float = 0.999  #: RMSprop's and Adam's ``beta2``
    epsilon: float = 1e-8
    decay_rate: float = 0.0  #: 0: a constant learning rate
    time_interval: int = 0  #: 0: ``lr0 / (1 + decay_rate * epoch)``; k: decay every k epochs
    lambd: float = 0.0  #: L2 strength: the cost adds ``lambd / 2m * sum ||W||^2``
    keep_prob: float = 1.0  #: inverted dropout on the hidden layers; 1: off
    seed: np.uint64 = np.uint64(0)  #: the dropout masks' seed
    batches_per_epoch: int = 1
    #: global step ``s`` is step ``s + step_offset`` of the fit's epochs (see fastdnn._epochs)
    step_offset: int = 0

    @property
    def optimizer_name(self) -> str:
        return Opt(self.optimizer).name.lower()

    @property
    def is_plain(self) -> bool:
        """Course 1's training: gradient descent at a constant rate, no L2, no dropout."""
        return (
            self.optimizer == Opt.GD
            and self.decay_rate == 0.0
            and self.lambd == 0.0
            and self.keep_prob == 1.0
        )


def learning_rate_at(train: Train, lr0: float, step: int) -> float:
    """The course's learning-rate decay at global step ``step`` (epochs count from 0):
    ``lr0 / (1 + decay_rate * epoch)``, or with ``time_interval`` k,
    ``lr0 / (1 + decay_rate * floor(epoch / k))`` (the course's ``schedule_lr_decay``), where
    ``epoch = (step + step_offset) // batches_per_epoch`` (:mod:`fastdnn._epochs`).

    Pure Python; the jit stepper compiles this same function.
    """
    if train.decay_rate == 0.0:
        return lr0
    epoch = (step + train.step_offset) // train.batches_per_epoch
    if train.time_interval > 0:
        epoch = epoch // train.time_interval
    return lr0 / (1.0 + train.decay_rate * epoch)


class OptimizerState:
    """The state an optimizer keeps between steps, twinned with ``theta`` (saved with a model).

    Attributes
    ----------
    name : {"gd", "momentum", "rmsprop", "adam"}
    v : ndarray of shape (p,) or (0,)
        Momentum's velocity, Adam's first moment.
    s : ndarray of shape (p,) or (0,)
        RMSprop's and Adam's second moment.
    t : int
        Adam's update count (for the bias correction).
    """

    def __init__(self, name: str, n_params: int, dtype, v=None, s=None, t: int = 0):
        self.name = name
        code = OPTIMIZERS[name]
        self.v = _state_buffer(v, n_params if code in (Opt.MOMENTUM, Opt.ADAM) else 0, dtype)
        self.s = _state_buffer(s, n_params if code in (Opt.RMSPROP, Opt.ADAM) else 0, dtype)
        self.t = int(t)

    def arrays(self) -> dict[str, np.ndarray]:
        """The non-empty buffers, by name."""
        return {k: a for k, a in (("v", self.v), ("s", self.s)) if a.size}


def _state_buffer(given, size: int, dtype) -> np.ndarray:
    if given is None:
        return aligned_zeros(size, dtype)
    if given.shape != (size,) or given.dtype != np.dtype(dtype):
        raise ValueError(f"optimizer state must have shape ({size},) and dtype {dtype}")
    return given


#: Indices into a stepper's ``clock``: steps done in this run, global step, Adam's t.
DONE, STEP, ADAM_T = 0, 1, 2


class Workspace:
    """Work buffers for one (network, batch width, dtype): allocated once, reused every step.

    ``Xb``/``Yb`` hold one mini-batch.
    """

    def __init__(self, layer_dims: Sequence[int], m: int, dtype, minibatch: bool):
        dims = list(layer_dims)
        self.key = (tuple(dims), m, np.dtype(dtype), minibatch)
        self.m = m
        self._per_example = per_example = self.per_example(dims)
        # Each on a cache line, as the parameters (fastdnn._layout.LINE_BYTES: BLAS kernels).
        self.acts = aligned_empty(per_example["acts"] * m, dtype)  # A of every layer, flat
        self.ZL = aligned_empty(per_example["ZL"] * m, dtype)  # output logits, for the cost
        self.D = aligned_empty(per_example["D"] * m, dtype)  # deltas, ping
        self.E = aligned_empty(per_example["E"] * m, dtype)  # deltas, pong
        examples = m if minibatch else 0
        self.Xb = aligned_empty(dims[0] * examples, dtype)
        self.Yb = aligned_empty(dims[-1] * examples, dtype)

    @staticmethod
    def per_example(layer_dims) -> dict[str, int]:
        """Values per example of the buffers sized by the batch width: ``acts`` (every layer's
        A), ``ZL`` (the output logits), ``D`` and ``E`` (the deltas, ping and pong)."""
        dims = list(layer_dims)
        widest_hidden = max(dims[1:-1], default=1)
        return {
            "acts": sum(dims[1:]),
            "ZL": dims[-1],
            "D": max(widest_hidden, dims[-1]),
            "E": widest_hidden,
        }

    def examples(self, a: int, b: int) -> tuple[np.ndarray, ...]:
        """``acts``, ``ZL``, ``D``, ``E`` for the examples ``a:b`` alone: each buffer's share,
        as a workspace of ``b - a`` examples would lay it out (a split step's range)."""
        return tuple(getattr(self, name)[k * a : k * b] for name, k in self._per_example.items())

    @classmethod
    def reuse(cls, old: Workspace | None, layer_dims, m: int, dtype, minibatch: bool):
        """``old`` if it has this shape, else a new workspace (the old one is dropped)."""
        key = (tuple(layer_dims), m, np.dtype(dtype), minibatch)
        if old is not None and old.key == key:
            return old
        return cls(layer_dims, m, dtype, minibatch)


class Stepper:
    """Base of every backend's stepper; see the module docstring for the interface."""

    atomic: bool = False
    #: Seconds one step is assumed to take when the training loop sizes its chunks, or None
    #: to size them by measured time. Set by a stepper whose results depend on where chunks
    #: end (the Gram path recomputes its implicit state there), so that the chunk ends, and
    #: with them the bits, do not depend on how loaded the machine was.
    nominal_step_seconds: float | None = None

    def __init__(
        self,
        spec: NetSpec,
        theta,
        grad,
        X,
        Y,
        batch_size,
        workspace: Workspace,
        *,
        train: Train | None = None,
        optimizer: OptimizerState | None = None,
        start_step: int = 0,
        copy_threads: int | None = None,
    ):
        self.spec = spec
        self.theta, self.grad = theta, grad
        self.X, self.Y = X, Y
        self.copy_threads = copy_threads
        self._copied_order = None  # the shuffle the copy of X holds, once made
        self._position = None  # where each example of X sits in the copy
        self._epoch = (None, None)  # (order, epoch_source(order)) of the latest epoch
        self.batch_size = batch_size
        self.ws = workspace
        self.train = Train() if train is None else train
        if optimizer is None:
            optimizer = OptimizerState(self.train.optimizer_name, theta.size, theta.dtype)
        self.optimizer = optimizer
        self.clock = np.array([0, start_step, optimizer.t], dtype=np.int64)
        self.counter = self.clock[DONE : DONE + 1]  # a view: the loop reads and resets it

    def finish(self) -> None:
        """Hand back what lives in the clock to the optimizer's state (Adam's ``t``)."""
        self.optimizer.t = int(self.clock[ADAM_T])

    def _mutable(self) -> tuple:
        return (self.theta, self.optimizer.v, self.optimizer.s, self.clock[STEP:])

    def snapshot(self, into=None):
        """A copy of everything a step changes (reusing ``into`` if given)."""
        if into is None:
            return tuple(a.copy() for a in self._mutable())
        for mine, copy in zip(self._mutable(), into, strict=True):
            copy[...] = mine
        return into

    def restore(self, snapshot) -> None:
        for mine, copy in zip(self._mutable(), snapshot, strict=True):
            mine[...] = copy

    def is_finite(self) -> bool:
        return bool(np.isfinite(self.theta).all())

    def epoch_source(self, order) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Where the batches of the epoch shuffled as ``order`` come from: ``(X, Y, order,
        consecutive)``, the examples ``order`` of ``X`` and ``Y``, which are their own
        consecutive examples when ``consecutive``.

        Without ``copy_threads``, ``X``, ``Y`` and ``order`` as given. With it, the first call
        copies ``X`` (and ``Y``) in ``order``, examples contiguous: that epoch's batches are
        consecutive slices of the copy, gathered by nobody. A later epoch gathers from the copy
        (its examples are whole rows) at their places there; an epoch in the copy's own order
        (a fit without shuffling) slices again. Answered once per epoch (per ``order`` object).
        """
        if order is not self._epoch[0]:
            self._epoch = (order, self._new_epoch_source(order))
        return self._epoch[1]

    def copy_x(self, order, check_finite: str | None = None) -> bool:
        """Make the copy of ``X`` that :meth:`epoch_source` reads (examples contiguous, in the
        epoch shuffle ``order``) now, not at the first batch; returns False, doing nothing, if
        this stepper reads ``X`` as given (no ``copy_threads``). ``check_finite``: ``X``'s
        name, to check its values for NaN and inf as the copy reads them (a fit's check,
        which then costs no read of its own; ``ValueError`` naming the first one, before any
        step). Once made, the copy stays: a second call does nothing."""
        if self.copy_threads is None:
            return False
        if self._copied_order is None:
            self.X = examples_contiguous(
                self.X, self.copy_threads, order, check_finite=check_finite
            )
            self.Y = np.take(self.Y, order, axis=1)
            self._copied_order = order.copy()
            self._position = inverse_permutation(order, order.shape[0])
        return True

    def _new_epoch_source(self, order):
        if not self.copy_x(order):
            return self.X, self.Y, order, False
        m = order.shape[0]
        if np.array_equal(order, self._copied_order):
            return self.X, self.Y, np.arange(m, dtype=np.int64), True
        return self.X, self.Y, self._position[order], False

    def full_batch(self, n_steps: int, learning_rate: float, want_cost: bool) -> float:
        raise NotImplementedError

    def minibatch(
        self, order, first_batch: int, n_steps: int, learning_rate: float, want_cost: bool
    ) -> float:
        raise NotImplementedError

    def gradient(self, X, Y, scale: float) -> float:
        raise NotImplementedError

    def regularise(self, m: int) -> float:
        """L2 on the gradient in ``grad``, the engine's own code: ``dW += lambd/m W`` for
        every layer; returns the cost's term ``lambd/2m sum ||W||^2`` (0.0 without L2)."""
        raise NotImplementedError

    @classmethod
    def forward(cls, spec: NetSpec, theta, X, AL_out) -> None:
        raise NotImplementedError
