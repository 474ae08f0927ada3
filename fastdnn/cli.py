"""The ``fastdnn`` command line: ``demo``, ``info`` (and more sub-commands as they land).

User mistakes (missing file, bad shape, bad flag) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

USER_ERRORS = (ValueError, TypeError, FileNotFoundError, ImportError, OSError)


class UserError(Exception):
    """A mistake in the command's input: reported in one line, exit status 2."""


def cmd_demo(args) -> int:
    """Train the course's planar flower net (2-4-1, tanh) and report its accuracy."""
    import numpy as np

    from . import DNN
    from .datasets import load_planar_dataset

    X, Y = load_planar_dataset()
    print(f"planar flower data: X {X.shape}, Y {Y.shape} (the course's week-3 data set)")
    net = DNN([2, args.hidden_units, 1], hidden="tanh", init="course", backend=args.backend,
              seed=args.seed)  # fmt: skip
    t0 = time.perf_counter()
    history = net.fit(X, Y, learning_rate=args.learning_rate, num_iterations=args.iterations,
                      cost_every=1000, print_cost=True)  # fmt: skip
    seconds = time.perf_counter() - t0
    accuracy = net.score(X, Y)
    print(f"trained {history.n_steps} iterations on backend {args.backend!r} in {seconds:.2f} s")
    print(f"accuracy: {100 * accuracy:.2f} %  (the course's 4-unit tanh net reaches 90 %)")
    if args.plot:
        try:
            from .plot import plot_decision_boundary
        except ImportError:
            print("(no decision-boundary plot: pip install 'fastdnn[plot]' for matplotlib)")
        else:
            path = plot_decision_boundary(net, X, Y, path=args.plot)
            print(f"decision boundary saved to {path}")
    return 0 if np.isfinite(accuracy) else 1


def cmd_info(args) -> int:
    """Versions, BLAS libraries and threads, numba cache and jit settings."""
    import numba
    import numpy as np
    import scipy

    from . import __version__, _numba
    from ._blas import _library_paths

    print(f"fastdnn {__version__}")
    print(f"python  {platform.python_version()} ({sys.executable})")
    print(f"numpy   {np.__version__}")
    print(f"scipy   {scipy.__version__}")
    print(f"numba   {numba.__version__}")
    print(f"cpu     {platform.machine()}, {os.cpu_count()} logical cores")
    _library_paths()
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            print(
                f"blas    {info.get('internal_api')} {info.get('version')} "
                f"({info.get('architecture')}), {info.get('num_threads')} threads: "
                f"{info.get('filepath')}"
            )
    except ImportError:  # pragma: no cover
        print("blas    (install threadpoolctl to list BLAS libraries)")
    print(f"threads FASTDNN_NUM_THREADS={os.environ.get('FASTDNN_NUM_THREADS', '(unset)')}")
    cache_dir = numba.config.CACHE_DIR or "(next to each module, in __pycache__)"
    print(f"cache   numba cache {'on' if _numba.CACHE else 'off'}; directory: {cache_dir}")
    print(f"jit     {'DISABLED (NUMBA_DISABLE_JIT=1)' if _numba.JIT_DISABLED else 'enabled'}; "
          f"fastmath {'on' if _numba.FASTMATH else 'off'}")  # fmt: skip
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastdnn", description="Train the deep-learning Course 1 networks fast on the CPU."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser("demo", help="train the course's planar flower net and print accuracy")
    demo.add_argument("--backend", choices=["jit", "numpy", "naive"], default="jit")
    demo.add_argument("--iterations", type=int, default=10000)
    demo.add_argument("--learning-rate", type=float, default=1.2)
    demo.add_argument("--hidden-units", type=int, default=4)
    demo.add_argument("--seed", type=int, default=2)
    demo.add_argument("--plot", metavar="PNG", default=None,
                      help="save the decision boundary to this PNG (needs matplotlib)")  # fmt: skip
    demo.set_defaults(func=cmd_demo)
    info = sub.add_parser("info", help="versions, BLAS, threads, numba cache")
    info.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (UserError, *USER_ERRORS) as exc:
        print(f"fastdnn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fastdnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
