"""Attention: scaled dot-product attention as one fused graph node.

``scaled_dot_product_attention`` follows ``torch.nn.functional.scaled_dot_product_attention``
(signature, shapes, mask semantics). The scores, the mask, the softmax, the dropout of the
weights and the weighted sum of the values are one ``Function`` with a hand-written backward,
so a whole attention costs two graph nodes' worth of Python, not a dozen. The layers
(``layers.Attention``, ``layers.MultiHeadAttention``, the transformer blocks) all end here.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend, parallel
from ..autograd import Function, unbroadcast
from ..tensor import Tensor
from ._util import as_tensor, quiet, shape_of
from . import _attention_kernels as _k
from .dropout import check_rate

__all__ = ["scaled_dot_product_attention", "causal_mask", "attend", "split_heads_projection",
           "merge_heads_projection"]


class ScaledDotProductAttention(Function):
    """out = dropout(softmax(Q Kᵀ · scale + mask)) V, and the attention weights.

    Outputs ``(out, weights)``; ``weights`` are the softmax before dropout (what Keras's
    ``return_attention_scores`` gives). A boolean mask arrives as a parameter (True = take
    part), a float mask as the fourth input (it may carry a gradient, as in PyTorch).
    The blocks are ``_attention_kernels.forward_block`` / ``backward_block``.
    """

    def forward(self, q, k, v, *rest):
        xp = backend.array_module(q)
        fmask = rest[0] if rest else None
        bmask = self.bool_mask
        add = _k.additive_mask(bmask, q.dtype, xp) if fmask is None else None
        rows = _chunk_rows(xp, q, k, v, fmask, bmask)
        if rows is None:
            out, p = _k.forward_block(xp, q, k, v, self.scale, fmask, bmask, add, self.drop)
        else:
            # Independent slices of the first batch axis on the thread pool, at fixed
            # boundaries: the same products and softmaxes whatever the thread count.
            full = q.shape[:-1] + (k.shape[-2],)
            bm = None if bmask is None else xp.broadcast_to(bmask, full)
            ad = None if add is None else (add if add.ndim < q.ndim else
                                           xp.broadcast_to(add, full))
            out = xp.empty(q.shape[:-1] + (v.shape[-1],), q.dtype)
            p = xp.empty(full, q.dtype)
            drop = self.drop

            def block(i):
                a, b = chunks[i]
                _k.forward_block(xp, q[a:b], k[a:b], v[a:b], self.scale, None,
                                 None if bm is None else bm[a:b],
                                 None if ad is None else (ad if ad.ndim < q.ndim else ad[a:b]),
                                 None if drop is None else drop[a:b], out[a:b], p[a:b])
            chunks = parallel.spans(q.shape[0], rows)
            parallel.parallel_for(len(chunks), block, work=3 * p.nbytes)
        if any(self.needs_input_grad):
            self.q, self.k, self.v, self.p, self.o = q, k, v, p, out
            self.fshape = None if fmask is None else fmask.shape
            self.rows = rows
        return out, p

    def backward(self, g, gp):
        xp = backend.array_module(self.p)
        q, k, v, p, o, drop = self.q, self.k, self.v, self.p, self.o, self.drop
        need = self.needs_input_grad
        if g is None:
            g = xp.zeros(p.shape[:-1] + (v.shape[-1],), p.dtype)
        if self.rows is None:
            return _k.backward_block(xp, need, q, k, v, p, o, g, self.scale, drop, gp,
                                     self.fshape)
        grads = [xp.empty_like(t) if need[i] else None for i, t in enumerate((q, k, v))]

        def block(i):
            a, b = chunks[i]
            _k.backward_block(xp, need, q[a:b], k[a:b], v[a:b], p[a:b], o[a:b], g[a:b],
                              self.scale, None if drop is None else drop[a:b],
                              None if gp is None else gp[a:b],
                              outs=tuple(None if t is None else t[a:b] for t in grads))
        chunks = parallel.spans(q.shape[0], self.rows)
        parallel.parallel_for(len(chunks), block, work=4 * p.nbytes)
        return tuple(grads)


def _chunk_rows(xp, q, k, v, fmask, bmask):
    """Rows of the first batch axis per pool chunk, or None to run as one block.

    Chunked when the arrays are on the CPU, share their batch dims (no broadcasting between
    them), carry no float mask (its gradient sums over the batch) and a boolean mask does
    not widen the scores. The chunk size depends on the shapes only (never the threads).
    """
    if xp is not np or fmask is not None or q.ndim < 3:
        return None
    batch = q.shape[:-2]
    if k.shape[:-2] != batch or v.shape[:-2] != batch or batch[0] < 2:
        return None
    scores = batch + (q.shape[-2], k.shape[-2])
    if bmask is not None and np.broadcast_shapes(bmask.shape, scores) != scores:
        return None
    return max(1, batch[0] // 8)


class AttendScores(Function):
    """out = dropout(softmax(S with mask)) V for scores S computed elsewhere, and the weights.

    The back half of attention for layers whose scores are not a plain dot product
    (additive/concat scores, a trainable scale): one node for mask, softmax, dropout and
    the weighted sum.
    """

    def forward(self, s, v):
        xp = backend.array_module(s)
        p = _k.masked_softmax(xp, s.copy(), self.bool_mask, False)
        drop = self.drop
        pd = p * drop if drop is not None else p
        if any(self.needs_input_grad):
            self.v, self.p = v, p
        return xp.matmul(pd, v), p

    def backward(self, g, gp):
        xp = backend.array_module(self.p)
        v, p, drop = self.v, self.p, self.drop
        if g is None:
            g = xp.zeros(p.shape[:-1] + (v.shape[-1],), p.dtype)
        gs = gv = None
        if self.needs_input_grad[1]:
            pd = p * drop if drop is not None else p
            gv = unbroadcast(xp.matmul(_k.swap(pd), g), v.shape)
        if self.needs_input_grad[0]:
            dp = xp.matmul(g, _k.swap(v))
            if drop is not None:
                dp *= drop
            if gp is not None:
                dp += gp
            gs = unbroadcast(_k.softmax_backward(p, dp), self.s_shape)
        return gs, gv


def attend(scores, value, mask=None, dropout_p=0.0, training=True, generator=None):
    """Masked softmax of precomputed ``scores`` and the weighted sum of ``value``: one node.

    Formula::

        P = softmax(S masked),  out = dropout(P) V

    Parameters
    ----------
    scores : Tensor, shape (..., L, S)
    value : Tensor, shape (..., S, Ev)
    mask : bool array broadcastable to (..., L, S), optional (True = take part)

    Returns
    -------
    (out, weights): (..., L, Ev) and the softmax (..., L, S) before dropout.
    """
    s = _float_tensor(scores, "scores")
    v = _float_tensor(value, "value")
    if s.shape[-1] != v.shape[-2]:
        raise ValueError(f"attend: scores {s.shape} cover {s.shape[-1]} keys but value {v.shape} "
                         f"has {v.shape[-2]}")
    if mask is not None:
        mask = mask.data if isinstance(mask, Tensor) else mask
        if mask.dtype != np.bool_:
            raise TypeError(f"attend: mask must be boolean (True = take part), got {mask.dtype}")
    rate = check_rate(dropout_p, "attend: dropout_p")
    drop = None
    if rate > 0.0 and training:
        drop = _k.drop_mask(np.broadcast_shapes(s.shape, shape_of(mask)), rate, s.dtype, s.data,
                          generator)
    with quiet(backend.array_module(s.data)):
        return AttendScores.apply(s, v, bool_mask=mask, drop=drop, s_shape=s.shape)


def causal_mask(query_length, key_length, xp=np):
    """Boolean (L, S) mask, True on and below the diagonal: position i sees keys 0..i.

    PyTorch's ``is_causal`` mask (``torch.ones(L, S).tril()``): top-left aligned, so with
    S > L the last S − L keys are hidden from every query.
    """
    return xp.tri(int(query_length), int(key_length), dtype=bool)


def _float_tensor(x, name):
    t = as_tensor(x)
    if t.data.dtype.kind != "f":
        raise TypeError(f"scaled_dot_product_attention: {name} must be a float tensor, "
                        f"got dtype {t.data.dtype}")
    return t


def attention_with_weights(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                           scale=None, training=True, generator=None):
    """``scaled_dot_product_attention`` that also returns the weights (softmax, before dropout).

    Returns ``(out, weights)`` with ``weights`` of shape (..., L, S). Used by the attention
    layers for ``return_attention_scores``; same arguments as
    ``scaled_dot_product_attention`` plus ``training`` (False disables the dropout).
    """
    where = "scaled_dot_product_attention"
    q, k, v = (_float_tensor(t, n) for t, n in ((query, "query"), (key, "key"), (value, "value")))
    sq, sk, sv = q.shape, k.shape, v.shape
    if len(sq) < 2 or len(sk) < 2 or len(sv) < 2:
        raise ValueError(f"{where}: query, key and value need rank >= 2 (..., length, features), "
                         f"got shapes {sq}, {sk}, {sv}")
    if sq[-1] != sk[-1]:
        raise ValueError(f"{where}: query and key must have the same feature size (last axis), "
                         f"got query {sq} and key {sk}")
    if sk[-2] != sv[-2]:
        raise ValueError(f"{where}: key and value must have the same length (axis -2), got key "
                         f"{sk} and value {sv}")
    try:
        batch = np.broadcast_shapes(sq[:-2], sk[:-2], sv[:-2])
    except ValueError:
        raise ValueError(f"{where}: the batch dimensions of query {sq}, key {sk} and value {sv} "
                         "do not broadcast") from None
    if q.dtype != k.dtype or q.dtype != v.dtype:
        raise TypeError(f"{where}: query, key and value must share a dtype, got {q.dtype}, "
                        f"{k.dtype}, {v.dtype}")
    L, S = sq[-2], sk[-2]
    scores_shape = tuple(batch) + (L, S)
    xp = backend.array_module(q.data)
    scale = 1.0 / math.sqrt(sq[-1]) if scale is None else float(scale)
    bool_mask, float_mask = None, None
    if attn_mask is not None:
        m = as_tensor(attn_mask)
        ms = shape_of(m)
        try:
            if np.broadcast_shapes(ms, scores_shape) != scores_shape:
                raise ValueError
        except ValueError:
            raise ValueError(f"{where}: attn_mask of shape {ms} must broadcast to the scores' "
                             f"shape {scores_shape} (batch..., query length, key length)") from None
        if m.dtype == np.bool_:
            bool_mask = m.data
        elif m.dtype.kind == "f":
            if m.dtype != q.dtype:
                raise TypeError(f"{where}: a float attn_mask must have the query's dtype "
                                f"{q.dtype}, got {m.dtype}")
            float_mask = m
        else:
            raise TypeError(f"{where}: attn_mask must be boolean (True = take part) or float "
                            f"(added to the scores), got dtype {m.dtype}")
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{where}: give either attn_mask or is_causal=True, not both "
                             "(as PyTorch)")
        bool_mask = causal_mask(L, S, xp)
    p = check_rate(dropout_p, where + ": dropout_p")
    drop = None
    if p > 0.0 and training:
        drop = _k.drop_mask(scores_shape, p, q.dtype, q.data, generator)
    with quiet(xp):
        if float_mask is not None:
            return ScaledDotProductAttention.apply(q, k, v, float_mask, scale=scale,
                                                   bool_mask=bool_mask, drop=drop)
        return ScaledDotProductAttention.apply(q, k, v, scale=scale, bool_mask=bool_mask,
                                               drop=drop)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False, generator=None):
    """Scaled dot-product attention, one fused node (PyTorch's signature and semantics).

    Formula
    -------
    ::

        S = Q Kᵀ · scale + M          scale = 1/√d_k unless given
        P = softmax(S) along the keys  (row i: how much query i looks at each key)
        out = dropout(P) V

    Backward (dO the output gradient, D the dropout mask)::

        dV = (P ⊙ D)ᵀ dO,  dP = (dO Vᵀ) ⊙ D,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),
        dQ = dS K · scale,  dK = dSᵀ Q · scale,  dM = dS (float mask)

    Masks as in PyTorch: a boolean ``attn_mask`` says which keys take part (True) — a
    masked score becomes −∞ before the softmax; a float mask is added to the scores.
    ``is_causal=True`` lets query i see keys 0..i only. A query row whose keys are all
    masked gets zero weights and a zero output (PyTorch's CPU result), not NaN.

    Parameters
    ----------
    query : Tensor, shape (..., L, E)
    key : Tensor, shape (..., S, E)
    value : Tensor, shape (..., S, Ev)
    attn_mask : bool or float array/Tensor broadcastable to (..., L, S), optional
    dropout_p : float
        Dropout on the attention weights (always applied when > 0, as PyTorch; layers pass
        0 at inference).
    is_causal : bool
    scale : float, optional
    enable_gqa : bool
        Grouped-query attention (PyTorch >= 2.5): key and value have H_kv heads on axis -3,
        a divisor of the query's H heads; each key/value head serves H / H_kv consecutive
        query heads (``repeat_interleave``), and its gradient sums over them.
    generator : numpy.random.Generator, optional
        Source of the dropout mask (the library RNG by default).

    Shape
    -----
    Batch dimensions (...) broadcast between query, key and value. Output (..., L, Ev).

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> q = ds.tensor(np.ones((2, 3, 4), np.float32))
    >>> ds.functional.scaled_dot_product_attention(q, q, q, is_causal=True).shape
    (2, 3, 4)
    """
    if enable_gqa:
        key, value = _share_heads(query, key, value)
    out, _ = attention_with_weights(query, key, value, attn_mask, dropout_p, is_causal, scale,
                                    training=True, generator=generator)
    return out


def _share_heads(query, key, value):
    """Key and value heads repeated for grouped-query attention (differentiable)."""
    from .shape import broadcast_to, reshape, unsqueeze
    if min(query.ndim, key.ndim, value.ndim) < 3:
        raise ValueError("scaled_dot_product_attention(enable_gqa=True) needs heads on axis -3: "
                         f"query {tuple(query.shape)}, key {tuple(key.shape)}, value "
                         f"{tuple(value.shape)}")
    heads, kv_heads = query.shape[-3], key.shape[-3]
    if value.shape[-3] != kv_heads or heads % kv_heads:
        raise ValueError(f"scaled_dot_product_attention(enable_gqa=True): key and value need the "
                         f"same number of heads dividing the query's {heads}, got key "
                         f"{kv_heads} and value {value.shape[-3]}")
    group = heads // kv_heads
    if group == 1:
        return key, value

    def repeat(t):
        t = unsqueeze(t, t.ndim - 2)                  # (..., H_kv, 1, S, E)
        shape = t.shape[:-3] + (group,) + t.shape[-2:]
        return reshape(broadcast_to(t, shape), t.shape[:-4] + (heads,) + t.shape[-2:])
    return repeat(key), repeat(value)


# ----------------------------------------------------------------------------- head projections
class SplitHeads(Function):
    """y[..., h, t, d] = Σ_i x[..., t, i] W[i, h, d] + b[h, d]: project and split into heads."""

    def forward(self, x, w, b=None):
        xp = backend.array_module(x)
        dim, h, d = w.shape
        x2 = x.reshape(-1, dim)
        y = xp.matmul(x2, w.reshape(dim, h * d))
        if b is not None:
            y += b.reshape(-1)
        self.x2, self.w = (x2, w) if any(self.needs_input_grad) else (None, None)
        lead, t = x.shape[:-2], x.shape[-2]
        return xp.ascontiguousarray(y.reshape(lead + (t, h, d)).swapaxes(-2, -3))

    def backward(self, g):
        dim, h, d = self.w.shape
        g2 = g.swapaxes(-2, -3).reshape(-1, h * d)
        need = self.needs_input_grad
        gx = (g2 @ self.w.reshape(dim, h * d).T).reshape(g.shape[:-3] + (g.shape[-2], dim)) \
            if need[0] else None
        gw = (self.x2.T @ g2).reshape(dim, h, d) if need[1] else None
        if len(need) > 2:
            gb = g2.sum(axis=0).reshape(h, d) if need[2] else None
            return gx, gw, gb
        return gx, gw


class MergeHeads(Function):
    """y[..., t, o] = Σ_{h,d} x[..., h, t, d] W[h, d, o] + b[o]: merge heads and project."""

    def forward(self, x, w, b=None):
        xp = backend.array_module(x)
        h, d, o = w.shape
        lead, t = x.shape[:-3], x.shape[-2]
        x2 = xp.ascontiguousarray(x.swapaxes(-2, -3)).reshape(-1, h * d)
        y = xp.matmul(x2, w.reshape(h * d, o))
        if b is not None:
            y += b
        self.x2, self.w = (x2, w) if any(self.needs_input_grad) else (None, None)
        self.lead_t = lead + (t,)
        return y.reshape(lead + (t, o))

    def backward(self, g):
        h, d, o = self.w.shape
        g2 = g.reshape(-1, o)
        need = self.needs_input_grad
        gx = None
        if need[0]:
            gx = (g2 @ self.w.reshape(h * d, o).T).reshape(self.lead_t + (h, d)).swapaxes(-2, -3)
        gw = (self.x2.T @ g2).reshape(h, d, o) if need[1] else None
        if len(need) > 2:
            return gx, gw, (g2.sum(axis=0) if need[2] else None)
        return gx, gw


def split_heads_projection(x, kernel, bias=None):
    """Project ``x`` with a (dim, heads, head_dim) kernel and move heads before time: one node.

    Formula::

        Y[..., h, t, :] = X[..., t, :] · W[:, h, :] + b[h, :]

    Keras's ``MultiHeadAttention`` query/key/value layout (kernel (dim, heads, key_dim), bias
    (heads, key_dim)); the result is laid out for ``scaled_dot_product_attention``.

    Shape
    -----
    (..., T, dim) -> (..., heads, T, head_dim)
    """
    x = _float_tensor(x, "x")
    if len(shape_of(kernel)) != 3 or x.shape[-1] != shape_of(kernel)[0] or x.ndim < 2:
        raise ValueError(f"split_heads_projection: x of shape {x.shape} and kernel of shape "
                         f"{shape_of(kernel)} do not fit (expected (..., T, dim) and (dim, heads, "
                         "head_dim))")
    if bias is None:
        return SplitHeads.apply(x, kernel)
    return SplitHeads.apply(x, kernel, bias)


def merge_heads_projection(x, kernel, bias=None):
    """Merge heads and project with a (heads, head_dim, out) kernel: one node.

    Formula::

        Y[..., t, :] = Σ_h X[..., h, t, :] · W[h, :, :] + b

    Keras's ``MultiHeadAttention`` output layout (kernel (heads, value_dim, out), bias (out,)).

    Shape
    -----
    (..., heads, T, head_dim) -> (..., T, out)
    """
    x = _float_tensor(x, "x")
    ks = shape_of(kernel)
    if len(ks) != 3 or x.ndim < 3 or (x.shape[-3], x.shape[-1]) != tuple(ks[:2]):
        raise ValueError(f"merge_heads_projection: x of shape {x.shape} and kernel of shape {ks} "
                         "do not fit (expected (..., heads, T, head_dim) and (heads, head_dim, "
                         "out))")
    if bias is None:
        return MergeHeads.apply(x, kernel)
    return MergeHeads.apply(x, kernel, bias)
