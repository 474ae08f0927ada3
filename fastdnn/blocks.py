"""Training on data larger than memory: examples are read in blocks, one block at a time.

:meth:`fastdnn.DNN.fit` sends ``X`` here when it lives outside memory (:func:`is_out_of_core`):
a NumPy ``memmap``, an h5py ``Dataset``, a zarr ``Array`` or a dask ``Array``, all of shape
``(n_x, m)`` with examples as columns. ``Y`` may be out of core too, or an ordinary array.
:func:`fit` is the same call with one more option, ``block_size``.

Blocks
------
A block is ``block_size`` consecutive examples (columns ``[start, start + block_size)``; the
last block may be shorter), read into memory in the model's dtype with examples contiguous,
checked (finite; 0/1 labels for a sigmoid output) and standardised when the model has input
scaling. By default a block holds about :data:`BLOCK_BYTES` of ``X``, rounded to whole storage
chunks (zarr, HDF5, dask) and then to whole mini-batches. While the model trains on one block,
the next block of the same pass is read by a background thread (the compiled steps release the
GIL). Memory is bounded by the block size, not by the data size: besides those two blocks, a
full-batch fit's steppers keep the first block of each width they were made for (the first
block and a shorter last one), and a change of block keeps the previous one until the next
good step: up to four blocks were seen alive at once (a review's count, with weak
references). A memmap's pages are handed back to the kernel after each block
(``madvise(MADV_DONTNEED)``; not for ``mode="c"``, whose private pages may hold the caller's
edits), so that its resident size stays bounded too.

Full batch (``batch_size=None``)
    Every step reads every block in order and adds up the block gradients (the steppers'
    gradient-only entry, ``scale = 1/m``), then updates once: the step of in-memory training on
    the whole set, to rounding. With a single block the block stays in memory and the step is
    the in-memory one on that block, which is read examples-contiguous: bitwise equal to
    in-memory training on a Fortran-ordered ``X``; a C-ordered ``X`` in memory rounds its
    products differently (1e-17 apart after 5 steps in a review's case).
Mini-batches (``batch_size=B``), exactly
    Each epoch visits the blocks in the order ``rng.permutation(n_blocks)`` (no draw for a
    single block); each block, once read, is shuffled by ``rng.permutation(width)`` and cut
    into consecutive batches of ``B`` examples (the block's last batch may be shorter).
    ``rng`` is the model's shuffling generator, seeded by its ``seed`` and saved with it: the
    same seed gives the same batches. Automatic block widths are multiples of ``B``, so an
    epoch has ``ceil(m / B)`` steps, as in memory. A batch never mixes two blocks: store
    examples in random order (or choose large blocks) when the data are sorted, e.g. by class.
    Every :func:`fit` starts a new epoch; a fit of whole epochs continued by another equals
    one long fit, bitwise. A data set that fits in one block trains bitwise as in memory.

Course 2
    The optimizers (momentum, RMSprop, Adam), learning-rate decay and L2 work as in memory,
    with the engine's own update code: mini-batches run the engine's compiled steps block by
    block; a full-batch step adds up the block gradients and hands the sum to the engine's
    update (:class:`ReducedUpdate`), which the Dask path (:mod:`fastdnn.dask`) uses too.
    Dropout, early stopping and ``shuffle=False`` are refused with a ``ValueError`` (see
    :func:`course2_settings`). Class-index labels (``(m,)`` or ``(1, m)``) are one-hot coded
    block by block for a softmax output.

Bad data found in a block (NaN, a label that is not 0/1) stops training with a ``ValueError``
naming the block, and the model is put back as it was before the call (parameters, optimizer
state, step count and shuffling generator): nothing of a failed fit remains.
"""

from __future__ import annotations

import math
import mmap
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from . import _blas
from . import _validation as v
from ._course2_options import Course2Options
from ._epochs import EpochSchedule, schedule_for_fit
from ._stacklevel import user_stacklevel
from .backends import get_backend, get_stepper
from .model import correct_examples, predictions_of
from .steppers import STEP, OptimizerState, Stepper, Train, Workspace
from .steppers.python import PythonStepper
from .train import (
    History,
    ModelSync,
    Schedule,
    can_judge,
    cost_reporter,
    not_learning,
    progress_bar,
    run,
)

if TYPE_CHECKING:
    from .network import DNN

#: Default bytes of ``X`` per block (in the model's dtype): 64 MiB, ~10,000 W3 examples.
BLOCK_BYTES = 64 * 2**20
#: Bytes of a memmap read between two hand-backs of its pages to the kernel.
RELEASE_BYTES = 8 * 2**20

# (module prefix, class name) of the array types read by blocks; checked by name, so that
# neither dask, zarr nor h5py is imported to answer "is this out of core?".
_TYPES = (("dask.array", "Array"), ("zarr", "Array"), ("h5py", "Dataset"))


def is_out_of_core(X) -> bool:
    """Whether ``X`` is read by blocks: a memmap, an h5py Dataset, a zarr or a dask Array.

    Examples
    --------
    >>> import numpy as np
    >>> is_out_of_core(np.zeros((2, 3)))
    False
    """
    if isinstance(X, np.memmap):
        return True
    module, name = type(X).__module__, type(X).__name__
    return any((module + ".").startswith(m + ".") and name == n for m, n in _TYPES)


# ------------------------------------------------------------------------------ reading
class Columns:
    """A 2-D ``(n, m)`` (or 1-D ``(m,)``) array in or out of memory, read by column ranges.

    Parameters
    ----------
    A : memmap, h5py.Dataset, zarr.Array, dask.array.Array or array_like
    name : str
        How errors name it (``"X"``, ``"Y"``).
    """

    def __init__(self, A, name: str):
        if not is_out_of_core(A):
            A = np.asarray(A)
        self.A, self.name = A, name
        shape = getattr(A, "shape", None)
        if isinstance(shape, tuple) and any(isinstance(s, float) and s != s for s in shape):
            raise ValueError(  # a dask array whose chunk sizes are unknown (NaN)
                f"{name} has unknown chunk sizes (shape {shape}): call "
                f"{name}.compute_chunk_sizes() first, or build it with known chunks"
            )
        try:
            self.shape = tuple(int(s) for s in A.shape)
            self.dtype = np.dtype(A.dtype)
        except (AttributeError, TypeError) as exc:
            raise TypeError(
                f"{name} must be an array with a shape and a numeric dtype; got "
                f"{type(A).__name__} ({exc})"
            ) from None
        if self.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must hold real numbers (float, int or bool); got dtype {self.dtype}"
            )
        self.m = self.shape[-1] if self.shape else 0
        # A memmap's pages are released as they are read, unless they may be private edits.
        self._mapping = None
        if isinstance(A, np.memmap) and getattr(A, "mode", "c") != "c":
            mapping = getattr(A, "_mmap", None)
            if mapping is not None and hasattr(mapping, "madvise"):
                start = np.frombuffer(mapping, dtype=np.uint8)  # where the mapping begins
                self._mapping, self._base = mapping, start.ctypes.data
                del start  # holding the buffer would keep the mapping from being closed

    @property
    def chunk(self) -> int | None:
        """Examples per storage chunk (zarr, HDF5, regular dask chunks), or None."""
        A = self.A
        chunks = getattr(A, "chunks", None)
        if chunks is None or not self.shape:
            return None
        last = chunks[-1]
        if isinstance(last, tuple):  # dask: the chunk sizes along the axis, regular or not
            return int(last[0]) if len(set(last[:-1])) <= 1 else None
        return int(last)

    def read(self, start: int, stop: int, dtype) -> np.ndarray:
        """Columns ``[start, stop)`` as a new ``(n, stop - start)`` array of ``dtype``, with
        examples contiguous (Fortran order); a 1-D array gives ``(1, stop - start)``."""
        part = self.A[..., start:stop]
        if self._mapping is not None:
            out = self._read_mapped(part, dtype)
        else:
            if hasattr(part, "compute"):  # dask
                part = part.compute()
            out = np.array(part, dtype=dtype, order="F", copy=True)
        return out.reshape(1, -1) if out.ndim == 1 else out

    def _read_mapped(self, part: np.ndarray, dtype) -> np.ndarray:
        """Copy a memmap's block piece by piece, handing each piece's pages back to the kernel
        (they stay in the page cache): the mapped pages resident at once are one piece's."""
        out = np.empty(part.shape, dtype=dtype, order="F")
        # Pieces along the axis of the larger stride, so that each spans few pages.
        axis = 0 if part.ndim == 2 and part.strides[0] >= part.strides[1] else part.ndim - 1
        n = part.shape[axis]
        step = max(1, RELEASE_BYTES * n // max(1, part.nbytes))
        for i in range(0, n, step):
            where = (slice(i, i + step),) if axis == 0 else (..., slice(i, i + step))
            piece = part[where]
            out[where] = piece
            lo, hi = np.lib.array_utils.byte_bounds(piece)
            first = (lo - self._base) // mmap.PAGESIZE * mmap.PAGESIZE
            try:
                self._mapping.madvise(mmap.MADV_DONTNEED, first, hi - self._base - first)
            except (OSError, ValueError):  # pragma: no cover - a mapping madvise refuses
                self._mapping = None
                return np.array(part, dtype=dtype, order="F", copy=True)
        return out


def block_bounds(
    m: int, width: int | None, example_bytes: int, chunk: int | None, batch_size: int | None
) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(m)``: blocks of ``width`` examples, or, when
    ``width`` is None, of about :data:`BLOCK_BYTES`, rounded to whole storage chunks and then
    to whole mini-batches."""
    if width is None:
        width = max(1, BLOCK_BYTES // max(1, example_bytes))
        if chunk:
            width = max(chunk, width // chunk * chunk)
        if batch_size:
            width = max(batch_size, width // batch_size * batch_size)
    width = min(width, m)
    return [(s, min(s + width, m)) for s in range(0, m, width)]


# ------------------------------------------------------------------------------ the data
class BlockData:
    """Checked, block-readable training data ``X (n_x, m)``, ``Y (n_y, m)`` for one model.

    Shapes and dtypes are checked here, before any block is read; values are checked as
    each block is read (:meth:`read`).
    """

    def __init__(self, net, X, Y, block_size: int | None, batch_size: int | None, names=("X", "Y")):
        name_x, name_y = names
        self.net = net
        self.X = Columns(X, name_x)
        n_x, n_y = net.layer_dims[0], net.layer_dims[-1]
        if len(self.X.shape) != 2:
            raise ValueError(
                f"{name_x} must be 2-D (n_x, m) with examples as columns; got shape {self.X.shape}"
            )
        m = self.X.shape[1]
        if self.X.shape[0] != n_x or m == 0:
            hint = " (did you pass X.T?)" if self.X.shape[1] == n_x else ""
            raise ValueError(
                f"{name_x} must have shape (n_x, m) = ({n_x}, m >= 1) to match layer_dims[0]; "
                f"got {self.X.shape}{hint}"
            )
        self.Y = Columns(Y, name_y)
        shape = self.Y.shape
        # Class indices (softmax) are one-hot coded block by block, in read().
        indices = v.holds_class_indices(shape, n_y, net.loss, m)
        if not (shape == (n_y, m) or (n_y == 1 and shape == (m,)) or indices):
            hint = " (did you pass Y.T?)" if shape == (m, n_y) else ""
            raise ValueError(
                f"{name_y} must have shape (n_y, m) = ({n_y}, {m}) to match the output layer and "
                f"{name_x}; got {shape}{hint}"
            )
        self.m = m
        self.dtype = net.dtype
        if block_size is not None:
            block_size = v.check_positive_int(block_size, "block_size")
        example_bytes = n_x * self.dtype.itemsize
        self.bounds = block_bounds(m, block_size, example_bytes, self.X.chunk, batch_size)
        self.width = max(e - s for s, e in self.bounds)

    def read(self, k: int):
        """Block ``k``: checked ``(X, Y)`` in the model's dtype, X examples-contiguous.

        Raises :class:`BadBlockError` (a ``ValueError``) for values that cannot be trained on.
        """
        s, e = self.bounds[k]
        net = self.net
        where = f"[:, {s}:{e}]"
        X, Y = self.X.read(s, e, self.dtype), self.Y.read(s, e, self.dtype)
        try:
            X = net._input(X, f"{self.X.name}{where} (block {k})")
            Y = v.check_Y(
                Y,
                net.layer_dims[-1],
                e - s,
                net.loss,
                self.dtype,
                f"{self.Y.name}{where} (block {k})",
            )
        except (ValueError, TypeError) as exc:
            raise BadBlockError(str(exc)) from None
        return X, Y


class BadBlockError(ValueError):
    """A block holds values that cannot be trained on (NaN, inf, a label not 0/1)."""


class Reader:
    """Reads blocks in a given order, the next one in a background thread while the caller
    works on the current one (the current block, and the next being read)."""

    def __init__(self, data: BlockData):
        self.data = data
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fastdnn-blocks")
        self._next: tuple[int, object] | None = None

    def get(self, k: int, then: int | None = None):
        """Block ``k`` (read now unless it was prefetched); start reading ``then``."""
        if self._next is not None and self._next[0] == k:
            block = self._next[1].result()
        else:
            self._cancel()
            block = self.data.read(k)
        self._next = None
        if then is not None:
            self._next = (then, self._pool.submit(self.data.read, then))
        return block

    def _cancel(self) -> None:
        if self._next is not None:
            self._next[1].cancel()
            try:
                self._next[1].result()
            except Exception:  # noqa: BLE001 - an error of an unused block is not the caller's
                pass
            self._next = None

    def close(self) -> None:
        self._cancel()
        self._pool.shutdown(wait=True)


# ------------------------------------------------------------------------------ Course 2
def course2_settings(
    net, course2: Course2Options, batch_size: int | None, epochs: EpochSchedule, where: str
) -> Train:
    """The checked Course-2 options as a :class:`~fastdnn.steppers.Train` for training
    ``where`` (``"by blocks"``, ``"on a Dask cluster"``) with the fit's ``epochs``;
    ``ValueError`` for what that training cannot do."""
    if course2.keep_prob < 1.0:
        # Dropout's masks are drawn per batch column (seed, step, layer): a block is not the
        # batch, so block gradients would not add up to the in-memory step.
        raise ValueError(
            f"keep_prob must be 1.0 (no dropout) when training {where}; got {course2.keep_prob}. "
            "Train in memory (DNN.fit on an array) for dropout, or regularise with lambd=..."
        )
    if course2.early_stopping:
        raise ValueError(
            f"early_stopping must be False when training {where}; got True. Stop with a "
            "callback instead: callbacks=[f], where f(iteration, cost, model) returns True to "
            "stop (validation_data=... records the validation cost when training by blocks)"
        )
    if not course2.shuffle and batch_size is not None:
        raise ValueError(
            f"shuffle must be True for mini-batches when training {where}; got False (the "
            "batches are drawn from shuffled blocks: see fastdnn.blocks)"
        )
    return course2.train(net._dropout_seed, epochs.batches_per_epoch, epochs.offset)


class ReducedUpdate:
    """The end of a training step for a gradient summed elsewhere (over blocks here, by the
    cluster in :mod:`fastdnn.dask`): L2 (``dW += lambd/m W``) and the optimizer's update at the
    step's decayed learning rate, with the state in ``stepper.optimizer``.

    It is the engine's own code: the Python stepper's L2 and update over the backend's kernels
    (the jit backend's kernels are those its compiled loop calls), not a second optimizer.
    """

    def __init__(self, stepper: Stepper, backend: str, grad: np.ndarray):
        dims = stepper.spec.layer_dims
        empty = np.empty((dims[0], 0), dtype=stepper.spec.dtype)
        ws = Workspace(dims, 0, stepper.spec.dtype, minibatch=False)
        self._engine = PythonStepper.for_kernels(get_backend(backend))(
            stepper.spec,
            stepper.theta,
            grad,
            empty,
            empty[:0],
            None,
            ws,
            train=stepper.train,
            optimizer=stepper.optimizer,
        )
        self._engine.clock = stepper.clock  # one clock: global step and Adam's t
        self.clock = stepper.clock

    def __call__(self, m: int, learning_rate: float) -> float:
        """Update with the summed gradient of ``m`` examples (already scaled by ``1/m``);
        advance the step count; return the L2 term of the cost (0 without L2)."""
        engine = self._engine
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is judged after
            l2 = engine.regularise_and_update(m, learning_rate)
        self.clock[STEP] += 1
        return l2


# ------------------------------------------------------------------------------ steps
class BlockStepper(Stepper):
    """Presents block-read data to :func:`fastdnn.train.run` as a full-batch stepper.

    ``full_batch(k, ...)`` runs the next ``k`` steps: full-batch gradient steps summed over
    the blocks, or the next ``k`` mini-batches of the block schedule (see the module
    docstring). Not atomic: an interrupt goes back to the last recorded state.
    """

    def __init__(
        self, net, data: BlockData, batch_size: int | None, train: Train, optimizer: OptimizerState
    ):
        spec = net._spec()
        width = batch_size if batch_size is not None else data.width
        ws = Workspace(spec.layer_dims, width, spec.dtype, minibatch=batch_size is not None)
        super().__init__(
            spec,
            net._theta,
            net._grad,
            None,
            None,
            batch_size,
            ws,
            train=train,
            optimizer=optimizer,
            start_step=net.n_steps_,
        )
        self.data, self.rng = data, net._rng
        self.cls = get_stepper(net.backend)
        self.reader = Reader(data)
        self.n_blocks = len(data.bounds)
        self._single = None  # the one block's stepper, when the data are one block
        if batch_size is None:
            self._part = np.zeros_like(self.theta)  # one block's gradient
            self._total = np.zeros_like(self.theta)  # their sum
            self._inner: dict[int, Stepper] = {}  # block width -> gradient-only stepper
            self._update = ReducedUpdate(self, net.backend, self._total)
        else:
            self._epoch_order: list[int] = []  # blocks left in this epoch, next first
            self._current = None  # (stepper, within-block order, next batch, batches)

    def close(self) -> None:
        self.reader.close()

    # A mini-batch fit draws its block order and each block's shuffle inside a chunk: a state
    # the loop goes back to (divergence, Ctrl-C) takes the generator and the schedule's place
    # back too, or a fit stopped there would have drawn less than the model's generator has.
    def snapshot(self, into=None):
        arrays = super().snapshot(None if into is None else into[0])
        if self.batch_size is None:
            return arrays, None
        current = None if self._current is None else list(self._current)
        return arrays, (self.rng.bit_generator.state, list(self._epoch_order), current)

    def restore(self, snapshot) -> None:
        arrays, position = snapshot
        super().restore(arrays)
        if position is not None:
            state, epoch_order, current = position
            self.rng.bit_generator.state = state
            self._epoch_order = list(epoch_order)
            self._current = None if current is None else list(current)

    def _engine(self, X, Y, batch_size):
        """The engine's stepper for one block in memory, training as this fit does."""
        return self.cls(
            self.spec,
            self.theta,
            self.grad,
            X,
            Y,
            batch_size,
            self.ws,
            train=self.train,
            optimizer=self.optimizer,
            start_step=int(self.clock[STEP]),
        )

    def _run(self, inner: Stepper, call, *args) -> float:
        """``call(*args)`` on an inner engine stepper, sharing this stepper's clock (global
        step, Adam's t: a restored snapshot reaches it too)."""
        inner.clock[STEP:] = self.clock[STEP:]
        inner.counter[0] = 0
        try:
            return call(*args)
        finally:
            self.clock[STEP:] = inner.clock[STEP:]
            self.counter[0] += inner.counter[0]

    # --------------------------------------------------------------- the stepper interface
    def full_batch(self, n_steps, learning_rate, want_cost):
        if self.batch_size is None:
            return self._full_batch_steps(n_steps, learning_rate, want_cost)
        return self._minibatch_steps(n_steps, learning_rate, want_cost)

    # --------------------------------------------------------------- full batch
    def _one_block_stepper(self):
        if self._single is None:
            X, Y = self.reader.get(0)
            self._single = self._engine(X, Y, None)
        return self._single

    def _full_batch_steps(self, n_steps, learning_rate, want_cost):
        if self.n_blocks == 1:  # the block stays in memory: the in-memory compiled steps
            inner = self._one_block_stepper()
            return self._run(inner, inner.full_batch, n_steps, learning_rate, want_cost)
        cost = math.nan
        for s in range(n_steps):
            c = self._full_batch_step(learning_rate)
            cost = c if s == 0 else cost
            self.counter[0] += 1
        return cost if want_cost else math.nan

    def _full_batch_step(self, learning_rate) -> float:
        """Sum the gradients of every block (scale 1/m: they add up to the full-batch
        gradient), then one update (with L2 and the optimizer: the engine's)."""
        total, part = self._total, self._part
        total[...] = 0
        cost = 0.0
        scale = 1.0 / self.data.m
        K = self.n_blocks
        for k in range(K):
            X, Y = self.reader.get(k, then=k + 1 if k + 1 < K else None)
            w = X.shape[1]
            if w not in self._inner:
                self._inner[w] = self.cls(self.spec, self.theta, part, X, Y, None, self.ws)
            with np.errstate(over="ignore", invalid="ignore"):
                cost += float(self._inner[w].gradient(X, Y, scale))
                total += part
        return cost + self._update(self.data.m, learning_rate)

    # --------------------------------------------------------------- mini-batches
    def _next_block(self):
        """Make the next block of the schedule current; draw what it needs from rng."""
        if not self._epoch_order:  # a new epoch: the order of the blocks
            K = self.n_blocks
            self._epoch_order = [0] if K == 1 else self.rng.permutation(K).tolist()
        k = self._epoch_order.pop(0)
        then = self._epoch_order[0] if self._epoch_order else None  # never past the epoch
        X, Y = self.reader.get(k, then)
        w = X.shape[1]
        order = self.rng.permutation(w).astype(np.int64)
        stepper = self._engine(X, Y, self.batch_size)
        self._current = [stepper, order, 0, -(-w // self.batch_size)]

    def _minibatch_steps(self, n_steps, learning_rate, want_cost):
        cost, done = math.nan, 0
        while done < n_steps:
            if self._current is None or self._current[2] == self._current[3]:
                self._next_block()
            stepper, order, first, n_batches = self._current
            k = min(n_steps - done, n_batches - first)
            c = self._run(
                stepper, stepper.minibatch, order, first, k, learning_rate, want_cost and done == 0
            )
            if done == 0:
                cost = c
            self._current[2] += k
            done += k
        return cost


# ------------------------------------------------------------------------------ fit
def fit(
    net: DNN,
    X,
    Y,
    learning_rate: float = 0.0075,
    num_iterations: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    cost_every: int = 100,
    print_cost: bool = False,
    callbacks: Sequence[Callable] | None = None,
    progress: bool = False,
    validation_data: tuple | None = None,
    on_divergence: str = "raise",
    *,
    block_size: int | None = None,
    **course2,
) -> History:
    """Train ``net`` on data read by blocks; :meth:`fastdnn.DNN.fit` for out-of-core data.

    Parameters
    ----------
    net : fastdnn.DNN
        The model; trained in place, as by :meth:`~fastdnn.DNN.fit`.
    X : memmap, h5py.Dataset, zarr.Array or dask.array.Array of shape (n_x, m)
        Inputs, examples as columns (an array in memory works too, read by blocks).
        Data stored one example per row is passed transposed, e.g. ``da.from_zarr(p).T``.
    Y : array_like, or any of the above, of shape (n_y, m) or (m,)
        Targets.
    learning_rate, num_iterations, epochs, batch_size, cost_every, print_cost, callbacks,
    progress, validation_data, on_divergence
        As for :meth:`fastdnn.DNN.fit`. ``validation_data`` may be out of core too.
    block_size : int, optional
        Examples per block; default: about :data:`BLOCK_BYTES` of ``X`` (see the module
        docstring). With mini-batches, a multiple of ``batch_size`` keeps every batch full.
    **course2
        :meth:`~fastdnn.DNN.fit`'s ``optimizer``, ``beta``, ``beta1``, ``beta2``,
        ``epsilon``, ``decay_rate``, ``time_interval``, ``lambd``, as there (the optimizer's
        state is the model's); ``keep_prob`` < 1, ``early_stopping=True`` and, with
        mini-batches, ``shuffle=False`` raise ``ValueError``.

    Returns
    -------
    History
        As :meth:`fastdnn.DNN.fit`.

    Raises
    ------
    ValueError, TypeError
        Bad arguments, shapes or dtypes, before anything is read; bad values in a block, when
        it is read (the model is then restored to its state before the call).
    DivergenceError
        See ``on_divergence``.
    """
    return fit_with_options(
        net,
        X,
        Y,
        Course2Options(**course2),
        learning_rate,
        num_iterations,
        epochs,
        batch_size,
        cost_every,
        print_cost,
        callbacks,
        progress,
        validation_data,
        on_divergence,
        block_size=block_size,
    )


def fit_with_options(
    net: DNN,
    X,
    Y,
    course2: Course2Options,
    learning_rate: float,
    num_iterations: int | None,
    epochs: int | None,
    batch_size: int | None,
    cost_every: int,
    print_cost: bool,
    callbacks: Sequence[Callable] | None,
    progress: bool,
    validation_data: tuple | None,
    on_divergence: str,
    *,
    block_size: int | None = None,
) -> History:
    """:func:`fit` with its Course-2 options already checked (``course2``): the entry of
    :meth:`fastdnn.DNN.fit`, which checks them before it sends data here."""
    with net._training():
        lr = v.check_positive_finite(learning_rate, "learning_rate")
        cost_every = v.check_positive_int(cost_every, "cost_every")
        v.check_choice(on_divergence, "on_divergence", ("raise", "warn"))
        print_cost = v.check_flag(print_cost, "print_cost")
        progress = v.check_flag(progress, "progress")
        if batch_size is not None:
            batch_size = v.check_positive_int(batch_size, "batch_size")
        data = BlockData(net, X, Y, block_size, batch_size)
        m = data.m
        if batch_size is not None:
            batch_size = min(batch_size, m)
        n_steps = _n_steps(data, num_iterations, epochs, batch_size)
        per_epoch = (
            1 if batch_size is None else sum(-(-(e - s) // batch_size) for s, e in data.bounds)
        )
        # Each fit draws its own order of the blocks: it starts an epoch (fastdnn._epochs).
        fit = EpochSchedule("blocks", m, batch_size, per_epoch, batch_size is not None)
        schedule = schedule_for_fit(net._epochs, net.n_steps_, fit, n_steps)
        where = "by blocks"
        if isinstance(X, np.memmap):  # the user may not know that a memmap is read by blocks
            where += (
                " (X is a NumPy memmap, which fit reads by blocks: np.array(X) trains in memory)"
            )
        train = course2_settings(net, course2, batch_size, schedule, where)
        val = None
        if validation_data is not None:
            validation_data = v.check_validation_data(validation_data)
            names = ("validation_data[0]", "validation_data[1]")
            val = BlockData(net, *validation_data, block_size, None, names=names)
        callbacks = v.check_callbacks(callbacks)
        return _train(
            net,
            data,
            lr,
            n_steps,
            batch_size,
            cost_every,
            print_cost,
            callbacks,
            progress,
            val,
            on_divergence,
            train,
            schedule,
        )


def _n_steps(data: BlockData, num_iterations, epochs, batch_size) -> int:
    num_iterations, epochs = v.check_step_counts(num_iterations, epochs)
    if num_iterations is not None:
        return num_iterations
    if epochs is not None:
        if batch_size is None:
            return epochs
        return epochs * sum(-(-(e - s) // batch_size) for s, e in data.bounds)
    if batch_size is None:
        return 2500
    raise ValueError("mini-batch training needs epochs=... (or num_iterations=...)")


def _train(
    net,
    data,
    lr,
    n_steps,
    batch_size,
    cost_every,
    print_cost,
    callbacks,
    progress,
    val,
    on_divergence,
    train,
    schedule,
) -> History:
    bar = progress_bar(n_steps) if progress else None
    _blas.apply_env_threads()
    # What a failed fit puts back: a block with bad values is found only when it is read.
    theta0, steps0, rng0 = net._theta.copy(), net.n_steps_, net._rng.bit_generator.state
    optimizer = net._optimizer_state(train)
    state0 = (optimizer.v.copy(), optimizer.s.copy(), optimizer.t)
    stepper = BlockStepper(net, data, batch_size, train, optimizer)
    history = History()
    sync = ModelSync(net, stepper, optimizer, schedule)
    on_cost = cost_reporter(net, sync, callbacks, print_cost)

    def validate(iteration):  # the parameters after `iteration` steps, whatever the chunks
        history.val_iterations.append(iteration)
        history.val_costs.append(cost_of(net, val))
        if net.output != "linear":
            history.val_accuracy.append(_accuracy(net, val))
        return False

    try:
        result = run(
            stepper,
            Schedule(n_steps, None, data.m, schedule.offset),  # the offset places records
            lr,
            start_iteration=net.n_steps_,
            cost_every=cost_every,
            rng=net._rng,
            on_cost=on_cost,
            validate=validate if val is not None else None,
            on_divergence=on_divergence,
            progress=bar,
            history=history,
        )
    except BadBlockError as exc:
        net._theta[...] = theta0
        net._n_steps = steps0
        net._rng.bit_generator.state = rng0
        net._epochs = sync.epochs_before
        optimizer.v[...], optimizer.s[...], optimizer.t = state0  # net._optimizer is untouched
        raise ValueError(f"{exc}; the model is as it was before this fit") from None
    except BaseException:
        sync()
        raise
    finally:
        stepper.close()
        if bar is not None:
            bar.close()
    sync()
    net.history_ = result
    A = data.Y.A
    # The verdict needs every label in memory, and a run long enough to judge.
    if result.stop_reason == "completed" and isinstance(A, np.ndarray) and can_judge(result):
        if not isinstance(A, np.memmap):
            Y, floor = _labels_for_verdict(net, A, data.m)
            if why := not_learning(result, Y, net.loss, floor):
                warnings.warn(why, RuntimeWarning, stacklevel=user_stacklevel())
    return result


def _labels_for_verdict(net: DNN, A: np.ndarray, m: int) -> tuple[np.ndarray, float | None]:
    """``Y`` and ``floor`` for :func:`fastdnn.train.not_learning`. Class indices (softmax)
    become each class's frequency, ``(n_y, 1)``, with floor 0 (the labels are hard): the
    verdict reads only the rows' means for this loss, and a one-hot ``Y`` would be ``n_y``
    times the labels' size (every block was checked)."""
    n_y = net.layer_dims[-1]
    if v.holds_class_indices(A.shape, n_y, net.loss, m):
        counts = np.bincount(np.asarray(A).reshape(-1).astype(np.int64), minlength=n_y)
        return (counts / m).reshape(n_y, 1), 0.0
    return v.check_Y(A, n_y, m, net.loss, net.dtype), None


# ------------------------------------------------------------------------------ inference
def _outputs(net, data: BlockData):
    """``(AL, Y)`` of each block, in order."""
    reader = Reader(data)
    try:
        K = len(data.bounds)
        for k in range(K):
            X, Y = reader.get(k, then=k + 1 if k + 1 < K else None)
            yield net._output(X), Y
    finally:
        reader.close()


def cost_of(net, data: BlockData) -> float:
    """The model's cost on block-read data (the mean loss over every example)."""
    from .model import compute_cost

    total = 0.0
    for AL, Y in _outputs(net, data):
        total += compute_cost(AL, Y, net.loss) * Y.shape[1]
    return total / data.m


def _accuracy(net, data: BlockData) -> float:
    hits = 0
    for AL, Y in _outputs(net, data):
        hits += int(np.sum(correct_examples(AL, Y, net.output)))
    return hits / data.m


def predict_proba(net: DNN, X, block_size: int | None = None) -> np.ndarray:
    """The network's output ``AL`` of shape (n_y, m) for out-of-core ``X``, read by blocks.

    Only ``X`` is out of core here: the output, ``n_y`` values per example, is one array.
    """
    n_x = net.layer_dims[0]
    if block_size is not None:  # checked before X is opened (-1 read nothing: np.empty's bytes)
        block_size = v.check_positive_int(block_size, "block_size")
    cols = Columns(X, "X")
    if len(cols.shape) != 2 or cols.shape[0] != n_x or cols.shape[1] == 0:
        raise ValueError(f"X must have shape (n_x, m) = ({n_x}, m >= 1); got {cols.shape}")
    m = cols.shape[1]
    bounds = block_bounds(m, block_size, n_x * net.dtype.itemsize, cols.chunk, None)
    out = np.empty((net.layer_dims[-1], m), dtype=net.dtype)
    for k, (s, e) in enumerate(bounds):
        Xb = net._input(cols.read(s, e, net.dtype), f"X[:, {s}:{e}] (block {k})")
        out[:, s:e] = net._output(Xb)
    return out


def predict(net: DNN, X, threshold: float = 0.5, block_size: int | None = None) -> np.ndarray:
    """:meth:`fastdnn.DNN.predict` for out-of-core ``X``: labels 0/1, class indices (softmax),
    or the linear output."""
    threshold = v.check_open_unit_interval(threshold, "threshold")
    return predictions_of(predict_proba(net, X, block_size), net.output, threshold)


def score(net: DNN, X, Y, block_size: int | None = None) -> float:
    """:meth:`fastdnn.DNN.score` (accuracy, or R^2) for out-of-core ``X`` and ``Y``."""
    data = BlockData(net, X, Y, block_size, None)
    if net.output != "linear":
        return _accuracy(net, data)
    # R^2 per output from running sums (float64): residuals, and the targets' moments.
    n_y = net.layer_dims[-1]
    ss_res, s1, s2 = np.zeros(n_y), np.zeros(n_y), np.zeros(n_y)
    for AL, Yb in _outputs(net, data):
        Y64 = Yb.astype(np.float64)
        ss_res += ((Y64 - AL) ** 2).sum(axis=1)
        s1 += Y64.sum(axis=1)
        s2 += (Y64**2).sum(axis=1)
    m = data.m
    if m < 2:
        return float("nan")
    ss_tot = np.maximum(s2 - s1**2 / m, 0.0)
    constant = ss_tot == 0
    r2 = np.where(constant, (ss_res == 0).astype(float), 1 - ss_res / np.where(constant, 1, ss_tot))
    return float(r2.mean())


def moments(X, block_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation, ``(n_x, 1)`` float64, of out-of-core ``X``.

    One pass over the blocks; blocks are merged with Chan's pairwise formula, stable where
    a sum of squares would cancel.
    """
    if block_size is not None:
        block_size = v.check_positive_int(block_size, "block_size")
    cols = Columns(X, "X")
    if len(cols.shape) != 2 or 0 in cols.shape:
        raise ValueError(f"X must be a non-empty 2-D array (n_x, m); got shape {cols.shape}")
    n_x, m = cols.shape
    bounds = block_bounds(m, block_size, n_x * 8, cols.chunk, None)
    count, mean, m2 = 0, np.zeros((n_x, 1)), np.zeros((n_x, 1))
    for s, e in bounds:
        B = cols.read(s, e, np.float64)
        v.check_finite(B, f"X[:, {s}:{e}]")
        n_b = e - s
        mean_b = B.mean(axis=1, keepdims=True)
        m2_b = ((B - mean_b) ** 2).sum(axis=1, keepdims=True)
        delta = mean_b - mean
        total = count + n_b
        mean = mean + delta * (n_b / total)
        m2 = m2 + m2_b + delta**2 * (count * n_b / total)
        count = total
    return mean, np.sqrt(m2 / count)


__all__ = [
    "BLOCK_BYTES",
    "fit",
    "is_out_of_core",
    "moments",
    "predict",
    "predict_proba",
    "score",
]
