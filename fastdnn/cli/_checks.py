"""Checks made before any data are read or any work starts: the files named exist and may be
written, no output replaces an input, the network fits the memory, the data fit a saved model."""

from __future__ import annotations

import os

from ._messages import UserError


def _existing_file(path: str, flag: str) -> str:
    if not os.path.exists(path):
        raise UserError(f"{flag}: file not found: '{path}'")
    if os.path.isdir(path):
        raise UserError(f"{flag}: '{path}' is a folder; give a file")
    return path


def _existing_zarr(path: str, flag: str) -> str:
    if not os.path.exists(path):
        raise UserError(f"{flag}: zarr folder not found: '{path}'")
    if not os.path.isdir(path):
        raise UserError(f"{flag}: '{path}' ends in .zarr but is not a folder (a zarr store)")
    return path


def _suffix(path: str) -> str:
    return os.path.splitext(os.path.normpath(path))[1].lower()


def _check_data_suffix(path: str, flag: str) -> None:
    from ..datafiles import DATA_SUFFIXES

    if os.path.splitext(path)[1].lower() not in DATA_SUFFIXES:
        raise UserError(
            f"{flag}: unsupported data file '{path}'; use one of {', '.join(DATA_SUFFIXES)}"
        )


def _writable_path(path: str, flag: str) -> str:
    """An output path that :func:`fastdnn._atomic.atomic_write` can replace (the same checks,
    made before any work): a regular file we may write, a link to one, or nothing yet, in a
    folder we may write."""
    from .._atomic import check_writable

    try:
        check_writable(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"{flag}: {exc}") from None
    return path


def _same_file(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` name one file: through symlinks, hard links or ``..``."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: str, folder: str) -> bool:
    """True if ``path`` lies inside the folder ``folder`` (through symlinks and ``..``)."""
    if not os.path.isdir(folder):
        return False
    inner, outer = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([inner, outer]) == outer


def _refuse_overwriting_inputs(out: str, flag: str, inputs: dict[str, str]) -> None:
    for input_flag, path in inputs.items():
        if _same_file(out, path):
            raise UserError(
                f"{flag} '{out}' is the {input_flag} file '{path}'; writing there would "
                f"destroy it: give {flag} another name"
            )
        if _inside(out, path):  # a zarr store is a folder: its files are the data
            raise UserError(
                f"{flag} '{out}' lies inside the {input_flag} folder '{path}'; writing there "
                f"would change the data: give {flag} a path outside it"
            )


def network_memory(layer_dims: list[int], m: int, itemsize: int, batch_size: int | None) -> int:
    """About how many bytes training and scoring ``layer_dims`` on ``m`` examples allocate.

    The parameters four times (the flat buffer, its gradient twin, the divergence backup and
    the initial parameter dict), one input copy in the model's dtype, and the work buffers of
    :class:`fastdnn.train.Workspace` for a batch, plus a prediction chunk's activations.
    """
    dims = [int(n) for n in layer_dims]
    n_params = sum(dims[l] * (dims[l - 1] + 1) for l in range(1, len(dims)))
    width = min(batch_size or m, m)
    widest = max([*dims[1:-1], dims[-1]])
    work = width * (sum(dims[1:]) + dims[-1] + 2 * widest)
    if batch_size is not None:
        work += width * (dims[0] + dims[-1])
    predict = min(m, 8192) * sum(dims[1:])
    return itemsize * (4 * n_params + dims[0] * m + work + predict)


def _check_memory(
    layer_dims: list[int], m: int, dtype: str, batch_size: int | None, what: str, fix: str
) -> None:
    """Refuse, before anything is allocated, a network that cannot fit in the memory left."""
    from ..datafiles import available_memory, format_bytes

    need = network_memory(layer_dims, m, 4 if dtype == "float32" else 8, batch_size)
    available = available_memory()
    if available is not None and need > available:
        n_params = sum(layer_dims[l] * (layer_dims[l - 1] + 1) for l in range(1, len(layer_dims)))
        width = min(batch_size or m, m)
        raise UserError(
            f"{what} would need about {format_bytes(need)} of memory ({n_params:,} "
            f"parameters in {dtype}"
            + (f", work buffers for {width:,} examples" if m > 1 else "")
            + f") but only {format_bytes(available)} is available; {fix}"
        )


def _check_data_fits_model(net, model: str, data: str, x_shape, y_shape) -> None:
    """The data's inputs (``X`` of ``x_shape``) and labels (``y_shape``, None: unlabeled) fit
    the model saved in ``model`` (softmax class indices: one row), for predict and --resume."""
    n_x = net.layer_dims[0]
    if x_shape[0] != n_x:
        csv = y_shape is not None and data.endswith(".csv")
        raise UserError(
            f"the model '{model}' takes n_x = {n_x} features per example (layer_dims "
            f"{net.layer_dims}), but '{data}' has {x_shape[0]} (X {tuple(x_shape)}"
            + (", label column excluded)" if csv else ")")
        )
    class_indices = net.output == "softmax" and y_shape is not None and y_shape[0] == 1
    if y_shape is not None and y_shape[0] != net.layer_dims[-1] and not class_indices:
        raise UserError(
            f"the model '{model}' has {net.layer_dims[-1]} output(s) but the labels in "
            f"'{data}' have {y_shape[0]} rows (Y {tuple(y_shape)})"
        )
