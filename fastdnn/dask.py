"""Data-parallel training on a Dask cluster: the data stay on the workers, only parameters and
gradients cross the network.

Needs the optional extra: ``pip install 'fastdnn[dask]'`` (dask.array and dask.distributed).
fastdnn contributes the per-block gradient (the steppers' gradient-only entry, compiled);
Dask does the scheduling, data placement and fault handling. There is no cluster code here.

How :func:`fit` trains
----------------------
1. ``X`` (a dask array ``(n_x, m)``, or anything :func:`dask.array.asarray` takes) is cut into
   blocks of examples (its chunks along the examples; ``block_size`` rechunks), each block
   converted to the model's dtype with examples contiguous, and persisted on the workers once.
   Every block is checked there (finite inputs, 0/1 labels for a sigmoid output) before any
   step: a bad block raises ``ValueError`` naming its columns.
2. Every step the driver broadcasts the parameters ``theta`` (one copy per worker); each block's
   task computes that block's gradient sum with the compiled kernels; Dask adds them up in a
   tree (``fan_in`` parts per addition, where the parts are); the driver receives one gradient
   and makes one update. Per step, per worker: ``theta`` in, about one gradient out.
3. Full batch (``batch_size=None``): every block, all its examples, ``scale = 1/m``: the
   in-memory step to rounding. Large batch (``batch_size=B``): an epoch has
   ``nb = ceil(m / B)`` steps; block ``k`` (of ``m_k`` examples) is shuffled once per epoch by
   ``default_rng([seed, epoch, k]).permutation(m_k)`` (``seed`` drawn from the model's
   shuffling generator at the start of each :func:`fit`) and step ``j`` takes its examples
   ``perm[j*m_k//nb : (j+1)*m_k//nb]``: every batch holds a share of every block, about ``B``
   examples in all, and every worker works on every step.

The sums are added in a fixed tree, whatever worker computes what: the same data, seed, dtype
and cluster give the same bits. A worker lost mid-training is Dask's business: it recomputes
the lost blocks from their graph and reruns the lost tasks. If it cannot (data with no graph
to recompute from, a task that killed its workers too often), the step fails with
:class:`ClusterError` and the model keeps the parameters of the last completed update (the
update happens only once a step's whole gradient has arrived, so never half a step).

The update happens once per step, on the driver, with the engine's own code
(:class:`fastdnn.blocks.ReducedUpdate`): L2 (``lambd``) is added to the reduced gradient and
the optimizer (momentum, RMSprop, Adam, with learning-rate decay) updates ``theta`` with its
state beside it, as in memory; the state is the model's (saved with it). Dropout and early
stopping are refused (``ValueError``). A softmax output takes one-hot ``Y`` ``(n_y, m)`` or
class indices ``(m,)``.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import _validation as v
from ._course2_options import Course2Options
from ._epochs import EpochSchedule, schedule_for_fit
from .backends import get_stepper
from .blocks import ReducedUpdate, course2_settings
from .model import correct_examples, predictions_of
from .steppers import NetSpec, OptimizerState, Stepper, Train, Workspace
from .train import History, ModelSync, Schedule, cost_reporter, run

if TYPE_CHECKING:
    from .network import DNN

try:
    import dask
    import dask.array as da
    import distributed
except ImportError as exc:  # pragma: no cover - the extra is not installed
    raise ImportError(
        f"fastdnn.dask needs dask[array] and distributed: pip install 'fastdnn[dask]' ({exc})"
    ) from exc

__all__ = ["ClusterError", "fit", "predict", "predict_proba", "score"]

#: Gradients added per reduction task.
FAN_IN = 8


class ClusterError(RuntimeError):
    """A step's gradient could not be computed on the cluster (see the module docstring)."""


# ------------------------------------------------------------------------------ on the workers
_local = threading.local()  # per worker thread: a writable theta and the work buffers


def _buffers(spec: NetSpec, theta: np.ndarray, width: int):
    """A writable copy of ``theta`` and work buffers for ``width`` examples, kept per thread
    (a received ``theta`` may be read-only; the buffers are reused from step to step)."""
    cache = getattr(_local, "cache", None)
    if cache is None or cache[0] != (spec, theta.size):
        cache = _local.cache = [(spec, theta.size), np.empty_like(theta), None]
    local = cache[1]
    np.copyto(local, theta)
    cache[2] = Workspace.reuse(cache[2], spec.layer_dims, width, spec.dtype, minibatch=False)
    return local, cache[2]


_perms: dict = {}  # (seed, block) -> (epoch, permutation): one epoch per block kept
_perms_lock = threading.Lock()


def _permutation(seed: int, epoch: int, k: int, m_k: int) -> np.ndarray:
    """Block ``k``'s shuffle in ``epoch``: ``default_rng([seed, epoch, k]).permutation(m_k)``."""
    with _perms_lock:
        hit = _perms.get((seed, k))
        if hit is not None and hit[0] == epoch:
            return hit[1]
    perm = np.random.default_rng([seed, epoch, k]).permutation(m_k)
    with _perms_lock:
        if len(_perms) > 4096:  # old fits' entries
            _perms.clear()
        _perms[(seed, k)] = (epoch, perm)
    return perm


def _block_gradient(theta, spec: NetSpec, backend: str, X, Y, scale: float, part=None):
    """``(gradient of the block times scale * m_block, summed loss times scale)``.

    ``part``: ``(seed, epoch, k, lo, hi)``, only the examples ``perm[lo:hi]`` of the block's
    shuffle in that epoch (large-batch steps); None for the whole block.
    """
    if part is not None:
        seed, epoch, k, lo, hi = part
        idx = _permutation(seed, epoch, k, X.shape[1])[lo:hi]
        X = np.take(X.T, idx, axis=0).T  # rows of the examples-contiguous storage: (n_x, b) F
        Y = np.take(Y, idx, axis=1)
    local, ws = _buffers(spec, theta, X.shape[1])
    grad = np.empty_like(local)  # the task's result: a new array every time
    stepper = get_stepper(backend)(spec, local, grad, X, Y, None, ws)
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is judged on the driver
        cost = float(stepper.gradient(X, Y, scale))
    return grad, cost


def _identity(x):
    return x


def _add(*parts):
    """The sum of ``(gradient, cost)`` parts, in their order."""
    grad = parts[0][0].copy()
    cost = parts[0][1]
    with np.errstate(over="ignore", invalid="ignore"):
        for g, c in parts[1:]:
            grad += g
            cost += c
    return grad, cost


def _prepare(X, dtype, mean=None, scale=None):
    """A block of ``X`` as training reads it: the model's dtype, examples contiguous (Fortran
    order), standardised when the model has input scaling."""
    out = np.array(X, dtype=dtype, order="F", copy=True)
    if mean is not None:
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite results: see _check
            out -= mean.astype(dtype)
            out /= scale.astype(dtype)
    return out


def _prepare_y(Y, dtype, n_y: int = 0):
    """A block of ``Y`` in the model's dtype; with ``n_y``, class indices one-hot coded (left
    as they are when they are not class indices: :func:`_check` then says why)."""
    if n_y:
        try:
            return v.check_Y(Y, n_y, Y.shape[-1], "cce", dtype)
        except (ValueError, TypeError):
            pass
    return np.ascontiguousarray(Y, dtype=dtype)


def _check(X, Y, n_y: int, loss: str, dtype, name_x: str, name_y: str) -> str | None:
    """Why the block cannot be trained on, or None."""
    try:
        v.check_finite(X, name_x)
        v.check_Y(Y, n_y, X.shape[1], loss, dtype, name_y)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _forward(X, net, dtype):
    """The network's output for one block (inference)."""
    X = _prepare(X, dtype, net.input_mean, net.input_scale)
    v.check_finite(X, "X")
    return net._output(X)


# ------------------------------------------------------------------------------ on the driver
def _client(client):
    if client is not None:
        if not isinstance(client, distributed.Client):
            raise TypeError(
                f"client must be a distributed.Client; got {type(client).__name__}. Connect "
                "with distributed.Client('tcp://scheduler:8786') or Client(LocalCluster())"
            )
        return client
    try:
        return distributed.get_client()
    except ValueError:
        raise ValueError(
            "no Dask client: pass client=distributed.Client('tcp://scheduler:8786') (or "
            "Client(LocalCluster()) on one machine), or create one before calling fit"
        ) from None


def _as_dask(A, name: str):
    if isinstance(A, da.Array):
        return A
    try:
        return da.asarray(A)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a dask array or an array dask.array.asarray accepts; got "
            f"{type(A).__name__} ({exc})"
        ) from None


class ClusterData:
    """``X`` and ``Y`` persisted on the workers as checked blocks, and their futures."""

    def __init__(self, client, net, X, Y, block_size: int | None):
        n_x, n_y = net.layer_dims[0], net.layer_dims[-1]
        X, Y = _as_dask(X, "X"), _as_dask(Y, "Y")
        for A, name in ((X, "X"), (Y, "Y")):
            if np.dtype(A.dtype).kind not in "biuf":
                raise TypeError(
                    f"{name} must hold real numbers (float, int or bool); got dtype {A.dtype}"
                )
        if X.ndim != 2 or X.shape[0] != n_x or X.shape[1] == 0 or math.isnan(X.shape[1]):
            hint = " (did you pass X.T?)" if X.ndim == 2 and X.shape[1] == n_x else ""
            raise ValueError(
                f"X must have shape (n_x, m) = ({n_x}, m >= 1) to match layer_dims[0]; got "
                f"{X.shape}{hint}"
            )
        m = X.shape[1]
        Y, indices = _shaped_Y(Y, net, m)
        if block_size is not None:
            block_size = v.check_positive_int(block_size, "block_size")
            X = X.rechunk({0: -1, 1: block_size})
        elif len(X.chunks[1]) == 1:  # one chunk: one block per worker
            workers = max(1, len(client.scheduler_info().get("workers", {})))
            X = X.rechunk({0: -1, 1: -(-m // workers)})
        else:
            X = X.rechunk({0: -1})
        Y = Y.rechunk({0: -1, 1: X.chunks[1]})
        dtype = net.dtype
        meta = np.empty((0, 0), dtype)
        # Keys of this fit's own: the same X prepared for two fits at once (threads sharing a
        # client) would otherwise share keys, and the first fit to release them would cancel
        # the other's blocks.
        fit = uuid.uuid4().hex
        Xp = X.map_blocks(
            _prepare,
            dtype,
            net.input_mean,
            net.input_scale,
            dtype=dtype,
            meta=meta,
            name=f"fastdnn-X-{fit}",
        )
        Yp = Y.map_blocks(
            _prepare_y,
            dtype,
            n_y if indices else 0,
            dtype=dtype,
            meta=meta,
            chunks=((n_y,), X.chunks[1]),
            name=f"fastdnn-Y-{fit}",
        )
        self.X, self.Y = client.persist([Xp, Yp])
        self.client, self.m = client, m
        self.widths = [int(w) for w in self.X.chunks[1]]
        self.x_parts = _ordered_futures(self.X)
        self.y_parts = _ordered_futures(self.Y)
        starts = np.concatenate([[0], np.cumsum(self.widths)])
        self.bounds = [(int(s), int(e)) for s, e in zip(starts[:-1], starts[1:], strict=True)]
        try:
            self._check(net)
        except BaseException:
            self.release()  # the exception's traceback would keep the data on the workers
            raise

    def _check(self, net) -> None:
        """Every block checked where it lives; the first problem raises ``ValueError``."""
        checks = [
            self.client.submit(
                _check,
                x,
                y,
                net.layer_dims[-1],
                net.loss,
                net.dtype,
                f"X[:, {s}:{e}] (block {k})",
                f"Y[:, {s}:{e}] (block {k})",
                pure=False,
            )
            for k, (x, y, (s, e)) in enumerate(
                zip(self.x_parts, self.y_parts, self.bounds, strict=True)
            )
        ]
        for problem in self.client.gather(checks):
            if problem is not None:
                raise ValueError(problem)

    def release(self) -> None:
        self.client.cancel(self.x_parts + self.y_parts)
        self.X = self.Y = None
        self.x_parts, self.y_parts = [], []


def _shaped_Y(Y, net, m: int):
    """``Y`` (a dask array) as ``(n_y, m)``, or ``(1, m)`` class indices for a softmax output;
    and whether it holds class indices. ``ValueError`` for any other shape."""
    n_y = net.layer_dims[-1]
    # Softmax with class indices 0..n_y-1: one-hot coded block by block on the workers.
    indices = v.holds_class_indices(Y.shape, n_y, net.loss, m)
    if Y.ndim == 1 and (n_y == 1 or indices):
        Y = Y.reshape(1, -1)
    if Y.shape != (n_y, m) and not indices:
        hint = " (did you pass Y.T?)" if Y.shape == (m, n_y) else ""
        raise ValueError(
            f"Y must have shape (n_y, m) = ({n_y}, {m}) to match the output layer and X; "
            f"got {Y.shape}{hint}"
        )
    return Y, indices


def _y_problem(Y, n_y: int, loss: str, dtype, name: str) -> str | None:
    """Why a block of ``Y`` cannot be scored, or None."""
    try:
        v.check_Y(Y, n_y, Y.shape[-1], loss, dtype, name)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _ordered_futures(A) -> list:
    """The futures of a persisted 2-D array's blocks, in the order of the examples."""
    by_key = {f.key: f for f in distributed.futures_of(A)}
    return [by_key[key] for key in A.__dask_keys__()[0]]


class ClusterStepper(Stepper):
    """Steps whose gradient is computed on the cluster; presented to
    :func:`fastdnn.train.run` as a full-batch stepper (``full_batch(k)`` runs the next ``k``
    steps, full-batch or large-batch). Not atomic."""

    def __init__(
        self,
        net,
        data: ClusterData,
        batch_size: int | None,
        seed: int,
        fan_in: int,
        train: Train,
        optimizer: OptimizerState,
    ):
        spec = net._spec()
        super().__init__(
            spec,
            net._theta,
            net._grad,
            None,
            None,
            batch_size,
            None,
            train=train,
            optimizer=optimizer,
            start_step=net.n_steps_,
        )
        self.data, self.backend, self.seed, self.fan_in = data, net.backend, seed, fan_in
        self.client = data.client
        # L2 and the optimizer's update of the reduced gradient: the engine's code.
        self.apply_update = ReducedUpdate(self, net.backend, self.grad)
        self.batches_per_epoch = 1 if batch_size is None else -(-data.m // batch_size)
        self.t = 0  # steps taken in this fit, for the large-batch schedule
        self.start = net.n_steps_

    def _parts(self, theta):
        """This step's block tasks: ``(gradient, cost)`` futures, and the examples they hold."""
        d, client = self.data, self.client
        submit = client.submit
        if self.batch_size is None:
            scale = 1.0 / d.m
            return d.m, [
                submit(_block_gradient, theta, self.spec, self.backend, x, y, scale, pure=False)
                for x, y in zip(d.x_parts, d.y_parts, strict=True)
            ]
        nb = self.batches_per_epoch
        epoch, j = divmod(self.t, nb)
        shares = [(j * w // nb, (j + 1) * w // nb) for w in d.widths]
        m = sum(hi - lo for lo, hi in shares)
        scale = 1.0 / m
        return m, [
            submit(
                _block_gradient,
                theta,
                self.spec,
                self.backend,
                x,
                y,
                scale,
                (self.seed, epoch, k, lo, hi),
                pure=False,
            )
            for k, (x, y, (lo, hi)) in enumerate(zip(d.x_parts, d.y_parts, shares, strict=True))
            if hi > lo
        ]

    def _reduce(self, parts):
        """Add the parts in a fixed tree of ``fan_in``-way sums (Dask runs each sum where
        its parts are)."""
        while len(parts) > 1:
            parts = [
                group[0] if len(group) == 1 else self.client.submit(_add, *group, pure=False)
                for group in (parts[i : i + self.fan_in] for i in range(0, len(parts), self.fan_in))
            ]
        return parts[0]

    def _step(self, learning_rate: float) -> float:
        client = self.client
        # theta goes to the scheduler in a task of its own, and from the worker that runs it
        # to the others: unlike data scattered to the workers, a task the scheduler holds can
        # be run again if that worker dies (and a broadcast scatter waits for every worker).
        theta = client.submit(_identity, self.theta.copy(), pure=False)
        m, parts = self._parts(theta)
        total = self._reduce(parts)
        try:
            grad, cost = total.result()
        except Exception as exc:  # a lost worker Dask could not make up for, a lost block
            iteration = self.start + int(self.counter[0])
            raise ClusterError(
                f"the gradient of iteration {iteration} could not be computed on the cluster "
                f"({type(exc).__name__}: {exc}); the model keeps the parameters after "
                f"iteration {iteration - 1} (no update was made from a partial gradient)"
            ) from exc
        finally:
            del theta, total
        self.grad[...] = grad
        cost += self.apply_update(m, learning_rate)
        self.t += 1
        return cost

    def full_batch(self, n_steps, learning_rate, want_cost):
        cost = math.nan
        for s in range(n_steps):
            c = self._step(learning_rate)
            cost = c if s == 0 else cost
            self.counter[0] += 1
        return cost if want_cost else math.nan


def fit(
    net: DNN,
    X,
    Y,
    *,
    client=None,
    learning_rate: float = 0.0075,
    num_iterations: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    cost_every: int = 100,
    print_cost: bool = False,
    callbacks: Sequence[Callable] | None = None,
    on_divergence: str = "raise",
    block_size: int | None = None,
    fan_in: int = FAN_IN,
    **course2,
) -> History:
    """Train ``net`` by data-parallel gradient descent on a Dask cluster.

    Parameters
    ----------
    net : fastdnn.DNN
        The model, trained in place; an ordinary DNN afterwards (``save``/``load`` work).
    X : dask.array.Array of shape (n_x, m), or an array ``dask.array.asarray`` takes
        Inputs, examples as columns; its chunks along the examples are the blocks. Data
        stored one example per row is passed transposed: ``da.from_zarr(path).T``.
    Y : array of shape (n_y, m) or (m,)
        Targets, rechunked to ``X``'s blocks.
    client : distributed.Client, optional
        Default: the current client (``distributed.get_client()``).
    learning_rate, num_iterations, epochs, cost_every, print_cost, callbacks, on_divergence
        As for :meth:`fastdnn.DNN.fit` (one iteration is one step on the cluster).
    batch_size : int, optional
        None (default): full-batch gradient descent. An int: large-batch steps of about that
        many examples, each drawn from every block (see the module docstring); meant for
        batches of thousands, since every step costs a round trip to the cluster.
    block_size : int, optional
        Rechunk ``X`` into blocks of this many examples. Default: ``X``'s chunks, or as many
        blocks as workers for an array given in one chunk.
    fan_in : int, default 8
        Gradients added per reduction task.
    **course2
        :meth:`~fastdnn.DNN.fit`'s ``optimizer``, ``beta``, ``beta1``, ``beta2``,
        ``epsilon``, ``decay_rate``, ``time_interval``, ``lambd``: applied on the driver to
        the reduced gradient, as in memory (with large batches, an epoch is ``ceil(m / B)``
        steps and ``lambd`` is divided by the step's number of examples). ``keep_prob`` < 1
        and ``early_stopping=True`` raise ``ValueError``.

    Returns
    -------
    History
        As :meth:`fastdnn.DNN.fit`.

    Raises
    ------
    ValueError, TypeError
        Bad arguments, shapes or dtypes, before anything is computed; bad values (NaN, a
        label not 0/1), before the first step, naming the block.
    ClusterError
        A step could not be computed (see the module docstring).
    DivergenceError
        See ``on_divergence``.
    """
    client = _client(client)
    lr = v.check_positive_finite(learning_rate, "learning_rate")
    cost_every = v.check_positive_int(cost_every, "cost_every")
    fan_in = v.check_positive_int(fan_in, "fan_in")
    if fan_in < 2:
        raise ValueError(f"fan_in must be at least 2; got {fan_in}")
    v.check_choice(on_divergence, "on_divergence", ("raise", "warn"))
    if batch_size is not None:
        batch_size = v.check_positive_int(batch_size, "batch_size")
    print_cost = v.check_flag(print_cost, "print_cost")
    callbacks = v.check_callbacks(callbacks)
    num_iterations, epochs = v.check_step_counts(num_iterations, epochs)
    if num_iterations is None and epochs is None and batch_size is not None:
        raise ValueError("large-batch training needs epochs=... (or num_iterations=...)")
    with net._training():
        shape = _as_dask(X, "X").shape
        m = shape[1] if len(shape) == 2 and shape[1] and not math.isnan(shape[1]) else 1
        if batch_size is not None:
            batch_size = min(batch_size, m)  # m of a bad X is refused with the data, below
        per_epoch = 1 if batch_size is None else -(-m // batch_size)
        # Every fit on the cluster starts an epoch (its batches are its own: fastdnn._epochs).
        n_steps = num_iterations or (epochs or 2500) * per_epoch
        fit = EpochSchedule("dask", m, batch_size, per_epoch, batch_size is not None)
        schedule = schedule_for_fit(net._epochs, net.n_steps_, fit, n_steps)
        # Checked before the data go to the cluster.
        train = course2_settings(
            net, Course2Options(**course2), batch_size, schedule, "on a Dask cluster"
        )
        data = ClusterData(client, net, X, Y, block_size)
        try:
            seed = int(net._rng.integers(2**63)) if batch_size is not None else 0
            optimizer = net._optimizer_state(train)
            stepper = ClusterStepper(net, data, batch_size, seed, fan_in, train, optimizer)
            return _train(
                net,
                stepper,
                schedule,
                n_steps,
                lr,
                cost_every,
                print_cost,
                callbacks,
                on_divergence,
            )
        finally:
            data.release()


def _train(net, stepper, schedule, n_steps, lr, cost_every, print_cost, callbacks, on_divergence):
    sync = ModelSync(net, stepper, stepper.optimizer, schedule)
    on_cost = cost_reporter(net, sync, callbacks, print_cost)

    try:
        result = run(
            stepper,
            Schedule(n_steps, None, stepper.data.m, schedule.offset),  # it places records
            lr,
            start_iteration=net.n_steps_,
            cost_every=cost_every,
            rng=net._rng,
            on_cost=on_cost,
            on_divergence=on_divergence,
        )
    finally:
        sync()
    net.history_ = result
    return result


# ------------------------------------------------------------------------------ inference
def predict_proba(net: DNN, X):
    """The network's output ``AL`` as a dask array ``(n_y, m)``, computed blockwise where the
    blocks of ``X`` (a dask array ``(n_x, m)``) are. Nothing is computed until asked, and then
    with the model as it is at that moment: compute before training the model further for the
    outputs of the model as it is now."""
    X = _as_dask(X, "X")
    n_x, n_y = net.layer_dims[0], net.layer_dims[-1]
    if X.ndim != 2 or X.shape[0] != n_x:
        raise ValueError(f"X must have shape (n_x, m) = ({n_x}, m); got {X.shape}")
    X = X.rechunk({0: -1})
    model = dask.delayed(net, pure=True)  # one copy of the model in the graph, not one per block
    return X.map_blocks(
        _forward,
        model,
        net.dtype,
        chunks=((n_y,), X.chunks[1]),
        dtype=net.dtype,
        meta=np.empty((0, 0), net.dtype),
    )


def predict(net: DNN, X, threshold: float = 0.5):
    """Labels 0/1 (sigmoid output), class indices ``(1, m)`` (softmax) or the output itself
    (linear), as a dask array."""
    threshold = v.check_open_unit_interval(threshold, "threshold")
    return predictions_of(predict_proba(net, X), net.output, threshold)


def score(net: DNN, X, Y) -> float:
    """Accuracy (sigmoid, softmax: ``Y`` one-hot or class indices) or R^2 (linear output),
    computed on the cluster."""
    AL = predict_proba(net, X)
    Y, _ = _shaped_Y(_as_dask(Y, "Y"), net, AL.shape[1])
    Y = Y.rechunk({0: -1, 1: AL.chunks[1]})
    # Each block of Y checked as DNN.score checks Y (labels, finite), in the same computation.
    problems = [
        dask.delayed(_y_problem)(block, net.layer_dims[-1], net.loss, net.dtype, f"Y (block {k})")
        for k, block in enumerate(Y.to_delayed().ravel())
    ]
    Y = Y.astype(np.float64)
    if net.output == "softmax" and Y.shape[0] == 1 < net.layer_dims[-1]:  # class indices
        values = ((AL.argmax(axis=0) == Y[0]).mean(),)
    elif net.output != "linear":
        values = (correct_examples(AL, Y, net.output).mean(),)
    else:
        AL = AL.astype(np.float64)
        values = (
            ((Y - AL) ** 2).sum(axis=1),
            ((Y - Y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1),
        )
    *values, problems = dask.compute(*values, problems)
    for problem in problems:
        if problem is not None:
            raise ValueError(problem)
    if net.output != "linear":
        return float(values[0])
    ss_res, ss_tot = values
    constant = ss_tot == 0
    r2 = np.where(constant, (ss_res == 0).astype(float), 1 - ss_res / np.where(constant, 1, ss_tot))
    return float(r2.mean())
