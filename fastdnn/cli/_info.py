"""``fastdnn info``: versions, CPU, BLAS libraries and threads, the Numba cache."""

from __future__ import annotations

import os
import platform
import sys


def cmd_info(args) -> int:
    """Versions, BLAS libraries and threads, numba cache and jit settings."""
    import numba
    import numpy as np
    import scipy

    from .. import __version__, _numba
    from .._blas import (
        _library_paths,
        blas_rule_summary,
        cpu_name,
        cpu_vendor,
    )
    from ..steppers.split import rule_summary as split_rule_summary

    print(f"fastdnn {__version__}")
    print(f"python  {platform.python_version()} ({sys.executable})")
    print(f"numpy   {np.__version__}")
    print(f"scipy   {scipy.__version__}")
    print(f"numba   {numba.__version__}")
    print(
        f"cpu     {cpu_name()} ({cpu_vendor()}, {platform.machine()}), "
        f"{os.cpu_count()} logical cores; compiled code for {_numba.compile_target()}"
    )
    _library_paths()
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            api = info.get("user_api", "blas")
            print(
                f"{api:7s} {info.get('internal_api')} {info.get('version')} "
                f"({info.get('architecture')}), {info.get('num_threads')} threads: "
                f"{info.get('filepath')}"
            )
    except ImportError:  # pragma: no cover
        print("blas    (install threadpoolctl to list BLAS libraries)")
    print(f"rule    {blas_rule_summary()}")
    print(f"threads {_threads_line()}")
    print(f"split   {split_rule_summary()}")
    cache_dir = numba.config.CACHE_DIR or "(next to each module, in __pycache__)"
    print(f"cache   numba cache {'on' if _numba.CACHE else 'off'}; directory: {cache_dir}")
    print(
        f"jit     {'DISABLED (NUMBA_DISABLE_JIT=1)' if _numba.JIT_DISABLED else 'enabled'}; "
        f"fastmath {'on' if _numba.FASTMATH else 'off'}"
    )
    return 0


def _threads_line() -> str:
    """What training's BLAS threads will be, and why (``fastdnn info``)."""
    from .. import _env
    from .._blas import BLAS_THREAD_VARIABLES, default_threads, usable_cores

    n, cores = _env.SETTINGS.num_threads, usable_cores()
    if n is not None:
        clamped = f" (clamped to the {cores} usable cores)" if n > cores else ""
        return f"training uses {min(n, cores)}: FASTDNN_NUM_THREADS={n}{clamped}"
    chosen = [
        f"{v}={os.environ[v]}" for v in BLAS_THREAD_VARIABLES if os.environ.get(v, "").strip()
    ]
    if chosen:
        return f"training keeps the BLAS libraries' own setting: {', '.join(chosen)}"
    return (
        f"training uses {default_threads()} (half the {cores} usable cores): FASTDNN_NUM_THREADS "
        f"unset, and {' / '.join(BLAS_THREAD_VARIABLES)} too"
    )
