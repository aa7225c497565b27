"""Tensor factories, ds.ops and ds.random against PyTorch / NumPy: values, dtypes, gradients."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

import deepsheet as ds  # noqa: E402
from deepsheet import ops  # noqa: E402
from oracle import check_op, rand  # noqa: E402

_DT = {torch.float32: np.float32, torch.int64: np.int64, torch.float64: np.float64}


def _same(ours, theirs):
    assert ours.dtype == _DT[theirs.dtype], (ours.dtype, theirs.dtype)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name,args,kwargs", [
    ("zeros", (2, 3), {}), ("zeros", ((4,),), {}), ("ones", (3, 1), {}),
    ("full", ((2, 2), 1.5), {}), ("arange", (5,), {}), ("arange", (1, 7, 2), {}),
    ("arange", (0.0, 1.0, 0.25), {}), ("arange", (0, 1, 0.1), {}),
    ("linspace", (-1.0, 1.0, 5), {}), ("eye", (3,), {}), ("eye", (2, 4), {}),
    ("zeros", (2,), {"dtype": "float64"}),
])
def test_deterministic_factories_match_torch(name, args, kwargs):
    tkw = {"dtype": torch.float64} if kwargs.get("dtype") == "float64" else {}
    _same(getattr(ds, name)(*args, **kwargs), getattr(torch, name)(*args, **tkw))


def test_like_factories_and_requires_grad():
    x = ds.tensor(rand(2, 3, seed=0))
    tx = torch.from_numpy(x.numpy())
    _same(ds.zeros_like(x), torch.zeros_like(tx))
    _same(ds.ones_like(x), torch.ones_like(tx))
    w = ds.randn(3, 2, requires_grad=True)
    assert w.requires_grad and w.dtype == np.float32 and w.is_leaf
    (ds.ones(4, 3) @ w).sum().backward()
    np.testing.assert_array_equal(w.grad, np.full((3, 2), 4.0, np.float32))
    with pytest.raises(ValueError, match="only floating"):
        ds.arange(3, requires_grad=True)
    with pytest.raises(ValueError, match="zeros: sizes must be non-negative"):
        ds.zeros(-1)


def test_random_factories_follow_the_library_seed():
    ds.manual_seed(0)
    a, b, c = ds.randn(1000), ds.rand(1000), ds.randint(0, 5, (1000,))
    ds.manual_seed(0)
    np.testing.assert_array_equal(ds.randn(1000).numpy(), a.numpy())
    assert a.dtype == b.dtype == np.float32 and c.dtype == np.int64
    assert abs(float(a.numpy().mean())) < 0.1 and 0.9 < float(a.numpy().std()) < 1.1
    assert 0.0 <= b.numpy().min() and b.numpy().max() < 1.0
    assert set(np.unique(c.numpy())) == {0, 1, 2, 3, 4}
    assert ds.randint(7, (2, 2)).shape == (2, 2)


@pytest.mark.parametrize("fn,tfn", [
    (lambda a: ops.square(a), lambda a: a * a),
    (lambda a: ops.mean(a, axis=1, keepdims=True), lambda a: a.mean(1, keepdim=True)),
    (lambda a: ops.sum(ops.exp(a), axis=0), lambda a: a.exp().sum(0)),
    (lambda a: ops.softmax(a, axis=-1), lambda a: torch.softmax(a, -1)),
    (lambda a: ops.expand_dims(a, 1), lambda a: a.unsqueeze(1)),
    (lambda a: ops.concatenate([a, a * 2], axis=1), lambda a: torch.cat([a, a * 2], 1)),
    (lambda a: ops.stack([a, a], axis=0), lambda a: torch.stack([a, a], 0)),
    (lambda a: ops.matmul(a, ops.transpose(a)), lambda a: a @ a.T),
    (lambda a: ops.where(a.numpy() > 0, a, ops.multiply(a, 0.1)),
     lambda a: torch.where(a > 0, a, a * 0.1)),
    (lambda a: ops.sqrt(ops.abs(a) + 1.0), lambda a: (a.abs() + 1).sqrt()),
    (lambda a: ops.log(ops.abs(a) + 1.0), lambda a: (a.abs() + 1).log()),
])
def test_ops_are_differentiable_tensor_functions(fn, tfn):
    check_op(fn, tfn, rand(3, 4, seed=1), fd=False)


def test_ops_non_differentiable_helpers():
    y = ds.tensor(np.array([0, 2, 1]))
    np.testing.assert_array_equal(ops.one_hot(y, 3).numpy(), np.eye(3, dtype=np.float32)[[0, 2, 1]])
    x = ds.tensor(rand(3, 4, seed=2))
    np.testing.assert_array_equal(ops.argmax(x).numpy(), x.numpy().argmax(-1))
    assert ops.shape(x) == (3, 4) and ops.cast(x, "float64").dtype == np.float64
    assert ops.arange(3).numpy().tolist() == [0, 1, 2]
    assert ops.convert_to_numpy(x).shape == (3, 4)


def test_random_draws_with_seeds():
    a = ds.random.normal((500,), mean=2.0, stddev=0.5, seed=1)
    np.testing.assert_array_equal(a.numpy(), ds.random.normal((500,), 2.0, 0.5, seed=1).numpy())
    assert a.dtype == np.float32 and abs(float(a.numpy().mean()) - 2.0) < 0.1
    u = ds.random.uniform((500,), minval=-1, maxval=3, seed=2).numpy()
    assert u.min() >= -1 and u.max() < 3
    gen = ds.random.SeedGenerator(5)
    assert not np.array_equal(ds.random.uniform((3,), seed=gen).numpy(),
                              ds.random.uniform((3,), seed=gen).numpy())
    r = ds.random.randint((100,), 0, 3, seed=3).numpy()
    assert r.dtype == np.int32 and set(np.unique(r)) == {0, 1, 2}
    x = ds.tensor(np.arange(10, dtype=np.float32), requires_grad=True)
    s = ds.random.shuffle(x, seed=4)
    assert sorted(s.numpy().tolist()) == list(range(10))
    s.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(10, np.float32))
    d = ds.random.dropout(ds.ones(1000), 0.5, seed=5).numpy()
    assert set(np.unique(d)) == {0.0, 2.0} and 0.4 < (d == 0).mean() < 0.6
