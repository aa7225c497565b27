"""A model that takes raw text: Input(dtype="string") -> TextVectorization -> ..., Keras's way.

predict on arrays and lists of str, fit on string arrays (batched and shuffled without a
float cast), save/load round trips of the vocabulary with identical predictions (JSON +
safetensors, no pickle), Sequential([TextVectorization, ...]) with and without an Input,
and clear errors for strings fed to a numeric input and numbers fed to a text input.
"""
import json
import zipfile

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import layers

TEXTS = np.array(["a great film", "a terrible film", "great acting", "terrible plot",
                  "great great fun", "awful and dull"])
Y = np.array([1, 0, 1, 0, 1, 0], np.float32)


def _vectorizer(length=4):
    tv = layers.TextVectorization(max_tokens=20, output_sequence_length=length)
    tv.adapt(TEXTS)
    return tv


def _text_model(shape=(1,)):
    ds.utils.set_random_seed(0)
    inp = ds.Input(shape=shape, dtype="string", name="review")
    ids = _vectorizer()(inp)
    x = layers.Embedding(20, 8, mask_zero=True)(ids)
    x = layers.GlobalAveragePooling1D()(x)
    model = ds.Model(inp, layers.Dense(1, activation="sigmoid")(x))
    model.compile("adam", "binary_crossentropy")
    return model, ids


@pytest.mark.parametrize("shape", [(1,), ()])
def test_functional_model_predicts_from_raw_text(shape):
    model, ids = _text_model(shape)
    assert ids.dtype == "int64" and ids.shape == (None, 4)
    assert model.input.dtype == "string"
    p = model.predict(TEXTS, verbose=0)
    assert p.shape == (6, 1) and p.dtype == np.float32
    np.testing.assert_array_equal(model.predict(list(TEXTS), verbose=0), p)
    np.testing.assert_array_equal(model.predict(TEXTS[:, None], verbose=0), p)
    # the same as vectorizing by hand and running the numeric rest of the model
    x = model.layers[1](TEXTS)
    for layer in model.layers[2:]:
        x = layer(x)
    np.testing.assert_allclose(x.numpy(), p, rtol=1e-6)
    assert model(["a great film"]).shape == (1, 1)
    assert model("a great film").shape == (1, 1)


def test_fit_on_string_arrays_learns_and_keeps_the_strings():
    model, _ = _text_model()
    before = model.evaluate(TEXTS, Y, verbose=0)
    hist = model.fit(TEXTS, Y, epochs=30, batch_size=2, shuffle=True, verbose=0,
                     validation_split=0.34)
    assert len(hist.history["loss"]) == 30 and "val_loss" in hist.history
    after = model.evaluate(TEXTS, Y, verbose=0)
    assert after < before
    assert model.layers[1].weights == []  # the vectorization has nothing to train


def test_save_and_load_round_trip_the_vocabulary(tmp_path):
    model, _ = _text_model()
    model.fit(TEXTS, Y, epochs=2, batch_size=3, verbose=0)
    path = tmp_path / "text.keras"
    model.save(path)
    names = zipfile.ZipFile(path).namelist()
    assert not any(n.endswith((".pkl", ".pickle", ".npy")) for n in names), names
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert "great" in json.dumps(config)  # the vocabulary lives in the JSON config
    loaded = ds.saving.load_model(path)
    assert loaded.input.dtype == "string"
    assert loaded.layers[1].get_vocabulary() == model.layers[1].get_vocabulary()
    np.testing.assert_array_equal(loaded.predict(TEXTS, verbose=0),
                                  model.predict(TEXTS, verbose=0))


@pytest.mark.parametrize("with_input", [False, True])
def test_sequential_starting_with_text_vectorization(tmp_path, with_input):
    ds.utils.set_random_seed(1)
    stack = [layers.TextVectorization(vocabulary=_vectorizer().get_vocabulary(),
                                      output_sequence_length=3),
             layers.Embedding(20, 4), layers.Flatten(), layers.Dense(1, activation="sigmoid")]
    if with_input:
        stack.insert(0, ds.Input(shape=(), dtype="string"))
    model = ds.Sequential(stack)
    model.compile("sgd", "binary_crossentropy")
    model.fit(TEXTS, Y, epochs=1, batch_size=4, verbose=0)
    p = model.predict(["great film", "dull plot"], verbose=0)
    assert p.shape == (2, 1)
    model.save(tmp_path / "seq.keras")
    loaded = ds.saving.load_model(tmp_path / "seq.keras")
    np.testing.assert_array_equal(loaded.predict(["great film", "dull plot"], verbose=0), p)


def test_strings_fed_to_a_numeric_input_name_it():
    inp = ds.Input((3,), name="features")
    model = ds.Model(inp, layers.Dense(1)(inp))
    for bad in (TEXTS, list(TEXTS)):
        with pytest.raises(TypeError, match=r"input 'features' takes float32, got strings.*"
                                            r"dtype='string'"):
            model.predict(bad, verbose=0)
    with pytest.raises(TypeError, match="strings reached a layer that takes numbers"):
        model(TEXTS)


def test_numbers_fed_to_a_text_input_name_it():
    model, _ = _text_model()
    for bad in (np.ones((2, 1), np.float32), [[1.0], [2.0]], np.arange(3)):
        with pytest.raises(TypeError, match=r"input 'review' takes strings .*got (float|int)"):
            model.predict(bad, verbose=0)
    with pytest.raises(TypeError, match="input 'review' takes strings"):
        model.fit(np.ones((6, 1)), Y, verbose=0)


def test_text_vectorization_on_a_numeric_symbolic_input_is_refused():
    with pytest.raises(TypeError, match=r"TextVectorization .* takes text.*dtype='string'"):
        _vectorizer()(ds.Input((4,), name="numbers"))
