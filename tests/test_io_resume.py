"""Training continued after save/load is training continued; seeds are what the docs say."""

import json

import numpy as np
import pytest

from fastdnn import DNN
from fastdnn import io as fio


def _data(m=100, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((6, m))
    Y = (X[:1] + 0.4 * X[2:3] > 0.7).astype(np.float64)
    return X, Y


@pytest.mark.parametrize("seed", [None, 7])
@pytest.mark.parametrize("batch_size", [16, None], ids=["minibatch", "fullbatch"])
def test_fit_save_load_fit_equals_fitting_on(tmp_path, seed, batch_size):
    X, Y = _data()
    start = tmp_path / "start.npz"
    DNN([6, 5, 3, 1], seed=seed, backend="jit", dtype="float64").save(start)
    kw = dict(learning_rate=0.2, batch_size=batch_size, cost_every=3)

    resumed = DNN.load(start)  # every run starts from the same file: same weights, same rng
    resumed.fit(X, Y, epochs=3, **kw)
    resumed.save(tmp_path / "mid.npz")
    resumed = DNN.load(tmp_path / "mid.npz")
    resumed.fit(X, Y, epochs=2, **kw)

    in_process = DNN.load(start)
    in_process.fit(X, Y, epochs=3, **kw)
    in_process.fit(X, Y, epochs=2, **kw)

    at_once = DNN.load(start)
    at_once.fit(X, Y, epochs=5, **kw)

    assert resumed._theta.tobytes() == in_process._theta.tobytes()
    assert at_once._theta.tobytes() == in_process._theta.tobytes()
    assert resumed.n_steps_ == in_process.n_steps_ == (5 * 7 if batch_size else 5)
    assert resumed._rng.bit_generator.state == in_process._rng.bit_generator.state


def test_generator_state_is_saved_and_restored(tmp_path):
    net = DNN([3, 2, 1], seed=11)
    net._rng.permutation(10)  # advance the stream as training would
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        meta = json.loads(str(f[fio.META_KEY]))
    assert meta["format_version"] == fio.FORMAT_VERSION
    assert meta["rng"] == net._rng.bit_generator.state
    back = DNN.load(tmp_path / "m.npz")
    assert back._rng.permutation(10).tolist() == net._rng.permutation(10).tolist()


# ----------------------------------------------------------------------------- seeds
@pytest.mark.parametrize(
    "seed, error, fragment",
    [
        (-1, ValueError, "seed must be an integer in [0, 2**128); got -1"),
        (2**128, ValueError, "seed must be an integer in [0, 2**128)"),
        ("abc", TypeError, "seed must be None or a non-negative integer (e.g. seed=0); got 'abc'"),
        (1.5, TypeError, "seed must be None or a non-negative integer (e.g. seed=0); got 1.5"),
        ([1, 2, 3], TypeError, "got [1, 2, 3] (list)"),
        (np.random.default_rng(0), TypeError, "(Generator)"),
        (True, TypeError, "got True (bool)"),
    ],
)
def test_bad_seeds_name_seed(seed, error, fragment):
    with pytest.raises(error) as info:
        DNN([3, 2, 1], seed=seed)
    assert fragment in str(info.value)
    with pytest.raises(error):
        DNN.from_params({"W1": np.ones((1, 3)), "b1": np.zeros((1, 1))}, seed=seed)


def test_integer_seeds_are_kept(tmp_path):
    for seed in (0, np.int64(5), 2**128 - 1):
        net = DNN([3, 2, 1], seed=seed)
        assert net.seed == int(seed) and type(net.seed) is int
        net.save(tmp_path / "m.npz")
        assert DNN.load(tmp_path / "m.npz").seed == int(seed)
    assert DNN([3, 1], seed=np.int64(5))._theta.tobytes() == DNN([3, 1], seed=5)._theta.tobytes()


# ----------------------------------------------------------------------------- version 1
def _write_v1(path, params, seed, n_steps, history=None):
    """A file laid out as fastdnn's format_version-1 writer laid it out."""
    meta = {
        "format": "fastdnn.DNN",
        "format_version": 1,
        "fastdnn_version": "0.1.0",
        "layer_dims": [3, 4, 1],
        "hidden": "tanh",
        "output": "sigmoid",
        "slope": 0.01,
        "dtype": "float64",
        "init": "he",
        "n_steps": n_steps,
        "seed": seed,
    }
    if history is not None:
        meta["history"] = history
    np.savez(path, **params, __fastdnn__=np.array(json.dumps(meta)))


def test_version_1_file_loads(tmp_path):
    rng = np.random.default_rng(1)
    params = {"W1": rng.standard_normal((4, 3)), "b1": rng.standard_normal((4, 1)),
              "W2": rng.standard_normal((1, 4)), "b2": np.array([[0.25]])}  # fmt: skip
    history = {"iterations": [0, 100], "costs": [0.69, None], "val_iterations": [],
               "val_costs": [], "val_accuracy": [], "n_steps": 200, "wall_time": 1.5,
               "stop_reason": "completed"}  # fmt: skip
    _write_v1(tmp_path / "v1.npz", params, seed=3, n_steps=200, history=history)
    net = DNN.load(tmp_path / "v1.npz")
    assert (net.layer_dims, net.hidden, net.init, net.seed, net.n_steps_) == (
        [3, 4, 1], "tanh", "he", 3, 200)  # fmt: skip
    for key, a in params.items():
        assert net.params[key].tobytes() == a.tobytes()
    assert net.history_.costs[0] == 0.69 and np.isnan(net.history_.costs[1])
    assert net.history_.wall_time == 1.5 and net.history_.n_steps == 200
    assert net.feature_names is None and net.input_mean is None
    # no generator state in a version-1 file: shuffling restarts from the seed, as before
    assert net._rng.bit_generator.state == DNN([3, 1], seed=3)._rng.bit_generator.state


@pytest.mark.parametrize(
    ("options", "batch_size", "dtype"),
    [
        ({"optimizer": "adam"}, 16, "float64"),
        ({"optimizer": "momentum", "decay_rate": 0.5}, None, "float64"),
        ({"optimizer": "rmsprop", "keep_prob": 0.8, "lambd": 0.1}, 16, "float64"),
        ({"optimizer": "adam", "decay_rate": 0.3, "time_interval": 4}, 32, "float32"),
    ],
    ids=["adam-minibatch", "momentum-decay", "rmsprop-dropout-l2", "adam-float32"],
)
def test_a_checkpoint_saved_by_a_callback_resumes_where_it_was(
    tmp_path, options, batch_size, dtype
):
    # A callback saw the model's parameters after the chunk it reports (several steps on)
    # with the step count and optimizer state of the fit's start: its checkpoint resumed from
    # the wrong step (learning-rate decay, Adam's t), off by 2e-2 after 32 steps.
    X, Y = _data(m=150)
    kw = dict(learning_rate=0.02, batch_size=batch_size, cost_every=5, **options)
    total = 47
    at_once = DNN([6, 5, 1], seed=3, dtype=dtype)
    at_once.fit(X, Y, num_iterations=total, **kw)

    saved = []

    def checkpoint(iteration, cost, model):
        if iteration == 10:
            model.save(tmp_path / "checkpoint.npz")
            saved.append((model.n_steps_, model._theta.copy()))

    with_callback = DNN([6, 5, 1], seed=3, dtype=dtype)
    with_callback.fit(X, Y, num_iterations=total, callbacks=[checkpoint], **kw)
    assert with_callback._theta.tobytes() == at_once._theta.tobytes()  # a callback changes nothing
    ((steps, theta),) = saved
    assert 10 < steps <= total  # the model ran on past the record, and says how far

    # The checkpoint is the model a fit of `steps` steps leaves, and goes on as that one does,
    # and as the uninterrupted fit.
    stopped_there = DNN([6, 5, 1], seed=3, dtype=dtype)
    stopped_there.fit(X, Y, num_iterations=steps, **kw)
    assert stopped_there._theta.tobytes() == theta.tobytes()
    resumed = DNN.load(tmp_path / "checkpoint.npz")
    assert resumed.n_steps_ == steps and resumed._theta.tobytes() == theta.tobytes()
    resumed.fit(X, Y, num_iterations=total - steps, **kw)
    stopped_there.fit(X, Y, num_iterations=total - steps, **kw)
    assert resumed.n_steps_ == total
    assert resumed._theta.tobytes() == stopped_there._theta.tobytes()
    assert resumed._theta.tobytes() == at_once._theta.tobytes()


@pytest.mark.parametrize("first", [13, 15, 20, 1])
@pytest.mark.parametrize(
    "options",
    [{"optimizer": "adam"}, {"optimizer": "momentum", "decay_rate": 0.3, "keep_prob": 0.8}],
    ids=["adam", "momentum-decay-dropout"],
)
def test_two_minibatch_fits_are_one_long_fit_wherever_the_first_ends(tmp_path, first, options):
    # A fit that ended mid-epoch left its generator past that epoch's shuffle, so the next fit
    # drew a new one for the epoch's remaining batches (87 of 120 examples seen that epoch).
    X, Y = _data(m=150)  # 10 batches of 16 an epoch: 13 and 15 end mid-epoch, 20 at its end
    kw = dict(learning_rate=0.02, batch_size=16, cost_every=4, **options)
    at_once = DNN([6, 5, 1], seed=3)
    at_once.fit(X, Y, num_iterations=40, **kw)
    in_memory = DNN([6, 5, 1], seed=3)
    in_memory.fit(X, Y, num_iterations=first, **kw)
    in_memory.save(tmp_path / "first.npz")
    in_memory.fit(X, Y, num_iterations=40 - first, **kw)
    from_file = DNN.load(tmp_path / "first.npz")
    from_file.fit(X, Y, num_iterations=40 - first, **kw)
    assert in_memory._theta.tobytes() == at_once._theta.tobytes()
    assert from_file._theta.tobytes() == at_once._theta.tobytes()
    assert from_file._rng.bit_generator.state == at_once._rng.bit_generator.state
