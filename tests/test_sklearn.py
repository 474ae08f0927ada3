"""fastdnn.sklearn: scikit-learn's estimator checks, pipelines, searches, partial_fit."""

import builtins
import importlib
import pickle
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from sklearn.datasets import make_classification, make_moons, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.multiclass import OneVsRestClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import (  # noqa: E402
    check_estimator,
    parametrize_with_checks,
)

from fastdnn import DNN, DivergenceError  # noqa: E402
from fastdnn.datasets import load_planar_dataset  # noqa: E402
from fastdnn.sklearn import DNNClassifier, DNNRegressor  # noqa: E402

# Small nets and few iterations: every check fits several times. 20 full-batch steps at a
# learning rate of 0.1 already pass the accuracy (> 0.83) and R^2 (> 0.5) checks.
CHECKED = [
    DNNClassifier((8,), max_iter=20, random_state=0),
    DNNRegressor((8,), learning_rate_init=0.1, max_iter=20, random_state=0),
    DNNClassifier((8,), max_iter=20, dtype="float32", random_state=0),
    DNNRegressor((8,), learning_rate_init=0.1, max_iter=20, dtype="float32", random_state=0),
    # Mini-batches take other paths (batches sliced or gathered; read-only memmaps included).
    DNNClassifier((8,), max_iter=10, batch_size=16, random_state=0),
    DNNRegressor((8,), learning_rate_init=0.05, max_iter=10, batch_size=16, random_state=0),
]

_FLOAT32_ORDER = (
    "float32 arithmetic: BLAS may block a permuted or sliced batch differently, so a "
    "prediction can differ in its last bit (1 ulp = 1.2e-7 relative, above the check's "
    "rtol=1e-7); float64 passes"
)


def expected_failed_checks(estimator):
    """Checks that cannot apply, by name, with the reason.

    None in float64: DNNClassifier is multi-class (softmax output for three or more
    classes), so the checks that train on several classes run too.

    With ``dtype="float32"`` two checks compare predictions at float64 tolerances. They are
    marked (non-strict xfail: they pass when rounding happens to agree).
    """
    if estimator.dtype == "float32":
        return {
            "check_methods_sample_order_invariance": _FLOAT32_ORDER,
            "check_methods_subset_invariance": _FLOAT32_ORDER,
        }
    return {}


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.slow
@pytest.mark.parametrize("estimator", [DNNClassifier(random_state=0), DNNRegressor(random_state=0)],
                         ids=["DNNClassifier", "DNNRegressor"])  # fmt: skip
def test_defaults_pass_check_estimator(estimator):
    # The defaults (100 hidden units, 200 steps) train on the checks' unscaled data too:
    # the regressor's smaller learning rate (0.01) is what keeps it from diverging there.
    check_estimator(estimator, expected_failed_checks=expected_failed_checks(estimator))


def _moons(n=200, seed=0):
    X, y = make_moons(n_samples=n, noise=0.15, random_state=seed)
    return StandardScaler().fit_transform(X), y


def test_planar_accuracy_like_the_course():
    # The course's week 3: 4 tanh hidden units, lr 1.2, on the flower reaches ~90%.
    X, Y = load_planar_dataset()
    clf = DNNClassifier((4,), activation="tanh", learning_rate_init=1.2, max_iter=3000,
                        random_state=2)  # fmt: skip
    clf.fit(X.T, Y.ravel())
    assert clf.score(X.T, Y.ravel()) > 0.85
    assert clf.n_iter_ == 3000
    assert len(clf.loss_curve_) == 300
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_moons_accuracy_minibatch():
    X, y = _moons(300)
    clf = DNNClassifier((16,), learning_rate_init=0.3, max_iter=50, batch_size=32,
                        cost_every=5, random_state=0)  # fmt: skip
    clf.fit(X, y)
    assert clf.score(X, y) > 0.95
    assert clf.n_iter_ == 50  # epochs
    assert clf.model_.n_steps_ == 50 * 10  # ceil(300 / 32) mini-batches an epoch
    assert len(clf.loss_curve_) == 10
    # "auto" is min(200, n_samples), as in MLPClassifier: 2 mini-batches an epoch here
    auto = DNNClassifier((16,), max_iter=3, batch_size="auto", random_state=0).fit(X, y)
    assert auto.model_.n_steps_ == 3 * 2


def test_same_network_as_dnn():
    # The wrapper is thin: same seed, same steps -> the DNN trained in the course layout.
    X, y = _moons(100)
    clf = DNNClassifier((5,), activation="tanh", learning_rate_init=0.5, max_iter=50,
                        random_state=3).fit(X, y)  # fmt: skip
    net = DNN([2, 5, 1], hidden="tanh", init="glorot", seed=3)
    net.fit(np.ascontiguousarray(X.T), y.reshape(1, -1), learning_rate=0.5, num_iterations=50)
    for key, value in net.params.items():
        # The wrapper hands X.T (Fortran order) to the jit loop, the DNN a C-ordered copy:
        # BLAS may order the sums differently, hence a rounding tolerance.
        assert_allclose(clf.model_.params[key], value, rtol=1e-10, atol=1e-12, err_msg=key)
    assert_allclose(clf.predict_proba(X)[:, 1], net.predict_proba(X.T)[0], rtol=1e-10)


def test_string_labels():
    X, y = _moons(100)
    labels = np.where(y == 1, "spam", "ham")
    clf = DNNClassifier((8,), learning_rate_init=0.5, max_iter=200, random_state=0)
    clf.fit(X, labels)
    assert_array_equal(clf.classes_, ["ham", "spam"])
    pred = clf.predict(X)
    assert set(pred) <= {"ham", "spam"}
    assert np.mean(pred == labels) > 0.8
    proba = clf.predict_proba(X)
    assert proba.shape == (100, 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    # column 1 is P(classes_[1]) = P("spam")
    assert_array_equal(pred == "spam", proba[:, 1] > 0.5)


def test_multiclass_softmax():
    # Was: "Only binary classification is supported" (a sigmoid output only).
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    names = np.array(["virginica", "setosa", "versicolor"])[y]  # not in sorted order
    clf = DNNClassifier((16,), solver="adam", learning_rate_init=0.01, batch_size=32,
                        max_iter=100, random_state=0)  # fmt: skip
    clf.fit(X, names)
    assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])  # np.unique's order
    assert clf.model_.output == "softmax" and clf.model_.layer_dims == [4, 16, 3]
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # Column k is P(classes_[k]): predict is the label of the most probable column.
    assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, names) > 0.95  # standardised iris: about 0.97 for any such MLP
    # Two classes keep the course's single sigmoid output.
    binary = DNNClassifier((16,), max_iter=5, random_state=0).fit(X, y == 1)
    assert binary.model_.output == "sigmoid" and binary.model_.layer_dims == [4, 16, 1]
    with pytest.raises(ValueError, match="at least two classes"):
        DNNClassifier(max_iter=2).fit(X, np.zeros(150))
    with pytest.raises(ValueError, match="Unknown label type"):
        DNNClassifier(max_iter=2).fit(X, np.linspace(0, 1, 150))


def test_multiclass_checks_are_not_skipped():
    # The tag was False: scikit-learn binarised the multi-class checks' targets.
    assert DNNClassifier().__sklearn_tags__().classifier_tags.multi_class


def test_multiclass_partial_fit_with_blocks_missing_classes():
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=400, n_features=5, centers=4, random_state=1)
    X = StandardScaler().fit_transform(X)
    clf = DNNClassifier((16,), solver="adam", learning_rate_init=0.01, batch_size=32,
                        random_state=0)  # fmt: skip
    first = y < 2  # the first block holds two of the four classes
    clf.partial_fit(X[first], y[first], classes=[3, 2, 1, 0])
    assert_array_equal(clf.classes_, [0, 1, 2, 3])
    assert clf.model_.layer_dims[-1] == 4
    for _ in range(20):
        clf.partial_fit(X, y)
    assert clf.score(X, y) > 0.95  # four separated blobs
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X[:3], [0, 1, 7])


def test_one_vs_rest_gives_multiclass():
    X, y = make_classification(n_samples=90, n_classes=3, n_informative=3, random_state=0)
    ovr = OneVsRestClassifier(DNNClassifier((8,), max_iter=100, random_state=0))
    ovr.fit(StandardScaler().fit_transform(X), y)
    assert ovr.predict_proba(X).shape == (90, 3)


def test_partial_fit_continues():
    X, y = _moons(200)
    clf = DNNClassifier((8,), learning_rate_init=0.3, batch_size=32, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    # A first block holding one class only: classes says there are two.
    first = y == 0
    clf.partial_fit(X[first][:20], y[first][:20], classes=[0, 1])
    assert clf.n_iter_ == 1
    p1 = clf.predict_proba(X)
    steps1 = clf.model_.n_steps_
    for _ in range(5):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 6
    assert clf.model_.n_steps_ == steps1 + 5 * 7  # ceil(200 / 32) = 7 mini-batches a pass
    assert len(clf.loss_curve_) == 6
    assert not np.allclose(clf.predict_proba(X), p1)
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X[:4], [0, 1, 2, 1])
    with pytest.raises(ValueError, match="not the same"):
        clf.partial_fit(X, y, classes=[0, 2])
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :1], y)
    # A list mixing strings and numbers (np.asarray would make them all strings), and labels
    # that cannot be sorted together, are named as the classes' fault.
    with pytest.raises(ValueError, match="classes mixes string and non-string labels"):
        DNNClassifier().partial_fit(X, y, classes=[0, 1, "d"])
    with pytest.raises(ValueError, match="classes holds labels that cannot be sorted together"):
        DNNClassifier().partial_fit(X, y, classes=np.array(["a", None], dtype=object))
    for classes in ([0, 1, np.nan], np.array([0, 1, np.inf]), np.array([0, 1, np.nan], object)):
        with pytest.raises(
            ValueError, match=r"classes must hold class labels; found \[(nan|inf)\]"
        ):
            DNNClassifier().partial_fit(X, y, classes=classes)


def test_partial_fit_after_fit_and_full_batch():
    X, y = _moons(100)
    clf = DNNClassifier((8,), max_iter=10, random_state=0).fit(X, y)
    before = clf.predict_proba(X)
    clf.partial_fit(X, y)  # full batch: one gradient step
    assert clf.n_iter_ == 11
    assert clf.model_.n_steps_ == 11
    assert not np.array_equal(clf.predict_proba(X), before)


def test_fit_restarts_unless_warm_start():
    X, y = _moons(100)
    clf = DNNClassifier((8,), max_iter=10, random_state=0)
    first = clf.fit(X, y).predict_proba(X)
    assert_array_equal(clf.fit(X, y).predict_proba(X), first)  # same seed: same result
    assert clf.n_iter_ == 10
    clf.set_params(warm_start=True).fit(X, y)
    assert clf.n_iter_ == 20
    assert clf.model_.n_steps_ == 20


def test_regressor_shapes_and_target_scaling():
    X, y = make_regression(n_samples=120, n_features=4, noise=1.0, random_state=0)
    reg = DNNRegressor((16,), learning_rate_init=0.1, max_iter=300, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (120,)
    assert reg.score(X, y) > 0.95
    # normalize_y: model_ predicts the standardised target; predict scales it back in float64.
    assert_allclose(reg.y_mean_[0] + reg.y_scale_[0] * reg.model_.predict(X.T)[0], reg.predict(X),
                    rtol=1e-12)  # fmt: skip
    assert_allclose(reg.y_mean_, [y.mean()], rtol=1e-12)
    assert_allclose(reg.y_scale_, [y.std()], rtol=1e-12)
    # The units of y do not matter: the same fit on y * 1e5 predicts 1e5 times as much.
    big = DNNRegressor((16,), learning_rate_init=0.1, max_iter=300, random_state=0)
    big.fit(X, y * 1e5)
    assert_allclose(big.predict(X), reg.predict(X) * 1e5, rtol=1e-8, atol=1e-3)
    with pytest.raises(DivergenceError, match="learning_rate_init"):
        DNNRegressor((16,), max_iter=50, normalize_y=False, random_state=0).fit(X, y * 1e5)
    # A cost that overflows before any step: the advice is to scale X, not the learning rate.
    with pytest.raises(DivergenceError, match=r"played no part.* Scale X \(e.g. StandardScaler"):
        DNNRegressor((16,), max_iter=5, random_state=0).fit(X * 1e200, y)
    Y2 = np.column_stack([y, -2 * y + 3])
    multi = DNNRegressor((16,), learning_rate_init=0.1, max_iter=300, random_state=0).fit(X, Y2)
    assert multi.n_outputs_ == 2
    assert multi.predict(X).shape == (120, 2)
    assert multi.score(X, Y2) > 0.95
    with pytest.raises(ValueError, match="output"):
        multi.partial_fit(X, y)


def test_regressor_partial_fit():
    X, y = make_regression(n_samples=200, n_features=3, noise=1.0, random_state=1)
    reg = DNNRegressor((8,), batch_size=20, learning_rate_init=0.05, random_state=0)
    scores = []
    for _epoch in range(15):
        for block in range(0, 200, 50):  # four blocks, as dask-ml's Incremental feeds them
            reg.partial_fit(X[block : block + 50], y[block : block + 50])
        scores.append(reg.score(X, y))
    assert reg.n_iter_ == 60
    assert scores[-1] > 0.9
    assert scores[-1] > scores[0]


def test_pipeline_and_grid_search():
    X, y = make_moons(n_samples=120, noise=0.15, random_state=0)
    X = X * 100 + 50  # unscaled features: the pipeline's StandardScaler takes care of them
    pipe = make_pipeline(StandardScaler(), DNNClassifier((8,), max_iter=100, random_state=0))
    search = GridSearchCV(
        pipe, {"dnnclassifier__learning_rate_init": [0.05, 0.5]}, cv=2, error_score="raise"
    )
    search.fit(X, y)
    assert search.best_params_["dnnclassifier__learning_rate_init"] in (0.05, 0.5)
    assert search.score(X, y) > 0.8
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    assert_array_equal(restored.predict(X), search.predict(X))

    Xr, yr = make_regression(n_samples=80, n_features=3, noise=1.0, random_state=0)
    reg = make_pipeline(
        StandardScaler(), DNNRegressor((8,), learning_rate_init=0.1, random_state=0)
    )
    assert reg.fit(Xr * 1000, yr).score(Xr * 1000, yr) > 0.9


def test_logistic_regression_without_hidden_layer():
    X, y = _moons(100)
    clf = DNNClassifier(hidden_layer_sizes=(), learning_rate_init=0.5, max_iter=200,
                        random_state=0).fit(X, y)  # fmt: skip
    assert clf.model_.layer_dims == [2, 1]
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize(
    "params, match",
    [
        ({"activation": "softmax"}, "activation"),
        ({"hidden_layer_sizes": (8, 0)}, r"hidden_layer_sizes\[1\]"),
        ({"hidden_layer_sizes": "8"}, "hidden_layer_sizes"),
        ({"learning_rate_init": -1.0}, "learning_rate_init"),
        ({"max_iter": 0}, "max_iter"),
        ({"batch_size": "big"}, "batch_size"),
        ({"backend": "cuda"}, "backend"),
        ({"dtype": "float16"}, "dtype"),
        ({"init": "uniform"}, "init"),
        ({"solver": "lbfgs"}, "solver"),
        ({"alpha": -1e-4}, "alpha"),
        ({"momentum": 1.0}, "momentum"),
        ({"beta_1": 1.0}, "beta_1"),
        ({"beta_2": -0.1}, "beta_2"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"decay_rate": -1.0}, "decay_rate"),
        ({"shuffle": "yes"}, "shuffle"),
        ({"early_stopping": 1}, "early_stopping"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
        ({"tol": -1.0}, "tol"),
        ({"keep_prob": 0.0}, "keep_prob"),
        ({"warm_start": "no"}, "warm_start"),
        ({"activation": "softplus"}, r"scikit-learn's \['identity', 'logistic'\]"),
        # scikit-learn's random_state: None, an int in [0, 2**32 - 1] or a RandomState
        ({"random_state": -1}, r"random_state must be None, an int in \[0, 2\*\*32 - 1\]"),
        ({"random_state": 2**32}, "random_state"),
        ({"random_state": True}, "random_state"),
        ({"random_state": 1.5}, "random_state"),
        ({"random_state": np.random.default_rng(0)}, "random_state .* got Generator"),
        ({"random_state": 2**40, "early_stopping": True}, "random_state"),
    ],
)
def test_invalid_parameters_raise_at_fit(params, match):
    X, y = _moons(20)
    clf = DNNClassifier(**params)  # the constructor only stores
    with pytest.raises((ValueError, TypeError), match=match):
        clf.fit(X, y)


def test_float32_and_dataframe_names():
    X, y = _moons(60)
    clf = DNNClassifier((8,), dtype="float32", max_iter=20, random_state=0).fit(X, y)
    assert clf.model_.params["W1"].dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float64  # sklearn's convention for outputs
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=["a", "b"])
    clf.fit(df, y)
    assert_array_equal(clf.feature_names_in_, ["a", "b"])


def test_import_error_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    monkeypatch.delitem(sys.modules, "fastdnn.sklearn")
    with pytest.raises(ImportError, match=r"pip install 'fastdnn\[sklearn\]'"):
        importlib.import_module("fastdnn.sklearn")


def _smooth_regression(n=200):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(n, 2))
    return X, np.sin(3 * X[:, 0]) + X[:, 1] ** 2


def test_float32_regressor_keeps_a_large_target_mean_outside_the_network():
    # y = 1e8 + f(X): folded into a float32 output bias (spacing 8 at 1e8) the mean swamped f,
    # and R^2 was -0.008 (0.976 in float64). The mean and scale now stay in float64.
    X, f = _smooth_regression()
    scores = {}
    for dtype in ("float64", "float32"):
        reg = DNNRegressor((16,), activation="tanh", learning_rate_init=0.2, max_iter=300,
                           random_state=0, dtype=dtype).fit(X, 1e8 + f)  # fmt: skip
        assert reg.y_mean_.dtype == reg.y_scale_.dtype == np.float64
        assert reg.predict(X).dtype == np.float64
        scores[dtype] = reg.score(X, 1e8 + f)
    assert scores["float64"] > 0.85
    # Same network, same standardised targets: only float32 rounding apart.
    assert abs(scores["float32"] - scores["float64"]) < 1e-4


# scikit-learn's own finiteness check sums y: +-1.7e308 overflow there, harmlessly.
@pytest.mark.filterwarnings("ignore:invalid value encountered in reduce:RuntimeWarning")
def test_targets_around_1e200_fit_and_unstandardisable_ones_fail_cleanly():
    from sklearn.exceptions import NotFittedError

    X, f = _smooth_regression(100)
    kwargs = {"hidden_layer_sizes": (8,), "learning_rate_init": 0.1, "max_iter": 50,
              "random_state": 0}  # fmt: skip
    # np.std(1e200 * ...) overflowed: the fit failed with an internal message and left the
    # estimator looking fitted. Standardising by the largest magnitude first works.
    unit = DNNRegressor(**kwargs).fit(X, 1 + f)
    huge = DNNRegressor(**kwargs).fit(X, 1e200 * (1 + f))
    assert_allclose(huge.predict(X), 1e200 * unit.predict(X), rtol=1e-9)
    # Values whose spread exceeds float64: refused, and the estimator stays unfitted.
    y = np.tile([1.7e308, -1.7e308, 1.7e308, 1.6e308], 25)
    reg = DNNRegressor(**kwargs)
    with pytest.raises(ValueError, match=r"y is too large to standardise in float64"):
        reg.fit(X, y)
    assert not hasattr(reg, "model_") and not hasattr(reg, "y_mean_")
    with pytest.raises(NotFittedError):
        reg.predict(X)
    # A fitted estimator whose new fit fails keeps its previous fit.
    before = unit.predict(X)
    with pytest.raises(ValueError, match=r"too large to standardise"):
        unit.fit(X, y)
    assert_array_equal(unit.predict(X), before)
    # Without normalize_y, such targets diverge: DivergenceError, and nothing looks fitted.
    raw = DNNRegressor(**kwargs, normalize_y=False)
    with pytest.raises(DivergenceError):
        raw.fit(X, 1e200 * (1 + f))
    with pytest.raises(NotFittedError):
        raw.predict(X)


def test_dnn_score_for_regression_follows_sklearn_r2_score():
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (3, 40))
    net = DNN([3, 4, 2], output="linear", seed=0)
    Y = rng.normal(size=(2, 40))
    # Two outputs: R^2 of each, averaged (scikit-learn's default multioutput).
    assert_allclose(net.score(X, Y), r2_score(Y.T, net.predict(X).T), rtol=1e-12)
    # A constant target: 1.0 when predicted exactly, else 0.0 (it was NaN).
    exact = DNN.from_params({"W1": np.zeros((1, 3)), "b1": np.array([[2.5]])}, output="linear")
    assert exact.score(X, np.full((1, 40), 2.5)) == r2_score(np.full(40, 2.5), np.full(40, 2.5))
    assert (
        net.score(X, np.full((2, 40), 2.5))
        == 0.0
        == r2_score(np.full((40, 2), 2.5), net.predict(X).T)
    )
    # One example: R^2 is not defined. NaN, with a warning, as scikit-learn.
    with pytest.warns(UserWarning, match="not well-defined with fewer than two examples"):
        assert np.isnan(net.score(X[:, :1], Y[:, :1]))


def test_dnn_score_for_several_sigmoid_outputs_is_subset_accuracy():
    # Multi-label: an example counts when all its labels are right, as scikit-learn's
    # accuracy_score (it was the fraction of right labels: 0.875, then 0.75 here).
    from sklearn.metrics import accuracy_score

    W = np.eye(2)
    net = DNN.from_params({"W1": W, "b1": np.zeros((2, 1))})
    X = np.array([[1.0, 1.0, -1.0, -1.0], [1.0, -1.0, 1.0, -1.0]])
    Y = np.array([[1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 0.0]])  # example 3 wrong only in row 0
    assert net.score(X, Y) == 0.75 == accuracy_score(Y.T, net.predict(X).T)
    Y[1, 1] = 1.0  # example 2 now wrong in row 1: two of four examples right, six of 8 labels
    assert net.score(X, Y) == 0.5 == accuracy_score(Y.T, net.predict(X).T)
    assert net._score_of(net.predict_proba(X), Y) == 0.5  # History.val_accuracy, fastdnn predict


# ------------------------------------------------------------------ scikit-learn parity
def _course_params(coefs, intercepts):
    """scikit-learn's ``coefs_`` (n_in, n_out) and ``intercepts_`` as the course's dict."""
    params = {}
    for l, (W, b) in enumerate(zip(coefs, intercepts, strict=True), 1):
        params[f"W{l}"], params[f"b{l}"] = W.T.copy(), b.reshape(-1, 1).copy()
    return params


PARITY = {
    "sgd": {"solver": "sgd", "learning_rate_init": 0.1},
    "momentum": {"solver": "sgd", "momentum": 0.9, "learning_rate_init": 0.02},
    "adam": {"solver": "adam", "learning_rate_init": 0.01, "epsilon": 1e-14},
    "alpha": {"solver": "sgd", "learning_rate_init": 0.1, "alpha": 0.5},
}


@pytest.mark.parametrize("task", ["binary", "3-class", "regression"])
@pytest.mark.parametrize("config", list(PARITY))
def test_same_steps_as_mlp(config, task):
    """From MLP's own initial parameters, on the same batches (shuffle=False), two epochs of
    DNNClassifier / DNNRegressor give MLPClassifier's / MLPRegressor's parameters: the same
    loss scaling, L2 scaling (alpha), momentum and Adam. Adam differs only in where epsilon
    is added (set tiny here); momentum is scikit-learn's classical (non-Nesterov) one."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    X, y = make_classification(n_samples=300, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=3, random_state=0)  # fmt: skip
    if task == "binary":
        y = (y == 1).astype(int)
    if task == "regression":
        y = X @ np.array([1.0, -2.0, 0.5, 0.0, 1.5]) + 0.1 * y
    mlp_class, dnn_class = (
        (MLPRegressor, DNNRegressor) if task == "regression" else (MLPClassifier, DNNClassifier)
    )
    extra = {"normalize_y": False} if task == "regression" else {}
    settings = {"solver": "sgd", "momentum": 0.0, "alpha": 0.0, **PARITY[config]}
    lr = settings.pop("learning_rate_init")
    common = {"batch_size": 32, "shuffle": False, "warm_start": True, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # One epoch at a learning rate of 1e-300 leaves MLP's initial draw as it is
        # (w - 1e-300 g == w); with warm_start, the next fit starts a fresh optimizer there.
        mlp = mlp_class(hidden_layer_sizes=(8,), max_iter=1, learning_rate_init=1e-300,
                        nesterovs_momentum=False, n_iter_no_change=10**6, **common,
                        **settings).fit(X, y)  # fmt: skip
        start = _course_params(mlp.coefs_, mlp.intercepts_)
        mlp.set_params(learning_rate_init=lr, max_iter=2).fit(X, y)
    # Plain gradient steps of 1e-300 build the network (and its classes); then MLP's draw
    # goes in. The optimizer changes from "gd" afterwards, so its state starts fresh too.
    dnn = dnn_class((8,), max_iter=1, learning_rate_init=1e-300, **common, **extra).fit(X, y)
    dnn.model_.set_params(start)
    dnn.set_params(learning_rate_init=lr, max_iter=2, **settings).fit(X, y)
    want = _course_params(mlp.coefs_, mlp.intercepts_)
    for key, value in want.items():
        assert not np.allclose(value, start[key])  # it trained
        # Same arithmetic in another order: rounding only, over 20 steps (Adam 1e-8: epsilon).
        assert_allclose(dnn.model_.params[key], value, rtol=1e-6, atol=1e-10, err_msg=key)


def _uncentred(n=6000, seed=0):
    """Two features uniform in [0, 1), a diagonal boundary: inputs far from centred."""
    X = np.random.default_rng(seed).random((n, 2))
    return X, (X[:, 0] + X[:, 1] > 1).astype(int)


def test_partial_fit_learns_as_fast_as_mlp_per_pass():
    """The issue's setting: sgd, no momentum, lr 0.05, batch 64, one hidden layer of 16,
    6,000 rows. With fastdnn's "xavier" draw (randn / sqrt(fan_in), zero biases) the wrapper
    reached 0.66 / 0.81 / 0.88 after 1 / 2 / 3 passes against MLPClassifier's 0.78 / 0.88 /
    0.93 (mean of 8 seeds). Same steps from the same start (test_same_steps_as_mlp): the gap
    was the initialization. The default is now scikit-learn's, "glorot"."""
    from sklearn.neural_network import MLPClassifier

    X, y = _uncentred()
    gaps = np.zeros(3)
    for seed in range(8):
        settings = {"learning_rate_init": 0.05, "batch_size": 64, "random_state": seed}
        mlp = MLPClassifier((16,), solver="sgd", momentum=0.0, **settings)
        dnn = DNNClassifier((16,), **settings)
        for p in range(3):
            mlp.partial_fit(X, y, classes=[0, 1])
            dnn.partial_fit(X, y, classes=[0, 1])
            gaps[p] += (mlp.score(X, y) - dnn.score(X, y)) / 8
    assert np.all(gaps < 0.03), gaps


def test_glorot_initialization():
    from fastdnn import initialize_parameters

    params = initialize_parameters([30, 20, 1], init="glorot", seed=0)
    for l, (n_prev, n) in enumerate([(30, 20), (20, 1)], 1):
        r = np.sqrt(6 / (n_prev + n))  # Glorot & Bengio (2010), as sklearn's MLP for relu
        for key in (f"W{l}", f"b{l}"):
            values = params[key]
            assert np.all(np.abs(values) < r), key
            assert np.all(values != 0), key  # biases are drawn too
        assert abs(params[f"W{l}"].std() - r / np.sqrt(3)) < 0.15 * r  # uniform's std
    p32 = initialize_parameters([30, 20, 1], init="glorot", seed=0, dtype="float32")
    for key, value in params.items():
        assert_array_equal(p32[key], value.astype(np.float32))  # one draw, rounded
    net = DNN([3, 4, 1], init="glorot", seed=1)
    assert net.init == "glorot"


def test_learning_rate_defaults_follow_the_solver():
    X, y = _moons(100)
    one_step = {"max_iter": 1, "random_state": 0}

    def W1(**kwargs):
        return DNNClassifier((4,), **one_step, **kwargs).fit(X, y).model_.params["W1"]

    assert_array_equal(W1(), W1(learning_rate_init=0.1))  # the course's full-batch rate
    assert_array_equal(W1(solver="adam"), W1(solver="adam", learning_rate_init=0.001))
    assert not np.array_equal(W1(solver="adam"), W1(solver="adam", learning_rate_init=0.1))
    reg = DNNRegressor((4,), **one_step)
    ref = DNNRegressor((4,), learning_rate_init=0.01, **one_step)
    assert_array_equal(reg.fit(X, y).model_.params["W1"], ref.fit(X, y).model_.params["W1"])


def test_sklearn_activation_names():
    X, y = _moons(60)
    for sk, ours in [("logistic", "sigmoid"), ("identity", "linear"), ("tanh", "tanh")]:
        clf = DNNClassifier((4,), activation=sk, max_iter=2, random_state=0).fit(X, y)
        assert clf.model_.hidden == ours


def test_dropout_and_decay_reach_the_network():
    X, y = _moons(200)
    base = {"hidden_layer_sizes": (16,), "batch_size": 32, "max_iter": 5, "random_state": 0}
    plain = DNNClassifier(**base).fit(X, y).model_.params["W1"]
    for extra in ({"keep_prob": 0.8}, {"decay_rate": 1.0}):
        first = DNNClassifier(**base, **extra).fit(X, y).model_.params["W1"]
        again = DNNClassifier(**base, **extra).fit(X, y).model_.params["W1"]
        assert_array_equal(first, again)  # seeded: reproducible
        assert not np.allclose(first, plain), extra


# ------------------------------------------------------------------ early stopping
def test_early_stopping_stops_and_keeps_the_best_epoch():
    # Noisy labels and a large net: the validation loss turns up within a few dozen epochs.
    X, y = make_classification(n_samples=400, n_features=10, flip_y=0.3, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = DNNClassifier((128,), solver="adam", learning_rate_init=0.01, batch_size=32,
                        max_iter=500, early_stopping=True, n_iter_no_change=5,
                        random_state=0)  # fmt: skip
    clf.fit(X, y)
    curve = clf.validation_loss_curve_
    assert clf.n_iter_ < 500 and len(curve) == clf.n_iter_ == len(clf.loss_curve_)
    best = int(np.argmin(curve))
    assert clf.best_validation_loss_ == curve[best]
    # Stopped once more than n_iter_no_change epochs did not improve on the best.
    assert clf.n_iter_ == best + 1 + 5 + 1
    # The model went back to the best epoch (a record is numbered by the steps before it).
    history = clf.model_.history_
    assert history.stop_reason == "early_stopping"
    steps_per_epoch = -(-360 // 32)  # 10 % of 400 held out
    assert history.best_iteration == (best + 1) * steps_per_epoch
    assert history.n_steps == clf.n_iter_ * steps_per_epoch
    assert clf.model_.n_steps_ == history.best_iteration  # the model, all of it, is the best one's
    without = DNNClassifier((128,), solver="adam", learning_rate_init=0.01, batch_size=32,
                            max_iter=40, random_state=0).fit(X, y)  # fmt: skip
    assert without.validation_loss_curve_ is None and without.n_iter_ == 40


def test_early_stopping_regressor_and_errors():
    X, y = make_regression(n_samples=200, n_features=4, noise=20.0, random_state=0)
    reg = DNNRegressor((64,), solver="adam", learning_rate_init=0.01, batch_size=16,
                       max_iter=300, early_stopping=True, random_state=0).fit(X, y)  # fmt: skip
    assert reg.n_iter_ < 300
    assert reg.score(X, y) > 0.8
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        DNNRegressor(early_stopping=True).partial_fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction=0.01 of the 20 samples"):
        DNNRegressor(early_stopping=True, validation_fraction=0.01).fit(X[:20], y[:20])
    tiny = DNNClassifier(early_stopping=True, validation_fraction=0.1)
    with pytest.raises(ValueError, match="early_stopping cannot hold out"):
        tiny.fit(X[:12], np.arange(12) % 3)  # 2 held out for 3 classes: no stratified split
    assert not hasattr(tiny, "model_")


def test_shuffle_false_takes_the_batches_in_order():
    # DNN.fit(shuffle=False), which the wrapper's shuffle=False uses (test_same_steps_as_mlp
    # holds it to MLP's unshuffled batches): the seed then no longer matters.
    X, y = _moons(64)
    start = DNN([2, 4, 1], seed=0).params

    def trained(seed, shuffle):
        net = DNN([2, 4, 1], seed=seed).set_params(start)
        net.fit(X.T, y, 0.1, epochs=3, batch_size=16, shuffle=shuffle)
        return net.params["W1"]

    assert_array_equal(trained(1, False), trained(2, False))
    assert not np.array_equal(trained(1, True), trained(2, True))
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        DNN([2, 1]).fit(X.T, y, 0.1, epochs=1, batch_size=8, shuffle=1)


def test_no_false_not_learning_warning_for_softmax():
    # The check compared the cross-entropy with the targets' variance (the regression
    # baseline, 1/3 here) and said a network at 0.45 "has not learned from its inputs";
    # the baseline of three balanced classes is log(3) = 1.10.
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_classes=3,
                               random_state=0)  # fmt: skip
    X = StandardScaler().fit_transform(X)
    clf = DNNClassifier((16,), solver="adam", batch_size=32, max_iter=100, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf.fit(X, y)
    assert clf.loss_curve_[-1] < 0.7 * np.log(3)
    rng = np.random.default_rng(0)  # labels unrelated to X: still warned of
    X_noise, y_noise = rng.standard_normal((3000, 6)), rng.integers(0, 3, 3000)
    with pytest.warns(RuntimeWarning, match="no lower than that of predicting the class freq"):
        DNNClassifier((), max_iter=300, random_state=0).fit(X_noise, y_noise)


def test_a_second_fit_of_one_estimator_in_another_thread_is_refused(monkeypatch):
    # Both fits used to run: one model_ won, and loss_curve_ held both fits' costs.
    import threading

    X, y = make_moons(60, noise=0.2, random_state=0)
    params = dict(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    est = DNNClassifier(**params)
    inside, release = threading.Event(), threading.Event()
    real_fit = DNN.fit

    def held_fit(self, *args, **kwargs):
        inside.set()
        release.wait(10)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(DNN, "fit", held_fit)
    worker = threading.Thread(target=est.fit, args=(X, y))
    worker.start()
    try:
        assert inside.wait(30)
        with pytest.raises(RuntimeError, match="DNNClassifier.fit is already running"):
            est.fit(X, y)
        with pytest.raises(RuntimeError, match="already running"):
            est.partial_fit(X, y, classes=[0, 1])
    finally:
        release.set()
        worker.join(30)
    monkeypatch.undo()
    alone = DNNClassifier(**params).fit(X, y)
    assert est.loss_curve_ == alone.loss_curve_
    est.fit(X, y)  # free again
    assert est.loss_curve_ == alone.loss_curve_


def test_random_state_none_follows_numpy_global_state_as_sklearn_does():
    X, y = _moons(100)
    fits = []
    for seed in (0, 0, 1):
        np.random.seed(seed)  # noqa: NPY002 (the global state is what is tested)
        fits.append(DNNClassifier((4,), max_iter=3, early_stopping=True).fit(X, y))
    assert np.array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))
    assert fits[0].validation_loss_curve_ == fits[1].validation_loss_curve_
    assert not np.array_equal(fits[0].predict_proba(X), fits[2].predict_proba(X))
    # A RandomState draws the seed: the same state, the same fit.
    a, b = (DNNClassifier((4,), max_iter=3, random_state=np.random.RandomState(5)) for _ in "ab")
    assert np.array_equal(a.fit(X, y).predict_proba(X), b.fit(X, y).predict_proba(X))


def test_regressor_prediction_shape_follows_the_latest_y():
    X, y = _moons(60)
    y2 = y.astype(float)[:, None]
    reg = DNNRegressor((4,), max_iter=2, warm_start=True, random_state=0)
    assert reg.fit(X, y2).predict(X[:3]).shape == (3, 1)
    assert reg.fit(X, y2[:, 0]).predict(X[:3]).shape == (3,)
    reg = DNNRegressor((4,), random_state=0).partial_fit(X, y2[:, 0])
    assert reg.predict(X[:3]).shape == (3,)
    assert reg.partial_fit(X, y2).predict(X[:3]).shape == (3, 1)


def test_warm_start_trains_on_a_changed_backend():
    X, y = _moons(60)
    clf = DNNClassifier((4,), max_iter=2, warm_start=True, random_state=0).fit(X, y)
    clf.set_params(backend="numpy").fit(X, y)
    assert clf.model_.backend == "numpy"


@pytest.mark.parametrize("task", ["binary", "3-class", "regression"])
def test_mlp_fitted_attributes(task):
    """coefs_, intercepts_, n_layers_, n_outputs_, out_activation_ and predict_log_proba
    as scikit-learn's MLP has them (shapes and names from MLP itself, fitted alike)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    X, y = make_classification(n_samples=60, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=3, random_state=0)  # fmt: skip
    if task == "binary":
        y = (y == 1).astype(int)
    ours, theirs = (DNNClassifier, MLPClassifier) if task != "regression" else (
        DNNRegressor, MLPRegressor)  # fmt: skip
    if task == "regression":
        y = y.astype(float)
    dnn = ours((5, 3), max_iter=2, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = theirs(hidden_layer_sizes=(5, 3), max_iter=2, random_state=0).fit(X, y)
    assert [c.shape for c in dnn.coefs_] == [c.shape for c in mlp.coefs_]
    assert [b.shape for b in dnn.intercepts_] == [b.shape for b in mlp.intercepts_]
    for l, (W, b) in enumerate(zip(dnn.coefs_, dnn.intercepts_, strict=True), 1):
        assert np.array_equal(W, dnn.model_.params[f"W{l}"].T) and not W.flags.writeable
        assert np.array_equal(b, dnn.model_.params[f"b{l}"][:, 0])
    assert (dnn.n_layers_, dnn.n_outputs_, dnn.out_activation_) == (
        mlp.n_layers_, mlp.n_outputs_, mlp.out_activation_)  # fmt: skip
    if task != "regression":
        assert_allclose(np.exp(dnn.predict_log_proba(X)), dnn.predict_proba(X), rtol=1e-12)
    assert not hasattr(ours(), "coefs_")  # unfitted


def test_a_diverging_warm_start_counts_the_epochs_its_model_kept():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = X @ np.array([1.0, 2.0, 3.0])
    reg = DNNRegressor((8,), max_iter=3, batch_size=10, normalize_y=False, warm_start=True,
                       random_state=0).fit(X, y)  # fmt: skip
    reg.set_params(learning_rate_init=50.0, max_iter=50)
    with pytest.raises(DivergenceError):
        reg.fit(X * 100, y * 1e6)
    # the model keeps its last good step; n_iter_ counts the whole epochs among its steps
    assert reg.model_.n_steps_ > 30 and reg.n_iter_ == reg.model_.n_steps_ // 10


def test_dropout_without_hidden_layers_does_nothing_in_an_estimator():
    # DNN.fit refuses it; an estimator takes a setting that does nothing, as scikit-learn's
    # do, so a grid over hidden_layer_sizes and keep_prob fits every point (two failed).
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] > 0).astype(int)
    a = DNNClassifier(hidden_layer_sizes=(), keep_prob=0.5, max_iter=30, random_state=0)
    b = DNNClassifier(hidden_layer_sizes=(), max_iter=30, random_state=0)
    assert np.array_equal(a.fit(X, y).model_._theta, b.fit(X, y).model_._theta)
    grid = {"hidden_layer_sizes": [(), (8,)], "keep_prob": [0.8, 1.0]}
    search = GridSearchCV(DNNClassifier(max_iter=30, random_state=0), grid, cv=2,
                          error_score="raise").fit(X, y)  # fmt: skip
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
