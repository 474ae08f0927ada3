"""The one place a backend name becomes code: its kernels and its stepper.

Everything else asks :func:`get_backend` and uses what it returns; no other module tests a
backend's name.
"""

from __future__ import annotations

from types import ModuleType
from typing import NamedTuple

from ._types import BACKEND_NAMES
from .kernels import jit, naive, vectorized
from .steppers import Stepper
from .steppers.jit import JitStepper
from .steppers.python import PythonStepper


class Backend(NamedTuple):
    """An implementation: per-step kernels, and the stepper that trains with them."""

    name: str
    kernels: ModuleType
    stepper: type[Stepper]


#: ``naive``: explicit loops (the oracle); ``numpy``: vectorized; ``jit``: Numba (the product).
BACKENDS: dict[str, Backend] = {
    "naive": Backend("naive", naive, PythonStepper.for_kernels(naive)),
    "numpy": Backend("numpy", vectorized, PythonStepper.for_kernels(vectorized)),
    "jit": Backend("jit", jit, JitStepper),
}
assert tuple(BACKENDS) == BACKEND_NAMES


def _lookup(backend: str) -> Backend:
    try:
        return BACKENDS[backend]
    except (KeyError, TypeError):
        raise ValueError(f"backend must be one of {sorted(BACKENDS)}; got {backend!r}") from None


def get_backend(backend: str) -> ModuleType:
    """Return the kernel module of ``backend``.

    Parameters
    ----------
    backend : {"naive", "numpy", "jit"}
        Name of the implementation.

    Returns
    -------
    module
        A module exporting the kernels named in :data:`fastdnn.kernels.KERNEL_NAMES`.

    Raises
    ------
    ValueError
        If ``backend`` is not one of the names above.

    Examples
    --------
    >>> get_backend("numpy").__name__
    'fastdnn.kernels.vectorized'
    """
    return _lookup(backend).kernels


def get_stepper(backend: str) -> type[Stepper]:
    """Return the stepper class of ``backend`` (see :mod:`fastdnn.steppers`).

    Raises
    ------
    ValueError
        If ``backend`` is not one of ``"naive"``, ``"numpy"``, ``"jit"``.
    """
    return _lookup(backend).stepper
