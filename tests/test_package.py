"""The package surface: lazy sub-modules, one version, public course initializers, typed names."""

import ast
import importlib.metadata
import subprocess
import sys
import tomllib
import typing
from pathlib import Path

import numpy as np
import pytest

import fastdnn
from fastdnn import _types
from fastdnn.course import deep

ROOT = Path(__file__).resolve().parents[1]


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True).stdout  # fmt: skip


def test_submodules_are_attributes_loaded_on_first_use():
    # `import fastdnn; fastdnn.datasets.load_planar_dataset()` was an AttributeError.
    out = _run(
        "import sys, fastdnn\n"
        "lazy = ['datasets', 'course', 'io', 'datafiles', 'plot', 'sklearn']\n"
        # io is DNN's save/load (imported with it); the others wait for first use.
        "print(sorted(m for m in lazy if m != 'io' and 'fastdnn.' + m in sys.modules))\n"
        "print(sorted(m for m in ('scipy.special', 'sklearn', 'matplotlib') if m in sys.modules))\n"
        "X, Y = fastdnn.datasets.load_planar_dataset()\n"
        "print(X.shape, fastdnn.course.deep.initialize_parameters_deep_app([2, 1])['W1'].shape)\n"
        "print(fastdnn.io.load_model.__module__, fastdnn.datafiles.__name__)\n"
        "print(all(m in dir(fastdnn) for m in lazy))\n"
    )
    assert out.splitlines() == [
        "[]",  # nothing of these is imported by `import fastdnn`
        "[]",  # nor the heavy optional dependencies
        "(2, 400) (1, 2)",
        "fastdnn.io fastdnn.datafiles",
        "True",
    ]
    with pytest.raises(AttributeError, match="module 'fastdnn' has no attribute 'nope'"):
        fastdnn.nope  # noqa: B018


def test_version_is_written_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    try:
        installed = importlib.metadata.version("fastdnn")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("fastdnn is imported from a source tree, not installed: no metadata")
    assert installed == fastdnn.__version__


def test_course_application_initializer_is_public_and_starts_a_dnn():
    # dnn_app_utils_v3's initialize_parameters_deep: seed 1, then randn / sqrt(n_prev) per layer.
    dims = [5, 4, 3, 1]
    np.random.seed(1)  # noqa: NPY002 - the course's legacy RNG is the contract
    expected = {}
    for l in range(1, len(dims)):
        expected[f"W{l}"] = np.random.randn(dims[l], dims[l - 1]) / np.sqrt(dims[l - 1])  # noqa: NPY002
        expected[f"b{l}"] = np.zeros((dims[l], 1))
    start = deep.initialize_parameters_deep_app(dims)
    assert "initialize_parameters_deep_app" in deep.__all__
    assert start.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_array_equal(start[key], value, err_msg=key)
    net = fastdnn.DNN.from_params(start, hidden="relu", output="sigmoid")
    assert net.layer_dims == dims
    for key, value in expected.items():
        np.testing.assert_array_equal(net.params[key], value, err_msg=key)


def test_validation_takes_backend_names_from_a_table_not_from_the_kernels():
    # _validation imported backends (so the kernels and Numba) for the names alone.
    source = (ROOT / "fastdnn" / "_validation.py").read_text()
    imported = {
        node.module or ""
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
    } | {alias.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Import)
         for alias in node.names}  # fmt: skip
    assert not {m for m in imported if "backends" in m or "kernels" in m or "numba" in m}
    assert set(_types.BACKEND_NAMES) == set(fastdnn.BACKENDS)
    with pytest.raises(ValueError, match=r"backend must be one of \['jit', 'naive', 'numpy'\]"):
        fastdnn.model_forward(np.ones((2, 1)), fastdnn.initialize_parameters([2, 1]), backend="x")


@pytest.mark.parametrize(
    ("function", "argument", "alias"),
    [
        (fastdnn.initialize_parameters, "init", _types.InitName),
        (fastdnn.initialize_parameters, "dtype", _types.DTypeName),
        (fastdnn.model_forward, "hidden", _types.ActivationName),
        (fastdnn.model_forward, "output", _types.OutputName),
        (fastdnn.model_backward, "hidden", _types.ActivationName),
        (fastdnn.predict, "output", _types.OutputName),
        (fastdnn.compute_cost, "loss", _types.LossName),
    ],
)
def test_public_signatures_use_the_literal_aliases(function, argument, alias):
    assert typing.get_type_hints(function)[argument] == alias
    for name in typing.get_args(alias):  # and every name the alias lists is accepted
        assert isinstance(name, str)


def test_estimator_signatures_use_the_literal_aliases():
    pytest.importorskip("sklearn")
    from fastdnn.sklearn import DNNClassifier, DNNRegressor

    for cls in (DNNClassifier, DNNRegressor):
        hints = typing.get_type_hints(cls.__init__)
        assert hints["activation"] == _types.ActivationName
        assert hints["init"] == _types.InitName
        assert hints["backend"] == _types.Backend
        assert hints["dtype"] == _types.DTypeName
