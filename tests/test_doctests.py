"""The ``Examples`` blocks of the docstrings run as tests (one test per module that has some).

An example that needs an optional extra (matplotlib, gymnasium, mpi4py, CuPy) that is not
installed is skipped with the module. Examples that are slow or draw to the screen carry
``# doctest: +SKIP``.
"""
from __future__ import annotations

import doctest
import importlib
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "deepsheet"
OPTIONAL_EXTRAS = {"matplotlib", "gymnasium", "mpi4py", "cupy", "cupyx"}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
NUMPY_PRINT_DEFAULTS = dict(precision=8, threshold=1000, edgeitems=3, linewidth=75,
                            suppress=False, nanstr="nan", infstr="inf", sign="-",
                            floatmode="maxprec", legacy=False)


def _module_names():
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if ">>>" in path.read_text(encoding="utf-8"):
            yield ".".join(parts)


@pytest.mark.parametrize("name", list(_module_names()))
def test_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in OPTIONAL_EXTRAS:
            pytest.skip(f"{name} needs {exc.name}, an optional extra that is not installed")
        raise
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    tests = [t for t in finder.find(module, name) if t.examples]
    failures = []
    # Examples print arrays with NumPy's default options, whatever ran before in this process.
    with np.printoptions(**NUMPY_PRINT_DEFAULTS):
        for test in tests:
            test.globs = dict(module.__dict__)
            runner.run(test, out=failures.append)
    assert runner.failures == 0, "".join(failures)
