"""Which BLAS should the jit loop call here? OpenBLAS and MKL, interleaved in one process.

Trains each named workload with ``FASTDNN_BLAS=numpy`` (NumPy's OpenBLAS) and
``FASTDNN_BLAS=mkl``, one fit each in turn (an idle gap and a warm-up fit before each timed
fit: BLAS thread pools spin after a call), and prints the medians per step and their ratio,
OpenBLAS time over MKL time (above 1: MKL faster). The measurements behind the default rule,
``fastdnn._blas.MKL_MIN_PRODUCT``. Needs the ``mkl`` extra.

    python bench/blas_choice.py --threads 1
    python bench/blas_choice.py --threads 2 --workloads W2 --gram

W2 runs on the direct path (``wide_input=False``) unless ``--gram`` (then 500-step fits on the
Gram path); W4 runs a whole epoch, so its per-epoch shuffled copy is included.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from fastdnn import DNN, _blas, _env, set_num_threads
from fastdnn.bench import (
    WORKLOADS,
    warm_bytes,
    warm_memory,
    workload_data,
    workload_keys,
    workload_params,
)
from fastdnn.cli._flags import _positive_int

RULES = ("numpy", "mkl")
STEPS = {"W1": 2000, "W2": 20, "W3": 3, "W4": 938, "W5": 469}


def _use(rule: str) -> None:
    _env.SETTINGS = dataclasses.replace(_env.SETTINGS, blas=rule)


def time_workload(key: str, dtype: str, rounds: int, gram: bool) -> dict[str, float]:
    """Median seconds per step for each rule."""
    w = WORKLOADS[key]
    X, Y = workload_data(w, dtype)
    steps = 500 if gram and key == "W2" else STEPS[key]
    nets = {}
    for rule in RULES:
        params = workload_params(w, dtype)
        net = DNN.from_params(params, hidden=w.hidden, output=w.output, dtype=dtype)
        net.wide_input = gram if key == "W2" else "auto"
        nets[rule] = net
    kw = {"learning_rate": w.learning_rate, "cost_every": 10**9, "optimizer": w.optimizer}
    if w.batch_size:
        kw["batch_size"] = w.batch_size
    times: dict[str, list[float]] = {rule: [] for rule in RULES}
    for r in range(rounds + 1):  # round 0 compiles and warms up
        for rule, net in nets.items():
            _use(rule)
            time.sleep(0.2)
            net.fit(X, Y, num_iterations=min(5, steps), **kw)
            time.sleep(0.2)
            warm_memory(warm_bytes(X))  # W4's copy of X: memory the VM's host has not taken
            t0 = time.perf_counter()
            net.fit(X, Y, num_iterations=steps, **kw)
            if r:
                times[rule].append((time.perf_counter() - t0) / steps)
    return {rule: statistics.median(t) for rule, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=_positive_int, default=1)
    parser.add_argument("--rounds", type=_positive_int, default=7)
    parser.add_argument("--workloads", type=workload_keys, default="W1,W2,W3,W4")
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    parser.add_argument("--gram", action="store_true", help="W2 on the Gram path")
    args = parser.parse_args(argv)
    if _blas.mkl_path() is None:
        parser.error('MKL is not installed: pip install -e ".[mkl]"')
    set_num_threads(args.threads)
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    print(f"BLAS threads {args.threads}; CPU vendor {_blas.cpu_vendor()}; medians of {args.rounds}")
    print(f"{'workload':10s} {'dtype':8s} {'OpenBLAS':>12s} {'MKL':>12s} {'OpenBLAS/MKL':>13s}")
    for key in args.workloads:
        for dtype in dtypes:
            med = time_workload(key, dtype, args.rounds, args.gram)
            name = key + ("-gram" if args.gram and key == "W2" else "")
            print(
                f"{name:10s} {dtype:8s} {med['numpy'] * 1e3:9.4f} ms {med['mkl'] * 1e3:9.4f} ms "
                f"{med['numpy'] / med['mkl']:12.2f}x",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
