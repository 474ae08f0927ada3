"""Every example in fastdnn's docstrings runs as written (the README's: ``test_readme.py``)."""

import doctest
import importlib
import pkgutil

import pytest

import fastdnn


def _examples() -> tuple[dict[str, list[doctest.DocTest]], dict[str, str]]:
    """The docstring examples of each module of the package that has any, and the modules
    that need an optional extra not installed here (the dev extra installs every option)."""
    found, missing = {}, {}
    finder = doctest.DocTestFinder()
    for info in pkgutil.walk_packages(fastdnn.__path__, "fastdnn."):
        if info.name.endswith("__main__"):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError as exc:
            if "pip install 'fastdnn[" not in str(exc):
                raise  # not a missing extra: a broken import, which must fail
            missing[info.name] = str(exc)
            continue
        tests = [t for t in finder.find(module, info.name) if t.examples]
        if tests:
            found[info.name] = tests
    return found, missing


EXAMPLES, MISSING_EXTRAS = _examples()


def test_the_examples_are_found():
    # Modules whose docstrings show their use: a finder that found none would pass vacuously.
    assert {"fastdnn.model", "fastdnn.sklearn"} - set(MISSING_EXTRAS) <= set(EXAMPLES)


@pytest.mark.parametrize("module", sorted({*EXAMPLES, *MISSING_EXTRAS}))
def test_docstring_examples_run(module):
    if module in MISSING_EXTRAS:
        pytest.skip(f"{module}'s examples not run: {MISSING_EXTRAS[module]}")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in EXAMPLES[module]:
        runner.run(test)  # a failure prints the example, what it gave and what was expected
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
