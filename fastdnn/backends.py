"""The one place a backend name becomes code: its kernels and its stepper.

Everything else asks :func:`get_backend` and uses what it returns; no other module tests a
backend's name.
"""

from __future__ import annotations

from types import ModuleType
from typing import NamedTuple

from ._types import BACKEND_NAMES
from .kernels import jit, naive, vectorized
from .steppers import NetSpec, Stepper, Train, gram, split
from .steppers.jit import JitStepper
from .steppers.python import PythonStepper


class Backend(NamedTuple):
    """An implementation: per-step kernels, and the stepper that trains with them."""

    name: str
    kernels: ModuleType
    stepper: type[Stepper]
    #: The wide-input (Gram) path for full-batch training when m << n_x, if the backend has one.
    wide_stepper: type[Stepper] | None = None
    #: Full-batch steps with the examples split between threads, if the backend has them.
    split_stepper: type[Stepper] | None = None


#: ``naive``: explicit loops (the oracle); ``numpy``: vectorized; ``jit``: Numba (the product).
BACKENDS: dict[str, Backend] = {
    "naive": Backend("naive", naive, PythonStepper.for_kernels(naive)),
    "numpy": Backend("numpy", vectorized, PythonStepper.for_kernels(vectorized)),
    "jit": Backend("jit", jit, JitStepper, gram.GramStepper, split.SplitStepper),
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


def select_stepper(
    backend: str,
    spec: NetSpec,
    m: int,
    *,
    batch_size: int | None,
    n_steps: int,
    cost_every: int,
    wide_input="auto",
    train: Train | None = None,
) -> type[Stepper]:
    """The stepper class that trains one ``fit``: the backend's, its wide-input one, or its
    split one.

    ``wide_input`` is :class:`fastdnn.DNN`'s setting and ``train`` the fit's Course-2
    settings; see :func:`fastdnn.steppers.gram.choose` for the rule ``"auto"`` follows and
    for when ``True`` is refused. A full-batch fit that does not take the wide-input path
    splits its examples between fastdnn's threads where :func:`fastdnn.steppers.split.choose`
    says it pays.

    Raises
    ------
    ValueError
        ``wide_input=True`` on a backend without the path, or on a setting it does not run.
    """
    b = _lookup(backend)
    if b.wide_stepper is None:
        if wide_input is True:
            have = [name for name, other in BACKENDS.items() if other.wide_stepper is not None]
            raise ValueError(
                f"wide_input=True: backend {backend!r} has no wide-input (Gram) path; the "
                f"backends with one are {have}. Use one of them, or wide_input='auto'."
            )
        return b.stepper
    wide = gram.choose(
        wide_input,
        spec,
        m,
        batch_size=batch_size,
        n_steps=n_steps,
        cost_every=cost_every,
        train=train,
    )
    if wide:
        return b.wide_stepper
    if b.split_stepper is not None and split.choose(spec, m, batch_size=batch_size, train=train):
        return b.split_stepper
    return b.stepper
