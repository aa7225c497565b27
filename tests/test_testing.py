"""deepsheet.testing.gradcheck: passes right gradients, reports wrong ones readably."""
import numpy as np
import pytest

import deepsheet as ds
import deepsheet.functional as F
from deepsheet.autograd import Function
from deepsheet.testing import GradcheckError, gradcheck
from oracle import rand


class HalfWrongSquare(Function):
    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, g):
        grad = 2.0 * g * self.a
        grad.reshape(-1)[-1] *= 1.5  # wrong only at the last element
        return grad


def test_gradcheck_passes_and_sees_float64():
    seen = []

    def fn(x, w):
        seen.append(x.dtype)
        return F.tanh(x @ w) if hasattr(F, "tanh") else F.exp(x @ w)

    assert gradcheck(fn, rand(3, 4), rand(4, 2, seed=1)) is True
    assert set(seen) == {np.dtype(np.float64)}


def test_gradcheck_reports_the_worst_element():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a: HalfWrongSquare.apply(a), x)
    msg = str(info.value)
    assert "input 0" in msg and "(2, 2)" in msg and "1 of 4 elements" in msg
    assert "worst at index (1, 1)" in msg and "analytic" in msg and "numeric" in msg
    assert gradcheck(lambda a: HalfWrongSquare.apply(a), x, raise_exception=False) is False


def test_gradcheck_multiple_outputs_and_integer_inputs():
    labels = np.array([0, 2, 1])

    def fn(x, idx):
        return x[np.arange(3), idx.data], F.exp(x)

    assert gradcheck(fn, rand(3, 3), labels)
    assert gradcheck(lambda a: F.split(a, 2), rand(4))


def test_gradcheck_accepts_tensors_and_needs_a_float_input():
    assert gradcheck(lambda a: (a * a).sum(), ds.tensor(rand(3)))
    with pytest.raises(GradcheckError, match="floating-point"):
        gradcheck(lambda a: a, np.array([1, 2]))
    with pytest.raises(GradcheckError, match="depends on its inputs"):
        gradcheck(lambda a: ds.tensor(1.0), rand(2))
