"""Streaming metrics: batch-by-batch results equal scikit-learn on the whole data."""
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error

import deepsheet as ds
from deepsheet import metrics as M


def _stream(metric, y_true, y_pred, batch=7, sample_weight=None):
    metric.reset_state()
    for i in range(0, len(y_true), batch):
        w = None if sample_weight is None else sample_weight[i:i + batch]
        metric.update_state(y_true[i:i + batch], y_pred[i:i + batch], sample_weight=w)
    return metric.result()


@pytest.fixture
def cls_data():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((50, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 50)
    return labels, logits, rng.uniform(0.1, 2.0, 50).astype(np.float32)


def test_sparse_categorical_accuracy_vs_sklearn(cls_data):
    y, p, w = cls_data
    assert _stream(M.SparseCategoricalAccuracy(), y, p) == pytest.approx(
        accuracy_score(y, p.argmax(1)))
    assert _stream(M.SparseCategoricalAccuracy(), y, p, sample_weight=w) == pytest.approx(
        accuracy_score(y, p.argmax(1), sample_weight=w), rel=1e-6)
    # (N, 1) labels and Tensor predictions are accepted
    assert _stream(M.SparseCategoricalAccuracy(), y[:, None], ds.tensor(p)) == pytest.approx(
        accuracy_score(y, p.argmax(1)))


def test_categorical_accuracy_vs_sklearn(cls_data):
    y, p, _ = cls_data
    onehot = np.eye(4, dtype=np.float32)[y]
    assert _stream(M.CategoricalAccuracy(), onehot, p) == pytest.approx(
        accuracy_score(y, p.argmax(1)))
    with pytest.raises(ValueError, match="one-hot"):
        M.CategoricalAccuracy().update_state(y, p)


@pytest.mark.parametrize("threshold", [0.5, 0.0, 0.8])
def test_binary_accuracy_threshold(threshold):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (40, 1)).astype(np.float32)
    p = rng.uniform(-1, 1, (40, 1)).astype(np.float32)
    expected = accuracy_score(y.ravel(), (p.ravel() > threshold).astype(np.float32))
    assert _stream(M.BinaryAccuracy(threshold=threshold), y, p) == pytest.approx(expected)


def test_regression_metrics_vs_sklearn():
    rng = np.random.default_rng(2)
    y = rng.standard_normal((30, 3)).astype(np.float32)
    p = rng.standard_normal((30, 3)).astype(np.float32)
    w = rng.uniform(0.1, 1, 30)
    assert _stream(M.MeanSquaredError(), y, p) == pytest.approx(mean_squared_error(y, p), rel=1e-6)
    assert _stream(M.MeanAbsoluteError(), y, p) == pytest.approx(mean_absolute_error(y, p),
                                                                  rel=1e-6)
    assert _stream(M.MeanSquaredError(), y, p, sample_weight=w) == pytest.approx(
        mean_squared_error(y, p, sample_weight=w), rel=1e-5)


def test_mean_and_reset():
    m = M.Mean()
    assert m.result() == 0.0
    m.update_state([1.0, 2.0])
    m.update_state(np.array([6.0]))
    assert m.result() == 3.0
    m.update_state([10.0], sample_weight=[0.0])
    assert m.result() == 3.0
    m.reset_state()
    assert m.result() == 0.0 and m.count == 0
    assert M.SparseCategoricalAccuracy()([1, 0], [[0.1, 0.9], [0.2, 0.8]]) == 0.5


@pytest.mark.parametrize("name,cls", [("accuracy", M.Accuracy), ("acc", M.Accuracy),
                                      ("sparse_categorical_accuracy", M.SparseCategoricalAccuracy),
                                      ("categorical_accuracy", M.CategoricalAccuracy),
                                      ("binary_accuracy", M.BinaryAccuracy),
                                      ("mse", M.MeanSquaredError), ("mae", M.MeanAbsoluteError),
                                      ("mean_squared_error", M.MeanSquaredError)])
def test_get_by_name_keeps_spelling(name, cls):
    m = M.get(name)
    assert type(m) is cls and m.name == name


def test_get_other_identifiers():
    m = M.BinaryAccuracy(threshold=0.3)
    assert M.get(m) is m
    assert isinstance(M.get(M.MeanAbsoluteError), M.MeanAbsoluteError)
    clone = M.get(M.serialize(m))
    assert type(clone) is M.BinaryAccuracy and clone.threshold == 0.3

    def hits(y_true, y_pred):
        return (y_true == y_pred).astype(np.float32)
    wrapped = M.get(hits)
    assert wrapped.name == "hits"
    assert wrapped([1, 2, 3], np.array([1, 0, 3])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        M.get("acuracy")
    with pytest.raises(ValueError, match="cannot interpret"):
        M.get(3)


def test_shape_mismatch_is_clear():
    with pytest.raises(ValueError, match="labels of shape"):
        M.SparseCategoricalAccuracy().update_state(np.zeros(3), np.zeros((4, 2)))
