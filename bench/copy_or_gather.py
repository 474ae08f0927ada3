"""From how long a fit does copying ``X`` beat gathering its batches' columns? (this machine)

A mini-batch fit on a C-ordered ``(n_x, m)`` ``X`` either gathers every batch's columns from
``X`` (one cache line per value) or first copies ``X`` with its examples contiguous, in the
first epoch's shuffle (its batches are then slices); ``network._examples_contiguous_copy``
decides by the fit's length: 0.3 of an epoch in float64, 0.15 in float32. This script trains
W4 (784-128-64-1, batch 64, 60000 examples) for fractions of an epoch both ways, in turn
(medians), and prints the ratio gather time / copy time: above 1, the copy pays. The copy runs
on fastdnn's threads (``--threads``, default 1), the gathers on one.

    python bench/copy_or_gather.py --fractions 0.1,0.25,0.5 --dtype both
    python bench/copy_or_gather.py --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from unittest import mock

from fastdnn import DNN, network, set_num_threads
from fastdnn._blas import cpu_name
from fastdnn.bench import WORKLOADS, workload_data, workload_params
from fastdnn.cli._flags import _positive_int


def fit_seconds(net, params, X, Y, steps: int, copy: bool) -> float:
    """One fit of ``steps`` W4 steps, the copy forced on or off."""
    w = WORKLOADS["W4"]
    net.set_params(params)
    with mock.patch.object(network, "_examples_contiguous_copy", lambda *a: copy):
        t0 = time.perf_counter()
        net.fit(X, Y, w.learning_rate, num_iterations=steps, batch_size=w.batch_size,
                cost_every=steps)  # fmt: skip
        return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", default="0.1,0.25,0.5", help="of an epoch, comma-separated")
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=_positive_int, default=1, help="fastdnn's threads")
    args = parser.parse_args(argv)
    fractions = [float(f) for f in args.fractions.split(",")]
    if any(not 0 < f <= 1 for f in fractions) or args.rounds < 1:
        parser.error("fractions must lie in (0, 1] and --rounds be at least 1")
    set_num_threads(args.threads)
    w = WORKLOADS["W4"]
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    threads = f"{args.threads} thread" + "s" * (args.threads > 1)
    print(f"CPU {cpu_name()}; W4, {threads}; medians of {args.rounds}")
    header = ("dtype", "epoch", "steps", "copy", "gather", "gather/copy")
    print("{:8s} {:>6s} {:>6s} {:>9s} {:>9s} {:>12s}".format(*header))
    for dtype in dtypes:
        X, Y = workload_data(w, dtype)
        params = workload_params(w, dtype)
        net = DNN(w.layer_dims, hidden=w.hidden, dtype=dtype, seed=w.seed)
        for copy in (True, False):  # compile both paths
            fit_seconds(net, params, X, Y, 2, copy)
        for f in fractions:
            steps = max(1, int(f * w.m / w.batch_size))
            times: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(args.rounds):
                for copy in (True, False):
                    time.sleep(0.1)
                    times[copy].append(fit_seconds(net, params, X, Y, steps, copy))
            c, g = statistics.median(times[True]), statistics.median(times[False])
            ms = f"{c * 1e3:7.0f}ms {g * 1e3:7.0f}ms"
            print(f"{dtype:8s} {f:6.2f} {steps:6d} {ms} {g / c:11.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
