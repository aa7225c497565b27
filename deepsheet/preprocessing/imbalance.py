"""Unbalanced data: class weights, random over/under-sampling, decision thresholds, Bayes' rule.

On a rare class, accuracy is a poor guide: predicting "negative" always scores the
prevalence of negatives. Remedies here: weight the loss per class
(``compute_class_weight`` -> ``fit(class_weight=...)``), rebalance the training set by
sampling, and choose the decision threshold on a validation set for the metric that
matters (F1 or Youden's J) instead of the default 0.5. ``bayes_posterior`` is the
cheat sheet's "medical test" view: what a positive (or negative) result is worth given the
prevalence.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from .split import _generator, _take

__all__ = ["compute_class_weight", "RandomOverSampler", "RandomUnderSampler",
           "random_oversample", "random_undersample", "select_threshold", "bayes_posterior"]


def _host_labels(y, name="y"):
    data = y.data if isinstance(y, Tensor) else y
    y = backend.to_numpy(data) if hasattr(data, "shape") else np.asarray(data)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels, got shape {y.shape}")
    return y


def compute_class_weight(class_weight, *, classes, y, sample_weight=None):
    """Per-class loss weights (scikit-learn's ``compute_class_weight``).

    Formula
    -------
    "balanced": w_c = n_samples / (n_classes · n_c), with n_c the (weighted) count of class c
    in y: every class then contributes the same total weight. A dict gives weights by label
    (others 1); None gives 1 for all.

    Parameters
    ----------
    class_weight : "balanced", dict or None
    classes : array-like
        The labels to return weights for (each must occur in y for "balanced").
    y : array-like of shape (n_samples,)
    sample_weight : array-like, optional

    Returns
    -------
    float64 array aligned with ``classes``. For ``fit(class_weight=...)`` build a dict:
    ``dict(zip(classes, weights))``.

    Examples
    --------
    >>> compute_class_weight("balanced", classes=[0, 1], y=[0, 0, 0, 1]).tolist()
    [0.6666666666666666, 2.0]
    """
    classes = _host_labels(classes, "classes")
    y = _host_labels(y)
    if class_weight is None or (isinstance(class_weight, dict) and not class_weight):
        return np.ones(classes.shape[0])
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f'class_weight must be "balanced", a dict or None, got '
                             f"{class_weight!r}")
        present, y_idx = np.unique(y, return_inverse=True)
        if not np.isin(classes, present).all():
            raise ValueError(f"classes {np.setdiff1d(classes, present).tolist()} do not occur "
                             "in y")
        w = None
        if sample_weight is not None:
            w = np.asarray(backend.to_numpy(getattr(sample_weight, "data", sample_weight)),
                           dtype=np.float64)
            if w.shape != y.shape:
                raise ValueError(f"sample_weight must have shape {y.shape}, got {w.shape}")
        counts = np.bincount(y_idx.reshape(-1), weights=w)
        freq = counts.sum() / (present.shape[0] * counts)
        return freq[np.searchsorted(present, classes)]
    if isinstance(class_weight, dict):
        out = np.ones(classes.shape[0])
        missing = []
        for i, c in enumerate(classes.tolist()):
            if c in class_weight:
                out[i] = class_weight[c]
            else:
                missing.append(c)
        if missing and classes.shape[0] - len(missing) != len(class_weight):
            raise ValueError(f"the classes {missing} are not in class_weight")
        return out
    raise ValueError(f'class_weight must be "balanced", a dict or None, got {class_weight!r}')


def _targets(counts, strategy, mode):
    """Wanted number of samples per class for a sampling strategy."""
    if strategy == "auto":
        goal = counts.max() if mode == "over" else counts.min()
        return np.full(counts.shape, goal)
    raise ValueError(f'sampling_strategy must be "auto" or a dict, got {strategy!r}')


class _RandomSampler:
    _mode = None

    def __init__(self, *, sampling_strategy="auto", seed=None):
        self.sampling_strategy = sampling_strategy
        self.seed = seed

    def fit_resample(self, X, y):
        """Return ``(X_resampled, y_resampled)`` (imbalanced-learn's API), of the input kinds.

        The selected rows are kept in class order with a random order inside each class;
        shuffle before mini-batch training (``fit`` does).
        """
        labels = _host_labels(y)
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        if labels.shape[0] != n:
            raise ValueError(f"X has {n} samples but y has {labels.shape[0]} labels")
        classes, y_idx = np.unique(labels, return_inverse=True)
        y_idx = y_idx.reshape(-1)
        counts = np.bincount(y_idx, minlength=classes.shape[0])
        if isinstance(self.sampling_strategy, dict):
            target = counts.copy()
            for c, k in self.sampling_strategy.items():
                pos = np.flatnonzero(classes == c)
                if pos.size == 0:
                    raise ValueError(f"sampling_strategy names class {c!r}, absent from y")
                target[pos[0]] = int(k)
        else:
            target = _targets(counts, self.sampling_strategy, self._mode)
        if self._mode == "over" and np.any(target < counts):
            raise ValueError("RandomOverSampler cannot remove samples: each wanted count must "
                             "be at least the class count")
        if self._mode == "under" and np.any(target > counts):
            raise ValueError("RandomUnderSampler cannot add samples: each wanted count must be "
                             "at most the class count")
        gen = _generator(self.seed)
        self.sample_indices_ = self._pick(y_idx, counts, target, gen)
        return _take(X, self.sample_indices_), _take(y, self.sample_indices_)


class RandomOverSampler(_RandomSampler):
    """Duplicate random samples of the smaller classes until they match the largest.

    Formula
    -------
    For each class c, keep its n_c samples and add (target_c − n_c) draws with replacement
    from them; "auto" targets max_c n_c.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.arange(5).reshape(5, 1), np.array([0, 0, 0, 0, 1])
    >>> _, y_res = RandomOverSampler(seed=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [4, 4]
    """

    _mode = "over"

    @staticmethod
    def _pick(y_idx, counts, target, gen):
        keep = np.arange(y_idx.shape[0])
        extra = []
        for c in np.flatnonzero(target > counts):  # per class, draws made in bulk
            members = np.flatnonzero(y_idx == c)
            extra.append(members[gen.integers(0, members.size, target[c] - counts[c])])
        idx = np.concatenate([keep] + extra) if extra else keep
        return idx[np.argsort(y_idx[idx], kind="stable")]


class RandomUnderSampler(_RandomSampler):
    """Keep a random subset of the larger classes so that they match the smallest.

    Formula
    -------
    For each class c, keep target_c of its n_c samples drawn without replacement; "auto"
    targets min_c n_c. Information is thrown away: prefer it when data is plentiful.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.arange(5).reshape(5, 1), np.array([0, 0, 0, 0, 1])
    >>> _, y_res = RandomUnderSampler(seed=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [1, 1]
    """

    _mode = "under"

    @staticmethod
    def _pick(y_idx, counts, target, gen):
        # a random key per sample, sorted within class: the first target_c of each class stay
        order = np.lexsort((gen.random(y_idx.shape[0]), y_idx))
        cls = y_idx[order]
        rank = np.arange(order.shape[0]) - np.concatenate([[0], np.cumsum(counts)[:-1]])[cls]
        return order[rank < target[cls]]


def random_oversample(X, y, *, sampling_strategy="auto", seed=None):
    """Function form of ``RandomOverSampler(...).fit_resample(X, y)``."""
    return RandomOverSampler(sampling_strategy=sampling_strategy, seed=seed).fit_resample(X, y)


def random_undersample(X, y, *, sampling_strategy="auto", seed=None):
    """Function form of ``RandomUnderSampler(...).fit_resample(X, y)``."""
    return RandomUnderSampler(sampling_strategy=sampling_strategy, seed=seed).fit_resample(X, y)


def select_threshold(y_true, scores, *, criterion="f1", pos_label=1, sample_weight=None):
    """Pick the decision threshold that maximises F1 or Youden's J on validation data.

    Formula
    -------
    Predict positive when score ≥ t. "f1": t* = argmax_t 2 P(t) R(t) / (P(t) + R(t)) over
    the precision-recall curve; "youden": t* = argmax_t J(t) = TPR(t) − FPR(t) =
    sensitivity + specificity − 1 over the ROC curve. Ties go to the highest threshold.
    Choose t on a validation set, never on the test set.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    scores : array-like of shape (n_samples,)
        Probabilities or scores of the positive class.
    criterion : {"f1", "youden"}
    pos_label : label of the positive class
    sample_weight : array-like, optional

    Returns
    -------
    (threshold, best value of the criterion) as Python floats.

    Examples
    --------
    >>> select_threshold([0, 0, 1, 1, 0, 1], [0.1, 0.3, 0.35, 0.8, 0.4, 0.7])
    (0.35, 0.8571428571428571)
    """
    from ..metrics.classification import precision_recall_curve, roc_curve

    if criterion == "f1":
        p, r, t = precision_recall_curve(y_true, scores, pos_label=pos_label,
                                         sample_weight=sample_weight)
        p, r = p[:-1], r[:-1]
        denom = p + r
        value = np.divide(2 * p * r, denom, out=np.zeros_like(denom), where=denom > 0)
        best = int(np.flatnonzero(value == value.max())[-1])  # thresholds ascend here
    elif criterion == "youden":
        fpr, tpr, t = roc_curve(y_true, scores, pos_label=pos_label,
                                sample_weight=sample_weight, drop_intermediate=False)
        fpr, tpr, t = fpr[1:], tpr[1:], t[1:]  # the +inf threshold predicts nothing positive
        value = tpr - fpr
        best = int(np.flatnonzero(value == value.max())[0])  # thresholds descend here
    else:
        raise ValueError(f'criterion must be "f1" or "youden", got {criterion!r}')
    return float(t[best]), float(value[best])


def bayes_posterior(prevalence, sensitivity, specificity):
    """What a test result says about the condition, by Bayes' rule (the "medical test").

    Formula
    -------
    P(D | +) = s·π / (s·π + (1 − t)(1 − π))   (positive predictive value)
    P(D | −) = (1 − s)·π / ((1 − s)·π + t(1 − π))  (1 − negative predictive value)
    with prevalence π = P(D), sensitivity s = P(+ | D) (recall, TPR) and specificity
    t = P(− | not D) (TNR). For a rare condition even an accurate test gives mostly false
    positives: π = 0.001, s = 0.99, t = 0.99 gives P(D | +) ≈ 0.09.

    Parameters
    ----------
    prevalence, sensitivity, specificity : float or array-like in [0, 1] (broadcast)

    Returns
    -------
    (P(condition | positive), P(condition | negative)): floats, or float64 arrays when an
    argument is an array.

    Examples
    --------
    >>> pos, neg = bayes_posterior(0.001, 0.99, 0.99)
    >>> round(pos, 4), round(neg, 7)
    (0.0902, 1.01e-05)
    """
    args = {"prevalence": prevalence, "sensitivity": sensitivity, "specificity": specificity}
    arrays = {}
    for name, v in args.items():
        a = np.asarray(v, dtype=np.float64)
        if np.any(np.isnan(a)) or np.any(a < 0) or np.any(a > 1):
            raise ValueError(f"{name} must be a probability in [0, 1], got {v!r}")
        arrays[name] = a
    pi, s, t = arrays["prevalence"], arrays["sensitivity"], arrays["specificity"]
    true_pos, false_pos = s * pi, (1 - t) * (1 - pi)
    false_neg, true_neg = (1 - s) * pi, t * (1 - pi)
    den_pos, den_neg = true_pos + false_pos, false_neg + true_neg
    # a test that never answers + (or −) leaves that posterior undefined: NaN
    pos = np.divide(true_pos, den_pos, out=np.full(np.shape(den_pos), np.nan), where=den_pos > 0)
    neg = np.divide(false_neg, den_neg, out=np.full(np.shape(den_neg), np.nan), where=den_neg > 0)
    if pos.ndim == 0:
        return float(pos), float(neg)
    return pos, neg
