"""The split step (:mod:`fastdnn.steppers.split`) against the direct step, its rule, its threads.

A split step sums the gradients of ranges of the examples, computed in worker threads; it must
train to the direct step's parameters to rounding whatever the optimizer, output, layout and
number of threads, and leave nothing running or half-written when a fit ends or is stopped.
"""

import _thread
import dataclasses
import multiprocessing
import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastdnn import DNN, _blas
from fastdnn._numba import JIT_DISABLED
from fastdnn.backends import select_stepper
from fastdnn.steppers import STEP, NetSpec, Train, Workspace, split
from fastdnn.steppers.jit import JitStepper
from fastdnn.steppers.split import SplitStepper, choose, cuts

# The two steps add the same terms in another order. Measured after 40 steps of CASES,
# relative to each parameter's largest entry: float64 at most ~2e-15, float32 ~1e-6.
RTOL64 = 1e-12
RTOL32 = 5e-5


def data(n_x, m, n_y=1, seed=0, dtype=np.float64, order="C", output="sigmoid"):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n_x, m)).astype(dtype)
    X = np.asfortranarray(X) if order == "F" else X
    if output == "softmax":
        Y = np.eye(n_y, dtype=dtype)[:, rng.integers(0, n_y, m)]
    elif output == "linear":
        Y = (X[:1] - 0.5 * X[1:2] + 0.1 * rng.standard_normal((1, m))).astype(dtype)
    else:
        Y = (rng.uniform(0, 1, (n_y, m)) > 0.5).astype(dtype)
    return X, Y


@pytest.fixture
def exits(monkeypatch):
    """The times at which the split stepper's chunks of steps returned or raised."""
    times = []
    real = SplitStepper.full_batch

    def timed(self, *args):
        try:
            return real(self, *args)
        finally:
            times.append(time.perf_counter())

    monkeypatch.setattr(SplitStepper, "full_batch", timed)
    return times


@pytest.fixture
def split_into(monkeypatch):
    """``split_into(t)``: every following full-batch fit splits its steps between ``t``
    threads; returns a list that receives the (thread name, part) of every part computed."""
    calls = []
    real_part = SplitStepper._part

    def counted(self, t):
        calls.append((threading.current_thread().name, t))
        return real_part(self, t)

    monkeypatch.setattr(SplitStepper, "_part", counted)

    def force(threads):
        monkeypatch.setattr(split, "choose", lambda *a, **k: threads)
        return calls

    return force


CASES = [  # (dims, hidden, output, fit options)
    ([6, 5, 1], "relu", "sigmoid", {}),
    ([6, 7, 4, 2], "tanh", "sigmoid", {"optimizer": "momentum", "decay_rate": 0.3}),
    ([6, 5, 3], "relu", "softmax", {"optimizer": "adam", "lambd": 0.7}),
    ([6, 4, 1], "leaky_relu", "linear", {"optimizer": "rmsprop"}),
    ([6, 1], "relu", "sigmoid", {"lambd": 0.2}),  # logistic regression: gemv products
]


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dims, hidden, output, options", CASES)
def test_split_steps_equal_direct_steps(dims, hidden, output, options, order, threads, split_into):
    X, Y = data(dims[0], 203, dims[-1], order=order, output=output)
    kw = dict(learning_rate=0.05, num_iterations=40, cost_every=10, **options)
    direct = DNN(dims, hidden=hidden, output=output, seed=3)
    h_direct = direct.fit(X, Y, **kw)
    calls = split_into(threads)
    net = DNN(dims, hidden=hidden, output=output, seed=3)
    h = net.fit(X, Y, **kw)
    assert len(calls) == 40 * threads and {t for _, t in calls} == set(range(threads))
    if not JIT_DISABLED:
        assert all(name.startswith("fastdnn-split") for name, _ in calls)
    for key in direct.params:
        assert_allclose(
            net.params[key],
            direct.params[key],
            rtol=0,
            atol=RTOL64 * (np.abs(direct.params[key]).max() or 1.0),
        )
    assert_allclose(h.costs, h_direct.costs, rtol=RTOL64)
    assert net.n_steps_ == direct.n_steps_ == 40
    if options.get("optimizer") == "adam":  # the optimizer's state, handed back to the model
        assert net._optimizer.t == direct._optimizer.t == 40
        assert_allclose(net._optimizer.v, direct._optimizer.v, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dims, hidden, output, options", CASES[:3])
def test_split_steps_equal_direct_steps_float32(dims, hidden, output, options, split_into):
    X, Y = data(dims[0], 160, dims[-1], dtype=np.float32, output=output)
    kw = dict(learning_rate=0.05, num_iterations=40, **options)
    direct = DNN(dims, hidden=hidden, output=output, seed=3, dtype="float32")
    direct.fit(X, Y, **kw)
    split_into(2)
    net = DNN(dims, hidden=hidden, output=output, seed=3, dtype="float32")
    net.fit(X, Y, **kw)
    for key in direct.params:
        scale = float(np.abs(direct.params[key]).max()) or 1.0
        assert_allclose(net.params[key], direct.params[key], rtol=0, atol=RTOL32 * scale)


def test_a_split_fit_gives_the_same_bits_every_run_and_continues_like_one_fit(split_into):
    X, Y = data(6, 203)
    split_into(2)
    a, b = DNN([6, 5, 1], seed=1), DNN([6, 5, 1], seed=1)
    a.fit(X, Y, learning_rate=0.1, num_iterations=30, optimizer="adam")
    b.fit(X, Y, learning_rate=0.1, num_iterations=12, optimizer="adam")
    b.fit(X, Y, learning_rate=0.1, num_iterations=18, optimizer="adam")
    assert a._theta.tobytes() == b._theta.tobytes()


def test_the_caller_arrays_are_not_modified(split_into):
    X, Y = data(6, 120, order="F")
    X0, Y0 = X.copy(order="A"), Y.copy()
    X.flags.writeable = False
    split_into(2)
    DNN([6, 5, 1], seed=0).fit(X, Y, learning_rate=0.1, num_iterations=5)
    assert np.array_equal(X, X0) and np.array_equal(Y, Y0) and X.flags.f_contiguous


def test_divergence_keeps_a_whole_state_of_the_direct_path(split_into):
    X, Y = data(6, 120)
    X = X * 1e4
    kw = dict(learning_rate=50.0, num_iterations=60, cost_every=5, on_divergence="warn")
    direct = DNN([6, 8, 1], hidden="linear", output="linear", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h_direct = direct.fit(X, X[:1] * 3.0, **kw)
    split_into(2)
    net = DNN([6, 8, 1], hidden="linear", output="linear", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = net.fit(X, X[:1] * 3.0, **kw)
    assert h.stop_reason == h_direct.stop_reason == "diverged"
    assert net.n_steps_ == direct.n_steps_ and np.isfinite(net._theta).all()
    assert_allclose(net._theta, direct._theta, rtol=1e-9)


def test_an_interrupt_waits_for_every_part_and_keeps_the_last_whole_step(split_into, exits):
    X, Y = data(6, 203)
    split_into(2)
    finished = []
    real_part = SplitStepper._part  # split_into's counting wrapper

    def interrupting(self, t):
        if self.clock[STEP] == 7 and t == 1:  # the 8th step's second part: Ctrl-C meanwhile
            _thread.interrupt_main()
            time.sleep(0.3)  # still working when the main thread sees the interrupt
        cost = real_part(self, t)
        finished.append(time.perf_counter())
        return cost

    # interrupt_main does nothing where SIGINT is ignored (a process started in the background
    # by a shell without job control, as CI may be): Python's own handler for the test
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    SplitStepper._part, saved = interrupting, SplitStepper._part
    try:
        net = DNN([6, 5, 1], seed=0)
        with pytest.warns(RuntimeWarning, match="training interrupted after"):
            h = net.fit(X, Y, learning_rate=0.1, num_iterations=50, cost_every=1)
        returned = time.perf_counter()
    finally:
        SplitStepper._part = saved
        signal.signal(signal.SIGINT, handler)
    assert h.stop_reason == "interrupted" and net.n_steps_ == h.n_steps < 50
    # no part still running, writing the model's buffers, when the chunk raised (the fit then
    # goes back to the last whole step) nor when the fit returned
    assert max(finished) < exits[-1] < returned
    ref = DNN([6, 5, 1], seed=0)
    ref.fit(X, Y, learning_rate=0.1, num_iterations=h.n_steps)
    assert_allclose(net._theta, ref._theta, rtol=0, atol=1e-13)


def test_a_part_that_fails_raises_after_the_other_parts_finish(split_into, exits):
    X, Y = data(6, 203)
    split_into(2)
    finished = []

    def failing(self, t):
        if t == 0:
            raise MemoryError("part 0")
        time.sleep(0.2)
        finished.append(time.perf_counter())
        return 0.0

    SplitStepper._part, saved = failing, SplitStepper._part
    try:
        with pytest.raises(MemoryError, match="part 0"):
            DNN([6, 5, 1], seed=0).fit(X, Y, learning_rate=0.1, num_iterations=5)
        raised = time.perf_counter()
    finally:
        SplitStepper._part = saved
    assert finished and max(finished) < exits[-1] < raised


def _fit_in_a_forked_child(X, Y):  # the parent's split_into holds: the child splits too
    net = DNN([6, 5, 1], seed=0)
    net.fit(X, Y, learning_rate=0.1, num_iterations=3)
    os._exit(0 if net.n_steps_ == 3 else 1)


def test_workers_are_kept_between_fits_and_a_forked_child_starts_its_own(split_into, monkeypatch):
    X, Y = data(6, 203)
    split_into(2)
    used = set()
    counted = SplitStepper._part

    def part(self, t):
        used.add(threading.current_thread())
        return counted(self, t)

    monkeypatch.setattr(SplitStepper, "_part", part)
    for seed in range(3):
        DNN([6, 5, 1], seed=seed).fit(X, Y, learning_rate=0.1, num_iterations=3)
        # the pool starts a thread only when none is idle, so a fit may use one or two
        assert 1 <= len(used) <= 2 and all(t.is_alive() for t in used)  # kept, not new
    # A forked child's copy of the pool has no threads: a fit there must not wait forever.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork of a threaded process
        child = multiprocessing.get_context("fork").Process(
            target=_fit_in_a_forked_child, args=(X, Y)
        )
        child.start()
    child.join(timeout=60)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0


def test_fits_in_several_threads_at_once_share_the_workers_and_train_as_alone(split_into):
    X, Y = data(6, 203)
    split_into(2)
    nets = [DNN([6, 5, 1], seed=i) for i in range(4)]
    fits = [
        threading.Thread(target=n.fit, args=(X, Y), kwargs=dict(num_iterations=60)) for n in nets
    ]
    for t in fits:
        t.start()
    for t in fits:
        t.join()
    for i, net in enumerate(nets):
        alone = DNN([6, 5, 1], seed=i)
        alone.fit(X, Y, num_iterations=60)
        assert net.n_steps_ == 60 and net._theta.tobytes() == alone._theta.tobytes()


# ---------------------------------------------------------------- the ranges
@pytest.mark.parametrize("parts", [2, 3, 4, 7])
def test_cuts_are_aligned_increasing_ranges_covering_the_examples(parts):
    for m in range(parts * split.ALIGN_EXAMPLES, parts * split.ALIGN_EXAMPLES + 300):
        c = cuts(m, parts)
        assert c[0] == 0 and c[-1] == m and len(c) == parts + 1
        assert np.all(np.diff(c) >= split.ALIGN_EXAMPLES)
        assert np.all(c[1:-1] % split.ALIGN_EXAMPLES == 0)


def test_the_stepper_refuses_what_it_cannot_split():
    X, Y = data(6, 40)
    spec = NetSpec((6, 5, 1), "relu", "sigmoid", 0.01, np.dtype(np.float64))
    theta = np.zeros(41)
    ws = Workspace(spec.layer_dims, 40, np.float64, minibatch=False)
    with pytest.raises(ValueError, match="threads must be between 2 and m // 8 = 5"):
        SplitStepper(spec, theta, np.zeros(41), X, Y, None, ws, threads=6)
    with pytest.raises(ValueError, match="without dropout"):
        SplitStepper(
            spec, theta, np.zeros(41), X, Y, None, ws, threads=2, train=Train(keep_prob=0.5)
        )
    with pytest.raises(ValueError, match="full-batch"):
        SplitStepper(spec, theta, np.zeros(41), X, Y, 8, ws, threads=2)


# ---------------------------------------------------------------- the rule
W3 = NetSpec((784, 128, 64, 1), "relu", "sigmoid", 0.01, np.dtype(np.float64))


@pytest.fixture
def machine(monkeypatch):
    """``machine(threads, code)``: fastdnn's threads, and the library every product takes."""

    def set_(threads, code):
        monkeypatch.setattr(_blas, "current_threads", lambda: threads)
        monkeypatch.setattr(_blas, "choose", lambda dims, m, dtype, **kw: [code] * 5)

    return set_


def test_the_rule_splits_large_float64_full_batches_on_mkl_threads(machine):
    machine(2, _blas.USE_MKL)
    assert choose(W3, 10000, batch_size=None, train=Train()) == 2
    # each thread's range must have MIN_MACS_PER_THREAD forward multiply-adds
    per_example = split.forward_macs(W3.layer_dims)
    least = 2 * split.MIN_MACS_PER_THREAD // per_example + 1
    assert choose(W3, least, batch_size=None, train=Train()) == 2
    assert choose(W3, least - 2, batch_size=None, train=Train()) == 0
    machine(8, _blas.USE_MKL)  # more threads than the examples can feed
    assert (
        choose(W3, 3 * split.MIN_MACS_PER_THREAD // per_example + 1, batch_size=None, train=None)
        == 3
    )


@pytest.mark.parametrize("why", ["minibatch", "dropout", "float32", "one thread", "openblas"])
def test_the_rule_keeps_the_direct_step(why, machine):
    machine(
        1 if why == "one thread" else 2,
        _blas.USE_NUMPY_BLAS if why == "openblas" else _blas.USE_MKL,
    )
    spec = dataclasses.replace(W3, dtype=np.dtype(np.float32)) if why == "float32" else W3
    train = Train(keep_prob=0.8) if why == "dropout" else Train()
    batch = 64 if why == "minibatch" else None
    assert choose(spec, 10000, batch_size=batch, train=train) == 0


def test_select_stepper_takes_the_split_where_the_rule_says(machine):
    machine(2, _blas.USE_MKL)
    pick = select_stepper("jit", W3, 10000, batch_size=None, n_steps=10, cost_every=10)
    assert pick is SplitStepper
    assert (
        select_stepper("numpy", W3, 10000, batch_size=None, n_steps=10, cost_every=10)
        is not SplitStepper
    )
    machine(2, _blas.USE_NUMPY_BLAS)
    pick = select_stepper("jit", W3, 10000, batch_size=None, n_steps=10, cost_every=10)
    assert pick is JitStepper


def test_each_part_runs_its_products_on_one_mkl_thread(split_into, monkeypatch):
    lib = _blas.load_mkl()
    if lib is None:
        pytest.skip("MKL is not installed (the mkl extra): the split takes MKL's products only")
    seen = []
    counted = SplitStepper._part

    def part(self, t):
        seen.append(lib.MKL_Get_Max_Threads())
        return counted(self, t)

    monkeypatch.setattr(SplitStepper, "_part", part)
    split_into(2)
    X, Y = data(6, 203)
    DNN([6, 5, 1], seed=0).fit(X, Y, learning_rate=0.1, num_iterations=3)
    assert seen == [1] * 6
