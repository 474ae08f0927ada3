"""Numba options are set in fastdnn/_numba.py and nowhere else (stumpy's test.sh rule)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fastdnn._numba import JIT_DISABLED

PACKAGE = Path(__file__).resolve().parents[1] / "fastdnn"


def test_numba_options_live_only_in_numba_module():
    offenders = []
    pattern = re.compile(r"numba\.(njit|jit|vectorize|guvectorize)\b|fastmath\s*=|@jit\b")
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_numba.py":
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{lineno}: {line.strip()}")
    assert not offenders, "numba options outside _numba.py:\n" + "\n".join(offenders)


@pytest.mark.skipif(JIT_DISABLED, reason="NUMBA_DISABLE_JIT=1: there are no dispatchers to inspect")
def test_import_compiles_nothing():
    # A fresh interpreter: importing fastdnn must not compile (or load) any kernel.
    code = (
        "import fastdnn, fastdnn.kernels.jit as j\n"
        "from numba.core.registry import CPUDispatcher\n"
        "d = [v for v in vars(j).values() if isinstance(v, CPUDispatcher)]\n"
        "assert len(d) >= 9, len(d)\n"
        "assert all(not x.signatures for x in d), [x for x in d if x.signatures]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(JIT_DISABLED, reason="NUMBA_DISABLE_JIT=1: nothing is cached")
def test_cached_code_is_invalidated_by_an_edit_of_any_package_file():
    # The training loop inlines kernels from other files: its cache must see their edits too.
    from fastdnn import _numba
    from fastdnn.steppers import _jit_loop

    if not _numba.CACHE:
        pytest.skip("FASTDNN_CACHE=0")
    stamp = dict((name, (mtime, size)) for name, mtime, size in _numba._package_stamp())
    assert os.path.join("kernels", "jit.py") in stamp and "_vecmath.py" in stamp
    locator = _jit_loop.full_batch_steps._cache._impl.locator
    assert type(locator).__name__.startswith("FastdnnPackageWide")
    assert locator.get_source_stamp() == _numba._package_stamp()
