"""Where fastdnn's warnings point: at the user's line, however deep in fastdnn they arise."""

from __future__ import annotations

import os
import sys

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_stacklevel() -> int:
    """``stacklevel`` for a ``warnings.warn`` call made by the caller of this function, so that
    the warning names the first frame outside the fastdnn package: the user's call of
    ``DNN.fit``, of a scikit-learn estimator's ``fit``, or of ``set_num_threads``. A fixed
    level points into fastdnn whenever the same warning is reached by another path (the
    estimators' warnings named ``fastdnn/sklearn.py``). Python 3.12's ``skip_file_prefixes``
    does this too; fastdnn supports 3.11.
    """
    frame = sys._getframe(1)  # the function that will call warnings.warn: stacklevel 1
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        # warnings.warn steps over the import system's frames without counting them (a
        # warning raised while fastdnn is imported): so does this count.
        while frame is not None and _import_system(frame):
            frame = frame.f_back
        level += 1
    return level


def _import_system(frame) -> bool:
    """The test ``warnings`` uses for the frames it skips (``_is_internal_frame``)."""
    name = frame.f_code.co_filename
    return "importlib" in name and "_bootstrap" in name
