"""Global pooling: one value per channel over every position (channels-last), one graph node."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import array_module
from ._util import as_tensor, check_image as _check_image

__all__ = ["global_avg_pool2d", "global_max_pool2d", "global_avg_pool1d", "global_max_pool1d"]


class GlobalAvgPool(Function):
    """Mean over the spatial axes 1 .. ndim-2."""

    def forward(self, x):
        self.x_shape = x.shape
        self.axes = tuple(range(1, x.ndim - 1))
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        if not self.needs_input_grad[0]:
            return None
        xp = array_module(gy)
        count = int(np.prod([self.x_shape[a] for a in self.axes]))
        if not self.keepdims:
            gy = gy.reshape(gy.shape[:1] + (1,) * len(self.axes) + gy.shape[1:])
        gx = xp.empty(self.x_shape, gy.dtype)
        gx[...] = gy * (1.0 / count)
        return gx


class GlobalMaxPool(Function):
    """Maximum over the spatial axes; the gradient goes to the first maximum."""

    def forward(self, x):
        xp = array_module(x)
        N, C = x.shape[0], x.shape[-1]
        flat = x.reshape(N, -1, C)
        idx = flat.argmax(axis=1)  # first occurrence, as PyTorch
        y = xp.take_along_axis(flat, idx[:, None, :], axis=1)[:, 0]
        self.x_shape, self.idx = x.shape, idx
        if self.keepdims:
            y = y.reshape((N,) + (1,) * (x.ndim - 2) + (C,))
        return y

    def backward(self, gy):
        if not self.needs_input_grad[0]:
            return None
        xp = array_module(gy)
        N, C = self.x_shape[0], self.x_shape[-1]
        gx = xp.zeros((N, int(np.prod(self.x_shape[1:]))), gy.dtype)
        flat_idx = self.idx * C + xp.arange(C)
        gx[xp.arange(N)[:, None], flat_idx] = gy.reshape(N, C)
        return gx.reshape(self.x_shape)


def _global(fn, fname, x, keepdims, rank):
    x = as_tensor(x)
    _check_image(x, fname, rank)
    return fn.apply(x, keepdims=bool(keepdims))


def global_avg_pool2d(x, keepdims=False):
    """Mean of each channel over all positions (Keras ``GlobalAveragePooling2D``).

    Formula
    -------
        y[n, c] = (1 / HW) Σ_{h, w} x[n, h, w, c],    dL/dx[n, h, w, c] = dL/dy[n, c] / HW

    Shape
    -----
    (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims=True``

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.functional.global_avg_pool2d(np.ones((2, 3, 3, 4), np.float32)).shape
    (2, 4)
    """
    return _global(GlobalAvgPool, "global_avg_pool2d", x, keepdims, 4)


def global_max_pool2d(x, keepdims=False):
    """Maximum of each channel over all positions (Keras ``GlobalMaxPooling2D``).

    Formula
    -------
        y[n, c] = max_{h, w} x[n, h, w, c];  the gradient goes to the first maximum in
        row-major order (PyTorch's ``adaptive_max_pool2d(x, 1)``).

    Shape
    -----
    (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims=True``

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.functional.global_max_pool2d(np.ones((2, 3, 3, 4), np.float32)).shape
    (2, 4)
    """
    return _global(GlobalMaxPool, "global_max_pool2d", x, keepdims, 4)


def global_avg_pool1d(x, keepdims=False):
    """Mean over time of (N, T, C) sequences (Keras ``GlobalAveragePooling1D``): (N, C).

    Formula
    -------
        y[n, c] = (1 / T) Σ_t x[n, t, c]

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.functional.global_avg_pool1d(np.ones((2, 5, 3), np.float32)).shape
    (2, 3)
    """
    return _global(GlobalAvgPool, "global_avg_pool1d", x, keepdims, 3)


def global_max_pool1d(x, keepdims=False):
    """Maximum over time of (N, T, C) sequences (Keras ``GlobalMaxPooling1D``): (N, C).

    Formula
    -------
        y[n, c] = max_t x[n, t, c]   (gradient to the first maximum)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.functional.global_max_pool1d(np.ones((2, 5, 3), np.float32)).shape
    (2, 3)
    """
    return _global(GlobalMaxPool, "global_max_pool1d", x, keepdims, 3)
