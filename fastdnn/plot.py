"""The course's figures: the cost curve, the planar decision boundary, mislabelled cat images.

Needs matplotlib, an optional extra (``pip install 'fastdnn[plot]'``). It is imported when a
function is called, not when this module is, so ``import fastdnn.plot`` always works and
importing fastdnn never pulls matplotlib in.

Every function draws in one of three ways:

- ``path=...``: on a standalone :class:`matplotlib.figure.Figure` rendered by the Agg canvas
  and saved to ``path`` (any format matplotlib infers from the suffix). No GUI and no pyplot
  are involved, so this works on a headless server and never changes the global backend.
  The function returns ``path``.
- ``ax=...``: on your own Axes (a subplot of a larger figure); returns that Axes.
- neither: on a new pyplot figure, with whatever backend you have chosen (inline in a
  notebook, a window in a script: call ``matplotlib.pyplot.show()``); returns the Axes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from ._atomic import atomic_write

__all__ = ["check_figure_path", "plot_costs", "plot_decision_boundary", "plot_mislabeled"]

_EXTRA_HINT = "pip install 'fastdnn[plot]'"


def _require_matplotlib():
    """Import matplotlib, or raise an ImportError naming the extra that installs it."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(
            f"fastdnn.plot needs matplotlib, which is not installed: {_EXTRA_HINT} "
            "(or pip install matplotlib)"
        ) from exc
    return matplotlib


def _new_figure(path, figsize):
    """A standalone Agg-backed Figure when saving to ``path``, else a pyplot figure."""
    _require_matplotlib()
    if path is not None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        FigureCanvasAgg(fig)  # attaches itself as fig.canvas: savefig renders with Agg
        return fig
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize)


def _axes(path, ax, figsize=(6.4, 4.8)):
    if ax is not None and path is not None:
        raise ValueError("give either path= (save a new figure) or ax= (draw on yours), not both")
    if ax is not None:
        _require_matplotlib()
        return ax
    fig = _new_figure(path, figsize)
    if path is not None and not hasattr(path, "write"):
        _format_of(path, fig)  # an unknown suffix is refused before any drawing
    return fig.add_subplot()


def check_figure_path(path) -> str:
    """The figure format ``path``'s suffix names, checked before anything is drawn (for a
    program that trains first and draws after, such as ``fastdnn demo --plot``).

    Parameters
    ----------
    path : str, os.PathLike or file object
        Where a plot function will save; a file object gets matplotlib's default format
        (``savefig.format``, PNG unless configured).

    Raises
    ------
    TypeError
        ``path`` is none of these (e.g. None: the plot functions then draw, not save).
    ValueError
        The suffix names no format matplotlib writes.
    ImportError
        matplotlib is not installed.
    """
    if hasattr(path, "write"):
        return _require_matplotlib().rcParams["savefig.format"]
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(
            f"path must be a file name or a file object to save to; got {type(path).__name__}"
        )
    return _format_of(path, _new_figure(path, (1, 1)))


def _format_of(path, fig) -> str:
    """The figure format that ``path``'s suffix names (no suffix: PNG). Another suffix is
    refused: ``model.npz`` or ``data.csv`` is someone's file, not a figure to write over."""
    suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    supported = fig.canvas.get_supported_filetypes()
    if not suffix:
        return "png"
    if suffix not in supported:
        raise ValueError(
            f"path {os.fspath(path)!r}: a figure cannot be saved as '.{suffix}'; give a name "
            f"ending in one of {', '.join('.' + s for s in sorted(supported))}"
        )
    return suffix


def _finish(ax, path, fig=None):
    if path is None:
        return ax if fig is None else fig
    fig = ax.figure if fig is None else fig
    if hasattr(path, "write"):  # a file object: the caller's own
        fig.savefig(path, dpi=100, bbox_inches="tight")
        return path
    fmt = _format_of(path, fig)
    # Written whole or not at all, with the same refusals as a model file (read-only,
    # FIFO, device): an existing figure is never left half-written.
    atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=100, bbox_inches="tight"))
    return path


def plot_costs(history_or_costs, path=None, ax=None, learning_rate=None):
    """The course's cost curve: the training cost against iterations.

    Parameters
    ----------
    history_or_costs : History, sequence of float, or estimator
        A :class:`fastdnn.History` (from :meth:`fastdnn.DNN.fit`): costs are drawn at their
        iteration numbers, against "iterations". A plain sequence of costs (the course's
        ``costs`` list, one every hundred iterations): drawn against its index, labelled
        "iterations (per hundreds)" as in the course. A fitted ``DNN`` (its ``history_``) or
        a fitted :mod:`fastdnn.sklearn` estimator (its ``loss_curve_``, against the epoch of
        each record) also works.
    path : str or path-like or file object, optional
        Save the figure there (format from the suffix, e.g. ``.png``; no suffix: PNG; a
        suffix that is no figure format, like ``.npz``, is refused) and return ``path``.
    ax : matplotlib.axes.Axes, optional
        Draw on this Axes instead of a new figure.
    learning_rate : float, optional
        Shown in the title, as the course does (``"Learning rate =0.0075"``). Taken from the
        estimator when one is given.

    Returns
    -------
    path or matplotlib.axes.Axes
        ``path`` when saving, else the Axes drawn on.

    Raises
    ------
    ImportError
        Without matplotlib (``pip install 'fastdnn[plot]'``).
    ValueError
        When there is no cost to draw.

    See Also
    --------
    fastdnn.DNN.fit : Returns the History; costs are recorded every ``cost_every`` steps.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastdnn import DNN
    >>> from fastdnn.datasets import load_planar_dataset
    >>> X, Y = load_planar_dataset()
    >>> history = DNN([2, 4, 1], hidden="tanh", seed=2).fit(X, Y, 1.2, num_iterations=1000)
    >>> out = plot_costs(history, os.path.join(tempfile.mkdtemp(), "costs.png"),
    ...                  learning_rate=1.2)
    >>> os.path.getsize(out) > 0
    True
    """
    xs, costs, xlabel, lr = _cost_series(history_or_costs)
    learning_rate = lr if learning_rate is None else learning_rate
    ax = _axes(path, ax)
    ax.plot(xs, costs)
    ax.set_ylabel("Cost")
    ax.set_xlabel(xlabel)
    if learning_rate is not None:
        ax.set_title(f"Learning rate ={learning_rate}")
    return _finish(ax, path)


def _cost_series(obj):
    """(x values, costs, x label, learning rate or None) from any accepted input."""
    lr = None
    if hasattr(obj, "loss_curve_"):  # a fitted fastdnn.sklearn estimator
        lr = getattr(obj, "learning_rate_init", None)
        costs = np.asarray(obj.loss_curve_, dtype=float)
        epochs = getattr(obj, "_loss_epochs", None)  # (records are every cost_every epochs,
        if epochs is not None and len(epochs) == costs.size:  # every epoch, one a partial_fit)
            return np.asarray(epochs), costs, "epochs", lr
        return np.arange(costs.size), costs, "records of loss_curve_", lr
    if hasattr(obj, "history_") and not hasattr(obj, "iterations"):  # a fitted DNN
        if obj.history_ is None:
            raise ValueError("the model has not been trained: it has no history_ to plot")
        obj = obj.history_
    if hasattr(obj, "iterations") and hasattr(obj, "costs"):  # fastdnn.History
        costs = np.asarray(obj.costs, dtype=float)
        xs = np.asarray(obj.iterations)
        label = "iterations"
    else:
        costs = np.asarray(obj, dtype=float).ravel()  # np.squeeze(costs) in the course
        xs = np.arange(len(costs))
        label = "iterations (per hundreds)"
    if costs.size == 0:
        raise ValueError("no costs to plot: record some with cost_every (or a longer fit)")
    return xs, costs, label, lr


def plot_decision_boundary(
    model,
    X,
    Y,
    path=None,
    ax=None,
    grid_step: float | None = None,
    margin: float = 1.0,
):
    """The course's planar figure: predicted regions on a grid, with the labelled points.

    Parameters
    ----------
    model : fastdnn.DNN, scikit-learn-style estimator, or callable
        What labels the grid. A :class:`fastdnn.DNN` (its ``predict`` on the course layout);
        an object with ``predict`` and ``n_features_in_`` (scikit-learn, examples as rows);
        or a callable mapping points of shape (2, k) to k labels, like the course's
        ``lambda x: predict(parameters, x)`` (with ``x`` in the course's layout here).
        Non-numeric labels are drawn by their rank.
    X : array_like of shape (2, m)
        The points, examples as columns (the course's layout).
    Y : array_like of shape (1, m) or (m,)
        Their labels, colouring the points.
    path : str or path-like or file object, optional
        Save the figure there and return ``path``.
    ax : matplotlib.axes.Axes, optional
        Draw on this Axes instead of a new figure.
    grid_step : float, optional
        Spacing of the grid. Default: 1/400 of the wider side (the course uses 0.01, i.e.
        about a million points for its flower).
    margin : float, default 1.0
        How far the grid extends beyond the points, as in the course.

    Returns
    -------
    path or matplotlib.axes.Axes
        ``path`` when saving, else the Axes drawn on.

    Raises
    ------
    ImportError
        Without matplotlib (``pip install 'fastdnn[plot]'``).
    ValueError
        When ``X`` is not (2, m) or ``Y`` does not have m labels.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastdnn import DNN
    >>> from fastdnn.datasets import load_planar_dataset
    >>> X, Y = load_planar_dataset()
    >>> net = DNN([2, 4, 1], hidden="tanh", seed=2)
    >>> _ = net.fit(X, Y, learning_rate=1.2, num_iterations=1000)
    >>> out = plot_decision_boundary(net, X, Y, os.path.join(tempfile.mkdtemp(), "flower.png"))
    >>> os.path.getsize(out) > 0
    True
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] != 2:
        hint = " (did you pass X.T?)" if X.ndim == 2 and X.shape[1] == 2 else ""
        raise ValueError(f"X must be (2, m), examples as columns; got shape {X.shape}{hint}")
    labels = np.asarray(Y)
    if labels.ndim == 2 and labels.shape[0] > 1 and labels.shape[1] == X.shape[1]:
        raise ValueError(
            f"Y must be one label per column of X, (1, m) or (m,); got shape {labels.shape} "
            "(one-hot columns? pass Y.argmax(axis=0))"
        )
    labels = labels.ravel()
    if labels.shape[0] != X.shape[1]:
        raise ValueError(
            f"Y must hold {X.shape[1]} labels, one per column of X; got {labels.shape[0]}"
        )
    n_in = getattr(model, "n_features_in_", None)
    if n_in is None and hasattr(model, "layer_dims"):
        n_in = model.layer_dims[0]
    if n_in is not None and n_in != 2:
        raise ValueError(
            f"a decision boundary is drawn in the plane: the model must take 2 inputs; it "
            f"takes {n_in}"
        )
    predict = _grid_predictor(model)
    x_min, x_max = X[0].min() - margin, X[0].max() + margin
    y_min, y_max = X[1].min() - margin, X[1].max() + margin
    h = max(x_max - x_min, y_max - y_min) / 400 if grid_step is None else float(grid_step)
    if not h > 0:
        raise ValueError(f"grid_step must be positive; got {grid_step!r}")
    xx, yy = np.meshgrid(np.arange(x_min, x_max, h), np.arange(y_min, y_max, h))
    Z = _as_numbers(np.asarray(predict(np.vstack([xx.ravel(), yy.ravel()])))).reshape(xx.shape)
    ax = _axes(path, ax)
    import matplotlib as mpl

    cmap = mpl.colormaps["Spectral"]  # the course's plt.cm.Spectral
    ax.contourf(xx, yy, Z, cmap=cmap)
    ax.scatter(X[0], X[1], c=_as_numbers(labels), cmap=cmap, s=15, edgecolors="k", linewidths=0.3)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    return _finish(ax, path)


def _grid_predictor(model) -> Callable[[np.ndarray], np.ndarray]:
    """A function from grid points (2, k) to k labels."""
    from .network import DNN

    if isinstance(model, DNN):
        return lambda P: model.predict(P).ravel()
    if hasattr(model, "predict") and hasattr(model, "n_features_in_"):  # scikit-learn
        return lambda P: np.asarray(model.predict(P.T)).ravel()
    if callable(model):
        return lambda P: np.asarray(model(P)).ravel()
    raise TypeError(
        "model must be a fastdnn.DNN, a fitted scikit-learn estimator, or a callable mapping "
        f"points (2, k) to labels; got {type(model).__name__}"
    )


def _as_numbers(labels: np.ndarray) -> np.ndarray:
    """Numeric labels as floats; any other labels (strings) as their rank among the unique."""
    labels = np.asarray(labels)
    if labels.dtype.kind in "biuf":
        return labels.astype(float)
    return np.unique(labels, return_inverse=True)[1].astype(float).reshape(labels.shape)


def plot_mislabeled(
    X,
    Y,
    predictions,
    classes: Sequence | None = None,
    path=None,
    image_shape: tuple[int, ...] = (64, 64, 3),
    max_images: int = 12,
    ncols: int = 6,
):
    """The course's grid of mislabelled images, titled "Prediction: cat / Class: non-cat".

    Parameters
    ----------
    X : array_like of shape (n_x, m) or (m, *image_shape)
        The images: flattened as columns (the course's ``test_x``, values in [0, 1] or
        0..255), or the raw stack (``test_set_x_orig``, uint8).
    Y : array_like of shape (1, m) or (m,)
        True labels, 0 or 1.
    predictions : array_like of shape (1, m) or (m,)
        Predicted labels, 0 or 1 (e.g. ``model.predict(X)``).
    classes : sequence of 2 str or bytes, optional
        Names of labels 0 and 1; the dataset's ``classes`` array ``[b'non-cat', b'cat']``
        works as is. Default ``("non-cat", "cat")``.
    path : str or path-like or file object, optional
        Save the figure there and return ``path``.
    image_shape : tuple of int, default (64, 64, 3)
        Shape of one image, to unflatten a column of ``X``.
    max_images : int, default 12
        Draw at most this many mislabelled images (the first ones).
    ncols : int, default 6
        Images per row.

    Returns
    -------
    path or matplotlib.figure.Figure
        ``path`` when saving, else the Figure (one Axes per image).

    Raises
    ------
    ImportError
        Without matplotlib (``pip install 'fastdnn[plot]'``).
    ValueError
        When shapes disagree, or no image is mislabelled.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(size=(8 * 8 * 3, 5))          # five 8x8 RGB images, as columns
    >>> Y = np.array([[1, 0, 1, 0, 1]])
    >>> p = np.array([[1, 1, 0, 0, 1]])               # two mistakes
    >>> out = plot_mislabeled(X, Y, p, path=os.path.join(tempfile.mkdtemp(), "wrong.png"),
    ...                       image_shape=(8, 8, 3))
    >>> os.path.getsize(out) > 0
    True
    """
    y = np.asarray(Y).ravel()
    p = np.asarray(predictions).ravel()
    X = np.asarray(X)
    size = int(np.prod(image_shape))
    if X.ndim == 2:
        if X.shape[0] != size:
            hint = " (did you pass X.T?)" if X.shape[1] == size else ""
            raise ValueError(
                f"X must be (n_x, m) with n_x = prod(image_shape) = {size}; got shape "
                f"{X.shape}{hint}"
            )
        m = X.shape[1]

        def image(i):
            return X[:, i].reshape(image_shape)
    elif X.ndim >= 3:
        m = X.shape[0]

        def image(i):
            return X[i]
    else:
        raise ValueError(f"X must be (n_x, m) columns or a stack of images; got shape {X.shape}")
    if y.shape[0] != m or p.shape[0] != m:
        raise ValueError(
            f"Y and predictions must hold one label per image ({m}); got {y.shape[0]} and "
            f"{p.shape[0]}"
        )
    names = [_label_name(c) for c in (("non-cat", "cat") if classes is None else classes)]
    for what, labels in (("Y", y), ("predictions", p)):
        bad = labels[~np.isin(labels, np.arange(len(names)))]
        if bad.size:  # a probability 0.9 would be read as label 0; a 2 has no name
            raise ValueError(
                f"{what} must hold labels 0..{len(names) - 1} (one per class name); found "
                f"{bad.tolist()[0]!r} (predictions are labels, e.g. model.predict(X), not "
                "probabilities)"
            )
    if int(max_images) < 1:
        raise ValueError(f"max_images must be a positive integer; got {max_images!r}")
    # The course finds mistakes as p + y == 1; this is the same for 0/1 labels.
    wrong = np.flatnonzero(p.astype(int) != y.astype(int))
    if wrong.size == 0:
        raise ValueError("no mislabelled image: every prediction equals its label")
    wrong = wrong[: int(max_images)]
    ncols = max(1, min(int(ncols), wrong.size))
    nrows = -(-wrong.size // ncols)
    fig = _new_figure(path, figsize=(2.2 * ncols, 2.5 * nrows))
    if path is not None and not hasattr(path, "write"):
        _format_of(path, fig)  # an unknown suffix is refused before any drawing
    scale = _display_scale(X)
    for k, i in enumerate(wrong):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        img = np.asarray(image(i), dtype=float) * scale
        ax.imshow(np.clip(img, 0.0, 1.0).squeeze(), interpolation="nearest")
        ax.axis("off")
        ax.set_title(f"Prediction: {names[int(p[i])]}\nClass: {names[int(y[i])]}", fontsize=9)
    return _finish(None, path, fig=fig)


def _display_scale(X: np.ndarray) -> float:
    """1/255 for 0..255 images (uint8 or floats above 1), else 1: imshow wants [0, 1]."""
    if X.dtype.kind in "ui" or (X.size and float(np.nanmax(X)) > 1.0):
        return 1.0 / 255.0
    return 1.0


def _label_name(c) -> str:
    return c.decode("utf-8") if isinstance(c, bytes) else str(c)
