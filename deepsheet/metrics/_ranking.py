"""Metrics on scores rather than labels: ROC and precision-recall curves and their areas.

Re-exported by ``deepsheet.metrics.classification``. All follow scikit-learn 1.9: the curves
merge tied scores into one threshold, ``roc_curve`` starts at threshold +inf (the point
(0, 0)) and drops collinear points by default, ROC AUC is the trapezoid area under the
curve and average precision the step sum Σ (Rₙ − Rₙ₋₁) Pₙ (not a trapezoid, which would be
optimistic).
"""
from __future__ import annotations

import warnings
from itertools import combinations

import numpy as np

from ._validation import (UndefinedMetricWarning, check_lengths, check_sample_weight, encode,
                          given_classes, target_type, to_host)

_BINARY_LABEL_SETS = ([0, 1], [-1, 1], [0], [-1], [1])


def _pos_label_or_default(pos_label, y_true):
    """``pos_label``, or 1 when y_true is already {0, 1} or {-1, 1} coded."""
    if pos_label is not None:
        return pos_label
    classes = np.unique(y_true)
    if classes.dtype.kind in "OUS" or not any(
            classes.shape[0] == len(ok) and np.array_equal(classes, ok)
            for ok in _BINARY_LABEL_SETS):
        raise ValueError(f"y_true takes values in {{{', '.join(repr(c) for c in classes.tolist())}}}"
                         " and pos_label is not specified: either make y_true take values in "
                         "{0, 1} or {-1, 1} or pass pos_label explicitly")
    return 1


def _score_vector(y_score, n):
    s = to_host(y_score, "y_score")
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim != 1:
        raise ValueError(f"y_score must be 1-D scores of the positive class, got shape {s.shape}"
                         " (for two-column probabilities pass y_score[:, 1])")
    if s.dtype.kind not in "biuf":
        raise ValueError(f"y_score must be numeric, got dtype {s.dtype}")
    if s.dtype.kind == "f" and not np.all(np.isfinite(s)):
        raise ValueError("y_score contains NaN or infinity")
    return s


def _descending_stable(x):
    """Indices sorting ``x`` in decreasing order, ties kept in their original order."""
    n = x.shape[0]
    return n - 1 - np.argsort(x[::-1], kind="stable")[::-1]


def _counts_at_thresholds(y_true, y_score, pos_label=None, sample_weight=None):
    """Cumulative false and true positives at each distinct score, from the highest down.

    Formula
    -------
    Sorting by decreasing score s₍₁₎ ≥ s₍₂₎ ≥ ..., at threshold t = s₍ₖ₎ (predict positive if
    s ≥ t): TPₖ = Σ_{i≤k} wᵢ yᵢ and FPₖ = Σ_{i≤k} wᵢ (1 − yᵢ), kept only at the last index of
    each run of equal scores (ties are one threshold).
    """
    y_true = to_host(y_true, "y_true")
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = y_true[:, 0]
    y_type = target_type(y_true, "y_true")
    if not (y_type == "binary" or (y_type == "multiclass" and pos_label is not None)):
        raise ValueError(f"y_true must hold binary labels (or pass pos_label for multiclass "
                         f"labels), got {y_type} data")
    y_score = _score_vector(y_score, len(y_true))
    check_lengths(y_true=y_true, y_score=y_score, sample_weight=sample_weight)
    if len(y_true) == 0:
        raise ValueError("y_true and y_score are empty: at least one sample is needed")
    pos_label = _pos_label_or_default(pos_label, y_true)
    y_true = (y_true == pos_label).astype(np.int32)
    w = check_sample_weight(sample_weight, len(y_true))
    if w is not None:
        # zero-weight samples must not create thresholds of their own
        nonzero = w != 0
        y_true, y_score, w = y_true[nonzero], y_score[nonzero], w[nonzero]
    order = _descending_stable(y_score)
    y_score, y_true = y_score[order], y_true[order].astype(np.float64)
    ends = np.concatenate([np.nonzero(np.diff(y_score))[0], [y_true.shape[0] - 1]])
    if w is None:
        tps = np.cumsum(y_true, dtype=np.float64)[ends]
        fps = 1 + ends.astype(np.float64) - tps
    else:
        w = w[order]
        tps = np.cumsum(y_true * w, dtype=np.float64)[ends]
        # a cumulative sum keeps fps non-decreasing despite rounding
        fps = np.cumsum((1 - y_true) * w, dtype=np.float64)[ends]
    return fps, tps, y_score[ends]


def roc_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=True):
    """Receiver operating characteristic: (FPR, TPR) at every distinct score threshold.

    Formula
    -------
    TPR(t) = TP(t) / P, FPR(t) = FP(t) / N, predicting positive when score ≥ t. Thresholds
    decrease from +inf (FPR = TPR = 0) to the lowest score (FPR = TPR = 1). With
    ``drop_intermediate``, points collinear with their neighbours (zero second difference in
    both FP and TP) are dropped: they do not change the curve or its area.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels ({0, 1} or {-1, 1}, else give ``pos_label``).
    y_score : array-like of shape (n_samples,)
        Scores or probabilities of the positive class.
    pos_label, sample_weight, drop_intermediate : see scikit-learn.

    Returns
    -------
    fpr, tpr, thresholds : float64 arrays of the same length (thresholds[0] = inf).

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve([1, 1, 2, 2], [0.1, 0.4, 0.35, 0.8], pos_label=2)
    >>> fpr, tpr
    (array([0. , 0. , 0.5, 0.5, 1. ]), array([0. , 0.5, 0.5, 1. , 1. ]))
    """
    fps, tps, thresholds = _counts_at_thresholds(y_true, y_score, pos_label, sample_weight)
    if drop_intermediate and fps.shape[0] > 2:
        corner = np.logical_or(np.diff(fps, 2), np.diff(tps, 2))
        keep = np.nonzero(np.concatenate([[True], corner, [True]]))[0]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    tps = np.concatenate([[0.0], tps])
    fps = np.concatenate([[0.0], fps])
    thresholds = np.concatenate([[np.inf], thresholds.astype(np.float64)])
    return _rate(fps, "negative", "false"), _rate(tps, "positive", "true"), thresholds


def _rate(counts, kind, which):
    """Cumulative counts over their total (the last); NaN with a warning when it is 0."""
    if counts[-1] <= 0:
        warnings.warn(f"No {kind} samples in y_true, {which} positive value should be "
                      "meaningless", UndefinedMetricWarning, stacklevel=3)
        return np.full(counts.shape, np.nan)
    return counts / counts[-1]


def precision_recall_curve(y_true, y_score, *, pos_label=None, sample_weight=None,
                           drop_intermediate=False):
    """Precision and recall at every distinct score threshold, recall decreasing.

    Formula
    -------
    P(t) = TP(t) / (TP(t) + FP(t)), R(t) = TP(t) / P. The returned arrays end with the
    point (R = 0, P = 1), which has no threshold, so ``thresholds`` is one shorter.

    Examples
    --------
    >>> p, r, t = precision_recall_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> p
    array([0.5       , 0.66666667, 0.5       , 1.        , 1.        ])
    """
    fps, tps, thresholds = _counts_at_thresholds(y_true, y_score, pos_label, sample_weight)
    if drop_intermediate and fps.shape[0] > 2:
        # keep only the first and last threshold of each run of equal TP (same recall)
        change = np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:]))
        keep = np.nonzero(np.concatenate([[True], change, [True]]))[0]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    ps = tps + fps
    precision = np.divide(tps, ps, out=np.zeros_like(tps), where=ps != 0)
    if tps[-1] == 0:
        warnings.warn("No positive class found in y_true, recall is set to one for all "
                      "thresholds.", UserWarning, stacklevel=2)
        recall = np.ones_like(tps)
    else:
        recall = tps / tps[-1]
    return (np.concatenate([precision[::-1], [1.0]]), np.concatenate([recall[::-1], [0.0]]),
            thresholds[::-1])


def auc(x, y):
    """Area under a curve given by points, by the trapezoid rule (x monotonic).

    Formula
    -------
    A = Σₖ (xₖ₊₁ − xₖ)(yₖ + yₖ₊₁) / 2, sign-corrected when x decreases.

    Examples
    --------
    >>> auc([0, 0.5, 1], [0, 1, 1])
    0.75
    """
    x = np.asarray(to_host(x, "x"), dtype=np.float64).ravel()
    y = np.asarray(to_host(y, "y"), dtype=np.float64).ravel()
    if x.shape[0] < 2:
        raise ValueError(f"at least 2 points are needed to compute an area under a curve, "
                         f"got {x.shape[0]}")
    check_lengths(x=x, y=y)
    direction = 1
    dx = np.diff(x)
    if np.any(dx < 0):
        if np.all(dx <= 0):
            direction = -1
        else:
            raise ValueError(f"x is neither increasing nor decreasing: {x}")
    return float(direction * np.trapezoid(y, x))


def _binary_roc_auc(y_true, y_score, sample_weight=None, max_fpr=None):
    if np.unique(y_true).shape[0] != 2:
        warnings.warn("Only one class is present in y_true. ROC AUC score is not defined in "
                      "that case.", UndefinedMetricWarning, stacklevel=3)
        return float("nan")
    fpr, tpr, _ = roc_curve(y_true, y_score, sample_weight=sample_weight)
    if max_fpr is None or max_fpr == 1:
        return auc(fpr, tpr)
    if max_fpr <= 0 or max_fpr > 1:
        raise ValueError(f"max_fpr must be in (0, 1], got {max_fpr!r}")
    stop = np.searchsorted(fpr, max_fpr, "right")
    tpr = np.append(tpr[:stop], np.interp(max_fpr, fpr[stop - 1:stop + 1], tpr[stop - 1:stop + 1]))
    fpr = np.append(fpr[:stop], max_fpr)
    partial = auc(fpr, tpr)
    # McClish correction: 0.5 for a random ranking, 1 for a perfect one
    min_area, max_area = 0.5 * max_fpr ** 2, max_fpr
    return 0.5 * (1 + (partial - min_area) / (max_area - min_area))


def _binary_average_precision(y_true, y_score, sample_weight=None, pos_label=1):
    precision, recall, _ = precision_recall_curve(y_true, y_score, pos_label=pos_label,
                                                  sample_weight=sample_weight)
    # step integral; precision[-1] is always 1; clip the -0.0 rounding can give
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


_AVERAGES = (None, "micro", "macro", "weighted", "samples")


def _average_columns(metric, y_true, y_score, average, sample_weight):
    """Apply a binary metric to each column of one-vs-rest targets and average the results.

    micro: one curve over all (sample, class) pairs pooled; macro: the mean over classes;
    weighted: the mean weighted by class support; samples: per row (multilabel);
    None: one score per class.
    """
    score_weight, average_weight, axis = sample_weight, None, 1
    if average == "micro":
        if score_weight is not None:
            score_weight = np.repeat(score_weight, y_true.shape[1])
        y_true, y_score = y_true.ravel(), y_score.ravel()
    elif average == "weighted":
        if score_weight is not None:
            average_weight = np.sum(y_true * score_weight[:, None], axis=0)
        else:
            average_weight = np.sum(y_true, axis=0)
        if np.isclose(average_weight.sum(), 0.0):
            return 0
    elif average == "samples":
        average_weight, score_weight, axis = score_weight, None, 0
    if y_true.ndim == 1:
        y_true, y_score = y_true[:, None], y_score[:, None]
    n = y_score.shape[axis]
    score = np.zeros(n)
    for c in range(n):  # one binary curve per class: the loop is over classes, not samples
        score[c] = metric(np.take(y_true, c, axis=axis), np.take(y_score, c, axis=axis),
                          sample_weight=score_weight)
    if average is None:
        return score
    if average_weight is not None:
        # zero-weight classes must not spread their NaN into the mean
        score[average_weight == 0] = 0
    return float(np.average(score, weights=average_weight))


def _check_average(average):
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")


def _score_inputs(y_true, y_score, sample_weight):
    """(labels as a 1-D host array, their target type, the score matrix, sample weights)."""
    y_true = to_host(y_true, "y_true")
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = y_true[:, 0]
    y_type = target_type(y_true, "y_true")
    y_score = _score_matrix(y_score)
    check_lengths(y_true=y_true, y_score=y_score, sample_weight=sample_weight)
    return y_true, y_type, y_score, check_sample_weight(sample_weight, len(y_true))


def _score_matrix(y_score):
    s = to_host(y_score, "y_score")
    if s.dtype.kind not in "biuf":
        raise ValueError(f"y_score must be numeric, got dtype {s.dtype}")
    if s.dtype.kind != "f":
        s = s.astype(np.float64)
    if not np.all(np.isfinite(s)):
        raise ValueError("y_score contains NaN or infinity")
    return s


def _multiclass_needs_matrix(y_score):
    if y_score.ndim != 2:
        raise ValueError("y_score must have shape (n_samples, n_classes) (class probabilities or "
                         f"scores) because y_true has more than two classes, got shape "
                         f"{y_score.shape}; labels are not scores")


def _ovo_auc(y_encoded, y_score, average):
    """Hand & Till (2001): mean over class pairs of the two one-vs-one AUCs."""
    present = np.unique(y_encoded)
    pairs = list(combinations(present, 2))
    pair_scores = np.empty(len(pairs))
    prevalence = np.empty(len(pairs)) if average == "weighted" else None
    for i, (a, b) in enumerate(pairs):
        a_mask, b_mask = y_encoded == a, y_encoded == b
        ab = a_mask | b_mask
        if prevalence is not None:
            prevalence[i] = np.average(ab)
        pair_scores[i] = (_binary_roc_auc(a_mask[ab].astype(np.int64), y_score[ab, a])
                          + _binary_roc_auc(b_mask[ab].astype(np.int64), y_score[ab, b])) / 2
    return float(np.average(pair_scores, weights=prevalence))


def roc_auc_score(y_true, y_score, *, average="macro", sample_weight=None, max_fpr=None,
                  multi_class="raise", labels=None):
    """Area under the ROC curve (binary; multiclass one-vs-rest or one-vs-one).

    Formula
    -------
    AUC = ∫₀¹ TPR d(FPR), by the trapezoid rule over ``roc_curve``'s points; equal to the
    probability that a random positive scores above a random negative (ties count half).
    Multiclass "ovr": one AUC per class c (c against the rest, scored by column c), then
    macro (mean), weighted (by support) or micro (one curve over the flattened one-hot
    targets and scores). "ovo": Hand & Till's mean over class pairs.
    With one class present in y_true the AUC is undefined: an ``UndefinedMetricWarning``
    and NaN, as scikit-learn 1.9.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_score : array-like of shape (n_samples,) (binary: score of the larger label) or
        (n_samples, n_classes) (multiclass: probabilities, rows summing to 1)
    average : {"macro", "weighted", "micro", None}
    sample_weight : array-like, optional
    max_fpr : float in (0, 1], optional
        Binary only: standardized partial AUC over FPR ≤ max_fpr (McClish correction).
    multi_class : {"raise", "ovr", "ovo"}
        Must be set for multiclass targets.
    labels : array-like, optional
        Multiclass: the sorted labels of y_score's columns.

    Examples
    --------
    >>> roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    _check_average(average)
    if multi_class not in ("raise", "ovr", "ovo"):
        raise ValueError(f"multi_class must be 'raise', 'ovr' or 'ovo', got {multi_class!r}")
    y_true, y_type, y_score, w = _score_inputs(y_true, y_score, sample_weight)
    if len(y_true) == 0:
        raise ValueError("y_true and y_score are empty: at least one sample is needed")
    if y_type == "multiclass" or (y_type == "binary" and y_score.ndim == 2
                                  and y_score.shape[1] > 2):
        if max_fpr is not None and max_fpr != 1.0:
            raise ValueError(f"partial AUC is not available for multiclass targets: max_fpr "
                             f"must be None, got {max_fpr!r}")
        if multi_class == "raise":
            raise ValueError("y_true is multiclass: set multi_class to 'ovr' or 'ovo'")
        return _multiclass_roc_auc(y_true, y_score, labels, multi_class, average, w)
    if y_type == "binary":
        classes = np.unique(y_true)
        y01 = (y_true == classes[-1]).astype(np.int64) if classes.shape[0] == 2 else \
            np.zeros(len(y_true), dtype=np.int64)
        return _binary_roc_auc(y01, y_score, w, max_fpr)
    if y_type == "multilabel-indicator":
        if y_score.shape != y_true.shape:
            raise ValueError(f"y_score must have the shape of the multilabel y_true "
                             f"{y_true.shape}, got {y_score.shape}")
        return _average_columns(lambda t, s, sample_weight: _binary_roc_auc(t, s, sample_weight,
                                                                            max_fpr),
                                y_true, y_score, average, w)
    raise ValueError(f"y_true must hold class labels, got {y_type} data")


def _multiclass_roc_auc(y_true, y_score, labels, multi_class, average, w):
    _multiclass_needs_matrix(y_score)
    if not np.allclose(1, y_score.sum(axis=1)):
        raise ValueError("target scores must be probabilities for multiclass ROC AUC: each "
                         "row of y_score should sum to 1 (apply softmax first)")
    allowed = ("macro", "weighted", None) + (("micro",) if multi_class == "ovr" else ())
    if average not in allowed:
        raise ValueError(f"average must be one of {allowed} for multiclass problems with "
                         f"multi_class={multi_class!r}, got {average!r}")
    if average is None and multi_class == "ovo":
        raise NotImplementedError("average=None is not implemented for multi_class='ovo'")
    if labels is not None:
        classes = given_classes(labels, y_true, y_score.shape[1],
                                "number of given labels, {}, not equal to the number of "
                                "columns in y_score, {}")
    else:
        classes = np.unique(y_true)
        if classes.shape[0] != y_score.shape[1]:
            raise ValueError(f"number of classes in y_true ({classes.shape[0]}) not equal to "
                             f"the number of columns in y_score ({y_score.shape[1]}); pass "
                             "all labels through `labels`")
    idx, _ = encode(y_true, classes)
    if multi_class == "ovo":
        if w is not None:
            raise ValueError("sample_weight is not supported for multiclass one-vs-one ROC AUC")
        return _ovo_auc(idx, y_score, average)
    onehot = np.zeros((len(y_true), classes.shape[0]), dtype=np.int64)
    onehot[np.arange(len(y_true)), idx] = 1
    return _average_columns(_binary_roc_auc, onehot, y_score, average, w)


def average_precision_score(y_true, y_score, *, average="macro", pos_label=1,
                            sample_weight=None):
    """Average precision: the precision-recall curve summarised as a step sum.

    Formula
    -------
    AP = Σₙ (Rₙ − Rₙ₋₁) Pₙ over thresholds in decreasing order (each precision weighted by
    the recall it adds; no interpolation). Multiclass targets are scored one-vs-rest per
    column of ``y_score`` and averaged like ``roc_auc_score``.

    Examples
    --------
    >>> round(average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    _check_average(average)
    y_true, y_type, y_score, w = _score_inputs(y_true, y_score, sample_weight)
    present = np.unique(y_true)
    if y_type == "binary":
        if present.shape[0] == 2 and not np.any(present == pos_label):
            raise ValueError(f"pos_label={pos_label!r} is not a valid label: it should be one "
                             f"of {present.tolist()}")
        return _binary_average_precision(y_true, y_score, w, pos_label)
    if y_type == "multiclass":
        if pos_label != 1:
            raise ValueError("pos_label is fixed to 1 for multiclass y_true; do not set it")
        _multiclass_needs_matrix(y_score)
        idx, _ = encode(y_true, present)
        onehot = np.zeros((len(y_true), present.shape[0]), dtype=np.int64)
        onehot[np.arange(len(y_true)), idx] = 1
        if y_score.shape != onehot.shape:
            raise ValueError(f"y_score must have shape {onehot.shape} (n_samples, n_classes), "
                             f"got {y_score.shape}")
        y_true = onehot
    elif y_type != "multilabel-indicator":
        raise ValueError(f"y_true must hold class labels, got {y_type} data")
    elif pos_label != 1:
        raise ValueError("pos_label is fixed to 1 for multilabel y_true; do not set it")
    return _average_columns(_binary_average_precision, y_true, y_score, average, w)
