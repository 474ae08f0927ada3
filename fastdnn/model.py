"""The functional API: the course's steps for a network of any depth, on any backend.

``initialize_parameters -> model_forward -> compute_cost -> model_backward ->
update_parameters -> predict``, in the course's notation: ``X`` is ``(n_x, m)`` with examples
as columns, ``W[l]`` is ``(n[l], n[l-1])``, ``b[l]`` is ``(n[l], 1)``, parameters are the dict
``{"W1", "b1", ...}``. The network is ``[LINEAR -> hidden] x (L-1) -> LINEAR -> output``.

Every function validates its inputs once, then calls the kernels of the chosen backend
(``"naive"``, ``"numpy"`` or ``"jit"``). Computation runs in the parameters' dtype (float64, or
float32 when every parameter is float32); inputs of other dtypes are converted once. Nothing
passed in is modified: :func:`update_parameters` returns new arrays.

For training loops, :class:`fastdnn.DNN` is faster: it keeps parameters and work buffers in
flat, preallocated arrays; this module allocates its results on every call.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from . import _validation as v
from ._layout import n_parameters, param_views
from ._stacklevel import user_stacklevel
from ._types import (
    ACTIVATIONS,
    LEAKY_SLOPE,
    OUTPUT_LOSS,
    OUTPUTS,
    ActivationName,
    Array,
    Backend,
    DTypeName,
    Grads,
    InitName,
    LossName,
    OutputName,
    Params,
)
from .backends import get_backend


class LayerCache(NamedTuple):
    """What the backward pass needs from one layer's forward pass.

    fastdnn keeps the activation's output ``A`` rather than ``Z``: every derivative is written
    in terms of ``A`` (see :func:`fastdnn.kernels.vectorized.activation_backward`). The course's
    ``((A_prev, W, b), Z)`` layout is kept by :mod:`fastdnn.course.deep`.
    """

    A_prev: Array  #: (n[l-1], m), the layer's input
    W: Array  #: (n[l], n[l-1])
    b: Array  #: (n[l], 1)
    A: Array  #: (n[l], m), the layer's output


class _ForwardCache(LayerCache):
    """A :class:`LayerCache` as :func:`model_forward` made it.

    Its arrays are checked inputs (``X``, the parameters) or were computed from them, so
    :func:`model_backward` checks their shapes, dtypes and layouts (cheap, and an array can be
    reshaped in place) but does not sum them again for NaN: the functional API's per-step
    cost stays what it was. ``_replace`` and ``_make`` give a plain :class:`LayerCache`,
    checked in full.
    """

    __slots__ = ()

    def _replace(self, **changes) -> LayerCache:
        return LayerCache(*self)._replace(**changes)

    @classmethod
    def _make(cls, iterable) -> LayerCache:
        return LayerCache._make(iterable)

    def __repr__(self) -> str:
        return repr(LayerCache(*self))


def _init_scale(init: str, n_prev: int) -> float:
    if init == "course":
        return 0.01
    if init == "xavier":
        return 1.0 / np.sqrt(n_prev)
    if init == "he":
        return np.sqrt(2.0 / n_prev)
    return 0.0


def initialize_parameters(
    layer_dims: Sequence[int],
    init: InitName = "xavier",
    seed: int | None = None,
    dtype: DTypeName = "float64",
) -> Params:
    """Initial parameters ``{"W1", "b1", ..., "WL", "bL"}`` for ``layer_dims``.

    Parameters
    ----------
    layer_dims : sequence of int
        ``[n_x, n_1, ..., n_L]``: input size, then each layer's size.
    init : {"xavier", "he", "course", "zeros", "glorot"}, default "xavier"
        ``W[l] = randn * scale`` with scale ``1/sqrt(n[l-1])`` (xavier: the course's deep
        application), ``sqrt(2/n[l-1])`` (he), ``0.01`` (course: the lectures), or 0 (zeros:
        fine for logistic regression, but hidden units then stay identical forever, so a
        warning is issued when there are hidden layers). Biases are zero. ``"glorot"``:
        ``W[l]`` and ``b[l]`` uniform in ``[-r, r)``, ``r = sqrt(6 / (n[l-1] + n[l]))``
        (Glorot and Bengio, 2010), the draw of scikit-learn's ``MLPClassifier``.
    seed : int, optional
        Seed for ``np.random.default_rng``; the same seed gives the same parameters, and
        float32 parameters are the float64 draws rounded.
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    dict of str to ndarray
        The arrays are views into one flat contiguous buffer (what :class:`fastdnn.DNN` trains
        on); each is an ordinary C-contiguous array.

    Raises
    ------
    ValueError
        Unknown ``init`` or ``dtype``, ``layer_dims`` not positive integers, or parameters
        that cannot fit in this process's memory (said before allocating, with the size).

    Examples
    --------
    >>> p = initialize_parameters([2, 4, 1], seed=0)
    >>> p["W1"].shape, p["b1"].shape, p["W2"].shape
    ((4, 2), (4, 1), (1, 4))
    """
    dims = v.check_layer_dims(layer_dims)
    v.check_choice(init, "init", v.INITS)
    dt = v.check_dtype(dtype)
    v.check_network_memory(dims, dt, copies=1, what="initialize_parameters")
    if init == "zeros" and len(dims) > 2:
        warnings.warn(
            "init='zeros' with hidden layers: every unit of a layer gets the same gradient, so "
            "symmetry is never broken and the hidden layers act as one unit. Use 'xavier' or "
            "'he' for networks with hidden layers.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    rng = np.random.default_rng(seed)
    flat = np.zeros(n_parameters(dims), dtype=dt)
    params = param_views(flat, dims)
    for l in range(1, len(dims)):
        if init == "glorot":
            # Biases drawn too, as scikit-learn does: a random bias keeps relu units of an
            # uncentred input from starting alike (it learns as fast per epoch as sklearn's MLP).
            r = np.sqrt(6.0 / (dims[l - 1] + dims[l]))
            params[f"W{l}"][...] = rng.uniform(-r, r, (dims[l], dims[l - 1]))
            params[f"b{l}"][...] = rng.uniform(-r, r, (dims[l], 1))
            continue
        scale = _init_scale(init, dims[l - 1])
        if scale:
            # Draw in float64 then round, so float32 and float64 models start from one draw.
            params[f"W{l}"][...] = rng.standard_normal((dims[l], dims[l - 1])) * scale
    return params


class _ForwardCaches(list):
    """The list of caches :func:`model_forward` returns, remembering the activations and
    slope that made it: :func:`model_backward` refuses others, whose gradients would silently
    be another network's. A plain list (a slice, a copy) is taken as it is."""

    def __init__(self, caches, hidden: str, output: str, slope: float):
        super().__init__(caches)
        self.hidden, self.output, self.slope = hidden, output, slope

    def check_made_by(self, hidden: str, output: str, slope: float) -> None:
        leaky = hidden == "leaky_relu" and slope != self.slope
        if hidden != self.hidden or output != self.output or leaky:
            made = f"hidden={self.hidden!r}, output={self.output!r}"
            given = f"hidden={hidden!r}, output={output!r}"
            if leaky or self.hidden == "leaky_relu":
                made, given = made + f", slope={self.slope}", given + f", slope={slope}"
            raise ValueError(
                f"these caches were made by model_forward with {made}, but model_backward got "
                f"{given}: pass model_backward the forward pass's activations (the gradients "
                "would be another network's)"
            )


def _check_argument_order(params, hidden, function: str) -> None:
    """The course's ``predict(X, y, parameters)`` puts the labels second: called so, a
    function of ours would blame ``hidden`` for holding the parameters."""
    if not isinstance(params, Mapping) and isinstance(hidden, Mapping):
        raise TypeError(
            f"{function} takes (X, params, hidden, ...): it got a {type(params).__name__} where "
            "params goes and the dict of parameters where hidden goes. The course's "
            f"predict(X, y, parameters) takes the labels second; call {function}(X, parameters)"
        )


def _act_codes(hidden: str, output: str) -> tuple[int, int]:
    v.check_activation("hidden", hidden)
    v.check_output(output)
    return int(ACTIVATIONS[hidden]), int(OUTPUTS[output].act)


def _forward(X, params, L, hidden_code, output_code, slope, kernels):
    """Forward pass over checked inputs; returns ``AL`` and the caches."""
    caches = []
    A = X
    for l in range(1, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        act = output_code if l == L else hidden_code
        Z = np.empty((W.shape[0], X.shape[1]), dtype=X.dtype)
        # A_out is Z itself: only A is kept (every derivative is written from A).
        kernels.linear_activation_forward(A, W, b, act, slope, Z, Z)
        caches.append(_ForwardCache(A, W, b, Z))
        A = Z
    return A, caches


def model_forward(
    X,
    params: Params,
    hidden: ActivationName = "relu",
    output: OutputName = "sigmoid",
    backend: Backend = "jit",
    *,
    slope: float = LEAKY_SLOPE,
) -> tuple[Array, list[LayerCache]]:
    """Forward propagation ``[LINEAR -> hidden] x (L-1) -> LINEAR -> output``.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
        Inputs, examples as columns.
    params : dict
        ``{"W1", "b1", ..., "WL", "bL"}``, e.g. from :func:`initialize_parameters`.
    hidden : {"relu", "tanh", "sigmoid", "leaky_relu", "linear"}, default "relu"
        Activation of the hidden layers.
    output : {"sigmoid", "softmax", "linear"}, default "sigmoid"
        Activation of the output layer: sigmoid for binary labels, softmax for one class of
        ``n_y`` per example, linear for regression.
    backend : {"jit", "numpy", "naive"}, default "jit"
    slope : float, default 0.01
        Negative-side slope of leaky_relu.

    Returns
    -------
    AL : ndarray of shape (n_y, m)
        Output of the network, in the parameters' dtype.
    caches : list of LayerCache
        One ``(A_prev, W, b, A)`` per layer, for :func:`model_backward`.

    Examples
    --------
    >>> p = initialize_parameters([2, 3, 1], seed=0)
    >>> AL, caches = model_forward(np.ones((2, 5)), p, backend="numpy")
    >>> AL.shape, len(caches)
    ((1, 5), 2)
    """
    _check_argument_order(params, hidden, "model_forward")
    kernels = get_backend(v.check_backend(backend))
    hidden_code, output_code = _act_codes(hidden, output)
    slope = v.check_positive_finite(slope, "slope")
    params, dims, dtype = v.check_params(params)
    if output == "softmax":  # (the message is formatted only where it can be needed)
        v.check_output_units(output, dims[-1], f"params (layers {dims})")
    X = v.check_X(X, dims[0], dtype)
    AL, caches = _forward(X, params, len(dims) - 1, hidden_code, output_code, slope, kernels)
    return AL, _ForwardCaches(caches, hidden, output, slope)


def compute_cost(AL, Y, loss: LossName = "bce") -> float:
    """The cost of the network's output ``AL`` against ``Y``, averaged over the m examples.

    Parameters
    ----------
    AL : array_like of shape (n_y, m)
        Network output (probabilities for ``"bce"``).
    Y : array_like of shape (n_y, m)
        Targets (0/1 labels for ``"bce"``, or probabilities in [0, 1]: soft labels).
    loss : {"bce", "cce", "mse"}, default "bce"
        ``"bce"``: ``-(1/m) sum(Y log AL + (1-Y) log(1-AL))``, with ``0 log 0 = 0`` so outputs
        of exactly 0 or 1 give a finite cost when they are right (and ``inf`` when they are
        certainly wrong). ``"cce"`` (softmax): ``-(1/m) sum(Y log AL)`` over one-hot
        columns. ``"mse"``: ``(1/2m) sum((AL - Y)^2)``, the halved convention that makes
        ``dZ_L = AL - Y`` (as in scikit-learn's MLP).

    Returns
    -------
    float

    Notes
    -----
    Training (:class:`fastdnn.DNN`) computes the cost from the logits ``Z_L`` instead, which is
    finite for every ``Z_L`` (see :func:`fastdnn.kernels.vectorized.cost_from_logits`).

    Examples
    --------
    >>> round(compute_cost(np.array([[0.8, 0.9, 0.4]]), np.array([[1, 1, 0]])), 6)
    0.279777
    """
    # Imported here: scipy.special costs about a third of `import fastdnn` otherwise.
    from scipy.special import xlogy

    v.check_loss(loss)
    AL = v.as_array(AL, "AL")
    AL = v.as_float_array(AL, "AL", v.common_dtype([AL]))  # float32 stays; others: float64
    n_y, m = AL.shape
    if loss == "cce" and n_y < 2:  # one row's softmax is 1: a cost of 0 whatever Y says
        raise ValueError(f"loss='cce' needs AL with a row per class, 2 or more; got {n_y}")
    Y = v.check_Y(Y, n_y, m, loss, AL.dtype)
    AL64 = AL.astype(np.float64, copy=False)
    if loss in ("bce", "cce"):
        if ((AL64 < 0) | (AL64 > 1)).any():
            raise ValueError(f"AL must be probabilities in [0, 1] for loss {loss!r}")
        with np.errstate(divide="ignore"):
            per_entry = -xlogy(Y, AL64)
            if loss == "bce":
                per_entry -= xlogy(1 - Y, 1 - AL64)
    else:
        per_entry = 0.5 * (AL64 - Y) ** 2
    return float(np.sum(per_entry) / m)


def model_backward(
    AL,
    Y,
    caches: list[LayerCache],
    hidden: ActivationName = "relu",
    output: OutputName = "sigmoid",
    backend: Backend = "jit",
    *,
    slope: float = LEAKY_SLOPE,
) -> Grads:
    """Backward propagation: the gradients of the training loss for every layer.

    The loss is the one paired with ``output``: binary cross-entropy for sigmoid, categorical
    cross-entropy for softmax, halved mean squared error for linear. All three give
    ``dZ_L = AL - Y``, which is what is computed: the unstable
    ``dAL = -(Y/AL - (1-Y)/(1-AL))`` is never formed.

    Parameters
    ----------
    AL : ndarray of shape (n_y, m)
        Output of :func:`model_forward`.
    Y : array_like of shape (n_y, m)
        Targets.
    caches : list of LayerCache
        From :func:`model_forward`, whose activations it remembers (others are refused).
        Their arrays were checked for NaN when they were made and are not summed again
        (that would cost a pass over ``X`` a step): change none of them in place.
    hidden, output, backend, slope
        As given to :func:`model_forward`.

    Returns
    -------
    dict of str to ndarray
        ``{"dW1", "db1", ..., "dWL", "dbL"}`` with the shapes of the parameters.
    """
    kernels = get_backend(v.check_backend(backend))
    hidden_code, _ = _act_codes(hidden, output)
    slope = v.check_positive_finite(slope, "slope")
    if isinstance(caches, _ForwardCaches):
        caches.check_made_by(hidden, output, slope)
    # Every array reaches a kernel, and the jit kernels index without bounds checks: all
    # shapes, dtypes and layouts are checked here (a wrong b once wrote past a buffer).
    checked, dtype = v.check_caches(caches, unchanged=_ForwardCache)
    L = len(checked)
    last_A = checked[-1][3]
    v.check_output_units(output, last_A.shape[0], "the last cache's output")
    AL = v.as_float_array(AL, "AL", dtype)
    if AL.shape != last_A.shape:
        raise ValueError(
            f"AL has shape {AL.shape} but the last cache holds an output of shape "
            f"{last_A.shape}: pass the AL and caches of the same model_forward call"
        )
    Y = v.check_Y(Y, AL.shape[0], AL.shape[1], OUTPUT_LOSS[output], dtype)
    grads: Grads = {}
    m = AL.shape[1]
    no_output = np.empty((0, 0), dtype=dtype)
    dA = None
    for l in range(L, 0, -1):
        A_prev, W, b, A = checked[l - 1]
        dW = np.empty_like(W)
        db = np.empty_like(b)
        dA_prev = np.empty((W.shape[1], m), dtype=dtype) if l > 1 else no_output
        dZ = np.empty_like(A)
        if l == L:
            kernels.output_backward(AL, Y, A_prev, W, dZ, dA_prev, dW, db)
        else:
            kernels.linear_activation_backward(
                dA, A, A_prev, W, hidden_code, slope, dZ, dA_prev, dW, db
            )
        grads[f"dW{l}"], grads[f"db{l}"] = dW, db
        dA = dA_prev
    return grads


def update_parameters(
    params: Params, grads: Grads, learning_rate: float, backend: Backend = "jit"
) -> Params:
    """One gradient-descent step: ``W[l] - learning_rate * dW[l]``, likewise for ``b``.

    Parameters
    ----------
    params : dict
        ``{"W1", "b1", ...}``; not modified.
    grads : dict
        ``{"dW1", "db1", ...}`` from :func:`model_backward`.
    learning_rate : float
        Positive, finite step size.
    backend : {"jit", "numpy", "naive"}, default "jit"

    Returns
    -------
    dict
        New parameters, one new array each (the inputs are not modified).
    """
    kernels = get_backend(v.check_backend(backend))
    lr = v.check_positive_finite(learning_rate, "learning_rate")
    params, dims, dtype = v.check_params(params)
    if not isinstance(grads, dict):
        raise TypeError(f"grads must be the dict returned by model_backward; got {type(grads)}")
    checked = {}
    for key, value in params.items():  # every gradient is checked before any update
        if "d" + key not in grads:
            raise ValueError(f"grads is missing {'d' + key!r} for a {len(dims) - 1}-layer network")
        g = v.as_float_array(grads["d" + key], f"grads['d{key}']", dtype)
        if g.shape != value.shape:
            raise ValueError(f"grads['d{key}'] must have shape {value.shape}; got {g.shape}")
        checked[key] = g
    new = {}
    for key, value in params.items():
        theta = value.copy()
        kernels.update(theta.reshape(-1), checked[key].reshape(-1), lr)
        new[key] = theta
    return new


def predict(
    X,
    params: Params,
    hidden: ActivationName = "relu",
    output: OutputName = "sigmoid",
    backend: Backend = "jit",
    *,
    threshold: float = 0.5,
    slope: float = LEAKY_SLOPE,
) -> Array:
    """Predictions, as :meth:`fastdnn.DNN.predict` makes them.

    Parameters
    ----------
    X : array_like of shape (n_x, m)
    params : dict
    hidden, output, backend, slope
        As in :func:`model_forward`.
    threshold : float, default 0.5
        Decision threshold on the sigmoid output.

    Returns
    -------
    ndarray of shape (n_y, m) or (1, m)
        sigmoid: labels 0/1 (``AL > threshold``) in the parameters' dtype, as the course's
        ``predict`` returns them; softmax: the class index of each example (``argmax`` of its
        column), int64 of shape (1, m); linear: ``AL`` itself.
    """
    _check_argument_order(params, hidden, "predict")
    threshold = v.check_open_unit_interval(threshold, "threshold")
    AL, _ = model_forward(X, params, hidden, output, backend, slope=slope)
    return predictions_of(AL, output, threshold)


def correct_examples(AL, Y, output: str):
    """Which examples (columns) a classifier's output ``AL`` gets right, for every ``score``
    (NumPy or Dask arrays; ``Y`` one-hot for softmax).

    Softmax: the largest output is the class. Sigmoid: every output on the same side of 0.5 as
    its label; with several sigmoid outputs (multi-label) an example counts only when all its
    labels are right, as scikit-learn's ``accuracy_score`` counts (subset accuracy).
    """
    if output == "softmax":
        return AL.argmax(axis=0) == Y.argmax(axis=0)
    return ((AL > 0.5) == (Y > 0.5)).all(axis=0)


def predictions_of(AL, output: str, threshold: float):
    """What every ``predict`` returns for the network output ``AL`` (a NumPy or Dask array):
    labels 0/1 in ``AL``'s dtype (sigmoid), the class index of each column, ``(1, m)``
    (softmax), or ``AL`` itself (linear)."""
    if output == "softmax":
        return AL.argmax(axis=0).reshape(1, -1)
    return AL if output == "linear" else (AL > threshold).astype(AL.dtype)
