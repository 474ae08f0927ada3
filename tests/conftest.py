"""Shared fixtures: backends with readable ids, dtypes, hypothesis profiles."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

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
