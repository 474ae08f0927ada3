"""The training loop's activation loops as C entry points, made per activation and dtype.

The compiled training loop (:mod:`fastdnn.steppers._jit_loop`, ``_gram_loop``) used to choose
its activation loops through switches over the activation code, which compiled the loops of
all five activations (and softmax) into every compiled variant of the loop, once per dtype,
optimizer set and entry point (the planar net's first fit without a cache: 31-33 s then,
21-23 s now, AMD EPYC). Now each loop a network uses is a
``cfunc`` made on first use and cached on disk; the loop calls it by address
(:func:`fastdnn._native.ccall`) from the int64 array :func:`entries` returns, held in
``Net.acts``. One compiled training loop serves every activation; an indirect call per layer
per step costs nothing measurable, and the loops inside are the same compiled code (the same
bits) as the kernels' (:data:`fastdnn.kernels.jit.INPLACE_LOOPS` ...).

Each entry's C signature is written once, here, beside the helper that calls it.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import carray

from .._native import ccall, data_pointer
from .._numba import cfunc, njit, overload, unique_name
from .._types import Act
from .jit import FORWARD_LOOPS, INPLACE_LOOPS, MASK_LOOPS, _softmax_columns

#: Indices into the array of :func:`entries`.
HIDDEN, MASK, OUTPUT = 0, 1, 2
_SOFTMAX = int(Act.SOFTMAX)
#: The output layer's activations (softmax is not elementwise: its own loop).
OUTPUT_ACTS = (int(Act.SIGMOID), int(Act.LINEAR), _SOFTMAX)


# The loop for a constant activation code. Plain Python runs under NUMBA_DISABLE_JIT; compiled,
# the overload sees the code as a literal and calls that activation's loop only.
def _hidden_rows(act, Z, b, slope):
    INPLACE_LOOPS[act](Z, b, slope)


def _mask_rows(act, dA, A, slope, dZ_out, db_out, db_scale):
    MASK_LOOPS[act](dA, A, slope, dZ_out, db_out, db_scale)


def _output_rows(act, Z, b, A_out):
    if act == _SOFTMAX:
        _softmax_columns(Z, b, A_out)
    else:
        FORWARD_LOOPS[act](Z, b, 0.0, A_out)


def _literal_code(act) -> int:
    from numba import types

    if not isinstance(act, types.IntegerLiteral):
        raise TypeError("an activation entry needs its code as a constant")
    return act.literal_value


@overload(_hidden_rows, prefer_literal=True)
def _ol_hidden_rows(act, Z, b, slope):
    code = _literal_code(act)
    loop = INPLACE_LOOPS[code]

    @unique_name(str(code))
    def impl(act, Z, b, slope):
        loop(Z, b, slope)

    return impl


@overload(_mask_rows, prefer_literal=True)
def _ol_mask_rows(act, dA, A, slope, dZ_out, db_out, db_scale):
    code = _literal_code(act)
    loop = MASK_LOOPS[code]

    @unique_name(str(code))
    def impl(act, dA, A, slope, dZ_out, db_out, db_scale):
        loop(dA, A, slope, dZ_out, db_out, db_scale)

    return impl


@overload(_output_rows, prefer_literal=True)
def _ol_output_rows(act, Z, b, A_out):
    code = _literal_code(act)
    if code == _SOFTMAX:

        @unique_name(str(code))
        def impl(act, Z, b, A_out):
            _softmax_columns(Z, b, A_out)

    else:
        loop = FORWARD_LOOPS[code]

        @unique_name(str(code))
        def impl(act, Z, b, A_out):
            loop(Z, b, 0.0, A_out)

    return impl


# ------------------------------------------------------------------ the entries' C signatures
# Closures over an int code and a NumPy scalar type only: Numba's cache keys a closure by its
# cell contents, and these pickle the same in every process (a dispatcher would not). Each has
# its own name (see fastdnn._numba.unique_name).
def _voids(signature: str):
    from numba import types

    kinds = {"p": types.voidptr, "i": types.int64, "f": types.float64}
    return types.void(*(kinds[c] for c in signature))


def _make_hidden(act: int, dtype):
    @cfunc(_voids("ppiif"))
    @unique_name(f"{act}_{dtype.__name__}")
    def hidden(z, b, n, m, slope):
        _hidden_rows(act, carray(z, (n, m), dtype=dtype), carray(b, (n, 1), dtype=dtype), slope)

    return hidden


def _make_mask(act: int, dtype):
    @cfunc(_voids("ppppiiff"))
    @unique_name(f"{act}_{dtype.__name__}")
    def mask(da, a, dz, db, n, m, slope, db_scale):
        shape = (n, m)
        _mask_rows(
            act,
            carray(da, shape, dtype=dtype),
            carray(a, shape, dtype=dtype),
            slope,
            carray(dz, shape, dtype=dtype),
            carray(db, (n, 1), dtype=dtype),
            db_scale,
        )

    return mask


def _make_output(act: int, dtype):
    @cfunc(_voids("pppii"))
    @unique_name(f"{act}_{dtype.__name__}")
    def output(z, b, a, n, m):
        shape = (n, m)
        Z, A = carray(z, shape, dtype=dtype), carray(a, shape, dtype=dtype)
        _output_rows(act, Z, carray(b, (n, 1), dtype=dtype), A)

    return output


@njit
def hidden_activation(fns, Z, b, slope):
    """A hidden layer's ``Z = g(Z + b)``, in place (only ``A`` is kept)."""
    n, m = Z.shape
    args = (data_pointer(Z), data_pointer(b), np.int64(n), np.int64(m), np.float64(slope))
    ccall(fns[HIDDEN], args)


@njit
def activation_mask(fns, dA, A, slope, dZ_out, db_out, db_scale):
    """``dZ = dA * g'(A)`` and ``db = db_scale * sum_j dZ`` (summed in float64); ``dZ_out``
    distinct from ``dA`` (else the loop runs scalar)."""
    n, m = A.shape
    pointers = (data_pointer(dA), data_pointer(A), data_pointer(dZ_out), data_pointer(db_out))
    ccall(fns[MASK], pointers + (np.int64(n), np.int64(m), np.float64(slope), np.float64(db_scale)))


@njit
def output_activation(fns, Z, b, A_out):
    """The output layer's ``Z += b`` and ``A_out = g(Z)`` (sigmoid, softmax or linear): ``Z``
    keeps the logits, for the cost."""
    n, m = Z.shape
    args = (data_pointer(Z), data_pointer(b), data_pointer(A_out), np.int64(n), np.int64(m))
    ccall(fns[OUTPUT], args)


_made: dict = {}  # (maker, act, dtype) -> entry; entries live as long as the process
_arrays: dict = {}  # (hidden, output, dtype) -> the array entries() returns
_lock = threading.Lock()


def _entry(make, act: int, dtype: np.dtype) -> int:
    key = (make.__name__, act, dtype)
    if key not in _made:
        _made[key] = make(act, dtype.type)
    return _made[key].address


def entries(hidden: int, output: int, dtype) -> np.ndarray:
    """The addresses of one network's activation loops, int64 ``[HIDDEN, MASK, OUTPUT]``:
    ``hidden`` is a hidden-layer :class:`~fastdnn._types.Act` code (0..4), ``output`` one of
    :data:`OUTPUT_ACTS`. The first request per (activation, dtype) compiles its entry, or loads
    it from Numba's cache. The array is read-only and shared."""
    dtype = np.dtype(dtype)
    key = (hidden, output, dtype)
    found = _arrays.get(key)
    if found is not None:
        return found
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype: expected float64 or float32, got {dtype}")
    if hidden not in INPLACE_LOOPS:
        raise ValueError(f"hidden: expected an activation code 0..4, got {hidden!r}")
    if output not in OUTPUT_ACTS:
        raise ValueError(f"output: expected one of {OUTPUT_ACTS}, got {output!r}")
    with _lock:
        made = [
            _entry(_make_hidden, hidden, dtype),
            _entry(_make_mask, hidden, dtype),
            _entry(_make_output, output, dtype),
        ]
        found = np.array(made, dtype=np.int64)
        found.flags.writeable = False
        _arrays[key] = found
    return found
