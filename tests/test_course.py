"""fastdnn.course against the course's own published numbers.

Every expected value below is copied from the course's published material, never from running
fastdnn; the comment beside it says where. Abbreviations for the sources:

* G: greyhatguy007/deep-learning-specialization, C1-NeuralNetworksAndDeepLearning/ (the current
  assignments): week2/W2A2, week3/W3A1, week4/W4A1, week4/W4A2 (notebooks, public_tests.py,
  testCases*.py).
* A: amanchadha/coursera-deep-learning-specialization, "C1 - Neural Networks and Deep Learning/"
  (an earlier version of the same notebooks, with their "Expected Output" tables).
* K: Kulbear/deep-learning-coursera, "Neural Networks and Deep Learning/" (an earlier version).

Inputs of the published test cases are rebuilt exactly as the course builds them (the same
``np.random.seed(n)`` and ``np.random.randn`` calls as its testCases / public_tests).

Tolerances follow the printed digits: NumPy prints 8 decimals (|error| <= 5e-9, or 5e-8
relative in e-notation), the models' ``"%f"`` prints 6 decimals (5e-7).
"""

# ruff: noqa: NPY002 - the course's legacy global RNG (np.random.seed/randn) is the contract.
from __future__ import annotations

import re

import numpy as np
import pytest

from fastdnn.course import deep, logistic, shallow
from fastdnn.datasets import flatten_images, load_cat_dataset, load_planar_dataset

BACKENDS = ("naive", "numpy", "jit")


def close8(actual, expected):
    """Equal to NumPy's default print precision (8 decimals or 8 significant digits)."""
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=1e-7, atol=5e-9)


def close6(actual, expected):
    """Equal to the 6 decimals of ``"%f"``."""
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=0, atol=5.01e-7)


def printed_costs(text):
    """``{iteration: cost}`` from the ``"Cost after iteration i: c"`` lines of a run."""
    return {int(i): float(c) for i, c in re.findall(r"Cost after iteration (\d+): (\S+)", text)}


@pytest.fixture(scope="module")
def cat():
    """The course's cat data: ``train_x (12288, 209), train_y, test_x (12288, 50), test_y``."""
    pytest.importorskip("h5py", reason="the cat data is HDF5: pip install h5py")
    try:
        train_x_orig, train_y, test_x_orig, test_y, _ = load_cat_dataset()
    except FileNotFoundError as exc:
        pytest.skip(f"cat data not available: {exc}")
    return flatten_images(train_x_orig), train_y, flatten_images(test_x_orig), test_y


@pytest.fixture(scope="module")
def planar():
    return load_planar_dataset()


# --- week 2: logistic regression ---------------------------------------------------------------


def test_sigmoid():
    close8(logistic.sigmoid(np.array([0, 2])), [0.5, 0.88079708])  # G W2A2 notebook output
    close8(logistic.sigmoid(np.array([0.5, 0, 2.0])), [0.62245933, 0.5, 0.88079708])  # G notebook
    # G W2A2/public_tests.py sigmoid_test, given there truncated to 7 decimals:
    assert logistic.sigmoid(1) == pytest.approx(0.7310585, abs=1e-7)


def test_initialize_with_zeros():
    w, b = logistic.initialize_with_zeros(2)  # G W2A2 notebook: w = [[0.] [0.]], b = 0.0
    assert type(b) is float and b == 0.0
    assert w.shape == (2, 1) and not w.any()


def test_propagate():
    w, b = np.array([[1.0], [2]]), 1.5
    X, Y = np.array([[1.0, -2.0, -1.0], [3.0, 0.5, -3.2]]), np.array([[1, 1, 0]])
    grads, cost = logistic.propagate(w, b, X, Y)
    close8(grads["dw"], [[0.25071532], [-0.06604096]])  # G W2A2 notebook expected output
    assert grads["db"] == pytest.approx(-0.1250040450043965, rel=1e-12)  # G notebook
    assert cost == pytest.approx(0.15900537707692405, rel=1e-12)  # G notebook
    assert isinstance(grads["db"], np.float64) and np.ndim(cost) == 0

    w, b = np.array([[1.0], [2.0], [-1]]), 2.5
    X = np.array([[1.0, 2.0, -1.0, 0], [3.0, 4.0, -3.2, 1], [3.0, 4.0, -3.2, -3.5]])
    grads, cost = logistic.propagate(w, b, X, np.array([[1, 1, 0, 0]]))
    close8(grads["dw"], [[-0.03909333], [0.12501464], [-0.99960809]])  # G public_tests.py
    assert grads["db"] == pytest.approx(0.288106326429569, rel=1e-12)  # G public_tests.py
    assert cost == pytest.approx(2.0424567983978403, rel=1e-12)  # G public_tests.py

    # The brief's case: the earlier notebook's test (A Week 2 Logistic.ipynb, Expected Output).
    w, b = np.array([[1.0], [2.0]]), 2.0
    X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
    grads, cost = logistic.propagate(w, b, X, Y)
    close8(grads["dw"], [[0.99845601], [2.39507239]])  # A Expected Output
    assert grads["db"] == pytest.approx(0.001455578136784208, rel=1e-12)  # A notebook output
    assert cost == pytest.approx(5.801545319394553, rel=1e-12)  # A Expected Output


def test_optimize():
    w, b = np.array([[1.0], [2]]), 1.5
    X, Y = np.array([[1.0, -2.0, -1.0], [3.0, 0.5, -3.2]]), np.array([[1, 1, 0]])
    params, grads, costs = logistic.optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009)
    close8(params["w"], [[0.80956046], [2.0508202]])  # G W2A2 notebook output
    assert params["b"] == pytest.approx(1.5948713189708588, rel=1e-12)  # G notebook
    close8(grads["dw"], [[0.17860505], [-0.04840656]])  # G notebook
    assert grads["db"] == pytest.approx(-0.08888460336847771, rel=1e-12)  # G notebook
    close8(costs, [0.15900538])  # G notebook: Costs = [array(0.15900538)]
    assert w[0, 0] == 1.0  # the course optimizes a deep copy

    w, b = np.array([[1.0], [2.0]]), 2.0
    X, Y = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]]), np.array([[1, 0, 1]])
    params, grads, costs = logistic.optimize(w, b, X, Y, num_iterations=101, learning_rate=0.1)
    close8(params["w"], [[-0.70916784], [-0.42390859]])  # G W2A2/public_tests.py optimize_test
    close8(params["b"], 2.26891346)  # G public_tests.py
    close8(grads["dw"], [[0.06188603], [-0.01407361]])  # G public_tests.py
    close8(grads["db"], -0.04709353)  # G public_tests.py
    assert type(costs) is list
    close8(costs, [5.80154532, 0.31057104])  # G public_tests.py

    params, grads, _ = logistic.optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009)
    close8(params["w"], [[0.19033591], [0.12259159]])  # A Expected Output
    assert params["b"] == pytest.approx(1.9253598300845747, rel=1e-12)  # A notebook output
    close8(grads["dw"], [[0.67752042], [1.41625495]])  # A Expected Output
    assert grads["db"] == pytest.approx(0.21919450454067654, rel=1e-12)  # A notebook output


def test_predict_logistic():
    w, b = np.array([[0.1124579], [0.23106775]]), -0.3
    X = np.array([[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]])
    np.testing.assert_array_equal(logistic.predict(w, b, X), [[1.0, 1.0, 0.0]])  # G notebook
    w, b = np.array([[0.3], [0.5], [-0.2]]), -0.33333
    X = np.array([[1.0, -0.3, 1.5], [2, 0, 1], [0, -1.5, 2]])
    np.testing.assert_array_equal(logistic.predict(w, b, X), [[1.0, 0.0, 1.0]])  # G public_tests


def test_model_public_test():
    np.random.seed(0)  # G W2A2/public_tests.py model_test
    Y, X = np.array([1, 0, 0, 1, 0, 0, 1]).reshape(1, 7), np.random.randn(4, 7)
    x_test, y_test = np.random.randn(4, 3), np.array([0, 1, 0])
    d = logistic.model(X, Y, x_test, y_test, num_iterations=50, learning_rate=0.01)
    assert type(d["costs"]) is list and len(d["costs"]) == 1
    close8(d["costs"], [0.69314718])
    close8(d["w"], [[0.08639757], [-0.08231268], [-0.11798927], [0.12866053]])
    assert d["b"] == pytest.approx(-0.03983236094816321, rel=1e-12)
    np.testing.assert_array_equal(d["Y_prediction_test"], [[1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(d["Y_prediction_train"], [[1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0]])


# K "Logistic Regression with a Neural Network mindset.ipynb", notebook output of
# model(train_set_x, train_set_y, test_set_x, test_set_y, 2000, 0.005, print_cost=True);
# its first value and the accuracies are the Expected Output table (A, Logistic.ipynb).
W2_COSTS = [0.693147, 0.584508, 0.466949, 0.376007, 0.331463, 0.303273, 0.279880, 0.260042,
            0.242941, 0.228004, 0.214820, 0.203078, 0.192544, 0.183033, 0.174399, 0.166521,
            0.159305, 0.152667, 0.146542, 0.140872]


def test_model_cat_run(cat, capsys):
    train_x, train_y, test_x, test_y = cat
    d = logistic.model(train_x, train_y, test_x, test_y, num_iterations=2000,
                       learning_rate=0.005, print_cost=True)
    out = capsys.readouterr().out
    close6(d["costs"], W2_COSTS)
    printed = printed_costs(out)
    assert sorted(printed) == list(range(0, 2000, 100))
    close6([printed[i] for i in sorted(printed)], W2_COSTS)
    train_acc = float(re.search(r"train accuracy: (\S+) %", out).group(1))
    test_acc = float(re.search(r"test accuracy: (\S+) %", out).group(1))
    assert train_acc == pytest.approx(99.04306220095694, rel=1e-13)  # A/K Expected Output
    assert test_acc == pytest.approx(70.0, rel=1e-13)  # A/K Expected Output


# --- week 3: one hidden layer ------------------------------------------------------------------

# testCases_v2.py / public_tests.py (G W3A1): the fixed weights of several test cases.
W3_W1 = np.array([[-0.00416758, -0.00056267], [-0.02136196, 0.01640271],
                  [-0.01793436, -0.00841747], [0.00502881, -0.01245288]])
W3_W2 = np.array([[-0.01057952, -0.00909008, 0.00551454, 0.02292208]])
W3_PARAMS = {  # update_parameters_test_case / predict_test_case
    "W1": np.array([[-0.00615039, 0.0169021], [-0.02311792, 0.03137121],
                    [-0.0169217, -0.01752545], [0.00935436, -0.05018221]]),
    "W2": np.array([[-0.0104319, -0.04019007, 0.01607211, 0.04440255]]),
    "b1": np.array([[-8.97523455e-07], [8.15562092e-06], [6.04810633e-07], [-2.54560700e-06]]),
    "b2": np.array([[9.14954378e-05]]),
}


def test_layer_sizes():
    np.random.seed(1)  # G W3A1/public_tests.py layer_sizes_test
    X, Y = np.random.randn(5, 3), np.random.randn(2, 3)
    assert shallow.layer_sizes(X, Y) == (5, 4, 2)
    X, Y = np.random.randn(7, 5), np.random.randn(5, 5)
    assert shallow.layer_sizes(X, Y) == (7, 4, 5)


def test_initialize_parameters_shallow():
    np.random.seed(2)
    p = shallow.initialize_parameters(2, 4, 1)
    close8(p["W1"], W3_W1)  # G W3A1 notebook expected output
    close8(p["W2"], W3_W2)  # G notebook
    assert p["b1"].shape == (4, 1) and p["b2"].shape == (1, 1)
    assert not p["b1"].any() and not p["b2"].any()

    np.random.seed(2)
    p = shallow.initialize_parameters(3, 5, 2)  # G public_tests.py initialize_parameters_test
    close8(p["W1"], [[-0.00416758, -0.00056267, -0.02136196],
                     [0.01640271, -0.01793436, -0.00841747],
                     [0.00502881, -0.01245288, -0.01057952],
                     [-0.00909008, 0.00551454, 0.02292208],
                     [0.00041539, -0.01117925, 0.00539058]])
    close8(p["W2"], [[-5.96159700e-03, -1.91304965e-04, 1.17500122e-02, -7.47870949e-03,
                      9.02525097e-05],
                     [-8.78107893e-03, -1.56434170e-03, 2.56570452e-03, -9.88779049e-03,
                      -3.38821966e-03]])


def test_forward_propagation():
    np.random.seed(1)  # G public_tests.py forward_propagation_test (= testCases_v2 case)
    X, b1 = np.random.randn(2, 3), np.random.randn(4, 1)
    params = {"W1": W3_W1, "b1": b1, "W2": W3_W2, "b2": np.array([[-1.3]])}
    A2, cache = shallow.forward_propagation(X, params)
    close8(A2, [[0.21292656, 0.21274673, 0.21295976]])  # G notebook + public_tests.py
    close8(cache["Z1"], [[1.7386459, 1.74687437, 1.74830797],  # G public_tests.py
                         [-0.81350569, -0.73394355, -0.78767559],
                         [0.29893918, 0.32272601, 0.34788465],
                         [-0.2278403, -0.2632236, -0.22336567]])
    close8(cache["A1"], [[0.9400694, 0.94101876, 0.94118266],
                         [-0.67151964, -0.62547205, -0.65709025],
                         [0.29034152, 0.31196971, 0.33449821],
                         [-0.22397799, -0.25730819, -0.2197236]])
    close8(cache["Z2"], [[-1.30737426, -1.30844761, -1.30717618]])
    assert cache["A2"] is A2


def test_compute_cost_shallow():
    np.random.seed(1)  # testCases_v2.compute_cost_test_case
    Y = np.random.randn(1, 3) > 0
    A2 = np.array([[0.5002307, 0.49985831, 0.50023963]])
    cost = shallow.compute_cost(A2, Y)
    assert cost == pytest.approx(0.6930587610394646, rel=1e-12)  # G W3A1 notebook
    assert shallow.compute_cost(A2, Y, {"W1": W3_W1}) == cost  # older 3-argument signature

    np.random.seed(1)  # G public_tests.py compute_cost_test
    Y = np.random.randn(1, 5) > 0
    A2 = np.array([[0.5002307, 0.49985831, 0.50023963, 0.25, 0.7]])
    cost = shallow.compute_cost(A2, Y)
    assert type(cost) is float
    assert cost == pytest.approx(0.5447066599017815, rel=1e-12)


def test_backward_propagation():
    np.random.seed(1)  # testCases_v2.backward_propagation_test_case
    X, Y = np.random.randn(2, 3), np.random.randn(1, 3) > 0
    params = {"W1": W3_W1, "W2": W3_W2, "b1": np.zeros((4, 1)), "b2": np.zeros((1, 1))}
    cache = {"A1": np.array([[-0.00616578, 0.0020626, 0.00349619],
                             [-0.05225116, 0.02725659, -0.02646251],
                             [-0.02009721, 0.0036869, 0.02883756],
                             [0.02152675, -0.01385234, 0.02599885]]),
             "A2": np.array([[0.5002307, 0.49985831, 0.50023963]]),
             "Z1": np.array([[-0.00616586, 0.0020626, 0.0034962],
                             [-0.05229879, 0.02726335, -0.02646869],
                             [-0.02009991, 0.00368692, 0.02884556],
                             [0.02153007, -0.01385322, 0.02600471]]),
             "Z2": np.array([[0.00092281, -0.00056678, 0.00095853]])}
    g = shallow.backward_propagation(params, cache, X, Y)
    close8(g["dW1"], [[0.00301023, -0.00747267], [0.00257968, -0.00641288],  # G notebook
                      [-0.00156892, 0.003893], [-0.00652037, 0.01618243]])
    close8(g["db1"], [[0.00176201], [0.00150995], [-0.00091736], [-0.00381422]])
    close8(g["dW2"], [[0.00078841, 0.01765429, -0.00084166, -0.01022527]])
    close8(g["db2"], [[-0.16655712]])

    np.random.seed(1)  # G public_tests.py backward_propagation_test
    X, Y = np.random.randn(3, 7), np.random.randn(1, 7) > 0
    params = {"W1": np.random.randn(9, 3), "W2": np.random.randn(1, 9),
              "b1": np.zeros((9, 1)), "b2": np.zeros((1, 1))}
    cache = {"A1": np.random.randn(9, 7), "A2": np.random.randn(1, 7),
             "Z1": np.random.randn(9, 7), "Z2": np.random.randn(1, 7)}
    g = shallow.backward_propagation(params, cache, X, Y)
    close8(g["dW1"], [[-0.24468458, -0.24371232, 0.15959609], [0.7370069, -0.64785999, 0.23669823],
                      [0.47936123, -0.01516428, 0.01566728], [0.03361075, -0.0930929, 0.05581073],
                      [0.52445178, -0.03895358, 0.09180612], [-0.17043596, 0.13406378, -0.20952062],
                      [0.76144791, -0.41766018, 0.02544078], [0.22164791, -0.33081645, 0.19526915],
                      [0.25619969, -0.09561825, 0.05679075]])
    close8(g["db1"], [[0.1463639], [-0.33647992], [-0.51738006], [-0.07780329], [-0.57889514],
                      [0.28357278], [-0.39756864], [-0.10510329], [-0.13443244]])
    close8(g["dW2"], [[-0.35768529, 0.22046323, -0.29551566, -0.12202786, 0.18809552,
                       0.13700323, 0.35892872, -0.02220353, -0.03976687]])
    close8(g["db2"], [[-0.78032466]])


def test_update_parameters_shallow():
    grads = {"dW1": np.array([[0.00023322, -0.00205423], [0.00082222, -0.00700776],
                              [-0.00031831, 0.0028636], [-0.00092857, 0.00809933]]),
             "dW2": np.array([[-1.75740039e-05, 3.70231337e-03, -1.25683095e-03,
                               -2.55715317e-03]]),
             "db1": np.array([[1.05570087e-07], [-3.81814487e-06], [-1.90155145e-07],
                              [5.46467802e-07]]),
             "db2": np.array([[-1.08923140e-05]])}
    before = {k: v.copy() for k, v in W3_PARAMS.items()}
    p = shallow.update_parameters(W3_PARAMS, grads)  # default learning_rate=1.2
    close8(p["W1"], [[-0.00643025, 0.01936718], [-0.02410458, 0.03978052],  # G notebook +
                     [-0.01653973, -0.02096177], [0.01046864, -0.05990141]])  # public_tests
    close8(p["b1"], [[-1.02420756e-06], [1.27373948e-05], [8.32996807e-07], [-3.20136836e-06]])
    close8(p["W2"], [[-0.01041081, -0.04463285, 0.01758031, 0.04747113]])
    close8(p["b2"], [[0.00010457]])
    for k, v in before.items():
        np.testing.assert_array_equal(W3_PARAMS[k], v)


def test_nn_model_public_test(capsys):
    np.random.seed(1)  # testCases_v2.nn_model_test_case / G public_tests.py nn_model_test
    X, Y = np.random.randn(2, 3), np.random.randn(1, 3) > 0
    p = shallow.nn_model(X, Y, 4, num_iterations=10000, print_cost=True)
    printed = printed_costs(capsys.readouterr().out)
    assert sorted(printed) == list(range(0, 10000, 1000))
    close6([printed[i] for i in sorted(printed)],  # G W3A1 notebook expected output
           [0.693198, 0.000219, 0.000108, 0.000071, 0.000053, 0.000043, 0.000035, 0.000030,
            0.000027, 0.000024])
    close8(p["W1"], [[0.56305445, -1.03925886], [0.7345426, -1.36286875],  # G public_tests.py
                     [-0.72533346, 1.33753027], [0.74757629, -1.38274074]])
    close8(p["b1"], [[-0.22240654], [-0.34662093], [0.33663708], [-0.35296113]])
    close8(p["W2"], [[1.82196893, 3.09657075, -2.98193564, 3.19946508]])
    close8(p["b2"], [[0.21344644]])


def test_predict_shallow():
    np.random.seed(1)  # G public_tests.py predict_test
    X = np.random.randn(2, 3)
    np.testing.assert_array_equal(shallow.predict(W3_PARAMS, X), [[True, False, True]])


def test_nn_model_planar_run(planar, capsys):
    X, Y = planar
    p = shallow.nn_model(X, Y, n_h=4, num_iterations=10000, print_cost=True)
    printed = printed_costs(capsys.readouterr().out)
    # G W3A1 notebook output of nn_model(X, Y, n_h=4, num_iterations=10000, print_cost=True).
    published = [0.693162, 0.258625, 0.239334, 0.230802, 0.225528, 0.221845, 0.219094,
                 0.220590, 0.219405, 0.218524]
    assert sorted(printed) == list(range(0, 10000, 1000))
    ours = [printed[i] for i in sorted(printed)]
    close6(ours[:7], published[:7])
    # From iteration ~6000 the cost climbs again (0.219094 -> 0.2206) and this stretch
    # amplifies last-bit differences in tanh/exp/BLAS between NumPy builds: mathematically
    # equal rewrites of the same step (scipy's expit for the sigmoid, tanh via exp) move the
    # 7000 cost anywhere in 0.22059-0.22067 on one machine (3.5e-4 relative), and the same
    # code under OpenBLAS's SkylakeX, Haswell and Sandybridge kernels on one Intel Xeon prints
    # 0.218528, 0.218483 and 0.218527 at 9000 (2.1e-4 apart). The printed digits of this
    # stretch are a tie-break of rounding; what is robust is the level: within 2e-3 relative
    # (about 0.0004), several times the largest spread measured.
    np.testing.assert_allclose(ours[7:], published[7:], rtol=2e-3)
    accuracy = float(np.mean(shallow.predict(p, X) == Y)) * 100
    # G W3A1 Expected Output: "Accuracy: 90%" (printed with %d). After the chaotic stretch
    # above, two BLAS kernels end one example apart (90.5 vs 90.75 measured): what is robust
    # is the printed 90 (90 <= accuracy < 91), not the exact count.
    assert int(accuracy) == 90


# The published sweep is reproducible only where gradient descent is stable. Measured on one
# Intel Xeon (AVX-512) by running the sweep under OpenBLAS's SkylakeX and Haswell kernels:
# for n_h = 1..5 the two runs end with outputs equal to 1.3e-12, and the example nearest the
# decision boundary sits 1.2e-4 away from 0.5, so the accuracy is exact on any CPU. For
# n_h = 20 and 50, lr = 1.2 makes the last ~1000 iterations chaotic: last-bit differences of
# the BLAS kernels grow until the two runs' outputs differ by up to 0.5 on some examples, and
# the accuracies land one example apart (20: 90.75 vs 91.0; 50: 90.5 vs 90.25). There the
# course's printed value is itself a tie-break of its machine's rounding; what is robust is
# the level the course teaches (a larger hidden layer fits the flower to ~90-91 %), asserted
# to within 1 point (4 of the 400 examples).
SWEEP_EXACT = {1: 67.5, 2: 67.25, 3: 90.75, 4: 90.5, 5: 91.25}
SWEEP_CHAOTIC = {20: 90.75, 50: 90.25}
BOUNDARY_MARGIN = 1e-6  # far above the 1e-12 drift measured between BLAS kernels


def test_hidden_layer_sizes_planar(planar):
    X, Y = planar
    # G W3A1 notebook output: "Accuracy for {n_h} hidden units: {} %" after 5000 iterations.
    for n_h, acc in {**SWEEP_EXACT, **SWEEP_CHAOTIC}.items():
        p = shallow.nn_model(X, Y, n_h, num_iterations=5000)
        A2, _ = shallow.forward_propagation(X, p)
        ours = float(np.mean(shallow.predict(p, X) == Y)) * 100
        if n_h in SWEEP_EXACT:
            # Exact only because no example is near the boundary: check that premise too.
            assert np.abs(A2 - 0.5).min() > BOUNDARY_MARGIN, n_h
            assert ours == acc, n_h
        else:
            assert abs(ours - acc) <= 1.0, n_h


# --- week 4: step by step ------------------------------------------------------------------------


def test_initialize_parameters_deep_two_layer():
    p = deep.initialize_parameters(3, 2, 1)
    close8(p["W1"], [[0.01624345, -0.00611756, -0.00528172],  # G W4A1 notebook expected output
                     [-0.01072969, 0.00865408, -0.02301539]])
    close8(p["W2"], [[0.01744812, -0.00761207]])
    assert p["b1"].shape == (2, 1) and p["b2"].shape == (1, 1)


def test_initialize_parameters_deep():
    p = deep.initialize_parameters_deep([5, 4, 3])
    close8(p["W1"], [[0.01788628, 0.0043651, 0.00096497, -0.01863493, -0.00277388],  # G W4A1
                     [-0.00354759, -0.00082741, -0.00627001, -0.00043818, -0.00477218],  # notebook
                     [-0.01313865, 0.00884622, 0.00881318, 0.01709573, 0.00050034],
                     [-0.00404677, -0.0054536, -0.01546477, 0.00982367, -0.01101068]])
    close8(p["W2"], [[-0.01185047, -0.0020565, 0.01486148, 0.00236716],
                     [-0.01023785, -0.00712993, 0.00625245, -0.00160513],
                     [-0.00768836, -0.00230031, 0.00745056, 0.01976111]])
    assert p["b1"].shape == (4, 1) and p["b2"].shape == (3, 1)
    assert sorted(p) == ["W1", "W2", "b1", "b2"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_forward(backend):
    np.random.seed(1)  # W4A1 testCases.linear_forward_test_case
    A, W, b = np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)
    Z, cache = deep.linear_forward(A, W, b, backend=backend)
    close8(Z, [[3.26295337, -1.23429987]])  # G W4A1 notebook expected output
    assert cache[0] is A and cache[1] is W and cache[2] is b


@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_activation_forward(backend):
    np.random.seed(2)  # W4A1 testCases.linear_activation_forward_test_case
    A_prev, W, b = np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)
    A, cache = deep.linear_activation_forward(A_prev, W, b, "sigmoid", backend=backend)
    close8(A, [[0.96890023, 0.11013289]])  # G W4A1 notebook expected output
    (cached_A, cached_W, cached_b), Z = cache
    assert cached_A is A_prev and cached_W is W and cached_b is b
    close8(Z, [[3.43896131, -2.08938436]])  # G W4A1/public_tests.py expected_Z
    A, _ = deep.linear_activation_forward(A_prev, W, b, "relu", backend=backend)
    close8(A, [[3.43896131, 0.0]])  # G notebook expected output


def l_model_forward_case():
    np.random.seed(6)  # W4A1 testCases.L_model_forward_test_case_2hidden
    X = np.random.randn(5, 4)
    params = {}
    for l, (n, n_prev) in enumerate([(4, 5), (3, 4), (1, 3)], start=1):
        params[f"W{l}"], params[f"b{l}"] = np.random.randn(n, n_prev), np.random.randn(n, 1)
    return X, params


@pytest.mark.parametrize("backend", BACKENDS)
def test_L_model_forward(backend):
    X, params = l_model_forward_case()
    AL, caches = deep.L_model_forward(X, params, backend=backend)
    close8(AL, [[0.03921668, 0.70498921, 0.19734387, 0.04728177]])  # G W4A1 notebook
    assert len(caches) == 3
    # G W4A1/public_tests.py L_model_forward_test, the Z of each cache:
    close8(caches[0][1], [[-5.23825714, 3.18040136, 0.4074501, -1.88612721],
                          [-2.77358234, -0.56177316, 3.18141623, -0.99209432],
                          [4.18500916, -1.78006909, -0.14502619, 2.72141638],
                          [5.05850802, -1.25674082, -3.54566654, 3.82321852]])
    close8(caches[1][1], [[2.2644603, 1.09971298, -2.90298027, 1.54036335],
                          [6.33722569, -2.38116246, -4.11228806, 4.48582383],
                          [10.37508342, -0.66591468, 1.63635185, 8.17870169]])
    close8(caches[2][1], [[-3.19864676, 0.87117055, -1.40297864, -3.00319435]])
    assert caches[0][0][0] is X and caches[2][0][1] is params["W3"]
    close8(caches[1][0][0], [[0.0, 3.18040136, 0.4074501, 0.0],  # G public_tests.py: A1
                             [0.0, 0.0, 3.18141623, 0.0],
                             [4.18500916, 0.0, 0.0, 2.72141638],
                             [5.05850802, 0.0, 0.0, 3.82321852]])


def test_compute_cost_deep():
    Y, AL = np.asarray([[1, 1, 0]]), np.array([[0.8, 0.9, 0.4]])  # testCases.compute_cost_test_case
    cost = deep.compute_cost(AL, Y)
    assert np.ndim(cost) == 0
    assert cost == pytest.approx(0.2797765635793422, rel=1e-12)  # G W4A1 Expected Output


@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_backward(backend):
    np.random.seed(1)  # W4A1 testCases.linear_backward_test_case
    dZ, A, W, b = (np.random.randn(*s) for s in [(3, 4), (5, 4), (3, 5), (3, 1)])
    dA_prev, dW, db = deep.linear_backward(dZ, (A, W, b), backend=backend)
    close8(dA_prev, [[-1.15171336, 0.06718465, -0.3204696, 2.09812712],  # G W4A1 notebook
                     [0.60345879, -3.72508701, 5.81700741, -3.84326836],
                     [-0.4319552, -1.30987417, 1.72354705, 0.05070578],
                     [-0.38981415, 0.60811244, -1.25938424, 1.47191593],
                     [-2.52214926, 2.67882552, -0.67947465, 1.48119548]])
    close8(dW, [[0.07313866, -0.0976715, -0.87585828, 0.73763362, 0.00785716],
                [0.85508818, 0.37530413, -0.59912655, 0.71278189, -0.58931808],
                [0.97913304, -0.24376494, -0.08839671, 0.55151192, -0.10290907]])
    close8(db, [[-0.14713786], [-0.11313155], [-0.13209101]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_activation_backward(backend):
    np.random.seed(2)  # W4A1 testCases.linear_activation_backward_test_case
    dA, A, W, b, Z = (np.random.randn(*s) for s in [(1, 2), (3, 2), (1, 3), (1, 1), (1, 2)])
    cache = ((A, W, b), Z)
    dA_prev, dW, db = deep.linear_activation_backward(dA, cache, "sigmoid", backend=backend)
    close8(dA_prev, [[0.11017994, 0.01105339], [0.09466817, 0.00949723],  # G W4A1 notebook
                     [-0.05743092, -0.00576154]])
    close8(dW, [[0.10266786, 0.09778551, -0.01968084]])
    close8(db, [[-0.05729622]])
    dA_prev, dW, db = deep.linear_activation_backward(dA, cache, "relu", backend=backend)
    close8(dA_prev, [[0.44090989, 0.0], [0.37883606, 0.0], [-0.2298228, 0.0]])
    close8(dW, [[0.44513824, 0.37371418, -0.10478989]])
    close8(db, [[-0.20837892]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_L_model_backward(backend):
    np.random.seed(3)  # W4A1 testCases.L_model_backward_test_case
    AL, Y = np.random.randn(1, 2), np.array([[1, 0]])
    c1 = tuple(np.random.randn(*s) for s in [(4, 2), (3, 4), (3, 1)]), np.random.randn(3, 2)
    c2 = tuple(np.random.randn(*s) for s in [(3, 2), (1, 3), (1, 1)]), np.random.randn(1, 2)
    grads = deep.L_model_backward(AL, Y, (c1, c2), backend=backend)
    close8(grads["dA0"], [[0.0, 0.52257901], [0.0, -0.3269206],  # G W4A1 notebook
                          [0.0, -0.32070404], [0.0, -0.74079187]])
    close8(grads["dA1"], [[0.12913162, -0.44014127], [-0.14175655, 0.48317296],
                          [0.01663708, -0.05670698]])
    close8(grads["dW1"], [[0.41010002, 0.07807203, 0.13798444, 0.10502167],
                          [0.0, 0.0, 0.0, 0.0],
                          [0.05283652, 0.01005865, 0.01777766, 0.0135308]])
    close8(grads["dW2"], [[-0.39202432, -0.13325855, -0.04601089]])
    close8(grads["db1"], [[-0.22007063], [0.0], [-0.02835349]])
    close8(grads["db2"], [[0.15187861]])


def test_update_parameters_deep():
    np.random.seed(2)  # W4A1 testCases.update_parameters_test_case
    params = {k: np.random.randn(*s) for k, s in [("W1", (3, 4)), ("b1", (3, 1)),
                                                   ("W2", (1, 3)), ("b2", (1, 1))]}
    np.random.seed(3)
    grads = {k: np.random.randn(*s) for k, s in [("dW1", (3, 4)), ("db1", (3, 1)),
                                                  ("dW2", (1, 3)), ("db2", (1, 1))]}
    W1_before = params["W1"].copy()
    p = deep.update_parameters(params, grads, 0.1)
    close8(p["W1"], [[-0.59562069, -0.09991781, -2.14584584, 1.82662008],  # G W4A1 notebook
                     [-1.76569676, -0.80627147, 0.51115557, -1.18258802],
                     [-1.0535704, -0.86128581, 0.68284052, 2.20374577]])
    close8(p["b1"], [[-0.04659241], [-1.28888275], [0.53405496]])
    close8(p["W2"], [[-0.55569196, 0.0354055, 1.32964895]])
    close8(p["b2"], [[-0.84610769]])
    np.testing.assert_array_equal(params["W1"], W1_before)


# --- week 4: backends ----------------------------------------------------------------------------


def test_numpy_backend_is_the_course_formulas():
    """backend="numpy" is bitwise the course's expressions (dnn_app_utils_v3.py)."""
    rng = np.random.default_rng(0)
    A, W = rng.standard_normal((50, 209)), rng.standard_normal((20, 50))
    b = rng.standard_normal((20, 1))
    Z, _ = deep.linear_forward(A, W, b)
    np.testing.assert_array_equal(Z, W.dot(A) + b)
    dZ, m = rng.standard_normal((20, 209)), 209
    dA_prev, dW, db = deep.linear_backward(dZ, (A, W, b))
    np.testing.assert_array_equal(dW, 1.0 / m * np.dot(dZ, A.T))
    np.testing.assert_array_equal(db, 1.0 / m * np.sum(dZ, axis=1, keepdims=True))
    np.testing.assert_array_equal(dA_prev, np.dot(W.T, dZ))


@pytest.mark.parametrize("backend", ["jit", "naive"])
def test_kernel_backends_agree_with_numpy(backend):
    rng = np.random.default_rng(1)
    dims = [30, 8, 5, 1]
    X = rng.random((dims[0], 40)).T.copy().T  # F-ordered, as flatten_images returns
    Y = (rng.random((1, 40)) > 0.5).astype(np.int64)
    np.random.seed(0)
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = np.random.randn(dims[l], dims[l - 1]) / np.sqrt(dims[l - 1])
        params[f"b{l}"] = np.random.randn(dims[l], 1)
    AL_ref, caches_ref = deep.L_model_forward(X, params)
    AL, caches = deep.L_model_forward(X, params, backend=backend)
    np.testing.assert_allclose(AL, AL_ref, rtol=1e-12)
    ref = deep.L_model_backward(AL_ref, Y, caches_ref)
    grads = deep.L_model_backward(AL, Y, caches, backend=backend)
    assert sorted(grads) == sorted(ref)
    for k in ref:
        np.testing.assert_allclose(grads[k], ref[k], rtol=1e-10, atol=1e-14, err_msg=k)


def test_unknown_backend_and_activation():
    A, W, b = np.ones((2, 3)), np.ones((1, 2)), np.zeros((1, 1))
    with pytest.raises(ValueError, match="backend"):
        deep.linear_forward(A, W, b, backend="cuda")
    with pytest.raises(ValueError, match="activation"):
        deep.linear_activation_forward(A, W, b, "tanh")


# --- week 4: application -------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_layer_model_public_test(backend):
    np.random.seed(1)  # G W4A2/public_tests.py two_layer_model_test
    X, Y = np.random.randn(10, 10), np.random.randn(1, 10)
    p, costs = deep.two_layer_model(X, Y, (10, 4, 1), 0.0075, 2, backend=backend)
    close8(p["W1"], [[0.01624965, -0.00610741, -0.00528734, -0.01072836, 0.008664,
                      -0.02301103, 0.01745639, -0.00760949, 0.0031934, -0.00248971],
                     [0.01462848, -0.02057904, -0.00326745, -0.00383625, 0.01138176,
                      -0.01097596, -0.00171974, -0.00877601, 0.00043022, 0.00584423],
                     [-0.01098272, 0.01148209, 0.00902102, 0.00500958, 0.00900571,
                      -0.00683188, -0.00123491, -0.00937164, -0.00267157, 0.00532808],
                     [-0.00693465, -0.00400047, -0.00684685, -0.00844447, -0.00670397,
                      -0.00014731, -0.01113977, 0.00238846, 0.0165895, 0.00738212]])
    close8(p["b1"], [[1.10437111e-05], [1.78437869e-05], [3.74879549e-05], [-4.42988824e-05]])
    close8(p["W2"], [[-0.00200283, -0.00888593, -0.00751122, 0.01688162]])
    close8(p["b2"], [[-0.00689018]])
    close8(costs, [0.69315968])

    p, costs = deep.two_layer_model(X, Y, (10, 4, 1), 0.1, 3, backend=backend)
    close8(p["W1"], [[0.01640028, -0.00585699, -0.00542633, -0.01069332, 0.0089055,
                      -0.02290418, 0.01765388, -0.00754616, 0.00326712, -0.00239159],
                     [0.01476737, -0.02014461, -0.0040947, -0.0037457, 0.01221714,
                      -0.01054049, -0.00164111, -0.00872507, 0.00058592, 0.00615077],
                     [-0.01051621, 0.01216499, 0.009119, 0.0047126, 0.00894761,
                      -0.00672568, -0.00134921, -0.0096428, -0.00253223, 0.00580758],
                     [-0.00728552, -0.00461461, -0.00638113, -0.00831084, -0.00654136,
                      -0.00053186, -0.01052771, 0.00320719, 0.01643914, 0.00667123]])
    close8(p["b1"], [[0.00027478], [0.00034477], [0.00076016], [-0.00084497]])
    close8(p["W2"], [[-0.00358725, -0.00911995, -0.00831979, 0.01615845]])
    close8(p["b2"], [[-0.13451354]])
    close8(costs, [0.69315968])


@pytest.mark.parametrize("backend", BACKENDS)
def test_L_layer_model_public_test(backend):
    np.random.seed(1)  # G W4A2/public_tests.py L_layer_model_test
    X, Y = np.random.randn(10, 10), np.array([1, 1, 1, 1, 0, 0, 0, 1, 1, 0]).reshape(1, 10)
    p, costs = deep.L_layer_model(X, Y, (10, 5, 6, 1), 0.0075, 2, backend=backend)
    close8(p["W1"], [[0.51384638, -0.19333098, -0.16705238, -0.33923196, 0.273477,
                      -0.72775498, 0.55170785, -0.24077478, 0.10082452, -0.07882423],
                     [0.46227786, -0.65153639, -0.10192959, -0.12150984, 0.35855025,
                      -0.34787253, -0.05455001, -0.27767163, 0.01337835, 0.1843845],
                     [-0.34790478, 0.36200264, 0.28511245, 0.15868454, 0.284931,
                      -0.21645471, -0.03877896, -0.29584578, -0.08480802, 0.16760667],
                     [-0.21835973, -0.12531366, -0.21720823, -0.26764975, -0.21214946,
                      -0.00438229, -0.35316347, 0.07432144, 0.52474685, 0.23453653],
                     [-0.06060968, -0.28061463, -0.23624839, 0.53526844, 0.01597194,
                      -0.20136496, 0.06021639, 0.66414167, 0.03804666, 0.19528599]])
    close8(p["b1"], [[-2.16491028e-04], [1.50999130e-04], [8.71516045e-06], [5.57557615e-05],
                     [-2.90746349e-05]])
    close8(p["W3"], [[-0.09079199, -0.08117381, 0.07667568, 0.16665535, 0.08029575,
                      0.04805811]])
    close8(p["b3"], [[0.0013201]])
    close8(costs, [0.70723944])

    p, costs = deep.L_layer_model(X, Y, (10, 5, 6, 1), 0.02, 3, backend=backend)
    close8(p["W2"], [[0.13441428, -0.15731437, -0.51097778, -0.15627102, -0.09342034],
                     [0.2620349, 0.37492336, 0.4165605, 0.12801536, 0.39541677],
                     [-0.33694339, 0.56075022, 0.22940292, -0.1334017, 0.21863717],
                     [-0.03371679, 0.50644769, 0.67935577, 0.97680859, -0.62475679],
                     [-0.64579072, -0.22555897, 0.07142896, 0.3914475, 0.14104814],
                     [-0.90433399, -0.13691167, 0.37019673, 0.10266999, 0.34071712]])
    close8(p["b2"], [[1.18811550e-06], [-4.25510194e-04], [6.56178455e-04], [-1.42335482e-04],
                     [-2.93618626e-04], [-1.75573157e-04]])
    close8(p["W3"], [[-0.09087434, -0.07882982, 0.07821609, 0.16442826, 0.0783229, 0.04648216]])
    close8(p["b3"], [[0.00525865]])
    close8(costs, [0.70723944])


# G W4A2 notebook output of two_layer_model(train_x, train_y, (12288, 7, 1), 2500,
# print_cost=True), iterations 0, 100, ..., 2400, 2499. Its Expected Output table repeats
# 0.6930497356599888, 0.6464320953428849 and 0.04421498215868956. Digits past the ~13th depend
# on the BLAS's summation order, hence rtol=1e-10 below.
TWO_LAYER_COSTS = {
    0: 0.693049735659989, 100: 0.6464320953428849, 200: 0.6325140647912678,
    300: 0.6015024920354665, 400: 0.5601966311605748, 500: 0.5158304772764731,
    600: 0.47549013139433266, 700: 0.43391631512257495, 800: 0.40079775362038833,
    900: 0.3580705011323798, 1000: 0.33942815383664127, 1100: 0.30527536361962665,
    1200: 0.2749137728213017, 1300: 0.24681768210614843, 1400: 0.1985073503746611,
    1500: 0.17448318112556652, 1600: 0.17080762978097747, 1700: 0.11306524562164694,
    1800: 0.09629426845937154, 1900: 0.08342617959726872, 2000: 0.07439078704319087,
    2100: 0.06630748132267937, 2200: 0.059193295010381765, 2300: 0.05336140348560562,
    2400: 0.04855478562877021, 2499: 0.0442149821586896,
}

# L_layer_model(train_x, train_y, [12288, 20, 7, 5, 1], num_iterations=2500, print_cost=True).
# The course's Expected Output (G W4A2 notebook): 0.771749 (0), 0.672053 (100), and 0.088439
# (2499, below); A "Deep Neural Network - Application v8.ipynb" Expected Output: 0.092878 (2400).
# The other values are a third-party run of the same notebook,
# daniellaah/deeplearning.ai-step-by-step-guide: 01-Neural-Networks-and-Deep-Learning/week4/
# README.md, which agrees with all four. (G's own printed run of this cell, 0.6950464961800915
# at iteration 0, is not the course's: its Expected Output says 0.771749, which is what
# dnn_app_utils_v3's initialize_parameters_deep gives.)
L_LAYER_COSTS = {
    0: 0.771749, 100: 0.672053, 200: 0.648263, 300: 0.611507, 400: 0.567047, 500: 0.540138,
    600: 0.527930, 700: 0.465477, 800: 0.369126, 900: 0.391747, 1000: 0.315187, 1100: 0.272700,
    1200: 0.237419, 1300: 0.199601, 1400: 0.189263, 1500: 0.161189, 1600: 0.148214,
    1700: 0.137775, 1800: 0.129740, 1900: 0.121225, 2000: 0.113821, 2100: 0.107839,
    2200: 0.102855, 2300: 0.100897, 2400: 0.092878,
}
# G W4A2 Expected Output for iteration 2499, written there truncated (not rounded) to 6 decimals.
L_LAYER_LAST_COST = 0.088439


def printed_accuracy(text):
    return float(re.fullmatch(r"Accuracy: (\S+)\n", text).group(1))


@pytest.mark.parametrize("backend", ["numpy", "jit"])
def test_two_layer_model_cat_first_iterations(cat, capsys, backend):
    train_x, train_y, _, _ = cat
    _, costs = deep.two_layer_model(train_x, train_y, (12288, 7, 1), num_iterations=101,
                                    print_cost=True, backend=backend)
    printed = printed_costs(capsys.readouterr().out)
    assert sorted(printed) == [0, 100]
    for i in (0, 100):
        assert printed[i] == pytest.approx(TWO_LAYER_COSTS[i], rel=1e-12)
        assert costs[i // 100] == pytest.approx(TWO_LAYER_COSTS[i], rel=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "jit"])
def test_L_layer_model_cat_first_iterations(cat, capsys, backend):
    train_x, train_y, _, _ = cat
    _, costs = deep.L_layer_model(train_x, train_y, [12288, 20, 7, 5, 1], num_iterations=101,
                                  print_cost=True, backend=backend)
    printed = printed_costs(capsys.readouterr().out)
    assert sorted(printed) == [0, 100]
    close6([printed[0], printed[100]], [L_LAYER_COSTS[0], L_LAYER_COSTS[100]])
    close6(costs, [L_LAYER_COSTS[0], L_LAYER_COSTS[100]])


# The cat runs are stable gradient descent: under OpenBLAS's SkylakeX, Haswell and Sandybridge
# kernels (one Intel Xeon, 1 thread) their recorded costs agree to 9e-14 relative after 2500
# iterations (numpy and jit backends), and every train and test prediction is the same. So
# the 16 published digits of the two-layer costs are asserted to 1e-10 (1000x that drift) and
# the accuracies exactly.
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "jit"])  # "naive": pure Python loops, hours here
def test_two_layer_model_cat_run(cat, capsys, backend):
    train_x, train_y, test_x, test_y = cat
    parameters, costs = deep.two_layer_model(train_x, train_y, (12288, 7, 1),
                                             num_iterations=2500, print_cost=True,
                                             backend=backend)
    printed = printed_costs(capsys.readouterr().out)
    assert sorted(printed) == sorted(TWO_LAYER_COSTS)
    for i, published in TWO_LAYER_COSTS.items():
        assert printed[i] == pytest.approx(published, rel=1e-10), i
    np.testing.assert_allclose(costs, [TWO_LAYER_COSTS[i] for i in range(0, 2500, 100)], rtol=1e-10)
    deep.predict(train_x, train_y, parameters, backend=backend)
    train_acc = printed_accuracy(capsys.readouterr().out)
    deep.predict(test_x, test_y, parameters, backend=backend)
    test_acc = printed_accuracy(capsys.readouterr().out)
    assert train_acc == pytest.approx(0.9999999999999998, rel=1e-12)  # G W4A2 Expected Output
    assert test_acc == pytest.approx(0.72, rel=1e-12)  # G W4A2 Expected Output


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "jit"])  # "naive": pure Python loops, hours here
def test_L_layer_model_cat_run(cat, capsys, backend):
    train_x, train_y, test_x, test_y = cat
    parameters, costs = deep.L_layer_model(train_x, train_y, [12288, 20, 7, 5, 1],
                                           num_iterations=2500, print_cost=True,
                                           backend=backend)
    printed = printed_costs(capsys.readouterr().out)
    assert sorted(printed) == [*sorted(L_LAYER_COSTS), 2499]
    published = [L_LAYER_COSTS[i] for i in sorted(L_LAYER_COSTS)]
    close6([printed[i] for i in sorted(L_LAYER_COSTS)], published)
    close6(costs, published)
    assert 0 <= printed[2499] - L_LAYER_LAST_COST < 1e-6
    pred_train = deep.predict(train_x, train_y, parameters, backend=backend)
    train_acc = printed_accuracy(capsys.readouterr().out)
    deep.predict(test_x, test_y, parameters, backend=backend)
    test_acc = printed_accuracy(capsys.readouterr().out)
    assert train_acc == pytest.approx(0.985645933014, abs=5e-13)  # G W4A2 Expected Output
    assert test_acc == pytest.approx(0.8, rel=1e-12)  # G W4A2 Expected Output
    assert pred_train.shape == (1, 209) and set(np.unique(pred_train)) <= {0.0, 1.0}
