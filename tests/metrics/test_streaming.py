"""Streaming precision/recall/F/AUC equal the array functions on the same data in uneven batches."""
import warnings

import numpy as np
import pytest

import deepsheet as ds
from deepsheet import metrics as dsm

BATCH_EDGES = [0, 7, 8, 31, 50, 97, 120]  # uneven batches, one of size 1


def _stream(metric, y_true, y_pred, w=None):
    metric.reset_state()
    for a, b in zip(BATCH_EDGES[:-1], BATCH_EDGES[1:]):
        metric.update_state(y_true[a:b], y_pred[a:b], None if w is None else w[a:b])
    return metric.result()


def _data(seed, k):
    rng = np.random.default_rng(seed)
    n = BATCH_EDGES[-1]
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.2 * np.eye(k)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    w = rng.random(n) * 2
    return y, logits.astype(np.float32), p.astype(np.float32), w


def _functions(y_true, y_hat, average, w):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dsm.UndefinedMetricWarning)
        return {"precision": dsm.precision_score(y_true, y_hat, average=average, sample_weight=w),
                "recall": dsm.recall_score(y_true, y_hat, average=average, sample_weight=w),
                "f1": dsm.f1_score(y_true, y_hat, average=average, sample_weight=w),
                "f2": dsm.fbeta_score(y_true, y_hat, beta=2.0, average=average, sample_weight=w)}


def _streamed(y_true, y_pred, w, **kw):
    return {"precision": _stream(dsm.Precision(**kw), y_true, y_pred, w),
            "recall": _stream(dsm.Recall(**kw), y_true, y_pred, w),
            "f1": _stream(dsm.F1Score(**kw), y_true, y_pred, w),
            "f2": _stream(dsm.FBetaScore(beta=2.0, **kw), y_true, y_pred, w)}


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_probabilities_and_logits(weighted):
    for seed in range(5):
        y, logits, p, w = _data(seed, 2)
        w = w if weighted else None
        prob = p[:, 1:]  # one sigmoid-like column
        expect = _functions(y, (prob[:, 0] > 0.5).astype(int), "binary", w)
        got = _streamed(y, prob, w)
        for key in expect:
            assert got[key] == pytest.approx(expect[key], rel=1e-12, abs=1e-15), key
        margin = (logits[:, 1] - logits[:, 0])  # logits: threshold 0 gives the same decisions
        got = _streamed(y.reshape(-1, 1).astype(np.float32), margin, w, threshold=0.0)
        for key in expect:
            assert got[key] == pytest.approx(expect[key], rel=1e-12, abs=1e-15), key
        auc = _stream(dsm.AUC(), y, prob, w)
        assert auc == pytest.approx(dsm.roc_auc_score(y, prob[:, 0], sample_weight=w), rel=1e-12)
        assert _stream(dsm.AUC(), y, margin, w) == pytest.approx(auc, rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("average", ["auto", "micro", "weighted"])
def test_multiclass_softmax_is_macro_over_argmax(weighted, average):
    for seed in range(5):
        k = 3 + seed % 3
        y, logits, p, w = _data(10 + seed, k)
        w = w if weighted else None
        y_hat = p.argmax(1)
        if seed == 1:  # a class never true nor predicted: left out like the functions do
            keep = (y != k - 1) & (y_hat != k - 1)
            y, p, y_hat = y[keep], p[keep], y_hat[keep]
            w = None if w is None else w[keep]
            y, p, y_hat = (np.resize(a, (BATCH_EDGES[-1],) + a.shape[1:]) for a in (y, p, y_hat))
            w = None if w is None else np.resize(w, BATCH_EDGES[-1])
        expect = _functions(y, y_hat, "macro" if average == "auto" else average, w)
        targets = np.eye(k)[y] if seed % 2 else y  # one-hot or integer labels
        got = _streamed(targets, p, w, average=average)
        for key in expect:
            assert got[key] == pytest.approx(expect[key], rel=1e-12, abs=1e-15), (key, seed)
        if average == "auto" and seed != 1:
            auc = _stream(dsm.AUC(), targets, p, w)
            assert auc == pytest.approx(dsm.roc_auc_score(y, p.astype(np.float64),
                                                          multi_class="ovr", sample_weight=w),
                                        rel=1e-12)
            assert _stream(dsm.AUC(), targets, logits, w) == pytest.approx(auc, rel=1e-6)


def test_state_lifecycle_registry_and_config():
    m = dsm.get("precision")
    assert isinstance(m, dsm.Precision) and m.result() == 0.0
    assert isinstance(dsm.get("recall"), dsm.Recall) and isinstance(dsm.get("auc"), dsm.AUC)
    assert isinstance(dsm.get("f1_score"), dsm.F1Score)
    m.update_state(ds.tensor(np.array([1, 0, 1])), ds.tensor(np.array([0.9, 0.6, 0.7])))
    assert m.result() == pytest.approx(2 / 3)
    assert m(np.array([0]), np.array([0.8])) == pytest.approx(0.5)  # call = update + result
    m.reset_state()
    assert m.result() == 0.0
    f = dsm.FBetaScore(beta=0.5, threshold=0.3, average="macro", name="fhalf")
    clone = dsm.FBetaScore.from_config(f.get_config())
    assert clone.get_config() == f.get_config() and clone.name == "fhalf"
    assert dsm.F1Score.from_config(dsm.F1Score().get_config()).beta == 1.0
    a = dsm.AUC(threshold=0.0)
    assert dsm.AUC.from_config(a.get_config()).threshold == 0.0


def test_bad_input():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        dsm.Recall().update_state([0, 3], np.eye(3)[:2])
    with pytest.raises(ValueError, match="2 labels for 3 predictions"):
        dsm.Precision().update_state([0, 1], np.eye(3))
    m = dsm.F1Score()
    m.update_state([0, 1], np.eye(2))
    with pytest.raises(ValueError, match="from 2 to 3 classes"):
        m.update_state([0, 1, 2], np.eye(3))
    with pytest.raises(ValueError, match="average"):
        dsm.Precision(average="samples")


def test_compile_by_name_matches_the_functions_on_predictions():
    """metrics=["precision", "recall", "auc", "f1_score"] in fit/evaluate, probabilities or logits."""
    from deepsheet import layers

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4)).astype(np.float32)
    y_bin = (X[:, 0] + 0.5 * X[:, 1] > 0.3).astype(np.float32)
    y_cls = np.digitize(X[:, 0], [-0.5, 0.5])
    cases = [(1, None, ds.losses.BinaryCrossentropy(from_logits=True), y_bin, 0.0),
             (1, "sigmoid", "binary_crossentropy", y_bin, 0.5),
             (3, "softmax", "sparse_categorical_crossentropy", y_cls, None)]
    for units, act, loss, y, threshold in cases:
        ds.manual_seed(0)
        model = ds.Sequential([layers.Dense(6, activation="relu", input_shape=(4,)),
                               layers.Dense(units, activation=act)])
        model.compile("adam", loss, metrics=["precision", "recall", "auc", "f1_score"])
        model.fit(X, y, epochs=1, batch_size=32, verbose=0)
        logs = model.evaluate(X, y, batch_size=37, verbose=0, return_dict=True)
        p = np.asarray(model.predict(X, verbose=0), dtype=np.float64)
        if units == 1:
            y_hat, avg, scores = (p[:, 0] > threshold).astype(int), "binary", p[:, 0]
            auc = dsm.roc_auc_score(y, scores)
        else:
            y_hat, avg = p.argmax(1), "macro"
            auc = dsm.roc_auc_score(y, p / p.sum(1, keepdims=True), multi_class="ovr")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dsm.UndefinedMetricWarning)
            assert logs["precision"] == pytest.approx(dsm.precision_score(y, y_hat, average=avg))
            assert logs["recall"] == pytest.approx(dsm.recall_score(y, y_hat, average=avg))
            assert logs["f1_score"] == pytest.approx(dsm.f1_score(y, y_hat, average=avg))
        assert logs["auc"] == pytest.approx(auc, rel=1e-6)
