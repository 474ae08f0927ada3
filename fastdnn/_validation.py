"""Input checks for the public entry points.

Everything here runs before any work starts and raises ``ValueError`` (bad shape or value) or
``TypeError`` (bad type) with a message naming the argument, what was expected and what was
found. Arrays are converted at most once (``np.asarray`` returns the caller's own array when it
already has the right dtype and layout); nothing the caller owns is ever written to.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from ._types import ACTIVATIONS, LOSSES, OUTPUT_LOSS
from .backends import BACKENDS

FLOAT_DTYPES = {"float64": np.dtype(np.float64), "float32": np.dtype(np.float32)}
INITS = ("course", "xavier", "he", "zeros")


def check_choice(value, name: str, choices) -> str:
    """``value`` must be one of ``choices`` (strings)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {value!r}")
    return value


def check_backend(backend) -> str:
    """A valid backend name."""
    return check_choice(backend, "backend", BACKENDS)


def check_activation(name: str, value) -> str:
    """A hidden-layer activation name."""
    return check_choice(value, name, ACTIVATIONS)


def check_output(value) -> str:
    """An output activation name: one with a loss fastdnn can train."""
    return check_choice(value, "output", OUTPUT_LOSS)


def check_loss(value) -> str:
    """A loss name."""
    return check_choice(value, "loss", LOSSES)


def check_dtype(dtype) -> np.dtype:
    """``"float64"`` or ``"float32"`` (or the equivalent NumPy dtype)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt not in FLOAT_DTYPES.values():
        raise ValueError(f"dtype must be 'float64' or 'float32'; got {dtype!r}")
    return dt


def check_positive_finite(value, name: str) -> float:
    """A real number > 0 and finite (learning rates, slopes)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive finite number; got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return float(value)


def check_positive_int(value, name: str) -> int:
    """An integer > 0 (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a positive integer; got {value!r} ({type(value).__name__})"
        )
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_layer_dims(layer_dims) -> list[int]:
    """``[n_x, n_1, ..., n_L]``: at least two positive integers."""
    if isinstance(layer_dims, (str, bytes)) or not isinstance(layer_dims, (Sequence, np.ndarray)):
        raise TypeError(
            f"layer_dims must be a sequence of positive integers like [12288, 20, 7, 1]; "
            f"got {type(layer_dims).__name__}"
        )
    dims = list(layer_dims)
    if len(dims) < 2:
        raise ValueError(
            f"layer_dims must list at least the input and output sizes (2 entries); got {dims!r}"
        )
    for l, n in enumerate(dims):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"layer_dims[{l}] must be a positive integer; got {n!r}")
        if n <= 0:
            raise ValueError(f"layer_dims[{l}] must be a positive integer; got {n!r}")
    return [int(n) for n in dims]


def as_float_array(
    a, name: str, dtype: np.dtype, ndim: int = 2, *, finite: bool = True
) -> np.ndarray:
    """Convert to a C-contiguous array of ``dtype`` (one copy at most), refusing non-numbers.

    Integer, unsigned, bool and float inputs convert; object, string, complex and other
    dtypes raise ``TypeError``. Empty arrays and (when ``finite``) NaN/inf raise
    ``ValueError``.
    """
    arr = np.asarray(a)
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers (float, int or bool); got dtype {arr.dtype}"
            + (" - convert it with .astype(float) first" if kind == "O" else "")
        )
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D; got {arr.ndim}-D with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    if arr.dtype != dtype or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr, dtype=dtype)
    if finite:
        check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` naming the first NaN or inf in ``arr``.

    Sums first: any NaN or inf makes the sum non-finite, and a sum allocates nothing (an
    ``isfinite`` mask of a 60000 x 784 input would be 47 MB). Only a non-finite sum (or an
    overflowing one) pays for the mask, to say where.
    """
    # np.add.reduce, not np.sum: the same reduction without np.sum's Python wrapper, which
    # was most of the cost of validating the small arrays of a functional-API step.
    if arr.dtype.kind != "f" or math.isfinite(np.add.reduce(arr, axis=None, dtype=np.float64)):
        return
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        where = bad[0]
        raise ValueError(
            f"{name} must be finite; found {arr[tuple(where)]} at index "
            f"{tuple(int(i) for i in where)}"
        )


def check_X(X, n_x: int, dtype: np.dtype, name: str = "X") -> np.ndarray:
    """``X`` as ``(n_x, m)``, examples as columns, converted to ``dtype``."""
    X = as_float_array(X, name, dtype)
    if X.shape[0] != n_x:
        hint = ""
        if X.shape[1] == n_x:
            hint = " (did you pass X.T?)"
        raise ValueError(
            f"{name} has {X.shape[0]} rows but layer_dims[0] is {n_x}; {name} must be "
            f"(n_x, m) = ({n_x}, m) with examples as columns; got shape {X.shape}{hint}"
        )
    return X


def check_Y(Y, n_y: int, m: int, loss: str, dtype: np.dtype, name: str = "Y") -> np.ndarray:
    """``Y`` as ``(n_y, m)``; a 1-D ``Y`` of length m is taken as ``(1, m)`` when ``n_y == 1``.

    For ``loss="bce"`` every label must be 0 or 1.
    """
    arr = np.asarray(Y)
    if arr.ndim == 1 and n_y == 1:
        arr = arr.reshape(1, -1)
    arr = as_float_array(arr, name, dtype)
    if arr.shape != (n_y, m):
        hint = " (did you pass Y.T?)" if arr.shape == (m, n_y) else ""
        raise ValueError(
            f"{name} must have shape (n_y, m) = ({n_y}, {m}) to match the output layer and X; "
            f"got {arr.shape}{hint}"
        )
    if loss == "bce":
        bad = (arr != 0) & (arr != 1)
        if bad.any():
            values = np.unique(arr[bad])[:5]
            raise ValueError(
                f"{name} must hold binary labels 0 or 1 for loss 'bce' (sigmoid output); "
                f"found {values.tolist()}"
            )
    return arr


def common_dtype(arrays) -> np.dtype:
    """The dtype a set of arrays computes in: that of its float64 and float32 members.

    float32 when every float64-or-float32 array is float32, else float64. Int, bool and other
    float arrays (float16, longdouble) do not vote: they are converted to it.
    """
    f32, f64 = FLOAT_DTYPES["float32"], FLOAT_DTYPES["float64"]
    votes = {dt for dt in (getattr(a, "dtype", None) for a in arrays) if dt == f32 or dt == f64}
    return f32 if votes == {f32} else f64


def param_dtype(params: Mapping) -> np.dtype:
    """The parameters' dtype: float32 when every float parameter is float32, else float64."""
    return common_dtype(np.asarray(v) for v in params.values())


def check_params(params, dtype: np.dtype | None = None) -> tuple[dict, list[int], np.dtype]:
    """The course's dict ``{"W1", "b1", ..., "WL", "bL"}`` with consistent shapes.

    Returns
    -------
    params : dict
        The arrays, C-contiguous, of one float dtype (the caller's own arrays where nothing
        needed converting).
    layer_dims : list of int
        ``[n_x, n_1, ..., n_L]`` read off the shapes.
    dtype : numpy.dtype
        ``dtype`` if given, else float32 when all parameters are float32, else float64.
    """
    if not isinstance(params, Mapping):
        raise TypeError(
            f"params must be a dict like {{'W1': ..., 'b1': ...}}; got {type(params).__name__}"
        )
    L = sum(1 for k in params if isinstance(k, str) and k.startswith("W") and k[1:].isdigit())
    if L == 0:
        raise ValueError(f"params must hold W1, b1, ...; got keys {sorted(map(str, params))}")
    expected = {f"{p}{l}" for l in range(1, L + 1) for p in "Wb"}
    missing = sorted(expected - set(params))
    if missing:
        raise ValueError(f"params is missing {missing} for a {L}-layer network")
    dtype = param_dtype(params) if dtype is None else dtype
    out = {}
    dims = []
    for l in range(1, L + 1):
        W = as_float_array(params[f"W{l}"], f"params['W{l}']", dtype)
        b = np.asarray(params[f"b{l}"])
        if b.ndim == 1:
            b = b.reshape(-1, 1)
        b = as_float_array(b, f"params['b{l}']", dtype)
        n, n_prev = W.shape
        if l > 1 and n_prev != dims[-1]:
            raise ValueError(
                f"params['W{l}'] has shape {W.shape}: its {n_prev} columns must equal the "
                f"{dims[-1]} rows of params['W{l - 1}']"
            )
        if b.shape != (n, 1):
            raise ValueError(
                f"params['b{l}'] must have shape ({n}, 1) to match W{l}; got {b.shape}"
            )
        if l == 1:
            dims.append(n_prev)
        dims.append(n)
        out[f"W{l}"], out[f"b{l}"] = W, b
    return out, dims, dtype


#: The fields of a :class:`fastdnn.model.LayerCache`, in order.
CACHE_FIELDS = ("A_prev", "W", "b", "A")


def check_caches(
    caches, unchanged: type | None = None
) -> tuple[list[tuple[np.ndarray, ...]], np.dtype]:
    """The caches of :func:`fastdnn.model_forward`, checked for the backward kernels.

    ``caches`` must be a non-empty list (or tuple) with one entry per layer, each a
    ``LayerCache`` or plain 4-tuple ``(A_prev, W, b, A)`` of 2-D real arrays with shapes
    ``(n[l-1], m)``, ``(n[l], n[l-1])``, ``(n[l], 1)``, ``(n[l], m)``, every layer's
    ``A_prev`` the shape of the previous layer's ``A``, and finite values.

    Parameters
    ----------
    caches : list of LayerCache
    unchanged : type, optional
        Entries of this type are known to hold arrays that were checked for NaN/inf when they
        were made (:func:`fastdnn.model_forward`'s own): they get every check but that sum.

    Returns
    -------
    caches : list of tuple
        The arrays, C-contiguous, in one dtype (:func:`common_dtype`: float32 when every float
        array is float32, else float64; int, bool and other floats are converted to it).
    dtype : numpy.dtype

    Notes
    -----
    The work is O(number of arrays), plus one finiteness sum per distinct array of the
    entries that are not ``unchanged`` (layer l's ``A`` is layer l+1's ``A_prev``: one sum).
    """
    if not isinstance(caches, (list, tuple)):
        raise TypeError(
            "caches must be the list of LayerCache (A_prev, W, b, A) returned by "
            f"model_forward; got {type(caches).__name__}"
        )
    if not caches:
        raise ValueError(
            "caches must hold one LayerCache (A_prev, W, b, A) per layer; got an empty "
            f"{type(caches).__name__}"
        )
    for l, entry in enumerate(caches):
        if not isinstance(entry, tuple):
            raise TypeError(
                f"caches[{l}] must be a LayerCache (A_prev, W, b, A) as model_forward returns "
                f"(a namedtuple or 4-tuple); got {type(entry).__name__}"
            )
        if len(entry) != 4:
            hint = (
                " (the course's ((A_prev, W, b), Z) caches belong to fastdnn.course.deep)"
                if len(entry) == 2
                else ""
            )
            raise ValueError(
                f"caches[{l}] must hold 4 arrays (A_prev, W, b, A); got {len(entry)}{hint}"
            )
    dtypes = {getattr(a, "dtype", None) for entry in caches for a in entry}
    if len(dtypes) == 1 and dtypes <= set(FLOAT_DTYPES.values()):
        dtype = dtypes.pop()  # the usual case, decided without a generator
    else:
        dtype = common_dtype(a for entry in caches for a in entry)
    checked = []
    seen: dict[int, np.ndarray] = {}  # id -> checked array: one check per distinct array
    prev_A = None
    for l, entry in enumerate(caches):
        arrays = []
        finite = type(entry) is not unchanged
        for field, a in zip(CACHE_FIELDS, entry, strict=True):
            if not finite and (
                type(a) is np.ndarray
                and a.dtype == dtype
                and a.ndim == 2
                and a.size
                and a.flags.c_contiguous
            ):
                arrays.append(a)  # as_float_array would return it as it is: skip the call
                continue
            arr = seen.get(id(a))
            if arr is None:
                arr = as_float_array(a, f"caches[{l}].{field}", dtype, finite=finite)
                if finite:  # an array summed once need not be summed again
                    seen[id(a)] = arr
            arrays.append(arr)
        A_prev, W, b, A = arrays
        n, n_prev = W.shape
        if A_prev.shape[0] != n_prev:
            raise ValueError(
                f"caches[{l}].A_prev must have {n_prev} rows, the columns of caches[{l}].W "
                f"(W is (n[l], n[l-1]), A_prev (n[l-1], m)); got shape {A_prev.shape} and W "
                f"of shape {W.shape}"
            )
        if prev_A is not None and A_prev.shape != prev_A.shape:
            raise ValueError(
                f"caches[{l}].A_prev has shape {A_prev.shape} but caches[{l - 1}].A has shape "
                f"{prev_A.shape}: a layer's input is the previous layer's output (pass the "
                "caches of one model_forward call, in order)"
            )
        if b.shape != (n, 1):
            raise ValueError(
                f"caches[{l}].b must have shape ({n}, 1) to match caches[{l}].W of shape "
                f"{W.shape}; got {b.shape}"
            )
        if A.shape != (n, A_prev.shape[1]):
            raise ValueError(
                f"caches[{l}].A must have shape (n[l], m) = ({n}, {A_prev.shape[1]}) (the rows "
                f"of W, the columns of A_prev); got {A.shape}"
            )
        checked.append((A_prev, W, b, A))
        prev_A = A
    return checked, dtype
