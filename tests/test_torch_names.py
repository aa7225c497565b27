"""PyTorch's spellings at tensor level (dim=, keepdim=, view, clamp, size(), cat, ...).

deepsheet takes NumPy's keywords; these check that code typed the PyTorch way gives
PyTorch's answer (values, gradients, shapes, return types), and that mixing both
spellings of one keyword is an error instead of a silent choice.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import deepsheet as ds
import deepsheet.functional as F
from tests.oracle import check_grad, check_op, check_torch, rand


@pytest.mark.parametrize("shape,dim,keepdim", [((3, 4), 1, False), ((3, 4), 0, True),
                                               ((2, 3, 5), -1, True), ((5,), 0, False)])
def test_sum_mean_logsumexp_take_dim(shape, dim, keepdim):
    x = rand(*shape, seed=1)
    check_op(lambda a: a.sum(dim=dim, keepdim=keepdim),
             lambda a: a.sum(dim=dim, keepdim=keepdim), x)
    check_op(lambda a: F.mean(a, dim=dim, keepdim=keepdim),
             lambda a: torch.mean(a, dim=dim, keepdim=keepdim), x)
    check_op(lambda a: a.logsumexp(dim=dim, keepdim=keepdim),
             lambda a: torch.logsumexp(a, dim=dim, keepdim=keepdim), x)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(1, False), (0, True), (-1, True)])
def test_max_min_with_dim_return_values_and_indices(name, dim, keepdim):
    x = rand(4, 6, seed=2)                 # continuous values: no ties, so torch's gradient
    check_torch(lambda a: getattr(a, name)(dim=dim, keepdim=keepdim)[0],   # is ours too
                lambda a: getattr(a, name)(dim=dim, keepdim=keepdim)[0], x)
    ours = getattr(ds.tensor(x), name)(dim=dim, keepdim=keepdim)
    theirs = getattr(torch.from_numpy(x), name)(dim=dim, keepdim=keepdim)
    assert isinstance(ours, F.ValuesIndices)
    assert ours.indices.dtype == np.int64
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    check_grad(lambda a: getattr(F, name)(a, dim=dim, keepdim=keepdim).values, x)


def test_max_with_axis_keeps_numpy_meaning():
    x = rand(3, 4, seed=3)
    out = ds.tensor(x).max(axis=1)
    assert isinstance(out, ds.Tensor)
    np.testing.assert_array_equal(out.numpy(), x.max(axis=1))
    np.testing.assert_array_equal(ds.tensor(x).max(1).numpy(), x.max(axis=1))


def test_max_of_a_scalar_with_dim():
    v, i = ds.tensor(2.5).max(dim=0)
    assert v.item() == 2.5 and i.item() == 0


@pytest.mark.parametrize("kw", [dict(dim=1), dict(dim=0, keepdim=True), dict(dim=1, correction=0),
                                dict(dim=1, unbiased=False), dict(dim=-1, unbiased=True)])
def test_var_std_follow_torch_defaults_when_called_torch_style(kw):
    x = rand(5, 4, seed=4)
    check_op(lambda a: a.var(**kw), lambda a: torch.var(a, **kw), x)
    check_op(lambda a: F.std(a, **kw), lambda a: torch.std(a, **kw), x)


def test_var_numpy_style_is_unchanged():
    x = rand(5, 4, seed=5)
    np.testing.assert_allclose(ds.tensor(x).var(axis=0).numpy(), x.var(axis=0), rtol=1e-6)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax_take_dim(dim):
    x = rand(3, 5, seed=6)
    check_op(lambda a: F.softmax(a, dim=dim), lambda a: torch.softmax(a, dim=dim), x)
    check_op(lambda a: a.log_softmax(dim=dim), lambda a: torch.log_softmax(a, dim=dim), x)


def test_argmax_argmin_take_dim_and_keepdim():
    x = rand(4, 7, seed=7)
    t = torch.from_numpy(x)
    for name in ("argmax", "argmin"):
        for kw in (dict(dim=1), dict(dim=0, keepdim=True)):
            ours = getattr(ds.tensor(x), name)(**kw)
            theirs = getattr(t, name)(**kw)
            assert ours.dtype == np.int64
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_cat_stack_at_top_level_with_dim():
    a, b = rand(2, 3, seed=8), rand(2, 3, seed=9)
    check_op(lambda x, y: ds.cat([x, y], dim=1), lambda x, y: torch.cat([x, y], dim=1), a, b)
    check_op(lambda x, y: ds.stack([x, y], dim=-1), lambda x, y: torch.stack([x, y], dim=-1), a, b)
    assert ds.concatenate is F.concatenate


def test_view_clamp_pow_flatten_unsqueeze():
    x = rand(2, 3, 4, seed=10)
    check_op(lambda a: a.view(6, -1), lambda a: a.view(6, -1), x)
    check_op(lambda a: a.view_as(np.zeros((4, 6))), lambda a: a.view(4, 6), x)
    # clamp's bounds sit away from the data's values: at a bound the one-sided derivative is
    # undefined and finite differences would straddle it
    check_op(lambda a: a.clamp(min=-0.55, max=0.65), lambda a: a.clamp(min=-0.55, max=0.65), x)
    check_op(lambda a: a.clamp(min=0.05), lambda a: a.clamp(min=0.05), x)
    check_op(lambda a: a.pow(3), lambda a: a.pow(3), x)
    check_op(lambda a: a.flatten(start_dim=1), lambda a: a.flatten(start_dim=1), x)
    check_op(lambda a: a.unsqueeze(dim=1).squeeze(dim=1), lambda a: a.unsqueeze(1).squeeze(1), x)


def test_size_is_numpys_count_and_torchs_shape():
    x = ds.zeros(2, 3, 4)
    assert x.size == 24 and isinstance(x.size, int) and x.size + 1 == 25
    assert x.size() == (2, 3, 4) == tuple(torch.zeros(2, 3, 4).size())
    assert x.size(1) == 3 and x.size(-1) == 4
    assert x.numel() == 24 and x.dim() == 3 and repr(x.size) == "24"


def test_casts_and_in_place_fills():
    x = ds.tensor([1.5, -2.0])
    assert x.double().dtype == np.float64 and x.long().dtype == np.int64
    np.testing.assert_array_equal(x.long().numpy(), torch.tensor([1.5, -2.0]).long().numpy())
    assert x.fill_(3.0) is x and x.numpy().tolist() == [3.0, 3.0]
    assert x.zero_().numpy().tolist() == [0.0, 0.0]


def test_in_place_on_a_parameter_needs_no_grad():
    w = ds.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="zero_.*no_grad"):
        w.zero_()
    with ds.no_grad():
        w.zero_()
    assert not w.numpy().any()


@pytest.mark.parametrize("call", [
    lambda a: a.sum(axis=0, dim=1),
    lambda a: F.mean(a, axis=1, dim=1),
    lambda a: a.max(axis=0, dim=1),
    lambda a: a.argmax(axis=0, dim=1),
    lambda a: a.var(ddof=1, correction=1),
    lambda a: a.var(correction=1, unbiased=True),
])
def test_both_spellings_at_once_is_an_error(call):
    with pytest.raises(TypeError, match="both"):
        call(ds.tensor(rand(2, 3, seed=11)))


def test_unknown_torch_keyword_is_named():
    with pytest.raises(TypeError, match="bogus"):
        ds.tensor(rand(2, 3, seed=12)).var(dim=0, bogus=1)
