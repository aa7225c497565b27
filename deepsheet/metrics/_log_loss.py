"""Log loss (cross-entropy) of predicted probabilities, scikit-learn's ``log_loss``.

Re-exported by ``deepsheet.metrics.classification``.
"""
from __future__ import annotations

import warnings

import numpy as np

from ._validation import check_sample_weight, encode, to_host

__all__ = ["log_loss"]


def _one_hot_targets(y_true, labels):
    """One-hot (n, n_classes) float targets over the sorted classes, and the classes."""
    if labels is not None:
        labels = to_host(labels, "labels")
        classes = np.unique(labels)
        if not np.array_equal(classes, labels):
            warnings.warn(f"labels passed were {labels.tolist()}, but the columns of y_proba "
                          f"are taken in sorted order {classes.tolist()}", UserWarning,
                          stacklevel=3)
        if not np.isin(y_true, classes).all():
            unknown = sorted(set(np.setdiff1d(y_true, classes).tolist()))
            raise ValueError(f"y_true contains values {unknown} not in labels {labels.tolist()}")
    else:
        classes = np.unique(y_true)
    if classes.shape[0] == 1:
        if labels is None:
            raise ValueError(f"y_true contains only one label ({classes[0]}); pass all expected "
                             "class labels through `labels`")
        raise ValueError(f"labels needs at least two labels, got {classes.tolist()}")
    idx, _ = encode(y_true, classes)
    onehot = np.zeros((len(y_true), classes.shape[0]))
    onehot[np.arange(len(y_true)), idx] = 1.0
    return onehot, classes


def log_loss(y_true, y_proba, *, normalize=True, sample_weight=None, labels=None):
    """Cross-entropy of predicted probabilities against the true labels (lower is better).

    Formula
    -------
    L = −(1/Σw) Σₙ wₙ Σ_k [yₙ = k] log clip(pₙₖ, ε, 1 − ε), ε = machine epsilon of p's dtype;
    a 1-D ``y_proba`` is the probability of the larger label: pₙ = [1 − q, q].

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_proba : array-like of shape (n_samples,) or (n_samples, n_classes)
        Probabilities (columns in sorted label order), not labels or logits.
    normalize : bool
        Mean over samples (True) or sum.
    sample_weight : array-like, optional
    labels : array-like, optional
        All class labels, when y_true misses some.

    Examples
    --------
    >>> round(log_loss([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]), 4)
    0.2284
    """
    y_true = to_host(y_true, "y_true")
    p = to_host(y_proba, "y_proba")
    if p.dtype.kind not in "f":
        p = p.astype(np.float64)
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = y_true[:, 0]
    if y_true.ndim != 1:
        raise ValueError(f"y_true must be 1-D class labels, got shape {y_true.shape}")
    if p.ndim not in (1, 2):
        raise ValueError(f"y_proba must have shape (n_samples,) or (n_samples, n_classes), "
                         f"got {p.shape}")
    if len(p) != len(y_true):
        raise ValueError(f"y_true and y_proba have different lengths: {len(y_true)} and {len(p)}")
    if len(p) == 0:
        raise ValueError("y_true and y_proba are empty: at least one sample is needed")
    if not np.all(np.isfinite(p)):
        raise ValueError("y_proba contains NaN or infinity")
    if p.max() > 1:
        raise ValueError(f"y_proba contains values greater than 1 ({p.max()}): log_loss expects "
                         "probabilities, not labels or logits")
    if p.min() < 0:
        raise ValueError(f"y_proba contains values lower than 0 ({p.min()}): log_loss expects "
                         "probabilities, not logits")
    w = check_sample_weight(sample_weight, len(y_true))
    onehot, classes = _one_hot_targets(y_true, labels)
    if p.ndim == 1:
        p = p[:, None]
    if p.shape[1] == 1:
        p = np.concatenate([1 - p, p], axis=1)
    eps = np.finfo(p.dtype).eps
    if not np.all(np.isclose(p.sum(axis=1), 1, rtol=np.sqrt(eps))):
        warnings.warn("the y_proba rows do not sum to one; make sure to pass probabilities",
                      UserWarning, stacklevel=2)
    if classes.shape[0] != p.shape[1]:
        if labels is None:
            raise ValueError(f"y_true and y_proba contain different numbers of classes: "
                             f"{classes.shape[0]} vs {p.shape[1]}; pass all labels through "
                             f"`labels` (classes found in y_true: {classes.tolist()})")
        raise ValueError(f"the number of classes in labels ({classes.shape[0]}) differs from "
                         f"the number of columns of y_proba ({p.shape[1]})")
    p = np.clip(p, eps, 1 - eps)
    loss = -np.sum(onehot.astype(p.dtype) * np.log(p), axis=1)
    if normalize:
        return float(np.average(loss, weights=w))
    return float(np.sum(loss) if w is None else np.dot(loss, w))
