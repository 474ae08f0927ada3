"""The wide-input (Gram) path against the direct path, its choice, and its knob.

The Gram path (:mod:`fastdnn.steppers.gram`) trains the first layer on ``X.T @ X`` and writes
``W1`` once per chunk; it must give the direct path's parameters to rounding, whatever the
chunking, layout, activation, depth or dtype, and whatever happens between chunks.
"""

import copy
import itertools
import pickle
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastdnn
from fastdnn import DNN
from fastdnn._numba import JIT_DISABLED
from fastdnn._types import Opt
from fastdnn.backends import select_stepper
from fastdnn.steppers import NetSpec, Train
from fastdnn.steppers import gram as gram_module
from fastdnn.steppers.gram import GramStepper, check_wide_input, choose, first_layer_work
from fastdnn.steppers.jit import JitStepper
from fastdnn.train import DivergenceError, Schedule, run

# The two paths round differently (P - S @ G against W1 @ X, one W1 write per chunk against one
# per step). Measured after the 300 steps of CASES, relative to each parameter's largest entry:
# float64 at most 2.4e-14 (logistic; the others 1e-15 to 5e-15, as the direct path against
# itself with X in the other memory order); float32 at most 4.2e-6 (the direct path against
# itself: 1.1e-6). The tolerances leave 40x and 12x for other BLAS kernels.
RTOL64 = 1e-12
RTOL32 = 5e-5


def data(n_x, m, n_y=1, seed=0, dtype=np.float64, order="C", regression=False):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n_x, m)).astype(dtype)
    X = np.asfortranarray(X) if order == "F" else X
    Y = rng.normal(size=(n_y, m)) if regression else (rng.random((n_y, m)) < 0.5)
    return X, Y.astype(dtype)


def assert_params_close(a, b, rtol, what=""):
    """Each parameter to ``rtol`` relative to its largest entry (a bias may start at zero)."""
    for key in a:
        scale = max(float(np.abs(a[key]).max()), float(np.abs(b[key]).max()), 1e-300)
        assert_allclose(a[key], b[key], rtol=0, atol=rtol * scale, err_msg=f"{what} {key}")


def train_both(dims, X, Y, steps, lr, *, hidden="relu", output="sigmoid", cost_every=100,
               dtype="float64", callbacks=None, seed=3):  # fmt: skip
    nets = {}
    for wide in (True, False):
        net = DNN(dims, hidden=hidden, output=output, dtype=dtype, seed=seed, wide_input=wide)
        net.fit(X, Y, lr, steps, cost_every=cost_every, callbacks=callbacks)
        nets[wide] = net
    return nets[True], nets[False]


@pytest.fixture
def gram_calls(monkeypatch):
    """Counts the chunks the Gram stepper runs (to know which path trained)."""
    calls = []
    original = GramStepper.full_batch

    def spy(self, n_steps, learning_rate, want_cost):
        calls.append(n_steps)
        return original(self, n_steps, learning_rate, want_cost)

    monkeypatch.setattr(GramStepper, "full_batch", spy)
    return calls


# ------------------------------------------------------------------ agreement with the direct path
# Inputs uniform in [0, 1), not centred, like pixels: the hard case for S @ G (see
# fastdnn/steppers/_gram_loop.py). The regression's rate is lower: at 0.05 its training is
# unstable and two direct runs differing only in X's memory order end 2e-11 apart.
CASES = [
    ([300, 1], "relu", "sigmoid", 0.05),
    ([300, 8, 1], "tanh", "sigmoid", 0.05),
    ([300, 10, 6, 1], "relu", "sigmoid", 0.05),
    ([300, 6, 4, 2], "leaky_relu", "linear", 0.02),
    ([300, 5, 3], "sigmoid", "linear", 0.05),
]
CASE_IDS = ["logistic", "shallow-tanh", "deep-relu", "regression-leaky", "sigmoid-2out"]


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(("dims", "hidden", "output", "lr"), CASES, ids=CASE_IDS)
def test_gram_path_equals_the_direct_path(dims, hidden, output, lr, order, gram_calls):
    X, Y = data(dims[0], 40, dims[-1], order=order, regression=output == "linear")
    g, d = train_both(dims, X, Y, 300, lr, hidden=hidden, output=output, cost_every=37)
    assert sum(gram_calls) == 300 and len(gram_calls) >= 300 // 37  # the Gram path trained
    assert_params_close(g.params, d.params, RTOL64, f"{dims} {hidden} {order}")
    assert_allclose(g.history_.costs, d.history_.costs, rtol=RTOL64)
    assert g.history_.iterations == d.history_.iterations
    assert g.n_steps_ == d.n_steps_ == 300


@pytest.mark.parametrize(("dims", "hidden", "output", "lr"), CASES, ids=CASE_IDS)
def test_gram_path_equals_the_direct_path_float32(dims, hidden, output, lr):
    X, Y = data(dims[0], 40, dims[-1], dtype=np.float32, regression=output == "linear")
    g, d = train_both(dims, X, Y, 300, lr, hidden=hidden, output=output, cost_every=37,
                      dtype="float32")  # fmt: skip
    for key, value in g.params.items():
        assert value.dtype == np.float32, key
    assert_params_close(g.params, d.params, RTOL32, f"float32 {dims}")


@pytest.mark.parametrize("cost_every", [1, 2, 1000])
def test_chunking_does_not_change_the_result(cost_every, gram_calls):
    """One step per chunk (every chunk writes W1 and carries P), and one chunk for nearly all."""
    X, Y = data(200, 30)
    g, d = train_both([200, 7, 3, 1], X, Y, 120, 0.1, cost_every=cost_every)
    assert sum(gram_calls) == 120
    if cost_every == 1:
        assert gram_calls == [1] * 120
    assert_params_close(g.params, d.params, RTOL64, f"cost_every={cost_every}")


def test_a_gram_fit_gives_the_same_bits_however_slow_its_steps_look(monkeypatch, gram_calls):
    """Chunk ends round on the Gram path (``P`` is recomputed, ``W1`` written), so they must
    not follow the measured time of the steps: on a clock where every step seems to take
    10 s (which made every chunk one step), the chunks and the result stay bit for bit as
    they were. (Timed chunk ends made two runs of the float32 cat network end at costs 0.071
    and 0.088 on a loaded machine.)"""
    X, Y = data(200, 30)

    def fit():
        net = DNN([200, 7, 3, 1], seed=1)
        net.wide_input = True
        net.fit(X, Y, 0.1, num_iterations=120, cost_every=1000)
        return net.params

    normal = fit()
    chunks = list(gram_calls)
    assert len(chunks) >= 2 and sum(chunks) == 120
    clock = itertools.count(0.0, 10.0)  # each reading 10 s after the last
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    slow = fit()
    assert gram_calls[len(chunks) :] == chunks
    for key, value in normal.items():
        assert np.array_equal(slow[key], value), key


def test_changes_between_chunks_reach_the_gram_path():
    """A callback that rewrites W1 between chunks: the next chunk starts from it, as the
    direct path's next step does."""

    def halve_w1(iteration, cost, model):
        if iteration in (20, 60):
            p = {k: np.array(v) for k, v in model.params.items()}
            p["W1"] *= 0.5
            p["b2"] += 0.25
            model.set_params(p)

    X, Y = data(150, 25)
    g, d = train_both([150, 6, 1], X, Y, 100, 0.2, cost_every=10, callbacks=[halve_w1])
    assert_params_close(g.params, d.params, RTOL64)


def test_a_second_fit_continues_like_the_direct_path():
    X, Y = data(120, 20)
    nets = []
    for wide in (True, False):
        net = DNN([120, 5, 1], seed=1, wide_input=wide)
        net.fit(X, Y, 0.1, 70, cost_every=30)
        net.fit(X[:, :15], Y[:, :15], 0.1, 50, cost_every=30)  # another X: another G
        net.fit(X, Y, 0.1, 40, cost_every=30)
        nets.append(net)
    assert_params_close(nets[0].params, nets[1].params, RTOL64)
    assert nets[0].n_steps_ == 160


def test_the_caller_arrays_are_not_modified():
    X, Y = data(100, 20, order="F")
    X0, Y0 = X.copy(), Y.copy()
    DNN([100, 4, 1], seed=0, wide_input=True).fit(X, Y, 0.1, 30)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


# Under NUMBA_DISABLE_JIT the cost's float arithmetic is NumPy's, which warns as it overflows.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_divergence_keeps_a_whole_state_of_the_direct_path():
    """A learning rate far too large: the error is raised and the parameters kept are those
    of the direct path after the same number of steps (W1 written, nothing half-done). The
    kept state is near overflow, so the comparison is loose; a W1 one chunk stale would be
    off by orders of magnitude."""
    X, Y = data(80, 20, regression=True)
    X *= 50
    net = DNN([80, 6, 1], output="linear", seed=2, wide_input=True)
    start = {k: np.array(v) for k, v in net.params.items()}
    with pytest.raises(DivergenceError, match="diverged"):
        net.fit(X, Y, 5.0, 400, cost_every=3)
    kept = net.n_steps_
    assert kept > 3  # several chunks went well before
    assert all(np.isfinite(v).all() for v in net.params.values())
    ref = DNN.from_params(start, output="linear")
    ref.wide_input = False
    with pytest.warns(RuntimeWarning, match="not learned"):
        ref.fit(X, Y, 5.0, kept, cost_every=3)
    assert_params_close(net.params, ref.params, 1e-6)


@pytest.mark.filterwarnings("error")  # NumPy's overflow warnings from X.T @ X stay inside
def test_an_overflowing_gram_matrix_takes_the_direct_path_or_is_refused(gram_calls):
    """X finite, X.T @ X not (values near 1e154): "auto" trains on the direct path (it used
    to choose the Gram path, whose first step made 0 * inf and blamed the learning rate);
    True is refused before any step, the model untouched."""
    X, Y = data(300, 25, seed=2)
    X = (X - 0.5) * 1e154  # |x| sqrt(n_x) past 1.3e154: G overflows, the direct path does not
    fits = {}
    for wide in ("auto", False):
        net = DNN([300, 7, 1], hidden="tanh", seed=5, wide_input=wide)
        history = net.fit(X, Y, 0.01, 20, cost_every=5)
        assert history.stop_reason == "completed" and np.isfinite(history.costs).all()
        fits[wide] = net.params
    assert gram_calls == []
    assert all(np.array_equal(fits["auto"][k], fits[False][k]) for k in fits[False])
    net = DNN([300, 7, 1], hidden="tanh", seed=5, wide_input=True)
    start = {k: np.array(v) for k, v in net.params.items()}
    with pytest.raises(ValueError, match=r"X.T @ X overflows float64 \(largest \|X\| = 5e\+153"):
        net.fit(X, Y, 0.01, 20)
    assert net.n_steps_ == 0 and all(np.array_equal(net.params[k], start[k]) for k in start)


def test_minibatch_stays_on_the_direct_path(gram_calls):
    X, Y = data(300, 40)
    net = DNN([300, 5, 1], seed=0)  # auto
    net.fit(X, Y, 0.1, epochs=3, batch_size=16)
    assert gram_calls == []
    assert net.n_steps_ == 9


# ------------------------------------------------------------------ the course's cat networks
@pytest.fixture(scope="module")
def cat():
    if JIT_DISABLED:
        pytest.skip("NUMBA_DISABLE_JIT=1: 2500 steps of the cat network as Python loops")
    pytest.importorskip("h5py", reason="the cat data is HDF5: pip install h5py")
    try:
        return fastdnn.datasets.load_cat_data()
    except FileNotFoundError as exc:
        pytest.skip(f"cat data not available: {exc}")


def test_two_layer_cat_model_gives_the_courses_numbers(cat):
    """The course's 12288-7-1 run (W4A2, 2500 iterations from ``initialize_parameters``) on
    the Gram path: the published costs and accuracies."""
    from fastdnn.course import deep

    from .test_course import TWO_LAYER_COSTS

    train_x, train_y, test_x, test_y = cat
    net = DNN.from_params(deep.initialize_parameters(12288, 7, 1))
    spec = net._spec()
    assert select_stepper("jit", spec, 209, batch_size=None, n_steps=2500, cost_every=100) is (
        GramStepper
    )  # auto takes it
    net.fit(train_x, train_y, 0.0075, 2500)
    costs = dict(zip(net.history_.iterations, net.history_.costs, strict=True))
    for i in range(0, 2500, 100):
        assert costs[i] == pytest.approx(TWO_LAYER_COSTS[i], rel=1e-10), i
    assert net.score(train_x, train_y) == pytest.approx(1.0)  # course: 0.9999999999999998
    assert net.score(test_x, test_y) == pytest.approx(0.72)


def test_L_layer_cat_model_gives_the_courses_numbers(cat):
    """The course's 12288-20-7-5-1 run (W4A2, 2500 iterations): published costs to their 6
    decimals, and accuracies."""
    from fastdnn.course import deep

    from .test_course import L_LAYER_COSTS, close6

    train_x, train_y, test_x, test_y = cat
    net = DNN.from_params(deep.initialize_parameters_deep_app([12288, 20, 7, 5, 1]))
    net.wide_input = True
    net.fit(train_x, train_y, 0.0075, 2500)
    costs = dict(zip(net.history_.iterations, net.history_.costs, strict=True))
    published = sorted(L_LAYER_COSTS)
    close6([costs[i] for i in published], [L_LAYER_COSTS[i] for i in published])
    assert net.score(train_x, train_y) == pytest.approx(0.985645933014, abs=5e-13)
    assert net.score(test_x, test_y) == pytest.approx(0.8)


@pytest.mark.slow
@pytest.mark.parametrize("two_layer", [True, False], ids=["2-layer", "L-layer"])
def test_cat_models_gram_against_direct_after_2500_steps(cat, two_layer):
    """The course's runs on both paths (the direct ones take ~15 s per model here).

    float64: the parameters to RTOL64 (measured: 4e-15 and 6e-15). float32: these runs are
    sensitive at float32's rounding (starting the direct float32 2-layer run from parameters
    moved by 1e-7 relative moves its final ones by 6e-4 to 2e-2: ReLU units switch at other
    steps; the L-layer's float32 costs end 4% from float64's on both paths), so the float32
    paths are held to each other's last cost to 2% (measured 0.3% on an Intel Sapphire
    Rapids, 0.5% on an AMD Zen 3) and train accuracy.
    """
    from fastdnn.course import deep

    train_x, train_y, _, _ = cat
    if two_layer:
        start = deep.initialize_parameters(12288, 7, 1)
    else:
        start = deep.initialize_parameters_deep_app([12288, 20, 7, 5, 1])
    nets = {}
    for dtype in ("float64", "float32"):
        for wide in (True, False):
            net = DNN.from_params(start, dtype=dtype)
            net.wide_input = wide
            net.fit(train_x.astype(dtype), train_y, 0.0075, 2500)
            nets[dtype, wide] = net
    g, d = nets["float64", True], nets["float64", False]
    assert_params_close(g.params, d.params, RTOL64)
    g32, d32 = nets["float32", True], nets["float32", False]
    assert g32.history_.costs[-1] == pytest.approx(d32.history_.costs[-1], rel=2e-2)
    assert g32.score(train_x, train_y) == d32.score(train_x, train_y)


# ------------------------------------------------------------------ the choice and the knob
def spec_of(dims, dtype="float64"):
    return NetSpec(tuple(dims), "relu", "sigmoid", 0.01, np.dtype(dtype))


def test_auto_takes_the_path_where_m_is_small_against_n_x():
    cat = spec_of([12288, 20, 7, 5, 1])
    assert choose("auto", cat, 209, batch_size=None, n_steps=2500, cost_every=100)
    # ... and never where G would be larger than X, nor for the planar network
    assert not choose("auto", spec_of([300, 20, 1]), 301, batch_size=None, n_steps=10**6,
                      cost_every=10**6)  # fmt: skip
    assert not choose("auto", spec_of([2, 4, 1]), 400, batch_size=None, n_steps=10000,
                      cost_every=100)  # fmt: skip
    # ... nor for a run too short to pay for G, nor for mini-batches
    assert not choose("auto", cat, 209, batch_size=None, n_steps=1, cost_every=100)
    assert not choose("auto", cat, 209, batch_size=32, n_steps=2500, cost_every=100)
    assert not choose(False, cat, 209, batch_size=None, n_steps=2500, cost_every=100)
    assert choose(True, spec_of([2, 4, 1]), 400, batch_size=None, n_steps=1, cost_every=1)


def test_cost_model_follows_the_flop_counts():
    """The model's terms, worked by hand for n_x=1000, n1=10, m=100, 50 steps, one record
    every 25: F = 10*1000*100 = 1e6; direct = 50 * 2F = 1e8; chunks = 1 + 50/25 = 3;
    gram = 100^2*1000/2 + 3 * 2F + 50 * 10*100^2 = 5e6 + 6e6 + 5e6."""
    direct, gram = first_layer_work([1000, 10, 1], 100, 50, 25)
    assert direct == 1e8
    assert gram == pytest.approx(5e6 + 6e6 + 5e6, rel=1e-15)
    # momentum: two more products with X per chunk, 3 * 2F more
    _, gram_momentum = first_layer_work([1000, 10, 1], 100, 50, 25, momentum=True)
    assert gram_momentum == pytest.approx(5e6 + 12e6 + 5e6, rel=1e-15)
    # More steps only make the path cheaper relative to the direct one (G is paid once).
    ratios = [np.divide(*first_layer_work([1000, 10, 1], 100, n, 25)[::-1]) for n in
              (1, 10, 100, 1000)]  # fmt: skip
    assert ratios == sorted(ratios, reverse=True)


def test_auto_picks_the_gram_path_in_fit(gram_calls):
    X, Y = data(1000, 50)
    net = DNN([1000, 10, 1], seed=0)
    assert net.wide_input == "auto"
    net.fit(X, Y, 0.1, 200)
    assert sum(gram_calls) == 200
    gram_calls.clear()
    net.wide_input = False
    net.fit(X, Y, 0.1, 200)
    assert gram_calls == []


BAD_VALUES = [("yes", ValueError), ("AUTO", ValueError), (1, TypeError), (None, TypeError),
              (0.0, TypeError)]  # fmt: skip


@pytest.mark.parametrize(("value", "error"), BAD_VALUES)
def test_bad_wide_input_is_refused_naming_it(value, error):
    with pytest.raises(error, match=r"wide_input must be 'auto', True or False; got"):
        DNN([4, 3, 1], wide_input=value)
    net = DNN([4, 3, 1])
    with pytest.raises(error, match="wide_input"):
        net.wide_input = value
    assert net.wide_input == "auto"


def test_wide_input_accepts_numpy_bools():
    assert check_wide_input(np.True_) is True
    assert DNN([4, 3, 1], wide_input=np.False_).wide_input is False


def test_wide_input_true_with_minibatches_is_refused_before_any_work():
    X, Y = data(50, 20)
    net = DNN([50, 3, 1], seed=0, wide_input=True)
    before = {k: np.array(v) for k, v in net.params.items()}
    with pytest.raises(ValueError, match=r"wide_input=True cannot be honoured: mini-batch .*"
                       r"batch_size=8.*wide_input='auto'"):  # fmt: skip
        net.fit(X, Y, 0.1, epochs=1, batch_size=8)
    assert net.n_steps_ == 0 and net._workspace is None
    for key, value in net.params.items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize("backend", ["numpy", "naive"])
def test_wide_input_true_needs_a_backend_with_the_path(backend):
    X, Y = data(20, 5)
    net = DNN([20, 3, 1], backend=backend, wide_input=True)
    with pytest.raises(ValueError, match=rf"backend '{backend}' has no wide-input .*\['jit'\]"):
        net.fit(X, Y, 0.1, 2)
    net.wide_input = "auto"  # auto on those backends: their own stepper, no error
    net.fit(X, Y, 0.1, 2)


def test_wide_input_true_refuses_a_gram_matrix_too_big_for_memory():
    with pytest.raises(ValueError, match=r"Gram matrix X.T @ X of 10,000,000 examples.*"
                       r"wide_input='auto' or False"):  # fmt: skip
        choose(True, spec_of([10**8, 2, 1]), 10**7, batch_size=None, n_steps=10, cost_every=10)
    # auto falls back instead
    assert not choose("auto", spec_of([10**8, 2, 1]), 10**7, batch_size=None, n_steps=10**6,
                      cost_every=10**6)  # fmt: skip


def test_unsupported_optimizers_fall_back_or_are_refused():
    cat = spec_of([12288, 20, 7, 5, 1])
    adam = Train(optimizer=int(Opt.ADAM))
    assert not choose("auto", cat, 209, batch_size=None, n_steps=2500, cost_every=100,
                      train=adam)  # fmt: skip
    with pytest.raises(ValueError, match=r"optimizer='adam' is not supported by the Gram path"):
        choose(True, cat, 209, batch_size=None, n_steps=2500, cost_every=100, train=adam)
    assert "gd" in gram_module.SPAN_OPTIMIZERS
    # decay, L2 and dropout are runs the path takes
    course2 = Train(decay_rate=0.1, lambd=0.5, keep_prob=0.8)
    assert choose("auto", cat, 209, batch_size=None, n_steps=2500, cost_every=100, train=course2)


# ------------------------------------------------------------------ Course 2 on the Gram path
# Each supported setting against the direct path, 300 steps, float64. The inputs are those of
# CASES (uniform in [0, 1)); chunks of 37 steps so that chunk ends fall inside decay intervals
# and between dropout steps.
COURSE2 = {
    "decay": dict(decay_rate=0.05),
    "decay-scheduled": dict(decay_rate=0.5, time_interval=40),
    "l2": dict(lambd=0.7),
    "dropout": dict(keep_prob=0.8),
    "l2-decay-dropout": dict(lambd=0.4, decay_rate=0.02, keep_prob=0.9),
    "momentum": dict(optimizer="momentum", beta=0.9),
    "momentum-l2-decay-dropout": dict(
        optimizer="momentum", beta=0.8, lambd=0.4, decay_rate=0.02, keep_prob=0.9
    ),
}


@pytest.mark.parametrize("dims", [[300, 10, 6, 1], [300, 1]], ids=["deep", "logistic"])
@pytest.mark.parametrize("settings", list(COURSE2.values()), ids=list(COURSE2))
def test_course2_settings_on_the_gram_path_equal_the_direct_path(settings, dims, gram_calls):
    X, Y = data(dims[0], 40)
    if len(dims) == 2 and "keep_prob" in settings:  # no hidden layer: dropout is refused
        with pytest.raises(ValueError, match="dropout applies to the hidden layers"):
            DNN(dims, seed=3).fit(X, Y, 0.05, 300, cost_every=37, **settings)
        settings = {k: v for k, v in settings.items() if k != "keep_prob"}
        if not settings:
            return
    nets = {}
    for wide in (True, False):
        net = DNN(dims, seed=3, wide_input=wide)
        net.fit(X, Y, 0.05, 300, cost_every=37, **settings)
        nets[wide] = net
    g, d = nets[True], nets[False]
    assert sum(gram_calls) == 300  # the Gram path trained
    assert_params_close(g.params, d.params, RTOL64, str(settings))
    assert_allclose(g.history_.costs, d.history_.costs, rtol=RTOL64)
    # and the setting did something: plain gradient descent ends elsewhere
    plain = DNN(dims, seed=3, wide_input=False)
    plain.fit(X, Y, 0.05, 300, cost_every=37)
    assert max(np.abs(plain.params[k] - d.params[k]).max() for k in d.params) > 1e-6


def test_softmax_with_dropout_and_l2_on_the_gram_path(gram_calls):
    X, _ = data(300, 45)
    Y = np.eye(4)[np.random.default_rng(5).integers(0, 4, 45)].T.copy()  # one-hot (4, m)
    nets = {}
    for wide in (True, False):
        net = DNN([300, 9, 5, 4], output="softmax", seed=3, wide_input=wide)
        net.fit(X, Y, 0.1, 300, cost_every=37, keep_prob=0.85, lambd=0.3)
        nets[wide] = net
    assert sum(gram_calls) == 300
    assert_params_close(nets[True].params, nets[False].params, RTOL64, "softmax")
    assert_allclose(nets[True].history_.costs, nets[False].history_.costs, rtol=RTOL64)


def test_course2_settings_on_the_gram_path_float32():
    X, Y = data(300, 40, dtype=np.float32)
    nets = {}
    for wide in (True, False):
        net = DNN([300, 10, 6, 1], seed=3, dtype="float32", wide_input=wide)
        net.fit(X, Y, 0.05, 300, cost_every=37, lambd=0.4, decay_rate=0.02, keep_prob=0.9,
                optimizer="momentum")  # fmt: skip
        nets[wide] = net
    assert_params_close(nets[True].params, nets[False].params, RTOL32, "float32 course 2")


@pytest.mark.parametrize("lambd", [0.0, 0.5], ids=["plain", "l2"])
def test_momentum_continues_from_a_previous_velocity(lambd, gram_calls):
    """A second fit starts from a velocity outside the span of its X (the first fit's, on
    other examples): it is the second base of W1 (c v_base), and comes back in v."""
    X, Y = data(200, 30)
    nets = {}
    for wide in (True, False):
        net = DNN([200, 7, 3, 1], seed=4, wide_input=wide)
        net.fit(X[:, :20], Y[:, :20], 0.1, 60, cost_every=25, optimizer="momentum", lambd=lambd)
        net.fit(X, Y, 0.1, 90, cost_every=25, optimizer="momentum", beta=0.7, lambd=lambd)
        nets[wide] = net
    g, d = nets[True], nets[False]
    assert sum(gram_calls) == 150
    assert_params_close(g.params, d.params, RTOL64, "momentum, second fit")
    scale = np.abs(d._optimizer.v).max()
    assert scale > 0
    assert_allclose(g._optimizer.v, d._optimizer.v, rtol=0, atol=RTOL64 * scale)


def test_early_stopping_restores_the_same_best_state(gram_calls):
    """W1 is written at every chunk's end, and a chunk ends at every cost record: the best
    state early stopping keeps is an ordinary one."""
    X, Y = data(300, 60, seed=1)
    nets = {}
    for wide in (True, False):
        net = DNN([300, 12, 1], seed=3, wide_input=wide)
        net.fit(X, Y, 0.3, 3000, cost_every=10, early_stopping=True, patience=3, tol=0.0)
        nets[wide] = net
    g, d = nets[True], nets[False]
    assert sum(gram_calls) == g.history_.n_steps > 0
    assert g.history_.stop_reason == d.history_.stop_reason == "early_stopping"
    assert g.history_.best_iteration == d.history_.best_iteration < g.history_.n_steps - 10
    assert g.n_steps_ == d.n_steps_ == g.history_.best_iteration  # back there, all of it
    assert_params_close(g.params, d.params, RTOL64, "early stopping")


UNSUPPORTED = {
    "rmsprop": dict(optimizer="rmsprop"),
    "adam": dict(optimizer="adam"),
}


@pytest.mark.parametrize("settings", list(UNSUPPORTED.values()), ids=list(UNSUPPORTED))
def test_unsupported_settings_fall_back_to_the_direct_path(settings, gram_calls):
    """auto trains them on the direct path (bit for bit what wide_input=False gives)."""
    X, Y = data(1000, 50)  # auto would take the Gram path for gradient descent
    nets = {}
    for wide in ("auto", False):
        net = DNN([1000, 10, 1], seed=0, wide_input=wide)
        net.fit(X, Y, 0.01, 200, **settings)
        nets[wide] = net
    assert gram_calls == []
    for key in nets[False].params:
        np.testing.assert_array_equal(nets["auto"].params[key], nets[False].params[key])
    assert nets["auto"].history_.costs[-1] < nets["auto"].history_.costs[0]
    # the same data with gradient descent does take it (the fall-back is the optimizer's)
    DNN([1000, 10, 1], seed=0).fit(X, Y, 0.01, 200)
    assert sum(gram_calls) == 200


@pytest.mark.parametrize("settings", list(UNSUPPORTED.values()), ids=list(UNSUPPORTED))
def test_wide_input_true_with_an_unsupported_optimizer_is_refused_before_any_work(settings):
    X, Y = data(50, 20)
    net = DNN([50, 3, 1], seed=0, wide_input=True)
    before = {k: np.array(v) for k, v in net.params.items()}
    name = settings["optimizer"]
    expected = rf"cannot be honoured: optimizer='{name}' is not supported by the Gram path"
    with pytest.raises(ValueError, match=rf"wide_input=True {expected}.*wide_input='auto'"):
        net.fit(X, Y, 0.1, 10, **settings)
    assert net.n_steps_ == 0 and net._workspace is None and net._optimizer is None
    for key, value in net.params.items():
        np.testing.assert_array_equal(value, before[key])


def test_wide_input_true_on_out_of_core_data_is_refused_before_any_work(tmp_path, gram_calls):
    X, Y = data(40, 12)
    mapped = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="w+", shape=X.shape)
    mapped[...] = X
    net = DNN([40, 3, 1], seed=0, wide_input=True)
    with pytest.raises(ValueError, match=r"wide_input=True cannot be honoured: X is read by "
                       r"blocks \(out of core\).*wide_input='auto'"):  # fmt: skip
        net.fit(mapped, Y, 0.1, 5)
    assert net.n_steps_ == 0
    net.wide_input = "auto"  # by blocks, on the direct path
    net.fit(mapped, Y, 0.1, 5)
    assert net.n_steps_ == 5 and gram_calls == []


def test_gram_stepper_refuses_an_unsupported_optimizer():
    X, Y = data(10, 4)
    net = DNN([10, 2, 1])
    ws = fastdnn.steppers.Workspace([10, 2, 1], 4, np.float64, False)
    expected = r"runs the optimizers \['gd', 'momentum'\]; got 'rmsprop'"
    with pytest.raises(ValueError, match=expected):
        GramStepper(net._spec(), net._theta, net._grad, X, Y, None, ws,
                    train=Train(optimizer=int(Opt.RMSPROP)))  # fmt: skip


def test_wide_input_survives_copies_and_old_pickles():
    net = DNN([5, 2, 1], wide_input=False)
    assert copy.deepcopy(net).wide_input is False
    assert pickle.loads(pickle.dumps(net)).wide_input is False
    state = net.__getstate__()
    del state["_wide_input"]  # pickled before the setting existed
    old = DNN.__new__(DNN)
    old.__setstate__(state)
    assert old.wide_input == "auto"
    assert DNN.from_params(net.params).wide_input == "auto"


def test_gram_stepper_refuses_minibatches():
    X, Y = data(10, 4)
    net = DNN([10, 2, 1])
    ws = fastdnn.steppers.Workspace([10, 2, 1], 4, np.float64, True)
    with pytest.raises(ValueError, match="full batch only"):
        GramStepper(net._spec(), net._theta, net._grad, X, Y, 2, ws)


# ------------------------------------------------------------------ the training loop's chunks
class SlowFirstCall(JitStepper):
    """A stepper whose first call takes 0.3 s, as a first call that compiles does."""

    def full_batch(self, n_steps, learning_rate, want_cost):
        if not getattr(self, "warm", False):
            self.warm = True
            time.sleep(0.3)
        return super().full_batch(n_steps, learning_rate, want_cost)


def test_a_slow_first_chunk_does_not_pin_every_chunk_to_one_step(monkeypatch):
    """The loop sized its chunks from the first one's time and then measured again only
    chunks of more than one step: after a first call that compiled, a whole fit ran one step
    per chunk (on the Gram path each chunk also writes W1: 40x slower on the cat network)."""
    X, Y = data(3, 50)
    net = DNN([3, 2, 1], seed=0)
    ws = fastdnn.steppers.Workspace([3, 2, 1], 50, np.float64, False)
    stepper = SlowFirstCall(net._spec(), net._theta, net._grad, X, Y, None, ws)
    calls = []
    original = stepper.full_batch

    def count(n_steps, learning_rate, want_cost):
        calls.append(n_steps)
        return original(n_steps, learning_rate, want_cost)

    monkeypatch.setattr(stepper, "full_batch", count)
    run(stepper, Schedule(500, None, 50), 0.1, start_iteration=0, cost_every=100,
        rng=np.random.default_rng(0))  # fmt: skip
    assert sum(calls) == 500
    assert len(calls) <= 10, calls[:12]  # 1, 1, 98, 100, 100, 100, 100 with the fix


@pytest.mark.skipif(JIT_DISABLED, reason="NUMBA_DISABLE_JIT=1: nothing is compiled")
def test_warmup_compiles_the_gram_loop():
    """In a fresh process, so that no other test has compiled it already."""
    import subprocess
    import sys

    code = (
        "import fastdnn\n"
        "from fastdnn.steppers import _gram_loop\n"
        "fastdnn.warmup(('float32',))\n"
        "print(len(_gram_loop.gram_steps.signatures))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, check=True).stdout  # fmt: skip
    assert int(out.split()[-1]) >= 1
