"""The ``fastdnn`` command line: ``demo``, ``train``, ``predict``, ``bench``, ``info``.

User mistakes and hostile input (missing file, bad shape, bad flag value, unknown label column,
a model and data of different sizes, a FIFO or device as data, a network too big for the memory,
an output path that is one of the inputs) print one line, ``fastdnn <command>: error: ...``, on
stderr and exit with status 2, with no traceback. Flags are checked before any data is loaded or
any training runs. Warnings print one line each, ``fastdnn <command>: warning: ...``.

A session::

    fastdnn train --data train_catvnoncat.h5 --layers 20,7,5 --lr 0.0075 --iterations 2500 \
        --seed 1 --out cat.npz
    fastdnn predict --model cat.npz --data test_catvnoncat.h5 --out predictions.csv

The package holds a module a command (``_demo``, ``_train`` with ``_beyond_memory`` and
``_training_setup``, ``_predict``, ``_info``; ``bench`` lives in :mod:`fastdnn.bench`), the
parser (``_parser``, with the flag types of ``_flags``), the checks made before any work
(``_checks``) and the one-line messages (``_messages``).
"""

from __future__ import annotations

import os
import sys
import warnings

from ._messages import USER_ERRORS, UserError, _message, _one_line_warnings
from ._parser import _apply_threads, build_parser

__all__ = ["UserError", "build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``fastdnn`` command; return its exit status (2 for a user mistake)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(bench=bool(argv) and argv[0] == "bench")
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the command's parser, so the hint is 'fastdnn train --help'
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warnings(args.command)
        return _run(args)


def _run(args) -> int:
    try:
        _apply_threads(args)
        return args.func(args)
    except BrokenPipeError:  # e.g. `fastdnn predict ... | head`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit's final flush cannot fail
        return 1
    except (UserError, *USER_ERRORS) as exc:
        print(f"fastdnn {args.command}: error: {_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fastdnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
