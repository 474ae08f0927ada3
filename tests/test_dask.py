"""Training on a Dask cluster (fastdnn.dask) and the scikit-learn estimators under dask-ml.

One ``LocalCluster`` of two single-threaded worker processes serves the whole module. The
oracles are in-memory training on the same examples: full-batch steps on the whole set, and for
large batches the schedule the module documents, replayed here with the in-memory engine.
"""

import logging
import os
import signal
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastdnn
from fastdnn import DNN, blocks

from .conftest import tolerance

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
fdask = pytest.importorskip("fastdnn.dask")


def data(n_x=5, m=103, n_y=1, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n_x, m)).astype(dtype)
    Y = (rng.random((n_y, m)) < 0.5).astype(dtype)
    return X, Y


@pytest.fixture(scope="module")
def cluster():
    # Compile here first: the workers then load the kernels from Numba's cache instead of
    # compiling them twice at once.
    fastdnn.warmup()
    for dtype in ("float64", "float32"):
        X, Y = data(m=20, dtype=dtype)
        blocks.fit(DNN([5, 2, 1], dtype=dtype), X, Y, num_iterations=1, block_size=7)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=None, silence_logs=logging.CRITICAL) as lc,
        distributed.Client(lc) as client,
    ):  # fmt: skip
        yield client
        # The fault tests kill workers last: let the nannies finish their restarts before the
        # cluster closes (closing a nanny mid-restart can raise in the teardown).
        try:
            client.wait_for_workers(2, timeout=60)
        except (TimeoutError, OSError):
            pass


@pytest.fixture
def client(cluster):
    """The cluster with two live workers: a worker killed by a test is replaced first."""
    deadline = time.monotonic() + 60
    while len(cluster.run(os.getpid, on_error="ignore")) < 2:
        assert time.monotonic() < deadline, "the cluster did not get two workers back"
        time.sleep(0.1)
    return cluster


def kill_workers(client, count=1):
    """SIGKILL ``count`` worker processes (their nannies start new ones)."""
    pids = client.run(os.getpid, on_error="ignore")
    for pid in sorted(pids.values())[:count]:
        os.kill(pid, signal.SIGKILL)


# ------------------------------------------------------------------------- full batch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_full_batch_on_the_cluster_equals_single_machine_training(client, dtype):
    X, Y = data(dtype=dtype)
    ref = DNN([5, 4, 3, 1], hidden="tanh", dtype=dtype, seed=1)
    ref.fit(X, Y, learning_rate=0.5, num_iterations=12, cost_every=4)
    net = DNN([5, 4, 3, 1], hidden="tanh", dtype=dtype, seed=1)
    Xd = da.from_array(X, chunks=(5, 37))  # three uneven blocks: 37, 37, 29
    history = fdask.fit(net, Xd, Y, client=client, learning_rate=0.5, num_iterations=12,
                        cost_every=4)  # fmt: skip
    rtol, atol = tolerance(dtype)
    for key in ref.params:  # the block gradients are added in another order: rounding
        assert_allclose(net.params[key], ref.params[key], rtol=rtol * 100, atol=atol * 100)
    assert history.iterations == [0, 4, 8] and net.n_steps_ == 12
    assert_allclose(history.costs, ref.history_.costs, rtol=rtol * 100)
    assert net._theta.dtype == np.dtype(dtype)


def test_a_model_trained_on_the_cluster_is_an_ordinary_dnn(client, tmp_path):
    X, Y = data()
    net = DNN([5, 4, 1], seed=0, backend="numpy")
    fdask.fit(net, da.from_array(X, chunks=(5, 50)), Y[0], client=client, learning_rate=0.3,
              num_iterations=5)  # fmt: skip
    path = net.save(tmp_path / "m.npz")
    back = DNN.load(path, backend="numpy")
    assert back.n_steps_ == 5 and back.history_.n_steps == 5
    assert np.array_equal(back.predict_proba(X), net.predict_proba(X))
    net.fit(X, Y, learning_rate=0.3, num_iterations=2)  # and trains on, in memory
    assert net.n_steps_ == 7


# The Course-2 settings the cluster applies to the reduced gradient (the engine's update code).
COURSE2 = {
    "adam": {"optimizer": "adam"},
    "l2": {"lambd": 0.7},
    "momentum-decay-l2": {"optimizer": "momentum", "decay_rate": 0.5, "lambd": 0.2},
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("settings", list(COURSE2))
def test_course2_on_the_cluster_equals_single_machine_training(client, dtype, settings):
    X, Y = data(dtype=dtype)
    kw = COURSE2[settings]
    ref = DNN([5, 4, 3, 1], hidden="tanh", dtype=dtype, seed=1)
    ref.fit(X, Y, learning_rate=0.05, num_iterations=12, cost_every=4, **kw)
    net = DNN([5, 4, 3, 1], hidden="tanh", dtype=dtype, seed=1)
    Xd = da.from_array(X, chunks=(5, 37))  # three uneven blocks: 37, 37, 29
    history = fdask.fit(net, Xd, Y, client=client, learning_rate=0.05, num_iterations=12,
                        cost_every=4, **kw)  # fmt: skip
    rtol, atol = tolerance(dtype)
    for key in ref.params:  # the block gradients are added in another order: rounding
        assert_allclose(net.params[key], ref.params[key], rtol=rtol * 100, atol=atol * 100)
    assert_allclose(history.costs, ref.history_.costs, rtol=rtol * 100)  # L2 term included
    assert net._optimizer.name == ref._optimizer.name and net._optimizer.t == ref._optimizer.t
    for key, state in ref._optimizer.arrays().items():
        assert_allclose(getattr(net._optimizer, key), state, rtol=rtol * 100, atol=atol * 100)
    # The state is the model's: a second fit continues it, as in memory.
    ref.fit(X, Y, learning_rate=0.05, num_iterations=3, **kw)
    fdask.fit(net, Xd, Y, client=client, learning_rate=0.05, num_iterations=3, **kw)
    assert net.n_steps_ == ref.n_steps_ == 15
    for key in ref.params:
        assert_allclose(net.params[key], ref.params[key], rtol=rtol * 100, atol=atol * 100)


def test_the_cluster_counts_the_epochs_begun_in_memory(client):
    """A fit on the cluster starts an epoch: after 2 steps of a 3-batch epoch in memory, the
    decay's epoch is 1 (it was the step count, 2, before models kept their epochs)."""
    X, Y = data(m=12)
    net = DNN([5, 4, 1], seed=0)
    net.fit(X, Y, learning_rate=0.5, num_iterations=2, batch_size=4, decay_rate=1.0)
    before = {k: v.copy() for k, v in net.params.items()}
    fdask.fit(net, da.from_array(X, chunks=(5, 5)), Y, client=client, learning_rate=0.5,
              num_iterations=1, decay_rate=1.0)  # fmt: skip
    AL, caches = fastdnn.model_forward(X, dict(before), backend="numpy")
    grads = fastdnn.model_backward(AL, Y, caches, backend="numpy")
    for k in before:
        assert_allclose(net.params[k], before[k] - 0.5 / 2 * grads["d" + k], rtol=1e-12,
                        atol=1e-15)  # fmt: skip
    assert net._epochs.source == "dask" and net.n_steps_ == 3


def test_softmax_output_on_the_cluster(client):
    X, _ = data(m=101)
    labels = np.random.default_rng(3).integers(0, 3, 101)
    Y = np.eye(3)[:, labels]  # one-hot (3, m)
    ref = DNN([5, 4, 3], output="softmax", seed=1)
    ref.fit(X, Y, learning_rate=0.01, num_iterations=10, optimizer="adam")
    net = DNN([5, 4, 3], output="softmax", seed=1)
    Xd = da.from_array(X, chunks=(5, 35))  # 35, 35, 31
    seen = []  # a callback sees the step count and Adam's t that go with the parameters

    def look(iteration, cost, model):
        seen.append((model.n_steps_, model._optimizer.t))

    fdask.fit(net, Xd, Y, client=client, learning_rate=0.01, num_iterations=10, optimizer="adam",
              cost_every=4, callbacks=[look])  # fmt: skip
    assert seen and all(steps == t > 0 for steps, t in seen), seen
    assert net.n_steps_ == net._optimizer.t == 10
    for key in ref.params:
        assert_allclose(net.params[key], ref.params[key], rtol=1e-10, atol=1e-12)
    assert np.array_equal(fdask.predict(net, Xd).compute(), net.predict(X))
    assert fdask.score(net, Xd, Y) == net.score(X, Y) == ref.score(X, Y)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"keep_prob": 0.8}, r"keep_prob must be 1.0 \(no dropout\) when training on a Dask "
                             r"cluster; got 0.8"),
        ({"early_stopping": True}, "early_stopping must be False when training on a Dask "
                                   "cluster; got True.*callbacks="),
        ({"optimizer": "adagrad"}, "optimizer must be one of"),
    ],
    ids=["dropout", "early-stopping", "unknown-optimizer"],
)  # fmt: skip
def test_what_the_cluster_cannot_do_is_refused_before_any_step(client, option, message):
    X, Y = data()
    net = DNN([5, 4, 1], seed=0)
    before = net._theta.copy()
    with pytest.raises(ValueError, match=message):
        fdask.fit(net, da.from_array(X, chunks=(5, 37)), Y, client=client, num_iterations=3,
                  **option)  # fmt: skip
    assert np.array_equal(net._theta, before) and net.n_steps_ == 0 and net._optimizer is None


# ------------------------------------------------------------------------- large batches
def replay_large_batches(X, Y, seed, widths, batch_size, steps, lr):
    """The documented schedule: step j of epoch e takes, from every block k, the examples
    perm_k[j*m_k//nb : (j+1)*m_k//nb], perm_k = default_rng([seed, e, k]).permutation(m_k)."""
    ref = DNN([X.shape[0], 4, 1], seed=1)
    m = X.shape[1]
    nb = -(-m // batch_size)
    starts = np.cumsum([0, *widths])
    for t in range(steps):
        e, j = divmod(t, nb)
        idx = []
        for k, w in enumerate(widths):
            perm = np.random.default_rng([seed, e, k]).permutation(w)
            idx.extend(starts[k] + perm[j * w // nb : (j + 1) * w // nb])
        ref.fit(X[:, idx], Y[:, idx], learning_rate=lr, num_iterations=1)
    return ref


def test_large_batches_follow_the_documented_schedule_and_seed(client):
    X, Y = data(m=103)
    nets = [DNN([5, 4, 1], seed=1) for _ in range(2)]
    seed = int(DNN([5, 4, 1], seed=1)._rng.integers(2**63))  # what fit draws first
    for net in nets:
        fdask.fit(net, da.from_array(X, chunks=(5, 37)), Y, client=client, learning_rate=0.3,
                  epochs=2, batch_size=25)  # fmt: skip
    assert nets[0].n_steps_ == 2 * 5  # ceil(103 / 25) steps per epoch
    assert np.array_equal(nets[0]._theta, nets[1]._theta)  # same seed, same bits
    ref = replay_large_batches(X, Y, seed, [37, 37, 29], 25, 10, 0.3)
    for key in ref.params:
        assert_allclose(nets[0].params[key], ref.params[key], rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------- errors
def test_bad_input_is_refused_before_any_step(client):
    X, Y = data()
    net = DNN([5, 4, 1], seed=0)
    before = net._theta.copy()
    Xd = da.from_array(X, chunks=(5, 30))
    bad = X.copy()
    bad[1, 70] = np.inf
    with pytest.raises(ValueError, match=r"X\[:, 60:90\] \(block 2\) must be finite"):
        fdask.fit(net, da.from_array(bad, chunks=(5, 30)), Y, client=client, num_iterations=3)
    with pytest.raises(ValueError, match=r"Y\[:, 0:30\] \(block 0\) must hold binary labels"):
        fdask.fit(net, Xd, Y * 2, client=client, num_iterations=3)
    with pytest.raises(ValueError, match=r"X must have shape \(n_x, m\) = \(5, m >= 1\).*X\.T"):
        fdask.fit(net, Xd.T, Y, client=client, num_iterations=3)
    with pytest.raises(ValueError, match=r"Y must have shape \(n_y, m\) = \(1, 103\)"):
        fdask.fit(net, Xd, Y[:, :9], client=client, num_iterations=3)
    with pytest.raises(ValueError, match="large-batch training needs epochs"):
        fdask.fit(net, Xd, Y, client=client, batch_size=10)
    with pytest.raises(TypeError, match=r"callbacks must be a list .*; callbacks\[0\] is int"):
        fdask.fit(net, Xd, Y, client=client, num_iterations=3, callbacks=[1])
    with pytest.raises(TypeError, match=r"epochs must be a positive integer; got 2.5"):
        fdask.fit(net, Xd, Y, client=client, num_iterations=3, epochs=2.5)
    with pytest.raises(TypeError, match=r"print_cost must be True or False; got 'yes'"):
        fdask.fit(net, Xd, Y, client=client, num_iterations=3, print_cost="yes")
    with pytest.raises(TypeError, match="client must be a distributed.Client; got str"):
        fdask.fit(net, Xd, Y, client="tcp://localhost:8786", num_iterations=3)
    assert np.array_equal(net._theta, before) and net.n_steps_ == 0
    # A refused fit leaves nothing on the workers (its error's traceback used to keep the
    # prepared data persisted there for as long as the exception lived).
    with pytest.raises(ValueError, match="must hold binary labels") as err:
        fdask.fit(net, Xd, Y * 2, client=client, num_iterations=3)
    assert err.value is not None and not client.who_has()


def test_two_fits_on_the_same_data_at_once_through_one_client(client):
    """Two threads, one client, one X: each fit prepares the data under keys of its own (they
    shared keys, and the first fit to finish cancelled the other's blocks)."""
    import threading

    X, Y = data(m=400)
    Xd = da.from_array(X, chunks=(5, 100))
    nets = [DNN([5, 4, 1], seed=1), DNN([5, 3, 1], seed=2)]
    errors = []

    def long_fit():
        try:
            fdask.fit(nets[0], Xd, Y, client=client, num_iterations=60)
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=long_fit)
    thread.start()
    fdask.fit(nets[1], Xd, Y, client=client, num_iterations=2)
    thread.join()
    assert errors == [] and nets[0].n_steps_ == 60 and nets[1].n_steps_ == 2
    alone = DNN([5, 4, 1], seed=1)
    fdask.fit(alone, Xd, Y, client=client, num_iterations=60)
    assert np.array_equal(alone._theta, nets[0]._theta)


# ------------------------------------------------------------------------- inference
def test_predict_and_score_blockwise_on_dask_arrays(client):
    X, Y = data()
    net = DNN([5, 4, 1], seed=0)
    net.fit(X, Y, learning_rate=0.5, num_iterations=30)
    Xd = da.from_array(X, chunks=(5, 40))
    P = fdask.predict_proba(net, Xd)
    assert isinstance(P, da.Array) and P.chunks == ((1,), (40, 40, 23))
    assert_allclose(P.compute(), net.predict_proba(X), rtol=1e-12)
    assert np.array_equal(fdask.predict(net, Xd).compute(), net.predict(X))
    assert fdask.score(net, Xd, da.from_array(Y[0], chunks=50)) == net.score(X, Y)
    reg = DNN([5, 3, 2], output="linear", seed=0)
    Yr = np.random.default_rng(1).normal(size=(2, 103))
    reg.fit(X, Yr, learning_rate=0.1, num_iterations=20)
    assert_allclose(fdask.score(reg, Xd, Yr), reg.score(X, Yr), rtol=1e-10)
    # Y is checked as DNN.score checks it (it used to score labels of 2 and NaN as numbers).
    bad = Y.copy()
    bad[0, 90] = 2.0
    with pytest.raises(ValueError, match=r"Y \(block 2\) must hold binary labels 0 or 1"):
        fdask.score(net, Xd, bad)
    with pytest.raises(ValueError, match=r"Y \(block 0\) must be finite"):
        fdask.score(net, Xd, np.full((1, 103), np.nan))
    with pytest.raises(ValueError, match=r"Y must have shape \(n_y, m\) = \(1, 103\)"):
        fdask.score(net, Xd, Y[:, :60])
    soft = DNN([5, 4, 3], output="softmax", seed=0)
    labels = np.random.default_rng(2).integers(0, 3, 103)
    assert fdask.score(soft, Xd, labels) == soft.score(X, labels)
    assert fdask.score(soft, Xd, np.eye(3)[labels].T) == soft.score(X, labels)
    multi = DNN([5, 4, 3], seed=0)  # multi-label: subset accuracy, as DNN.score
    Ym = (np.random.default_rng(3).random((3, 103)) > 0.5).astype(np.float64)
    multi.fit(X, Ym, learning_rate=0.3, num_iterations=20)
    assert fdask.score(multi, Xd, Ym) == multi.score(X, Ym)
    # Unknown chunk sizes (a boolean mask's result) are named, with the way out.
    unknown = Xd[:, Xd[0] > -2]
    for call in (net.predict, fastdnn.blocks.moments):
        with pytest.raises(ValueError, match=r"X has unknown chunk sizes .*compute_chunk_sizes"):
            call(unknown)
    with pytest.raises(ValueError, match=r"X has unknown chunk sizes"):
        net.fit(unknown, Y, num_iterations=1)


# ------------------------------------------------------------------------- scikit-learn
@pytest.fixture(scope="module")
def separable():
    """A linearly separable set of 6,000 rows, standardised, in four blocks of rows."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6000, 10))
    y = (X @ rng.normal(size=10) > 0).astype(int)
    return X, y, da.from_array(X, chunks=(1500, 10)), da.from_array(y, chunks=1500)


def test_incremental_recipe_partial_fit_once_per_epoch_keeps_training(client, separable):
    """The recipe of fastdnn.sklearn's docstring. ``Incremental.fit`` starts from a fresh clone
    on every call, so calling it once per epoch trains one pass in all."""
    pytest.importorskip("dask_ml")
    from dask_ml.wrappers import Incremental

    from fastdnn.sklearn import DNNClassifier

    X, y, Xd, yd = separable
    est = DNNClassifier((16,), batch_size=256, learning_rate_init=0.1, random_state=0)
    recipe, pitfall = Incremental(est, random_state=0), Incremental(est, random_state=0)
    for _epoch in range(3):
        recipe.partial_fit(Xd, yd, classes=[0, 1])  # the documented recipe
        pitfall.fit(Xd, yd, classes=[0, 1])  # what the docstring used to say
    assert recipe.estimator_.n_iter_ == 3 * 4  # every block of every epoch, continuing
    assert pitfall.estimator_.n_iter_ == 4  # one pass: each fit began afresh
    assert recipe.score(Xd, yd) > pitfall.score(Xd, yd) + 0.1  # measured 0.86 and 0.72
    # Prediction is blockwise: a dask array, one task per block, equal to predicting in memory.
    P = recipe.predict(Xd)
    assert isinstance(P, da.Array) and P.chunks == ((1500,) * 4,)
    assert np.array_equal(P.compute(), recipe.estimator_.predict(X))


def test_grid_search_with_joblibs_dask_backend(client, separable):
    joblib = pytest.importorskip("joblib")
    from sklearn.model_selection import GridSearchCV

    from fastdnn.sklearn import DNNClassifier

    X, y, _, _ = separable
    X, y = X[:600], y[:600]
    grid = {"learning_rate_init": [0.01, 1.0]}
    search = GridSearchCV(DNNClassifier((8,), max_iter=50, random_state=0), grid, cv=2)
    with joblib.parallel_backend("dask"):
        search.fit(X, y)
    local = GridSearchCV(DNNClassifier((8,), max_iter=50, random_state=0), grid, cv=2).fit(X, y)
    assert search.best_params_ == local.best_params_ == {"learning_rate_init": 1.0}
    assert_allclose(search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
    assert search.best_estimator_.score(X, y) > 0.9


# ------------------------------------------------------------------------- command line
def test_cli_trains_a_zarr_folder_on_the_scheduler(client, tmp_path, capsys):
    zarr = pytest.importorskip("zarr")
    from fastdnn.cli import main

    X, Y = data(m=300)
    zarr.save_group(str(tmp_path / "d.zarr"), X=X, Y=Y)  # the workers read it by its path
    address = client.scheduler.address
    assert main(["train", "--data", str(tmp_path / "d.zarr"), "--layers", "4", "--lr", "0.5",
                 "--iterations", "6", "--block-size", "70", "--scheduler", address,
                 "--out", str(tmp_path / "m.npz")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert f"connected to the Dask scheduler at {address}: 2 workers" in out
    assert "trained on the Dask cluster" in out and "trained 6 iterations" in out
    ref = DNN([5, 4, 1], seed=1)  # the command's default seed
    ref.fit(X, Y, learning_rate=0.5, num_iterations=6)
    assert_allclose(DNN.load(tmp_path / "m.npz")._theta, ref._theta, rtol=1e-10, atol=1e-12)


def test_cli_trains_softmax_with_adam_on_the_scheduler(client, tmp_path, capsys):
    zarr = pytest.importorskip("zarr")
    from fastdnn.cli import main

    X, _ = data(m=150)
    labels = np.random.default_rng(4).integers(0, 3, (1, 150)).astype(float)  # class indices
    zarr.save_group(str(tmp_path / "d.zarr"), X=X, Y=labels)
    assert main(["train", "--data", str(tmp_path / "d.zarr"), "--layers", "4",
                 "--output", "softmax", "--optimizer", "adam", "--lambd", "0.1", "--lr", "0.01",
                 "--iterations", "5", "--block-size", "70", "--scheduler",
                 client.scheduler.address, "--out", str(tmp_path / "m.npz")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "classes: 0..2" in out and "with optimizer=adam, lambd=0.1" in out
    ref = DNN([5, 4, 3], output="softmax", seed=1)
    ref.fit(X, labels, learning_rate=0.01, num_iterations=5, optimizer="adam", lambd=0.1)
    saved = DNN.load(tmp_path / "m.npz")
    assert_allclose(saved._theta, ref._theta, rtol=1e-10, atol=1e-12)
    assert saved._optimizer.name == "adam" and saved._optimizer.t == 5


def test_cli_scheduler_that_does_not_answer_is_one_line_exit_2(tmp_path, capsys):
    import socket

    import dask

    from fastdnn.cli import main

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    X, Y = data()
    np.savez(tmp_path / "d.npz", X=X, Y=Y)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):  # the CLI's wait
        code = main(["train", "--data", str(tmp_path / "d.npz"), "--scheduler", address,
                     "--out", str(tmp_path / "m.npz")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"cannot connect to the Dask scheduler at {address}" in err
    assert not (tmp_path / "m.npz").exists()


# ------------------------------------------------------------------------- faults (last: they
# replace worker processes, which then load the kernels again)
def test_a_worker_killed_mid_training_changes_nothing(client):
    X, Y = data()
    Xd = da.from_array(X, chunks=(5, 21))  # five blocks, recomputable from the graph
    calm = DNN([5, 4, 1], seed=2)
    fdask.fit(calm, Xd, Y, client=client, learning_rate=0.5, num_iterations=16, cost_every=4)
    net = DNN([5, 4, 1], seed=2)

    def kill_once(iteration, cost, model):
        if iteration == 4:
            kill_workers(client)

    history = fdask.fit(net, Xd, Y, client=client, learning_rate=0.5, num_iterations=16,
                        cost_every=4, callbacks=[kill_once])  # fmt: skip
    assert history.stop_reason == "completed" and net.n_steps_ == 16
    assert np.array_equal(net._theta, calm._theta)  # the same sums, in the same tree


def test_lost_data_dask_cannot_recompute_fails_clearly_after_whole_steps(client):
    X, Y = data()
    ref = DNN([5, 4, 1], seed=2)
    # Blocks scattered to the workers have no graph to be recomputed from.
    futures = client.scatter([X[:, :50], X[:, 50:]])
    Xs = da.concatenate([da.from_delayed(f, shape=(5, w), dtype=float)
                         for f, w in zip(futures, (50, 53), strict=True)], axis=1)  # fmt: skip
    net = DNN([5, 4, 1], seed=2)

    def kill_both(iteration, cost, model):
        if iteration == 4:
            for _ in range(2):
                kill_workers(client)
                client.wait_for_workers(1, timeout=60)

    with pytest.raises(fdask.ClusterError, match=r"gradient of iteration \d+ could not be "):
        fdask.fit(net, Xs, Y, client=client, learning_rate=0.5, num_iterations=40,
                  cost_every=4, callbacks=[kill_both])  # fmt: skip
    assert 5 <= net.n_steps_ < 40
    ref.fit(X, Y, learning_rate=0.5, num_iterations=net.n_steps_)
    for key in ref.params:  # whole steps only: exactly n_steps_ updates
        assert_allclose(net.params[key], ref.params[key], rtol=1e-10, atol=1e-12)
