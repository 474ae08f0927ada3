"""Reading ``.npz`` archives from untrusted files, at the cost the file declares.

A ``.npz`` is a zip of ``.npy`` arrays. :class:`Archive` reads it in the order that keeps a
hostile file cheap: the zip directory first (entry names, compression methods, sizes), then
each entry's ``.npy`` header (shape, dtype) through a reader that will not hand numpy more than
a small header budget, and a payload only when the header's ``shape x itemsize`` equals what
the zip directory says the entry holds. Payloads are read in bounded chunks straight into the
caller's array, never more bytes than declared. The caller compares shapes and dtypes with
what it expects (e.g. a model's ``layer_dims``) between :meth:`Archive.header` and
:meth:`Archive.read_into`, so nothing large is read or allocated for a file that is wrong.

Only regular files are opened (a FIFO cannot block the reader), pickles are never loaded, and
only the two compression methods numpy writes are accepted: stored, and deflate (which Python's
``zipfile`` decompresses with a bounded output per call; its bzip2 and LZMA paths do not bound
what one call may expand to). Everything wrong with a file raises :class:`ArchiveError`, a
``ValueError`` whose message says what is wrong without the file name (the caller adds it) and
never echoes more than a short piece of a name from the file.
"""

from __future__ import annotations

import math
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: What a damaged or foreign file can raise while numpy or zipfile read it.
READ_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    KeyError,
    UnicodeDecodeError,
    NotImplementedError,
    SyntaxError,
    RecursionError,
    OverflowError,
    MemoryError,
)

#: numpy's own cap on the text of a ``.npy`` header (``max_header_size``).
MAX_HEADER_CHARS = 10_000
_MAGIC_LEN = 8
# magic, then at most a 4-byte length field and the header text (1 byte per character here)
_HEADER_BUDGET = _MAGIC_LEN + 4 + MAX_HEADER_CHARS
_CHUNK = 1 << 20  # payload bytes per read: the only buffer besides the caller's array
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# Deflate emits at least 2 bits per 258-byte match: no stream expands more than 1032-fold.
_DEFLATE_MAX_RATIO = 1032
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}


class ArchiveError(ValueError):
    """A file that is not a readable ``.npz`` archive, or not the one expected."""


def clip(text: str, limit: int = 60) -> str:
    """``text`` cut to about ``limit`` characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[: max(limit - 25, 8)]}...({len(text)} characters)"


def clip_name(name: str) -> str:
    """A name from a file, quoted and cut short for an error message."""
    return clip(repr(name))


@dataclass(frozen=True)
class Header:
    """What an entry's ``.npy`` header declares, checked against the zip directory."""

    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype
    offset: int  # bytes of magic + header before the payload
    nbytes: int  # payload bytes: prod(shape) * itemsize == the entry's size - offset

    @property
    def count(self) -> int:
        return math.prod(self.shape)


def open_regular(path: Path):
    """Open ``path`` for reading if it is a non-empty regular file; return the file object.

    ``O_NONBLOCK`` makes opening a FIFO return at once, so the type check that follows
    (``fstat`` of the opened file: no race with a rename) refuses it instead of blocking.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileNotFoundError(f"file not found: '{path}'") from None
    except IsADirectoryError:  # Windows
        raise ArchiveError("it is a folder, not a .npz file") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ArchiveError("it is a folder, not a .npz file")
        if not stat.S_ISREG(st.st_mode):
            raise ArchiveError(f"it is {file_kind(st.st_mode)}, not a regular file")
        if st.st_size == 0:
            raise ArchiveError("the file is empty (0 bytes)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words, from its ``st_mode``."""
    for test, name in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


class _Budget:
    """A read-only view of a stream that serves at most ``limit`` bytes, counting them.

    numpy's header readers read the header length, then that many bytes, before they check
    it against ``max_header_size``: behind this wrapper a header that claims gigabytes costs
    ``limit`` bytes, and numpy reports a short read.
    """

    def __init__(self, stream, limit: int):
        self.stream, self.left, self.used = stream, limit, 0

    def read(self, n: int = -1) -> bytes:
        n = self.left if n is None or n < 0 else min(n, self.left)
        data = self.stream.read(n) if n > 0 else b""
        self.left -= len(data)
        self.used += len(data)
        return data


class Archive:
    """An opened ``.npz`` whose zip directory has been checked.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    max_entries : int
        More entries than this are refused before any is looked at.
    file : binary file, optional
        ``path`` already opened (a regular file, by the caller's checks); the caller closes
        it. Default: opened here, and closed by :meth:`close`.

    Attributes
    ----------
    names : list of str
        Entry names without their ``.npy`` suffix, in directory order.
    """

    def __init__(self, path: Path, max_entries: int, file=None):
        self.path = path
        self._owns_file = file is None
        self._file = open_regular(path) if file is None else file
        try:
            self._zip = self._open_zip()
            self._entries = self._check_directory(max_entries)
        except BaseException:
            if self._owns_file:
                self._file.close()
            raise
        self.names = list(self._entries)

    def close(self) -> None:
        self._zip.close()
        if self._owns_file:
            self._file.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- the zip directory
    def _open_zip(self) -> zipfile.ZipFile:
        start = self._file.read(8)
        self._file.seek(0)
        if start.startswith(_NPY_MAGIC):
            raise ArchiveError("it is a single .npy array, not a .npz archive")
        if not start.startswith(_ZIP_MAGICS):
            raise ArchiveError("not a .npz archive (not a zip file, nor a .npy array)")
        try:
            return zipfile.ZipFile(self._file)
        except READ_ERRORS as exc:
            raise ArchiveError(
                f"not a valid .npz (zip) archive, or a truncated one ({_describe(exc)})"
            ) from None

    def _check_directory(self, max_entries: int) -> dict[str, zipfile.ZipInfo]:
        infos = self._zip.infolist()
        if len(infos) > max_entries:
            raise ArchiveError(f"it holds {len(infos)} entries; at most {max_entries} expected")
        size = os.fstat(self._file.fileno()).st_size
        entries: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            label = clip_name(info.filename)
            if not info.filename.endswith(".npy"):
                raise ArchiveError(f"entry {label} is not a .npy array")
            name = info.filename[: -len(".npy")]
            if name in entries:
                raise ArchiveError(f"entry {label} appears twice in the zip directory")
            if info.flag_bits & 0x1:
                raise ArchiveError(f"entry {label} is encrypted")
            if info.compress_type not in _METHODS:
                method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
                raise ArchiveError(
                    f"entry {label} is compressed with {method}; a .npz entry is stored or "
                    "deflated (as numpy.savez / savez_compressed write it)"
                )
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise ArchiveError(
                    f"entry {label} is stored uncompressed but the zip directory gives it "
                    f"{info.compress_size} bytes in the file and {info.file_size} bytes of data"
                )
            if (
                info.compress_type == zipfile.ZIP_DEFLATED
                and info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + 1024
            ):
                raise ArchiveError(
                    f"entry {label} declares {info.file_size} bytes of data from "
                    f"{info.compress_size} compressed bytes, more than deflate can produce "
                    "(a damaged or forged entry)"
                )
            if info.header_offset + info.compress_size > size:
                raise ArchiveError(
                    f"entry {label} ends past the end of the file (truncated or damaged)"
                )
            entries[name] = info
        return entries

    # ---------------------------------------------------------------- one entry
    def size(self, name: str) -> int:
        """Uncompressed bytes of entry ``name`` (header and payload), as the directory says."""
        return self._entries[name].file_size

    def header(self, name: str, kinds: str = "biuf") -> Header:
        """Entry ``name``'s ``.npy`` header, its payload size checked against the directory.

        Refuses object (pickled) dtypes and dtype kinds not in ``kinds`` (default: real
        numbers); reads at most a few kilobytes.
        """
        label = clip_name(name)
        info = self._entries[name]
        try:
            with self._zip.open(info) as stream:
                budget = _Budget(stream, _HEADER_BUDGET)
                version = np.lib.format.read_magic(budget)
                if version == (1, 0):
                    read = np.lib.format.read_array_header_1_0
                elif version == (2, 0):
                    read = np.lib.format.read_array_header_2_0
                else:
                    raise ArchiveError(f"entry {label} has .npy format version {version}")
                shape, fortran_order, dtype = read(budget, max_header_size=MAX_HEADER_CHARS)
        except ArchiveError:
            raise
        except READ_ERRORS as exc:
            raise ArchiveError(
                f"entry {label} has a damaged or oversized .npy header ({_describe(exc)})"
            ) from None
        if dtype.hasobject:
            raise ArchiveError(
                f"entry {label} holds pickled Python objects (an object array); fastdnn "
                "never unpickles, since that can run code"
            )
        if dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None:
            what = "real numbers needed" if kinds == "biuf" else f"dtype kinds {kinds!r} expected"
            raise ArchiveError(f"entry {label} has dtype {clip(str(dtype))}; {what}")
        if any(n < 0 for n in shape):
            raise ArchiveError(f"entry {label} has a negative dimension in shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize
        if budget.used + nbytes != info.file_size:
            raise ArchiveError(
                f"entry {label} declares shape {clip(str(shape))} of {dtype} ({nbytes} bytes) "
                f"but the zip directory gives it {info.file_size - budget.used} bytes of data"
            )
        return Header(tuple(shape), bool(fortran_order), dtype, budget.used, nbytes)

    def read_into(self, name: str, header: Header, out: np.ndarray) -> None:
        """Fill ``out`` (C-contiguous, ``header.count`` elements) with entry ``name``'s values.

        Values are converted to ``out.dtype`` (integers, bools, another float width or byte
        order); exactly ``header.nbytes`` payload bytes are read.
        """
        if out.size != header.count or not out.flags.c_contiguous:
            raise ValueError("out must be C-contiguous with header.count elements")
        direct = header.dtype == out.dtype and header.dtype.isnative
        if direct and (not header.fortran_order or len(header.shape) < 2):
            target = out
        else:
            target = np.empty(header.count, dtype=header.dtype)
        try:
            with self._zip.open(self._entries[name]) as stream:
                if len(stream.read(header.offset)) != header.offset:  # magic and header
                    raise EOFError("the entry ends inside its .npy header")
                _read_exactly(stream, memoryview(target.reshape(-1).view(np.uint8)), header.nbytes)
        except READ_ERRORS as exc:
            raise ArchiveError(
                f"entry {clip_name(name)} is corrupted or truncated ({_describe(exc)})"
            ) from None
        if target is not out:
            values = target.reshape(header.shape, order="F" if header.fortran_order else "C")
            out.reshape(header.shape)[...] = values  # a copy in C order, converted

    def read(self, name: str, header: Header, dtype) -> np.ndarray:
        """Entry ``name`` as a new C-contiguous array of ``dtype`` and ``header.shape``."""
        out = np.empty(header.shape, dtype=dtype)
        self.read_into(name, header, out)
        return out


def _read_exactly(stream, buf: memoryview, n: int) -> None:
    """Read ``n`` bytes of ``stream`` into ``buf``, a chunk at a time."""
    done = 0
    while done < n:
        data = stream.read(min(_CHUNK, n - done))
        if not data:
            raise EOFError(f"the data ends after {done} of {n} bytes")
        buf[done : done + len(data)] = data
        done += len(data)


def _describe(exc: BaseException) -> str:
    return clip(f"{type(exc).__name__}: {exc}", 200)
