"""Input checks for the public entry points.

Everything here runs before any work starts and raises ``ValueError`` (bad shape or value) or
``TypeError`` (bad type) with a message naming the argument, what was expected and what was
found. Arrays are converted at most once (``np.asarray`` returns the caller's own array when it
already has the right dtype and layout); nothing the caller owns is ever written to.
"""

from __future__ import annotations

import decimal
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ._types import ACTIVATIONS, BACKEND_NAMES, LOSSES, OUTPUT_LOSS
from ._types import INITS as INITS  # re-exported: validation names its choices

FLOAT_DTYPES = {"float64": np.dtype(np.float64), "float32": np.dtype(np.float32)}
#: Counts (iterations, sizes) become int64 in the compiled loop and the layer table.
INT64_MAX = int(np.iinfo(np.int64).max)
#: Larger arrays are summed for NaN under np.errstate (its ~1 us is then negligible).
_QUIET_SUM_SIZE = 4096
#: Below this many bytes an allocation is not worth asking the system about.
_SMALL_ALLOCATION = 256 * 2**20


def _show(value) -> str:
    """``repr(value)``, shortened: a 10**400 must not make a 400-digit error message."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:24]}...{text[-12:]} ({len(text)} characters)"


def check_choice(value, name: str, choices) -> str:
    """``value`` must be one of ``choices`` (strings)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {_show(value)}")
    return value


def check_backend(backend) -> str:
    """A valid backend name."""
    return check_choice(backend, "backend", BACKEND_NAMES)


def check_activation(name: str, value) -> str:
    """A hidden-layer activation name."""
    return check_choice(value, name, ACTIVATIONS)


def check_output(value) -> str:
    """An output activation name: one with a loss fastdnn can train."""
    return check_choice(value, "output", OUTPUT_LOSS)


def check_output_units(output: str, n_y: int, where: str) -> None:
    """A softmax output needs two units or more: one unit's softmax is 1 whatever its input,
    so its cost is 0 and its gradients too (it could learn nothing, and a gradient check would
    compare nothing). ``where`` names what has ``n_y`` outputs."""
    if output == "softmax" and n_y < 2:
        raise ValueError(
            f"output='softmax' needs at least 2 output units; {where} has {n_y} (two classes: "
            "output='sigmoid' with one unit, or two softmax units)"
        )


def check_loss(value) -> str:
    """A loss name."""
    return check_choice(value, "loss", LOSSES)


def check_dtype(dtype) -> np.dtype:
    """``"float64"`` or ``"float32"`` (or the equivalent NumPy dtype)."""
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):  # what np.dtype raises for anything it cannot read
        dt = None
    if dt is None or dt not in FLOAT_DTYPES.values():
        raise ValueError(f"dtype must be 'float64' or 'float32'; got {_show(dtype)}")
    return dt


def _real(value, name: str, what: str) -> float:
    """``float(value)`` of a real number, or the TypeError/ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (numbers.Real, decimal.Decimal)
    ):
        raise TypeError(f"{name} must be {what}; got {type(value).__name__} {_show(value)}")
    try:
        return float(value)
    except (OverflowError, ValueError):  # a huge int or Fraction; a signalling Decimal NaN
        raise ValueError(
            f"{name} must be {what}; got {_show(value)}, which a float64 cannot hold"
        ) from None


def check_positive_finite(value, name: str) -> float:
    """A real number > 0 that is finite *as a float64* (learning rates, slopes).

    Python and NumPy numbers, ``Fraction`` and ``Decimal`` are accepted; the check is made
    on ``float(value)``, the number training uses: a ``10**400`` (which ``float`` cannot
    hold) or a ``Fraction(1, 10**400)`` (which it rounds to 0) is refused like ``inf`` or 0.
    """
    what = "a positive finite number"
    as_float = _real(value, name, what)
    if not (math.isfinite(as_float) and as_float > 0):
        underflow = " (it rounds to 0.0 as a float64)" if as_float == 0 and value != 0 else ""
        raise ValueError(f"{name} must be {what}; got {_show(value)}{underflow}")
    return as_float


def check_non_negative_finite(value, name: str) -> float:
    """A real number >= 0 and finite (decay rates, L2 strengths, tolerances)."""
    what = "a finite number >= 0"
    as_float = _real(value, name, what)
    if not (math.isfinite(as_float) and as_float >= 0):
        raise ValueError(f"{name} must be {what}; got {_show(value)}")
    return as_float


def check_unit_interval(value, name: str) -> float:
    """A real number in ``[0, 1)`` (an exponential moving average's beta)."""
    what = "a number in [0, 1)"
    as_float = _real(value, name, what)
    if not 0 <= as_float < 1:
        raise ValueError(f"{name} must be {what}; got {_show(value)}")
    return as_float


def check_open_unit_interval(value, name: str) -> float:
    """A real number in ``(0, 1)`` (a fraction of the examples)."""
    what = "a number in (0, 1)"
    as_float = _real(value, name, what)
    if not 0 < as_float < 1:
        raise ValueError(f"{name} must be {what}; got {_show(value)}")
    return as_float


def check_probability(value, name: str) -> float:
    """A real number in ``(0, 1]`` (dropout's keep_prob)."""
    what = "a probability in (0, 1]"
    as_float = _real(value, name, what)
    if not 0 < as_float <= 1:
        raise ValueError(f"{name} must be {what}; got {_show(value)}")
    return as_float


def check_positive_int(value, name: str, maximum: int = INT64_MAX) -> int:
    """An integer in ``[1, maximum]`` (``bool`` is refused).

    The default bound is the int64 range, which every count that reaches compiled code or a
    layer table must fit.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a positive integer; got {_show(value)} ({type(value).__name__})"
        )
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer; got {_show(value)}")
    if value > maximum:
        raise ValueError(f"{name} must be a positive integer <= {maximum}; got {_show(value)}")
    return int(value)


def check_flag(value, name: str) -> bool:
    """``True`` or ``False`` (NumPy's bool too): a string like ``"no"`` is refused, not read
    as true."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {_show(value)}")
    return bool(value)


def check_step_counts(num_iterations, epochs) -> tuple[int | None, int | None]:
    """``fit``'s ``num_iterations`` and ``epochs``, each checked when given (when both are,
    ``num_iterations`` decides, but a bad ``epochs`` is still a mistake to report)."""
    if num_iterations is not None:
        num_iterations = check_positive_int(num_iterations, "num_iterations")
    if epochs is not None:
        epochs = check_positive_int(epochs, "epochs")
    return num_iterations, epochs


def check_callbacks(callbacks) -> list:
    """``fit``'s ``callbacks``: a sequence of callables ``(iteration, cost, model)``; None is
    none."""
    what = "callbacks must be a list of callables f(iteration, cost, model)"
    if callbacks is None:
        return []
    if callable(callbacks):
        raise TypeError(f"{what}; got one callable, {_show(callbacks)}: pass [it]")
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
        raise TypeError(f"{what}; got {type(callbacks).__name__} {_show(callbacks)}")
    callbacks = list(callbacks)
    for i, c in enumerate(callbacks):
        if not callable(c):
            raise TypeError(f"{what}; callbacks[{i}] is {type(c).__name__} {_show(c)}")
    return callbacks


def check_validation_data(validation_data) -> tuple:
    """``fit``'s ``validation_data``, a pair ``(X_val, Y_val)`` (its arrays are checked with
    the model)."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        got = (
            f"a {type(validation_data).__name__} of length {len(validation_data)}"
            if isinstance(validation_data, (tuple, list))
            else f"{type(validation_data).__name__}"
            + (f" of shape {validation_data.shape}" if hasattr(validation_data, "shape") else "")
        )
        raise TypeError(f"validation_data must be a pair (X_val, Y_val); got {got}")
    return tuple(validation_data)


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
    return [check_positive_int(n, f"layer_dims[{l}]") for l, n in enumerate(dims)]


def _format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def memory_limit() -> tuple[int, str] | None:
    """``(bytes, where the limit comes from)``: the most this process could ever allocate.

    The smallest of physical memory, a cgroup v2 limit (containers) and the headroom left by
    ``RLIMIT_AS`` (``ulimit -v``); None when none of them can be read.
    """
    limits = []
    try:
        limits.append((os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "physical memory"))
    except (AttributeError, ValueError, OSError):  # not POSIX
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            text = f.read().strip()
        if text.isdigit():
            limits.append((int(text), "the cgroup memory limit, /sys/fs/cgroup/memory.max"))
    except OSError:
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm") as f:  # pages of address space already in use
                used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            limits.append((max(soft - used, 0), "what RLIMIT_AS (ulimit -v) leaves"))
    except (ImportError, OSError, ValueError):
        pass
    return min(limits) if limits else None


def check_memory(nbytes: int, what: str, fix: str) -> None:
    """Refuse, before allocating, ``nbytes`` that this process can never get.

    ``what`` says what would be allocated and ``fix`` how to need less; both go into the
    ``ValueError``. Small requests (< 256 MiB) are not checked.
    """
    if nbytes < _SMALL_ALLOCATION:
        return
    limit = memory_limit()
    if limit is not None and nbytes > limit[0]:
        raise ValueError(
            f"{what} would need about {_format_bytes(nbytes)}, more than the "
            f"{_format_bytes(limit[0])} this process can use ({limit[1]}); {fix}"
        )


def check_network_memory(layer_dims: Sequence[int], dtype: np.dtype, copies: int, what: str):
    """Refuse a network whose parameters cannot fit in memory, saying how much they need.

    ``copies`` flat parameter buffers of ``dtype`` (the parameters; a DNN adds its training
    buffer and gradient) plus the float64 draw of the largest ``W`` (twice: the draw and its
    scaling).
    """
    n_params = sum(layer_dims[l] * (layer_dims[l - 1] + 1) for l in range(1, len(layer_dims)))
    largest_W = max(layer_dims[l] * layer_dims[l - 1] for l in range(1, len(layer_dims)))
    nbytes = copies * n_params * np.dtype(dtype).itemsize + 2 * largest_W * 8
    check_memory(
        nbytes,
        f"{what} with layer_dims {_show(list(layer_dims))} has {n_params:,} parameters: it",
        "use smaller layers (layer l has n[l] * n[l-1] weights; the first, n[1] * n_x)",
    )


def as_array(a, name: str) -> np.ndarray:
    """``np.asarray(a)``, refusing a masked array with masked entries: ``np.asarray`` would
    hand over the values under the mask as if they were data."""
    if type(a) is np.ndarray:  # the usual case, first: a functional-API step makes ~20 calls
        return a
    if isinstance(a, np.ma.MaskedArray) and np.ma.is_masked(a):
        n = int(np.ma.count_masked(a))
        raise TypeError(
            f"{name} is a masked array with {n} masked {'entry' if n == 1 else 'entries'}; "
            f"fastdnn has no missing values: fill them ({name}.filled(value)) or drop those "
            "examples, then pass a plain array"
        )
    return np.asarray(a)


def as_float_array(
    a, name: str, dtype: np.dtype, ndim: int = 2, *, finite: bool = True
) -> np.ndarray:
    """Convert to a C-contiguous array of ``dtype`` (one copy at most), refusing non-numbers.

    Integer, unsigned, bool and float inputs convert; object, string, complex and other
    dtypes raise ``TypeError``. Empty arrays and (when ``finite``) NaN/inf raise
    ``ValueError``.
    """
    try:
        arr = a if type(a) is np.ndarray else as_array(a, name)
    except (ValueError, TypeError) as exc:  # ragged nested lists, and the like
        if isinstance(a, np.ma.MaskedArray):
            raise
        raise ValueError(
            f"{name} must be a {ndim}-D array of numbers; NumPy cannot make an array of it ({exc})"
        ) from None
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
    source = None
    if arr.dtype != dtype or not arr.flags.c_contiguous:
        # A view (np.broadcast_to, a strided slice) can stand for far more than memory holds.
        nbytes = arr.size * np.dtype(dtype).itemsize
        if nbytes >= _SMALL_ALLOCATION:  # (the message only then: dtype.name is slow)
            check_memory(
                nbytes,
                f"a C-contiguous {np.dtype(dtype).name} copy of {name} (shape {arr.shape})",
                f"pass a smaller {name}",
            )
        if kind == "f" and arr.dtype.itemsize > np.dtype(dtype).itemsize:
            # Narrowing (float64 -> float32): a finite value beyond the range becomes inf; the
            # check below says so in words, not in NumPy's "overflow encountered in cast".
            source = arr
            with np.errstate(over="ignore"):
                arr = np.ascontiguousarray(arr, dtype=dtype)
        else:
            arr = np.ascontiguousarray(arr, dtype=dtype)
    if finite:
        check_finite(arr, name, source)
    return arr


def check_finite(arr: np.ndarray, name: str, source: np.ndarray | None = None) -> None:
    """Raise ``ValueError`` naming the first NaN or inf in ``arr``.

    ``source``: what ``arr`` was converted from, if a narrower float; a value finite there
    is reported as out of ``arr``'s range.

    Sums first: any NaN or inf makes the sum non-finite, and a sum allocates nothing (an
    ``isfinite`` mask of a 60000 x 784 input would be 47 MB). Only a non-finite sum pays for
    the mask, to say where; so does a sum that overflows, since finite values near 1e308 are
    valid input and say nothing. Large arrays sum under ``errstate(over="ignore")``, in their
    own dtype: summed in float64, a float32 array converts every value and takes as long as
    a float64 one (W4's 784 x 60000: 20 ms against 10 ms, Sapphire Rapids class Xeon); a
    float32 sum that overflows only sends it to the mask. Small ones sum in float64
    (overflowing only for values above 1e304) and skip that context manager, which would
    double their cost, and only catch the overflow warning turned into an error.
    """
    if arr.dtype.kind != "f":
        return
    # np.add.reduce, not np.sum: the same reduction without np.sum's Python wrapper, which
    # was most of the cost of validating the small arrays of a functional-API step.
    if arr.size <= _QUIET_SUM_SIZE:
        try:
            if math.isfinite(np.add.reduce(arr, axis=None, dtype=np.float64)):
                return
        except (RuntimeWarning, FloatingPointError):  # -W error, or np.seterr(over="raise")
            pass
    else:
        with np.errstate(over="ignore", invalid="ignore"):  # (inf + -inf: "invalid")
            if math.isfinite(np.add.reduce(arr, axis=None)):
                return
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        where = tuple(bad[0])
        index = tuple(int(i) for i in where)
        if source is not None and np.isfinite(source[where]):
            limit = np.finfo(arr.dtype).max
            raise ValueError(
                f"{name} holds {source[where]} at index {index}, beyond {arr.dtype}'s range "
                f"(+-{limit:.3g}); scale it, or use dtype='float64'"
            )
        raise ValueError(f"{name} must be finite; found {arr[where]} at index {index}")


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

    For ``loss="bce"`` every label must be 0 or 1, or a probability in between (soft labels:
    binary cross-entropy is defined for them, as for one-hot softmax targets' probability
    columns). For ``loss="cce"`` (softmax), ``Y`` is
    one-hot ``(n_y, m)`` as in the course -- or, more generally, columns of probabilities that
    sum to 1 -- or class indices in ``0 .. n_y-1`` of shape ``(m,)`` or ``(1, m)``, which are
    turned into one-hot columns.
    """
    arr = as_array(Y, name)
    if holds_class_indices(arr.shape, n_y, loss):  # their count is checked by _one_hot
        return _one_hot(arr.reshape(-1), n_y, m, dtype, name)
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
        bad = (arr < 0) | (arr > 1)
        if bad.any():
            values = np.unique(arr[bad])[:5]
            raise ValueError(
                f"{name} must hold binary labels 0 or 1 (or probabilities in [0, 1], soft "
                f"labels) for loss 'bce' (sigmoid output); found {values.tolist()}"
            )
    elif loss == "cce":
        sums = arr.sum(axis=0, dtype=np.float64)
        bad = np.flatnonzero((np.abs(sums - 1) > 1e-6) | (arr < 0).any(axis=0))
        if bad.size:
            j = int(bad[0])
            raise ValueError(
                f"{name} must be one-hot for loss 'cce' (softmax output): each column a "
                f"probability vector summing to 1; column {j} sums to {sums[j]:.6g} "
                f"(for class indices give a (m,) or (1, m) array of integers 0..{n_y - 1})"
            )
    return arr


def holds_class_indices(shape: tuple, n_y: int, loss: str, m: int | None = None) -> bool:
    """Whether targets of ``shape`` are class indices that :func:`check_Y` one-hot codes.

    That is a row of them, ``(k,)`` or ``(1, k)``, for a softmax output (``loss="cce"``) of
    ``n_y > 1`` classes; with ``m`` given, only ``k == m`` counts (data read by blocks code
    each block as it is read, so they decide from the shape alone, before any is read).

    Examples
    --------
    >>> holds_class_indices((5,), 3, "cce"), holds_class_indices((3, 5), 3, "cce")
    (True, False)
    """
    row = len(shape) == 1 or (len(shape) == 2 and shape[0] == 1)
    return loss == "cce" and n_y > 1 and row and (m is None or shape[-1] == m)


def _one_hot(labels, n_y: int, m: int, dtype: np.dtype, name: str) -> np.ndarray:
    labels = as_float_array(labels.reshape(1, -1), name, np.dtype(np.float64))[0]
    if labels.shape[0] != m:
        raise ValueError(f"{name} holds {labels.shape[0]} class indices but X has m = {m} examples")
    bad = (labels != np.round(labels)) | (labels < 0) | (labels >= n_y)
    if bad.any():
        raise ValueError(
            f"{name} as class indices must hold integers 0..{n_y - 1} (the output layer has "
            f"{n_y} units); found {np.unique(labels[bad])[:5].tolist()}"
        )
    out = np.zeros((n_y, m), dtype=dtype)
    out[labels.astype(np.int64), np.arange(m)] = 1
    return out


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
    dtypes = {np.asarray(v).dtype for v in params.values()}
    if len(dtypes) == 1 and dtypes <= set(FLOAT_DTYPES.values()):
        return dtypes.pop()  # the usual case, decided without a generator
    return common_dtype(np.asarray(v) for v in params.values())


#: A parameter's key as the course spells it: W or b, then the layer, without leading zeros.
_PARAM_KEY = re.compile(r"[Wb][1-9][0-9]*")


def check_params(
    params, dtype: np.dtype | None = None, n_layers: int | None = None
) -> tuple[dict, list[int], np.dtype]:
    """The course's dict ``{"W1", "b1", ..., "WL", "bL"}`` with consistent shapes.

    ``n_layers``: the layers the dict must hold (a model's, for ``set_params``); by default
    as many as its largest ``W`` key says.

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
    # The layer count from the keys spelt as the course spells them ("W01" is not "W1").
    layers = [
        int(k[1:]) for k in params if isinstance(k, str) and _PARAM_KEY.fullmatch(k) and k[0] == "W"
    ]
    L = max(layers, default=0) if n_layers is None else n_layers
    if L == 0:
        raise ValueError(f"params must hold W1, b1, ...; got keys {sorted(map(str, params))}")
    expected = {f"{p}{l}" for l in range(1, L + 1) for p in "Wb"}
    missing = sorted(expected - set(params))
    # a misspelt key would otherwise be dropped without a word
    extra = ", ".join(sorted(map(repr, set(params) - expected)))
    network = f"a {L}-layer network" if n_layers is None else f"this model's {L} layers"
    # Layers count from 1, as in the course (W0 would be a zero-based count).
    from_one = "; layers count from 1" if {"W0", "b0"} & set(params) else ""
    if missing and extra:
        raise ValueError(
            f"params is missing {missing} for {network}, and holds {extra}, which "
            f"is not a parameter (the keys are W1, b1, W2, ... without leading zeros{from_one})"
        )
    if missing:
        raise ValueError(f"params is missing {missing} for {network}")
    if extra:
        raise ValueError(
            f"params holds {extra}, not a parameter of {network} (W1..W{L}, b1..b{L}{from_one})"
        )
    dtype = param_dtype(params) if dtype is None else dtype
    out = {}
    dims = []
    for l in range(1, L + 1):
        W = as_float_array(params[f"W{l}"], f"params['W{l}']", dtype)
        b = as_array(params[f"b{l}"], f"params['b{l}']")
        if b.ndim <= 1:  # (n,), or a number for one unit (the course's logistic b)
            b = b.reshape(-1, 1)
        b = as_float_array(b, f"params['b{l}']", dtype)
        n, n_prev = W.shape
        if l > 1 and n_prev != dims[-1]:
            raise ValueError(
                f"params['W{l}'] has shape {W.shape}: its {n_prev} columns must equal the "
                f"{dims[-1]} rows of params['W{l - 1}']"
            )
        if b.shape != (n, 1):
            hint = ""
            if b.shape == (n_prev, 1) and n != n_prev:
                hint = f" (is W{l} transposed? W[l] is (n[l], n[l-1])" + (
                    "; the course's logistic regression keeps w as a column (n_x, 1): pass "
                    "W1 = w.T, b1 = b)"
                    if n_prev == 1
                    else ")"
                )
            raise ValueError(
                f"params['b{l}'] must have shape ({n}, 1) to match W{l} of shape {W.shape}; "
                f"got {b.shape}{hint}"
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
