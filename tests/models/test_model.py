"""Functional Model graphs: equivalence with Sequential, multi-input/output, shared layers,
nested models, sub-models, structure errors and config round trips."""
import json

import numpy as np
import pytest
from oracle import rand

import deepsheet as ds
from deepsheet import layers as L


def _mlp_layers():
    return [L.Dense(5, activation="relu"), L.Dense(4, activation="tanh"), L.Dense(3)]


def _grads(model, x, y):
    for w in model.trainable_weights:
        w.grad = None
    out = model(x, training=True)
    loss = ds.losses.MeanSquaredError()(y, out)
    loss.backward()
    return out.numpy(), [w.grad.copy() for w in model.trainable_weights]


def test_sequential_equals_functional_outputs_and_gradients():
    x, y = rand(6, 4, seed=1), rand(6, 3, seed=2)
    seq = ds.Sequential([L.Dense(5, activation="relu", input_shape=(4,))] + _mlp_layers()[1:])
    inp = ds.Input((4,))
    h = inp
    for layer in _mlp_layers():
        h = layer(h)
    fun = ds.Model(inp, h)
    fun.set_weights(seq.get_weights())
    out_s, g_s = _grads(seq, x, y)
    out_f, g_f = _grads(fun, x, y)
    np.testing.assert_array_equal(out_s, out_f)
    assert len(g_s) == len(g_f) == 6
    for a, b in zip(g_s, g_f):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def _two_in_two_out():
    a, b = ds.Input((3,), name="a"), ds.Input((2,), name="b")
    shared = L.Dense(4, activation="relu", name="shared")
    ha, hb = shared(L.Dense(3, name="pa")(a)), shared(L.Dense(3, name="pb")(b))
    merged = L.Concatenate(name="cat")([ha, hb])
    reg = L.Dense(1, name="reg")(merged)
    cls = L.Dense(3, activation="softmax", name="cls")(L.Add(name="skip")([ha, hb]))
    return ds.Model([a, b], [reg, cls], name="two_by_two")


def test_multi_input_output_shared_layer_trains():
    model = _two_in_two_out()
    shared = model.get_layer("shared")
    # shared weights are listed once
    ids = [id(w) for w in model.trainable_weights]
    assert len(ids) == len(set(ids)) == 2 * 5
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(64, 3)), rng.normal(size=(64, 2))
    y_reg = (xa.sum(1, keepdims=True) - xb[:, :1]).astype(np.float32)
    y_cls = (xa[:, 0] > 0).astype(np.int64) + (xb[:, 0] > 0)
    model.compile(ds.optimizers.Adam(learning_rate=0.02),
                  loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  metrics={"cls": ["accuracy"]}, loss_weights=[1.0, 0.5])
    before = shared.get_weights()[0].copy()
    hist = model.fit({"a": xa, "b": xb}, [y_reg, y_cls], epochs=12, batch_size=16, verbose=0)
    h = hist.history
    assert set(h) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}
    assert h["loss"][-1] < 0.6 * h["loss"][0]
    np.testing.assert_allclose(h["loss"][0], h["reg_loss"][0] + 0.5 * h["cls_loss"][0],
                               rtol=1e-5)
    assert not np.array_equal(before, shared.get_weights()[0])
    out = model.predict([xa, xb], verbose=0)
    assert [o.shape for o in out] == [(64, 1), (64, 3)] and out[0].dtype == np.float32
    res = model.evaluate([xa, xb], {"reg": y_reg, "cls": y_cls}, verbose=0, return_dict=True)
    assert model.metrics_names == ["loss", "reg_loss", "cls_loss", "cls_accuracy"]
    assert res["cls_accuracy"] > 0.6


def test_nested_model_and_submodel_share_weights():
    inner_in = ds.Input((4,))
    inner = ds.Model(inner_in, L.Dense(3, activation="relu", name="conv2")(
        L.Dense(6, name="conv1")(inner_in)), name="inner")
    outer_in = ds.Input((4,))
    outer = ds.Model(outer_in, L.Dense(2, name="head")(inner(outer_in)), name="outer")
    assert [l.name for l in outer.layers][1:] == ["inner", "head"]
    assert len(outer.trainable_weights) == 6
    x = rand(5, 4, seed=3)
    with ds.no_grad():
        manual = outer.get_layer("head")(inner(x)).numpy()
    np.testing.assert_allclose(outer.predict(x, verbose=0), manual, rtol=1e-6)
    # feature extraction from an intermediate output
    feats = ds.Model(inner.input, inner.get_layer("conv1").output)
    assert feats.output.shape == (None, 6)
    conv1 = inner.get_layer("conv1")
    with ds.no_grad():
        np.testing.assert_allclose(feats.predict(x, verbose=0), conv1(x).numpy(), rtol=1e-6)
    conv1.kernel.data[...] = 0.0  # shared: the sub-model sees the change
    assert np.allclose(feats.predict(x, verbose=0), conv1.bias.numpy())
    # freezing the nested model freezes its layers only
    inner.trainable = False
    assert len(outer.trainable_weights) == 2 and len(outer.non_trainable_weights) == 4


def test_model_in_sequential_and_symbolic_shapes():
    block_in = ds.Input((3,))
    block = ds.Model(block_in, L.Dense(4)(block_in))
    seq = ds.Sequential([ds.Input((3,)), block, L.Dense(2)])
    assert seq.output.shape == (None, 2)
    assert seq.predict(rand(2, 3), verbose=0).shape == (2, 2)
    with pytest.raises(ValueError, match="expects input"):
        block(ds.Input((5,)))


def test_structure_errors():
    a, b = ds.Input((3,)), ds.Input((3,))
    out = L.Add()([a, b])
    with pytest.raises(ValueError, match="graph disconnected.*not among the model's inputs"):
        ds.Model(a, out)
    h = L.Dense(2)(a)
    with pytest.raises(ValueError, match="straight from deepsheet.Input"):
        ds.Model(h, L.Dense(2)(h))
    with pytest.raises(TypeError, match="symbolic tensors"):
        ds.Model(a, np.zeros(3))
    with pytest.raises(ValueError, match="unique"):
        ds.Model(a, L.Dense(2, name="same")(L.Dense(2, name="same")(a)))
    model = ds.Model([a, b], out)
    with pytest.raises(ValueError, match="has 2 inputs"):
        model(rand(2, 3))
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")
    assert model.get_layer(index=-1) is out.node.layer


def test_functional_config_round_trip_through_registry():
    model = _two_in_two_out()
    spec = json.loads(json.dumps(ds.layers.serialize(model)))
    assert spec["class_name"] == "Model"
    clone = ds.layers.deserialize(spec)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    clone.set_weights(model.get_weights())
    xs = [rand(4, 3, seed=1), rand(4, 2, seed=2)]
    for a, b in zip(clone.predict(xs, verbose=0), model.predict(xs, verbose=0)):
        np.testing.assert_array_equal(a, b)
    # nested model inside the config
    inner_in = ds.Input((3,))
    inner = ds.Model(inner_in, L.Dense(2)(inner_in), name="inner_m")
    o_in = ds.Input((3,))
    outer = ds.Model(o_in, L.Dense(1)(inner(o_in)), trainable=False)
    clone = ds.Model.from_config(json.loads(json.dumps(outer.get_config())))
    assert clone.get_layer("inner_m").count_params() == 8 and not clone.trainable
    with pytest.raises(ValueError, match="unknown layer class 'Nope'"):
        ds.layers.deserialize({"class_name": "Nope", "config": {}})
    bad = outer.get_config()
    bad["extra"] = 1
    with pytest.raises(ValueError, match="unknown keys"):
        ds.Model.from_config(bad)


def test_subclassed_model_trains():
    class TwoLayer(ds.Model):
        def __init__(self):
            super().__init__()
            self.hidden = L.Dense(8, activation="relu")
            self.out = L.Dense(1)

        def call(self, inputs, training=False):
            return self.out(self.hidden(inputs))

    model = TwoLayer()
    x = rand(32, 3, seed=4)
    y = x.sum(1, keepdims=True)
    model.compile(ds.optimizers.Adam(learning_rate=0.05), "mse")
    hist = model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    assert len(model.trainable_weights) == 4
    with pytest.raises(NotImplementedError, match="subclassed"):
        model.get_config()


def test_model_trainable_false_freezes_everything():
    model = _two_in_two_out()
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 10
    assert all(not w.requires_grad for w in model.weights)
    model.trainable = True
    assert len(model.trainable_weights) == 10


def test_eager_call_casts_float64_and_keeps_dtype():
    model = _two_in_two_out()
    out = model([np.zeros((2, 3)), np.zeros((2, 2))])
    assert [o.dtype for o in out] == [np.float32, np.float32]
