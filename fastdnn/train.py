"""The thin Python training loop: chunks of steps on one backend, bookkeeping in between.

The loop runs ``k`` gradient steps per call of the backend (for ``jit``, one compiled call with
no Python in between), then records the cost, checks for divergence, updates progress and
callbacks, and lets Ctrl-C stop cleanly. A chunk ends at every cost record and after about
``CHUNK_SECONDS`` of work, so an interrupt is answered quickly however long training is. Work
is measured time, except for a stepper whose results depend on where chunks end (it gives
``nominal_step_seconds``: the Gram path), so that the same fit gives the same bits every run.

Nothing here does math, and no backend is known by name: the steps are the backend's stepper
(:mod:`fastdnn.steppers`), whatever it is.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ._stacklevel import user_stacklevel
from .steppers import Stepper

if TYPE_CHECKING:
    from .steppers import OptimizerState

CHUNK_SECONDS = 0.1
#: :func:`not_learning` says nothing about shorter runs.
MIN_STEPS_FOR_VERDICT = 100


class DivergenceError(FloatingPointError):
    """Training produced a non-finite cost or non-finite parameters.

    Attributes
    ----------
    before_any_step : bool
        The cost was not finite before the fit's first update: the scale of the data (or of
        the parameters) overflows the forward pass, whatever the learning rate.
    """

    def __init__(self, *args, before_any_step: bool = False):
        super().__init__(*args)
        self.before_any_step = before_any_step


@dataclass
class History:
    """What one call of :meth:`fastdnn.DNN.fit` did.

    Attributes
    ----------
    iterations : list of int
        Step numbers at which the cost was recorded: the multiples of ``cost_every``, as the
        course records them (counted over the model's whole life, so a second ``fit``
        continues the numbering). The last step is recorded only when it is one of them: a
        99-step fit with ``cost_every=100`` records step 0 only. For the cost at the end,
        compute it (``compute_cost(net.predict_proba(X), Y)``) or choose ``cost_every``.
    costs : list of float
        Training cost of the forward pass at each recorded step (full batch), or of that
        step's mini-batch.
    val_iterations, val_costs, val_accuracy : list
        Cost (and accuracy, for a sigmoid or softmax output) on ``validation_data``, at the
        recorded steps and at the end of the fit (the parameters after its last step).
    n_steps : int
        Gradient steps completed by this call.
    wall_time : float
        Seconds spent in this call.
    stop_reason : str
        ``"completed"``, ``"interrupted"`` (Ctrl-C), ``"diverged"``, ``"callback"`` or
        ``"early_stopping"``.
    best_iteration : int or None
        With early stopping: the record whose parameters the model went back to.
    """

    iterations: list[int] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)
    val_iterations: list[int] = field(default_factory=list)
    val_costs: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    n_steps: int = 0
    wall_time: float = 0.0
    stop_reason: str = "completed"
    best_iteration: int | None = None

    def __repr__(self) -> str:
        last = (
            f", last cost {self.costs[-1]:.6g} at iteration {self.iterations[-1]}"
            if self.costs and len(self.iterations) == len(self.costs)
            else ""
        )
        return (
            f"History({self.n_steps} steps in {self.wall_time:.3g} s, "
            f"{len(self.costs)} costs recorded{last}, stop_reason={self.stop_reason!r})"
        )


@dataclass
class Schedule:
    """Which steps to run: full batch (``batch_size is None``) or mini-batches by epoch.

    Global step ``s`` takes batch ``(s + step_offset) % batches_per_epoch`` of its epoch's
    shuffle (:mod:`fastdnn._epochs`: 0 unless an earlier fit had another schedule), and the
    cost is recorded where ``s + step_offset`` is a multiple of ``cost_every``.
    """

    n_steps: int
    batch_size: int | None
    m: int
    step_offset: int = 0

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
    rng: np.random.Generator | None,
    on_cost: Callable[[int, float], bool] | None = None,
    validate: Callable[[int], bool] | None = None,
    on_divergence: str = "raise",
    progress=None,
    history: History | None = None,
) -> History:
    """Run ``schedule`` with ``stepper``; return the :class:`History`.

    ``on_cost(iteration, cost)`` is called at each recorded cost; returning True stops
    training. ``cost`` is that of the parameters after ``iteration`` steps (the forward pass of
    the next step computes it), but ``on_cost`` runs after the chunk that began there, so the
    stepper's state is then further on. ``validate(iteration)`` is called where the state is
    exactly that of ``iteration`` steps: before each chunk that begins at a cost record, and
    once more at the end of a run that completed its schedule; returning True stops training
    there, before the chunk. So what it sees never depends on where chunks end (which
    depends on timing). On divergence the stepper's state is restored to the last finite one
    (taken at the start of the chunk that diverged). ``rng`` shuffles the examples every
    epoch; None keeps their order. However a run ends, it leaves ``rng`` as a run stopped at
    that step would: mid-epoch, where it was before it drew that epoch's order, so that the
    next run (which begins at that batch) draws the same order again: two runs are one.
    ``on_cost`` and ``validate`` see it so too, unless they say they do not look
    (``f.reads_generator = False``: no swap, which costs about 3 us a record).
    """
    loop = _Loop(stepper, schedule, learning_rate, start_iteration, cost_every, rng)
    history = History() if history is None else history
    t_start = time.perf_counter()
    try:  # however the run ends, the generator is left as a fit stopped there leaves it
        try:
            while loop.done < schedule.n_steps:
                step = loop.global_step
                if validate is not None and (step + schedule.step_offset) % cost_every == 0:
                    if loop.call_as_stopped(validate, step):
                        if history.stop_reason == "completed":  # validate may have said why
                            history.stop_reason = "callback"
                        break
                want_cost, cost, k = loop.chunk()
                if not loop.finite(cost, want_cost):
                    history.stop_reason = "diverged"
                    first_cost = cost if want_cost else None
                    msg = loop.divergence_message(step, k, first_cost)
                    if on_divergence == "raise":
                        history.n_steps = loop.done
                        history.wall_time = time.perf_counter() - t_start
                        raise DivergenceError(msg, before_any_step=loop.at_start(first_cost))
                    warnings.warn(msg, RuntimeWarning, stacklevel=user_stacklevel())
                    break
                loop.keep()
                if want_cost:
                    history.iterations.append(step)
                    history.costs.append(float(cost))
                if progress is not None:
                    progress.update(k)
                    if want_cost:
                        progress.set_postfix(cost=f"{cost:.6g}", refresh=False)
                if want_cost and on_cost is not None:
                    if loop.call_as_stopped(on_cost, step, float(cost)):
                        if history.stop_reason == "completed":  # on_cost may have said why itself
                            history.stop_reason = "callback"
                        break
            else:  # the whole schedule ran: the final state gets its validation too
                if validate is not None:
                    loop.call_as_stopped(validate, loop.global_step)
        except KeyboardInterrupt:
            loop.interrupted()
            history.stop_reason = "interrupted"
            warnings.warn(
                f"training interrupted after {loop.done} steps (iteration {loop.global_step}); "
                "the parameters of that step are kept.",
                RuntimeWarning,
                stacklevel=user_stacklevel(),
            )
    finally:
        loop.leave_generator_as_stopped()
    history.n_steps = loop.done
    history.wall_time = time.perf_counter() - t_start
    return history


class ModelSync:
    """Brings a model's step count, epochs and optimizer state in line with its parameters
    while a stepper trains it (``sync()``): before each callback, and when the fit ends,
    however it ends. The stepper advances the parameters in place; the rest lives in the
    stepper until handed back (Adam's ``t`` in its clock, the steps in its counter). The fit's
    ``epochs`` (:mod:`fastdnn._epochs`) become the model's once it has taken a step: a fit
    that took none leaves the model's as they were. ``net``: the :class:`fastdnn.DNN` trained."""

    def __init__(self, net, stepper, optimizer: OptimizerState | None, epochs):
        self.net, self.stepper, self.optimizer = net, stepper, optimizer
        self.start = net.n_steps_
        self.epochs, self.epochs_before = epochs, net._epochs

    def __call__(self) -> None:
        self.net._n_steps = self.start + int(self.stepper.counter[0])
        self.net._epochs = self.epochs if self.net._n_steps != self.start else self.epochs_before
        if self.optimizer is not None:
            self.stepper.finish()  # hands the optimizer its step count; idempotent
            self.net._optimizer = self.optimizer


def cost_reporter(net, sync: ModelSync, callbacks, print_cost: bool):
    """``on_cost`` for :func:`fastdnn.train.run`: prints the cost when asked and calls every
    callback (a stop asked by any one stops training) on the model as it is, so that a
    checkpoint a callback saves resumes where it was, bitwise."""

    def on_cost(iteration: int, cost: float) -> bool:
        if print_cost:
            print(f"Cost after iteration {iteration}: {cost}")
        if not callbacks:
            return False
        sync()
        return any([bool(cb(iteration, cost, net)) for cb in callbacks])  # call every one

    on_cost.reads_generator = bool(callbacks)  # (a callback may save the model)
    return on_cost


def progress_bar(total: int):
    """A tqdm bar of ``total`` steps (``progress=True``), or ImportError saying how to get tqdm."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError(
            "progress=True needs tqdm: pip install 'fastdnn[progress]' (or pip install tqdm)"
        ) from None
    return tqdm(total=total, unit="step")


class _Loop:
    """The state of one :func:`run`: steps done, chunk sizes, the last good state."""

    def __init__(self, stepper, schedule, learning_rate, start_iteration, cost_every, rng):
        self.stepper, self.schedule = stepper, schedule
        self.learning_rate = learning_rate
        self.start, self.cost_every, self.rng = start_iteration, cost_every, rng
        self.backup = stepper.snapshot()  # the last state known finite and whole
        self.backup_steps = 0
        self.step_seconds = None  # measured time per step, to bound each chunk's duration
        self.order = None  # this epoch's shuffle
        self.before_order = None  # the generator's state before it drew `order`
        self.rng_at_backup = None  # the generator's state at the backup, once a draw follows it
        stepper.counter[0] = 0  # steps completed in this run, advanced inside the backend

    @property
    def done(self) -> int:
        return int(self.stepper.counter[0])

    @property
    def global_step(self) -> int:
        return self.start + self.done

    def chunk(self) -> tuple[bool, float, int]:
        """Run the next chunk: up to the next cost record, about CHUNK_SECONDS long, and
        within one epoch. Returns ``(want_cost, cost, k)``."""
        sched, step, every = self.schedule, self.global_step, self.cost_every
        place = step + sched.step_offset  # records fall at the same places in the epochs
        want_cost = place % every == 0
        k = min(sched.n_steps - self.done, every - place % every)
        # The first call may compile: time one step, then size chunks to CHUNK_SECONDS (by a
        # fixed estimate of the step's time where chunk ends change the results).
        per_step = self.stepper.nominal_step_seconds or self.step_seconds
        k = 1 if self.step_seconds is None else min(k, max(1, int(CHUNK_SECONDS / per_step)))
        t0 = time.perf_counter()
        if sched.batch_size is None:
            cost = self.stepper.full_batch(k, self.learning_rate, want_cost)
        else:
            nb = sched.batches_per_epoch
            batch = place % nb  # the same place in the epochs
            if self.order is None or batch == 0:
                if self.rng is not None:
                    self.before_order = self.rng.bit_generator.state
                    if self.rng_at_backup is None:
                        self.rng_at_backup = self.before_order
                self.order = epoch_order(self.rng, sched.m)
            k = min(k, nb - batch)
            cost = self.stepper.minibatch(self.order, batch, k, self.learning_rate, want_cost)
        # Every chunk re-measures: a first chunk that compiled would otherwise size the next
        # ones to a single step, which then never measured again (a whole fit in 1-step chunks).
        self.step_seconds = max((time.perf_counter() - t0) / k, 1e-9)
        return want_cost, cost, k

    # The model's generator, between fits, is where it was before it drew the order of the
    # epoch its next step belongs to: a fit that begins mid-epoch draws that epoch's order
    # again and goes on with its next batch, so two fits are one long fit. Drawing happens at
    # an epoch's first chunk; stopped mid-epoch, the generator goes back to before that draw.
    def _mid_epoch(self) -> bool:
        sched = self.schedule
        nb = sched.batches_per_epoch
        return sched.batch_size is not None and (self.global_step + sched.step_offset) % nb != 0

    def call_as_stopped(self, f: Callable, *args):
        """``f(*args)`` with the model's generator as a fit stopped here would leave it, for
        a callback or a validation record that looks at the model (a checkpoint, early
        stopping's best state). ``f.reads_generator = False`` says it does not: no swap."""
        if (
            not getattr(f, "reads_generator", True)
            or self.rng is None
            or self.before_order is None
            or not self._mid_epoch()
        ):
            return f(*args)
        drawn = self.rng.bit_generator.state
        self.rng.bit_generator.state = self.before_order
        try:
            return f(*args)
        finally:
            self.rng.bit_generator.state = drawn

    def leave_generator_as_stopped(self) -> None:
        """At the end of a run, however it ends."""
        if self.rng is not None and self.before_order is not None and self._mid_epoch():
            self.rng.bit_generator.state = self.before_order

    def finite(self, cost: float, want_cost: bool) -> bool:
        """Whether the chunk left finite parameters (and cost); if not, go back."""
        if self.stepper.is_finite() and (math.isfinite(cost) or not want_cost):
            return True
        self._go_back()
        return False

    def _go_back(self) -> None:
        """Back to the last good state, the shuffle's generator included: a fit stopped
        there would not have drawn what the chunk that failed drew."""
        self.stepper.restore(self.backup)
        self.stepper.counter[0] = self.backup_steps
        if self.rng_at_backup is not None:
            self.rng.bit_generator.state = self.rng_at_backup
            self.rng_at_backup = None
            self.order = None  # drawn in that chunk, which began the epoch

    def at_start(self, first_cost: float | None) -> bool:
        """Whether the cost was not finite before this fit's first update."""
        return self.backup_steps == 0 and first_cost is not None and not math.isfinite(first_cost)

    def divergence_message(self, step: int, k: int, first_cost: float | None = None) -> str:
        """Why the chunk of ``k`` steps from ``step`` failed; ``first_cost``: the cost of its
        first forward pass, when it was computed."""
        if self.at_start(first_cost):  # no learning rate is to blame
            return (
                f"training diverged before its first step: the cost at iteration {step} is not "
                f"finite ({first_cost}), so this fit's learning rate played no part. The "
                "forward pass overflows on this data with these parameters: standardise the "
                "inputs (and targets), or start from parameters an earlier fit had before it "
                "diverged; the parameters are kept as they were."
            )
        span = f"iteration {step}" if k == 1 else f"iterations {step}-{step + k - 1}"
        return (
            f"training diverged in {span}: the cost or the parameters became non-finite "
            f"(learning_rate={self.learning_rate} is probably too large for this data's "
            "scale: lower it, or standardise the inputs and targets); the parameters at "
            f"the start of iteration {self.start + self.backup_steps} are kept."
        )

    def keep(self) -> None:
        """The chunk went well: its state is the new last good one."""
        self.backup = self.stepper.snapshot(into=self.backup)
        self.backup_steps = self.done
        self.rng_at_backup = None

    def interrupted(self) -> None:
        # An atomic chunk is one call: Python sees the interrupt only after it returns, so
        # the state always holds counter[0] whole steps. Otherwise a step may have been
        # stopped halfway: go back to the last whole, finite state.
        if not self.stepper.atomic or not self.stepper.is_finite():
            self._go_back()


def epoch_order(rng: np.random.Generator | None, m: int) -> np.ndarray:
    """The order of an epoch's ``m`` examples (int64): ``rng``'s next permutation of
    ``range(m)``, or ``range(m)`` itself without ``rng`` (no shuffling)."""
    return np.arange(m, dtype=np.int64) if rng is None else rng.permutation(m).astype(np.int64)


def next_epoch_order(rng: np.random.Generator | None, m: int) -> np.ndarray:
    """What :func:`epoch_order` will draw next, ``rng`` left as it was: the order of a fit's
    first epoch, for what must be ready before :func:`run` draws it."""
    if rng is None:
        return epoch_order(None, m)
    state = rng.bit_generator.state
    try:
        return epoch_order(rng, m)
    finally:
        rng.bit_generator.state = state


def can_judge(history: History) -> bool:
    """Whether :func:`not_learning` can give a verdict on this run: a few steps on hard data
    prove nothing (at least ``MIN_STEPS_FOR_VERDICT`` steps, three costs after the first)."""
    return history.n_steps >= MIN_STEPS_FOR_VERDICT and len(history.costs) >= 4


def _label_entropy(Y: np.ndarray, loss: str) -> float:
    """The mean over examples of the cross-entropy of the labels with themselves: the lowest
    cost a classifier can reach on them (0 for 0/1 labels and one-hot columns)."""
    if loss not in ("bce", "cce"):
        return 0.0
    from scipy.special import entr  # -y log y, 0 at 0

    per_example = entr(Y) + (entr(1 - Y) if loss == "bce" else 0.0)
    return float(per_example.sum(axis=0).mean())


def not_learning(
    history: History, Y: np.ndarray, loss: str, floor: float | None = None
) -> str | None:
    """Why training looks like it learned nothing, or None.

    Two signs, from the costs recorded (at least three after the first, over at least
    ``MIN_STEPS_FOR_VERDICT`` steps): the cost did not move
    at all (saturated units: often a learning rate far too large), or it ends no lower than
    the cost of predicting the label frequencies (or the mean, for regression) for every
    example, which a network that ignores its inputs reaches. "No lower" is measured above
    ``floor``, the lowest cost the labels allow: 0 for 0/1 labels, their own entropy for soft
    labels (probabilities), which a perfect fit ends at (None: computed from ``Y``; a caller
    that passes class frequencies as ``Y`` passes 0).
    """
    iters = history.iterations[1:]
    costs = [float(c) for c in history.costs[1:]]
    if not can_judge(history):
        return None
    if not all(math.isfinite(c) for c in costs):
        return None
    Y64 = Y.astype(np.float64)
    if loss == "bce":
        p = np.clip(Y64.mean(axis=1), 1e-300, 1 - 1e-16)
        baseline = float(np.sum(-(p * np.log(p) + (1 - p) * np.log1p(-p))))
        what = "the label frequencies"
    elif loss == "cce":  # the entropy of the class frequencies
        p = Y64.mean(axis=1)
        p = p[p > 0]
        baseline = float(-np.sum(p * np.log(p)))
        what = "the class frequencies"
    else:
        baseline = float(0.5 * np.sum(Y64.var(axis=1)))
        what = "the mean of the targets"
    if floor is None:
        floor = _label_entropy(Y64, loss)
    recent = float(np.mean(costs[-3:]))
    no_better = baseline > floor and recent - floor >= 0.99 * (baseline - floor)
    if max(costs) - min(costs) <= 1e-9 * max(abs(costs[0]), 1e-300) and recent > 1.01 * baseline:
        return (
            f"the cost stayed at {costs[0]:.6g} from iteration {iters[0]} to {iters[-1]}: the "
            "network is not learning. A learning rate that is far too large saturates the units "
            "(try a smaller one); unscaled inputs do the same (standardise them)."
        )
    if no_better:
        return (
            f"after {history.n_steps} steps the cost (the mean of the last three recorded, "
            f"{recent:.4g}) is no lower than that of "
            f"predicting {what} for every example ({baseline:.4g}): the network has not "
            "learned from its inputs. Standardise the inputs, or try another learning rate."
        )
    return None
