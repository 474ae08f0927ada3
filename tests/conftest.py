"""Shared fixtures: backends with readable ids, dtypes, hypothesis profiles."""

import os
from pathlib import Path

# Under pytest-xdist (the README's `-n 2`) every worker but the first keeps its own Numba
# cache. Numba writes a function's cache index without a lock: two processes saving different
# signatures of one function at the same moment can leave an index entry that names the other
# one's compiled code (numba/numba#10128 is the same race for gufuncs), and a later process
# would load it. gw0 keeps the default (beside each module), which the serial runs reuse.
# Numba is already imported here (pyproject's filterwarnings names one of its warnings), so
# its config is set as well as the environment (which subprocesses inherit); fastdnn is not
# imported yet, and Numba reads CACHE_DIR when a cached function is made.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER not in ("", "gw0") and "NUMBA_CACHE_DIR" not in os.environ:
    import numba

    _cache = Path(__file__).resolve().parents[1] / ".numba_cache" / _WORKER
    os.environ["NUMBA_CACHE_DIR"] = numba.config.CACHE_DIR = str(_cache)

import numpy as np  # noqa: E402 - after the cache folder is chosen
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

BACKEND_NAMES = ("naive", "numpy", "jit")

# deadline=None: the first call of a jitted kernel compiles. CI draws the same examples each run.
settings.register_profile(
    "default",
    deadline=None,
    max_examples=25,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "slow", deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(params=BACKEND_NAMES)
def backend(request):
    """Every behavioural test runs on every backend."""
    return request.param


@pytest.fixture(params=["float64", "float32"])
def dtype(request):
    return np.dtype(request.param)


def tolerance(dtype):
    """rtol/atol for comparing two backends.

    float64: 1e-12 (sums of <= a few dozen terms, reordered by BLAS). float32: 1e-4, since
    the naive oracle accumulates in Python floats (float64) and the others in float32; with
    eps32 = 1.2e-7 and sums of a few dozen terms, a few 1e-6 relative is expected.
    """
    return (1e-12, 1e-12) if np.dtype(dtype) == np.float64 else (1e-4, 1e-5)
