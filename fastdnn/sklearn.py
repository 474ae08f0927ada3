"""scikit-learn estimators: :class:`DNNClassifier` and :class:`DNNRegressor`.

Thin wrappers around :class:`fastdnn.DNN` in scikit-learn's conventions: ``X`` is
``(n_samples, n_features)`` (examples are *rows*), ``y`` is 1-D, parameters are set in the
constructor and only stored there, fitted state ends with an underscore. They pass
``sklearn.utils.estimator_checks.check_estimator`` (the classifier with its multi-class
checks) and work in ``Pipeline`` and ``GridSearchCV``. Needs the optional extra:
``pip install 'fastdnn[sklearn]'``.

Parameters that ``MLPClassifier`` / ``MLPRegressor`` also have keep scikit-learn's name and
meaning (``solver``, ``alpha``, ``momentum``, ``batch_size``, ``learning_rate_init``,
``max_iter``, ``shuffle``, ``early_stopping``, ...); the defaults keep the course's
full-batch gradient descent. The classes' Notes list every difference.

Features are standardised nowhere: gradient descent with a fixed learning rate wants features
of order one. Put a ``StandardScaler`` in front. (The regressor standardises its targets.)

Growing past one machine
------------------------
:meth:`DNNClassifier.partial_fit` / :meth:`DNNRegressor.partial_fit` make one pass over the
data they are given and continue from the current parameters, which is what existing
distributed engines drive. With dask-ml (``pip install 'fastdnn[dask]'``), ``Incremental``
feeds the blocks of a dask array to ``partial_fit`` one after the other, so data larger than
memory (or spread over a cluster) trains one block at a time. Call ``Incremental.partial_fit``
once per epoch: ``Incremental.fit`` starts from a fresh clone of the estimator on every call,
so calling it once per epoch trains one pass in all (tested in ``tests/test_dask.py``)::

    import dask.array as da
    from dask_ml.wrappers import Incremental

    X = da.from_zarr("features.zarr")          # (n_samples, n_features), chunked by rows
    y = da.from_zarr("labels.zarr")
    clf = Incremental(DNNClassifier(hidden_layer_sizes=(64,), batch_size=256, random_state=0))
    for epoch in range(10):                    # each call: one pass over every block, going on
        clf.partial_fit(X, y, classes=[0, 1])  # ``classes`` is forwarded to partial_fit
    clf.predict(X)                             # blockwise, in parallel: a dask array

Give ``batch_size`` for this use: with the default full batch, a call of ``partial_fit`` is a
single gradient step on the whole block. Hyper-parameter searches run on a cluster with
joblib's Dask backend (``with joblib.parallel_backend("dask"): GridSearchCV(...).fit(X, y)``)
or with dask-ml's ``IncrementalSearchCV`` / ``HyperbandSearchCV``, which also call
``partial_fit``. For full-batch (or large-batch) gradient descent where the data live, without
scikit-learn, see :func:`fastdnn.dask.fit`.
"""

from __future__ import annotations

import contextlib
import numbers
import threading

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # not installed, or older than 1.6 (no validate_data)
    raise ImportError(
        f"fastdnn.sklearn needs scikit-learn >= 1.6: pip install 'fastdnn[sklearn]' ({exc})"
    ) from exc

from . import _validation as v
from ._types import ActivationName, Backend, DTypeName, InitName
from .network import DNN
from .train import DivergenceError

__all__ = ["DNNClassifier", "DNNRegressor"]

_PARAMETERS_DOC = """
    hidden_layer_sizes : int or sequence of int, default (100,)
        Widths of the hidden layers, as in scikit-learn's MLP estimators. ``()`` gives no
        hidden layer: logistic / softmax regression (classifier) or linear regression
        (regressor).
    activation : {"relu", "tanh", "sigmoid", "leaky_relu", "linear"}, default "relu"
        Activation of the hidden layers. scikit-learn's names are accepted too:
        ``"logistic"`` is ``"sigmoid"``, ``"identity"`` is ``"linear"``.
    solver : {"sgd", "adam", "rmsprop"}, default "sgd"
        ``"sgd"``: (mini-batch) gradient descent, with ``momentum`` if it is > 0; with the
        default full batch and no momentum this is the course's gradient descent.
        ``"adam"``: Adam with ``beta_1``, ``beta_2``, ``epsilon``. ``"rmsprop"`` (not in
        scikit-learn): RMSprop with ``beta_2`` and ``epsilon``. No ``"lbfgs"``.
    alpha : float, default 0.0
        L2 penalty, in scikit-learn's scaling: the loss of a batch of ``n`` samples adds
        ``alpha / (2 n) * sum ||W||^2`` (biases are not penalised). It is the course's
        ``lambd``.
    batch_size : int, "auto" or None, default None
        None: full-batch gradient descent, as in the course. An int: mini-batches of that size
        (clamped to n_samples). ``"auto"``: ``min(200, n_samples)``, as in scikit-learn's MLPs.
    learning_rate_init : float or None, default None
        The step size, constant unless ``decay_rate`` > 0. None: 0.001 for "adam" and
        "rmsprop" (scikit-learn's default); for "sgd" 0.1 (classifier) or 0.01 (regressor),
        rates that full-batch gradient descent on standardised features trains well with.
    decay_rate : float, default 0.0
        The course's learning-rate decay: ``learning_rate_init / (1 + decay_rate * epoch)``,
        epochs counted from 0 over the model's training (``partial_fit`` calls and
        ``warm_start`` fits go on counting; not in scikit-learn, whose
        ``learning_rate="invscaling"`` decays per sample seen).
    max_iter : int, default 200
        Epochs (passes over the data); with the full batch an epoch is one gradient step (the
        course's ``num_iterations``). All ``max_iter`` epochs run unless ``early_stopping``.
    shuffle : bool, default True
        Reshuffle the samples every epoch (mini-batches).
    random_state : int in [0, 2**32 - 1], RandomState instance or None, default None
        Seeds the initialization, the shuffling and the early-stopping split. An int is used
        as :class:`fastdnn.DNN`'s ``seed`` (same int, same weights); a RandomState draws one,
        and None draws one from NumPy's global RandomState (so ``np.random.seed`` repeats a
        fit, as in scikit-learn).
    tol : float, default 1e-4
        With ``early_stopping``: the improvement of the validation loss that counts.
    verbose : bool, default False
        Print the cost at every record (the course's ``print_cost``).
    warm_start : bool, default False
        When True, :meth:`fit` continues from the previous solution (same layer sizes and,
        for the classifier, the same classes) instead of initialising again.
    momentum : float in [0, 1), default 0.0
        ``solver="sgd"`` only: scikit-learn's momentum, ``v = momentum * v - lr * grad;
        W += v`` (classical; there is no Nesterov momentum). It is the course's momentum with
        ``beta = momentum`` and the learning rate ``lr / (1 - momentum)``, which gives the same
        steps.
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's (RMSprop uses ``beta_2`` and ``epsilon``). fastdnn adds ``epsilon`` to the
        bias-corrected ``sqrt(s_hat)`` as the course does; scikit-learn to ``sqrt(s)`` before
        the correction (a difference of order ``epsilon``).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the samples of :meth:`fit` (stratified by class
        for the classifier, as scikit-learn does), check them after every epoch, stop after
        more than ``n_iter_no_change`` epochs without an improvement of ``tol``, and return
        to the parameters of the best epoch. fastdnn watches the validation *loss* (the
        cross-entropy, or the halved mean squared error of the standardised targets);
        scikit-learn the validation *score* (accuracy, R^2). Not with :meth:`partial_fit`.
    validation_fraction : float in (0, 1), default 0.1
        The held-out share for ``early_stopping``.
    n_iter_no_change : int, default 10
        With ``early_stopping``: training stops after more than this many epochs without an
        improvement of ``tol`` (as scikit-learn counts them).
    keep_prob : float in (0, 1], default 1.0
        Inverted dropout on the hidden layers: each unit is kept with this probability
        during training (1: no dropout; with ``hidden_layer_sizes=()`` it does nothing).
        Not in scikit-learn.
    cost_every : int, default 10
        Record the training cost into ``loss_curve_`` every ``cost_every`` epochs (for
        mini-batches, the cost of that epoch's first batch; with ``early_stopping``, every
        epoch). Recording every step would cut the fused jit loop into one call per step.
    init : {"glorot", "xavier", "he", "course", "zeros"}, default "glorot"
        Weight initialization (see :func:`fastdnn.initialize_parameters`). ``"glorot"`` is
        scikit-learn's draw (weights and biases uniform in ``+-sqrt(6 / (fan_in +
        fan_out))``; scikit-learn uses 2 instead of 6 for a logistic activation).
    backend : {"jit", "numpy", "naive"}, default "jit"
        Which kernels train the network; all three give the same result up to rounding.
    dtype : {"float64", "float32"}, default "float64"
        Precision of the parameters and of the arithmetic; inputs are converted once.
        Predictions and probabilities are returned as float64 either way.
"""

_ATTRIBUTES_DOC = """
    model_ : fastdnn.DNN
        The fitted network; ``model_.params`` holds the course's ``{"W1", "b1", ...}``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` was a DataFrame with string column names.
    n_iter_ : int
        Epochs run, counting every call of :meth:`partial_fit` (one each) and, with
        ``warm_start``, every :meth:`fit`.
    loss_curve_ : list of float
        Training cost recorded every ``cost_every`` epochs, then one per
        :meth:`partial_fit` call (the mean cost of that pass's steps). A record is the cost
        at the start of its epoch, the course's convention: a fit's first record is the cost
        before that fit's first step, and epochs after the last multiple of ``cost_every``
        add none (``max_iter=10`` with ``cost_every=10`` records only the cost before
        training). With ``early_stopping`` every epoch is recorded.
    coefs_, intercepts_ : list of ndarray
        scikit-learn's layout of the parameters, read-only views of ``model_.params``:
        ``coefs_[i]`` is ``W{i+1}.T`` (n_in, n_out), ``intercepts_[i]`` is ``b{i+1}``
        raveled.
    n_layers_ : int
        Layers, input and output included.
    n_outputs_ : int
        Output units.
    out_activation_ : str
        The output activation in scikit-learn's name: "logistic" or "softmax" (classifier),
        "identity" (regressor).
    validation_loss_curve_ : list of float or None
        With ``early_stopping``: the validation loss after every epoch of the last
        :meth:`fit` (scikit-learn's ``validation_scores_`` holds scores instead).
    best_validation_loss_ : float or None
        With ``early_stopping``: the lowest of them, whose parameters the model holds.
"""

#: scikit-learn's names of the hidden activations, and fastdnn's.
_SKLEARN_ACTIVATIONS = {"logistic": "sigmoid", "identity": "linear"}
_SOLVERS = ("sgd", "adam", "rmsprop")


def _doc(cls):
    cls.__doc__ = cls.__doc__.format(
        parameters=_PARAMETERS_DOC.lstrip(), attributes=_ATTRIBUTES_DOC.lstrip()
    )
    return cls


def _check_random_state(rs) -> None:
    """scikit-learn's ``random_state``: None, an int in [0, 2**32 - 1] or a RandomState."""
    if rs is None or isinstance(rs, np.random.RandomState):
        return
    expected = "random_state must be None, an int in [0, 2**32 - 1] or a numpy RandomState"
    if not isinstance(rs, numbers.Integral) or isinstance(rs, (bool, np.bool_)):
        raise TypeError(f"{expected}; got {type(rs).__name__} {rs!r}")
    if not 0 <= rs <= 2**32 - 1:
        raise ValueError(f"{expected}; got {rs!r}")


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {type(value).__name__} {value!r}")
    return bool(value)


_fitting: set[int] = set()  # id() of the estimators being fitted now (no attribute: see below)
_fitting_lock = threading.Lock()


@contextlib.contextmanager
def _one_fit_at_a_time(estimator):
    """Refuse a second fit of one estimator while the first runs (another thread): the two
    would each make a model and extend one loss curve. Kept outside the estimator, which
    scikit-learn wants to hold its parameters only until fitted (and to pickle)."""
    with _fitting_lock:
        if id(estimator) in _fitting:
            raise RuntimeError(
                f"{type(estimator).__name__}.fit is already running on this estimator in another "
                "thread; fit clones of it (sklearn.base.clone) in parallel instead"
            )
        _fitting.add(id(estimator))
    try:
        yield
    finally:
        with _fitting_lock:
            _fitting.discard(id(estimator))


class _DNNBase(BaseEstimator):
    """Shared fit / partial_fit machinery; subclasses say how ``y`` becomes ``Y``."""

    #: learning_rate_init=None with solver "sgd" means this.
    _sgd_learning_rate = 0.1

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation: ActivationName = "relu",
        *,
        solver="sgd",
        alpha=0.0,
        batch_size=None,
        learning_rate_init=None,
        decay_rate=0.0,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.0,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        keep_prob=1.0,
        cost_every=10,
        init: InitName = "glorot",
        backend: Backend = "jit",
        dtype: DTypeName = "float64",
    ):
        # scikit-learn convention: store only; everything is checked in fit.
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.decay_rate = decay_rate
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.keep_prob = keep_prob
        self.cost_every = cost_every
        self.init = init
        self.backend = backend
        self.dtype = dtype

    # ------------------------------------------------------------- parameters
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
            raise TypeError(
                "hidden_layer_sizes must be an int or a sequence of ints like (100,) or "
                f"(20, 7, 5); got {sizes!r}"
            )
        sizes = list(sizes)
        for i, n in enumerate(sizes):
            v.check_positive_int(n, f"hidden_layer_sizes[{i}]")
        return [int(n) for n in sizes]

    def _hidden(self) -> str:
        """The hidden activation in fastdnn's name."""
        name = self.activation
        if isinstance(name, str):
            name = _SKLEARN_ACTIVATIONS.get(name, name)
        try:
            return v.check_activation("activation", name)
        except ValueError as exc:
            raise ValueError(f"{exc} (or scikit-learn's {sorted(_SKLEARN_ACTIVATIONS)})") from None

    # ------------------------------------------------------------- MLP's fitted attributes
    @property
    def coefs_(self) -> list[np.ndarray]:
        """scikit-learn's layout of the weights: ``coefs_[i]`` is ``W{i+1}.T``, of shape
        (n_in, n_out), a read-only view of the model's parameters."""
        check_is_fitted(self)
        params = self.model_.params
        return [params[f"W{l}"].T for l in range(1, len(self.model_.layer_dims))]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """``intercepts_[i]`` is ``b{i+1}`` as a 1-D read-only view, of shape (n_out,)."""
        check_is_fitted(self)
        params = self.model_.params
        return [params[f"b{l}"].ravel() for l in range(1, len(self.model_.layer_dims))]

    @property
    def n_layers_(self) -> int:
        """Layers, the input and output layers included (``len(hidden_layer_sizes) + 2``)."""
        check_is_fitted(self)
        return len(self.model_.layer_dims)

    @property
    def out_activation_(self) -> str:
        """The output activation in scikit-learn's name: "logistic", "softmax" or
        "identity"."""
        check_is_fitted(self)
        return {"sigmoid": "logistic", "linear": "identity"}.get(
            self.model_.output, self.model_.output
        )

    def _check_params(self) -> np.dtype:
        """Check every constructor parameter (before touching the data); return the dtype."""
        self._hidden_sizes()
        self._hidden()
        v.check_choice(self.solver, "solver", _SOLVERS)
        v.check_non_negative_finite(self.alpha, "alpha")
        if not (self.batch_size is None or self.batch_size == "auto"):
            if isinstance(self.batch_size, str):
                raise ValueError(
                    f"batch_size must be None, 'auto' or a positive int; got {self.batch_size!r}"
                )
            v.check_positive_int(self.batch_size, "batch_size")
        if self.learning_rate_init is not None:
            v.check_positive_finite(self.learning_rate_init, "learning_rate_init")
        v.check_non_negative_finite(self.decay_rate, "decay_rate")
        v.check_positive_int(self.max_iter, "max_iter")
        _check_bool(self.shuffle, "shuffle")
        v.check_non_negative_finite(self.tol, "tol")
        _check_bool(self.warm_start, "warm_start")
        v.check_unit_interval(self.momentum, "momentum")
        v.check_unit_interval(self.beta_1, "beta_1")
        v.check_unit_interval(self.beta_2, "beta_2")
        v.check_positive_finite(self.epsilon, "epsilon")
        _check_bool(self.early_stopping, "early_stopping")
        v.check_open_unit_interval(self.validation_fraction, "validation_fraction")
        v.check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        v.check_probability(self.keep_prob, "keep_prob")
        v.check_positive_int(self.cost_every, "cost_every")
        v.check_choice(self.init, "init", v.INITS)
        v.check_backend(self.backend)
        _check_random_state(self.random_state)
        return v.check_dtype(self.dtype)

    def _batch(self, m: int) -> int | None:
        if self.batch_size is None:
            return None
        return min(200 if self.batch_size == "auto" else int(self.batch_size), m)

    def _seed(self) -> int:
        """The model's seed: an int ``random_state`` itself; else one drawn from the
        RandomState, or for None from NumPy's global one (``np.random.seed`` then repeats a
        fit, as it does for scikit-learn's estimators)."""
        rs = self.random_state
        if isinstance(rs, numbers.Integral):
            return int(rs)
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    def _output(self, n_outputs: int) -> str:
        raise NotImplementedError

    def _new_model(self, n_features: int, n_outputs: int) -> DNN:
        dims = [n_features, *self._hidden_sizes(), n_outputs]
        return DNN(
            dims,
            hidden=self._hidden(),
            output=self._output(n_outputs),
            init=self.init,
            backend=self.backend,
            dtype=self.dtype,
            seed=self._seed(),
        )

    def _optimizer(self) -> dict:
        """``DNN.fit``'s keyword arguments for the solver, learning rate and regularisation."""
        if self.learning_rate_init is not None:
            lr = float(self.learning_rate_init)
        elif self.solver == "sgd":
            lr = self._sgd_learning_rate
        else:
            lr = 0.001
        kwargs = {
            "optimizer": "gd",
            "learning_rate": lr,
            "lambd": float(self.alpha),
            # DNN.fit refuses dropout without hidden layers; an estimator accepts a setting
            # that does nothing there, as scikit-learn's do (a grid over both would fail).
            "keep_prob": float(self.keep_prob) if self._hidden_sizes() else 1.0,
            "decay_rate": float(self.decay_rate),
            "shuffle": bool(self.shuffle),
        }
        if self.solver == "sgd" and self.momentum > 0:
            # scikit-learn: v = mu v - lr g; W += v. The course: v = beta v + (1 - beta) g;
            # W -= lr' v. With beta = mu and lr' = lr / (1 - mu) the two take the same steps.
            mu = float(self.momentum)
            kwargs.update(optimizer="momentum", beta=mu, learning_rate=lr / (1.0 - mu))
        elif self.solver in ("adam", "rmsprop"):
            kwargs.update(
                optimizer=self.solver,
                beta1=float(self.beta_1),
                beta2=float(self.beta_2),
                epsilon=float(self.epsilon),
            )
        return kwargs

    # ------------------------------------------------------------- training
    def _hold_out(self, X, Y, y):
        """Split off the early-stopping validation set as scikit-learn's MLP does."""
        from sklearn.model_selection import train_test_split

        stratify = y if isinstance(self, ClassifierMixin) else None
        try:
            train, val = train_test_split(
                np.arange(X.shape[0]),
                test_size=float(self.validation_fraction),
                random_state=check_random_state(self.random_state),
                stratify=stratify,
            )
        except ValueError as exc:
            raise ValueError(
                f"early_stopping cannot hold out validation_fraction={self.validation_fraction} "
                f"of the {X.shape[0]} samples: {exc}"
            ) from None
        if val.size < 2:
            raise ValueError(
                f"early_stopping: validation_fraction={self.validation_fraction} of the "
                f"{X.shape[0]} samples leaves {val.size} for validation; at least 2 are "
                "needed. Increase validation_fraction or give more samples."
            )
        train = np.sort(train)  # shuffle=False then keeps the order of X
        # X[rows].T: the Fortran-ordered (n_x, m) view fastdnn trains on without a copy.
        return X[train], Y[:, train], (X[val].T, Y[:, val])

    def _train(self, X, Y, y, *, epochs_only: bool):
        """Train ``self.model_`` on checked X (n_samples, n_features) and Y (n_y, m).

        ``epochs_only``: one pass (partial_fit), else ``max_iter`` epochs (fit). ``y`` (the
        labels) stratifies the early-stopping split.
        """
        kwargs = self._optimizer()
        early = bool(self.early_stopping) and not epochs_only
        if early:
            X, Y, kwargs["validation_data"] = self._hold_out(X, Y, y)
        m = X.shape[0]
        batch = self._batch(m)
        steps_per_epoch = 1 if batch is None else -(-m // batch)
        if epochs_only:
            # One pass; every step's cost is recorded so loss_curve_ gets the pass's mean
            # (sklearn's MLP records the same). Steps are then one compiled call each.
            kwargs.update(epochs=1, cost_every=1)
        elif early:
            # Checked every epoch, as scikit-learn does; it stops once the count of epochs
            # without improvement exceeds n_iter_no_change, which is fastdnn's patience + 1.
            kwargs.update(
                epochs=int(self.max_iter),
                cost_every=steps_per_epoch,
                early_stopping=True,
                patience=int(self.n_iter_no_change) + 1,
                tol=float(self.tol),
            )
        else:
            kwargs.update(
                epochs=int(self.max_iter), cost_every=int(self.cost_every) * steps_per_epoch
            )
        # X.T of a C-ordered (n_samples, n_features) array is a Fortran-ordered (n_x, m) view:
        # fastdnn trains on it without a copy when it already has the model's dtype (the jit
        # loop reads it as its C-ordered transpose), so X is never duplicated here.
        start = self.model_.n_steps_
        try:
            history = self.model_.fit(
                X.T, Y, batch_size=batch, print_cost=bool(self.verbose), **kwargs
            )
        except DivergenceError as exc:
            # The model keeps its last good step (a continuing fit is not undone): n_iter_
            # counts the epochs it completed, as it would had the fit stopped there.
            self.n_iter_ += (self.model_.n_steps_ - start) // steps_per_epoch
            advice = "Scale X" if exc.before_any_step else "Lower learning_rate_init, and scale X"
            raise DivergenceError(
                f"{exc} {advice} (e.g. StandardScaler in a Pipeline).",
                before_any_step=exc.before_any_step,
            ) from exc
        if epochs_only:
            if history.costs:
                self.loss_curve_.append(float(np.mean(history.costs)))
                self._loss_epochs.append(self.n_iter_)
            self.n_iter_ += 1
            return self
        # the epoch of each record (they are every cost_every epochs, or every epoch, or one
        # a partial_fit): what fastdnn.plot.plot_costs draws them against
        self._loss_epochs.extend(
            self.n_iter_ + (i - start) // steps_per_epoch for i in history.iterations
        )
        self.n_iter_ += history.n_steps // steps_per_epoch
        self.loss_curve_.extend(history.costs)
        if early:
            # After every epoch, as scikit-learn's validation_scores_ (fastdnn also records
            # the parameters it started from, which early stopping does not pick).
            records = zip(history.val_iterations, history.val_costs, strict=True)
            self.validation_loss_curve_ = [float(c) for i, c in records if i > start]
            self.best_validation_loss_ = min(self.validation_loss_curve_, default=None)
        else:
            self.validation_loss_curve_ = self.best_validation_loss_ = None
        return self

    def _fit(self, X, y, *, incremental: bool, classes=None):
        with _one_fit_at_a_time(self):
            return self._fit_checked(X, y, incremental=incremental, classes=classes)

    def _fit_checked(self, X, y, *, incremental: bool, classes=None):
        dtype = self._check_params()
        if incremental and self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True (as in scikit-learn): "
                "set early_stopping=False, or call fit"
            )
        continuing = hasattr(self, "model_") and (incremental or self.warm_start)
        if continuing:
            return self._fit_steps(X, y, dtype, continuing, incremental, classes)
        # A fit that starts afresh either completes or leaves the estimator as it was (unfitted,
        # or fitted by the previous call): never half-fitted, looking fitted.
        before = dict(self.__dict__)
        try:
            return self._fit_steps(X, y, dtype, continuing, incremental, classes)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit_steps(self, X, y, dtype, continuing, incremental, classes):
        # reset=True (re)sets n_features_in_ / feature_names_in_; when continuing they must match.
        X, y = validate_data(
            self, X, y, reset=not continuing, dtype=dtype, **self._y_check_params()
        )
        Y = self._encode_y(
            y, dtype, continuing=continuing, incremental=incremental, classes=classes
        )
        if continuing:
            net = self.model_
            dims = [X.shape[1], *self._hidden_sizes(), Y.shape[0]]
            if (net.layer_dims, net.hidden, net.dtype) != (dims, self._hidden(), dtype):
                raise ValueError(
                    "hidden_layer_sizes, activation or dtype changed since the model was fitted "
                    f"({net!r}); fit again with warm_start=False to start afresh"
                )
            net.backend = self.backend  # a changed backend trains on (the same to rounding)
        else:
            self.model_ = self._new_model(X.shape[1], Y.shape[0])
            self.n_iter_ = 0
            self.loss_curve_ = []
            self._loss_epochs = []  # the epoch of each record of loss_curve_
            self.validation_loss_curve_ = self.best_validation_loss_ = None
        return self._train(X, Y, y, epochs_only=incremental)

    def _predict_output(self, X) -> np.ndarray:
        """The network's output ``AL`` of shape (n_y, n_samples), as float64."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self.model_.dtype)
        # Predictions are float64 as scikit-learn expects of them (check_regressor_multioutput
        # insists); the forward pass itself runs in the model's dtype.
        return self.model_.predict_proba(X.T).astype(np.float64, copy=False)


@_doc
class DNNClassifier(ClassifierMixin, _DNNBase):
    """Classifier: a fastdnn network with a sigmoid (two classes) or softmax output.

    ``[LINEAR -> activation] x len(hidden_layer_sizes) -> LINEAR -> SIGMOID`` for two
    classes, trained on binary cross-entropy (the course's network); ``-> SOFTMAX`` with one
    unit per class for three or more, trained on categorical cross-entropy -- the output
    layers ``MLPClassifier`` uses. Labels may be of any type; ``classes_`` is sorted as
    scikit-learn sorts it (``numpy.unique``).

    Parameters
    ----------
    {parameters}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted. With two classes the network outputs the probability of
        ``classes_[1]``; with more, column ``k`` of :meth:`predict_proba` is ``classes_[k]``.
    {attributes}
    See Also
    --------
    fastdnn.DNN : The network itself, in the course's layout (examples as columns).
    DNNRegressor : The same network with a linear output.

    Notes
    -----
    Against ``sklearn.neural_network.MLPClassifier``: the same network, loss, L2 scaling
    (``alpha``), initialization (``init="glorot"``), mini-batches (``batch_size``,
    ``shuffle``) and, at equal settings, the same updates for ``solver="sgd"`` (with
    ``nesterovs_momentum=False``) and, up to ``epsilon``, ``solver="adam"``. The differences:

    - Defaults keep the course's training: full-batch (``batch_size=None``) gradient descent
      (``solver="sgd"``, ``momentum=0``) at ``learning_rate_init=0.1``, no L2 (``alpha=0``).
      scikit-learn's defaults are ``solver="adam"``, ``batch_size="auto"``,
      ``learning_rate_init=0.001``, ``alpha=1e-4``, ``momentum=0.9`` with Nesterov.
    - No ``"lbfgs"`` solver, no Nesterov momentum, no ``learning_rate="invscaling"`` or
      ``"adaptive"`` schedules (``decay_rate`` is the course's decay), no ``sample_weight``,
      no multi-label targets.
    - Without ``early_stopping`` every one of the ``max_iter`` epochs runs; scikit-learn
      also stops when the training loss stalls (``tol``, ``n_iter_no_change``).
    - ``early_stopping`` watches the validation loss, not the accuracy, and keeps no
      ``validation_scores_``; ``loss_curve_`` holds a batch's cost every ``cost_every``
      epochs rather than every epoch's mean.
    - Fitted attributes: ``coefs_``, ``intercepts_``, ``n_layers_``, ``n_outputs_``,
      ``out_activation_``, ``n_iter_`` and ``loss_curve_`` as in scikit-learn (with the
      recording above); no ``loss_``, ``best_loss_``, ``validation_scores_``,
      ``best_validation_score_`` or ``t_`` (fastdnn keeps ``validation_loss_curve_``,
      ``best_validation_loss_`` and ``model_.n_steps_``). ``random_state`` takes scikit-learn's
      values.
    - ``warm_start`` continues the optimizer's state (velocity, Adam's moments and step
      count) when the solver is unchanged; scikit-learn starts a new optimizer at every
      :meth:`fit`. :meth:`partial_fit` continues it in both.

    Examples
    --------
    >>> from sklearn.datasets import load_iris, make_moons
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = make_moons(n_samples=200, noise=0.1, random_state=0)
    >>> clf = make_pipeline(StandardScaler(),
    ...                     DNNClassifier((20,), learning_rate_init=0.5, max_iter=1000,
    ...                                   random_state=0))
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(),
    ...                     DNNClassifier((16,), solver="adam", batch_size=32, random_state=0))
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """

    _sgd_learning_rate = 0.1

    def _output(self, n_outputs: int) -> str:
        return "sigmoid" if n_outputs == 1 else "softmax"

    def _y_check_params(self) -> dict:
        return {}

    def _encode_y(self, y, dtype, *, continuing, incremental, classes):
        """``Y`` for the network: (1, m) 0/1 for two classes, (n_classes, m) one-hot else."""
        check_classification_targets(y)  # "Unknown label type: continuous" for float targets
        if incremental and not continuing:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            new_classes = _classes(classes, "classes")
        elif incremental:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={np.unique(classes).tolist()!r} is not the same as on the first "
                    f"call to partial_fit: {self.classes_.tolist()!r}"
                )
            new_classes = self.classes_
        else:
            new_classes = _classes(y, "y")
            if continuing and not np.array_equal(new_classes, self.classes_):
                raise ValueError(
                    "warm_start can only continue with the classes of the previous fit "
                    f"{self.classes_.tolist()!r}; y has {new_classes.tolist()!r}"
                )
        idx = np.searchsorted(new_classes, y)
        idx = np.clip(idx, 0, len(new_classes) - 1)
        unknown = new_classes[idx] != y
        if unknown.any():
            raise ValueError(
                f"y contains labels not in classes {_shown(new_classes)}: "
                f"{np.unique(y[unknown])[:10].tolist()!r}"
            )
        self.classes_ = new_classes
        if len(new_classes) == 2:
            return idx.astype(dtype).reshape(1, -1)  # 0 for classes_[0], 1 for classes_[1]
        Y = np.zeros((len(new_classes), idx.size), dtype=dtype)
        Y[idx, np.arange(idx.size)] = 1  # one-hot columns, as the course's softmax takes them
        return Y

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,).

        Initialises the network (unless ``warm_start``), then runs ``max_iter`` epochs (fewer
        with ``early_stopping``).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            At least two distinct labels of any type.

        Returns
        -------
        self : DNNClassifier

        Raises
        ------
        ValueError
            For one class only, continuous targets, non-finite or mismatched inputs, or
            invalid parameters (naming the parameter), before any training.
        fastdnn.DivergenceError
            When the cost becomes non-finite (``learning_rate_init`` is too large).
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One pass over ``X``, continuing from the current parameters.

        One epoch of mini-batches, or a single gradient step on all of ``X`` when
        ``batch_size`` is None. ``n_iter_`` grows by one. The optimizer's state (momentum,
        Adam's moments) carries over from call to call.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
        classes : array_like of shape (n_classes,), optional
            Every label. Required on the first call (``y`` of one block may hold only some of
            them); may be omitted afterwards.

        Returns
        -------
        self : DNNClassifier
        """
        return self._fit(X, y, incremental=True, classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, of shape (n_samples, n_classes), in the order of ``classes_``."""
        AL = self._predict_output(X)
        if AL.shape[0] == 1:
            return np.column_stack([1.0 - AL[0], AL[0]])
        return AL.T

    def predict_log_proba(self, X) -> np.ndarray:
        """The logarithm of :meth:`predict_proba` (``-inf`` where a probability is 0)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @property
    def n_outputs_(self) -> int:
        """Output units: 1 for two classes (the probability of ``classes_[1]``), else one
        per class."""
        check_is_fitted(self)
        return self.model_.layer_dims[-1]

    def predict(self, X) -> np.ndarray:
        """Predicted labels (n_samples,): the most probable class (for two classes,
        ``classes_[1]`` where its probability is > 0.5)."""
        AL = self._predict_output(X)
        if AL.shape[0] == 1:
            return self.classes_[(AL[0] > 0.5).astype(np.intp)]
        return self.classes_[AL.argmax(axis=0)]


@_doc
class DNNRegressor(RegressorMixin, _DNNBase):
    """Regressor: a fastdnn network with linear outputs, in sklearn's conventions.

    ``[LINEAR -> activation] x len(hidden_layer_sizes) -> LINEAR``, trained on half the mean
    squared error, as ``MLPRegressor`` (see :class:`DNNClassifier`'s Notes for the
    differences; the regressor's default ``learning_rate_init`` for ``"sgd"`` is 0.01: its
    linear output does not bound the gradient the way the sigmoid does). A 2-D ``y`` of
    shape (n_samples, n_outputs) trains one linear output per column (multi-output
    regression) and :meth:`predict` returns the same shape; a 1-D ``y`` gives 1-D
    predictions.

    With ``normalize_y`` (the default) the network is trained on standardised targets, so the
    learning rate does not depend on the units of ``y``. The targets' mean and scale stay in
    float64, outside the network: :meth:`predict` returns ``y_mean_ + y_scale_ * AL``, so a
    float32 network predicts ``1e8 + f(X)`` as well as a float64 one (folded into a float32
    output bias, whose spacing at 1e8 is 8, the mean would swamp ``f``). ``model_`` predicts
    the standardised target. Features are used as given: put a ``StandardScaler`` in front.

    Parameters
    ----------
    {parameters}    normalize_y : bool, default True
        Train on ``(y - mean) / std`` (per output), computed by the call that initialises the
        network (:meth:`fit`, or the first :meth:`partial_fit` block) and kept by the calls
        that continue it. ``loss_curve_`` is then in those standardised units. ``False``
        trains on ``y`` as given; gradient descent then diverges on targets of large
        magnitude unless ``learning_rate_init`` is tiny.

    Attributes
    ----------
    y_mean_, y_scale_ : ndarray of shape (n_outputs_,), float64
        Mean and standard deviation (1 where it is 0) of each target, as seen by the call
        that initialised the network, when ``normalize_y``; zeros and ones otherwise.
        ``predict(X)`` is ``y_mean_ + y_scale_ * model_.predict(X.T).T`` (raveled for a 1-D
        ``y``); ``n_outputs_`` counts the columns of ``y`` (1 for a 1-D ``y``).
    {attributes}
    See Also
    --------
    fastdnn.DNN : The network itself, in the course's layout (examples as columns).
    DNNClassifier : The same network with a sigmoid or softmax output.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(300, 2))
    >>> y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    >>> reg = DNNRegressor((32,), activation="tanh", learning_rate_init=0.2, max_iter=2000,
    ...                    random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.9
    True
    """

    _sgd_learning_rate = 0.01

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation: ActivationName = "relu",
        *,
        solver="sgd",
        alpha=0.0,
        batch_size=None,
        learning_rate_init=None,
        decay_rate=0.0,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.0,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        keep_prob=1.0,
        cost_every=10,
        init: InitName = "glorot",
        backend: Backend = "jit",
        dtype: DTypeName = "float64",
        normalize_y=True,
    ):
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            decay_rate=decay_rate,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            keep_prob=keep_prob,
            cost_every=cost_every,
            init=init,
            backend=backend,
            dtype=dtype,
        )
        self.normalize_y = normalize_y

    def _output(self, n_outputs: int) -> str:
        return "linear"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one linear output per column of y
        return tags

    def _y_check_params(self) -> dict:
        return {"multi_output": True, "y_numeric": True}

    def _encode_y(self, y, dtype, *, continuing, incremental, classes):
        Y = y.reshape(1, -1) if y.ndim == 1 else y.T
        if continuing and Y.shape[0] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[0]} output(s) but the model was fitted with {self.n_outputs_}"
            )
        Y64 = np.asarray(Y, dtype=np.float64)
        self._y_1d = y.ndim == 1  # predict's shape follows the latest y
        if not continuing:
            _check_bool(self.normalize_y, "normalize_y")
            self.n_outputs_ = Y.shape[0]
            if self.normalize_y:
                self.y_mean_, self.y_scale_ = _mean_and_scale(Y64)
            else:
                self.y_mean_ = np.zeros(Y.shape[0])
                self.y_scale_ = np.ones(Y.shape[0])
        # Gradient descent trains on (y - y_mean_) / y_scale_: targets of order one, whatever
        # the units of y (a house price in dollars would make every step diverge). In float64:
        # the model converts the result to its dtype once.
        with np.errstate(over="ignore", invalid="ignore"):
            Y_train = (Y64 - self.y_mean_[:, None]) / self.y_scale_[:, None]
        if not np.isfinite(Y_train).all():
            raise ValueError(
                "y is too large to standardise in float64 (largest |y| = "
                f"{np.abs(Y64).max():.3g}); divide it by a constant first"
            )
        return Y_train

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and targets ``y``.

        Initialises the network (unless ``warm_start``), then runs ``max_iter`` epochs.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : DNNRegressor

        Raises
        ------
        ValueError
            Non-finite or mismatched inputs, or invalid parameters.
        fastdnn.DivergenceError
            When the cost becomes non-finite (``learning_rate_init`` too large for the
            scale of ``X`` and ``y``).
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y):
        """One pass over ``X``, continuing from the current parameters.

        One epoch of mini-batches, or a single gradient step on all of ``X`` when
        ``batch_size`` is None. ``n_iter_`` grows by one.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : DNNRegressor
        """
        return self._fit(X, y, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Predictions: (n_samples,) for a 1-D training ``y``, else (n_samples, n_outputs).

        ``y_mean_ + y_scale_ * AL`` in float64, whatever the network's dtype.
        """
        AL = self._predict_output(X)
        Y = self.y_mean_[:, None] + self.y_scale_[:, None] * AL
        return Y[0] if self._y_1d else Y.T


def _mean_and_scale(Y64: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean and standard deviation (1 where it is 0) of finite ``Y64``, without overflow.

    ``np.std`` squares its input: targets around 1e200 overflow to inf. Each row is divided by
    its largest magnitude first, so only values whose spread itself exceeds the float64 range
    fail (and are refused by the caller).
    """
    peak = np.abs(Y64).max(axis=1)
    peak = np.where(peak > 0, peak, 1.0)
    unit = Y64 / peak[:, None]  # in [-1, 1]
    mean = unit.mean(axis=1) * peak
    std = unit.std(axis=1) * peak
    return mean, np.where(std > 0, std, 1.0)  # a constant target keeps scale 1


def _shown(labels: np.ndarray) -> str:
    """The first ten labels, and how many there are when more."""
    more = "" if len(labels) <= 10 else f" ... ({len(labels)} in all)"
    return f"{labels[:10].tolist()!r}{more}"


def _classes(labels: np.ndarray, name: str) -> np.ndarray:
    """The sorted classes of ``labels`` (``numpy.unique``, scikit-learn's order), or a
    ValueError saying why they are not classes to learn."""
    if not isinstance(labels, np.ndarray) and hasattr(labels, "__iter__"):
        # np.asarray would turn [0, 1, "d"] into strings, and [..., None] cannot be sorted
        kinds = {isinstance(c, (str, bytes)) for c in labels}
        if len(kinds) > 1:
            raise ValueError(f"{name} mixes string and non-string labels: {list(labels)[:10]!r}")
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D, one label per sample; got an array of shape {labels.shape} "
            "(multi-label targets are not supported)"
        )
    try:
        classes = np.unique(labels)
    except TypeError as exc:  # e.g. an object array holding str and None
        raise ValueError(f"{name} holds labels that cannot be sorted together: {exc}") from None
    if classes.dtype.kind in "fc":
        bad = classes[~np.isfinite(classes)]
    elif classes.dtype.kind == "O":
        bad = [c for c in classes if isinstance(c, float) and not np.isfinite(c)]
    else:
        bad = []
    if len(bad):
        raise ValueError(f"{name} must hold class labels; found {_shown(np.asarray(bad))}")
    if len(classes) < 2:
        raise ValueError(
            f"DNNClassifier needs at least two classes to learn from; {name} has "
            f"{len(classes)} class: {_shown(classes)}"
        )
    return classes
