"""Data files as untrusted input: fastdnn.datafiles.

Hostile files are loaded in a subprocess with a memory cap (RLIMIT_AS: the interpreter's
address space plus a margin) and a timeout, so a regression fails the test instead of blocking
or exhausting the machine.
"""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fastdnn import datafiles

h5py = pytest.importorskip("h5py")

REPO = Path(__file__).resolve().parents[1]
POSIX_PROC = sys.platform.startswith("linux")

# Loads argv[1] with load_data under RLIMIT_AS = (address space after imports) + argv[2] bytes,
# and prints "OK <shape>" or "ValueError: <message>"; anything else is a traceback.
LOADER = r"""
import resource, sys
import h5py
from fastdnn import datafiles
status = open("/proc/self/status").read()
vm = int(status.split("VmSize:")[1].split()[0]) * 1024
cap = vm + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
try:
    X, Y = datafiles.load_data(sys.argv[1], require_labels=False)
    print("OK", X.shape)
except ValueError as exc:
    print("ValueError:", exc)
"""


def _load_capped(path, headroom=512 * 2**20, timeout=60):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-c", LOADER, str(path), str(headroom)],
                            capture_output=True, text=True, timeout=timeout, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def _refused(path, *fragments, **kwargs):
    out = _load_capped(path, **kwargs)
    assert out.startswith("ValueError: data file '"), out
    for fragment in fragments:
        assert fragment in out, out


needs_proc = pytest.mark.skipif(not POSIX_PROC, reason="RLIMIT_AS and /proc: Linux only")


def _xy(n_x=3, m=5):
    X = np.arange(n_x * m, dtype=np.float64).reshape(n_x, m)
    return X, (np.arange(m) % 2).astype(np.float64).reshape(1, m)


# ----------------------------------------------------------------------------- file types
@needs_proc
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "x.csv")  # no writer: reading it would block forever
    _refused(tmp_path / "x.csv", "is a FIFO", "not a regular file")


@needs_proc
@pytest.mark.parametrize("suffix", [".csv", ".npz", ".h5"])
def test_a_symlink_to_dev_zero_is_refused(tmp_path, suffix):
    (tmp_path / f"x{suffix}").symlink_to("/dev/zero")
    _refused(tmp_path / f"x{suffix}", "character device", "'/dev/zero'", headroom=256 * 2**20)


def test_a_symlink_to_a_regular_file_is_read(tmp_path):
    X, Y = _xy()
    np.savez(tmp_path / "real.npz", X=X, Y=Y)
    (tmp_path / "link.npz").symlink_to(tmp_path / "real.npz")
    X2, Y2 = datafiles.load_data(tmp_path / "link.npz")
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(Y2, Y)


def test_a_folder_is_refused(tmp_path):
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        datafiles.load_data(tmp_path / "d.csv")


# ----------------------------------------------------------------------------- CSV bounds
@needs_proc
def test_a_csv_without_newlines_is_refused_after_one_line(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "wb") as f:
        f.truncate(2 * 2**30)  # 2 GiB of NUL bytes, sparse: no disk used, no newline
    _refused(path, "line 1 (the header row) is longer than 16,777,216 bytes",
             headroom=256 * 2**20)  # fmt: skip


def test_a_header_name_with_a_line_break_is_named(tmp_path):
    # '"a<newline>b",c,y' read as one column 'a': "only one column ('a')"
    path = tmp_path / "h.csv"
    path.write_text('"a\nb",c,y\n1,2,0\n')
    with pytest.raises(ValueError, match="unexpected end of data.*none with a line break"):
        datafiles.load_data(path)


def test_a_header_over_the_csv_field_limit_is_a_value_error(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("a" * 140_000 + ",y\n1,0\n")  # csv's field limit is 131,072 characters
    with pytest.raises(ValueError, match="h.csv': the header row cannot be read as CSV"):
        datafiles.load_data(path)


def test_a_long_data_line_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(datafiles, "MAX_LINE_BYTES", 20)
    monkeypatch.setattr(datafiles, "_SCAN_CHUNK", 7)  # lines straddle the chunks
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n" + "5," * 12 + "6\n7,8,1\n")
    with pytest.raises(ValueError, match="d.csv': line 4 is longer than 20 bytes"):
        datafiles.load_data(path)
    path.write_text("a,b,y\n1,2,0\n3,4,1\n" + "1" * 20 + ",2,0")  # 24 bytes, no final newline
    with pytest.raises(ValueError, match="line 4 is longer than 20 bytes"):
        datafiles.load_data(path)


def test_line_count_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(datafiles, "_SCAN_CHUNK", 3)
    for text, lines in (("", 0), ("a\n", 1), ("a\nbb", 2), ("ab\ncd\n\nef\n", 4), ("abc", 1)):
        (tmp_path / "t.csv").write_text(text)
        with open(tmp_path / "t.csv", "rb") as f:
            assert datafiles._scan_lines(tmp_path / "t.csv", f) == lines, text


def test_duplicate_and_empty_column_names_are_refused(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,a,y\n1,2,3,0\n")
    with pytest.raises(ValueError, match=r"'a' appears twice in the header \(columns 1 and 3\)"):
        datafiles.load_data(tmp_path / "d.csv")
    (tmp_path / "e.csv").write_text(",a,y\n0,1,0\n")  # e.g. an unnamed index column
    with pytest.raises(ValueError, match="column 1 of the header has no name"):
        datafiles.load_data(tmp_path / "e.csv")


# ----------------------------------------------------------------------------- CSV names
def _csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_names_are_returned(tmp_path):
    path = _csv(tmp_path / "d.csv", ["a", "y", "b"], [[1, 0, 2], [3, 1, 4]])
    data = datafiles.read_data(path, label="y")
    assert data.feature_names == ["a", "b"] and data.label_names == ["y"]
    np.testing.assert_array_equal(data.X, [[1, 3], [2, 4]])
    np.testing.assert_array_equal(data.Y, [[0, 1]])
    X, Y = _xy()
    np.savez(tmp_path / "d.npz", X=X, Y=Y)
    data = datafiles.read_data(tmp_path / "d.npz")
    assert data.feature_names is None and data.label_names is None


def test_feature_names_select_columns_by_name(tmp_path):
    path = _csv(tmp_path / "d.csv", ["c", "y", "a", "id", "b"],
                [[3, 1, 1, "x-17", 2], [6, 0, 4, "x-18", 5]])  # fmt: skip
    data = datafiles.read_data(path, feature_names=["a", "b", "c"], label_names=["y"])
    np.testing.assert_array_equal(data.X, [[1, 4], [2, 5], [3, 6]])  # in the model's order
    np.testing.assert_array_equal(data.Y, [[1, 0]])
    assert data.feature_names == ["a", "b", "c"] and data.label_names == ["y"]
    # other columns are not read: text there is fine; a bad cell in a used one is named
    path = _csv(tmp_path / "bad.csv", ["a", "b", "c", "y"], [[1, 2, "oops", 1]])
    with pytest.raises(ValueError, match="line 2, column 'c': cannot read 'oops'"):
        datafiles.read_data(path, feature_names=["a", "b", "c"], label_names=["y"])
    # no label column: unlabeled, whatever the number of columns
    path = _csv(tmp_path / "new.csv", ["b", "a", "c", "id"], [[2, 1, 3, 7]])
    data = datafiles.read_data(path, feature_names=["a", "b", "c"], label_names=["y"],
                               require_labels=False)  # fmt: skip
    np.testing.assert_array_equal(data.X, [[1], [2], [3]])
    assert data.Y is None


def test_a_missing_feature_column_is_named(tmp_path):
    # The issue: one feature column fewer than the model; by position, the label became a feature.
    path = _csv(tmp_path / "d.csv", ["a", "b", "y"], [[1, 2, 0]])
    with pytest.raises(ValueError, match=r"d.csv': no column 'c', a feature the model was "
                       r"trained on; the columns are: a, b, y"):  # fmt: skip
        datafiles.read_data(path, n_x=3, feature_names=["a", "b", "c"], label_names=["y"],
                            require_labels=False)  # fmt: skip
    with pytest.raises(ValueError, match="label column 'a' is one of the model's features"):
        datafiles.read_data(path, "a", feature_names=["a", "b"])


# ----------------------------------------------------------------------------- HDF5
def _h5(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f[name] = value
    return path


@needs_proc
def test_hdf5_external_storage_on_dev_zero_is_refused(tmp_path):
    # The issue: a few-KB file whose X lives in /dev/zero loaded 3.2 GB.
    path = tmp_path / "ext.h5"
    with h5py.File(path, "w") as f:
        n = 100_000_000
        f.create_dataset("X", shape=(4, n), dtype="f8", external=[("/dev/zero", 0, 4 * n * 8)])
        f.create_dataset("Y", shape=(1, n), dtype="f8", external=[("/dev/zero", 0, n * 8)])
    assert path.stat().st_size < 10_000
    _refused(path, "dataset 'X' uses external storage", "'/dev/zero'")


@needs_proc
def test_hdf5_external_storage_in_a_local_file_is_refused(tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(10, dtype=np.float64).tobytes())
    path = tmp_path / "ext.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("X", shape=(2, 5), dtype="f8", external=[(str(secret), 0, 80)])
    _refused(path, "dataset 'X' uses external storage", str(secret))


@needs_proc
def test_hdf5_external_link_is_refused(tmp_path):
    X, Y = _xy()
    _h5(tmp_path / "other.h5", X=X, Y=Y)
    with h5py.File(tmp_path / "link.h5", "w") as f:
        f["X"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/X")
        f["Y"] = Y
    _refused(tmp_path / "link.h5", "'X' is an external link", "other.h5")


@needs_proc
def test_hdf5_soft_link_is_refused(tmp_path):
    X, Y = _xy()
    with h5py.File(tmp_path / "soft.h5", "w") as f:
        f["data/X"] = X
        f["X"] = h5py.SoftLink("/data/X")
        f["Y"] = Y
    _refused(tmp_path / "soft.h5", "'X' is a SoftLink; only hard links are followed")


@needs_proc
def test_hdf5_virtual_dataset_is_refused(tmp_path):
    X, Y = _xy()
    _h5(tmp_path / "src.h5", X=X)
    layout = h5py.VirtualLayout(shape=X.shape, dtype="f8")
    layout[:] = h5py.VirtualSource(str(tmp_path / "src.h5"), "X", shape=X.shape)
    with h5py.File(tmp_path / "vds.h5", "w") as f:
        f.create_virtual_dataset("X", layout)
        f["Y"] = Y
    _refused(tmp_path / "vds.h5", "dataset 'X' is a virtual dataset")


@needs_proc
def test_hdf5_declared_size_is_checked_before_reading(tmp_path):
    path = tmp_path / "huge.h5"
    with h5py.File(path, "w") as f:  # 8 TiB declared, no chunk written: a tiny file
        f.create_dataset("X", shape=(4, 2**38), dtype="f8", chunks=(4, 1024))
        f.create_dataset("Y", shape=(1, 2**38), dtype="f8", chunks=(1, 1024))
    _refused(path, "would need", "TiB of memory but only", headroom=256 * 2**20)


def test_hdf5_plain_datasets_still_load(tmp_path):
    X, Y = _xy()
    X2, Y2 = datafiles.load_data(_h5(tmp_path / "d.h5", X=X, Y=Y))
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(Y2, Y)


# ----------------------------------------------------------------------------- npz
def _npy_member(zf, name, shape, data: bytes, descr="<f8"):
    with zf.open(name, "w", force_zip64=True) as m:
        header = {"descr": descr, "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(m, header)
        m.write(data)


@needs_proc
def test_npz_declared_shape_must_match_the_entry_size(tmp_path):
    path = tmp_path / "lie.npz"
    with zipfile.ZipFile(path, "w") as zf:  # claims 32 GB of X, holds 80 bytes
        _npy_member(zf, "X.npy", (4, 10**9), bytes(80))
    _refused(path, "entry 'X' declares shape (4, 1000000000) of float64",
             "but the zip directory gives it 80 bytes of data",
             headroom=256 * 2**20)  # fmt: skip


@needs_proc
def test_npz_compressed_beyond_memory_is_refused(tmp_path):
    path = tmp_path / "bomb.npz"  # 128 MiB of zeros in about 150 KB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("X.npy", "w", force_zip64=True) as m:
            header = {"descr": "<f8", "fortran_order": False, "shape": (4, 2**22)}
            np.lib.format.write_array_header_1_0(m, header)
            zeros = bytes(2**24)
            for _ in range(8):
                m.write(zeros)
    assert path.stat().st_size < 2**20
    _refused(path, "the arrays X would need 128.0 MiB of memory", headroom=64 * 2**20)


def test_npz_object_array_is_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    evil = np.empty((1, 3), dtype=object)
    evil[0, 0] = Payload()
    np.savez(tmp_path / "evil.npz", X=evil, Y=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="'X' holds pickled Python objects"):
        datafiles.load_data(tmp_path / "evil.npz")
    assert not marker.exists()


def test_npz_entries_with_other_dtypes_are_refused_from_the_header(tmp_path):
    np.savez(tmp_path / "s.npz", X=np.array([["a", "b"]]), Y=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="entry 'X' has dtype <U1; real numbers needed"):
        datafiles.load_data(tmp_path / "s.npz")


def test_available_memory_is_a_positive_number_of_bytes():
    available = datafiles.available_memory()
    assert available is None or (isinstance(available, int) and available > 0)


def test_course_style_image_labels_are_one_per_image(tmp_path):
    # A (2, 5) label set for 10 images was flattened into 10 labels without a word.
    images = np.random.default_rng(0).integers(0, 256, (10, 2, 2, 3), dtype=np.uint8)
    labels = np.arange(10) % 2
    for shape, ok in (((10,), True), ((1, 10), True), ((10, 1), True), ((2, 5), False)):
        path = tmp_path / f"cats{len(shape)}{shape[0]}.h5"
        with h5py.File(path, "w") as f:
            f["train_set_x"] = images
            f["train_set_y"] = labels.reshape(shape)
        if ok:
            X, Y = datafiles.load_data(path)
            assert X.shape == (12, 10) and np.array_equal(Y, labels.reshape(1, 10))
        else:
            with pytest.raises(ValueError, match=r"train_set_y must hold one label per image"):
                datafiles.load_data(path)
