"""The examples-contiguous copy of ``X`` that mini-batch fits gather their batches from.

A mini-batch fit reads each example as a whole: from a C-ordered ``(n_x, m)`` ``X`` every
value of an example sits on its own cache line, so a long enough fit (0.3 of an epoch, 0.15
in float32: ``network._examples_contiguous_copy``) first copies ``X`` once with its examples
contiguous: a transpose of the C-ordered storage, in the first epoch's shuffle, so that epoch's
batches are consecutive examples of the copy that no one gathers (``Stepper.epoch_source``). The
shuffle costs the copy little: each tile's rows are stored wherever they go (float32 47 vs 46 ms,
float64 103 vs 84-98 ms for W4 on Zen 4), against an epoch of gathers from the copy (27 and
48 ms): W4 epochs from a C-ordered ``X`` ran 1.045x (float32) and 1.04x (float64) faster.

NumPy's copy into the transposed order moves one value at a time (W4's 784 x 60000 took about
60 ms in float64 and in float32 alike on an AMD EPYC Zen 4: bound by the count of values, not
by the bytes). Here the copy moves 8 x 8 tiles through vector registers (8 row loads, 24
shuffles, 8 stores: :func:`_transpose_tile`), block by block so that what a block reads and
writes stays in the L2 cache: 37-47 ms (float64) and 23-27 ms (float32) into a reused buffer
on the same machine, close to the memory's bandwidth (a fresh buffer adds the kernel's page
faults: 81 and 43 ms). In float64 a tile's row is a whole cache line, written by a
non-temporal store where the copy's rows start on lines (see :data:`LINE_BYTES`): the shuffled
copy for W4 then took 59-69 ms instead of 80-99 (W4 float64 epochs from a C-ordered ``X``:
730 vs 760 ms, medians of 5 x 7 fits). In float32 two tiles, one above the other, make 8
whole lines, written the same way: on a Sapphire Rapids class Xeon the shuffled W4 copy took
18-20 ms instead of 78 into a reused buffer, 41 instead of 99 into a fresh one (float64 there:
40 ms with the streaming stores, 103 without); on Zen 4 it was even (38-39 vs 39-41 ms).
Split between threads, each a range of examples, it runs about as many times faster, up to
that bandwidth. A fit's copy also checks ``X`` for NaN and inf as it reads it (``check_finite``:
each tile sums ``x - x``), saving the read of ``X`` a check of its own takes.
"""

from __future__ import annotations

import platform
import threading

import numpy as np

from . import _validation as v
from ._layout import LINE_BYTES, aligned_empty
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
# A cache line (LINE_BYTES, from _layout). Where every row of the copy starts on one and
# holds whole lines, each line of a tile's rows (float64: one tile row; float32: the rows of
# two tiles stacked, 16 values) is written by a non-temporal store: the line is not read into
# the cache first only to be overwritten (x86-64; elsewhere plain stores). Measured on W4
# (1 thread, medians of 7-9): Zen 4, into a fresh buffer, float64 89-91 -> 69-73 ms in X's
# order, 97-99 -> 60-65 ms shuffled, float32 stacked 39-41 -> 38-39 ms (half-line stores:
# 46 -> 87 ms); Sapphire Rapids class, shuffled, into a reused buffer, float64 103 -> 40 ms,
# float32 78 -> 18-20 ms.

#: Whether this machine has the non-temporal stores and the fence the streaming copy uses.
STREAMING = platform.machine().lower() in ("x86_64", "amd64")


def examples_contiguous(
    X: np.ndarray, threads: int = 1, order=None, *, check_finite: str | None = None
) -> np.ndarray:
    """A copy of ``X`` ``(n_x, m)`` stored Fortran-ordered (each example contiguous),
    optionally with its examples in another order.

    Parameters
    ----------
    X : ndarray of shape (n_x, m)
        float32 or float64, any memory order.
    threads : int, default 1
        Threads that copy (the copy releases the GIL), each a range of examples; fewer when
        there are fewer than :data:`MIN_EXAMPLES_PER_THREAD` examples each.
    order : ndarray of shape (m,), optional
        A permutation of ``range(m)``: example ``j`` of the copy is example ``order[j]`` of
        ``X`` (a mini-batch fit copies in its first epoch's shuffle, whose batches are then
        consecutive). Default: ``X``'s own order.
    check_finite : str, optional
        ``X``'s name: the copy also checks that every value is finite, raising the
        ``ValueError`` of :func:`fastdnn._validation.check_finite` (which names the first NaN
        or inf) if not. The compiled copy checks as it moves the values (``x - x`` is 0 for
        finite ``x``, NaN otherwise), at no measurable cost to a copy bound by the memory's
        bandwidth: a fit saves the separate read of ``X`` its check would take (W4: 20 ms in
        float64).

    Returns
    -------
    ndarray of shape (n_x, m)
        Fortran-ordered, equal to ``X[:, order]``.

    Raises
    ------
    ValueError
        If ``order`` is not a permutation of ``range(m)`` (checked before anything is copied:
        the compiled copy writes where it says); with ``check_finite``, if ``X`` holds a NaN
        or an inf (after the copy, which is then dropped).
    """
    n_x, m = X.shape
    rows = np.arange(m, dtype=np.int64) if order is None else inverse_permutation(order, m)
    threads = max(1, min(int(threads), m // MIN_EXAMPLES_PER_THREAD))
    # on a cache line (the streaming stores); pages first touched by the copying threads
    out = aligned_empty(m * n_x, X.dtype).reshape(m, n_x)
    finite: list[bool] = []  # each part's answer: were all its values finite?
    if threads == 1:
        finite.append(_copy_examples(X, out, rows, 0, m))
    else:
        _copy_in_threads(X, out, rows, threads, finite)
    if check_finite is not None and not all(finite):
        v.check_finite(X, check_finite)  # names the first NaN or inf (and raises)
    return out.T


def _copy_in_threads(X, out, rows, threads: int, finite: list) -> None:
    """:func:`_copy_examples` in ``threads`` threads, each a range of examples; each appends
    its answer to ``finite``; the first failure is raised here."""
    m = X.shape[1]
    cuts = np.linspace(0, m, threads + 1).astype(np.intp)
    failures: list[BaseException] = []

    def copy(start: int, stop: int) -> None:
        try:
            finite.append(_copy_examples(X, out, rows, start, stop))
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


def inverse_permutation(order, m: int) -> np.ndarray:
    """The inverse of ``order``, a permutation of ``range(m)`` (int64): where each example of
    ``X`` goes in a copy holding them in ``order``.

    Raises
    ------
    ValueError
        If ``order`` is not a permutation of ``range(m)``.
    """
    order = np.asarray(order)
    if order.shape != (m,) or order.dtype.kind not in "iu":
        raise ValueError(
            f"order must be a permutation of range(m) with m = {m}: expected an integer array "
            f"of shape ({m},), got {order.dtype} of shape {order.shape}"
        )
    if m and (order.min() < 0 or order.max() >= m or np.bincount(order, minlength=m).max() > 1):
        raise ValueError(f"order must be a permutation of range(m) with m = {m}: it is not")
    rows = np.empty(m, dtype=np.int64)
    rows[order] = np.arange(m, dtype=np.int64)
    return rows


def _streams(out: np.ndarray) -> bool:
    """Whether the copy into ``out`` (C-contiguous, float32 or float64) writes non-temporal
    lines: every row starts a cache line and holds whole lines, on a machine that has the
    stores."""
    row_bytes = out.shape[1] * out.itemsize
    aligned = out.ctypes.data % LINE_BYTES == 0 and row_bytes % LINE_BYTES == 0
    return STREAMING and aligned


def _copy_examples(X: np.ndarray, out: np.ndarray, rows, start: int, stop: int) -> bool:
    """``out[rows[j]] = X[:, j]`` for ``j`` in ``[start, stop)``; ``out`` is C-contiguous
    ``(m, n_x)``. Returns whether those values are finite (False may also mean not known:
    :func:`fastdnn._validation.check_finite` then has the last word)."""
    if _tiled_copy is not None and X.shape[0] > 0 and X.strides[1] == X.itemsize:
        return _tiled_copy(X, out, rows, start, stop, _streams(out))
    # values not adjacent along a row (a strided view), or no compiled code
    part = X[:, start:stop]
    out[rows[start:stop]] = part.T
    with np.errstate(over="ignore", invalid="ignore"):  # a sum that overflows says "not known"
        return bool(np.isfinite(np.add.reduce(part, axis=None)))


if JIT_DISABLED:
    _tiled_copy = None
else:
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    def _tile_codegen(dtype, streaming: bool):
        """The code of :func:`_transpose_tile` (``streaming`` False: load ``TILE`` rows of
        ``TILE`` values, transpose, store ``TILE`` rows) or :func:`_stream_tile` (``stack``
        such tiles one above the other, ``stack * TILE`` values a line: each of the ``TILE``
        stored rows is a whole line). Returns the sum of ``x - x`` over the values moved: 0
        if every one is finite, NaN if not (no fast-math flags: LLVM keeps ``x - x``)."""
        itemsize = dtype.bitwidth // 8
        stack = LINE_BYTES // (itemsize * TILE) if streaming else 1

        def lanes_type(width):  # a shuffle's mask of `width` lanes
            return ir.VectorType(ir.IntType(32), width)

        mask_type = lanes_type(TILE)
        # the two tiles' k-th rows, one after the other: a line (stack 2)
        joined = ir.Constant(lanes_type(2 * TILE), list(range(2 * TILE)))

        def codegen(context, builder, signature, args):
            src_arr, s_at, s_row, dst_arr, d_at = args
            src_type, _, _, dst_type, _ = signature.args
            value = context.get_value_type(dtype)
            zeros = None  # the sum of x - x over the rows loaded

            def pointer(array_type, array, offset, width):
                data = context.make_array(array_type)(context, builder, array).data
                vector = ir.VectorType(value, width).as_pointer()
                return builder.bitcast(builder.gep(data, [offset]), vector)

            tiles = []
            for t in range(stack):
                rows = []
                for k in range(t * TILE, (t + 1) * TILE):
                    offset = builder.add(s_at, builder.mul(s_row, ir.Constant(s_at.type, k)))
                    # rows of X are not aligned: the element's alignment only
                    at = pointer(src_type, src_arr, offset, TILE)
                    rows.append(builder.load(at, align=itemsize))
                    zero = builder.fsub(rows[-1], rows[-1])
                    zeros = zero if zeros is None else builder.fadd(zeros, zero)
                # Each stage of three swaps the off-diagonal blocks of side 1, 2, 4 between
                # pairs of rows: a transpose in 3 * TILE two-vector shuffles (unpack, permute).
                half = 1
                while half < TILE:
                    low = [j if not j & half else TILE + j - half for j in range(TILE)]
                    high = [j + half if not j & half else TILE + j for j in range(TILE)]
                    for r in range(TILE):
                        if not r & half:
                            a, b = rows[r], rows[r + half]
                            rows[r] = builder.shuffle_vector(a, b, ir.Constant(mask_type, low))
                            rows[r + half] = builder.shuffle_vector(
                                a, b, ir.Constant(mask_type, high)
                            )
                    half *= 2
                tiles.append(rows)
            for k in range(TILE):
                row = tiles[0][k]
                if stack == 2:
                    row = builder.shuffle_vector(tiles[0][k], tiles[1][k], joined)
                to = pointer(dst_type, dst_arr, builder.extract_value(d_at, k), stack * TILE)
                if streaming:  # a whole aligned line, past the caches: no read for ownership
                    store = builder.store(row, to, align=LINE_BYTES)
                    flag = builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
                    store.set_metadata("nontemporal", flag)
                else:
                    builder.store(row, to, align=itemsize)
            width = TILE  # the lanes of `zeros`, summed by halves: 8 -> 4 -> 2 -> 1
            while width > 1:
                width //= 2
                halves = [
                    builder.shuffle_vector(zeros, zeros, ir.Constant(lanes_type(width), lanes))
                    for lanes in (list(range(width)), list(range(width, 2 * width)))
                ]
                zeros = builder.fadd(*halves)
            return builder.extract_element(zeros, ir.Constant(ir.IntType(32), 0))

        return codegen

    def _tile_signature(src, dst, dst_at):
        """The signature of the tile intrinsics, or None for arguments they do not take."""
        if not (isinstance(src, types.Array) and isinstance(dst, types.Array)):
            return None
        if src.dtype != dst.dtype or src.dtype not in (types.float32, types.float64):
            return None
        if not (isinstance(dst_at, types.UniTuple) and dst_at.count == TILE):
            return None
        return src.dtype(src, types.intp, types.intp, dst, dst_at)

    @intrinsic
    def _transpose_tile(typingctx, src, src_at, src_row, dst, dst_at):
        """Copy the ``TILE x TILE`` values ``src_at`` elements past the first of ``src`` (rows
        ``src_row`` elements apart) transposed to the ``TILE`` rows of ``dst`` that start
        ``dst_at[j]`` elements past its first (a tuple): ``dst[dst_at[j] + i] =
        src[src_at + i*src_row + j]``, whatever the arrays' layouts. Nothing is
        bounds-checked: the caller keeps every tile inside both arrays. Exact: values are
        moved, never computed. Returns 0 if the values are all finite, NaN if not.
        """
        signature = _tile_signature(src, dst, dst_at)
        if signature is None:
            return None
        return signature, _tile_codegen(src.dtype, streaming=False)

    @intrinsic
    def _stream_tile(typingctx, src, src_at, src_row, dst, dst_at):
        """:func:`_transpose_tile` for a whole cache line of rows (float64: ``TILE`` rows;
        float32: ``2 * TILE``, two tiles stacked): ``dst[dst_at[j] + i] = src[src_at +
        i*src_row + j]`` for ``i`` below ``LINE_BYTES // itemsize`` and ``j`` below
        ``TILE``, each destination row (a whole line) written by a non-temporal store: to
        memory, without reading the line into the caches first. Every ``dst_at[j]`` must be
        a multiple of ``LINE_BYTES`` past a ``LINE_BYTES``-aligned address (an unaligned one
        faults), and the stores are weakly ordered: :func:`_store_fence` before anyone reads
        them. Returns 0 if the values are all finite, NaN if not.
        """
        signature = _tile_signature(src, dst, dst_at)
        if signature is None:
            return None
        return signature, _tile_codegen(src.dtype, streaming=True)

    @intrinsic
    def _store_fence(typingctx):
        """``sfence``: the non-temporal stores before it are visible before any store after
        (nothing where :data:`STREAMING` is off: no such stores, and no such instruction)."""

        def codegen(context, builder, signature, args):
            if STREAMING:
                fence = builder.module.declare_intrinsic(
                    "llvm.x86.sse.sfence", fnty=ir.FunctionType(ir.VoidType(), [])
                )
                builder.call(fence, [])
            return context.get_dummy_value()

        return types.void(), codegen

    @njit
    def _tiled_copy(X, out, rows, start, stop, streaming):
        """``out[rows[j]] = X[:, j]`` for ``j`` in ``[start, stop)``, for ``X`` whose rows hold
        adjacent values (``X.strides[1]`` is one element; the row stride may be anything) and
        C-contiguous ``out``: whole tiles by :func:`_transpose_tile` (or, when ``streaming``,
        a line of rows at a time by :func:`_stream_tile`: the caller checked that every row
        of ``out`` starts on a cache line and holds whole lines), the edges one value at a
        time. ``rows`` is checked by the caller (a permutation: no two examples meet).
        Returns whether every value copied is finite."""
        n_x = X.shape[0]
        zeros = 0.0  # the sum of x - x over the values copied: 0 or NaN
        x_row = X.strides[0] // X.itemsize
        step = LINE_BYTES // X.itemsize if streaming else TILE  # rows of X a tile call takes
        rows8 = n_x - n_x % step
        stop8 = start + (stop - start) - (stop - start) % TILE
        for j0 in range(start, stop8, BLOCK_EXAMPLES):
            j1 = min(j0 + BLOCK_EXAMPLES, stop8)
            for i0 in range(0, rows8, BLOCK_ROWS):  # BLOCK_ROWS: a multiple of either step
                i1 = min(i0 + BLOCK_ROWS, rows8)
                for i in range(i0, i1, step):
                    for j in range(j0, j1, TILE):
                        to = (  # where the tile's TILE (= 8) examples go
                            rows[j] * n_x + i,
                            rows[j + 1] * n_x + i,
                            rows[j + 2] * n_x + i,
                            rows[j + 3] * n_x + i,
                            rows[j + 4] * n_x + i,
                            rows[j + 5] * n_x + i,
                            rows[j + 6] * n_x + i,
                            rows[j + 7] * n_x + i,
                        )
                        if streaming:
                            zeros += _stream_tile(X, i * x_row + j, x_row, out, to)
                        else:
                            zeros += _transpose_tile(X, i * x_row + j, x_row, out, to)
        if streaming:
            _store_fence()
        for j in range(start, stop):  # the rows of X left below the last whole tile
            for i in range(rows8, n_x):
                x = X[i, j]
                out[rows[j], i] = x
                zeros += x - x
        for j in range(stop8, stop):  # the examples right of the last whole tile
            for i in range(rows8):
                x = X[i, j]
                out[rows[j], i] = x
                zeros += x - x
        return zeros == 0
