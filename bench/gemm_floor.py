"""How close is ``jit`` to the matrix products it cannot avoid? (the "GEMM floor")

For each named workload, times every matrix product of one training step on its own, with each
BLAS library the process has (NumPy's and SciPy's OpenBLAS builds, and fastdnn's plain loops for
the tiny ones), inside a compiled loop so no Python call overhead is counted. Two floors:

* ``floor``: the best library for each product (what no implementation can beat with these
  libraries);
* ``rule``: the products with the libraries fastdnn's deterministic rule picks.

Then trains the workload with ``DNN(backend="jit")`` for the shortened number of steps
(interleaved with the product timings, medians of several rounds) and prints time per step and
its ratio to each floor. Everything above ``rule`` is the elementwise passes, the update, the
batch gather and the Python between chunks.

    python bench/gemm_floor.py --workloads W1,W2,W3,W4 --dtype both --threads 1
    python bench/gemm_floor.py --workloads W4 --epoch    # W4 as a whole epoch trains
    python bench/gemm_floor.py --workloads W4 --epoch 3  # three epochs: one copy of X in three
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from fastdnn import DNN, _blas, set_num_threads
from fastdnn._numba import njit
from fastdnn.bench import (
    IDLE_GAP,
    WORKLOADS,
    warm_bytes,
    warm_memory,
    workload_data,
    workload_keys,
    workload_params,
)
from fastdnn.cli._flags import _non_negative_int, _positive_int

NAMES = {
    _blas.USE_NUMPY_BLAS: "numpy",
    _blas.USE_SCIPY_BLAS: "scipy",
    _blas.USE_MKL: "mkl",
    _blas.USE_LOOPS: "loops",
}


@njit
def _repeat(n, code, blas, A, ta, B, tb, C):
    for _ in range(n):
        _blas.gemm(blas, code, A, ta, B, tb, C)


def product_times(products, dtype, rounds, gap=0.0):
    """Median seconds of each product with each library: ``{code: [t per product]}``.

    ``gap``: seconds of idle before each library's timed run. With more than one thread,
    the library that ran before leaves its pool spinning on the cores for a while; without a
    gap the next library shares them and its products time slow.
    """
    blas, available = _blas.gemm_functions(dtype)
    codes = sorted((available - {_blas.USE_NUMBA_DOT}) | {_blas.USE_LOOPS})
    rng = np.random.default_rng(0)
    out = {c: [] for c in codes}
    for M, N, K, ta, tb in products:
        A = rng.random((K, M) if ta else (M, K)).astype(dtype)
        B = rng.random((N, K) if tb else (K, N)).astype(dtype)
        C = np.empty((M, N), dtype=dtype)
        big = M * N * K > _blas.SMALL_PRODUCT * 64
        # Several calls a timing, about 8 ms of work at 50 GFLOP/s, except the huge: a single
        # call after the idle gap timed the pool's waking with it (MKL at 2 threads: W4's
        # products 803, 182, 73 us against 95, 78, 10 in a loop, as a fit calls them).
        reps = max(1, round(2e8 / (M * N * K)))
        samples = {c: [] for c in codes}
        for c in codes:
            if c == _blas.USE_LOOPS and big:
                continue  # loops are for tiny products only
            _repeat(1, c, blas, A, ta, B, tb, C)
        for _ in range(rounds):
            for c in codes:
                if c == _blas.USE_LOOPS and big:
                    continue
                if gap:
                    time.sleep(gap)
                _repeat(2, c, blas, A, ta, B, tb, C)  # wake this library's threads
                t0 = time.perf_counter()
                _repeat(reps, c, blas, A, ta, B, tb, C)
                samples[c].append((time.perf_counter() - t0) / reps)
        for c in codes:
            out[c].append(statistics.median(samples[c]) if samples[c] else float("inf"))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", type=workload_keys, default="W1,W2,W3,W4")
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    parser.add_argument("--threads", type=_non_negative_int, default=1)
    parser.add_argument("--rounds", type=_positive_int, default=5)
    parser.add_argument(
        "--epoch",
        type=_positive_int,
        nargs="?",
        const=1,
        default=0,
        metavar="N",
        help="mini-batch workloads train N whole epochs (default 1; from the copy of X made in "
        "the first epoch's shuffle, its batches sliced, as a real fit does; later epochs "
        "gather from the copy) instead of the shortened step count (gathered from X)",
    )
    parser.add_argument(
        "--show-rounds",
        action="store_true",
        help="also print each round's jit time per step (the spread between rounds, which the "
        "medians hide: at 2 threads on a shared VM it moved 10-15%% between runs)",
    )
    args = parser.parse_args(argv)
    if args.threads > 0:
        set_num_threads(args.threads)
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    gap = IDLE_GAP if args.threads != 1 else 0.0  # one thread: no pool spins
    print(f"BLAS threads {args.threads}; idle gap {gap} s before each timed run; "
          f"medians of {args.rounds} rounds; seconds per step")  # fmt: skip
    print(f"{'workload':38s} {'dtype':8s} {'floor':>10s} {'rule':>10s} {'jit':>10s} "
          f"{'jit/floor':>9s} {'jit/rule':>8s}  libraries (rule)")  # fmt: skip
    for key in args.workloads:
        w = WORKLOADS[key]
        for dtype in dtypes:
            X, Y = workload_data(w, dtype)
            params = workload_params(w, dtype)
            products = _blas.step_products(w.layer_dims, w.batch_size or w.m)
            full = w.batch_size is None  # the rule treats full batches apart
            rule = _blas.choose(w.layer_dims, w.batch_size or w.m, dtype, full_batch=full)
            net = DNN(w.layer_dims, hidden=w.hidden, output=w.output, dtype=dtype, seed=w.seed)
            epoch = -(-w.m // w.batch_size) if w.batch_size else 0
            steps = args.epoch * epoch if args.epoch and w.batch_size else w.shortened
            fit = dict(batch_size=w.batch_size, cost_every=steps, optimizer=w.optimizer)
            net.set_params(params)
            # compile, at the timed length: it picks the path (W2: the Gram path)
            net.fit(X, Y, w.learning_rate, num_iterations=steps, **fit)
            jit_times = []
            per_lib = {}
            for _ in range(args.rounds):
                net.set_params(params)
                time.sleep(gap)
                # The product timings above idle for seconds: the VM's guest gives the copy's
                # freed pages back to its host, and the fit's copy of X would wait on them.
                warm_memory(warm_bytes(X))
                t0 = time.perf_counter()
                net.fit(X, Y, w.learning_rate, num_iterations=steps, **fit)
                jit_times.append((time.perf_counter() - t0) / steps)
                for c, ts in product_times(products, dtype, 1, gap).items():
                    per_lib.setdefault(c, []).append(ts)
            med = {c: np.median(np.array(v), axis=0) for c, v in per_lib.items()}
            floor = float(np.sum(np.min(np.stack(list(med.values())), axis=0)))
            rule_time = float(sum(med[c][i] for i, c in enumerate(rule)))
            jit = statistics.median(jit_times)
            libs = ",".join(sorted({NAMES.get(c, "np.dot") for c in rule}))
            times = f"{floor * 1e6:8.1f}us {rule_time * 1e6:8.1f}us {jit * 1e6:8.1f}us"
            ratios = f"{jit / floor:8.2f}x {jit / rule_time:7.2f}x"
            print(f"{w.id:38s} {dtype:8s} {times} {ratios}  {libs}")
            if args.show_rounds:
                rounds = ", ".join(f"{t * 1e6:.1f}" for t in jit_times)
                print(f"{'':38s} {dtype:8s} jit rounds (us a step): {rounds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
