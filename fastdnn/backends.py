"""The one place a backend name becomes a kernel module."""

from __future__ import annotations

from types import ModuleType

from .kernels import jit, naive, vectorized

#: ``naive``: explicit loops (the oracle); ``numpy``: vectorized; ``jit``: Numba (the product).
BACKENDS: dict[str, ModuleType] = {"naive": naive, "numpy": vectorized, "jit": jit}


def get_backend(backend: str) -> ModuleType:
    """Return the kernel module for ``backend``.

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
    try:
        return BACKENDS[backend]
    except (KeyError, TypeError):
        raise ValueError(f"backend must be one of {sorted(BACKENDS)}; got {backend!r}") from None
