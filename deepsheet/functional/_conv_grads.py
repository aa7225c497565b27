"""The gradients of the im2col convolution (not public): dL/dW and dL/db in batch chunks,
dL/dx as a convolution with the flipped kernel (stride 1, no groups) or as col2im otherwise,
and, when both are wanted, one im2col matrix per chunk for both (``_backward_shared``).
The forward kernels and the im2col builder are in ``_im2col.py``, whose notes apply here.
"""
from __future__ import annotations

from .. import parallel
from ..backend import array_module
from ._im2col import (ConvChunk, Im2col, _per_slot, _transposed_geometry, col2im_add,
                      conv_forward)
from ._kernels import chunk_size


def conv_backward(x, w, gy, geo, groups, need_x, need_w, need_b, gx=None, relu_out=None):
    """Gradients of ``conv_forward``: (gx, gw, gb), each None where not needed.

    Formula (A = im2col(x), G = dL/dy as (P, O), times [y > 0] for a fused ReLU whose output
    is ``relu_out``):
        dL/dW = Aᵀ G,   dL/db = Σ_P G,   dL/dx = col2im(G Wᵀ)

    The weight and bias gradients come from ``conv_weight_grad``; the input gradient from
    ``conv_input_grad_stride1`` when it is itself a convolution (stride 1, no groups) and
    from ``conv_input_grad`` otherwise. When both dL/dx and dL/dW are wanted and dL/dx is a
    convolution, one im2col per chunk serves both (``_backward_shared``).
    """
    tgeo = _transposed_geometry(geo, w.shape) if groups == 1 else None
    if need_x and need_w and tgeo is not None:
        return _backward_shared(x, w, gy, geo, tgeo, need_b, gx, relu_out)
    gw = gb = None
    if need_w or need_b:
        # The ReLU mask is applied chunk by chunk inside the weight-gradient pass (on the
        # pool, in cache for its product); the masked dL/dy is kept only for dL/dx.
        masked = array_module(gy).empty_like(gy) if need_x and relu_out is not None else None
        gw, gb = conv_weight_grad(x, gy, w.shape, geo, groups, need_w, need_b,
                                  relu_out=relu_out, masked=masked)
        if masked is not None:
            gy = masked
    elif relu_out is not None:
        gy = array_module(gy).multiply(gy, relu_out > 0)
    if need_x:
        if tgeo is not None:
            gx = conv_input_grad_stride1(gy, w, tgeo, gx)
        else:
            gx = conv_input_grad(gy, w, geo, groups, gx)
    return gx, gw, gb


def _backward_shared(x, w, gy, geo, tgeo, need_b, gx, relu_out):
    """(dL/dx, dL/dW, dL/db or None) of a stride-1 convolution without groups, in batch
    chunks on the pool: each chunk builds the im2col matrix of (masked) dL/dy for dL/dx and
    reuses it for dL/dW (``WeightGradFromInputGrad``). The masked dL/dy is written straight
    into the im2col's staging buffer, whose rows (zero borders included) give dL/db."""
    xp = array_module(gy)
    N, _, _, O = gy.shape
    C, dtype = w.shape[2], gy.dtype
    if gx is None:
        gx = xp.empty((N, geo.H, geo.W, C), dtype)
    if N == 0:
        return gx, xp.zeros(w.shape, dtype), xp.zeros((O,), dtype) if need_b else None
    chunk, spans, work = _chunks(gy, w.shape, 1)
    back = ConvChunk(gy.shape, flipped_kernel(w, xp), None, tgeo, 1, chunk, dtype, xp)
    acc = WeightGradFromInputGrad(w.shape, len(spans), chunk * dy_rows(back, geo), dtype, xp,
                                  True, need_b)
    scratch = _per_slot(lambda: xp.empty((chunk,) + gy.shape[1:], dtype))

    def run(c):
        n0, n1 = spans[c]
        g = gy[n0:n1]
        st = back.staging(n1 - n0, gy.shape[1:])
        if st is not None:
            if relu_out is not None:
                xp.multiply(g, relu_out[n0:n1] > 0, out=st)
            else:
                st[...] = g
            g, g2 = st, back.staged_rows(n1 - n0)
        else:
            if relu_out is not None:
                g = xp.multiply(g, relu_out[n0:n1] > 0, out=scratch()[:n1 - n0])
            g2 = g.reshape(-1, O)
        acc(c, x[n0:n1], back(g, gx[n0:n1], staged=st is not None)[0], g2)
    parallel.parallel_for(len(spans), run, work=work)
    gw, gb = acc.total()
    return gx, gw, gb


def flipped_kernel(w, xp):
    """The kernel of dL/dx's convolution: taps reversed, in and out channels swapped."""
    return xp.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2))


def dy_rows(back, geo):
    """Rows of dL/dy a sample brings to dL/db: its staging buffer's (zero borders included)
    when ``back``'s im2col stages, else its own (Ho·Wo)."""
    stage = back.cols().stage
    return max(geo.Ho * geo.Wo, 0 if stage is None else stage[0].size // stage.shape[-1])


def _chunks(gy, kernel_shape, groups):
    """Samples per chunk and the chunks' (start, stop), from the size of a chunk's im2col."""
    N, Ho, Wo, O = gy.shape
    kh, kw, cg, _ = kernel_shape
    per = Ho * Wo * (kh * kw * cg * groups + O) * gy.dtype.itemsize
    chunk = chunk_size(N, per, array_module(gy))
    return chunk, parallel.spans(N, chunk), N * per


class WeightGrad:
    """dL/dW = Aᵀ G and dL/db = Σ_P G accumulated chunk by chunk (A = im2col(x), G = dL/dy
    as (P, O)): each chunk writes its own partial sums, ``total()`` adds them in chunk
    order (the same numbers whatever the thread count). With few input channels the im2col
    matrix carries a row of ones, and dL/db comes out of the same product."""

    def __init__(self, x_shape, kernel_shape, geo, groups, n_chunks, chunk, dtype, xp,
                 need_w=True, need_b=False, order=None):
        kh, kw, cg, O = kernel_shape
        self.kernel_shape, self.groups, self.xp = kernel_shape, groups, xp
        self.K, self.og, self.O = kh * kw * cg, O // groups, O
        self.cols = self.parts = self.gb_parts = None
        self.ones_in_cols = False
        if need_w:
            self.cols = _per_slot(lambda: Im2col(x_shape, dtype, geo, groups, chunk, xp,
                                                 ones=need_b, order=order))
            self.ones_in_cols = self.cols().ones
            self.parts = xp.empty((n_chunks, groups, self.K + self.ones_in_cols, self.og),
                                  dtype)
        if need_b and not self.ones_in_cols:
            # Σ over rows as a matrix-vector product: NumPy's column sum of a (P, O) array
            # is several times slower.
            self.ones = xp.ones(chunk * geo.Ho * geo.Wo, dtype)
            self.gb_parts = xp.empty((n_chunks, O), dtype)

    def __call__(self, c, xc, g2):
        """Partial sums of chunk ``c``: input rows ``xc``, dL/dy rows ``g2`` as (P, O)."""
        xp = self.xp
        if self.gb_parts is not None:
            xp.matmul(self.ones[:len(g2)], g2, out=self.gb_parts[c])
        if self.parts is not None:
            A = self.cols()(xc)
            if self.groups == 1:
                xp.matmul(A[0].T, g2, out=self.parts[c, 0])
            else:
                og = self.og
                xp.matmul(A.transpose(0, 2, 1),
                          g2.reshape(-1, self.groups, og).transpose(1, 0, 2), out=self.parts[c])

    def total(self):
        """(dL/dW or None, dL/db or None)."""
        gw = gb = None
        if self.parts is not None:
            total = _sum_in_order(self.parts)
            gw = total[:, :self.K].transpose(1, 0, 2).reshape(self.kernel_shape)
            if self.ones_in_cols:
                gb = self.xp.ascontiguousarray(total[0, self.K])
        if self.gb_parts is not None:
            gb = _sum_in_order(self.gb_parts)
        return gw, gb


class WeightGradFromInputGrad:
    """dL/dW and dL/db of a stride-1 convolution without groups, from the im2col matrix D
    that its input gradient builds anyway (dL/dx is the convolution of dL/dy with the
    flipped kernel, ``conv_input_grad_stride1``): no im2col of x in the backward pass.

    D's row for input cell (n, h, w) holds the window of dL/dy that the cell feeds, its
    column (i', j', o) pairing with kernel tap (kh−1−i', kw−1−j'), so::

        dL/dW[kh−1−i', kw−1−j', c, o] = Σ_(n,h,w) x[n, h, w, c] · D[(n, h, w), (i', j', o)]

    one product xᵀ·D per chunk (partial sums added in chunk order by ``total``, as in
    ``WeightGrad``), and dL/db = Σ_rows dL/dy as a matrix-vector product.
    """

    def __init__(self, kernel_shape, n_chunks, rows, dtype, xp, need_w=True, need_b=False):
        """``rows``: the most rows of dL/dy a chunk has (for dL/db's vector of ones)."""
        kh, kw, C, O = kernel_shape
        self.kernel_shape, self.xp = kernel_shape, xp
        self.parts = xp.empty((n_chunks, C, kh * kw * O), dtype) if need_w else None
        self.ones = xp.ones(rows, dtype) if need_b else None
        self.gb_parts = xp.empty((n_chunks, O), dtype) if need_b else None

    def __call__(self, c, xc, D, g2):
        """Chunk ``c``: its input ``xc`` (n, H, W, C), D (n·H·W, kh·kw·O), dL/dy rows g2."""
        xp = self.xp
        if self.parts is not None:
            x2 = xc.reshape(-1, xc.shape[-1]).T
            if x2.dtype == D.dtype == self.parts.dtype:
                xp.matmul(x2, D, out=self.parts[c])
            else:
                self.parts[c] = xp.matmul(x2, D)
        if self.gb_parts is not None:
            xp.matmul(self.ones[:len(g2)], g2, out=self.gb_parts[c])

    def total(self):
        """(dL/dW or None, dL/db or None)."""
        gw = gb = None
        if self.parts is not None:
            kh, kw, C, O = self.kernel_shape
            flipped = _sum_in_order(self.parts).reshape(C, kh, kw, O)
            gw = self.xp.ascontiguousarray(flipped[:, ::-1, ::-1].transpose(1, 2, 0, 3))
        if self.gb_parts is not None:
            gb = _sum_in_order(self.gb_parts)
        return gw, gb


def conv_weight_grad(x, gy, kernel_shape, geo, groups, need_w=True, need_b=False,
                     relu_out=None, masked=None):
    """dL/dW = Aᵀ G and dL/db = Σ_P G, with A = im2col(x) and G = dL/dy as (P, O).

    Batch chunks run on the thread pool (``WeightGrad``). With ``relu_out`` (a fused
    ReLU's output), G = dL/dy · [y > 0], computed per chunk (into ``masked``, if given, for
    the caller's input gradient; else into scratch).
    """
    xp = array_module(gy)
    N, Ho, Wo, O = gy.shape
    dtype = gy.dtype
    if N == 0:
        return (xp.zeros(kernel_shape, dtype) if need_w else None,
                xp.zeros((O,), dtype) if need_b else None)
    chunk, spans, work = _chunks(gy, kernel_shape, groups)
    acc = WeightGrad((N, geo.H, geo.W, kernel_shape[2] * groups), kernel_shape, geo, groups,
                     len(spans), chunk, dtype, xp, need_w, need_b)
    if relu_out is not None and masked is None:
        scratch = _per_slot(lambda: xp.empty((chunk,) + gy.shape[1:], dtype))

    def run(c):
        n0, n1 = spans[c]
        g2 = gy[n0:n1]
        if relu_out is not None:
            m = masked[n0:n1] if masked is not None else scratch()[:n1 - n0]
            xp.multiply(g2, relu_out[n0:n1] > 0, out=m)
            g2 = m
        acc(c, None if x is None else x[n0:n1], g2.reshape(-1, O))
    parallel.parallel_for(len(spans), run, work=work)
    return acc.total()


def conv_input_grad_stride1(gy, w, tgeo, gx=None):
    """dL/dx for stride 1 and no groups: a convolution of dL/dy with the flipped kernel.

    dL/dx[h, w, c] = Σ_{i, j, o} dL/dy_pad[h + i·d, w + j·d, o] W[kh − 1 − i, kw − 1 − j, c, o],
    so it runs as ``conv_forward`` (a gather and one matrix product per chunk, no adds into
    dL/dx) with the geometry ``_transposed_geometry`` gives.
    """
    xp = array_module(gy)
    if gx is None:
        gx = xp.empty((gy.shape[0], tgeo.Ho, tgeo.Wo, w.shape[2]), gy.dtype)
    return conv_forward(gy, flipped_kernel(w, xp), None, tgeo, 1, out=gx)


def conv_input_grad(gy, w, geo, groups, gx=None):
    """dL/dx = col2im(G Wᵀ) for any stride and groups.

    Per batch chunk (on the thread pool, each writing its own rows of dL/dx), one batched
    product gives kernel-tap-major columns (taps, P, C), and each tap adds its block into
    dL/dx with one strided slice-add (``col2im_add``).
    """
    xp = array_module(gy)
    N, Ho, Wo, O = gy.shape
    kh, kw, cg, _ = w.shape
    og, C, dtype = O // groups, cg * groups, gy.dtype
    if gx is None:
        gx = xp.zeros((N, geo.H, geo.W, C), dtype)
    taps = geo.taps()
    if N == 0 or not taps:
        return gx
    chunk, spans, work = _chunks(gy, w.shape, groups)
    tap_idx = [i * kw + j for i, j, _, _ in taps]
    # Kernel as (taps, O_g, C_g) per group: one batched product gives tap-major columns.
    wt = w.reshape(kh * kw, cg, groups, og).transpose(2, 0, 3, 1)[:, tap_idx]
    dcol = _per_slot(lambda: xp.empty((len(taps), chunk * Ho * Wo, C), dtype))

    def run(c):
        n0, n1 = spans[c]
        n = n1 - n0
        g2 = gy[n0:n1].reshape(-1, O)
        d = dcol()[:, :n * Ho * Wo]
        if groups == 1:
            xp.matmul(g2[None], wt[0], out=d)
        else:
            gg = g2.reshape(-1, groups, og)
            for k in range(groups):
                d[:, :, k * cg:(k + 1) * cg] = xp.matmul(gg[None, :, k, :], wt[k])
        col2im_add(gx[n0:n1], d.reshape(len(taps), n, Ho, Wo, C), geo, taps)
    parallel.parallel_for(len(spans), run, work=work)
    return gx


def _sum_in_order(parts):
    """parts[0] + parts[1] + ... left to right (a fixed order, whatever the thread count)."""
    total = parts[0].copy()
    for p in parts[1:]:
        total += p
    return total
