"""Upsampling of channels-last images (nearest or bilinear), one graph node."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import array_module, device_of, to_device
from ._conv_arithmetic import normalize_tuple
from ._util import as_tensor, check_image as _check_image

__all__ = ["upsample2d"]


def _bilinear_matrix(n_in, scale, dtype):
    """(n_in·scale, n_in) interpolation weights, PyTorch ``align_corners=False``."""
    n_out = n_in * scale
    src = np.maximum((np.arange(n_out) + 0.5) / scale - 0.5, 0.0)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    m[rows, i0] += 1.0 - lam
    m[rows, i1] += lam
    return m.astype(dtype)


class Upsample2d(Function):
    """Nearest (repeat) or bilinear (two small matrix products) upsampling."""

    def forward(self, x):
        xp = array_module(x)
        N, H, W, C = x.shape
        sh, sw = self.size
        self.x_shape = x.shape
        if self.interpolation == "nearest":
            y = xp.empty((N, H, sh, W, sw, C), x.dtype)
            y[...] = x[:, :, None, :, None, :]
            return y.reshape(N, H * sh, W * sw, C)
        self.mh = to_device(_bilinear_matrix(H, sh, x.dtype), device_of(x))
        self.mw = to_device(_bilinear_matrix(W, sw, x.dtype), device_of(x))
        t = xp.matmul(self.mh, x.reshape(N, H, W * C))            # (N, Ho, W·C)
        y = xp.matmul(self.mw, t.reshape(N * H * sh, W, C))        # (N·Ho, Wo, C)
        return y.reshape(N, H * sh, W * sw, C)

    def backward(self, gy):
        if not self.needs_input_grad[0]:
            return None
        xp = array_module(gy)
        N, H, W, C = self.x_shape
        sh, sw = self.size
        if self.interpolation == "nearest":
            return gy.reshape(N, H, sh, W, sw, C).sum(axis=(2, 4))
        t = xp.matmul(self.mw.T, gy.reshape(N * H * sh, W * sw, C))  # (N·Ho, W, C)
        return xp.matmul(self.mh.T, t.reshape(N, H * sh, W * C)).reshape(N, H, W, C)


def upsample2d(x, size=2, interpolation="nearest"):
    """Enlarge channels-last images by integer factors (Keras ``UpSampling2D``).

    Formula
    -------
        nearest:  y[n, p, q, c] = x[n, floor(p / s_h), floor(q / s_w), c]
        bilinear: y = M_h x M_wᵀ per channel, where row p of M_h puts weights (1 − λ, λ)
                  on rows (i₀, min(i₀ + 1, H − 1)) with u = max((p + ½)/s_h − ½, 0),
                  i₀ = floor(u), λ = u − i₀   (PyTorch ``align_corners=False``)
        gradients: nearest sums each s_h × s_w block; bilinear is M_hᵀ (dL/dy) M_w.

    Parameters
    ----------
    x : Tensor, shape (N, H, W, C)
    size : int or (int, int)
        Upsampling factors (s_h, s_w).
    interpolation : "nearest" or "bilinear"

    Shape
    -----
    (N, H, W, C) -> (N, H·s_h, W·s_w, C)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = ds.tensor(np.array([[1., 2.]], np.float32).reshape(1, 1, 2, 1))
    >>> ds.functional.upsample2d(x, (1, 2)).numpy()[0, 0, :, 0]
    array([1., 1., 2., 2.], dtype=float32)
    >>> ds.functional.upsample2d(x, (1, 2), "bilinear").numpy()[0, 0, :, 0]
    array([1.  , 1.25, 1.75, 2.  ], dtype=float32)
    """
    x = as_tensor(x)
    _check_image(x, "upsample2d")
    size = normalize_tuple(size, 2, "upsample2d size")
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"upsample2d: interpolation must be 'nearest' or 'bilinear', "
                         f"got {interpolation!r}")
    return Upsample2d.apply(x, size=size, interpolation=interpolation)
