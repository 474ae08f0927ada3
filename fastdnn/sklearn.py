"""scikit-learn estimators: :class:`DNNClassifier` and :class:`DNNRegressor`.

Thin wrappers around :class:`fastdnn.DNN` in scikit-learn's conventions: ``X`` is
``(n_samples, n_features)`` (examples are *rows*), ``y`` is 1-D, parameters are set in the
constructor and only stored there, fitted state ends with an underscore. They pass
``sklearn.utils.estimator_checks.check_estimator`` (the classifier is binary-only; the checks
that need multi-class support are skipped by its tags) and work in ``Pipeline`` and
``GridSearchCV``. Needs the optional extra: ``pip install 'fastdnn[sklearn]'``.

Inputs are standardised nowhere: gradient descent with a fixed learning rate wants features
(and, for regression, targets) of order one. Put a ``StandardScaler`` in front (and wrap a
regressor in ``TransformedTargetRegressor`` when ``y`` is large).

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

import numbers

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
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
        Widths of the hidden layers, as in ``MLPClassifier``. ``()`` gives no hidden layer:
        logistic regression (classifier) or linear regression (regressor), the course's
        one-layer network.
    activation : {"relu", "tanh", "sigmoid", "leaky_relu", "linear"}, default "relu"
        Activation of the hidden layers (fastdnn's names: ``"linear"`` is sklearn's
        ``"identity"``, ``"sigmoid"`` its ``"logistic"``).
    learning_rate_init : float, default 0.1 (DNNClassifier) or 0.01 (DNNRegressor)
        Step size of (mini-batch) gradient descent, constant during training. There is no
        Adam here: plain gradient descent on standardised inputs trains well at 0.01 to 1;
        the course uses 0.0075 for its deep cat network and 1.2 for the planar one. The
        regressor's default is smaller because its linear output does not bound the
        gradient the way the sigmoid does: at 0.01 it still trains (slowly) when features
        are of order 10 instead of 1, where 0.1 diverges.
    max_iter : int, default 200
        Length of training, in *iterations*: gradient steps on the whole training set when
        ``batch_size`` is None (the course's ``num_iterations``), epochs (passes over the
        data) when training on mini-batches (sklearn's meaning). No early stopping: all
        ``max_iter`` iterations run.
    batch_size : int, "auto" or None, default None
        None: full-batch gradient descent, as in the course. An int: mini-batch SGD on
        batches of that size (clamped to n_samples), reshuffled every epoch. ``"auto"``:
        ``min(200, n_samples)``, as in ``MLPClassifier``.
    cost_every : int, default 10
        Record the training cost into ``loss_curve_`` every ``cost_every`` iterations (steps,
        or epochs for mini-batches; the recorded cost is then that of the epoch's first
        mini-batch). Recording in the full-batch loop is nearly free; recording every single
        step would cut the fused jit loop into one call per step.
    warm_start : bool, default False
        When True, :meth:`fit` continues from the previous solution (same layer sizes and,
        for the classifier, the same classes) instead of initialising again.
    init : {"xavier", "he", "course", "zeros"}, default "xavier"
        Weight initialization (see :func:`fastdnn.initialize_parameters`).
    backend : {"jit", "numpy", "naive"}, default "jit"
        Which kernels train the network; all three give the same result up to rounding.
    dtype : {"float64", "float32"}, default "float64"
        Precision of the parameters and of the arithmetic; inputs are converted once.
        Predictions and probabilities are returned as float64 either way.
    random_state : int, RandomState instance or None, default None
        Seeds the initialization and the mini-batch shuffling. An int is used as
        :class:`fastdnn.DNN`'s ``seed`` (same int, same weights); a RandomState draws one.
    verbose : bool, default False
        Print the cost at every record (the course's ``print_cost``).
"""

_ATTRIBUTES_DOC = """
    model_ : fastdnn.DNN
        The fitted network; ``model_.params`` holds the course's ``{"W1", "b1", ...}``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` was a DataFrame with string column names.
    n_iter_ : int
        Iterations run (gradient steps for full batch, epochs for mini-batches), counting every
        call of :meth:`partial_fit` (one each) and, with ``warm_start``, every :meth:`fit`.
    loss_curve_ : list of float
        Training cost recorded every ``cost_every`` iterations, then one per
        :meth:`partial_fit` call (the mean cost of that pass's steps).
"""


def _doc(cls):
    cls.__doc__ = cls.__doc__.format(
        parameters=_PARAMETERS_DOC.lstrip(), attributes=_ATTRIBUTES_DOC.lstrip()
    )
    return cls


class _DNNBase(BaseEstimator):
    """Shared fit / partial_fit machinery; subclasses say how ``y`` becomes ``Y``."""

    _output_activation = "sigmoid"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation: ActivationName = "relu",
        *,
        learning_rate_init=0.1,
        max_iter=200,
        batch_size=None,
        cost_every=10,
        warm_start=False,
        init: InitName = "xavier",
        backend: Backend = "jit",
        dtype: DTypeName = "float64",
        random_state=None,
        verbose=False,
    ):
        # scikit-learn convention: store only; everything is checked in fit.
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.cost_every = cost_every
        self.warm_start = warm_start
        self.init = init
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

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

    def _check_params(self) -> np.dtype:
        """Check every constructor parameter (before touching the data); return the dtype."""
        self._hidden_sizes()
        v.check_activation("activation", self.activation)
        v.check_positive_finite(self.learning_rate_init, "learning_rate_init")
        v.check_positive_int(self.max_iter, "max_iter")
        v.check_positive_int(self.cost_every, "cost_every")
        if not (self.batch_size is None or self.batch_size == "auto"):
            if isinstance(self.batch_size, str):
                raise ValueError(
                    f"batch_size must be None, 'auto' or a positive int; got {self.batch_size!r}"
                )
            v.check_positive_int(self.batch_size, "batch_size")
        v.check_choice(self.init, "init", v.INITS)
        v.check_backend(self.backend)
        return v.check_dtype(self.dtype)

    def _batch(self, m: int) -> int | None:
        if self.batch_size is None:
            return None
        return min(200 if self.batch_size == "auto" else int(self.batch_size), m)

    def _seed(self):
        rs = self.random_state
        if rs is None or (isinstance(rs, numbers.Integral) and not isinstance(rs, bool)):
            return rs
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    def _new_model(self, n_features: int, n_outputs: int) -> DNN:
        dims = [n_features, *self._hidden_sizes(), n_outputs]
        return DNN(dims, hidden=self.activation, output=self._output_activation, init=self.init,
                   backend=self.backend, dtype=self.dtype, seed=self._seed())  # fmt: skip

    # ------------------------------------------------------------- training
    def _train(self, X, Y, *, epochs_only: bool):
        """Train ``self.model_`` on checked X (n_samples, n_features) and Y (n_y, m).

        ``epochs_only``: one pass (partial_fit), else ``max_iter`` iterations (fit).
        """
        m = X.shape[0]
        batch = self._batch(m)
        steps_per_iteration = 1 if batch is None else -(-m // batch)
        if epochs_only:
            # One pass; every step's cost is recorded so loss_curve_ gets the pass's mean
            # (sklearn's MLP records the same). Steps are then one compiled call each.
            kwargs = {"epochs": 1, "cost_every": 1}
        else:
            every = int(self.cost_every) * steps_per_iteration
            kwargs = {"epochs": int(self.max_iter), "cost_every": every}
        # X.T of a C-ordered (n_samples, n_features) array is a Fortran-ordered (n_x, m) view:
        # fastdnn trains on it without a copy when it already has the model's dtype (the jit
        # loop reads it as its C-ordered transpose), so X is never duplicated here.
        try:
            history = self.model_.fit(X.T, Y, learning_rate=float(self.learning_rate_init),
                                      batch_size=batch, print_cost=bool(self.verbose),
                                      **kwargs)  # fmt: skip
        except DivergenceError as exc:
            raise DivergenceError(
                f"{exc} Lower learning_rate_init, and scale X (e.g. StandardScaler in a Pipeline)."
            ) from exc
        if epochs_only:
            self.n_iter_ += 1
            if history.costs:
                self.loss_curve_.append(float(np.mean(history.costs)))
        else:
            self.n_iter_ += history.n_steps // steps_per_iteration
            self.loss_curve_.extend(history.costs)
        return self

    def _fit(self, X, y, *, incremental: bool, classes=None):
        dtype = self._check_params()
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
        X, y = validate_data(self, X, y, reset=not continuing, dtype=dtype,
                             **self._y_check_params())  # fmt: skip
        Y = self._encode_y(y, continuing=continuing, incremental=incremental, classes=classes)
        if continuing:
            net = self.model_
            dims = [X.shape[1], *self._hidden_sizes(), Y.shape[0]]
            if (net.layer_dims, net.hidden, net.dtype) != (dims, self.activation, dtype):
                raise ValueError(
                    "hidden_layer_sizes, activation or dtype changed since the model was fitted "
                    f"({net!r}); fit again with warm_start=False to start afresh"
                )
        else:
            self.model_ = self._new_model(X.shape[1], Y.shape[0])
            self.n_iter_ = 0
            self.loss_curve_ = []
        return self._train(X, Y, epochs_only=incremental)

    def _predict_output(self, X) -> np.ndarray:
        """The network's output ``AL`` of shape (n_y, n_samples), as float64."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self.model_.dtype)
        # Predictions are float64 as scikit-learn expects of them (check_regressor_multioutput
        # insists); the forward pass itself runs in the model's dtype.
        return self.model_.predict_proba(X.T).astype(np.float64, copy=False)


@_doc
class DNNClassifier(ClassifierMixin, _DNNBase):
    """Binary classifier: a fastdnn network with a sigmoid output, in sklearn's conventions.

    ``[LINEAR -> activation] x len(hidden_layer_sizes) -> LINEAR -> SIGMOID``, trained on binary
    cross-entropy by gradient descent. Labels may be of any type (two distinct values); the
    larger one (``classes_[1]``) is the positive class.

    Only binary targets are supported: the sigmoid output is one yes/no probability. For
    multi-class problems wrap it in ``sklearn.multiclass.OneVsRestClassifier``.

    Parameters
    ----------
    {parameters}
    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two class labels, sorted; ``classes_[1]`` is the one whose probability the network
        outputs.
    {attributes}
    See Also
    --------
    fastdnn.DNN : The network itself, in the course's layout (examples as columns).
    DNNRegressor : The same network with a linear output.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
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
    """

    _output_activation = "sigmoid"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # One sigmoid output: a single yes/no probability. Checks that need 3+ classes are
        # skipped by this tag, and check_classifier_not_supporting_multiclass runs instead.
        tags.classifier_tags.multi_class = False
        return tags

    def _y_check_params(self) -> dict:
        return {}

    def _encode_y(self, y, *, continuing, incremental, classes):
        check_classification_targets(y)  # "Unknown label type: continuous" for float targets
        if incremental and not continuing:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            new_classes = _binary_classes(np.asarray(classes), "classes")
        elif incremental:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={np.unique(classes).tolist()!r} is not the same as on the first "
                    f"call to partial_fit: {self.classes_.tolist()!r}"
                )
            new_classes = self.classes_
        else:
            new_classes = _binary_classes(y, "y")
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
                f"y contains labels not in classes {new_classes.tolist()!r}: "
                f"{np.unique(y[unknown])[:10].tolist()!r}"
            )
        self.classes_ = new_classes
        return idx.reshape(1, -1)  # (1, m): 0 for classes_[0], 1 for classes_[1]

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and binary labels ``y`` (n_samples,).

        Initialises the network (unless ``warm_start``), then runs ``max_iter`` iterations.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            Two distinct labels of any type.

        Returns
        -------
        self : DNNClassifier

        Raises
        ------
        ValueError
            For more than two classes ("Only binary classification is supported. ..."), one
            class, non-finite or mismatched inputs, or invalid parameters.
        fastdnn.DivergenceError
            When the cost becomes non-finite (``learning_rate_init`` is too large).
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One pass over ``X``, continuing from the current parameters.

        One epoch of mini-batches, or a single gradient step on all of ``X`` when
        ``batch_size`` is None. ``n_iter_`` grows by one.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
        classes : array_like of shape (2,), optional
            Both labels. Required on the first call (``y`` of one block may hold only one of
            them); may be omitted afterwards.

        Returns
        -------
        self : DNNClassifier
        """
        return self._fit(X, y, incremental=True, classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, of shape (n_samples, 2): ``[P(classes_[0]), P(classes_[1])]``."""
        p = self._predict_output(X)[0]
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        """Predicted labels (n_samples,): ``classes_[1]`` where its probability is > 0.5."""
        p = self._predict_output(X)[0]
        return self.classes_[(p > 0.5).astype(np.intp)]


@_doc
class DNNRegressor(RegressorMixin, _DNNBase):
    """Regressor: a fastdnn network with linear outputs, in sklearn's conventions.

    ``[LINEAR -> activation] x len(hidden_layer_sizes) -> LINEAR``, trained on half the mean
    squared error by gradient descent. A 2-D ``y`` of shape (n_samples, n_outputs) trains one
    linear output per column (multi-output regression) and :meth:`predict` returns the same
    shape; a 1-D ``y`` gives 1-D predictions.

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
    n_outputs_ : int
        Number of outputs (columns of ``y``; 1 for a 1-D ``y``).
    y_mean_, y_scale_ : ndarray of shape (n_outputs_,), float64
        Mean and standard deviation (1 where it is 0) of each target, as seen by the call
        that initialised the network, when ``normalize_y``; zeros and ones otherwise.
        Predictions are ``y_mean_ + y_scale_ * model_.predict(X.T)``.
    {attributes}
    See Also
    --------
    fastdnn.DNN : The network itself, in the course's layout (examples as columns).
    DNNClassifier : The same network with a sigmoid output.

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

    _output_activation = "linear"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation: ActivationName = "relu",
        *,
        learning_rate_init=0.01,
        max_iter=200,
        batch_size=None,
        cost_every=10,
        warm_start=False,
        init: InitName = "xavier",
        backend: Backend = "jit",
        dtype: DTypeName = "float64",
        random_state=None,
        verbose=False,
        normalize_y=True,
    ):
        super().__init__(
            hidden_layer_sizes, activation, learning_rate_init=learning_rate_init,
            max_iter=max_iter, batch_size=batch_size, cost_every=cost_every,
            warm_start=warm_start, init=init, backend=backend, dtype=dtype,
            random_state=random_state, verbose=verbose,
        )  # fmt: skip
        self.normalize_y = normalize_y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one linear output per column of y
        return tags

    def _y_check_params(self) -> dict:
        return {"multi_output": True, "y_numeric": True}

    def _encode_y(self, y, *, continuing, incremental, classes):
        Y = y.reshape(1, -1) if y.ndim == 1 else y.T
        if continuing and Y.shape[0] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[0]} output(s) but the model was fitted with {self.n_outputs_}"
            )
        Y64 = np.asarray(Y, dtype=np.float64)
        if not continuing:
            self.n_outputs_ = Y.shape[0]
            self._y_1d = y.ndim == 1
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

        Initialises the network (unless ``warm_start``), then runs ``max_iter`` iterations.

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


def _binary_classes(labels: np.ndarray, name: str) -> np.ndarray:
    """The sorted two classes of ``labels``, or a ValueError saying why they are not two."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if len(classes) == 2 and labels.ndim == 1:
        return classes
    shown = classes[:10].tolist()
    more = "" if len(classes) <= 10 else f" ... ({len(classes)} in all)"
    if len(classes) < 2:
        raise ValueError(
            f"DNNClassifier needs two classes to learn from; {name} has {len(classes)} "
            f"class: {shown!r}"
        )
    target = type_of_target(labels, input_name=name)
    # The first sentence is the one sklearn's check_classifier_not_supporting_multiclass expects.
    raise ValueError(
        f"Only binary classification is supported. The type of the target is {target!r}: "
        f"DNNClassifier supports binary targets; got {len(classes)} classes: {shown!r}{more}. "
        "For multi-class problems wrap it in sklearn.multiclass.OneVsRestClassifier; for "
        "several independent yes/no labels use fastdnn.DNN with one sigmoid output per label."
    )
