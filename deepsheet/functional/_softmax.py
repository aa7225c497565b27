"""Softmax and log-softmax over an axis, each one fused node (public through ``activations``)."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ._logits import mark_logits
from ._util import as_tensor, torch_names

__all__ = ["softmax", "log_softmax"]


def _softmax_axis(name, x, axis):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{name}: axis must be an int, got {axis!r}")
    ndim = max(x.ndim, 1)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis} is out of bounds for a tensor of shape {x.shape}")
    return int(axis) % ndim


class Softmax(Function):
    activation = "softmax"

    def forward(self, x):
        xp = backend.array_module(x)
        shape = x.shape
        if x.ndim == 0:
            x = x.reshape(1)
        if x.size == 0:
            y = xp.empty_like(x)
        else:
            # Shifting by the max makes every exponent <= 0: no overflow at any magnitude.
            y = x - x.max(axis=self.axis, keepdims=True)
            xp.exp(y, out=y)
            y /= y.sum(axis=self.axis, keepdims=True)
        y = y.reshape(shape)
        self.y = y
        return y

    def backward(self, g):
        y = self.y
        if y.ndim == 0:
            return g * 0.0
        gy = g * y
        gy -= y * gy.sum(axis=self.axis, keepdims=True)
        return gy


@torch_names
def softmax(x, axis=-1):
    """Softmax over ``axis``: turns scores into a probability distribution.

    Formula
    -------
    y_i = exp(x_i - max_j x_j) / sum_k exp(x_k - max_j x_j)       (= exp(x_i) / sum_k exp(x_k))
    dL/dx = y * (g - sum_i g_i y_i)          (Jacobian diag(y) - y y^T times g)

    Its output remembers ``x`` (the logits contract: ``categorical_crossentropy`` and
    ``sparse_categorical_crossentropy`` on it use the fused logits form).
    Matches ``torch.softmax(x, dim=axis)``.

    Shape: any; output has the shape of ``x``; each slice along ``axis`` sums to 1.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.softmax(ds.tensor([[1e4, 1e4, -1e4]])).numpy()
    array([[0.5, 0.5, 0. ]], dtype=float32)
    """
    x = as_tensor(x, floating=True)
    axis = _softmax_axis("softmax", x, axis)
    out = Softmax.apply(x, axis=axis)
    return mark_logits(out, x, "softmax", axis)


class LogSoftmax(Function):
    def forward(self, x):
        xp = backend.array_module(x)
        shape = x.shape
        if x.ndim == 0:
            x = x.reshape(1)
        if x.size == 0:
            y = p = xp.empty_like(x)
        else:
            y = x - x.max(axis=self.axis, keepdims=True)
            p = xp.exp(y)
            s = p.sum(axis=self.axis, keepdims=True)
            y -= xp.log(s)
            p /= s  # the softmax, kept so backward needs no second exp
        self.p = p.reshape(shape)
        return y.reshape(shape)

    def backward(self, g):
        p = self.p
        if p.ndim == 0:
            return g * 0.0
        return g - p * g.sum(axis=self.axis, keepdims=True)


@torch_names
def log_softmax(x, axis=-1):
    """Logarithm of the softmax, computed without forming the softmax (no log(0)).

    Formula
    -------
    y_i = (x_i - m) - log sum_k exp(x_k - m),   m = max_j x_j
    dL/dx = g - softmax(x) * sum_i g_i

    Matches ``torch.log_softmax(x, dim=axis)``.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.log_softmax(ds.tensor([0.0, -1e4])).numpy()
    array([     0., -10000.], dtype=float32)
    """
    x = as_tensor(x, floating=True)
    return LogSoftmax.apply(x, axis=_softmax_axis("log_softmax", x, axis))
