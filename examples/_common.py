"""Helpers shared by the example scripts: the command line, the data, timing and tables.

Not an example itself: the scripts beside it (``logistic_regression_cat.py``,
``planar_shallow.py``, ``cat_deep.py``) import it. Python puts a script's own folder first on
``sys.path``, so ``python examples/cat_deep.py`` finds this module from any working directory.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import time
from decimal import Decimal

import numpy as np

import fastdnn

ALL_BACKENDS = ("jit", "numpy", "naive")


class MissingDataError(Exception):
    """The course's cat files (or h5py, which reads them) are not available."""


# --- command line ----------------------------------------------------------------------------


def make_parser(
    description: str, *, data: bool = True, backends=ALL_BACKENDS
) -> argparse.ArgumentParser:
    """A parser with the options every example shares (``--data`` only where data is read)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if data:
        parser.add_argument(
            "--data",
            metavar="PATH",
            default=None,
            help="folder holding train_catvnoncat.h5 and test_catvnoncat.h5 "
            "(default: $FASTDNN_DATA, else ../shared/data)",
        )
    parser.add_argument(
        "--backends",
        metavar="LIST",
        default="jit,numpy",
        help="comma-separated fastdnn backends to train fastdnn.DNN with, from "
        f"{', '.join(backends)} (default: jit,numpy)",
    )
    parser.add_argument(
        "--plot",
        metavar="DIR",
        default=None,
        help="also save the course's figures as PNG files in DIR (needs matplotlib)",
    )
    parser.add_argument(
        "--threads",
        metavar="N",
        type=int,
        default=None,
        help="BLAS threads (fastdnn.set_num_threads) for every contender; on a busy shared "
        "machine 1 is often faster (default: what fastdnn's fit uses, see 'fastdnn info')",
    )
    return parser


def parse_backends(parser: argparse.ArgumentParser, text: str, allowed=ALL_BACKENDS) -> list:
    """``"jit,numpy"`` -> ``["jit", "numpy"]``; a parser error for anything not in ``allowed``."""
    backends = [b.strip() for b in text.split(",") if b.strip()]
    if not backends:
        parser.error("--backends: give at least one backend")
    for b in backends:
        if b not in allowed:
            why = ""
            if b == "naive" and b in ALL_BACKENDS:
                why = (
                    " (naive is pure Python loops: far too slow for the 12288-feature cat "
                    "images; try it in planar_shallow.py)"
                )
            parser.error(f"--backends: {b!r} is not one of {', '.join(allowed)}{why}")
    return list(dict.fromkeys(backends))  # drop repeats, keep the order


def apply_threads(parser: argparse.ArgumentParser, threads: int | None) -> None:
    """Set the BLAS threads before anything is timed, so the course's code and fastdnn run
    on the same count (a fit sets fastdnn's default at its first call otherwise: the course's
    code, timed before it, would have had the BLAS's own, one per core)."""
    if threads is None:
        from fastdnn._blas import apply_env_threads

        apply_env_threads()
        return
    if threads < 1:
        parser.error("--threads must be a positive integer")
    fastdnn.set_num_threads(threads)


def plot_dir(path: str | None):
    """The ``--plot`` folder, created; None when no figures were asked for.

    Raises MissingDataError (reported like missing data) when matplotlib is not installed.
    """
    if path is None:
        return None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingDataError(
            "--plot needs matplotlib: pip install 'fastdnn[plot]' (or pip install matplotlib)"
        ) from None
    if os.path.exists(path) and not os.path.isdir(path):
        raise MissingDataError(f"--plot: '{path}' is a file, not a folder; give a folder")
    os.makedirs(path, exist_ok=True)
    return path


# --- data ------------------------------------------------------------------------------------


def load_cat(path: str | None):
    """The course's cat pictures as it prepares them: ``(12288, m)`` columns in [0, 1].

    Returns ``train_x (12288, 209), train_y (1, 209), test_x (12288, 50), test_y (1, 50),
    classes``; the labels are the course's int64 0/1.
    """
    from fastdnn.datasets import flatten_images, load_cat_dataset

    try:
        train_x_orig, train_y, test_x_orig, test_y, classes = load_cat_dataset(path)
    except (FileNotFoundError, ImportError) as exc:
        raise MissingDataError(f"{exc} (this script: --data FOLDER)") from None
    return flatten_images(train_x_orig), train_y, flatten_images(test_x_orig), test_y, classes


def fail(message: str) -> int:
    """Print an error for the user and return the exit status for ``main``."""
    print(f"error: {message}", file=sys.stderr)
    return 2


# --- running -----------------------------------------------------------------------------------


def timed(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), seconds of wall-clock time)``."""
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def warm_up(make_net, X, Y, learning_rate: float) -> None:
    """Untimed: one step on each path a timed ``fit`` of ``make_net()`` may take.

    The first fit of a process compiles the jit code (or loads it from Numba's cache). A long
    full-batch fit on wide data (the cat pictures: 209 examples of 12288 values) takes the
    Gram path (``wide_input="auto"``), a one-step fit the direct path: warm both, or the
    timed fit pays for compiling the Gram loop (about 11 s with an empty cache).
    """
    net = make_net()
    net.fit(X, Y, learning_rate, num_iterations=1)
    if net.backend == "jit" and X.shape[1] <= X.shape[0]:
        net.wide_input = True
        net.fit(X, Y, learning_rate, num_iterations=1)


def captured(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), what it printed)``: for the course's functions that print."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = fn(*args, **kwargs)
    return result, out.getvalue()


def printed_costs(text: str) -> dict:
    """``{iteration: cost}`` from the course's ``"Cost after iteration i: c"`` lines."""
    return {int(i): float(c) for i, c in re.findall(r"Cost after iteration (\d+): (\S+)", text)}


def accuracy(predictions, Y) -> float:
    """Percentage of examples whose 0/1 prediction equals the label."""
    return 100.0 * float(np.mean(np.asarray(predictions, dtype=float) == np.asarray(Y, float)))


def max_param_difference(params_a: dict, params_b: dict) -> float:
    """Largest absolute difference between two course-style parameter dicts."""
    return max(float(np.max(np.abs(np.asarray(params_a[k]) - params_b[k]))) for k in params_b)


def machine_note() -> str:
    """One line on the machine the timings come from."""
    from threadpoolctl import threadpool_info

    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    threads = max((i["num_threads"] for i in blas), default=1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"machine: {os.cpu_count()} logical cores, load average {load:.2f} at start "
        f"(other processes count too), BLAS threads {threads}; "
        "times are wall-clock seconds, indicative only: compare ratios, not absolutes"
    )


# --- formatting --------------------------------------------------------------------------------


def fmt_cost(x) -> str:
    return "—" if x is None else f"{float(x):.12f}"


def fmt_pct(x) -> str:
    return "—" if x is None else f"{float(x):.2f} %"


def fmt_seconds(x) -> str:
    return "—" if x is None else f"{float(x):.2f} s"


def fmt_diff(x) -> str:
    return "—" if x is None else f"{float(x):.1e}"


def agrees(value, published: str, rel: float = 1e-10) -> bool:
    """Whether ``value`` equals a published number to the digits it was published with.

    The tolerance is half a unit of the published last digit, or ``rel`` relative (digits past
    the 13th or so depend on the BLAS's order of summation), whichever is larger.
    """
    exponent = Decimal(published).as_tuple().exponent
    tolerance = max(0.5 * 10.0**exponent, rel * abs(float(published))) * (1 + 1e-9)
    return abs(float(value) - float(published)) <= tolerance


def print_table(headers, rows, title: str | None = None) -> None:
    """Print a Markdown table with aligned columns (paste it into a README as is)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    if title:
        print(f"\n{title}\n")
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(line(row))
