"""The examples-contiguous copy of ``X`` that mini-batch fits gather their batches from.

A mini-batch fit reads each example as a whole: from a C-ordered ``(n_x, m)`` ``X`` every
value of an example sits on its own cache line, so a fit of half an epoch or more first copies
``X`` once with its examples contiguous (see ``network._examples_contiguous_copy``): a
transpose of the C-ordered storage.

NumPy's copy into the transposed order moves one value at a time (W4's 784 x 60000 took about
60 ms in float64 and in float32 alike on an AMD EPYC Zen 4: bound by the count of values, not
by the bytes). Here the copy moves 8 x 8 tiles through vector registers (8 row loads, 24
shuffles, 8 stores: :func:`_transpose_tile`), block by block so that what a block reads and
writes stays in the L2 cache: 37-47 ms (float64) and 23-27 ms (float32) into a reused buffer
on the same machine, close to the memory's bandwidth (a fresh buffer adds the kernel's page
faults: 81 and 43 ms). Split between threads, each a range of examples, it runs
about as many times faster, up to that bandwidth.
"""

from __future__ import annotations

import threading

import numpy as np

from ._numba import JIT_DISABLED, njit

#: Examples per thread at least: below this, starting a thread costs more than it saves.
MIN_EXAMPLES_PER_THREAD = 4096
#: The tiles of a block (rows of ``X`` by examples) are copied before the next block's: 64 x
#: 512 values are 256 KiB in float64, read and then written from the L2 cache (1-2 MiB a core
#: on current x86). Measured on W4 (Zen 4): blocks from 32 x 256 to 256 x 1024 all within
#: the noise of each other; a whole row of ``X`` at a time (784 x 8) 1.5-2x slower.
BLOCK_ROWS, BLOCK_EXAMPLES = 64, 512
#: The tile's side: 8 values in a vector (AVX-512 float64, AVX float32; narrower vector units
#: take them in two or four registers, which LLVM arranges).
TILE = 8


def examples_contiguous(X: np.ndarray, threads: int = 1) -> np.ndarray:
    """A copy of ``X`` ``(n_x, m)`` stored Fortran-ordered (each example contiguous).

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
        float32 or float64, any memory order.
    threads : int, default 1
        Threads that copy (the copy releases the GIL), each a range of examples; fewer when
        there are fewer than :data:`MIN_EXAMPLES_PER_THREAD` examples each.

    Returns
    -------
    ndarray of shape (n_x, m)
        Fortran-ordered, equal to ``X``.
    """
    n_x, m = X.shape
    threads = max(1, min(int(threads), m // MIN_EXAMPLES_PER_THREAD))
    out = np.empty((m, n_x), dtype=X.dtype)  # pages are first touched by the copying threads
    if threads == 1:
        _copy_examples(X, out, 0, m)
        return out.T
    cuts = np.linspace(0, m, threads + 1).astype(np.intp)
    failures: list[BaseException] = []

    def copy(start: int, stop: int) -> None:
        try:
            _copy_examples(X, out, start, stop)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failures.append(exc)

    workers = [
        threading.Thread(target=copy, args=(int(a), int(b)), name="fastdnn-copy")
        for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if failures:
        raise failures[0]
    return out.T


def _copy_examples(X: np.ndarray, out: np.ndarray, start: int, stop: int) -> None:
    """``out[start:stop] = X[:, start:stop].T``; ``out`` is C-contiguous ``(m, n_x)``."""
    if _tiled_copy is not None and X.shape[0] > 0 and X.strides[1] == X.itemsize:
        _tiled_copy(X, out, start, stop)
    else:  # values not adjacent along a row (a strided view), or no compiled code
        np.copyto(out[start:stop], X[:, start:stop].T)


if JIT_DISABLED:
    _tiled_copy = None
else:
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _transpose_tile(typingctx, src, src_at, src_row, dst, dst_at, dst_row):
        """Copy the ``TILE x TILE`` values ``src_at`` elements past the first of ``src`` (rows
        ``src_row`` elements apart) transposed to ``dst_at`` past the first of ``dst`` (rows
        ``dst_row`` apart): ``dst[dst_at + j*dst_row + i] = src[src_at + i*src_row + j]``
        counted in elements from each array's first one, whatever its layout. Nothing is
        bounds-checked: the caller keeps every tile inside both arrays.

        Each stage of three swaps the off-diagonal blocks of side 1, 2, 4 between pairs of
        rows: a transpose in ``3 * TILE`` two-vector shuffles, which LLVM lowers to the CPU's
        unpack and permute instructions. Exact: values are moved, never computed.
        """
        if not (isinstance(src, types.Array) and isinstance(dst, types.Array)):
            return None
        if src.dtype != dst.dtype or src.dtype not in (types.float32, types.float64):
            return None
        mask_type = ir.VectorType(ir.IntType(32), TILE)

        def codegen(context, builder, signature, args):
            src_arr, s_at, s_row, dst_arr, d_at, d_row = args
            align = src.dtype.bitwidth // 8  # unaligned rows: the element's alignment only
            vector = ir.VectorType(context.get_value_type(src.dtype), TILE).as_pointer()

            def row_pointer(array_type, array, at, row_stride, k):
                data = context.make_array(array_type)(context, builder, array).data
                offset = builder.add(at, builder.mul(row_stride, ir.Constant(at.type, k)))
                return builder.bitcast(builder.gep(data, [offset]), vector)

            rows = [
                builder.load(row_pointer(src, src_arr, s_at, s_row, k), align=align)
                for k in range(TILE)
            ]
            half = 1
            while half < TILE:
                low = [j if not j & half else TILE + j - half for j in range(TILE)]
                high = [j + half if not j & half else TILE + j for j in range(TILE)]
                for r in range(TILE):
                    if not r & half:
                        a, b = rows[r], rows[r + half]
                        rows[r] = builder.shuffle_vector(a, b, ir.Constant(mask_type, low))
                        rows[r + half] = builder.shuffle_vector(a, b, ir.Constant(mask_type, high))
                half *= 2
            for k in range(TILE):
                builder.store(rows[k], row_pointer(dst, dst_arr, d_at, d_row, k), align=align)
            return context.get_dummy_value()

        return types.void(src, types.intp, types.intp, dst, types.intp, types.intp), codegen

    @njit
    def _tiled_copy(X, out, start, stop):
        """``out[start:stop] = X[:, start:stop].T`` for ``X`` whose rows hold adjacent values
        (``X.strides[1]`` is one element; the row stride may be anything) and C-contiguous
        ``out``: whole tiles by :func:`_transpose_tile`, the edges one value at a time."""
        n_x = X.shape[0]
        x_row = X.strides[0] // X.itemsize
        rows8 = n_x - n_x % TILE
        stop8 = start + (stop - start) - (stop - start) % TILE
        for j0 in range(start, stop8, BLOCK_EXAMPLES):
            j1 = min(j0 + BLOCK_EXAMPLES, stop8)
            for i0 in range(0, rows8, BLOCK_ROWS):
                i1 = min(i0 + BLOCK_ROWS, rows8)
                for i in range(i0, i1, TILE):
                    for j in range(j0, j1, TILE):
                        _transpose_tile(X, i * x_row + j, x_row, out, j * n_x + i, n_x)
        for j in range(start, stop):  # the rows of X left below the last whole tile
            for i in range(rows8, n_x):
                out[j, i] = X[i, j]
        for j in range(stop8, stop):  # the examples right of the last whole tile
            for i in range(rows8):
                out[j, i] = X[i, j]
