"""Calls by address (:mod:`fastdnn._native`) and the activation entries made with them."""

import numpy as np
import pytest
from numba import carray, types

from fastdnn import _numba
from fastdnn._native import ccall, data_pointer
from fastdnn._types import Act
from fastdnn.kernels import _jit_entries


@_numba.cfunc(types.void(types.voidptr, types.int64, types.float64))
def _fill(out, n, value):
    """``out[:n] = value + i`` (float64)."""
    x = carray(out, (n,), dtype=np.float64)
    for i in range(n):
        x[i] = value + i


@_numba.njit
def _call_fill(address, out, value):
    ccall(address, (data_pointer(out), np.int64(out.shape[0]), np.float64(value)))


def test_ccall_passes_pointers_integers_and_floats():
    out = np.zeros(5)
    _call_fill(_fill.address, out, 2.5)
    np.testing.assert_array_equal(out, [2.5, 3.5, 4.5, 5.5, 6.5])
    # A view: the pointer is its first element's, not its base's.
    base = np.zeros(6)
    _call_fill(_fill.address, base[2:5], -1.0)
    np.testing.assert_array_equal(base, [0, 0, -1, 0, 1, 0])


def test_entries_are_made_once_per_activation_and_dtype():
    a = _jit_entries.entries(int(Act.TANH), int(Act.SIGMOID), np.float64)
    b = _jit_entries.entries(int(Act.TANH), int(Act.SIGMOID), "float64")
    c = _jit_entries.entries(int(Act.TANH), int(Act.SIGMOID), np.float32)
    assert a.dtype == np.int64 and a.shape == (3,)
    np.testing.assert_array_equal(a, b)
    assert not set(a) & set(c)  # float32 has its own loops
    relu = _jit_entries.entries(int(Act.RELU), int(Act.SIGMOID), np.float64)
    assert relu[_jit_entries.OUTPUT] == a[_jit_entries.OUTPUT]  # the same output entry
    assert relu[_jit_entries.HIDDEN] != a[_jit_entries.HIDDEN]


@pytest.mark.parametrize(
    ("hidden", "output", "match"),
    [
        (int(Act.SOFTMAX), int(Act.SIGMOID), r"hidden: expected an activation code 0\.\.4, got 5"),
        (-1, int(Act.SIGMOID), r"hidden: expected an activation code 0\.\.4, got -1"),
        (int(Act.RELU), int(Act.TANH), r"output: expected one of \(1, 0, 5\), got 2"),
    ],
)
def test_entries_reject_codes_they_have_no_loop_for(hidden, output, match):
    with pytest.raises(ValueError, match=match):
        _jit_entries.entries(hidden, output, np.float64)
    with pytest.raises(ValueError, match=r"dtype: expected float64 or float32, got float16"):
        _jit_entries.entries(int(Act.RELU), int(Act.SIGMOID), np.float16)


_CHECK_ENTRIES = """
import sys
import numpy as np
from fastdnn.kernels import _jit_entries, naive
rng = np.random.default_rng(0)
Z0, b = rng.standard_normal((3, 40)), rng.standard_normal((3, 1))
for act in map(int, sys.argv[1:]):
    Z = Z0.copy()
    _jit_entries.hidden_activation(_jit_entries.entries(act, 1, np.float64), Z, b, 0.05)
    A = np.empty_like(Z0)
    naive.activation_forward(Z0 + b, act, 0.05, A)
    assert np.allclose(Z, A, rtol=1e-12, atol=1e-12), f"activation {act}: wrong loop"
"""


@pytest.mark.skipif(not _numba.CACHE or _numba.JIT_DISABLED, reason="needs Numba's disk cache")
def test_entries_compiled_in_different_processes_keep_their_own_code(tmp_path):
    # Each process compiles one entry first, so both get the same per-process counter in
    # their compiled names; a third process loads both from the cache. Before entries had
    # unique names, the one loaded second ran the first one's loop (tanh ran relu).
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    tanh, relu = str(int(Act.TANH)), str(int(Act.RELU))
    for acts in ([tanh], [relu], [tanh, relu], [relu, tanh]):
        subprocess.run([sys.executable, "-c", _CHECK_ENTRIES, *acts], check=True, env=env)


def test_compiled_closures_have_distinct_names():
    # The factories' loops and switches (see fastdnn._numba.unique_name).
    from fastdnn.kernels import jit

    tables = [jit.INPLACE_LOOPS, jit.FORWARD_LOOPS, jit.PLAIN_LOOPS, jit.MASK_LOOPS]
    tables.append(jit.MASK_ONLY_LOOPS)
    loops = [f for table in tables for f in table.values()]
    switches = [jit._hidden_loop, jit._mask_loop, jit._forward_loop, jit._plain_loop]
    switches.append(jit._mask_only_loop)
    names = [getattr(f, "py_func", f).__qualname__ for f in loops + switches]
    assert len(set(names)) == len(names), sorted(names)


def test_warmup_makes_the_entries_it_is_asked_for():
    import fastdnn

    fastdnn.warmup(["float32"], hidden=["tanh", "linear"], outputs=["softmax"])
    f32 = np.dtype(np.float32)
    for key in [("_make_hidden", int(Act.TANH), f32), ("_make_mask", int(Act.LINEAR), f32),
                ("_make_output", int(Act.SOFTMAX), f32)]:  # fmt: skip
        assert key in _jit_entries._made, key


_HIDDEN_NAMES = r"\['leaky_relu', 'linear', 'relu', 'sigmoid', 'tanh'\]"
_OUTPUT_NAMES = r"\['linear', 'sigmoid', 'softmax'\]"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"hidden": ["swish"]}, ValueError, rf"hidden: expected names from {_HIDDEN_NAMES}, got"),
        ({"outputs": ["tanh"]}, ValueError, rf"outputs: expected names from {_OUTPUT_NAMES}, got"),
        ({"hidden": "tanh"}, TypeError, r"hidden: expected a sequence of names, got the string"),
        ({"dtypes": ["float16"]}, ValueError, r"dtype must be 'float64' or 'float32'; got"),
    ],
)
def test_warmup_refuses_what_it_cannot_compile_before_compiling(kwargs, error, match, monkeypatch):
    import fastdnn
    from fastdnn import network

    monkeypatch.setattr(network, "DNN", None)  # nothing may be built before the checks
    with pytest.raises(error, match=match):
        fastdnn.warmup(**kwargs)
