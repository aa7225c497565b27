"""Classification metrics on arrays, with scikit-learn's signatures and results.

Every function takes ``(y_true, y_pred, ...)`` as NumPy arrays, lists or deepsheet Tensors
(copied to the host once: a metric reduces predictions to a few numbers). Label metrics
(precision, recall, specificity, F-beta, the rates) all go through one helper,
``_averaging._scores``, which counts per class

    TP = Σ w [y = c and ŷ = c]      FP = Σ w [y ≠ c and ŷ = c]
    FN = Σ w [y = c and ŷ ≠ c]      TN = Σ w − TP − FP − FN

divides, applies ``zero_division`` where a denominator is 0, and averages:

- ``"binary"``: the score of ``pos_label`` only;
- ``"macro"``: (1/n) Σᵢ scoreᵢ, the plain mean over classes (NaN scores are skipped);
- ``"micro"``: the ratio of pooled counts, e.g. Σ TPᵢ / (Σ TPᵢ + Σ FPᵢ);
- ``"weighted"``: the mean weighted by each class's support (number of true samples);
- ``None``: one score per class.

The curve and ranking metrics (``roc_curve``, ``roc_auc_score``, ``precision_recall_curve``,
``average_precision_score``, ``auc``) live in ``_ranking.py``, ``top_k_accuracy_score`` in
``_top_k.py`` and ``log_loss`` in ``_log_loss.py``; all are re-exported here.

Note: some printings of the cheat sheet swap the precision and specificity formulas; the
definitions used here are precision = TP / (TP + FP) and specificity = TN / (TN + FP).
"""
from __future__ import annotations

import warnings

import numpy as np

from ._ranking import auc, average_precision_score, precision_recall_curve, roc_auc_score, roc_curve
from ._top_k import top_k_accuracy_score
from ._averaging import _scores
from ._log_loss import log_loss
from ._validation import (UndefinedMetricWarning, check_sample_weight, check_targets, encode,
                          to_host)

__all__ = [
    "UndefinedMetricWarning", "confusion_matrix", "accuracy_score", "error_rate",
    "precision_score", "recall_score", "specificity_score", "false_positive_rate",
    "false_negative_rate", "f1_score", "fbeta_score", "precision_recall_fscore_support",
    "matthews_corrcoef", "classification_report", "log_loss",
    "roc_curve", "roc_auc_score", "precision_recall_curve", "average_precision_score",
    "top_k_accuracy_score", "auc",
]

def _check_beta(beta):
    if not np.isreal(beta) or not beta >= 0:
        raise ValueError(f"beta must be a non-negative number, got {beta!r}")


# ---------------------------------------------------------------- counts and accuracy

def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None, normalize=None):
    """Confusion matrix C with C[i, j] = (weighted) number of samples of class i predicted as j.

    Formula
    -------
    C[i, j] = Σₙ wₙ [yₙ = labels[i] and ŷₙ = labels[j]]; normalize="true" divides each row by
    its sum (rows then hold recalls), "pred" each column (columns hold precisions), "all"
    everything by the total.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Class labels.
    labels : array-like, optional
        Row/column order; samples with other labels are left out. Default: sorted labels present.
    sample_weight : array-like of shape (n_samples,), optional
    normalize : {None, "true", "pred", "all"}

    Shape
    -----
    Returns (n_labels, n_labels): int64 counts, float64 with float weights or normalization.

    Examples
    --------
    >>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2])
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f'normalize must be None, "true", "pred" or "all", got {normalize!r}')
    _, present, y_true, y_pred, w = check_targets(y_true, y_pred, sample_weight)
    if labels is None:
        labels = present
    else:
        labels = to_host(labels, "labels")
        if labels.size == 0:
            raise ValueError("labels should contain at least one label")
        if not np.isin(y_true, labels).any():
            raise ValueError("at least one label given in labels must be present in y_true")
    n = labels.shape[0]
    t_idx, t_in = encode(y_true, labels)
    p_idx, p_in = encode(y_pred, labels)
    keep = t_in & p_in
    cm = np.bincount(t_idx[keep] * n + p_idx[keep], weights=None if w is None else w[keep],
                     minlength=n * n).reshape(n, n)
    if w is not None and w.dtype.kind in "biu":
        cm = cm.astype(np.int64)
    if normalize is not None:
        total = {"true": cm.sum(axis=1, keepdims=True), "pred": cm.sum(axis=0, keepdims=True),
                 "all": cm.sum()}[normalize]
        total = np.broadcast_to(np.asarray(total, dtype=np.float64), cm.shape)
        cm = np.divide(cm, total, out=np.zeros(cm.shape), where=total != 0)
    if cm.shape == (1, 1):
        warnings.warn("a single label was found in y_true and y_pred; pass all known labels "
                      "through `labels` to get a confusion matrix of the right shape",
                      UserWarning, stacklevel=2)
    return cm


def accuracy_score(y_true, y_pred, *, normalize=True, sample_weight=None):
    """Fraction (or weighted count) of correct predictions.

    Formula
    -------
    accuracy = (TP + TN) / (TP + TN + FP + FN) = Σ wₙ [ŷₙ = yₙ] / Σ wₙ

    Examples
    --------
    >>> accuracy_score([0, 1, 2, 3], [0, 2, 1, 3])
    0.5
    """
    _, _, y_true, y_pred, w = check_targets(y_true, y_pred, sample_weight)
    correct = y_true == y_pred
    if normalize:
        return float(np.average(correct, weights=w))
    return float(correct.sum() if w is None else np.dot(correct, w))


def error_rate(y_true, y_pred, *, normalize=True, sample_weight=None):
    """Fraction (or weighted count) of wrong predictions: 1 − accuracy (scikit-learn's zero_one_loss).

    Formula
    -------
    error rate = (FP + FN) / (TP + TN + FP + FN) = 1 − accuracy

    Examples
    --------
    >>> error_rate([0, 1, 2, 3], [0, 2, 1, 3])
    0.5
    """
    score = accuracy_score(y_true, y_pred, normalize=normalize, sample_weight=sample_weight)
    if normalize:
        return 1 - score
    if sample_weight is not None:
        total = float(np.sum(check_sample_weight(sample_weight, len(to_host(y_true, "y_true")))))
    else:
        total = len(to_host(y_true, "y_true"))
    return float(total - score)


# ---------------------------------------------------------------- ratios of counts

_RATIO_DOC = """
    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        Class labels (not probabilities: threshold or argmax them first).
    labels : array-like, optional
        Labels to score and their order for ``average=None``; absent labels score by
        ``zero_division``. Ignored for ``average="binary"``.
    pos_label : label, default 1
        The positive class when ``average="binary"``.
    average : {"binary", "micro", "macro", "weighted", None}
    sample_weight : array-like of shape (n_samples,), optional
    zero_division : {"warn", 0, 1, np.nan}
        Value of an undefined ratio; "warn" means 0 with an ``UndefinedMetricWarning``.
        NaN scores are left out of macro and weighted means.

    Returns
    -------
    float, or float64 array of shape (n_labels,) when ``average=None``.
"""


def _ratio(metric, y_true, y_pred, labels, pos_label, average, sample_weight, zero_division):
    out, _ = _scores(y_true, y_pred, (metric,), labels=labels, pos_label=pos_label,
                     average=average, sample_weight=sample_weight, zero_division=zero_division)
    return out[metric]


def precision_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
                    sample_weight=None, zero_division="warn"):
    """Precision: of the samples predicted positive, the fraction that are positive.

    Formula
    -------
    precision = TP / (TP + FP); micro: Σ TPᵢ / (Σ TPᵢ + Σ FPᵢ)
    {doc}
    Examples
    --------
    >>> precision_score([0, 1, 1, 0], [1, 1, 0, 0])
    0.5
    """
    return _ratio("precision", y_true, y_pred, labels, pos_label, average, sample_weight,
                  zero_division)


def recall_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
                 sample_weight=None, zero_division="warn"):
    """Recall (sensitivity, true positive rate): of the positive samples, the fraction found.

    Formula
    -------
    recall = TPR = TP / (TP + FN)
    {doc}
    Examples
    --------
    >>> recall_score([0, 1, 1, 1], [0, 1, 0, 1])
    0.6666666666666666
    """
    return _ratio("recall", y_true, y_pred, labels, pos_label, average, sample_weight,
                  zero_division)


def specificity_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
                      sample_weight=None, zero_division="warn"):
    """Specificity (true negative rate): of the negative samples, the fraction kept negative.

    Formula
    -------
    specificity = TNR = TN / (TN + FP) = 1 − FPR; per class c, "negative" means "not c".
    Weighted averages weight each class by its support, as for the other scores.
    {doc}
    Examples
    --------
    >>> specificity_score([0, 0, 0, 1], [0, 1, 0, 1])
    0.6666666666666666
    """
    return _ratio("specificity", y_true, y_pred, labels, pos_label, average, sample_weight,
                  zero_division)


def false_positive_rate(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
                        sample_weight=None, zero_division="warn"):
    """False positive rate (fall-out): of the negative samples, the fraction flagged positive.

    Formula
    -------
    FPR = FP / (FP + TN) = 1 − specificity
    {doc}
    Examples
    --------
    >>> false_positive_rate([0, 0, 0, 1], [0, 1, 0, 1])
    0.3333333333333333
    """
    return _ratio("false positive rate", y_true, y_pred, labels, pos_label, average,
                  sample_weight, zero_division)


def false_negative_rate(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
                        sample_weight=None, zero_division="warn"):
    """False negative rate (miss rate): of the positive samples, the fraction missed.

    Formula
    -------
    FNR = FN / (FN + TP) = 1 − recall
    {doc}
    Examples
    --------
    >>> false_negative_rate([0, 1, 1, 1], [0, 1, 0, 1])
    0.3333333333333333
    """
    return _ratio("false negative rate", y_true, y_pred, labels, pos_label, average,
                  sample_weight, zero_division)


def fbeta_score(y_true, y_pred, *, beta, labels=None, pos_label=1, average="binary",
                sample_weight=None, zero_division="warn"):
    """F-beta score: weighted harmonic mean of precision and recall (recall β times as important).

    Formula
    -------
    F_β = (1 + β²) · P · R / (β² · P + R) = (1 + β²) TP / ((1 + β²) TP + β² FN + FP)
    β → ∞ gives recall, β = 0 precision.
    {doc}
    Examples
    --------
    >>> fbeta_score([0, 1, 1, 1], [0, 1, 0, 1], beta=1.0)
    0.8
    """
    _check_beta(beta)
    out, _ = _scores(y_true, y_pred, ("f-score",), labels=labels, pos_label=pos_label,
                     average=average, sample_weight=sample_weight, zero_division=zero_division,
                     beta=beta)
    return out["f-score"]


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary",
             sample_weight=None, zero_division="warn"):
    """F1 score: the harmonic mean of precision and recall.

    Formula
    -------
    F1 = 2 · P · R / (P + R) = 2 TP / (2 TP + FP + FN); macro F1 is the mean of per-class F1
    (not the F1 of macro P and macro R).
    {doc}
    Examples
    --------
    >>> f1_score([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1], average="macro")
    0.26666666666666666
    """
    return fbeta_score(y_true, y_pred, beta=1.0, labels=labels, pos_label=pos_label,
                       average=average, sample_weight=sample_weight, zero_division=zero_division)


def precision_recall_fscore_support(y_true, y_pred, *, beta=1.0, labels=None, pos_label=1,
                                    average=None, warn_for=("precision", "recall", "f-score"),
                                    sample_weight=None, zero_division="warn"):
    """Precision, recall, F-beta and support in one pass over the counts.

    Formula
    -------
    P = TP / (TP + FP), R = TP / (TP + FN), F_β = (1 + β²) TP / ((1 + β²) TP + β² FN + FP),
    support = TP + FN (weighted number of true samples of each class).
    {doc}
    warn_for : tuple of {"precision", "recall", "f-score"}
        Which undefined scores warn when ``zero_division="warn"``.

    Returns ``(precision, recall, fbeta, support)``; support is None when averaged.

    Examples
    --------
    >>> p, r, f, s = precision_recall_fscore_support([0, 1, 1], [0, 1, 0])
    >>> s
    array([1, 2])
    """
    _check_beta(beta)
    out, support = _scores(y_true, y_pred, ("precision", "recall", "f-score"), labels=labels,
                           pos_label=pos_label, average=average, sample_weight=sample_weight,
                           zero_division=zero_division, beta=beta, warn_for=tuple(warn_for))
    return out["precision"], out["recall"], out["f-score"], support


for _f in (precision_score, recall_score, specificity_score, false_positive_rate,
           false_negative_rate, fbeta_score, f1_score, precision_recall_fscore_support):
    _f.__doc__ = _f.__doc__.replace("{doc}", _RATIO_DOC.strip("\n"))
del _f


# ---------------------------------------------------------------- correlation and report

def matthews_corrcoef(y_true, y_pred, *, sample_weight=None):
    """Matthews correlation coefficient (multiclass R_K statistic), in [−1, 1].

    Formula
    -------
    binary: MCC = (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)); in general, with the
    confusion matrix C, t = row sums, p = column sums, s = Σ C, c = trace C:
    MCC = (c·s − t·p) / √((s² − p·p)(s² − t·t)), and 0 when the denominator is 0.

    Examples
    --------
    >>> round(matthews_corrcoef([1, 1, 1, -1], [1, -1, 1, 1]), 4)
    -0.3333
    """
    _, present, y_true, y_pred, w = check_targets(y_true, y_pred, sample_weight)
    C = confusion_matrix(y_true, y_pred, labels=present, sample_weight=w)
    t_sum = C.sum(axis=1, dtype=np.float64)
    p_sum = C.sum(axis=0, dtype=np.float64)
    n_correct = np.trace(C, dtype=np.float64)
    n = p_sum.sum()
    cov_tp = n_correct * n - np.dot(t_sum, p_sum)
    cov_pp = n ** 2 - np.dot(p_sum, p_sum)
    cov_tt = n ** 2 - np.dot(t_sum, t_sum)
    denom = cov_pp * cov_tt
    return 0.0 if denom == 0 else float(cov_tp / np.sqrt(denom))


def classification_report(y_true, y_pred, *, labels=None, target_names=None, sample_weight=None,
                          digits=2, output_dict=False, zero_division="warn"):
    """Per-class precision, recall, F1 and support, then accuracy and macro/weighted means.

    Formula::

        per class k:  P_k = TP_k / (TP_k + FP_k),  R_k = TP_k / (TP_k + FN_k),
                      F1_k = 2 P_k R_k / (P_k + R_k),  support n_k
        macro avg = (1/K) Σ_k m_k;  weighted avg = Σ_k (n_k / N) m_k;  accuracy = Σ_k TP_k / N

    The text table (or, with ``output_dict=True``, the nested dict) is laid out exactly as
    scikit-learn's: a row per class, then "accuracy" (micro average, equal to accuracy when
    every label is scored; "micro avg" otherwise), "macro avg" and "weighted avg".

    Examples
    --------
    >>> print(classification_report([0, 1, 1], [0, 1, 0]))  # doctest: +NORMALIZE_WHITESPACE
                  precision    recall  f1-score   support
    <BLANKLINE>
               0       0.50      1.00      0.67         1
               1       1.00      0.50      0.67         2
    <BLANKLINE>
        accuracy                           0.67         3
       macro avg       0.75      0.75      0.67         3
    weighted avg       0.83      0.67      0.67         3
    <BLANKLINE>
    """
    _, present, y_true, y_pred, w = check_targets(y_true, y_pred, sample_weight)
    labels_given = labels is not None
    labels = to_host(labels, "labels") if labels_given else present
    micro_is_accuracy = not labels_given or set(labels.tolist()) >= set(present.tolist())
    if target_names is not None and len(labels) != len(target_names):
        if labels_given:
            warnings.warn(f"labels size, {len(labels)}, does not match size of target_names, "
                          f"{len(target_names)}", UserWarning, stacklevel=2)
        else:
            raise ValueError(f"number of classes, {len(labels)}, does not match size of "
                             f"target_names, {len(target_names)}; pass `labels`")
    if target_names is None:
        target_names = ["%s" % label for label in labels]
    headers = ["precision", "recall", "f1-score", "support"]

    def prfs(average):
        return precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average,
                                               sample_weight=w, zero_division=zero_division)

    p, r, f1, s = prfs(None)
    rows = list(zip(target_names, p, r, f1, s))
    if output_dict:
        report = {row[0]: dict(zip(headers, [float(v) for v in row[1:]])) for row in rows}
    else:
        width = max(max(len(cn) for cn in target_names), len("weighted avg"), digits)
        head_fmt = "{:>{width}s} " + " {:>9}" * len(headers)
        text = head_fmt.format("", *headers, width=width) + "\n\n"
        row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
        for row in rows:
            text += row_fmt.format(*row, width=width, digits=digits)
        text += "\n"
    for average in ("micro", "macro", "weighted"):
        heading = "accuracy" if average == "micro" and micro_is_accuracy else average + " avg"
        avg_p, avg_r, avg_f1, _ = prfs(average)
        avg = [avg_p, avg_r, avg_f1, np.sum(s)]
        if output_dict:
            report[heading] = dict(zip(headers, [float(v) for v in avg]))
        elif heading == "accuracy":
            fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
            text += fmt.format(heading, "", "", *avg[2:], width=width, digits=digits)
        else:
            text += row_fmt.format(heading, *avg, width=width, digits=digits)
    if output_dict:
        if "accuracy" in report:
            report["accuracy"] = report["accuracy"]["precision"]
        return report
    return text
