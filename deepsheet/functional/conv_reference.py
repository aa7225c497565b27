"""``conv2d_reference``: the convolution written to be read, and the oracle of the fast kernels.

The same function as ``conv2d`` without groups: channels-last images (N, H, W, C) and Keras
kernels (kh, kw, C, O). The forward builds the whole im2col matrix, one strided copy per
kernel tap, and does one matrix product; the backward is the gradient of that product
followed by col2im, which adds each window row back to the input cells it was read from.
No chunks, no threads, no special cases: the tests check the fast kernels of ``_im2col.py``
against it, and it against PyTorch and finite differences.
"""
from __future__ import annotations

from ..autograd import Function
from ..backend import array_module
from ._conv_arithmetic import normalize_tuple, resolve_padding
from ._util import as_tensor

__all__ = ["conv2d_reference"]


def _taps(kh, kw, Ho, Wo, strides, dilation):
    """(i, j, rows, cols): the slices of the padded input that kernel tap (i, j) reads."""
    (sh, sw), (dh, dw) = strides, dilation
    return [(i, j, slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh),
             slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw)) for i in range(kh) for j in range(kw)]


class Conv2dReference(Function):
    """im2col and one matrix product; backward through col2im.

    Forward (x_pad: x with P_top, P_bottom, P_left, P_right rows/columns of zeros):

        A[(n, p, q), (i, j, c)] = x_pad[n, p·S_h + i·d_h, q·S_w + j·d_w, c]
        y[(n, p, q), o] = Σ_{i, j, c} A[(n, p, q), (i, j, c)] · W[i, j, c, o] + b[o]

    Backward, with G = dL/dy as (N·H_out·W_out, O):

        dL/dW = Aᵀ G,   dL/db = Σ_rows G,   dL/dA = G Wᵀ
        dL/dx_pad[n, p·S_h + i·d_h, q·S_w + j·d_w, c] += dL/dA[(n, p, q), (i, j, c)]   (col2im)
        dL/dx = dL/dx_pad without its padding
    """

    def forward(self, x, w, b=None):
        xp = array_module(x)
        kh, kw, C, O = w.shape
        (pt, pb), (pl, pr) = self.pads
        x_pad = xp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        N, Hp, Wp, _ = x_pad.shape
        Ho = (Hp - self.dilation[0] * (kh - 1) - 1) // self.strides[0] + 1
        Wo = (Wp - self.dilation[1] * (kw - 1) - 1) // self.strides[1] + 1
        A = xp.empty((N, Ho, Wo, kh, kw, C), x.dtype)
        for i, j, rows, cols in _taps(kh, kw, Ho, Wo, self.strides, self.dilation):
            A[:, :, :, i, j, :] = x_pad[:, rows, cols, :]
        A = A.reshape(N * Ho * Wo, kh * kw * C)
        y = A @ w.reshape(kh * kw * C, O)
        if b is not None:
            y += b
        self.A, self.w, self.has_bias, self.padded_shape = A, w, b is not None, x_pad.shape
        return y.reshape(N, Ho, Wo, O)

    def backward(self, g):
        xp = array_module(g)
        kh, kw, C, O = self.w.shape
        N, Ho, Wo, _ = g.shape
        G = g.reshape(N * Ho * Wo, O)
        gw = (self.A.T @ G).reshape(self.w.shape)
        gb = G.sum(axis=0) if self.has_bias else None
        dA = (G @ self.w.reshape(kh * kw * C, O).T).reshape(N, Ho, Wo, kh, kw, C)
        gx_pad = xp.zeros(self.padded_shape, g.dtype)
        for i, j, rows, cols in _taps(kh, kw, Ho, Wo, self.strides, self.dilation):
            gx_pad[:, rows, cols, :] += dA[:, :, :, i, j, :]
        (pt, pb), (pl, pr) = self.pads
        _, Hp, Wp, _ = self.padded_shape
        return gx_pad[:, pt:Hp - pb, pl:Wp - pr, :], gw, gb


def conv2d_reference(x, w, b=None, strides=1, padding="valid", dilation_rate=1):
    """2-D convolution (cross-correlation) as plain im2col + one product: the readable reference.

    Formula
    -------
        y[n, p, q, o] = b[o] + Σ_{i, j, c} x_pad[n, p·S_h + i·d_h, q·S_w + j·d_w, c] · W[i, j, c, o]
        dL/dW = Aᵀ G,   dL/db = Σ_rows G,   dL/dx = col2im(G Wᵀ)      (A = im2col(x))

    The same values as ``conv2d`` (groups of 1), computed the slow and obvious way; use
    ``conv2d`` to train.

    Parameters
    ----------
    x : Tensor, shape (N, H, W, C)
    w : Tensor, shape (kh, kw, C, O)
    b : Tensor, shape (O,), optional
    strides, padding, dilation_rate : as ``conv2d``

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = ds.tensor(np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1))
    >>> w = ds.tensor(np.ones((2, 2, 1, 1), np.float32))   # sums each 2x2 window
    >>> ds.functional.conv2d_reference(x, w).numpy()[0, :, :, 0]
    array([[10., 14., 18.],
           [26., 30., 34.],
           [42., 46., 50.]], dtype=float32)
    """
    x, w = as_tensor(x), as_tensor(w)
    if x.ndim != 4 or w.ndim != 4 or x.shape[-1] != w.shape[2]:
        raise ValueError(f"conv2d_reference: expects x (N, H, W, C) and w (kh, kw, C, O), got "
                         f"shapes {tuple(x.shape)} and {tuple(w.shape)}")
    strides = normalize_tuple(strides, 2, "conv2d_reference strides")
    dilation = normalize_tuple(dilation_rate, 2, "conv2d_reference dilation_rate")
    pads = resolve_padding(padding, x.shape[1:3], w.shape[:2], strides, dilation,
                           name="conv2d_reference padding")
    inputs = (x, w) if b is None else (x, w, as_tensor(b))
    return Conv2dReference.apply(*inputs, pads=pads, strides=strides, dilation=dilation)
