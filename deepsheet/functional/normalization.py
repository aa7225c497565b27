"""Batch and layer normalization, each one fused graph node with the compact backward."""
from __future__ import annotations

import math

import numpy as np

from .. import backend, parallel
from ..autograd import Function
from ..tensor import Tensor
from ._util import normalize_axis, shape_of

__all__ = ["batch_norm", "layer_norm"]


def _data(t):
    return t.data if isinstance(t, Tensor) else t


class _Features:
    """How per-feature vectors meet the data: a fast layout for channels-last inputs.

    Large channels-last data (…, C) with C < 256 is viewed as a (rows, k·C) matrix with
    k·C around 2048 (k divides the row count) and per-feature vectors are tiled k times.
    Broadcasting a (C,) vector over short rows of C = 32 values runs at a third to a half
    of NumPy's speed, and NumPy's axis-0 sum walks rows one by one; the wide view and a
    BLAS ones-vector product for the sums remove both costs (measured: BN training on
    (128, 14, 14, 32) went from about 1.5x to about 1x PyTorch's time). Any other feature
    axis uses plain keepdims broadcasting.

    On the CPU the wide view is cut into fixed row blocks of about ``BLOCK_BYTES`` that run
    on the thread pool (``deepsheet.parallel``); per-block partial sums are added in block
    order, so the statistics do not depend on the thread count.
    """

    BLOCK_BYTES = 1 << 20

    def __init__(self, shape, keep):
        self.shape = shape
        self.size = math.prod(shape[a] for a in keep)
        self.n = math.prod(shape) // max(self.size, 1)
        self.last = keep == (len(shape) - 1,)
        if self.last:
            c, k = self.size, 1
            # Worth its np.tile calls only for short rows in large arrays.
            top = 2048 // max(c, 1) if c < 256 and self.n * c >= 65536 else 1
            for cand in range(max(1, min(self.n, top)), 0, -1):
                if self.n % cand == 0:
                    k = cand
                    break
            self.k, self.work = k, (self.n // k, k * c)
            rows, width = self.work
            per = max(1, self.BLOCK_BYTES // (4 * max(width, 1)))
            self.blocks = parallel.spans(rows, per) if rows > per else None
        else:
            self.blocks = None
            self.reduce = tuple(i for i in range(len(shape)) if i not in keep)
            self.bshape = tuple(shape[i] if i in keep else 1 for i in range(len(shape)))
            self.work = shape

    def expand(self, v):
        """A per-feature vector (size C) shaped to broadcast against the working view."""
        if self.last:
            v = v.reshape(-1)
            return v if self.k == 1 else backend.array_module(v).tile(v, self.k)
        return v.reshape(self.bshape)

    def block_sums(self, fns, dtype):
        """Per-feature sums of ``fn(r0, r1)`` (rows r0:r1 of a working-view array) for each
        fn, block by block on the thread pool, the blocks' partial sums added in order."""
        blocks, width = self.blocks, self.work[1]
        parts = np.empty((len(fns), len(blocks), width), dtype)
        ones = np.ones(max(b - a for a, b in blocks), dtype)

        def run(i):
            a, b = blocks[i]
            for j, fn in enumerate(fns):
                np.matmul(ones[:b - a], fn(a, b), out=parts[j, i])
        parallel.parallel_for(len(blocks), run, work=len(fns) * self.n * self.size * 4)
        out = []
        for j in range(len(fns)):
            s = parts[j, 0].copy()
            for p in parts[j, 1:]:
                s += p
            out.append(s if self.k == 1 else s.reshape(self.k, -1).sum(axis=0))
        return out

    def each_block(self, fn):
        """``fn(r0, r1)`` for every row block, on the thread pool."""
        blocks = self.blocks
        parallel.parallel_for(len(blocks), lambda i: fn(*blocks[i]),
                              work=2 * self.n * self.size * 4)

    def sum(self, a):
        """Per-feature sums (a flat vector of size C) of an array in the working view."""
        if self.last:
            xp = backend.array_module(a)
            s = xp.ones(a.shape[0], dtype=a.dtype) @ a
            return s if self.k == 1 else s.reshape(self.k, -1).sum(axis=0)
        return a.sum(axis=self.reduce).reshape(-1)


class BatchNorm(Function):
    """Normalize per feature over every other axis; batch or moving statistics."""

    def forward(self, x, gamma=None, beta=None):
        xp = backend.array_module(x)
        ng = self.needs_input_grad + (False, False)
        self.x_shape = x.shape
        f = self.f = _Features(x.shape, self.keep)
        x = x.reshape(f.work)
        n = f.n
        if self.training and f.blocks is not None and xp is np:
            mean, var, inv, xhat, y = self._train_blocks(f, x, gamma, beta)
        elif self.training:
            mean = f.sum(x) * (1.0 / n)
            xhat = x - f.expand(mean)
            var = f.sum(xp.square(xhat)) * (1.0 / n)
            inv = 1.0 / xp.sqrt(var + self.epsilon)
            xhat *= f.expand(inv)
            y = xhat if gamma is None else xhat * f.expand(gamma)
            if beta is not None:
                y = y + f.expand(beta) if y is xhat else xp.add(y, f.expand(beta), out=y)
        if self.training:
            if self.moving_mean is not None:
                # Keras's update, with the biased batch variance (PyTorch uses unbiased).
                m, mm, mv = self.momentum, self.moving_mean, self.moving_variance
                mm *= m
                mm += (1.0 - m) * mean.reshape(mm.shape)
                mv *= m
                mv += (1.0 - m) * var.reshape(mv.shape)
            self.xhat = xhat if ng[0] or ng[1] else None
        else:
            mean = self.moving_mean.reshape(-1)
            inv = 1.0 / xp.sqrt(self.moving_variance.reshape(-1) + self.epsilon)
            scale = inv if gamma is None else gamma.reshape(-1) * inv
            shift = -mean * scale if beta is None else beta.reshape(-1) - mean * scale
            # One multiply-add with folded constants: inference is the hot path of predict.
            y = x * f.expand(scale)
            y += f.expand(shift)
            self.xhat = (x - f.expand(mean)) * f.expand(inv) if ng[1] else None
        self.moving_mean = self.moving_variance = None
        self.scale = inv if gamma is None else gamma.reshape(-1) * inv
        self.gamma_shape = None if gamma is None else gamma.shape
        self.beta_shape = None if beta is None else beta.shape
        return y.reshape(self.x_shape)

    def _train_blocks(self, f, x, gamma, beta):
        """The training forward pass in row blocks on the thread pool (host arrays)."""
        (s,) = f.block_sums([lambda a, b: x[a:b]], x.dtype)
        mean = s * (1.0 / f.n)
        me = f.expand(mean)
        xhat = np.empty_like(x)

        def centered_square(a, b):
            return np.square(np.subtract(x[a:b], me, out=xhat[a:b]))
        (sq,) = f.block_sums([centered_square], x.dtype)
        var = sq * (1.0 / f.n)
        inv = 1.0 / np.sqrt(var + self.epsilon)
        ie = f.expand(inv)
        ge = None if gamma is None else f.expand(gamma)
        be = None if beta is None else f.expand(beta)
        y = xhat if ge is None and be is None else np.empty_like(x)

        def finish(a, b):
            xh = xhat[a:b]
            xh *= ie
            if ge is not None:
                np.multiply(xh, ge, out=y[a:b])
                if be is not None:
                    y[a:b] += be
            elif be is not None:
                np.add(xh, be, out=y[a:b])
        f.each_block(finish)
        return mean, var, inv, xhat, y

    def backward(self, g):
        ng = self.needs_input_grad + (False, False)
        f = self.f
        g = g.reshape(f.work)
        need_sums = self.training and ng[0]
        if f.blocks is not None and type(g) is np.ndarray:
            return self._backward_blocks(g, ng, need_sums)
        sum_g = f.sum(g) if need_sums or ng[2] else None
        sum_gx = f.sum(g * self.xhat) if need_sums or ng[1] else None
        dx = None
        if ng[0]:
            if self.training:
                # dx = γ·inv · (g − mean(g) − x̂·mean(g·x̂)): the compact batch-norm backward.
                t = self.xhat * f.expand(sum_gx * (1.0 / f.n))
                t += f.expand(sum_g * (1.0 / f.n))
                dx = g - t
                dx *= f.expand(self.scale)
            else:
                dx = g * f.expand(self.scale)
            dx = dx.reshape(self.x_shape)
        dgamma = sum_gx.reshape(self.gamma_shape) if ng[1] else None
        dbeta = sum_g.reshape(self.beta_shape) if ng[2] else None
        return dx, dgamma, dbeta

    def _backward_blocks(self, g, ng, need_sums):
        """``backward`` in row blocks on the thread pool (host arrays)."""
        f, xhat = self.f, self.xhat
        fns = []
        if need_sums or ng[2]:
            fns.append(lambda a, b: g[a:b])
        if need_sums or ng[1]:
            fns.append(lambda a, b: g[a:b] * xhat[a:b])
        sums = f.block_sums(fns, g.dtype) if fns else []
        sum_g = sums[0] if need_sums or ng[2] else None
        sum_gx = sums[-1] if need_sums or ng[1] else None
        dx = None
        if ng[0]:
            dx = np.empty_like(g)
            sc = f.expand(self.scale)
            if self.training:
                e1 = f.expand(sum_gx * (1.0 / f.n))
                e2 = f.expand(sum_g * (1.0 / f.n))

                def run(a, b):
                    # dx = γ·inv · (g − mean(g) − x̂·mean(g·x̂)), one block at a time
                    t = np.multiply(xhat[a:b], e1, out=dx[a:b])
                    t += e2
                    np.subtract(g[a:b], t, out=t)
                    t *= sc
            else:
                def run(a, b):
                    np.multiply(g[a:b], sc, out=dx[a:b])
            f.each_block(run)
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
    >>> [round(v, 2) for v in y.numpy()[:, 0].tolist()]
    [-1.22, 0.0, 1.22]
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
        self.x_shape = x.shape
        self.n = math.prod(x.shape[i] for i in axes)
        self.trailing = axes == tuple(range(x.ndim - len(axes), x.ndim))
        if self.trailing:
            # (rows, C): row statistics as BLAS matrix-vector products, γ/β through the
            # wide per-feature view of _Features.
            x = x.reshape(-1, self.n)
            self.f = _Features(x.shape, (1,))
        else:
            self.bshape = tuple(x.shape[i] if i in axes else 1 for i in range(x.ndim))
        mean = self._row_mean(x)
        xhat = x - mean
        var = self._row_mean(xp.square(xhat))
        inv = 1.0 / xp.sqrt(var + self.epsilon)
        xhat *= inv
        y = xhat if gamma is None else self._affine(xhat, gamma, xp.multiply)
        if beta is not None:
            y = self._affine(y, beta, xp.add, inplace=y is not xhat)
        self.xhat, self.inv, self.gamma = xhat, inv, gamma
        self.gamma_shape = None if gamma is None else gamma.shape
        self.beta_shape = None if beta is None else beta.shape
        return y.reshape(self.x_shape)

    def _row_mean(self, a):
        if self.trailing:
            xp = backend.array_module(a)
            return ((a @ xp.ones(a.shape[1], dtype=a.dtype)) * (1.0 / self.n))[:, None]
        return a.mean(axis=self.axes, keepdims=True)

    def _affine(self, a, p, op, inplace=False):
        if self.trailing:
            f = self.f
            w = a.reshape(f.work)
            return op(w, f.expand(p), out=w if inplace else None).reshape(a.shape)
        return op(a, p.reshape(self.bshape), out=a if inplace else None)

    def _feature_sum(self, a, shape):
        if self.trailing:
            return self.f.sum(a.reshape(self.f.work)).reshape(shape)
        other = tuple(i for i in range(a.ndim) if i not in self.axes)
        return a.sum(axis=other).reshape(shape)

    def backward(self, g):
        ng = self.needs_input_grad + (False, False)
        xp = backend.array_module(g)
        xhat = self.xhat
        g = g.reshape(xhat.shape)
        dx = dgamma = dbeta = None
        if ng[0]:
            gg = g if self.gamma is None else self._affine(g, self.gamma, xp.multiply)
            # dx = inv · (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = γ·g, means over the normalized axes.
            t = xhat * self._row_mean(gg * xhat)
            t += self._row_mean(gg)
            dx = gg - t
            dx *= self.inv
            dx = dx.reshape(self.x_shape)
        if ng[1]:
            dgamma = self._feature_sum(g * xhat, self.gamma_shape)
        if ng[2]:
            dbeta = self._feature_sum(g, self.beta_shape)
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
    >>> [round(v, 4) for v in y.numpy()[0].tolist()]    # ±1/sqrt(1 + ε)
    [-0.9995, 0.9995]
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
