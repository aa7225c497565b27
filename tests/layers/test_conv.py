"""Convolution layers: the layer contract, torch twins with copied weights, shapes and errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from layer_contract import run_layer_test
from oracle import F32, assert_close, rand

import deepsheet as ds
from deepsheet import layers as L


# ------------------------------------------------------------------ contract
@pytest.mark.parametrize("cls, kwargs, input_shape, out_shape, n_w", [
    (L.Conv2D, dict(filters=4, kernel_size=3), (2, 6, 5, 3), (2, 4, 3, 4), 2),
    (L.Conv2D, dict(filters=4, kernel_size=(2, 3), strides=2, padding="same", activation="relu",
                    kernel_regularizer="l2"), (2, 5, 6, 3), (2, 3, 3, 4), 2),
    (L.Conv2D, dict(filters=4, kernel_size=3, dilation_rate=2, groups=2, use_bias=False,
                    kernel_initializer="he_normal"), (1, 7, 7, 4), (1, 3, 3, 4), 1),
    (L.Conv1D, dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2), (2, 8, 2),
     (2, 8, 3), 2),
    (L.Conv1D, dict(filters=3, kernel_size=2, strides=2, activation="tanh"), (2, 9, 2),
     (2, 4, 3), 2),
    (L.DepthwiseConv2D, dict(kernel_size=3, padding="same", depth_multiplier=2), (2, 5, 5, 3),
     (2, 5, 5, 6), 2),
    (L.SeparableConv2D, dict(filters=5, kernel_size=3, strides=2), (2, 7, 7, 3), (2, 3, 3, 5), 3),
    (L.Conv2DTranspose, dict(filters=2, kernel_size=3, strides=2, padding="same"), (2, 3, 4, 3),
     (2, 6, 8, 2), 2),
    (L.Conv2DTranspose, dict(filters=2, kernel_size=3, strides=2, output_padding=1), (1, 3, 3, 2),
     (1, 8, 8, 2), 2),
])
def test_conv_layers_contract(cls, kwargs, input_shape, out_shape, n_w):
    run_layer_test(cls, kwargs, input_shape=input_shape, expected_output_shape=out_shape,
                   expected_num_trainable_weights=n_w, expected_num_non_trainable_weights=0)


def test_sheet_1x1_conv_runs_as_written():
    layer = L.Conv2D(32, (1, 1), activation="relu", input_shape=(32, 32, 3))
    x = rand(2, 32, 32, 3)
    y = layer(x).numpy()
    assert y.shape == (2, 32, 32, 32)
    k = layer.kernel.numpy()[0, 0]
    np.testing.assert_allclose(y, np.maximum(x @ k, 0), rtol=1e-5, atol=1e-6)


def test_default_names_follow_keras():
    ds.layers.base.reset_names()
    assert L.Conv2D(2, 3).name == "conv2d" and L.Conv2D(2, 3).name == "conv2d_1"
    assert L.Conv2DTranspose(2, 3).name == "conv2d_transpose"


# ------------------------------------------------------------------ torch twins
def _twin_check(layer, x, torch_fn, torch_params):
    """Forward and every gradient (input and each weight) against a torch function."""
    xt = ds.tensor(x, requires_grad=True)
    y = layer(xt)
    X = torch.from_numpy(x).requires_grad_()
    Y = torch_fn(X)
    assert_close(y.numpy(), Y.detach().numpy(), what="output", **F32)
    gy = rand(*y.shape, seed=11)
    y.backward(gy)
    Y.backward(torch.from_numpy(gy))
    assert_close(xt.grad, X.grad.numpy(), what="input grad", **F32)
    for w, (tp, to_ours) in zip(layer.trainable_weights, torch_params):
        assert_close(w.grad, to_ours(tp.grad).numpy(), what=f"grad {w.name}", **F32)


def _nchw(x):
    return x.permute(0, 3, 1, 2)


def _nhwc(x):
    return x.permute(0, 2, 3, 1)


def _randomize(layer):
    layer.set_weights([rand(*w.shape, seed=20 + i, low=-0.5, high=0.5)
                       for i, w in enumerate(layer.get_weights())])


@pytest.mark.parametrize("kwargs, pads", [
    (dict(kernel_size=3, padding="same"), (1, 1, 1, 1)),
    (dict(kernel_size=3, strides=2, padding="same"), (0, 1, 0, 1)),   # Keras: extra at the end
    (dict(kernel_size=(2, 4), padding="same", dilation_rate=(2, 1)), (1, 1, 1, 2)),
    (dict(kernel_size=3, groups=2, activation="relu"), (0, 0, 0, 0)),
])
def test_conv2d_layer_vs_torch(kwargs, pads):
    layer = L.Conv2D(4, **kwargs)
    x = rand(2, 6, 6, 4, seed=1)
    layer(x)
    _randomize(layer)
    t, b, l, r = pads
    conv = torch.nn.Conv2d(4, 4, layer.kernel_size, stride=layer.strides,
                           dilation=layer.dilation_rate, groups=layer.groups)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(layer.kernel.numpy().transpose(3, 2, 0, 1)))
        conv.bias.copy_(torch.from_numpy(layer.bias.numpy()))
    act = torch.relu if kwargs.get("activation") == "relu" else (lambda v: v)
    _twin_check(layer, x, lambda X: _nhwc(act(conv(TF.pad(_nchw(X), (l, r, t, b))))),
                [(conv.weight, lambda g: g.permute(2, 3, 1, 0)), (conv.bias, lambda g: g)])


def test_conv1d_layer_vs_torch_causal():
    layer = L.Conv1D(3, 3, padding="causal", dilation_rate=2)
    x = rand(2, 9, 2, seed=1)
    layer(x)
    _randomize(layer)
    conv = torch.nn.Conv1d(2, 3, 3, dilation=2)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(layer.kernel.numpy().transpose(2, 1, 0)))
        conv.bias.copy_(torch.from_numpy(layer.bias.numpy()))
    _twin_check(layer, x, lambda X: conv(TF.pad(X.permute(0, 2, 1), (4, 0))).permute(0, 2, 1),
                [(conv.weight, lambda g: g.permute(2, 1, 0)), (conv.bias, lambda g: g)])


def test_depthwise_and_separable_layers_vs_torch():
    x = rand(2, 7, 7, 3, seed=1)
    dw = L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2)
    dw(x)
    _randomize(dw)
    tconv = torch.nn.Conv2d(3, 6, 3, stride=2, groups=3)
    with torch.no_grad():
        tconv.weight.copy_(torch.from_numpy(dw.kernel.numpy().reshape(3, 3, 6)
                                            .transpose(2, 0, 1)[:, None]))
        tconv.bias.copy_(torch.from_numpy(dw.bias.numpy()))
    _twin_check(dw, x, lambda X: _nhwc(tconv(TF.pad(_nchw(X), (1, 1, 1, 1)))),
                [(tconv.weight, lambda g: g[:, 0].permute(1, 2, 0).reshape(3, 3, 3, 2)),
                 (tconv.bias, lambda g: g)])

    sep = L.SeparableConv2D(4, 3, padding="same", depth_multiplier=2)
    sep(x)
    _randomize(sep)
    tdw = torch.nn.Conv2d(3, 6, 3, padding=1, groups=3, bias=False)
    tpw = torch.nn.Conv2d(6, 4, 1)
    with torch.no_grad():
        tdw.weight.copy_(torch.from_numpy(sep.kernel.numpy().reshape(3, 3, 6)
                                          .transpose(2, 0, 1)[:, None]))
        tpw.weight.copy_(torch.from_numpy(sep.pointwise_kernel.numpy().transpose(3, 2, 0, 1)))
        tpw.bias.copy_(torch.from_numpy(sep.bias.numpy()))
    _twin_check(sep, x, lambda X: _nhwc(tpw(tdw(_nchw(X)))),
                [(tdw.weight, lambda g: g[:, 0].permute(1, 2, 0).reshape(3, 3, 3, 2)),
                 (tpw.weight, lambda g: g.permute(2, 3, 1, 0)), (tpw.bias, lambda g: g)])


@pytest.mark.parametrize("kwargs, torch_kwargs", [
    (dict(strides=2, padding="same"), dict(stride=2, padding=0, output_padding=0)),   # crop 0
    (dict(strides=1, padding="same"), dict(stride=1, padding=1)),
    (dict(strides=2, padding="valid"), dict(stride=2)),
    (dict(strides=2, padding="same", output_padding=1), dict(stride=2, padding=0,
                                                            output_padding=0)),
])
def test_conv2d_transpose_layer_vs_torch(kwargs, torch_kwargs):
    layer = L.Conv2DTranspose(2, 3, **kwargs)
    x = rand(2, 4, 4, 3, seed=1)
    layer(x)
    _randomize(layer)
    deconv = torch.nn.ConvTranspose2d(3, 2, 3, **torch_kwargs)
    with torch.no_grad():
        deconv.weight.copy_(torch.from_numpy(layer.kernel.numpy().transpose(3, 2, 0, 1)))
        deconv.bias.copy_(torch.from_numpy(layer.bias.numpy()))
    expected = layer.compute_output_shape((None, 4, 4, 3))[1]

    def fn(X):
        y = deconv(_nchw(X))
        return _nhwc(y[:, :, :expected, :expected])  # Keras keeps the first rows of the full map
    _twin_check(layer, x, fn, [(deconv.weight, lambda g: g.permute(2, 3, 1, 0)),
                               (deconv.bias, lambda g: g)])


# ------------------------------------------------------------------ symbolic and errors
def test_symbolic_shapes_and_fully_convolutional_inputs():
    inp = L.Input((None, None, 3))
    assert L.Conv2D(8, 3, strides=2, padding="same")(inp).shape == (None, None, None, 8)
    assert L.Conv2D(8, 5)(L.Input((28, 28, 1))).shape == (None, 24, 24, 8)


def test_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Conv2D 'big'.*\(5, 5\) does not fit.*\(1, 3, 3, 2\)"):
        L.Conv2D(4, 5, name="big")(np.zeros((1, 3, 3, 2), np.float32))
    with pytest.raises(ValueError, match=r"Conv2D 'big2'.*does not fit"):
        L.Conv2D(4, 5, name="big2")(L.Input((3, 3, 2)))
    layer = L.Conv2D(4, 3, name="c")
    layer(np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"Conv2D 'c' was built for inputs with 3 channels.*"
                                         r"\(1, 8, 8, 1\)"):
        layer(np.zeros((1, 8, 8, 1), np.float32))
    for shape in [(2, 1, 28, 28), (2, 3, 32, 32)]:
        with pytest.raises(ValueError, match=r"channels-first.*transpose\(0, 2, 3, 1\)"):
            L.Conv2D(4, 3)(np.zeros(shape, np.float32))
    built = L.Conv2D(4, 3, name="b1")
    built(np.zeros((1, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match="channels-first"):
        built(np.zeros((2, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match="rank 4"):
        L.Conv2D(4, 3)(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ValueError, match="padding"):
        L.Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match="channels_last"):
        L.Conv2D(4, 3, data_format="channels_first")
    with pytest.raises(ValueError, match="divisible by groups"):
        L.Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match="filters"):
        L.Conv2D(0, 3)


def test_channels_last_images_that_look_thin_still_work():
    # (N, 3, 3, 64) is a genuine channels-last feature map: no false alarm.
    assert L.Conv2D(4, 3, padding="same")(np.zeros((1, 3, 3, 64), np.float32)).shape == \
        (1, 3, 3, 4)
