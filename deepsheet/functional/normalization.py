"""Batch and layer normalization, each one fused graph node with the compact backward."""
from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import normalize_axis, shape_of

__all__ = ["batch_norm", "layer_norm"]


def _data(t):
    return t.data if isinstance(t, Tensor) else t


def _layout(shape, keep):
    """Axes reduced over, the broadcast shape of per-feature parameters, the count N."""
    reduce = tuple(i for i in range(len(shape)) if i not in keep)
    bshape = tuple(shape[i] if i in keep else 1 for i in range(len(shape)))
    n = math.prod(shape[i] for i in reduce)
    return reduce, bshape, n


class BatchNorm(Function):
    """Normalize per feature over every other axis; batch or moving statistics."""

    def forward(self, x, gamma=None, beta=None):
        xp = backend.array_module(x)
        ng = self.needs_input_grad + (False, False)
        self.x_shape = x.shape
        keep = self.keep
        if keep == (x.ndim - 1,):
            # Channels-last: a (rows, C) view makes every reduction a fast axis-0 sum.
            x = x.reshape(-1, x.shape[-1])
            keep = (1,)
        reduce, bshape, n = _layout(x.shape, keep)
        self.reduce, self.n, self.work_shape = reduce, n, x.shape
        gam = None if gamma is None else gamma.reshape(bshape)
        bet = None if beta is None else beta.reshape(bshape)
        if self.training:
            mean = x.mean(axis=reduce, keepdims=True)
            xhat = x - mean
            var = xp.square(xhat).mean(axis=reduce, keepdims=True)
            inv = 1.0 / xp.sqrt(var + self.epsilon)
            xhat *= inv
            if self.moving_mean is not None:
                # Keras's update, with the biased batch variance (PyTorch uses unbiased).
                m, mm, mv = self.momentum, self.moving_mean, self.moving_variance
                mm *= m
                mm += (1.0 - m) * mean.reshape(mm.shape)
                mv *= m
                mv += (1.0 - m) * var.reshape(mv.shape)
            y = xhat if gam is None else xhat * gam
            if bet is not None:
                y = y + bet if y is xhat else xp.add(y, bet, out=y)
            self.xhat = xhat if ng[0] or ng[1] else None
        else:
            mean = self.moving_mean.reshape(bshape)
            inv = 1.0 / xp.sqrt(self.moving_variance.reshape(bshape) + self.epsilon)
            scale = inv if gam is None else gam * inv
            shift = -mean * scale if bet is None else bet - mean * scale
            # One multiply-add with folded constants: inference is the hot path of predict.
            y = x * scale
            y += shift
            self.xhat = (x - mean) * inv if ng[1] else None
        self.moving_mean = self.moving_variance = None
        self.scale = inv if gam is None else gam * inv
        self.gamma_shape = None if gamma is None else gamma.shape
        self.beta_shape = None if beta is None else beta.shape
        return y.reshape(self.x_shape)

    def backward(self, g):
        ng = self.needs_input_grad + (False, False)
        g = g.reshape(self.work_shape)
        need_sums = self.training and ng[0]
        sum_g = g.sum(axis=self.reduce, keepdims=True) if need_sums or ng[2] else None
        sum_gx = ((g * self.xhat).sum(axis=self.reduce, keepdims=True)
                  if need_sums or ng[1] else None)
        dx = None
        if ng[0]:
            if self.training:
                # dx = γ·inv · (g − mean(g) − x̂·mean(g·x̂)): the compact batch-norm backward.
                t = self.xhat * (sum_gx * (1.0 / self.n))
                t += sum_g * (1.0 / self.n)
                dx = g - t
                dx *= self.scale
            else:
                dx = g * self.scale
            dx = dx.reshape(self.x_shape)
        dgamma = sum_gx.reshape(self.gamma_shape) if ng[1] else None
        dbeta = sum_g.reshape(self.beta_shape) if ng[2] else None
        return dx, dgamma, dbeta


def batch_norm(x, moving_mean=None, moving_variance=None, gamma=None, beta=None, training=False,
               momentum=0.99, epsilon=1e-3, axis=-1):
    """Batch normalization over every axis but the feature ``axis`` (Ioffe & Szegedy 2015).

    Formula (per feature, N values over the batch and spatial axes)::

        training:   μ = (1/N) Σ x,   σ² = (1/N) Σ (x − μ)²   (biased)
                    moving_mean     ← momentum · moving_mean     + (1 − momentum) · μ
                    moving_variance ← momentum · moving_variance + (1 − momentum) · σ²
        inference:  μ = moving_mean, σ² = moving_variance
        x̂ = (x − μ) / sqrt(σ² + ε),   y = γ · x̂ + β

        backward (training):  dL/dx = γ / sqrt(σ² + ε) · (g − mean(g) − x̂ · mean(g · x̂))
                              dL/dγ = Σ g · x̂,   dL/dβ = Σ g
        backward (inference): dL/dx = γ / sqrt(σ² + ε) · g

    Keras's conventions: ``momentum`` weights the OLD value (PyTorch's momentum is
    1 − this) and the moving variance is updated with the biased batch variance
    (PyTorch's ``running_var`` uses the unbiased one, N/(N−1) times larger). The
    moving statistics are updated in place when ``training`` and they are given.
    Matches ``torch.nn.functional.batch_norm`` (channels-first there) in its outputs
    and gradients for the same ε.

    Parameters
    ----------
    x : Tensor, shape (N, ..., C, ...)
    moving_mean, moving_variance : Tensor or array of shape (C,), optional in training
    gamma, beta : Tensor of shape (C,), optional (scale and offset; omitted: 1 and 0)
    training : bool
        Batch statistics (True) or the moving statistics (False).
    momentum : float in [0, 1]
    epsilon : float > 0
    axis : int or tuple of int
        The feature axis (axes); -1 is channels-last.

    Shape
    -----
    Any rank >= 1; the output has the input's shape.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = ds.tensor(np.arange(6, dtype=np.float32).reshape(3, 2))
    >>> y = ds.functional.batch_norm(x, training=True)
    >>> np.round(y.numpy()[:, 0], 3).tolist()
    [-1.224, 0.0, 1.224]
    """
    sx = shape_of(x)
    keep = normalize_axis(axis, len(sx))
    pshape = tuple(sx[a] for a in keep)
    for name, p in (("gamma", gamma), ("beta", beta), ("moving_mean", moving_mean),
                    ("moving_variance", moving_variance)):
        if p is not None and math.prod(shape_of(p)) != math.prod(pshape):
            raise ValueError(f"batch_norm: {name} must have {math.prod(pshape)} values (the size "
                             f"of axis {axis} of the input of shape {sx}), got shape {shape_of(p)}")
    if (moving_mean is None) != (moving_variance is None):
        raise ValueError("batch_norm: give both moving_mean and moving_variance, or neither")
    if not training and moving_mean is None:
        raise ValueError("batch_norm: inference (training=False) needs moving_mean and "
                         "moving_variance")
    if not 0.0 <= float(momentum) <= 1.0:
        raise ValueError(f"batch_norm: momentum must be in [0, 1], got {momentum!r}")
    if not float(epsilon) > 0.0:
        raise ValueError(f"batch_norm: epsilon must be positive, got {epsilon!r}")
    if training and math.prod(sx[i] for i in range(len(sx)) if i not in keep) == 0:
        raise ValueError(f"batch_norm: training needs at least one value per feature, got an "
                         f"input of shape {sx}")
    return BatchNorm.apply(x, gamma, beta, moving_mean=_data(moving_mean),
                           moving_variance=_data(moving_variance), training=bool(training),
                           momentum=float(momentum), epsilon=float(epsilon), keep=keep)


class LayerNorm(Function):
    """Normalize each sample over ``axes``; per-element scale and offset on those axes."""

    def forward(self, x, gamma=None, beta=None):
        xp = backend.array_module(x)
        axes = self.axes
        bshape = tuple(x.shape[i] if i in axes else 1 for i in range(x.ndim))
        self.n = math.prod(x.shape[i] for i in axes)
        mean = x.mean(axis=axes, keepdims=True)
        xhat = x - mean
        var = xp.square(xhat).mean(axis=axes, keepdims=True)
        inv = 1.0 / xp.sqrt(var + self.epsilon)
        xhat *= inv
        gb = None if gamma is None else gamma.reshape(bshape)
        y = xhat if gb is None else xhat * gb
        if beta is not None:
            bb = beta.reshape(bshape)
            y = y + bb if y is xhat else xp.add(y, bb, out=y)
        self.xhat, self.inv, self.gb = xhat, inv, gb
        self.other = tuple(i for i in range(x.ndim) if i not in axes)
        self.gamma_shape = None if gamma is None else gamma.shape
        self.beta_shape = None if beta is None else beta.shape
        return y

    def backward(self, g):
        ng = self.needs_input_grad + (False, False)
        axes, xhat = self.axes, self.xhat
        dx = dgamma = dbeta = None
        if ng[0]:
            gg = g if self.gb is None else g * self.gb
            # dx = inv · (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = γ·g, means over the normalized axes.
            t = xhat * (gg * xhat).mean(axis=axes, keepdims=True)
            t += gg.mean(axis=axes, keepdims=True)
            dx = gg - t
            dx *= self.inv
        if ng[1]:
            dgamma = (g * xhat).sum(axis=self.other).reshape(self.gamma_shape)
        if ng[2]:
            dbeta = g.sum(axis=self.other).reshape(self.beta_shape)
        return dx, dgamma, dbeta


def layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=1e-3):
    """Layer normalization: each sample normalized over ``axis`` (Ba, Kiros & Hinton 2016).

    Formula (per sample, N values over the normalized axes)::

        μ = (1/N) Σ x,   σ² = (1/N) Σ (x − μ)²,   x̂ = (x − μ) / sqrt(σ² + ε)
        y = γ ⊙ x̂ + β                       (γ, β have the normalized axes' shape)
        dL/dx = 1/sqrt(σ² + ε) · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)),   ĝ = γ ⊙ g
        dL/dγ = Σ_samples g ⊙ x̂,   dL/dβ = Σ_samples g

    Unlike batch normalization it does not mix samples, so training and inference agree.
    Matches ``torch.nn.functional.layer_norm`` over the trailing axes for the same ε
    (Keras's default ε is 1e-3, PyTorch's 1e-5).

    Parameters
    ----------
    x : Tensor
    gamma, beta : Tensor, shape of x's ``axis`` dimensions, optional
    axis : int or tuple of int
    epsilon : float > 0

    Shape
    -----
    Any; the output has the input's shape.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> y = ds.functional.layer_norm(ds.tensor(np.array([[1.0, 3.0]], np.float32)))
    >>> np.round(y.numpy(), 3).tolist()
    [[-0.999, 0.999]]
    """
    sx = shape_of(x)
    axes = normalize_axis(axis, len(sx))
    pshape = tuple(sx[a] for a in axes)
    for name, p in (("gamma", gamma), ("beta", beta)):
        if p is not None and tuple(shape_of(p)) not in (pshape, (math.prod(pshape),)):
            raise ValueError(f"layer_norm: {name} must have shape {pshape} (axis {axis} of the "
                             f"input of shape {sx}), got {shape_of(p)}")
    if not float(epsilon) > 0.0:
        raise ValueError(f"layer_norm: epsilon must be positive, got {epsilon!r}")
    return LayerNorm.apply(x, gamma, beta, axes=axes, epsilon=float(epsilon))
