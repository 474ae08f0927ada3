"""fastdnn on the CPU against PyTorch on a GPU, in one run.

The question the speed issue asks: do these small networks train faster with fastdnn on a few
CPU cores than with PyTorch on a data-centre GPU? The GPU is launch-bound here (a W2 step is
a few dozen kernels of microseconds each), so PyTorch is timed two ways:

* ``torch-cuda``: PyTorch eager on the GPU (``_references.train_torch``; W5 with
  ``torch.optim.Adam``), the data and each step's batch indices on the GPU before the run;
* ``torch-cuda-graph``: the same step captured once as a CUDA graph and replayed
  (``_references.train_torch_graph``; gradient descent: not W5), which
  takes the Python launches out of the loop: the best a GPU user gets without writing kernels.

Each run trains the workload's full length (W1 10000 steps, W2 the course's 2500, W3 200, W4
and W5 one epoch) from the same parameters, the time including everything a fit does (the
graph's capture, PyTorch's copy of the parameters to the GPU and back; fastdnn's Gram matrix
and copy of ``X``); the data sit on the GPU before the timing, as they would in a GPU user's
loop. Contenders interleaved, idle gap and fresh memory before each (``fastdnn bench``'s
protocol), medians of ``--repeats``. Ratios are time / jit time (above 1: fastdnn is faster).

    python bench/torch_gpu.py --workloads W1,W2,W3,W4,W5 --dtype both --threads 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from fastdnn import _references as ref
from fastdnn import set_num_threads
from fastdnn._atomic import atomic_write
from fastdnn.bench import (
    WORKLOADS,
    _format_time,
    _runner,
    _table,
    _time_contenders,
    machine_info,
    warm_bytes,
    workload_data,
    workload_keys,
    workload_params,
)
from fastdnn.cli._flags import _positive_int

CONTENDERS = ("jit", "torch-cuda", "torch-cuda-graph")


def gpu_runners(w, X, Y, params, device):
    """``{name: run(n)}`` for PyTorch on ``device``, and ``{name: reason}`` for those skipped."""
    import torch

    Xd = torch.from_numpy(X).to(device)
    Yd = torch.from_numpy(Y).to(device)
    lr, hidden, bs, seed = w.learning_rate, w.hidden, w.batch_size, w.seed
    eager = ref.train_torch_adam if w.optimizer == "adam" else ref.train_torch
    runners = {"torch-cuda": lambda n: eager(Xd, Yd, params, lr, n, hidden, bs, seed, n)}
    skipped = {}
    if w.optimizer != "gd" or w.output != "sigmoid":
        skipped["torch-cuda-graph"] = "the graph runner does gradient descent, sigmoid output"
    else:
        runners["torch-cuda-graph"] = lambda n: ref.train_torch_graph(
            Xd, Yd, params, lr, n, hidden, bs, seed, n
        )
    return runners, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="torch_gpu.py", description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", type=workload_keys, default=workload_keys("W1,W2,W4"))
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    parser.add_argument("--repeats", type=_positive_int, default=5)
    parser.add_argument("--threads", type=_positive_int, default=2, help="fastdnn's threads")
    parser.add_argument("--device", default="cuda", help="PyTorch's device (default cuda)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if not ref.torch_available():
        parser.error("PyTorch is not installed")
    import torch

    try:
        cuda = torch.device(args.device).type == "cuda"
    except (RuntimeError, ValueError):  # not a device name at all
        cuda = False
    if not cuda or not torch.cuda.is_available():
        parser.error(f"--device must be a CUDA device PyTorch can use; got {args.device!r}")
    set_num_threads(args.threads)
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    print(
        "fastdnn (jit, CPU) against PyTorch on the GPU: median seconds per step of whole "
        f"trainings, {args.repeats} interleaved runs; ratios are time / jit time",
        flush=True,
    )
    results = []
    for key in args.workloads:
        w = WORKLOADS[key]
        for dtype in dtypes:
            X, Y = workload_data(w, dtype)
            params = workload_params(w, dtype)
            runners, skipped = gpu_runners(w, X, Y, params, args.device)
            runners = {"jit": _runner("jit", w, X, Y, params, args.threads), **runners}
            steps = dict.fromkeys(runners, w.steps)
            per_step = _time_contenders(runners, steps, args.repeats, warm_bytes(X))
            med = {c: statistics.median(t) for c, t in per_step.items()}
            results.append(
                {
                    "workload": w.id,
                    "dtype": dtype,
                    "steps": w.steps,
                    "median_s_per_step": med,
                    "s_per_step": per_step,
                    "skipped": skipped,
                }
            )
            runs = ", ".join(f"{c} {_format_time(t * w.steps)}" for c, t in med.items())
            print(f"  {w.key} {dtype}: whole training ({w.steps} steps) {runs}", flush=True)
            del runners  # frees this workload's GPU copies before the next
            torch.cuda.empty_cache()
    print("\n".join(_table(results, list(CONTENDERS))))
    info = machine_info(args.threads)
    info["gpu"] = torch.cuda.get_device_name(args.device)
    info["cuda"] = torch.version.cuda
    print(
        f"CPU: {info['cpu']}, fastdnn threads {args.threads} ({', '.join(info['blas'])}); "
        f"GPU: {info['gpu']}, CUDA {info['cuda']}; "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    )
    for r in results:
        for name, reason in r["skipped"].items():
            print(f"{r['workload']} {r['dtype']}: {name} skipped: {reason}")
    if args.json:
        document = {"machine": info, "repeats": args.repeats, "results": results}
        atomic_write(args.json, lambda f: f.write(json.dumps(document, indent=1).encode()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
