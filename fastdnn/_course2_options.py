"""The Course-2 options of one ``fit``, checked once where the user gives them.

:meth:`fastdnn.DNN.fit`, :func:`fastdnn.blocks.fit` and :func:`fastdnn.dask.fit` take the
options as keyword arguments (their public signatures); each builds one
:class:`Course2Options` and passes it on, so the options are listed, defaulted and checked
here only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validation as v
from ._types import EARLY_STOPPING_SETTINGS, OPTIMIZERS, Opt, OptimizerName
from .steppers import Train


@dataclass(frozen=True)
class Course2Options:
    """:meth:`fastdnn.DNN.fit`'s Course-2 options (optimizers, decay, L2, dropout, early
    stopping, shuffling), checked on construction.

    Parameters
    ----------
    optimizer : {"gd", "momentum", "rmsprop", "adam"}, default "gd"
    beta : float, default 0.9
        Momentum's.
    beta1, beta2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's (RMSprop uses ``beta2`` and ``epsilon``).
    decay_rate : float, default 0.0
    time_interval : int, optional
        None: decay every epoch.
    lambd : float, default 0.0
        L2 strength.
    keep_prob : float, default 1.0
        Dropout's keep probability (1: no dropout).
    early_stopping : bool, default False
    validation_fraction : float, default 0.1
        Checked only where a validation set is held out (:meth:`holdout_fraction`): with
        ``validation_data`` given it is not used.
    patience : int, default 10
    tol : float, default 1e-4
        ``patience`` and ``tol`` are checked only with ``early_stopping``, which alone uses them.
        Without it, a value other than the default of any of these three is refused: it
        would do nothing (:meth:`refuse_unused`).
    shuffle : bool, default True

    Raises
    ------
    ValueError, TypeError
        The first bad option, with :meth:`fastdnn.DNN.fit`'s messages.

    See Also
    --------
    fastdnn.DNN.fit : What each option does.

    Examples
    --------
    >>> Course2Options(optimizer="adam", lambd=0.1).train(seed=0, batches_per_epoch=1).lambd
    0.1
    """

    optimizer: OptimizerName = "gd"
    beta: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    decay_rate: float = 0.0
    time_interval: int | None = None
    lambd: float = 0.0
    keep_prob: float = 1.0
    early_stopping: bool = False
    validation_fraction: float = 0.1
    patience: int = 10
    tol: float = 1e-4
    shuffle: bool = True

    def __post_init__(self) -> None:
        # In the order DNN.fit has always checked them: the first bad one is the one named.
        checked = {
            "shuffle": v.check_flag(self.shuffle, "shuffle"),
            "optimizer": v.check_choice(self.optimizer, "optimizer", OPTIMIZERS),
            "beta": v.check_unit_interval(self.beta, "beta"),
            "beta1": v.check_unit_interval(self.beta1, "beta1"),
            "beta2": v.check_unit_interval(self.beta2, "beta2"),
            "epsilon": v.check_positive_finite(self.epsilon, "epsilon"),
            "decay_rate": v.check_non_negative_finite(self.decay_rate, "decay_rate"),
            "time_interval": (
                None
                if self.time_interval is None
                else v.check_positive_int(self.time_interval, "time_interval")
            ),
            "lambd": v.check_non_negative_finite(self.lambd, "lambd"),
            "keep_prob": v.check_probability(self.keep_prob, "keep_prob"),
            "early_stopping": v.check_flag(self.early_stopping, "early_stopping"),
        }
        if checked["early_stopping"]:
            checked["patience"] = v.check_positive_int(self.patience, "patience")
            checked["tol"] = v.check_non_negative_finite(self.tol, "tol")
        else:
            for name in EARLY_STOPPING_SETTINGS:
                self.refuse_unused(name, "early_stopping is off", point_to_validation_data=True)
        for name, value in checked.items():
            object.__setattr__(self, name, value)  # frozen: the checked values, set once

    def refuse_unused(self, name: str, why: str, point_to_validation_data: bool = False) -> None:
        """Refuse early stopping's setting ``name`` when given other than its default where
        it does nothing (``why``): checked as it would be when used (its type and range),
        then refused, so that a setting the user expected to act is never silently dropped.
        The defaults pass in any numeric type (``np.int64(10)`` for ``patience``).
        ``point_to_validation_data``: the message says how to follow a validation cost."""
        value, default = getattr(self, name), EARLY_STOPPING_SETTINGS[name]
        if name == "patience":
            v.check_positive_int(value, name)
        elif name == "tol":
            v.check_non_negative_finite(value, name)
        else:
            v.check_open_unit_interval(value, name)
        if value != default:
            advice = (
                ". To follow a validation cost without stopping early, pass "
                "validation_data=(X_val, Y_val)"
                if point_to_validation_data
                else ""
            )
            raise ValueError(
                f"{name}={value!r} is an early-stopping setting and does nothing here ({why}): "
                f"leave it out{advice}"
            )

    def holdout_fraction(self) -> float:
        """``validation_fraction``, checked: the share of the examples early stopping holds
        out when no ``validation_data`` is given."""
        return v.check_open_unit_interval(self.validation_fraction, "validation_fraction")

    def train(self, seed: int, batches_per_epoch: int, step_offset: int = 0) -> Train:
        """The options as the steppers take them.

        Parameters
        ----------
        seed : int
            The dropout masks' seed (the model's).
        batches_per_epoch : int
            Steps per epoch, for learning-rate decay (1 for full batch).
        step_offset : int, optional
            Where the model's steps fall in the fit's epochs (:mod:`fastdnn._epochs`).

        Returns
        -------
        Train
        """
        code = OPTIMIZERS[self.optimizer]
        return Train(
            optimizer=int(code),
            # One moving-average slot: momentum's beta, or Adam's beta1.
            beta1=float(self.beta if code == Opt.MOMENTUM else self.beta1),
            beta2=float(self.beta2),
            epsilon=float(self.epsilon),
            decay_rate=float(self.decay_rate),
            time_interval=0 if self.time_interval is None else int(self.time_interval),
            lambd=float(self.lambd),
            keep_prob=float(self.keep_prob),
            seed=np.uint64(seed),
            batches_per_epoch=int(batches_per_epoch),
            step_offset=int(step_offset),
        )
