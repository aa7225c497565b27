"""The post-norm residual of a transformer block, LayerNorm(x + residual), as one graph node.

The sum is never a separate array: each block of rows is added, normalized and scaled in
place while it is in cache, on the thread pool (fixed row blocks; the γ/β gradients are
summed over the blocks in block order, so nothing depends on the thread count).
"""
from __future__ import annotations

import numpy as np

from .. import backend, parallel
from ..autograd import Function

__all__ = ["add_layer_norm"]

ROWS = 512  # rows per pool block: 256 KiB of float32 at 128 features


class AddLayerNorm(Function):
    """y = γ ⊙ x̂ + β with x̂ = normalize(x + r) over the last axis; inputs x, r, γ, β."""

    def forward(self, x, r, gamma, beta):
        xp = backend.array_module(x)
        n = x.shape[-1]
        x2, r2 = x.reshape(-1, n), r.reshape(-1, n)
        rows = x2.shape[0]
        xhat = xp.empty_like(x2)
        y = xp.empty_like(x2)
        inv = xp.empty(rows, x.dtype)
        ones = xp.ones(n, x.dtype)
        eps = self.epsilon

        def block(i):
            a, b = spans[i]
            xp.add(x2[a:b], r2[a:b], out=xhat[a:b])
            norm_rows(xp, xhat[a:b], gamma, beta, eps, ones, inv[a:b], y[a:b])
        spans = _spans(xp, rows)
        parallel.parallel_for(len(spans), block, work=3 * x2.nbytes)
        if any(self.needs_input_grad):
            self.xhat, self.inv, self.gamma = xhat, inv, gamma
        self.shape = x.shape
        return y.reshape(x.shape)

    def backward(self, g):
        xp = backend.array_module(g)
        xhat, inv, gamma = self.xhat, self.inv, self.gamma
        rows, n = xhat.shape
        g2 = g.reshape(rows, n)
        need = self.needs_input_grad
        dx = xp.empty_like(xhat) if need[0] or need[1] else None
        spans = _spans(xp, rows)
        dgb = xp.empty((len(spans), 2, n), xhat.dtype)  # per-block partial dγ, dβ
        ones_n = xp.ones(n, xhat.dtype)

        def block(i):
            a, b = spans[i]
            norm_rows_backward(xp, g2[a:b], xhat[a:b], inv[a:b], gamma, ones_n, dgb[i],
                               None if dx is None else dx[a:b])
        parallel.parallel_for(len(spans), block, work=3 * g2.nbytes)
        sums = np.add.reduce(dgb, axis=0) if xp is np else dgb.sum(axis=0)
        dx = None if dx is None else dx.reshape(self.shape)
        return (dx if need[0] else None, dx if need[1] else None,
                sums[0] if need[2] else None, sums[1] if need[3] else None)


def norm_rows(xp, h, gamma, beta, eps, ones, inv, y):
    """LayerNorm of the rows of ``h`` (overwritten with x̂), 1/σ into ``inv``, γ x̂ + β into ``y``."""
    n = h.shape[1]
    h -= (h @ ones * (1.0 / n))[:, None]
    var = xp.einsum("ij,ij->i", h, h) * (1.0 / n)
    xp.divide(1.0, xp.sqrt(var + eps), out=inv)
    h *= inv[:, None]
    xp.multiply(h, gamma, out=y)
    y += beta


def norm_rows_backward(xp, g, xhat, inv, gamma, ones, dgb, dx):
    """Rows' LayerNorm backward: partial [dγ, dβ] into ``dgb`` (2, n), dL/ds into ``dx``.

    dL/ds = inv · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)),  ĝ = γ ⊙ g
    """
    n = xhat.shape[1]
    ones_r = xp.ones(g.shape[0], g.dtype)
    gx = g * xhat
    xp.matmul(ones_r, gx, out=dgb[0])
    xp.matmul(ones_r, g, out=dgb[1])
    if dx is None:
        return
    gg = xp.multiply(g, gamma, out=dx)
    mg = gg @ ones * (1.0 / n)
    mgx = xp.einsum("ij,ij->i", gg, xhat) * (1.0 / n)
    xp.multiply(xhat, mgx[:, None], out=gx)
    gg -= gx
    gg -= mg[:, None]
    gg *= inv[:, None]


def through_norm(xp, norm, g, a, b, ones, dgb):
    """dL/ds for rows a:b of a fused node whose output is LayerNorm(s) (post-norm residual):
    ``g`` itself where ``norm`` is None, else through the norm (``norm_rows_backward``), its
    partial [dγ, dβ] into the flat ``dgb`` (2·n). ``norm`` = (x̂ rows, 1/σ per row, γ)."""
    if norm is None:
        return g
    xhat, inv, gamma = norm
    ds = xp.empty_like(g)
    norm_rows_backward(xp, g, xhat[a:b], inv[a:b], gamma, ones, dgb.reshape(2, -1), ds)
    return ds


def _spans(xp, rows):
    return parallel.spans(rows, ROWS if xp is np else rows)


def add_layer_norm(x, residual, gamma, beta, epsilon=1e-5):
    """LayerNorm of ``x + residual`` over the last axis, one fused node (post-norm residual).

    Formula (N features, s = x + residual per row)::

        μ = mean(s),  σ² = mean((s − μ)²),  x̂ = (s − μ)/sqrt(σ² + ε),  y = γ ⊙ x̂ + β
        dL/ds = 1/sqrt(σ² + ε) · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)),  ĝ = γ ⊙ g
        dL/dx = dL/dresidual = dL/ds,  dL/dγ = Σ_rows g ⊙ x̂,  dL/dβ = Σ_rows g

    Parameters
    ----------
    x, residual : Tensor, same shape (..., N)
    gamma, beta : Tensor, shape (N,)
    epsilon : float

    Shape
    -----
    (..., N) -> (..., N)
    """
    if tuple(x.shape) != tuple(residual.shape) or x.shape[-1:] != tuple(gamma.shape) \
            or tuple(gamma.shape) != tuple(beta.shape):
        raise ValueError(f"add_layer_norm: x {tuple(x.shape)} and residual "
                         f"{tuple(residual.shape)} must match, gamma/beta be ({x.shape[-1]},)")
    return AddLayerNorm.apply(x, residual, gamma, beta, epsilon=float(epsilon))
