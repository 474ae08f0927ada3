"""DNN's feature/label names and input standardisation, and their place in the model file."""

import json

import numpy as np
import pytest

from fastdnn import DNN
from fastdnn import io as fio


def _data(n_x=4, m=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(50.0, 20.0, (n_x, m))  # far from standardised on purpose
    Y = (X[:1] + 0.5 * X[1:2] > 75.0).astype(np.float64)
    return X, Y


# ----------------------------------------------------------------------------- names
def test_a_softmax_may_name_its_one_column_of_class_indices(tmp_path):
    net = DNN([3, 4], output="softmax", seed=0)
    net.label_names = ["cls"]
    assert net.label_names == ["cls"]
    net.label_names = ["a", "b", "c", "d"]  # one per output, as for any output
    with pytest.raises(ValueError, match=r"4 names; got 2 \(or one: the column of class"):
        net.label_names = ["a", "b"]
    net.label_names = ["cls"]
    fio.save_model(net, tmp_path / "m.npz")
    assert DNN.load(tmp_path / "m.npz").label_names == ["cls"]
    with pytest.raises(ValueError, match="does not fit label_names"):
        net.output = "sigmoid"  # one name for four independent outputs
    assert net.output == "softmax"
    net.output = "softmax"  # no change: fine
    multi = DNN([3, 4], seed=0)  # sigmoid: one name per output only
    with pytest.raises(ValueError, match=r"4 names; got 1$"):
        multi.label_names = ["cls"]


def test_names_are_kept_as_lists_and_validated():
    net = DNN([3, 2, 1], seed=0)
    assert net.feature_names is None and net.label_names is None
    net.feature_names = ("a", "b", np.str_("c"))
    net.label_names = ["y"]
    assert net.feature_names == ["a", "b", "c"] and net.label_names == ["y"]
    net.feature_names.append("d")  # a copy: the model's names cannot be changed unchecked
    assert net.feature_names == ["a", "b", "c"]
    net.feature_names = None
    assert net.feature_names is None


@pytest.mark.parametrize(
    "names, error, fragment",
    [
        ("abc", TypeError, "list of str, one per input (3)"),
        (["a", "b"], ValueError, "3 names; got 2"),
        (["a", "b", 3], TypeError, "feature_names[2] must be a str; got int"),
        (["a", "", "c"], ValueError, "feature_names[1] must be a non-empty str"),
        (["a", "x" * 1025, "c"], ValueError, "at most 1024 characters"),
        (["a", "b", "a"], ValueError, "'a' appears twice"),
    ],
)
def test_bad_feature_names(names, error, fragment):
    net = DNN([3, 2, 1], seed=0)
    net.feature_names = ["p", "q", "r"]
    with pytest.raises(error) as info:
        net.feature_names = names
    assert fragment in str(info.value)
    assert len(str(info.value)) < 300  # a 1025-character name is not echoed whole
    assert net.feature_names == ["p", "q", "r"]  # unchanged


def test_bad_label_names():
    net = DNN([3, 2, 2], output="linear", seed=0)
    with pytest.raises(ValueError, match="one name per output: 2 names; got 1"):
        net.label_names = ["y"]
    with pytest.raises(TypeError, match="label_names"):
        net.label_names = 5


# ----------------------------------------------------------------------------- scaling
def test_scaling_is_set_together_and_validated():
    net = DNN([3, 2, 1], seed=0)
    assert net.input_mean is None and net.input_scale is None
    net.set_input_scaling([1, 2, 3], np.array([[1.0], [2.0], [4.0]]))
    assert net.input_mean.shape == net.input_scale.shape == (3, 1)
    assert net.input_mean.dtype == np.float64
    with pytest.raises(ValueError):
        net.input_mean[0, 0] = 7.0  # read-only: set_input_scaling is the one way in
    bad = [
        ((None, [1, 1, 1]), ValueError, "mean and scale are set together"),
        (([1, 2], [1, 1]), ValueError, "mean must have shape (3,) or (3, 1)"),
        (([1, 2, 3], [1, 0, 1]), ValueError, "scale must be > 0 for every feature"),
        (([1, 2, 3], [1, -2, 1]), ValueError, "got -2.0 at index 1"),
        (([1, np.nan, 3], [1, 1, 1]), ValueError, "mean must be finite"),
        (([1, 2, 3], [1, 1, np.inf]), ValueError, "scale must be finite"),
        ((["a", "b", "c"], [1, 1, 1]), TypeError, "mean must hold real numbers"),
    ]
    for args, error, fragment in bad:
        with pytest.raises(error) as info:
            net.set_input_scaling(*args)
        assert fragment in str(info.value), str(info.value)
        np.testing.assert_array_equal(net.input_mean.ravel(), [1, 2, 3])  # unchanged
    net.set_input_scaling(None, None)
    assert net.input_mean is None and net.input_scale is None


def _standardise(X, mean, scale, dtype=np.float64):
    # What the docstring promises, written out: (X - mean) / scale in the model's dtype.
    X = np.asarray(X).astype(dtype)
    return (X - np.asarray(mean, dtype).reshape(-1, 1)) / np.asarray(scale, dtype).reshape(-1, 1)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_input_is_standardised(dtype):
    X, Y = _data()
    mean, scale = X.mean(axis=1), X.std(axis=1)
    Xs = _standardise(X, mean, scale, dtype)
    scaled = DNN([4, 3, 1], dtype=dtype, seed=5).set_input_scaling(mean, scale)
    plain = DNN([4, 3, 1], dtype=dtype, seed=5)
    X_val, Y_val = _data(seed=1)
    Xs_val = _standardise(X_val, mean, scale, dtype)
    X_before = X.copy()
    # cost_every=1: a validation cost is taken after each chunk of steps, and chunks are
    # sized by timing unless every step is recorded.
    h1 = scaled.fit(X, Y, learning_rate=0.5, num_iterations=50, cost_every=1,
                    validation_data=(X_val, Y_val))  # fmt: skip
    h2 = plain.fit(Xs, Y, learning_rate=0.5, num_iterations=50, cost_every=1,
                   validation_data=(Xs_val, Y_val))  # fmt: skip
    np.testing.assert_array_equal(X, X_before)  # the caller's X is not touched
    assert scaled._theta.tobytes() == plain._theta.tobytes()
    assert h1.costs == h2.costs and h1.val_costs == h2.val_costs
    assert scaled.predict_proba(X).tobytes() == plain.predict_proba(Xs).tobytes()
    np.testing.assert_array_equal(scaled.predict(X), plain.predict(Xs))
    assert scaled.score(X, Y) == plain.score(Xs, Y)
    # an F-ordered or integer X gets the same treatment
    Xi = np.rint(X).astype(np.int64)
    assert (
        scaled.predict_proba(np.asfortranarray(Xi)).tobytes()
        == plain.predict_proba(_standardise(Xi, mean, scale, dtype)).tobytes()
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_folded_params_give_the_scaled_models_outputs_on_raw_inputs(dtype):
    # params expect standardised inputs; exported as they are, a scaled model predicted
    # other things in the course's code and through from_params (a helper's review: 0.98
    # accuracy became 0.37). folded_params carries the scaling in W1 and b1.
    import fastdnn

    X, Y = _data()
    net = DNN([4, 3, 2], dtype=dtype, seed=5).set_input_scaling(X.mean(axis=1), X.std(axis=1))
    net.fit(X, np.vstack([Y, 1 - Y]), learning_rate=0.5, num_iterations=50)
    assert "input_scaling=True" in repr(net) and "input_scaling" not in repr(DNN([4, 1]))
    theta = net._theta.copy()
    folded = net.folded_params()
    assert net._theta.tobytes() == theta.tobytes()  # the model is untouched
    assert all(a.dtype == np.float64 and a.flags.writeable for a in folded.values())
    rtol = 1e-12 if dtype == "float64" else 1e-5
    AL, _ = fastdnn.model_forward(X, folded, hidden="relu", output="sigmoid")
    np.testing.assert_allclose(AL, net.predict_proba(X), rtol=rtol)
    np.testing.assert_allclose(DNN.from_params(folded).predict_proba(X), AL, rtol=rtol)
    assert net.folded_params()["W2"] is not net.params["W2"]
    np.testing.assert_array_equal(net.folded_params()["W2"], net.params["W2"])
    plain = DNN([4, 3, 1], seed=0)  # no scaling: a copy of params
    assert all(np.array_equal(plain.folded_params()[k], plain.params[k]) for k in plain.params)


def test_folded_params_keep_a_float32_model_with_large_means_exact():
    # Means of 1e6 against scales of 1: folded in float32, b1 - W1 @ mean cancelled and the
    # outputs moved by 0.2 (a helper's review); in float64 they agree to float32's rounding.
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(4, 300)) + 1e6).astype(np.float32)
    y = (X[:1] > 1e6).astype(np.float32)
    net = DNN([4, 5, 1], dtype="float32", seed=0)
    net.set_input_scaling(X.mean(axis=1, dtype=np.float64), X.std(axis=1, dtype=np.float64))
    net.fit(X, y, num_iterations=300, learning_rate=0.5)
    folded = DNN.from_params(net.folded_params(), hidden=net.hidden, output=net.output)
    np.testing.assert_allclose(folded.predict_proba(X), net.predict_proba(X), atol=1e-5)
    tiny = DNN([4, 3, 1], seed=0).set_input_scaling(np.zeros(4), np.full(4, 1e-310))
    with pytest.raises(ValueError, match="cannot be folded into W1 and b1"):
        tiny.folded_params()


def test_scaled_model_still_checks_X():
    net = DNN([4, 3, 1], seed=0).set_input_scaling(np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match="X has 3 rows but layer_dims\\[0\\] is 4"):
        net.predict(np.ones((3, 5)))
    with pytest.raises(ValueError, match="X must be finite"):
        net.predict(np.full((4, 2), np.nan))
    with pytest.raises(TypeError, match="X must hold real numbers"):
        net.predict(np.array([["a"] * 2] * 4))
    tiny = DNN([4, 3, 1], seed=0).set_input_scaling(np.zeros(4), np.full(4, 1e-300))
    with pytest.raises(ValueError, match="standardised with input_mean and input_scale"):
        tiny.predict(np.full((4, 2), 1e300))  # overflows to inf after scaling


# ----------------------------------------------------------------------------- file
def test_names_and_scaling_round_trip(tmp_path):
    X, Y = _data()
    net = DNN([4, 3, 1], seed=5).set_input_scaling(X.mean(axis=1), X.std(axis=1))
    net.feature_names, net.label_names = ["w", "x", "y", "z"], ["label"]
    net.fit(X, Y, learning_rate=0.5, num_iterations=20)
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        entries = {k: f[k] for k in f.files}
    meta = json.loads(str(entries[fio.META_KEY]))
    assert meta["feature_names"] == ["w", "x", "y", "z"] and meta["label_names"] == ["label"]
    assert meta["arrays"]["input_mean"] == {"shape": [4, 1], "dtype": "float64"}
    np.testing.assert_array_equal(entries["input_scale"], net.input_scale)
    back = DNN.load(tmp_path / "m.npz")
    assert back.feature_names == net.feature_names and back.label_names == ["label"]
    assert back.input_mean.tobytes() == net.input_mean.tobytes()
    assert back.input_scale.tobytes() == net.input_scale.tobytes()
    assert back.predict_proba(X).tobytes() == net.predict_proba(X).tobytes()


def test_unscaled_unnamed_model_file_has_no_such_entries(tmp_path):
    DNN([3, 1], seed=0).save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert sorted(f.files) == sorted(["W1", "b1", fio.META_KEY])
        meta = json.loads(str(f[fio.META_KEY]))
    assert not {"feature_names", "label_names", "arrays"} & set(meta)
    back = DNN.load(tmp_path / "m.npz")
    assert back.feature_names is None and back.input_mean is None


def _variant(path, meta_edit=None, entries_edit=None):
    with np.load(path, allow_pickle=False) as f:
        entries = {k: f[k] for k in f.files}
    meta = json.loads(str(entries[fio.META_KEY]))
    if meta_edit:
        meta_edit(meta)
    entries[fio.META_KEY] = np.array(json.dumps(meta))
    entries.update(entries_edit or {})
    out = path.with_name("variant.npz")
    np.savez(out, **entries)
    return out


@pytest.mark.parametrize(
    "meta_edit, entries_edit, fragment",
    [
        (lambda m: m.update(feature_names=["a", "b"]), None, "feature_names must hold one name"),
        (lambda m: m.update(label_names=[1]), None, "label_names[0] must be a str"),
        (None, {"input_scale": np.array([[1.0], [0.0], [1.0]])}, "scale must be > 0"),
        (None, {"input_mean": np.zeros((2, 1))}, "input_mean has shape (2, 1)"),
        (lambda m: m.pop("arrays"), None, "lists arrays [] but the file holds"),
        (lambda m: m["arrays"].pop("input_scale"), {"input_scale": None}, "set together"),
    ],
)
def test_bad_names_or_scaling_in_a_file(tmp_path, meta_edit, entries_edit, fragment):
    net = DNN([3, 2, 1], seed=0).set_input_scaling(np.zeros(3), np.ones(3))
    net.feature_names = ["a", "b", "c"]
    net.save(tmp_path / "m.npz")
    if entries_edit and entries_edit.get("input_scale", 0) is None:
        with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
            entries = {k: f[k] for k in f.files if k != "input_scale"}
        meta = json.loads(str(entries[fio.META_KEY]))
        meta_edit(meta)
        entries[fio.META_KEY] = np.array(json.dumps(meta))
        path = tmp_path / "variant.npz"
        np.savez(path, **entries)
    else:
        path = _variant(tmp_path / "m.npz", meta_edit, entries_edit)
    with pytest.raises(ValueError) as info:
        DNN.load(path)
    assert str(path) in str(info.value) and fragment in str(info.value), str(info.value)
