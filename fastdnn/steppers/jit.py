"""The stepper of the ``jit`` backend: chunks of steps as one compiled call.

Preparing it builds the layer table (offsets into the flat buffers plus the BLAS library for
each product of the step, from :func:`fastdnn._blas.choose`) and the bundles that the compiled
functions of :mod:`fastdnn.steppers._jit_loop` take.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _blas
from .._layout import layer_table
from .._numba import JIT_DISABLED
from ..kernels._jit_entries import entries
from . import NetSpec, Stepper, Workspace
from . import _jit_loop as loop

#: The CPU vendors on which a batch gathered from a C-ordered ``(n_x, m)`` ``X`` is read one
#: row of ``X`` at a time (:func:`_jit_loop.gather_batch`): on a Sapphire Rapids class Xeon,
#: 784 x 60000 (W4), 6400 random examples in batches of 64 / 256 / 1024, time per 64
#: examples, 1 thread, medians of 5: float64 740-770 us one example at a time against
#: 370-415 us by rows, float32 490-515 against 310-375. Elsewhere one example at a time, as
#: measured before on AMD (1.6x faster than an older row gather that wrote the batch as
#: (n_x, b)); by rows there is unmeasured (``python bench/gather_order.py`` measures both).
#: Either order copies the same values: only the time differs.
GATHER_BY_ROWS = frozenset({"intel"})


def gather_by_rows() -> bool:
    """Whether this CPU gathers batches one row of ``X`` at a time (:data:`GATHER_BY_ROWS`)."""
    return _blas.cpu_vendor() in GATHER_BY_ROWS


def jit_table(
    layer_dims: Sequence[int], m: int, dtype, codes=None, full_batch: bool = False
) -> np.ndarray:
    """The layer table of :mod:`fastdnn.steppers._jit_loop`, with the BLAS for each product
    (``codes`` in the order of ``_blas.step_products``, default ``_blas.choose``'s for steps
    of ``m`` examples, all of the data when ``full_batch``)."""
    base = layer_table(layer_dims)
    table = np.zeros((len(base), loop.TABLE_COLUMNS), dtype=np.int64)
    table[:, :4] = base
    if codes is None:
        codes = _blas.choose(layer_dims, m, dtype, full_batch=full_batch)
    codes = iter(codes)
    for l in range(len(base)):
        table[l, loop.GEMM_FWD] = next(codes)
        table[l, loop.GEMM_DW] = next(codes)
        if l > 0:
            table[l, loop.GEMM_DA] = next(codes)
    return table


def _net(spec: NetSpec, m: int, codes=None, full_batch: bool = False) -> loop.Net:
    blas, _ = _blas.gemm_functions(spec.dtype)
    return loop.Net(
        jit_table(spec.layer_dims, m, spec.dtype, codes, full_batch),
        entries(spec.hidden_code, spec.output_code, spec.dtype),
        spec.loss_code,
        float(spec.slope),
        blas,
    )


def _work(ws: Workspace) -> loop.Work:
    return loop.Work(ws.acts, ws.ZL, ws.D, ws.E, ws.Xb, ws.Yb)


def _data(X, Y) -> loop.Data:
    """X's storage as C-contiguous: X itself, or X.T for a Fortran-ordered X (examples
    contiguous), flagged by ``x_t``. No copy either way."""
    x_t = not X.flags.c_contiguous
    return loop.Data(X.T if x_t else X, x_t, Y)


class JitStepper(Stepper):
    """Runs each chunk of steps as one compiled call (no Python between steps)."""

    # A compiled chunk cannot be interrupted halfway; with NUMBA_DISABLE_JIT it is Python.
    atomic = not JIT_DISABLED

    def __init__(self, spec: NetSpec, theta, grad, X, Y, batch_size, workspace: Workspace, **kw):
        super().__init__(spec, theta, grad, X, Y, batch_size, workspace, **kw)
        self.data = _data(X, Y)
        m = X.shape[1]
        codes = self._blas_codes(spec, X)
        self.net = _net(spec, min(batch_size or m, m), codes, full_batch=batch_size is None)
        self.work = _work(workspace)
        # Bundles are built once: their contents change, not the objects (see _jit_loop).
        opt = self.optimizer
        self.state = loop.State(theta, grad, opt.v, opt.s, self.clock, np.zeros(1))
        # A Course-1 run compiles (and runs) without the Course-2 machinery: see loop.Plain.
        # loop.Descending where the large layers step inside their dW product.
        self.settings = loop.plain_settings(self.net.table) if self.train.is_plain else self.train
        m = X.shape[1] if batch_size is not None else 0
        self.batches = loop.Batches(
            np.zeros(m, np.int64),
            batch_size or 0,
            np.zeros(1, np.int64),
            np.zeros(1, np.bool_),
            gather_by_rows(),
        )
        self._order = None

    def _blas_codes(self, spec: NetSpec, X) -> list[int] | None:
        """The BLAS for each product of :func:`jit_table`; None: ``_blas.choose``'s for the
        direct step (a stepper whose step runs other products says so here)."""
        return None

    def full_batch(self, n_steps, learning_rate, want_cost):
        self.state.hyper[loop.LEARNING_RATE] = learning_rate
        return loop.full_batch_steps(
            self.data, self.net, self.work, self.settings, self.state, n_steps, want_cost
        )

    def minibatch(self, order, first_batch, n_steps, learning_rate, want_cost):
        self.state.hyper[loop.LEARNING_RATE] = learning_rate
        batches = self.batches
        if order is not self._order:  # a new epoch's shuffle
            X, Y, inner, consecutive = self.epoch_source(order)
            if Y is not self.data.Y:  # the copy of X, made in the first epoch (F-ordered)
                self.data = loop.Data(X.T, True, Y)
            batches.order[...] = inner
            batches.consecutive[0] = consecutive
            self._order = order
        batches.first[0] = first_batch
        return loop.minibatch_steps(
            self.data, batches, self.net, self.work, self.settings, self.state, n_steps, want_cost
        )

    def gradient(self, X, Y, scale):
        if X.shape[1] > self.ws.m:
            raise ValueError(f"a block of {X.shape[1]} examples exceeds the buffers ({self.ws.m})")
        return loop.block_gradient(
            _data(X, Y), self.net, self.work, self.settings, self.state, float(scale)
        )

    def regularise(self, m):
        return loop.regularise(self.net, self.settings, self.state, float(m))

    @classmethod
    def forward(cls, spec, theta, X, AL_out):
        m = X.shape[1]
        ws = Workspace(spec.layer_dims, m, spec.dtype, minibatch=False)
        net = _net(spec, m, full_batch=True)
        loop.forward(_data(X, AL_out), theta, net, _work(ws), loop.Plain(), AL_out)
