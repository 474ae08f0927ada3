"""Saving and loading models: arrays plus metadata in one ``.npz`` file.

Model files
-----------
:meth:`fastdnn.DNN.save` (or :func:`save_model`) writes one ``.npz`` archive (a zip of ``.npy``
arrays, readable with ``np.load(path)`` and no fastdnn at all). Its entries:

=================  =======================  ===================================================
entry              shape / dtype            contents
=================  =======================  ===================================================
``W1`` ... ``WL``  ``(n[l], n[l-1])``       weights of layer l, in the model's dtype
``b1`` ... ``bL``  ``(n[l], 1)``            biases of layer l, in the model's dtype
``input_mean``     ``(n[0], 1)``, float64   input standardisation, when the model has it (both
``input_scale``    ``(n[0], 1)``, float64   or neither; see ``DNN.set_input_scaling``)
``optimizer_v``    ``(p,)``, model dtype    the optimizer's buffers, twinned with the ``p``
``optimizer_s``    ``(p,)``, model dtype    parameters (momentum/Adam ``v``, RMSprop/Adam ``s``)
``__fastdnn__``    0-d unicode (``<U``)     a JSON object: the metadata below
=================  =======================  ===================================================

The JSON object (``format_version`` 3):

===================  ==============================  ===========================================
key                  type                            meaning
===================  ==============================  ===========================================
``format``           ``"fastdnn.DNN"``               identifies the file as a fastdnn model
``format_version``   int (3)                         bumped when a reader must change
``fastdnn_version``  str                             the fastdnn that wrote the file
``layer_dims``       list of int                     ``[n_x, n_1, ..., n_L]``
``hidden``           str                             hidden activation (``"relu"``, ...)
``output``           ``"sigmoid"``, ``"softmax"``,   output activation (sets the loss)
                     or ``"linear"``
``slope``            float                           negative-side slope of ``leaky_relu``
``dtype``            ``"float64"`` or ``"float32"``  dtype of every W and b
``init``             str                             initialization the model was created with
``n_steps``          int                             gradient steps trained so far
``seed``             int or null                     the model's seed
``history``          object (optional)               the last ``fit``'s :class:`~fastdnn.History`:
                                                     ``iterations``, ``costs`` (null for a
                                                     non-finite cost), ``val_iterations``,
                                                     ``val_costs``, ``val_accuracy``,
                                                     ``n_steps``, ``wall_time``, ``stop_reason``
``rng``              object (optional)               the mini-batch shuffling generator's
                                                     ``bit_generator.state`` (PCG64: ``state``,
                                                     ``inc`` < 2**128, ``has_uint32``,
                                                     ``uinteger``), so training continues
                                                     after ``load`` exactly as it would have
``feature_names``    list of str (optional)          one name per input feature
``label_names``      list of str (optional)          one name per output (softmax: or one,
                                                     its column of class indices)
``arrays``           object (optional)               every entry beside ``W1, b1, ...`` and the
                                                     metadata: ``{name: {"shape": [...],
                                                     "dtype": "..."}}``
``dropout_seed``     int < 2**64 (optional)          the key of the model's dropout masks
``optimizer``        object (optional)               ``{"name": "momentum" | "rmsprop" |
                                                     "adam", "t": int}``: whose state
                                                     ``optimizer_v``/``optimizer_s`` hold, and
                                                     Adam's update count
``epochs``           object (optional)               the last fit's epochs (``fastdnn._epochs``):
                                                     ``source`` (``"memory"``, ``"blocks"``,
                                                     ``"dask"``), ``m``, ``batch_size`` (int or
                                                     null), ``batches_per_epoch``,
                                                     ``shuffle`` (bool), ``offset``
                                                     (step ``s`` of the model is step
                                                     ``s + offset`` of those epochs, in
                                                     ``[0, 2**62)``)
===================  ==============================  ===========================================

``format_version`` 1 files (without ``rng``, ``feature_names``, ``label_names``, ``arrays``)
and 2 files (without ``epochs``: their epochs are counted from step 0, as the fastdnn that
wrote them counted them) load too. New kinds of saved state (an optimizer's buffers) are new
named arrays: listed in ``arrays`` and checked like the parameters
(``fastdnn._metadata.STATE_ARRAYS``). The metadata
may also be stored as a 1-D ``uint8`` array of UTF-8 bytes. A "course-style" archive holding
only ``W1, b1, ...`` (as ``np.savez("params.npz", **parameters)`` writes from the course's
notebooks) loads too; its activations are then given by the caller.

Loading untrusted files
-----------------------
A file costs what it declares, no more. :func:`read_model` checks, in this order and before
reading any payload: that the path is a regular file; the zip directory (at most
:data:`MAX_ENTRIES` entries: the parameters, the metadata and the state arrays; each a ``.npy``,
no name twice, stored or deflated); the entry names (``W``/``b`` of at most :data:`MAX_LAYERS`
layers, the metadata, the listed state arrays, nothing else); the metadata (at most
:data:`MAX_METADATA_CHARS` characters, checked key by key); then every entry's ``.npy`` header
(read through a few-kilobyte budget) against ``layer_dims`` and the dtype, and its ``shape x
itemsize`` against the size the zip directory gives. Only then are payloads read, in bounded
chunks, straight into the model's parameter buffer. Object arrays are never read, so loading
cannot run code. Every problem is a ``ValueError`` naming the file and what is wrong, with any
name from the file cut short.

Saving
------
A file is written atomically (:func:`atomic_write`): to a temporary file beside the target,
flushed to disk, then renamed over it; an interrupted save leaves the previous file untouched.
The metadata is checked by the same code that checks it on loading, so ``save`` never writes a
file ``load`` would refuse. The model is saved to exactly the path given (``".npz"`` is not
appended, unlike :func:`numpy.savez`). A read-only target, a folder, a FIFO or a device is
refused; a symbolic link is written through (the file it points to is replaced).

Data files for the command line are read by :mod:`fastdnn.datafiles`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import _validation as v
from ._archive import READ_ERRORS, Archive, ArchiveError, Header, clip, clip_name
from ._atomic import atomic_write, file_path
from ._layout import aligned_empty, n_parameters, param_views
from ._metadata import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_LAYERS,
    MAX_METADATA_CHARS,
    MAX_NAME_CHARS,
    STATE_ARRAYS,
    ModelMeta,
    NewerFormatError,
    check_input_scaling,
    check_names,
    check_seed,
    history_record,
    load_json,
    metadata_json,
    parse_metadata,
)
from ._types import LEAKY_SLOPE

if TYPE_CHECKING:  # pragma: no cover
    from .network import DNN

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_ENTRIES",
    "MAX_LAYERS",
    "MAX_METADATA_CHARS",
    "MAX_NAME_CHARS",
    "META_KEY",
    "READ_ERRORS",
    "ModelFile",
    "ModelMeta",
    "atomic_write",
    "check_input_scaling",
    "check_names",
    "check_seed",
    "history_record",
    "load_model",
    "read_model",
    "save_model",
    "write_model",
]

META_KEY = "__fastdnn__"
#: Most entries a model file may hold: W and b of MAX_LAYERS layers, state arrays, metadata.
MAX_ENTRIES = 2 * MAX_LAYERS + len(STATE_ARRAYS) + 1
_PARAM_KEY = re.compile(r"^([Wb])([1-9][0-9]{0,8})$")
# A 0-d "<U" array stores 4 bytes a character; the .npy header adds at most a few KB.
_META_ENTRY_BYTES = 4 * MAX_METADATA_CHARS + 16 * 1024


@dataclass(frozen=True)
class ModelFile:
    """A model file's checked contents, as :func:`read_model` returns them (no model built).

    Attributes
    ----------
    path : pathlib.Path
        The file read.
    meta : ModelMeta
        The checked metadata (defaults, for a course-style file).
    theta : ndarray of shape (n_parameters,), the model's dtype
        Every ``W`` and ``b`` in one flat buffer, laid out as :class:`fastdnn.DNN` keeps them.
    arrays : dict of str to ndarray
        The state arrays the file holds (``input_mean``, ``input_scale``), read-only.
    """

    path: Path
    meta: ModelMeta
    theta: np.ndarray
    arrays: Mapping[str, np.ndarray]

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The course's dict ``{"W1", "b1", ...}``: views into :attr:`theta`."""
        return param_views(self.theta, self.meta.layer_dims)


# ------------------------------------------------------------------------------ public calls
def save_model(net: DNN, path: str | os.PathLike) -> Path:
    """Save a model to a ``.npz`` file, atomically: the same as ``net.save(path)``.

    Parameters
    ----------
    net : DNN
        The model. Its parameters must be finite.
    path : str or path-like
        Where to write, exactly: ``".npz"`` is not appended. An existing file is replaced
        only once the new one is complete (see the module docstring for the format, and for
        the targets that are refused).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        If ``net`` is not a :class:`fastdnn.DNN`.
    ValueError
        If the model holds something :func:`load_model` would refuse (NaN or inf
        parameters), or ``path`` is a FIFO or a device.
    FileNotFoundError, IsADirectoryError, PermissionError
        If the folder of ``path`` does not exist, ``path`` is a folder, or it cannot be
        written (read-only file or folder).

    Examples
    --------
    >>> import tempfile, os
    >>> from fastdnn import DNN
    >>> net = DNN([3, 2, 1], seed=0)
    >>> path = save_model(net, os.path.join(tempfile.mkdtemp(), "model.npz"))
    >>> load_model(path).layer_dims
    [3, 2, 1]
    """
    from .network import DNN  # here, not at the top: network imports this module

    if not isinstance(net, DNN):
        raise TypeError(f"net must be a fastdnn.DNN; got {type(net).__name__}")
    return net.save(path)


def load_model(
    path: str | os.PathLike,
    backend: str | None = None,
    *,
    hidden: str | None = None,
    output: str | None = None,
) -> DNN:
    """Load a model written by :func:`save_model`, or a course-style ``W1, b1, ...`` archive.

    The same as :meth:`fastdnn.DNN.load`.

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
        ``slope``, ``dtype``, ``init``, ``seed``, ``n_steps_``, ``history_``, names, input
        scaling and shuffling state.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file and what is wrong, for anything but a valid model (see "Loading
        untrusted files" in the module docstring).
    """
    from .network import DNN  # here, not at the top: network imports this module

    return DNN.load(path, backend, hidden=hidden, output=output)


def read_model(
    path: str | os.PathLike, *, hidden: str | None = None, output: str | None = None
) -> ModelFile:
    """Read and check a model file; return its metadata and arrays (no model is built).

    Parameters and errors are those of :func:`load_model`; see the module docstring for the
    order of the checks.
    """
    path = Path(os.fspath(path))
    if hidden is not None:
        v.check_activation("hidden", hidden)
    if output is not None:
        v.check_output(output)
    try:
        with Archive(path, MAX_ENTRIES) as archive:
            n_layers = _check_names(archive.names)
            if META_KEY in archive.names:
                meta = _read_metadata(archive)
                _check_activations(path, meta, hidden, output)
                headers = _check_entries(archive, n_layers, meta)
            else:
                meta, headers = _course_style(archive, n_layers, hidden, output)
            theta = _read_params(archive, headers, meta)
            arrays = _read_state(archive, headers, meta)
    except FileNotFoundError:
        raise FileNotFoundError(f"model file not found: '{path}'") from None
    except NewerFormatError as exc:
        from . import __version__

        raise _bad(
            path,
            f"it has format_version {exc.version} (written by fastdnn {exc.writer}), but this "
            f"fastdnn ({__version__}) reads format_version {FORMAT_VERSION} at most; upgrade "
            "fastdnn to load it",
        ) from None
    except ArchiveError as exc:
        raise _bad(path, str(exc)) from None
    return ModelFile(path, meta, theta, arrays)


def write_model(
    path: str | os.PathLike,
    meta: ModelMeta,
    theta: np.ndarray,
    arrays: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write a model file atomically, after checking it as :func:`read_model` would.

    Parameters
    ----------
    path : str or path-like
        The target (see :func:`atomic_write` for what is refused).
    meta : ModelMeta
        The metadata; ``format_version`` and ``fastdnn_version`` are written as this
        fastdnn's.
    theta : ndarray of shape (n_parameters,)
        Every ``W`` and ``b``, flat, in ``meta.dtype``.
    arrays : dict of str to ndarray, optional
        The state arrays ``meta.arrays`` names.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        Naming ``path`` and the problem, for anything a reader would refuse; nothing is
        written then.
    """
    from . import __version__  # here: the package imports this module before defining it

    path = file_path(path)  # refuses 'model.npz/.' (Path would make it model.npz)
    arrays = dict(arrays or {})

    def refuse(what: str) -> ValueError:
        return ValueError(f"cannot save the model to '{path}': {what}")

    try:
        text = metadata_json(meta, __version__)
        if len(text) > MAX_METADATA_CHARS:
            raise ValueError(
                f"the metadata would be {len(text)} characters; a model file holds at most "
                f"{MAX_METADATA_CHARS} (a very long history or very many feature names)"
            )
        checked = parse_metadata(load_json(text))  # the checks load runs
    except (ValueError, TypeError) as exc:
        raise refuse(f"{exc}; load would refuse such a file") from None
    dtype = np.dtype(checked.dtype)
    size = n_parameters(checked.layer_dims)
    if not isinstance(theta, np.ndarray) or theta.dtype != dtype or theta.shape != (size,):
        raise refuse(f"theta must be a {dtype.name} array of shape ({size},) for the metadata")
    params = param_views(theta, checked.layer_dims)
    for key, a in params.items():
        if not _all_finite(a):
            raise refuse(
                f"parameter {key} holds non-finite values (NaN or inf), which load_model "
                "refuses; retrain with a smaller learning rate"
            )
    if sorted(arrays) != sorted(checked.arrays):
        raise refuse(f"the arrays {sorted(arrays)} differ from the listed {sorted(meta.arrays)}")
    for name, a in arrays.items():
        shape, array_dtype = checked.array_spec(name)
        if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype != array_dtype:
            raise refuse(f"{name} must be a {array_dtype.name} array of shape {shape}")
    try:
        n_x = checked.layer_dims[0]
        check_input_scaling(arrays.get("input_mean"), arrays.get("input_scale"), n_x)
    except (ValueError, TypeError) as exc:
        raise refuse(f"input scaling: {exc}") from None
    entries = {**params, **arrays, META_KEY: np.array(text)}  # 0-d unicode: no pickle

    def write(f) -> None:
        np.savez(f, **entries)  # a file object: savez appends no suffix

    atomic_write(path, write)
    return path


# ------------------------------------------------------------------------------ reading steps
def _bad(path: Path, what: str) -> ValueError:
    return ValueError(f"cannot load a fastdnn model from '{path}': {clip(what, 2000)}")


def _name_list(names) -> str:
    names = sorted(names, key=_param_order)
    shown = ", ".join(clip_name(n) for n in names[:10])
    return f"[{shown}{f', ... ({len(names) - 10} more)' if len(names) > 10 else ''}]"


def _param_order(key: str):
    m = _PARAM_KEY.match(key)
    return (0, int(m.group(2)), m.group(1) == "b", "") if m else (1, 0, False, key)


def _check_names(names: list[str]) -> int:
    """Refuse unexpected or missing entry names; return the number of layers the W/b give."""
    layers, unexpected = {}, []
    for name in names:
        m = _PARAM_KEY.match(name)
        if m:
            layers[name] = int(m.group(2))  # at most 9 digits
        elif name != META_KEY and name not in STATE_ARRAYS:
            unexpected.append(name)
    if not layers:
        hint = {"X", "Y", "x", "y"} & set(names)
        raise ArchiveError(
            f"no parameters W1, b1, ...; its entries are {_name_list(names) if names else 'none'}"
            + (" (is this a data file? load it with fastdnn.datafiles.load_data)" if hint else "")
        )
    if unexpected:
        raise ArchiveError(
            f"unexpected entries {_name_list(unexpected)}; a model holds W1, b1, ..., WL, bL, "
            f"{META_KEY!r} and the arrays its metadata lists ({', '.join(STATE_ARRAYS)})"
        )
    n_layers = max(layers.values())
    if n_layers > MAX_LAYERS:
        raise ArchiveError(
            f"entry {clip_name(max(layers, key=layers.get))} is for layer {n_layers}, but a "
            f"model file holds at most {MAX_LAYERS} layers"
        )
    missing = {f"{p}{l}" for l in range(1, n_layers + 1) for p in "Wb"} - set(layers)
    if missing:
        raise ArchiveError(
            f"parameters missing for a {n_layers}-layer network: {_name_list(missing)}"
        )
    return n_layers


def _read_metadata(archive: Archive) -> ModelMeta:
    """The metadata entry, bounded, parsed and checked key by key."""
    size = archive.size(META_KEY)
    if size > _META_ENTRY_BYTES:
        raise ArchiveError(
            f"{META_KEY!r} holds {size} bytes; the metadata of a model is at most "
            f"{MAX_METADATA_CHARS} characters"
        )
    header = archive.header(META_KEY, kinds="biufU")
    if not (
        (header.dtype.kind == "U" and header.shape == ())
        or (header.dtype == np.uint8 and len(header.shape) == 1)
    ):
        raise ArchiveError(
            f"{META_KEY!r} must be a 0-d unicode array or 1-D uint8 bytes; got dtype "
            f"{header.dtype}, shape {clip(str(header.shape))}"
        )
    raw = archive.read(META_KEY, header, header.dtype)
    try:
        text = str(raw[()]) if header.dtype.kind == "U" else raw.tobytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ArchiveError(f"{META_KEY!r} is not UTF-8 text") from None
    if len(text) > MAX_METADATA_CHARS:
        raise ArchiveError(
            f"{META_KEY!r} holds {len(text)} characters; at most {MAX_METADATA_CHARS}"
        )
    try:
        return parse_metadata(load_json(text))
    except NewerFormatError:
        raise
    except (ValueError, TypeError) as exc:
        raise ArchiveError(f"bad metadata: {exc}") from None


def _check_activations(path: Path, meta: ModelMeta, hidden, output) -> None:
    for name, value in (("hidden", hidden), ("output", output)):
        if value is not None and value != getattr(meta, name):
            raise ValueError(
                f"{name}={value!r} was given but '{path}' is a fastdnn model saved with "
                f"{name}={getattr(meta, name)!r}; leave {name} out to use the saved one"
            )


def _check_entries(archive: Archive, n_layers: int, meta: ModelMeta) -> dict[str, Header]:
    """Every entry's header against the metadata, before any payload is read."""
    dims = meta.layer_dims
    if len(dims) - 1 != n_layers:
        raise ArchiveError(
            f"layer_dims {list(dims)} describe {len(dims) - 1} layers but the file holds "
            f"parameters for {n_layers}"
        )
    state = sorted(n for n in archive.names if n in STATE_ARRAYS)
    if state != sorted(meta.arrays):
        raise ArchiveError(
            f"the metadata lists arrays {sorted(meta.arrays)} but the file holds {state}"
        )
    expected = {}
    for l in range(1, n_layers + 1):
        expected[f"W{l}"] = ((dims[l], dims[l - 1]), np.dtype(meta.dtype))
        expected[f"b{l}"] = ((dims[l], 1), np.dtype(meta.dtype))
    for name in meta.arrays:
        expected[name] = meta.array_spec(name)
    headers = {}
    for name, (shape, dtype) in expected.items():
        header = archive.header(name)
        if header.dtype.newbyteorder("=") != dtype:
            raise ArchiveError(
                f"{name} has dtype {header.dtype} but the file records dtype {dtype.name}"
            )
        if len(header.shape) != len(shape):
            got = clip(str(header.shape))
            raise ArchiveError(f"{name} must be {len(shape)}-D; got shape {got}")
        if header.shape != shape:
            raise ArchiveError(
                f"{name} has shape {clip(str(header.shape))} but layer_dims {list(dims)} "
                f"require {shape}"
            )
        headers[name] = header
    return headers


def _course_style(archive: Archive, n_layers: int, hidden, output):
    """Metadata for an archive of ``W1, b1, ...`` only, from its headers' shapes."""
    state = [n for n in archive.names if n in STATE_ARRAYS]
    if state:
        raise ArchiveError(f"unexpected entries {_name_list(state)} in a file without metadata")
    headers, dims = {}, []
    for l in range(1, n_layers + 1):
        W, b = archive.header(f"W{l}"), archive.header(f"b{l}")
        if len(W.shape) != 2 or 0 in W.shape:
            raise ArchiveError(f"W{l} must be 2-D and not empty; got shape {clip(str(W.shape))}")
        n, n_prev = W.shape
        if l > 1 and n_prev != dims[-1]:
            raise ArchiveError(
                f"W{l} has shape {W.shape}: its {n_prev} columns must equal the {dims[-1]} "
                f"rows of W{l - 1}"
            )
        if b.shape not in ((n, 1), (n,)):
            raise ArchiveError(
                f"b{l} must have shape ({n}, 1) to match W{l}; got {clip(str(b.shape))}"
            )
        dims += [n_prev, n] if l == 1 else [n]
        headers[f"W{l}"], headers[f"b{l}"] = W, b
    if max(dims) > 2**31 - 1:
        raise ArchiveError(f"layer_dims {clip(str(dims))} hold a width above 2**31 - 1")
    float32 = all(h.dtype.newbyteorder("=") == np.float32 for h in headers.values())
    meta = ModelMeta(
        layer_dims=tuple(dims),
        hidden=hidden or "relu",
        output=output or "sigmoid",
        slope=LEAKY_SLOPE,
        dtype="float32" if float32 else "float64",
        init="zeros" if len(dims) == 2 else "xavier",
        format_version=0,  # not a fastdnn file
    )
    return meta, headers


def _read_params(archive: Archive, headers: dict[str, Header], meta: ModelMeta) -> np.ndarray:
    """Every W and b, read straight into one flat buffer, each checked finite."""
    dtype = np.dtype(meta.dtype)
    size = n_parameters(meta.layer_dims)
    try:
        theta = aligned_empty(size, dtype)  # as a new model's (fastdnn._layout.LINE_BYTES)
    except (MemoryError, ValueError):
        raise ArchiveError(
            f"its {size} parameters need {size * dtype.itemsize} bytes, which cannot be "
            "allocated here"
        ) from None
    for key, view in param_views(theta, meta.layer_dims).items():
        archive.read_into(key, headers[key], view)
        _check_finite(key, view)
    return theta


def _read_state(archive: Archive, headers: dict[str, Header], meta: ModelMeta) -> dict:
    arrays = {}
    for name in meta.arrays:
        shape, dtype = meta.array_spec(name)
        arrays[name] = archive.read(name, headers[name], dtype)
        _check_finite(name, arrays[name])
        arrays[name].flags.writeable = False
    if "input_mean" in arrays or "input_scale" in arrays:
        try:
            check_input_scaling(
                arrays.get("input_mean"), arrays.get("input_scale"), meta.layer_dims[0]
            )
        except (ValueError, TypeError) as exc:
            raise ArchiveError(f"bad input scaling: {exc}") from None
    return arrays


def _all_finite(a: np.ndarray) -> bool:
    # A sum allocates nothing; only a non-finite (or overflowing) sum pays for the mask.
    with np.errstate(over="ignore"):  # finite values near 1e308 are valid parameters
        total = np.add.reduce(a, axis=None, dtype=np.float64)
    return math.isfinite(total) or bool(np.isfinite(a).all())


def _check_finite(key: str, a: np.ndarray) -> None:
    if not _all_finite(a):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise ArchiveError(f"{key} holds a non-finite value ({a[where]} at index {where})")
