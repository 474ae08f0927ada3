"""Saving and loading models (fastdnn.io): round trips, atomic writes, damaged files, data files."""

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fastdnn import DNN, datafiles, initialize_parameters
from fastdnn import io as fio

DIMS = {"deep": [5, 4, 3, 1], "logistic": [5, 1]}


def _data(n_x=5, m=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n_x, m))
    Y = (X[:1] + 0.3 * X[1:2] > 0.65).astype(np.float64)
    return X, Y


def _trained(dims="deep", dtype="float64", **kw):
    X, Y = _data(DIMS[dims][0] if isinstance(dims, str) else dims[0])
    net = DNN(DIMS[dims] if isinstance(dims, str) else dims, dtype=dtype, seed=3, **kw)
    net.fit(X, Y, learning_rate=0.3, num_iterations=120, cost_every=40)
    return net, X


def _entries(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _meta(path):
    return json.loads(str(_entries(path)[fio.META_KEY]))


def _rewrite(path, entries=None, meta=None, drop=()):
    """Write a variant of a saved model: entries replaced, metadata edited, keys dropped."""
    new = _entries(path)
    if meta is not None:
        new[fio.META_KEY] = np.array(json.dumps(meta))
    new.update(entries or {})
    for key in drop:
        new.pop(key)
    out = Path(path).with_name("variant.npz")
    np.savez(out, **new)
    return out


@pytest.fixture
def saved(tmp_path):
    net, X = _trained()
    path = tmp_path / "model.npz"
    fio.save_model(net, path)
    return path, net, X


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dims", ["deep", "logistic"])
def test_round_trip_is_bitwise(tmp_path, dims, dtype):
    net, X = _trained(dims, dtype)
    path = tmp_path / "model.npz"
    assert fio.save_model(net, path) == path
    back = fio.load_model(path)
    assert back.dtype == net.dtype == dtype
    assert back._theta.tobytes() == net._theta.tobytes()
    for key, a in net.params.items():
        assert back.params[key].dtype == a.dtype
        np.testing.assert_array_equal(back.params[key], a)
    assert back.predict_proba(X).tobytes() == net.predict_proba(X).tobytes()
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    for attr in ("layer_dims", "hidden", "output", "slope", "init", "n_steps_", "seed", "loss"):
        assert getattr(back, attr) == getattr(net, attr), attr
    assert back.history_.costs == net.history_.costs
    assert back.history_.iterations == net.history_.iterations
    assert back.history_.n_steps == net.history_.n_steps == 120


def test_round_trip_keeps_activations_and_slope(tmp_path):
    X, _ = _data()
    net = DNN([5, 3, 1], hidden="leaky_relu", output="linear", slope=0.2, init="he", seed=1)
    net.fit(X, X[:1] * 2.0, learning_rate=0.05, num_iterations=30)
    net.save(tmp_path / "m.npz")
    back = DNN.load(tmp_path / "m.npz", backend="numpy")
    assert (back.hidden, back.output, back.slope, back.init, back.backend) == (
        "leaky_relu", "linear", 0.2, "he", "numpy")  # fmt: skip
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_untrained_model_has_no_history(tmp_path):
    net = DNN([3, 2, 1], seed=0)
    fio.save_model(net, tmp_path / "m.npz")
    assert "history" not in _meta(tmp_path / "m.npz")
    back = fio.load_model(tmp_path / "m.npz")
    assert back.history_ is None and back.n_steps_ == 0
    np.testing.assert_array_equal(back._theta, net._theta)


def test_loaded_model_trains_on(tmp_path, saved):
    path, net, X = saved
    back = fio.load_model(path)
    _, Y = _data()
    back.fit(X, Y, learning_rate=0.3, num_iterations=10, cost_every=5)
    assert back.n_steps_ == net.n_steps_ + 10


def test_format_is_documented_entries_only(saved):
    path, net, _ = saved
    entries = _entries(path)
    assert sorted(entries) == sorted([*net.params, fio.META_KEY])
    meta_array = entries[fio.META_KEY]
    assert meta_array.ndim == 0 and meta_array.dtype.kind == "U"  # never an object array
    meta = _meta(path)
    assert meta["format"] == "fastdnn.DNN" and meta["format_version"] == fio.FORMAT_VERSION
    assert meta["layer_dims"] == net.layer_dims and meta["dtype"] == "float64"
    assert set(meta) == {  # the documented keys of a trained model without names or scaling
        "format", "format_version", "fastdnn_version", "layer_dims", "hidden", "output",
        "slope", "dtype", "init", "n_steps", "seed", "history", "rng", "dropout_seed",
        "epochs",
    }  # fmt: skip


def test_metadata_as_uint8_bytes_loads(saved):
    path, net, _ = saved
    meta = json.dumps(_meta(path)).encode()
    variant = _rewrite(path, {fio.META_KEY: np.frombuffer(meta, dtype=np.uint8)})
    np.testing.assert_array_equal(fio.load_model(variant)._theta, net._theta)


def test_saves_to_exactly_the_given_name(tmp_path):
    net = DNN([3, 1], seed=0)
    fio.save_model(net, tmp_path / "model")  # np.savez would write model.npz
    assert sorted(os.listdir(tmp_path)) == ["model"]
    np.testing.assert_array_equal(fio.load_model(tmp_path / "model")._theta, net._theta)
    fio.save_model(net, str(tmp_path / "other.bin"))
    assert sorted(os.listdir(tmp_path)) == ["model", "other.bin"]


def test_save_replaces_an_existing_file(tmp_path):
    first, second = DNN([3, 2, 1], seed=0), DNN([3, 2, 1], seed=1)
    fio.save_model(first, tmp_path / "m.npz")
    fio.save_model(second, tmp_path / "m.npz")
    np.testing.assert_array_equal(fio.load_model(tmp_path / "m.npz")._theta, second._theta)
    assert os.listdir(tmp_path) == ["m.npz"]


def test_save_refuses_non_finite_parameters(tmp_path):
    net = DNN([3, 1], seed=0)
    net._theta[0] = np.nan
    with pytest.raises(ValueError, match="W1 holds non-finite"):
        fio.save_model(net, tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_save_names_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fio.save_model(DNN([3, 1]), tmp_path / "no" / "m.npz")
    with pytest.raises(TypeError, match="fastdnn.DNN"):
        fio.save_model({"W1": np.ones((1, 3))}, tmp_path / "m.npz")


# ----------------------------------------------------------------------------- atomic write
def _crash_mid_write(monkeypatch, exc):
    def partial_savez(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half a zip")  # something reached the disk, then the crash
        raise exc

    monkeypatch.setattr(np, "savez", partial_savez)


@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_crash_during_save_keeps_old_file(tmp_path, saved, monkeypatch, exc):
    path, net, X = saved
    before = path.read_bytes()
    _crash_mid_write(monkeypatch, exc)
    with pytest.raises(type(exc)):
        fio.save_model(DNN(net.layer_dims, seed=99), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind
    np.testing.assert_array_equal(fio.load_model(path).predict_proba(X), net.predict_proba(X))


def test_crash_before_rename_keeps_old_file(tmp_path, saved, monkeypatch):
    path, net, _ = saved
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError("simulated power cut before the rename")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="power cut"):
        fio.save_model(DNN(net.layer_dims, seed=99), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_crash_on_first_save_leaves_nothing(tmp_path, monkeypatch):
    _crash_mid_write(monkeypatch, RuntimeError("disk full"))
    with pytest.raises(RuntimeError):
        fio.save_model(DNN([3, 1]), tmp_path / "new.npz")
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- bad files
def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        fio.load_model(tmp_path / "nope.npz")


def _expect_bad(path, *fragments):
    with pytest.raises(ValueError) as info:
        fio.load_model(path)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_empty_file(tmp_path):
    (tmp_path / "m.npz").write_bytes(b"")
    _expect_bad(tmp_path / "m.npz", "empty")


def test_truncated_file(saved):
    path, _, _ = saved
    data = path.read_bytes()
    for keep in (len(data) // 2, len(data) - 30, 100):
        path.write_bytes(data[:keep])
        _expect_bad(path, "cannot load a fastdnn model")


def test_corrupted_bytes(saved):
    path, _, _ = saved
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("W1.npy")
    start = info.header_offset + 30 + len(info.filename) + 128  # inside W1's numbers
    data[start : start + 16] = bytes(16)
    path.write_bytes(bytes(data))
    _expect_bad(path, "'W1'", "corrupted")


def test_not_a_zip_file(tmp_path):
    (tmp_path / "m.npz").write_text("W1,b1\n1,2\n")
    _expect_bad(tmp_path / "m.npz", "not a .npz archive")


def test_single_npy_array(tmp_path):
    np.save(tmp_path / "m.npy", np.zeros((2, 2)))
    _expect_bad(tmp_path / "m.npy", "single .npy array")


def test_wrong_format_name(saved):
    path, _, _ = saved
    meta = _meta(path) | {"format": "keras"}
    _expect_bad(_rewrite(path, meta=meta), "format is 'keras'", "'fastdnn.DNN'")


def test_future_format_version(saved):
    path, _, _ = saved
    future = fio.FORMAT_VERSION + 1
    meta = _meta(path) | {"format_version": future, "fastdnn_version": "9.0"}
    msg = _expect_bad(
        _rewrite(path, meta=meta), f"format_version {future}", f"format_version {future - 1}"
    )
    assert "upgrade fastdnn" in msg and "9.0" in msg


def test_mismatched_shapes(saved):
    path, _, _ = saved
    _expect_bad(_rewrite(path, {"W2": np.zeros((2, 4))}), "W2 has shape (2, 4)", "(3, 4)")
    meta = _meta(path) | {"layer_dims": [5, 4, 2, 1]}
    _expect_bad(_rewrite(path, meta=meta), "W2 has shape (3, 4)", "(2, 4)")
    _expect_bad(_rewrite(path, {"b1": np.zeros(4)}), "b1 must be 2-D")


def test_missing_and_extra_keys(saved):
    path, _, _ = saved
    _expect_bad(_rewrite(path, drop=["b2"]), "missing", "'b2'")
    _expect_bad(_rewrite(path, drop=["W3", "b3"]), "layer_dims [5, 4, 3, 1] describe 3 layers")
    _expect_bad(_rewrite(path, {"notes": np.zeros(1)}), "unexpected entries ['notes']")
    meta = _meta(path)
    del meta["hidden"]
    _expect_bad(_rewrite(path, meta=meta), "missing ['hidden']")
    _expect_bad(_rewrite(path, meta=_meta(path) | {"colour": "red"}), "unknown metadata keys")


def test_bad_metadata_values(saved):
    path, _, _ = saved
    _expect_bad(_rewrite(path, meta=_meta(path) | {"hidden": "swish"}), "hidden", "'swish'")
    _expect_bad(_rewrite(path, meta=_meta(path) | {"output": "tanh"}), "output", "'tanh'")
    _expect_bad(_rewrite(path, meta=_meta(path) | {"dtype": "float16"}), "dtype", "float16")
    _expect_bad(_rewrite(path, meta=_meta(path) | {"n_steps": -1}), "n_steps")
    _expect_bad(_rewrite(path, {fio.META_KEY: np.array("{not json")}), "not valid JSON")
    _expect_bad(_rewrite(path, {fio.META_KEY: np.zeros(3)}), "0-d unicode")


def test_dtype_differs_from_the_recorded_one(saved):
    path, net, _ = saved
    W1 = np.asarray(net.params["W1"], dtype=np.float32)
    _expect_bad(_rewrite(path, {"W1": W1}), "W1 has dtype float32", "float64")


def test_non_finite_values(saved):
    path, net, _ = saved
    W2 = np.array(net.params["W2"])
    W2[1, 2] = np.inf
    _expect_bad(_rewrite(path, {"W2": W2}), "W2 holds a non-finite value", "(1, 2)")


def test_pickled_object_array_is_refused_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    evil = np.empty((1, 3), dtype=object)
    evil[0, 0] = Payload()
    np.savez(tmp_path / "evil.npz", W1=evil, b1=np.zeros((1, 1)))  # savez pickles object arrays
    _expect_bad(tmp_path / "evil.npz", "pickled", "'W1'")
    assert not marker.exists()


def test_a_data_file_is_not_a_model(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.ones((2, 3)), Y=np.ones((1, 3)))
    _expect_bad(tmp_path / "d.npz", "load_data")


# ----------------------------------------------------------------------------- course-style
def test_course_style_params_load(tmp_path):
    params = initialize_parameters([5, 4, 1], seed=0)
    np.savez(tmp_path / "params.npz", **params)
    X, _ = _data()
    net = fio.load_model(tmp_path / "params.npz")
    assert (net.hidden, net.output, net.layer_dims) == ("relu", "sigmoid", [5, 4, 1])
    np.testing.assert_array_equal(net.predict_proba(X), DNN.from_params(params).predict_proba(X))
    tanh = fio.load_model(tmp_path / "params.npz", hidden="tanh")
    assert tanh.hidden == "tanh"
    expected = DNN.from_params(params, hidden="tanh").predict_proba(X)
    np.testing.assert_array_equal(tanh.predict_proba(X), expected)


def test_course_style_float32_and_1d_bias(tmp_path):
    params = {"W1": np.ones((2, 3), np.float32), "b1": np.zeros(2, np.float32),
              "W2": np.ones((1, 2), np.float32), "b2": np.zeros(1, np.float32)}  # fmt: skip
    np.savez(tmp_path / "p.npz", **params)
    net = fio.load_model(tmp_path / "p.npz", output="linear")
    assert net.dtype == np.float32 and net.output == "linear"
    assert net.params["b1"].shape == (2, 1)


def test_course_style_missing_bias(tmp_path):
    np.savez(tmp_path / "p.npz", W1=np.ones((2, 3)), b1=np.zeros((2, 1)), W2=np.ones((1, 2)))
    _expect_bad(tmp_path / "p.npz", "missing", "'b2'")


def test_activation_keywords_must_agree_with_a_fastdnn_file(saved):
    path, _, _ = saved
    assert fio.load_model(path, hidden="relu").hidden == "relu"
    with pytest.raises(ValueError, match="hidden='tanh'.*saved with hidden='relu'"):
        fio.load_model(path, hidden="tanh")
    with pytest.raises(ValueError, match="backend"):
        fio.load_model(path, backend="gpu")


# ----------------------------------------------------------------------------- data files
def test_load_data_npz(tmp_path):
    X, Y = _data()
    np.savez(tmp_path / "d.npz", X=X, Y=Y)
    X2, Y2 = datafiles.load_data(tmp_path / "d.npz")
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(Y2, Y)
    np.savez(tmp_path / "lower.npz", x=X, y=Y[0])  # lowercase, 1-D labels
    X3, Y3 = datafiles.load_data(tmp_path / "lower.npz")
    assert X3.shape == (5, 60) and Y3.shape == (1, 60)


def test_load_data_npz_errors(tmp_path):
    X, Y = _data()
    np.savez(tmp_path / "d.npz", inputs=X, Y=Y)
    with pytest.raises(ValueError, match=r"no array X or x.*\['Y', 'inputs'\]"):
        datafiles.load_data(tmp_path / "d.npz")
    np.savez(tmp_path / "t.npz", X=X, Y=Y.T)
    with pytest.raises(ValueError, match=r"Y has shape \(60, 1\).*did you store Y.T"):
        datafiles.load_data(tmp_path / "t.npz")
    np.savez(tmp_path / "u.npz", X=X)
    with pytest.raises(ValueError, match="no labels"):
        datafiles.load_data(tmp_path / "u.npz")
    assert datafiles.load_data(tmp_path / "u.npz", require_labels=False)[1] is None
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        datafiles.load_data(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="unsupported type '.txt'"):
        datafiles.load_data(tmp_path / "d.txt")


def _write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_load_data_csv(tmp_path):
    path = _write_csv(tmp_path / "d.csv", ["a", "y", "b"], [[1, 0, 2.5], [3, 1, 4], [5, 1, 6]])
    X, Y = datafiles.load_data(path)  # label: the last column
    np.testing.assert_array_equal(X, [[1, 3, 5], [0, 1, 1]])
    np.testing.assert_array_equal(Y, [[2.5, 4, 6]])
    X, Y = datafiles.load_data(path, label="y")
    np.testing.assert_array_equal(X, [[1, 3, 5], [2.5, 4, 6]])
    np.testing.assert_array_equal(Y, [[0, 1, 1]])
    X, Y = datafiles.load_data(path, n_x=3, require_labels=False)  # as many columns as features
    assert X.shape == (3, 3) and Y is None


def test_load_data_csv_errors(tmp_path):
    path = _write_csv(tmp_path / "d.csv", ["a", "b", "y"], [[1, 2, 0], [3, "oops", 1]])
    with pytest.raises(ValueError, match=r"d.csv': line 3, column 'b': cannot read 'oops'"):
        datafiles.load_data(path)
    path = _write_csv(tmp_path / "e.csv", ["a", "b", "y"], [[1, 2, 0], [3, "", 1]])
    with pytest.raises(ValueError, match="line 3, column 'b': empty cell"):
        datafiles.load_data(path)
    path = _write_csv(tmp_path / "f.csv", ["a", "b", "y"], [[1, 2, 0], [3, 1]])
    with pytest.raises(ValueError, match="line 3 has 2 cells but the header has 3"):
        datafiles.load_data(path)
    for odd in ("1_000", "\u0661\u0662"):  # what Python's float() reads, a CSV does not hold
        path = _write_csv(tmp_path / "u.csv", ["a", "b", "y"], [[1, 2, 0], [3, odd, 1]])
        with pytest.raises(ValueError, match=r"line 3, column 'b': cannot read"):
            datafiles.load_data(path)
    # more cells than the header (an unquoted comma in a cell): refused, not read shifted
    path = _write_csv(tmp_path / "f2.csv", ["a", "b", "y"], [[1, 2, 0], [3, 4, 1, 0]])
    with pytest.raises(ValueError, match="line 3 has 4 cells but the header has 3"):
        datafiles.load_data(path)
    path = _write_csv(tmp_path / "g.csv", ["a", "b", "y"], [[1, 2, 0], [3, "nan", 1]])
    with pytest.raises(ValueError, match="line 3, column 'b': nan is not a finite"):
        datafiles.load_data(path)
    # NumPy's parser skips blank lines: the line is counted in the file, not in the rows
    (tmp_path / "g2.csv").write_text("a,b,y\n1,2,0\n\n3,inf,1\n")
    with pytest.raises(ValueError, match="line 4, column 'b': inf is not a finite"):
        datafiles.load_data(tmp_path / "g2.csv")
    with pytest.raises(ValueError, match="unknown label column 'z'; the columns are: a, b, y"):
        datafiles.load_data(tmp_path / "d.csv", label="z")
    path = _write_csv(tmp_path / "h.csv", ["1", "2", "0"], [[3, 4, 1]])
    with pytest.raises(ValueError, match="must be a header"):
        datafiles.load_data(path)
    path = _write_csv(tmp_path / "i.csv", ["a", "y"], [])
    with pytest.raises(ValueError, match="no examples"):
        datafiles.load_data(path)


def _data_dir():
    """$FASTDNN_DATA, /work/shared/data, or ../shared/data beside the repository root."""
    candidates = [Path(os.environ["FASTDNN_DATA"])] if os.environ.get("FASTDNN_DATA") else []
    candidates += [Path("/work/shared/data"), Path(__file__).resolve().parents[2] / "shared/data"]
    for folder in candidates:
        if all((folder / name).is_file() for name in ("train_catvnoncat.h5", "test_catvnoncat.h5")):
            return folder
    return None


@pytest.mark.skipif(_data_dir() is None, reason="the course's cat .h5 files are not available")
def test_load_data_cat_h5():
    from fastdnn.datasets import load_cat_data

    folder = _data_dir()
    train_x, train_y, test_x, test_y = load_cat_data(folder)
    X, Y = datafiles.load_data(folder / "train_catvnoncat.h5")
    np.testing.assert_array_equal(X, train_x)
    np.testing.assert_array_equal(Y, train_y)
    X, Y = datafiles.load_data(folder / "test_catvnoncat.h5")
    assert X.shape == (12288, 50) and Y.shape == (1, 50)
    np.testing.assert_array_equal(X, test_x)
