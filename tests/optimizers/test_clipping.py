"""clip_grad_norm / clip_grad_value against torch.nn.utils (in place, norm returned)."""
import math

import numpy as np
import pytest
import torch

import deepsheet as ds
from deepsheet.optimizers import clip_grad_norm, clip_grad_value
from oracle import F32


def pair(shapes, scale=1.0, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    grads = [np.asarray(scale * rng.standard_normal(s), dtype=dtype) for s in shapes]
    ours = [ds.tensor(np.zeros(s, dtype), requires_grad=True) for s in shapes]
    theirs = [torch.zeros(s, dtype=torch.from_numpy(g).dtype, requires_grad=True)
              for s, g in zip(shapes, grads)]
    for o, t, g in zip(ours, theirs, grads):
        o.grad = g.copy()
        t.grad = torch.from_numpy(g.copy())
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    shapes = [(4, 3), (3,), ()]
    if not math.isinf(norm_type):
        shapes.append((0, 2))  # torch refuses the inf norm of an empty tensor; we skip it
    ours, theirs = pair(shapes)
    grad_arrays = [o.grad for o in ours]
    total = clip_grad_norm(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    assert math.isclose(total, expected.item(), rel_tol=1e-5)
    for o, t, a in zip(ours, theirs, grad_arrays):
        assert o.grad is a and o.grad.dtype == np.float32  # in place
        np.testing.assert_allclose(o.grad, t.grad.numpy(), **F32)
    assert (total > max_norm) == (max_norm == 0.5)  # both branches are exercised
    if norm_type == 2.0 and total > max_norm:
        after = math.sqrt(sum(float((o.grad.astype(np.float64) ** 2).sum()) for o in ours))
        assert math.isclose(after, max_norm, rel_tol=1e-5)


def test_clip_grad_norm_inf_with_empty_gradient():
    ours, _ = pair([(0, 2), (3,)])
    assert clip_grad_norm(ours, 1e3, norm_type=float("inf")) == float(np.abs(ours[1].grad).max())
    ours, _ = pair([(0, 2)])
    assert clip_grad_norm(ours, 1.0, norm_type=float("inf")) == 0.0


def test_clip_grad_norm_float64_and_skips_missing_grads():
    ours, theirs = pair([(5,), (2, 2)], scale=3.0, dtype=np.float64)
    extra = ds.tensor(np.ones(3), requires_grad=True)  # no gradient: ignored
    total = clip_grad_norm(ours + [extra], 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0).item()
    assert math.isclose(total, expected, rel_tol=1e-12)
    for o, t in zip(ours, theirs):
        assert o.grad.dtype == np.float64
        np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=1e-12)
    assert extra.grad is None
    assert clip_grad_norm([extra], 1.0) == 0.0


def test_clip_grad_norm_single_tensor_and_nonfinite():
    w = ds.tensor([3.0, 4.0], requires_grad=True)
    w.grad = np.array([3.0, 4.0], np.float32)
    assert clip_grad_norm(w, 1.0) == 5.0
    np.testing.assert_allclose(w.grad, [0.6, 0.8], rtol=1e-5)
    w.grad = np.array([np.inf, 1.0], np.float32)
    with pytest.raises(RuntimeError, match="inf"):
        clip_grad_norm(w, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm(w, -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm(w, 1.0, norm_type=0.5)
    with pytest.raises(TypeError, match=r"params\[0\]"):
        clip_grad_norm([np.ones(2)], 1.0)


def test_clip_grad_value_matches_torch():
    ours, theirs = pair([(6, 2), (3,)], scale=2.0)
    arrays = [o.grad for o in ours]
    assert clip_grad_value(ours, 0.7) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for o, t, a in zip(ours, theirs, arrays):
        assert o.grad is a
        np.testing.assert_array_equal(o.grad, t.grad.numpy())
    assert np.abs(arrays[0]).max() == np.float32(0.7)
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value(ours, float("nan"))
