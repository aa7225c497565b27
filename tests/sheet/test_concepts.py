"""The sheet's promise: every listed concept has an implementing object, a formula and a test."""
import os
import re

import pytest

from deepsheet import sheet
from deepsheet.sheet import formula_of

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALL = sheet.concepts()


def _test_exists(ref):
    """(exists, why) for 'tests/x.py::test_name'."""
    path, _, name = ref.partition("::")
    full = os.path.join(ROOT, path)
    if not name:
        return False, f"test {ref!r} names no test function (file::test_name)"
    if not os.path.isfile(full):
        return False, f"test file {path} does not exist"
    with open(full, encoding="utf-8") as f:
        src = f.read()
    if not re.search(rf"^(async )?def {re.escape(name)}\(", src, re.M):
        return False, f"{path} has no function {name}"
    return True, ""


@pytest.mark.parametrize("c", ALL, ids=[f"{c.topic}:{c.concept}" for c in ALL])
def test_concept_has_object_formula_and_test(c):
    obj = sheet.resolve(c.object)
    if c.pending:
        if obj is None:
            pytest.skip(f"pending (issue {c.pending}): {c.object} is not on main yet")
        ok, why = _test_exists(c.test)
        if ok and formula_of(obj):
            pytest.skip(f"pending (issue {c.pending}) but complete now: clear its pending mark")
        pytest.skip(f"pending (issue {c.pending}): {c.object} exists; "
                    f"{why or 'its docstring has no Formula block yet'}")
    assert obj is not None, f"{c.concept!r}: no object at {c.object}"
    assert formula_of(obj), f"{c.concept!r}: {c.object} has no Formula block in its docstring"
    ok, why = _test_exists(c.test)
    assert ok, f"{c.concept!r}: {why}"


def test_the_sheet_covers_the_four_cheat_sheets():
    assert len(ALL) >= 140
    assert set(sheet.topics()) >= {"activations", "losses", "optimizers", "regularization",
                                   "metrics", "data", "layers", "architectures", "training",
                                   "theory", "rnn", "attention", "rl", "gan"}
    keys = [(c.topic, c.concept) for c in ALL]
    assert len(keys) == len(set(keys)), "a concept is listed twice"
    assert all(c.pending in ("", "13", "14", "18", "19") for c in ALL)


def test_formula_blocks_in_the_three_docstring_styles():
    def numpy_style():
        """One line.

        Formula
        -------
            y = a + b

        Parameters
        ----------
        a : float
        """

    def rest_style():
        """One line.

        Formula (as PyTorch)::

            y = max(0, x)
            dy/dx = 1 if x > 0 else 0

        The rest is prose.
        """

    def keras_style():
        """One line.

        Formula:

        ```
        loss = mean(square(y_true - y_pred))
        ```

        Args:
            x: input.
        """

    def none():
        """Only prose about formulas."""

    assert formula_of(numpy_style) == "y = a + b"
    assert formula_of(rest_style) == "(as PyTorch)\ny = max(0, x)\ndy/dx = 1 if x > 0 else 0"
    assert formula_of(keras_style) == "loss = mean(square(y_true - y_pred))"
    assert formula_of(none) is None
    assert formula_of(object()) is None or isinstance(formula_of(object()), str)


def test_text_and_html_views(tmp_path):
    out = sheet.text("activations")
    assert out.startswith("== activations")
    assert "deepsheet.functional.relu" in out and "y = max(0, x)" in out
    page = sheet.html()
    assert page.startswith("<!DOCTYPE html>") and page.count("<tr>") == len(ALL) + len(sheet.topics())
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
    with pytest.raises(ValueError, match="unknown topic 'nope'; topics: activations"):
        sheet.concepts("nope")
    assert sheet.lookup("relu").object == "deepsheet.functional.relu"
    with pytest.raises(ValueError, match="concepts matching 'e'"):
        sheet.lookup("e")
