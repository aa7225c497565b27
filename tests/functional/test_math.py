"""deepsheet.functional.math (elementwise ops) against PyTorch (float32) and finite differences (float64)."""
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given

import deepsheet as ds
import deepsheet.functional as F
from oracle import check_op, check_torch, rand

# (a, b) shapes: equal, trailing broadcast, both sides broadcast, 0-d, size-1, empty.
BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (3,)),
                 ((3,), ()), ((1,), (2, 3)), ((0, 3), (3,)), ((2, 0), (1, 1))]


@pytest.mark.parametrize("sa,sb", BINARY_SHAPES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum"])
def test_binary(op, sa, sb):
    torch_op = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
                "maximum": torch.maximum, "minimum": torch.minimum}[op]
    b = rand(*sb, seed=2, low=0.5, high=2.0) if op == "div" else rand(*sb, seed=2)
    check_op(getattr(F, op), torch_op, rand(*sa, seed=1), b)


@pytest.mark.parametrize("sa,sb", BINARY_SHAPES[:5])
def test_pow_tensor_exponent(sa, sb):
    check_op(F.pow, torch.pow, rand(*sa, seed=1, low=0.5, high=2.0), rand(*sb, seed=2))


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5, 1, 0])
def test_pow_constant_exponent(exponent):
    low = 0.5 if exponent != int(exponent) or exponent < 0 else -2.0
    x = rand(3, 4, low=low)
    check_op(lambda a: a ** exponent, lambda a: a ** exponent, x)


def test_rpow_constant_base():
    check_op(lambda a: 2.0 ** a, lambda a: 2.0 ** a, rand(5))
    check_op(lambda a: F.pow(0.0, a), lambda a: torch.pow(0.0, a), rand(5, low=0.5, high=2.0))


def test_pow_zero_base_gradients_match_torch():
    a = np.array([0.0, 0.0, 2.0], np.float32)
    b = np.array([0.0, 2.0, 0.0], np.float32)
    check_torch(F.pow, torch.pow, a, b)


@pytest.mark.parametrize("shape", [(3, 4), (), (1,), (0, 2)])
@pytest.mark.parametrize("op,low", [("exp", -2.0), ("log", 0.2), ("sqrt", 0.2), ("abs", -2.0),
                                    ("neg", -2.0)])
def test_unary(op, low, shape):
    torch_op = {"neg": torch.neg}.get(op) or getattr(torch, op)
    check_op(getattr(F, op), torch_op, rand(*shape, low=low))


def test_abs_at_zero_has_zero_gradient():
    check_torch(F.abs, torch.abs, np.array([-1.0, 0.0, 2.0], np.float32))


@pytest.mark.parametrize("lo,hi", [(-0.5, 1.0), (None, 0.3), (-0.3, None), (0.0, 0.0)])
def test_clip(lo, hi):
    check_op(lambda a: F.clip(a, lo, hi), lambda a: torch.clamp(a, lo, hi), rand(4, 5))


def test_clip_array_bounds_and_method():
    lo = rand(5, seed=3, low=-1.0, high=0.0)
    check_op(lambda a: a.clip(lo, 0.5),
             lambda a: torch.clamp(a, torch.from_numpy(lo), torch.tensor(0.5)),
             rand(4, 5))


def test_clip_gradient_passes_at_the_bounds():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0], np.float32)
    check_torch(lambda a: F.clip(a, 0.0, 1.0), lambda a: torch.clamp(a, 0.0, 1.0), x)


def test_maximum_minimum_ties_split_gradient_like_torch():
    a = np.array([1.0, 2.0, 3.0, 2.0], np.float32)
    b = np.array([1.0, 3.0, 1.0, 2.0], np.float32)
    check_torch(F.maximum, torch.maximum, a, b)
    check_torch(F.minimum, torch.minimum, a, b)
    x = ds.tensor([2.0], requires_grad=True)
    F.maximum(x, 2.0).sum().backward()
    assert x.grad.tolist() == [0.5]


@pytest.mark.parametrize("sc,sx,sy", [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), (3, 4)),
                                      ((4,), (3, 4), ()), ((), (2,), (2,)), ((0, 2), (2,), (1,))])
def test_where(sc, sx, sy):
    cond = np.asarray(rand(*sc, seed=5) > 0)
    check_op(F.where, torch.where, cond, rand(*sx, seed=1), rand(*sy, seed=2))


def test_where_with_scalar_branch_and_tensor_condition():
    x = rand(6)
    check_op(lambda a: F.where(a > 0, a, 0.0), lambda a: torch.where(a > 0, a, 0.0), x)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_mismatched_shapes_name_both_shapes_and_the_operation(op):
    a, b = ds.tensor(rand(2, 3), requires_grad=True), ds.tensor(rand(4,) + 3.0)
    with pytest.raises(ValueError, match=rf"{op}: shapes \(2, 3\) and \(4,\)"):
        getattr(F, op)(a, b)


def test_where_mismatch_names_all_shapes():
    with pytest.raises(ValueError, match=r"where.*\(3,\).*\(2,\)"):
        F.where(np.ones(3, bool), ds.tensor(rand(2)), 0.0)


@pytest.mark.parametrize("scalar", [np.float64(2.0), 2.0, 2, np.int64(2), np.float32(2.0)])
def test_float32_stays_float32_with_scalars(scalar):
    x = ds.tensor(rand(3), requires_grad=True)
    for y in (x * scalar, scalar * x, x + scalar, x - scalar, scalar - x, x / scalar,
              scalar / (x + 3.0), x ** scalar, F.maximum(x, scalar), F.where(x > 0, x, scalar),
              F.clip(x, -scalar, scalar)):
        assert y.dtype == np.float32, y
        y.sum().backward()
        assert x.grad.dtype == np.float32
        x.zero_grad()


def test_float64_flows_through():
    x = ds.tensor(rand(3, dtype=np.float64), requires_grad=True)
    y = (F.exp(x) * 2.0).sum() + F.var(x) + F.logsumexp(x)
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float64


def test_ndarray_on_the_left_returns_tensor():
    x = ds.tensor(rand(3), requires_grad=True)
    arr = rand(3, seed=9)
    for y in (arr + x, arr - x, arr * x, arr / (x + 3.0), arr ** 2 * x, arr @ x):
        assert isinstance(y, ds.Tensor)
    (arr * x).sum().backward()
    np.testing.assert_allclose(x.grad, arr)


def test_cast_and_to_device_cpu_roundtrip_gradients():
    x = ds.tensor(rand(3), requires_grad=True)
    y = F.cast(x, np.float64)
    assert y.dtype == np.float64
    (y * 2.0).sum().backward()
    assert x.grad.dtype == np.float32 and np.all(x.grad == 2.0)
    z = F.to_device(x, "cpu")
    assert z.device == "cpu"


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       op=st.sampled_from(["add", "sub", "mul", "maximum"]))
def test_binary_broadcasting_property(shapes, op):
    sa, sb = shapes.input_shapes
    torch_op = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "maximum": torch.maximum}[op]
    check_torch(getattr(F, op), torch_op, rand(*sa, seed=1), rand(*sb, seed=2))
