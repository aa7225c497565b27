"""Tensor: creation and dtype rules, NumPy interplay, operators, methods."""
import numpy as np
import pytest
import torch

import deepsheet as ds
import deepsheet.functional as F
from oracle import check_op, rand


@pytest.mark.parametrize("data,dtype", [
    (1.5, np.float32), ([1.0, 2.0], np.float32), ([[1, 2.5]], np.float32), (3, np.int64),
    ([1, 2], np.int64), (True, np.bool_), (np.zeros(2, np.float64), np.float64),
    (np.zeros(2, np.float16), np.float16), (np.zeros(2, np.int32), np.int32),
    (np.zeros(2, bool), np.bool_), (np.float64(2.0), np.float64), (np.float32(2.0), np.float32),
])
def test_tensor_dtype_rules(data, dtype):
    assert ds.tensor(data).dtype == dtype


def test_tensor_explicit_dtype_and_default_dtype():
    assert ds.tensor([1, 2], dtype="float32").dtype == np.float32
    assert ds.tensor(np.zeros(2), dtype=np.float32).dtype == np.float32
    ds.set_default_dtype("float64")
    try:
        assert ds.tensor(1.0).dtype == np.float64
    finally:
        ds.set_default_dtype("float32")
    assert ds.tensor(1.0).dtype == np.float32


def test_tensor_from_tensor_and_bad_data():
    t = ds.tensor(rand(3))
    assert ds.tensor(t).dtype == np.float32 and np.array_equal(ds.tensor(t).data, t.data)
    with pytest.raises(ValueError, match="only floating tensors can require gradients"):
        ds.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="objects"):
        ds.tensor([object()])


def test_properties_and_conversions():
    x = ds.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.dtype == np.float32 and x.device == "cpu" and x.is_leaf
    assert x.T.shape == (3, 2)
    assert isinstance(x.numpy(), np.ndarray) and x.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert ds.tensor(2.5).item() == 2.5 and float(ds.tensor([2.5])) == 2.5
    assert int(ds.tensor(3)) == 3
    assert x.to("cpu") is x and x.cpu() is x
    assert x.astype(np.float64).dtype == np.float64
    assert x.astype("float64").float().dtype == np.float32
    assert np.asarray(x).shape == (2, 3)
    assert "requires_grad=True" in repr(x) and "grad_fn=Mul" in repr(x * 2.0)
    with pytest.raises(ValueError, match="one element"):
        x.item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)
    with pytest.raises(TypeError, match="0-d"):
        len(ds.tensor(1.0))


def test_operators_against_torch():
    a, b = rand(3, 4, seed=1), rand(4, seed=2, low=0.5, high=2.0)
    for op in (lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: x / y,
               lambda x, y: -x + abs(y), lambda x, y: (x * x) ** y):
        check_op(op, op, a, b)
    check_op(lambda x, y: x @ y, lambda x, y: x @ y, a, rand(4, 2, seed=3))
    check_op(lambda x: 1.0 - x * 2 + 3 / (x + 5.0) + 2 ** x, lambda x: 1.0 - x * 2 + 3 / (x + 5.0)
             + 2 ** x, a)


def test_ndarray_on_either_side_returns_tensor():
    x = ds.tensor(rand(3), requires_grad=True)
    arr = rand(3, seed=4)
    for out in (arr + x, arr - x, arr * x, arr / x, arr ** x, x + arr, arr < x, arr == x):
        assert isinstance(out, ds.Tensor)
    assert isinstance(rand(2, 3) @ ds.tensor(rand(3, 2)), ds.Tensor)
    (arr - x).sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, -1.0, -1.0])


def test_comparisons_carry_no_gradient():
    x = ds.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for mask in (x > 1.5, x >= 2.0, x < 2.0, x <= 1.0, x == 2.0, x != 2.0):
        assert mask.dtype == bool and not mask.requires_grad
    assert (x > 1.5).tolist() == [False, True, True]
    assert (x == ds.tensor([1.0, 0.0, 3.0])).tolist() == [True, False, True]


def test_identity_hashing_despite_elementwise_eq():
    a, b = ds.tensor([1.0]), ds.tensor([1.0])
    assert len({a, b}) == 2
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    assert hash(a) != hash(b) and a in {a}


def test_indexing_with_gradient():
    x = rand(4, 3)
    check_op(lambda t: t[1:, [0, 0, 2]] * t[0], lambda t: t[1:, [0, 0, 2]] * t[0], x)
    check_op(lambda t: t[np.array([3, 3, 0])], lambda t: t[torch.tensor([3, 3, 0])], x)


def test_methods_mirror_functional():
    x = rand(2, 3, 4)
    calls = [
        (lambda t: t.sum(axis=1, keepdims=True), lambda t: t.sum(1, keepdim=True)),
        (lambda t: t.mean(axis=(0, 2)), lambda t: t.mean((0, 2))),
        (lambda t: t.max(axis=-1), lambda t: t.amax(-1)),
        (lambda t: t.min(), lambda t: t.amin()),
        (lambda t: t.var(axis=1, ddof=1), lambda t: t.var(1, correction=1)),
        (lambda t: t.std(axis=0), lambda t: t.std(0, correction=0)),
        (lambda t: t.logsumexp(axis=2), lambda t: t.logsumexp(2)),
        (lambda t: t.reshape(4, 6), lambda t: t.reshape(4, 6)),
        (lambda t: t.reshape((6, 4)), lambda t: t.reshape(6, 4)),
        (lambda t: t.transpose(2, 0, 1), lambda t: t.permute(2, 0, 1)),
        (lambda t: t.flatten(1), lambda t: t.flatten(1)),
        (lambda t: t.unsqueeze(0).squeeze(0), lambda t: t),
        (lambda t: t.exp() + t.abs().sqrt() + (t.abs() + 1.0).log(),
         lambda t: t.exp() + t.abs().sqrt() + (t.abs() + 1.0).log()),
        (lambda t: t.clip(-0.5, 0.5), lambda t: t.clamp(-0.5, 0.5)),
    ]
    for ours, theirs in calls:
        check_op(ours, theirs, x, fd=False)


def test_requires_grad_switch_and_retain_grad():
    x = ds.tensor(rand(2))
    assert x.requires_grad_() is x and x.requires_grad
    with pytest.raises(ValueError):
        ds.tensor([1, 2]).requires_grad_()
    assert x.retain_grad() is x  # a no-op on a leaf
    assert ds.is_tensor(x) and not ds.is_tensor(x.data)


def test_array_ufunc_is_none():
    assert ds.Tensor.__array_ufunc__ is None
    x = ds.tensor(rand(3), requires_grad=True)
    with pytest.raises(TypeError):
        np.exp(x)  # NumPy must not silently turn a Tensor into an array
    assert isinstance(F.exp(x), ds.Tensor)


@pytest.mark.parametrize("data, error, match", [
    (["a", "b"], TypeError, "dtype <U1: tensors hold real numbers"),
    (np.array([1 + 2j]), TypeError, "dtype complex128: tensors hold real numbers"),
    ([[1.0, 2.0], [3.0]], ValueError, "ragged list: its rows have different lengths"),
    ([object()], TypeError, "holding objects"),
])
def test_tensor_of_what_is_not_real_numbers(data, error, match):
    with pytest.raises(error, match=match):
        ds.tensor(data)
