"""The course's second part in the engine: softmax, optimizers, decay, L2, dropout, early
stopping, gradient checking -- on every backend, against course-style code."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import fastdnn
from fastdnn import DNN
from fastdnn._dropout import key as dropout_key
from fastdnn._layout import param_views
from fastdnn._types import Act, Loss
from fastdnn.kernels import jit, naive, vectorized
from fastdnn.steppers import Train, learning_rate_at

from .conftest import tolerance
from .strategies import random_array, seeds, small_dim, small_m

FAST = {"numpy": vectorized, "jit": jit}
dtypes = st.sampled_from([np.float64, np.float32])
OPTIMIZERS = ("gd", "momentum", "rmsprop", "adam")


def data(n_x=5, m=40, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n_x, m))
    y = rng.integers(0, classes, m)
    return X, y, np.eye(classes)[:, y]


# ---------------------------------------------------------------- kernels agree with naive
@given(n=st.integers(2, 6), m=small_m, dtype=dtypes, seed=seeds)
def test_softmax_and_cce_agree_with_naive(n, m, dtype, seed):
    rng = np.random.default_rng(seed)
    Z = random_array(rng, (n, m), dtype, scale=30.0)
    Y = np.eye(n, dtype=dtype)[:, rng.integers(0, n, m)]
    rtol, atol = tolerance(dtype)
    ref = np.empty_like(Z)
    naive.activation_forward(Z, int(Act.SOFTMAX), 0.0, ref)
    assert_allclose(ref.sum(axis=0), 1.0, rtol=1e-6)
    cost = naive.cost_from_logits(Z, Y, int(Loss.CCE))
    for name, module in FAST.items():
        A = np.empty_like(Z)
        module.activation_forward(Z, int(Act.SOFTMAX), 0.0, A)
        assert_allclose(A, ref, rtol=rtol, atol=atol, err_msg=name)
        assert_allclose(module.cost_from_logits(Z, Y, int(Loss.CCE)), cost, rtol=1e-12)


def test_softmax_is_finite_at_extreme_logits():
    Z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0], [0.0, 0.0, 0.0]])
    Y = np.eye(3)[:, [1, 1, 2]]  # the first example is confidently wrong
    for module in (naive, vectorized, jit):
        A = np.empty_like(Z)
        with np.errstate(over="raise", invalid="raise"):
            module.activation_forward(Z, int(Act.SOFTMAX), 0.0, A)
        assert_allclose(A[:, 2], 1 / 3)
        assert A[0, 0] == 1.0 and A[1, 1] == 1.0
        # logsumexp - z_y: 2000 for the wrong one, 0 for the right one, log 3 for the tie.
        assert_allclose(module.cost_from_logits(Z, Y, int(Loss.CCE)), (2000 + np.log(3)) / 3)


@given(p=st.integers(1, 40), t=st.integers(1, 5), dtype=dtypes, seed=seeds)
def test_optimizer_updates_agree_with_naive(p, t, dtype, seed):
    rng = np.random.default_rng(seed)
    theta0, grad = random_array(rng, (p,), dtype), random_array(rng, (p,), dtype)
    state0 = np.abs(random_array(rng, (p,), dtype))
    rtol, atol = tolerance(dtype)
    cases = {
        "update_momentum": (1, (0.1, 0.9)),
        "update_rmsprop": (1, (0.1, 0.999, 1e-8)),
        "update_adam": (2, (t, 0.1, 0.9, 0.999, 1e-8)),
    }
    for name, (n_state, args) in cases.items():
        outs = {}
        for module in (naive, vectorized, jit):
            theta = theta0.copy()
            states = [state0.copy() for _ in range(n_state)]
            getattr(module, name)(theta, grad, *states, *args)
            outs[module.__name__] = (theta, *states)
        ref = outs[naive.__name__]
        for key, got in outs.items():
            for a, b in zip(got, ref, strict=True):
                assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{name} {key}")


@given(n=small_dim, n_prev=small_dim, dtype=dtypes, seed=seeds)
def test_l2_agrees_with_naive(n, n_prev, dtype, seed):
    rng = np.random.default_rng(seed)
    W, dW0 = random_array(rng, (n, n_prev), dtype), random_array(rng, (n, n_prev), dtype)
    rtol, atol = tolerance(dtype)
    ref_dW = dW0.copy()
    ref = naive.add_l2(W, ref_dW, 0.3)
    assert_allclose(ref, float(np.sum(W.astype(np.float64) ** 2)), rtol=1e-12)
    for name, module in FAST.items():
        dW = dW0.copy()
        assert_allclose(module.add_l2(W, dW, 0.3), ref, rtol=1e-12, err_msg=name)
        assert_allclose(dW, ref_dW, rtol=rtol, atol=atol, err_msg=name)


@given(n=small_dim, m=small_m, dtype=dtypes, seed=seeds, keep=st.sampled_from([0.5, 0.8, 1.0]))
def test_dropout_masks_are_the_same_bits_on_every_backend(n, m, dtype, seed, keep):
    rng = np.random.default_rng(seed)
    A0, dA0 = random_array(rng, (n, m), dtype), random_array(rng, (n, m), dtype)
    key = dropout_key(seed, 17, 2)
    outs = {}
    for module in (naive, vectorized, jit):
        A, dA = A0.copy(), dA0.copy()
        module.dropout_forward(A, keep, key)
        dropped = A.copy()
        module.dropout_backward(dA, A, keep, key)
        outs[module.__name__] = (dropped, dA, A)
    ref = outs[naive.__name__]
    kept = (ref[0] != 0) | (A0 == 0)
    rtol, atol = tolerance(dtype)
    for name, got in outs.items():
        assert np.array_equal(got[0] != 0, ref[0] != 0), name  # the same mask, exactly
        for a, b in zip(got, ref, strict=True):
            assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=name)
    assert_allclose(ref[0][kept], (A0 / keep)[kept], rtol=rtol)  # inverted: scaled up
    assert_allclose(ref[2][kept], A0[kept], rtol=rtol * 4)  # restored for the derivative


def test_dropout_keeps_about_keep_prob_and_keys_differ():
    A = np.ones((50, 400))
    jit.dropout_forward(A, 0.8, dropout_key(1, 0, 1))
    assert abs(np.mean(A != 0) - 0.8) < 0.01  # 20000 draws: 4 standard deviations ~ 0.011
    assert_allclose(A.mean(), 1.0, atol=0.015)  # inverted dropout keeps the expectation
    masks = set()
    for args in [(1, 0, 1), (1, 1, 1), (1, 0, 2), (2, 0, 1)]:
        B = np.ones((4, 8))
        jit.dropout_forward(B, 0.5, dropout_key(*args))
        masks.add((B != 0).tobytes())
    assert len(masks) == 4


def test_compiled_dropout_key_is_the_python_one():
    for seed, step, layer in [(0, 0, 1), (2**64 - 1, 10**12, 3), (12345, 7, 2)]:
        assert int(jit._dropout_key(np.uint64(seed), step, layer)) == dropout_key(seed, step, layer)


# ---------------------------------------------------------------- learning-rate decay
def test_learning_rate_decay_is_the_courses():
    # update_lr(0.5, epoch 2, decay_rate 1) = 0.5 / (1 + 1 * 2) = 1/6 (the course's example).
    assert learning_rate_at(Train(decay_rate=1.0), 0.5, 2) == pytest.approx(1 / 6)
    # schedule_lr_decay(0.5, epoch 10 / 100, rate 0.3, interval 100): 0.5, then 0.5 / 1.3.
    sched = Train(decay_rate=0.3, time_interval=100)
    assert learning_rate_at(sched, 0.5, 10) == 0.5
    assert learning_rate_at(sched, 0.5, 100) == pytest.approx(0.5 / 1.3)
    # mini-batches: an epoch is batches_per_epoch steps
    assert learning_rate_at(Train(decay_rate=1.0, batches_per_epoch=4), 0.5, 7) == 0.25
    assert learning_rate_at(Train(), 0.5, 10**6) == 0.5


# ---------------------------------------------------------------- against course-style code
def course_update(name, params, grads, v, s, t, lr, beta=0.9, beta1=0.9, beta2=0.999, eps=1e-8):
    """The course's update_parameters_with_{gd,momentum,adam} (and the lectures' RMSprop),
    written as the notebooks write them, over the parameter dicts."""
    for key in params:
        g = grads["d" + key]
        if name == "gd":
            params[key] = params[key] - lr * g
        elif name == "momentum":
            v[key] = beta * v[key] + (1 - beta) * g
            params[key] = params[key] - lr * v[key]
        elif name == "rmsprop":
            s[key] = beta2 * s[key] + (1 - beta2) * np.power(g, 2)
            params[key] = params[key] - lr * g / (np.sqrt(s[key]) + eps)
        else:
            v[key] = beta1 * v[key] + (1 - beta1) * g
            v_corrected = v[key] / (1 - np.power(beta1, t))
            s[key] = beta2 * s[key] + (1 - beta2) * np.power(g, 2)
            s_corrected = s[key] / (1 - np.power(beta2, t))
            params[key] = params[key] - lr * v_corrected / (np.sqrt(s_corrected) + eps)
    return params


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("backend", ["naive", "numpy", "jit"])
def test_optimizers_match_course_style_updates_over_several_steps(optimizer, backend):
    X, y, Y = data(4, 30, classes=3)
    dims = [4, 5, 3]
    net = DNN(dims, hidden="tanh", output="softmax", backend=backend, seed=3)
    params = {k: a.copy() for k, a in net.params.items()}
    v = {k: np.zeros_like(a) for k, a in params.items()}
    s = {k: np.zeros_like(a) for k, a in params.items()}
    lr, lambd, steps = 0.05, 0.2, 6
    for t in range(1, steps + 1):
        AL, caches = fastdnn.model_forward(X, params, "tanh", "softmax", backend="numpy")
        grads = fastdnn.model_backward(AL, Y, caches, "tanh", "softmax", backend="numpy")
        for key in params:  # the course's L2: dW += lambd / m * W
            if key.startswith("W"):
                grads["d" + key] = grads["d" + key] + lambd / X.shape[1] * params[key]
        params = course_update(optimizer, params, grads, v, s, t, lr / (1 + 0.5 * (t - 1)))
    net.fit(X, y, learning_rate=lr, num_iterations=steps, optimizer=optimizer, lambd=lambd,
            decay_rate=0.5)  # fmt: skip
    for key, value in params.items():
        assert_allclose(net.params[key], value, rtol=1e-10, atol=1e-12, err_msg=key)


def test_gradient_check_every_output_with_l2():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 7))
    targets = {
        "sigmoid": (rng.random((2, 7)) > 0.5).astype(float),
        "softmax": rng.integers(0, 3, 7),
        "linear": rng.normal(size=(2, 7)),
    }
    for output, Y in targets.items():
        n_y = 3 if output == "softmax" else 2
        p = fastdnn.initialize_parameters([4, 5, 3, n_y], seed=0)
        for hidden in ("tanh", "sigmoid", "leaky_relu"):
            for backend in ("naive", "numpy", "jit"):
                for lambd in (0.0, 0.7):
                    d = fastdnn.gradient_check(p, X, Y, hidden, output, lambd=lambd,
                                               backend=backend)  # fmt: skip
                    assert d < 1e-7, (output, hidden, backend, lambd, d)


def test_gradient_check_catches_a_wrong_gradient(monkeypatch):
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(3, 6)), (rng.random((1, 6)) > 0.5).astype(float)
    p = fastdnn.initialize_parameters([3, 4, 1], seed=1)
    assert fastdnn.gradient_check(p, X, Y, "tanh") < 1e-7
    right = vectorized.output_backward

    def buggy(AL, Y, A_prev, W, dZ_out, dA_prev_out, dW_out, db_out):
        right(AL, Y, A_prev, W, dZ_out, dA_prev_out, dW_out, db_out)
        db_out *= 2  # the classic: db without its 1/m

    monkeypatch.setattr(vectorized, "output_backward", buggy)
    assert fastdnn.gradient_check(p, X, Y, "tanh") > 1e-3


def test_gradient_check_checks_the_training_steps_own_l2(monkeypatch):
    """It added its own lambd/m W: a training L2 twice too strong passed (3.9e-9)."""
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(4, 9)), rng.integers(0, 3, 9)
    p = fastdnn.initialize_parameters([4, 5, 3], init="he", seed=1)
    kw = dict(hidden="tanh", output="softmax", lambd=0.5, backend="numpy")
    assert fastdnn.gradient_check(p, X, Y, **kw) < 1e-7
    right = vectorized.add_l2
    monkeypatch.setattr(vectorized, "add_l2", lambda W, dW, s: right(W, dW, 2 * s))
    assert fastdnn.gradient_check(p, X, Y, **kw) > 1e-3


@pytest.mark.parametrize("backend", ["naive", "numpy", "jit"])
def test_the_l2_a_gradient_check_runs_is_the_training_steps(backend):
    """Stepper.regularise (what gradient_check adds) is the L2 a fit's step applies."""
    from fastdnn.backends import get_stepper
    from fastdnn.steppers import NetSpec, Train, Workspace

    dims, m, lambd = [4, 5, 3, 2], 9, 0.3
    spec = NetSpec(tuple(dims), "tanh", "sigmoid", 0.01, np.dtype(np.float64))
    net = DNN(dims, hidden="tanh", seed=3)
    grad = np.random.default_rng(4).normal(size=net._theta.size)
    stepper = get_stepper(backend)(
        spec, net._theta.copy(), grad.copy(), np.ones((4, m)), np.ones((2, m)), None,
        Workspace(dims, m, spec.dtype, False), train=Train(lambd=lambd),
    )  # fmt: skip
    term = stepper.regularise(m)
    W = [net.params[f"W{l}"] for l in (1, 2, 3)]
    assert_allclose(term, lambd / (2 * m) * sum(float(np.sum(w * w)) for w in W), rtol=1e-12)
    expected = grad.copy()
    for key, view in param_views(expected, dims, prefix="d").items():
        if "W" in key:
            view += lambd / m * net.params[key[1:]]
    assert_allclose(stepper.grad, expected, rtol=1e-12, atol=1e-15)


def test_gradient_check_refuses_what_compares_nothing():
    X = np.random.default_rng(0).normal(size=(3, 10))
    p = fastdnn.initialize_parameters([3, 4, 1], seed=0)
    # a single softmax unit is 1 whatever the parameters: it said 0.0, a pass
    with pytest.raises(ValueError, match=r"output='softmax' needs at least 2 output units"):
        fastdnn.gradient_check(p, X, np.ones((1, 10)), output="softmax")
    dead = {k: np.zeros_like(v) for k, v in p.items()} | {"b1": -np.ones((4, 1))}
    dead["W2"][...] = 1.0  # every relu unit inactive, the output a constant
    with pytest.raises(ValueError, match="both gradients are zero"):
        fastdnn.gradient_check(dead, X, np.zeros((1, 10)), output="linear")


# ---------------------------------------------------------------- the model
def test_softmax_model_predicts_classes_and_probabilities():
    X, y, Y = data(5, 200, classes=4, seed=1)
    # Learnable: the class shows in the first four features, plus noise.
    X = np.vstack([Y * 3.0, X[:1]]) + np.random.default_rng(2).normal(0, 0.3, (5, 200))
    net = DNN([5, 8, 4], output="softmax", seed=0)
    net.fit(X, y, learning_rate=0.01, epochs=30, batch_size=32, optimizer="adam")
    proba = net.predict_proba(X)
    assert proba.shape == (4, 200)
    assert_allclose(proba.sum(axis=0), 1.0, rtol=1e-12)
    pred = net.predict(X)
    assert pred.shape == (1, 200) and pred.dtype == np.int64
    assert net.score(X, Y) == net.score(X, y) > 0.95  # one-hot or class indices
    with pytest.raises(ValueError, match="integers 0..3"):
        net.fit(X, y + 1, num_iterations=1)
    with pytest.raises(ValueError, match="one-hot for loss 'cce'"):
        net.fit(X, Y * 2, num_iterations=1)


@pytest.mark.parametrize("backend", ["numpy", "jit"])
def test_dropout_results_do_not_depend_on_chunking(backend):
    X, y, Y = data(6, 64)
    runs = []
    for cost_every in (1, 7, 1000):
        net = DNN([6, 8, 8, 3], output="softmax", backend=backend, seed=5)
        net.fit(X, y, learning_rate=0.1, epochs=4, batch_size=16, keep_prob=0.7,
                optimizer="momentum", cost_every=cost_every)  # fmt: skip
        runs.append(net._theta.copy())
    assert all(np.array_equal(r, runs[0]) for r in runs[1:])
    other = DNN([6, 8, 8, 3], output="softmax", backend=backend, seed=6)
    other.set_params(DNN([6, 8, 8, 3], output="softmax", seed=5).params)
    other.fit(X, y, learning_rate=0.1, epochs=4, batch_size=16, keep_prob=0.7,
              optimizer="momentum")  # fmt: skip
    assert not np.array_equal(other._theta, runs[0])  # another seed, other masks


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_training_continues_exactly_after_save_and_load(optimizer, tmp_path):
    X, y, _ = data(5, 48)
    kw = dict(learning_rate=0.05, batch_size=16, optimizer=optimizer, keep_prob=0.8, lambd=0.1,
              decay_rate=0.3)  # fmt: skip
    one = DNN([5, 6, 3], output="softmax", seed=2)
    one.fit(X, y, epochs=5, **kw)
    two = DNN([5, 6, 3], output="softmax", seed=2)
    two.fit(X, y, epochs=3, **kw)
    two.save(tmp_path / "m.npz")
    back = DNN.load(tmp_path / "m.npz")
    back.fit(X, y, epochs=2, **kw)
    assert np.array_equal(back._theta, one._theta)
    assert back.n_steps_ == one.n_steps_ == 15


def test_a_new_optimizer_starts_from_fresh_state():
    X, y, _ = data(5, 40)
    net = DNN([5, 4, 3], output="softmax", seed=0)
    net.fit(X, y, num_iterations=5, optimizer="adam")
    assert net._optimizer.name == "adam" and net._optimizer.t == 5
    net.fit(X, y, num_iterations=2, optimizer="adam")
    assert net._optimizer.t == 7  # continued
    net.fit(X, y, num_iterations=2, optimizer="momentum")
    assert net._optimizer.name == "momentum" and net._optimizer.s.size == 0


def test_early_stopping_goes_back_to_the_best_validation_cost():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 60))
    y = rng.integers(0, 2, 60)  # labels unrelated to X: the validation cost rises with fitting
    net = DNN([10, 64, 2], output="softmax", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = net.fit(X, y, learning_rate=0.05, num_iterations=2000, cost_every=20,
                    optimizer="adam", early_stopping=True, patience=5)  # fmt: skip
    assert h.stop_reason == "early_stopping"
    assert h.val_iterations[0] == 0 and h.best_iteration > 0  # the start is not a candidate
    best = h.val_iterations.index(h.best_iteration)
    assert min(h.val_costs[1:]) == h.val_costs[best]
    assert h.val_iterations[-1] == h.best_iteration + 5 * 20  # patience records later
    assert h.n_steps == h.val_iterations[-1]  # stopped right at that record
    assert net.n_steps_ == h.best_iteration  # and went back to the best one, all of it
    # the model is back at the best record's parameters: its validation cost is the best one
    held_out = np.sort(np.random.default_rng(np.random.SeedSequence(0).spawn(3)[2])
                       .permutation(60)[:6])  # fmt: skip
    assert_allclose(net._cost(X[:, held_out], np.eye(2)[:, y[held_out]]), h.val_costs[best])


@pytest.mark.parametrize("backend", ["numpy", "jit"])
def test_epochs_count_the_examples_trained_on_when_a_validation_fraction_is_held_out(backend):
    """epochs=10 over the 50 examples left after holding out half of 100: 50 batches of 10,
    as with the same split given as validation_data (it counted the 100: 100 steps)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 100))
    y = (X[0] > 0).astype(float).reshape(1, -1)
    kw = dict(learning_rate=0.1, epochs=10, batch_size=10, early_stopping=True, patience=1000)
    net = DNN([5, 4, 1], seed=0, backend=backend)
    h = net.fit(X, y, validation_fraction=0.5, **kw)
    assert h.n_steps == net.n_steps_ == 50
    Xt, yt, (Xv, yv) = DNN([5, 4, 1], seed=0)._hold_out(X, y, 0.5)  # the model's split
    ref = DNN([5, 4, 1], seed=0, backend=backend)
    ref.fit(Xt, yt, validation_data=(Xv, yv), **kw)
    assert np.array_equal(net._theta, ref._theta) and ref.n_steps_ == 50


@pytest.mark.parametrize(
    ("options", "batch_size"),
    [
        ({"optimizer": "adam"}, 16),
        ({"optimizer": "momentum", "decay_rate": 0.01}, 16),
        ({"optimizer": "adam", "keep_prob": 0.9, "lambd": 0.01}, None),
    ],
    ids=["adam-minibatch", "momentum-decay", "adam-dropout-l2"],
)
def test_early_stopping_leaves_the_model_a_fit_stopped_at_the_best_record_leaves(
    options, batch_size
):
    # It used to restore the parameters only: n_steps_, the optimizer's moments and t, and the
    # shuffle stayed at the stop, and training on (or a saved file) went on from a state no
    # fit had (2-17 % apart after 50 more steps).
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 60)), rng.integers(0, 2, 60)  # noise: validation cost rises
    Xv, yv = rng.normal(size=(10, 40)), rng.integers(0, 2, 40)
    kw = dict(learning_rate=0.05, batch_size=batch_size, cost_every=10, **options)
    net = DNN([10, 32, 2], output="softmax", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = net.fit(X, y, num_iterations=2000, validation_data=(Xv, yv), early_stopping=True,
                    patience=3, **kw)  # fmt: skip
    assert h.stop_reason == "early_stopping" and h.n_steps > h.best_iteration
    stopped_there = DNN([10, 32, 2], output="softmax", seed=0)
    stopped_there.fit(X, y, num_iterations=h.best_iteration, **kw)
    assert net.n_steps_ == stopped_there.n_steps_ == h.best_iteration
    assert net._theta.tobytes() == stopped_there._theta.tobytes()
    mine, theirs = net._optimizer, stopped_there._optimizer
    assert (mine.t, mine.v.tobytes(), mine.s.tobytes()) == (
        theirs.t, theirs.v.tobytes(), theirs.s.tobytes()
    )  # fmt: skip
    assert net._rng.bit_generator.state == stopped_there._rng.bit_generator.state
    net.fit(X, y, num_iterations=50, **kw)
    stopped_there.fit(X, y, num_iterations=50, **kw)
    assert net._theta.tobytes() == stopped_there._theta.tobytes()


@pytest.mark.parametrize("batch_size", [None, 16])
def test_validation_records_do_not_depend_on_how_long_steps_take(monkeypatch, batch_size):
    # The loop cuts chunks of steps by measured time (CHUNK_SECONDS). Validation used to be
    # taken after the chunk that began at a record, so which parameters it saw, where early
    # stopping stopped and what it kept all changed with the machine's speed.
    from fastdnn import train

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 60)), rng.integers(0, 2, 60)  # noise: validation cost rises
    runs = []
    for chunk_seconds in (10.0, 1e-12):  # records' chunks whole, or one step each
        monkeypatch.setattr(train, "CHUNK_SECONDS", chunk_seconds)
        net = DNN([10, 32, 2], output="softmax", seed=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h = net.fit(X, y, learning_rate=0.05, num_iterations=400, cost_every=10,
                        batch_size=batch_size, optimizer="adam", early_stopping=True,
                        patience=3)  # fmt: skip
        runs.append((h, net))
    (h1, net1), (h2, net2) = runs
    assert h1.stop_reason == h2.stop_reason == "early_stopping"
    assert h1.val_iterations == h2.val_iterations and h1.val_costs == h2.val_costs
    assert h1.best_iteration == h2.best_iteration and h1.n_steps == h2.n_steps
    assert all(np.array_equal(net1.params[k], net2.params[k]) for k in net1.params)


def test_a_validation_record_is_the_cost_of_the_parameters_after_its_steps():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(4, 50)), (rng.random((1, 50)) > 0.5).astype(float)
    Xv, Yv = rng.normal(size=(4, 20)), (rng.random((1, 20)) > 0.5).astype(float)
    net = DNN([4, 6, 1], seed=3)
    h = net.fit(X, Y, learning_rate=0.1, num_iterations=25, cost_every=10,
                validation_data=(Xv, Yv))  # fmt: skip
    assert h.val_iterations == [0, 10, 20, 25]  # every record, and the end
    for steps, val_cost in zip(h.val_iterations, h.val_costs, strict=True):
        again = DNN([4, 6, 1], seed=3)
        if steps:
            again.fit(X, Y, learning_rate=0.1, num_iterations=steps, cost_every=10)
        assert_allclose(again._cost(Xv, Yv), val_cost, rtol=1e-12)


def test_dropout_on_a_network_without_hidden_layers_is_refused():
    X, y, _ = data()
    net = DNN([5, 3], output="softmax", seed=0)
    with pytest.raises(ValueError, match=r"keep_prob=0.5: dropout applies to the hidden layers"):
        net.fit(X, y, num_iterations=3, keep_prob=0.5)
    assert net.n_steps_ == 0
    net.fit(X, y, num_iterations=3, keep_prob=1.0, validation_fraction=0.1, patience=10)
    # the defaults pass in any numeric type (np.int64(10) was refused: a helper's review)
    net.fit(X, y, num_iterations=3, validation_fraction=np.float32(0.1), patience=np.int64(10),
            tol=np.float64(1e-4))  # fmt: skip


def test_course2_options_are_checked_before_training():
    X, y, _ = data()
    net = DNN([5, 4, 3], output="softmax", seed=0)
    bad = [
        ({"optimizer": "sgd"}, ValueError, "optimizer must be one of"),
        ({"beta": 1.0}, ValueError, r"beta must be a number in \[0, 1\)"),
        ({"beta2": -0.1}, ValueError, "beta2"),
        ({"epsilon": 0}, ValueError, "epsilon must be a positive finite number"),
        ({"lambd": -1}, ValueError, "lambd must be a finite number >= 0"),
        ({"keep_prob": 0}, ValueError, r"keep_prob must be a probability in \(0, 1\]"),
        ({"keep_prob": 1.5}, ValueError, "keep_prob"),
        ({"decay_rate": float("nan")}, ValueError, "decay_rate"),
        ({"time_interval": 0}, ValueError, "time_interval must be a positive integer"),
        ({"early_stopping": 1}, TypeError, "early_stopping must be True or False"),
        ({"early_stopping": True, "validation_fraction": 1.0}, ValueError, "validation_fraction"),
        ({"early_stopping": True, "patience": 0}, ValueError, "patience"),
        # Early stopping's settings without it would do nothing (a helper's review: a Keras
        # user's validation_fraction=0.3 trained on all the data, and recorded nothing).
        ({"validation_fraction": 0.3}, ValueError,
         r"validation_fraction=0.3 is an early-stopping setting and does nothing here "
         r"\(early_stopping is off\): leave it out. To follow .* validation_data="),
        ({"patience": 3}, ValueError, r"patience=3 is an early-stopping setting"),
        ({"tol": 0}, ValueError, r"tol=0 is an early-stopping setting"),
        # checked as when used: a wrong type or range is named as such
        ({"validation_fraction": "0.1"}, TypeError, "validation_fraction must be"),
        ({"patience": True}, TypeError, "patience must be"),
        ({"validation_fraction": 1.5}, ValueError, r"validation_fraction must be a number in"),
        # early stopping on validation_data: a validation_fraction would do nothing
        ({"early_stopping": True, "validation_data": (X, y), "validation_fraction": 0.3},
         ValueError, r"does nothing here \(validation_data is given\): leave it out$"),
    ]
    before = net._theta.copy()
    for kwargs, error, message in bad:
        with pytest.raises(error, match=message):
            net.fit(X, y, num_iterations=3, **kwargs)
    assert np.array_equal(net._theta, before) and net.n_steps_ == 0
    with pytest.raises(TypeError, match="positional"):
        net.fit(X, y, 0.1, 3, None, None, 100, False, None, False, None, "raise", "adam")
