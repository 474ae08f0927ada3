"""Where a model's steps stand in its epochs, across fits.

Mini-batch training counts epochs twice: the batch a step takes (its place in the epoch's
shuffle) and the learning-rate decay's ``epoch``. Both used to be read off the model's global
step count, ``step // batches_per_epoch`` and ``step % batches_per_epoch``, with *this* fit's
batches per epoch. That is right while every fit has the same schedule, and wrong as soon as
one changes it: a ``partial_fit`` of 600 rows after one of 1000 (batches of 256: 3 batches an
epoch, after 4 steps) began at batch ``4 % 3 = 1`` and so saw 456 of its 600 rows, and the
decay's epoch jumped or stalled.

A model now keeps its :class:`EpochSchedule`: the schedule of its last fit and the offset that
maps its global step ``s`` onto that schedule's step ``s + offset``, whose epoch is
``(s + offset) // batches_per_epoch`` and batch ``(s + offset) % batches_per_epoch``. A fit
with the same schedule (in memory, same number of examples, batch size and shuffling) goes on
with it, mid-epoch included, so two fits on the same data are one long fit (as before). Any
other fit starts a new epoch: the next one after an epoch partly trained (it counts as begun).
Training out of core or on a Dask cluster always starts a new epoch (the order of its blocks
is drawn per fit).

A model without a schedule (fresh, loaded from a file written before fastdnn kept one, or
whose ``n_steps_`` was set by hand) counts from its step count as from step 0, with the fit's
own batches per epoch, as before. The cost records of a fit fall at the multiples of
``cost_every`` in its schedule's steps, so they stay at the same places in the epochs.

Steps of a schedule stay below :data:`MAX_STEP` (2**62): they are int64 in the compiled loop,
which adds the offset to the step count.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

#: Where a fit's examples come from; a fit goes on with the epoch only from the same source.
SOURCES = ("memory", "blocks", "dask")
#: Bound on a schedule's steps (``n_steps + offset``): far from int64's overflow.
MAX_STEP = 2**62


@dataclass(frozen=True)
class EpochSchedule:
    """One fit's epochs, and where the model's global steps fall in them.

    Attributes
    ----------
    source : {"memory", "blocks", "dask"}
        How the fit reads its examples.
    m : int
        Examples an epoch passes over.
    batch_size : int or None
        None for full-batch steps (one step per epoch).
    batches_per_epoch : int
        Steps per epoch.
    shuffle : bool
        Whether each epoch's batches come from a shuffle (False for full batch).
    offset : int, default 0
        The model's global step ``s`` is step ``s + offset`` of this schedule, which begins an
        epoch at every multiple of ``batches_per_epoch``.
    """

    source: str
    m: int
    batch_size: int | None
    batches_per_epoch: int
    shuffle: bool
    offset: int = 0

    def same_epochs(self, other: EpochSchedule) -> bool:
        """Whether a fit with ``other``'s schedule may go on with this one's epoch."""
        return self.source == other.source == "memory" and (
            self.m,
            self.batch_size,
            self.batches_per_epoch,
            self.shuffle,
        ) == (other.m, other.batch_size, other.batches_per_epoch, other.shuffle)

    def epochs_begun(self, step: int) -> int:
        """Epochs this schedule has begun at global step ``step`` (one partly trained counts)."""
        return -(-(step + self.offset) // self.batches_per_epoch)


def schedule_for_fit(
    previous: EpochSchedule | None, n_steps: int, fit: EpochSchedule, steps: int
) -> EpochSchedule:
    """The schedule a fit of ``steps`` steps starting at global step ``n_steps`` trains with.

    Parameters
    ----------
    previous : EpochSchedule or None
        The model's (its last fit's); None for a model that has none.
    n_steps : int
        The model's step count, where the fit begins.
    fit : EpochSchedule
        The fit's epochs (its ``offset`` is not read).
    steps : int
        The fit's number of steps.

    Raises
    ------
    ValueError
        When the fit would count its steps, or the schedule's, to :data:`MAX_STEP` (a model
        file claiming more steps or epochs than any training has run), before any work.
    """
    if previous is not None and previous.same_epochs(fit):
        schedule = previous
    elif previous is not None:  # the fit starts the next epoch
        offset = previous.epochs_begun(n_steps) * fit.batches_per_epoch - n_steps
        schedule = dataclasses.replace(fit, offset=offset)
    else:  # epochs from step 0, as fastdnn always counted them
        schedule = dataclasses.replace(fit, offset=0)
    last = max(n_steps, n_steps + schedule.offset) + int(steps)
    if last >= MAX_STEP:
        raise ValueError(
            f"a fit of {steps} steps from n_steps_={n_steps} (step {n_steps + schedule.offset} "
            "of its epochs) would count past 2**62 steps; set n_steps_ to restart the count"
        )
    return schedule
