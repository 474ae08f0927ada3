"""Where each layer's parameters live inside one flat buffer.

All parameters of a network sit in one contiguous ``theta``; ``W1, b1, W2, ...`` are views into
it (reshapes of slices, so C-contiguous). Gradients use a twin buffer with the same layout, so
the update is one pass over one array. The int64 layer table lets one compiled function serve
every depth: tuples of arrays would make Numba recompile per depth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: A cache line. The flat buffers start on one (:func:`aligned_empty`): MKL's small-matrix
#: GEMM kernels run slower on operands that do not. W4's first-layer descend (``W1 -= lr *
#: dZ1 @ Xb``, 128 x 784 x 64, 1 thread, Sapphire Rapids class, medians of 7): 142 us with
#: every operand on a line, 159 us 16 bytes past one (where NumPy's buffers of that size
#: start), 67 against 75 us in float32; the forward's product the same either way.
LINE_BYTES = 64


def aligned_empty(size: int, dtype) -> np.ndarray:
    """``np.empty(size, dtype)`` whose first value starts a cache line (NumPy aligns its
    buffers to 16 bytes only): a view into a buffer :data:`LINE_BYTES` longer. Empty: a plain
    empty array (NumPy may point an empty view anywhere; nothing reads it)."""
    dtype = np.dtype(dtype)
    if size == 0:
        return np.empty(0, dtype=dtype)
    buffer = np.empty(size + LINE_BYTES // dtype.itemsize, dtype=dtype)
    skip = (-buffer.ctypes.data % LINE_BYTES) // dtype.itemsize
    return buffer[skip : skip + size]


def aligned_zeros(size: int, dtype) -> np.ndarray:
    """``np.zeros(size, dtype)`` starting on a cache line (see :func:`aligned_empty`)."""
    out = aligned_empty(size, dtype)
    out[...] = 0
    return out


def line_aligned(a: np.ndarray) -> np.ndarray:
    """``a`` itself if it starts on a cache line (or is empty), else a copy that does."""
    if a.size == 0 or a.ctypes.data % LINE_BYTES == 0:
        return a
    out = aligned_empty(a.size, a.dtype).reshape(a.shape)
    out[...] = a
    return out


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
