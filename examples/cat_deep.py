"""Week 4: the 2-layer and 4-layer cat classifiers, the course's way and fastdnn's way.

The assignment "Deep Neural Network - Application" trains two networks on the cat pictures,
2500 iterations at learning rate 0.0075:

* ``two_layer_model``: LINEAR -> RELU -> LINEAR -> SIGMOID, layers (12288, 7, 1);
* ``L_layer_model``: [LINEAR -> RELU] x 3 -> LINEAR -> SIGMOID, layers (12288, 20, 7, 5, 1).

For each, this script runs

1. the course's own code, :func:`fastdnn.course.deep.two_layer_model` /
   :func:`fastdnn.course.deep.L_layer_model`: with ``backend="numpy"`` every operation is the
   course's NumPy expression, so this column is the course's arithmetic; with
   ``backend="jit"`` the same functions do their matrix products on fastdnn's kernels;
2. the same network as ``fastdnn.DNN(layers, hidden="relu")``, started from the course's very
   initial weights (the course's own initializers with their seeds,
   ``fastdnn.course.deep.initialize_parameters`` and ``initialize_parameters_deep_app``, handed
   over with ``DNN.from_params``), trained with fastdnn on each backend asked for.

It prints one table per network: the costs at iterations 0, 100, 2400 and 2499 and the train
and test accuracy beside the values the course published, how far each run is from the
course's arithmetic over all 26 recorded costs and the final weights, and the training time.
fastdnn.DNN computes the same gradient descent in a different order (the cost from the
logits, ``dZ = AL - Y`` directly, fused passes), so its costs agree with the course's to
rounding: about 12 significant digits, more than the course ever printed.

Run from the repository root::

    python examples/cat_deep.py
    python examples/cat_deep.py --models 4 --backends jit --plot figs
    python examples/cat_deep.py --course-backends numpy,jit   # the course's code on fastdnn kernels

The cat files (``train_catvnoncat.h5``, ``test_catvnoncat.h5``) are read from ``--data``,
else ``$FASTDNN_DATA``, else ``../shared/data``. The ``naive`` backend is not offered here:
its pure-Python loops would take hours on 12288-pixel images.
"""

from __future__ import annotations

import _common as c

import fastdnn
from fastdnn.course import deep

LEARNING_RATE = 0.0075
NUM_ITERATIONS = 2500
RECORDED = list(range(0, NUM_ITERATIONS, 100)) + [NUM_ITERATIONS - 1]  # what the course prints


# The two networks, with what the course published for each (the same values and sources as
# tests/test_course.py). 2-layer: the output of two_layer_model(..., print_cost=True) in the
# current notebook (greyhatguy007/deep-learning-specialization, C1 week4/W4A2), and its Expected
# Output accuracies. 4-layer: the W4A2 Expected Output (iterations 0, 100, 2499 and the
# accuracies) and, for iteration 2400, the Expected Output of the earlier "Deep Neural Network -
# Application v8.ipynb" (amanchadha/coursera-deep-learning-specialization).
MODELS = {
    "2": {
        "title": "2-layer model (12288, 7, 1): two_layer_model",
        "layers": (12288, 7, 1),
        "course_fn": deep.two_layer_model,
        "initial": lambda: deep.initialize_parameters(12288, 7, 1),  # seeds 1 itself
        "costs": {
            0: "0.693049735659989",
            100: "0.6464320953428849",
            2400: "0.04855478562877021",
            2499: "0.0442149821586896",
        },
        "train": 0.9999999999999998,
        "test": 0.72,
    },
    "4": {
        "title": "4-layer model (12288, 20, 7, 5, 1): L_layer_model",
        "layers": (12288, 20, 7, 5, 1),
        "course_fn": deep.L_layer_model,
        # The application's initializer (seed 1, randn / sqrt(n_prev)), which L_layer_model
        # starts from; the step-by-step initialize_parameters_deep (seed 3, * 0.01) is not it.
        "initial": lambda: deep.initialize_parameters_deep_app((12288, 20, 7, 5, 1)),
        "costs": {0: "0.771749", 100: "0.672053", 2400: "0.092878", 2499: "0.088439"},
        "train": 0.985645933014,
        "test": 0.8,
    },
}
# W4A2's Expected Output writes this one truncated to 6 decimals, not rounded.
TRUNCATED = {("4", 2499)}


def run_course(spec, backend, train_x, train_y, test_x, test_y):
    """The course's model function on one backend: costs, accuracies, time, parameters."""
    fn = spec["course_fn"]
    c.captured(fn, train_x, train_y, spec["layers"], num_iterations=1, backend=backend)  # warm-up

    def train():  # print_cost=True: the last iteration's cost is only printed, not returned
        return c.captured(
            fn,
            train_x,
            train_y,
            spec["layers"],
            learning_rate=LEARNING_RATE,
            num_iterations=NUM_ITERATIONS,
            print_cost=True,
            backend=backend,
        )

    ((params, costs), printed), seconds = c.timed(train)
    recorded = {100 * i: float(cost) for i, cost in enumerate(costs)}
    # The printed line has all the digits: "Cost after iteration 2499: 0.0442149821586896".
    recorded[NUM_ITERATIONS - 1] = c.printed_costs(printed)[NUM_ITERATIONS - 1]
    # deep.predict prints "Accuracy: ..." as the course's does; the returned labels suffice.
    pred_train, _ = c.captured(deep.predict, train_x, train_y, params, backend=backend)
    pred_test, _ = c.captured(deep.predict, test_x, test_y, params, backend=backend)
    return {
        "costs": recorded,
        "train": c.accuracy(pred_train, train_y),
        "test": c.accuracy(pred_test, test_y),
        "seconds": seconds,
        "params": params,
    }


def run_dnn(spec, backend, train_x, train_y, test_x, test_y):
    """The same network as a ``fastdnn.DNN``, from the course's initial weights."""
    start = spec["initial"]()

    def make():
        return fastdnn.DNN.from_params(start, hidden="relu", output="sigmoid", backend=backend)

    c.warm_up(make, train_x, train_y, LEARNING_RATE)
    net = make()

    def train():
        # fit records the cost every 100 steps (0, ..., 2400). For the course's last printed
        # cost, iteration 2499, stop one step short and take the final step recording it: a
        # second fit continues where the first stopped, numbering included.
        first = net.fit(
            train_x,
            train_y,
            learning_rate=LEARNING_RATE,
            num_iterations=NUM_ITERATIONS - 1,
            cost_every=100,
        )
        last = net.fit(
            train_x, train_y, learning_rate=LEARNING_RATE, num_iterations=1, cost_every=1
        )
        return first, last

    (first, last), seconds = c.timed(train)
    costs = dict(zip(first.iterations + last.iterations, first.costs + last.costs, strict=True))
    return {
        "costs": costs,
        "train": 100.0 * net.score(train_x, train_y),
        "test": 100.0 * net.score(test_x, test_y),
        "seconds": seconds,
        "net": net,
        "params": net.params,
        "history": first,
    }


def published_ok(model, i, value, published):
    if (model, i) in TRUNCATED:
        return 0 <= value - float(published) < 1e-6
    return c.agrees(value, published)


def report(model, spec, runs, labels):
    """Print the table for one network; return whether every run matches the course."""
    reference = runs[0]  # fastdnn.course.deep on "numpy": the course's arithmetic
    headers = ["quantity", "course value"] + labels
    rows = []
    for i, published in spec["costs"].items():
        shown = published + (" (truncated)" if (model, i) in TRUNCATED else "")
        rows.append([f"cost at iteration {i}", shown] + [c.fmt_cost(r["costs"][i]) for r in runs])
    rows.append(
        ["train accuracy", c.fmt_pct(100 * spec["train"])] + [c.fmt_pct(r["train"]) for r in runs]
    )
    rows.append(
        ["test accuracy", c.fmt_pct(100 * spec["test"])] + [c.fmt_pct(r["test"]) for r in runs]
    )
    rows.append(
        [f"max |cost - course arithmetic| ({len(RECORDED)} costs)", ""]
        + [
            c.fmt_diff(max(abs(r["costs"][i] - reference["costs"][i]) for i in RECORDED))
            for r in runs
        ]
    )
    rows.append(
        ["max |param - course arithmetic| at the end", ""]
        + [c.fmt_diff(c.max_param_difference(r["params"], reference["params"])) for r in runs]
    )
    rows.append(["training time", ""] + [c.fmt_seconds(r["seconds"]) for r in runs])
    c.print_table(headers, rows, title=f"{spec['title']}, {NUM_ITERATIONS} iterations")

    costs_ok = all(
        published_ok(model, i, r["costs"][i], p) for r in runs for i, p in spec["costs"].items()
    )
    acc_ok = all(
        abs(r["train"] - 100 * spec["train"]) < 1e-9 and abs(r["test"] - 100 * spec["test"]) < 1e-9
        for r in runs
    )
    print(
        f"\nevery cost equals the course's to the digits it published: "
        f"{'yes' if costs_ok else 'NO'}; every accuracy equals the course's: "
        f"{'yes' if acc_ok else 'NO'}"
    )
    return costs_ok and acc_ok


def main(argv=None) -> int:
    parser = c.make_parser(__doc__.splitlines()[0], backends=("jit", "numpy"))
    parser.add_argument(
        "--models",
        metavar="LIST",
        default="2,4",
        help="which networks: 2 (two_layer_model), 4 (L_layer_model), or 2,4 (default)",
    )
    parser.add_argument(
        "--course-backends",
        metavar="LIST",
        default="numpy",
        help="backends to run fastdnn.course.deep's models on: numpy (the course's own "
        "arithmetic, always run: every other column is compared with it) and optionally jit "
        "(default: numpy; numpy,jit adds about a minute)",
    )
    args = parser.parse_args(argv)
    backends = c.parse_backends(parser, args.backends, allowed=("jit", "numpy"))
    course_backends = c.parse_backends(parser, args.course_backends, allowed=("numpy", "jit"))
    if course_backends[0] != "numpy":  # the first column is the reference: the course's own
        course_backends = ["numpy"] + [b for b in course_backends if b != "numpy"]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models or any(m not in MODELS for m in models):
        parser.error("--models: give 2, 4 or 2,4")
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

    labels = [f"fastdnn.course.deep ({b})" for b in course_backends]
    labels += [f"fastdnn.DNN ({b})" for b in backends]
    all_ok, saved = True, []
    for model in models:
        spec = MODELS[model]
        runs = [run_course(spec, b, train_x, train_y, test_x, test_y) for b in course_backends]
        dnn = {b: run_dnn(spec, b, train_x, train_y, test_x, test_y) for b in backends}
        all_ok &= report(model, spec, runs + [dnn[b] for b in backends], labels)
        if figures:
            from fastdnn.plot import plot_costs, plot_mislabeled

            first = dnn[backends[0]]
            saved.append(
                plot_costs(
                    first["history"],
                    f"{figures}/cat_{model}layer_costs.png",
                    learning_rate=LEARNING_RATE,
                )
            )
            saved.append(
                plot_mislabeled(
                    test_x,
                    test_y,
                    first["net"].predict(test_x),
                    classes,
                    f"{figures}/cat_{model}layer_mislabeled.png",
                )
            )
    if saved:
        print("figures: " + ", ".join(str(s) for s in saved))
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
