"""Every Python block of the README runs as written (a new user copies them).

Each ```python block runs in its own interpreter, in a temporary folder (so the files a block
writes do not land in the checkout), with the course's data found through ``FASTDNN_DATA``. A
block may be preceded by ``<!-- readme-test: skip REASON -->`` (it needs something a test
machine does not have, such as a cluster's address); the reason is reported.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"(<!-- readme-test: skip (?P<reason>[^>]*)-->\s*)?```python\n(?P<code>.*?)```",
                   re.S)  # fmt: skip


#: Packages of fastdnn's optional extras (pyproject.toml): a block importing one that is not
#: installed is skipped, with its name. Any other import must work (a typo fails the block).
OPTIONAL = {"h5py", "matplotlib", "tqdm", "sklearn", "dask", "distributed", "dask_ml", "zarr",
            "torch", "mkl"}  # fmt: skip


def missing_extras(code: str) -> list[str]:
    """The optional packages ``code`` imports that are not installed here."""
    roots = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return sorted(r for r in roots & OPTIONAL if importlib.util.find_spec(r) is None)


def blocks() -> list:
    found = []
    for match in BLOCK.finditer(README.read_text()):
        line = README.read_text()[: match.start("code")].count("\n") + 1
        found.append(pytest.param(match.group("code"), match.group("reason"), id=f"line{line}"))
    return found


def test_the_readme_has_python_examples():
    assert len(blocks()) >= 3


@pytest.mark.parametrize(("code", "skip_reason"), blocks())
def test_readme_block_runs(code, skip_reason, tmp_path):
    if skip_reason:
        pytest.skip(skip_reason.strip())
    if missing := missing_extras(code):
        pytest.skip(f"needs {', '.join(missing)}, not installed here (the dev extra has them)")
    data = os.environ.get("FASTDNN_DATA", str(ROOT.parent / "shared" / "data"))
    if "load_cat" in code and not (Path(data) / "train_catvnoncat.h5").exists():
        pytest.skip(f"the course's cat data is not in {data}")
    # The blocks are run as a user runs them: compiled, whatever mode this suite runs in.
    env = {**os.environ, "FASTDNN_DATA": data, "MPLBACKEND": "Agg"}
    env.pop("NUMBA_DISABLE_JIT", None)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, f"README block failed:\n{code}\n---\n{result.stderr[-3000:]}"


def test_missing_extras_names_only_optional_packages_not_installed(monkeypatch):
    code = "import numpy as np\nimport zzz_absent.sub\nfrom os import path\n"
    assert missing_extras(code) == []  # not an extra: the block runs, and fails loudly
    monkeypatch.setitem(globals(), "OPTIONAL", OPTIONAL | {"zzz_absent", "numpy"})
    assert missing_extras(code) == ["zzz_absent"]  # numpy is installed


def test_ci_runs_the_readme_test_command():
    """CI must run the README's test command exactly, or a green CI says nothing of it."""
    setup = re.search(r"# 2\. set up and run the tests\n(?P<line>.+)\n", README.read_text())
    assert setup, "the README's second command (set up and run the tests) is missing"
    command = setup.group("line").rsplit("&& ", 1)[-1].strip()
    assert command.startswith(".venv/bin/python -m pytest"), command
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines, f"{command!r} is not a line of .ci/run"
