import json

import numpy as np
import pytest
import torch
from oracle import check_op, rand

import deepsheet as ds
from deepsheet import regularizers as R


@pytest.mark.parametrize("reg,torch_fn", [
    (R.L1(0.3), lambda w: 0.3 * w.abs().sum()),
    (R.L2(0.2), lambda w: 0.2 * (w * w).sum()),
    (R.L1L2(l1=0.1, l2=0.05), lambda w: 0.1 * w.abs().sum() + 0.05 * (w * w).sum()),
])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 2), (5,), ()])
def test_penalty_vs_torch_and_gradcheck(reg, torch_fn, shape):
    check_op(reg, torch_fn, rand(*shape, seed=1))


def test_keras_defaults_and_formula_without_half():
    w = ds.tensor([[1.0, -2.0], [0.0, 3.0]])
    assert R.L1()(w).item() == pytest.approx(0.01 * 6)
    assert R.L2()(w).item() == pytest.approx(0.01 * 14)
    assert R.L1L2()(w).item() == 0.0
    out = R.L2(0.5)(w)
    assert out.shape == () and out.dtype == np.float32


def test_l1_gradient_is_zero_at_zero():
    w = ds.tensor([0.0, 2.0, -1.0], requires_grad=True)
    R.L1(1.0)(w).backward()
    np.testing.assert_array_equal(w.grad, [0.0, 1.0, -1.0])
    assert w.grad.dtype == np.float32


def test_float64_flows_through():
    w = ds.tensor(np.ones((2, 2)), requires_grad=True)
    out = R.L1L2(0.1, 0.1)(w)
    assert out.dtype == np.float64
    out.backward()
    assert w.grad.dtype == np.float64


@pytest.mark.parametrize("ident,cls,config", [
    ("l1", R.L1, {"l1": 0.01}), ("L2", R.L2, {"l2": 0.01}), ("l1_l2", R.L1L2, {"l1": 0.0, "l2": 0.0}),
    ("L1L2", R.L1L2, {"l1": 0.0, "l2": 0.0}), (R.L2(0.3), R.L2, {"l2": 0.3}),
    ({"class_name": "L1L2", "config": {"l1": 0.2, "l2": 0.1}}, R.L1L2, {"l1": 0.2, "l2": 0.1}),
])
def test_get(ident, cls, config):
    reg = R.get(ident)
    assert type(reg) is cls and reg.get_config() == config
    spec = json.loads(json.dumps(R.serialize(reg)))
    back = R.deserialize(spec)
    assert type(back) is cls and back.get_config() == config


def test_get_none_and_callable():
    assert R.get(None) is None and R.serialize(None) is None

    def f(w):
        return (w * w).sum()
    assert R.get(f) is f


def test_bad_input():
    with pytest.raises(ValueError, match="unknown regularizer 'l3'.*l1_l2"):
        R.get("l3")
    with pytest.raises(ValueError, match="l2 must be a non-negative"):
        R.L2(-0.1)
    with pytest.raises(ValueError, match="l1 must be a non-negative"):
        R.L1(float("nan"))
    with pytest.raises(ValueError, match="cannot interpret"):
        R.get(0.1)


def test_torch_weight_decay_equivalence_with_sgd():
    # With plain SGD, an L2 penalty l2·Σw² is PyTorch's weight_decay = 2·l2.
    w0 = rand(3, 4, seed=2)
    g = rand(3, 4, seed=3)
    w = ds.tensor(w0.copy(), requires_grad=True)
    ((w * ds.tensor(g)).sum() + R.L2(0.05)(w)).backward()
    tw = torch.tensor(w0.copy(), requires_grad=True)
    opt = torch.optim.SGD([tw], lr=1.0, weight_decay=0.1)
    (tw * torch.from_numpy(g)).sum().backward()
    opt.step()
    np.testing.assert_allclose(w0 - w.grad, tw.detach().numpy(), rtol=1e-6, atol=1e-6)
