"""Every example in fastdnn's docstrings runs as written (the README's: ``test_readme.py``)."""

import doctest
import importlib
import pkgutil

import pytest

import fastdnn


def _examples() -> dict[str, list[doctest.DocTest]]:
    """The docstring examples of each module of the package that has any."""
    found = {}
    finder = doctest.DocTestFinder()
    for info in pkgutil.walk_packages(fastdnn.__path__, "fastdnn."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)  # the dev extra installs every option
        tests = [t for t in finder.find(module, info.name) if t.examples]
        if tests:
            found[info.name] = tests
    return found


EXAMPLES = _examples()


def test_the_examples_are_found():
    # Modules whose docstrings show their use: a finder that found none would pass vacuously.
    assert {"fastdnn.model", "fastdnn.sklearn"} <= set(EXAMPLES)


@pytest.mark.parametrize("module", sorted(EXAMPLES))
def test_docstring_examples_run(module):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in EXAMPLES[module]:
        runner.run(test)  # a failure prints the example, what it gave and what was expected
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
