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
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _package_stamp() -> tuple:
    """(name, mtime, size) of every source file of the package."""
    stamp = []
    for folder, _, files in os.walk(_PACKAGE_DIR):
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                stamp.append((os.path.relpath(os.path.join(folder, name), _PACKAGE_DIR),
                              st.st_mtime, st.st_size))  # fmt: skip
    return tuple(sorted(stamp))


def _install_package_wide_cache_stamp() -> None:
    """Invalidate fastdnn's cached machine code when *any* of its source files changes.

    Numba checks only the file that defines a function, but the training loop inlines kernels
    from other files: after an edit of ``kernels/jit.py``, the cached training loop would
    still run the old kernel. So, for functions defined in this package, the cache's source
    stamp covers every file of the package. (Numba's locator classes are internal API: if they
    change, this quietly does nothing and Numba's own per-file check remains.)
    """
    try:
        from numba.core import caching

        bases = [caching.UserProvidedCacheLocator, caching.InTreeCacheLocator,
                 caching.UserWideCacheLocator]  # fmt: skip
        ours = []
        for base in bases:

            class PackageWide(base):
                @classmethod
                def from_function(cls, py_func, py_file):
                    if not os.path.abspath(py_file).startswith(_PACKAGE_DIR + os.sep):
                        return None
                    return super().from_function(py_func, py_file)

                def get_source_stamp(self):
                    return _package_stamp()

            PackageWide.__name__ = f"FastdnnPackageWide{base.__name__}"
            ours.append(PackageWide)
        caching.CacheImpl._locator_classes[:0] = ours
    except Exception:  # pragma: no cover - depends on numba internals
        pass


if CACHE:
    _install_package_wide_cache_stamp()


def njit(func=None, **overrides):
    """``numba.njit`` with fastdnn's options; usable bare (``@njit``) or called."""
    options = {"cache": CACHE, "fastmath": FASTMATH, "nogil": True, "error_model": "numpy"}
    options.update(overrides)
    if func is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(func)
