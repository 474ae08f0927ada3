"""Epochs across fits (fastdnn._epochs): a fit with another schedule starts a whole epoch, and
the learning-rate decay counts the epochs the model has begun, whatever each fit's batches."""

import copy
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastdnn import DNN, blocks, model_backward, model_forward
from fastdnn._epochs import EpochSchedule, schedule_for_fit
from fastdnn.backends import get_stepper


def data(m, n_x=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_x, m))
    return X, (X[:1] + 0.3 * rng.normal(size=(1, m)) > 0).astype(float)


# ----------------------------------------------------------------------------- the rule
def test_schedule_for_fit_rule():
    def fit(m, batch_size, nb, source="memory", shuffle=True):
        return EpochSchedule(source, m, batch_size, nb, shuffle and batch_size is not None)

    fresh = schedule_for_fit(None, 0, fit(10, 4, 3), 5)
    assert fresh == EpochSchedule("memory", 10, 4, 3, True, 0)
    # Same schedule: goes on, mid-epoch included (step 5 is batch 2 of epoch 1).
    assert schedule_for_fit(fresh, 5, fit(10, 4, 3), 5) is fresh
    # Another m: a new epoch; epoch 1, begun at step 5, counts: the fit starts epoch 2.
    other = schedule_for_fit(fresh, 5, fit(7, 4, 2), 5)
    assert (5 + other.offset) % 2 == 0 and (5 + other.offset) // 2 == 2
    # The same batches without the shuffle are another schedule too.
    in_order = schedule_for_fit(fresh, 5, fit(10, 4, 3, shuffle=False), 5)
    assert (5 + in_order.offset) == 2 * 3 and not in_order.shuffle
    # At an epoch's end nothing is skipped: 6 steps are epochs 0 and 1, the fit starts epoch 2.
    at_end = schedule_for_fit(fresh, 6, fit(10, None, 1), 5)
    assert 6 + at_end.offset == 2
    # Out of core and on a cluster, every fit starts an epoch, even on the same schedule.
    by_blocks = schedule_for_fit(None, 0, fit(10, 4, 3, "blocks"), 5)
    again = schedule_for_fit(by_blocks, 4, fit(10, 4, 3, "blocks"), 5)
    assert (4 + again.offset) == 2 * 3
    # Steps past 2**62 (a model file claiming so many epochs): refused before any work,
    # whether the fit continues the schedule or starts the next epoch.
    huge = EpochSchedule("memory", 10, None, 1, False, 2**62 - 10)
    for batch_size, nb in ((None, 1), (4, 3)):
        with pytest.raises(ValueError, match=r"a fit of 5 steps from n_steps_=5 .* past 2\*\*62"):
            schedule_for_fit(huge, 5, fit(10, batch_size, nb), 5)
    with pytest.raises(ValueError, match=r"past 2\*\*62 steps; set n_steps_ to restart"):
        schedule_for_fit(None, 2**62 - 3, fit(10, None, 1), 3)
    assert schedule_for_fit(None, 2**62 - 4, fit(10, None, 1), 3).offset == 0


# ------------------------------------------------------------- which examples a fit sees
def spy_batches(monkeypatch, backend, batch_size):
    """The example indices of every mini-batch step the backend's stepper takes."""
    cls = get_stepper(backend)
    real = cls.minibatch
    seen = []

    def minibatch(self, order, first, k, lr, want_cost):
        for b in range(first, first + k):
            seen.append(np.array(order[b * batch_size : (b + 1) * batch_size]))
        return real(self, order, first, k, lr, want_cost)

    monkeypatch.setattr(cls, "minibatch", minibatch)
    return seen


@pytest.mark.parametrize("backend", ["numpy", "jit"])
def test_one_epoch_on_other_data_passes_over_all_of_it(monkeypatch, backend):
    """The partial_fit case: 600 rows after 1000 (batches of 256) used to begin at batch
    4 % 3 = 1 and see 456 distinct rows of the 600."""
    X1, Y1 = data(1000)
    X2, Y2 = data(600, seed=1)
    net = DNN([3, 4, 1], backend=backend, seed=0)
    net.fit(X1, Y1, learning_rate=0.1, epochs=1, batch_size=256)
    seen = spy_batches(monkeypatch, backend, 256)
    net.fit(X2, Y2, learning_rate=0.1, epochs=1, batch_size=256)
    assert net.n_steps_ == 4 + 3
    rows = np.concatenate(seen)
    assert len(seen) == 3 and np.array_equal(np.sort(rows), np.arange(600))


def test_a_fit_on_the_same_data_still_goes_on_mid_epoch(monkeypatch):
    X, Y = data(10)
    net = DNN([3, 4, 1], backend="numpy", seed=0)
    net.fit(X, Y, learning_rate=0.1, num_iterations=2, batch_size=4)
    seen = spy_batches(monkeypatch, "numpy", 4)
    net.fit(X, Y, learning_rate=0.1, num_iterations=1, batch_size=4)
    assert len(seen[0]) == 2  # batch 2 of 3: the epoch's last two examples


def test_a_fit_without_the_shuffle_starts_an_epoch(monkeypatch):
    X, Y = data(10)
    net = DNN([3, 4, 1], backend="numpy", seed=0)
    net.fit(X, Y, learning_rate=0.1, num_iterations=2, batch_size=4)  # mid-epoch, shuffled
    seen = spy_batches(monkeypatch, "numpy", 4)
    net.fit(X, Y, learning_rate=0.1, num_iterations=3, batch_size=4, shuffle=False)
    assert np.array_equal(np.concatenate(seen), np.arange(10))  # the whole epoch, in order


def test_sklearn_partial_fit_on_uneven_blocks_is_one_pass_each(monkeypatch):
    pytest.importorskip("sklearn")
    from fastdnn.sklearn import DNNClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1600, 5))
    y = (X[:, 0] > 0).astype(int)
    clf = DNNClassifier((8,), batch_size=256, solver="sgd", random_state=0, backend="numpy")
    clf.partial_fit(X[:1000], y[:1000], classes=[0, 1])
    seen = spy_batches(monkeypatch, "numpy", 256)
    clf.partial_fit(X[1000:], y[1000:])
    assert np.array_equal(np.sort(np.concatenate(seen)), np.arange(600))


# ------------------------------------------------------------------------- the decay
def gd_step(params, X, Y, lr):
    """One plain gradient-descent step by the course's functions (relu, sigmoid)."""
    AL, caches = model_forward(X, dict(params), backend="numpy")
    grads = model_backward(AL, Y, caches, backend="numpy")
    return {k: params[k] - lr * grads["d" + k] for k in params}


def first_order(net, m):
    """The permutation the model's next epoch draws (a copy of its generator)."""
    g = np.random.Generator(np.random.PCG64())
    g.bit_generator.state = net._rng.bit_generator.state
    return g.permutation(m)


def test_decay_counts_the_epochs_begun_across_schedules():
    X1, Y1 = data(10)
    X2, Y2 = data(7, seed=1)
    net = DNN([3, 4, 1], backend="jit", seed=0)
    kw = {"learning_rate": 0.5, "decay_rate": 1.0}
    net.fit(X1, Y1, num_iterations=2, batch_size=4, **kw)  # 2 steps of epoch 0
    # Full batch on other data: epoch 1 (the begun epoch 0 counts), so lr 0.5 / 2; counted
    # from the step count (2 full-batch epochs) it was 0.5 / 3.
    before = {k: v.copy() for k, v in net.params.items()}
    net.fit(X2, Y2, num_iterations=1, **kw)
    expected = gd_step(before, X2, Y2, 0.5 / 2)
    for k in expected:
        assert_allclose(net.params[k], expected[k], rtol=1e-12, atol=1e-15, err_msg=k)
    # Mini-batches again: epoch 2 (lr 0.5 / 3), from its first batch.
    before = {k: v.copy() for k, v in net.params.items()}
    cols = first_order(net, 10)[:4]
    net.fit(X1, Y1, num_iterations=1, batch_size=4, **kw)
    expected = gd_step(before, X1[:, cols], Y1[:, cols], 0.5 / 3)
    for k in expected:
        assert_allclose(net.params[k], expected[k], rtol=1e-12, atol=1e-15, err_msg=k)


def test_out_of_core_fits_count_the_epochs_begun_in_memory(tmp_path):
    X, Y = data(10)
    np.save(tmp_path / "X.npy", X)
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    net = DNN([3, 4, 1], seed=0)
    net.fit(X, Y, learning_rate=0.5, num_iterations=2, batch_size=4, decay_rate=1.0)
    before = {k: v.copy() for k, v in net.params.items()}
    blocks.fit(net, Xm, Y, learning_rate=0.5, num_iterations=1, block_size=4, decay_rate=1.0)
    expected = gd_step(before, X, Y, 0.5 / 2)  # epoch 1, as in memory
    for k in expected:
        assert_allclose(net.params[k], expected[k], rtol=1e-12, atol=1e-15, err_msg=k)
    assert net._epochs.source == "blocks"


# ------------------------------------------------------------- a model keeps its epochs
@pytest.mark.parametrize("save_after", [1, 2])
def test_saved_and_loaded_between_fits_equals_training_on(tmp_path, save_after):
    X1, Y1 = data(10)
    X2, Y2 = data(7, seed=1)
    fits = [
        (X1, Y1, {"num_iterations": 2, "batch_size": 4}),
        (X2, Y2, {"num_iterations": 3, "batch_size": 4}),
        (X1, Y1, {"num_iterations": 5, "batch_size": 4}),
    ]
    kw = {"learning_rate": 0.3, "optimizer": "adam", "decay_rate": 0.7}
    on = DNN([3, 4, 1], seed=2)
    for X, Y, f in fits:
        on.fit(X, Y, **f, **kw)
    net = DNN([3, 4, 1], seed=2)
    for i, (X, Y, f) in enumerate(fits):
        if i == save_after:
            net.save(tmp_path / "m.npz")
            net = DNN.load(tmp_path / "m.npz")
        net.fit(X, Y, **f, **kw)
    assert net._epochs == on._epochs
    assert net._theta.tobytes() == on._theta.tobytes()
    assert net._rng.bit_generator.state == on._rng.bit_generator.state


def test_copies_keep_the_epochs_and_old_pickles_load():
    X, Y = data(10)
    net = DNN([3, 4, 1], seed=0)
    net.fit(X, Y, learning_rate=0.1, num_iterations=2, batch_size=4)
    assert copy.deepcopy(net)._epochs == net._epochs == EpochSchedule("memory", 10, 4, 3, True, 0)
    state = net.__getstate__()
    del state["_epochs"]  # as pickled before models kept their epochs
    old = DNN.__new__(DNN)
    old.__setstate__(state)
    assert old._epochs is None
    assert pickle.loads(pickle.dumps(net))._epochs == net._epochs


@pytest.mark.parametrize("where", ["memory", "blocks"])
def test_a_fit_that_takes_no_step_keeps_the_models_epochs(monkeypatch, tmp_path, where):
    X, Y = data(10)
    net = DNN([3, 4, 1], backend="numpy", seed=0)
    net.fit(X, Y, learning_rate=0.1, num_iterations=2, batch_size=4)
    kept = net._epochs

    def broken(*args, **kwargs):
        raise RuntimeError("the first step fails")

    monkeypatch.setattr(get_stepper("numpy"), "full_batch", broken)
    X7, Y7 = X[:, :7].copy(), Y[:, :7].copy()
    if where == "blocks":
        np.save(tmp_path / "X.npy", X7)
        X7 = np.load(tmp_path / "X.npy", mmap_mode="r")
    with pytest.raises(RuntimeError, match="the first step fails"):
        net.fit(X7, Y7, learning_rate=0.1, num_iterations=1)
    assert net.n_steps_ == 2 and net._epochs is kept


def test_setting_n_steps_restarts_the_count_of_epochs(tmp_path):
    X, Y = data(10)
    kw = {"learning_rate": 0.5, "decay_rate": 1.0}
    net = DNN([3, 4, 1], seed=0)
    net.fit(X, Y, num_iterations=3, **kw)  # 3 full-batch epochs
    net.fit(X, Y, num_iterations=1, batch_size=4, **kw)  # epoch 3 (offset 3 * 3 - 3 = 6)
    net.n_steps_ = 0  # the user's count: epochs from here as from step 0
    assert net._epochs is None
    before = {k: v.copy() for k, v in net.params.items()}
    net.fit(X, Y, num_iterations=1, **kw)
    expected = gd_step(before, X, Y, 0.5)  # epoch 0 again (it stayed epoch 4: lr 0.5 / 5)
    for k in expected:
        assert_allclose(net.params[k], expected[k], rtol=1e-12, atol=1e-15, err_msg=k)
    # A negative offset (one epoch of 3 batches, then full batch) with the count set back
    # below it: the model saves (the file's step would have been negative) and loads.
    other = DNN([3, 4, 1], seed=0)
    other.fit(X, Y, epochs=1, batch_size=4, **kw)
    other.fit(X, Y, num_iterations=1, **kw)
    assert other._epochs.offset == 1 - 3
    other.n_steps_ = 1
    assert DNN.load(other.save(tmp_path / "m.npz"))._epochs is None


def test_cost_records_stay_at_the_same_places_in_the_epochs():
    X1, Y1 = data(1000)
    X2, Y2 = data(600, seed=1)
    net = DNN([3, 4, 1], seed=0)
    net.fit(X1, Y1, learning_rate=0.1, epochs=1, batch_size=256)  # steps 0-3
    history = net.fit(X2, Y2, learning_rate=0.1, epochs=3, batch_size=256, cost_every=3)
    assert history.iterations == [4, 7, 10]  # each epoch's first batch (3 batches an epoch)
