"""Data-parallel full-batch training on a Dask LocalCluster against one process (issue 13).

W3-shaped network (784-128-64-1, relu, sigmoid output), X uniform in [0, 1), Y random 0/1.
For each number of examples m, the median time per full-batch step of:

* ``1 proc``: :meth:`fastdnn.DNN.fit` in this process, one BLAS thread (and ``1 proc 2T``, two);
* ``dask W``: :func:`fastdnn.dask.fit` on a ``LocalCluster`` of W single-threaded worker
  processes (W = 1, 2), one block per worker, the blocks generated on the workers.

Also per step, on the cluster: the bytes that crossed the loopback interface (``/proc/net/dev``:
everything Dask sent, control messages included) and the bytes workers sent each other or the
client (``transfer_outgoing_bytes_total``); and CPU seconds per step of the busiest worker and of
this process (the driver, and the LocalCluster's scheduler, which runs inside it): on a shared
machine CPU time still measures the work when wall time measures the neighbours. Contenders are
interleaved and each is measured ``--repeats`` times; the table reports medians. The machine's
load is printed with the results: rerun when it is high.

Run (not part of the test suite; minutes)::

    python bench/dask_scaling.py                   # m from 1,000 to 200,000
    python bench/dask_scaling.py --m 200000 --repeats 5
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import platform
import statistics
import sys
import time

import numpy as np

from fastdnn.cli._flags import _positive_int

DIMS = (784, 128, 64, 1)
M_DEFAULT = (1_000, 3_000, 10_000, 30_000, 100_000, 200_000)


def loopback_bytes() -> int:
    """Bytes received on the loopback interface so far (Linux), or -1."""
    try:
        for line in open("/proc/net/dev"):
            name, _, rest = line.partition(":")
            if name.strip() == "lo":
                return int(rest.split()[0])
    except OSError:
        pass
    return -1


def steps_for(seconds_per_step: float, budget: float = 3.0) -> int:
    return int(min(50, max(3, budget / max(seconds_per_step, 1e-4))))


@functools.lru_cache(maxsize=1)
def in_memory_data(m: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((DIMS[0], m)), (rng.random((1, m)) < 0.5).astype(np.float64)


def time_in_process(m: int, threads: int, steps: int) -> tuple[float, float]:
    import fastdnn
    from fastdnn import DNN

    fastdnn.set_num_threads(threads)
    X, Y = in_memory_data(m)
    net = DNN(list(DIMS), seed=1)
    net.fit(X, Y, learning_rate=0.1, num_iterations=1, cost_every=10**9)  # warm (compile)
    cpu = time.process_time()
    history = net.fit(X, Y, learning_rate=0.1, num_iterations=steps, cost_every=10**9)
    cpu = (time.process_time() - cpu) / history.n_steps
    return history.wall_time / history.n_steps, cpu


def time_on_cluster(client, m: int, workers: int, steps: int) -> dict:
    import dask.array as da

    import fastdnn.dask as fdask
    from fastdnn import DNN

    width = -(-m // workers)  # one block per worker
    rng = da.random.default_rng(0)
    X = rng.random((DIMS[0], m), chunks=(DIMS[0], width))  # generated on the workers
    Y = (rng.random((1, m), chunks=(1, width)) < 0.5).astype(np.float64)
    X, Y = client.persist([X, Y])
    net = DNN(list(DIMS), seed=1)
    fdask.fit(net, X, Y, client=client, learning_rate=0.1, num_iterations=1)  # warm

    def counters():
        sent = client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total)
        cpu = client.run(time.process_time)  # CPU seconds of each worker process
        # A LocalCluster's scheduler runs in this process: its CPU time is in the driver's.
        return sum(sent.values()), max(cpu.values()), time.process_time(), loopback_bytes()

    before = counters()
    history = fdask.fit(net, X, Y, client=client, learning_rate=0.1, num_iterations=steps,
                        cost_every=10**9)  # fmt: skip
    after = counters()
    del X, Y
    n = history.n_steps
    sent, worker_cpu, driver_cpu, lo = ((b - a) / n for a, b in zip(before, after, strict=True))
    # Counted over the whole fit: its set-up (persist, checks) adds a few small messages.
    return {
        "seconds": history.wall_time / n,
        "loopback_bytes": lo if before[-1] >= 0 else None,
        "worker_sent_bytes": sent,
        "busiest_worker_cpu_s": worker_cpu,
        "driver_cpu_s": driver_cpu,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--m", type=_positive_int, nargs="+", default=list(M_DEFAULT))
    parser.add_argument("--repeats", type=_positive_int, default=3)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.json:  # before minutes of benchmarks, not after
        from fastdnn._atomic import check_writable

        try:
            check_writable(args.json)
        except (OSError, ValueError) as exc:
            parser.error(f"--json: {exc}")

    import distributed

    import fastdnn

    logging.getLogger("distributed").setLevel(logging.ERROR)
    fastdnn.warmup(["float64"])
    n_params = sum(DIMS[i] * (DIMS[i - 1] + 1) for i in range(1, len(DIMS)))
    results: dict = {"m": {}, "params": n_params, "theta_bytes": 8 * n_params}
    clusters = {}
    try:
        for w in (1, 2):
            lc = distributed.LocalCluster(
                n_workers=w,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            clusters[w] = (lc, distributed.Client(lc, set_as_default=False))
        for m in args.m:
            row: dict = {}
            probe, _ = time_in_process(m, 1, 1)
            steps = steps_for(probe)
            for _ in range(args.repeats):  # interleaved: every contender once per round
                for threads in (1, 2):
                    wall, cpu = time_in_process(m, threads, steps)
                    row.setdefault(f"1 proc {threads}T", []).append(wall)
                    row.setdefault(f"1 proc {threads}T cpu_s", []).append(cpu)
                for w, (_, client) in clusters.items():
                    r = time_on_cluster(client, m, w, steps)
                    row.setdefault(f"dask {w}", []).append(r["seconds"])
                    row.setdefault(f"dask {w} loopback B", []).append(r["loopback_bytes"])
                    row.setdefault(f"dask {w} worker-sent B", []).append(r["worker_sent_bytes"])
                    for key in ("busiest_worker_cpu_s", "driver_cpu_s"):
                        row.setdefault(f"dask {w} {key}", []).append(r[key])
            results["m"][m] = {k: statistics.median(v) for k, v in row.items() if None not in v}
            print(f"m={m}: " + ", ".join(f"{k} {v:.4g}" for k, v in results["m"][m].items()),
                  flush=True)  # fmt: skip
    finally:
        for lc, client in clusters.values():
            client.close()
            lc.close()
    results["machine"] = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load": os.getloadavg(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "dask": __import__("dask").__version__,
        "distributed": distributed.__version__,
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    print()
    print("| m | 1 proc 1T | 1 proc 2T | dask 1 | dask 2 | dask 2 / 1 proc 1T | "
          "loopback MB/step (2 workers) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for m, r in results["m"].items():
        print(f"| {m:,} | {1e3 * r['1 proc 1T']:.1f} ms | {1e3 * r['1 proc 2T']:.1f} ms | "
              f"{1e3 * r['dask 1']:.1f} ms | {1e3 * r['dask 2']:.1f} ms | "
              f"{r['dask 2'] / r['1 proc 1T']:.2f} | "
              f"{r.get('dask 2 loopback B', float('nan')) / 1e6:.2f} |")  # fmt: skip
    print(f"\ntheta: {n_params:,} parameters, {8 * n_params / 1e6:.2f} MB in float64; "
          f"load average {os.getloadavg()}")  # fmt: skip
    if args.json:
        from fastdnn._atomic import atomic_write

        atomic_write(args.json, lambda f: f.write(json.dumps(results, indent=1).encode()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
