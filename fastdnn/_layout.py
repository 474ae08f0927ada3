"""Where each layer's parameters live inside one flat buffer.

All parameters of a network sit in one contiguous ``theta``; ``W1, b1, W2, ...`` are views into
it (reshapes of slices, so C-contiguous). Gradients use a twin buffer with the same layout, so
the update is one pass over one array. The int64 layer table lets one compiled function serve
every depth: tuples of arrays would make Numba recompile per depth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def layer_table(layer_dims: Sequence[int]) -> np.ndarray:
    """Rows ``(n[l], n[l-1], offset of W[l], offset of b[l])`` in the flat buffer, int64.

    One row per layer l = 1..L; the jit stepper appends columns of its own.
    """
    L = len(layer_dims) - 1
    table = np.empty((L, 4), dtype=np.int64)
    offset = 0
    for l in range(1, L + 1):
        n, n_prev = int(layer_dims[l]), int(layer_dims[l - 1])
        table[l - 1] = (n, n_prev, offset, offset + n * n_prev)
        offset += n * n_prev + n
    return table


def n_parameters(layer_dims: Sequence[int]) -> int:
    """Number of scalars in ``W1, b1, ..., WL, bL``."""
    return sum(int(layer_dims[l]) * (int(layer_dims[l - 1]) + 1) for l in range(1, len(layer_dims)))


def param_views(flat: np.ndarray, layer_dims: Sequence[int], prefix: str = "") -> dict:
    """The course's dict ``{"W1": (n1, n0), "b1": (n1, 1), ...}`` as views into ``flat``.

    ``prefix="d"`` names them ``dW1, db1, ...`` (for a gradient buffer).
    """
    views = {}
    for l, (n, n_prev, w_off, b_off) in enumerate(layer_table(layer_dims), start=1):
        views[f"{prefix}W{l}"] = flat[w_off : w_off + n * n_prev].reshape(n, n_prev)
        views[f"{prefix}b{l}"] = flat[b_off : b_off + n].reshape(n, 1)
    return views
