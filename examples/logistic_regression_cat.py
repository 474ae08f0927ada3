"""Week 2: logistic regression on the cat pictures, the course's way and fastdnn's way.

The assignment "Logistic Regression with a Neural Network mindset" trains
``model(train_x, train_y, test_x, test_y, num_iterations=2000, learning_rate=0.005)`` from zero
weights. This script runs

1. the course's own code, :func:`fastdnn.course.logistic.model` (same names, same arithmetic);
2. the same model as a one-layer network, ``fastdnn.DNN([12288, 1], init="zeros")``: a
   single LINEAR -> SIGMOID layer *is* logistic regression (``W1`` is the course's ``w.T``,
   ``b1`` its ``b``), trained with fastdnn on each backend asked for;

and prints one table: the costs at iterations 0, 1000 and 1900, the train and test accuracy,
and the training time, beside the values the course published.

Run from the repository root::

    python examples/logistic_regression_cat.py
    python examples/logistic_regression_cat.py --data /path/to/data --backends jit --plot figs

The cat files (``train_catvnoncat.h5``, ``test_catvnoncat.h5``) are read from ``--data``,
else ``$FASTDNN_DATA``, else ``../shared/data``. The ``naive`` backend is not offered here:
its pure-Python loops would take hours on 12288-pixel images.
"""

from __future__ import annotations

import _common as c

import fastdnn
from fastdnn.course import logistic

LEARNING_RATE = 0.005
NUM_ITERATIONS = 2000

# What the course published for this run (the same values and sources as tests/test_course.py):
# the costs are the notebook's printed output ("%f", 6 decimals) in Kulbear/deep-learning-coursera
# "Logistic Regression with a Neural Network mindset.ipynb"; the first cost and the accuracies
# are the assignment's Expected Output table (amanchadha/coursera-deep-learning-specialization,
# C1 week 2 "Logistic Regression with a Neural Network mindset", and Kulbear).
COURSE_COSTS = {0: "0.693147", 1000: "0.214820", 1900: "0.140872"}
COURSE_TRAIN_ACCURACY = "99.04306220095694"  # "train accuracy: 99.04306220095694 %"
COURSE_TEST_ACCURACY = "70.0"  # "test accuracy: 70.0 %"


def run_course(train_x, train_y, test_x, test_y):
    """The course's ``model``: returns its costs (every 100 iterations), accuracies, time."""
    d, seconds = c.timed(
        logistic.model,
        train_x,
        train_y,
        test_x,
        test_y,
        num_iterations=NUM_ITERATIONS,
        learning_rate=LEARNING_RATE,
    )
    return {
        "costs": {100 * i: float(cost) for i, cost in enumerate(d["costs"])},
        "train": c.accuracy(d["Y_prediction_train"], train_y),
        "test": c.accuracy(d["Y_prediction_test"], test_y),
        "seconds": seconds,
        "w": d["w"],
        "b": d["b"],
    }


def run_dnn(backend, train_x, train_y, test_x, test_y):
    """Logistic regression as ``DNN([12288, 1])`` from zero weights, on one backend."""
    n_x = train_x.shape[0]

    def make():
        return fastdnn.DNN([n_x, 1], init="zeros", backend=backend)

    c.warm_up(make, train_x, train_y, LEARNING_RATE)
    net = make()
    history, seconds = c.timed(
        net.fit,
        train_x,
        train_y,
        learning_rate=LEARNING_RATE,
        num_iterations=NUM_ITERATIONS,
        cost_every=100,
    )
    return {
        "costs": dict(zip(history.iterations, history.costs, strict=True)),
        "train": 100.0 * net.score(train_x, train_y),
        "test": 100.0 * net.score(test_x, test_y),
        "seconds": seconds,
        "net": net,
        "history": history,
    }


def main(argv=None) -> int:
    parser = c.make_parser(__doc__.splitlines()[0], backends=("jit", "numpy"))
    args = parser.parse_args(argv)
    backends = c.parse_backends(parser, args.backends, allowed=("jit", "numpy"))
    c.apply_threads(parser, args.threads)
    try:
        figures = c.plot_dir(args.plot)
        train_x, train_y, test_x, test_y, classes = c.load_cat(args.data)
    except c.MissingDataError as exc:
        return c.fail(str(exc))

    print(c.machine_note())
    print(
        f"cat data: train_x {train_x.shape}, test_x {test_x.shape}; "
        f"{NUM_ITERATIONS} iterations, learning rate {LEARNING_RATE}"
    )

    course = run_course(train_x, train_y, test_x, test_y)
    dnn = {b: run_dnn(b, train_x, train_y, test_x, test_y) for b in backends}
    runs = [course] + [dnn[b] for b in backends]
    for r in runs[1:]:  # how close each fastdnn run is to the course's
        r["cost_diff"] = max(abs(r["costs"][i] - course["costs"][i]) for i in course["costs"])
        W1, b1 = r["net"].params["W1"], r["net"].params["b1"]
        r["param_diff"] = max(abs(W1 - course["w"].T).max(), abs(b1[0, 0] - course["b"]))

    headers = ["quantity", "course value", "fastdnn.course"]
    headers += [f"fastdnn.DNN ({b})" for b in backends]
    rows = []
    for i, published in COURSE_COSTS.items():
        rows.append(
            [f"cost at iteration {i}", published] + [c.fmt_cost(r["costs"][i]) for r in runs]
        )
    rows.append(
        ["train accuracy", f"{float(COURSE_TRAIN_ACCURACY):.2f} %"]
        + [c.fmt_pct(r["train"]) for r in runs]
    )
    rows.append(
        ["test accuracy", f"{float(COURSE_TEST_ACCURACY):.2f} %"]
        + [c.fmt_pct(r["test"]) for r in runs]
    )
    rows.append(
        ["max |cost - fastdnn.course cost| (20 costs)", "", "0"]
        + [c.fmt_diff(r["cost_diff"]) for r in runs[1:]]
    )
    rows.append(
        ["max |W1 - w.T|, |b1 - b| after training", "", "0"]
        + [c.fmt_diff(r["param_diff"]) for r in runs[1:]]
    )
    rows.append(["training time", ""] + [c.fmt_seconds(r["seconds"]) for r in runs])
    c.print_table(headers, rows, title="Logistic regression on the cat pictures (week 2)")

    every = all(c.agrees(r["costs"][i], p) for r in runs for i, p in COURSE_COSTS.items())
    acc = all(
        abs(r["train"] - float(COURSE_TRAIN_ACCURACY)) < 1e-9
        and abs(r["test"] - float(COURSE_TEST_ACCURACY)) < 1e-9
        for r in runs
    )
    print(f"\nevery cost equals the course's to its 6 printed decimals: {'yes' if every else 'NO'}")
    print(f"every accuracy equals the course's: {'yes' if acc else 'NO'}")

    if figures:
        from fastdnn.plot import plot_costs, plot_mislabeled

        net = dnn[backends[0]]["net"]
        saved = [
            plot_costs(
                dnn[backends[0]]["history"],
                f"{figures}/logistic_costs.png",
                learning_rate=LEARNING_RATE,
            ),
            plot_mislabeled(
                test_x, test_y, net.predict(test_x), classes, f"{figures}/logistic_mislabeled.png"
            ),
        ]
        print("figures: " + ", ".join(str(s) for s in saved))
    return 0 if every and acc else 1


if __name__ == "__main__":
    raise SystemExit(main())
