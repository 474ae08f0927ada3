"""DNN.fit: the training engine against the functional API, on every backend."""

import contextlib
import threading
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastdnn
from fastdnn import DNN
from fastdnn.datasets import load_planar_dataset

from .conftest import tolerance


def data(n_x=5, m=40, n_y=1, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n_x, m)).astype(dtype)
    Y = (rng.random((n_y, m)) < 0.5).astype(dtype)
    return X, Y


def functional_training(X, Y, dims, hidden, output, lr, steps, seed, dtype):
    p = fastdnn.initialize_parameters(dims, seed=seed, dtype=dtype)
    for _ in range(steps):
        AL, caches = fastdnn.model_forward(X, p, hidden, output, backend="numpy")
        grads = fastdnn.model_backward(AL, Y, caches, hidden, output, backend="numpy")
        p = fastdnn.update_parameters(p, grads, lr, backend="numpy")
    return p


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    ("dims", "hidden", "output"),
    [
        ([5, 1], "relu", "sigmoid"),
        ([5, 4, 1], "tanh", "sigmoid"),
        ([5, 6, 3, 2], "relu", "sigmoid"),
        ([5, 4, 3, 1], "leaky_relu", "linear"),
        ([5, 3, 2], "sigmoid", "linear"),
    ],
    ids=["logistic", "shallow", "deep-2out", "regression", "sigmoid-hidden"],
)
def test_fit_matches_the_functional_api(backend, dims, hidden, output, dtype):
    X, Y = data(dims[0], 13, dims[-1])
    if output == "linear":
        Y = np.random.default_rng(1).normal(size=Y.shape)
    net = DNN(dims, hidden=hidden, output=output, backend=backend, dtype=dtype, seed=4)
    net.fit(X, Y, learning_rate=0.3, num_iterations=4)
    expected = functional_training(X, Y, dims, hidden, output, 0.3, 4, 4, dtype)
    rtol, atol = tolerance(dtype)
    for key, value in net.params.items():
        assert value.dtype == np.dtype(dtype)
        assert_allclose(value, expected[key], rtol=rtol * 10, atol=atol * 10, err_msg=key)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_backends_agree_on_minibatch_training(dtype):
    X, Y = data(6, 50)
    results = {}
    for backend in fastdnn.BACKENDS:
        net = DNN([6, 5, 1], backend=backend, dtype=dtype, seed=3)
        net.fit(X, Y, learning_rate=0.1, epochs=2, batch_size=16)  # 4 batches, last of 2
        assert net.n_steps_ == 8
        results[backend] = net.params
    rtol, atol = tolerance(dtype)
    for backend in ("numpy", "jit"):
        for key in results["naive"]:
            assert_allclose(
                results[backend][key],
                results["naive"][key],
                rtol=rtol * 10,
                atol=atol * 10,
                err_msg=f"{backend} {key}",
            )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch_size", [None, 32], ids=["full batch", "mini-batches"])
def test_large_layers_step_inside_their_products_and_train_alike(dtype, batch_size):
    """A plain jit step moves each large layer's W inside the product computing its dW
    (``_jit_loop.DESCEND_MIN_WEIGHTS``); the trained parameters equal the numpy backend's."""
    from fastdnn.steppers import _jit_loop
    from fastdnn.steppers.jit import jit_table

    dims = [100, 64, 72, 1]  # 6400 and 4608 weights descend; the output layer's 72 do not
    table = jit_table(dims, batch_size or 96, np.dtype(dtype), full_batch=batch_size is None)
    assert [bool(_jit_loop._descends(table, l)) for l in range(3)] == [True, True, False]
    # The settings' type picks the backward pass at compile time: only that one compiles.
    assert type(_jit_loop.plain_settings(table)) is _jit_loop.Descending
    small = jit_table([2, 4, 1], 96, np.dtype(dtype), full_batch=batch_size is None)
    assert type(_jit_loop.plain_settings(small)) is _jit_loop.Plain
    X, Y = data(100, 96, seed=2, dtype=np.dtype(dtype))
    results = {}
    for backend in ("numpy", "jit"):
        # wide_input=False: m < n_x, and the direct step is the one under test
        net = DNN(dims, hidden="relu", backend=backend, dtype=dtype, seed=5, wide_input=False)
        net.fit(X, Y, learning_rate=0.05, num_iterations=12, batch_size=batch_size)
        results[backend] = net.params
    rtol, atol = tolerance(dtype)
    for key, value in results["jit"].items():
        assert_allclose(value, results["numpy"][key], rtol=rtol * 10, atol=atol * 10, err_msg=key)


def test_minibatch_with_one_batch_equals_full_batch():
    X, Y = data(4, 20)
    a = DNN([4, 3, 1], seed=0)
    a.fit(X, Y, learning_rate=0.2, num_iterations=5)
    b = DNN([4, 3, 1], seed=0)
    b.fit(X[:, ::-1].copy(), Y[:, ::-1].copy(), learning_rate=0.2, epochs=5, batch_size=20)
    for key in a.params:  # the shuffle only reorders the columns of a full batch
        assert_allclose(b.params[key], a.params[key], rtol=1e-12, atol=1e-14)


def test_fortran_ordered_and_memmapped_inputs_train_without_copies(tmp_path, backend):
    X, Y = data(5, 30)
    ref = DNN([5, 4, 1], seed=1, backend=backend)
    ref.fit(X, Y, learning_rate=0.1, num_iterations=3)
    XF = np.asfortranarray(X)
    net = DNN([5, 4, 1], seed=1, backend=backend)
    net.fit(XF, Y, learning_rate=0.1, num_iterations=3)
    path = tmp_path / "X.npy"
    np.save(path, X)
    Xm = np.load(path, mmap_mode="r")  # read-only memory map
    net2 = DNN([5, 4, 1], seed=1, backend=backend)
    net2.fit(Xm, Y, learning_rate=0.1, num_iterations=3, batch_size=7)
    for key in ref.params:
        assert_allclose(net.params[key], ref.params[key], rtol=1e-12, atol=1e-14)
    assert np.array_equal(Xm, X)


def test_continuing_training_equals_one_long_run(backend):
    X, Y = data()
    one = DNN([5, 4, 1], seed=0, backend=backend)
    one.fit(X, Y, learning_rate=0.5, num_iterations=250, cost_every=100)
    two = DNN([5, 4, 1], seed=0, backend=backend)
    h1 = two.fit(X, Y, learning_rate=0.5, num_iterations=150, cost_every=100)
    h2 = two.fit(X, Y, learning_rate=0.5, num_iterations=100, cost_every=100)
    assert h1.iterations == [0, 100] and h2.iterations == [200]
    assert two.n_steps_ == 250
    for key in one.params:
        assert np.array_equal(one.params[key], two.params[key]), key


def test_same_seed_same_bits_and_inputs_untouched(backend):
    X, Y = data()
    X0, Y0 = X.copy(), Y.copy()
    runs = []
    for _ in range(2):
        net = DNN([5, 4, 1], seed=11, backend=backend)
        net.fit(X, Y, learning_rate=0.3, epochs=3, batch_size=8)
        runs.append(net.params)
    assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert np.array_equal(X, X0) and np.array_equal(Y, Y0)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(("batch_size", "shuffle"), [(None, True), (16, True), (16, False)])
def test_read_only_data_trains_as_writable_data_does(backend, dtype, order, batch_size, shuffle):
    # A memmap opened "r", joblib's memmaps, X.T of a read-only array: the jit loop gave a
    # read-only slice and a gathered work buffer one variable (Numba's TypingError). One
    # step (gathered from X) and several epochs (a copy of X, or X's own slices when F-ordered).
    X, Y = data(m=40, dtype=dtype)
    X = np.asarray(X, order=order)
    Xr, Yr = X.copy(order="K"), Y.copy()
    Xr.flags.writeable = Yr.flags.writeable = False
    for steps in (1, 10):
        nets = [DNN([5, 4, 1], hidden="tanh", backend=backend, dtype=dtype, seed=1) for _ in "ab"]
        for net, (A, B) in zip(nets, [(X, Y), (Xr, Yr)], strict=True):
            net.fit(A, B, 0.1, num_iterations=steps, batch_size=batch_size, shuffle=shuffle)
        for key, value in nets[0].params.items():
            assert np.array_equal(nets[1].params[key], value), (key, steps)
    assert np.array_equal(Xr, X) and not Xr.flags.writeable


def test_params_are_read_only_views_and_from_params_copies():
    net = DNN([3, 2, 1], seed=0)
    with pytest.raises(ValueError, match="read-only"):
        net.params["W1"][0, 0] = 1.0
    course = {
        "W1": np.ones((2, 3)),
        "b1": np.zeros((2, 1)),
        "W2": np.ones((1, 2)),
        "b2": np.zeros((1, 1)),
    }
    other = DNN.from_params(course, hidden="relu")
    other.fit(np.ones((3, 4)), np.array([[0, 1, 0, 1]]), learning_rate=0.1, num_iterations=2)
    assert np.array_equal(course["W1"], np.ones((2, 3)))


def test_cost_every_and_print_cost(capsys):
    X, Y = data()
    net = DNN([5, 3, 1], seed=0)
    h = net.fit(X, Y, learning_rate=0.1, num_iterations=25, cost_every=10, print_cost=True)
    assert h.iterations == [0, 10, 20] and len(h.costs) == 3 and h.n_steps == 25
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Cost after iteration 0: ") and len(out) == 3
    # The repr says which step its cost is from: a 9-step fit records its first step only.
    h = net.fit(X, Y, learning_rate=0.1, num_iterations=9, cost_every=10)
    assert h.iterations == [30] and f"last cost {h.costs[0]:.6g} at iteration 30" in repr(h)


def test_recorded_cost_is_the_cost_before_the_step():
    X, Y = data()
    net = DNN([5, 3, 1], seed=0)
    AL, _ = fastdnn.model_forward(X, net.params, backend="numpy")
    expected = fastdnn.compute_cost(AL, Y)
    h = net.fit(X, Y, learning_rate=0.1, num_iterations=1)
    assert_allclose(h.costs[0], expected, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # NUMBA_DISABLE_JIT
def test_a_cost_that_overflows_before_any_step_does_not_blame_the_learning_rate(backend):
    X, Y = data()
    net = DNN([5, 4, 1], output="linear", seed=0, backend=backend)
    start = {k: np.array(v) for k, v in net.params.items()}
    with pytest.raises(
        fastdnn.DivergenceError,
        match="diverged before its first step.*learning rate played no part",
    ) as err:
        net.fit(X * 1e200, Y, learning_rate=1e-300, num_iterations=5)
    assert err.value.before_any_step
    assert "probably too large" not in str(err.value)
    assert net.n_steps_ == 0 and all(np.array_equal(net.params[k], start[k]) for k in start)
    with pytest.raises(fastdnn.DivergenceError, match="probably too large") as err:
        net.fit(X * 1e3, Y, learning_rate=10.0, num_iterations=200, cost_every=1)
    assert not err.value.before_any_step


def test_divergence_raises_and_keeps_finite_parameters(backend):
    X, Y = data()
    X = X * 1e3
    net = DNN([5, 8, 1], hidden="linear", output="linear", seed=0, backend=backend)
    kept = r"diverged in iterations? \d+.*parameters at the start of iteration \d+ are kept"
    with pytest.raises(fastdnn.DivergenceError, match=kept):
        net.fit(X, Y, learning_rate=10.0, num_iterations=200, cost_every=1)
    assert all(np.isfinite(p).all() for p in net.params.values())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = net.fit(
            X, Y, learning_rate=10.0, num_iterations=200, cost_every=1, on_divergence="warn"
        )
    assert h.stop_reason == "diverged" and any("diverged" in str(w.message) for w in caught)
    assert all(np.isfinite(c) for c in h.costs)


def test_after_divergence_the_model_is_the_one_a_fit_stopped_there_leaves(monkeypatch):
    # Chunks of whole epochs (each begins by drawing the epoch's shuffle): the chunk that
    # diverged had drawn one, and going back kept the generator one draw ahead of the kept
    # step, so training on from there differed from a fit stopped there.
    from fastdnn import train

    monkeypatch.setattr(train, "CHUNK_SECONDS", 10.0)
    X, Y = data(m=40)
    X = X * 1e3
    kw = dict(learning_rate=3.0, batch_size=10, cost_every=1000)
    net = DNN([5, 8, 1], hidden="linear", output="linear", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = net.fit(X, Y, num_iterations=400, on_divergence="warn", **kw)
    assert h.stop_reason == "diverged" and net.n_steps_ % 4 == 0  # kept: an epoch's start
    stopped_there = DNN([5, 8, 1], hidden="linear", output="linear", seed=0)
    if net.n_steps_:
        stopped_there.fit(X, Y, num_iterations=net.n_steps_, **kw)
    assert net._theta.tobytes() == stopped_there._theta.tobytes()
    assert net._rng.bit_generator.state == stopped_there._rng.bit_generator.state


def test_interrupt_keeps_the_last_whole_step(backend):
    X, Y = data()
    net = DNN([5, 4, 1], seed=0, backend=backend)

    def ctrl_c(iteration, cost, model):
        if iteration == 30:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match="training interrupted after"):
        h = net.fit(X, Y, learning_rate=0.1, num_iterations=100, cost_every=10, callbacks=[ctrl_c])
    assert h.stop_reason == "interrupted" and net.n_steps_ == h.n_steps
    ref = DNN([5, 4, 1], seed=0, backend=backend)
    ref.fit(X, Y, learning_rate=0.1, num_iterations=h.n_steps)
    for key in ref.params:
        assert np.array_equal(ref.params[key], net.params[key])
    net.fit(X, Y, learning_rate=0.1, num_iterations=100 - h.n_steps)  # and it continues
    assert net.n_steps_ == 100


def test_callback_can_stop_and_validation_is_recorded():
    X, Y = data()
    Xv, Yv = data(seed=1)
    net = DNN([5, 4, 1], seed=0)
    h = net.fit(
        X,
        Y,
        learning_rate=0.1,
        num_iterations=100,
        cost_every=10,
        callbacks=[lambda i, c, model: i >= 20],
        validation_data=(Xv, Yv),
    )
    assert h.stop_reason == "callback" and h.iterations == [0, 10, 20]
    assert h.val_iterations == [0, 10, 20] and len(h.val_costs) == len(h.val_accuracy) == 3


def test_planar_flower_trains_to_the_course_accuracy():
    from fastdnn.datasets import load_planar_dataset

    X, Y = load_planar_dataset()
    net = DNN([2, 4, 1], hidden="tanh", init="course", seed=0)
    net.fit(X, Y, learning_rate=1.2, num_iterations=10000)
    # The course's 1-hidden-layer tanh net with 4 units reaches 90% on this data.
    assert net.score(X, Y) >= 0.88


def test_regression_score_is_r2():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (3, 200))
    Y = (X[0] - 2 * X[1] + 0.5 * X[2])[None, :]
    net = DNN([3, 1], output="linear", init="zeros", seed=0)
    net.fit(X, Y, learning_rate=0.5, num_iterations=500)
    assert net.score(X, Y) > 0.999


# ---------------------------------------------------------------- silent non-learning
def _fit_warnings(net, X, Y, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.fit(X, Y, **kwargs)
    return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def test_a_cost_that_does_not_move_is_reported():
    # lr 500 drives every relu unit of the planar net dead: the cost is constant afterwards.
    X, Y = load_planar_dataset()
    msgs = _fit_warnings(DNN([2, 4, 1], seed=1), X, Y, learning_rate=500, num_iterations=1000)
    assert any("the cost stayed at" in m and "not learning" in m for m in msgs), msgs


def test_no_better_than_the_label_frequencies_is_reported():
    # Inputs that carry no information: the best a network can do is the base rate.
    X, Y = load_planar_dataset()
    msgs = _fit_warnings(
        DNN([2, 4, 1], seed=1), np.zeros_like(X), Y, learning_rate=0.5, num_iterations=1000
    )
    assert any("label frequencies" in m for m in msgs), msgs
    assert any("the mean of the last three recorded" in m for m in msgs), msgs
    X, _ = data(3, 50)
    y = np.random.default_rng(0).normal(5.0, 2.0, (1, 50))
    msgs = _fit_warnings(
        DNN([3, 1], output="linear", init="zeros", seed=0), np.zeros_like(X), y,
        learning_rate=0.1, num_iterations=500,
    )  # fmt: skip
    assert any("mean of the targets" in m for m in msgs), msgs


def test_soft_labels_are_judged_above_their_own_entropy():
    # Heavily smoothed labels: a perfect fit ends at the labels' entropy, 0.688, just below
    # the base rate's 0.693; judged against 0 it was "not learning" (a helper's review).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, 400))
    y = (X[:1] > 0) * 0.1 + 0.45
    net = DNN([2, 1], seed=0)
    assert _fit_warnings(net, X, y, learning_rate=1.0, num_iterations=3000) == []
    assert net.score(X, y) == 1.0
    # inputs that carry nothing are still found out, soft labels or not
    msgs = _fit_warnings(DNN([2, 1], seed=0), np.zeros_like(X), y, learning_rate=1.0,
                         num_iterations=3000)  # fmt: skip
    assert any("label frequencies" in m for m in msgs), msgs


def test_a_network_that_learns_gets_no_warning():
    X, Y = load_planar_dataset()
    msgs = _fit_warnings(DNN([2, 4, 1], hidden="tanh", seed=2), X, Y, learning_rate=1.2,
                         num_iterations=1000)  # fmt: skip
    assert msgs == []


# ---------------------------------------------------------------- one fit at a time
@contextlib.contextmanager
def fit_held_in_another_thread(net, X, Y, at_record=None):
    """A 3-step fit of ``net`` in a worker thread, held inside its callback (at the record of
    iteration ``at_record``, or the first) while the block runs; ``at_record(model)`` is
    called there first."""
    inside, release = threading.Event(), threading.Event()

    def hold(iteration, cost, model):
        if iteration == 1 or (iteration == 0 and at_record is None):
            if at_record is not None:
                at_record(model)
            inside.set()
            release.wait(10)

    worker = threading.Thread(
        target=net.fit, args=(X, Y), kwargs={"num_iterations": 3, "cost_every": 1,
                                              "callbacks": [hold]},
    )  # fmt: skip
    worker.start()
    try:
        assert inside.wait(30)
        yield
    finally:
        release.set()
        worker.join(30)


def test_a_second_concurrent_fit_on_the_same_model_is_refused():
    X, Y = data()
    net = DNN([5, 4, 1], seed=0)
    with fit_held_in_another_thread(net, X, Y):
        before = net._theta.copy()  # (net.params is refused from this thread meanwhile)
        with pytest.raises(RuntimeError, match="fit is already running on this DNN"):
            net.fit(X, Y, num_iterations=5)
        np.testing.assert_array_equal(net._theta, before)  # the refused call did nothing
    assert net.n_steps_ == 3
    net.fit(X, Y, num_iterations=2)  # free again afterwards
    assert net.n_steps_ == 5


def test_the_model_is_not_read_or_written_from_another_thread_during_a_fit(tmp_path):
    # Read from another thread, the parameters were a mixture of steps: of 397 predictions
    # made during a fit, 187 matched no step's parameters, and files saved meanwhile held
    # parameters later than their n_steps_. A callback, in the training thread, may do it all.
    import copy
    import pickle

    X, Y = data()
    net = DNN([5, 4, 1], seed=0)
    in_callback = []

    def checkpoint(model):
        in_callback.append((model.n_steps_, copy.deepcopy(model).n_steps_, model.predict(X)))
        model.save(tmp_path / "checkpoint.npz")

    with fit_held_in_another_thread(net, X, Y, at_record=checkpoint):
        before = net._theta.copy()
        attempts = {
            "predicting": lambda: net.predict(X),
            "predicting ": lambda: net.predict_proba(X),
            "predicting  ": lambda: net.score(X, Y),
            "reading params": lambda: net.params,
            "set_params": lambda: net.set_params(DNN([5, 4, 1], seed=1).params),
            "set_input_scaling": lambda: net.set_input_scaling(np.zeros(5), np.ones(5)),
            "save": lambda: net.save(tmp_path / "during.npz"),
            "copying or pickling": lambda: copy.deepcopy(net),
            "copying or pickling ": lambda: pickle.dumps(net),
        }
        for what, attempt in attempts.items():
            with pytest.raises(RuntimeError, match=f"^{what.strip()} while another thread trains"):
                attempt()
        np.testing.assert_array_equal(net._theta, before)
        assert not (tmp_path / "during.npz").exists()
    assert net.n_steps_ == 3
    ((steps, copied_steps, _),) = in_callback
    assert 1 <= steps <= 3 and copied_steps == steps
    assert DNN.load(tmp_path / "checkpoint.npz").n_steps_ == steps
    assert net.predict(X).shape == (1, X.shape[1])  # free again afterwards
    assert copy.deepcopy(net).n_steps_ == 3


def test_a_model_pickles_and_copies_after_fit():
    import copy
    import pickle

    X, Y = data()
    net = DNN([5, 4, 1], seed=0)
    net.fit(X, Y, num_iterations=3)
    for other in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        np.testing.assert_array_equal(other.predict_proba(X), net.predict_proba(X))
        other.fit(X, Y, num_iterations=1)  # its own lock and buffers
    assert net.n_steps_ == 3


def test_a_shallow_copy_is_a_model_of_its_own():
    """copy.copy shared the parameter buffer: fitting the copy changed the original's
    parameters (and each had its own lock, so two threads could train one buffer)."""
    import copy

    X, Y = data()
    net = DNN([5, 4, 1], seed=0)
    net.fit(X, Y, num_iterations=3, batch_size=4, optimizer="adam")
    before = {k: v.copy() for k, v in net.params.items()}
    state = {k: a.copy() for k, a in net._optimizer.arrays().items()}
    other = copy.copy(net)
    np.testing.assert_array_equal(other.predict_proba(X), net.predict_proba(X))
    other.fit(X, Y, num_iterations=5, batch_size=4, optimizer="adam")
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, before[k])
    for k, a in net._optimizer.arrays().items():
        np.testing.assert_array_equal(a, state[k])
    assert net.n_steps_ == 3 and other.n_steps_ == 8
    # Its shuffle stream continues from the same state, but on its own: the original's next
    # fit draws what the copy's first fit drew.
    twin = copy.copy(net)
    net.fit(X, Y, num_iterations=2, batch_size=4, optimizer="adam")
    twin.fit(X, Y, num_iterations=2, batch_size=4, optimizer="adam")
    np.testing.assert_array_equal(twin._theta, net._theta)


def test_unpickled_and_copied_models_keep_their_buffers_on_cache_lines():
    import copy
    import pickle

    from fastdnn._layout import LINE_BYTES

    for n_x in (5, 6, 7):  # NumPy's buffers of several sizes start anywhere
        X, Y = data(n_x)
        net = DNN([n_x, 4, 1], seed=0)
        net.fit(X, Y, num_iterations=2, optimizer="adam")
        for other in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net), copy.copy(net)):
            buffers = [other._theta, other._grad, *other._optimizer.arrays().values()]
            assert len(buffers) == 4
            assert all(b.ctypes.data % LINE_BYTES == 0 for b in buffers)
            np.testing.assert_array_equal(other._theta, net._theta)


def test_examples_contiguous_copy_and_per_batch_gather_train_alike(tmp_path):
    """A C-ordered X trains from one examples-contiguous copy made for the fit, exactly as the
    same X given Fortran-ordered (the copy's layout): the same bits. A memory-mapped X gathers
    each batch's columns: the same batches in the same order, so the same parameters to
    rounding (a batch's layout may change how BLAS blocks it). Uneven last batch, 3 epochs."""
    from fastdnn.network import _examples_contiguous_copy, _memory_mapped

    X, Y = data(6, 53)
    path = tmp_path / "X.npy"
    np.save(path, X)
    Xm = np.load(path, mmap_mode="r")
    assert _examples_contiguous_copy(X, 4, 8)
    assert not _examples_contiguous_copy(np.asfortranarray(X), 4, 8)
    assert _memory_mapped(np.asarray(Xm)) and not _examples_contiguous_copy(np.asarray(Xm), 4, 8)
    # float64: from 0.3 of an epoch (53 examples: 16 of them); gathering costs less below
    assert _examples_contiguous_copy(X, 2, 8) and not _examples_contiguous_copy(X, 1, 15)
    X32 = X.astype(np.float32)  # half the bytes to copy: from 0.15 of an epoch (8 examples)
    assert _examples_contiguous_copy(X32, 1, 8) and not _examples_contiguous_copy(X32, 1, 7)
    X_before = X.copy()
    nets = []
    for Xi in (X, np.asfortranarray(X), Xm):
        net = DNN([6, 5, 3, 1], seed=2, backend="jit")
        net.fit(Xi, Y, learning_rate=0.2, epochs=3, batch_size=8)
        nets.append(net)
    np.testing.assert_array_equal(X, X_before)  # the user's X untouched
    assert X.flags.c_contiguous
    for key in nets[0].params:
        np.testing.assert_array_equal(nets[0].params[key], nets[1].params[key])
    ref = DNN([6, 5, 3, 1], seed=2, backend="numpy")
    ref.fit(X, Y, learning_rate=0.2, epochs=3, batch_size=8)
    for net in nets:
        for key in ref.params:
            assert_allclose(net.params[key], ref.params[key], rtol=1e-11, atol=1e-13)


def test_epoch_source_copies_in_the_first_shuffle_and_gathers_from_the_copy_later():
    """The stepper's copy holds the first epoch's shuffle (consecutive batches); a later
    epoch's examples are found at their places in the copy; the copy's own order slices
    again; without copy_threads, X and the order as given."""
    from fastdnn.steppers import Stepper

    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((5, 23)), rng.standard_normal((2, 23))
    X_before = X.copy()
    stepper = Stepper(None, np.zeros(3), np.zeros(3), X, Y, 4, None, copy_threads=1)
    first = rng.permutation(23)
    source = stepper.epoch_source(first)
    Xc, Yc, at, consecutive = source
    assert consecutive and Xc.flags.f_contiguous and not np.shares_memory(Xc, X)
    np.testing.assert_array_equal(at, np.arange(23))
    np.testing.assert_array_equal(Xc, X[:, first])
    np.testing.assert_array_equal(Yc, Y[:, first])
    assert stepper.epoch_source(first) is source  # once per epoch
    second = rng.permutation(23)
    X2, Y2, at2, consecutive2 = stepper.epoch_source(second)
    assert not consecutive2 and X2 is Xc  # no second copy
    np.testing.assert_array_equal(X2[:, at2], X[:, second])
    np.testing.assert_array_equal(Y2[:, at2], Y[:, second])
    assert stepper.epoch_source(first.copy())[3]  # the copy's order again: slices
    np.testing.assert_array_equal(X, X_before)
    plain = Stepper(None, np.zeros(3), np.zeros(3), X, Y, 4, None)
    Xp, Yp, atp, consecutivep = plain.epoch_source(second)
    assert Xp is X and Yp is Y and atp is second and not consecutivep


@pytest.mark.parametrize("backend", ["jit", "numpy"])
@pytest.mark.parametrize("shuffle", [True, False])
def test_copied_batches_train_as_gathered_ones_across_epochs_and_resumed_fits(backend, shuffle):
    """A C-ordered X (copied in the first shuffle: sliced batches, then gathers from the copy)
    against the same X Fortran-ordered (gathered every epoch): the same bits, through fits
    that start mid-epoch (a fresh shuffle, copied from its first batch on) and unshuffled
    fits (sliced every epoch). 53 examples in batches of 8: 7 per epoch, the last one of 5."""
    X, Y = data(6, 53, seed=3)
    nets = []
    for Xi in (X, np.asfortranarray(X)):
        net = DNN([6, 5, 3, 1], seed=2, backend=backend)
        for n in (3, 16, 9):  # starts at batch 0, then 3, then 5 of an epoch
            net.fit(Xi, Y, learning_rate=0.2, num_iterations=n, batch_size=8, shuffle=shuffle)
        nets.append(net)
    assert nets[0].n_steps_ == 28
    for key in nets[0].params:
        np.testing.assert_array_equal(nets[0].params[key], nets[1].params[key])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_copying_fit_checks_x_in_the_copy_and_refuses_nan_before_any_step(dtype, monkeypatch):
    """A mini-batch fit that copies X checks its values in the copy (no read of X of its own:
    W4's took 20 ms in float64), made before the first step in the order the first epoch
    draws (its batches then sliced, not gathered). A NaN is refused with the usual message
    and leaves the model as it was (parameters, step count, the shuffle's generator), on
    that path and on those that check X on its own (Fortran-ordered X, full batch, a
    held-out split)."""
    from fastdnn import _validation, steppers

    X, Y = data(6, 53, dtype=dtype)
    checked, consecutive = [], []
    real_check, real_source = _validation.check_finite, steppers.Stepper._new_epoch_source

    def check_finite(arr, name, *args):
        checked.append(name)
        return real_check(arr, name, *args)

    def new_epoch_source(self, order):
        source = real_source(self, order)
        consecutive.append(source[3])
        return source

    monkeypatch.setattr(_validation, "check_finite", check_finite)
    monkeypatch.setattr(steppers.Stepper, "_new_epoch_source", new_epoch_source)
    net = DNN([6, 5, 3, 1], seed=2, dtype=dtype)
    net.fit(X, Y, learning_rate=0.2, epochs=1, batch_size=8, cost_every=3)
    assert "X" not in checked and consecutive == [True]  # checked in the copy; sliced
    checked.clear()
    net.fit(np.asfortranarray(X), Y, learning_rate=0.2, epochs=1, batch_size=8)
    assert "X" in checked  # no copy: checked on its own
    params, steps = {k: p.copy() for k, p in net.params.items()}, net.n_steps_
    generator = net._rng.bit_generator.state
    bad = X.copy()
    bad[4, 30] = np.nan
    fits = [
        (bad, dict(epochs=1, batch_size=8)),  # copied
        (np.asfortranarray(bad), dict(epochs=1, batch_size=8)),
        (bad, dict(num_iterations=3)),
        (bad, dict(epochs=2, batch_size=8, early_stopping=True, validation_fraction=0.2)),
    ]
    for Xi, how in fits:
        with pytest.raises(ValueError, match=r"^X must be finite; found nan at index \(4, 30\)$"):
            net.fit(Xi, Y, learning_rate=0.2, **how)
        assert net.n_steps_ == steps and net._rng.bit_generator.state == generator
        for key, value in net.params.items():
            np.testing.assert_array_equal(value, params[key])


def test_the_examples_contiguous_copy_lives_for_the_fit_only():
    """The copy costs one more X during a mini-batch fit, none after it (the model keeps only
    batch-sized buffers between fits)."""
    import tracemalloc

    X, Y = data(200, 5000)  # 8 MB
    net = DNN([200, 8, 1], seed=0)
    net.fit(X, Y, learning_rate=0.1, epochs=1, batch_size=50)  # compile, allocate buffers
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        net.fit(X, Y, learning_rate=0.1, epochs=1, batch_size=50)
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before >= X.nbytes  # the copy was made...
    assert after - before < X.nbytes / 8  # ...and is gone


@pytest.mark.parametrize("backend", ["numpy", "naive"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_python_backends_take_batches_without_copying_x(backend, order):
    """The Python backends take each batch from a C-ordered X with np.take: no copy of X with
    its examples contiguous (np.take from that Fortran-ordered copy copied it whole again for
    every batch, 275 ms a batch on W4's X), one C-ordered copy of a Fortran-ordered X only."""
    import tracemalloc

    X, Y = data(200, 600)  # 0.96 MB
    X = np.asfortranarray(X) if order == "F" else X
    net = DNN([200, 3, 1], seed=0, backend=backend)
    fit = dict(learning_rate=0.1, num_iterations=6, batch_size=100)  # a whole epoch: copies X
    net.fit(X, Y, **fit)  # allocate buffers
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        net.fit(X, Y, **fit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    copies = 1 if order == "F" else 0
    assert peak - before < (copies + 0.5) * X.nbytes


def test_warnings_point_at_the_users_line_whatever_the_path():
    # A fixed stacklevel named fastdnn/sklearn.py for the estimators' warnings (a helper's
    # review); the warning now names the first frame outside the package, here this file.
    from fastdnn.sklearn import DNNClassifier

    X, Y = load_planar_dataset()
    paths = {
        "DNN.fit": lambda: DNN([2, 4, 1], seed=1).fit(
            np.zeros_like(X), Y, learning_rate=0.5, num_iterations=1000
        ),
        "DNNClassifier.fit": lambda: DNNClassifier(
            hidden_layer_sizes=(4,), max_iter=1000, learning_rate_init=0.5, random_state=1
        ).fit(np.zeros_like(X.T), Y[0]),
    }  # set_num_threads's: tests/test_env.py
    for name, call in paths.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        ours = [w for w in caught if issubclass(w.category, RuntimeWarning)]
        assert ours, name
        assert all(w.filename == __file__ for w in ours), (name, [w.filename for w in ours])
