"""The types of the commands' flags: each turns the text given into its value or explains, in
argparse's one line, why it cannot."""

from __future__ import annotations

import argparse
import math


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer; got {text!r}")
    return value


def _seed(text: str) -> int:
    """A seed as fastdnn.DNN takes it: an integer in [0, 2**128)."""
    value = _non_negative_int(text)
    if value >= 2**128:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**128); got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number; got {text!r}")
    return value


def _real_in(text: str, low: float, high: float, closed: str, what: str) -> float:
    """``float(text)`` when finite and in the interval from ``low`` to ``high`` (``closed``:
    which ends belong to it, "low", "high", "both" or ""), else the flag's error."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    above = value >= low if closed in ("low", "both") else value > low
    below = value <= high if closed in ("high", "both") else value < high
    if not (math.isfinite(value) and above and below):
        raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    return _real_in(text, 0.0, math.inf, "low", "a finite number >= 0")


def _beta(text: str) -> float:
    return _real_in(text, 0.0, 1.0, "low", "a number in [0, 1)")


def _fraction(text: str) -> float:
    return _real_in(text, 0.0, 1.0, "", "a number in (0, 1)")


def _probability(text: str) -> float:
    return _real_in(text, 0.0, 1.0, "high", "a probability in (0, 1]")


def _hidden_sizes(text: str) -> list[int]:
    """``"20,7,5"`` -> ``[20, 7, 5]``; ``""`` or ``"none"`` -> ``[]`` (logistic regression)."""
    if text.strip().lower() in ("", "none"):
        return []
    sizes = []
    for part in text.split(","):
        part = part.strip()
        n = int(part) if part.isascii() and part.isdigit() else 0  # not "2_0", not "\u0662"
        if n <= 0:
            raise argparse.ArgumentTypeError(
                f"must be hidden-layer sizes as positive integers separated by commas, like "
                f"20,7,5 (or 'none' for logistic regression); got {text!r}"
            )
        sizes.append(n)
    return sizes
