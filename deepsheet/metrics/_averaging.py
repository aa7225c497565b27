"""The one counting-and-averaging path behind every averaged classification score.

``_scores`` validates labels, counts weighted TP/FP/FN/TN per class with one bincount each,
and hands them to ``scores_from_counts``, which divides (applying ``zero_division``) and
averages (binary, micro, macro, weighted or per label). The streaming metrics accumulate
the same counts batch by batch and call ``scores_from_counts`` too, so both give the same
numbers.
"""
from __future__ import annotations

import warnings

import numpy as np

from ._validation import (UndefinedMetricWarning, check_targets, check_zero_division, encode,
                          to_host)

__all__ = []  # private: used by classification.py and streaming.py

_AVERAGES = (None, "micro", "macro", "weighted", "binary")


def _contains(values, item):
    try:
        return bool(np.any(values == item))
    except (TypeError, ValueError):  # incomparable label types: not present
        return False


def _resolve_labels(y_type, present, labels, average, pos_label):
    """The labels to score: [pos_label] for binary averaging, else ``labels`` or those present."""
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    if average == "binary":
        if y_type != "binary":
            raise ValueError(f"target is {y_type} but average='binary'; choose one of "
                             f"{[a for a in _AVERAGES if a != 'binary']}")
        if not _contains(present, pos_label) and present.size >= 2:
            raise ValueError(f"pos_label={pos_label!r} is not a valid label: it should be one "
                             f"of {present.tolist()}")
        return np.asarray([pos_label])
    if pos_label not in (None, 1):
        warnings.warn(f"pos_label={pos_label!r} is ignored when average={average!r}; use "
                      "labels=[pos_label] to score a single class", UserWarning, stacklevel=4)
    if labels is None:
        return present
    labels = to_host(labels, "labels")
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D list of class labels, got shape {labels.shape}")
    return labels


def _class_counts(y_true, y_pred, labels, sample_weight):
    """Weighted TP, FP, FN, TN for each of ``labels`` (one bincount each, no loop over samples).

    Samples whose true and predicted labels are both outside ``labels`` still count as true
    negatives, as in scikit-learn's ``multilabel_confusion_matrix``.
    """
    n = labels.shape[0]
    t_idx, t_in = encode(y_true, labels)
    p_idx, p_in = encode(y_pred, labels)
    hit = t_in & (y_true == y_pred)

    def count(idx, mask):
        w = None if sample_weight is None else sample_weight[mask]
        return np.bincount(idx[mask], weights=w, minlength=n)

    tp, pred, true = count(t_idx, hit), count(p_idx, p_in), count(t_idx, t_in)
    if not np.any(y_true == y_pred):
        # scikit-learn's float zeros when no sample is right: supports then print as "1.0"
        tp = np.zeros(n)
    fp, fn = pred - tp, true - tp
    total = len(y_true) if sample_weight is None else sample_weight.sum()
    tn = total - tp - fp - fn
    if sample_weight is not None:
        # With float weights the subtraction leaves ~1e-16 where TN is truly empty, which
        # would turn an undefined specificity into 1.0; integer counts of the samples
        # carrying weight decide emptiness exactly.
        nz = sample_weight != 0
        n_tn = (np.count_nonzero(nz) - np.bincount(t_idx[t_in & nz], minlength=n)
                - np.bincount(p_idx[p_in & nz], minlength=n)
                + np.bincount(t_idx[hit & nz], minlength=n))
        tn = np.where(n_tn == 0, 0.0, tn)
    return tp, fp, fn, tn


def _divide(num, den, metric, modifier, average, warn_for, zero_division):
    """num / den, with ``zero_division``'s value (and maybe a warning) where den == 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    mask = den == 0
    result = num / np.where(mask, 1.0, den)
    if not mask.any():
        return result
    result[mask] = check_zero_division(zero_division)
    if isinstance(zero_division, str) and metric in warn_for:
        where = "due to" if result.shape[0] == 1 else "in labels with"
        warnings.warn(f"{metric.capitalize()} is ill-defined and being set to 0.0 {where} no "
                      f"{modifier} samples. Use `zero_division` parameter to control this "
                      "behavior.", UndefinedMetricWarning, stacklevel=4)
    return result


def _nanaverage(values, weights=None):
    """Mean of the non-NaN scores (weighted); equal weights when the weights sum to 0."""
    if values.shape[0] == 0:
        return float("nan")
    keep = ~np.isnan(values)
    if not keep.any():
        return float("nan")
    if weights is None:
        return float(np.mean(values[keep]))
    weights = np.asarray(weights)[keep]
    if weights.sum() == 0:
        return float(np.mean(values[keep]))
    return float(np.average(values[keep], weights=weights))


# name -> (numerator, denominator, what is missing when the denominator is 0)
_RATIOS = {
    "precision": (lambda c: c["tp"], lambda c: c["tp"] + c["fp"], "predicted"),
    "recall": (lambda c: c["tp"], lambda c: c["tp"] + c["fn"], "true"),
    "specificity": (lambda c: c["tn"], lambda c: c["tn"] + c["fp"], "negative"),
    "false positive rate": (lambda c: c["fp"], lambda c: c["fp"] + c["tn"], "negative"),
    "false negative rate": (lambda c: c["fn"], lambda c: c["fn"] + c["tp"], "true"),
}


def _scores(y_true, y_pred, metrics, *, labels=None, pos_label=1, average=None,
            sample_weight=None, zero_division="warn", beta=1.0, warn_for=None):
    """Compute several count-ratio metrics at once and average them: the ONE averaging path.

    ``metrics`` names entries of ``_RATIOS`` and/or "f-score". Returns a dict of scores
    (floats when averaged, float64 arrays per label when ``average=None``) and the support
    (per-label weighted count of true samples; None when averaged).
    """
    check_zero_division(zero_division)
    y_type, present, y_true, y_pred, sample_weight = check_targets(y_true, y_pred, sample_weight)
    labels = _resolve_labels(y_type, present, labels, average, pos_label)
    tp, fp, fn, tn = _class_counts(y_true, y_pred, labels, sample_weight)
    return scores_from_counts(tp, fp, fn, tn, metrics, average=average,
                              zero_division=zero_division, beta=beta, warn_for=warn_for)


def scores_from_counts(tp, fp, fn, tn, metrics, *, average=None, zero_division="warn", beta=1.0,
                       warn_for=None):
    """Ratios of per-class counts, ``zero_division`` applied, then averaged (see ``_scores``).

    Shared with the streaming metrics, which accumulate the counts batch by batch.
    """
    warn_for = metrics if warn_for is None else warn_for
    c = {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
    if average == "micro":
        c = {k: np.reshape(v.sum(), (1,)) for k, v in c.items()}
    true_sum = c["tp"] + c["fn"]
    out = {}
    for name in metrics:
        if name == "f-score":
            continue
        num, den, modifier = _RATIOS[name]
        out[name] = _divide(num(c), den(c), name, modifier, average, warn_for, zero_division)
    if "f-score" in metrics:
        beta2 = beta ** 2
        if np.isposinf(beta):
            out["f-score"] = _divide(c["tp"], true_sum, "recall", "true", average, (),
                                     zero_division)
        elif beta == 0:
            out["f-score"] = _divide(c["tp"], c["tp"] + c["fp"], "precision", "predicted",
                                     average, (), zero_division)
        else:
            # (1 + β²)·TP / ((1 + β²)·TP + β²·FN + FP), the same as the harmonic form of P and R
            den = beta2 * true_sum.astype(np.float64) + (c["tp"] + c["fp"]).astype(np.float64)
            out["f-score"] = _divide((1 + beta2) * c["tp"].astype(np.float64), den, "f-score",
                                     "true nor predicted", average, warn_for, zero_division)
    if average is None:
        return out, true_sum
    weights = true_sum if average == "weighted" else None
    return {k: _nanaverage(v, weights) for k, v in out.items()}, None
