"""Every ``FASTDNN_*`` environment variable, read and validated in one place, once per process.

They are read when fastdnn is imported. A value that is not valid stops the import with a
``ValueError`` naming the variable, its value and the valid values: the same error every time,
before any work, rather than a failure at some later call (or a silent fallback to the
default).

``FASTDNN_CACHE``
    ``1``/``true``/``yes``/``on`` (default) or ``0``/``false``/``no``/``off``: keep compiled
    code in Numba's on-disk cache. See :mod:`fastdnn._numba`.
``FASTDNN_FASTMATH``
    Same spellings, default off: fast-math without ``nnan``/``ninf``, with a warning.
``FASTDNN_BLAS``
    Which BLAS the jit loop calls: one of :data:`BLAS_RULES`, default :data:`BLAS_DEFAULT`.
    See :func:`fastdnn._blas.choose`.
``FASTDNN_NUM_THREADS``
    A positive integer: BLAS threads, applied at the first training call. More than the cores
    this process may run on is clamped to that number, with a warning (see
    :func:`fastdnn.set_num_threads`).

An empty value is the same as an unset one. Spellings are case-insensitive. When the process
is the ``fastdnn`` command (``fastdnn ...`` or ``python -m fastdnn ...``), an invalid value
is the command's one-line error and exit status 2 instead of a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: The rules of ``FASTDNN_BLAS`` (see :func:`fastdnn._blas.choose`), the default first.
BLAS_RULES = ("default", "auto", "numpy", "scipy", "mkl", "numba", "loops")
#: The one spelling of the deterministic default rule (what an unset variable means).
BLAS_DEFAULT = BLAS_RULES[0]
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    """The validated values of the ``FASTDNN_*`` variables."""

    cache: bool = True
    fast_math: bool = False
    blas: str = BLAS_DEFAULT
    num_threads: int | None = None


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "")
    value = raw.strip().lower()
    if not value:
        return default
    if value in _TRUE + _FALSE:
        return value in _TRUE
    raise ValueError(
        f"environment variable {name}={raw!r} is not valid: use one of "
        f"{', '.join(_TRUE + _FALSE)}, or leave it unset for the default "
        f"({'on' if default else 'off'})"
    )


def _blas(environ: Mapping[str, str]) -> str:
    raw = environ.get("FASTDNN_BLAS", "")
    value = raw.strip().lower() or BLAS_DEFAULT
    if value not in BLAS_RULES:
        raise ValueError(
            f"environment variable FASTDNN_BLAS={raw!r} is not valid: use one of "
            f"{', '.join(BLAS_RULES)}, or leave it unset for {BLAS_DEFAULT!r}"
        )
    return value


def _num_threads(environ: Mapping[str, str]) -> int | None:
    raw = environ.get("FASTDNN_NUM_THREADS", "")
    if not raw.strip():
        return None
    text = raw.strip()
    # ASCII digits only: int() also reads "2_0" and other scripts' digits ("\u0662")
    n = int(text) if text.isascii() and text.isdigit() else 0
    if n < 1:
        raise ValueError(
            f"environment variable FASTDNN_NUM_THREADS={raw!r} is not valid: use a positive "
            "integer number of BLAS threads (at most the cores this process may use), or leave "
            "it unset for fastdnn's default (half the usable cores)"
        )
    return n


def read(environ: Mapping[str, str]) -> Settings:
    """Validate the ``FASTDNN_*`` variables of ``environ``.

    Raises
    ------
    ValueError
        Naming the first invalid variable, its value and the valid values.
    """
    return Settings(
        cache=_flag(environ, "FASTDNN_CACHE", True),
        fast_math=_flag(environ, "FASTDNN_FASTMATH", False),
        blas=_blas(environ),
        num_threads=_num_threads(environ),
    )


def _running_the_command() -> bool:
    """Whether this process is the ``fastdnn`` command, whose import of the package reads the
    variables before its own error handling exists."""
    if Path(sys.argv[0]).name in ("fastdnn", "fastdnn.exe"):  # the console script
        return True
    args = list(getattr(sys, "orig_argv", []))  # python -m fastdnn ...
    return any(a == "-m" and b == "fastdnn" for a, b in zip(args, args[1:], strict=False))


def _read_at_import() -> Settings:
    try:
        return read(os.environ)
    except ValueError as exc:
        if not _running_the_command():
            raise
        # The command's contract for a user mistake: one line, exit status 2.
        print(f"fastdnn: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


#: This process's settings (read at import; changing ``os.environ`` later changes nothing).
SETTINGS: Settings = _read_at_import()
