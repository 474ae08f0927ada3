"""Hostile model files: loading costs what the file declares, and every error is a ValueError.

The bombs are loaded in a subprocess whose address space is capped at its size after
``import fastdnn`` plus 512 MiB, with a timeout: a loader that reads a payload it should have
refused hits the cap (a MemoryError traceback) or the timeout, and the test fails instead of
taking the machine down. Each bomb expands to 1 GiB.
"""

import base64
import functools
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest

from fastdnn import DNN
from fastdnn import io as fio

linux_only = pytest.mark.skipif(
    sys.platform != "linux", reason="the memory cap uses /proc and RLIMIT_AS"
)

GIB = 1 << 30
HEADROOM = 512 << 20

_LOADER = """
import json, resource, sys
from fastdnn import datafiles, io as fio

def address_space():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

cap = address_space() + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
try:
    (fio.load_model if sys.argv[3] == "model" else datafiles.read_data)(sys.argv[1])
except ValueError as exc:
    print(json.dumps({"error": "ValueError", "message": str(exc)}))
else:
    print(json.dumps({"error": None}))
"""


def _load_capped(path, timeout=60, kind="model"):
    """Load ``path`` (a model, or with ``kind="data"`` a data file) in a capped subprocess;
    return its ValueError message (or fail)."""
    proc = subprocess.run(
        [sys.executable, "-c", _LOADER, str(path), str(HEADROOM), kind],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["error"] == "ValueError", result
    assert str(path) in result["message"]
    assert len(result["message"]) < 1500, len(result["message"])
    return result["message"]


# ----------------------------------------------------------------------------- building files
def _npy_header(shape, descr="<f8", version=(1, 0)):
    buf = io.BytesIO()
    d = {"descr": descr, "fortran_order": False, "shape": shape}
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(buf, d)
    else:
        np.lib.format.write_array_header_2_0(buf, d)
    return buf.getvalue()


def _npy(a):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(a), allow_pickle=False)
    return buf.getvalue()


@functools.lru_cache
def _zeros_crc(prefix: bytes, mib: int) -> int:
    crc, block = zlib.crc32(prefix), bytes(1 << 20)
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    return crc


def _deflate_bomb(prefix: bytes, mib: int):
    """``prefix`` + ``mib`` MiB of zeros as one raw deflate stream, in about 1 KB per MiB.

    After a full flush the compressor starts afresh, so every MiB of zeros compresses to the
    same bytes: they are computed once and repeated.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    return head + block * mib + c.flush(zlib.Z_FINISH), len(prefix) + (mib << 20)


# 1 GiB of zeros after a (2**27, 1) float64 .npy header, in one 892-byte bzip2 stream.
_BZIP2_BOMB = base64.b64decode(
    open(os.path.join(os.path.dirname(__file__), "data", "bzip2_bomb.b64")).read()
)


def _raw_zip(path, entries):
    """Write a zip by hand: ``entries`` = (name, data as stored, method, crc, size[, csize]).

    ``csize`` (default ``len(data)``) is the compressed size the headers declare.
    """
    out, central = bytearray(), bytearray()
    for name, data, method, crc, size, *declared in entries:
        fname = name.encode()
        offset = len(out)
        csize = declared[0] if declared else len(data)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc,
                           csize, size, len(fname), 0) + fname + data  # fmt: skip
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc,
                               csize, size, len(fname), 0, 0, 0, 0, 0, offset) + fname  # fmt: skip
    cd_offset = len(out)
    out += central
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                       len(central), cd_offset, 0)  # fmt: skip
    path.write_bytes(bytes(out))
    return path


def _stored(name, data):
    return (name, data, zipfile.ZIP_STORED, zlib.crc32(data), len(data))


@pytest.fixture
def model_entries(tmp_path):
    """The entries of a small valid model file ([5, 4, 3, 1]), as name -> .npy bytes."""
    net = DNN([5, 4, 3, 1], seed=0)
    net.save(tmp_path / "good.npz")
    with zipfile.ZipFile(tmp_path / "good.npz") as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def _with(model_entries, replaced: dict, extra=()):
    """Stored entries of the good model, some replaced by (name, data, method, crc, size)."""
    entries = [replaced.get(n) or _stored(n, d) for n, d in model_entries.items()]
    return entries + list(extra)


# ----------------------------------------------------------------------------- the bombs
@linux_only
def test_deflate_bomb_with_a_wrong_shape_is_refused_from_its_header(tmp_path, model_entries):
    header = _npy_header((2**27, 1))  # 1 GiB of float64, where layer_dims say (4, 5)
    data, size = _deflate_bomb(header, 1024)
    assert len(data) < 2 << 20
    bomb = ("W1.npy", data, zipfile.ZIP_DEFLATED, _zeros_crc(header, 1024), size)
    path = _raw_zip(tmp_path / "m.npz", _with(model_entries, {"W1.npy": bomb}))
    message = _load_capped(path)
    assert "W1 has shape (134217728, 1) but layer_dims [5, 4, 3, 1] require (4, 5)" in message


@linux_only
def test_deflate_bomb_behind_a_right_header_is_refused_from_the_directory(tmp_path, model_entries):
    header = _npy_header((4, 5))  # right shape, but the entry declares 1 GiB more
    data, size = _deflate_bomb(header, 1024)
    bomb = ("W1.npy", data, zipfile.ZIP_DEFLATED, _zeros_crc(header, 1024), size)
    path = _raw_zip(tmp_path / "m.npz", _with(model_entries, {"W1.npy": bomb}))
    message = _load_capped(path)
    assert "entry 'W1' declares shape (4, 5) of float64 (160 bytes)" in message
    assert f"gives it {size - len(header)} bytes" in message


@linux_only
def test_bzip2_bomb_is_refused_from_the_directory(tmp_path, model_entries):
    size = len(_npy_header((2**27, 1))) + GIB
    crc = _zeros_crc(_npy_header((2**27, 1)), 1024)
    bomb = ("W1.npy", _BZIP2_BOMB, zipfile.ZIP_BZIP2, crc, size)
    path = _raw_zip(tmp_path / "m.npz", _with(model_entries, {"W1.npy": bomb}))
    message = _load_capped(path)
    assert "entry 'W1.npy' is compressed with bzip2" in message


@linux_only
def test_header_claiming_1e10_elements_is_refused(tmp_path):
    # A course-style file (no metadata): only the headers and the directory can tell.
    fake = _npy_header((100_000, 100_000))  # 80 GB of float64, in a few hundred bytes
    entries = [
        (
            "W1.npy",
            fake + bytes(64),
            zipfile.ZIP_STORED,
            zlib.crc32(fake + bytes(64)),
            len(fake) + 64,
        ),  # fmt: skip
        _stored("b1.npy", _npy(np.zeros((100_000, 1)))[:200]),
    ]
    path = _raw_zip(tmp_path / "m.npz", entries)
    message = _load_capped(path)
    assert "declares shape (100000, 100000) of float64 (80000000000 bytes)" in message


@linux_only
def test_npy_header_length_bomb_is_refused(tmp_path, model_entries):
    # A version-2 .npy header whose length field says 1 GiB (numpy reads it all, then checks).
    prefix = b"\x93NUMPY\x02\x00" + struct.pack("<I", GIB)
    data, size = _deflate_bomb(prefix, 1024)
    bomb = ("W1.npy", data, zipfile.ZIP_DEFLATED, _zeros_crc(prefix, 1024), size)
    path = _raw_zip(tmp_path / "m.npz", _with(model_entries, {"W1.npy": bomb}))
    message = _load_capped(path)
    assert "entry 'W1' has a damaged or oversized .npy header" in message


@linux_only
def test_data_files_are_read_as_model_files_are(tmp_path):
    """A data npz (fastdnn train --data) went through numpy's header reader and zipfile's
    bzip2 without a bound: a 1 MB file cost 2.2 GB before it was refused."""
    y = _stored("Y.npy", _npy(np.zeros((1, 5))))
    prefix = b"\x93NUMPY\x02\x00" + struct.pack("<I", GIB)
    data, size = _deflate_bomb(prefix, 1024)
    header_bomb = ("X.npy", data, zipfile.ZIP_DEFLATED, _zeros_crc(prefix, 1024), size)
    size = len(_npy_header((2**27, 1))) + GIB
    crc = _zeros_crc(_npy_header((2**27, 1)), 1024)
    bzip2_bomb = ("X.npy", _BZIP2_BOMB, zipfile.ZIP_BZIP2, crc, size)
    for bomb, message in [
        (header_bomb, "entry 'X' has a damaged or oversized .npy header"),
        (bzip2_bomb, "entry 'X.npy' is compressed with bzip2"),
    ]:
        path = _raw_zip(tmp_path / "d.npz", [bomb, y])
        assert message in _load_capped(path, kind="data")


@linux_only
def test_metadata_bomb_is_refused_from_the_directory(tmp_path, model_entries):
    header = _npy_header((), descr=f"<U{GIB // 4}")  # a 1 GiB string of metadata
    data, size = _deflate_bomb(header, 1024)
    bomb = ("__fastdnn__.npy", data, zipfile.ZIP_DEFLATED, _zeros_crc(header, 1024), size)
    path = _raw_zip(tmp_path / "m.npz", _with(model_entries, {"__fastdnn__.npy": bomb}))
    message = _load_capped(path)
    assert f"'__fastdnn__' holds {size} bytes" in message


@linux_only
def test_a_billion_layers_in_a_name_is_refused_at_once(tmp_path, model_entries):
    tiny = _stored("W999999999.npy", _npy(np.zeros((1, 1))))
    path = _raw_zip(tmp_path / "m.npz", _with(model_entries, {}, [tiny]))
    assert path.stat().st_size < 4000
    message = _load_capped(path, timeout=30)
    assert "entry 'W999999999' is for layer 999999999" in message
    assert "at most 1000 layers" in message


def test_error_messages_stay_short(tmp_path, model_entries):
    cases = {
        "W1000000.npy": "is for layer 1000000",  # the old message listed 2 million names
        "x" * 60_000 + ".npy": "unexpected entries",
        "W" + "9" * 5000 + ".npy": "unexpected entries",
    }
    for name, fragment in cases.items():
        extra = _stored(name, _npy(np.zeros((1, 1))))
        path = _raw_zip(tmp_path / "m.npz", _with(model_entries, {}, [extra]))
        with pytest.raises(ValueError) as info:
            fio.load_model(path)
        assert fragment in str(info.value) and len(str(info.value)) < 1000, str(info.value)[:300]


# ----------------------------------------------------------------------------- the directory
def test_too_many_entries(tmp_path):
    # 1100 complete layers of 1 x 1: a valid course-style network, but over the cap
    entries = []
    for l in range(1, 1101):
        entries += [_stored(f"W{l}.npy", _npy(np.ones((1, 1)))),
                    _stored(f"b{l}.npy", _npy(np.zeros((1, 1))))]  # fmt: skip
    path = _raw_zip(tmp_path / "m.npz", entries)
    # the limit: W and b of MAX_LAYERS layers, the metadata, and the named state arrays
    with pytest.raises(ValueError, match=f"holds 2200 entries; at most {fio.MAX_ENTRIES} expected"):
        fio.load_model(path)


def test_duplicate_entry_names(tmp_path, model_entries):
    other = _stored("W2.npy", _npy(np.ones((3, 4))))
    path = _raw_zip(tmp_path / "m.npz", _with(model_entries, {}, [other]))
    with pytest.raises(ValueError, match="entry 'W2.npy' appears twice"):
        fio.load_model(path)


def test_entry_that_is_not_npy(tmp_path, model_entries):
    path = _raw_zip(tmp_path / "m.npz", _with(model_entries, {}, [_stored("notes.txt", b"hi")]))
    with pytest.raises(ValueError, match="entry 'notes.txt' is not a .npy array"):
        fio.load_model(path)


def test_entry_past_the_end_of_the_file(tmp_path, model_entries):
    # The directory says W1 holds 1 MB of stored data; the whole file is a few KB.
    W1 = model_entries["W1.npy"]
    fake = ("W1.npy", W1, zipfile.ZIP_STORED, zlib.crc32(W1), 1 << 20, 1 << 20)
    path = _raw_zip(tmp_path / "m.npz", _with(model_entries, {"W1.npy": fake}))
    with pytest.raises(ValueError, match="entry 'W1.npy' ends past the end of the file"):
        fio.load_model(path)


def test_deflate_entry_declaring_more_than_deflate_can_produce(tmp_path, model_entries):
    header = _npy_header((4, 5))
    data = zlib.compress(header + bytes(160))[2:-4]  # raw deflate, about 60 bytes
    crc = zlib.crc32(header + bytes(160))
    forged = ("W1.npy", data, zipfile.ZIP_DEFLATED, crc, GIB)  # the directory claims 1 GiB
    path = _raw_zip(tmp_path / "m.npz", _with(model_entries, {"W1.npy": forged}))
    with pytest.raises(ValueError, match="more than deflate can produce"):
        fio.load_model(path)


@linux_only
def test_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    message = _load_capped(fifo, timeout=30)  # np.load would block on it forever
    assert "it is a FIFO (named pipe), not a regular file" in message
