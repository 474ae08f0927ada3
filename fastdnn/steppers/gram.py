"""The wide-input (Gram) path of the ``jit`` backend: full-batch training when m << n_x.

With full-batch gradient descent, ``W1`` only ever moves inside the span of the training
examples, so the first layer can run on the Gram matrix ``G = X.T @ X`` (m, m) instead of on
``X`` (n_x, m): a step's first-layer work drops from ``2 n1 n_x m`` multiply-adds (the forward
product and ``dW1``) to ``n1 m^2``. On the course's cat network (n_x = 12288, m = 209) that is
about 120x fewer in the first layer. The math and the compiled loop are in
:mod:`fastdnn.steppers._gram_loop`; this module holds the stepper and the rule that picks it.

:func:`choose` decides, for one ``fit``: ``wide_input="auto"`` (the default of
:class:`fastdnn.DNN`) takes the path when the cost model of :func:`first_layer_work` says it
pays; ``True`` forces it (and refuses, naming the reason, when it would not be exact);
``False`` never takes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import _blas
from .. import _validation as v
from .._types import Opt
from ..train import CHUNK_SECONDS
from . import NetSpec, Train, Workspace
from . import _gram_loop as loop
from .jit import JitStepper

#: Optimizers the Gram path runs (with learning-rate decay, L2 and dropout, all exact in the
#: span of X); RMSprop and Adam scale the gradient element by element and leave it.
SPAN_OPTIMIZERS = frozenset({"gd", "momentum"})
#: ``wide_input="auto"`` takes the path when its predicted first-layer work is at most this
#: fraction of the direct path's. The model's per-step ratio matched the measured one on
#: layers of 500+ inputs and overstated it up to 3x on tiny ones (see
#: :func:`first_layer_work`), where both paths take microseconds.
AUTO_MAX_RATIO = 0.75
#: Multiply-adds per second assumed when sizing the training loop's chunks on the Gram path
#: (about CHUNK_SECONDS each; measured 1 BLAS thread: 12e9 on the products of W2).
ASSUMED_RATE = 1e10
#: Bytes of float64 rows converted at a time when computing ``G`` from a float32 ``X``.
GRAM_BLOCK_BYTES = 8 << 20


def check_wide_input(value) -> str | bool:
    """``value`` if it is ``"auto"``, True or False; else a TypeError/ValueError naming it."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str):
        if value == "auto":
            return value
        raise ValueError(f"wide_input must be 'auto', True or False; got {value!r}")
    raise TypeError(
        f"wide_input must be 'auto', True or False; got {type(value).__name__} {value!r}"
    )


def first_layer_work(
    layer_dims: Sequence[int], m: int, n_steps: int, cost_every: int, momentum: bool = False
) -> tuple[float, float]:
    """``(direct, gram)``: predicted multiply-adds of the first layer over one full-batch fit.

    Layers 2..L cost the same on both paths and are left out. With ``n1 = layer_dims[1]``,
    ``n_x = layer_dims[0]``, ``F = n1 n_x m`` (one first-layer product of the direct path)
    and ``c`` chunks::

        direct = n_steps * 2F                      W1 @ X and delta1 @ X.T, every step
        gram   = m^2 n_x / 2                       G = X.T @ X (syrk), once per fit
               + c * 2F                            P = W1 @ X and W1 -= S @ X.T, every chunk
               + c * 2F (momentum only)            R = v_W1 @ X and v_W1 += U @ X.T
               + n_steps * n1 m^2                  S @ G, every step

    A chunk ends at every cost record (``cost_every``), and after about ``CHUNK_SECONDS`` of
    work at :data:`ASSUMED_RATE` (:func:`nominal_step_seconds`: the training loop sizes the
    Gram path's chunks so too); the training loop's first chunk is one step.

    Measured on this project's machine (1 BLAS thread, float64, median of interleaved runs),
    the time per step of the whole network follows the first layer's ratio ``2 n_x / m``:
    12288-20-7-5-1 at m = 209: 107-150x (model 118x); 2000-20-1 at m = 250, 500, 1000,
    2000, 3000: 17.8, 7.9, 4.0, 1.99, 1.46x (model 16, 8, 4, 2, 1.33); 2000-100-1 at
    m = 500, 2000, 3000: 7.1, 1.8, 1.3x; 500-20-1 at m = 500, 1000: 2.0, 0.99x (model 2, 1).
    Small layers gain less than the model says (the rest of the step weighs more):
    1000-10-1 at m = 100: 14x (model 20x); 200-20-1 at m = 100: 3.4x (4x); 64-8-1 at
    m = 32: 1.2x (4x). Computing G took 0.55x the model's time (syrk beats the step's skinny
    products), and a chunk's two ends about one direct step, as modelled.
    """
    n_x, n1 = int(layer_dims[0]), int(layer_dims[1])
    F = float(n1) * n_x * m
    step = float(n1) * m * m
    per_chunk = max(1, min(cost_every, int(CHUNK_SECONDS / nominal_step_seconds(layer_dims, m))))
    chunks = 1 + math.ceil(n_steps / per_chunk)
    direct = n_steps * 2.0 * F
    per_chunk_products = 4.0 if momentum else 2.0
    gram = float(m) * m * n_x / 2 + chunks * per_chunk_products * F + n_steps * step
    return direct, gram


def nominal_step_seconds(layer_dims: Sequence[int], m: int) -> float:
    """One Gram step's predicted time at :data:`ASSUMED_RATE`: ``S @ G`` (``n1 m^2``) and the
    three products of each later layer. The training loop sizes the Gram path's chunks with
    it rather than with measured time: each chunk end recomputes ``P`` and writes ``W1``,
    which rounds, so timed chunk ends made two runs of one fit differ in their last bits
    (seen on a loaded machine: the float32 cat run's final cost 0.071 in one process, 0.088
    in another)."""
    step = float(layer_dims[1]) * m * m
    rest = sum(3.0 * layer_dims[l] * layer_dims[l - 1] * m for l in range(2, len(layer_dims)))
    return (step + rest) / ASSUMED_RATE


def choose(
    wide_input,
    spec: NetSpec,
    m: int,
    *,
    batch_size: int | None,
    n_steps: int,
    cost_every: int,
    train: Train | None = None,
) -> bool:
    """Whether this ``fit`` takes the Gram path.

    ``"auto"`` takes it for full-batch gradient descent when ``m <= n_x`` (so ``G`` is no
    larger than ``X``) and :func:`first_layer_work` predicts at most :data:`AUTO_MAX_RATIO`
    of the direct path's first-layer work. In practice: whenever ``m`` is at most about
    ``n_x`` and the fit is long enough to pay for ``G`` (on the cat data, m = 209, with
    ``cost_every=100``: from 6 steps for 12288-20-7-5-1, 13 for 12288-7-1, 73 for logistic
    regression, whose ``n1 = 1`` saves little per step).

    Parameters
    ----------
    wide_input : {"auto", True, False}
        The model's setting.
    spec : NetSpec
        The network.
    m : int
        Training examples.
    batch_size : int or None
        None for full batch; mini-batches change X every step and never take the path.
    n_steps, cost_every : int
        Steps of this ``fit`` and its cost-recording interval (each record ends a chunk).
    train : Train, optional
        The fit's Course-2 settings (default: plain gradient descent). Learning-rate decay,
        L2 and dropout are supported; the optimizer must be one of :data:`SPAN_OPTIMIZERS`.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        ``wide_input=True`` where the path is not exact (mini-batches, an optimizer outside
        :data:`SPAN_OPTIMIZERS`) or ``G`` (m x m) cannot fit in memory.
    """
    if wide_input is False:
        return False
    optimizer = Opt(Train().optimizer if train is None else train.optimizer).name.lower()
    why_not = None
    if batch_size is not None:
        why_not = (
            f"mini-batch training (batch_size={batch_size}) changes X every step; "
            "the Gram path needs full-batch training (batch_size=None)"
        )
    elif optimizer not in SPAN_OPTIMIZERS:
        why_not = (
            f"optimizer={optimizer!r} is not supported by the Gram path, which runs "
            f"{sorted(SPAN_OPTIMIZERS)} (with decay_rate, lambd and keep_prob); RMSprop and "
            "Adam scale the gradient element by element, which leaves the span of X"
        )
    if why_not is not None:
        if wide_input is True:
            raise ValueError(
                f"wide_input=True cannot be honoured: {why_not}. Use wide_input='auto' (or "
                "False) to train on the direct path."
            )
        return False
    try:
        v.check_memory(
            m * m * 8,
            f"wide_input=True: the Gram matrix X.T @ X of {m:,} examples ({m:,} x {m:,}, "
            "float64) it",
            "use wide_input='auto' or False (the direct path needs no such matrix)",
        )
    except ValueError:
        if wide_input is True:
            raise
        return False
    if wide_input is True:
        return True
    # auto: never a G larger than X itself (m <= n_x; X may be a memory map), then the model.
    if m > spec.layer_dims[0]:
        return False
    momentum = train is not None and train.optimizer == Opt.MOMENTUM
    direct, gram = first_layer_work(spec.layer_dims, m, n_steps, cost_every, momentum)
    return gram <= AUTO_MAX_RATIO * direct


class GramOverflowError(ValueError):
    """``G = X.T @ X`` is not finite in float64 (values of ``X`` near 1e154 and above): the
    Gram path cannot train on this ``X``; the direct path can."""


def gram_matrix(X: np.ndarray) -> np.ndarray:
    """``X.T @ X`` in float64, shape (m, m), for a C- or F-ordered ``X`` of shape (n_x, m).

    NumPy sees ``A.T @ A`` and calls syrk (one triangle, mirrored: ``G`` is exactly
    symmetric): on the cat data 20 ms against 31 ms for the same product by gemm (1 thread).
    A float32 ``X`` is converted a block of rows at a time, so no float64 copy of it is made.

    Raises
    ------
    GramOverflowError
        When ``G`` is not finite (``X`` finite, but its squares sum past float64's range).
    """
    with np.errstate(over="ignore", invalid="ignore"):  # checked below, said once
        if X.dtype == np.float64:
            G = X.T @ X
        else:
            m = X.shape[1]
            G = np.zeros((m, m))
            rows = max(1, GRAM_BLOCK_BYTES // (8 * m))
            for start in range(0, X.shape[0], rows):
                block = X[start : start + rows].astype(np.float64)
                G += block.T @ block
        total = np.add.reduce(G, axis=None)  # a finite sum: a finite G, without an m x m mask
    if not math.isfinite(total) and not np.isfinite(G).all():
        raise GramOverflowError(
            "wide_input: the Gram matrix X.T @ X overflows float64 (largest |X| = "
            f"{np.abs(X).max():.3g}): the Gram path cannot train on this X. Scale X, or use "
            "wide_input=False or 'auto' (the direct path)."
        )
    return G


def gram_products(layer_dims, m: int) -> list[tuple[int, int, int, bool, bool]]:
    """The matrix products of one Gram step, as ``fastdnn._blas.step_products``: the first
    layer's ``(n1, m) @ G (m, m)`` in place of its two products with ``X``."""
    return [(int(layer_dims[1]), m, m, False, False), *_blas.step_products(layer_dims, m)[2:]]


class GramStepper(JitStepper):
    """Full-batch steps with the first layer on ``G = X.T @ X``; ``W1`` written per chunk.

    ``G`` (m x m, float64) is computed once, when the stepper is prepared for a ``fit``.
    Between chunks ``theta`` holds ordinary parameters, so snapshots, callbacks, early
    stopping's best state and divergence restores see what the direct path would. Block
    gradients and inference are the direct jit stepper's.

    Raises
    ------
    ValueError
        For mini-batches or an optimizer outside :data:`SPAN_OPTIMIZERS` (:func:`choose`
        never picks it there).
    """

    def __init__(self, spec: NetSpec, theta, grad, X, Y, batch_size, workspace: Workspace, **kw):
        train = kw.get("train")
        if batch_size is not None:
            raise ValueError("the Gram path trains on the full batch only (batch_size=None)")
        if train is not None and Opt(train.optimizer).name.lower() not in SPAN_OPTIMIZERS:
            raise ValueError(
                f"the Gram path runs the optimizers {sorted(SPAN_OPTIMIZERS)}; "
                f"got {Opt(train.optimizer).name.lower()!r}"
            )
        super().__init__(spec, theta, grad, X, Y, batch_size, workspace, **kw)
        n1, m = spec.layer_dims[1], X.shape[1]
        self.nominal_step_seconds = nominal_step_seconds(spec.layer_dims, m)
        momentum = self.train.optimizer == Opt.MOMENTUM
        P, S, Q = (np.zeros((n1, m)) for _ in range(3))
        R, U = (np.zeros((n1, m) if momentum else (0, 0)) for _ in range(2))
        Sx = S if spec.dtype == np.float64 else np.zeros((n1, m), spec.dtype)
        blas64, _ = _blas.gemm_functions(np.float64)
        products64 = gram_products(spec.layer_dims, m)
        code64 = _blas.choose(spec.layer_dims, m, np.float64, products64, gram=True)[0]
        coef = np.array([1.0, 0.0, 0.0, 1.0])
        self.gram = loop.Gram(gram_matrix(X), P, R, S, U, Q, Sx, coef, blas64, code64)

    def _blas_codes(self, spec: NetSpec, X) -> list[int]:
        # The library for the Gram step's products, not the direct step's (whose first layer
        # is n_x wide): the first layer's two entries serve W1's rare materialisation.
        products = gram_products(spec.layer_dims, X.shape[1])
        codes = _blas.choose(spec.layer_dims, X.shape[1], spec.dtype, products, gram=True)
        return [codes[0], codes[0], *codes[1:]]

    def full_batch(self, n_steps, learning_rate, want_cost):
        self.state.hyper[loop.LEARNING_RATE] = learning_rate
        return loop.gram_steps(
            self.data,
            self.gram,
            self.net,
            self.work,
            self.settings,
            self.state,
            n_steps,
            want_cost,
        )
