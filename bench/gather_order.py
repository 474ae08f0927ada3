"""Which order gathers a mini-batch from a C-ordered ``X`` faster here: one example at a time,
or one row of ``X`` at a time? (``fastdnn.steppers.jit.GATHER_BY_ROWS``)

Times the jit loop's own ``gather_batch`` both ways on W4's data (784 x 60000), 6400 random
examples in batches of 64, 256 and 1024, interleaved, medians; prints microseconds per 64
examples and the ratio examples / rows (above 1: by rows is faster).

    python bench/gather_order.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from fastdnn._blas import cpu_name
from fastdnn.bench import WORKLOADS, workload_data
from fastdnn.cli._flags import _positive_int
from fastdnn.steppers import Workspace
from fastdnn.steppers import _jit_loop as loop
from fastdnn.steppers.jit import gather_by_rows

EXAMPLES = 6400


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=_positive_int, default=5)
    args = parser.parse_args(argv)
    w = WORKLOADS["W4"]
    print(f"CPU {cpu_name()}; W4's X, 1 thread; medians of {args.rounds}; "
          f"this CPU gathers by rows: {gather_by_rows()}")  # fmt: skip
    print(f"{'dtype':8s} {'batch':>6s} {'examples':>10s} {'rows':>10s} {'examples/rows':>14s}")
    for dtype in ("float64", "float32"):
        X, Y = workload_data(w, dtype)
        data = loop.Data(X, False, Y)
        order = np.random.default_rng(0).permutation(X.shape[1]).astype(np.int64)
        for b in (64, 256, 1024):
            ws = Workspace(w.layer_dims, b, np.dtype(dtype), minibatch=True)
            work = loop.Work(ws.acts, ws.ZL, ws.D, ws.E, ws.Xb, ws.Yb)
            times: dict[bool, list[float]] = {False: [], True: []}
            for r in range(args.rounds + 1):  # round 0 compiles
                for by_rows in (False, True):
                    time.sleep(0.05)
                    t0 = time.perf_counter()
                    for start in range(0, EXAMPLES, b):
                        loop.gather_batch(data, order, start, b, work, by_rows)
                    if r:
                        times[by_rows].append((time.perf_counter() - t0) / EXAMPLES * 64)
            e, r_ = statistics.median(times[False]), statistics.median(times[True])
            print(f"{dtype:8s} {b:6d} {e * 1e6:8.0f}us {r_ * 1e6:8.0f}us {e / r_:13.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
