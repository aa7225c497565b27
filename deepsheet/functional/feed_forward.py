"""The transformer's feed-forward net, relu(x W₁ + b₁) W₂ + b₂, as one graph node.

Why one node: the hidden activations (rows × intermediate_dim, 4x the model width) are
the largest arrays of a transformer block. Here each block of rows runs both products
back to back while its hidden rows are still in cache, forward and backward (the weight
gradients are per-block partial products summed in block order). The blocks are fixed by
the shapes and run on the thread pool, so nothing depends on the thread count.
"""
from __future__ import annotations

import numpy as np

from .. import backend, parallel
from ..autograd import Function
from ._kernels import relu_
from .residual_norm import norm_rows, through_norm

__all__ = ["feed_forward"]

ROWS = 512  # rows per block: x, hidden and output rows of a block stay in the L2 cache


class FeedForward(Function):
    """y = relu(x W₁ + b₁) W₂ + b₂ on the last axis; inputs x, W₁, b₁, W₂, b₂ [, γ, β].

    With γ, β (``norm=True``): y = LayerNorm(x + relu(x W₁ + b₁) W₂ + b₂), the post-norm
    residual of a transformer block, normalized while the block's rows are in cache.
    """

    def forward(self, x, w1, b1, w2, b2, gamma=None, beta=None):
        xp = backend.array_module(x)
        x2 = x.reshape(-1, x.shape[-1])
        rows = x2.shape[0]
        h = xp.empty((rows, w1.shape[1]), x.dtype)
        y = xp.empty((rows, w2.shape[1]), x.dtype)
        norm = gamma is not None
        s = xp.empty_like(y) if norm else y  # the residual sum, normalized in place to x̂
        inv = xp.empty(rows, x.dtype) if norm else None
        ones = xp.ones(w2.shape[1], x.dtype)

        def block(i):
            a, b = spans[i]
            hb = h[a:b]
            xp.matmul(x2[a:b], w1, out=hb)
            hb += b1
            relu_(hb, xp)
            sb = s[a:b]
            xp.matmul(hb, w2, out=sb)
            sb += b2
            if norm:
                sb += x2[a:b]
                norm_rows(xp, sb, gamma, beta, self.epsilon, ones, inv[a:b], y[a:b])
        spans = _spans(xp, rows)
        parallel.parallel_for(len(spans), block, work=2 * h.nbytes)
        if any(self.needs_input_grad):
            self.x2, self.h, self.w1, self.w2 = x2, h, w1, w2
            self.norm = (s, inv, gamma) if norm else None
        self.shape = x.shape
        return y.reshape(x.shape[:-1] + (w2.shape[1],))

    def backward(self, g):
        xp = backend.array_module(g)
        x2, h, w1, w2 = self.x2, self.h, self.w1, self.w2
        need = self.needs_input_grad
        g2 = g.reshape(-1, w2.shape[1])
        rows = x2.shape[0]
        spans = _spans(xp, rows)
        n = len(spans)
        dw1 = xp.empty((n,) + w1.shape, h.dtype) if need[1] else None
        dw2 = xp.empty((n,) + w2.shape, h.dtype) if need[3] else None
        k1, k2 = w1.shape[1], w2.shape[1]
        # partial [db₁ | db₂ (| dγ | dβ)] per block
        db = xp.empty((n, k1 + (3 if self.norm is not None else 1) * k2), h.dtype)
        dx = xp.empty_like(x2) if need[0] else None
        norm = self.norm
        ones = xp.ones(k2, h.dtype)

        def block(i):
            a, b = spans[i]
            gb, hb = g2[a:b], h[a:b]
            # through the LayerNorm first: dL/ds, s = x + FFN(x)
            gb = through_norm(xp, norm, gb, a, b, ones, db[i, k1 + k2:])
            ones_r = xp.ones(b - a, h.dtype)
            if dw2 is not None:
                xp.matmul(hb.T, gb, out=dw2[i])       # dW₂ = Hᵀ G
            xp.matmul(ones_r, gb, out=db[i, k1:k1 + k2])  # db₂ = Σ_rows G
            gh = xp.matmul(gb, w2.T)                 # dH = G W₂ᵀ ⊙ [H > 0]
            xp.multiply(gh, hb > 0, out=gh)
            if dw1 is not None:
                xp.matmul(x2[a:b].T, gh, out=dw1[i])  # dW₁ = Xᵀ dH
            xp.matmul(ones_r, gh, out=db[i, :k1])    # db₁ = Σ_rows dH
            if dx is not None:
                xp.matmul(gh, w1.T, out=dx[a:b])      # dX = dH W₁ᵀ (+ G through the residual)
                if norm is not None:
                    dx[a:b] += gb
        parallel.parallel_for(n, block, work=3 * h.nbytes)

        def total(parts):  # partials summed in block order: a fixed order
            return np.add.reduce(parts, axis=0) if xp is np else parts.sum(axis=0)
        dbs = total(db)
        grads = (None if dx is None else dx.reshape(self.shape),
                 None if dw1 is None else total(dw1), dbs[:k1] if need[2] else None,
                 None if dw2 is None else total(dw2), dbs[k1:k1 + k2] if need[4] else None)
        if norm is None:
            return grads
        return grads + (dbs[k1 + k2:k1 + 2 * k2] if need[5] else None,
                        dbs[k1 + 2 * k2:] if need[6] else None)


def _spans(xp, rows):
    return parallel.spans(rows, ROWS if xp is np else rows)


def feed_forward(x, kernel1, bias1, kernel2, bias2, gamma=None, beta=None, epsilon=1e-5):
    """Two dense layers with a ReLU between, one fused node (Keras kernel layout (in, out)).

    Formula (X: x with its leading axes folded into rows)::

        H = relu(X W₁ + b₁),   Y = H W₂ + b₂
        dH = (dY W₂ᵀ) ⊙ [H > 0],  dX = dH W₁ᵀ,
        dW₂ = Hᵀ dY,  db₂ = Σ_rows dY,  dW₁ = Xᵀ dH,  db₁ = Σ_rows dH

    With ``gamma`` and ``beta`` the post-norm residual of a transformer block in the same
    node: Y = LayerNorm(X + H W₂ + b₂) (``add_layer_norm``'s formulas), and dX gains the
    residual's dL/dS.

    Parameters
    ----------
    x : Tensor, shape (..., d)
    kernel1 : Tensor (d, h);  bias1 : Tensor (h,)
    kernel2 : Tensor (h, o);  bias2 : Tensor (o,)
    gamma, beta : Tensor (d,), optional (then o = d)
    epsilon : float

    Shape
    -----
    (..., d) -> (..., o)
    """
    d, hdim = tuple(kernel1.shape)
    if x.shape[-1] != d or tuple(kernel2.shape)[0] != hdim or tuple(bias1.shape) != (hdim,) \
            or tuple(bias2.shape) != (tuple(kernel2.shape)[1],):
        raise ValueError(f"feed_forward: x {tuple(x.shape)}, kernel1 {tuple(kernel1.shape)}, "
                         f"bias1 {tuple(bias1.shape)}, kernel2 {tuple(kernel2.shape)} and bias2 "
                         f"{tuple(bias2.shape)} do not fit")
    if gamma is None:
        return FeedForward.apply(x, kernel1, bias1, kernel2, bias2)
    if tuple(gamma.shape) != (d,) or tuple(beta.shape) != (d,) or tuple(kernel2.shape)[1] != d:
        raise ValueError(f"feed_forward: the post-norm residual needs kernel2 (h, {d}) and gamma/"
                         f"beta ({d},), got {tuple(kernel2.shape)}, {tuple(gamma.shape)}, "
                         f"{tuple(beta.shape)}")
    return FeedForward.apply(x, kernel1, bias1, kernel2, bias2, gamma, beta,
                             epsilon=float(epsilon))
