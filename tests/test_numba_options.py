"""Numba options are set in fastdnn/_numba.py and nowhere else (stumpy's test.sh rule)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from fastdnn._numba import JIT_DISABLED

PACKAGE = Path(__file__).resolve().parents[1] / "fastdnn"


def test_numba_options_live_only_in_numba_module():
    offenders = []
    pattern = re.compile(
        r"numba\.(njit|jit|cfunc|vectorize|guvectorize)\b|fastmath\s*=|@jit\b"
        r"|from numba import .*\b(njit|jit|cfunc)\b"
    )
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
        "from fastdnn.kernels import _jit_entries\n"
        "assert not _jit_entries._made, _jit_entries._made  # C entries: made on first use\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(JIT_DISABLED, reason="NUMBA_DISABLE_JIT=1: nothing is cached")
def test_cached_code_is_invalidated_by_an_edit_of_any_package_file():
    # The training loop inlines kernels from other files: its cache must see their edits too.
    from fastdnn import _numba, _numba_cache
    from fastdnn.steppers import _jit_loop

    if not _numba.CACHE:
        pytest.skip("FASTDNN_CACHE=0")
    stamp = dict((name, (mtime, size)) for name, mtime, size in _numba_cache.package_stamp())
    assert os.path.join("kernels", "jit.py") in stamp and "_vecmath.py" in stamp
    locator = _jit_loop.full_batch_steps._cache._impl.locator
    assert type(locator).__name__.startswith("FastdnnPackageWide")
    assert locator.get_source_stamp() == _numba_cache.package_stamp()


_READ_ONLY_IMPORT = """
import warnings, numpy as np
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import fastdnn
    from fastdnn import _numba
assert fastdnn.__file__.startswith({root!r}), fastdnn.__file__  # the read-only copy
print([str(w.message).split(" (")[0] for w in caught if "cache" in str(w.message)])
print("cache", _numba.CACHE)
p = fastdnn.initialize_parameters([2, 3, 1], seed=0)
X = np.linspace(-1, 1, 8).reshape(2, 4)
AL = fastdnn.model_forward(X, p, backend="jit")[0]  # compiled in memory
np.testing.assert_allclose(AL, fastdnn.model_forward(X, p, backend="numpy")[0], rtol=1e-12)
print("jit ok")
"""


def _unprivileged():
    """argv prefix running a command unable to write read-only folders, or None.

    Root ignores file permissions, so as root the command runs in a new user namespace as an
    ordinary user (outer root maps to inner uid 1000, which owns the files but has no
    capability to override their modes).
    """
    if os.geteuid() != 0:
        return []
    if shutil.which("unshare") is None:
        return None
    prefix = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]
    probe = tempfile.mkdtemp()
    try:
        os.chmod(probe, 0o555)
        ok = subprocess.run([*prefix, "sh", "-c", f"! touch {probe}/x 2>/dev/null"]).returncode
    finally:
        os.chmod(probe, 0o755)
        shutil.rmtree(probe)
    return prefix if ok == 0 else None


@pytest.mark.timeout(300)
@pytest.mark.skipif(JIT_DISABLED, reason="NUMBA_DISABLE_JIT=1: nothing is cached")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="file modes and namespaces")
def test_import_works_from_a_read_only_install_without_a_cache_folder(tmp_path):
    # A system-wide install or container: the package folder and HOME are read-only and
    # NUMBA_CACHE_DIR is unset, so Numba finds no folder to cache into. Import used to fail:
    # "RuntimeError: cannot cache function 'gemm': no locator available for file ...".
    prefix = _unprivileged()
    if prefix is None:
        pytest.skip("running as root without user namespaces: permissions cannot be enforced")
    root, home = tmp_path / "site", tmp_path / "home"
    shutil.copytree(PACKAGE, root / "fastdnn", ignore=shutil.ignore_patterns("__pycache__"))
    home.mkdir()
    folders = [p for p in (tmp_path, *tmp_path.rglob("*")) if p.is_dir()]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NUMBA_", "FASTDNN_", "XDG_"))}  # fmt: skip
    env.update(HOME=str(home), PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1")
    try:
        for folder in folders:
            folder.chmod(0o555)
        result = subprocess.run(
            [*prefix, sys.executable, "-c", _READ_ONLY_IMPORT.format(root=str(root))],
            env=env, cwd=str(home), capture_output=True, text=True, timeout=280,
        )  # fmt: skip
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert result.returncode == 0, result.stderr[-3000:]
    warned, cache, jit = result.stdout.strip().splitlines()
    # One warning, whatever number of functions could not be cached.
    assert warned == str(["fastdnn: Numba cannot cache compiled code here"])
    assert (cache, jit) == ("cache False", "jit ok")


@pytest.mark.parametrize(
    ("cpu_name", "features", "expected"),
    [
        ("skylake-avx512", "+avx512f,+avx2,+avx,+fma,+sse2", "skylake-avx512 (AVX-512, FMA)"),
        ("znver3", "+avx2,+avx,+fma,-avx512f,+sse2", "znver3 (AVX2, FMA)"),
        ("x86-64", "+sse2,-avx,-fma", "x86-64 (SSE2)"),
        ("generic", "", "generic (no vector ISA known to fastdnn)"),
    ],
)
def test_compile_target_names_the_cpu_and_its_widest_vector_isa(
    monkeypatch, cpu_name, features, expected
):
    # NUMBA_CPU_NAME / NUMBA_CPU_FEATURES (what portable caches set) decide the code: a
    # disabled feature ("-avx512f") must not be reported.
    import numba

    from fastdnn._numba import compile_target

    monkeypatch.setattr(numba.config, "CPU_NAME", cpu_name)
    monkeypatch.setattr(numba.config, "CPU_FEATURES", features)
    assert compile_target() == expected


def test_compile_target_of_the_host_is_llvms_host_cpu():
    import llvmlite.binding as llvm

    from fastdnn._numba import compile_target

    target = compile_target()
    assert target.startswith(llvm.get_host_cpu_name() + " (") and target.endswith(")")
