"""Core layers: the layer contract, Dense against torch.nn.Linear, shapes, dropout, errors."""
import math

import numpy as np
import pytest
import torch
from layer_contract import run_layer_test
from oracle import F32, assert_close, rand

import deepsheet as ds
from deepsheet import layers as L


# ------------------------------------------------------------------ contract
@pytest.mark.parametrize("kwargs,input_shape,out_shape", [
    (dict(units=4), (2, 3), (2, 4)),
    (dict(units=4, activation="relu"), (2, 3), (2, 4)),
    (dict(units=2, activation="softmax", use_bias=False), (3, 2, 5), (3, 2, 2)),
    (dict(units=3, activation="tanh", kernel_initializer="he_normal",
          bias_initializer=ds.init.Constant(0.1), kernel_regularizer="l2",
          bias_regularizer=ds.regularizers.L1L2(0.01, 0.02)), (4, 5), (4, 3)),
])
def test_dense_contract(kwargs, input_shape, out_shape):
    n_w = 2 if kwargs.get("use_bias", True) else 1
    run_layer_test(L.Dense, kwargs, input_shape=input_shape, expected_output_shape=out_shape,
                   expected_num_trainable_weights=n_w, expected_num_non_trainable_weights=0)


@pytest.mark.parametrize("cls,kwargs,input_shape,out_shape", [
    (L.Activation, dict(activation="sigmoid"), (2, 3), (2, 3)),
    (L.Activation, dict(activation="linear"), (2, 3), (2, 3)),
    (L.Flatten, {}, (2, 3, 4, 2), (2, 24)),
    (L.Flatten, {}, (2, 5), (2, 5)),
    (L.Reshape, dict(target_shape=(3, -1)), (2, 12), (2, 3, 4)),
    (L.Reshape, dict(target_shape=(2, 2, 3)), (2, 3, 4), (2, 2, 2, 3)),
    (L.Dropout, dict(rate=0.3), (4, 5), (4, 5)),
    (L.Dropout, dict(rate=0.5, noise_shape=[None, 1, 3], seed=3), (2, 4, 3), (2, 4, 3)),
    (L.Identity, {}, (2, 3), (2, 3)),
    (L.RepeatVector, dict(n=3), (2, 4), (2, 3, 4)),
])
def test_weightless_layers_contract(cls, kwargs, input_shape, out_shape):
    run_layer_test(cls, kwargs, input_shape=input_shape, expected_output_shape=out_shape,
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                   compare_training=cls is not L.Dropout)


# ------------------------------------------------------------------ Dense vs torch
@pytest.mark.parametrize("xshape", [(5, 3), (2, 4, 3), (2, 2, 2, 3)])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
def test_dense_vs_torch_linear(xshape, use_bias, activation):
    layer = L.Dense(4, activation=activation, use_bias=use_bias)
    x_np = rand(*xshape, seed=1)
    x = ds.tensor(x_np, requires_grad=True)
    layer(x_np)  # build
    lin = torch.nn.Linear(3, 4, bias=use_bias)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(layer.kernel.numpy().T))
        if use_bias:
            layer.bias.data[...] = rand(4, seed=5)  # nonzero bias so it is tested
            lin.bias.copy_(torch.from_numpy(layer.bias.numpy()))
    y = layer(x)
    xt = torch.from_numpy(x_np.copy()).requires_grad_(True)
    yt = lin(xt)
    yt = {None: yt, "relu": torch.relu(yt), "tanh": torch.tanh(yt)}[activation]
    assert_close(y.numpy(), yt.detach().numpy(), **F32, what="output")
    assert y.dtype == np.float32
    g = rand(*y.shape, seed=9)
    y.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(x.grad, xt.grad.numpy(), **F32, what="dx")
    assert_close(layer.kernel.grad, lin.weight.grad.numpy().T, **F32, what="dW")
    if use_bias:
        assert_close(layer.bias.grad, lin.bias.grad.numpy(), **F32, what="db")


def test_dense_relu_is_one_fused_node_and_softmax_keeps_logits():
    x = ds.tensor(rand(3, 4))
    layer = L.Dense(2, activation="relu")
    y = layer(x)
    # relu fused: the output's node is the dense node itself, fed by x, kernel and bias
    assert type(y._ctx).__name__ == "DenseOp" and y._ctx.relu
    assert y._ctx.parents[0] is x and y._ctx.parents[1] is layer.kernel
    assert (y.numpy() >= 0).all()
    p = L.Dense(3, activation="softmax")(x)
    assert p._logits is not None and p._logits.shape == (3, 3)
    np.testing.assert_allclose(p.numpy().sum(-1), 1.0, rtol=1e-6)


def test_dense_defaults_keras():
    layer = L.Dense(50)
    layer(np.zeros((1, 100), np.float32))
    k, b = layer.get_weights()
    assert k.shape == (100, 50) and b.shape == (50,) and not b.any()
    limit = math.sqrt(6 / 150)
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.9 * limit
    assert layer.get_config()["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert layer.get_config()["activation"] == "linear"


def test_dense_first_layer_skips_data_gradient():
    layer = L.Dense(3)
    y = layer(rand(4, 2))
    assert y._ctx.w is None  # kernel not kept: no GEMM for dL/dx
    y.sum().backward()
    assert layer.kernel.grad is not None


def test_dense_regularizer_losses():
    layer = L.Dense(3, kernel_regularizer=ds.regularizers.L2(0.1), bias_regularizer="l1",
                    bias_initializer=ds.init.Constant(-0.5))
    layer(rand(2, 4))
    losses = layer.losses
    assert len(losses) == 2
    k = layer.kernel.numpy()
    assert losses[0].item() == pytest.approx(0.1 * float((k * k).sum()), rel=1e-5)
    assert losses[1].item() == pytest.approx(0.01 * 1.5, rel=1e-5)
    losses[0].backward()
    np.testing.assert_allclose(layer.kernel.grad, 0.2 * k, rtol=1e-5)


def test_dense_casts_integer_and_float64_inputs():
    layer = L.Dense(2)
    assert layer(np.arange(6).reshape(2, 3)).dtype == np.float32
    assert layer(np.ones((2, 3))).dtype == np.float32


def test_dense_symbolic():
    x = ds.Input((5, 7))
    y = L.Dense(3)(x)
    assert y.shape == (None, 5, 3)


def test_frozen_dense_has_no_trainable_weights():
    layer = L.Dense(2)
    layer(rand(1, 3))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    y = layer(ds.tensor(rand(2, 3), requires_grad=True))
    y.sum().backward()
    assert layer.kernel.grad is None


# ------------------------------------------------------------------ Dense errors
def test_dense_last_dim_mismatch_names_layer_and_shapes():
    layer = L.Dense(4, name="dense_x")
    layer(rand(32, 128))
    with pytest.raises(ValueError, match=r"Dense 'dense_x' expects inputs with last dimension "
                                         r"128, got \(32, 64\)"):
        layer(rand(32, 64))
    with pytest.raises(ValueError, match="last dimension 128"):
        layer(ds.Input((64,)))


def test_dense_suggests_flatten_for_images():
    layer = L.Dense(10, name="head")
    layer(rand(2, 784))
    with pytest.raises(ValueError, match=r"got \(2, 28, 28\).*28 x 28 = 784.*Flatten\(\)"):
        layer(rand(2, 28, 28))
    with pytest.raises(ValueError, match="Flatten"):
        layer(ds.Input((28, 28, 1)))
    with pytest.raises(ValueError) as info:  # not a flattening mistake: no suggestion
        layer(rand(2, 3, 5))
    assert "Flatten" not in str(info.value)


@pytest.mark.parametrize("kwargs,match", [
    (dict(units=0), "units must be a positive integer"),
    (dict(units=2.5), "units must be a positive integer"),
    (dict(units=2, activation="relux"), "unknown activation 'relux'.*softmax"),
    (dict(units=2, kernel_initializer="glorot"), "unknown initializer"),
    (dict(units=2, kernel_regularizer="l3"), "unknown regularizer"),
])
def test_dense_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.Dense(**kwargs)


def test_dense_rank1_input_and_custom_activation_config():
    with pytest.raises(ValueError, match="rank >= 2"):
        L.Dense(2)(rand(3))
    layer = L.Dense(2, activation=lambda t: t * 2.0)
    layer(rand(1, 2))
    with pytest.raises(ValueError, match="custom callable"):
        layer.get_config()


# ------------------------------------------------------------------ Flatten / Reshape
def test_flatten_keeps_batch_and_order():
    x = rand(2, 3, 4, 5)
    y = L.Flatten()(x)
    np.testing.assert_array_equal(y.numpy(), x.reshape(2, -1))
    assert L.Flatten()(rand(3)).shape == (3, 1)
    assert L.Flatten()(ds.Input((None, 4))).shape == (None, None)
    assert L.Flatten()(np.zeros((0, 3, 2), np.float32)).shape == (0, 6)


def test_reshape_errors_and_symbolic():
    with pytest.raises(ValueError, match="at most one -1"):
        L.Reshape((-1, -1))
    with pytest.raises(ValueError, match="positive sizes"):
        L.Reshape((0, 3))
    with pytest.raises(ValueError, match=r"Reshape 'r' cannot reshape samples of shape \(10,\) "
                                         r"\(10 values\) to \(3, -1\)"):
        L.Reshape((3, -1), name="r")(rand(2, 10))
    with pytest.raises(ValueError, match="cannot reshape"):
        L.Reshape((4, 4))(ds.Input((10,)))
    assert L.Reshape((5, -1))(ds.Input((10,))).shape == (None, 5, 2)
    assert L.Reshape((-1, 2))(ds.Input((None, 2))).shape == (None, None, 2)


# ------------------------------------------------------------------ Dropout
def test_dropout_layer_training_and_inference():
    layer = L.Dropout(0.25)
    x = np.ones((300, 400), np.float32)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    y = layer(x, training=True).numpy()
    assert abs((y == 0).mean() - 0.25) < 0.006  # > 5 standard errors (0.0011)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75], rtol=1e-6)
    assert y.dtype == np.float32


def test_dropout_layer_reproducible():
    x = np.ones((10, 10), np.float32)
    ds.manual_seed(11)
    a = L.Dropout(0.5)(x, training=True).numpy()
    ds.manual_seed(11)
    np.testing.assert_array_equal(a, L.Dropout(0.5)(x, training=True).numpy())
    s1, s2 = L.Dropout(0.5, seed=4), L.Dropout(0.5, seed=4)
    a1, a2 = s1(x, training=True).numpy(), s2(x, training=True).numpy()
    np.testing.assert_array_equal(a1, a2)
    assert not np.array_equal(a1, s1(x, training=True).numpy())  # fresh mask per call


@pytest.mark.parametrize("rate", [-0.5, 1.0, 2.0, float("nan")])
def test_dropout_rate_outside_range(rate):
    with pytest.raises(ValueError, match=r"Dropout 'dropout\w*': rate must be in \[0, 1\)"):
        L.Dropout(rate)


def test_repeat_vector_gradient():
    x = ds.tensor(rand(2, 3), requires_grad=True)
    y = L.RepeatVector(4)(x)
    y.backward(np.ones((2, 4, 3), np.float32))
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 4.0))
