"""The ``fastdnn`` argument parser: every command's flags, their types and help."""

from __future__ import annotations

import argparse
import importlib

from .. import __version__
from .._types import ACTIVATIONS, OPTIMIZERS, OUTPUT_LOSS
from .._validation import INITS
from ..backends import BACKENDS
from ._demo import cmd_demo
from ._flags import (
    _beta,
    _fraction,
    _hidden_sizes,
    _non_negative_float,
    _positive_float,
    _positive_int,
    _probability,
    _seed,
)
from ._info import cmd_info
from ._messages import UserError
from ._predict import cmd_predict
from ._train import cmd_train
from ._training_setup import DEFAULT_SEED

# The choices come from the library's own tables, so the two cannot drift apart.
HIDDEN_CHOICES = tuple(ACTIVATIONS)


OUTPUT_CHOICES = tuple(OUTPUT_LOSS)


BACKEND_CHOICES = tuple(BACKENDS)


INIT_CHOICES = tuple(INITS)


OPTIMIZER_CHOICES = tuple(OPTIMIZERS)


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors reported in one line (``fastdnn train: error: ...``)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


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
    # bench sets its threads itself (and reports what ran): once, so one clamp warning
    if getattr(args, "threads", None) and args.command != "bench":
        from .. import set_num_threads

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
        "one example per row; an .h5 file (X, Y, or the course's cat files); or a .zarr "
        "folder with X (and Y), read by blocks",
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
