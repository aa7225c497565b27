"""Masked time steps count neither in the loss nor in the metrics (Keras semantics):
a padded, masked batch gives what the same data unpadded gives."""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet import layers


class PadMask(layers.Layer):
    """Steps whose features are all zero are padding (a stand-in for Masking)."""

    def call(self, inputs):
        return inputs * 1.0

    def compute_mask(self, inputs, mask=None):
        return (inputs.data != 0).any(axis=-1)


def _model(steps, seed=0):
    ds.manual_seed(seed)
    inp = ds.Input((steps, 4))
    h = PadMask()(inp)
    h = layers.Dense(8, activation="relu")(h)
    out = layers.Dense(3, activation="softmax")(h)
    model = ds.Model(inp, out)
    model.compile(ds.optimizers.SGD(learning_rate=0.5), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _data(n=6, steps=5, pad=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, 4)).astype(np.float32) + 0.1
    y = rng.integers(0, 3, size=(n, steps))
    xp = np.concatenate([x, np.zeros((n, pad, 4), np.float32)], axis=1)
    yp = np.concatenate([y, rng.integers(0, 3, size=(n, pad))], axis=1)
    return x, y, xp, yp


def test_masked_loss_and_metrics_equal_the_unpadded_ones():
    x, y, xp, yp = _data()
    plain, padded = _model(5), _model(8)
    padded.set_weights(plain.get_weights())
    assert padded(xp)._keras_mask.shape == (6, 8)
    a = plain.evaluate(x, y, verbose=0, return_dict=True)
    b = padded.evaluate(xp, yp, verbose=0, return_dict=True)
    np.testing.assert_allclose(b["loss"], a["loss"], rtol=1e-6)
    np.testing.assert_allclose(b["accuracy"], a["accuracy"], rtol=1e-6)
    w = np.linspace(0.5, 2.0, 6).astype(np.float32)  # per-sample weights extend over time
    a = plain.evaluate(x, y, sample_weight=w, verbose=0)
    b = padded.evaluate(xp, yp, sample_weight=w, verbose=0)
    np.testing.assert_allclose(b, a, rtol=1e-6)


def test_masked_training_steps_equal_the_unpadded_ones():
    x, y, xp, yp = _data(seed=1)
    plain, padded = _model(5), _model(8)
    padded.set_weights(plain.get_weights())
    ha = plain.fit(x, y, epochs=3, batch_size=3, shuffle=False, verbose=0).history
    hb = padded.fit(xp, yp, epochs=3, batch_size=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(hb["loss"], ha["loss"], rtol=1e-5)
    np.testing.assert_allclose(hb["accuracy"], ha["accuracy"], rtol=1e-6)
    for wa, wb in zip(plain.get_weights(), padded.get_weights()):
        np.testing.assert_allclose(wb, wa, rtol=1e-5, atol=1e-6)


def test_loss_objects_honour_the_prediction_mask_when_called_directly():
    """Keras 3's Loss.__call__ reads y_pred's mask too (custom train steps rely on it)."""
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 3, size=(2, 5))
    logits = ds.tensor(rng.normal(size=(2, 5, 3)).astype(np.float32))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], bool)
    logits._keras_mask = mask
    loss = ds.losses.SparseCategoricalCrossentropy(from_logits=True)
    per = ds.functional.sparse_categorical_crossentropy(y_true, logits.numpy(), from_logits=True)
    np.testing.assert_allclose(loss(y_true, logits).item(), per.numpy()[mask].mean(), rtol=1e-6)
    total = ds.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    np.testing.assert_allclose(total(y_true, logits).item(), per.numpy()[mask].sum(), rtol=1e-6)


def test_metrics_honour_the_prediction_mask_when_called_directly():
    rng = np.random.default_rng(4)
    y_true = rng.integers(0, 3, size=(2, 5))
    probs = ds.tensor(rng.dirichlet(np.ones(3), size=(2, 5)).astype(np.float32))
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], bool)
    probs._keras_mask = mask
    acc = ds.metrics.SparseCategoricalAccuracy()
    acc.update_state(y_true, probs)
    hits = probs.numpy().argmax(-1) == y_true
    assert acc.result() == pytest.approx(hits[mask].mean())
