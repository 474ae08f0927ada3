"""fastdnn's scikit-learn estimators against ``MLPClassifier`` / ``MLPRegressor``: test score
and fit time at the same configuration, on data that scikit-learn ships.

Usage::

    python bench/compare_sklearn.py                 # the table (a few minutes on 2 cores)
    python bench/compare_sklearn.py --quick         # fewer repeats and epochs: a smoke run
    python bench/compare_sklearn.py --adam-overhead # Adam against plain gradient descent, W3/W4

Data sets: breast cancer (binary), digits (binary: digit >= 5; and 10 classes), wine and iris
(3 classes), diabetes (regression), and ``make_classification`` with 40,000 rows (binary and
5 classes). Each is split 75/25 (stratified for classes), features standardised on the
training part; the diabetes target is standardised too, for both (``normalize_y=False``), so
both fit the same problem.

Configurations, the same for both estimators (one hidden layer of 100 relu units,
``batch_size="auto"`` i.e. 200):

- ``sgd``: ``solver="sgd"``, ``momentum=0.9`` (scikit-learn: ``nesterovs_momentum=False``,
  fastdnn has no Nesterov), ``learning_rate_init=0.01``, ``alpha=0``;
- ``adam``: ``solver="adam"``, ``learning_rate_init=0.001``, ``alpha=0``;
- ``adam+L2+ES``: ``adam`` with ``alpha=1e-3``, ``early_stopping=True`` (10 % held out,
  ``n_iter_no_change=10``, ``tol=1e-4``).

Without early stopping scikit-learn also stops when the training loss stalls; it is given
``n_iter_no_change`` larger than ``max_iter`` so that both run every epoch. With early
stopping each stops by its own rule (fastdnn: validation loss; scikit-learn: validation
score), so their epochs may differ: the table says how many each ran.

Timing: BLAS limited to one thread for both (threadpoolctl); the contenders alternate, with
an idle gap between fits, and the first fit of each is untimed (Numba's compile or cache
load, scikit-learn's imports). Each repeat uses another ``random_state`` (the same for both);
scores are means over the repeats, times medians.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import warnings

import numpy as np

IDLE_GAP_S = 0.2

CONFIGS = {
    "sgd": {"solver": "sgd", "momentum": 0.9, "learning_rate_init": 0.01, "alpha": 0.0},
    "adam": {"solver": "adam", "learning_rate_init": 0.001, "alpha": 0.0},
    "adam+L2+ES": {"solver": "adam", "learning_rate_init": 0.001, "alpha": 1e-3,
                   "early_stopping": True, "validation_fraction": 0.1,
                   "n_iter_no_change": 10, "tol": 1e-4},
}  # fmt: skip


def datasets(big_rows: int) -> dict:
    """``name -> (X, y, task)`` with task "classification" or "regression"."""
    from sklearn import datasets as d

    digits = d.load_digits()
    out = {
        "breast cancer": (*d.load_breast_cancer(return_X_y=True), "classification"),
        "digits (>= 5)": (digits.data, (digits.target >= 5).astype(int), "classification"),
        "digits (10)": (digits.data, digits.target, "classification"),
        "wine (3)": (*d.load_wine(return_X_y=True), "classification"),
        "iris (3)": (*d.load_iris(return_X_y=True), "classification"),
        "diabetes": (*d.load_diabetes(return_X_y=True), "regression"),
    }
    for n_classes in (2, 5):
        X, y = d.make_classification(n_samples=big_rows, n_features=20, n_informative=10,
                                     n_classes=n_classes, random_state=0)  # fmt: skip
        out[f"make_classification {big_rows // 1000}k ({n_classes})"] = (X, y, "classification")
    return out


def split(X, y, task):
    """75/25, stratified for classes; features (and a regression target) standardised."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    stratify = y if task == "classification" else None
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0,
                                          stratify=stratify)  # fmt: skip
    scaler = StandardScaler().fit(Xtr)
    Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    if task == "regression":
        mean, std = ytr.mean(), ytr.std()
        ytr, yte = (ytr - mean) / std, (yte - mean) / std
    return Xtr, Xte, ytr, yte


def estimators(task: str, config: dict, max_iter: int, seed: int):
    """``(fastdnn estimator, scikit-learn estimator)`` at one configuration."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from fastdnn.sklearn import DNNClassifier, DNNRegressor

    common = {"hidden_layer_sizes": (100,), "batch_size": "auto", "max_iter": max_iter,
              "random_state": seed, **config}  # fmt: skip
    mlp_only = {"nesterovs_momentum": False}
    if not config.get("early_stopping"):
        mlp_only["n_iter_no_change"] = max_iter + 1  # run every epoch, as fastdnn does
    if task == "regression":
        return DNNRegressor(normalize_y=False, **common), MLPRegressor(**common, **mlp_only)
    return DNNClassifier(**common), MLPClassifier(**common, **mlp_only)


def _fit_timed(estimator, X, y) -> float:
    t0 = time.perf_counter()
    estimator.fit(X, y)
    return time.perf_counter() - t0


def compare(data, configs, repeats: int, max_iter: dict, out=sys.stdout) -> list[dict]:
    """Fit both estimators ``repeats`` times per (data set, configuration), interleaved."""
    from sklearn.exceptions import ConvergenceWarning

    rows = []
    for name, (X, y, task) in data.items():
        Xtr, Xte, ytr, yte = split(X, y, task)
        epochs = max_iter[name]
        for cname, config in configs.items():
            times = {"fastdnn": [], "sklearn": []}
            scores = {"fastdnn": [], "sklearn": []}
            iters = {"fastdnn": [], "sklearn": []}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", RuntimeWarning)  # fastdnn's "not learning"
                for est in estimators(task, config, epochs, seed=0):
                    est.fit(Xtr, ytr)  # untimed: compile / cache load, imports
                for rep in range(repeats):
                    fitted = estimators(task, config, epochs, seed=rep)
                    pair = dict(zip(("fastdnn", "sklearn"), fitted, strict=True))
                    order = list(pair) if rep % 2 == 0 else list(pair)[::-1]
                    for who in order:
                        time.sleep(IDLE_GAP_S)
                        times[who].append(_fit_timed(pair[who], Xtr, ytr))
                        scores[who].append(pair[who].score(Xte, yte))
                        iters[who].append(pair[who].n_iter_)
            row = {
                "data": name, "config": cname, "n_train": len(ytr),
                "score": {k: float(np.mean(v)) for k, v in scores.items()},
                "time": {k: statistics.median(v) for k, v in times.items()},
                "epochs": {k: statistics.median(v) for k, v in iters.items()},
            }  # fmt: skip
            rows.append(row)
            out.write(_line(row) + "\n")
            out.flush()
    return rows


def _line(row: dict) -> str:
    s, t, e = row["score"], row["time"], row["epochs"]
    return (
        f"| {row['data']} | {row['n_train']} | {row['config']} | {s['sklearn']:.3f} | "
        f"{s['fastdnn']:.3f} | {s['fastdnn'] - s['sklearn']:+.3f} | {e['sklearn']:g} / "
        f"{e['fastdnn']:g} | {t['sklearn'] * 1e3:.0f} ms | {t['fastdnn'] * 1e3:.1f} ms | "
        f"{t['sklearn'] / t['fastdnn']:.1f}x |"
    )


HEADER = (
    "| data | train rows | config | MLP score | fastdnn score | diff | epochs MLP / fastdnn "
    "| MLP fit | fastdnn fit | speed-up |\n|---|---|---|---|---|---|---|---|---|---|"
)


def adam_overhead(repeats: int, out=sys.stdout) -> None:
    """Seconds per step of ``optimizer="adam"`` against ``"gd"`` on W3 and W4 (jit)."""
    from fastdnn import DNN
    from fastdnn.bench import WORKLOADS, workload_data, workload_params

    out.write("| workload | dtype | gd / step | adam / step | adam / gd |\n|---|---|---|---|---|\n")
    for key in ("W3", "W4"):
        w = WORKLOADS[key]
        for dtype in ("float64", "float32"):
            X, Y = workload_data(w, dtype)
            params = workload_params(w, dtype)
            net = DNN(w.layer_dims, hidden=w.hidden, dtype=dtype, seed=w.seed)
            steps = w.shortened * (4 if key == "W3" else 2)

            def fit(optimizer, n, net=net, params=params, X=X, Y=Y, w=w):
                net.set_params(params)
                t0 = time.perf_counter()
                net.fit(X, Y, w.learning_rate, num_iterations=n, batch_size=w.batch_size,
                        cost_every=n, optimizer=optimizer)  # fmt: skip
                return (time.perf_counter() - t0) / n

            per_step = {"gd": [], "adam": []}
            for optimizer in per_step:
                fit(optimizer, 2)  # compile or load, allocate
            for rep in range(repeats):
                for optimizer in ["gd", "adam"] if rep % 2 == 0 else ["adam", "gd"]:
                    time.sleep(IDLE_GAP_S)
                    per_step[optimizer].append(fit(optimizer, steps))
            gd, adam = (statistics.median(per_step[o]) for o in ("gd", "adam"))
            out.write(f"| {w.id} | {dtype} | {gd * 1e6:.0f} us | {adam * 1e6:.0f} us | "
                      f"{adam / gd:.3f} |\n")  # fmt: skip
            out.flush()
            del X, Y


def footer() -> str:
    import numba
    import sklearn
    from threadpoolctl import threadpool_info

    from fastdnn import __version__
    from fastdnn._blas import cpu_name

    blas = sorted({f"{i['internal_api']} {i['version']} ({i['num_threads']} thread)"
                   for i in threadpool_info() if i["user_api"] == "blas"})  # fmt: skip
    return (
        f"Machine: {cpu_name()}, {platform.machine()}; Python {platform.python_version()}, "
        f"fastdnn {__version__}, scikit-learn {sklearn.__version__}, NumPy {np.__version__}, "
        f"Numba {numba.__version__}; BLAS: {', '.join(blas)}. "
        f"Command: `python bench/compare_sklearn.py {' '.join(sys.argv[1:])}`"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed fits of each (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="2 repeats, fewer epochs and rows: a check that it runs")  # fmt: skip
    parser.add_argument("--adam-overhead", action="store_true",
                        help="time Adam against gradient descent on W3 and W4 instead")  # fmt: skip
    parser.add_argument("--only", default=None,
                        help="comma-separated substrings: only the data sets whose names "
                        "contain one of them")  # fmt: skip
    args = parser.parse_args(argv)
    from fastdnn import set_num_threads

    set_num_threads(1)  # threadpoolctl: NumPy's and SciPy's BLAS, for both contenders
    if args.adam_overhead:
        adam_overhead(max(args.repeats, 5))
        print(footer())
        return 0
    repeats = 2 if args.quick else args.repeats
    big_rows = 4_000 if args.quick else 40_000
    data = datasets(big_rows)
    if args.only:
        wanted = [w.strip() for w in args.only.split(",")]
        data = {k: v for k, v in data.items() if any(w in k for w in wanted)}
    max_iter = {name: (20 if args.quick else (50 if "make_classification" in name else 200))
                for name in data}  # fmt: skip
    epochs = "20 epochs (--quick)" if args.quick else "200 epochs (make_classification: 50)"
    print(
        f"max_iter: {epochs}; {repeats} repeats; scores on the "
        "held-out 25 % (accuracy, R^2 for diabetes), means; fit times medians"
    )
    print(HEADER)
    compare(data, CONFIGS, repeats, max_iter)
    print(footer())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
