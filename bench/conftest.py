"""Fixtures of the pytest-benchmark suite: shared workloads, threads, provenance.

Run once, untimed, as a smoke test (the repo's ``addopts`` has ``--benchmark-disable``)::

    pytest bench

Real timing, then the ratio table (``--dist no``: the ``addopts`` ``--dist loadfile`` of the
tests makes pytest-xdist active, and pytest-benchmark then disables itself)::

    pytest bench --benchmark-enable --dist no --benchmark-json=b.json
    python bench/ratios.py b.json
"""

from __future__ import annotations

import importlib.util
import platform
import shlex
import sys
from pathlib import Path

import pytest


def _load_common():
    # bench/asv/common.py is the one definition of shapes and workloads (asv reads it too).
    # It cannot be imported as ``asv.common``: that name is the asv package itself. So it is
    # loaded from its path, once, under a name of its own that the test modules import.
    name = "fastdnn_bench_common"
    if name not in sys.modules:
        path = Path(__file__).parent / "asv" / "common.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


common = _load_common()


@pytest.fixture(scope="session", autouse=True)
def blas_threads():
    """Every benchmark runs with the same BLAS threads (``FASTDNN_NUM_THREADS``, default 1)."""
    return common.limit_blas_threads()


@pytest.fixture(params=common.BACKENDS)
def backend(request):
    """A fastdnn backend: ``naive``, ``numpy`` or ``jit``."""
    return request.param


@pytest.fixture(params=common.DTYPES)
def dtype(request):
    return request.param


@pytest.fixture
def label(benchmark):
    """``label(contender, kernel, shape_id, dtype, steps=None)`` names a benchmark for
    ``bench/ratios.py``.

    The group ``kernel|shape_id|dtype`` puts the contenders of one problem side by side (each
    dtype apart: float32 against float64 is not a ratio anyone asks for); ``contender`` is the
    column the benchmark goes in; ``steps``, for training, lets contenders that ran different
    numbers of steps be compared per step.
    """

    def _label(contender: str, kernel: str, shape_id: str, dtype: str, steps=None) -> None:
        benchmark.group = f"{kernel}|{shape_id}|{dtype}"
        benchmark.extra_info["contender"] = contender
        if steps is not None:
            benchmark.extra_info["steps"] = int(steps)

    return _label


def pytest_configure(config):
    # pytest-benchmark disables itself, with a warning that scrolls away, when pytest-xdist
    # is active: a timed run would write no times (and ratios.py then had no file to read).
    if config.getoption("benchmark_enable", False) and config.getoption("dist", "no") != "no":
        raise pytest.UsageError(
            "--benchmark-enable needs --dist no: the tests' addopts has --dist loadfile, and "
            "pytest-benchmark times nothing under pytest-xdist"
        )


def pytest_benchmark_update_machine_info(config, machine_info):
    """Record what a ratio table's footer needs: versions, BLAS threads, the command."""
    import numba
    import numpy
    import scipy

    import fastdnn

    versions = {
        "python": platform.python_version(),
        "fastdnn": fastdnn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
    }
    try:
        import torch
    except ImportError:
        pass
    else:
        versions["torch"] = torch.__version__
    try:
        import sklearn
    except ImportError:
        pass
    else:
        versions["scikit-learn"] = sklearn.__version__
    machine_info["fastdnn_versions"] = versions
    machine_info["fastdnn_blas_threads"] = common.bench_threads()
    machine_info["fastdnn_command"] = shlex.join(["pytest", *sys.argv[1:]])
