"""Sequential: building from input_shape, an Input, or the first batch; add/pop; config."""
import json

import numpy as np
import pytest
from oracle import rand

import deepsheet as ds
from deepsheet import layers as L


def test_input_shape_builds_at_once():
    model = ds.Sequential([L.Dense(4, input_shape=(3,), name="d1"), L.Dense(2, name="d2")])
    assert model.built and model.output.shape == (None, 2) and model.input.shape == (None, 3)
    assert [l.name for l in model.layers] == ["d1", "d2"]
    assert model.get_layer("d2").output.shape == (None, 2)
    feats = ds.Model(model.input, model.get_layer("d1").output)
    x = rand(3, 3)
    with ds.no_grad():
        np.testing.assert_array_equal(feats.predict(x, verbose=0), model.layers[0](x).numpy())


def test_input_first_and_add():
    model = ds.Sequential()
    model.add(ds.Input((3,)))
    model.add(L.Dense(4))
    assert model.output.shape == (None, 4)
    model.add(L.Dense(5))
    assert model.output.shape == (None, 5) and len(model.weights) == 4
    popped = model.pop()
    assert popped.units == 5 and model.output.shape == (None, 4) and len(model.weights) == 2
    with pytest.raises(ValueError, match="only come first"):
        model.add(ds.Input((3,)))
    with pytest.raises(TypeError, match="expects a Layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="already has a layer named"):
        model.add(L.Dense(2, name=model.layers[0].name))


def test_deferred_build_on_first_batch():
    model = ds.Sequential([L.Dense(4), L.Dense(2)])
    assert not model.built
    lines = []
    model.summary(print_fn=lines.append)
    assert "not been built" in lines[1] and "input_shape" in lines[1]
    out = model(rand(5, 3))
    assert out.shape == (5, 2) and model.built and model.input.shape == (None, 3)
    assert model.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    model2 = ds.Sequential([L.Dense(4), L.Dense(2)])
    model2.build((None, 7))
    assert model2.output.shape == (None, 2) and model2.layers[0].kernel.shape == (7, 4)


def test_config_round_trip_keeps_input_and_trainable():
    model = ds.Sequential([L.Dense(4, activation="relu", input_shape=(3,)),
                           L.Dropout(0.5), L.Dense(2, activation="softmax")], name="seq")
    model.layers[0].trainable = False
    spec = json.loads(json.dumps(ds.layers.serialize(model)))
    assert spec["class_name"] == "Sequential"
    assert spec["config"]["layers"][0]["class_name"] == "InputLayer"
    clone = ds.layers.deserialize(spec)
    assert clone.built and clone.name == "seq" and not clone.layers[0].trainable
    clone.set_weights(model.get_weights())
    x = rand(4, 3)
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    # lazily built models describe the shape they were built with
    lazy = ds.Sequential([L.Dense(2)])
    lazy(rand(1, 6))
    assert ds.Sequential.from_config(lazy.get_config()).layers[0].kernel.shape == (6, 2)


def test_flat_model_given_images_suggests_flatten():
    model = ds.Sequential([L.Dense(4, input_shape=(784,))])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"Flatten\(\)"):
        model.fit(np.zeros((8, 28, 28), np.float32), np.zeros((8, 4)), verbose=0)
    with pytest.raises(ValueError, match="Flatten"):
        model.predict(np.zeros((2, 28, 28)), verbose=0)
    with pytest.raises(ValueError, match="Flatten"):  # eager calls: Dense itself says it
        model(np.zeros((2, 28, 28), np.float32))
