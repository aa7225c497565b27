"""Pooling layers: the layer contract, torch twins, shapes and errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from layer_contract import run_layer_test
from oracle import F32, assert_close, rand

import deepsheet as ds
from deepsheet import layers as L


@pytest.mark.parametrize("cls, kwargs, input_shape, out_shape", [
    (L.MaxPooling2D, {}, (2, 7, 6, 3), (2, 3, 3, 3)),
    (L.MaxPooling2D, dict(pool_size=3, strides=2, padding="same"), (2, 7, 7, 2), (2, 4, 4, 2)),
    (L.AveragePooling2D, dict(pool_size=(2, 3), strides=1), (1, 5, 5, 2), (1, 4, 3, 2)),
    (L.AveragePooling2D, dict(padding="same"), (2, 5, 5, 2), (2, 3, 3, 2)),
    (L.MaxPooling1D, {}, (2, 9, 3), (2, 4, 3)),
    (L.AveragePooling1D, dict(pool_size=3, strides=1, padding="same"), (2, 6, 3), (2, 6, 3)),
    (L.GlobalAveragePooling2D, {}, (2, 4, 5, 3), (2, 3)),
    (L.GlobalMaxPooling2D, dict(keepdims=True), (2, 4, 5, 3), (2, 1, 1, 3)),
    (L.GlobalAveragePooling1D, {}, (2, 6, 3), (2, 3)),
    (L.GlobalMaxPooling1D, {}, (2, 6, 3), (2, 3)),
])
def test_pooling_layers_contract(cls, kwargs, input_shape, out_shape):
    run_layer_test(cls, kwargs, input_shape=input_shape, expected_output_shape=out_shape,
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0)


def _check(layer, x, torch_fn):
    xt = ds.tensor(x, requires_grad=True)
    y = layer(xt)
    X = torch.from_numpy(x).requires_grad_()
    Y = torch_fn(X)
    assert_close(y.numpy(), Y.detach().numpy(), what="output", **F32)
    gy = rand(*y.shape, seed=3)
    y.backward(gy)
    Y.backward(torch.from_numpy(gy))
    assert_close(xt.grad, X.grad.numpy(), what="input grad", **F32)


def _nchw(x):
    return x.permute(0, 3, 1, 2)


def _nhwc(x):
    return x.permute(0, 2, 3, 1)


@pytest.mark.parametrize("x", [rand(2, 8, 7, 3, seed=1), np.ones((1, 6, 6, 2), np.float32)])
def test_pooling_layers_vs_torch(x):
    _check(L.MaxPooling2D(), x, lambda X: _nhwc(TF.max_pool2d(_nchw(X), 2)))
    _check(L.AveragePooling2D(3, strides=2), x, lambda X: _nhwc(TF.avg_pool2d(_nchw(X), 3, 2)))
    _check(L.MaxPooling2D(3, strides=1, padding="same"), x,
           lambda X: _nhwc(TF.max_pool2d(_nchw(X), 3, 1, padding=1)))
    _check(L.AveragePooling2D(3, strides=1, padding="same"), x,
           lambda X: _nhwc(TF.avg_pool2d(_nchw(X), 3, 1, padding=1, count_include_pad=False)))
    _check(L.GlobalAveragePooling2D(), x, lambda X: X.mean(dim=(1, 2)))
    _check(L.GlobalMaxPooling2D(), x, lambda X: TF.adaptive_max_pool2d(_nchw(X), 1)[:, :, 0, 0])
    s = x[:, 0]
    _check(L.MaxPooling1D(3, strides=2), s,
           lambda X: TF.max_pool1d(X.permute(0, 2, 1), 3, 2).permute(0, 2, 1))
    _check(L.AveragePooling1D(2), s,
           lambda X: TF.avg_pool1d(X.permute(0, 2, 1), 2).permute(0, 2, 1))


def test_pooling_errors():
    with pytest.raises(ValueError, match=r"MaxPooling2D 'p'.*does not fit.*\(1, 1, 1, 3\)"):
        L.MaxPooling2D(name="p")(np.zeros((1, 1, 1, 3), np.float32))
    with pytest.raises(ValueError, match="channels-first"):
        L.MaxPooling2D(3)(np.zeros((2, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match="rank 4"):
        L.MaxPooling2D()(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ValueError, match="rank 3"):
        L.GlobalMaxPooling1D()(np.zeros((2, 8, 8, 1), np.float32))
    with pytest.raises(ValueError, match="padding"):
        L.AveragePooling2D(padding="causal")
    assert L.MaxPooling2D(2, padding="same")(L.Input((7, 7, 3))).shape == (None, 4, 4, 3)
