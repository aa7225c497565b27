"""Input checks shared by the metric functions: conversion to host arrays, target types, weights.

Metrics summarise predictions into a few numbers, so they run on the host: a Tensor or a
CuPy array is copied to NumPy once, on entry. The rules for telling class labels from
probabilities follow scikit-learn's ``type_of_target`` so that every function accepts and
rejects the same inputs as its scikit-learn twin, with messages that say what to do.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined on this data (zero denominator, a single class) and was set by rule."""


def to_host(x, name):
    """A NumPy array for ``x`` (Tensor, CuPy or NumPy array, list); ``None`` stays ``None``."""
    if x is None:
        return None
    arr = backend.to_numpy(x.data if isinstance(x, Tensor) else x)
    if arr.dtype == object:
        # Lists mixing str and numbers land here; labels made only of str become a str array.
        flat = arr.ravel()
        if flat.size and all(isinstance(v, str) for v in flat):
            arr = arr.astype(str)
        elif flat.size and all(isinstance(v, numbers.Number) for v in flat):
            arr = arr.astype(np.float64)
    return arr


def target_type(y, name):
    """'binary', 'multiclass', 'continuous', '...-multioutput', 'multilabel-indicator' or 'unknown'.

    Mirrors scikit-learn's ``type_of_target``: floats with a fractional part are continuous
    (probabilities or scores); at most two distinct values are binary; 2-D arrays with
    several columns are one-hot/multilabel or multioutput.
    """
    if y.ndim not in (1, 2):
        return "unknown"
    if y.size == 0:
        return "binary" if y.ndim == 1 else "unknown"
    if y.dtype == object:
        return "unknown"
    multi = y.ndim == 2 and y.shape[1] > 1
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{name} contains NaN or infinity")
        if np.any(y != np.trunc(y)):
            return "continuous-multioutput" if multi else "continuous"
    uniq = np.unique(y)
    if multi:
        if uniq.size <= 2 and y.dtype.kind in "biuf" and np.all((uniq == 0) | (uniq == 1)):
            return "multilabel-indicator"
        return "multiclass-multioutput"
    return "multiclass" if uniq.size > 2 else "binary"


def check_lengths(**arrays):
    """ValueError naming the arguments when the given arrays differ in length."""
    lengths = {k: (len(v) if np.ndim(v) else 0) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"inconsistent numbers of samples: {described}")


def check_sample_weight(sample_weight, n):
    """A 1-D float or int weight vector of length ``n`` (or None)."""
    if sample_weight is None:
        return None
    w = to_host(sample_weight, "sample_weight")
    if w.ndim == 0:
        w = np.full(n, w.item(), dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}")
    if w.dtype.kind not in "biuf":
        raise ValueError(f"sample_weight must be numeric, got dtype {w.dtype}")
    if w.dtype.kind == "f" and not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or infinity")
    if n and not np.any(w):
        raise ValueError("sample_weight must contain at least one non-zero number")
    return w


def _column(y, name):
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    return y


_HINT_SCORES = ("{name} holds {what} of shape {shape}, but class labels were expected: "
                "threshold binary scores (e.g. y_pred > 0.5) or take the argmax over classes "
                "(y_pred.argmax(axis=1)) first")


def unique_labels(*ys):
    """Sorted union of the labels; string and number labels may not be mixed."""
    kinds = {"str" if y.dtype.kind in "USO" else "num" for y in ys if y.size}
    if len(kinds) > 1:
        raise ValueError("mix of label input types (string and number) in y_true and y_pred")
    return np.unique(np.concatenate([y.ravel() for y in ys]))


def check_targets(y_true, y_pred, sample_weight=None):
    """Validate a pair of label vectors for a classification metric.

    Returns ``(y_type, labels, y_true, y_pred, sample_weight)`` with ``y_type`` "binary" or
    "multiclass", ``labels`` the sorted labels present in either, 1-D host arrays and a
    checked weight vector (or None). Raises ValueError for different lengths, empty input,
    probabilities or scores where labels are expected, and one-hot or multioutput targets.
    """
    y_true = to_host(y_true, "y_true")
    y_pred = to_host(y_pred, "y_pred")
    if y_true.ndim == 0 or y_pred.ndim == 0:
        raise ValueError("y_true and y_pred must be 1-D arrays of labels, got scalars")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred have different lengths: {len(y_true)} and {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred are empty: at least one sample is needed")
    sample_weight = check_sample_weight(sample_weight, len(y_true))
    types = {}
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        t = target_type(y, name)
        if t.startswith("continuous"):
            what = "probabilities or scores" if t == "continuous" else "per-class probabilities"
            raise ValueError(_HINT_SCORES.format(name=name, what=what, shape=y.shape))
        if t == "multilabel-indicator":
            raise ValueError(f"{name} is one-hot or multilabel of shape {y.shape}; these metrics "
                             f"take one label per sample: pass {name}.argmax(axis=1)")
        if t not in ("binary", "multiclass"):
            raise ValueError(f"{name} must be a 1-D array of class labels, got {t} data "
                             f"of shape {y.shape}")
        types[name] = t
    y_true, y_pred = _column(y_true, "y_true"), _column(y_pred, "y_pred")
    labels = unique_labels(y_true, y_pred)
    y_type = "multiclass" if "multiclass" in types.values() or labels.size > 2 else "binary"
    return y_type, labels, y_true, y_pred, sample_weight


def check_zero_division(zero_division):
    """The value an undefined ratio takes: 0.0 for "warn" (plus a warning), 0.0, 1.0 or NaN."""
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0.0
    elif isinstance(zero_division, numbers.Real) and not isinstance(zero_division, bool):
        if zero_division in (0, 1):
            return float(zero_division)
        if np.isnan(zero_division):
            return float("nan")
    raise ValueError(f'zero_division must be "warn", 0, 1 or np.nan, got {zero_division!r}')


def encode(y, classes):
    """Index of each element of ``y`` in ``classes`` and a mask of the elements found there.

    ``classes`` may be in any order; one ``searchsorted`` on its sorted copy maps all samples
    at once (no Python loop over samples).
    """
    classes = np.asarray(classes)
    if classes.size == 0:
        return np.zeros(len(y), dtype=np.intp), np.zeros(len(y), dtype=bool)
    order = np.argsort(classes, kind="stable")
    sorted_classes = classes[order]
    pos = np.searchsorted(sorted_classes, y)
    pos_clipped = np.minimum(pos, classes.size - 1)
    found = sorted_classes[pos_clipped] == y
    return order[pos_clipped], np.asarray(found, dtype=bool)


def given_classes(labels, y_true, n_columns, mismatch):
    """The classes a user named with ``labels=``: unique, sorted, one per score column, and
    covering every label of ``y_true``; ``mismatch`` words the error for a count that is not
    ``n_columns`` (``{}`` for the count, then ``{}`` for n_columns)."""
    labels = to_host(labels, "labels").ravel()
    classes = np.unique(labels)
    if classes.shape[0] != labels.shape[0]:
        raise ValueError("parameter 'labels' must be unique")
    if not np.array_equal(classes, labels):
        raise ValueError("parameter 'labels' must be ordered")
    if classes.shape[0] != n_columns:
        raise ValueError(mismatch.format(classes.shape[0], n_columns))
    if np.setdiff1d(y_true, classes).size:
        raise ValueError("y_true contains labels not in parameter 'labels'")
    return classes
