"""Label encodings: one-hot vectors (Keras's ``to_categorical``) and ``LabelEncoder``."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["one_hot", "to_categorical", "LabelEncoder"]


def _labels(y):
    data = y.data if isinstance(y, Tensor) else y
    return data if hasattr(data, "dtype") and not isinstance(data, np.generic) else np.asarray(data)


def one_hot(y, num_classes=None, dtype="float32"):
    """One-hot encode integer class labels along a new last axis.

    Formula
    -------
    out[..., k] = 1 if y[...] = k else 0, for k = 0 .. num_classes − 1.

    Parameters
    ----------
    y : array-like of int, any shape
        Class indices in [0, num_classes). A trailing axis of size 1 is dropped (Keras).
    num_classes : int, optional
        Default: ``max(y) + 1``.
    dtype : dtype, default float32

    Shape
    -----
    y (...) or (..., 1) -> (..., num_classes). The output lives where ``y`` lives (NumPy or
    CuPy); a Tensor input gives a Tensor.

    Examples
    --------
    >>> one_hot([0, 2, 1], 3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    is_tensor = isinstance(y, Tensor)
    data = _labels(y)
    xp = backend.array_module(data)
    if data.dtype.kind == "f":
        if data.size and bool(xp.any(data != xp.trunc(data))):
            raise ValueError("one_hot expects integer class labels, got fractional values "
                             "(probabilities?); use argmax first")
    elif data.dtype.kind not in "iub":
        raise ValueError(f"one_hot expects integer class labels, got dtype {data.dtype}; "
                         "map them to integers with LabelEncoder first")
    if data.ndim > 1 and data.shape[-1] == 1:
        data = data[..., 0]
    idx = data.astype(np.int64)
    if num_classes is None:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"one_hot: labels must lie in [0, {num_classes}), got values in "
                             f"[{lo}, {hi}]")
    out = xp.zeros(idx.shape + (int(num_classes),), dtype=np.dtype(dtype))
    # put_along_axis writes every 1 in one vectorised call
    xp.put_along_axis(out, idx[..., None], 1, axis=-1)
    return Tensor(out) if is_tensor else out


def to_categorical(y, num_classes=None, dtype="float32"):
    """Keras's name for ``one_hot``: integer labels to one-hot rows.

    Examples
    --------
    >>> to_categorical([1, 0], num_classes=2)
    array([[0., 1.],
           [1., 0.]], dtype=float32)
    """
    return one_hot(y, num_classes=num_classes, dtype=dtype)


class LabelEncoder:
    """Encode arbitrary labels (strings, numbers) as integers 0 .. n_classes − 1 (scikit-learn API).

    Formula::

        classes_ = sorted unique labels c_0 < c_1 < … < c_{K−1};  transform: c_k ↦ k

    ``classes_`` holds the sorted distinct labels; label ``classes_[k]`` is encoded as ``k``.

    Examples
    --------
    >>> enc = LabelEncoder().fit(["cat", "dog", "cat", "bird"])
    >>> enc.classes_.tolist(), enc.transform(["dog", "bird"]).tolist()
    (['bird', 'cat', 'dog'], [2, 0])
    >>> enc.inverse_transform([1]).tolist()
    ['cat']
    """

    def fit(self, y):
        y = backend.to_numpy(_labels(y))
        if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
            raise ValueError(f"LabelEncoder expects a 1-D array of labels, got shape {y.shape}")
        self.classes_ = np.unique(y.ravel())
        return self

    def _fitted(self):
        if not hasattr(self, "classes_"):
            raise RuntimeError("LabelEncoder is not fitted yet: call fit first")

    def transform(self, y):
        """Integer code of each label (int64); unseen labels raise ValueError."""
        self._fitted()
        y = backend.to_numpy(_labels(y)).ravel()
        if y.size == 0:
            return np.zeros(0, dtype=np.int64)
        idx = np.searchsorted(self.classes_, y)
        found = self.classes_[np.minimum(idx, self.classes_.size - 1)] == y
        if not found.all():
            raise ValueError(f"y contains previously unseen labels: "
                             f"{np.unique(y[~found]).tolist()}")
        return idx.astype(np.int64)

    def fit_transform(self, y):
        return self.fit(y).transform(y)

    def inverse_transform(self, y):
        """Labels of integer codes; codes outside [0, n_classes) raise ValueError."""
        self._fitted()
        y = backend.to_numpy(_labels(y)).ravel()
        if y.size == 0:
            return self.classes_[:0]
        if y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= self.classes_.size:
            raise ValueError(f"inverse_transform expects integer codes in [0, "
                             f"{self.classes_.size}), got {np.unique(y).tolist()[:10]}")
        return self.classes_[y]
