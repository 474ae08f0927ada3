"""The only place Numba options are set.

Every jitted function in fastdnn is decorated with :func:`njit` from this module, so the options
below apply everywhere (a test fails if a module passes numba options itself).

Environment overrides (read and validated by :mod:`fastdnn._env`)
------------------------------------------------------------------
``FASTDNN_CACHE=0``
    Do not write compiled code to Numba's on-disk cache (default: cache, so a second process,
    e.g. the command line, does not recompile).
``FASTDNN_FASTMATH=1``
    Opt into fast-math without ``nnan``/``ninf`` (NaN and inf keep their meaning). Off by
    default: no benchmark has shown a gain worth the changed rounding. A warning says it is on.
``NUMBA_DISABLE_JIT=1``
    Numba's own switch: every kernel then runs as plain Python (slow, but the tests pass).

Where nothing can be cached (a read-only install with a read-only or missing home folder and
no ``NUMBA_CACHE_DIR``: system-wide installs, containers), Numba refuses ``cache=True`` when a
function is decorated, which used to make ``import fastdnn`` fail. fastdnn then compiles in
memory instead, with one ``RuntimeWarning`` (see :func:`njit`). How the cached code is
stamped and saved (a lock, for processes compiling at once): :mod:`fastdnn._numba_cache`.
"""

from __future__ import annotations

import warnings

import numba

from . import _numba_cache
from ._env import SETTINGS
from ._stacklevel import user_stacklevel

CACHE: bool = SETTINGS.cache
# Never 'nnan'/'ninf': divergence detection relies on NaN and inf propagating.
FASTMATH: bool | set[str] = (
    {"nsz", "arcp", "contract", "afn", "reassoc"} if SETTINGS.fast_math else False
)
if FASTMATH:
    warnings.warn(
        "FASTDNN_FASTMATH is on: kernels may round differently from the naive reference.",
        stacklevel=user_stacklevel(),
    )

JIT_DISABLED: bool = bool(numba.config.DISABLE_JIT)
if CACHE:
    _numba_cache.install_package_wide_stamp()


#: The one fast-math flag the elementwise activation loops take: ``contract`` lets LLVM fuse
#: ``a * b + c`` into one FMA instruction (one rounding instead of two, so never less
#: accurate). Their exp/tanh polynomials are chains of such steps: with it, tanh over the
#: planar net's 4 x 400 layer ran 1.5x faster (float64, Sapphire Rapids). Nothing else is
#: relaxed, and where the CPU has no FMA nothing changes.
CONTRACT: set[str] = (FASTMATH or set()) | {"contract"}
#: The flags of the one function that adds a term to a running sum (``kernels.jit._add``):
#: ``reassoc`` lets LLVM keep several partial sums in SIMD registers, so a loop that sums as
#: it goes vectorizes (measured: the relu mask with its ``db`` row sums over W3's 128 x 10000
#: layer, 1.3-2.1x faster). The order of the additions is then the compiled code's: fixed for
#: one machine (the same bits every run), possibly different on a CPU with other vector
#: widths, as BLAS results already are. Only that add carries the flag.
REASSOCIATE: set[str] = CONTRACT | {"reassoc"}


#: Vector instruction sets by decreasing width: the first one the target has is reported.
_VECTOR_ISAS = (
    ("avx512f", "AVX-512"),
    ("avx2", "AVX2"),
    ("avx", "AVX"),
    ("sve", "SVE"),
    ("neon", "NEON"),
    ("sse2", "SSE2"),
)


def compile_target() -> str:
    """What compiled code is generated for: LLVM's CPU name and the widest vector instruction
    set (plus FMA when present), e.g. ``"znver3 (AVX2, FMA)"``. It decides the vector width
    and whether multiply-adds are fused, hence the last bits of the activations and of the
    vectorized sums. ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` (portable caches) override
    the host's."""
    import llvmlite.binding as llvm

    name = numba.config.CPU_NAME or llvm.get_host_cpu_name()
    if numba.config.CPU_FEATURES is not None:
        flags = numba.config.CPU_FEATURES.split(",")
        features = {f[1:] for f in flags if f.startswith("+")}
    else:
        host = llvm.get_host_cpu_features()
        features = {f for f in host if host[f]}
    isa = [label for flag, label in _VECTOR_ISAS if flag in features][:1]
    isa += ["FMA"] if "fma" in features else []
    return f"{name} ({', '.join(isa) or 'no vector ISA known to fastdnn'})"


def njit(func=None, *, contract: bool = False, reassociate: bool = False, **overrides):
    """``numba.njit`` with fastdnn's options; usable bare (``@njit``) or called.

    ``contract=True`` compiles with :data:`CONTRACT` (FMA contraction) on top of them,
    ``reassociate=True`` with :data:`REASSOCIATE`.

    If Numba finds no folder to cache into, caching is turned off for the rest of the process
    (:data:`CACHE` becomes False) with one ``RuntimeWarning``: compiling in memory costs time
    at each start, never correctness, and an import must not fail because of a cache.
    """

    def decorate(f):
        fastmath = REASSOCIATE if reassociate else CONTRACT if contract else FASTMATH
        options = {"cache": CACHE, "fastmath": fastmath, "nogil": True, "error_model": "numpy"}
        options.update(overrides)
        return _cached_if_possible(lambda **o: numba.njit(**o)(f), options)

    return decorate if func is None else decorate(func)


def _cached_if_possible(make, options: dict):
    """``make(**options)``; if Numba finds no folder to cache into, caching is turned off for
    the process (:func:`_disable_cache`) and ``make`` runs again without it."""
    try:
        with _numba_cache.locked_saves():
            return make(**options)
    except RuntimeError as exc:  # "cannot cache function ...: no locator available ..."
        if not options["cache"] or "cannot cache" not in str(exc):
            raise
        _disable_cache(exc)
        return make(**{**options, "cache": False})


def unique_name(tag: str):
    """A decorator that appends ``_tag`` to a function's ``__qualname__``; put it under
    :func:`njit` or :func:`cfunc` on every function a factory makes (a closure), with a tag
    that names what differs (the activation, the dtype).

    Why: Numba names compiled code by qualified name, argument types and a counter that
    restarts in every process, and links each callee into its callers' cached code as a weak
    symbol (``linkonce_odr``: any definition of a name is taken to be the same code). Closures
    of one factory share a qualified name; compiled in two processes they can share the
    counter too, and a third process that loads both from the cache then runs the one it
    loaded first for both: the wrong activation, silently. Unique names make the symbols
    distinct.
    """

    def rename(f):
        f.__qualname__ = f"{f.__qualname__}_{tag}"
        return f

    return rename


def cfunc(signature):
    """``numba.cfunc`` with fastdnn's options: a C entry point compiled (and cached) when it is
    made; its ``address`` is what compiled code calls (:func:`fastdnn._native.ccall`).

    ``signature`` is a Numba signature of ``void`` over ``voidptr``, ``int64`` and ``float64``
    arguments. Under ``NUMBA_DISABLE_JIT`` the function is wrapped as a ctypes callback instead
    (pointers arrive as ``ctypes.c_void_p``, as :func:`numba.carray` takes them in Python).
    """

    def decorate(f):
        if JIT_DISABLED:
            return _PythonEntry(f, signature)
        options = {"cache": CACHE, "fastmath": FASTMATH, "error_model": "numpy"}
        return _cached_if_possible(lambda **o: numba.cfunc(signature, **o)(f), options)

    return decorate


class _PythonEntry:
    """A Python function behind a C address (``NUMBA_DISABLE_JIT``): a ctypes callback."""

    def __init__(self, f, signature):
        import ctypes

        from numba import types

        ctype = {types.voidptr: ctypes.c_void_p, types.int64: ctypes.c_int64}
        ctype[types.float64] = ctypes.c_double
        argtypes = [ctype[t] for t in signature.args]
        pointers = [t == types.voidptr for t in signature.args]

        def call(*args):
            f(*(ctypes.c_void_p(a) if p else a for a, p in zip(args, pointers, strict=True)))

        self._callback = ctypes.CFUNCTYPE(None, *argtypes)(call)  # kept alive with self
        self.address = ctypes.cast(self._callback, ctypes.c_void_p).value


def _disable_cache(reason: Exception) -> None:
    global CACHE
    CACHE = False
    warnings.warn(
        f"fastdnn: Numba cannot cache compiled code here ({reason}); compiling in memory "
        "instead, once per process. Set NUMBA_CACHE_DIR to a writable folder to keep compiled "
        "code between runs, or FASTDNN_CACHE=0 to silence this warning.",
        RuntimeWarning,
        stacklevel=user_stacklevel(),
    )


def overload(func, inline: str = "never", prefer_literal: bool = False):
    """``numba.extending.overload`` with fastdnn's options: a compile-time choice of
    implementation by argument *types* (the compiled loop uses it so that settings a run does
    not use -- an optimizer, dropout, L2 -- are not compiled at all).

    ``inline="always"`` inlines the chosen implementation at Numba's level, as
    ``njit(inline="always")`` does: what an elementwise loop calls must be, or LLVM may keep
    the call (a large body) and the loop scalar. ``prefer_literal=True`` shows the typing
    function a constant argument's value (``types.IntegerLiteral``) before its type.
    """
    from numba.extending import overload as numba_overload

    return numba_overload(
        func, jit_options={"fastmath": FASTMATH}, inline=inline, prefer_literal=prefer_literal
    )
