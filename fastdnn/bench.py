"""``fastdnn bench``: the three backends and two references side by side, in seconds.

Trains each named workload (``../shared/DESIGN.md`` beside the checkout, "Named
workloads") for a shortened number of steps with every contender: the backends ``naive`` (W1
only), ``numpy`` and ``jit``, the course's own NumPy code (``course-numpy``, sigmoid and
gradient descent: not W5), PyTorch eager (``torch``, when installed; on W5 with
``torch.optim.Adam``) and, on W5, scikit-learn's ``MLPClassifier`` (``sklearn-mlp``, when
installed). The contenders run round-robin, one run each per repeat, so a burst of load from
elsewhere hits all of them alike; the table gives the median time per step and each
contender's ratio to ``jit``.

Also runnable as ``python -m fastdnn.bench``. For tracked numbers use the benchmark suites in
``bench/`` (pytest-benchmark and asv); this command answers "how fast is it here, now".
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .cli._flags import _non_negative_int, _positive_float, _positive_int

CONTENDERS = ("naive", "numpy", "jit", "course-numpy", "torch", "sklearn-mlp")


class Workload(NamedTuple):
    """A named workload; ``steps`` are those of the full run, ``shortened`` of a quick one."""

    key: str
    id: str
    layer_dims: tuple[int, ...]
    hidden: str
    m: int
    steps: int
    learning_rate: float
    seed: int
    shortened: int
    epochs: int | None = None
    batch_size: int | None = None
    output: str = "sigmoid"
    optimizer: str = "gd"


# A mirror of bench/asv/common.py, which is not installed with the package (asv must keep its
# own copy, independent of the commit it measures). tests/test_bench_smoke.py checks that both
# define the same workloads and the same data. Append-only, like the original.
WORKLOADS: dict[str, Workload] = {
    w.key: w
    for w in [
        Workload("W1", "W1_planar_2-4-1_m400", (2, 4, 1), "tanh", 400, 10_000, 1.2, 1, 1000),
        Workload(
            "W2",
            "W2_cat_12288-20-7-5-1_m209",
            (12288, 20, 7, 5, 1),
            "relu",
            209,
            2500,
            0.0075,
            2,
            50,
        ),
        Workload(
            "W3", "W3_wide_784-128-64-1_m10000", (784, 128, 64, 1), "relu", 10_000, 200, 0.1, 3, 5
        ),
        Workload(
            "W4",
            "W4_minibatch_784-128-64-1_m60000_b64",
            (784, 128, 64, 1),
            "relu",
            60_000,
            938,
            0.1,
            4,
            100,
            epochs=1,
            batch_size=64,
        ),
        Workload(
            "W5",
            "W5_softmax_adam_784-128-64-10_m60000_b128",
            (784, 128, 64, 10),
            "relu",
            60_000,
            469,
            0.001,
            5,
            100,
            epochs=1,
            batch_size=128,
            output="softmax",
            optimizer="adam",
        ),
    ]
}
#: Workloads small enough for the naive backend (Python loops, about 1 us per multiply-add),
#: and its steps per run: about 6 ms each on W1, so a few give a stable time per step.
NAIVE_WORKLOADS = ("W1",)
NAIVE_STEPS = 20


def workload_data(w: Workload, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """``X`` (n_x, m) uniform in [0, 1) and ``Y`` (1, m) of 0/1, from ``w.seed``; for a softmax
    workload ``Y`` is one-hot (n_y, m), of classes drawn uniformly.

    float32 data are the float64 draws rounded, drawn 64 rows at a time so the float64 array
    is never held whole (W4's is 376 MB).
    """
    rng = np.random.default_rng(w.seed)
    n_x, m = w.layer_dims[0], w.m
    X = np.empty((n_x, m), dtype=dtype)
    for r in range(0, n_x, 64):
        X[r : r + 64] = rng.random((min(64, n_x - r), m))
    if w.output == "softmax":
        labels = rng.integers(0, w.layer_dims[-1], size=m)
        Y = np.zeros((w.layer_dims[-1], m), dtype=dtype)
        Y[labels, np.arange(m)] = 1
        return X, Y
    Y = rng.integers(0, 2, size=(w.layer_dims[-1], m)).astype(dtype)
    return X, Y


def workload_params(w: Workload, dtype: str) -> dict[str, np.ndarray]:
    """``W[l] = randn / sqrt(n[l-1])``, ``b[l] = 0``, from ``w.seed + 1``."""
    rng = np.random.default_rng(w.seed + 1)
    dims = w.layer_dims
    params = {}
    for l in range(1, len(dims)):
        W = rng.standard_normal((dims[l], dims[l - 1])) / np.sqrt(dims[l - 1])
        params[f"W{l}"] = W.astype(dtype)
        params[f"b{l}"] = np.zeros((dims[l], 1), dtype=dtype)
    return params


# ---------------------------------------------------------------- contenders
def _runner(name: str, w: Workload, X, Y, params, threads: int) -> Callable[[int], object]:
    """A function ``run(n)`` that trains ``n`` steps of ``w`` from ``params`` with ``name``."""
    from . import _references

    lr, hidden, bs = w.learning_rate, w.hidden, w.batch_size
    if name == "course-numpy":
        return lambda n: _references.train(X, Y, params, lr, n, hidden, bs, w.seed, cost_every=n)
    if name == "torch":
        train = _references.train_torch_adam if w.optimizer == "adam" else _references.train_torch
        return lambda n: train(
            X, Y, params, lr, n, hidden, bs, w.seed, cost_every=n, threads=threads
        )
    if name == "sklearn-mlp":
        # scikit-learn's layout, examples as rows, made once outside the timing: the examples
        # of the first `shortened` batches (the only ones a run reads).
        rows = np.ascontiguousarray(X[:, : w.shortened * bs].T)
        labels = Y[:, : w.shortened * bs].argmax(axis=0)
        return lambda n: _references.train_mlp(rows, labels, w.layer_dims[1:-1], lr, n, bs, w.seed)
    from .network import DNN

    net = DNN(
        w.layer_dims, hidden=hidden, output=w.output, backend=name, dtype=X.dtype, seed=w.seed
    )

    def run(n):
        net.set_params(params)  # every run starts from the same parameters
        return net.fit(
            X, Y, lr, num_iterations=n, batch_size=bs, cost_every=n, optimizer=w.optimizer
        )

    return run


def _skip_reason(contender: str, w: Workload) -> str | None:
    """Why ``contender`` does not run ``w`` (None: it does)."""
    if contender == "naive" and w.key not in NAIVE_WORKLOADS:
        return "Python loops: one step takes seconds to minutes"
    if contender == "course-numpy" and w.output != "sigmoid":
        return "the course's code has a sigmoid output and gradient descent only"
    if contender == "sklearn-mlp" and (w.output != "softmax" or w.optimizer != "adam"):
        return "a reference for the softmax + Adam workload only"
    return None


#: Seconds of idle time before each timed run (see :func:`_time_contenders`).
IDLE_GAP = 0.2
#: A page of memory: :func:`warm_memory` writes one byte a page, which faults the page in.
PAGE_BYTES = 4096


def warm_memory(nbytes: int) -> None:
    """Write ``nbytes`` of fresh memory and free it: call right before a timed run.

    A VM whose guest reports its free memory to the host (virtio-balloon free page reporting:
    Firecracker and many cloud VMs, this project's CI machines among them) gives back memory
    that stayed free for about 2 s, and the next touch of it waits for the host to fault in
    every page. On such a VM (Sapphire Rapids class Xeon), touching 376 MB of fresh memory
    took 42-69 ms up to 1 s after the same amount was freed, 0.49-0.82 s after 2-5 s of idle.
    A timed run that allocates a large buffer (a fit's copy of ``X`` past 0.3 of an epoch,
    PyTorch's shuffled copy each epoch) would time the host by an amount that depends on how
    long the other contenders ran: W5 in float32 read 1.0 or 3.2-4.3 ms a step. Memory
    written and freed just before is what the guest hands out next, held and in use.
    """
    if nbytes >= PAGE_BYTES:
        block = np.empty(nbytes, dtype=np.uint8)
        block[::PAGE_BYTES] = 1
        del block


def warm_bytes(X) -> int:
    """Bytes for :func:`warm_memory` before a run on ``X``: room for a copy of it and as much
    again for the contender's other buffers, within a quarter of the memory this process may
    use."""
    from ._validation import memory_limit

    limit = memory_limit()
    return min(2 * X.nbytes, limit[0] // 4 if limit else 2**30)


def _time_contenders(
    runners: dict, steps: dict, repeats: int, warm: int = 0
) -> dict[str, list[float]]:
    """Seconds per step of each runner (``steps[name]`` steps per run): ``repeats`` rounds,
    round-robin within each round, so load from elsewhere hits every contender alike.
    ``warm``: bytes of fresh memory written and freed before each timed run
    (:func:`warm_memory`)."""
    for name, run in runners.items():
        # Compile, choose BLAS, allocate, outside the timing: a run of the timed length, since
        # the step count picks jit's path (W2's 50 steps take the Gram path, 1 step does not).
        run(steps[name])
    per_step: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            # OpenBLAS's and PyTorch's thread pools spin for a while after a call: the
            # contender that ran just after another library would share the cores with those
            # spinning threads. An idle gap lets them sleep, and a one-step call warms this
            # contender's own pool and caches, before its timed run; fresh memory written and
            # freed just before keeps the run's large buffers off the VM's host (warm_memory).
            time.sleep(IDLE_GAP)
            warm_memory(warm)
            run(1)
            t0 = time.perf_counter()
            run(steps[name])
            per_step[name].append((time.perf_counter() - t0) / steps[name])
    return per_step


# ---------------------------------------------------------------- report
def _format_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _format_ratio(ratio: float) -> str:
    if ratio >= 10:
        return f"{ratio:.0f}x"
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2f}x"


def machine_info(threads: int) -> dict:
    """Machine, versions and BLAS threads, for the footer and the JSON."""
    import numba
    import scipy

    from . import __version__
    from ._blas import cpu_name
    from ._numba import compile_target

    versions = {
        "python": platform.python_version(),
        "fastdnn": __version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
    }
    from ._references import torch_available

    if torch_available():
        import torch

        versions["torch"] = torch.__version__
    from ._references import sklearn_available

    if sklearn_available():
        import sklearn

        versions["scikit-learn"] = sklearn.__version__
    blas = []
    try:
        from threadpoolctl import threadpool_info

        blas = sorted(
            {
                f"{i.get('internal_api')} {i.get('version')}"
                for i in threadpool_info()
                if i.get("user_api") == "blas"
            }
        )
    except ImportError:  # pragma: no cover
        pass
    return {
        "cpu": cpu_name(),
        "compiled_for": compile_target(),
        "logical_cores": os.cpu_count(),
        "system": platform.system(),
        "versions": versions,
        "blas": blas,
        "blas_threads": threads,
    }


def _table(results: list[dict], contenders: list[str]) -> list[str]:
    """Rows of per-step time of jit and ratios of the others, as aligned text."""
    others = [c for c in contenders if c != "jit"]
    header = ["workload", "dtype", "steps", "jit/step", *others]
    rows = []
    for r in results:
        med = r["median_s_per_step"]
        jit = med.get("jit")
        cells = [r["workload"], r["dtype"], str(r["steps"]), _format_time(jit) if jit else "-"]
        for c in others:
            if c in med and jit:
                cells.append(_format_ratio(med[c] / jit))
            else:
                cells.append("skipped" if c in r["skipped"] else "-")
        rows.append(cells)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    left = 2  # workload and dtype align left, numbers right

    def fmt(row):
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )

    return [fmt(header), *[fmt(row) for row in rows]]


# ---------------------------------------------------------------- command
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``fastdnn bench`` to ``parser``."""
    parser.add_argument(
        "--workloads",
        default="W1,W2,W3,W4,W5",
        help="comma-separated workload keys (default: W1,W2,W3,W4,W5)",
    )
    parser.description = (
        "Time one gradient step of each named workload (W1 planar ... W5 softmax + Adam) on "
        "the naive, numpy and jit backends, course-style NumPy, and PyTorch and scikit-learn "
        "when installed: contenders interleaved, an idle gap before each timed run, medians. "
        "Prints time per step and each contender's ratio to jit."
    )
    parser.add_argument(
        "--dtype",
        choices=["float64", "float32", "both"],
        default="float64",
        help="the workloads' dtype (default float64; both: a row for each)",
    )
    parser.add_argument(
        "--repeats",
        type=_positive_int,
        default=3,
        help="interleaved runs per contender; the median is reported (default 3)",
    )
    parser.add_argument(
        "--threads",
        type=_non_negative_int,
        default=1,
        help="BLAS and torch threads (default 1: stable on a shared machine; at most the "
        "usable cores; 0: what a fit would use, see 'fastdnn info')",
    )
    parser.add_argument(
        "--steps-scale",
        type=_positive_float,
        default=1.0,
        help="multiply every workload's shortened step count by this",
    )
    parser.add_argument(
        "--json",
        metavar="FILE",
        default=None,
        help="also write the results and machine information to FILE",
    )


def workload_keys(text: str) -> list[str]:
    """An argparse type for ``--workloads``: ``"W1,w3"`` -> ``["W1", "W3"]``, or argparse's
    one-line error naming the known keys (for ``fastdnn bench`` and the scripts of ``bench/``)."""
    keys = [k.strip().upper() for k in str(text).split(",") if k.strip()]
    if not keys or any(k not in WORKLOADS for k in keys):
        raise argparse.ArgumentTypeError(f"must be keys among {list(WORKLOADS)}; got {text!r}")
    return keys


def _check(args) -> tuple[list[Workload], list[str]]:
    try:
        keys = workload_keys(args.workloads)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"--workloads {exc}") from None
    if args.repeats < 1:
        raise ValueError(f"--repeats must be a positive integer; got {args.repeats}")
    if args.threads < 0:
        raise ValueError(f"--threads must be >= 0 (0 keeps the default); got {args.threads}")
    if not (math.isfinite(args.steps_scale) and args.steps_scale > 0):
        raise ValueError(f"--steps-scale must be a positive finite number; got {args.steps_scale}")
    if args.json:  # before the benchmarks run, not after (a folder, a FIFO, no such folder)
        from ._atomic import check_writable

        try:
            check_writable(args.json)
        except (OSError, ValueError) as exc:
            raise ValueError(f"--json: {exc}") from None
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    return [WORKLOADS[k] for k in keys], dtypes


def run(args, out=None) -> int:
    """Run ``fastdnn bench`` with parsed ``args`` (see :func:`add_arguments`); returns 0.

    Raises
    ------
    ValueError
        For an unknown workload or a non-positive option, before any work.
    """
    out = out or sys.stdout
    workloads, dtypes = _check(args)
    from ._blas import apply_env_threads, set_num_threads
    from ._references import blas_threads, sklearn_available, torch_available

    if args.threads:
        set_num_threads(args.threads)  # clamped to the usable cores, with a warning
    else:
        apply_env_threads()  # what a fit would use (as its first call sets it)
    threads = blas_threads()  # what runs: fastdnn's contenders, and PyTorch's count
    available = {"torch": torch_available(), "sklearn-mlp": sklearn_available()}
    contenders = [c for c in CONTENDERS if available.get(c, True)]
    info = machine_info(threads)
    out.write(
        f"fastdnn bench: median seconds per gradient step over {args.repeats} "
        f"interleaved runs; ratios are time / jit time (lower is faster)\n"
    )
    out.flush()
    results = []
    for w in workloads:
        steps = max(1, round(w.shortened * args.steps_scale))
        for dtype in dtypes:
            X, Y = workload_data(w, dtype)
            params = workload_params(w, dtype)
            skipped = {}
            names = []
            for c in contenders:
                if reason := _skip_reason(c, w):
                    skipped[c] = reason
                else:
                    names.append(c)
            runners = {c: _runner(c, w, X, Y, params, threads) for c in names}
            n = {c: min(steps, NAIVE_STEPS) if c == "naive" else steps for c in names}
            per_step = _time_contenders(runners, n, args.repeats, warm_bytes(X))
            results.append(
                {
                    "workload": w.id,
                    "dtype": dtype,
                    "steps": steps,
                    "steps_by_contender": n,
                    "median_s_per_step": {c: statistics.median(t) for c, t in per_step.items()},
                    "s_per_step": per_step,
                    "skipped": skipped,
                }
            )
    lines = _table(results, contenders)
    if "torch" not in contenders:
        lines.append("torch: not installed (pip install torch to compare with PyTorch eager)")
    if any("sklearn-mlp" in r["median_s_per_step"] for r in results):
        lines.append(
            "sklearn-mlp: MLPClassifier(solver='adam', batch_size=128, max_iter=1, "
            "alpha=0), examples as rows; it draws its own initial weights"
        )
    if any("naive" in r["skipped"] for r in results):
        lines.append("naive: run on W1 only (Python loops: one step of W2-W4 takes seconds)")
    if any("naive" in r["median_s_per_step"] and r["steps"] > NAIVE_STEPS for r in results):
        lines.append(f"naive: {NAIVE_STEPS} steps per run (its time per step is what compares)")
    v = info["versions"]
    lines.append(
        f"machine: {info['cpu']} (code for {info['compiled_for']}), {info['logical_cores']} "
        f"logical cores, {info['system']}; "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + f"; BLAS threads {threads} ({', '.join(info['blas']) or 'unknown BLAS'})"
    )
    out.write("\n".join(lines) + "\n")
    if args.json:
        from ._atomic import atomic_write

        document = {"machine": info, "repeats": args.repeats, "results": results}
        atomic_write(args.json, lambda f: f.write(json.dumps(document, indent=1).encode()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m fastdnn.bench``: parse, run, and report a bad option in one line."""
    parser = argparse.ArgumentParser(prog="fastdnn bench", description=__doc__.split("\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ValueError as exc:
        sys.stderr.write(f"fastdnn bench: error: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
