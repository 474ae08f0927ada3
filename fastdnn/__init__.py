"""fastdnn: the deep-learning Course 1 networks, fast on the CPU.

Three implementations of every kernel (``naive`` loops, ``numpy``, Numba ``jit``), the course's
functional API for networks of any depth, and the course's own functions in
:mod:`fastdnn.course`. Nothing is computed or compiled at import.
"""

from ._blas import set_num_threads
from ._types import Act, Loss
from .backends import BACKENDS, get_backend
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

__version__ = "0.1.0"

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
    "initialize_parameters",
    "model_backward",
    "model_forward",
    "predict",
    "set_num_threads",
    "update_parameters",
    "warmup",
]
