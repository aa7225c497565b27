"""Streaming precision, recall, F-scores and exact ROC AUC for ``fit`` and ``evaluate``.

Each metric accumulates over the batches of an epoch and its ``result()`` equals the
matching function of ``deepsheet.metrics`` applied to the whole epoch at once:

- a single output (N,) or (N, 1) is binary: predicted positive when ``y_pred > threshold``
  (``threshold`` is 0.5 for probabilities; ``compile`` sets it to 0 when the loss takes
  logits), targets positive when ``y_true > 0.5``; the score is that of class 1;
- a multi-column output (N, K) (softmax) is multiclass: the prediction is the argmax and the
  targets are integer labels or one-hot rows; ``average="auto"`` means the macro average
  over the classes seen in the targets or predictions, like ``precision_score(...,
  average="macro")``.

Precision, recall and F-beta keep per-class weighted counts (TP, FP, FN), so memory does not
grow with the epoch; batches are copied to the host, where counting is cheap and exact. ``AUC`` is exact, not bucketed: it keeps every score and label of the
epoch and computes ``roc_auc_score`` when asked.
"""
from __future__ import annotations

import numpy as np

from ._validation import to_host
from .base import Metric
from ._averaging import scores_from_counts
from .classification import roc_auc_score

__all__ = ["Precision", "Recall", "FBetaScore", "F1Score", "AUC"]

_AVERAGES = ("auto", "binary", "macro", "micro", "weighted")


def _host(x, name):
    return np.asarray(to_host(x, name))


def _weights(sample_weight, n):
    if sample_weight is None:
        return None
    w = _host(sample_weight, "sample_weight").astype(np.float64).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(f"sample_weight has {w.shape[0]} values for {n} samples")
    return w


def _class_targets(y_true, n, k, who):
    """Integer labels in [0, k) from labels of shape (N,)/(N, 1) or one-hot rows (N, k)."""
    y = _host(y_true, "y_true")
    if y.ndim == 2 and y.shape[1] == k and k > 1:
        y = y.argmax(axis=1)
    y = y.reshape(-1)
    if y.shape[0] != n:
        raise ValueError(f"{who}: y_true has {y.shape[0]} labels for {n} predictions")
    if y.dtype.kind == "f":
        if np.any(y != np.trunc(y)):
            raise ValueError(f"{who}: y_true must be class labels or one-hot rows for a "
                             f"{k}-column output, got fractional values")
    elif y.dtype.kind not in "iub":
        raise ValueError(f"{who}: y_true must be integer class labels, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"{who}: labels must lie in [0, {k}) for a {k}-column output, got "
                         f"values in [{y.min()}, {y.max()}]")
    return y


class _ConfusionMetric(Metric):
    """Accumulates weighted TP/FP/FN per class; subclasses name the ratio they report."""

    _metrics = ()

    def __init__(self, name=None, dtype="float32", *, threshold=0.5, average="auto",
                 zero_division=0.0):
        if average not in _AVERAGES:
            raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
        self.threshold = float(threshold)
        self.average = average
        self.zero_division = zero_division
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self._k = None  # number of classes, fixed by the first batch
        self._single_output = False
        self._tp = self._fp = self._fn = None
        self._seen = None  # classes present in targets or predictions (unweighted)
        self._total = 0.0

    def _labels(self, y_true, y_pred):
        """(true labels, predicted labels, number of classes) for one batch."""
        p = _host(y_pred, "y_pred")
        n = p.shape[0] if p.ndim else 1
        self._single_output = p.ndim <= 1 or (p.ndim == 2 and p.shape[1] == 1)
        if self._single_output:
            pred = (p.reshape(-1) > self.threshold).astype(np.int64)
            t = _host(y_true, "y_true").reshape(-1)
            if t.shape[0] != n:
                raise ValueError(f"{self.name}: y_true has {t.shape[0]} values for {n} "
                                 "predictions")
            return (t > 0.5).astype(np.int64), pred, 2
        if p.ndim != 2:
            raise ValueError(f"{self.name} expects predictions of shape (N,), (N, 1) or "
                             f"(N, classes), got {p.shape}")
        k = p.shape[1]
        return _class_targets(y_true, n, k, self.name), p.argmax(axis=1), k

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p, k = self._labels(y_true, y_pred)
        if self._k is None:
            self._k = k
            self._tp, self._fp, self._fn = np.zeros(k), np.zeros(k), np.zeros(k)
            self._seen = np.zeros(k, dtype=bool)
        elif k != self._k:
            raise ValueError(f"{self.name}: predictions changed from {self._k} to {k} classes")
        w = _weights(sample_weight, t.shape[0])
        hit = t == p
        tp = np.bincount(t[hit], weights=None if w is None else w[hit], minlength=k)
        pred = np.bincount(p, weights=w, minlength=k)
        true = np.bincount(t, weights=w, minlength=k)
        self._tp += tp
        self._fp += pred - tp
        self._fn += true - tp
        self._seen |= np.bincount(np.concatenate([t, p]), minlength=k) > 0
        self._total += float(t.shape[0] if w is None else w.sum())

    def _mode(self):
        if self.average != "auto":
            return self.average
        return "binary" if self._single_output else "macro"

    def _scores(self):
        if self._k is None:
            return {m: 0.0 for m in self._metrics}
        average = self._mode()
        tp, fp, fn = self._tp, self._fp, self._fn
        if average == "binary":
            keep = np.array([1])
        else:
            keep = np.flatnonzero(self._seen)  # the labels the function would find
        tn = self._total - tp - fp - fn
        scores, _ = scores_from_counts(tp[keep], fp[keep], fn[keep], tn[keep], self._metrics,
                                       average=None if average == "binary" else average,
                                       zero_division=self.zero_division, beta=self._beta())
        if average == "binary":
            return {m: float(v[0]) for m, v in scores.items()}
        return scores

    def _beta(self):
        return 1.0

    def result(self):
        return self._scores()[self._metrics[0]]

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold, "average": self.average,
                "zero_division": self.zero_division}


class Precision(_ConfusionMetric):
    """Streaming precision TP / (TP + FP): binary for one output, macro over argmax classes.

    Formula
    -------
    precision = Σ TP / (Σ TP + Σ FP) accumulated over batches (binary), or the mean over
    classes of TP_c / (TP_c + FP_c) (macro); an undefined ratio counts as ``zero_division``.

    Parameters
    ----------
    name : str, default "precision"
    threshold : float
        Decision threshold for a single output: 0.5 on probabilities, 0 on logits.
    average : {"auto", "binary", "macro", "micro", "weighted"}
        "auto": binary for a single output, macro for several columns.
    zero_division : 0, 1 or nan

    Examples
    --------
    >>> m = Precision()
    >>> m.update_state([1, 0, 1], [0.9, 0.8, 0.2]); m.update_state([0], [0.1])
    >>> m.result()
    0.5
    """

    _metrics = ("precision",)


class Recall(_ConfusionMetric):
    """Streaming recall (sensitivity) TP / (TP + FN); same conventions as ``Precision``.

    Examples
    --------
    >>> m = Recall()
    >>> m.update_state([1, 0, 1], [0.9, 0.8, 0.2])
    >>> m.result()
    0.5
    """

    _metrics = ("recall",)


class FBetaScore(_ConfusionMetric):
    """Streaming F-beta score from accumulated counts; same conventions as ``Precision``.

    Formula
    -------
    F_β = (1 + β²) TP / ((1 + β²) TP + β² FN + FP), per class for macro averaging.
    """

    _metrics = ("f-score",)

    def __init__(self, name=None, dtype="float32", *, beta=1.0, threshold=0.5, average="auto",
                 zero_division=0.0):
        if not beta >= 0:
            raise ValueError(f"beta must be a non-negative number, got {beta!r}")
        self.beta = float(beta)
        super().__init__(name=name, dtype=dtype, threshold=threshold, average=average,
                         zero_division=zero_division)

    def _beta(self):
        return self.beta

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


class F1Score(FBetaScore):
    """Streaming F1 = 2 TP / (2 TP + FP + FN); same conventions as ``Precision``.

    Examples
    --------
    >>> m = F1Score()
    >>> m.update_state([1, 0, 1, 1], [0.9, 0.8, 0.2, 0.7])
    >>> round(m.result(), 4)
    0.6667
    """

    aliases = ("f1",)

    def __init__(self, name=None, dtype="float32", *, threshold=0.5, average="auto",
                 zero_division=0.0):
        super().__init__(name=name, dtype=dtype, beta=1.0, threshold=threshold,
                         average=average, zero_division=zero_division)

    def get_config(self):
        config = super().get_config()
        config.pop("beta")
        return config


class AUC(Metric):
    """Exact area under the ROC curve over the whole epoch (not bucketed).

    Keeps every score and label seen since ``reset_state`` and returns ``roc_auc_score`` on
    them: binary for a single output (scores or logits: the ranking is the same), one-vs-rest
    macro over the K columns for a multi-column output, whose rows are turned into
    probabilities by a softmax when they are logits (rows not already summing to 1).

    Parameters
    ----------
    name : str, default "auc"
    threshold : float
        Unused by the area (kept so that ``compile`` can set it like the others).

    Examples
    --------
    >>> m = AUC()
    >>> m.update_state([0, 0], [0.1, 0.4]); m.update_state([1, 1], [0.35, 0.8])
    >>> m.result()
    0.75
    """

    def __init__(self, name=None, dtype="float32", *, threshold=0.5):
        self.threshold = float(threshold)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self._true, self._pred, self._weight = [], [], []

    def update_state(self, y_true, y_pred, sample_weight=None):
        p = _host(y_pred, "y_pred")
        n = p.shape[0] if p.ndim else 1
        if p.ndim <= 1 or (p.ndim == 2 and p.shape[1] == 1):
            p = p.reshape(-1)
            t = _host(y_true, "y_true").reshape(-1)
            if t.shape[0] != n:
                raise ValueError(f"{self.name}: y_true has {t.shape[0]} values for {n} "
                                 "predictions")
            t = (t > 0.5).astype(np.int64)
        elif p.ndim == 2:
            t = _class_targets(y_true, n, p.shape[1], self.name)
            if self._pred and self._pred[0].ndim == 2 and self._pred[0].shape[1] != p.shape[1]:
                raise ValueError(f"{self.name}: predictions changed number of classes")
        else:
            raise ValueError(f"{self.name} expects predictions of shape (N,), (N, 1) or "
                             f"(N, classes), got {p.shape}")
        w = _weights(sample_weight, n)
        self._true.append(t)
        self._pred.append(p.astype(np.float64))
        self._weight.append(np.ones(n) if w is None else w)

    def result(self):
        if not self._true:
            return 0.0
        t = np.concatenate(self._true)
        p = np.concatenate(self._pred)
        w = np.concatenate(self._weight)
        w = None if np.all(w == 1) else w
        if p.ndim == 1:
            return float(roc_auc_score(t, p, sample_weight=w))
        if not (np.all(p >= 0) and np.allclose(p.sum(axis=1), 1)):
            e = np.exp(p - p.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
        return float(roc_auc_score(t, p, multi_class="ovr", average="macro",
                                   labels=np.arange(p.shape[1]), sample_weight=w))

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}

