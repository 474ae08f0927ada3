"""io reads and writes arrays plus metadata; DNN builds itself, drawing nothing on load."""

import ast
from pathlib import Path

import numpy as np
import pytest

import fastdnn
from fastdnn import DNN, network
from fastdnn import io as fio

PACKAGE = Path(fastdnn.__file__).parent
IO_MODULES = ("io.py", "_archive.py", "_metadata.py", "_atomic.py")


def _tree(name):
    return ast.parse((PACKAGE / name).read_text(), filename=name)


def _imported_modules(tree, top_level_only):
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            yield node.module or "", [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, []


def test_io_does_not_import_network_at_module_level():
    for name in IO_MODULES:
        for module, names in _imported_modules(_tree(name), top_level_only=True):
            assert "network" not in module and "network" not in names, (name, module)
    # the reading and checking modules do not import it at all
    for name in IO_MODULES[1:]:
        for module, names in _imported_modules(_tree(name), top_level_only=False):
            assert "network" not in module and "network" not in names, (name, module)


def test_no_private_name_crosses_into_or_out_of_io():
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("io"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, (path.name, private)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id in ("io", "fio") and node.attr.startswith("_"):
                    raise AssertionError((path.name, node.attr))
            if path.name in IO_MODULES and isinstance(node, ast.ImportFrom) and node.module:
                # from .module import name: a private module is fine, a private name is not
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert private in ([], ["__version__"]), (path.name, node.module, private)


def _no_draws(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("initial weights were drawn")

    monkeypatch.setattr(network, "initialize_parameters", refuse)


def test_load_and_from_params_draw_no_weights(tmp_path, monkeypatch):
    net = DNN([6, 4, 1], seed=2)
    net.save(tmp_path / "m.npz")
    np.savez(tmp_path / "course.npz", **net.params)
    _no_draws(monkeypatch)
    assert DNN.load(tmp_path / "m.npz")._theta.tobytes() == net._theta.tobytes()
    assert fio.load_model(tmp_path / "course.npz")._theta.tobytes() == net._theta.tobytes()
    assert DNN.from_params(net.params)._theta.tobytes() == net._theta.tobytes()
    with pytest.raises(AssertionError, match="drawn"):
        DNN([6, 4, 1])  # the patch is live: only construction draws


def test_read_model_returns_arrays_and_checked_metadata(tmp_path):
    net = DNN([4, 3, 2], output="linear", seed=1).set_input_scaling(np.zeros(4), np.ones(4))
    net.feature_names = ["a", "b", "c", "d"]
    net.save(tmp_path / "m.npz")
    contents = fio.read_model(tmp_path / "m.npz")
    assert isinstance(contents, fio.ModelFile) and isinstance(contents.meta, fio.ModelMeta)
    assert contents.meta.layer_dims == (4, 3, 2) and contents.meta.output == "linear"
    assert contents.meta.feature_names == ("a", "b", "c", "d")
    assert contents.meta.arrays == ("input_mean", "input_scale")
    assert contents.theta.tobytes() == net._theta.tobytes()
    assert contents.params["W2"].shape == (2, 3)
    np.testing.assert_array_equal(contents.arrays["input_scale"], np.ones((4, 1)))


def test_loaded_model_adopts_the_buffer_read(tmp_path, monkeypatch):
    DNN([5, 3, 1], seed=0).save(tmp_path / "m.npz")
    seen = {}
    real = fio.read_model

    def spy(*args, **kwargs):
        seen["contents"] = real(*args, **kwargs)
        return seen["contents"]

    monkeypatch.setattr(network, "read_model", spy)
    net = DNN.load(tmp_path / "m.npz")
    assert net._theta is seen["contents"].theta  # read once, straight into the model's buffer


def test_save_model_and_load_model_stay_public(tmp_path):
    net = DNN([3, 2, 1], seed=0)
    assert fio.save_model(net, tmp_path / "m.npz") == tmp_path / "m.npz"
    assert fio.load_model(tmp_path / "m.npz", "numpy").backend == "numpy"
    assert isinstance(fio.READ_ERRORS, tuple)
