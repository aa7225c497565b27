"""Top-k accuracy on scores, scikit-learn's ``top_k_accuracy_score``.

Re-exported by ``deepsheet.metrics.classification``.
"""
from __future__ import annotations

import warnings

import numpy as np

from ._ranking import _multiclass_needs_matrix, _score_matrix
from ._validation import (UndefinedMetricWarning, check_lengths, check_sample_weight, encode,
                          given_classes, target_type, to_host)

__all__ = ["top_k_accuracy_score"]


def top_k_accuracy_score(y_true, y_score, *, k=2, normalize=True, sample_weight=None,
                         labels=None):
    """Fraction of samples whose true label is among the k highest-scored classes.

    Formula
    -------
    top-k = Σₙ wₙ [yₙ ∈ argtopₖ sₙ] / Σₙ wₙ; tied scores rank the later class first, as in
    scikit-learn. Binary 1-D scores with k = 1 are thresholded at 0.5 (probabilities) or 0.

    Examples
    --------
    >>> top_k_accuracy_score([0, 1, 2], [[0.5, 0.2, 0.3], [0.3, 0.4, 0.3], [0.4, 0.5, 0.1]], k=2)
    0.6666666666666666
    """
    y_true = to_host(y_true, "y_true")
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = y_true[:, 0]
    if y_true.ndim != 1:
        raise ValueError(f"y_true must be 1-D class labels, got shape {y_true.shape}")
    y_type = target_type(y_true, "y_true")
    if y_type == "binary" and labels is not None and len(labels) > 2:
        y_type = "multiclass"
    if y_type not in ("binary", "multiclass"):
        raise ValueError(f"y_true must hold binary or multiclass labels, got {y_type} data")
    y_score = _score_matrix(y_score)
    if y_type == "binary":
        if y_score.ndim == 2 and y_score.shape[1] != 1:
            raise ValueError(f"y_true is binary while y_score is 2-D with {y_score.shape[1]} "
                             "classes; if y_true misses some labels, pass `labels`")
        if y_score.ndim == 2:
            y_score = y_score[:, 0]
    else:
        _multiclass_needs_matrix(y_score)
    check_lengths(y_true=y_true, y_score=y_score, sample_weight=sample_weight)
    w = check_sample_weight(sample_weight, len(y_true))
    n_score_classes = y_score.shape[1] if y_score.ndim == 2 else 2
    if labels is None:
        classes = np.unique(y_true)
        if classes.shape[0] != n_score_classes:
            raise ValueError(f"number of classes in y_true ({classes.shape[0]}) not equal to the "
                             f"number of classes in y_score ({n_score_classes}); pass all "
                             "known classes through `labels`")
    else:
        classes = given_classes(labels, y_true, n_score_classes,
                                "number of given labels ({}) not equal to the number of "
                                "classes in y_score ({})")
    if k >= classes.shape[0]:
        warnings.warn(f"'k' ({k}) greater than or equal to 'n_classes' ({classes.shape[0]}) "
                      "will result in a perfect score and is therefore meaningless.",
                      UndefinedMetricWarning, stacklevel=2)
    idx, _ = encode(y_true, classes)
    if y_type == "binary":
        if k == 1:
            threshold = 0.5 if y_score.min() >= 0 and y_score.max() <= 1 else 0
            hits = (y_score > threshold).astype(np.int64) == idx
        else:
            hits = np.ones(y_score.shape, dtype=bool)
    else:
        ranked = np.argsort(y_score, axis=1, kind="stable")[:, ::-1]
        hits = (idx == ranked[:, :k].T).any(axis=0)
    if normalize:
        return float(np.average(hits, weights=w))
    return float(np.sum(hits) if w is None else np.dot(hits, w))
