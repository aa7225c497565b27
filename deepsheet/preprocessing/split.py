"""Splitting data: hold-out train/test splits and k-fold cross-validation, optionally stratified.

Shuffling draws from the library generator (``deepsheet.backend.rng()``, reseeded by
``deepsheet.manual_seed``) when ``seed`` is None, or from a private generator built from
``seed``, so a split is reproducible either way. Sizes and fold layouts follow
scikit-learn (``train_test_split``, ``KFold``, ``StratifiedKFold``); the random permutations
themselves differ, since the generators differ.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["train_test_split", "KFold", "StratifiedKFold"]


def _generator(seed):
    if seed is None:
        return backend.rng()
    if isinstance(seed, np.random.Generator):
        return seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}")
    return np.random.default_rng(int(seed))


def _n_samples(x, name="X"):
    if isinstance(x, Tensor) or hasattr(x, "shape"):
        if len(x.shape) == 0:
            raise ValueError(f"{name} must have a sample axis, got a scalar")
        return int(x.shape[0])
    return len(x)


def _take(x, idx):
    """Rows ``idx`` of an array, Tensor or list, returned as the same kind."""
    if isinstance(x, Tensor):
        xp = backend.array_module(x.data)
        return Tensor(x.data[xp.asarray(idx)])
    if hasattr(x, "shape") and hasattr(x, "__getitem__"):
        xp = backend.array_module(x)
        return x[xp.asarray(idx) if xp is not np else idx]
    return [x[i] for i in idx]


def _labels(y):
    data = y.data if isinstance(y, Tensor) else y
    y = backend.to_numpy(data) if hasattr(data, "shape") else np.asarray(data)
    if y.ndim == 2 and y.shape[1] > 1:
        # one-hot rows stratify like their class index
        y = y.argmax(axis=1)
    return y.reshape(len(y)) if y.ndim > 1 else y


def _split_sizes(n, test_size, train_size, default_test=0.25):
    """(n_train, n_test) with scikit-learn's rounding: test rounds up, train rounds down."""
    if test_size is None and train_size is None:
        test_size = default_test
    for name, size in (("test_size", test_size), ("train_size", train_size)):
        if size is None:
            continue
        if isinstance(size, numbers.Integral) and not isinstance(size, bool):
            if not 0 < size < n:
                raise ValueError(f"{name}={size} should be a positive integer smaller than the "
                                 f"number of samples {n}, or a float in (0, 1)")
        elif isinstance(size, numbers.Real):
            if not 0 < size < 1:
                raise ValueError(f"{name}={size} should be a float in (0, 1) or a positive "
                                 "integer")
        else:
            raise ValueError(f"{name} must be a float, an int or None, got {size!r}")
    if (isinstance(test_size, float) and isinstance(train_size, float)
            and test_size + train_size > 1):
        raise ValueError(f"test_size + train_size = {test_size + train_size} should be at most 1")
    n_test = (math.ceil(test_size * n) if isinstance(test_size, float) else test_size)
    n_train = (math.floor(train_size * n) if isinstance(train_size, float) else train_size)
    if train_size is None:
        n_train = n - n_test
    elif test_size is None:
        n_test = n - n_train
    if n_train + n_test > n:
        raise ValueError(f"train ({n_train}) + test ({n_test}) samples exceed the {n} available")
    if n_train == 0 or n_test == 0:
        raise ValueError(f"with n_samples={n}, test_size={test_size} and train_size="
                         f"{train_size} one of the sets would be empty; adjust the sizes")
    return int(n_train), int(n_test)


def _apportion(counts, n_draws, gen):
    """Integer shares of ``n_draws`` proportional to ``counts`` (largest remainders first,
    ties broken at random): scikit-learn's ``_approximate_mode``."""
    exact = counts / counts.sum() * n_draws
    share = np.floor(exact).astype(np.int64)
    missing = int(n_draws - share.sum())
    if missing > 0:
        order = np.lexsort((gen.random(counts.shape[0]), -(exact - share)))
        share[order[:missing]] += 1
    return share


def _stratified_indices(y, n_train, n_test, gen):
    classes, y_idx = np.unique(y, return_inverse=True)
    counts = np.bincount(y_idx)
    if counts.min() < 2:
        raise ValueError("the least populated class in y has only 1 member, which is too few "
                         "to stratify: every class needs at least 2 samples")
    if n_train < classes.size or n_test < classes.size:
        raise ValueError(f"train size {n_train} and test size {n_test} must each be at least the "
                         f"number of classes {classes.size} to stratify")
    n_i = _apportion(counts, n_train, gen)
    t_i = _apportion(counts - n_i, n_test, gen)
    # one sort puts samples in class order with a random order inside each class
    order = np.lexsort((gen.random(y_idx.shape[0]), y_idx))
    cls = y_idx[order]
    rank = np.arange(order.shape[0]) - np.concatenate([[0], np.cumsum(counts)[:-1]])[cls]
    train = order[rank < n_i[cls]]
    test = order[(rank >= n_i[cls]) & (rank < n_i[cls] + t_i[cls])]
    return gen.permutation(train), gen.permutation(test)


def train_test_split(*arrays, test_size=None, train_size=None, shuffle=True, stratify=None,
                     seed=None):
    """Split arrays into random train and test subsets (scikit-learn's ``train_test_split``).

    Formula
    -------
    n_test = ⌈test_size · n⌉ for a fraction (default 0.25), n_train = n − n_test. With
    ``stratify=y`` each class c gets about n_c · n_test / n test samples (largest remainders
    rounded up), so both sets keep the class proportions of y.

    Parameters
    ----------
    *arrays : arrays, Tensors or lists with the same first dimension
    test_size, train_size : float in (0, 1), int or None
    shuffle : bool
        False keeps the order: train is the first n_train samples, test the next n_test.
    stratify : array-like of labels, optional
        Class labels (or one-hot rows) whose proportions both sets keep.
    seed : int, optional
        Private generator seed; None draws from the library RNG (``deepsheet.manual_seed``).

    Returns
    -------
    list: ``[a_train, a_test, b_train, b_test, ...]``, each of the input's kind.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.arange(20).reshape(10, 2), np.arange(10)
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, seed=0)
    >>> X_tr.shape, X_te.shape
    ((7, 2), (3, 2))
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    lengths = [_n_samples(a, f"array {i}") for i, a in enumerate(arrays)]
    if len(set(lengths)) > 1:
        raise ValueError(f"all arrays must have the same number of samples, got {lengths}")
    n = lengths[0]
    n_train, n_test = _split_sizes(n, test_size, train_size)
    if not shuffle:
        if stratify is not None:
            raise ValueError("stratified splitting needs shuffle=True")
        train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
    else:
        gen = _generator(seed)
        if stratify is not None:
            y = _labels(stratify)
            if y.shape[0] != n:
                raise ValueError(f"stratify has {y.shape[0]} labels for {n} samples")
            train, test = _stratified_indices(y, n_train, n_test, gen)
        else:
            perm = gen.permutation(n)
            test, train = perm[:n_test], perm[n_test:n_test + n_train]
    return [part for a in arrays for part in (_take(a, train), _take(a, test))]


class KFold:
    """K-fold cross-validation indices: k consecutive folds, each the test set once.

    Formula
    -------
    The first n mod k folds hold ⌊n/k⌋ + 1 samples, the others ⌊n/k⌋; fold i is tested on
    while the other k − 1 train (optionally after one shuffle of the samples).

    Parameters
    ----------
    n_splits : int >= 2
    shuffle : bool
    seed : int, optional
        Only with ``shuffle``; None draws from the library RNG.

    Examples
    --------
    >>> [test.tolist() for _, test in KFold(3).split(range(7))]
    [[0, 1, 2], [3, 4], [5, 6]]
    """

    def __init__(self, n_splits=5, *, shuffle=False, seed=None):
        if not isinstance(n_splits, numbers.Integral) or n_splits < 2:
            raise ValueError(f"n_splits must be an integer of at least 2, got {n_splits!r}")
        if not shuffle and seed is not None:
            raise ValueError("setting a seed has no effect when shuffle=False; pass "
                             "shuffle=True or leave seed=None")
        self.n_splits, self.shuffle, self.seed = int(n_splits), bool(shuffle), seed

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits

    def _test_folds(self, n, y):
        """Fold number of every sample."""
        order = np.arange(n)
        if self.shuffle:
            order = _generator(self.seed).permutation(n)
        sizes = np.full(self.n_splits, n // self.n_splits)
        sizes[: n % self.n_splits] += 1
        folds = np.empty(n, dtype=np.int64)
        folds[order] = np.repeat(np.arange(self.n_splits), sizes)
        return folds

    def split(self, X, y=None, groups=None):
        """Yield ``(train_indices, test_indices)`` for each fold, both sorted."""
        n = _n_samples(X)
        if self.n_splits > n:
            raise ValueError(f"cannot have n_splits={self.n_splits} greater than the number of "
                             f"samples n_samples={n}")
        folds = self._test_folds(n, y)
        for i in range(self.n_splits):
            yield np.flatnonzero(folds != i), np.flatnonzero(folds == i)


class StratifiedKFold(KFold):
    """K-fold cross-validation whose folds keep the class proportions of y.

    Formula
    -------
    Samples sorted by class are dealt to folds 0, 1, .., k − 1, 0, 1, .. in turn, so each
    class c is spread over the folds as evenly as possible (fold sizes of c differ by at
    most one); with ``shuffle`` the fold labels are shuffled within each class. The
    layout without shuffling is scikit-learn's exactly.

    Examples
    --------
    >>> y = [0, 0, 0, 0, 1, 1]
    >>> [test.tolist() for _, test in StratifiedKFold(2).split(y, y)]
    [[0, 1, 4], [2, 3, 5]]
    """

    def _test_folds(self, n, y):
        if y is None:
            raise ValueError("StratifiedKFold.split needs the labels y")
        y = _labels(y)
        if y.shape[0] != n:
            raise ValueError(f"y has {y.shape[0]} labels for {n} samples")
        # classes numbered by first appearance, as scikit-learn does
        _, first, inverse = np.unique(y, return_index=True, return_inverse=True)
        _, rank = np.unique(first, return_inverse=True)
        y_enc = rank[inverse.reshape(-1)]
        n_classes = first.shape[0]
        counts = np.bincount(y_enc, minlength=n_classes)
        if np.all(self.n_splits > counts):
            raise ValueError(f"n_splits={self.n_splits} cannot be greater than the number of "
                             "members in each class")
        if self.n_splits > counts.min():
            warnings.warn(f"the least populated class in y has only {counts.min()} members, "
                          f"which is less than n_splits={self.n_splits}", UserWarning,
                          stacklevel=3)
        y_sorted = np.sort(y_enc)
        deal = np.arange(n) % self.n_splits
        allocation = np.bincount(deal * n_classes + y_sorted,
                                 minlength=self.n_splits * n_classes).reshape(self.n_splits,
                                                                              n_classes)
        gen = _generator(self.seed) if self.shuffle else None
        folds = np.empty(n, dtype=np.int64)
        for c in range(n_classes):  # a loop over classes; samples are placed in bulk
            of_class = np.repeat(np.arange(self.n_splits), allocation[:, c])
            if gen is not None:
                gen.shuffle(of_class)
            folds[y_enc == c] = of_class
        return folds
