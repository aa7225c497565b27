"""Scaling and centering: min-max scaling and z-normalisation, fitted on training data only.

Scaling puts features on comparable ranges (better conditioned gradients, faster and more
stable convergence); centering around 0 makes learning more robust. Fit the statistics on
the training set, then apply the same transform to validation and test data: fitting on
test data leaks information about it into the model.

Statistics are taken per index of the kept ``axis`` (Keras's ``Normalization`` convention)
over every other axis. The default ``axis=-1`` means per feature for tables (n, features),
as scikit-learn does, and per channel for images (N, H, W, C); ``axis=(1, 2, 3)`` gives one
statistic per pixel and channel; ``axis=None`` a single global one.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["MinMaxScaler", "StandardScaler"]


def _unwrap(X, who):
    """(backend array, whether a Tensor came in); integers become the default float dtype."""
    is_tensor = isinstance(X, Tensor)
    data = X.data if is_tensor else X
    if not hasattr(data, "dtype"):
        data = np.asarray(data)
        if data.dtype == np.float64:  # Python floats follow the library's default dtype
            data = data.astype(backend.get_default_dtype())
    if data.dtype.kind not in "fiub":
        raise ValueError(f"{who} expects numeric data, got dtype {data.dtype}")
    if data.dtype.kind != "f":
        data = data.astype(backend.get_default_dtype())
    if data.ndim < 2:
        raise ValueError(f"{who} expects data of shape (n_samples, ...) with at least 2 "
                         f"dimensions, got shape {data.shape}; reshape a single feature with "
                         "X.reshape(-1, 1)")
    return data, is_tensor


def _wrap(data, is_tensor):
    return Tensor(data) if is_tensor else data


class _Scaler:
    """Shared fit/transform plumbing: which axes are reduced, shape checks, Tensor in/out."""

    def __init__(self, axis=-1):
        self.axis = axis

    def _reduced_axes(self, ndim):
        if self.axis is None:
            return tuple(range(ndim))
        keep = (self.axis,) if isinstance(self.axis, (int, np.integer)) else tuple(self.axis)
        norm = []
        for a in keep:
            if not -ndim <= a < ndim:
                raise ValueError(f"{type(self).__name__}: axis {a} is out of range for data "
                                 f"with {ndim} dimensions")
            norm.append(a % ndim)
        if 0 in norm:
            raise ValueError(f"{type(self).__name__}: axis may not keep the sample axis 0 "
                             "(statistics are taken over samples)")
        return tuple(a for a in range(ndim) if a not in norm)

    def _start_fit(self, X):
        data, _ = _unwrap(X, type(self).__name__)
        if data.shape[0] == 0:
            raise ValueError(f"{type(self).__name__}.fit needs at least one sample, got shape "
                             f"{data.shape}")
        self._reduce = self._reduced_axes(data.ndim)
        self._fit_shape = data.shape
        self.n_samples_seen_ = int(np.prod([data.shape[a] for a in self._reduce]))
        return data

    def _kept_shape(self, shape):
        return tuple(1 if a in self._reduce else s for a, s in enumerate(shape))

    def _check(self, X, what):
        if not hasattr(self, "_reduce"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit on the "
                               "training data first")
        data, is_tensor = _unwrap(X, type(self).__name__)
        if (data.ndim != len(self._fit_shape)
                or self._kept_shape(data.shape) != self._kept_shape(self._fit_shape)):
            raise ValueError(f"{type(self).__name__}.{what} expects data shaped like the fitted "
                             f"data {('N',) + self._fit_shape[1:]} along the kept axes, got "
                             f"{data.shape}")
        return data, is_tensor

    def _stat(self, stat, data):
        """A fitted statistic, in the data's dtype and on its device, ready to broadcast."""
        xp = backend.array_module(data)
        s = stat.reshape(self._kept_shape(self._fit_shape))
        if xp is not np:
            s = xp.asarray(s)
        return s.astype(data.dtype, copy=False)

    def _public(self, stat):
        """A statistic as users see it: the kept axes only (e.g. (n_features,) or (C,))."""
        kept = tuple(s for a, s in enumerate(self._fit_shape) if a not in self._reduce)
        return stat.reshape(kept)

    def fit_transform(self, X, y=None):
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X, y).transform(X)


def _host(a):
    return backend.to_numpy(a)


class MinMaxScaler(_Scaler):
    """Scale each feature (or channel) to ``feature_range`` using the training min and max.

    Formula
    -------
    x' = lo + (x − x_min) (hi − lo) / (x_max − x_min), i.e. x' = x · scale_ + min_ with
    scale_ = (hi − lo) / (x_max − x_min) and min_ = lo − x_min · scale_. [0, 1]:
    (x − x_min) / (x_max − x_min); [−1, 1]: 2 (x − x_min) / (x_max − x_min) − 1. A constant
    feature (x_max − x_min < 10 ε) gets scale (hi − lo), so it maps to ``lo``. Sensitive to outliers:
    one extreme value squeezes all the others.

    Parameters
    ----------
    feature_range : (lo, hi), default (0, 1)
    axis : int, tuple of int or None, default -1
        Axes that keep a statistic per index (see the module docstring).
    clip : bool
        Clip transformed test data to ``feature_range``.

    Shape
    -----
    Input (n_samples, ...) with at least 2 dimensions; output has the same shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> MinMaxScaler((-1, 1)).fit_transform(np.array([[0.0], [5.0], [10.0]]))
    array([[-1.],
           [ 0.],
           [ 1.]])
    """

    def __init__(self, feature_range=(0, 1), *, axis=-1, clip=False):
        super().__init__(axis)
        lo, hi = feature_range
        if not lo < hi:
            raise ValueError(f"MinMaxScaler: feature_range must be (min, max) with min < max, "
                             f"got {feature_range}")
        self.feature_range = (lo, hi)
        self.clip = clip

    def fit(self, X, y=None):
        data = self._start_fit(X)
        xp = backend.array_module(data)
        lo, hi = self.feature_range
        dmin = _host(xp.min(data, axis=self._reduce)).astype(np.float64)
        dmax = _host(xp.max(data, axis=self._reduce)).astype(np.float64)
        rng = dmax - dmin
        # a (near-)constant feature would divide by ~0: scale it by 1 instead (sklearn's rule)
        scale = (hi - lo) / np.where(rng < 10 * np.finfo(data.dtype).eps, 1.0, rng)
        self._min, self._scale = lo - dmin * scale, scale
        self.data_min_, self.data_max_ = self._public(dmin), self._public(dmax)
        self.data_range_ = self._public(rng)
        self.scale_, self.min_ = self._public(scale), self._public(self._min)
        return self

    def transform(self, X):
        data, is_tensor = self._check(X, "transform")
        out = data * self._stat(self._scale, data) + self._stat(self._min, data)
        if self.clip:
            xp = backend.array_module(out)
            out = xp.clip(out, self.feature_range[0], self.feature_range[1])
        return _wrap(out, is_tensor)

    def inverse_transform(self, X):
        data, is_tensor = self._check(X, "inverse_transform")
        out = (data - self._stat(self._min, data)) / self._stat(self._scale, data)
        return _wrap(out, is_tensor)


class StandardScaler(_Scaler):
    """Z-normalisation: subtract the training mean and divide by the training standard deviation.

    Formula
    -------
    x' = (x − μ) / σ with μ and σ² (population variance, ddof = 0) over the reduced axes.
    Guard: a (near-)constant feature, σ² ≤ n ε σ² + (n μ ε)², gets σ := 1, so it is only
    centred instead of blown up by rounding noise.

    Parameters
    ----------
    with_mean, with_std : bool
        Center, and scale to unit variance.
    axis : int, tuple of int or None, default -1
        Axes that keep a statistic per index: -1 is per feature (tables) or per channel
        (images, channels last).

    Shape
    -----
    Input (n_samples, ...) with at least 2 dimensions; output has the same shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> StandardScaler().fit_transform(np.array([[1.0, 5.0], [3.0, 5.0]]))
    array([[-1.,  0.],
           [ 1.,  0.]])
    """

    def __init__(self, *, with_mean=True, with_std=True, axis=-1):
        super().__init__(axis)
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self, X, y=None):
        data = self._start_fit(X)
        xp = backend.array_module(data)
        n = self.n_samples_seen_
        # float64 accumulation: float32 sums over many samples lose digits
        mean = _host(xp.mean(data, axis=self._reduce, dtype=np.float64))
        centred = data - xp.asarray(mean.reshape(self._kept_shape(data.shape)))
        var = _host(xp.mean(centred * centred, axis=self._reduce, dtype=np.float64))
        eps = np.finfo(np.float64).eps  # the statistics were accumulated in float64
        constant = var <= n * eps * var + (n * mean * eps) ** 2
        scale = np.where(constant, 1.0, np.sqrt(var))
        self._mean = mean if self.with_mean else np.zeros_like(mean)
        self._scale = scale if self.with_std else np.ones_like(scale)
        # scikit-learn's attributes: None for what was not asked for
        self.mean_ = self._public(mean) if self.with_mean or self.with_std else None
        self.var_ = self._public(var) if self.with_std else None
        self.scale_ = self._public(scale) if self.with_std else None
        return self

    def transform(self, X):
        data, is_tensor = self._check(X, "transform")
        out = (data - self._stat(self._mean, data)) / self._stat(self._scale, data)
        return _wrap(out, is_tensor)

    def inverse_transform(self, X):
        data, is_tensor = self._check(X, "inverse_transform")
        out = data * self._stat(self._scale, data) + self._stat(self._mean, data)
        return _wrap(out, is_tensor)
