"""Padding, cropping and upsampling layers: the layer contract, torch twins, errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from layer_contract import run_layer_test
from oracle import F32, assert_close, rand

import deepsheet as ds
from deepsheet import layers as L


@pytest.mark.parametrize("cls, kwargs, input_shape, out_shape", [
    (L.ZeroPadding2D, {}, (2, 3, 4, 2), (2, 5, 6, 2)),
    (L.ZeroPadding2D, dict(padding=((1, 0), (2, 3))), (2, 3, 4, 2), (2, 4, 9, 2)),
    (L.ReflectionPadding2D, dict(padding=(2, 1)), (2, 3, 4, 2), (2, 7, 6, 2)),
    (L.Cropping2D, dict(cropping=((1, 0), (1, 2))), (2, 5, 6, 2), (2, 4, 3, 2)),
    (L.Cropping2D, dict(cropping=1), (2, 5, 6, 2), (2, 3, 4, 2)),
    (L.UpSampling2D, {}, (2, 3, 4, 2), (2, 6, 8, 2)),
    (L.UpSampling2D, dict(size=(1, 3), interpolation="bilinear"), (2, 3, 4, 2), (2, 3, 12, 2)),
])
def test_reshaping_layers_contract(cls, kwargs, input_shape, out_shape):
    run_layer_test(cls, kwargs, input_shape=input_shape, expected_output_shape=out_shape,
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0)


def _nchw(x):
    return x.permute(0, 3, 1, 2)


def _nhwc(x):
    return x.permute(0, 2, 3, 1)


@pytest.mark.parametrize("layer, torch_fn", [
    (L.ZeroPadding2D(((1, 0), (2, 3))), lambda X: _nhwc(TF.pad(_nchw(X), (2, 3, 1, 0)))),
    (L.ReflectionPadding2D(((2, 1), (0, 3))),
     lambda X: _nhwc(TF.pad(_nchw(X), (0, 3, 2, 1), mode="reflect"))),
    (L.Cropping2D(((1, 2), (0, 1))), lambda X: X[:, 1:-2, 0:-1]),
    (L.UpSampling2D((2, 3)), lambda X: _nhwc(TF.interpolate(_nchw(X), scale_factor=(2, 3)))),
    (L.UpSampling2D(2, interpolation="bilinear"),
     lambda X: _nhwc(TF.interpolate(_nchw(X), scale_factor=2, mode="bilinear",
                                    align_corners=False))),
])
def test_reshaping_layers_vs_torch(layer, torch_fn):
    x = rand(2, 5, 4, 3, seed=1)
    xt = ds.tensor(x, requires_grad=True)
    y = layer(xt)
    X = torch.from_numpy(x).requires_grad_()
    Y = torch_fn(X)
    assert_close(y.numpy(), Y.detach().numpy(), what="output", **F32)
    gy = rand(*y.shape, seed=2)
    y.backward(gy)
    Y.backward(torch.from_numpy(gy))
    assert_close(xt.grad, X.grad.numpy(), what="input grad", **F32)


def test_reshaping_errors():
    with pytest.raises(ValueError, match=r"Cropping2D 'cr'.*whole height"):
        L.Cropping2D(((2, 3), (0, 0)), name="cr")(np.zeros((1, 5, 5, 1), np.float32))
    with pytest.raises(ValueError, match="smaller than the image"):
        L.ReflectionPadding2D(3)(np.zeros((1, 3, 5, 1), np.float32))
    with pytest.raises(ValueError, match="padding must be"):
        L.ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match="padding must be"):
        L.ZeroPadding2D(-1)
    with pytest.raises(ValueError, match="interpolation"):
        L.UpSampling2D(interpolation="area")
    with pytest.raises(ValueError, match="rank 4"):
        L.ZeroPadding2D()(np.zeros((2, 3, 4), np.float32))
    assert L.Cropping2D(1)(L.Input((None, 8, 2))).shape == (None, None, 6, 2)
