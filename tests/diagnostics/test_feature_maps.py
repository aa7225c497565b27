"""feature_maps through sub-models, conv_filters layouts and scaling, optional plots."""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet import layers
from deepsheet.diagnostics import conv_filters, feature_maps, plot_feature_maps, plot_filters


def _cnn():
    x = ds.Input((8, 8, 2), name="image")
    h = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(x)
    h = layers.BatchNormalization(name="bn")(h)
    h = layers.Dropout(0.5, name="drop")(h)
    h = layers.MaxPooling2D(2, name="pool")(h)
    h = layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw")(h)
    h = layers.Flatten(name="flat")(h)
    y = layers.Dense(3, activation="softmax", name="out")(h)
    return ds.Model(x, y)


def _x(n=5, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 8, 8, 2)).astype(np.float32)


def test_feature_maps_shapes_and_values():
    model = _cnn()
    # Move BN away from the identity so inference mode is visible.
    model.get_layer("bn").set_weights([np.full(4, 2.0), np.full(4, 0.5), np.full(4, 0.1),
                                       np.full(4, 4.0)])
    x = _x()
    maps = feature_maps(model, x, ["conv", "bn", "drop", "pool", "dw", "out"])
    assert list(maps) == ["conv", "bn", "drop", "pool", "dw", "out"]
    shapes = {k: v.shape for k, v in maps.items()}
    assert shapes == {"conv": (5, 8, 8, 4), "bn": (5, 8, 8, 4), "drop": (5, 8, 8, 4),
                      "pool": (5, 4, 4, 4), "dw": (5, 2, 2, 8), "out": (5, 3)}
    assert all(v.dtype == np.float32 and isinstance(v, np.ndarray) for v in maps.values())
    # Each map equals running the layers by hand in inference mode.
    conv = model.get_layer("conv")(x).numpy()
    np.testing.assert_allclose(maps["conv"], conv, rtol=1e-6)
    bn = 2.0 * (conv - 0.1) / np.sqrt(4.0 + 1e-3) + 0.5
    np.testing.assert_allclose(maps["bn"], bn, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(maps["drop"], maps["bn"])  # dropout is off
    np.testing.assert_allclose(maps["out"], model.predict(x, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(maps["out"].sum(axis=1), 1.0, rtol=1e-5)


def test_feature_maps_defaults_batches_and_tensors():
    model = _cnn()
    x = _x(7)
    every = feature_maps(model, x)
    assert list(every) == ["conv", "bn", "drop", "pool", "dw", "flat", "out"]
    chunked = feature_maps(model, ds.tensor(x), "pool", batch_size=3)
    assert list(chunked) == ["pool"]
    np.testing.assert_allclose(chunked["pool"], every["pool"], rtol=1e-6)
    one = feature_maps(model, x[:1], [model.get_layer("dw")])
    assert one["dw"].shape == (1, 2, 2, 8)


def test_feature_maps_sequential():
    seq = ds.Sequential([layers.Conv2D(3, 3, input_shape=(6, 6, 1), name="c"),
                         layers.GlobalAveragePooling2D(name="g")])
    x = np.random.default_rng(1).standard_normal((2, 6, 6, 1)).astype(np.float32)
    maps = feature_maps(seq, x, ["c", "g"])
    assert maps["c"].shape == (2, 4, 4, 3)
    np.testing.assert_allclose(maps["g"], maps["c"].mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)


def test_feature_maps_errors():
    model = _cnn()
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        feature_maps(model, _x(), ["nope"])
    with pytest.raises(ValueError, match="batch_size"):
        feature_maps(model, _x(), "conv", batch_size=0)
    with pytest.raises(ValueError, match="not a layer of model"):
        feature_maps(model, _x(), [layers.Dense(2)])
    unbuilt = ds.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="symbolic graph"):
        feature_maps(unbuilt, np.zeros((1, 3), np.float32))


def test_conv_filters_layouts_and_scaling():
    model = _cnn()
    kernel = model.get_layer("conv").get_weights()[0]            # (3, 3, 2, 4)
    raw = conv_filters(model, "conv", normalize=None)
    assert raw.shape == (4, 3, 3, 2) and raw.dtype == np.float32
    np.testing.assert_array_equal(raw[1], kernel[..., 1])
    scaled = conv_filters(model.get_layer("conv"))
    assert scaled.shape == (4, 3, 3, 2)
    for f in range(4):  # every filter spans [0, 1] on its own
        assert scaled[f].min() == 0.0 and scaled[f].max() == pytest.approx(1.0)
        lo, hi = kernel[..., f].min(), kernel[..., f].max()
        np.testing.assert_allclose(scaled[f], (kernel[..., f] - lo) / (hi - lo), rtol=1e-5)
    glob = conv_filters(model, "conv", normalize="global")
    assert glob.min() == 0.0 and glob.max() == pytest.approx(1.0)
    # Default layer of a model: its first convolution.
    np.testing.assert_array_equal(conv_filters(model), scaled)

    dw = model.get_layer("dw").get_weights()[0]                  # (3, 3, 4, 2)
    w = conv_filters(model, "dw", normalize=None)
    assert w.shape == (8, 3, 3, 1)
    np.testing.assert_array_equal(w[2 * 1 + 1, ..., 0], dw[:, :, 1, 1])  # channel 1, copy 1

    flat = layers.Conv2D(2, 2, kernel_initializer="zeros")
    flat(np.zeros((1, 3, 3, 1), np.float32))
    np.testing.assert_array_equal(conv_filters(flat), np.full((2, 2, 2, 1), 0.5, np.float32))


def test_conv_filters_other_layouts_and_errors():
    c1 = layers.Conv1D(3, 5)
    c1(np.zeros((1, 9, 2), np.float32))
    assert conv_filters(c1, normalize=None).shape == (3, 1, 5, 2)
    ct = layers.Conv2DTranspose(3, 2)
    ct(np.zeros((1, 4, 4, 5), np.float32))                       # kernel (2, 2, 3, 5)
    w = conv_filters(ct, normalize=None)
    np.testing.assert_array_equal(w[2], ct.get_weights()[0][:, :, 2, :])
    with pytest.raises(ValueError, match="no convolution kernel"):
        conv_filters(_cnn(), "out")
    with pytest.raises(ValueError, match="normalize"):
        conv_filters(_cnn(), "conv", normalize="max")
    x = ds.Input((4,))
    with pytest.raises(ValueError, match="no convolution layer"):
        conv_filters(ds.Model(x, layers.Dense(2)(x)))


def test_plots():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    model = _cnn()
    maps = feature_maps(model, _x(2), "conv")["conv"]
    fig = plot_feature_maps(maps, sample=1, ncols=2)
    assert len([a for a in fig.axes if a.images]) == 4
    fig2 = plot_filters(conv_filters(model, "conv"), ncols=3)
    assert len([a for a in fig2.axes if a.images]) == 4
    plt.close("all")
    with pytest.raises(ValueError, match="plot_filters"):
        plot_filters(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="plot_feature_maps"):
        plot_feature_maps(np.zeros((3, 3)))
