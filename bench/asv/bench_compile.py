"""Numba compile time: a fresh process that imports fastdnn and trains one step.

With ``FASTDNN_CACHE=0`` every jitted function compiles from scratch (what a user meets after
an upgrade, or where the cache directory is not writable); with the cache on, the same process
loads compiled code from disk (every later run of the command line). ``time_import`` is the
floor both include: starting Python and importing fastdnn, NumPy, SciPy and Numba.
numba-benchmark keeps compile time in a suite of its own for the same reason: it must never
leak into the timings of ``bench_kernels`` and ``bench_train``.
"""

import os
import subprocess
import sys

# One step of each compiled path. The data are tiny: only compilation costs time here.
_SCRIPT = """
import numpy as np
import fastdnn
dtype, what = {dtype!r}, {what!r}
rng = np.random.default_rng(0)
X = rng.random((2, 16)).astype(dtype)
Y = (X[:1] > 0.5).astype(dtype)
if what == "full_batch":
    fastdnn.DNN([2, 4, 1], hidden="tanh", dtype=dtype, seed=0).fit(X, Y, 0.1, num_iterations=1)
elif what == "minibatch":
    fastdnn.DNN([2, 4, 1], hidden="tanh", dtype=dtype, seed=0).fit(
        X, Y, 0.1, epochs=1, batch_size=8)
else:
    p = fastdnn.initialize_parameters([2, 4, 1], seed=0, dtype=dtype)
    AL, caches = fastdnn.model_forward(X, p, "tanh", backend="jit")
    g = fastdnn.model_backward(AL, Y, caches, "tanh", backend="jit")
    fastdnn.update_parameters(p, g, 0.1, backend="jit")
"""


def _run(code, cache):
    env = dict(os.environ, FASTDNN_CACHE="1" if cache else "0", FASTDNN_NUM_THREADS="1")
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


class Compile:
    """Wall time of a fresh process: ``time_fresh`` compiles, ``time_cached`` loads."""

    params = [["full_batch", "minibatch", "functional"], ["float64"]]
    param_names = ["path", "dtype"]
    timeout = 300
    number = 1
    repeat = (1, 3, 60.0)
    rounds = 1
    warmup_time = 0.0

    def setup(self, what, dtype):
        self.code = _SCRIPT.format(dtype=dtype, what=what)
        _run(self.code, cache=True)  # fill the on-disk cache for time_cached

    def time_fresh(self, what, dtype):
        _run(self.code, cache=False)

    def time_cached(self, what, dtype):
        _run(self.code, cache=True)


class Import:
    """Starting Python and ``import fastdnn``: the floor under every ``Compile`` time."""

    number = 1
    repeat = (1, 5, 20.0)
    rounds = 1
    warmup_time = 0.0

    def time_import(self):
        _run("import fastdnn", cache=True)
