"""fastdnn.plot: each figure renders to a PNG with the Agg canvas (no display, no pyplot)."""

import builtins
import io
import os
import sys

import numpy as np
import pytest

from fastdnn import DNN, History
from fastdnn import plot as fplot
from fastdnn.datasets import load_planar_dataset

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    data = path.read_bytes()
    assert len(data) > 1000, f"{path} is suspiciously small ({len(data)} bytes)"
    assert data[:8] == PNG_SIGNATURE


@pytest.fixture(scope="module")
def planar_net():
    X, Y = load_planar_dataset()
    net = DNN([2, 4, 1], hidden="tanh", seed=2)
    history = net.fit(X, Y, learning_rate=1.2, num_iterations=1000)
    return net, history, X, Y


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def test_plot_costs_from_history(mpl, planar_net, tmp_path):
    _, history, _, _ = planar_net
    out = fplot.plot_costs(history, tmp_path / "costs.png", learning_rate=1.2)
    assert out == tmp_path / "costs.png"
    assert_png(out)


def test_plot_costs_course_list_on_given_axes(mpl, tmp_path):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    costs = [0.69, 0.5, 0.3, 0.2]  # the course's list: one cost every hundred iterations
    assert fplot.plot_costs(costs, ax=ax, learning_rate=0.0075) is ax
    assert ax.get_xlabel() == "iterations (per hundreds)"
    assert ax.get_ylabel() == "Cost"
    assert ax.get_title() == "Learning rate =0.0075"
    assert len(ax.lines) == 1
    fig.savefig(tmp_path / "list.png")  # a bare Figure saves with the default Agg canvas
    assert_png(tmp_path / "list.png")


def test_plot_costs_from_fitted_models(mpl, planar_net, tmp_path):
    net, _, _, _ = planar_net
    assert_png(fplot.plot_costs(net, tmp_path / "net.png"))
    with pytest.raises(ValueError, match="no costs"):
        fplot.plot_costs(History(), tmp_path / "empty.png")


def test_plot_costs_to_file_object(mpl):
    buffer = io.BytesIO()
    assert fplot.plot_costs([1.0, 0.5], buffer) is buffer
    assert buffer.getvalue()[:8] == PNG_SIGNATURE


def test_plot_decision_boundary_dnn(mpl, planar_net, tmp_path):
    net, _, X, Y = planar_net
    out = fplot.plot_decision_boundary(net, X, Y, tmp_path / "flower.png")
    assert_png(out)


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_read_only_figure_is_left_alone(mpl, planar_net, tmp_path):
    net, _, X, Y = planar_net
    (tmp_path / "keep.png").write_bytes(b"mine")
    os.chmod(tmp_path / "keep.png", 0o444)
    with pytest.raises(PermissionError):
        fplot.plot_decision_boundary(net, X, Y, tmp_path / "keep.png")
    assert (tmp_path / "keep.png").read_bytes() == b"mine"
    svg = fplot.plot_costs([1.0, 0.5], tmp_path / "costs.svg")  # the format from the suffix
    assert b"<svg" in (tmp_path / "costs.svg").read_bytes()[:1000] and svg == tmp_path / "costs.svg"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_the_figure_is_refused_without_blocking(mpl, tmp_path):
    os.mkfifo(tmp_path / "fig.png")
    with pytest.raises(ValueError, match="FIFO"):
        fplot.plot_costs([1.0, 0.5], tmp_path / "fig.png")


def test_plot_decision_boundary_callable_and_axes(mpl, planar_net):
    from matplotlib.figure import Figure

    _, _, X, Y = planar_net
    ax = Figure().add_subplot()

    def left_or_right(P):  # the course's lambda: points (2, k) -> labels
        assert P.shape[0] == 2
        return (P[0] > 0).astype(int)

    assert fplot.plot_decision_boundary(left_or_right, X, Y, ax=ax, grid_step=0.1) is ax
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    with pytest.raises(ValueError, match="did you pass X.T"):
        fplot.plot_decision_boundary(left_or_right, X.T, Y, ax=ax)
    with pytest.raises(ValueError, match="not both"):
        fplot.plot_decision_boundary(left_or_right, X, Y, path="x.png", ax=ax)


def test_plot_decision_boundary_sklearn_estimator(mpl, planar_net, tmp_path):
    pytest.importorskip("sklearn")
    from fastdnn.sklearn import DNNClassifier

    _, _, X, Y = planar_net
    labels = np.where(Y.ravel() == 1, "blue", "red")  # string labels are drawn by rank
    clf = DNNClassifier((4,), activation="tanh", learning_rate_init=1.2, max_iter=200,
                        random_state=0).fit(X.T, labels)  # fmt: skip
    assert_png(fplot.plot_decision_boundary(clf, X, labels, tmp_path / "sk.png", grid_step=0.1))


@pytest.mark.parametrize("layout", ["columns", "stack_uint8"])
def test_plot_mislabeled(mpl, tmp_path, layout):
    rng = np.random.default_rng(0)
    m = 7
    images = rng.integers(0, 256, size=(m, 16, 16, 3), dtype=np.uint8)
    Y = np.array([[1, 0, 1, 0, 1, 0, 0]])
    p = np.array([[0, 0, 1, 1, 1, 1, 0]], dtype=float)  # 3 mistakes
    # The course's layout: flattened columns scaled to [0, 1]; or the raw HDF5 stack.
    X = images.reshape(m, -1).T / 255.0 if layout == "columns" else images
    classes = np.array([b"non-cat", b"cat"])  # as the dataset stores them
    out = fplot.plot_mislabeled(X, Y, p, classes, tmp_path / "wrong.png", image_shape=(16, 16, 3))
    assert_png(out)


def test_plot_mislabeled_titles_and_errors(mpl):
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(1)
    X = rng.uniform(size=(4 * 4 * 3, 3))
    Y = np.array([[1, 0, 1]])
    p = np.array([[0, 0, 1]])
    fig = fplot.plot_mislabeled(X, Y, p, image_shape=(4, 4, 3))  # no path: a pyplot figure
    try:
        titles = [ax.get_title() for ax in fig.axes]
        assert titles == ["Prediction: non-cat\nClass: cat"]
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="no mislabelled"):
        fplot.plot_mislabeled(X, Y, Y, image_shape=(4, 4, 3))
    with pytest.raises(ValueError, match="did you pass X.T"):
        fplot.plot_mislabeled(X.T, Y, p, image_shape=(4, 4, 3))


def test_import_error_names_the_extra(monkeypatch, tmp_path):
    """Without matplotlib, calling a plot function says which extra to install."""
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'fastdnn\[plot\]'"):
        fplot.plot_costs([1.0, 0.5], tmp_path / "c.png")
    with pytest.raises(ImportError, match=r"fastdnn\[plot\]"):
        fplot.plot_decision_boundary(lambda P: P[0] > 0, np.zeros((2, 3)), [0, 1, 0],
                                     tmp_path / "d.png")  # fmt: skip
    with pytest.raises(ImportError, match=r"fastdnn\[plot\]"):
        fplot.plot_mislabeled(np.zeros((3, 2)), [0, 1], [1, 1], path=tmp_path / "m.png",
                              image_shape=(1, 1, 3))  # fmt: skip


def test_an_estimators_costs_are_drawn_at_their_epochs(mpl):
    """x was the record index times cost_every: wrong with early stopping (every epoch) and
    partial_fit (one a call)."""
    pytest.importorskip("sklearn")
    from matplotlib.figure import Figure

    from fastdnn.sklearn import DNNClassifier

    X = np.random.default_rng(0).normal(size=(200, 2))
    y = (X[:, 0] > 0).astype(int)
    clf = DNNClassifier(hidden_layer_sizes=(4,), max_iter=30, cost_every=10, random_state=0)
    clf.fit(X, y)
    for _ in range(3):
        clf.partial_fit(X, y)
    early = DNNClassifier(hidden_layer_sizes=(4,), max_iter=12, early_stopping=True,
                          n_iter_no_change=50, random_state=0).fit(X, y)  # fmt: skip
    for model, epochs in ((clf, [0, 10, 20, 30, 31, 32]), (early, list(range(12)))):
        ax = Figure().add_subplot()
        fplot.plot_costs(model, ax=ax)
        assert ax.get_xlabel() == "epochs"
        np.testing.assert_array_equal(ax.lines[0].get_xdata(), epochs)
        np.testing.assert_array_equal(ax.lines[0].get_ydata(), model.loss_curve_)


def test_a_path_whose_suffix_is_not_a_figure_is_refused_and_kept(mpl, planar_net, tmp_path):
    """model.npz was replaced by a PNG."""
    net, history, X, Y = planar_net
    model = tmp_path / "model.npz"
    net.save(model)
    saved = model.read_bytes()
    for call in (lambda: fplot.plot_costs(history, model),
                 lambda: fplot.plot_decision_boundary(net, X, Y, model),
                 lambda: fplot.plot_mislabeled(np.ones((12, 2)), [0, 1], [1, 1], path=model,
                                               image_shape=(2, 2, 3))):  # fmt: skip
        with pytest.raises(ValueError, match=r"a figure cannot be saved as '\.npz'; .*\.png"):
            call()
    assert model.read_bytes() == saved
    assert_png(fplot.plot_costs(history, tmp_path / "costs"))  # no suffix: PNG


def test_plot_errors_name_the_real_problem(mpl, planar_net):
    _, _, X, Y = planar_net
    with pytest.raises(ValueError, match="the model must take 2 inputs; it takes 5"):
        fplot.plot_decision_boundary(DNN([5, 3, 1]), X, Y)
    onehot = np.vstack([1 - Y, Y])
    with pytest.raises(ValueError, match=r"one-hot columns\? pass Y.argmax\(axis=0\)"):
        fplot.plot_decision_boundary(DNN([2, 3, 2], output="softmax"), X, onehot)
    images = np.ones((12, 3))
    with pytest.raises(ValueError, match=r"predictions must hold labels 0..1 .*found 0.9"):
        fplot.plot_mislabeled(images, [0, 1, 1], [0.9, 1, 0], image_shape=(2, 2, 3))
    with pytest.raises(ValueError, match=r"predictions must hold labels 0..1 .*found 2"):
        fplot.plot_mislabeled(images, [0, 1, 1], [2, 1, 0], image_shape=(2, 2, 3))
    with pytest.raises(ValueError, match="max_images must be a positive integer; got 0"):
        fplot.plot_mislabeled(images, [0, 1, 1], [1, 1, 0], image_shape=(2, 2, 3), max_images=0)


def test_check_figure_path_takes_what_the_plot_functions_take(mpl, tmp_path):
    # A file object is a place to save (it raised TypeError), None is not (it left a pyplot
    # figure open, then raised a TypeError from os.path): a helper's review.
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    assert fplot.check_figure_path(io.BytesIO()) == mpl.rcParams["savefig.format"]
    assert fplot.check_figure_path(tmp_path / "a.SVG") == "svg"
    with pytest.raises(TypeError, match="path must be a file name or a file object"):
        fplot.check_figure_path(None)
    with pytest.raises(ValueError, match=r"a figure cannot be saved as '\.npz'"):
        fplot.check_figure_path("model.npz")
    assert plt.get_fignums() == before
