"""Out-of-core training: peak memory and speed on data several times larger than the budget.

A 4 GiB ``X`` (784 x 684,784 float64, W3-shaped examples) as a NumPy memmap and as a zarr
array, both sparse (never written: zeros, no disk space used), ``Y`` zeros in memory. Each is
trained in a subprocess (784-128-64-1, relu) for one epoch of mini-batches of 1024, after a
warm-up, and the subprocess reports:

* the peak resident memory the fit added (``VmHWM`` reset just before the fit, minus the
  resident memory then), against a 1 GiB budget;
* for zarr, also under a real cap: the address space limited (``RLIMIT_AS``) to 1 GiB above the
  warmed-up process, so reading the data whole (4 GiB) would fail. A memmap cannot run under
  such a cap: mapping the file takes 4 GiB of address space, though not of memory;
* wall time and examples per second (one BLAS thread).

Zeros read from a sparse file cost no disk time: the times are those of the compute and the
copies, not of a disk. Run (minutes; writes nothing but sparse files, removed after)::

    python bench/outofcore_memory.py [--dir /tmp] [--gib 4] [--budget-mib 1024]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_X = 784
REPO = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, resource, sys, time
import numpy as np
import fastdnn
from fastdnn import DNN
path, cap_mib, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fastdnn.set_num_threads(1)
fastdnn.warmup(["float64"])
w = DNN([784, 128, 64, 1], seed=0)
w.fit(np.zeros((784, 4096)), np.zeros((1, 4096)), learning_rate=0.1, epochs=1, batch_size=1024)
if path.endswith(".zarr"):
    import zarr
    X = zarr.open_array(path, mode="r")
else:
    X = np.load(path, mmap_mode="r")
Y = np.zeros((1, m))
def status(field):
    return int(open("/proc/self/status").read().split(field + ":")[1].split()[0]) * 1024
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # VmHWM := VmRSS: the warm-up's peak does not count
rss0 = status("VmRSS")
if cap_mib:
    resource.setrlimit(resource.RLIMIT_AS, (status("VmSize") + cap_mib * 2**20,) * 2)
net = DNN([784, 128, 64, 1], seed=0)
t0 = time.perf_counter()
history = net.fit(X, Y, learning_rate=0.1, epochs=1, batch_size=1024, cost_every=10**9)
seconds = time.perf_counter() - t0
print(json.dumps({"added_mib": (status("VmHWM") - rss0) / 2**20, "seconds": seconds,
                  "steps": history.n_steps, "baseline_mib": rss0 / 2**20}))
"""


def run_probe(path: Path, cap_mib: int, m: int) -> dict:
    import json

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-c", PROBE, str(path), str(cap_mib), str(m)],
                            capture_output=True, text=True, env=env, timeout=3600)  # fmt: skip
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--gib", type=float, default=4.0)
    parser.add_argument("--budget-mib", type=int, default=1024)
    args = parser.parse_args(argv)
    m = int(args.gib * 2**30 // (8 * N_X))
    folder = Path(tempfile.mkdtemp(prefix="fastdnn-outofcore-", dir=args.dir))
    try:
        X = np.lib.format.open_memmap(folder / "X.npy", mode="w+", shape=(N_X, m))
        del X  # a sparse file: nothing written
        import zarr

        zarr.open_array(str(folder / "X.zarr"), mode="w", shape=(N_X, m), chunks=(N_X, 16384),
                        dtype="f8", fill_value=0.0)  # fmt: skip
        size = N_X * m * 8 / 2**30
        print(f"X: ({N_X}, {m:,}) float64 = {size:.2f} GiB; budget {args.budget_mib} MiB; "
              f"load {os.getloadavg()}")  # fmt: skip
        runs = [("memmap", folder / "X.npy", 0), ("zarr", folder / "X.zarr", 0),
                ("zarr, capped", folder / "X.zarr", args.budget_mib)]  # fmt: skip
        print("| data | cap (RLIMIT_AS) | peak RSS added | wall | examples/s |")
        print("|---|---|---|---|---|")
        for name, path, cap in runs:
            r = run_probe(path, cap, m)
            if "error" in r:
                print(f"| {name} | {cap or '-'} | failed: {r['error']} | | |")
                continue
            print(f"| {name} | {f'{cap} MiB' if cap else '-'} | {r['added_mib']:.0f} MiB | "
                  f"{r['seconds']:.1f} s | {m / r['seconds']:,.0f} |", flush=True)  # fmt: skip
        print(f"\nload {os.getloadavg()}, {time.strftime('%Y-%m-%d %H:%M')}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
