"""Metadata a file may hold: every refusal is the module's ValueError, naming the file and key."""

import json

import numpy as np
import pytest

from fastdnn import DNN
from fastdnn import io as fio


@pytest.fixture
def saved(tmp_path):
    X = np.random.default_rng(0).random((5, 30))
    Y = (X[:1] > 0.5).astype(float)
    net = DNN([5, 4, 1], seed=0)
    net.fit(X, Y, learning_rate=0.1, num_iterations=20, cost_every=5)
    net.save(tmp_path / "m.npz")
    return tmp_path / "m.npz"


def _entries(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _with_text(path, text):
    """A copy of the model at ``path`` whose metadata is the raw JSON ``text``."""
    entries = _entries(path)
    entries[fio.META_KEY] = np.array(text)
    out = path.with_name("variant.npz")
    np.savez(out, **entries)
    return out


def _meta_text(path):
    return str(_entries(path)[fio.META_KEY])


def _refused(path, *fragments):
    with pytest.raises(ValueError) as info:
        fio.load_model(path)
    message = str(info.value)
    assert type(info.value) is ValueError, type(info.value)
    assert f"cannot load a fastdnn model from '{path}'" in message, message[:500]
    for fragment in fragments:
        assert fragment in message, message[:500]
    assert len(message) < 1500
    return message


def _replace(text, key, raw):
    """``text`` with the JSON value of top-level ``key`` replaced by the raw JSON ``raw``."""
    obj = json.loads(text)
    obj[key] = "@@"
    return json.dumps(obj).replace('"@@"', raw)


@pytest.mark.parametrize(
    "key, raw, fragment",
    [
        ("slope", "1" + "0" * 400, "slope must be a number; got <an integer of 401 digits>"),
        ("slope", "1e400", "slope must be finite; got inf"),
        ("n_steps", "7" * 5001, "n_steps must be an integer in [0, "),
        ("n_steps", "9223372036854775808", "n_steps must be an integer in [0, "),
        ("n_steps", str(2**62), "n_steps must be an integer in [0, 4611686018427387904)"),
        ("seed", "-1", "seed must be an integer in [0, "),
        ("layer_dims", "[5, " + "4" * 400 + ", 1]", "layer_dims[1] must be an integer"),
        ("layer_dims", "[5, 1e3, 1]", "layer_dims[1] must be an integer"),
        ("hidden", json.dumps("x" * 100_000), "hidden must be a string of at most 64"),
        ("fastdnn_version", "[1]", "fastdnn_version must be a string"),
        ("slope", "NaN", "NaN is not allowed"),
        ("slope", "-Infinity", "-Infinity is not allowed"),
    ],
)
def test_numbers_and_strings_out_of_range(saved, key, raw, fragment):
    _refused(_with_text(saved, _replace(_meta_text(saved), key, raw)), fragment)


@pytest.mark.parametrize(
    "field, raw, fragment",
    [
        ("wall_time", "1" + "0" * 400, "history.wall_time must be a number"),
        ("costs", "[" + "1" * 400 + ", 1, 1, 1]", "history.costs[0] must be a number"),
        ("costs", "[1, 2]", "history has 2 costs for 4 iterations"),
        ("iterations", "[0, 5, -10, 15]", "history.iterations[2] must be an integer"),
        ("n_steps", "1.5", "history.n_steps must be an integer"),
        ("stop_reason", json.dumps("y" * 1000), "history.stop_reason must be a string"),
        ("extra", "1", "history has unknown keys ['extra']"),
    ],
)
def test_history_out_of_range(saved, field, raw, fragment):
    obj = json.loads(_meta_text(saved))
    obj["history"][field] = "@@"
    _refused(_with_text(saved, json.dumps(obj).replace('"@@"', raw)), fragment)


def test_deep_nesting(saved):
    deep = "[" * 200_000 + "]" * 200_000  # json's recursion would raise RecursionError
    _refused(_with_text(saved, _replace(_meta_text(saved), "history", deep)), "nested too deeply")


def test_repeated_key(saved):
    text = _meta_text(saved)
    _refused(_with_text(saved, text[:-1] + ', "slope": 7.0}'), "key 'slope' appears twice")


def test_metadata_over_the_cap(saved):
    obj = json.loads(_meta_text(saved))
    obj["history"]["stop_reason"] = "z" * (fio.MAX_METADATA_CHARS + 1)
    _refused(_with_text(saved, json.dumps(obj)), "'__fastdnn__' holds", "at most 16777216")


def test_uint8_metadata_that_is_not_utf8(saved):
    entries = _entries(saved)
    entries[fio.META_KEY] = np.frombuffer(b"\xff\xfe{}", dtype=np.uint8)
    np.savez(saved, **entries)
    _refused(saved, "'__fastdnn__' is not UTF-8 text")


def _set(**fields):
    def edit(obj):
        obj["epochs"].update(fields)

    return edit


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda m: m.update(rng={"state": 1}), "rng must be an object with the keys"),
        (lambda m: m["rng"].update(bit_generator="MT19937"), "rng.bit_generator must be 'PCG64'"),
        (lambda m: m["rng"]["state"].update(state=2**128), "rng.state.state must be an integer"),
        (lambda m: m["rng"]["state"].update(inc=2), "rng.state.inc must be odd"),
        (lambda m: m["rng"]["state"].update(extra=1), "rng.state must be an object with the keys"),
        (lambda m: m["rng"].update(has_uint32=2), "rng.has_uint32 must be an integer in [0, 2)"),
        (lambda m: m["rng"].update(uinteger=-1), "rng.uinteger must be an integer in [0, "),
        (lambda m: m.update(arrays={"adam_v": {}}), "arrays lists 'adam_v'"),
        (lambda m: m.update(feature_names="abcde"), "feature_names must be a list of strings"),
        (lambda m: m.update(layer_dims=[5] * 1002), "layer_dims must be a list of 2 to 1001"),
        (lambda o: o.update(epochs=[1]), "epochs must be an object with the keys ['source', 'm'"),
        (lambda o: o["epochs"].pop("offset"), "epochs must be an object with the keys"),
        (_set(extra=1), "epochs must be an object with the keys"),
        (_set(source="disk"), "epochs.source"),
        (_set(m=0), "epochs.m must be an integer in [1, "),
        (_set(m=2.5), "epochs.m must be an integer in [1, "),
        (_set(batch_size=31), "epochs.batch_size must be an integer in [1, 31); got 31"),
        (_set(batches_per_epoch=2), "must be 1 for m=30 and batch_size=None; got 2"),
        (_set(batch_size=7, batches_per_epoch=4), "must be 5 for m=30 and batch_size=7; got 4"),
        (_set(source="blocks", batch_size=7, batches_per_epoch=31), "must be 5 to 30 for m=30"),
        (_set(offset=-21), "n_steps + offset in [0, 2**62); got n_steps=20 and offset=-21"),
        (_set(offset=2**62 - 20), "got n_steps=20 and offset=4611686018427387884"),
        (_set(offset=2**63), "epochs.offset must be an integer in ["),
        (_set(offset="1"), "epochs.offset must be an integer"),
        (_set(shuffle=1), "epochs.shuffle must be true or false; got 1"),
    ],
)
def test_optional_keys_checked_strictly(saved, edit, fragment):
    obj = json.loads(_meta_text(saved))
    edit(obj)
    _refused(_with_text(saved, json.dumps(obj)), fragment)


def test_v1_file_may_not_hold_v2_keys(saved):
    obj = json.loads(_meta_text(saved))
    obj["format_version"] = 1
    _refused(
        _with_text(saved, json.dumps(obj)),
        "unknown metadata keys ['dropout_seed', 'epochs', 'rng'] for format_version 1",
    )


# ----------------------------------------------------------------------------- epochs
def test_epochs_need_format_version_3_and_older_files_load_without(saved):
    obj = json.loads(_meta_text(saved))
    assert obj["format_version"] == 3
    assert obj["epochs"] == {"source": "memory", "m": 30, "batch_size": None,
                             "batches_per_epoch": 1, "shuffle": False, "offset": 0}  # fmt: skip
    obj["format_version"] = 2
    _refused(
        _with_text(saved, json.dumps(obj)), "unknown metadata keys ['epochs'] for format_version 2"
    )
    del obj["epochs"]
    assert DNN.load(_with_text(saved, json.dumps(obj)))._epochs is None  # counted from step 0


def test_epochs_of_a_blocks_fit_load(saved):
    obj = json.loads(_meta_text(saved))
    _set(source="blocks", batch_size=7, batches_per_epoch=6, offset=-20)(obj)
    net = DNN.load(_with_text(saved, json.dumps(obj)))
    assert (net._epochs.batches_per_epoch, net._epochs.offset) == (6, -20)
