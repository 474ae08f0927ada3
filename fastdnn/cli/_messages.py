"""What the commands print that is not their result: the one-line error and warning, and
the phrases several commands share."""

from __future__ import annotations

import csv
import sys

# Mistakes in the input, and what the library raises on a file or a request too big to serve.
USER_ERRORS = (
    ValueError,
    TypeError,
    FileNotFoundError,
    ImportError,
    OSError,
    csv.Error,
    OverflowError,
    RecursionError,
    MemoryError,
)


class UserError(Exception):
    """A mistake in the command's input: reported in one line, exit status 2."""


def _message(exc: BaseException) -> str:
    """One line for any error, saying what kind it is when its text alone would not."""
    text = " ".join(str(exc).split())
    if isinstance(exc, MemoryError):
        return f"not enough memory ({text or 'MemoryError'})"
    if isinstance(exc, RecursionError):
        return f"the input is nested too deeply to be read ({text})"
    if isinstance(exc, (OverflowError, csv.Error)):
        return f"{type(exc).__name__}: {text}"
    return text or type(exc).__name__


def _one_line_warnings(command: str):
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"fastdnn {command}: warning: {text}", file=sys.stderr if file is None else file)

    return show


def _diverged(exc, lr_flag: str = "--lr", train: bool = True) -> UserError:
    """The one line for a run that diverged: the library's reason, and what to change
    (``train``: the command has --lambd and --standardize)."""
    if exc.before_any_step:
        advice = "scale the data (--standardize)" if train else "scale the data"
    else:
        advice = f"try a smaller {lr_flag}" + (" (or --lambd, or --standardize)" if train else "")
    return UserError(f"training diverged ({exc}); {advice}")


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _blas_threads() -> str:
    """`` (1 BLAS thread)``: what the timing of a run depends on; empty if unknown."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a dependency
        return ""
    counts = sorted(
        {int(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas"}
    )
    if not counts:  # pragma: no cover
        return ""
    return f" ({'/'.join(map(str, counts))} BLAS thread{'s' if counts[-1] > 1 else ''})"
