"""Layer calls as Keras 3 makes them: arguments passed through, training/mask only when
declared, keyword symbolic inputs as graph edges, several outputs, the mask protocol."""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet import layers


class Scale(layers.Layer):
    """A custom layer written without ``training``: ``call(self, inputs)``."""

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")

    def call(self, inputs):
        return inputs * self.w


class AddOther(layers.Layer):
    """``call(x, other=None, factor=1.0)``: a keyword tensor input and a keyword constant."""

    def call(self, inputs, other=None, factor=1.0):
        return inputs + other * factor if other is not None else inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class Pair(layers.Layer):
    """Two positional inputs, two outputs."""

    def call(self, a, b):
        return a + b, a * b


class SeesMask(layers.Layer):
    supports_masking = True

    def call(self, inputs, mask=None, training=None):
        self.seen = (None if mask is None else np.array(mask), training)
        return inputs * 1.0


class ZeroMask(layers.Layer):
    """A mask producer: steps whose features are all zero are padding."""

    def call(self, inputs):
        return inputs * 1.0

    def compute_mask(self, inputs, mask=None):
        data = inputs.data if hasattr(inputs, "data") else inputs
        return (data != 0).any(axis=-1)


def test_custom_layer_without_training_trains():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32))
    model = ds.Sequential([layers.Dense(1, input_shape=(3,)), Scale()])
    model.compile(ds.optimizers.SGD(learning_rate=0.1), "mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before / 2
    assert not np.allclose(model.layers[1].get_weights()[0], 1.0)  # Scale's weight trained


def test_positional_and_keyword_arguments_pass_through():
    a = np.ones((2, 3), np.float32)
    b = np.full((2, 3), 2.0, np.float32)
    s, p = Pair()(a, b)
    np.testing.assert_array_equal(s.numpy(), 3.0)
    np.testing.assert_array_equal(p.numpy(), 2.0)
    out = AddOther()(a, other=b, factor=3.0)
    np.testing.assert_array_equal(out.numpy(), 7.0)


def test_unknown_keyword_names_the_layer():
    layer = Scale(name="my_scale")
    with pytest.raises(TypeError, match=r"'my_scale'.*unexpected keyword.*\['colour'\]"):
        layer(np.ones((1, 2), np.float32), colour=3)
    with pytest.raises(TypeError, match="'dense_kw'"):
        layers.Dense(2, name="dense_kw")(ds.Input((3,)), initial_state=None)


def test_training_and_mask_passed_only_when_declared():
    # Scale.call takes neither: passing them must not break it.
    out = Scale()(np.ones((1, 2), np.float32), training=True, mask=np.ones((1,), bool))
    assert out.shape == (1, 2)
    seer = SeesMask()
    seer(np.ones((1, 2, 3), np.float32), training=True)
    assert seer.seen == (None, True)


def test_training_flag_reaches_sublayers_through_the_call_context():
    class Inner(layers.Layer):
        def call(self, inputs, training=None):
            self.flag = training
            return inputs

    class Outer(layers.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.inner = Inner()

        def call(self, inputs):  # no training=: the inner call inherits it
            return self.inner(inputs)

    outer = Outer()
    outer(np.ones((1, 2), np.float32), training=True)
    assert outer.inner.flag is True
    outer(np.ones((1, 2), np.float32))
    assert outer.inner.flag is False


def test_mask_travels_on_tensors_and_is_filled_from_the_input():
    x = np.zeros((2, 4, 3), np.float32)
    x[0, :3] = 1.0
    x[1, :1] = 2.0
    h = ZeroMask()(x)
    want = np.array([[1, 1, 1, 0], [1, 0, 0, 0]], bool)
    np.testing.assert_array_equal(h._keras_mask, want)
    seer = SeesMask()
    y = seer(h)
    np.testing.assert_array_equal(seer.seen[0], want)
    np.testing.assert_array_equal(y._keras_mask, want)    # supports_masking: passed through
    assert Scale()(h)._keras_mask is None                  # base layer: no mask
    seer(h, mask=np.ones((2, 4), bool))                    # an explicit mask wins
    assert seer.seen[0].all()


def test_symbolic_masks_and_masks_through_a_functional_model():
    inp = ds.Input((4, 3))
    h = ZeroMask()(inp)
    assert h._keras_mask is not None and h._keras_mask.shape == (None, 4)
    seer = SeesMask()
    out = seer(h)
    assert out._keras_mask is not None
    assert Scale()(out)._keras_mask is None
    model = ds.Model(inp, out)
    x = np.zeros((2, 4, 3), np.float32)
    x[0, :2] = 1.0
    y = model(x)
    np.testing.assert_array_equal(seer.seen[0], [[1, 1, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(y._keras_mask, [[1, 1, 0, 0], [0, 0, 0, 0]])


def _keyword_model():
    a = ds.Input((3,), name="a")
    b = ds.Input((3,), name="b")
    h = layers.Dense(3, name="d")(a)
    s, p = Pair(name="pair")(h, b)
    out = AddOther(name="add")(s, other=p, factor=0.5)
    return ds.Model([a, b], [out, p])


def test_keyword_symbolic_inputs_are_graph_edges():
    model = _keyword_model()
    assert [l.name for l in model.layers] == ["a", "b", "d", "pair", "add"]
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    out, p = model([xa, xb])
    h = xa.astype(np.float32) @ model.get_layer("d").get_weights()[0] \
        + model.get_layer("d").get_weights()[1]
    np.testing.assert_allclose(out.numpy(), (h + xb) + 0.5 * (h * xb), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p.numpy(), h * xb, rtol=1e-5, atol=1e-6)


def test_keyword_symbolic_inputs_survive_config_and_save_load(tmp_path):
    model = _keyword_model()
    rng = np.random.default_rng(2)
    xs = [rng.normal(size=(4, 3)).astype(np.float32) for _ in range(2)]
    want = model.predict(xs, verbose=0)
    clone = ds.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    for a, b in zip(clone.predict(xs, verbose=0), want):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    model.compile("adam", ["mse", "mse"])
    path = model.save(tmp_path / "kw")
    loaded = ds.load_model(path)
    node = loaded.get_layer("add")._inbound_nodes[-1]
    assert set(node.kwargs) == {"other", "factor"}
    for a, b in zip(loaded.predict(xs, verbose=0), want):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_old_configs_without_call_templates_still_load():
    model = _keyword_model()
    config = model.get_config()
    for spec in config["layers"]:
        for node in spec["inbound_nodes"]:
            call = node.pop("call")
            if spec["name"] == "d":  # the one-tensor call, as files stored it before
                assert call == {"args": [{"__tensor__": 0}], "kwargs": {}}
                node["list_input"], node["kwargs"] = False, {}
            else:
                node["call"] = call
    clone = ds.Model.from_config(config)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]


def test_masked_global_average_pooling_equals_the_unpadded_mean():
    emb = layers.Embedding(10, 4, mask_zero=True)
    ids = np.array([[3, 5, 0, 0], [7, 0, 0, 0]])
    pooled = layers.GlobalAveragePooling1D()(emb(ids))
    vectors = emb(ids).numpy()
    np.testing.assert_allclose(pooled.numpy()[0], vectors[0, :2].mean(0), rtol=1e-6)
    np.testing.assert_allclose(pooled.numpy()[1], vectors[1, :1].mean(0), rtol=1e-6)
    assert pooled._keras_mask is None
    # the gradient reaches only the real steps
    x = ds.tensor(np.random.default_rng(0).normal(size=(2, 4, 3)).astype(np.float32),
                  requires_grad=True)
    x._keras_mask = ids != 0
    layers.GlobalAveragePooling1D()(x).sum().backward()
    np.testing.assert_allclose(x.grad[0, :, 0], [0.5, 0.5, 0, 0])
    # in a functional text classifier the mask flows Embedding -> pooling by itself
    inp = ds.Input((4,), dtype="int64")
    model = ds.Model(inp, layers.GlobalAveragePooling1D()(emb(inp)))
    np.testing.assert_allclose(model.predict(ids, verbose=0), pooled.numpy(), rtol=1e-6)


def test_merge_layers_combine_masks_as_keras():
    a = ds.tensor(np.ones((2, 3, 2), np.float32))
    b = ds.tensor(np.ones((2, 3, 2), np.float32))
    a._keras_mask = np.array([[1, 1, 0], [1, 0, 0]], bool)
    b._keras_mask = np.array([[1, 0, 0], [1, 1, 1]], bool)
    np.testing.assert_array_equal(layers.Add()([a, b])._keras_mask, [[1, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(layers.Concatenate()([a, b])._keras_mask,
                                  [[1, 1, 0], [1, 1, 1]])                    # "any" (Keras)
    joined = layers.Concatenate(axis=1)([a, b])._keras_mask
    np.testing.assert_array_equal(joined, [[1, 1, 0, 1, 0, 0], [1, 0, 0, 1, 1, 1]])
    assert layers.Add()([ds.tensor(np.ones((2, 3, 2), np.float32)), b])._keras_mask is not None
