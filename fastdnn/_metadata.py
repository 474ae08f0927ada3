"""A model file's metadata: the JSON object, its checks, and the checked :class:`ModelMeta`.

The reader and the writer share these checks: :func:`parse_metadata` is what loading runs on
the JSON text of a file, and what saving runs on the text it is about to write, so a file that
``save`` writes is one that ``load`` reads. Every check names the key and the value it refuses
(cut short), and raises ``ValueError`` or ``TypeError``; the caller adds the file's name.

JSON from a file is parsed with limits: integers of more than 40 digits are kept as a marker
(never converted: Python refuses to convert more than 4300 digits, and a float cannot hold
10**400), ``NaN``/``Infinity`` and repeated keys are refused, and nesting deeper than Python's
recursion limit is reported as such. The caller bounds the text's length before parsing.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import _validation as v
from ._archive import clip, clip_name
from ._epochs import MAX_STEP, SOURCES, EpochSchedule
from ._layout import n_parameters
from ._types import ACTIVATIONS, OPTIMIZERS, OUTPUT_LOSS

FORMAT_NAME = "fastdnn.DNN"
FORMAT_VERSION = 3
#: Longest feature or label name a model keeps (characters).
MAX_NAME_CHARS = 1024
#: Most layers a model file may describe (W1 ... W1000).
MAX_LAYERS = 1000
#: Largest layer width a model file may give.
MAX_WIDTH = 2**31 - 1
#: Longest metadata JSON text (characters) a model file may hold.
MAX_METADATA_CHARS = 16 * 2**20
#: Keys of the saved History (a subset of :class:`fastdnn.History`'s fields).
HISTORY_LISTS = ("iterations", "costs", "val_iterations", "val_costs", "val_accuracy")
HISTORY_FIELDS = (*HISTORY_LISTS, "n_steps", "wall_time", "stop_reason")

REQUIRED_KEYS = (
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
OPTIONAL_KEYS = {
    1: ("seed", "history"),
    2: (
        "seed",
        "history",
        "feature_names",
        "label_names",
        "arrays",
        "rng",
        "dropout_seed",
        "optimizer",
    ),
}
OPTIONAL_KEYS[3] = (*OPTIONAL_KEYS[2], "epochs")
_EPOCHS_KEYS = ("source", "m", "batch_size", "batches_per_epoch", "shuffle", "offset")

_MAX_INT_DIGITS = 40  # 2**128 (a generator's state) has 39
_MAX_STEPS = 2**63
_MAX_SEED = 2**128
_MAX_SHORT_TEXT = 64


@dataclass(frozen=True)
class StateArray:
    """An array a model file may hold beside ``W1, b1, ...``: its shape and dtype."""

    shape: Callable[[Sequence[int], str], tuple[int, ...]]  # (layer_dims, dtype) -> shape
    dtype: Callable[[str], str]  # the model's dtype -> the array's


def _input_column(dims, dtype):
    return (dims[0], 1)


#: Named state arrays, by name. A new kind of saved state (e.g. an optimizer's buffers, shaped
#: like theta) is one more entry here plus its key in the metadata; the reader then checks it
#: in the zip directory and its header like the parameters, before reading it.
def _like_theta(dims, dtype):
    return (n_parameters(dims),)


STATE_ARRAYS: dict[str, StateArray] = {
    "input_mean": StateArray(_input_column, lambda dtype: "float64"),
    "input_scale": StateArray(_input_column, lambda dtype: "float64"),
    # The optimizer's buffers (momentum's v / Adam's v, RMSprop's / Adam's s), like theta.
    "optimizer_v": StateArray(_like_theta, lambda dtype: dtype),
    "optimizer_s": StateArray(_like_theta, lambda dtype: dtype),
}


@dataclass(frozen=True)
class ModelMeta:
    """The checked metadata of a model file (see :mod:`fastdnn.io` for each key)."""

    layer_dims: tuple[int, ...]
    hidden: str
    output: str
    slope: float
    dtype: str
    init: str
    n_steps: int = 0
    seed: int | None = None
    #: the saved History: HISTORY_FIELDS -> value (NaN for a cost that was not finite)
    history: Mapping | None = None
    #: ``bit_generator.state`` of the mini-batch shuffling generator (PCG64)
    rng_state: Mapping | None = None
    feature_names: tuple[str, ...] | None = None
    label_names: tuple[str, ...] | None = None
    #: names of the STATE_ARRAYS the file holds
    arrays: tuple[str, ...] = ()
    #: the seed of the dropout masks (derived from ``seed``; saved for seed=None models)
    dropout_seed: int | None = None
    #: the optimizer whose state the file holds: ``{"name": ..., "t": ...}``
    optimizer: Mapping | None = None
    #: where the model stands in its last fit's epochs (None: counted from step 0)
    epochs: EpochSchedule | None = None
    format_version: int = FORMAT_VERSION
    fastdnn_version: str = field(default="", compare=False)

    def array_spec(self, name: str) -> tuple[tuple[int, ...], np.dtype]:
        """Shape and dtype that state array ``name`` must have in this model."""
        kind = STATE_ARRAYS[name]
        return kind.shape(self.layer_dims, self.dtype), np.dtype(kind.dtype(self.dtype))


class _LongInteger:
    """A JSON integer too long for anything in a model file; kept only to be named."""

    def __init__(self, text: str):
        self.digits = len(text.lstrip("-"))

    def __repr__(self) -> str:
        return f"<an integer of {self.digits} digits>"


def _parse_int(text: str):
    return int(text) if len(text) <= _MAX_INT_DIGITS else _LongInteger(text)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not allowed (a number that is not finite)")


def _unique_keys(pairs) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {clip_name(key)} appears twice in one object")
        out[key] = value
    return out


def load_json(text: str):
    """``json.loads`` with the limits above; ``ValueError`` for anything it refuses."""
    try:
        return json.loads(
            text,
            parse_int=_parse_int,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and the hooks' refusals
        raise ValueError(f"not valid JSON ({clip(str(exc), 200)})") from None


def _show(value) -> str:
    return clip(repr(value))


def _int(value, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < high:
        raise ValueError(f"{key} must be an integer in [{low}, {high}); got {_show(value)}")
    return value


def _real(value, key: str, *, finite: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number; got {_show(value)}")
    x = float(value)  # at most 40 digits: no OverflowError
    if finite and not math.isfinite(x):
        raise ValueError(f"{key} must be finite; got {_show(value)}")
    return x


def _text(value, key: str, limit: int = _MAX_SHORT_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(
            f"{key} must be a string of at most {limit} characters; got {_show(value)}"
        )
    return value


# ------------------------------------------------------------------ names and scaling
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
    if len(names) != n:
        raise ValueError(f"{what} must hold one name per {unit}: {n} names; got {len(names)}")
    seen = set()
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise TypeError(f"{what}[{i}] must be a str; got {type(name).__name__}")
        if not 0 < len(name) <= MAX_NAME_CHARS:
            raise ValueError(
                f"{what}[{i}] must be a non-empty str of at most {MAX_NAME_CHARS} characters; "
                f"got {clip_name(name)}"
            )
        if name in seen:
            raise ValueError(f"{what} must be unique; {clip_name(name)} appears twice")
        seen.add(name)
    return tuple(str(name) for name in names)


def check_label_names(names, n_y: int, output: str) -> tuple[str, ...] | None:
    """:func:`check_names` for ``label_names``: one name per output, or, for a softmax output
    of several classes, one name: the column of class indices the model was trained on (a
    CSV's label column), which ``fastdnn predict`` reads its labels from."""
    one_column = (
        output == "softmax"
        and n_y > 1
        and isinstance(names, (Sequence, np.ndarray))
        and not isinstance(names, (str, bytes))
        and len(names) == 1
    )
    if one_column:
        return check_names(names, "label_names", 1, "column of class indices")
    try:
        return check_names(names, "label_names", n_y, "output")
    except ValueError as exc:
        if output == "softmax" and n_y > 1 and str(exc).startswith("label_names must hold one"):
            raise ValueError(f"{exc} (or one: the column of class indices)") from None
        raise


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


def check_seed(seed) -> int | None:
    """``None`` or an integer in ``[0, 2**128)``: what a model's ``seed`` may be."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"seed must be None or a non-negative integer (e.g. seed=0); got {_show(seed)} "
            f"({type(seed).__name__}): the seed is saved with the model, so it must be an int"
        )
    if not 0 <= seed < _MAX_SEED:
        raise ValueError(f"seed must be an integer in [0, 2**128); got {_show(seed)}")
    return int(seed)


# ------------------------------------------------------------------ JSON -> ModelMeta
def parse_metadata(obj) -> ModelMeta:
    """Check a parsed metadata object key by key; return it as a :class:`ModelMeta`.

    Raises
    ------
    ValueError, TypeError
        Naming the key and the refused value. A ``format_version`` newer than this fastdnn
        reads raises :class:`NewerFormatError`.
    """
    if not isinstance(obj, dict):
        raise ValueError(f"the metadata must be a JSON object; got {type(obj).__name__}")
    if obj.get("format") != FORMAT_NAME:
        raise ValueError(f"format is {_show(obj.get('format'))}, expected {FORMAT_NAME!r}")
    version = obj.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"format_version must be a positive integer; got {_show(version)}")
    if version > FORMAT_VERSION:
        raise NewerFormatError(version, obj.get("fastdnn_version"))
    missing = [k for k in REQUIRED_KEYS if k not in obj]
    if missing:
        raise ValueError(f"the metadata is missing {missing}")
    extra = sorted(set(obj) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS[version]))
    if extra:
        raise ValueError(
            f"unknown metadata keys {clip(str(extra), 200)} for format_version {version}"
        )
    dims = _layer_dims(obj["layer_dims"])
    dtype = obj["dtype"]
    if dtype not in v.FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32'; got {_show(dtype)}")
    n_steps = _int(obj["n_steps"], "n_steps", 0, MAX_STEP)
    return ModelMeta(
        layer_dims=dims,
        hidden=v.check_choice(_text(obj["hidden"], "hidden"), "hidden", ACTIVATIONS),
        output=v.check_choice(_text(obj["output"], "output"), "output", OUTPUT_LOSS),
        slope=v.check_positive_finite(_real(obj["slope"], "slope"), "slope"),
        dtype=dtype,
        init=v.check_choice(_text(obj["init"], "init"), "init", v.INITS),
        n_steps=n_steps,
        seed=None if obj.get("seed") is None else _int(obj["seed"], "seed", 0, _MAX_SEED),
        history=None if obj.get("history") is None else _history(obj["history"]),
        rng_state=None if obj.get("rng") is None else _rng_state(obj["rng"]),
        feature_names=_names(obj.get("feature_names"), "feature_names", dims[0], "input"),
        label_names=_label_names(obj.get("label_names"), dims[-1], obj["output"]),
        arrays=_arrays(obj.get("arrays"), dims, dtype),
        dropout_seed=None
        if obj.get("dropout_seed") is None
        else _int(obj["dropout_seed"], "dropout_seed", 0, 2**64),
        optimizer=None if obj.get("optimizer") is None else _optimizer(obj["optimizer"]),
        epochs=None if obj.get("epochs") is None else _epochs(obj["epochs"], n_steps),
        format_version=version,
        fastdnn_version=_text(obj["fastdnn_version"], "fastdnn_version"),
    )


class NewerFormatError(ValueError):
    """The file was written by a newer fastdnn, in a format this one does not read."""

    def __init__(self, version: int, writer):
        self.version = version
        self.writer = clip(str(writer if writer is not None else "?"), 40)
        super().__init__(f"format_version {version} is newer than {FORMAT_VERSION}")


def _layer_dims(dims) -> tuple[int, ...]:
    if not isinstance(dims, list) or not 2 <= len(dims) <= MAX_LAYERS + 1:
        raise ValueError(
            f"layer_dims must be a list of 2 to {MAX_LAYERS + 1} positive integers; "
            f"got {_show(dims)}"
        )
    return tuple(_int(n, f"layer_dims[{i}]", 1, MAX_WIDTH + 1) for i, n in enumerate(dims))


def _names(names, key: str, n: int, unit: str):
    if names is not None and not isinstance(names, list):
        raise ValueError(f"{key} must be a list of strings or null; got {_show(names)}")
    return check_names(names, key, n, unit)


def _label_names(names, n_y: int, output: str):
    if names is not None and not isinstance(names, list):
        raise ValueError(f"label_names must be a list of strings or null; got {_show(names)}")
    return check_label_names(names, n_y, output)


def _arrays(listing, dims, dtype) -> tuple[str, ...]:
    if listing is None:
        return ()
    if not isinstance(listing, dict):
        raise ValueError(
            f"arrays must be an object {{name: {{shape, dtype}}}}; got {_show(listing)}"
        )
    for name, spec in listing.items():
        if name not in STATE_ARRAYS:
            raise ValueError(
                f"arrays lists {clip_name(name)}; the arrays a model file may hold beside "
                f"W1, b1, ... are {sorted(STATE_ARRAYS)}"
            )
        kind = STATE_ARRAYS[name]
        expected = {"shape": list(kind.shape(dims, dtype)), "dtype": kind.dtype(dtype)}
        if spec != expected:
            raise ValueError(f"arrays[{name!r}] must be {expected} here; got {_show(spec)}")
    return tuple(listing)


def _history(h) -> dict:
    if not isinstance(h, dict):
        raise ValueError(f"history must be a JSON object; got {type(h).__name__}")
    unknown = sorted(set(h) - set(HISTORY_FIELDS))
    if unknown:
        raise ValueError(f"history has unknown keys {clip(str(unknown), 200)}")
    out: dict = {}
    for name in HISTORY_LISTS:
        values = h.get(name, [])
        key = f"history.{name}"
        if not isinstance(values, list):
            raise ValueError(f"{key} must be a list; got {type(values).__name__}")
        if name.endswith("iterations"):
            out[name] = [_int(x, f"{key}[{i}]", 0, _MAX_STEPS) for i, x in enumerate(values)]
        else:  # null: a cost that was not finite
            out[name] = [
                math.nan if x is None else _real(x, f"{key}[{i}]") for i, x in enumerate(values)
            ]
    for values, steps in (("costs", "iterations"), ("val_costs", "val_iterations")):
        if len(out[values]) != len(out[steps]):
            raise ValueError(
                f"history has {len(out[values])} {values} for {len(out[steps])} {steps}"
            )
    if out["val_accuracy"] and len(out["val_accuracy"]) != len(out["val_iterations"]):
        raise ValueError("history.val_accuracy must be empty or as long as val_iterations")
    out["n_steps"] = _int(h.get("n_steps", 0), "history.n_steps", 0, _MAX_STEPS)
    wall = h.get("wall_time", 0.0)
    out["wall_time"] = math.nan if wall is None else _real(wall, "history.wall_time")
    out["stop_reason"] = _text(h.get("stop_reason", "completed"), "history.stop_reason")
    return out


def _rng_state(state) -> dict:
    """A PCG64 ``bit_generator.state``: exactly numpy's keys, every integer in range."""
    expected = {"bit_generator", "state", "has_uint32", "uinteger"}
    if not isinstance(state, dict) or set(state) != expected:
        raise ValueError(f"rng must be an object with the keys {sorted(expected)}")
    if state["bit_generator"] != "PCG64":
        raise ValueError(f"rng.bit_generator must be 'PCG64'; got {_show(state['bit_generator'])}")
    inner = state["state"]
    if not isinstance(inner, dict) or set(inner) != {"state", "inc"}:
        raise ValueError("rng.state must be an object with the keys ['inc', 'state']")
    s = _int(inner["state"], "rng.state.state", 0, 2**128)
    inc = _int(inner["inc"], "rng.state.inc", 0, 2**128)
    if inc % 2 == 0:
        raise ValueError(f"rng.state.inc must be odd (PCG64's increment); got {inc}")
    return {
        "bit_generator": "PCG64",
        "state": {"state": s, "inc": inc},
        "has_uint32": _int(state["has_uint32"], "rng.has_uint32", 0, 2),
        "uinteger": _int(state["uinteger"], "rng.uinteger", 0, 2**32),
    }


def _optimizer(state) -> dict:
    if not isinstance(state, dict) or set(state) != {"name", "t"}:
        raise ValueError("optimizer must be an object with the keys ['name', 't']")
    name = v.check_choice(_text(state["name"], "optimizer.name"), "optimizer.name", OPTIMIZERS)
    return {"name": name, "t": _int(state["t"], "optimizer.t", 0, MAX_STEP)}


def _epochs(obj, n_steps: int) -> EpochSchedule:
    """The ``epochs`` object: consistent with itself, and with the step count (the model's
    place in the epochs, ``n_steps + offset``, in ``[0, 2**62)``)."""
    if not isinstance(obj, dict) or sorted(obj) != sorted(_EPOCHS_KEYS):
        raise ValueError(f"epochs must be an object with the keys {list(_EPOCHS_KEYS)}")
    source = v.check_choice(_text(obj["source"], "epochs.source"), "epochs.source", SOURCES)
    m = _int(obj["m"], "epochs.m", 1, _MAX_STEPS)
    batch = obj["batch_size"]
    batch = None if batch is None else _int(batch, "epochs.batch_size", 1, m + 1)
    nb = _int(obj["batches_per_epoch"], "epochs.batches_per_epoch", 1, _MAX_STEPS)
    # By blocks, each block's last batch may be short: more batches than m / batch_size.
    low = 1 if batch is None else -(-m // batch)
    high = low if batch is None or source != "blocks" else m
    if not low <= nb <= high:
        raise ValueError(
            f"epochs.batches_per_epoch must be {low}"
            + (f" to {high}" if high > low else "")
            + f" for m={m} and batch_size={batch}; got {nb}"
        )
    if not isinstance(obj["shuffle"], bool):
        raise ValueError(f"epochs.shuffle must be true or false; got {_show(obj['shuffle'])}")
    offset = _int(obj["offset"], "epochs.offset", -_MAX_STEPS, _MAX_STEPS)
    if not 0 <= n_steps + offset < MAX_STEP:
        raise ValueError(
            f"epochs.offset must place step n_steps + offset in [0, 2**62); got "
            f"n_steps={n_steps} and offset={offset}"
        )
    return EpochSchedule(source, m, batch, nb, obj["shuffle"], offset)


# ------------------------------------------------------------------ ModelMeta -> JSON
def metadata_json(meta: ModelMeta, fastdnn_version: str) -> str:
    """The JSON text :func:`parse_metadata` reads back as ``meta`` (format_version current)."""
    obj = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fastdnn_version": fastdnn_version,
        "layer_dims": [int(n) for n in meta.layer_dims],
        "hidden": meta.hidden,
        "output": meta.output,
        "slope": meta.slope,
        "dtype": meta.dtype,
        "init": meta.init,
        "n_steps": meta.n_steps,
        "seed": meta.seed,
    }
    if meta.history is not None:
        obj["history"] = {k: _json_value(meta.history[k]) for k in HISTORY_FIELDS}
    if meta.rng_state is not None:
        obj["rng"] = meta.rng_state
    if meta.dropout_seed is not None:
        obj["dropout_seed"] = int(meta.dropout_seed)
    if meta.optimizer is not None:
        obj["optimizer"] = {"name": meta.optimizer["name"], "t": int(meta.optimizer["t"])}
    if meta.epochs is not None:
        obj["epochs"] = {key: getattr(meta.epochs, key) for key in _EPOCHS_KEYS}
    for key in ("feature_names", "label_names"):
        if getattr(meta, key) is not None:
            obj[key] = list(getattr(meta, key))
    if meta.arrays:
        obj["arrays"] = {}
        for name in meta.arrays:
            shape, dtype = meta.array_spec(name)
            obj["arrays"][name] = {"shape": list(shape), "dtype": dtype.name}
    return json.dumps(obj, allow_nan=False)


def _json_value(value):
    if isinstance(value, list):
        return [_json_value(x) for x in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def history_record(history) -> dict:
    """The saved part of a :class:`fastdnn.History`: HISTORY_FIELDS as plain Python values."""
    out: dict = {}
    for name in HISTORY_LISTS:
        conv = int if name.endswith("iterations") else float
        out[name] = [conv(x) for x in getattr(history, name)]
    out["n_steps"] = int(history.n_steps)
    out["wall_time"] = float(history.wall_time)
    out["stop_reason"] = str(history.stop_reason)
    return out
