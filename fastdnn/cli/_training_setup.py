"""What ``fastdnn train`` does alike in memory and beyond it: the network its flags (or a saved
model) describe, the training data read and named, the Course-2 options, the model saved."""

from __future__ import annotations

import os

from ._messages import UserError, _plural

DEFAULT_SEED = 1


def _hidden_layers(args) -> list[int]:
    """``--layers 20,7,5`` and ``--layers 20 7 5`` alike (each word is a list of sizes)."""
    if args.layers is None:
        return [20, 7, 5]
    if len(args.layers) > 1 and [] in args.layers:  # "20 none 5" meant something else
        raise UserError(
            "--layers: 'none' (logistic regression, no hidden layer) stands alone; got "
            f"{len(args.layers)} words with it"
        )
    return [n for word in args.layers for n in word]


#: train's flags that make the network, the defaults of those that have one.
_NETWORK_FLAGS = ("layers", "hidden", "output", "init", "dtype", "seed", "standardize")


_NETWORK_DEFAULTS = {
    "hidden": "relu",
    "output": "sigmoid",
    "init": "xavier",
    "dtype": "float64",
    "seed": DEFAULT_SEED,
}


def _network_settings(args):
    """Fill in the network's flags: their defaults, or with ``--resume`` the saved model's
    (then giving one is a mistake). Returns the model to resume (None for a new one)."""
    if args.resume is None:
        for name, default in _NETWORK_DEFAULTS.items():
            if getattr(args, name) is None:
                setattr(args, name, default)
        return None
    # (`is not`, not `in`: --seed 0 is given, and 0 == False)
    given = [
        f"--{name}"
        for name in _NETWORK_FLAGS
        if getattr(args, name) is not None and getattr(args, name) is not False
    ]
    if given:
        raise UserError(
            f"{', '.join(given)} cannot be given with --resume: the network is the one saved "
            f"in '{args.resume}' (drop {'it' if len(given) == 1 else 'them'})"
        )
    from ..io import read_model
    from ..network import DNN

    contents = read_model(args.resume)
    if contents.meta.format_version == 0:  # W1, b1, ... only: activations unknown
        raise UserError(
            f"'{args.resume}' holds parameters only (a course-style W1, b1, ... file): "
            "--resume needs a model saved by fastdnn train or DNN.save, which knows its "
            "activations, seed and training state. Load it in Python with "
            "DNN.load(path, hidden=..., output=...), save it with DNN.save, and resume that"
        )
    net = DNN._from_model_file(contents, args.backend)  # (a checked choice)
    if net._optimizer is not None and net._optimizer.name != args.optimizer:
        print(
            f"note: '{args.resume}' holds the state of {net._optimizer.name}; this run trains "
            f"with --optimizer {args.optimizer}, which starts afresh (the training options are "
            "not saved: give the first run's again to go on with it)"
        )
    args.hidden, args.output, args.init = net.hidden, net.output, net.init
    args.dtype, args.seed = net.dtype.name, net.seed
    return net


def _resuming_line(net, resume: str) -> str:
    return (
        f"resuming '{resume}': {net.layer_dims} hidden={net.hidden} output={net.output}, "
        f"{_plural(net.n_steps_, 'iteration')} trained"
    )


def _standardize(net, X) -> None:
    """Give ``net`` the training data's per-feature mean and standard deviation (0 -> 1)."""
    import numpy as np

    mean = X.mean(axis=1, dtype=np.float64, keepdims=True)
    scale = X.std(axis=1, dtype=np.float64, keepdims=True)
    scale[scale == 0] = 1.0  # a constant feature: centred, not divided by zero
    net.set_input_scaling(mean, scale)


def _scale_note(X) -> str | None:
    """A hint when the features live on very different scales and are not standardised."""
    import numpy as np

    std = X.std(axis=1, dtype=np.float64)
    std = std[std > 0]
    if std.size < 2 or std.max() <= 100 * std.min():
        return None
    return (
        f"note: the features' standard deviations range from {std.min():.3g} to "
        f"{std.max():.3g}; --standardize often makes such data train much better"
    )


def _network_from_flags(args, layer_dims: list[int]):
    """A new network as the flags describe it."""
    from .. import DNN

    return DNN(
        layer_dims,
        hidden=args.hidden,
        output=args.output,
        init=args.init,
        backend=args.backend,
        dtype=args.dtype,
        seed=args.seed,
    )


def _new_network(args, layer_dims: list[int], data, Y):
    """The network ``train`` makes for in-memory data (softmax class indices counted), named
    after the data's columns."""
    if args.output == "softmax" and Y.shape[0] == 1:
        layer_dims[-1] = _n_classes(Y, args.data)
        print(f"classes: 0..{layer_dims[-1] - 1} (one softmax output each)")
    return _named(_network_from_flags(args, layer_dims), args, data.feature_names, data.label_names)


def _named(net, args, feature_names, label_names):
    """``net`` with the data's column names, so that predict (and --resume) match a CSV's
    columns by name (a softmax output trained on one column of class indices keeps that
    column's name: predict reads its labels there)."""
    try:
        net.feature_names = feature_names
        net.label_names = label_names
    except ValueError as exc:
        raise UserError(f"the column names of '{args.data}': {exc}") from None
    return net


def _read_training_data(path: str, label: str | None, resumed, resume_path: str | None):
    """``read_data``'s result for ``train``; going on with a model (``resumed``), a CSV's
    columns are matched by the names it was trained on, as predict does."""
    from ..datafiles import read_data

    if resumed is None:
        return read_data(path, label=label)
    data = read_data(
        path,
        label=label,
        n_x=resumed.layer_dims[0],
        feature_names=resumed.feature_names,
        label_names=resumed.label_names,
        require_labels=False,
    )
    if data.Y is None:
        raise UserError(
            f"no labels found in '{path}' for the model '{resume_path}'"
            + (
                ", which knows its features' names but not its label column's (class "
                "indices) or finds it missing"
                if resumed.feature_names is not None
                else ""
            )
            + ": give --label NAME"
        )
    return data


def _n_classes(Y, path: str) -> int:
    """The number of classes of a row of class indices 0..K-1 (K >= 2)."""
    import numpy as np

    labels = Y[0]
    bad = (labels < 0) | (labels != np.round(labels))
    if bad.any():
        raise UserError(
            f"the labels in '{path}' must be class indices 0, 1, 2, ... for --output softmax; "
            f"found {np.unique(labels[bad])[:5].tolist()}"
        )
    n = int(labels.max()) + 1
    if n < 2:
        raise UserError(f"the labels in '{path}' hold one class only (0); softmax needs two")
    absent = n - np.unique(labels).size
    if absent:  # labels 1, 2, 3 make 4 classes; 0 and 1000000 a million
        print(
            f"note: {absent} of the classes 0..{n - 1} never appear in the labels (an output "
            "each all the same): softmax labels are class indices counted from 0"
        )
    return n


def _course2_options(args) -> dict:
    """``DNN.fit``'s keyword arguments for the Course-2 flags that differ from the defaults."""
    options = {
        "optimizer": (args.optimizer, "gd"),
        "beta": (args.beta, 0.9),
        "beta1": (args.beta1, 0.9),
        "beta2": (args.beta2, 0.999),
        "epsilon": (args.epsilon, 1e-8),
        "decay_rate": (args.decay_rate, 0.0),
        "time_interval": (args.time_interval, None),
        "lambd": (args.lambd, 0.0),
        "keep_prob": (args.keep_prob, 1.0),
        "early_stopping": (args.early_stopping, False),
    }
    chosen = {name: value for name, (value, default) in options.items() if value != default}
    if args.early_stopping:
        chosen.update(
            validation_fraction=args.validation_fraction, patience=args.patience, tol=args.tol
        )
    return chosen


def _save_model(net, history, out: str) -> int:
    """Save the trained model to ``out``; the exit status (130 after Ctrl-C).

    Ctrl-C asked to stop, not to replace: an interrupted run saves what it trained only to a
    path that holds nothing yet, so a model already at ``out`` is never lost to a half-trained
    (or untrained) one.
    """
    if history.stop_reason == "interrupted":
        if os.path.lexists(out):
            print(f"'{out}' exists and is left as it was: an interrupted run does not replace it")
            return 130
        if history.n_steps == 0:
            print("nothing trained: no model saved")
            return 130
    net.save(out)
    print(f"model saved to {out}")
    return 130 if history.stop_reason == "interrupted" else 0
