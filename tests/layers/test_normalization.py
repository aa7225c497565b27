"""BatchNormalization and LayerNormalization against torch.nn twins with copied weights."""
import numpy as np
import pytest
import torch
from layer_contract import run_layer_test
from oracle import F32, assert_close, rand

import deepsheet as ds
from deepsheet import layers as L

EPS = 1e-3


@pytest.mark.parametrize("kwargs,input_shape", [
    ({}, (4, 3)), ({}, (2, 3, 3, 2)), (dict(axis=1), (3, 2, 4)),
    (dict(center=False, scale=False, momentum=0.9, epsilon=1e-5), (5, 3)),
    (dict(gamma_regularizer="l2", beta_initializer="ones"), (4, 2)),
])
def test_batchnorm_contract(kwargs, input_shape):
    n_t = int(kwargs.get("center", True)) + int(kwargs.get("scale", True))
    run_layer_test(L.BatchNormalization, kwargs, input_shape=input_shape,
                   expected_output_shape=input_shape, expected_num_trainable_weights=n_t,
                   expected_num_non_trainable_weights=2)


@pytest.mark.parametrize("kwargs,input_shape", [
    ({}, (4, 3)), ({}, (2, 3, 5)), (dict(axis=[-2, -1]), (2, 3, 4)),
    (dict(center=False), (3, 4)), (dict(axis=1, epsilon=1e-5), (2, 3, 4)),
])
def test_layernorm_contract(kwargs, input_shape):
    n_t = int(kwargs.get("center", True)) + int(kwargs.get("scale", True))
    run_layer_test(L.LayerNormalization, kwargs, input_shape=input_shape,
                   expected_output_shape=input_shape, expected_num_trainable_weights=n_t,
                   expected_num_non_trainable_weights=0)


def _torch_bn(layer, rank, momentum):
    c = layer.gamma.shape[0]
    tb = (torch.nn.BatchNorm1d if rank == 2 else torch.nn.BatchNorm2d)(
        c, eps=EPS, momentum=1.0 - momentum)
    with torch.no_grad():
        tb.weight.copy_(torch.from_numpy(layer.gamma.numpy()))
        tb.bias.copy_(torch.from_numpy(layer.beta.numpy()))
    return tb


def _nchw(x):
    return x.permute(0, 3, 1, 2) if x.ndim == 4 else x


def _nhwc(x):
    return x.permute(0, 2, 3, 1) if x.ndim == 4 else x


@pytest.mark.parametrize("shape", [(16, 5), (4, 3, 3, 5)])
def test_batchnorm_training_vs_torch_and_moving_average(shape):
    momentum = 0.9
    layer = L.BatchNormalization(momentum=momentum)
    layer(np.zeros(shape, np.float32))  # build
    layer.gamma.data[...] = rand(5, seed=1, low=0.5, high=2.0)
    layer.beta.data[...] = rand(5, seed=2)
    tb = _torch_bn(layer, len(shape), momentum)
    mm, mv = np.zeros(5), np.ones(5)
    for step in range(4):
        x_np = rand(*shape, seed=10 + step, low=-1.0, high=3.0)
        x = ds.tensor(x_np, requires_grad=True)
        y = layer(x, training=True)
        xt = torch.from_numpy(x_np.copy()).requires_grad_(True)
        yt = _nhwc(tb(_nchw(xt)))
        assert_close(y.numpy(), yt.detach().numpy(), **F32, what=f"output step {step}")
        g = rand(*shape, seed=20 + step)
        y.backward(g)
        yt.backward(torch.from_numpy(g))
        assert_close(x.grad, xt.grad.numpy(), **F32, what="dx")
        assert_close(layer.gamma.grad, tb.weight.grad.numpy(), **F32, what="dgamma")
        assert_close(layer.beta.grad, tb.bias.grad.numpy(), **F32, what="dbeta")
        layer.gamma.grad = layer.beta.grad = None
        tb.weight.grad = tb.bias.grad = None
        # hand-computed Keras moving average with the biased batch variance
        flat = x_np.reshape(-1, 5).astype(np.float64)
        mm = momentum * mm + (1 - momentum) * flat.mean(0)
        mv = momentum * mv + (1 - momentum) * flat.var(0)
        np.testing.assert_allclose(layer.moving_mean.numpy(), mm, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(layer.moving_variance.numpy(), mv, rtol=1e-5, atol=1e-6)
        assert_close(layer.moving_mean.numpy(), tb.running_mean.numpy(), **F32, what="mean")
    assert layer.moving_mean.dtype == np.float32 and layer.moving_variance.dtype == np.float32
    # inference uses the moving statistics
    x_np = rand(*shape, seed=99)
    y = layer(x_np).numpy()
    expect = ((x_np - mm) / np.sqrt(mv + EPS) * layer.gamma.numpy() + layer.beta.numpy())
    np.testing.assert_allclose(y, expect, rtol=1e-5, atol=1e-5)


def test_batchnorm_weights_order_and_counts():
    layer = L.BatchNormalization()
    layer(np.zeros((2, 3, 3, 4), np.float32))
    names = [w.name.split("/")[-1] for w in layer._ordered_weights()]
    assert names == ["gamma", "beta", "moving_mean", "moving_variance"]
    g, b, m, v = layer.get_weights()
    np.testing.assert_array_equal(g, np.ones(4)), np.testing.assert_array_equal(b, np.zeros(4))
    np.testing.assert_array_equal(m, np.zeros(4)), np.testing.assert_array_equal(v, np.ones(4))
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    assert layer.count_params() == 16
    assert not layer.moving_mean.requires_grad


def test_batchnorm_frozen_runs_in_inference_mode():
    layer = L.BatchNormalization()
    layer(np.zeros((4, 3), np.float32))
    layer.moving_mean.data[...] = [1.0, 2.0, 3.0]
    layer.trainable = False
    x = rand(8, 3, seed=3)
    y = layer(x, training=True).numpy()
    np.testing.assert_array_equal(layer.moving_mean.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(y, (x - [1.0, 2.0, 3.0]) / np.sqrt(1 + EPS), rtol=1e-5, atol=1e-6)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_batchnorm_inference_does_not_touch_moving_stats():
    layer = L.BatchNormalization()
    layer(rand(4, 3))
    with ds.no_grad():
        layer(rand(4, 3))
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0.0)
    layer(rand(4, 3), training=True)
    assert np.any(layer.moving_mean.numpy() != 0)


def test_batchnorm_errors():
    layer = L.BatchNormalization(name="bn")
    layer(rand(2, 3))
    with pytest.raises(ValueError, match=r"'bn' was built for inputs of shape \(2, 3\)"):
        layer(rand(2, 4))
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        L.BatchNormalization(axis=3)(rand(2, 3))
    with pytest.raises(ValueError, match="momentum must be in"):
        L.BatchNormalization(momentum=1.5)
    for epsilon in (0, -1e-3, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="epsilon must be a positive finite number"):
            L.BatchNormalization(epsilon=epsilon)
    with pytest.raises(ValueError, match="size of axis -1 to be known"):
        L.BatchNormalization()(ds.Input((None,)))


@pytest.mark.parametrize("shape,axis", [((4, 6), -1), ((2, 3, 6), -1), ((2, 3, 4), [-2, -1])])
def test_layernorm_vs_torch(shape, axis):
    layer = L.LayerNormalization(axis=axis)
    x_np = rand(*shape, seed=1)
    layer(x_np)
    pshape = tuple(layer.gamma.shape)
    layer.gamma.data[...] = rand(*pshape, seed=2)
    layer.beta.data[...] = rand(*pshape, seed=3)
    tl = torch.nn.LayerNorm(pshape, eps=EPS)
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(layer.gamma.numpy()))
        tl.bias.copy_(torch.from_numpy(layer.beta.numpy()))
    x = ds.tensor(x_np, requires_grad=True)
    xt = torch.from_numpy(x_np.copy()).requires_grad_(True)
    y, yt = layer(x, training=True), tl(xt)
    assert_close(y.numpy(), yt.detach().numpy(), **F32, what="output")
    g = rand(*shape, seed=4)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(x.grad, xt.grad.numpy(), **F32, what="dx")
    assert_close(layer.gamma.grad, tl.weight.grad.numpy(), **F32, what="dgamma")
    assert_close(layer.beta.grad, tl.bias.grad.numpy(), **F32, what="dbeta")
    # training and inference agree
    np.testing.assert_allclose(layer(x_np).numpy(), y.numpy(), rtol=1e-6)


def test_layernorm_errors():
    layer = L.LayerNormalization(name="ln")
    layer(rand(2, 3))
    with pytest.raises(ValueError, match=r"'ln' was built for inputs of shape \(2, 3\)"):
        layer(rand(2, 5))
    with pytest.raises(ValueError, match="epsilon"):
        L.LayerNormalization(epsilon=-1.0)
