"""fastdnn: the deep-learning Course 1 networks, fast on the CPU.

Three implementations of every kernel (``naive`` loops, ``numpy``, Numba ``jit``), the course's
functional API for networks of any depth, and the course's own functions in
:mod:`fastdnn.course`. Nothing is computed or compiled at import.

The sub-modules :mod:`~fastdnn.datasets`, :mod:`~fastdnn.course`, :mod:`~fastdnn.io`,
:mod:`~fastdnn.datafiles`, :mod:`~fastdnn.plot` and :mod:`~fastdnn.sklearn` are attributes of
the package, imported on first use (``fastdnn.datasets.load_planar_dataset()`` works after a
plain ``import fastdnn``), so that ``import fastdnn`` stays fast and optional dependencies
(matplotlib, scikit-learn) are only needed by what uses them.
"""

import importlib

from ._blas import set_num_threads
from ._types import Act, Loss
from .backends import BACKENDS, get_backend
from .gradcheck import gradient_check
from .model import (
    LayerCache,
    compute_cost,
    initialize_parameters,
    model_backward,
    model_forward,
    predict,
    update_parameters,
)
from .network import DNN, warmup
from .train import DivergenceError, History

# The one place the version is written: pyproject.toml reads it (dynamic = ["version"]).
__version__ = "0.1.0"

#: Sub-modules imported on first attribute access (PEP 562).
_LAZY_SUBMODULES = ("course", "datafiles", "datasets", "io", "plot", "sklearn")


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        # import_module also binds the attribute on the package, so this runs once per name.
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))


__all__ = [
    "BACKENDS",
    "DNN",
    "DivergenceError",
    "History",
    "Act",
    "LayerCache",
    "Loss",
    "__version__",
    "compute_cost",
    "get_backend",
    "gradient_check",
    "initialize_parameters",
    "model_backward",
    "model_forward",
    "predict",
    "set_num_threads",
    "update_parameters",
    "warmup",
]
