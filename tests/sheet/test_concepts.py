"""The sheet's promise: every listed concept has an implementing object, a formula and a test."""
import os

import pytest

from deepsheet import sheet
from deepsheet.sheet import formula_of

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALL = sheet.concepts()


@pytest.mark.parametrize("c", ALL, ids=[f"{c.topic}:{c.concept}" for c in ALL])
def test_concept_has_object_formula_and_test(c):
    found = sheet.problems(c, ROOT)
    if c.pending:
        if not found:
            pytest.skip(f"pending (issue {c.pending}) but complete now: clear its pending mark")
        pytest.skip(f"pending (issue {c.pending}): {'; '.join(found)}")
    assert found == [], f"{c.concept!r}: {'; '.join(found)}"


def test_the_check_fails_where_it_should():
    ok = sheet.lookup("ReLU")
    assert sheet.problems(ok, ROOT) == []
    assert sheet.problems(ok._replace(object="deepsheet.functional.no_such"), ROOT) == [
        "no object at deepsheet.functional.no_such"]
    assert sheet.problems(ok._replace(object="deepsheet.sheet.topics"), ROOT) == [
        "deepsheet.sheet.topics has no Formula block in its docstring"]
    assert sheet.problems(ok._replace(test="tests/nope.py::test_x"), ROOT) == [
        "test file tests/nope.py does not exist"]
    assert sheet.problems(ok._replace(test="tests/sheet/test_concepts.py::test_nope"), ROOT) == [
        "tests/sheet/test_concepts.py has no function test_nope"]
    assert "names no test function" in sheet.problems(ok._replace(test="tests/rl"), ROOT)[0]


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
