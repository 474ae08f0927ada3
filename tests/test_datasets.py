"""The course's data: the regenerated flower and the cat HDF5 files, checked by fingerprints.

Expected values come from ../shared/data/README.md (the course's printed sanity values and
fingerprints of the published files), not from our own output.
"""

import builtins
import os
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastdnn import datasets


def test_planar_dataset_is_the_course_one():
    X, Y = datasets.load_planar_dataset()
    assert X.shape == (2, 400) and Y.shape == (1, 400) and Y.dtype == np.uint8
    assert int(Y.sum()) == 200
    assert_allclose(X[:, :3], [[1.20444229, 0.1587099, 0.0952472],
                               [3.57611415, -1.4821709, -1.27995533]],
                    rtol=0, atol=5e-8)  # printed to 7-8 decimals  # fmt: skip
    assert_allclose(X.sum(), 10.087983277441666, rtol=1e-13)


def cat_dir():
    for folder in (os.environ.get("FASTDNN_DATA"), "../shared/data",
                   Path(__file__).resolve().parents[2] / "shared" / "data"):  # fmt: skip
        if folder and (Path(folder) / "train_catvnoncat.h5").is_file():
            return Path(folder)
    pytest.skip("the course's cat data is not in $FASTDNN_DATA or ../shared/data")


def test_cat_dataset_fingerprints():
    pytest.importorskip("h5py")
    train_x, train_y, test_x, test_y, classes = datasets.load_cat_dataset(cat_dir())
    assert train_x.shape == (209, 64, 64, 3) and test_x.shape == (50, 64, 64, 3)
    assert train_y.shape == (1, 209) and test_y.shape == (1, 50)
    assert list(classes) == [b"non-cat", b"cat"]
    assert int(train_x.sum()) == 264_542_077 and int(test_x.sum()) == 65_969_547
    assert int(train_y.sum()) == 72 and int(test_y.sum()) == 33
    assert int(np.flatnonzero(train_y[0]).sum()) == 7635
    assert int(np.flatnonzero(test_y[0]).sum()) == 715
    flat = datasets.flatten_images(train_x)
    assert flat.shape == (12288, 209)
    # The course prints train_set_x_flatten[0:5, 0] == [17 31 56 22 33] (before / 255).
    assert_allclose(flat[0:5, 0] * 255, [17, 31, 56, 22, 33], rtol=1e-12)
    tx, ty, vx, vy = datasets.load_cat_data(cat_dir())
    assert tx.max() <= 1.0 and vx.shape == (12288, 50) and ty.dtype == np.float64


def test_missing_cat_files_say_where_to_put_them(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"train_catvnoncat\.h5 and test_catvnoncat\.h5.*FASTDNN_DATA"
    ):
        datasets.load_cat_dataset(tmp_path)


def test_missing_h5py_says_what_to_install(monkeypatch):
    folder = cat_dir()
    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("No module named h5py")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(ImportError, match=r"pip install 'fastdnn\[hdf5\]'"):
        datasets.load_cat_dataset(folder)


def test_flatten_rejects_a_vector():
    with pytest.raises(ValueError, match="x_orig must have examples on axis 0"):
        datasets.flatten_images(np.zeros(5))
