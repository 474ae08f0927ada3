"""No unchecked input reaches a kernel: every public function and backend, one corruption at a time.

The jit kernels index without bounds checks, so an array of the wrong shape handed to them
writes past a buffer instead of raising. Every public entry point therefore checks shapes,
dtypes and layouts first. Here each test corrupts one thing (an array's shape, its layout, its
dtype, its values, or the structure around it) and expects, on naive, numpy and jit alike,
either the same clean ``ValueError``/``TypeError`` or, for inputs that are converted (Fortran
order, int, bool), exactly the result of the converted input.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import fastdnn
from fastdnn import LayerCache

from .conftest import BACKEND_NAMES

# Distinct layer sizes and an m that no layer has: a transpose or a misplaced entry then never
# keeps a valid shape by chance.
dims_st = st.lists(st.integers(1, 6), min_size=2, max_size=4, unique=True)
m_st = st.integers(7, 10)
dtype_st = st.sampled_from(["float64", "float32"])
# Fewer examples per case than the profile's default: each case runs on three backends, and
# there are (functions x corruptions) cases. The slow profile scales it up.
EXAMPLES = max(4, settings.default.max_examples // 5)
# A regression here corrupts memory, which can hang the process: fail it instead.
pytestmark = pytest.mark.timeout(300)

#: Corruptions of one array that must be refused.
REFUSED = ["extra_row", "extra_col", "transpose", "transpose_view", "one_d", "three_d",
           "empty", "nan", "inf", "object", "complex", "string", "none"]  # fmt: skip
#: Corruptions that are converted: the call must behave exactly as on the converted input.
CONVERTED = ["fortran", "int", "bool", "float16"]


def corrupt(kind, a):
    """``(value, clean)``: ``a`` corrupted, and the input it must be equivalent to (or None)."""
    a = np.asarray(a)
    if kind == "extra_row":
        return np.vstack([a, a[:1]]), None
    if kind == "extra_col":
        return np.hstack([a, a[:, :1]]), None
    if kind == "transpose":
        return np.ascontiguousarray(a.T), None
    if kind == "transpose_view":  # the historical segfault: a transposed view
        return a.T, None
    if kind == "one_d":
        return a.ravel(), None
    if kind == "three_d":
        return a[None], None
    if kind == "empty":
        return a[:, :0], None
    if kind in ("nan", "inf"):
        bad = a.astype(np.float64)
        bad.flat[-1] = np.nan if kind == "nan" else -np.inf
        return bad, None
    if kind == "object":
        return a.astype(object), None
    if kind == "complex":
        return a.astype(complex), None
    if kind == "string":
        return a.astype(str), None
    if kind == "none":
        return None, None
    if kind == "fortran":
        return np.asfortranarray(a), a
    if kind in ("int", "bool"):
        new = a.astype(np.int64 if kind == "int" else bool)
        return new, new.astype(a.dtype)
    if kind == "float16":
        new = a.astype(np.float16)
        return new, new
    raise AssertionError(kind)


def changes_shape(kind, a):
    """False where a "refused" corruption would leave a valid array (a (1, 1) transpose)."""
    return not (kind in ("transpose", "transpose_view") and np.shape(a) == np.shape(a)[::-1])


def data(dims, m, dtype, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (dims[0], m))
    Y = (rng.random((dims[-1], m)) < 0.5).astype(float)
    params = fastdnn.initialize_parameters(dims, seed=seed, dtype=dtype)
    return X, Y, params


def all_refuse(call):
    """``call(backend)`` raises ValueError or TypeError with a message, on every backend."""
    for backend in BACKEND_NAMES:
        with pytest.raises((ValueError, TypeError)) as info:
            call(backend)
        assert str(info.value), backend


def same_result(got, expected):
    """Results of two calls are identical (the converted input is the same input)."""
    if isinstance(got, tuple):  # model_forward: (AL, caches)
        got, expected = got[0], expected[0]
    if isinstance(got, dict):
        assert got.keys() == expected.keys()
        for key in got:
            np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
            assert got[key].dtype == expected[key].dtype, key
    else:
        np.testing.assert_array_equal(got, expected)


def check(kind, target, call_with):
    """Refused corruptions raise on every backend; converted ones equal the clean call."""
    value, clean = corrupt(kind, target)
    if kind in REFUSED:
        assume(changes_shape(kind, target))
        all_refuse(lambda backend: call_with(value, backend))
        return
    for backend in BACKEND_NAMES:
        got = call_with(value, backend)
        same_result(got, call_with(clean, backend))


# --------------------------------------------------------------------------- params and X


@pytest.mark.parametrize("kind", REFUSED + CONVERTED)
@settings(max_examples=EXAMPLES)
@given(dims=dims_st, m=m_st, dtype=dtype_st, seed=st.integers(0, 2**16), pick=st.data())
def test_model_forward_and_predict_refuse_or_convert_every_input(kind, dims, m, dtype, seed, pick):
    X, _, params = data(dims, m, dtype, seed)
    keys = ["X", *params]
    name = pick.draw(st.sampled_from(keys), label="corrupted")
    if name == "X":
        target = X
        if kind == "extra_col":
            return  # one more example: a different, valid X

        def call(value, backend):
            return fastdnn.model_forward(value, params, backend=backend)
    else:
        target = params[name]
        if name.startswith("b") and kind == "one_d":
            # A 1-D bias is the one shape check_params accepts (as a column): converted.
            for backend in BACKEND_NAMES:
                same_result(
                    fastdnn.model_forward(X, {**params, name: target.ravel()}, backend=backend),
                    fastdnn.model_forward(X, params, backend=backend),
                )
            return

        def call(value, backend):
            return fastdnn.predict(X, {**params, name: value}, backend=backend)

    check(kind, target, call)


@pytest.mark.parametrize("kind", REFUSED + CONVERTED)
@settings(max_examples=EXAMPLES)
@given(dims=dims_st, m=m_st, dtype=dtype_st, seed=st.integers(0, 2**16), pick=st.data())
def test_update_parameters_refuses_or_converts_every_input(kind, dims, m, dtype, seed, pick):
    X, Y, params = data(dims, m, dtype, seed)
    AL, caches = fastdnn.model_forward(X, params, backend="numpy")
    grads = fastdnn.model_backward(AL, Y, caches, backend="numpy")
    name = pick.draw(st.sampled_from([*params, *grads]), label="corrupted")
    if name in params:
        target = params[name]
        if name.startswith("b") and kind == "one_d":
            return  # accepted as a column: covered by the model_forward test

        def call(value, backend):
            return fastdnn.update_parameters({**params, name: value}, grads, 0.1, backend)
    else:
        target = grads[name]

        def call(value, backend):
            return fastdnn.update_parameters(params, {**grads, name: value}, 0.1, backend)

    check(kind, target, call)


# --------------------------------------------------------------------------- caches


@pytest.mark.parametrize("kind", REFUSED + CONVERTED)
@settings(max_examples=EXAMPLES)
@given(dims=dims_st, m=m_st, dtype=dtype_st, seed=st.integers(0, 2**16), pick=st.data())
def test_model_backward_refuses_or_converts_every_array(kind, dims, m, dtype, seed, pick):
    X, Y, params = data(dims, m, dtype, seed)
    AL, caches = fastdnn.model_forward(X, params, backend="numpy")
    targets = ["AL", "Y"] + [(l, f) for l in range(len(caches)) for f in LayerCache._fields]
    name = pick.draw(st.sampled_from(targets), label="corrupted")
    if name == "AL":
        target = AL

        def call(value, backend):
            return fastdnn.model_backward(value, Y, caches, backend=backend)
    elif name == "Y":
        target = Y
        if kind == "one_d" and Y.shape[0] == 1:
            return  # a 1-D Y is taken as the row it is (test_validation)

        def call(value, backend):
            return fastdnn.model_backward(AL, value, caches, backend=backend)
    else:
        l, field = name
        target = getattr(caches[l], field)

        def call(value, backend):
            changed = list(caches)
            changed[l] = changed[l]._replace(**{field: value})
            return fastdnn.model_backward(AL, Y, changed, backend=backend)

    check(kind, target, call)


def _drop_last(c):
    return c[:-1]


STRUCTURES = {
    "not a list": lambda c: {i: entry for i, entry in enumerate(c)},
    "generator": lambda c: (entry for entry in c),
    "None": lambda c: None,
    "empty": lambda c: [],
    "entry is a list": lambda c: [list(c[0]), *c[1:]],
    "entry is a dict": lambda c: [c[0]._asdict(), *c[1:]],
    "entry of 3": lambda c: [tuple(c[0])[:3], *c[1:]],
    "entry of 5": lambda c: [(*c[0], c[0].A), *c[1:]],
    "course-style entry": lambda c: [((c[0].A_prev, c[0].W, c[0].b), c[0].A), *c[1:]],
    "one entry too many": lambda c: [*c, c[0]],
    "last entry missing": _drop_last,
    "reversed": lambda c: c[::-1],
    "entries of another network": None,  # filled in the test
}


@pytest.mark.parametrize("structure", list(STRUCTURES))
@settings(max_examples=EXAMPLES)
@given(dims=dims_st, m=m_st, dtype=dtype_st, seed=st.integers(0, 2**16))
def test_model_backward_refuses_broken_cache_lists(structure, dims, m, dtype, seed):
    X, Y, params = data(dims, m, dtype, seed)
    AL, caches = fastdnn.model_forward(X, params, backend="numpy")
    if structure in ("last entry missing", "reversed"):
        assume(len(caches) >= 2)
    if structure == "entries of another network":
        other = [d + 1 if i else d for i, d in enumerate(dims)]  # same input, wider layers
        assume(len(set(other)) == len(other) and m not in other)
        broken = list(caches)
        broken[0] = fastdnn.model_forward(X, data(other, m, dtype, seed)[2], backend="numpy")[1][0]
    else:
        broken = STRUCTURES[structure](caches)
    if structure == "generator":
        # A generator is consumed by the first backend; make a fresh one for each.
        all_refuse(lambda b: fastdnn.model_backward(AL, Y, (e for e in caches), backend=b))
        return
    all_refuse(lambda backend: fastdnn.model_backward(AL, Y, broken, backend=backend))


def test_model_backward_converts_int_caches_and_keeps_float32(backend):
    # Converted where cheap and harmless: an int or Fortran-ordered array is the same input.
    X = np.arange(6.0).reshape(3, 2)
    params = {"W1": np.array([[1.0, -1.0, 0.0]]), "b1": np.array([[0.0]])}
    AL, caches = fastdnn.model_forward(X, params, output="linear", backend=backend)
    Y = np.array([[0.0, 1.0]])
    as_int = [
        c._replace(A_prev=c.A_prev.astype(np.int32), W=np.asfortranarray(c.W)) for c in caches
    ]
    same_result(
        fastdnn.model_backward(AL, Y, as_int, output="linear", backend=backend),
        fastdnn.model_backward(AL, Y, caches, output="linear", backend=backend),
    )
    # float32 caches stay float32; one float64 array makes the whole pass float64.
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    AL32, c32 = fastdnn.model_forward(X, p32, output="linear", backend=backend)
    grads = fastdnn.model_backward(AL32, Y, c32, output="linear", backend=backend)
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}
    mixed = [c32[0]._replace(A_prev=X)]
    grads = fastdnn.model_backward(AL32, Y, mixed, output="linear", backend=backend)
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float64)}


def test_cache_errors_name_the_entry_and_the_fix():
    X = np.ones((3, 8))
    p = fastdnn.initialize_parameters([3, 4, 1], seed=0)
    AL, c = fastdnn.model_forward(X, p)
    Y = np.zeros((1, 8))
    cases = [
        (c[0]._replace(b=np.zeros((1, 1))), ValueError,
         r"caches\[0\]\.b must have shape \(4, 1\) to match caches\[0\]\.W of shape \(4, 3\); "
         r"got \(1, 1\)"),
        (c[0]._replace(A=np.ones((4, 9))), ValueError,
         r"caches\[0\]\.A must have shape \(n\[l\], m\) = \(4, 8\).*got \(4, 9\)"),
        (c[0]._replace(W=np.ones((4, 2))), ValueError,
         r"caches\[0\]\.A_prev must have 2 rows, the columns of caches\[0\]\.W"),
        (c[0]._replace(A_prev=np.ones((3, 8), dtype=complex)), TypeError,
         r"caches\[0\]\.A_prev must hold real numbers"),
        (c[0]._replace(W=np.full((4, 3), np.nan)), ValueError,
         r"caches\[0\]\.W must be finite; found nan at index \(0, 0\)"),
        (list(c[0]), TypeError, r"caches\[0\] must be a LayerCache \(A_prev, W, b, A\)"),
        (((c[0].A_prev, c[0].W, c[0].b), c[0].A), ValueError,
         r"caches\[0\] must hold 4 arrays.*course's \(\(A_prev, W, b\), Z\) caches belong to "
         r"fastdnn\.course\.deep"),
    ]  # fmt: skip
    for first, error, match in cases:
        with pytest.raises(error, match=match):
            fastdnn.model_backward(AL, Y, [first, c[1]])
    with pytest.raises(ValueError, match=r"caches\[1\]\.A_prev has shape \(4, 7\) but caches\[0\]"):
        fastdnn.model_backward(AL[:, :7], Y[:, :7], [c[0], LayerCache(
            c[1].A_prev[:, :7], c[1].W, c[1].b, c[1].A[:, :7])])  # fmt: skip
    with pytest.raises(TypeError, match=r"caches must be the list of LayerCache"):
        fastdnn.model_backward(AL, Y, {0: c[0], 1: c[1]})
    with pytest.raises(ValueError, match=r"caches must hold one LayerCache .* got an empty list"):
        fastdnn.model_backward(AL, Y, [])


# --------------------------------------------------------------------------- cost


@pytest.mark.parametrize("kind", REFUSED)
@settings(max_examples=EXAMPLES)
@given(m=m_st, seed=st.integers(0, 2**16), which=st.sampled_from(["AL", "Y"]))
def test_compute_cost_refuses_every_bad_input(kind, m, seed, which):
    rng = np.random.default_rng(seed)
    AL = rng.uniform(0.01, 0.99, (1, m))
    Y = (rng.random((1, m)) < 0.5).astype(float)
    if which == "Y" and kind == "one_d":
        return  # a 1-D Y is taken as the row it is
    value, _ = corrupt(kind, AL if which == "AL" else Y)
    assume(changes_shape(kind, AL))
    with pytest.raises((ValueError, TypeError)):
        fastdnn.compute_cost(value if which == "AL" else AL, value if which == "Y" else Y)


# --------------------------------------------------------------------------- the course


@pytest.mark.parametrize("backend", ["naive", "jit"])
def test_course_functions_on_kernels_refuse_mismatched_operands(backend):
    from fastdnn.course import deep

    A, W, b = np.ones((3, 5)), np.ones((4, 3)), np.zeros((4, 1))
    dZ = np.ones((4, 5))
    bad_forward = [
        ((np.ones((2, 5)), W, b), ValueError, r"A must have 3 rows, the columns of W"),
        ((A, W, np.zeros((5, 1))), ValueError, r"b must have shape \(n, 1\) = \(4, 1\)"),
        ((A.T, W, b), ValueError, r"A must have 3 rows"),
        ((A, W.astype(complex), b), TypeError, r"W must hold real numbers"),
        ((A, W.ravel(), b), ValueError, r"W must be 2-D"),
        ((A, W, np.zeros((4, 1), dtype=object)), TypeError, r"b must hold real numbers"),
    ]
    for args, error, match in bad_forward:
        with pytest.raises(error, match=match):
            deep.linear_forward(*args, backend=backend)
    bad_backward = [
        ((np.ones((5, 5)), (A, W, b)), ValueError, r"W must have shape \(n, n_prev\) = \(5, 3\)"),
        ((np.ones((4, 6)), (A, W, b)), ValueError, r"same number of columns m"),
        ((dZ, (A, W.T, b)), ValueError, r"W must have shape \(n, n_prev\) = \(4, 3\)"),
        ((dZ, (A.astype(object), W, b)), TypeError, r"A_prev must hold real numbers"),
    ]
    for args, error, match in bad_backward:
        with pytest.raises(error, match=match):
            deep.linear_backward(*args, backend=backend)
    # The numpy backend keeps the course's expressions, which refuse the same with NumPy's own
    # ValueError; Fortran order and ints are converted for the kernels, same numbers.
    for args in [(A, W, b), (np.asfortranarray(A), W.astype(int), b)]:
        np.testing.assert_allclose(deep.linear_forward(*args, backend=backend)[0],
                                   deep.linear_forward(*args, backend="numpy")[0])  # fmt: skip
    with pytest.raises(ValueError):
        deep.linear_forward(np.ones((2, 5)), W, b, backend="numpy")


# --------------------------------------------------------------------------- the reproduction


def test_historical_reproduction_exits_cleanly_in_a_subprocess():
    # Before the cache checks, this wrote 3 floats past a buffer on the jit backend and the
    # process died later with "free(): invalid size" (or a segfault, for a transposed A).
    code = textwrap.dedent(
        """
        import numpy as np, fastdnn
        X = np.random.rand(3, 8); Y = (np.random.rand(1, 8) > .5) * 1.
        p = fastdnn.initialize_parameters([3, 4, 1], seed=0)
        AL, c = fastdnn.model_forward(X, p)
        for bad in (c[0]._replace(b=np.zeros((1, 1))),
                    c[0]._replace(A=np.ascontiguousarray(c[0].A.T)),
                    c[0]._replace(W=np.asfortranarray(c[0].W)),
                    c[0]._replace(A_prev=np.ones((3, 8), dtype=int))):
            try:
                fastdnn.model_backward(AL, Y, [bad, c[1]])
                print("accepted")
            except ValueError as exc:
                print("ValueError", exc)
        import gc; gc.collect()
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ValueError caches[0].b must have shape (4, 1)"), lines
    assert lines[1].startswith("ValueError caches[0].A must have shape"), lines
    assert lines[2:] == ["accepted", "accepted"]  # Fortran order and ints are converted


def test_forward_caches_are_layer_caches_and_replace_gives_a_plain_one():
    # model_forward's caches skip the NaN sums in model_backward (their arrays were checked or
    # computed from checked ones); any change made through the namedtuple API is checked in full.
    p = fastdnn.initialize_parameters([3, 2, 1], seed=0)
    AL, caches = fastdnn.model_forward(np.ones((3, 4)), p)
    assert all(isinstance(c, LayerCache) for c in caches)
    assert repr(caches[0]).startswith("LayerCache(A_prev=")
    changed = caches[0]._replace(W=np.full((2, 3), np.nan))
    assert type(changed) is LayerCache and type(caches[0]._make(caches[0])) is LayerCache
    with pytest.raises(ValueError, match=r"caches\[0\]\.W must be finite"):
        fastdnn.model_backward(AL, np.ones((1, 4)), [changed, caches[1]])
