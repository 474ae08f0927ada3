"""Reading data files for ``fastdnn train`` and ``fastdnn predict``.

:func:`load_data` reads ``.npz`` (arrays ``X`` ``(n_x, m)`` and ``Y`` ``(n_y, m)``), ``.csv`` (one
example per row, a header row, the label in one column) and the course's cat HDF5 files
(``train_catvnoncat.h5`` / ``test_catvnoncat.h5``), and returns them in the course's layout.
Damaged files raise ``ValueError`` naming the file; pickles are never loaded.
"""

from __future__ import annotations

import csv
import os
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    pass

from .io import READ_ERRORS as _READ_ERRORS

DATA_SUFFIXES = (".npz", ".csv", ".h5", ".hdf5")


def load_data(
    path: str | os.PathLike,
    label: str | None = None,
    *,
    n_x: int | None = None,
    require_labels: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read examples for training or prediction, in the course's layout.

    Parameters
    ----------
    path : str or path-like
        A data file, by suffix:

        - ``.npz``: arrays ``X`` of shape ``(n_x, m)`` (examples as columns) and ``Y`` of shape
          ``(n_y, m)`` or ``(m,)``; lowercase ``x``/``y`` are accepted too.
        - ``.csv``: comma-separated, a header row of column names, then one example per row.
          Every cell must be a finite number. The label is one column (``label``, default the
          last), every other column is a feature; rows are transposed to ``(n_x, m)``.
        - ``.h5`` / ``.hdf5``: the course's cat files (datasets ``train_set_x`` /
          ``train_set_y`` or ``test_set_x`` / ``test_set_y``): images flattened and divided by
          255 as the course does (:func:`fastdnn.datasets.flatten_images`). Datasets ``X`` and
          ``Y`` are read as in an npz. Needs h5py.
    label : str, optional
        CSV: the name of the label column (default: the last column). npz / HDF5: the name of
        the array holding the labels (default ``Y``/``y``, or ``*_set_y``).
    n_x : int, optional
        The number of features the caller expects (a model's ``layer_dims[0]``). For a CSV
        read without ``label``, a file with exactly ``n_x`` columns is taken as unlabeled.
    require_labels : bool, default True
        Raise if the file has no labels; otherwise return ``Y=None`` for an unlabeled file.

    Returns
    -------
    X : ndarray of shape (n_x, m)
        Real numbers (float64 for CSV and HDF5; the stored dtype for npz).
    Y : ndarray of shape (n_y, m), or None
        The labels, as float64; None when the file has none and ``require_labels`` is False.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file and what is wrong: unknown suffix, missing arrays (listing the ones
        present), unknown label column (listing the columns), non-numeric or non-finite cells
        (with their line and column), shapes that disagree.
    ImportError
        For an HDF5 file when h5py is not installed.
    """
    path = Path(os.fspath(path))
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise ValueError(
            f"data file '{path}' has an unsupported type {suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(DATA_SUFFIXES)}"
        )
    if not path.exists():
        raise FileNotFoundError(f"data file not found: '{path}'")
    if path.is_dir():
        raise ValueError(f"data file '{path}' is a folder")
    if suffix == ".csv":
        X, Y = _load_csv(path, label, n_x)
    elif suffix == ".npz":
        X, Y = _load_arrays(path, _npz_entries(path), label)
    else:
        X, Y = _load_h5(path, label)
    if Y is None and require_labels:
        raise ValueError(f"data file '{path}' has no labels (Y); labels are needed here")
    return X, Y


def _data_error(path: Path, what: str) -> ValueError:
    return ValueError(f"data file '{path}': {what}")


def _npz_entries(path: Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise _data_error(path, "a single .npy array, not a .npz archive with X and Y")
            names = list(archive.files)
            return {name: _LazyEntry(path, name) for name in names}
    except ValueError as exc:
        if str(exc).startswith("data file"):
            raise
        raise _data_error(path, f"not a readable .npz archive ({exc})") from None
    except zipfile.BadZipFile as exc:
        raise _data_error(path, f"not a valid .npz (zip) archive ({exc})") from None
    except FileNotFoundError:
        raise
    except _READ_ERRORS as exc:
        raise _data_error(path, f"damaged or unreadable ({type(exc).__name__}: {exc})") from None


class _LazyEntry:
    """One array of an npz (or HDF5) file, read only when used."""

    def __init__(self, path: Path, name: str, reader=None):
        self.path, self.name, self.reader = path, name, reader

    def read(self) -> np.ndarray:
        if self.reader is not None:
            return self.reader()
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                return np.asarray(archive[self.name])
        except _READ_ERRORS as exc:
            detail = (
                "it holds pickled Python objects, which are never loaded"
                if "pickle" in str(exc).lower() or "object arrays" in str(exc).lower()
                else f"{type(exc).__name__}: {exc}"
            )
            raise _data_error(self.path, f"array {self.name!r} cannot be read: {detail}") from None


def _pick(entries: dict, names: tuple[str, ...]):
    for name in names:
        if name in entries:
            return name
    return None


def _load_arrays(
    path: Path, entries: dict, label: str | None, x_names=("X", "x"), y_names=("Y", "y")
) -> tuple[np.ndarray, np.ndarray | None]:
    present = sorted(entries)
    x_key = _pick(entries, x_names)
    if x_key is None:
        raise _data_error(
            path,
            f"no array {' or '.join(x_names)} (the inputs, shape (n_x, m)); "
            f"it holds {present or 'nothing'}",
        )
    if label is not None:
        if label not in entries:
            raise _data_error(path, f"no label array {label!r}; it holds {present}")
        y_key = label
    else:
        y_key = _pick(entries, y_names)
    X = _numeric(path, x_key, entries[x_key].read())
    if X.ndim != 2:
        raise _data_error(
            path, f"{x_key} must be 2-D (n_x, m), examples as columns; got shape {X.shape}"
        )
    if X.size == 0:
        raise _data_error(path, f"{x_key} is empty (shape {X.shape})")
    _check_finite(path, x_key, X)
    if y_key is None:
        return X, None
    Y = _numeric(path, y_key, entries[y_key].read())
    m = X.shape[1]
    if Y.ndim == 1:
        Y = Y.reshape(1, -1)
    if Y.ndim != 2 or Y.shape[1] != m:
        hint = ""
        if Y.ndim == 2 and Y.shape[0] == m:
            hint = f" (did you store {y_key}.T? the course layout is (n_y, m))"
        elif Y.ndim == 2 and Y.shape[1] == X.shape[0]:
            hint = f" ({x_key} may be transposed: the course layout is (n_x, m))"
        raise _data_error(
            path,
            f"{y_key} has shape {Y.shape} but {x_key} {X.shape} holds "
            f"m = {m} examples; {y_key} must be (n_y, {m}){hint}",
        )
    _check_finite(path, y_key, Y)
    return X, Y.astype(np.float64)


def _numeric(path: Path, name: str, a: np.ndarray) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise _data_error(path, f"{name} has dtype {a.dtype}; it must hold real numbers")
    return a


def _check_finite(path: Path, name: str, a: np.ndarray) -> None:
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise _data_error(path, f"{name}{list(bad)} is {a[bad]}; every value must be finite")


def _load_h5(path: Path, label: str | None):
    from .datasets import _require_h5py, flatten_images

    h5py = _require_h5py()
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise _data_error(path, f"not a readable HDF5 file ({exc})") from None
    with f:
        names = sorted(k for k in f.keys() if isinstance(f[k], h5py.Dataset))
        x_sets = [k for k in names if k.endswith("_set_x")]
        if "X" in names or "x" in names or not x_sets:
            entries = {
                k: _LazyEntry(path, k, reader=lambda k=k: np.asarray(f[k][()])) for k in names
            }
            return _load_arrays(path, entries, label)
        if len(x_sets) > 1:
            raise _data_error(path, f"several image sets {x_sets}; expected one *_set_x")
        x_key = x_sets[0]
        y_key = label if label is not None else x_key[: -len("x")] + "y"
        if y_key not in names:
            what = f"label dataset {y_key!r}" if label else f"no labels {y_key!r}"
            raise _data_error(path, f"{what} not found; it holds {names}")
        x_orig = np.asarray(f[x_key][()])
        y = np.asarray(f[y_key][()])
    if x_orig.dtype.kind not in "biuf" or x_orig.ndim < 2:
        raise _data_error(
            path,
            f"{x_key} must hold images (m, height, width, channels); got "
            f"dtype {x_orig.dtype}, shape {x_orig.shape}",
        )
    X = flatten_images(x_orig)  # the course: reshape(m, -1).T / 255
    y = _numeric(path, y_key, y).reshape(1, -1)
    if y.shape[1] != X.shape[1]:
        raise _data_error(path, f"{y_key} holds {y.shape[1]} labels for {X.shape[1]} images")
    _check_finite(path, x_key, X)
    return X, y.astype(np.float64)


def _load_csv(path: Path, label: str | None, n_x: int | None):
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
    except UnicodeDecodeError as exc:
        raise _data_error(path, f"not UTF-8 text ({exc})") from None
    if header is None or not any(cell.strip() for cell in header):
        raise _data_error(path, "empty; expected a header row of column names, then examples")
    header = [cell.strip() for cell in header]
    if all(_is_number(cell) for cell in header):
        raise _data_error(
            path,
            f"the first row {header[:5]}{'...' if len(header) > 5 else ''} "
            "looks like numbers; the first row must be a header of column names",
        )
    n_cols = len(header)
    if label is not None:
        hits = [j for j, name in enumerate(header) if name == label]
        if not hits:
            shown = ", ".join(header[:20]) + (f", ... ({n_cols} columns)" if n_cols > 20 else "")
            raise _data_error(path, f"unknown label column {label!r}; the columns are: {shown}")
        if len(hits) > 1:
            raise _data_error(
                path, f"label column {label!r} appears {len(hits)} times in the header"
            )
        label_col = hits[0]
    elif n_x is not None and n_cols == n_x:
        label_col = None  # as many columns as the model has features: no labels
    else:
        label_col = n_cols - 1
    if label_col is not None and n_cols < 2:
        raise _data_error(
            path,
            f"only one column ({header[0]!r}); a labeled file needs at least "
            "one feature column and the label column",
        )
    data = _read_csv_numbers(path, header)
    if data.shape[0] == 0:
        raise _data_error(path, "no examples below the header row")
    if not np.isfinite(data).all():
        i, j = (int(k) for k in np.argwhere(~np.isfinite(data))[0])
        raise _data_error(
            path, f"line {i + 2}, column {header[j]!r}: {data[i, j]} is not a finite number"
        )
    if label_col is None:
        return np.ascontiguousarray(data.T), None
    features = [j for j in range(n_cols) if j != label_col]
    X = np.ascontiguousarray(data[:, features].T)
    Y = np.ascontiguousarray(data[:, label_col].reshape(1, -1))
    return X, Y


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_csv_numbers(path: Path, header: list[str]) -> np.ndarray:
    """All cells below the header as float64 ``(m, n_cols)``: NumPy's fast parser first, then
    a cell-by-cell pass to name the line and column of whatever it refused."""
    try:
        with warnings.catch_warnings():  # "input contained no data": reported below, clearly
            warnings.simplefilter("ignore", UserWarning)
            data = np.loadtxt(
                path,
                delimiter=",",
                skiprows=1,
                dtype=np.float64,
                ndmin=2,
                encoding="utf-8-sig",
                comments=None,
                quotechar='"',
            )
    except ValueError:
        data = None
    if data is not None and (data.shape[0] == 0 or data.shape[1] == len(header)):
        return data.reshape(-1, len(header)) if data.size == 0 else data
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != len(header):
                raise _data_error(
                    path,
                    f"line {line} has {len(row)} cells but the header has {len(header)} columns",
                )
            values = []
            for j, cell in enumerate(row):
                text = cell.strip()
                if not text:
                    raise _data_error(
                        path,
                        f"line {line}, column {header[j]!r}: empty cell; "
                        "every cell must be a number",
                    )
                try:
                    values.append(float(text))
                except ValueError:
                    raise _data_error(
                        path,
                        f"line {line}, column {header[j]!r}: cannot read {text[:40]!r} as a number",
                    ) from None
            rows.append(values)
    return np.array(rows, dtype=np.float64).reshape(-1, len(header))
