"""Bad input is refused before any work, with the argument, the expected and the actual."""

import re
import subprocess
import sys
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import fastdnn

P = fastdnn.initialize_parameters([3, 2, 1], seed=0)


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (
            np.ones((4, 3)),
            ValueError,
            r"X has 4 rows but layer_dims\[0\] is 3.*did you pass X\.T\?",
        ),
        (
            np.ones((5, 2)),
            ValueError,
            r"X has 5 rows but layer_dims\[0\] is 3; X must be \(n_x, m\)",
        ),
        (np.ones(3), ValueError, r"X must be 2-D; got 1-D with shape \(3,\)"),
        (np.ones((3, 0)), ValueError, r"X must not be empty; got shape \(3, 0\)"),
        (
            np.array([[1.0], [np.nan], [0.0]]),
            ValueError,
            r"X must be finite; found nan at index \(1, 0\)",
        ),
        (np.array([[1.0], [np.inf], [0.0]]), ValueError, r"X must be finite; found inf"),
        (np.array([["a"], ["b"], ["c"]]), TypeError, r"X must hold real numbers .* got dtype <U1"),
        (np.array([[1], [2], [None]], dtype=object), TypeError, r"got dtype object - convert it"),
        (np.ones((3, 2), dtype=complex), TypeError, r"X must hold real numbers"),
    ],
)
def test_bad_X(X, error, match):
    with pytest.raises(error, match=match):
        fastdnn.model_forward(X, P)


def test_integer_and_bool_inputs_convert():
    AL_int, _ = fastdnn.model_forward(np.ones((3, 2), dtype=np.int64), P)
    AL_bool, _ = fastdnn.model_forward(np.ones((3, 2), dtype=bool), P)
    assert AL_int.dtype == AL_bool.dtype == np.float64
    assert np.array_equal(AL_int, AL_bool)


@pytest.mark.parametrize(
    ("Y", "match"),
    [
        (np.array([[0, 1, 2]]), r"Y must hold binary labels 0 or 1 .* for loss 'bce'.*\[2\.0\]"),
        (np.array([[0, -0.25, 1]]), r"probabilities in \[0, 1\], soft labels.*\[-0\.25\]"),
        (np.array([[0, 1]]), r"Y must have shape \(n_y, m\) = \(1, 3\).*got \(1, 2\)"),
        (np.array([[0], [1], [1]]), r"did you pass Y\.T\?"),
        (np.array([[0, np.nan, 1]]), r"Y must be finite"),
    ],
)
def test_bad_Y(Y, match):
    AL, caches = fastdnn.model_forward(np.ones((3, 3)), P)
    with pytest.raises(ValueError, match=match):
        fastdnn.model_backward(AL, Y, caches)


@pytest.mark.parametrize("backend", ["naive", "numpy", "jit"])
def test_soft_labels_train_a_sigmoid_output(backend):
    # Binary cross-entropy is defined for targets in [0, 1] (label smoothing, distillation):
    # they were refused as "not binary", though softmax took probability columns.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 40))
    Y = 1 / (1 + np.exp(-(X[:1] - X[1:2])))  # probabilities, none exactly 0 or 1
    net = fastdnn.DNN([3, 4, 1], seed=0, backend=backend)
    h = net.fit(X, Y, learning_rate=0.5, num_iterations=300, cost_every=100)
    assert h.costs[-1] < h.costs[0]
    AL = net.predict_proba(X)
    cost = fastdnn.compute_cost(AL, Y)
    assert cost == pytest.approx(float(-np.mean(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))))
    ref = fastdnn.DNN([3, 4, 1], seed=0, backend="naive")
    ref.fit(X, Y, learning_rate=0.5, num_iterations=300, cost_every=100)
    np.testing.assert_allclose(net._theta, ref._theta, rtol=1e-10, atol=1e-12)
    start = fastdnn.DNN([3, 4, 1], seed=0).params  # away from the minimum: large gradients
    assert fastdnn.gradient_check(start, X, Y, hidden="tanh", backend=backend) < 1e-7


def test_one_dimensional_Y_is_a_row():
    AL, caches = fastdnn.model_forward(np.ones((3, 3)), P)
    g1 = fastdnn.model_backward(AL, np.array([0, 1, 1]), caches)
    g2 = fastdnn.model_backward(AL, np.array([[0, 1, 1]]), caches)
    assert all(np.array_equal(g1[k], g2[k]) for k in g1)


@pytest.mark.parametrize(
    ("dims", "error", "match"),
    [
        ([3], ValueError, r"at least the input and output sizes"),
        ([3, 0, 1], ValueError, r"layer_dims\[1\] must be a positive integer; got 0"),
        ([3, -2, 1], ValueError, r"layer_dims\[1\] must be a positive integer; got -2"),
        ([3, 2.5, 1], TypeError, r"layer_dims\[1\] must be a positive integer; got 2.5"),
        ([3, True, 1], TypeError, r"layer_dims\[1\] must be a positive integer; got True"),
        ("341", TypeError, r"layer_dims must be a sequence of positive integers"),
    ],
)
def test_bad_layer_dims(dims, error, match):
    with pytest.raises(error, match=match):
        fastdnn.initialize_parameters(dims)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"init": "orthogonal"},
            r"init must be one of \['course', 'glorot', 'he', 'xavier', 'zeros'\]; "
            r"got 'orthogonal'",
        ),
        ({"dtype": "float16"}, r"dtype must be 'float64' or 'float32'; got 'float16'"),
    ],
)
def test_bad_init_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fastdnn.initialize_parameters([2, 1], **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"hidden": "gelu"},
            r"hidden must be one of \['leaky_relu', 'linear', 'relu', 'sigmoid', 'tanh'\]",
        ),
        ({"output": "tanh"}, r"output must be one of \['linear', 'sigmoid', 'softmax'\]; got 'tan"),
        ({"backend": "cuda"}, r"backend must be one of \['jit', 'naive', 'numpy'\]; got 'cuda'"),
    ],
)
def test_bad_names_list_the_valid_ones(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fastdnn.model_forward(np.ones((3, 1)), P, **kwargs)


def test_a_value_beyond_float32s_range_is_named_as_such():
    X = np.ones((2, 3))
    X[1, 2] = 1e39  # finite in float64, inf once float32
    net = fastdnn.DNN([2, 1], dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no "overflow encountered in cast" on the way
        with pytest.raises(ValueError, match=r"X holds 1e\+39 at index \(1, 2\), beyond float32"):
            net.predict(X)
    X[1, 2] = np.inf
    with pytest.raises(ValueError, match=r"X must be finite; found inf at index \(1, 2\)"):
        net.predict(X)


def test_bad_params():
    good = {"W1": np.ones((2, 3)), "b1": np.ones((2, 1))}
    with pytest.raises(ValueError, match=r"params holds 'foo', not a parameter of a 1-layer"):
        fastdnn.model_forward(np.ones((3, 1)), {**good, "foo": 1})
    net = fastdnn.DNN([3, 2])
    before = net.params["W1"].copy()
    with pytest.raises(ValueError, match=r"params holds 'w1', not a parameter"):
        net.set_params({**good, "w1": np.zeros((2, 3))})  # misspelt: not silently dropped
    assert np.array_equal(net.params["W1"], before)
    # "W01" is not "W1": it does not count as a layer, it is named
    with pytest.raises(ValueError, match=r"params holds 'W01', not a parameter of this model's 1"):
        net.set_params({**good, "W01": np.zeros((2, 3))})
    # set_params names the model's layers, not those the partial dict suggests (it said
    # "missing ['b1'] for a 1-layer network" to a 2-layer model: a helper's review).
    deep = fastdnn.DNN([3, 2, 1])
    with pytest.raises(ValueError, match=r"missing \['W2', 'b1', 'b2'\] for this model's 2 layers"):
        deep.set_params({"W1": np.ones((2, 3))})
    # Zero-based keys: layers count from 1, as in the course.
    with pytest.raises(ValueError, match=r"'W0', 'b0', not a parameter .*; layers count from 1\)"):
        fastdnn.DNN.from_params({"W0": np.ones((2, 3)), "b0": np.ones((2, 1)), **good})
    with pytest.raises(ValueError, match=r"missing \['b2'\] .* and holds 'B2', which is not"):
        fastdnn.model_forward(np.ones((3, 1)), {**good, "W2": np.ones((1, 2)), "B2": 0.0})
    with pytest.raises(ValueError, match=r"params is missing \['b2'\]"):
        fastdnn.model_forward(
            np.ones((3, 1)), {"W1": np.ones((2, 3)), "b1": np.ones((2, 1)), "W2": np.ones((1, 2))}
        )
    with pytest.raises(
        ValueError, match=r"params\['W2'\] has shape \(1, 4\): its 4 columns must equal the 2 rows"
    ):
        fastdnn.model_forward(np.ones((3, 1)), {**P, "W2": np.ones((1, 4))})
    with pytest.raises(
        ValueError,
        match=r"params\['b1'\] must have shape \(2, 1\) to match W1 of shape \(2, 3\); "
        r"got \(3, 1\) \(is W1 transposed\? W\[l\] is \(n\[l\], n\[l-1\]\)\)",
    ):
        fastdnn.model_forward(np.ones((3, 1)), {**P, "b1": np.ones((3, 1))})
    with pytest.raises(TypeError, match=r"params must be a dict"):
        fastdnn.model_forward(np.ones((3, 1)), [P["W1"]])


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf")])
def test_bad_learning_rate(lr):
    AL, caches = fastdnn.model_forward(np.ones((3, 2)), P)
    grads = fastdnn.model_backward(AL, np.array([[0, 1]]), caches)
    with pytest.raises(ValueError, match=r"learning_rate must be a positive finite number; got"):
        fastdnn.update_parameters(P, grads, lr)


# --------------------------------------------------------------------------- numbers that escaped

HUGE = 10**400  # float(HUGE) raises OverflowError


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (HUGE, ValueError, r"slope must be a positive finite number; got 1000.*which a float64"),
        (-HUGE, ValueError, r"which a float64 cannot hold"),
        (Fraction(HUGE, 3), ValueError, r"which a float64 cannot hold"),
        (Fraction(1, HUGE), ValueError, r"it rounds to 0\.0 as a float64"),
        (np.longdouble("1e-4000"), ValueError, r"it rounds to 0\.0 as a float64"),
        (np.longdouble("1e4000"), ValueError, r"slope must be a positive finite number"),
        (Decimal("NaN"), ValueError, r"slope must be a positive finite number; got Decimal"),
        (Decimal("sNaN"), ValueError, r"which a float64 cannot hold"),
        (Decimal("-1"), ValueError, r"slope must be a positive finite number"),
        (np.bool_(True), TypeError, r"slope must be a positive finite number; got bool"),
        ("0.1", TypeError, r"slope must be a positive finite number; got str '0\.1'"),
        (np.array(0.1), TypeError, r"got ndarray array\(0\.1\)"),
    ],
    ids=[
        "10**400",
        "-10**400",
        "Fraction-huge",
        "Fraction-tiny",
        "longdouble-tiny",
        "longdouble-huge",
        "Decimal-NaN",
        "Decimal-sNaN",
        "Decimal-negative",
        "np.bool_",
        "str",
        "0-d array",
    ],  # fmt: skip
)
def test_positive_finite_numbers_never_escape_as_overflow(value, error, match):
    with pytest.raises(error, match=match):
        fastdnn.DNN([2, 1], slope=value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("0.25"), 0.25), (Fraction(1, 4), 0.25), (np.float32(0.25), 0.25), (np.int8(2), 2.0)],
)
def test_positive_finite_numbers_of_any_real_type_become_floats(value, expected):
    assert fastdnn.DNN([2, 1], slope=value).slope == expected


def test_huge_learning_rate_and_counts_are_value_errors_naming_the_argument():
    X, Y = np.ones((2, 4)), np.array([[0, 1, 0, 1]])
    net = fastdnn.DNN([2, 1], seed=0)
    with pytest.raises(ValueError, match=r"learning_rate must be .* which a float64 cannot hold"):
        net.fit(X, Y, learning_rate=HUGE)
    with pytest.raises(ValueError, match=r"learning_rate must be .*rounds to 0\.0"):
        fastdnn.update_parameters(P, {f"d{k}": v for k, v in P.items()}, Fraction(1, HUGE))
    # Counts reach int64 code: 2**63 and beyond are refused, not overflowed or run forever.
    for count in (2**63, HUGE, np.uint64(2**64 - 1)):
        with pytest.raises(ValueError, match=r"num_iterations must be a positive integer <= 9223"):
            net.fit(X, Y, learning_rate=0.1, num_iterations=count)
        with pytest.raises(ValueError, match=r"layer_dims\[1\] must be a positive integer <= 9223"):
            fastdnn.initialize_parameters([2, count])
    assert net.n_steps_ == 0


@pytest.mark.parametrize(
    "dtype",
    [10**400, {"a": 1}, [("a",)], "f8,f8", "(2)f8", ">f8", np.longdouble, Decimal(1)],
    ids=[
        "10**400",
        "dict",
        "bad-fields",
        "structured",
        "subarray",
        "big-endian",
        "longdouble",
        "Decimal",
    ],  # fmt: skip
)
def test_any_dtype_that_is_not_float32_or_float64_is_a_value_error(dtype):
    with pytest.raises(ValueError, match=r"dtype must be 'float64' or 'float32'; got"):
        fastdnn.initialize_parameters([2, 1], dtype=dtype)


def test_ragged_input_names_the_argument():
    with pytest.raises(ValueError, match=r"X must be a 2-D array of numbers; NumPy cannot"):
        fastdnn.model_forward([[1.0, 2.0], [3.0], [4.0, 5.0]], P)


def test_large_finite_values_pass_the_finite_check_even_when_warnings_are_errors():
    # Summing finite values near 1e308 overflows: under -W error that warning became an
    # exception out of validation. It must neither raise nor be mistaken for NaN; large arrays
    # (summed under np.errstate) do not even warn.
    # Large float32 arrays sum in float32: values near its 3.4e38 overflow that sum.
    from fastdnn import _validation as v

    for dtype, big in ((np.float64, 1e308), (np.float32, 3e38)):
        for shape in ((3, 2), (3, 5000)):
            X = np.full(shape, big, dtype=dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert v.check_X(X, 3, np.dtype(dtype)) is X
            X[2, -1] = np.nan
            where = rf"\(2, {shape[1] - 1}\)"
            with (
                warnings.catch_warnings(),
                pytest.raises(ValueError, match=rf"X must be finite; found nan at index {where}"),
            ):
                warnings.simplefilter("error")  # the overflow, not the NaN, is what warns
                v.check_X(X, 3, np.dtype(dtype))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            v.check_X(np.full((3, 5000), big, dtype=dtype), 3, np.dtype(dtype))
        assert not caught


_MEMORY_CAP = """
import resource, sys
import fastdnn
# Address space: what the interpreter holds now plus 1 GiB. Before the check, the allocation
# itself failed (MemoryError) or, under overcommit, succeeded and was killed while filled.
used = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (used + 2**30, resource.RLIM_INFINITY))
for make in (lambda: fastdnn.DNN([10**12, 1]),
             lambda: fastdnn.DNN([20000, 20000, 1]),
             lambda: fastdnn.initialize_parameters([30000, 30000])):
    try:
        make()
        print("allocated")
    except ValueError as exc:
        print("ValueError", exc)
fastdnn.DNN([300, 200, 1])  # ordinary networks are not refused
print("small ok")
"""


@pytest.mark.timeout(120)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc: Linux")
def test_networks_too_large_for_memory_are_refused_before_allocating():
    result = subprocess.run([sys.executable, "-c", _MEMORY_CAP], capture_output=True, text=True,
                            timeout=100)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "ValueError DNN with layer_dims [1000000000000, 1] has 1,000,000,000,001 parameters: it "
        "would need about 36.4 TiB, more than the "
    ), lines[0]
    assert "use smaller layers" in lines[0]
    assert lines[1].startswith("ValueError DNN with layer_dims [20000, 20000, 1] has 400,040,001")
    assert "(what RLIMIT_AS (ulimit -v) leaves)" in lines[1]
    assert lines[2].startswith("ValueError initialize_parameters with layer_dims [30000, 30000]")
    assert lines[3:] == ["small ok"]


def test_masked_arrays_with_masked_entries_are_refused_never_unmasked():
    """np.asarray drops a mask: the value under it (a sentinel, say) was used as data."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 20))
    Y = (X[:1] > 0).astype(float)
    net = fastdnn.DNN([3, 4, 1], seed=0)
    Xm = np.ma.masked_array(X.copy(), mask=False)
    Xm[0, 0] = np.ma.masked
    Xm.data[0, 0] = 1e6
    Ym = np.ma.masked_invalid(np.where(Y > 0, np.nan, 0.0))
    params = net.params | {"W1": np.ma.masked_array(net.params["W1"], mask=True)}
    for call, name in [
        (lambda: net.fit(Xm, Y, num_iterations=2), "X"),
        (lambda: net.fit(X, Ym, num_iterations=2), "Y"),
        (lambda: net.predict_proba(Xm), "X"),
        (lambda: net.score(Xm, Y), "X"),
        (lambda: fastdnn.model_forward(Xm, net.params), "X"),
        (lambda: fastdnn.compute_cost(np.ma.masked_array(Y * 0.5, mask=Y > 0), Y), "AL"),
        (lambda: fastdnn.DNN.from_params(params), "params['W1']"),
    ]:
        with pytest.raises(TypeError, match=rf"{re.escape(name)} is a masked array with \d+ "
                           r"masked entr(y|ies); fastdnn has no missing values"):  # fmt: skip
            call()
    assert net.n_steps_ == 0
    # nothing masked: the values are the data
    plain = np.ma.masked_array(X, mask=False)
    np.testing.assert_array_equal(net.predict_proba(plain), net.predict_proba(X))


def test_a_view_too_large_to_copy_is_refused_before_the_copy():
    """np.broadcast_to stands for 2.2 TiB in a few bytes: numpy's MemoryError named no
    argument."""
    net = fastdnn.DNN([3, 2, 1], seed=0)
    X = np.broadcast_to(0.5, (3, 10**11))
    Y = np.broadcast_to(1.0, (1, 10**11))
    message = r"a C-contiguous float64 copy of X \(shape \(3, 100000000000\)\) would need about"
    for call in (lambda: net.predict(X), lambda: net.fit(X, Y, num_iterations=1),
                 lambda: fastdnn.model_forward(X, net.params)):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            call()
    assert net.n_steps_ == 0
