"""Out-of-core training (fastdnn.blocks): memmap, HDF5, zarr and dask data read by blocks.

The oracles are in-memory training on the same examples: full-batch steps on the whole set, and
for mini-batches the schedule the module documents (block order, then a permutation within each
block), replayed here with the in-memory engine one batch at a time.
"""

import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastdnn import DNN, blocks

from .conftest import tolerance

REPO = Path(__file__).resolve().parents[1]
LINUX = sys.platform.startswith("linux")


def data(n_x=5, m=103, n_y=1, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n_x, m)).astype(dtype)
    Y = (rng.random((n_y, m)) < 0.5).astype(dtype)
    return X, Y


def memmap_of(tmp_path, A, name="X.npy"):
    np.save(tmp_path / name, A)
    return np.load(tmp_path / name, mmap_mode="r")


def assert_same_params(a, b, rtol, atol, what=""):
    for key in a.params:
        assert_allclose(b.params[key], a.params[key], rtol=rtol, atol=atol, err_msg=f"{key} {what}")


# ------------------------------------------------------------------------- dispatch
def test_is_out_of_core_knows_the_four_kinds_by_type(tmp_path):
    X, _ = data()
    assert blocks.is_out_of_core(memmap_of(tmp_path, X))
    assert not blocks.is_out_of_core(X)
    assert not blocks.is_out_of_core(X.tolist())
    da = pytest.importorskip("dask.array")
    assert blocks.is_out_of_core(da.from_array(X, chunks=(5, 20)))
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "d.h5", "w") as f:
        assert blocks.is_out_of_core(f.create_dataset("X", data=X))
    zarr = pytest.importorskip("zarr")
    assert blocks.is_out_of_core(zarr.array(X))


# ------------------------------------------------------------------------- full batch
@pytest.mark.parametrize("block_size", [None, 10, 37], ids=["one-block", "11-blocks", "3-uneven"])
def test_full_batch_on_a_memmap_equals_in_memory_training(tmp_path, backend, dtype, block_size):
    X, Y = data(dtype=dtype)
    ref = DNN([5, 4, 3, 1], hidden="tanh", backend=backend, dtype=dtype, seed=1)
    ref.fit(X, Y, learning_rate=0.5, num_iterations=6)
    net = DNN([5, 4, 3, 1], hidden="tanh", backend=backend, dtype=dtype, seed=1)
    history = blocks.fit(net, memmap_of(tmp_path, X), memmap_of(tmp_path, Y, "Y.npy"),
                         learning_rate=0.5, num_iterations=6, block_size=block_size,
                         cost_every=2)  # fmt: skip
    rtol, atol = tolerance(dtype)
    # Block gradients are summed in another order than one full-batch product: rounding.
    assert_same_params(ref, net, rtol * 100, atol * 100, f"block_size={block_size}")
    assert history.iterations == [0, 2, 4] and net.n_steps_ == 6
    assert_allclose(history.costs, ref.history_.costs[:1] + history.costs[1:], rtol=rtol)


def test_dnn_fit_sends_out_of_core_data_to_blocks(tmp_path):
    X, Y = data()
    net = DNN([5, 3, 1], seed=0)
    calls = []
    real = blocks.fit_with_options  # blocks.fit's entry for options DNN.fit has checked

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    blocks.fit_with_options = spy
    try:
        net.fit(memmap_of(tmp_path, X), Y, learning_rate=0.1, num_iterations=2)
        net.fit(X, Y, learning_rate=0.1, num_iterations=2)  # in memory: not sent
    finally:
        blocks.fit_with_options = real
    assert len(calls) == 1 and calls[0]["num_iterations"] == 2
    assert net.n_steps_ == 4


def test_the_four_sources_give_the_same_bits(tmp_path):
    """The same blocks, whatever they are read from: the same arithmetic, bit for bit."""
    h5py = pytest.importorskip("h5py")
    zarr = pytest.importorskip("zarr")
    da = pytest.importorskip("dask.array")
    X, Y = data(m=90)
    f = h5py.File(tmp_path / "d.h5", "w")
    sources = {
        "memmap": (memmap_of(tmp_path, X), Y),
        "h5py": (f.create_dataset("X", data=X, chunks=(5, 15)), f.create_dataset("Y", data=Y)),
        "zarr": (zarr.array(X, chunks=(5, 15)), zarr.array(Y[0])),  # a 1-D Y of length m
        "dask": (da.from_array(X, chunks=(5, 15)), da.from_array(Y, chunks=(1, 45))),
    }
    results = {}
    for name, (Xs, Ys) in sources.items():
        for batch in (None, 10):
            net = DNN([5, 4, 1], seed=3)
            kwargs = {"epochs": 2, "batch_size": batch} if batch else {"num_iterations": 3}
            blocks.fit(net, Xs, Ys, learning_rate=0.3, block_size=30, **kwargs)
            results[name, batch] = net._theta.copy()
    f.close()
    for (name, batch), theta in results.items():
        assert np.array_equal(theta, results["memmap", batch]), (name, batch)


# ------------------------------------------------------------------------- mini-batches
def replay_schedule(X, Y, seed, block_size, batch_size, epochs, lr, dtype, **course2):
    """The documented mini-batch schedule, one in-memory full-batch step per mini-batch
    (``course2``: options of DNN.fit whose state carries over from fit to fit, e.g. Adam's)."""
    ref = DNN([X.shape[0], 4, 1], seed=seed, dtype=dtype)
    rng = copy.deepcopy(ref._rng)  # the model's shuffling generator, as fit will draw from it
    m = X.shape[1]
    bounds = [(s, min(s + block_size, m)) for s in range(0, m, block_size)]
    for _ in range(epochs):
        for k in rng.permutation(len(bounds)):
            s, e = bounds[k]
            order = rng.permutation(e - s)
            for first in range(0, e - s, batch_size):
                idx = s + order[first : first + batch_size]
                ref.fit(X[:, idx], Y[:, idx], learning_rate=lr, num_iterations=1, **course2)
    return ref


@pytest.mark.parametrize(("block_size", "batch_size"), [(30, 10), (25, 10)], ids=["whole", "short"])
def test_minibatches_follow_the_documented_block_schedule(tmp_path, dtype, block_size, batch_size):
    X, Y = data(m=103, dtype=dtype)
    ref = replay_schedule(X, Y, 7, block_size, batch_size, 2, 0.3, dtype)
    net = DNN([5, 4, 1], seed=7, dtype=dtype)
    history = blocks.fit(net, memmap_of(tmp_path, X), Y, learning_rate=0.3, epochs=2,
                         batch_size=batch_size, block_size=block_size)  # fmt: skip
    rtol, atol = tolerance(dtype)
    assert net.n_steps_ == ref.n_steps_ == history.n_steps
    assert_same_params(ref, net, rtol * 100, atol * 100)


# ------------------------------------------------------------------------- Course 2
COURSE2 = {
    "adam": {"optimizer": "adam"},
    "l2": {"lambd": 0.7},
    "momentum-decay-l2": {"optimizer": "momentum", "decay_rate": 0.5, "lambd": 0.2},
    "rmsprop": {"optimizer": "rmsprop"},
}


@pytest.mark.parametrize("settings", list(COURSE2))
def test_course2_full_batch_by_blocks_equals_in_memory_training(tmp_path, dtype, settings):
    X, Y = data(dtype=dtype)
    kw = COURSE2[settings]
    ref = DNN([5, 4, 3, 1], hidden="tanh", dtype=dtype, seed=1)
    ref.fit(X, Y, learning_rate=0.05, num_iterations=9, cost_every=3, **kw)
    net = DNN([5, 4, 3, 1], hidden="tanh", dtype=dtype, seed=1)
    history = net.fit(memmap_of(tmp_path, X), Y, learning_rate=0.05, num_iterations=9,
                      cost_every=3, **kw)  # fmt: skip
    assert net.n_steps_ == 9  # one block: the in-memory steps
    history = blocks.fit(net, memmap_of(tmp_path, X), Y, learning_rate=0.05, num_iterations=9,
                         cost_every=3, block_size=37, **kw)  # fmt: skip
    ref.fit(X, Y, learning_rate=0.05, num_iterations=9, cost_every=3, **kw)
    rtol, atol = tolerance(dtype)
    # Three uneven blocks (37, 37, 29), summed in another order: rounding (RMSprop divides by
    # the root of a small second moment early on: more of it).
    scale = 1000 if settings == "rmsprop" else 100
    assert_same_params(ref, net, rtol * scale, atol * scale, settings)
    assert_allclose(history.costs, ref.history_.costs, rtol=rtol * scale)  # L2 term included
    assert net._optimizer.name == ref._optimizer.name and net._optimizer.t == ref._optimizer.t
    for key, state in ref._optimizer.arrays().items():
        assert_allclose(getattr(net._optimizer, key), state, rtol=rtol * scale, atol=atol * scale)


def test_course2_minibatches_follow_the_documented_block_schedule(tmp_path):
    X, Y = data(m=103)
    kw = {"optimizer": "adam", "lambd": 0.3}
    ref = replay_schedule(X, Y, 7, 30, 10, 2, 0.01, np.float64, **kw)
    net = DNN([5, 4, 1], seed=7)
    blocks.fit(net, memmap_of(tmp_path, X), Y, learning_rate=0.01, epochs=2, batch_size=10,
               block_size=30, **kw)  # fmt: skip
    assert net.n_steps_ == ref.n_steps_ == 2 * 11 and net._optimizer.t == 22
    assert_same_params(ref, net, 1e-10, 1e-12)


def test_course2_minibatches_in_one_block_train_exactly_as_in_memory(tmp_path):
    X, Y = data()
    kw = {"optimizer": "adam", "decay_rate": 0.5, "time_interval": 2, "lambd": 0.1}
    a = DNN([5, 4, 1], seed=2)
    a.fit(X, Y, learning_rate=0.01, epochs=3, batch_size=16, **kw)
    b = DNN([5, 4, 1], seed=2)
    b.fit(memmap_of(tmp_path, X), Y, learning_rate=0.01, epochs=3, batch_size=16, **kw)
    assert np.array_equal(a._theta, b._theta) and a.n_steps_ == b.n_steps_ == 21
    assert np.array_equal(a._optimizer.v, b._optimizer.v) and b._optimizer.t == 21


def test_softmax_by_blocks_with_class_indices(tmp_path):
    X, _ = data(m=101)
    labels = np.random.default_rng(3).integers(0, 3, 101).astype(float)
    ref = DNN([5, 4, 3], output="softmax", seed=1)
    ref.fit(X, labels, learning_rate=0.1, num_iterations=10)
    net = DNN([5, 4, 3], output="softmax", seed=1)
    Ym = memmap_of(tmp_path, labels, "Y.npy")  # (m,) class indices, one-hot coded per block
    blocks.fit(net, memmap_of(tmp_path, X), Ym, learning_rate=0.1, num_iterations=10,
               block_size=35)  # fmt: skip
    assert_same_params(ref, net, 1e-10, 1e-12)
    Xm = memmap_of(tmp_path, X)
    assert np.array_equal(blocks.predict(net, Xm, block_size=35), net.predict(X))
    assert blocks.score(net, Xm, Ym, block_size=35) == net.score(X, labels)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"keep_prob": 0.8}, r"keep_prob must be 1.0 \(no dropout\) when training by blocks "
                             r"\(X is a NumPy memmap, .*np.array\(X\) trains in memory\); got 0.8"),
        ({"early_stopping": True}, "early_stopping must be False when training by blocks"),
        ({"shuffle": False, "batch_size": 10, "epochs": 1},
         "shuffle must be True for mini-batches when training by blocks .*; got False"),
        ({"lambd": -1.0}, "lambd"),
    ],
    ids=["dropout", "early-stopping", "no-shuffle", "bad-lambd"],
)  # fmt: skip
def test_what_blocks_cannot_do_is_refused_before_any_block_is_read(tmp_path, option, message):
    X, Y = data()
    net = DNN([5, 4, 1], seed=0)
    before = net._theta.copy()
    kw = {"num_iterations": 2, **option}
    with pytest.raises(ValueError, match=message):
        net.fit(memmap_of(tmp_path, X), Y, learning_rate=0.1, **kw)
    assert np.array_equal(net._theta, before) and net.n_steps_ == 0 and net._optimizer is None


@pytest.mark.parametrize(
    ("option", "error", "message"),
    [
        ({"callbacks": print}, TypeError, r"callbacks must be a list .*; got one callable"),
        ({"epochs": "ten"}, TypeError, r"epochs must be a positive integer; got 'ten'"),
        ({"print_cost": "no"}, TypeError, r"print_cost must be True or False; got 'no'"),
        ({"progress": 1}, TypeError, r"progress must be True or False; got 1"),
        ({"validation_data": np.ones((5, 3))}, TypeError, r"validation_data must be a pair"),
    ],
)
def test_fit_arguments_by_blocks_are_checked_as_in_memory(tmp_path, option, error, message):
    X, Y = data()
    net = DNN([5, 4, 1], seed=0)
    before = net._theta.copy()
    with pytest.raises(error, match=message):
        net.fit(memmap_of(tmp_path, X), Y, learning_rate=0.1, num_iterations=2, **option)
    assert np.array_equal(net._theta, before) and net.n_steps_ == 0


def test_data_in_one_block_trains_exactly_as_in_memory(tmp_path):
    X, Y = data()
    a = DNN([5, 4, 1], seed=2)
    a.fit(X, Y, learning_rate=0.3, epochs=3, batch_size=16)
    b = DNN([5, 4, 1], seed=2)
    b.fit(memmap_of(tmp_path, X), Y, learning_rate=0.3, epochs=3, batch_size=16)
    assert np.array_equal(a._theta, b._theta) and a.n_steps_ == b.n_steps_ == 21


def test_automatic_blocks_hold_whole_batches_and_whole_chunks():
    # 1 MiB blocks of 8-byte, 128-feature examples: 1024 examples; chunks of 100 -> 1000;
    # batches of 64 -> 960 (15 batches), so only the very last batch can be short.
    old = blocks.BLOCK_BYTES
    blocks.BLOCK_BYTES = 2**20
    try:
        bounds = blocks.block_bounds(5000, None, 128 * 8, 100, 64)
    finally:
        blocks.BLOCK_BYTES = old
    assert bounds[:2] == [(0, 960), (960, 1920)] and bounds[-1] == (4800, 5000)
    assert blocks.block_bounds(10, 4, 8, None, None) == [(0, 4), (4, 8), (8, 10)]


def test_same_seed_same_bits_and_whole_epochs_continue_exactly(tmp_path):
    X, Y = data(m=100)
    Xm = memmap_of(tmp_path, X)
    runs = []
    for split in ([3], [3], [1, 2]):
        net = DNN([5, 4, 1], seed=5)
        for epochs in split:
            blocks.fit(net, Xm, Y, learning_rate=0.3, epochs=epochs, batch_size=8, block_size=24)
        runs.append(net._theta.copy())
    assert np.array_equal(runs[0], runs[1]) and np.array_equal(runs[0], runs[2])
    other = DNN([5, 4, 1], seed=6)
    blocks.fit(other, Xm, Y, learning_rate=0.3, epochs=3, batch_size=8, block_size=24)
    assert not np.array_equal(other._theta, runs[0])


def test_callbacks_history_and_validation_on_block_data(tmp_path):
    X, Y = data(m=100)
    seen = []
    net = DNN([5, 4, 1], seed=0)
    history = net.fit(memmap_of(tmp_path, X), Y, learning_rate=0.3, num_iterations=50,
                      cost_every=10, validation_data=(memmap_of(tmp_path, X, "V.npy"), Y),
                      callbacks=[lambda i, c, model: seen.append(i) or i >= 30])  # fmt: skip
    assert seen == [0, 10, 20, 30] and history.stop_reason == "callback"
    assert history.val_iterations == seen and len(history.val_accuracy) == 4
    ref = DNN([5, 4, 1], seed=0)  # in memory: the same records at the same steps
    ref.fit(X, Y, learning_rate=0.3, num_iterations=50, cost_every=10, validation_data=(X, Y),
            callbacks=[lambda i, c, model: i >= 30])  # fmt: skip
    assert_allclose(history.val_costs, ref.history_.val_costs, rtol=1e-12)
    assert history.val_accuracy == ref.history_.val_accuracy


# ------------------------------------------------------------------------- errors
def test_shape_and_type_errors_come_before_any_block_is_read(tmp_path):
    X, Y = data()
    net = DNN([5, 3, 1], seed=0)
    before = net._theta.copy()
    XT = memmap_of(tmp_path, X.T.copy())
    with pytest.raises(ValueError, match=r"X must have shape \(n_x, m\) = \(5, m >= 1\).*X\.T"):
        net.fit(XT, Y, learning_rate=0.1, num_iterations=1)
    with pytest.raises(ValueError, match=r"Y must have shape .* \(1, 103\).*\(1, 50\)"):
        net.fit(memmap_of(tmp_path, X), Y[:, :50], learning_rate=0.1, num_iterations=1)
    with pytest.raises(TypeError, match="X must hold real numbers.*complex128"):
        net.fit(memmap_of(tmp_path, X.astype(complex)), Y, learning_rate=0.1, num_iterations=1)
    with pytest.raises(ValueError, match="block_size must be a positive integer; got 0"):
        blocks.fit(net, memmap_of(tmp_path, X), Y, num_iterations=1, block_size=0)
    with pytest.raises(ValueError, match="mini-batch training needs epochs"):
        net.fit(memmap_of(tmp_path, X), Y, batch_size=10)
    assert np.array_equal(net._theta, before) and net.n_steps_ == 0
    # Inference and moments check block_size too (-1 returned np.empty's bytes unread).
    Xm = memmap_of(tmp_path, X)
    for bad in (-1, 0, 2.5, "7", True):
        for call, args in ((blocks.predict_proba, (net, Xm)), (blocks.predict, (net, Xm)),
                           (blocks.moments, (Xm,))):  # fmt: skip
            with pytest.raises((ValueError, TypeError), match="block_size must be a positive"):
                call(*args, block_size=bad)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # but for the one expected below
def test_class_indices_in_memory_get_the_verdict_without_a_one_hot_copy(tmp_path, monkeypatch):
    """A softmax run by blocks with class indices in memory: the not-learning verdict, as in
    memory, from the class frequencies (it one-hot coded the whole Y at the end: n_y times
    the labels' size, for a verdict a short run never gives)."""
    from fastdnn import _validation

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (4, 300))
    y = rng.integers(0, 5, 300)
    whole = []
    check_Y = _validation.check_Y

    def spy(Y, *args, **kwargs):
        if np.shape(Y)[-1] == 300:
            whole.append(np.shape(Y))
        return check_Y(Y, *args, **kwargs)

    monkeypatch.setattr(_validation, "check_Y", spy)
    settings = {"learning_rate": 1e-12, "num_iterations": 120, "cost_every": 10}
    nets = [DNN([4, 3, 5], output="softmax", seed=1) for _ in "ab"]
    with pytest.warns(RuntimeWarning, match="no lower than that of predicting the class"):
        nets[0].fit(X, y, **settings)  # in memory, Y is checked whole: that is its size
    whole.clear()
    with pytest.warns(RuntimeWarning, match="no lower than that of predicting the class"):
        blocks.fit(nets[1], memmap_of(tmp_path, X), y, block_size=100, **settings)
    assert whole == []
    assert_same_params(nets[0], nets[1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bad", ["nan-x", "label-2"])
def test_a_bad_block_stops_training_and_leaves_the_model_as_it_was(tmp_path, bad):
    X, Y = data(m=100)
    if bad == "nan-x":
        X[3, 77] = np.nan
    else:
        Y[0, 77] = 2.0
    Xm, Ym = memmap_of(tmp_path, X), memmap_of(tmp_path, Y, "Y.npy")
    net = DNN([5, 4, 1], seed=0)
    net.fit(X[:, :50], Y[:, :50] % 2, learning_rate=0.1, num_iterations=3, optimizer="adam")
    theta, steps, rng = net._theta.copy(), net.n_steps_, net._rng.bit_generator.state
    v, s = net._optimizer.v.copy(), net._optimizer.s.copy()
    what = r"X\[:, 75:100\] \(block 3\) must be finite" if bad == "nan-x" else "Y.*binary labels"
    with pytest.raises(ValueError, match=f"{what}.*the model is as it was before this fit"):
        blocks.fit(net, Xm, Ym, learning_rate=0.1, epochs=2, batch_size=5, block_size=25,
                   optimizer="adam")  # fmt: skip
    assert np.array_equal(net._theta, theta) and net.n_steps_ == steps
    assert net._optimizer.t == 3 and np.array_equal(net._optimizer.v, v)
    assert np.array_equal(net._optimizer.s, s)
    assert net._rng.bit_generator.state == rng
    assert np.array_equal(np.load(tmp_path / "X.npy"), X, equal_nan=True)  # the file untouched


# ------------------------------------------------------------------------- inference
def test_predict_score_and_moments_by_blocks(tmp_path):
    X, Y = data(m=100)
    Xm = memmap_of(tmp_path, X)
    net = DNN([5, 4, 1], seed=0)
    net.fit(X, Y, learning_rate=0.3, num_iterations=20)
    assert_allclose(blocks.predict_proba(net, Xm, block_size=30), net.predict_proba(X), rtol=1e-12)
    assert np.array_equal(blocks.predict(net, Xm, block_size=30), net.predict(X))
    assert blocks.score(net, Xm, Y, block_size=30) == net.score(X, Y)
    reg = DNN([5, 3, 2], output="linear", seed=0)
    Yr = np.random.default_rng(1).normal(size=(2, 100))
    reg.fit(X, Yr, learning_rate=0.1, num_iterations=20)
    assert_allclose(blocks.score(reg, Xm, Yr, block_size=30), reg.score(X, Yr), rtol=1e-10)
    multi = DNN([5, 4, 3], seed=0)  # multi-label: subset accuracy, as DNN.score
    Ym = (np.random.default_rng(3).random((3, 100)) > 0.5).astype(np.float64)
    multi.fit(X, Ym, learning_rate=0.3, num_iterations=20)
    assert blocks.score(multi, Xm, Ym, block_size=30) == multi.score(X, Ym)
    mean, std = blocks.moments(Xm, block_size=7)
    assert_allclose(mean, X.mean(axis=1, keepdims=True), rtol=1e-12)
    assert_allclose(std, X.std(axis=1, keepdims=True), rtol=1e-12)
    shifted = memmap_of(tmp_path, X + 1e8, "S.npy")  # naive sums of squares would cancel here
    assert_allclose(blocks.moments(shifted, block_size=7)[1], X.std(axis=1, keepdims=True),
                    rtol=1e-6)  # fmt: skip


# ------------------------------------------------------------------------- memory
# Trains one full-batch step on argv[1] (an .npy memmap or HDF5 file) and prints the peak
# resident memory the fit added, in MiB (VmHWM, reset just before the fit: the compilations of
# the warm-up must not count). With argv[2] > 0, the address space is capped at (address space
# after warm-up) + argv[2] MiB: reading the data whole fails there.
MEMORY_PROBE = r"""
import resource, sys
import numpy as np
import fastdnn
from fastdnn import DNN, blocks
path, cap_mib = sys.argv[1], int(sys.argv[2])
blocks.BLOCK_BYTES = 16 * 2**20  # 16 blocks of the 256 MiB
fastdnn.warmup(["float64"])
w = DNN([64, 4, 1], seed=0)
w.fit(np.zeros((64, 40)), np.zeros((1, 40)), learning_rate=0.1, num_iterations=2)
blocks.fit(w, np.zeros((64, 40)), np.zeros((1, 40)), num_iterations=1, block_size=20)
if path.endswith(".h5"):
    import h5py
    f = h5py.File(path, "r")
    X, Y = f["X"], f["Y"]
else:
    X = np.load(path, mmap_mode="r")
    Y = np.zeros((1, X.shape[1]))
def status(field):
    return int(open("/proc/self/status").read().split(field + ":")[1].split()[0]) * 1024
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # VmHWM := VmRSS
rss0 = status("VmRSS")
if cap_mib:
    resource.setrlimit(resource.RLIMIT_AS, (status("VmSize") + cap_mib * 2**20,) * 2)
net = DNN([64, 4, 1], seed=0)
net.fit(X, Y, learning_rate=0.1, num_iterations=1)
print(f"{(status('VmHWM') - rss0) / 2**20:.0f}")
"""


def _probe(path, cap_mib=0):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["FASTDNN_NUM_THREADS"] = "1"  # two BLAS threads on a loaded 2-core machine: 100x slower
    result = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(path), str(cap_mib)],
                            capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return float(result.stdout.split()[-1])


@pytest.mark.skipif(not LINUX, reason="/proc/self/clear_refs and MADV_DONTNEED: Linux")
def test_memmap_training_keeps_resident_memory_bounded_by_the_blocks(tmp_path):
    # 256 MiB of X (a sparse file of zeros: nothing written to disk), 16 blocks of 16 MiB.
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", shape=(64, 2**19))
    del X
    added = _probe(tmp_path / "X.npy")
    # Measured 62 MiB: the block trained on, the one read ahead, the mapped pages of one
    # piece of a read and the work buffers. Without handing the pages back, every page of
    # the file read stays resident: 256 MiB more.
    assert added < 128, f"fit added {added:.0f} MiB resident for 256 MiB of data"


@pytest.mark.skipif(not LINUX, reason="RLIMIT_AS and /proc/self/clear_refs: Linux")
def test_hdf5_training_runs_under_a_memory_cap_smaller_than_the_data(tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "d.h5", "w") as f:  # chunks never written: a small file
        f.create_dataset("X", shape=(64, 2**19), dtype="f8", chunks=(64, 2**14))  # 256 MiB
        f.create_dataset("Y", shape=(1, 2**19), dtype="f8")
    # Address space capped at 128 MiB above the warmed-up process: half the data (reading X
    # whole fails there with "Unable to allocate 256. MiB"). Measured: 84 MiB resident.
    assert _probe(tmp_path / "d.h5", cap_mib=128) < 128


# ------------------------------------------------------------------------- command line
def test_cli_trains_a_zarr_folder_and_an_hdf5_file_by_blocks(tmp_path, capsys):
    zarr = pytest.importorskip("zarr")
    h5py = pytest.importorskip("h5py")
    from fastdnn.cli import main

    X, Y = data(m=200)
    Y = (X[0:1] + X[1:2] > 0).astype(float)  # learnable
    zarr.save_group(str(tmp_path / "d.zarr"), X=X, Y=Y)
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["X"], f["Y"] = X, Y
    common = ["--layers", "4", "--lr", "0.5", "--seed", "3"]
    assert main(["train", "--data", str(tmp_path / "d.zarr"), *common, "--iterations", "40",
                 "--block-size", "64", "--out", str(tmp_path / "z.npz")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "trained out of core, in blocks of 64 examples" in out and "training accuracy" in out
    ref = DNN([5, 4, 1], seed=3)
    blocks.fit(ref, X, Y, learning_rate=0.5, num_iterations=40, block_size=64)
    assert np.array_equal(DNN.load(tmp_path / "z.npz")._theta, ref._theta)
    assert main(["train", "--data", str(tmp_path / "d.zarr"), "--resume", str(tmp_path / "z.npz"),
                 "--lr", "0.5", "--iterations", "20", "--block-size", "64",
                 "--out", str(tmp_path / "z2.npz")]) == 0  # fmt: skip
    assert "resuming" in capsys.readouterr().out
    blocks.fit(ref, X, Y, learning_rate=0.5, num_iterations=20, block_size=64)
    resumed = DNN.load(tmp_path / "z2.npz")
    assert np.array_equal(resumed._theta, ref._theta) and resumed.n_steps_ == 60
    assert main(["train", "--data", str(tmp_path / "d.h5"), *common, "--epochs", "2",
                 "--batch-size", "16", "--block-size", "64", "--standardize",
                 "--out", str(tmp_path / "h.npz")]) == 0  # fmt: skip
    assert "trained 26 iterations" in capsys.readouterr().out  # blocks 64, 64, 64, 8: 13 batches
    saved = DNN.load(tmp_path / "h.npz")
    assert_allclose(saved.input_mean, X.mean(axis=1, keepdims=True), rtol=1e-12)


def test_cli_predicts_a_zarr_folder_by_blocks(tmp_path, capsys):
    # The README said the command line reads a zarr folder; predict refused it ("is a folder;
    # give a file": a helper's docs review).
    zarr = pytest.importorskip("zarr")
    from fastdnn.cli import main

    X, _ = data(m=200)
    Y = (X[0:1] + X[1:2] > 0).astype(float)
    zarr.save_group(str(tmp_path / "d.zarr"), X=X, Y=Y)
    zarr.save_group(str(tmp_path / "nolabels.zarr"), X=X)
    zarr.save_group(str(tmp_path / "bad.zarr"), X=X, Y=2 * Y)
    net = DNN([5, 4, 1], seed=3).set_input_scaling(X.mean(axis=1), X.std(axis=1))
    net.fit(X, Y, learning_rate=0.5, num_iterations=40)
    net.save(tmp_path / "m.npz")
    assert main(["predict", "--model", str(tmp_path / "m.npz"), "--data",
                 str(tmp_path / "d.zarr"), "--out", str(tmp_path / "p.csv")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert f"accuracy on {tmp_path / 'd.zarr'}: {100 * net.score(X, Y):.2f} % (200 examples)" in out
    table = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)
    assert_allclose(table[:, 1], net.predict_proba(X)[0], rtol=1e-15)
    assert main(["predict", "--model", str(tmp_path / "m.npz"), "--data",
                 str(tmp_path / "nolabels.zarr"), "--out", str(tmp_path / "q.csv")]) == 0
    assert "accuracy" not in capsys.readouterr().out
    assert np.array_equal(np.loadtxt(tmp_path / "q.csv", delimiter=",", skiprows=1), table)
    (tmp_path / "keep.csv").write_text("mine")
    assert main(["predict", "--model", str(tmp_path / "m.npz"), "--data",
                 str(tmp_path / "bad.zarr"), "--out", str(tmp_path / "keep.csv")]) == 2
    assert "the labels in" in capsys.readouterr().err
    assert (tmp_path / "keep.csv").read_text() == "mine"


def test_cli_refuses_bad_large_data_in_one_line(tmp_path, capsys):
    zarr = pytest.importorskip("zarr")
    from fastdnn.cli import main

    X, Y = data()
    zarr.save_group(str(tmp_path / "noy.zarr"), X=X)
    zarr.save_group(str(tmp_path / "ok.zarr"), X=X, Y=Y)
    (tmp_path / "file.zarr").write_text("not a folder")
    for argv, message in [
        (["--data", str(tmp_path / "ok.zarr"), "--keep-prob", "0.5"],
         "keep_prob must be 1.0 (no dropout) when training by blocks; got 0.5"),
        (["--data", str(tmp_path / "ok.zarr"), "--early-stopping"],
         "early_stopping must be False when training by blocks"),
        (["--data", str(tmp_path / "noy.zarr")], "has no array 'Y'"),
        (["--data", str(tmp_path / "file.zarr")], "ends in .zarr but is not a folder"),
        (["--data", str(tmp_path / "gone.zarr")], "zarr folder not found"),
        (["--data", str(tmp_path / "noy.zarr"), "--scheduler", "localhost"],
         "--scheduler must be a Dask scheduler address like tcp://host:8786"),
    ]:  # fmt: skip
        assert main(["train", *argv, "--out", str(tmp_path / "m.npz")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "m.npz").exists()
    # An output inside the data's store would change the data (it wrote over X's metadata).
    store = tmp_path / "ok.zarr"
    files = {f: f.read_bytes() for f in store.rglob("*") if f.is_file()}
    for out in (sorted(files)[0], store / "m.npz", tmp_path / "ln" / "m.npz"):
        (tmp_path / "ln").unlink(missing_ok=True)
        (tmp_path / "ln").symlink_to(store)
        assert main(["train", "--data", str(store), "--iterations", "1", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "lies inside the --data folder" in err, err
    assert {f: f.read_bytes() for f in store.rglob("*") if f.is_file()} == files


# Runs `fastdnn train` on argv[1:] with the address space capped at 200 MiB above the
# warmed-up interpreter.
CAPPED_CLI = r"""
import resource, sys
import h5py
import fastdnn
from fastdnn.cli import main
fastdnn.warmup(["float64"])
vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + 200 * 2**20,) * 2)
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not LINUX, reason="RLIMIT_AS and /proc: Linux")
def test_cli_trains_an_hdf5_file_larger_than_the_memory_by_blocks(tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "big.h5", "w") as f:  # 256 MiB declared, a small file
        f.create_dataset("X", shape=(64, 2**19), dtype="f8", chunks=(64, 2**14))
        f.create_dataset("Y", shape=(1, 2**19), dtype="f8")
    env = dict(os.environ, FASTDNN_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-c", CAPPED_CLI, "train", "--data", "big.h5",
                             "--layers", "4", "--iterations", "2", "--out", "m.npz"],
                            cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    # Read whole, the file was refused: "needs 256.0 MiB but only ... is available".
    assert result.returncode == 0, result.stderr
    assert "trained out of core, in blocks of" in result.stdout, result.stdout
    assert "note: blocks of" in result.stdout  # smaller than the default, to fit the cap
    assert DNN.load(tmp_path / "m.npz").n_steps_ == 2


def test_a_callback_on_out_of_core_data_sees_the_model_as_it_is(tmp_path):
    # As in memory: the step count and optimizer state go with the parameters it sees.
    X, Y = data()
    seen = []

    def look(iteration, cost, model):
        seen.append((iteration, model.n_steps_, model._optimizer.t))

    net = DNN([5, 3, 1], seed=0)
    net.fit(memmap_of(tmp_path, X), memmap_of(tmp_path, Y, "Y.npy"), learning_rate=0.1,
            num_iterations=9, cost_every=3, optimizer="adam", callbacks=[look])  # fmt: skip
    assert [i for i, _, _ in seen] == [0, 3, 6]
    assert all(i < steps <= 9 and t == steps for i, steps, t in seen), seen
    assert net.n_steps_ == 9 and net._optimizer.t == 9


@pytest.mark.parametrize("nth_read", [3, 5])
def test_ctrl_c_in_an_out_of_core_fit_leaves_the_model_a_fit_stopped_there_leaves(
    tmp_path, monkeypatch, nth_read
):
    # The interrupted chunk had drawn a block order or a block's shuffle: going back to the
    # last whole step left the generator ahead (training on differed by 3e-2 after 20 steps).
    X, Y = data(m=120)
    Xm, Ym = memmap_of(tmp_path, X), memmap_of(tmp_path, Y, "Y.npy")
    kw = dict(learning_rate=0.01, batch_size=20, optimizer="adam", block_size=40, cost_every=7)
    real_get, reads = blocks.Reader.get, []

    def interrupted_get(self, k, then=None):
        reads.append(k)
        if len(reads) == nth_read:
            raise KeyboardInterrupt
        return real_get(self, k, then)

    monkeypatch.setattr(blocks.Reader, "get", interrupted_get)
    net = DNN([5, 4, 1], seed=0)
    with pytest.warns(RuntimeWarning, match="training interrupted"):
        h = blocks.fit(net, Xm, Ym, num_iterations=60, **kw)
    monkeypatch.undo()
    assert h.stop_reason == "interrupted" and 0 < net.n_steps_ < 60
    stopped_there = DNN([5, 4, 1], seed=0)
    blocks.fit(stopped_there, Xm, Ym, num_iterations=net.n_steps_, **kw)
    assert net._theta.tobytes() == stopped_there._theta.tobytes()
    assert net._rng.bit_generator.state == stopped_there._rng.bit_generator.state
    assert net._optimizer.t == stopped_there._optimizer.t
    blocks.fit(net, Xm, Ym, num_iterations=20, **kw)
    blocks.fit(stopped_there, Xm, Ym, num_iterations=20, **kw)
    assert net._theta.tobytes() == stopped_there._theta.tobytes()


def test_predict_and_score_read_an_out_of_core_x_by_blocks(tmp_path, monkeypatch):
    """DNN.predict_proba / predict / score take an out-of-core X as fit does: by blocks (they
    converted the whole X in memory first: 525 MiB for a 512 MiB memmap in a review)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (20, 20000)).astype(np.float32)  # a float64 model converts it
    Y = (rng.random((1, 20000)) < 0.5).astype(np.float64)
    Xm = memmap_of(tmp_path, X)
    net = DNN([20, 8, 1], seed=0)
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 64 * 1024)
    net.predict_proba(Xm)  # compiled and warm
    peaks = []
    for source in (Xm, X):
        tracemalloc.start()
        net.predict_proba(source)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    whole = X.size * 8  # X in the model's dtype
    assert peaks[0] < whole / 4 < whole < peaks[1]
    assert_allclose(net.predict_proba(Xm), net.predict_proba(X), rtol=1e-12)
    assert np.array_equal(net.predict(Xm), net.predict(X))
    assert net.score(Xm, Y) == net.score(X, Y) == net.score(X, memmap_of(tmp_path, Y, "Y.npy"))
