"""How long does a fresh process take to train, and how much of that is fastdnn's?

A cold start: a new Python process that imports fastdnn and fits the planar network (W1's
2-4-1, tanh) for 100 steps, with the compiled code already in Numba's on-disk cache (a first
run fills it). Timed next to the floors fastdnn stands on, each a fresh process too, run in
turn (one of each per round, medians), so a burst of load elsewhere hits them all alike:

* ``numpy``: ``import numpy``;
* ``numba``: ``import numpy, numba``;
* ``numba-cached``: a minimal Numba program, one ``@njit(cache=True)`` function loaded from the
  cache and called once (Numba sets up its compiler at that first call, importing
  ``scipy.linalg`` among others: every Numba program pays it);
* ``fastdnn-import``: ``import fastdnn``;
* ``fastdnn-fit``: import plus the 100-step fit (the cold start the README quotes).

    python bench/cold_start.py --rounds 10

Wall time of the whole process, teardown at exit included (Python tearing down Numba's objects
takes a noticeable part of it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINIMAL_NUMBA = """\
import numpy as np
from numba import njit


@njit(cache=True)
def total_tanh(a):
    s = 0.0
    for x in a:
        s += np.tanh(x)
    return s


total_tanh(np.ones(10))
"""

FIT = """\
import fastdnn
from fastdnn.datasets import load_planar_dataset

X, Y = load_planar_dataset()
net = fastdnn.DNN([2, 4, 1], hidden="tanh", seed=1)
net.fit(X, Y, num_iterations=100, learning_rate=1.2)
"""


def commands(folder: Path) -> dict[str, list[str]]:
    """The command of each contender; the minimal Numba program is a file in ``folder`` (Numba
    caches only functions that live in a file)."""
    program = folder / "minimal_numba.py"
    program.write_text(MINIMAL_NUMBA)
    py = sys.executable
    return {
        "numpy": [py, "-c", "import numpy"],
        "numba": [py, "-c", "import numpy, numba"],
        "numba-cached": [py, str(program)],
        "fastdnn-import": [py, "-c", "import fastdnn"],
        "fastdnn-fit": [py, "-c", FIT],
    }


def child_env(folder: Path) -> dict[str, str]:
    """The contenders' environment: this one, with Python's bytecode caching on and its files
    kept under ``folder``.

    An installed package has its modules' bytecode (pip writes it); with
    ``PYTHONDONTWRITEBYTECODE`` set, as on some CI machines and containers, an editable
    install compiles every module from source in every process, which is not what a user's
    cold start costs. ``PYTHONPYCACHEPREFIX`` keeps the bytecode the first (untimed) round
    writes out of the installed packages' folders.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    return env


def run(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(command, check=True, cwd=cwd, env=env, capture_output=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="processes per contender")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1; got {args.rounds}")
    with tempfile.TemporaryDirectory(prefix="fastdnn-cold-") as tmp:
        folder = Path(tmp)
        contenders = commands(folder)
        env = child_env(folder)
        for command in contenders.values():  # fill the caches (Numba's, bytecode), untimed
            run(command, folder, env)
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.rounds):
            for name, command in contenders.items():
                times[name].append(run(command, folder, env))
    from fastdnn._blas import cpu_name

    print(f"CPU {cpu_name()}; Python {sys.version.split()[0]}; medians of {args.rounds}")
    print(f"{'process':16s} {'median':>9s} {'min':>9s}")
    for name, t in times.items():
        print(f"{name:16s} {statistics.median(t):8.3f}s {min(t):8.3f}s")
    fit, floor = statistics.median(times["fastdnn-fit"]), statistics.median(times["numba-cached"])
    print(f"fastdnn-fit - numba-cached: {fit - floor:+.3f} s (what fastdnn adds to Numba)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
