"""The ``fastdnn`` command line: ``demo``, ``train``, ``predict``, ``bench``, ``info``.

User mistakes and hostile input (missing file, bad shape, bad flag value, unknown label column,
a model and data of different sizes, a FIFO or device as data, a network too big for the memory,
an output path that is one of the inputs) print one line, ``fastdnn <command>: error: ...``, on
stderr and exit with status 2, with no traceback. Flags are checked before any data is loaded or
any training runs. Warnings print one line each, ``fastdnn <command>: warning: ...``.

A session::

    fastdnn train --data train_catvnoncat.h5 --layers 20,7,5 --lr 0.0075 --iterations 2500 \
        --seed 1 --out cat.npz
    fastdnn predict --model cat.npz --data test_catvnoncat.h5 --out predictions.csv
"""

from __future__ import annotations

import argparse
import csv
import importlib
import math
import os
import platform
import sys
import time
import warnings

from . import __version__
from ._types import ACTIVATIONS, OPTIMIZERS, OUTPUT_LOSS
from ._validation import INITS, check_Y
from .backends import BACKENDS

# Mistakes in the input, and what the library raises on a file or a request too big to serve.
USER_ERRORS = (
    ValueError,
    TypeError,
    FileNotFoundError,
    ImportError,
    OSError,
    csv.Error,
    OverflowError,
    RecursionError,
    MemoryError,
)
# The choices come from the library's own tables, so the two cannot drift apart.
HIDDEN_CHOICES = tuple(ACTIVATIONS)
OUTPUT_CHOICES = tuple(OUTPUT_LOSS)
BACKEND_CHOICES = tuple(BACKENDS)
INIT_CHOICES = tuple(INITS)
OPTIMIZER_CHOICES = tuple(OPTIMIZERS)
DEFAULT_SEED = 1


class UserError(Exception):
    """A mistake in the command's input: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors reported in one line (``fastdnn train: error: ...``)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# ----------------------------------------------------------------------------- flag types
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer; got {text!r}")
    return value


def _seed(text: str) -> int:
    """A seed as fastdnn.DNN takes it: an integer in [0, 2**128)."""
    value = _non_negative_int(text)
    if value >= 2**128:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**128); got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number; got {text!r}")
    return value


def _real_in(text: str, low: float, high: float, closed: str, what: str) -> float:
    """``float(text)`` when finite and in the interval from ``low`` to ``high`` (``closed``:
    which ends belong to it, "low", "high", "both" or ""), else the flag's error."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    above = value >= low if closed in ("low", "both") else value > low
    below = value <= high if closed in ("high", "both") else value < high
    if not (math.isfinite(value) and above and below):
        raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    return _real_in(text, 0.0, math.inf, "low", "a finite number >= 0")


def _beta(text: str) -> float:
    return _real_in(text, 0.0, 1.0, "low", "a number in [0, 1)")


def _fraction(text: str) -> float:
    return _real_in(text, 0.0, 1.0, "", "a number in (0, 1)")


def _probability(text: str) -> float:
    return _real_in(text, 0.0, 1.0, "high", "a probability in (0, 1]")


def _hidden_sizes(text: str) -> list[int]:
    """``"20,7,5"`` -> ``[20, 7, 5]``; ``""`` or ``"none"`` -> ``[]`` (logistic regression)."""
    if text.strip().lower() in ("", "none"):
        return []
    sizes = []
    for part in text.split(","):
        part = part.strip()
        n = int(part) if part.isascii() and part.isdigit() else 0  # not "2_0", not "\u0662"
        if n <= 0:
            raise argparse.ArgumentTypeError(
                f"must be hidden-layer sizes as positive integers separated by commas, like "
                f"20,7,5 (or 'none' for logistic regression); got {text!r}"
            )
        sizes.append(n)
    return sizes


def _existing_file(path: str, flag: str) -> str:
    if not os.path.exists(path):
        raise UserError(f"{flag}: file not found: '{path}'")
    if os.path.isdir(path):
        raise UserError(f"{flag}: '{path}' is a folder; give a file")
    return path


def _writable_path(path: str, flag: str) -> str:
    """An output path that :func:`fastdnn._atomic.atomic_write` can replace (the same checks,
    made before any work): a regular file we may write, a link to one, or nothing yet, in a
    folder we may write."""
    from ._atomic import check_writable

    try:
        check_writable(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"{flag}: {exc}") from None
    return path


def _same_file(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` name one file: through symlinks, hard links or ``..``."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def _refuse_overwriting_inputs(out: str, flag: str, inputs: dict[str, str]) -> None:
    for input_flag, path in inputs.items():
        if _same_file(out, path):
            raise UserError(
                f"{flag} '{out}' is the {input_flag} file '{path}'; writing there would "
                f"destroy it: give {flag} another name"
            )


def _check_data_suffix(path: str, flag: str) -> None:
    from .datafiles import DATA_SUFFIXES

    if os.path.splitext(path)[1].lower() not in DATA_SUFFIXES:
        raise UserError(
            f"{flag}: unsupported data file '{path}'; use one of {', '.join(DATA_SUFFIXES)}"
        )


def network_memory(layer_dims: list[int], m: int, itemsize: int, batch_size: int | None) -> int:
    """About how many bytes training and scoring ``layer_dims`` on ``m`` examples allocate.

    The parameters four times (the flat buffer, its gradient twin, the divergence backup and
    the initial parameter dict), one input copy in the model's dtype, and the work buffers of
    :class:`fastdnn.train.Workspace` for a batch, plus a prediction chunk's activations.
    """
    dims = [int(n) for n in layer_dims]
    n_params = sum(dims[l] * (dims[l - 1] + 1) for l in range(1, len(dims)))
    width = min(batch_size or m, m)
    widest = max([*dims[1:-1], dims[-1]])
    work = width * (sum(dims[1:]) + dims[-1] + 2 * widest)
    if batch_size is not None:
        work += width * (dims[0] + dims[-1])
    predict = min(m, 8192) * sum(dims[1:])
    return itemsize * (4 * n_params + dims[0] * m + work + predict)


def _check_memory(
    layer_dims: list[int], m: int, dtype: str, batch_size: int | None, what: str, fix: str
) -> None:
    """Refuse, before anything is allocated, a network that cannot fit in the memory left."""
    from .datafiles import available_memory, format_bytes

    need = network_memory(layer_dims, m, 4 if dtype == "float32" else 8, batch_size)
    available = available_memory()
    if available is not None and need > available:
        n_params = sum(layer_dims[l] * (layer_dims[l - 1] + 1) for l in range(1, len(layer_dims)))
        width = min(batch_size or m, m)
        raise UserError(
            f"{what} would need about {format_bytes(need)} of memory ({n_params:,} "
            f"parameters in {dtype}"
            + (f", work buffers for {width:,} examples" if m > 1 else "")
            + f") but only {format_bytes(available)} is available; {fix}"
        )


def _blas_threads() -> str:
    """`` (1 BLAS thread)``: what the timing of a run depends on; empty if unknown."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a dependency
        return ""
    counts = sorted(
        {int(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas"}
    )
    if not counts:  # pragma: no cover
        return ""
    return f" ({'/'.join(map(str, counts))} BLAS thread{'s' if counts[-1] > 1 else ''})"


def cmd_demo(args) -> int:
    """Train the course's planar flower net (2-4-1, tanh) and report its accuracy."""
    import numpy as np

    from . import DNN
    from .datasets import load_planar_dataset

    if args.plot:  # before training: a path it cannot write is a one-line error now
        _writable_path(args.plot, "--plot")
    _check_memory(
        [2, args.hidden_units, 1],
        400,
        "float64",
        None,
        f"--hidden-units {args.hidden_units}",
        "use fewer --hidden-units",
    )
    X, Y = load_planar_dataset()
    print(f"planar flower data: X {X.shape}, Y {Y.shape} (the course's week-3 data set)")
    net = DNN(
        [2, args.hidden_units, 1],
        hidden="tanh",
        init="course",
        backend=args.backend,
        seed=args.seed,
    )
    if args.backend == "jit":
        from . import warmup

        seconds = warmup(["float64"], hidden=["tanh"], outputs=["sigmoid"])
        if seconds > 1.0:  # a first run compiles; later ones load Numba's cache
            print(f"compiled the jit kernels in {seconds:.1f} s (once: they are cached on disk)")
    from . import DivergenceError

    t0 = time.perf_counter()
    try:
        history = net.fit(
            X,
            Y,
            learning_rate=args.learning_rate,
            num_iterations=args.iterations,
            cost_every=1000,
            print_cost=True,
        )
    except DivergenceError as exc:
        raise _diverged(exc, "--learning-rate", train=False) from None
    seconds = time.perf_counter() - t0
    accuracy = net.score(X, Y)
    done = "interrupted after" if history.stop_reason == "interrupted" else "trained"
    print(
        f"{done} {history.n_steps} iterations on backend {args.backend!r} in {seconds:.2f} s"
        f"{_blas_threads()}"
    )
    print(f"accuracy: {100 * accuracy:.2f} %  (the course's 4-unit tanh net reaches 90 %)")
    if args.plot:
        try:
            from .plot import plot_decision_boundary
        except ImportError:
            print("(no decision-boundary plot: pip install 'fastdnn[plot]' for matplotlib)")
        else:
            path = plot_decision_boundary(net, X, Y, path=args.plot)
            print(f"decision boundary saved to {path}")
    if history.stop_reason == "interrupted":
        return 130  # Ctrl-C: as train says it
    return 0 if np.isfinite(accuracy) else 1


def _diverged(exc, lr_flag: str = "--lr", train: bool = True) -> UserError:
    """The one line for a run that diverged: the library's reason, and what to change
    (``train``: the command has --lambd and --standardize)."""
    if exc.before_any_step:
        advice = "scale the data (--standardize)" if train else "scale the data"
    else:
        advice = f"try a smaller {lr_flag}" + (" (or --lambd, or --standardize)" if train else "")
    return UserError(f"training diverged ({exc}); {advice}")


def _threads_line() -> str:
    """What training's BLAS threads will be, and why (``fastdnn info``)."""
    from . import _env
    from ._blas import BLAS_THREAD_VARIABLES, default_threads, usable_cores

    n, cores = _env.SETTINGS.num_threads, usable_cores()
    if n is not None:
        clamped = f" (clamped to the {cores} usable cores)" if n > cores else ""
        return f"training uses {min(n, cores)}: FASTDNN_NUM_THREADS={n}{clamped}"
    chosen = [
        f"{v}={os.environ[v]}" for v in BLAS_THREAD_VARIABLES if os.environ.get(v, "").strip()
    ]
    if chosen:
        return f"training keeps the BLAS libraries' own setting: {', '.join(chosen)}"
    return (
        f"training uses {default_threads()} (half the {cores} usable cores): FASTDNN_NUM_THREADS "
        f"unset, and {' / '.join(BLAS_THREAD_VARIABLES)} too"
    )


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


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
    from .io import read_model
    from .network import DNN

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


def _check_data_fits_model(net, model: str, data: str, x_shape, y_shape) -> None:
    """The data's inputs (``X`` of ``x_shape``) and labels (``y_shape``, None: unlabeled) fit
    the model saved in ``model`` (softmax class indices: one row), for predict and --resume."""
    n_x = net.layer_dims[0]
    if x_shape[0] != n_x:
        csv = y_shape is not None and data.endswith(".csv")
        raise UserError(
            f"the model '{model}' takes n_x = {n_x} features per example (layer_dims "
            f"{net.layer_dims}), but '{data}' has {x_shape[0]} (X {tuple(x_shape)}"
            + (", label column excluded)" if csv else ")")
        )
    class_indices = net.output == "softmax" and y_shape is not None and y_shape[0] == 1
    if y_shape is not None and y_shape[0] != net.layer_dims[-1] and not class_indices:
        raise UserError(
            f"the model '{model}' has {net.layer_dims[-1]} output(s) but the labels in "
            f"'{data}' have {y_shape[0]} rows (Y {tuple(y_shape)})"
        )


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
    from . import DNN

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
    columns by name. A softmax output trained on one column of class indices has n_y outputs
    for that one column: no label names (predict then takes --label NAME)."""
    if args.output == "softmax" and label_names is not None and len(label_names) == 1:
        label_names = None
    try:
        net.feature_names = feature_names
        net.label_names = label_names
    except ValueError as exc:
        raise UserError(f"the column names of '{args.data}': {exc}") from None
    return net


def _read_training_data(path: str, label: str | None, resumed, resume_path: str | None):
    """``read_data``'s result for ``train``; going on with a model (``resumed``), a CSV's
    columns are matched by the names it was trained on, as predict does."""
    from .datafiles import read_data

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


def cmd_train(args) -> int:
    """Train a network on a data file, print its costs and training score, save it."""
    # Every flag is checked before any data is read or any step is taken.
    if _suffix(args.data) == ".zarr":
        _existing_zarr(args.data, "--data")
    else:
        _existing_file(args.data, "--data")
        _check_data_suffix(args.data, "--data")
    if args.scheduler is not None and "://" not in args.scheduler:
        raise UserError(
            f"--scheduler must be a Dask scheduler address like tcp://host:8786; got "
            f"{args.scheduler!r}"
        )
    _writable_path(args.out, "--out")
    inputs = {"--data": args.data}
    if args.resume is not None:
        _existing_file(args.resume, "--resume")
        inputs["--resume"] = args.resume
    _refuse_overwriting_inputs(args.out, "--out", inputs)
    if args.batch_size is not None and args.iterations is None and args.epochs is None:
        raise UserError("--batch-size needs --epochs N (or --iterations N)")
    if args.progress:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            raise UserError("--progress needs tqdm: pip install 'fastdnn[progress]'") from None
    resumed = _network_settings(args)
    hidden = _hidden_layers(args) if resumed is None else resumed.layer_dims[1:-1]
    # the hidden layers alone, before the data is read (its size only makes it larger)
    _check_memory(
        [1, *hidden, 1],
        1,
        args.dtype,
        None,
        f"--layers {' '.join(map(str, hidden))}",
        "use smaller --layers (or --dtype float32)",
    )
    if _beyond_memory(args):  # issue 13: a zarr folder, --block-size, --scheduler, a large HDF5
        return _train_beyond_memory(args, hidden, resumed)

    from . import DivergenceError

    data = _read_training_data(args.data, args.label, resumed, args.resume)
    if resumed is not None:
        _check_data_fits_model(resumed, args.resume, args.data, data.X.shape, data.Y.shape)
    X, Y = data.X, data.Y
    m = X.shape[1]
    layer_dims = [X.shape[0], *hidden, Y.shape[0]] if resumed is None else resumed.layer_dims
    _check_memory(
        layer_dims,
        m,
        args.dtype,
        args.batch_size,
        f"the network {layer_dims}",
        "use smaller --layers, --batch-size or --dtype float32",
    )
    print(f"data: {args.data}: X {X.shape}, Y {Y.shape} ({m} examples)")
    if args.output == "sigmoid":
        values = set(Y.ravel().tolist()) - {0.0, 1.0}
        if values:
            shown = sorted(values)[:5]
            hint = (
                f"the model '{args.resume}' has a sigmoid output"
                if resumed is not None
                else "use --output softmax for classes 0..K-1, linear for regression"
            )
            raise UserError(
                f"the labels in '{args.data}' must be 0 or 1 for --output sigmoid; found "
                f"{shown} ({hint})"
            )
    if resumed is not None:
        net = resumed
        print(_resuming_line(net, args.resume))
    else:
        net = _new_network(args, layer_dims, data, Y)
    if args.standardize:
        _standardize(net, X)
        print(
            "inputs standardised with the training data's mean and standard deviation "
            "(saved with the model)"
        )
    elif resumed is None:  # (a resumed model keeps its own scaling, or none)
        note = _scale_note(X)
        if note:
            print(note)
    iterations = args.iterations
    if iterations is None and args.epochs is None:
        iterations = 2500  # the course's deep-network default
    steps = (
        _plural(iterations, "iteration")
        if iterations is not None
        else _plural(args.epochs, "epoch")
    )
    batch = f", mini-batches of {args.batch_size}" if args.batch_size else ", full batch"
    print(
        f"training {layer_dims} hidden={args.hidden} output={args.output} for {steps}{batch}, "
        f"learning rate {args.lr}, seed {args.seed}, backend {args.backend!r}, "
        f"{args.dtype}"
    )
    course2 = _course2_options(args)
    if course2:
        print("with " + ", ".join(f"{k}={v}" for k, v in course2.items()))
    steps_before = net.n_steps_
    t0 = time.perf_counter()
    try:
        history = net.fit(
            X,
            Y,
            learning_rate=args.lr,
            num_iterations=iterations,
            epochs=args.epochs,
            batch_size=args.batch_size,
            cost_every=args.cost_every,
            print_cost=True,
            progress=args.progress,
            **course2,
        )
    except DivergenceError as exc:
        raise _diverged(exc) from None
    seconds = time.perf_counter() - t0
    if history.stop_reason == "interrupted":
        print(f"interrupted after {_plural(history.n_steps, 'iteration')}")
    else:
        print(
            f"trained {_plural(history.n_steps, 'iteration')} in {seconds:.2f} s{_blas_threads()}"
        )
    if history.best_iteration is not None:
        best = history.val_costs[history.val_iterations.index(history.best_iteration)]
        if history.stop_reason == "early_stopping":
            print(
                f"stopped early: the validation cost did not improve for {args.patience} "
                f"records; kept the parameters of iteration {history.best_iteration} "
                f"(validation cost {best:.6g})"
            )
        elif history.best_iteration < steps_before + history.n_steps:
            # a run that completed keeps its best record too: say so, or the saved model's
            # step count surprises (a resumed run starts from it)
            print(
                f"kept the parameters of iteration {history.best_iteration}, the best "
                f"validation cost ({best:.6g}), not those of the last step"
            )
    score = net.score(X, Y)
    if args.output in ("sigmoid", "softmax"):
        print(f"training accuracy: {100 * score:.2f} %")
    else:
        print(f"training R^2: {score:.4f}")
    return _save_model(net, history, args.out)


# ----------------------------------------------------------------------------- beyond memory
def _suffix(path: str) -> str:
    return os.path.splitext(os.path.normpath(path))[1].lower()


def _existing_zarr(path: str, flag: str) -> str:
    if not os.path.exists(path):
        raise UserError(f"{flag}: zarr folder not found: '{path}'")
    if not os.path.isdir(path):
        raise UserError(f"{flag}: '{path}' ends in .zarr but is not a folder (a zarr store)")
    return path


def _beyond_memory(args) -> bool:
    """Train by blocks (or on a cluster) rather than read the data whole?"""
    if args.scheduler is not None or args.block_size is not None:
        return True
    suffix = _suffix(args.data)
    if suffix == ".zarr":
        return True
    if suffix in (".h5", ".hdf5"):
        from .datafiles import available_memory

        need, available = _h5_x_bytes(args.data), available_memory()
        # Read whole, X is converted once (a copy): beyond half the memory, read it by blocks.
        return need is not None and available is not None and need > available // 2
    return False


def _h5_x_bytes(path: str) -> int | None:
    """The declared size of an HDF5 file's dataset ``X`` (None without one: e.g. the course's
    ``*_set_x`` image files, which are read whole)."""
    from pathlib import Path

    from .datafiles import _open_regular
    from .datasets import _require_h5py

    h5py = _require_h5py()
    with _open_regular(Path(path)) as f:
        try:
            with h5py.File(f, "r") as h5:
                if h5.get("X", getclass=True) is not h5py.Dataset:
                    return None
                X = h5["X"]
                return math.prod(X.shape) * X.dtype.itemsize
        except (OSError, ValueError, KeyError, TypeError):
            return None  # read_data reports what is wrong with the file


class _LargeData:
    """``X`` ``(n_x, m)`` and ``Y`` ``(n_y, m)`` left on disk: a zarr group's arrays or an
    HDF5 file's datasets, checked from their metadata (names, shapes, dtypes; for HDF5, no
    links or storage outside the file); or, for other files, read whole by ``read_data``."""

    def __init__(self, path: str, label: str | None, resumed=None, resume_path=None):
        import numpy as np

        self.path, self.close, self.y_name = path, lambda: None, label or "Y"
        self.feature_names = self.label_names = None  # a CSV's column names
        suffix = _suffix(path)
        if suffix == ".zarr":
            X, Y = self._zarr(path, label)
        elif suffix in (".h5", ".hdf5"):
            X, Y = self._h5(path, label)
        else:  # read whole, as in memory: a CSV's columns by name when going on with a model
            data = _read_training_data(path, label, resumed, resume_path)
            X, Y = data.X, data.Y
            self.feature_names, self.label_names = data.feature_names, data.label_names
        if len(X.shape) != 2 or 0 in X.shape or np.dtype(X.dtype).kind not in "biuf":
            raise UserError(
                f"the inputs X in '{path}' must be a non-empty 2-D array of numbers (n_x, m), "
                f"examples as columns; got shape {tuple(X.shape)}, dtype {X.dtype}"
            )
        m = X.shape[1]
        y_shape = (1, *Y.shape) if len(Y.shape) == 1 else tuple(Y.shape)
        if len(y_shape) != 2 or y_shape[1] != m or np.dtype(Y.dtype).kind not in "biuf":
            raise UserError(
                f"the labels Y in '{path}' must be numbers of shape (n_y, {m}) to match X "
                f"{tuple(X.shape)}; got shape {tuple(Y.shape)}, dtype {Y.dtype}"
            )
        self.X, self.Y, self.n_y = X, Y, y_shape[0]

    def _zarr(self, path: str, label: str | None):
        try:
            import zarr
        except ImportError:
            raise UserError(f"reading '{path}' needs zarr: pip install 'fastdnn[dask]'") from None
        try:
            group = zarr.open_group(path, mode="r")
            names = sorted(group.array_keys())
        except Exception as exc:  # noqa: BLE001 - zarr raises many kinds; one line says which
            raise UserError(f"'{path}' is not a readable zarr group ({exc})") from None
        return self._pick(group, names, label)

    def _h5(self, path: str, label: str | None):
        from pathlib import Path

        from .datafiles import _h5_entries, _open_regular
        from .datasets import _require_h5py

        h5py = _require_h5py()
        f = _open_regular(Path(path))
        try:
            h5 = h5py.File(f, "r")
        except (OSError, ValueError) as exc:
            f.close()
            raise UserError(f"'{path}' is not a readable HDF5 file ({exc})") from None
        self.close = lambda: (h5.close(), f.close())
        entries = _h5_entries(Path(path), h5, h5py)  # refuses links and outside storage
        return self._pick({k: e.dset for k, e in entries.items()}, sorted(entries), label)

    def _pick(self, arrays, names, label):
        y_name = self.y_name
        missing = [n for n in ("X", y_name) if n not in names]
        if missing:
            raise UserError(
                f"'{self.path}' has no array {' or '.join(map(repr, missing))} (X: the inputs "
                f"(n_x, m); {y_name}: the labels (n_y, m)); it holds {names}"
            )
        return arrays["X"], arrays[y_name]

    def dask(self, block_size: int | None):
        """X and Y as dask arrays, read where the blocks are computed."""
        import dask.array as da

        from .blocks import BLOCK_BYTES

        n_x, m = self.X.shape
        width = block_size or max(1, BLOCK_BYTES // (8 * n_x))
        suffix = _suffix(self.path)
        if suffix == ".zarr":  # the workers read the folder (it must be where they can see it)
            X = da.from_zarr(self.path, component="X")
            return X.rechunk({0: -1, 1: width}), da.from_zarr(self.path, component=self.y_name)
        if suffix in (".h5", ".hdf5"):
            # The workers open the file by its name (dask.distributed's h5py support).
            import h5py

            f = h5py.File(self.path, "r")
            X, Y = f["X"], f[self.y_name]
            return da.from_array(X, chunks=(n_x, width)), da.from_array(Y)
        return da.from_array(self.X, chunks=(n_x, width)), self.Y


def _block_size_for_memory(m: int, example_bytes: int, batch_size: int | None) -> int | None:
    """None (the library's default blocks) when eight of those fit in the memory available;
    else blocks of an eighth of it (a block trained on, one read ahead, their conversions)."""
    from .blocks import block_bounds
    from .datafiles import available_memory

    available = available_memory()
    width = block_bounds(m, None, example_bytes, None, batch_size)[0][1]
    if available is None or 8 * width * example_bytes <= available:
        return None
    width = max(1, available // (8 * example_bytes))
    if batch_size:
        width = max(batch_size, width // batch_size * batch_size)
    print(
        f"note: blocks of {width:,} examples, to fit the memory available; pass --block-size "
        f"{width} to train the same way elsewhere"
    )
    return width


def _train_beyond_memory(args, hidden: list[int], resumed) -> int:
    """``train`` on data read by blocks (fastdnn.blocks) or on a Dask cluster (fastdnn.dask);
    ``resumed``: the model to go on training (None: a new one)."""
    from . import DivergenceError, blocks

    client = _connect(args.scheduler) if args.scheduler is not None else None
    data = _LargeData(args.data, args.label, resumed, args.resume)
    try:
        X, Y = data.X, data.Y
        n_x, m = X.shape
        layer_dims = [n_x, *hidden, data.n_y]
        if resumed is not None:
            _check_data_fits_model(resumed, args.resume, args.data, X.shape, (data.n_y, m))
            layer_dims = resumed.layer_dims
        elif args.output == "softmax" and data.n_y == 1:  # class indices: one row, 8 B each
            import numpy as np

            layer_dims[-1] = _n_classes(
                np.asarray(Y[...], dtype=np.float64).reshape(1, -1), args.data
            )
            print(f"classes: 0..{layer_dims[-1] - 1} (one softmax output each)")
        block_size = args.block_size or _block_size_for_memory(
            m, n_x * (4 if args.dtype == "float32" else 8), args.batch_size
        )
        bounds = blocks.block_bounds(
            m, block_size, n_x * (4 if args.dtype == "float32" else 8), None, args.batch_size
        )
        width = max(e - s for s, e in bounds)
        _check_memory(
            layer_dims,
            2 * width,
            args.dtype,
            args.batch_size,
            f"the network {layer_dims} with blocks of {width:,} examples",
            "use smaller --layers, --block-size or --dtype float32",
        )
        where = (
            f"on the Dask cluster at {args.scheduler}"
            if args.scheduler
            else f"out of core, in blocks of {width:,} examples"
        )
        print(
            f"data: {args.data}: X {tuple(X.shape)}, Y {tuple(Y.shape)} ({m} examples), "
            f"trained {where}"
        )
        if resumed is not None:
            net = resumed
            print(_resuming_line(net, args.resume))
        else:
            net = _named(
                _network_from_flags(args, layer_dims), args, data.feature_names, data.label_names
            )
        if args.standardize:
            mean, scale = blocks.moments(X, block_size)
            scale[scale == 0] = 1.0
            net.set_input_scaling(mean, scale)
            print(
                "inputs standardised with the training data's mean and standard deviation "
                "(one pass over the blocks; saved with the model)"
            )
        iterations = args.iterations
        if iterations is None and args.epochs is None:
            iterations = 2500
        kwargs = dict(
            learning_rate=args.lr,
            num_iterations=iterations,
            epochs=args.epochs,
            batch_size=args.batch_size,
            cost_every=args.cost_every,
            print_cost=True,
        )
        # Course 2 as in memory; what blocks or a cluster cannot do (dropout, early stopping)
        # is refused by the library in one line (ValueError: exit 2).
        course2 = _course2_options(args)
        if course2:
            print("with " + ", ".join(f"{k}={v}" for k, v in course2.items()))
        for name in ("validation_fraction", "patience", "tol"):
            course2.pop(name, None)
        kwargs.update(course2)
        t0 = time.perf_counter()
        try:
            if client is not None:
                history, score = _train_on_cluster(client, net, data, block_size, kwargs)
            else:
                history = blocks.fit(
                    net, X, Y, progress=args.progress, block_size=block_size, **kwargs
                )
                score = blocks.score(net, X, Y, block_size)
        except DivergenceError as exc:
            raise _diverged(exc) from None
        seconds = time.perf_counter() - t0
        if history.stop_reason == "interrupted":
            print(f"interrupted after {_plural(history.n_steps, 'iteration')}")
        else:
            print(f"trained {_plural(history.n_steps, 'iteration')} in {seconds:.2f} s")
        if args.output in ("sigmoid", "softmax"):
            print(f"training accuracy: {100 * score:.2f} %")
        else:
            print(f"training R^2: {score:.4f}")
    finally:
        data.close()
        if client is not None:
            client.close()
    return _save_model(net, history, args.out)


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


def _connect(address: str):
    """A client of the Dask scheduler at ``address``, or a one-line error."""
    try:
        import distributed

        from . import dask  # noqa: F401 - fails here, not after the data are read
    except ImportError as exc:
        raise UserError(f"--scheduler needs dask: pip install 'fastdnn[dask]' ({exc})") from None
    import dask

    # Dask's own setting (DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s), default 30 s.
    timeout = dask.config.get("distributed.comm.timeouts.connect")
    try:
        client = distributed.Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        text = " ".join(str(exc).split())  # one line
        raise UserError(f"cannot connect to the Dask scheduler at {address} ({text})") from None
    workers = len(client.scheduler_info().get("workers", {}))
    print(f"connected to the Dask scheduler at {address}: {_plural(workers, 'worker')}")
    return client


def _train_on_cluster(client, net, data: _LargeData, block_size, kwargs):
    from . import dask as fdask

    X, Y = data.dask(block_size)
    history = fdask.fit(net, X, Y, client=client, block_size=block_size, **kwargs)
    return history, fdask.score(net, X, Y)


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


def cmd_predict(args) -> int:
    """Predict with a saved model; write one prediction per example; score labeled data."""
    import numpy as np

    _existing_file(args.model, "--model")
    _existing_file(args.data, "--data")
    _check_data_suffix(args.data, "--data")
    if args.out is not None:
        _writable_path(args.out, "--out")
        _refuse_overwriting_inputs(args.out, "--out", {"--model": args.model, "--data": args.data})

    from .datafiles import read_data
    from .io import atomic_write, load_model

    net = load_model(args.model, backend=args.backend)
    n_x = net.layer_dims[0]
    # A CSV's columns are matched by name when the model knows its features' names; otherwise
    # (npz, HDF5, or a model trained without names) by position.
    data = read_data(
        args.data,
        label=args.label,
        n_x=n_x,
        feature_names=net.feature_names,
        label_names=net.label_names,
        require_labels=False,
    )
    X, Y = data.X, data.Y
    _check_data_fits_model(net, args.model, args.data, X.shape, None if Y is None else Y.shape)
    X = net._input(X)  # checked, and standardised if the model says so
    if Y is not None:  # checked before anything is written: a bad label leaves --out alone
        try:
            Y = check_Y(Y, net.layer_dims[-1], X.shape[1], net.loss, net.dtype)
        except ValueError as exc:
            raise UserError(f"the labels in '{args.data}': {exc}") from None
    with np.errstate(over="ignore", invalid="ignore"):  # said below, in one line
        AL = net._output(X)  # one forward pass: the predictions and the score
    bad = ~np.isfinite(AL).all(axis=0)
    if bad.any():  # "0,nan" rows would read as predictions
        raise UserError(
            f"the model '{args.model}' gives non-finite outputs for {int(bad.sum())} of "
            f"{bad.size} examples of '{args.data}' (the first: example {int(np.argmax(bad))}): "
            "its parameters or the data overflow; nothing written"
        )
    score = None if Y is None else net._score_of(AL, Y)
    n_y = AL.shape[0]
    digits = "%.17g" if net.dtype == np.float64 else "%.9g"
    names = ["prediction"] if n_y == 1 else [f"prediction_{k + 1}" for k in range(n_y)]
    if net.output == "sigmoid":
        columns = [(AL > 0.5).astype(np.int64), AL]
        fmt = ["%d"] * n_y + [digits] * n_y
        names += ["probability"] if n_y == 1 else [f"probability_{k + 1}" for k in range(n_y)]
    elif net.output == "softmax":  # the class index, then each class's probability
        columns = [AL.argmax(axis=0).reshape(1, -1), AL]
        fmt = ["%d"] + [digits] * n_y
        names = ["prediction"] + [f"probability_{k}" for k in range(n_y)]
    else:
        columns, fmt = [AL], [digits] * n_y
    table = np.vstack([c.astype(np.float64) for c in columns]).T

    def write(f) -> None:
        np.savetxt(f, table, fmt=fmt, delimiter=",", header=",".join(names), comments="")

    report = sys.stdout
    if args.out is None:
        sys.stdout.flush()  # the CSV goes to the binary buffer underneath
        write(sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout)
        sys.stdout.flush()
        report = sys.stderr  # stdout holds the CSV only
    else:
        atomic_write(args.out, write)
        print(f"wrote {X.shape[1]} predictions to {args.out}")
    if score is not None:
        classifier = net.output in ("sigmoid", "softmax")
        what = "accuracy" if classifier else "R^2"
        value = f"{100 * score:.2f} %" if classifier else f"{score:.4f}"
        print(f"{what} on {args.data}: {value} ({X.shape[1]} examples)", file=report)
    return 0


def cmd_bench_missing(args) -> int:
    raise UserError(args.bench_missing)


def _add_bench(sub, load: bool) -> None:
    """``fastdnn bench``: its flags and body live in :mod:`fastdnn.bench`, imported only when
    the command is ``bench`` (so every other command works without it)."""
    bench = sub.add_parser("bench", help="time the naive, numpy and jit backends side by side")
    if not load:
        return
    try:
        bench_module = importlib.import_module("fastdnn.bench")
    except ImportError as exc:
        missing = (
            "the benchmark module fastdnn.bench is not part of this install"
            if getattr(exc, "name", None) == "fastdnn.bench"
            else f"fastdnn bench cannot start: {exc}"
        )
        bench.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        bench.set_defaults(func=cmd_bench_missing, bench_missing=missing)
        return
    bench_module.add_arguments(bench)

    def cmd_bench(args) -> int:
        rc = bench_module.run(args)
        return 0 if rc is None else int(rc)

    bench.set_defaults(func=cmd_bench)


def cmd_info(args) -> int:
    """Versions, BLAS libraries and threads, numba cache and jit settings."""
    import numba
    import numpy as np
    import scipy

    from . import __version__, _numba
    from ._blas import (
        _library_paths,
        blas_rule_summary,
        cpu_name,
        cpu_vendor,
    )

    print(f"fastdnn {__version__}")
    print(f"python  {platform.python_version()} ({sys.executable})")
    print(f"numpy   {np.__version__}")
    print(f"scipy   {scipy.__version__}")
    print(f"numba   {numba.__version__}")
    print(
        f"cpu     {cpu_name()} ({cpu_vendor()}, {platform.machine()}), "
        f"{os.cpu_count()} logical cores; compiled code for {_numba.compile_target()}"
    )
    _library_paths()
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            api = info.get("user_api", "blas")
            print(
                f"{api:7s} {info.get('internal_api')} {info.get('version')} "
                f"({info.get('architecture')}), {info.get('num_threads')} threads: "
                f"{info.get('filepath')}"
            )
    except ImportError:  # pragma: no cover
        print("blas    (install threadpoolctl to list BLAS libraries)")
    print(f"rule    {blas_rule_summary()}")
    print(f"threads {_threads_line()}")
    cache_dir = numba.config.CACHE_DIR or "(next to each module, in __pycache__)"
    print(f"cache   numba cache {'on' if _numba.CACHE else 'off'}; directory: {cache_dir}")
    print(
        f"jit     {'DISABLED (NUMBA_DISABLE_JIT=1)' if _numba.JIT_DISABLED else 'enabled'}; "
        f"fastmath {'on' if _numba.FASTMATH else 'off'}"
    )
    return 0


def _add_threads(parser) -> None:
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        metavar="N",
        help="BLAS threads (default: FASTDNN_NUM_THREADS, else half the usable cores "
        "unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS is set; 1 is "
        "faster when another program keeps a core busy)",
    )


def _apply_threads(args) -> None:
    if getattr(args, "threads", None):
        from . import set_num_threads

        set_num_threads(args.threads)


def _add_course2(train) -> None:
    """The Course-2 flags of ``fastdnn train``: optimizers, decay, L2, dropout, early stopping
    (the defaults are Course 1's plain gradient descent)."""
    group = train.add_argument_group("optimization and regularisation (the course's part 2)")
    group.add_argument(
        "--optimizer",
        choices=OPTIMIZER_CHOICES,
        default="gd",
        help="gd (default), momentum, rmsprop or adam",
    )
    group.add_argument("--beta", type=_beta, default=0.9, help="momentum's beta (default 0.9)")
    group.add_argument("--beta1", type=_beta, default=0.9, help="Adam's beta1 (default 0.9)")
    group.add_argument(
        "--beta2", type=_beta, default=0.999, help="Adam's and RMSprop's beta2 (default 0.999)"
    )
    group.add_argument(
        "--epsilon",
        type=_positive_float,
        default=1e-8,
        help="Adam's and RMSprop's epsilon (default 1e-8)",
    )
    group.add_argument(
        "--decay-rate",
        type=_non_negative_float,
        default=0.0,
        help="learning-rate decay: lr / (1 + decay_rate * epoch) (default 0: constant)",
    )
    group.add_argument(
        "--time-interval",
        type=_positive_int,
        default=None,
        metavar="N",
        help="decay every N epochs instead (the course's scheduled decay)",
    )
    group.add_argument(
        "--lambd",
        type=_non_negative_float,
        default=0.0,
        help="L2 regularisation: the cost adds lambd/(2m) sum ||W||^2 (default 0)",
    )
    group.add_argument(
        "--keep-prob",
        type=_probability,
        default=1.0,
        help="inverted dropout on the hidden layers: the probability of "
        "keeping a unit (default 1: no dropout)",
    )
    group.add_argument(
        "--early-stopping",
        action="store_true",
        help="hold out --validation-fraction of the examples, check their "
        "cost at every record (--cost-every) and stop after --patience "
        "records without improvement, keeping the best parameters",
    )
    group.add_argument(
        "--validation-fraction",
        type=_fraction,
        default=0.1,
        help="with --early-stopping: the share held out (default 0.1)",
    )
    group.add_argument(
        "--patience",
        type=_positive_int,
        default=10,
        help="with --early-stopping: records without improvement before stopping (default 10)",
    )
    group.add_argument(
        "--tol",
        type=_non_negative_float,
        default=1e-4,
        help="with --early-stopping: the improvement that counts (default 1e-4)",
    )


def build_parser(bench: bool = False) -> argparse.ArgumentParser:
    """The argument parser; ``bench=True`` also imports :mod:`fastdnn.bench` for its flags."""
    parser = _Parser(
        prog="fastdnn", description="Train the deep-learning Course 1 networks fast on the CPU."
    )
    parser.add_argument("--version", action="version", version=f"fastdnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="train the course's planar flower net and print accuracy",
        description="Train the course's week-3 net (2 inputs, one tanh hidden layer, sigmoid "
        "output) on the generated planar flower data set and print its accuracy.",
    )
    demo.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default="jit",
        help="kernels to train with (default jit)",
    )
    demo.add_argument(
        "--iterations",
        type=_positive_int,
        default=10000,
        help="gradient steps (default 10000, as the course)",
    )
    demo.add_argument(
        "--learning-rate",
        type=_positive_float,
        default=1.2,
        help="learning rate (default 1.2, as the course)",
    )
    demo.add_argument(
        "--hidden-units",
        type=_positive_int,
        default=4,
        metavar="N",
        help="units in the hidden layer (default 4, as the course)",
    )
    demo.add_argument(
        "--seed",
        type=_seed,
        default=2,
        help="seed of the initialization (default 2, as the course)",
    )
    demo.add_argument(
        "--plot",
        metavar="PNG",
        default=None,
        help="save the decision boundary to this PNG (needs matplotlib)",
    )
    _add_threads(demo)
    demo.set_defaults(func=cmd_demo)

    train = sub.add_parser(
        "train",
        help="train a network on a data file and save it",
        description="Train a network on a .npz (X, Y), .csv or the course's cat .h5 file; print "
        "the cost every --cost-every iterations and the training score; save the model (with "
        "a CSV's column names, so that predict can match columns by name).",
    )
    train.add_argument(
        "--data",
        required=True,
        metavar="FILE",
        help=".npz with X (n_x, m) and Y (1, m); .csv with a header, one example "
        "per row; train_catvnoncat.h5; or, larger than memory, an HDF5 file or "
        "a .zarr folder with arrays X (n_x, m) and Y (n_y, m)",
    )
    train.add_argument(
        "--label", metavar="NAME", help="CSV: the label column (default: the last column)"
    )
    train.add_argument(
        "--layers",
        type=_hidden_sizes,
        nargs="+",
        default=None,
        metavar="N",
        help="hidden-layer sizes, as 20,7,5 or 20 7 5 (default 20,7,5); the "
        "input size comes from the data, the output size from the labels; "
        "'none': logistic regression",
    )
    train.add_argument(
        "--resume",
        metavar="MODEL.npz",
        default=None,
        help="continue training the model saved in this file (by train, or DNN.save): "
        "its network, seed, input scaling, step count, shuffle and optimizer state are the "
        "file's, and --layers, --hidden, --output, --init, --dtype, --seed and --standardize "
        "may not be given. The training options (--lr, --batch-size, --optimizer, ...) are "
        "not saved: give the first run's again, and the two runs give the model of one "
        "longer run: bitwise in memory (to rounding on the wide-input path, which data with "
        "fewer examples than features train on) and by blocks with full batches (a run by "
        "blocks or on a cluster starts a new epoch); --early-stopping starts afresh",
    )
    # The network's flags default to None: --resume tells which were given (the defaults
    # are filled in by _network_settings).
    train.add_argument(
        "--hidden",
        choices=HIDDEN_CHOICES,
        default=None,
        help="activation of the hidden layers (default relu)",
    )
    train.add_argument(
        "--output",
        choices=OUTPUT_CHOICES,
        default=None,
        help="sigmoid: 0/1 labels (cross-entropy); softmax: classes 0..K-1 "
        "(one label column, or one-hot rows in an npz); linear: "
        "regression",
    )
    train.add_argument(
        "--init",
        choices=INIT_CHOICES,
        default=None,
        help="weight initialization (default xavier)",
    )
    train.add_argument(
        "--standardize",
        action="store_true",
        help="standardise every feature with the training data's mean and "
        "standard deviation (saved with the model, applied by predict)",
    )
    train.add_argument(
        "--lr", type=_positive_float, default=0.0075, help="learning rate (default 0.0075)"
    )
    steps = train.add_mutually_exclusive_group()
    steps.add_argument(
        "--iterations",
        type=_positive_int,
        default=None,
        help="gradient steps (default 2500 unless --epochs is given)",
    )
    steps.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        help="passes over the data (with --batch-size: mini-batch SGD)",
    )
    train.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help="mini-batch size (default: full batch, as the course)",
    )
    train.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default=None,
        help="the model's dtype (default float64; float32 halves memory traffic)",
    )
    train.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default="jit",
        help="kernels to train with (default jit)",
    )
    train.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help=f"seed of the initialization and the shuffling (default "
        f"{DEFAULT_SEED}: two runs give the same model)",
    )
    train.add_argument(
        "--cost-every",
        type=_positive_int,
        default=100,
        help="print the cost every N iterations (default 100)",
    )
    _add_course2(train)
    train.add_argument("--progress", action="store_true", help="progress bar (needs tqdm)")
    train.add_argument(
        "--block-size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="train out of core, reading N examples at a time (the default for "
        "a .zarr folder and for HDF5 data larger than half the memory: about "
        "64 MiB of X per block)",
    )
    train.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="train on the Dask cluster at ADDRESS (tcp://host:8786): the blocks "
        "stay on the workers, each step sends them the parameters and adds up "
        "their gradients (needs fastdnn[dask])",
    )
    train.add_argument(
        "--out",
        required=True,
        metavar="MODEL.npz",
        help="where to save the model (this exact name: no .npz is "
        "appended); never one of the inputs",
    )
    _add_threads(train)
    train.set_defaults(func=cmd_train)

    predict = sub.add_parser(
        "predict",
        help="predict with a saved model",
        description="Write one prediction per example (CSV with a header) and, when the data "
        "has labels, print the accuracy (or R^2). A CSV's feature columns are matched by "
        "name when the model was trained on a CSV (any order; other columns are ignored).",
    )
    predict.add_argument(
        "--model", required=True, metavar="MODEL.npz", help="a model saved by fastdnn train"
    )
    predict.add_argument(
        "--data",
        required=True,
        metavar="FILE",
        help=".npz with X (n_x, m) (and Y for a score); .csv with a header, "
        "one example per row; or the course's cat .h5",
    )
    predict.add_argument(
        "--label",
        metavar="NAME",
        help="CSV: the label column (default: the model's label column if "
        "present; for a model without column names, the last column when "
        "the file has one more column than the model has inputs)",
    )
    predict.add_argument(
        "--out",
        metavar="CSV",
        default=None,
        help="where to write the predictions (default: stdout, with the "
        "accuracy on stderr); never one of the inputs",
    )
    predict.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default="jit",
        help="kernels to predict with (default jit)",
    )
    _add_threads(predict)
    predict.set_defaults(func=cmd_predict)

    _add_bench(sub, load=bench)
    info = sub.add_parser("info", help="versions, BLAS, threads, numba cache")
    info.set_defaults(func=cmd_info)
    parser.commands = sub.choices  # name -> sub-parser: errors point to the command's help
    return parser


def _one_line_warnings(command: str):
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"fastdnn {command}: warning: {text}", file=sys.stderr if file is None else file)

    return show


def main(argv: list[str] | None = None) -> int:
    """Run the ``fastdnn`` command; return its exit status (2 for a user mistake)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(bench=bool(argv) and argv[0] == "bench")
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the command's parser, so the hint is 'fastdnn train --help'
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warnings(args.command)
        return _run(args)


def _run(args) -> int:
    try:
        _apply_threads(args)
        return args.func(args)
    except BrokenPipeError:  # e.g. `fastdnn predict ... | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit's final flush cannot fail
        return 1
    except (UserError, *USER_ERRORS) as exc:
        print(f"fastdnn {args.command}: error: {_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fastdnn {args.command}: interrupted", file=sys.stderr)
        return 130


def _message(exc: BaseException) -> str:
    """One line for any error, saying what kind it is when its text alone would not."""
    text = " ".join(str(exc).split())
    if isinstance(exc, MemoryError):
        return f"not enough memory ({text or 'MemoryError'})"
    if isinstance(exc, RecursionError):
        return f"the input is nested too deeply to be read ({text})"
    if isinstance(exc, (OverflowError, csv.Error)):
        return f"{type(exc).__name__}: {text}"
    return text or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
