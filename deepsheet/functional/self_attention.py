"""Multi-head self-attention as ONE graph node: projections, attention and output projection.

``MultiHeadAttention(x, x)`` (self-attention, Keras's weight layout) ends here. The query,
key and value projections are one GEMM with the three kernels side by side, the heads are
strided views of its result (no transposed copies: NumPy hands such views to BLAS as they
are), the attention runs in fixed batch slices on the thread pool writing straight into the
(batch, time, heads, head_dim) layout that the output projection reads, and the backward is
written by hand the same way (one GEMM each for dX and the three kernels' gradient).
"""
from __future__ import annotations

import numpy as np

from .. import backend, parallel
from ..autograd import Function
from . import _attention_kernels as _k
from ._util import quiet
from .residual_norm import norm_rows, through_norm

__all__ = ["multi_head_self_attention"]


class SelfAttention(Function):
    """(out, weights) of multi-head self-attention; inputs x, Wq, Wk, Wv, Wo [, bq, bk, bv, bo]."""

    def forward(self, x, wq, wk, wv, wo, *rest):
        xp = backend.array_module(x)
        gamma, beta = rest[-2:] if self.post_norm else (None, None)
        biases = rest[:-2] if self.post_norm else rest
        B, T, D = x.shape
        H, dk, dv = wq.shape[1], wq.shape[2], wv.shape[2]
        nq = H * dk
        x2 = x.reshape(B * T, D)
        w = xp.concatenate([wq.reshape(D, nq), wk.reshape(D, nq), wv.reshape(D, H * dv)], axis=1)
        bqkv = bo = None
        if biases:
            bq, bk, bv, bo = biases
            bqkv = xp.concatenate([bq.reshape(-1), bk.reshape(-1), bv.reshape(-1)])
        wo2 = wo.reshape(H * dv, wo.shape[-1])
        y = xp.empty((B * T, w.shape[1]), x.dtype)
        o2 = xp.empty((B * T, H * dv), x.dtype)
        out = xp.empty((B * T, wo2.shape[1]), x.dtype)
        # post-norm: the residual sum s = x + attention, normalized in place to x̂
        s = xp.empty_like(out) if self.post_norm else out
        inv = xp.empty(B * T, x.dtype) if self.post_norm else None
        ones = xp.ones(wo2.shape[1], x.dtype)
        p = xp.empty((B, H, T, T), x.dtype)
        bm, add, drop, scale = self.bool_mask, None, self.drop, self.scale
        if bm is not None:
            add = _k.additive_mask(bm, x.dtype, xp)
        batched = bm is not None and bm.ndim == 4  # (B, 1|H, T, T); else (T, T)

        def block(i):
            # one slice of the batch end to end, while its rows are in cache
            a, b = chunks[i]
            r0, r1 = a * T, b * T
            yb = y[r0:r1]
            xp.matmul(x2[r0:r1], w, out=yb)
            if bqkv is not None:
                yb += bqkv
            q, k, v = _heads(yb, b - a, T, H, dk, dv)
            _k.forward_block(xp, q, k, v, scale, None, bm[a:b] if batched else bm,
                             add[a:b] if batched else add,
                             None if drop is None else drop[a:b],
                             o2[r0:r1].reshape(b - a, T, H, dv).transpose(0, 2, 1, 3), p[a:b])
            ob = s[r0:r1]
            xp.matmul(o2[r0:r1], wo2, out=ob)
            if bo is not None:
                ob += bo
            if gamma is not None:
                ob += x2[r0:r1]
                norm_rows(xp, ob, gamma, beta, self.epsilon, ones, inv[r0:r1], out[r0:r1])
        chunks = parallel.spans(B, _rows(xp, B))
        parallel.parallel_for(len(chunks), block, work=3 * p.nbytes + 2 * y.nbytes)
        if any(self.needs_input_grad):
            self.saved = (x2, w, y, p, o2, wo2, (B, T, D, H, dk, dv))
            self.norm = (s, inv, gamma) if self.post_norm else None
        return out.reshape(B, T, wo.shape[-1]), p

    def backward(self, g, gp):
        x2, w, y, p, o2, wo2, (B, T, D, H, dk, dv) = self.saved
        xp = backend.array_module(p)
        need = self.needs_input_grad
        if g is None:
            g = xp.zeros((B, T, wo2.shape[1]), p.dtype)
        g2 = g.reshape(B * T, -1)
        drop, scale = self.drop, self.scale
        chunks = parallel.spans(B, _rows(xp, B))
        n = len(chunks)
        # per-chunk partials of the weight gradients, summed in chunk order afterwards
        gwo = xp.empty((n,) + wo2.shape, p.dtype)
        gw = xp.empty((n,) + w.shape, p.dtype)
        no = wo2.shape[1]
        norm = self.norm
        # [b_q | b_k | b_v | b_o (| γ | β)] per chunk
        gbs = xp.empty((n, w.shape[1] + (3 if norm is not None else 1) * no), p.dtype)
        gx = xp.empty_like(x2) if need[0] else None
        nw = w.shape[1]
        ones_o = xp.ones(no, p.dtype)

        def block(i):
            a, b = chunks[i]
            r0, r1 = a * T, b * T
            gb, ob = g2[r0:r1], o2[r0:r1]
            # through the LayerNorm first: dL/ds, s = x + attention
            gb = through_norm(xp, norm, gb, r0, r1, ones_o, gbs[i, nw + no:])
            ones = xp.ones(r1 - r0, p.dtype)
            xp.matmul(ob.T, gb, out=gwo[i])
            xp.matmul(ones, gb, out=gbs[i, nw:nw + no])
            go = xp.matmul(gb, wo2.T)
            gy = xp.empty((r1 - r0, nw), p.dtype)
            heads = lambda arr: _heads(arr, b - a, T, H, dk, dv)  # noqa: E731
            q, k, v = heads(y[r0:r1])
            _k.backward_block(xp, (True, True, True), q, k, v, p[a:b],
                              ob.reshape(b - a, T, H, dv).transpose(0, 2, 1, 3),
                              go.reshape(b - a, T, H, dv).transpose(0, 2, 1, 3), scale,
                              None if drop is None else drop[a:b],
                              None if gp is None else gp[a:b], outs=heads(gy))
            xp.matmul(x2[r0:r1].T, gy, out=gw[i])
            xp.matmul(ones, gy, out=gbs[i, :nw])
            if gx is not None:
                xp.matmul(gy, w.T, out=gx[r0:r1])
                if norm is not None:
                    gx[r0:r1] += gb  # the residual's share
        parallel.parallel_for(n, block, work=4 * p.nbytes + 2 * y.nbytes)

        def total(parts):
            return np.add.reduce(parts, axis=0) if xp is np else parts.sum(axis=0)
        grads = [None] * len(need)
        grads[0] = None if gx is None else gx.reshape(B, T, D)
        gw, gbs = total(gw), total(gbs)
        nq = H * dk
        cuts = (0, nq, 2 * nq, nw)
        shapes = ((D, H, dk), (D, H, dk), (D, H, dv))
        bias = len(need) - (2 if norm is not None else 0) > 5
        for j in range(3):
            if need[1 + j]:
                grads[1 + j] = gw[:, cuts[j]:cuts[j + 1]].reshape(shapes[j])
            if bias and need[5 + j]:
                grads[5 + j] = gbs[cuts[j]:cuts[j + 1]].reshape(shapes[j][1:])
        if need[4]:
            grads[4] = total(gwo).reshape(H, dv, -1)
        if bias and need[8]:
            grads[8] = gbs[nw:nw + no]
        if norm is not None:
            grads[-2] = gbs[nw + no:nw + 2 * no] if need[-2] else None
            grads[-1] = gbs[nw + 2 * no:] if need[-1] else None
        return tuple(grads)


def _heads(y, B, T, H, dk, dv):
    """q, k, v as (B, H, T, d) strided views of the projections y (B·T, 2·H·dk + H·dv)."""
    nq = H * dk
    q = y[:, :nq].reshape(B, T, H, dk).transpose(0, 2, 1, 3)
    k = y[:, nq:2 * nq].reshape(B, T, H, dk).transpose(0, 2, 1, 3)
    v = y[:, 2 * nq:].reshape(B, T, H, dv).transpose(0, 2, 1, 3)
    return q, k, v


def _check_mask(mask, B, H, T, xp):
    """A boolean (T, T) or (B, 1|H, T, T) mask from (T, T), (B|1, T, T) or (B|1, 1|H, T, T)."""
    if mask is None:
        return None
    m = mask.data if hasattr(mask, "requires_grad") else xp.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"multi_head_self_attention: mask must be boolean (True = attend), got "
                        f"dtype {m.dtype}")
    if m.ndim == 3:
        m = m[:, None]
    ok = m.shape == (T, T) if m.ndim == 2 else (
        m.ndim == 4 and m.shape[0] in (1, B) and m.shape[1] in (1, H) and m.shape[2:] == (T, T))
    if not ok:
        raise ValueError(f"multi_head_self_attention: mask of shape {tuple(np.shape(m))} does "
                         f"not fit (T, T), (batch, T, T) or (batch, heads, T, T) with batch {B}, "
                         f"heads {H}, T {T}")
    return m if m.ndim == 2 or m.shape[0] == B else xp.broadcast_to(m, (B,) + m.shape[1:])


def _rows(xp, batch):
    """Samples per pool block: shapes only (never the thread count); whole batch on a GPU."""
    return batch if xp is not np else max(1, batch // 4)


def multi_head_self_attention(x, query_kernel, key_kernel, value_kernel, output_kernel,
                              query_bias=None, key_bias=None, value_bias=None, output_bias=None,
                              mask=None, scale=None, dropout_p=0.0, training=True,
                              generator=None, norm=None):
    """Multi-head self-attention with Keras's weight layout, as one fused node.

    Formula
    -------
    ::

        [Q | K | V] = X [W_q | W_k | W_v] + [b_q | b_k | b_v]      (one GEMM, heads as views)
        head_h = dropout(softmax(Q_h K_hᵀ · scale + mask)) V_h       scale = 1/√key_dim
        out = Σ_h head_h W_o[h] + b_o

    Backward: dQ, dK, dV per head as in ``scaled_dot_product_attention``, then
    dX = [dQ | dK | dV] [W_q | W_k | W_v]ᵀ and d[W_q | W_k | W_v] = Xᵀ [dQ | dK | dV].

    Parameters
    ----------
    x : Tensor, shape (batch, T, dim)
    query_kernel, key_kernel : Tensor, shape (dim, heads, key_dim)
    value_kernel : Tensor, shape (dim, heads, value_dim)
    output_kernel : Tensor, shape (heads, value_dim, out)
    query_bias, key_bias, value_bias, output_bias : Tensor, optional
        All four or none: (heads, key_dim), (heads, key_dim), (heads, value_dim), (out,).
    mask : bool array (T, T), (batch|1, T, T) or (batch|1, 1|heads, T, T), optional
        True = attend.
    dropout_p : float
        Dropout on the attention weights when ``training``.
    norm : (gamma, beta, epsilon), optional
        The post-norm residual in the same node: out = LayerNorm(x + attention(x)).

    Shape
    -----
    (batch, T, dim) -> (batch, T, out), and the weights (batch, heads, T, T) before dropout.
    """
    x_data = x.data
    B, T, _ = x.shape
    H, dk = query_kernel.shape[1:]
    mask = _check_mask(mask, B, H, T, backend.array_module(x_data))
    scale = 1.0 / float(np.sqrt(dk)) if scale is None else float(scale)
    drop = None
    if dropout_p > 0.0 and training:
        drop = _k.drop_mask((B, H, T, T), dropout_p, x_data.dtype, x_data, generator)
    ins = (x, query_kernel, key_kernel, value_kernel, output_kernel)
    if query_bias is not None:
        ins += (query_bias, key_bias, value_bias, output_bias)
    eps = 1e-5
    if norm is not None:  # the post-norm residual: LayerNorm(x + attention(x))
        gamma, beta, eps = norm
        d = x.shape[-1]
        if tuple(gamma.shape) != (d,) or tuple(beta.shape) != (d,) or \
                tuple(output_kernel.shape)[-1] != d:
            raise ValueError(f"multi_head_self_attention: norm needs gamma/beta ({d},) and an "
                             f"output of {d} features")
        ins += (gamma, beta)
    with quiet(backend.array_module(x_data)):
        return SelfAttention.apply(*ins, bool_mask=mask, drop=drop, scale=scale,
                                   post_norm=norm is not None, epsilon=float(eps))
