"""``fastdnn demo``: the course's planar flower net, trained and scored."""

from __future__ import annotations

import time

from ._checks import _check_memory, _writable_path
from ._messages import UserError, _blas_threads, _diverged


def cmd_demo(args) -> int:
    """Train the course's planar flower net (2-4-1, tanh) and report its accuracy."""
    import numpy as np

    from .. import DNN
    from ..datasets import load_planar_dataset

    if args.plot:  # before training: a path it cannot write is a one-line error now
        _writable_path(args.plot, "--plot")
        try:
            from ..plot import check_figure_path

            check_figure_path(args.plot)
        except ImportError:
            pass  # said after training, which goes on without the figure
        except ValueError as exc:
            raise UserError(f"--plot: {exc}") from None
    _check_memory(
        [2, args.hidden_units, 1],
        400,
        "float64",
        None,
        f"--hidden-units {args.hidden_units}",
        "use fewer --hidden-units",
    )
    X, Y = load_planar_dataset()
    print(f"planar flower data: X {X.shape}, Y {Y.shape} (the course's week-3 data set)")
    from .. import DivergenceError

    def planar_net():
        return DNN(
            [2, args.hidden_units, 1],
            hidden="tanh",
            init="course",
            backend=args.backend,
            seed=args.seed,
        )

    net = planar_net()
    if args.backend == "jit":
        # A first run compiles. One step of a spare net compiles what this run uses, and no
        # more (fastdnn.warmup compiles every path: mini-batches, the Gram path, ... twice the
        # wait for a new user's first command), so the time below is training's.
        t0 = time.perf_counter()
        spare = planar_net()
        try:
            warm = spare.fit(X, Y, learning_rate=args.learning_rate, num_iterations=1)
        except DivergenceError:
            pass  # the real fit reports it
        else:
            if warm.stop_reason == "interrupted":  # Ctrl-C while compiling: stop here
                raise KeyboardInterrupt
        spare.score(X, Y)
        seconds = time.perf_counter() - t0
        if seconds > 1.0:  # later runs load Numba's cache
            print(f"compiled the jit kernels in {seconds:.1f} s (once: they are cached on disk)")

    t0 = time.perf_counter()
    try:
        history = net.fit(
            X,
            Y,
            learning_rate=args.learning_rate,
            num_iterations=args.iterations,
            cost_every=1000,
            print_cost=True,
        )
    except DivergenceError as exc:
        raise _diverged(exc, "--learning-rate", train=False) from None
    seconds = time.perf_counter() - t0
    accuracy = net.score(X, Y)
    done = "interrupted after" if history.stop_reason == "interrupted" else "trained"
    print(
        f"{done} {history.n_steps} iterations on backend {args.backend!r} in {seconds:.2f} s"
        f"{_blas_threads()}"
    )
    print(f"accuracy: {100 * accuracy:.2f} %  (the course's 4-unit tanh net reaches 90 %)")
    if args.plot:
        try:
            from ..plot import plot_decision_boundary
        except ImportError:
            print("(no decision-boundary plot: pip install 'fastdnn[plot]' for matplotlib)")
        else:
            path = plot_decision_boundary(net, X, Y, path=args.plot)
            print(f"decision boundary saved to {path}")
    if history.stop_reason == "interrupted":
        return 130  # Ctrl-C: as train says it
    return 0 if np.isfinite(accuracy) else 1
