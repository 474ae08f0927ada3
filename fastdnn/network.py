"""``DNN``: the object users train. Course notation, flat buffers, one fast loop."""

from __future__ import annotations

import contextlib
import copy
import numbers
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _blas
from . import _validation as v
from . import blocks as _blocks  # issue 13: out-of-core data
from ._atomic import file_path
from ._course2_options import Course2Options
from ._epochs import MAX_STEP, EpochSchedule, schedule_for_fit
from ._layout import aligned_empty, aligned_zeros, line_aligned, n_parameters, param_views
from ._metadata import check_label_names
from ._stacklevel import user_stacklevel
from ._types import LEAKY_SLOPE, OUTPUT_LOSS, Array, Backend, OptimizerName, Params
from .backends import get_stepper, select_stepper
from .io import (
    ModelFile,
    ModelMeta,
    check_input_scaling,
    check_names,
    check_seed,
    history_record,
    read_model,
    write_model,
)
from .model import compute_cost, correct_examples, initialize_parameters, predictions_of
from .steppers import NetSpec, OptimizerState, Train, Workspace
from .steppers.gram import GramOverflowError, check_wide_input
from .train import (
    History,
    ModelSync,
    Schedule,
    cost_reporter,
    next_epoch_order,
    not_learning,
    progress_bar,
    run,
)

PREDICT_CHUNK = 8192  # columns per forward pass in predict: bounds memory for large m


@dataclass
class _FitPlan:
    """The checked arguments of one :meth:`DNN.fit`."""

    X: np.ndarray
    Y: np.ndarray
    learning_rate: float
    n_steps: int
    n_epochs: int | None  #: epochs asked for (n_steps counts them), None: num_iterations
    batch_size: int | None
    cost_every: int
    callbacks: list
    validation: tuple | None
    on_divergence: str
    train: Train | None = None
    stopping: _EarlyStopping | None = None
    shuffle: bool = True
    stepper: type | None = None  #: the stepper class (the backend's, or its Gram path's)
    epochs: EpochSchedule | None = None  #: the fit's epochs, and where its first step falls
    #: X's values are not checked for NaN and inf yet: the fit does it as it copies X (one
    #: read of X instead of two), else before anything else reads them (:meth:`DNN._train`)
    finite_pending: bool = False


@dataclass
class _EarlyStopping:
    """Early stopping on the validation cost, with the best state kept: all of it (the
    stepper's parameters, optimizer state and step numbers, and the shuffle's generator), so
    that the model it leaves is the one a fit stopped at the best record would leave, and
    training continued from it (or from its file) goes on from there."""

    patience: int
    tol: float
    best_cost: float = float("inf")
    best_iteration: int = -1
    bad_records: int = 0
    best_state: tuple | None = None  #: the stepper's snapshot at the best record
    best_rng: dict | None = None  #: the shuffle generator's state there

    def record(self, iteration: int, cost: float, stepper, rng: np.random.Generator) -> bool:
        """Take a validation cost, where the state is exactly that of ``iteration`` steps;
        True when training should stop."""
        if cost < self.best_cost - self.tol:
            self.best_cost, self.best_iteration, self.bad_records = cost, iteration, 0
            self.best_state = stepper.snapshot(into=self.best_state)
            self.best_rng = rng.bit_generator.state
            return False
        self.bad_records += 1
        return self.bad_records >= self.patience


class DNN:
    """A fully-connected network ``[LINEAR -> hidden] x (L-1) -> LINEAR -> output``.

    Parameters
    ----------
    layer_dims : sequence of int
        ``[n_x, n_1, ..., n_L]``; ``[n_x, 1]`` is logistic regression.
    hidden : {"relu", "tanh", "sigmoid", "leaky_relu", "linear"}, default "relu"
        Activation of the hidden layers.
    output : {"sigmoid", "softmax", "linear"}, default "sigmoid"
        ``"sigmoid"``: binary classification (one or several independent labels), trained on
        binary cross-entropy. ``"softmax"``: one class of ``n_y`` per example, trained on
        categorical cross-entropy. ``"linear"``: regression, trained on
        ``(1/2m) sum (AL - Y)^2``.
    init : {"xavier", "he", "course", "zeros", "glorot"}, default "xavier"
        Weight initialization; see :func:`fastdnn.initialize_parameters`.
    backend : {"jit", "numpy", "naive"}, default "jit"
        Which kernels train the network. All three give the same result up to rounding.
    dtype : {"float64", "float32"}, default "float64"
        float32 halves memory traffic; inputs are converted once.
    seed : int, optional
        Seeds the initialization and the mini-batch shuffling: the same seed, backend, dtype
        and thread count give bitwise-identical results. An integer in ``[0, 2**128)`` or
        None (fresh entropy); anything else (a list, a float, a Generator) raises a
        ``TypeError``/``ValueError`` naming ``seed``, since the seed is saved with the model.
    slope : float, default 0.01
        Negative-side slope of leaky_relu.
    wide_input : {"auto", True, False}, default "auto"
        The ``jit`` backend's wide-input path for full-batch gradient descent: while
        training, ``W1`` stays in the span of the examples, so the first layer trains on
        ``X.T @ X`` (m x m) instead of ``X``: equal to rounding, and much faster when
        m << n_x (the cat data: about 100x per step). It runs ``optimizer="gd"`` and
        ``"momentum"`` with any ``decay_rate``, ``lambd``, ``keep_prob``, output and early
        stopping. ``"auto"`` takes it where it pays (m <= n_x and a predicted first-layer
        saving of at least 25%; see :func:`fastdnn.steppers.gram.choose`) and otherwise
        trains on the direct path; True forces it, and ``fit`` raises a ``ValueError``
        naming the setting, before any training, where it cannot run (mini-batches,
        RMSprop or Adam, another backend, out-of-core X, a Gram matrix too large for
        memory); False never takes it.
        Settable; not saved with the model.

    Attributes
    ----------
    layer_dims, dtype, init, seed
        As given; read-only (the parameter buffer is built from them).
    hidden, output, slope, backend, wide_input
        As given; may be changed, and are checked when set (``loss`` follows ``output``).
    params : dict
        The course's ``{"W1", "b1", ...}``: read-only views into the model's flat parameter
        buffer (always current; copy them to keep a snapshot).
    n_steps_ : int
        Gradient steps taken so far (over every call of :meth:`fit`). Setting it restarts
        the count of epochs there (learning-rate decay, the place in an epoch's batches), as
        at step 0.
    history_ : History or None
        What the last :meth:`fit` did.
    feature_names : list of str or None
        One name per input feature (``layer_dims[0]`` of them), e.g. a CSV file's column
        names; None (default) when unknown. Saved with the model; checked when set (unique,
        non-empty strings of at most 1024 characters).
    label_names : list of str or None
        One name per output (``layer_dims[-1]`` of them), or None. Same rules. A softmax
        output may instead have one name: the column of class indices it was trained on
        (``fastdnn train`` on a CSV keeps it, and ``fastdnn predict`` reads labels from it).
    input_mean, input_scale : ndarray of shape (n_x, 1), float64, or None
        Input standardisation, set together with :meth:`set_input_scaling` (read-only
        here). When set, every ``X`` the model receives (``fit``, ``validation_data``,
        ``predict``, ``predict_proba``, ``score``) is first replaced by
        ``(X - input_mean) / input_scale``, computed in the model's dtype (one copy of ``X``);
        the parameters then work in standardised units. Saved with the model.

    Examples
    --------
    >>> from fastdnn.datasets import load_planar_dataset
    >>> X, Y = load_planar_dataset()
    >>> net = DNN([2, 4, 1], hidden="tanh", seed=2)
    >>> history = net.fit(X, Y, learning_rate=1.2, num_iterations=2000)
    >>> net.score(X, Y) > 0.85
    True
    """

    def __init__(
        self,
        layer_dims: Sequence[int],
        hidden: str = "relu",
        output: str = "sigmoid",
        init: str = "xavier",
        backend: Backend = "jit",
        dtype="float64",
        seed: int | None = None,
        slope: float = LEAKY_SLOPE,
        wide_input: bool | str = "auto",
    ):
        wide_input = check_wide_input(wide_input)  # before any allocation
        self._configure(layer_dims, hidden, output, init, backend, dtype, seed, slope)
        self._wide_input = wide_input
        # The one place a DNN draws its initial weights (load and from_params draw nothing).
        params = initialize_parameters(self._layer_dims, self._init, self._seed, self._dtype)
        for key, view in param_views(self._theta, self._layer_dims).items():
            view[...] = params[key]

    def _configure(
        self, layer_dims, hidden, output, init, backend, dtype, seed, slope, theta=None
    ) -> None:
        """Check every setting, then allocate; draws nothing (``theta``: adopt this buffer)."""
        self._layer_dims = v.check_layer_dims(layer_dims)
        self.hidden = hidden
        self.output = output
        self._init = v.check_choice(init, "init", v.INITS)
        self.backend = backend
        self._dtype = v.check_dtype(dtype)
        self._seed = check_seed(seed)
        self.slope = slope
        self._wide_input = "auto"
        size = n_parameters(self._layer_dims)
        # The initial draw, the parameters and their gradients: refused before allocating.
        v.check_network_memory(self._layer_dims, self._dtype, copies=3, what="DNN")
        if theta is None:
            theta = aligned_empty(size, self._dtype)
        elif theta.dtype != self._dtype or theta.shape != (size,) or not theta.flags.writeable:
            raise ValueError(f"theta must be a writeable {self._dtype.name} array of ({size},)")
        self._theta = theta
        self._grad = aligned_zeros(size, self._dtype)
        # Shuffling draws from its own stream, so it never shifts the initialization's draws.
        streams = np.random.SeedSequence(self._seed).spawn(2)
        self._rng = np.random.default_rng(streams[0])
        # Dropout's masks: a key of their own (see fastdnn._dropout), drawn once.
        self._dropout_seed = int(streams[1].generate_state(1, np.uint64)[0])
        self._optimizer: OptimizerState | None = None  # the optimizer's state, once trained
        self._epochs: EpochSchedule | None = None  # the last fit's epochs (fastdnn._epochs)
        self._workspace = None  # reused by the next fit of the same batch width
        self._fitting = threading.Lock()  # held by the one fit allowed at a time
        self._fit_thread: int | None = None  # the thread that holds it
        self.n_steps_ = 0
        self.history_ = None
        self._feature_names: tuple[str, ...] | None = None
        self._label_names: tuple[str, ...] | None = None
        self._input_mean: np.ndarray | None = None
        self._input_scale: np.ndarray | None = None

    # ----------------------------------------------------------------- settings
    # Fixed at construction (the buffers depend on them): layer_dims, dtype, init, seed.
    # Settable, and checked when set, so that a model never holds a value that fit would
    # trip over or that load would refuse: hidden, output, slope, backend, n_steps_.
    @property
    def layer_dims(self) -> list[int]:
        return list(self._layer_dims)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def init(self) -> str:
        return self._init

    @property
    def seed(self) -> int | None:
        return self._seed

    @property
    def loss(self) -> str:
        return OUTPUT_LOSS[self._output_name]

    @property
    def hidden(self) -> str:
        return self._hidden

    @hidden.setter
    def hidden(self, value: str) -> None:
        self._hidden = v.check_activation("hidden", value)

    @property
    def output(self) -> str:
        return self._output_name

    @output.setter
    def output(self, value: str) -> None:
        value = v.check_output(value)
        v.check_output_units(value, self._layer_dims[-1], f"layer_dims {self._layer_dims}")
        names = getattr(self, "_label_names", None)  # None while the model is made
        if names is not None and value != self._output_name:
            try:  # a softmax's one label column names no output of another activation
                check_label_names(names, self._layer_dims[-1], value)
            except ValueError:
                raise ValueError(
                    f"output={value!r} does not fit label_names {list(names)}, "
                    "the column of class indices of a softmax output: set label_names to "
                    "None (or to one name per output) first"
                ) from None
        self._output_name = value

    @property
    def slope(self) -> float:
        return self._slope

    @slope.setter
    def slope(self, value: float) -> None:
        self._slope = v.check_positive_finite(value, "slope")

    @property
    def backend(self) -> str:
        return self._backend

    @backend.setter
    def backend(self, value: str) -> None:
        self._backend = v.check_backend(value)

    @property
    def wide_input(self) -> bool | str:
        return self._wide_input

    @wide_input.setter
    def wide_input(self, value: bool | str) -> None:
        self._wide_input = check_wide_input(value)

    @property
    def n_steps_(self) -> int:
        return self._n_steps

    @n_steps_.setter
    def n_steps_(self, value: int) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Integral)
            or not 0 <= value < MAX_STEP
        ):
            raise ValueError(f"n_steps_ must be an integer in [0, 2**62); got {value!r}")
        self._n_steps = int(value)
        # A count set by hand: epochs (the decay's, the batch's place) count from it as from
        # step 0, as for a model that never kept its epochs (fastdnn._epochs). fastdnn's own
        # updates of the count write _n_steps.
        self._epochs = None

    # ----------------------------------------------------------------- names and scaling
    @property
    def feature_names(self) -> list[str] | None:
        return None if self._feature_names is None else list(self._feature_names)

    @feature_names.setter
    def feature_names(self, names) -> None:
        self._feature_names = check_names(names, "feature_names", self.layer_dims[0], "input")

    @property
    def label_names(self) -> list[str] | None:
        return None if self._label_names is None else list(self._label_names)

    @label_names.setter
    def label_names(self, names) -> None:
        self._label_names = check_label_names(names, self.layer_dims[-1], self.output)

    @property
    def input_mean(self) -> np.ndarray | None:
        return self._input_mean

    @property
    def input_scale(self) -> np.ndarray | None:
        return self._input_scale

    def set_input_scaling(self, mean, scale) -> DNN:
        """Standardise every input from now on: ``X -> (X - mean) / scale``.

        Parameters
        ----------
        mean, scale : array_like of shape (n_x,) or (n_x, 1), or None
            Per-feature shift and divisor, finite; every ``scale`` > 0 (a constant feature
            should get scale 1). Typically the training data's mean and standard deviation.
            Both None removes the scaling.

        Returns
        -------
        DNN
            ``self``.

        Raises
        ------
        ValueError, TypeError
            Naming ``mean`` or ``scale``: only one of them given, wrong shape, non-numbers,
            NaN or inf, a scale <= 0. The model is unchanged.

        Notes
        -----
        The model keeps float64 copies (``input_mean``, ``input_scale``, read-only). It does
        not change the parameters: set the scaling before training, or the network sees
        inputs in other units than it was trained on.
        """
        self._not_training_elsewhere("set_input_scaling")
        self._input_mean, self._input_scale = check_input_scaling(mean, scale, self.layer_dims[0])
        return self

    # ----------------------------------------------------------------- parameters
    @property
    def params(self) -> Params:
        """The parameters as the course lays them out, ``{"W1", "b1", ..., "WL", "bL"}``.

        Read-only views of the model's own buffer (they change when the model trains; copy
        them to keep a snapshot). With input scaling (:meth:`set_input_scaling`, ``fastdnn
        train --standardize``) they expect standardised inputs: for code that feeds the raw
        ``X``, such as the course's forward pass or :meth:`from_params`, use
        :meth:`folded_params`.
        """
        self._not_training_elsewhere("reading params")
        views = param_views(self._theta, self.layer_dims)
        for a in views.values():
            a.flags.writeable = False
        return views

    def folded_params(self) -> Params:
        """The parameters with the model's input scaling folded into the first layer.

        ``W1 / input_scale`` (column by column) and ``b1 - (W1 / input_scale) @ input_mean``:
        on the raw ``X`` they give the outputs the model gives (to rounding), so the course's
        forward pass or ``DNN.from_params(net.folded_params(), hidden=net.hidden,
        output=net.output)`` reproduce ``net``'s predictions without the scaling. Without
        input scaling, a copy of :attr:`params`.

        Returns
        -------
        dict of numpy.ndarray
            New, writable float64 arrays, whatever the model's dtype: folded, the first
            layer computes ``W1 @ X`` and subtracts ``W1 @ input_mean`` from it, and where
            the means are large against the scales (timestamps, prices) float32 loses that
            difference (seen: outputs off by 0.2 with means of 1e6 and scales of 1).

        Raises
        ------
        ValueError
            A folded parameter overflows float64 (scales near 0 against large weights).
        """
        self._not_training_elsewhere("reading params")
        views = param_views(self._theta, self.layer_dims)
        folded = {k: a.astype(np.float64) for k, a in views.items()}  # new arrays
        if self._input_mean is not None:
            # The statistics as the model applies them: rounded to its dtype (_standardized).
            mean = self._input_mean.astype(self.dtype).astype(np.float64)
            scale = self._input_scale.astype(self.dtype).astype(np.float64)
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # named below
                W1 = folded["W1"] / scale.T  # both (n_x, 1)
                b1 = folded["b1"] - W1 @ mean
            if not (np.isfinite(W1).all() and np.isfinite(b1).all()):
                raise ValueError(
                    "the input scaling cannot be folded into W1 and b1: W1 / input_scale "
                    "overflows float64 (an input_scale near 0); keep params and standardise "
                    "the inputs yourself"
                )
            folded["W1"], folded["b1"] = W1, b1
        return folded

    def set_params(self, params: Params) -> DNN:
        """Copy a course-style dict ``{"W1", "b1", ...}`` into the model (shapes must match)."""
        self._not_training_elsewhere("set_params")
        checked, dims, _ = v.check_params(params, self.dtype, len(self.layer_dims) - 1)
        if dims != self.layer_dims:
            raise ValueError(
                f"params describe layer_dims {dims} but this model has {self.layer_dims}"
            )
        for key, view in param_views(self._theta, self.layer_dims).items():
            view[...] = checked[key]
        return self

    @classmethod
    def from_params(
        cls,
        params: Params,
        hidden: str = "relu",
        output: str = "sigmoid",
        *,
        init: str | None = None,
        backend: Backend = "jit",
        dtype=None,
        seed: int | None = None,
        slope: float = LEAKY_SLOPE,
    ) -> DNN:
        """A model holding a copy of course-style parameters (e.g. from the course's code).

        Parameters
        ----------
        params : dict
            ``{"W1", "b1", ..., "WL", "bL"}`` with consistent shapes; ``layer_dims`` is read
            off them. Copied: the caller's arrays are never written to.
        hidden, output, backend, seed, slope
            As for :class:`DNN` (``seed`` then only seeds the mini-batch shuffling).
        init : str, optional
            Recorded only (nothing is drawn); default ``"zeros"`` for logistic regression,
            else ``"xavier"``.
        dtype : {"float64", "float32"}, optional
            Default float32 when every parameter is float32, else float64.
        """
        if dtype is not None:
            dtype = v.check_dtype(dtype)
        checked, dims, dtype = v.check_params(params, dtype)
        init = ("zeros" if len(dims) == 2 else "xavier") if init is None else init
        net = cls.__new__(cls)
        net._configure(dims, hidden, output, init, backend, dtype, seed, slope)
        for key, view in param_views(net._theta, dims).items():
            view[...] = checked[key]
        return net

    # ----------------------------------------------------------------- training
    def _check_data(self, X, Y, name_x="X", name_y="Y"):
        X = self._input(X, name_x)
        Y = v.check_Y(Y, self.layer_dims[-1], X.shape[1], self.loss, self.dtype, name_y)
        return X, Y

    def _check_training_data(self, X, Y) -> tuple[np.ndarray, np.ndarray, bool]:
        """:meth:`_check_data` for a fit's ``X`` and ``Y``, except that an ``X`` taken as it is
        (already in the model's dtype, contiguous, no input scaling) is not yet checked for
        NaN and inf: the third value says so (see :attr:`_FitPlan.finite_pending`)."""
        if self._input_mean is None:
            arr = v.as_array(X, "X")
            if _taken_as_is(arr, self.dtype, self.layer_dims[0]):
                Y = v.check_Y(Y, self.layer_dims[-1], arr.shape[1], self.loss, self.dtype, "Y")
                return arr, Y, True
        return *self._check_data(X, Y), False

    def fit(
        self,
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
        optimizer: OptimizerName = "gd",
        beta: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        decay_rate: float = 0.0,
        time_interval: int | None = None,
        lambd: float = 0.0,
        keep_prob: float = 1.0,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        tol: float = 1e-4,
        shuffle: bool = True,
    ) -> History:
        """Train with gradient descent (full batch) or mini-batches; continue from where the
        last call stopped.

        Parameters
        ----------
        X : array_like of shape (n_x, m)
            Inputs, examples as columns. C- or Fortran-ordered arrays are used without a
            copy when already in the model's dtype. A NumPy memmap, an h5py dataset, a zarr
            or a dask array is read by blocks (:func:`fastdnn.blocks.fit`: memory bounded by
            a block; dropout, early stopping and ``shuffle=False`` are refused there): pass
            ``np.array(X)`` to train a small memmap in memory.
        Y : array_like of shape (n_y, m)
            Targets: 0/1 labels for a sigmoid output (or probabilities in [0, 1]: soft
            labels, such as smoothed ones; accuracy counts those above 0.5 as 1); for
            softmax, one-hot columns (as in the course) or class indices ``0 .. n_y-1`` of
            shape (m,) or (1, m); for linear, any finite values. A 1-D ``Y`` of length m is
            one row.
        learning_rate : float, default 0.0075
        num_iterations : int, optional
            Number of gradient steps. Default: 2500 for full batch; for mini-batches, give
            ``epochs`` instead (or both: steps take precedence).
        epochs : int, optional
            Passes over the data (mini-batch). Full batch: same as ``num_iterations``. With
            early stopping on a ``validation_fraction``, passes over the examples trained on.
        batch_size : int, optional
            Mini-batch size; None (default) trains on the full batch, as the course does.
            Examples are reshuffled every epoch; a ``batch_size`` above m is clamped to m.
        cost_every : int, default 100
            Record the cost every that many steps (the course's interval), at the multiples
            of ``cost_every`` in the steps of the model's epochs: the iteration numbers
            themselves unless an earlier fit had other epochs (another ``m`` or
            ``batch_size``; see :mod:`fastdnn._epochs`), so that records stay at the same
            place in the epochs.
        print_cost : bool, default False
            Print ``Cost after iteration i: c`` at each record, as the course does.
        callbacks : sequence of callables, optional
            Each is called as ``callback(iteration, cost, model)`` at every record; a callback
            returning True stops training (``stop_reason="callback"``). ``cost`` is that of
            the parameters after ``iteration`` steps; ``model`` may be up to ``cost_every``
            steps further on (the chunk that computed the cost has run): ``model.n_steps_``
            says where it is, and its optimizer state goes with its parameters, so
            ``model.save(...)`` in a callback is a checkpoint that resumes as a fit stopped
            there would. A callback runs in the training thread, between steps; other
            threads may not read or change the model during a fit. An exception a callback
            raises propagates, and the model keeps the steps made, as after Ctrl-C.
        progress : bool, default False
            Show a progress bar (needs tqdm: ``pip install 'fastdnn[progress]'``).
        validation_data : tuple (X_val, Y_val), optional
            Evaluated on the parameters after every ``cost_every`` steps and after the last
            step; results in ``History.val_*``.
        on_divergence : {"raise", "warn"}, default "raise"
            When the cost or the parameters become non-finite, the model goes back to the last
            finite parameters and training stops with a :class:`fastdnn.DivergenceError`
            (``"raise"``) or a ``RuntimeWarning`` (``"warn"``).
        optimizer : {"gd", "momentum", "rmsprop", "adam"}, default "gd"
            The course's optimizers. Their state (``v``, ``s``, Adam's ``t``) lives with the
            model: a later ``fit`` with the same optimizer continues it, and ``save``/``load``
            keep it. A different optimizer starts from fresh state.
        beta : float, default 0.9
            Momentum's ``beta``: ``v = beta v + (1 - beta) dW``; ``W -= lr v``.
        beta1, beta2, epsilon : float, default 0.9, 0.999, 1e-8
            Adam's: moments ``v`` (beta1) and ``s`` (beta2), bias-corrected with the step
            count ``t``; ``W -= lr v_hat / (sqrt(s_hat) + epsilon)``. RMSprop uses ``beta2``
            and ``epsilon``: ``s = beta2 s + (1 - beta2) dW^2``; ``W -= lr dW / (sqrt(s) +
            epsilon)``.
        decay_rate : float, default 0.0
            Learning-rate decay (0: constant): ``lr = learning_rate / (1 + decay_rate *
            epoch)``, epochs counting from 0 (with full batch, an epoch is an iteration)
            over the model's fits: a fit with other epochs than the last one (other ``m``
            or ``batch_size``) starts with the next epoch, one partly trained counting as
            begun.
        time_interval : int, optional
            The course's scheduled decay: ``lr = learning_rate / (1 + decay_rate *
            floor(epoch / time_interval))``.
        lambd : float, default 0.0
            L2 regularisation, the course's ``lambd``: the cost adds ``lambd / (2m) * sum
            ||W[l]||^2`` and each ``dW[l]`` gets ``lambd / m * W[l]`` (biases are not
            regularised).
        keep_prob : float, default 1.0
            Inverted dropout on the hidden layers (1: none; refused below 1 for a network
            without hidden layers). The masks are drawn from the
            model's seed, the step number and the layer (counter-based), so a run is
            reproducible and its masks do not depend on chunking or backend.
        early_stopping : bool, default False
            Stop when the validation cost has not improved by ``tol`` for ``patience``
            consecutive records, and go back to the best record: its parameters, and with them
            its step count, optimizer state and shuffle (``n_steps_`` is then that record's
            iteration, ``History.n_steps`` the steps run), so that the model is the one a fit
            stopped there would leave, and goes on from there when trained further. A record
            is the validation cost of the parameters after every ``cost_every`` steps (and
            after the last step), taken right there whatever the chunks of steps, so where
            training stops does not depend on timing; the parameters the fit started from are
            recorded but not a candidate. The validation set is ``validation_data``, or else
            a random ``validation_fraction`` of the examples, held out from training: drawn
            from the model's seed, the same examples at every fit (with ``seed=None``, a new
            draw each fit, as scikit-learn's MLP makes with ``random_state=None``: give a seed,
            or ``validation_data``, to keep one validation set across fits).
        validation_fraction, patience, tol : float, int, float, default 0.1, 10, 1e-4
            Early stopping's: the share of the examples held out (when no
            ``validation_data`` is given), the records without an improvement of ``tol``
            before it stops. Used only with ``early_stopping=True``: without it, another
            value than the default is refused (it would do nothing; ``validation_data``
            follows a validation cost without stopping).
        shuffle : bool, default True
            Reshuffle the examples every epoch (mini-batches). False takes the batches in
            the order of ``X``'s columns, every epoch.

        Returns
        -------
        History
            Costs with their iteration numbers, validation results, wall time, stop reason.

        Raises
        ------
        ValueError, TypeError
            For bad input, before any training (nothing of the caller's is modified).
        DivergenceError
            See ``on_divergence``.

        Notes
        -----
        The first training call of a process sets the BLAS threads of the whole process
        (NumPy's and SciPy's OpenBLAS, and MKL) to fastdnn's default, half the usable cores,
        unless you chose already (:func:`fastdnn.set_num_threads`, ``FASTDNN_NUM_THREADS``,
        ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``): your other NumPy
        work then runs on as many. ``fastdnn info`` prints the setting and why.
        """
        print_cost = v.check_flag(print_cost, "print_cost")
        progress = v.check_flag(progress, "progress")
        # The one check of the Course-2 options, before any data are read.
        course2 = Course2Options(
            optimizer=optimizer,
            beta=beta,
            beta1=beta1,
            beta2=beta2,
            epsilon=epsilon,
            decay_rate=decay_rate,
            time_interval=time_interval,
            lambd=lambd,
            keep_prob=keep_prob,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            tol=tol,
            shuffle=shuffle,
        )
        if course2.early_stopping and validation_data is not None:  # the validation set
            course2.refuse_unused("validation_fraction", "validation_data is given")
        if course2.keep_prob < 1 and len(self.layer_dims) == 2:  # it would do nothing
            raise ValueError(
                f"keep_prob={keep_prob!r}: dropout applies to the hidden layers, and this "
                f"network (layer_dims {self.layer_dims}) has none"
            )
        # Issue 13 hook: data outside memory (memmap, h5py, zarr, dask) is read by blocks.
        if _blocks.is_out_of_core(X):
            if self.wide_input is True:  # refused before any block is read
                raise ValueError(
                    "wide_input=True cannot be honoured: X is read by blocks (out of core), "
                    "and the Gram path needs the whole X in memory. Use wide_input='auto' (or "
                    "False) to train by blocks on the direct path."
                )
            return _blocks.fit_with_options(
                self,
                X,
                Y,
                course2,
                learning_rate=learning_rate,
                num_iterations=num_iterations,
                epochs=epochs,
                batch_size=batch_size,
                cost_every=cost_every,
                print_cost=print_cost,
                callbacks=callbacks,
                progress=progress,
                validation_data=validation_data,
                on_divergence=on_divergence,
            )
        with self._training():
            plan = self._plan(
                X,
                Y,
                learning_rate,
                num_iterations,
                epochs,
                batch_size,
                cost_every,
                callbacks,
                validation_data,
                on_divergence,
            )
            plan.shuffle = course2.shuffle
            plan.train, plan.stopping = self._course2(plan, course2)
            # Checked with the other arguments: wide_input=True on a setting the Gram path
            # does not run is refused here, before any training.
            plan.stepper = select_stepper(
                self.backend,
                self._spec(),
                plan.X.shape[1],
                batch_size=plan.batch_size,
                n_steps=plan.n_steps,
                cost_every=plan.cost_every,
                wide_input=self.wide_input,
                train=plan.train,
            )
            return self._train(plan, print_cost, progress)

    @contextlib.contextmanager
    def _training(self) -> Iterator[None]:
        """Hold the model for one fit (any of its paths): a second fit, in another thread, is
        refused, and so is reading or writing the parameters from another thread meanwhile
        (:meth:`_not_training_elsewhere`)."""
        if not self._fitting.acquire(blocking=False):
            raise RuntimeError(
                "fit is already running on this DNN in another thread; two fits at once would "
                "interleave their steps on the same parameters. Train copies of the model "
                "(copy.deepcopy) in parallel instead, or wait for the first fit to return."
            )
        self._fit_thread = threading.get_ident()
        try:
            yield
        finally:
            self._fit_thread = None
            self._fitting.release()

    def _not_training_elsewhere(self, what: str) -> None:
        """Refuse ``what`` while another thread trains this model: its parameters (and
        optimizer state, step count) change at every step, so it would read a mixture of
        steps, or write one under the fit. Callbacks run in the training thread, between
        steps, where the model is consistent: they may do anything. (A fit that starts after
        this check, while ``what`` runs, is not caught.)"""
        owner = self._fit_thread
        if owner is not None and owner != threading.get_ident():
            raise RuntimeError(
                f"{what} while another thread trains this DNN: its parameters change at every "
                "step, so it would see a mixture of steps. Wait for fit to return, or do it in "
                "a callback (fit(..., callbacks=[...]) calls them in the training thread "
                "between steps)."
            )

    def _plan(
        self,
        X,
        Y,
        learning_rate,
        num_iterations,
        epochs,
        batch_size,
        cost_every,
        callbacks,
        validation_data,
        on_divergence,
    ) -> _FitPlan:
        """Every argument of :meth:`fit` checked, before any work."""
        lr = v.check_positive_finite(learning_rate, "learning_rate")
        cost_every = v.check_positive_int(cost_every, "cost_every")
        v.check_choice(on_divergence, "on_divergence", ("raise", "warn"))
        X, Y, finite_pending = self._check_training_data(X, Y)
        m = X.shape[1]
        if batch_size is not None:
            batch_size = min(v.check_positive_int(batch_size, "batch_size"), m)
        num_iterations, epochs = v.check_step_counts(num_iterations, epochs)
        if num_iterations is not None:
            n_steps, epochs = num_iterations, None
        elif epochs is not None:
            n_steps = epochs * (1 if batch_size is None else -(-m // batch_size))
        elif batch_size is None:
            n_steps = 2500
        else:
            raise ValueError("mini-batch training needs epochs=... (or num_iterations=...)")
        val = None
        if validation_data is not None:
            validation_data = v.check_validation_data(validation_data)
            val = self._check_data(*validation_data, "validation_data[0]", "validation_data[1]")
        callbacks = v.check_callbacks(callbacks)
        return _FitPlan(
            X, Y, lr, n_steps, epochs, batch_size, cost_every, callbacks, val, on_divergence,
            finite_pending=finite_pending,
        )  # fmt: skip

    def _course2(
        self, plan: _FitPlan, course2: Course2Options
    ) -> tuple[Train, _EarlyStopping | None]:
        """The checked Course-2 options as the stepper takes them; hold out a validation set
        if early stopping needs one."""
        stopping = None
        if course2.early_stopping:
            if plan.validation is None:
                _check_finite_now(plan)  # all of X, before it is split
                fraction = course2.holdout_fraction()
                plan.X, plan.Y, plan.validation = self._hold_out(plan.X, plan.Y, fraction)
                if plan.batch_size is not None:
                    plan.batch_size = min(plan.batch_size, plan.X.shape[1])
                    if plan.n_epochs is not None:  # epochs of the examples trained on
                        plan.n_steps = plan.n_epochs * -(-plan.X.shape[1] // plan.batch_size)
            stopping = _EarlyStopping(course2.patience, course2.tol)
        m = plan.X.shape[1]
        nb = 1 if plan.batch_size is None else -(-m // plan.batch_size)
        shuffled = plan.shuffle and plan.batch_size is not None
        fit = EpochSchedule("memory", m, plan.batch_size, nb, shuffled)
        plan.epochs = schedule_for_fit(self._epochs, self.n_steps_, fit, plan.n_steps)
        return course2.train(self._dropout_seed, nb, plan.epochs.offset), stopping

    def _hold_out(self, X, Y, fraction: float):
        """``(X_train, Y_train, (X_val, Y_val))``: a random ``fraction`` of the columns held
        out, drawn from the model's seed (its own stream: the shuffling is not disturbed)."""
        m = X.shape[1]
        n_val = int(round(fraction * m))
        if n_val < 1 or n_val >= m:
            raise ValueError(
                f"validation_fraction={fraction} of m = {m} examples leaves {n_val} for "
                f"validation and {m - n_val} for training; both need at least one"
            )
        rng = np.random.default_rng(np.random.SeedSequence(self._seed).spawn(3)[2])  # a 3rd stream
        order = rng.permutation(m)
        val, keep = np.sort(order[:n_val]), np.sort(order[n_val:])
        return X[:, keep], Y[:, keep], (X[:, val], Y[:, val])

    def _optimizer_state(self, train: Train) -> OptimizerState:
        """The optimizer's state: the model's, when it is for this optimizer; else fresh."""
        name = train.optimizer_name
        state = self._optimizer
        if state is None or state.name != name:
            state = OptimizerState(name, self._theta.size, self._dtype)
        return state

    def _train(self, plan: _FitPlan, print_cost: bool, progress: bool) -> History:
        m = plan.X.shape[1]
        bar = progress_bar(plan.n_steps) if progress else None
        _blas.apply_env_threads()
        minibatch = plan.batch_size is not None
        X = plan.X
        copy_threads = None
        if minibatch and _examples_contiguous_copy(X, plan.n_steps, plan.batch_size):
            # the stepper copies X, examples contiguous and in the first epoch's shuffle, for
            # this fit only; memory-bound, so on fastdnn's threads
            copy_threads = _blas.current_threads()
        else:
            _check_finite_now(plan)  # before anything reads X (a Gram stepper: at once)
        self._workspace = Workspace.reuse(
            self._workspace, self.layer_dims, plan.batch_size or m, self.dtype, minibatch
        )
        optimizer = self._optimizer_state(plan.train)

        def make_stepper(cls):
            return cls(
                self._spec(),
                self._theta,
                self._grad,
                X,
                plan.Y,
                plan.batch_size,
                self._workspace,
                train=plan.train,
                optimizer=optimizer,
                start_step=self.n_steps_,
                copy_threads=copy_threads,
            )

        try:
            stepper = make_stepper(plan.stepper or get_stepper(self.backend))
        except GramOverflowError:
            if self.wide_input is True:
                raise
            stepper = make_stepper(get_stepper(self.backend))  # "auto": the direct path can
        if copy_threads is not None:
            # The copy now, in the order the first epoch will draw: X's check rides along
            # (W4: 20 ms saved in float64), and a NaN is refused before any step.
            first = next_epoch_order(self._rng if plan.shuffle else None, m)
            try:
                if stepper.copy_x(first, check_finite="X" if plan.finite_pending else None):
                    plan.finite_pending = False
                _check_finite_now(plan)  # a stepper that does not copy
            except BaseException:
                if bar is not None:
                    bar.close()
                raise
        history = History()
        stopping = plan.stopping

        sync = ModelSync(self, stepper, optimizer, plan.epochs)
        start_steps = sync.start
        on_cost = cost_reporter(self, sync, plan.callbacks, print_cost)

        def validate(iteration):
            # Called where the parameters are exactly those after `iteration` steps (at a
            # record, before its chunk runs; and at the end), whatever the chunks' lengths.
            X_val, Y_val = plan.validation
            AL = self._output(X_val)  # one forward pass for the cost and the accuracy
            val_cost = compute_cost(AL, Y_val, self.loss)
            history.val_iterations.append(iteration)
            history.val_costs.append(val_cost)
            if self.output != "linear":
                history.val_accuracy.append(self._score_of(AL, Y_val))
            # The parameters this fit started from are recorded, not a candidate: early
            # stopping picks among the states training reached (as scikit-learn and Keras do).
            if stopping is not None and iteration > start_steps:
                if stopping.record(iteration, val_cost, stepper, self._rng):
                    history.stop_reason = "early_stopping"
                    return True
            return False

        validate.reads_generator = stopping is not None  # the best state keeps it
        try:
            result = run(
                stepper,
                Schedule(plan.n_steps, plan.batch_size, m, plan.epochs.offset),
                plan.learning_rate,
                start_iteration=self.n_steps_,
                cost_every=plan.cost_every,
                rng=self._rng if plan.shuffle else None,
                on_cost=on_cost,
                validate=validate if plan.validation is not None else None,
                on_divergence=plan.on_divergence,
                progress=bar,
                history=history,
            )
        finally:
            if bar is not None:
                bar.close()
            sync()
        if stopping is not None and stopping.best_state is not None:
            # Back to the best validation cost, the whole state of that step.
            stepper.restore(stopping.best_state)
            stepper.counter[0] = stopping.best_iteration - start_steps
            self._rng.bit_generator.state = stopping.best_rng
            sync()
            result.best_iteration = stopping.best_iteration
        self.history_ = result
        if result.stop_reason == "completed" and (why := not_learning(result, plan.Y, self.loss)):
            warnings.warn(why, RuntimeWarning, stacklevel=user_stacklevel())
        return result

    # ----------------------------------------------------------------- inference
    def _spec(self) -> NetSpec:
        return NetSpec(tuple(self.layer_dims), self.hidden, self.output, self.slope, self.dtype)

    def _output(self, X: np.ndarray) -> np.ndarray:
        """AL for checked X, computed PREDICT_CHUNK columns at a time."""
        self._not_training_elsewhere("predicting")
        forward = get_stepper(self.backend).forward
        spec = self._spec()
        m = X.shape[1]
        out = np.empty((self.layer_dims[-1], m), dtype=self.dtype)
        for start in range(0, m, PREDICT_CHUNK):
            Xc = X[:, start : start + PREDICT_CHUNK]
            if not (Xc.flags.c_contiguous or Xc.flags.f_contiguous):
                Xc = np.ascontiguousarray(Xc)
            AL = np.empty((self.layer_dims[-1], Xc.shape[1]), dtype=self.dtype)
            forward(spec, self._theta, Xc, AL)
            out[:, start : start + Xc.shape[1]] = AL
        return out

    def _input(self, X, name="X"):
        """Checked X in the model's dtype, standardised when the model has input scaling."""
        if self._input_mean is None:
            return _as_training_array(X, name, self.dtype, self.layer_dims[0])
        return _standardized(X, name, self.dtype, self._input_mean, self._input_scale)

    def predict_proba(self, X) -> Array:
        """The network's output ``AL`` of shape (n_y, m): probabilities for a sigmoid output
        (one per row), a probability vector per column for softmax.

        An ``X`` out of memory (memmap, h5py, zarr, dask: as :meth:`fit` takes it) is read by
        blocks (:func:`fastdnn.blocks.predict_proba`), so that memory holds only the output
        and a block of ``X``.
        """
        if _blocks.is_out_of_core(X):
            return _blocks.predict_proba(self, X)
        return self._output(self._input(X))

    def predict(self, X, threshold: float = 0.5) -> Array:
        """Predictions of shape (n_y, m) or (1, m).

        sigmoid: labels 0/1 (``AL > threshold``), in the model's dtype as the course returns
        them; softmax: the class index of each example (``argmax`` of its column), int64 of
        shape (1, m); linear: the output itself.
        """
        threshold = v.check_open_unit_interval(threshold, "threshold")
        return predictions_of(self.predict_proba(X), self.output, threshold)

    def _cost(self, X, Y) -> float:
        return compute_cost(self._output(X), Y, self.loss)

    def _score_of(self, AL, Y) -> float:
        """:meth:`score` of the output ``AL`` already computed, for a checked ``Y``."""
        if self.output == "linear":
            return _r2_score(Y, AL)
        return float(np.mean(correct_examples(AL, Y, self.output)))

    def score(self, X, Y) -> float:
        """Accuracy (sigmoid, softmax) or the coefficient of determination R^2 (linear output).

        Accuracy is the fraction of examples classified right: for softmax, the largest output
        is the class; for sigmoid, the output is above 0.5 where the label is 1. With several
        sigmoid outputs (multi-label) an example counts only when all its labels are right,
        as scikit-learn's ``accuracy_score`` counts (subset accuracy).

        R^2 follows scikit-learn's ``r2_score``: computed per output row and averaged; a
        constant row of ``Y`` scores 1.0 when predicted exactly, else 0.0; with fewer than two
        examples R^2 is not defined: NaN, with a warning.

        ``X`` or ``Y`` out of memory: both are read by blocks (:func:`fastdnn.blocks.score`).
        """
        if _blocks.is_out_of_core(X) or _blocks.is_out_of_core(Y):
            return _blocks.score(self, X, Y)
        X, Y = self._check_data(X, Y)
        return self._score_of(self._output(X), Y)

    # ----------------------------------------------------------------- files
    def save(self, path) -> Path:
        """Save to a ``.npz`` file, atomically; returns ``path``.

        Everything :meth:`load` restores is saved: parameters, activations, ``slope``,
        ``dtype``, ``init``, ``seed``, ``n_steps_``, ``history_``, the names, the input
        scaling, the state of the mini-batch shuffling generator and where the model stands
        in its epochs, so that training continued after ``load`` gives bitwise the result of
        training on without saving.
        How to compute is not saved: ``backend`` (``load`` takes it) and ``wide_input``
        (``"auto"`` after ``load``); set them as before for bitwise the same continuation
        (the paths agree to rounding, not bit for bit).

        ``path`` is written exactly (no ``".npz"`` appended). A read-only file or folder
        raises ``PermissionError``, a folder ``IsADirectoryError``, a FIFO or device
        ``ValueError``; a symbolic link is written through (the file it points to is
        replaced, the link stays). See :mod:`fastdnn.io` for the format.
        """
        self._not_training_elsewhere("save")
        path = file_path(path)  # refuses 'model.npz/.' (Path would make it model.npz)
        arrays = {}
        if self._input_mean is not None:
            arrays = {"input_mean": self._input_mean, "input_scale": self._input_scale}
        optimizer = None
        if self._optimizer is not None and self._optimizer.name != "gd":  # gd keeps no state
            optimizer = {"name": self._optimizer.name, "t": self._optimizer.t}
            for key, buffer in self._optimizer.arrays().items():
                arrays[f"optimizer_{key}"] = buffer
        try:
            history = None if self.history_ is None else history_record(self.history_)
        except (AttributeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"cannot save the model to '{path}': history_ must be a fastdnn.History "
                f"({type(exc).__name__}: {exc})"
            ) from None
        meta = ModelMeta(
            layer_dims=tuple(self._layer_dims),
            hidden=self._hidden,
            output=self._output_name,
            slope=self._slope,
            dtype=self._dtype.name,
            init=self._init,
            n_steps=self._n_steps,
            seed=self._seed,
            history=history,
            rng_state=self._rng.bit_generator.state,
            feature_names=self._feature_names,
            label_names=self._label_names,
            arrays=tuple(arrays),
            dropout_seed=self._dropout_seed,
            optimizer=optimizer,
            epochs=self._epochs,
        )
        return write_model(path, meta, self._theta, arrays)

    @classmethod
    def load(
        cls,
        path,
        backend: Backend | None = None,
        *,
        hidden: str | None = None,
        output: str | None = None,
    ) -> DNN:
        """Load a model saved by :meth:`save`, or a course-style ``{"W1", "b1", ...}`` npz.

        ``hidden`` and ``output`` name the activations of a course-style file (default relu
        and sigmoid). Nothing is drawn at random: the parameters are read into the model's
        buffer. See :func:`fastdnn.io.load_model` for the errors.
        """
        backend = v.check_backend("jit" if backend is None else backend)
        return cls._from_model_file(read_model(path, hidden=hidden, output=output), backend)

    @classmethod
    def _from_model_file(cls, contents: ModelFile, backend: str) -> DNN:
        """The model a checked file describes, its parameter buffer adopted (no copy)."""
        meta = contents.meta
        net = cls.__new__(cls)
        net._configure(
            meta.layer_dims,
            meta.hidden,
            meta.output,
            meta.init,
            backend,
            meta.dtype,
            meta.seed,
            meta.slope,
            theta=contents.theta,
        )
        net._n_steps = meta.n_steps
        if meta.history is not None:
            net.history_ = History(**meta.history)
        if meta.rng_state is not None:
            net._rng.bit_generator.state = meta.rng_state
        net._feature_names, net._label_names = meta.feature_names, meta.label_names
        arrays = contents.arrays or {}
        if "input_mean" in arrays:
            net.set_input_scaling(arrays["input_mean"], arrays["input_scale"])
        if meta.dropout_seed is not None:
            net._dropout_seed = meta.dropout_seed
        net._epochs = meta.epochs
        if meta.optimizer is not None:
            state = {
                k: np.array(arrays[f"optimizer_{k}"]) for k in "vs" if f"optimizer_{k}" in arrays
            }
            net._optimizer = OptimizerState(
                meta.optimizer["name"], net._theta.size, net._dtype, t=meta.optimizer["t"], **state
            )
        return net

    def __getstate__(self) -> dict:
        # A lock cannot be pickled or copied (scikit-learn pickles fitted estimators); a copy
        # gets a lock of its own. The work buffers are scratch space: not worth the bytes.
        self._not_training_elsewhere("copying or pickling")
        state = self.__dict__.copy()
        del state["_fitting"]
        state["_fit_thread"] = None
        state["_workspace"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        state.setdefault("_wide_input", "auto")  # pickled before the setting existed
        state.setdefault("_epochs", None)  # pickled before models kept their epochs
        self.__dict__.update(state)
        self._fitting = threading.Lock()
        self._fit_thread = None
        # Unpickled or deep-copied buffers start where NumPy puts them: back on cache lines,
        # as a new model's (fastdnn._layout.LINE_BYTES).
        self._theta, self._grad = line_aligned(self._theta), line_aligned(self._grad)
        if self._optimizer is not None:
            self._optimizer.v = line_aligned(self._optimizer.v)
            self._optimizer.s = line_aligned(self._optimizer.s)

    def __copy__(self) -> DNN:
        # Its parameters, gradients, optimizer state and shuffle generator are what a model
        # is: a shallow copy sharing them was trained by the copy's fits (the original's
        # parameters changed, and each had its own lock, so two threads could train one
        # buffer at once). copy.copy copies them, as copy.deepcopy does (and as copy.copy of
        # an ndarray copies its data).
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        # The scaling shows: without it, params alone give other predictions (folded_params).
        scaled = ", input_scaling=True" if getattr(self, "_input_mean", None) is not None else ""
        return (
            f"DNN(layer_dims={self.layer_dims}, hidden={self.hidden!r}, output={self.output!r}, "
            f"backend={self.backend!r}, dtype={self.dtype.name!r}, n_steps_={self.n_steps_}"
            f"{scaled})"
        )


def _r2_score(Y, AL) -> float:
    """scikit-learn's ``r2_score(Y.T, AL.T)`` (uniform average over outputs, finite)."""
    if Y.shape[1] < 2:
        warnings.warn(
            "R^2 is not well-defined with fewer than two examples; returning nan "
            "(as scikit-learn's r2_score)",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return float("nan")
    Y, AL = Y.astype(np.float64), AL.astype(np.float64)
    ss_res = ((Y - AL) ** 2).sum(axis=1)
    ss_tot = ((Y - Y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    constant = ss_tot == 0  # R^2 is 1 - 0/0 there: 1 if predicted exactly, else 0
    per_output = np.where(
        constant, (ss_res == 0).astype(np.float64), 1.0 - ss_res / np.where(constant, 1.0, ss_tot)
    )
    return float(per_output.mean())


def _as_training_array(X, name, dtype, n_x):
    """Checked X without copying a C- or F-contiguous array that already has ``dtype``."""
    arr = v.as_array(X, name)
    if _taken_as_is(arr, dtype, n_x):
        v.check_finite(arr, name)
        return arr
    return v.check_X(arr, n_x, dtype, name)  # converts, or raises the full message


def _taken_as_is(arr: np.ndarray, dtype, n_x: int) -> bool:
    """Whether ``arr`` is a valid ``X`` as it is, its values aside: ``(n_x, m)``, non-empty,
    in ``dtype``, C- or F-contiguous (no copy to make)."""
    contiguous = arr.flags.c_contiguous or arr.flags.f_contiguous
    shaped = arr.ndim == 2 and arr.size > 0 and arr.shape[0] == n_x
    return arr.dtype == dtype and contiguous and shaped


def _check_finite_now(plan: _FitPlan) -> None:
    """Check ``plan.X`` for NaN and inf if that is still to do (:attr:`_FitPlan.finite_pending`)."""
    if plan.finite_pending:
        v.check_finite(plan.X, "X")
        plan.finite_pending = False


def _standardized(X, name, dtype, mean, scale):
    """``(X - mean) / scale`` in ``dtype``: one new array, after the checks any X gets."""
    arr = v.as_array(X, name)
    n_x = mean.shape[0]
    if arr.dtype.kind not in "biuf" or arr.ndim != 2 or arr.size == 0 or arr.shape[0] != n_x:
        arr = v.check_X(arr, n_x, dtype, name)  # raises the full message
    v.check_finite(arr, name)
    # Casting X (any real dtype) and the statistics to dtype inside the ufunc: one copy of X,
    # in X's memory order (an F-ordered X stays F-ordered, as fit accepts).
    with np.errstate(over="ignore"):  # an overflow becomes inf: the check below names it
        out = np.subtract(arr, mean.astype(dtype, copy=False), dtype=dtype)
        np.divide(out, scale.astype(dtype, copy=False), out=out)
    v.check_finite(out, f"{name} standardised with input_mean and input_scale")
    return out


#: A mini-batch fit copies a C-ordered ``X`` (:func:`_examples_contiguous_copy`) when it reads
#: at least ``m * itemsize / COPY_FROM_EPOCH_BYTES`` examples: 0.3 of an epoch in float64,
#: 0.15 in float32, past where the copy paid on both CPUs measured.
COPY_FROM_EPOCH_BYTES = 27


def _examples_contiguous_copy(X, n_steps: int, batch_size: int) -> bool:
    """Whether a mini-batch fit reads its batches from a copy of ``X`` with the examples
    contiguous (the ``(m, n_x)`` storage of a Fortran-ordered ``X``), made by the stepper in
    the first epoch's shuffle (that epoch's batches are consecutive slices of it; later epochs
    gather whole rows), rather than gathering each batch's columns from a C-ordered
    ``(n_x, m)`` ``X`` (one cache line per value). When the examples are not contiguous
    already, the data are in memory (not a memory map: a copy would read it all into RAM),
    the copy fits easily (a quarter of the memory this process may use; it lives for the fit
    only) and the fit runs long enough: about 0.3 of an epoch in float64, 0.15 in float32
    (:data:`COPY_FROM_EPOCH_BYTES`).

    Why those lengths: the copy moves the bytes of ``X`` (half as many in float32), a gather
    fetches a cache line per value (as many in either dtype). Measured on W4 (784 x 60000),
    fits from a C-ordered ``X`` with the copy against gathering columns, 1 thread
    (``bench/copy_or_gather.py``): on an AMD EPYC Zen 4 the copy was faster from about 0.1 of
    an epoch in float32 (1.18x at 0.2, 1.33x at 0.3, 1.47x at 0.5) and about 0.15 in float64
    with its non-temporal copy (1.10x at 0.2, 1.30x at 0.5); on a Sapphire Rapids class Xeon,
    with its streaming copy in both dtypes and its row-order gather, from about 0.2 in float64
    (0.99x at 0.2, 1.16x at 0.3, 1.39x at 0.5) and 0.1 in float32 (0.97x at 0.1, 1.35x at
    0.2, 1.62x at 0.3)."""
    if X.flags.f_contiguous or _memory_mapped(X):
        return False
    if COPY_FROM_EPOCH_BYTES * n_steps * batch_size < X.shape[1] * X.itemsize:
        return False
    limit = v.memory_limit()
    budget = limit[0] // 4 if limit else 2**30
    return X.nbytes <= budget


def _memory_mapped(X) -> bool:
    """Whether ``X`` (or an array it views) is a memory map: ``np.asarray`` of a memmap is a
    plain ndarray, so the chain of bases is what tells."""
    import mmap

    a = X
    while a is not None:
        if isinstance(a, (np.memmap, mmap.mmap)):
            return True
        a = getattr(a, "base", None)
    return False


def warmup(
    dtypes: Sequence[str] = ("float64", "float32"),
    hidden: Sequence[str] | None = None,
    outputs: Sequence[str] | None = None,
) -> float:
    """Compile (or load from Numba's cache) everything the jit backend trains with.

    Compilation is otherwise lazy: the first ``fit`` of a process pays it. Call this at
    start-up to pay it ahead, e.g. in a server or before timing.

    Parameters
    ----------
    dtypes : sequence of {"float64", "float32"}
        The dtypes to compile for.
    hidden : sequence of {"sigmoid", "tanh", "relu", "leaky_relu", "linear"}, optional
        The hidden-layer activations to compile loops for (each is compiled separately, the
        first time a network uses it). Default: all of them.
    outputs : sequence of {"sigmoid", "softmax", "linear"}, optional
        The output layers to compile loops for. Default: all of them.

    Returns
    -------
    float
        Seconds spent.
    """
    import time

    from ._types import ACTIVATIONS, OUTPUTS
    from .kernels._jit_entries import entries

    for name, given in (("dtypes", dtypes), ("hidden", hidden), ("outputs", outputs)):
        if isinstance(given, str):
            raise TypeError(f"{name}: expected a sequence of names, got the string {given!r}")
    dtypes = [v.check_dtype(d) for d in dtypes]
    hidden = list(ACTIVATIONS) if hidden is None else list(hidden)
    outputs = list(OUTPUTS) if outputs is None else list(outputs)
    for name, given, known in (("hidden", hidden, ACTIVATIONS), ("outputs", outputs, OUTPUTS)):
        unknown = [a for a in given if a not in known]
        if unknown:
            raise ValueError(f"{name}: expected names from {sorted(known)}, got {unknown}")
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    for dtype in dtypes:
        X = rng.random((3, 8)).astype(dtype)
        Y = (rng.random((1, 8)) < 0.5).astype(dtype)
        # The loop is the same for every activation: one network compiles it.
        net = DNN([3, 2, 1], dtype=dtype, seed=0)
        net.fit(X, Y, learning_rate=0.1, num_iterations=1)
        net.fit(X, Y, learning_rate=0.1, epochs=1, batch_size=4)
        net.fit(np.asfortranarray(X), Y, learning_rate=0.1, num_iterations=1)
        net.wide_input = True  # the Gram path's loop (full batch, m << n_x) too
        net.fit(X, Y, learning_rate=0.1, num_iterations=1)
        net.predict(X)
        for h in hidden:
            for o in outputs:
                entries(int(ACTIVATIONS[h]), int(OUTPUTS[o].act), dtype)
    return time.perf_counter() - t0
