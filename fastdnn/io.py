"""Saving and loading models.

Model files
-----------
:func:`save_model` writes a :class:`fastdnn.DNN` to one ``.npz`` archive (a zip of ``.npy``
arrays, readable with ``np.load(path)`` and no fastdnn at all). Its entries:

=================  ====================  ========================================
entry              shape / dtype         contents
=================  ====================  ========================================
``W1`` ... ``WL``  ``(n[l], n[l-1])``    weights of layer l, in the model's dtype
``b1`` ... ``bL``  ``(n[l], 1)``         biases of layer l, in the model's dtype
``input_mean``     ``(n[0], 1)`` float64  input standardisation (when the model has it)
``input_scale``    ``(n[0], 1)`` float64  (both or neither; see ``DNN.set_input_scaling``)
``__fastdnn__``    0-d unicode (``<U``)  a JSON object: the metadata below
=================  ====================  ========================================

The JSON object (``format_version`` 2; version-1 files, without the last three keys, load):

===================  ==============================  ===============================================
key                  type                            meaning
===================  ==============================  ===============================================
``format``           ``"fastdnn.DNN"``               identifies the file as a fastdnn model
``format_version``   int (1)                         bumped when a reader must change
``fastdnn_version``  str                             the fastdnn that wrote the file
``layer_dims``       list of int                     ``[n_x, n_1, ..., n_L]``
``hidden``           str                             hidden activation (``"relu"``, ``"tanh"``, ...)
``output``           ``"sigmoid"`` or ``"linear"``   output activation (sets the loss)
``slope``            float                           negative-side slope of ``leaky_relu``
``dtype``            ``"float64"`` or ``"float32"``  dtype of every W and b
``init``             str                             initialization the model was created with
``n_steps``          int                             gradient steps trained so far
``seed``             int or null (optional)          the model's seed, when it was an int
``history``          object (optional)               the last ``fit``'s :class:`~fastdnn.History`:
                                                     ``iterations``, ``costs`` (null for a
                                                     non-finite cost), ``val_iterations``,
                                                     ``val_costs``, ``val_accuracy``, ``n_steps``,
                                                     ``wall_time``, ``stop_reason``
``feature_names``    list of str (optional)          one name per input feature
``label_names``      list of str (optional)          one name per output
``arrays``           object (optional)               the entries beside ``W1, b1, ...``:
                                                     ``{name: {"shape": [...], "dtype": ...}}``
===================  ==============================  ===============================================

The metadata may also be stored as a 1-D ``uint8`` array of UTF-8 bytes; object arrays are
never written, and never read: files are opened with ``np.load(..., allow_pickle=False)``, so
loading a file cannot run code. A "course-style" archive holding only ``W1, b1, ...`` (as
``np.savez("params.npz", **parameters)`` writes from the course's notebooks) loads too; its
activations are then given by the caller.

Files are written atomically: to a temporary file in the target's directory, flushed to disk,
then renamed over the target with :func:`os.replace`. An interrupted save leaves the previous
file (if any) untouched and no partial file under the target's name. The model is saved to
exactly the path given: ``".npz"`` is *not* appended (unlike :func:`numpy.savez`).

Data files for the command line are read by :mod:`fastdnn.datafiles`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import numbers
import os
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from . import _validation as v

if TYPE_CHECKING:  # pragma: no cover
    from .network import DNN

FORMAT_NAME = "fastdnn.DNN"
FORMAT_VERSION = 2
META_KEY = "__fastdnn__"
#: Longest feature or label name a model keeps (characters).
MAX_NAME_CHARS = 1024
#: Arrays a model file may hold beside W1, b1, ...: name -> shape given layer_dims. float64.
STATE_ARRAYS = {"input_mean": lambda dims: (dims[0], 1), "input_scale": lambda dims: (dims[0], 1)}

_REQUIRED_META = (
    "format",
    "format_version",
    "fastdnn_version",
    "layer_dims",
    "hidden",
    "output",
    "slope",
    "dtype",
    "init",
    "n_steps",
)
_OPTIONAL_META = ("seed", "history")
_OPTIONAL_META_V2 = ("feature_names", "label_names", "arrays")
_HISTORY_LISTS = ("iterations", "costs", "val_iterations", "val_costs", "val_accuracy")
_PARAM_KEY = re.compile(r"^([Wb])([1-9][0-9]*)$")

# What a damaged or foreign file can raise while numpy/zipfile read it.
_READ_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    KeyError,
    UnicodeDecodeError,
    NotImplementedError,
)


# --------------------------------------------------------------------------------- checks
def check_names(names, what: str, n: int, unit: str = "input") -> tuple[str, ...] | None:
    """``None``, or ``n`` unique non-empty strings of at most :data:`MAX_NAME_CHARS` each.

    ``what`` names the argument in errors (``"feature_names"``); ``unit`` says what each name
    is for (``"input"`` or ``"output"``).
    """
    if names is None:
        return None
    if isinstance(names, (str, bytes)) or not isinstance(names, (Sequence, np.ndarray)):
        raise TypeError(
            f"{what} must be a list of str, one per {unit} ({n}), or None; "
            f"got {type(names).__name__}"
        )
    names = list(names)
    if len(names) != n:
        raise ValueError(f"{what} must hold one name per {unit}: {n} names; got {len(names)}")
    seen = set()
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise TypeError(f"{what}[{i}] must be a str; got {type(name).__name__}")
        if not 0 < len(name) <= MAX_NAME_CHARS:
            raise ValueError(
                f"{what}[{i}] must be a non-empty str of at most {MAX_NAME_CHARS} characters; "
                f"got {_clip(repr(name))} ({len(name)} characters)"
            )
        if name in seen:
            raise ValueError(f"{what} must be unique; {_clip(repr(name))} appears twice")
        seen.add(name)
    return tuple(str(name) for name in names)


def check_input_scaling(mean, scale, n_x: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Float64 ``(n_x, 1)`` read-only copies of ``mean`` and ``scale`` (or both None).

    Both must be finite, of shape ``(n_x,)`` or ``(n_x, 1)``, and every scale > 0.
    """
    if mean is None and scale is None:
        return None, None
    if mean is None or scale is None:
        raise ValueError(
            "mean and scale are set together (both arrays, or both None to remove the "
            f"scaling); got mean={'None' if mean is None else 'an array'} and "
            f"scale={'None' if scale is None else 'an array'}"
        )
    out = []
    for name, a in (("mean", mean), ("scale", scale)):
        arr = np.asarray(a)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}")
        if arr.shape not in ((n_x,), (n_x, 1)):
            raise ValueError(
                f"{name} must have shape ({n_x},) or ({n_x}, 1): one value per input feature "
                f"(layer_dims[0] = {n_x}); got {arr.shape}"
            )
        arr = np.array(arr, dtype=np.float64).reshape(n_x, 1)  # our own copy
        v.check_finite(arr, name)
        arr.flags.writeable = False
        out.append(arr)
    if not (out[1] > 0).all():
        i = int(np.argmin(out[1][:, 0] > 0))
        raise ValueError(
            f"scale must be > 0 for every feature (give 1 for a constant feature); "
            f"got {out[1][i, 0]} at index {i}"
        )
    return out[0], out[1]


def _clip(text: str, limit: int = 80) -> str:
    """``text`` cut to about ``limit`` characters: error messages never echo a huge value."""
    return text if len(text) <= limit else f"{text[: limit - 20]}...({len(text)} characters)"


# --------------------------------------------------------------------------------- saving
def save_model(net: DNN, path: str | os.PathLike) -> Path:
    """Save a model to a ``.npz`` file, atomically.

    Parameters
    ----------
    net : DNN
        The model. Its parameters must be finite.
    path : str or path-like
        Where to write, exactly: ``".npz"`` is not appended. An existing file is replaced
        only once the new one is complete (see the module docstring for the format).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        If ``net`` is not a :class:`fastdnn.DNN`.
    ValueError
        If the parameters hold NaN or inf (:func:`load_model` would refuse the file).
    FileNotFoundError
        If the folder of ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a folder.

    Examples
    --------
    >>> import tempfile, os
    >>> from fastdnn import DNN
    >>> net = DNN([3, 2, 1], seed=0)
    >>> path = save_model(net, os.path.join(tempfile.mkdtemp(), "model.npz"))
    >>> load_model(path).layer_dims
    [3, 2, 1]
    """
    from . import __version__
    from .network import DNN

    if not isinstance(net, DNN):
        raise TypeError(f"net must be a fastdnn.DNN; got {type(net).__name__}")
    path = Path(os.fspath(path))
    params = net.params
    for key, a in params.items():
        if not np.isfinite(a).all():
            raise ValueError(
                f"cannot save the model to '{path}': parameter {key} holds non-finite values "
                "(NaN or inf), which load_model refuses; retrain with a smaller learning rate"
            )
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fastdnn_version": __version__,
        "layer_dims": [int(n) for n in net.layer_dims],
        "hidden": net.hidden,
        "output": net.output,
        "slope": float(net.slope),
        "dtype": net.dtype.name,
        "init": net.init,
        "n_steps": int(net.n_steps_),
        "seed": _json_seed(net.seed),
    }
    if net.history_ is not None:
        meta["history"] = _history_to_json(net.history_)
    for key in ("feature_names", "label_names"):
        names = getattr(net, key)
        if names is not None:
            meta[key] = list(names)
    arrays = dict(params)
    if net.input_mean is not None:
        arrays["input_mean"], arrays["input_scale"] = net.input_mean, net.input_scale
        meta["arrays"] = {
            name: {"shape": list(arrays[name].shape), "dtype": "float64"}
            for name in ("input_mean", "input_scale")
        }
    arrays[META_KEY] = np.array(json.dumps(meta, allow_nan=False))  # 0-d unicode, no pickle

    def write(f: IO[bytes]) -> None:
        np.savez(f, **arrays)  # a file object: savez appends no suffix

    atomic_write(path, write)
    return path


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    The temporary file is flushed and fsync'ed before :func:`os.replace`, which is atomic on
    POSIX and Windows: readers see the old file or the new one, never a mix. On any error
    (including ``KeyboardInterrupt``) the temporary file is removed and ``path`` is untouched.
    A new file gets the usual permissions (``0o666`` less the umask); a replaced file keeps
    its mode.
    """
    path = Path(os.fspath(path))
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write '{path}': the folder '{folder}' does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write '{path}': it is a folder; give a file name")
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _umask() -> int:
    mask = os.umask(0)  # there is no read-only query; set and restore at once
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


def _json_seed(seed):
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    return None  # a Generator or SeedSequence cannot be written as JSON


def _json_float(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _history_to_json(history) -> dict:
    out = {}
    for f in dataclasses.fields(history):
        value = getattr(history, f.name)
        if f.name in _HISTORY_LISTS:
            conv = int if f.name.endswith("iterations") else _json_float
            out[f.name] = [conv(x) for x in value]
        elif f.name == "n_steps":
            out[f.name] = int(value)
        elif f.name == "wall_time":
            out[f.name] = _json_float(value)
        else:
            out[f.name] = str(value)
    return out


# --------------------------------------------------------------------------------- loading
def load_model(
    path: str | os.PathLike,
    backend: str | None = None,
    *,
    hidden: str | None = None,
    output: str | None = None,
) -> DNN:
    """Load a model written by :func:`save_model`, or a course-style ``W1, b1, ...`` archive.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file.
    backend : {"jit", "numpy", "naive"}, optional
        Backend of the loaded model (not stored in the file); default ``"jit"``.
    hidden, output : str, optional
        Activations for a course-style archive (default ``"relu"`` and ``"sigmoid"``, the
        course's deep network). For a fastdnn file they are read from the file; giving a
        different value is an error.

    Returns
    -------
    DNN
        Parameters bitwise equal to the saved ones, with the saved ``hidden``, ``output``,
        ``slope``, ``dtype``, ``init``, ``n_steps_`` (and ``seed``, ``history_`` when stored).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file and what is wrong, for anything but a valid model: not a zip archive,
        truncated or corrupted, pickled (object) arrays, another format, a newer
        ``format_version``, missing or extra entries, shapes that disagree with
        ``layer_dims``, a dtype other than the recorded one, unknown activations, non-finite
        values.
    """
    from .network import DNN

    path = Path(os.fspath(path))
    backend = v.check_backend("jit" if backend is None else backend)
    if hidden is not None:
        v.check_activation("hidden", hidden)
    if output is not None:
        v.check_output(output)
    entries = _read_npz(path)
    meta_raw = entries.pop(META_KEY, None)
    params, state, extra = {}, {}, []
    for key, a in entries.items():
        if _PARAM_KEY.match(key):
            params[key] = a
        elif key in STATE_ARRAYS and meta_raw is not None:
            state[key] = a
        else:
            extra.append(key)
    if not params:
        raise _bad(
            path,
            f"no parameters W1, b1, ...; its entries are {sorted(entries) or 'none'}"
            + (
                " (is this a data file? load it with fastdnn.datafiles.load_data)"
                if {"X", "Y", "x", "y"} & set(entries)
                else ""
            ),
        )
    if extra:
        raise _bad(
            path,
            f"unexpected entries {sorted(extra)}; a model holds W1, b1, ..., WL, bL "
            f"and {META_KEY!r} only",
        )
    L = max(int(_PARAM_KEY.match(k).group(2)) for k in params)
    expected = {f"{p}{l}" for l in range(1, L + 1) for p in "Wb"}
    if set(params) != expected:
        raise _bad(
            path,
            f"parameters missing for a {L}-layer network: "
            f"{sorted(expected - set(params), key=_param_order)}",
        )

    if meta_raw is None:  # course-style: W1, b1, ... only
        for key in sorted(params, key=_param_order):
            _check_param_array(path, key, params[key], None)
        try:
            checked, dims, dtype = v.check_params(params)
        except (ValueError, TypeError) as exc:
            raise _bad(path, str(exc)) from None
        net = DNN(
            dims,
            hidden=hidden or "relu",
            output=output or "sigmoid",
            init="zeros" if len(dims) == 2 else "xavier",
            backend=backend,
            dtype=dtype,
        )
        net.set_params(checked)
        return net

    meta = _parse_meta(path, meta_raw)
    dims = meta["layer_dims"]
    dtype = np.dtype(meta["dtype"])
    if len(dims) - 1 != L:
        raise _bad(
            path,
            f"layer_dims {dims} describe {len(dims) - 1} layers but the file "
            f"holds parameters for {L}",
        )
    for l in range(1, L + 1):
        for key, shape in ((f"W{l}", (dims[l], dims[l - 1])), (f"b{l}", (dims[l], 1))):
            _check_param_array(path, key, params[key], dtype)
            if params[key].shape != shape:
                raise _bad(
                    path,
                    f"{key} has shape {params[key].shape} but layer_dims {dims} require {shape}",
                )
    for name, value in (("hidden", hidden), ("output", output)):
        if value is not None and value != meta[name]:
            raise ValueError(
                f"{name}={value!r} was given but '{path}' is a fastdnn model saved with "
                f"{name}={meta[name]!r}; leave {name} out to use the saved one"
            )
    net = DNN(
        dims,
        hidden=meta["hidden"],
        output=meta["output"],
        init="zeros" if len(dims) == 2 else "xavier",
        backend=backend,
        dtype=dtype,
        seed=meta.get("seed"),
        slope=meta["slope"],
    )
    net.init = meta["init"]
    net.set_params(params)
    net.n_steps_ = meta["n_steps"]
    if meta.get("history") is not None:
        net.history_ = _history_from_json(path, meta["history"])
    mean, scale = _state_arrays(path, meta, state)
    try:
        net.feature_names = meta.get("feature_names")
        net.label_names = meta.get("label_names")
        net.set_input_scaling(mean, scale)
    except (ValueError, TypeError) as exc:
        raise _bad(path, f"bad metadata: {exc}") from None
    return net


def _state_arrays(path: Path, meta: dict, state: dict):
    """``input_mean`` and ``input_scale`` as listed in the metadata's ``arrays`` (or None)."""
    listed = meta.get("arrays") or {}
    if not isinstance(listed, dict):
        raise _bad(path, f"bad metadata: arrays must be an object; got {type(listed).__name__}")
    if set(listed) != set(state):
        raise _bad(
            path,
            f"the metadata lists arrays {sorted(listed)} but the file holds {sorted(state)}",
        )
    for name, a in state.items():
        shape = STATE_ARRAYS[name](meta["layer_dims"])
        if listed[name] != {"shape": list(shape), "dtype": "float64"}:
            raise _bad(path, f"bad metadata: arrays[{name!r}] must be shape {list(shape)}, float64")
        if a.dtype != np.float64 or a.shape != shape:
            raise _bad(path, f"{name} must be float64 of shape {shape}; got {a.dtype} {a.shape}")
    return state.get("input_mean"), state.get("input_scale")


def _param_order(key: str):
    m = _PARAM_KEY.match(key)
    return (int(m.group(2)), m.group(1) == "b") if m else (0, False)


def _bad(path: Path, what: str) -> ValueError:
    return ValueError(f"cannot load a fastdnn model from '{path}': {what}")


def _read_npz(path: Path) -> dict:
    """Every entry of an npz archive, read in full with pickles refused."""
    if not path.exists():
        raise FileNotFoundError(f"model file not found: '{path}'")
    if path.is_dir():
        raise _bad(path, "it is a folder, not a .npz file")
    if path.stat().st_size == 0:
        raise _bad(path, "the file is empty (0 bytes)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):  # pragma: no cover
                raise TypeError
            entries = {}
            for key in archive.files:
                try:
                    value = archive[key]
                except _READ_ERRORS as exc:
                    if "pickle" in str(exc).lower() or "object arrays" in str(exc).lower():
                        raise _bad(
                            path,
                            f"entry {key!r} holds pickled Python objects (an "
                            "object array); fastdnn never unpickles, since that can "
                            "run code",
                        ) from None
                    raise _bad(
                        path,
                        f"entry {key!r} is corrupted or truncated ({type(exc).__name__}: {exc})",
                    ) from None
                if not isinstance(value, np.ndarray):
                    raise _bad(path, f"entry {key!r} is not a .npy array")
                entries[key] = value
    except AttributeError:  # pragma: no cover
        raise _bad(path, "not a .npz archive") from None
    except TypeError:
        raise _bad(path, "it is a single .npy array, not a .npz archive") from None
    except ValueError as exc:
        if str(exc).startswith("cannot load a fastdnn model"):
            raise
        if "pickle" in str(exc).lower():  # np.load's answer for bytes that are neither format
            raise _bad(path, "not a .npz archive (not a zip file, nor a .npy array)") from None
        raise _bad(path, f"not a readable .npz archive ({exc})") from None
    except zipfile.BadZipFile as exc:
        raise _bad(path, f"not a valid .npz (zip) archive, or a truncated one ({exc})") from None
    except FileNotFoundError:
        raise
    except _READ_ERRORS as exc:
        raise _bad(
            path, f"the file is damaged or unreadable ({type(exc).__name__}: {exc})"
        ) from None
    return entries


def _check_param_array(path: Path, key: str, a: np.ndarray, dtype: np.dtype | None) -> None:
    if a.dtype.kind not in "biuf":
        raise _bad(path, f"{key} has dtype {a.dtype}; parameters must be real numbers")
    if dtype is not None and a.dtype != dtype:
        raise _bad(path, f"{key} has dtype {a.dtype} but the file records dtype {dtype.name}")
    if a.ndim != 2 and not (key.startswith("b") and dtype is None and a.ndim == 1):
        raise _bad(path, f"{key} must be 2-D; got shape {a.shape}")
    if a.size == 0:
        raise _bad(path, f"{key} is empty (shape {a.shape})")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise _bad(path, f"{key} holds a non-finite value ({a[bad]} at index {bad})")


def _parse_meta(path: Path, raw: np.ndarray) -> dict:
    """The metadata JSON, validated key by key."""
    if raw.dtype.kind == "U" and raw.ndim == 0:
        text = str(raw[()])
    elif raw.dtype == np.uint8 and raw.ndim == 1:
        try:
            text = raw.tobytes().decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(path, f"{META_KEY!r} is not UTF-8 text") from None
    else:
        raise _bad(
            path,
            f"{META_KEY!r} must be a 0-d unicode array or 1-D uint8 bytes; got "
            f"dtype {raw.dtype}, shape {raw.shape}",
        )
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(path, f"{META_KEY!r} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise _bad(path, f"{META_KEY!r} must be a JSON object; got {type(meta).__name__}")
    if meta.get("format") != FORMAT_NAME:
        raise _bad(path, f"format is {meta.get('format')!r}, expected {FORMAT_NAME!r}")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _bad(path, f"format_version must be a positive integer; got {version!r}")
    if version > FORMAT_VERSION:
        from . import __version__

        raise _bad(
            path,
            f"it has format_version {version} (written by fastdnn "
            f"{meta.get('fastdnn_version', '?')}), but this fastdnn ({__version__}) reads "
            f"format_version {FORMAT_VERSION} at most; upgrade fastdnn to load it",
        )
    missing = [k for k in _REQUIRED_META if k not in meta]
    if missing:
        raise _bad(path, f"the metadata is missing {missing}")
    known = set(_REQUIRED_META) | set(_OPTIONAL_META)
    if version >= 2:
        known |= set(_OPTIONAL_META_V2)
    extra = sorted(set(meta) - known)
    if extra:
        raise _bad(path, f"unknown metadata keys {extra} for format_version {version}")
    try:
        dims = meta["layer_dims"]
        if not isinstance(dims, list):
            raise TypeError(f"layer_dims must be a list of positive integers; got {dims!r}")
        meta["layer_dims"] = v.check_layer_dims(dims)
        v.check_activation("hidden", meta["hidden"])
        v.check_output(meta["output"])
        if meta["dtype"] not in v.FLOAT_DTYPES:
            raise ValueError(f"dtype must be 'float64' or 'float32'; got {meta['dtype']!r}")
        v.check_choice(meta["init"], "init", v.INITS)
        meta["slope"] = v.check_positive_finite(meta["slope"], "slope")
        n_steps = meta["n_steps"]
        if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
            raise ValueError(f"n_steps must be a non-negative integer; got {n_steps!r}")
        seed = meta.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or null; got {seed!r}")
        if not isinstance(meta["fastdnn_version"], str):
            raise ValueError(f"fastdnn_version must be a string; got {meta['fastdnn_version']!r}")
    except (ValueError, TypeError) as exc:
        raise _bad(path, f"bad metadata: {exc}") from None
    return meta


def _history_from_json(path: Path, h):
    from .train import History

    def bad(what):
        return _bad(path, f"bad metadata: history {what}")

    if not isinstance(h, dict):
        raise bad(f"must be a JSON object; got {type(h).__name__}")
    names = {f.name for f in dataclasses.fields(History)}
    unknown = sorted(set(h) - names)
    if unknown:
        raise bad(f"has unknown keys {unknown}")
    kwargs = {}
    for name in _HISTORY_LISTS:
        values = h.get(name, [])
        if not isinstance(values, list):
            raise bad(f"{name} must be a list; got {type(values).__name__}")
        if name.endswith("iterations"):
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in values):
                raise bad(f"{name} must hold integers")
            kwargs[name] = list(values)
        else:
            if not all(
                x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))
                for x in values
            ):
                raise bad(f"{name} must hold numbers (or null)")
            kwargs[name] = [math.nan if x is None else float(x) for x in values]
    if len(kwargs["costs"]) != len(kwargs["iterations"]):
        raise bad(f"has {len(kwargs['costs'])} costs for {len(kwargs['iterations'])} iterations")
    n_steps = h.get("n_steps", 0)
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
        raise bad(f"n_steps must be a non-negative integer; got {n_steps!r}")
    wall = h.get("wall_time", 0.0)
    if wall is not None and (isinstance(wall, bool) or not isinstance(wall, (int, float))):
        raise bad(f"wall_time must be a number; got {wall!r}")
    stop = h.get("stop_reason", "completed")
    if not isinstance(stop, str):
        raise bad(f"stop_reason must be a string; got {stop!r}")
    return History(
        n_steps=n_steps,
        wall_time=math.nan if wall is None else float(wall),
        stop_reason=stop,
        **kwargs,
    )
