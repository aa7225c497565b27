"""Array kernels of the attention nodes (not public): the masked softmax and one block of
attention forward and backward, shared by ``scaled_dot_product_attention`` and the fused
``multi_head_self_attention``.

A block is a slice of the leading batch axis; the nodes run fixed blocks on the thread pool
(``parallel.parallel_for``), each writing its own slice of the outputs (``out=``), so the
result does not depend on the thread count.

Fast softmax: the row max of short rows is NumPy's slowest step (a reduction per row of 64
values costs twice the ``exp``), so the block subtracts ONE max over the whole block
instead. Softmax is invariant to any shift per row, so this is exact in real arithmetic; in
float32 it is as accurate as long as no row's own max sits far below the block's (its
exponentials would underflow). The row sums tell: a row sum under ``_TINY`` (its largest
weight e^(m_row − m_block) < 1e-30, i.e. the rows' maxima are ~69 apart) sends the block to
the exact per-row-max softmax, which also handles rows whose keys are all masked.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import unbroadcast

_TINY = 1e-30


def swap(a):
    return a.swapaxes(-1, -2)


def masked_softmax(xp, s, bmask, masked):
    """Row softmax of the scores ``s`` (overwritten) with the boolean mask applied first.

    A masked score becomes −∞. Row max shift: every exponent <= 0. A row whose keys are all
    masked has max −∞; shifting by 0 there makes its exponentials 0 and its weights 0
    (PyTorch's CPU result), never NaN.
    """
    if bmask is not None:
        full = np.broadcast_shapes(s.shape, bmask.shape)
        if s.shape != full:
            s = xp.broadcast_to(s, full).copy()
        xp.copyto(s, -xp.inf, where=~bmask)
    masked = masked or bmask is not None
    m = s.max(axis=-1, keepdims=True)
    if masked:
        m[~xp.isfinite(m)] = 0.0
    s -= m
    p = xp.exp(s, out=s)
    z = p.sum(axis=-1, keepdims=True)
    if masked:
        z[z == 0] = 1.0
    p /= z
    return p


def fast_softmax(xp, s, add):
    """Softmax of ``s + add`` in place in ``s`` with one shift for the block (module notes).

    ``add``: additive mask (0 where a key takes part, −∞ where masked) broadcastable to
    ``s``, or None. Returns False, with ``s`` overwritten, where the exact softmax is needed.
    """
    if add is not None:
        s += add
    c = s.max()
    if not np.isfinite(c):
        return False
    s -= c
    xp.exp(s, out=s)
    z = xp.matmul(s, xp.ones(s.shape[-1], s.dtype))  # row sums as matrix-vector products
    if z.min() < _TINY:
        return False
    np.divide(1.0, z, out=z)
    s *= z[..., None]
    return True


def additive_mask(bmask, dtype, xp):
    """0 where ``bmask`` is True (take part), −∞ where False: the mask added to the scores."""
    if bmask is None:
        return None
    add = xp.zeros(bmask.shape, dtype)
    xp.copyto(add, -np.inf, where=~bmask)
    return add


def softmax_backward(p, dp):
    """dS = P ⊙ (dP − Σ_j dP ⊙ P), in place in ``dp``."""
    dp *= p
    dp -= p * dp.sum(axis=-1, keepdims=True)
    return dp


def drop_mask(shape, rate, dtype, like, generator):
    """Inverted-dropout multipliers {0, 1/(1-rate)} of ``shape`` on ``like``'s device."""
    rng = generator if generator is not None else backend.rng()
    keep = rng.random(shape, dtype=np.float32) >= rate
    drop = np.multiply(keep, 1.0 / (1.0 - rate), dtype=dtype)
    return backend.to_device(drop, backend.device_of(like))


def forward_block(xp, q, k, v, scale, fmask=None, bmask=None, add=None, drop=None, out=None,
                  p_out=None):
    """One block of attention: P = softmax(Q Kᵀ·scale + mask), O = dropout(P) V.

    ``fmask``: a float mask added to the scores (exact softmax); ``bmask``/``add``: the same
    boolean mask as is and as an additive mask (fast softmax when it fits the scores'
    shape). ``out``/``p_out``: where to write O and P (slices of the node's outputs).
    Returns (O, P).
    """
    scores = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2], k.shape[-2])
    fast = fmask is None and (add is None or np.broadcast_shapes(add.shape, scores) == scores)
    s = xp.matmul(q, swap(k), out=p_out if fast else None)
    s *= scale
    if not (fast and fast_softmax(xp, s, add)):
        if fast:  # s was overwritten: recompute it for the exact softmax
            s = xp.matmul(q, swap(k))
            s *= scale
        if fmask is not None:
            s = s + fmask  # may broadcast s up to the mask's batch dims
        s = masked_softmax(xp, s, bmask, fmask is not None)
        if p_out is not None:
            p_out[...] = s
    pd = s * drop if drop is not None else s
    return xp.matmul(pd, v, out=out), s


def backward_block(xp, need, q, k, v, p, o, g, scale, drop=None, gp=None, fshape=None,
                   outs=(None, None, None)):
    """Gradients of one block: (dQ, dK, dV[, dMask]) for ``need`` (3 or 4 flags).

    Formula (D the dropout multipliers)::

        dV = (P ⊙ D)ᵀ dO,   dP = (dO Vᵀ) ⊙ D,
        dS = P ⊙ (dP − r),  r_i = Σ_j P_ij dP_ij = dO_i · O_i   (O = (P ⊙ D) V),
        dQ = dS K · scale,  dK = dSᵀ Q · scale

    r as dO·O (FlashAttention's trick) reads (L, Ev) instead of (L, S) values; with a
    gradient ``gp`` on the returned weights the plain row sum is used. ``outs``: where to
    write dQ, dK, dV (no broadcasting between q, k, v then).
    """
    gq = gk = gv = gm = None
    if need[2]:
        pd = p * drop if drop is not None else p
        gv = xp.matmul(swap(pd), g, out=outs[2])
        if outs[2] is None:
            gv = unbroadcast(gv, v.shape)
    if need[0] or need[1] or (len(need) > 3 and need[3]):
        dp = xp.matmul(g, swap(v))
        if drop is not None:
            dp *= drop
        if gp is None:
            r = xp.einsum("...i,...i->...", g, o)
            dp -= r[..., None]
            dp *= p
            ds = dp
        else:
            dp += gp
            ds = softmax_backward(p, dp)
        if len(need) > 3 and need[3]:
            gm = unbroadcast(ds, fshape)
            if gm is ds:  # ds is scaled in place next
                gm = ds.copy()
        ds *= scale
        if need[0]:
            gq = xp.matmul(ds, k, out=outs[0])
            if outs[0] is None:
                gq = unbroadcast(gq, q.shape)
        if need[1]:
            gk = xp.matmul(swap(ds), q, out=outs[1])
            if outs[1] is None:
                gk = unbroadcast(gk, k.shape)
    return (gq, gk, gv, gm) if len(need) > 3 else (gq, gk, gv)
