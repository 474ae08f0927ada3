"""The ``fastdnn`` command line: ``demo``, ``train``, ``predict``, ``bench``, ``info``.

User mistakes (missing file, bad shape, bad flag value, unknown label column, a model and data
of different sizes) print one line, ``fastdnn <command>: error: ...``, on stderr and exit with
status 2, with no traceback. Flags are checked before any data is loaded or any training runs.

A session::

    fastdnn train --data train_catvnoncat.h5 --layers 20,7,5 --lr 0.0075 --iterations 2500 \
        --seed 1 --out cat.npz
    fastdnn predict --model cat.npz --data test_catvnoncat.h5 --out predictions.csv
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time

USER_ERRORS = (ValueError, TypeError, FileNotFoundError, ImportError, OSError)
HIDDEN_CHOICES = ("relu", "tanh", "sigmoid", "leaky_relu", "linear")  # fastdnn._types.ACTIVATIONS
OUTPUT_CHOICES = ("sigmoid", "linear")  # fastdnn._types.OUTPUT_LOSS


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


def _positive_float(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number; got {text!r}")
    return value


def _hidden_sizes(text: str) -> list[int]:
    """``"20,7,5"`` -> ``[20, 7, 5]``; ``""`` or ``"none"`` -> ``[]`` (logistic regression)."""
    if text.strip().lower() in ("", "none"):
        return []
    sizes = []
    for part in text.split(","):
        try:
            n = int(part.strip())
        except ValueError:
            n = 0
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
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UserError(f"{flag}: '{path}' is a folder; give a file name")
    if not os.path.isdir(folder):
        raise UserError(f"{flag}: the folder '{folder}' does not exist")
    return path


def _check_data_suffix(path: str, flag: str) -> None:
    from .datafiles import DATA_SUFFIXES

    if os.path.splitext(path)[1].lower() not in DATA_SUFFIXES:
        raise UserError(
            f"{flag}: unsupported data file '{path}'; use one of {', '.join(DATA_SUFFIXES)}"
        )


def cmd_demo(args) -> int:
    """Train the course's planar flower net (2-4-1, tanh) and report its accuracy."""
    import numpy as np

    from . import DNN
    from .datasets import load_planar_dataset

    X, Y = load_planar_dataset()
    print(f"planar flower data: X {X.shape}, Y {Y.shape} (the course's week-3 data set)")
    net = DNN([2, args.hidden_units, 1], hidden="tanh", init="course", backend=args.backend,
              seed=args.seed)  # fmt: skip
    if args.backend == "jit":
        from . import warmup

        seconds = warmup(["float64"])
        if seconds > 1.0:  # a first run compiles; later ones load Numba's cache
            print(f"compiled the jit kernels in {seconds:.1f} s (once: they are cached on disk)")
    t0 = time.perf_counter()
    history = net.fit(X, Y, learning_rate=args.learning_rate, num_iterations=args.iterations,
                      cost_every=1000, print_cost=True)  # fmt: skip
    seconds = time.perf_counter() - t0
    accuracy = net.score(X, Y)
    print(f"trained {history.n_steps} iterations on backend {args.backend!r} in {seconds:.2f} s")
    print(f"accuracy: {100 * accuracy:.2f} %  (the course's 4-unit tanh net reaches 90 %)")
    if args.plot:
        try:
            from .plot import plot_decision_boundary
        except ImportError:
            print("(no decision-boundary plot: pip install 'fastdnn[plot]' for matplotlib)")
        else:
            path = plot_decision_boundary(net, X, Y, path=args.plot)
            print(f"decision boundary saved to {path}")
    return 0 if np.isfinite(accuracy) else 1


def cmd_train(args) -> int:
    """Train a network on a data file, print its costs and training score, save it."""
    # Every flag is checked before any data is read or any step is taken.
    _existing_file(args.data, "--data")
    _check_data_suffix(args.data, "--data")
    _writable_path(args.out, "--out")
    if args.batch_size is not None and args.iterations is None and args.epochs is None:
        raise UserError("--batch-size needs --epochs N (or --iterations N)")
    if args.progress:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            raise UserError("--progress needs tqdm: pip install 'fastdnn[progress]'") from None

    from . import DNN, DivergenceError
    from .datafiles import load_data

    X, Y = load_data(args.data, label=args.label)
    layer_dims = [X.shape[0], *args.layers, Y.shape[0]]
    print(f"data: {args.data}: X {X.shape}, Y {Y.shape} ({X.shape[1]} examples)")
    net = DNN(layer_dims, hidden=args.hidden, output=args.output, init=args.init,
              backend=args.backend, dtype=args.dtype, seed=args.seed)  # fmt: skip
    if args.output == "sigmoid":
        values = set(Y.ravel().tolist()) - {0.0, 1.0}
        if values:
            shown = sorted(values)[:5]
            raise UserError(
                f"the labels in '{args.data}' must be 0 or 1 for --output sigmoid; found "
                f"{shown} (use --output linear for regression)"
            )
    steps = (f"{args.iterations} iterations" if args.iterations is not None or args.epochs is None
             else f"{args.epochs} epochs")  # fmt: skip
    batch = f", mini-batches of {args.batch_size}" if args.batch_size else ", full batch"
    print(f"training {layer_dims} hidden={args.hidden} output={args.output} for {steps}{batch}, "
          f"learning rate {args.lr}, backend {args.backend!r}, {args.dtype}")  # fmt: skip
    iterations = args.iterations
    if iterations is None and args.epochs is None:
        iterations = 2500  # the course's deep-network default
    t0 = time.perf_counter()
    try:
        history = net.fit(X, Y, learning_rate=args.lr, num_iterations=iterations,
                          epochs=args.epochs, batch_size=args.batch_size,
                          cost_every=args.cost_every, print_cost=True,
                          progress=args.progress)  # fmt: skip
    except DivergenceError as exc:
        raise UserError(f"training diverged ({exc}); try a smaller --lr") from None
    seconds = time.perf_counter() - t0
    if history.stop_reason == "interrupted":
        print(f"interrupted after {history.n_steps} iterations; saving the model as it is")
    else:
        print(f"trained {history.n_steps} iterations in {seconds:.2f} s")
    score = net.score(X, Y)
    if args.output == "sigmoid":
        print(f"training accuracy: {100 * score:.2f} %")
    else:
        print(f"training R^2: {score:.4f}")
    net.save(args.out)
    print(f"model saved to {args.out}")
    return 130 if history.stop_reason == "interrupted" else 0


def cmd_predict(args) -> int:
    """Predict with a saved model; write one prediction per example; score labeled data."""
    import numpy as np

    _existing_file(args.model, "--model")
    _existing_file(args.data, "--data")
    _check_data_suffix(args.data, "--data")
    if args.out is not None:
        _writable_path(args.out, "--out")

    from .datafiles import load_data
    from .io import atomic_write, load_model

    net = load_model(args.model, backend=args.backend)
    n_x = net.layer_dims[0]
    X, Y = load_data(args.data, label=args.label, n_x=n_x, require_labels=False)
    if X.shape[0] != n_x:
        raise UserError(
            f"the model '{args.model}' takes n_x = {n_x} features per example (layer_dims "
            f"{net.layer_dims}), but '{args.data}' has {X.shape[0]} (X {X.shape}"
            + (", label column excluded)" if Y is not None and args.data.endswith(".csv") else ")")
        )
    if Y is not None and Y.shape[0] != net.layer_dims[-1]:
        raise UserError(
            f"the model '{args.model}' has {net.layer_dims[-1]} output(s) but the labels in "
            f"'{args.data}' have {Y.shape[0]} rows (Y {Y.shape})"
        )
    AL = net.predict_proba(X)
    n_y = AL.shape[0]
    digits = "%.17g" if net.dtype == np.float64 else "%.9g"
    names = ["prediction"] if n_y == 1 else [f"prediction_{k + 1}" for k in range(n_y)]
    if net.output == "sigmoid":
        columns = [(AL > 0.5).astype(np.int64), AL]
        fmt = ["%d"] * n_y + [digits] * n_y
        names += ["probability"] if n_y == 1 else [f"probability_{k + 1}" for k in range(n_y)]
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
    if Y is not None:
        try:
            score = net.score(X, Y)
        except ValueError as exc:
            raise UserError(f"the labels in '{args.data}': {exc}") from None
        what = "accuracy" if net.output == "sigmoid" else "R^2"
        value = f"{100 * score:.2f} %" if net.output == "sigmoid" else f"{score:.4f}"
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
    from ._blas import _library_paths

    print(f"fastdnn {__version__}")
    print(f"python  {platform.python_version()} ({sys.executable})")
    print(f"numpy   {np.__version__}")
    print(f"scipy   {scipy.__version__}")
    print(f"numba   {numba.__version__}")
    print(f"cpu     {platform.machine()}, {os.cpu_count()} logical cores")
    _library_paths()
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            print(
                f"blas    {info.get('internal_api')} {info.get('version')} "
                f"({info.get('architecture')}), {info.get('num_threads')} threads: "
                f"{info.get('filepath')}"
            )
    except ImportError:  # pragma: no cover
        print("blas    (install threadpoolctl to list BLAS libraries)")
    print(f"threads FASTDNN_NUM_THREADS={os.environ.get('FASTDNN_NUM_THREADS', '(unset)')}")
    cache_dir = numba.config.CACHE_DIR or "(next to each module, in __pycache__)"
    print(f"cache   numba cache {'on' if _numba.CACHE else 'off'}; directory: {cache_dir}")
    print(f"jit     {'DISABLED (NUMBA_DISABLE_JIT=1)' if _numba.JIT_DISABLED else 'enabled'}; "
          f"fastmath {'on' if _numba.FASTMATH else 'off'}")  # fmt: skip
    return 0


def _add_threads(parser) -> None:
    parser.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                        help="BLAS threads (default: all cores; 1 is faster when another "
                        "program keeps a core busy)")  # fmt: skip


def _apply_threads(args) -> None:
    if getattr(args, "threads", None):
        from . import set_num_threads

        set_num_threads(args.threads)


def build_parser(bench: bool = False) -> argparse.ArgumentParser:
    """The argument parser; ``bench=True`` also imports :mod:`fastdnn.bench` for its flags."""
    parser = _Parser(
        prog="fastdnn", description="Train the deep-learning Course 1 networks fast on the CPU."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser("demo", help="train the course's planar flower net and print accuracy")
    demo.add_argument("--backend", choices=["jit", "numpy", "naive"], default="jit")
    demo.add_argument("--iterations", type=int, default=10000)
    demo.add_argument("--learning-rate", type=float, default=1.2)
    demo.add_argument("--hidden-units", type=int, default=4)
    demo.add_argument("--seed", type=int, default=2)
    demo.add_argument("--plot", metavar="PNG", default=None,
                      help="save the decision boundary to this PNG (needs matplotlib)")  # fmt: skip
    _add_threads(demo)
    demo.set_defaults(func=cmd_demo)

    train = sub.add_parser(
        "train",
        help="train a network on a data file and save it",
        description="Train a network on a .npz (X, Y), .csv or the course's cat .h5 file; print "
        "the cost every --cost-every iterations and the training score; save the model.",
    )
    train.add_argument("--data", required=True, metavar="FILE",
                       help=".npz with X (n_x, m) and Y (1, m); .csv with a header, one example "
                       "per row; or train_catvnoncat.h5")  # fmt: skip
    train.add_argument("--label", metavar="NAME",
                       help="CSV: the label column (default: the last column)")  # fmt: skip
    train.add_argument("--layers", type=_hidden_sizes, default=[20, 7, 5], metavar="N,N,...",
                       help="hidden-layer sizes (default 20,7,5); the input size comes from "
                       "the data, the output size from the labels; 'none': logistic "
                       "regression")  # fmt: skip
    train.add_argument("--hidden", choices=HIDDEN_CHOICES, default="relu")
    train.add_argument("--output", choices=OUTPUT_CHOICES, default="sigmoid",
                       help="sigmoid: 0/1 labels (cross-entropy); linear: regression")  # fmt: skip
    train.add_argument("--init", choices=("xavier", "he", "course", "zeros"), default="xavier")
    train.add_argument("--lr", type=_positive_float, default=0.0075, help="learning rate")
    train.add_argument("--iterations", type=_positive_int, default=None,
                       help="gradient steps (default 2500 unless --epochs is given)")  # fmt: skip
    train.add_argument("--epochs", type=_positive_int, default=None)
    train.add_argument("--batch-size", type=_positive_int, default=None,
                       help="mini-batch size (default: full batch, as the course)")  # fmt: skip
    train.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    train.add_argument("--backend", choices=["jit", "numpy", "naive"], default="jit")
    train.add_argument("--seed", type=_non_negative_int, default=None)
    train.add_argument("--cost-every", type=_positive_int, default=100)
    train.add_argument("--progress", action="store_true", help="progress bar (needs tqdm)")
    train.add_argument("--out", required=True, metavar="MODEL.npz",
                       help="where to save the model (this exact name: no .npz is "
                       "appended)")  # fmt: skip
    _add_threads(train)
    train.set_defaults(func=cmd_train)

    predict = sub.add_parser(
        "predict",
        help="predict with a saved model",
        description="Write one prediction per example (CSV with a header) and, when the data "
        "has labels, print the accuracy (or R^2).",
    )
    predict.add_argument("--model", required=True, metavar="MODEL.npz")
    predict.add_argument("--data", required=True, metavar="FILE")
    predict.add_argument("--label", metavar="NAME",
                         help="CSV: the label column (default: the last column when the file "
                         "has one more column than the model has inputs)")  # fmt: skip
    predict.add_argument("--out", metavar="CSV", default=None,
                         help="where to write the predictions (default: stdout, with the "
                         "accuracy on stderr)")  # fmt: skip
    predict.add_argument("--backend", choices=["jit", "numpy", "naive"], default="jit")
    _add_threads(predict)
    predict.set_defaults(func=cmd_predict)

    _add_bench(sub, load=bench)
    info = sub.add_parser("info", help="versions, BLAS, threads, numba cache")
    info.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``fastdnn`` command; return its exit status (2 for a user mistake)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(bench=bool(argv) and argv[0] == "bench")
    args = parser.parse_args(argv)
    try:
        _apply_threads(args)
        return args.func(args)
    except BrokenPipeError:  # e.g. `fastdnn predict ... | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit's final flush cannot fail
        return 1
    except (UserError, *USER_ERRORS) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the message
        print(f"fastdnn {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fastdnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
