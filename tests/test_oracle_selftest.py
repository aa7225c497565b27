"""The oracle must be able to fail: a wrong gradient is caught."""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet.autograd import Function
from deepsheet.testing import GradcheckError, gradcheck
from oracle import check_op, rand


class WrongSquare(Function):
    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, g):
        return g * self.a  # should be 2 * a


def test_gradcheck_catches_wrong_gradient():
    with pytest.raises(GradcheckError, match="worst at index"):
        gradcheck(lambda x: WrongSquare.apply(x), rand(3, 2))


def test_check_op_passes_on_correct_op():
    import torch
    check_op(lambda a, b: a * b, lambda a, b: a * b, rand(3, 4), rand(4))


def test_check_op_fails_on_wrong_forward():
    import torch
    with pytest.raises(AssertionError):
        check_op(lambda a: a * 2.0, lambda a: a * 2.001, rand(5))
