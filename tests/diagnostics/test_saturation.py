import numpy as np
import pytest

import deepsheet as ds
from deepsheet.diagnostics import activation_statistics, dead_relu_fraction


def test_sigmoid_saturates_and_he_keeps_relu_variance():
    s = activation_statistics(depth=10, width=64, n=128)
    assert set(s) == {(a, i) for a in ("sigmoid", "tanh", "relu")
                      for i in ("glorot_normal", "he_normal")}
    sig = s["sigmoid", "glorot_normal"]
    # the vanishing gradient: sigmoid's derivative <= 1/4 shrinks it layer after layer
    assert sig.gradient_std[0] < 1e-3 * sig.gradient_std[-1]
    tanh = s["tanh", "glorot_normal"]
    assert tanh.gradient_std[0] / tanh.gradient_std[-1] > 1e3 * sig.gradient_std[0] / sig.gradient_std[-1]
    relu_x, relu_he = s["relu", "glorot_normal"], s["relu", "he_normal"]
    # Xavier halves ReLU's variance per layer (std ratio 2^-4.5 over 9 layers); He keeps it
    assert relu_x.activation_std[-1] < 0.1 * relu_x.activation_std[0]
    assert 0.5 < relu_he.activation_std[-1] / relu_he.activation_std[0] < 2.0
    assert np.all((relu_he.saturated > 0.3) & (relu_he.saturated < 0.7))   # ReLU off half the time


def test_dead_relu_fraction_counts_units_never_active():
    ds.manual_seed(0)
    model = ds.Sequential([ds.layers.Dense(8, activation="relu", input_shape=(4,), name="h"),
                           ds.layers.Dense(2)])
    model.build((None, 4)) if not model.built else None
    kernel, bias = model.get_layer("h").get_weights()
    bias[[1, 4, 6]] = -1e3      # these three can never fire
    model.get_layer("h").set_weights([kernel, bias])
    x = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    assert dead_relu_fraction(model, x) == {"h": pytest.approx(3 / 8)}
    with pytest.raises(ValueError, match="no ReLU layer"):
        dead_relu_fraction(ds.Sequential([ds.layers.Dense(2, input_shape=(3,))]), x[:, :3])
