"""Values the training API used to accept silently: each is refused by name."""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet import layers


@pytest.fixture
def model():
    ds.manual_seed(0)
    m = ds.Sequential([layers.Input((3,)), layers.Dense(2)])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


X = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
Y = np.array([0, 1] * 4)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"steps_per_epoch": 0}, ValueError, r"steps_per_epoch must be None or an int >= 1, got 0"),
    ({"validation_split": "0.2"}, ValueError, r"validation_split must be a number in \[0, 1\), got '0.2'"),
    ({"validation_split": 1.0}, ValueError, r"validation_split must be a number in \[0, 1\)"),
    ({"initial_epoch": -1}, ValueError, r"initial_epoch must be an int >= 0, got -1"),
    ({"validation_freq": 0}, ValueError, r"validation_freq must be an int >= 1"),
    ({"class_weight": {"a": 1.0}}, ValueError, r"class_weight keys must be class indices.*'a'"),
    ({"class_weight": {0.5: 1.0}}, ValueError, r"class_weight keys must be class indices.*0.5"),
    ({"class_weight": {0: float("nan")}}, ValueError, r"class_weight\[0\] must be a finite"),
    ({"sample_weight": np.array([1, np.nan, 1, 1, 1, 1, 1, 1.0])}, ValueError,
     r"sample_weight holds 1 NaN or infinite value\(s\), the first at index 1"),
])
def test_fit_refuses(model, kwargs, error, match):
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(error, match=match):
        model.fit(X, Y, epochs=1, verbose=0, **kwargs)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_complex_strings_and_ragged_inputs(model):
    with pytest.raises(TypeError, match="x holds complex64 values; models take real numbers"):
        model.fit(X.astype(np.complex64), Y, verbose=0)
    with pytest.raises(TypeError, match="x holds complex128 values"):
        model.predict(X.astype(np.complex128), verbose=0)
    with pytest.raises(TypeError, match=r"takes float32, got strings \(dtype <U1\)"):
        model.predict(np.array([["a", "b", "c"]]), verbose=0)
    with pytest.raises(ValueError, match="x is a ragged list.*pad_sequences"):
        model.predict([[1.0, 2.0, 3.0], [1.0, 2.0]], verbose=0)


def test_evaluate_on_nothing(model):
    with pytest.raises(ValueError, match="evaluate got no samples"):
        model.evaluate(X[:0], Y[:0], verbose=0)


def test_the_same_calls_work_with_good_values(model):
    history = model.fit(X, Y, epochs=2, verbose=0, validation_split=0.25, initial_epoch=1,
                        class_weight={0: 1.0, 1: 2.0}, sample_weight=np.ones(8))
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(history.history["loss"]) == 1
    assert np.isfinite(model.evaluate(X, Y, verbose=0)).all()
