"""The split step of the ``jit`` backend: a full batch's examples shared between threads.

With 2 or more threads, the direct full-batch step runs its matrix products on the BLAS's
threads but its elementwise passes (bias + activation, derivative mask + ``db``, the cost) on
one. The split step gives each of ``T`` threads a range of the examples instead: each runs the
forward and backward passes of its range (its products on a BLAS of one thread, its own
elementwise passes) into a gradient of its own, scaled by ``1/m``; the gradients add up to the
full batch's, and the step (L2, the optimizer) is then taken once, as on the direct path. It is
the same step, up to the order of the additions in ``dW`` and ``db`` (the same bits every run
for a given number of threads, as a threaded BLAS gives).

Each range is a view (a block of columns of a C-ordered ``X``, rows of a Fortran-ordered
one's transpose: nothing copied but ``Y``), and the ranges share the model's work buffers, cut
at their examples: no more memory than the direct step, plus one gradient per extra thread.

:func:`choose` decides for one ``fit``. The split runs only where each thread's products can
run on one thread of their own: MKL keeps its thread count per calling thread, OpenBLAS one
count for the process (two threads calling it at once would each ask for all its threads), so
the rule takes steps whose products are all MKL's (an Intel CPU with the ``mkl`` extra).
Setting OpenBLAS's count to one for a split fit would pay too, but its results depend on that
count (W3's large products differ at 1 and 2 threads), so other threads' products meanwhile
would lose their bits: not done.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from .. import _blas
from .._layout import aligned_zeros
from .._numba import JIT_DISABLED
from . import NetSpec, Train, Workspace
from . import _jit_loop as loop
from .jit import JitStepper

#: The dtypes the rule splits. Measured on a Sapphire Rapids class Xeon (MKL, 2 threads, W3
#: 784-128-64-1 with 10000 C-ordered examples, 20-step fits alternating with the direct step,
#: medians of 15 / 11): float64 44.9 -> 40.0 ms a step (1.12x); float32 19.8 -> 19.5 (1.01x:
#: not worth other bits; MKL's float32 products scale to 2 threads, and its elementwise passes
#: move half the bytes).
DTYPES = frozenset({"float64"})
#: Forward multiply-adds a step's range of examples must have, at least, for the split to pay
#: (the hand-off to the threads and the gradients' sum). W3's shape, float64, 2 threads, as
#: above, direct -> split: 500 examples (2.7e7 a thread) 1.29 -> 1.28 ms, 1000 (5.4e7) 4.09
#: -> 4.11, 1500 (8.1e7) 6.13 -> 5.87, 2500 (1.4e8) 9.97 -> 9.08, 4000 (2.2e8) 17.2 -> 15.0.
MIN_MACS_PER_THREAD = 100_000_000
#: Ranges start at a multiple of this many examples: every range's work buffers then start
#: on a cache line, as the whole's do (64 bytes of float64).
ALIGN_EXAMPLES = 8
#: The libraries a split step's products may use: one thread for each calling thread.
ONE_THREAD_CODES = frozenset({_blas.USE_MKL, _blas.USE_LOOPS})


def forward_macs(layer_dims) -> int:
    """Multiply-adds of one example's forward pass: ``sum n[l] n[l-1]``."""
    dims = list(layer_dims)
    return sum(a * b for a, b in zip(dims[1:], dims[:-1], strict=False))


def choose(spec: NetSpec, m: int, *, batch_size: int | None, train: Train | None) -> int:
    """The threads a direct full-batch ``fit`` of ``m`` examples splits its steps between, or
    0: not split (mini-batches, dropout, one thread, float32, a step too small, or products
    on OpenBLAS). Sets fastdnn's BLAS threads first if no fit has (as the fit would)."""
    if batch_size is not None or (train is not None and train.keep_prob < 1.0):
        return 0  # dropout's masks are drawn per column of the whole batch
    if np.dtype(spec.dtype).name not in DTYPES:
        return 0
    _blas.apply_env_threads()
    threads = _blas.current_threads()
    threads = min(threads, m * forward_macs(spec.layer_dims) // MIN_MACS_PER_THREAD)
    if threads < 2:
        return 0
    codes = _blas.choose(spec.layer_dims, m, spec.dtype, full_batch=True)
    return threads if set(codes) <= ONE_THREAD_CODES else 0


def rule_summary() -> str:
    """One line for ``fastdnn info``: which full-batch steps split their examples here."""
    when = (
        f"{' and '.join(sorted(DTYPES))} full batches without dropout split their examples "
        f"between 2+ training threads when each thread's share has at least "
        f"{MIN_MACS_PER_THREAD:.0e} forward multiply-adds and every product is MKL's"
    )
    if _blas.USE_MKL in _blas.gemm_functions(np.float64)[1]:
        return when
    return f"off here (MKL is not in use); elsewhere {when}"


def cuts(m: int, parts: int) -> np.ndarray:
    """Where ``parts`` ranges of ``m`` examples start and end: ``parts + 1`` increasing
    offsets from 0 to ``m``, inner ones multiples of :data:`ALIGN_EXAMPLES` (``m`` at least
    ``parts * ALIGN_EXAMPLES``)."""
    # floor(m t / parts) rounded down to the alignment: strictly increasing, and every range
    # at least ALIGN_EXAMPLES long, when m >= parts * ALIGN_EXAMPLES
    inner = [ALIGN_EXAMPLES * (m * t // (parts * ALIGN_EXAMPLES)) for t in range(1, parts)]
    return np.array([0, *inner, m], dtype=np.int64)


def _wait_for(futures) -> None:
    """Wait until every one of ``futures`` is done, through any number of Ctrl-C."""
    while True:
        try:
            wait(futures)
            return
        except KeyboardInterrupt:
            continue


_pools: dict[int, tuple[int, ThreadPoolExecutor]] = {}
_pools_lock = threading.Lock()


def workers(threads: int) -> ThreadPoolExecutor:
    """The process's pool of ``threads`` split-step workers, started at its first use and
    kept: new threads would allocate MKL's buffers again in every fit (W3 float64, 5-step
    fits, 7 alternations with the direct step: split/direct 0.915 with a pool per fit, 0.891
    with this one). Idle workers wait on a queue, using no CPU. Fits in several Python threads
    at once share it. A child process made by ``fork`` (whose copy of the pool has no
    threads) starts its own."""
    with _pools_lock:
        pid, pool = _pools.get(threads, (None, None))
        if pool is None or pid != os.getpid():
            pool = ThreadPoolExecutor(
                threads, thread_name_prefix="fastdnn-split", initializer=_one_blas_thread
            )
            _pools[threads] = (os.getpid(), pool)
        return pool


def _one_blas_thread() -> None:
    """A worker's initializer: MKL runs this thread's products on this thread alone."""
    lib = _blas.load_mkl()
    if lib is not None:
        lib.MKL_Set_Num_Threads_Local(ctypes.c_int(1))


class SplitStepper(JitStepper):
    """Full-batch steps of the ``jit`` backend, the examples split between ``threads``
    (default: :func:`choose`'s; at least 2) worker threads; see the module docstring.

    Not atomic: Python runs between the parts and the update, so an interrupt goes back to
    the last recorded state; the parts always finish first (they write buffers the model
    keeps). The threads are the process's :func:`workers`.
    """

    atomic = False

    def __init__(self, spec: NetSpec, theta, grad, X, Y, batch_size, workspace: Workspace, **kw):
        threads = kw.pop("threads", None)
        super().__init__(spec, theta, grad, X, Y, batch_size, workspace, **kw)
        if batch_size is not None or self.train.keep_prob < 1.0:
            raise ValueError("a split step is a full-batch step without dropout")
        if not (X.flags.c_contiguous or X.flags.f_contiguous):
            raise ValueError("a split step needs a C- or Fortran-contiguous X")
        m = X.shape[1]
        if threads is None:
            threads = choose(spec, m, batch_size=None, train=self.train)
        if not 2 <= threads <= m // ALIGN_EXAMPLES:
            raise ValueError(
                f"threads must be between 2 and m // {ALIGN_EXAMPLES} = {m // ALIGN_EXAMPLES} "
                f"for a split step; got {threads}"
            )
        self.m = m
        bounds = cuts(m, threads)
        self._parts = []
        for t, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            Yp = np.ascontiguousarray(Y[:, a:b])
            if X.flags.c_contiguous:  # a block of columns, read in place (its leading
                data = loop.Data(X[:, a:b], False, Yp)  # dimension is m)
            else:  # examples contiguous: rows of X.T
                data = loop.Data(X[:, a:b].T, True, Yp)
            work = loop.Work(*workspace.examples(a, b), workspace.Xb, workspace.Yb)
            part_grad = grad if t == 0 else aligned_zeros(grad.size, grad.dtype)
            st = self.state._replace(grad=part_grad)
            self._parts.append((data, work, st))
        self.threads = threads
        self._compile()

    def _compile(self) -> None:
        """Compile (or load) the parts' gradient for their types here, in the calling thread,
        before any worker calls it. Numba warns there that ``np.dot`` is slower on arrays that
        are not contiguous (a block of columns): that is ``gemm``'s fallback, never taken
        here (the rule's products are all MKL's), so the warning is kept from the user."""
        if JIT_DISABLED:
            return
        from numba import typeof
        from numba.core.errors import NumbaPerformanceWarning

        signatures = {
            tuple(typeof(a) for a in (data, self.net, work, self.settings, st, 0.0))
            for data, work, st in self._parts
        }
        for signature in signatures:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NumbaPerformanceWarning)
                loop.block_gradient.compile(signature)

    def _part(self, t: int) -> float:
        data, work, st = self._parts[t]
        return loop.block_gradient(data, self.net, work, self.settings, st, 1.0 / self.m)

    def _gradient(self) -> float:
        """Every part's gradient, summed into ``grad``; returns the cost without L2."""
        pool = workers(self.threads)
        futures = []
        try:
            for t in range(len(self._parts)):
                futures.append(pool.submit(self._part, t))
            costs = [f.result() for f in futures]
        except BaseException:  # Ctrl-C, or a part's error: the others finish first (they
            _wait_for(futures)  # write the model's buffers, which the next fit may reuse)
            raise
        for _, _, st in self._parts[1:]:
            loop.add_into(self.grad, st.grad)
        return sum(costs)  # not fsum: a diverged part's inf - inf is NaN, as in a step

    def full_batch(self, n_steps, learning_rate, want_cost):
        self.state.hyper[loop.LEARNING_RATE] = learning_rate
        cost = math.nan
        for s in range(n_steps):
            c = self._gradient()
            c += loop.reduced_update(self.net, self.settings, self.state, float(self.m))
            cost = c if s == 0 and want_cost else cost
        return cost

    def minibatch(self, order, first_batch, n_steps, learning_rate, want_cost):
        raise NotImplementedError("a split step is a full-batch step")
