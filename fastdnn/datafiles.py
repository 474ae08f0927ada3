"""Reading data files for ``fastdnn train`` and ``fastdnn predict``.

:func:`read_data` (and its short form :func:`load_data`) reads ``.npz`` (arrays ``X``
``(n_x, m)`` and ``Y`` ``(n_y, m)``), ``.csv`` (one example per row, a header row of column
names, the label in one column) and HDF5 files (the course's cat files
``train_catvnoncat.h5`` / ``test_catvnoncat.h5``, or datasets ``X`` and ``Y``), and returns them
in the course's layout.

Data files are untrusted input. Before any payload is read:

- only regular files are read (a symlink to one is fine): a FIFO, a device (``/dev/zero``), a
  socket or a folder is refused, and the file is opened with ``O_NONBLOCK`` and checked again
  with ``fstat`` on the open descriptor, so neither the check nor a swap after it can block;
- a CSV line (the header included) may not exceed :data:`MAX_LINE_BYTES`, and the memory its
  numbers need (rows x columns, from one scan of the file) must be available;
- an npz is read as model files are (:mod:`fastdnn._archive`): its zip directory first (only
  stored or deflated entries, sizes deflate can produce), then each ``.npy`` header through a
  reader that serves numpy a few kilobytes at most: the dtype must be numbers (object arrays
  are pickles and are never loaded), the shape must agree with the size the directory
  declares, and that size must fit in the memory available;
- an HDF5 file with a soft or external link at the top level, or a dataset with external
  storage or a virtual layout, is refused (they make the loader read other files); a dataset's
  declared size (shape x itemsize) must fit in the memory available.

Anything wrong raises ``ValueError`` naming the file and what is wrong.
"""

from __future__ import annotations

import csv
import io
import math
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ._archive import READ_ERRORS, Archive, ArchiveError

DATA_SUFFIXES = (".npz", ".csv", ".h5", ".hdf5")
#: The longest CSV line (header included) read, in bytes: 16 MiB holds ~800,000 numbers.
MAX_LINE_BYTES = 16 * 2**20
_NPZ_MAX_ENTRIES = 1024  # a data npz's arrays: more are refused from its zip directory
_SCAN_CHUNK = 2**20


@dataclass(frozen=True)
class DataFile:
    """What :func:`read_data` found in a data file.

    Attributes
    ----------
    X : ndarray of shape (n_x, m)
        The inputs, examples as columns.
    Y : ndarray of shape (n_y, m), float64, or None
        The labels; None for an unlabeled file.
    feature_names : list of str, or None
        The names of the rows of ``X`` (a CSV's feature columns); None for npz and HDF5.
    label_names : list of str, or None
        The names of the rows of ``Y`` (a CSV's label column); None without names or labels.
    """

    X: np.ndarray
    Y: np.ndarray | None
    feature_names: list[str] | None = None
    label_names: list[str] | None = None


def load_data(
    path: str | os.PathLike,
    label: str | None = None,
    *,
    n_x: int | None = None,
    require_labels: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read examples for training or prediction, in the course's layout.

    The short form of :func:`read_data`: ``(X, Y)`` without the column names.

    Parameters
    ----------
    path : str or path-like
        A ``.npz``, ``.csv``, ``.h5`` or ``.hdf5`` file; see :func:`read_data`.
    label : str, optional
        CSV: the label column (default: the last column). npz / HDF5: the array holding the
        labels (default ``Y``/``y``, or ``*_set_y``).
    n_x : int, optional
        The number of features the caller expects; see :func:`read_data`.
    require_labels : bool, default True
        Raise if the file has no labels; otherwise return ``Y=None`` for an unlabeled file.

    Returns
    -------
    X : ndarray of shape (n_x, m)
    Y : ndarray of shape (n_y, m), or None

    Raises
    ------
    FileNotFoundError, ValueError, ImportError
        See :func:`read_data`.
    """
    data = read_data(path, label, n_x=n_x, require_labels=require_labels)
    return data.X, data.Y


def read_data(
    path: str | os.PathLike,
    label: str | None = None,
    *,
    n_x: int | None = None,
    feature_names: list[str] | None = None,
    label_names: list[str] | None = None,
    require_labels: bool = True,
) -> DataFile:
    """Read examples and, for a CSV, the names of their columns.

    Parameters
    ----------
    path : str or path-like
        A regular file (or a symlink to one), by suffix:

        - ``.npz``: arrays ``X`` of shape ``(n_x, m)`` (examples as columns) and ``Y`` of shape
          ``(n_y, m)`` or ``(m,)``; lowercase ``x``/``y`` are accepted too.
        - ``.csv``: comma-separated, a header row of distinct, non-empty column names, then one
          example per row. Every cell must be a finite number. The label is one column, every
          other column is a feature (or, with ``feature_names``, the named columns are);
          rows are transposed to ``(n_x, m)``.
        - ``.h5`` / ``.hdf5``: the course's cat files (datasets ``train_set_x`` /
          ``train_set_y`` or ``test_set_x`` / ``test_set_y``): images flattened and divided by
          255 as the course does (:func:`fastdnn.datasets.flatten_images`). Datasets ``X`` and
          ``Y`` are read as in an npz. Needs h5py.
    label : str, optional
        CSV: the name of the label column (default: the last column, or ``label_names``).
        npz / HDF5: the name of the array holding the labels (default ``Y``/``y``, or
        ``*_set_y``).
    n_x : int, optional
        The number of features the caller expects (a model's ``layer_dims[0]``). For a CSV
        read without ``label`` or ``feature_names``, a file with exactly ``n_x`` columns is
        taken as unlabeled.
    feature_names : list of str, optional
        CSV: take these columns, by name and in this order, as the features (a model's
        ``feature_names``); other columns are ignored, a missing one is an error.
        Ignored for npz and HDF5 files, which have no column names.
    label_names : list of str, optional
        CSV with ``feature_names``: the label column's name, used when ``label`` is not given;
        a file without that column is unlabeled.
    require_labels : bool, default True
        Raise if the file has no labels; otherwise return ``Y=None`` for an unlabeled file.

    Returns
    -------
    DataFile
        ``X`` (float64 for CSV and HDF5; the stored dtype for npz), ``Y`` (float64, or None)
        and, for a CSV, the names of the feature and label columns.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Naming the file and what is wrong: unknown suffix, not a regular file, a line too long,
        more memory needed than is available, external storage or links (HDF5), pickled
        arrays (npz), missing arrays (listing the ones present), unknown or missing columns
        (listing the columns), non-numeric or non-finite cells (with their line and column),
        shapes that disagree.
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
    for name, names in (("feature_names", feature_names), ("label_names", label_names)):
        if names is not None and (
            not isinstance(names, (list, tuple)) or not all(isinstance(s, str) for s in names)
        ):
            raise TypeError(f"{name} must be a list of str or None; got {names!r}")
    with _open_regular(path) as f:
        if suffix == ".csv":
            data = _load_csv(path, f, label, n_x, feature_names, label_names)
        elif suffix == ".npz":
            data = DataFile(*_load_arrays(path, _npz_entries(path, f), label))
        else:
            data = DataFile(*_load_h5(path, f, label))
    if data.Y is None and require_labels:
        raise ValueError(f"data file '{path}' has no labels (Y); labels are needed here")
    return data


def _data_error(path: Path, what: str) -> ValueError:
    return ValueError(f"data file '{path}': {what}")


# --------------------------------------------------------------------------------- files
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(path: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    via = f" (through the link to '{os.path.realpath(path)}')" if path.is_symlink() else ""
    raise ValueError(
        f"data file '{path}' is {kind}{via}, not a regular file; only regular files are read"
    )


def _open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading if, and only if, it is a regular file (after symlinks).

    ``stat`` first, so a device or FIFO is never opened; then ``open`` with ``O_NONBLOCK`` (a
    FIFO swapped in after the check cannot block the open) and ``fstat`` of the descriptor
    that will be read, so what is checked is what is read.
    """
    try:
        _check_regular(path, os.stat(path).st_mode)
    except FileNotFoundError:
        raise FileNotFoundError(f"data file not found: '{path}'") from None
    except OSError as exc:
        raise _data_error(path, f"cannot be read ({exc.strerror or exc})") from None
    nonblock = getattr(os, "O_NONBLOCK", 0)
    flags = os.O_RDONLY | nonblock | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileNotFoundError(f"data file not found: '{path}'") from None
    except OSError as exc:
        raise _data_error(path, f"cannot be opened ({exc.strerror or exc})") from None
    try:
        _check_regular(path, os.fstat(fd).st_mode)
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# --------------------------------------------------------------------------------- memory
def available_memory() -> int | None:
    """Bytes this process can still allocate, as far as the system says; None if unknown.

    The least of: ``MemAvailable`` in ``/proc/meminfo`` (else ``os.sysconf`` free pages), the
    cgroup v2 limit less its current use, and ``RLIMIT_AS`` less this process's address space.
    """
    bounds = []
    meminfo = _proc_fields("/proc/meminfo")
    if "MemAvailable" in meminfo:
        bounds.append(meminfo["MemAvailable"])
    else:
        try:
            bounds.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        current = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            bounds.append(max(int(limit) - int(current), 0))
    except (OSError, ValueError):
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        vm_size = _proc_fields("/proc/self/status").get("VmSize")
        if soft != resource.RLIM_INFINITY and vm_size is not None:
            bounds.append(max(soft - vm_size, 0))
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        pass
    return min(bounds) if bounds else None


def _proc_fields(name: str) -> dict[str, int]:
    """``Key: 123 kB`` lines of a /proc file, in bytes; {} where there is no /proc."""
    fields = {}
    try:
        with open(name, encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, rest = line.partition(":")
                parts = rest.split()
                if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
                    fields[key] = int(parts[0]) * 1024
    except OSError:
        pass
    return fields


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``: a size for a message."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def _check_budget(path: Path, what: str, nbytes: int) -> None:
    available = available_memory()
    if available is not None and nbytes > available:
        raise _data_error(
            path,
            f"{what} would need {format_bytes(nbytes)} of memory but only "
            f"{format_bytes(available)} is available",
        )


# --------------------------------------------------------------------------------- arrays
class _NpyEntry:
    """One ``.npy`` member of an npz, read through :class:`fastdnn._archive.Archive` (as model
    files are): its header first, at most a few kilobytes, its data on demand."""

    def __init__(self, path: Path, archive: Archive, name: str):
        self.path, self.archive, self.name = path, archive, name
        try:
            self.header = archive.header(name)  # refuses pickles and non-numbers
        except ArchiveError as exc:
            raise _data_error(path, str(exc)) from None
        header = self.header
        self.shape, self.dtype, self.nbytes = header.shape, header.dtype, header.nbytes

    def read(self) -> np.ndarray:
        try:  # in the stored dtype, in native byte order
            return self.archive.read(self.name, self.header, self.dtype.newbyteorder("="))
        except ArchiveError as exc:
            raise _data_error(self.path, str(exc)) from None


def _npz_entries(path: Path, f: BinaryIO) -> dict:
    """The arrays of an npz, by name, from its zip directory (entry names, compression
    methods and sizes checked first) and, for those used, their .npy headers."""
    try:
        archive = Archive(path, _NPZ_MAX_ENTRIES, file=f)
    except ArchiveError as exc:
        raise _data_error(path, str(exc)) from None
    return {name: _Lazy(lambda n=name: _NpyEntry(path, archive, n)) for name in archive.names}


class _Lazy:
    """An entry whose header is read only if the entry is used (an npz may hold others)."""

    def __init__(self, make):
        self._make, self._entry = make, None

    def __getattr__(self, attr):
        if self._entry is None:
            self._entry = self._make()
        return getattr(self._entry, attr)


def _pick(entries: dict, names: tuple[str, ...]):
    for name in names:
        if name in entries:
            return name
    return None


def _load_arrays(
    path: Path, entries: dict, label: str | None, x_names=("X", "x"), y_names=("Y", "y")
) -> tuple[np.ndarray, np.ndarray | None]:
    """X and Y from entries with ``shape``, ``dtype``, ``nbytes`` and ``read()``: every shape
    and the memory are checked from the declarations before any data is read."""
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
    xe = entries[x_key]
    _numeric(path, x_key, xe.dtype)
    if len(xe.shape) != 2:
        raise _data_error(
            path, f"{x_key} must be 2-D (n_x, m), examples as columns; got shape {xe.shape}"
        )
    if math.prod(xe.shape) == 0:
        raise _data_error(path, f"{x_key} is empty (shape {xe.shape})")
    m = xe.shape[1]
    need = xe.nbytes
    if y_key is not None:
        ye = entries[y_key]
        _numeric(path, y_key, ye.dtype)
        y_shape = (1, *ye.shape) if len(ye.shape) == 1 else tuple(ye.shape)
        if len(y_shape) != 2 or y_shape[1] != m:
            hint = ""
            if len(y_shape) == 2 and y_shape[0] == m:
                hint = f" (did you store {y_key}.T? the course layout is (n_y, m))"
            elif len(y_shape) == 2 and y_shape[1] == xe.shape[0]:
                hint = f" ({x_key} may be transposed: the course layout is (n_x, m))"
            raise _data_error(
                path,
                f"{y_key} has shape {tuple(ye.shape)} but {x_key} {tuple(xe.shape)} holds "
                f"m = {m} examples; {y_key} must be (n_y, {m}){hint}",
            )
        need += ye.nbytes + math.prod(y_shape) * 8  # Y is returned as float64
    _check_budget(path, f"the arrays {x_key}" + (f" and {y_key}" if y_key else ""), need)
    X = xe.read()
    _check_finite(path, x_key, X)
    if y_key is None:
        return X, None
    Y = ye.read().reshape(y_shape)
    _check_finite(path, y_key, Y)
    return X, Y.astype(np.float64)


def _numeric(path: Path, name: str, dtype: np.dtype) -> None:
    if dtype.kind not in "biuf":
        raise _data_error(path, f"{name} has dtype {dtype}; it must hold real numbers")


def _check_finite(path: Path, name: str, a: np.ndarray) -> None:
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise _data_error(path, f"{name}{list(bad)} is {a[bad]}; every value must be finite")


# --------------------------------------------------------------------------------- HDF5
class _H5Entry:
    """One HDF5 dataset, checked for storage outside the file before anything is read."""

    def __init__(self, path: Path, name: str, dset):
        from h5py import h5d

        self.path, self.name, self.dset = path, name, dset
        plist = dset.id.get_create_plist()
        if plist.get_layout() == h5d.VIRTUAL:
            raise _data_error(
                path,
                f"dataset {name!r} is a virtual dataset (its data lives in other files); "
                "virtual datasets are not read",
            )
        if plist.get_external_count() > 0:
            first = plist.get_external(0)[0].decode(errors="replace")
            raise _data_error(
                path,
                f"dataset {name!r} uses external storage (its data lives in '{first}', "
                "outside this file); external storage is not read",
            )
        self.shape, self.dtype = tuple(dset.shape or ()), dset.dtype
        self.nbytes = math.prod(self.shape) * self.dtype.itemsize

    def read(self) -> np.ndarray:
        try:
            return np.asarray(self.dset[()])
        except (*READ_ERRORS, RuntimeError, TypeError) as exc:
            raise _data_error(
                self.path, f"dataset {self.name!r} cannot be read ({type(exc).__name__}: {exc})"
            ) from None


def _h5_entries(path: Path, h5, h5py) -> dict:
    """The top-level datasets, after refusing soft and external links (anything but a hard
    link can make the loader open another file or another object than the one named)."""
    entries = {}
    for name in sorted(h5.keys()):
        link = h5.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            raise _data_error(
                path,
                f"{name!r} is an external link (to '{link.filename}'); links to other files "
                "are not followed",
            )
        if not isinstance(link, h5py.HardLink):
            raise _data_error(
                path, f"{name!r} is a {type(link).__name__}; only hard links are followed"
            )
        obj = h5.get(name)
        if isinstance(obj, h5py.Dataset):
            entries[name] = _H5Entry(path, name, obj)
    return entries


def _load_h5(path: Path, f: BinaryIO, label: str | None):
    from .datasets import _require_h5py, flatten_images

    h5py = _require_h5py()
    try:
        h5 = h5py.File(f, "r")
    except (OSError, ValueError) as exc:
        raise _data_error(path, f"not a readable HDF5 file ({exc})") from None
    with h5:
        try:
            entries = _h5_entries(path, h5, h5py)
        except (OSError, KeyError, RuntimeError) as exc:
            raise _data_error(path, f"damaged HDF5 file ({type(exc).__name__}: {exc})") from None
        names = sorted(entries)
        x_sets = [k for k in names if k.endswith("_set_x")]
        if "X" in names or "x" in names or not x_sets:
            return _load_arrays(path, entries, label)
        if len(x_sets) > 1:
            raise _data_error(path, f"several image sets {x_sets}; expected one *_set_x")
        x_key = x_sets[0]
        y_key = label if label is not None else x_key[: -len("x")] + "y"
        if y_key not in names:
            what = f"label dataset {y_key!r}" if label else f"no labels {y_key!r}"
            raise _data_error(path, f"{what} not found; it holds {names}")
        xe, ye = entries[x_key], entries[y_key]
        if xe.dtype.kind not in "biuf" or len(xe.shape) < 2:
            raise _data_error(
                path,
                f"{x_key} must hold images (m, height, width, channels); got "
                f"dtype {xe.dtype}, shape {xe.shape}",
            )
        _numeric(path, y_key, ye.dtype)
        count = math.prod(xe.shape)
        # the stored images, their float64 flattening and its division by 255, and Y
        _check_budget(
            path,
            f"the datasets {x_key} and {y_key}",
            xe.nbytes + 2 * 8 * count + ye.nbytes + 8 * math.prod(ye.shape),
        )
        x_orig, y = xe.read(), ye.read()
    X = flatten_images(x_orig)  # the course: reshape(m, -1).T / 255
    if y.ndim > 2 or (y.ndim == 2 and 1 not in y.shape):  # (m,), (1, m) or (m, 1): one label each
        raise _data_error(
            path, f"{y_key} must hold one label per image, shape (m,) or (1, m); got {y.shape}"
        )
    y = y.reshape(1, -1)
    if y.shape[1] != X.shape[1]:
        raise _data_error(path, f"{y_key} holds {y.shape[1]} labels for {X.shape[1]} images")
    _check_finite(path, x_key, X)
    _check_finite(path, y_key, y)
    return X, y.astype(np.float64)


# --------------------------------------------------------------------------------- CSV
def _scan_lines(path: Path, f: BinaryIO) -> int:
    """Count the lines of the file, refusing one longer than :data:`MAX_LINE_BYTES`.

    One pass in 1 MiB chunks, so a file without newlines costs 1 MiB, not its size."""
    n_lines, run = 0, 0  # run: bytes since the last newline
    while chunk := f.read(_SCAN_CHUNK):
        newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == ord("\n"))
        if newlines.size:
            lengths = np.diff(newlines, prepend=-1) - 1
            lengths[0] += run
            longest = int(lengths.argmax())
            if lengths[longest] > MAX_LINE_BYTES:
                _line_too_long(path, n_lines + longest + 1)
            n_lines += newlines.size
            run = len(chunk) - int(newlines[-1]) - 1
        else:
            run += len(chunk)
        if run > MAX_LINE_BYTES:
            _line_too_long(path, n_lines + 1)
    return n_lines + (run > 0)


def _line_too_long(path: Path, line: int):
    what = "line 1 (the header row)" if line == 1 else f"line {line}"
    raise _data_error(
        path,
        f"{what} is longer than {MAX_LINE_BYTES:,} bytes; is this a CSV file of examples, "
        "one per line?",
    )


def _load_csv(path, f, label, n_x, feature_names, label_names) -> DataFile:
    n_lines = _scan_lines(path, f)
    f.seek(0)
    text = io.TextIOWrapper(f, encoding="utf-8-sig", newline="")
    try:
        header = _csv_header(path, text)
        features, label_col = _csv_columns(path, header, label, n_x, feature_names, label_names)
        used = features + ([label_col] if label_col is not None else [])  # only these are read
        rows = max(n_lines - 1, 0)
        # the parsed numbers, their transposed copy, and the parser's growing buffer
        _check_budget(path, f"{rows} rows of {len(used)} numbers", 3 * 8 * rows * len(used))
        data = _read_csv_numbers(path, text, header, used)
    except UnicodeDecodeError as exc:
        raise _data_error(path, f"not UTF-8 text ({exc})") from None
    finally:
        text.detach()  # the binary file stays with its owner
    if data.shape[0] == 0:
        raise _data_error(path, "no examples below the header row")
    n_features = len(features)  # every value is finite (_read_csv_numbers names the line)
    X = np.ascontiguousarray(data[:, :n_features].T)
    names = [header[j] for j in features]
    if label_col is None:
        return DataFile(X, None, names, None)
    Y = np.ascontiguousarray(data[:, n_features:].T)
    return DataFile(X, Y, names, [header[label_col]])


def _csv_header(path: Path, text) -> list[str]:
    line = text.readline()
    if not line.strip():
        raise _data_error(path, "empty; expected a header row of column names, then examples")
    try:  # strict: a quote left open (a name with a line break in it) is an error
        header = [cell.strip() for cell in next(csv.reader([line], strict=True))]
    except csv.Error as exc:
        raise _data_error(
            path,
            f"the header row cannot be read as CSV ({exc}): it must be one line of column "
            "names, none with a line break or an unclosed quote",
        ) from None
    if all(_is_number(cell) for cell in header):
        raise _data_error(
            path,
            f"the first row {header[:5]}{'...' if len(header) > 5 else ''} "
            "looks like numbers; the first row must be a header of column names",
        )
    for j, name in enumerate(header):
        if not name:
            raise _data_error(
                path, f"column {j + 1} of the header has no name; every column needs one"
            )
    seen: dict[str, int] = {}
    for j, name in enumerate(header):
        if name in seen:
            raise _data_error(
                path,
                f"column name {name!r} appears twice in the header (columns {seen[name] + 1} "
                f"and {j + 1}); column names must be unique",
            )
        seen[name] = j
    return header


def _shown(header: list[str]) -> str:
    n = len(header)
    return ", ".join(header[:20]) + (f", ... ({n} columns)" if n > 20 else "")


def _csv_columns(path, header, label, n_x, feature_names, label_names):
    """(feature column indices, label column index or None), by name or by position."""
    index = {name: j for j, name in enumerate(header)}
    if label is not None and label not in index:
        raise _data_error(
            path, f"unknown label column {label!r}; the columns are: {_shown(header)}"
        )
    if feature_names is not None:  # by name: any order, other columns ignored
        missing = [name for name in feature_names if name not in index]
        if missing:
            raise _data_error(
                path,
                f"no column {', '.join(map(repr, missing[:10]))}"
                f"{f' (and {len(missing) - 10} more)' if len(missing) > 10 else ''}, "
                f"a feature the model was trained on; the columns are: {_shown(header)}",
            )
        if label is not None and label in feature_names:
            raise _data_error(path, f"the label column {label!r} is one of the model's features")
        if label is None and label_names is not None and len(label_names) == 1:
            label = label_names[0] if label_names[0] in index else None
        return [index[name] for name in feature_names], (None if label is None else index[label])
    n_cols = len(header)
    if label is not None:
        label_col = index[label]
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
    return [j for j in range(n_cols) if j != label_col], label_col


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_csv_numbers(path: Path, text, header: list[str], used: list[int]) -> np.ndarray:
    """The cells of the columns ``used`` below the header, as float64 ``(m, len(used))``:
    NumPy's fast parser first, then a cell-by-cell pass to name the line and column of whatever
    it refused. Other columns are not parsed (they may hold text, such as an id)."""
    start = text.tell()
    try:
        with warnings.catch_warnings():  # "input contained no data": reported below, clearly
            warnings.simplefilter("ignore", UserWarning)
            data = np.loadtxt(
                text,
                delimiter=",",
                dtype=np.float64,
                ndmin=2,
                comments=None,
                quotechar='"',
                usecols=used,
            )
    except ValueError:
        data = None
    if data is not None and (data.shape[0] == 0 or data.shape[1] == len(used)):
        # NumPy reads the columns `used` of a row with extra cells without a word: an unquoted
        # comma in an id shifts every later column. The cell-by-cell pass names such a line,
        # and the line of a NaN or inf (NumPy skips blank lines: row + 2 may not be it).
        if _cell_counts_match(text, start, len(header)) and np.isfinite(data).all():
            return data.reshape(-1, len(used)) if data.size == 0 else data
    text.seek(start)
    values = []
    reader = csv.reader(text)
    try:
        for row in reader:
            line = reader.line_num + 1  # the header is line 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != len(header):
                raise _data_error(
                    path,
                    f"line {line} has {len(row)} cells but the header has {len(header)} columns",
                )
            values.append([_finite_cell(path, line, header[j], row[j]) for j in used])
    except csv.Error as exc:
        raise _data_error(
            path, f"line {reader.line_num + 1} cannot be read as CSV ({exc})"
        ) from None
    return np.array(values, dtype=np.float64).reshape(-1, len(used))


def _cell_counts_match(text, start: int, n_cols: int) -> bool:
    """Whether every row from ``start`` has ``n_cols`` cells (blank lines aside); False too
    when a quote makes counting commas unreliable: the csv module then decides."""
    text.seek(start)
    for line in text:
        if '"' in line:
            return False
        if line.strip() and line.count(",") != n_cols - 1:
            return False
    return True


def _finite_cell(path: Path, line: int, column: str, cell: str) -> float:
    value = _cell(path, line, column, cell)
    if not math.isfinite(value):
        raise _data_error(path, f"line {line}, column {column!r}: {value} is not a finite number")
    return value


def _cell(path: Path, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    if not text:
        raise _data_error(
            path, f"line {line}, column {column!r}: empty cell; every cell must be a number"
        )
    try:
        # Python's float() also reads "1_000" and non-ASCII digits, which a CSV's numbers
        # never are (NumPy's parser refuses them too): refused alike.
        if not text.isascii() or "_" in text:
            raise ValueError(text)
        return float(text)
    except ValueError:
        raise _data_error(
            path, f"line {line}, column {column!r}: cannot read {text[:40]!r} as a number"
        ) from None
