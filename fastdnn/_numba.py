"""The only place Numba options are set.

Every jitted function in fastdnn is decorated with :func:`njit` from this module, so the options
below apply everywhere (a test fails if a module passes numba options itself).

Environment overrides
---------------------
``FASTDNN_CACHE=0``
    Do not write compiled code to Numba's on-disk cache (default: cache, so a second process,
    e.g. the command line, does not recompile).
``FASTDNN_FASTMATH=1``
    Opt into fast-math without ``nnan``/``ninf`` (NaN and inf keep their meaning). Off by
    default: no benchmark has shown a gain worth the changed rounding. A warning says it is on.
``NUMBA_DISABLE_JIT=1``
    Numba's own switch: every kernel then runs as plain Python (slow, but the tests pass).
"""

from __future__ import annotations

import os
import warnings

import numba


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


CACHE: bool = _env_flag("FASTDNN_CACHE", True)
# Never 'nnan'/'ninf': divergence detection relies on NaN and inf propagating.
FASTMATH: bool | set[str] = (
    {"nsz", "arcp", "contract", "afn", "reassoc"} if _env_flag("FASTDNN_FASTMATH", False) else False
)
if FASTMATH:
    warnings.warn(
        "FASTDNN_FASTMATH is on: kernels may round differently from the naive reference.",
        stacklevel=2,
    )

JIT_DISABLED: bool = bool(numba.config.DISABLE_JIT)


def njit(func=None, **overrides):
    """``numba.njit`` with fastdnn's options; usable bare (``@njit``) or called."""
    options = {"cache": CACHE, "fastmath": FASTMATH, "nogil": True, "error_model": "numpy"}
    options.update(overrides)
    if func is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(func)
