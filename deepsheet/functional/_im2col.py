"""im2col / col2im kernels shared by the convolution and pooling functions (not public).

Layout: channels-last images (N, H, W, C) and Keras kernels (kh, kw, C_in/groups, C_out).
A convolution reads, for every output cell (n, oh, ow), the window

    x[n, oh·S_h + i·d_h − P_top, ow·S_w + j·d_w − P_left, :]    for taps (i, j)

Cells outside the input are zeros (padding). The window rows of all output cells form
the im2col matrix; the convolution is then one matrix product with the kernel.

Why the kernels look the way they do (measured on a 2-core AVX2 machine; see
benchmarks/bench_conv.py):

* Memory traffic, not FLOPs, separates a NumPy convolution from PyTorch's, so the batch
  is processed in chunks whose im2col matrix (~8 MiB) stays in cache between being
  written and being read by the matrix product.
* The chunk is copied once into a zero-bordered buffer (cheap: 1/(kh·kw) of the im2col
  matrix, borders zeroed once per call), so that the whole im2col matrix is ONE strided
  copy whose innermost contiguous run is kw·C values; nine separate tap copies with the
  padding folded in move runs of only C values and were 2x slower.
* With stride 1 the input gradient is itself a convolution (of dL/dy with the flipped
  kernel), so it is built the same way: a gather and one matrix product per chunk.
  Otherwise one batched product gives kernel-tap-major columns (taps, P, C), and each
  tap's slice-add into the input gradient moves contiguous rows of Wo·C values. No
  scatter-add (``np.add.at``) anywhere.
* Few input channels (the first layer of an image model): a window row of kw·C values is
  too short a run to copy fast, so the matrix is built transposed, tap-major (K, P): each
  of its kh·kw·C rows is one shifted copy of an image plane, and the product reads it
  transposed at no cost.
* Without groups the matrix carries a column of ones (a row, tap-major), written once per
  call: it adds the bias inside the product and yields dL/db inside the weight-gradient
  product (K + 1 columns cost the product ~0.5%; a separate bias pass over the output
  cost ~4% of the CNN's 32 -> 64 convolution).
* The fused ReLU is ``_kernels.relu_`` (against a block of zeros).
"""
from __future__ import annotations

import numpy as np

from .. import parallel
from ..backend import array_module
from ._kernels import Geometry, chunk_size, relu_

# Window rows with at most this many contiguous values (kw·C) are built tap-major.
TAP_MAJOR_MAX_RUN = 8


class Im2col:
    """Fills im2col matrices of shape (G, n·Ho·Wo, kh·kw·C/G) chunk by chunk.

    One instance serves one call: it owns the zero-bordered staging buffer and the
    output buffer, both reused across chunks (the borders stay zero because only the
    interior is ever written). With few channels (``tap_major``) the buffer holds the
    transposed matrix, and with ``ones`` an extra row of ones after the K window rows:
    the matrix then has K + 1 columns, the last all ones.
    """

    def __init__(self, x_shape, dtype, geo, groups, chunk, xp, ones=False, order=None):
        N, H, W, C = x_shape
        self.geo, self.groups, self.xp, self.order = geo, groups, xp, order
        self.cg = C // groups
        g = geo
        # Extent of the padded input that windows actually read (may drop trailing rows).
        self.hn = (g.Ho - 1) * g.sh + (g.kh - 1) * g.dh + 1
        self.wn = (g.Wo - 1) * g.sw + (g.kw - 1) * g.dw + 1
        self.direct = g.pt == 0 and g.pl == 0 and self.hn <= H and self.wn <= W
        self.stage = None if self.direct else xp.zeros((chunk, self.hn, self.wn, C), dtype)
        self.rows = min(H, self.hn - g.pt)
        self.cols = min(W, self.wn - g.pl)
        self.tap_major = groups == 1 and g.kw * self.cg <= TAP_MAJOR_MAX_RUN
        self.ones = ones and groups == 1
        K = g.kh * g.kw * self.cg
        if self.tap_major:
            self.buf = xp.empty((K + self.ones, chunk, g.Ho, g.Wo), dtype)
            if self.ones:
                self.buf[K] = 1
        else:
            self.buf = xp.empty((groups, chunk, g.Ho, g.Wo, K + self.ones), dtype)
            if self.ones:
                self.buf[..., K] = 1

    def staging(self, n, shape):
        """Where a caller may write an (n,) + ``shape`` chunk instead of passing it: the
        interior of the zero-bordered staging buffer (then ``__call__(..., staged=True)``
        skips the copy), or None (no staging buffer, or windows that skip trailing rows)."""
        g, (H, W, _) = self.geo, shape
        if self.stage is None or self.rows != H or self.cols != W:
            return None
        return self.stage[:n, g.pt:g.pt + H, g.pl:g.pl + W]

    def __call__(self, xc, staged=False):
        """The im2col matrix of chunk ``xc`` as (G, n·Ho·Wo, kh·kw·C/G [+ 1]); ``staged``:
        ``xc`` is already the ``staging`` view, written by the caller."""
        g, n = self.geo, xc.shape[0]
        if self.direct:
            src = xc
        else:
            src = self.stage[:n]
            if not staged:
                src[:, g.pt:g.pt + self.rows, g.pl:g.pl + self.cols] = \
                    xc[:, :self.rows, :self.cols]
        s0, s1, s2, s3 = src.strides
        as_strided = self.xp.lib.stride_tricks.as_strided
        rows, rstr = _row_axes(g, n, s0, s1, s2, self.order)
        K = g.kh * g.kw * self.cg
        if self.tap_major:
            view = as_strided(src, shape=(g.kh, g.kw, self.cg) + rows,
                              strides=(g.dh * s1, g.dw * s2, s3) + rstr)
            buf = self.buf[:, :n]
            _view(buf[:K], view.shape)[...] = view
            return buf.reshape(len(buf), n * g.Ho * g.Wo).T[None]
        view = as_strided(
            src, shape=(self.groups,) + rows + (g.kh, g.kw, self.cg),
            strides=(self.cg * s3,) + rstr + (g.dh * s1, g.dw * s2, s3))
        buf = self.buf[:, :n]
        _view(buf[..., :K], view.shape)[...] = view
        return buf.reshape(self.groups, n * g.Ho * g.Wo, buf.shape[-1])


def _row_axes(g, n, s0, s1, s2, order):
    """Shape and strides of the output-cell axes of an im2col view of n images: (n, Ho, Wo),
    or with ``order`` = (ph, pw) (ph·Hp = Ho, pw·Wp = Wo) the cells of each tap (i, j) of
    ph x pw pooling windows as one block, (i, j, n, p, q) for cell (p·ph + i, q·pw + j):
    the pooling of the product's rows then reads and writes whole contiguous blocks."""
    if order is None:
        return (n, g.Ho, g.Wo), (s0, g.sh * s1, g.sw * s2)
    ph, pw = order
    return ((ph, pw, n, g.Ho // ph, g.Wo // pw),
            (g.sh * s1, g.sw * s2, s0, ph * g.sh * s1, pw * g.sw * s2))


def _view(a, shape):
    """``a`` reshaped without a copy: on the host an error rather than a silent copy (the
    callers only split or merge axes that are contiguous together; a GPU array's reshape
    is then a view too)."""
    if type(a) is not np.ndarray:
        return a.reshape(shape)
    v = a.view()
    v.shape = shape
    return v


def col2im_add(gx, dcol, geo, taps):
    """gx[n, ih, iw, :] += Σ over taps of the tap-major columns ``dcol`` (T, n, Ho, Wo, C).

    Each tap adds one strided block: no scatter-add, no padded copy of gx.
    """
    for t, (i, j, osl, isl) in enumerate(taps):
        gx[:, isl[0], isl[1], :] += dcol[t][:, osl[0], osl[1], :]


def _per_slot(make):
    """Scratch made on first use by each pool thread (``parallel.thread_slot``), for one call."""
    made = {}

    def get():
        slot = parallel.thread_slot()
        obj = made.get(slot)
        if obj is None:
            obj = made[slot] = make()
        return obj
    return get


class ConvChunk:
    """One convolution prepared for running chunk by chunk: the kernel as a matrix and an
    im2col builder per pool thread. ``conv_forward`` runs it over the batch; fused kernels
    (``conv_pool.py``) call it on chunks of their own."""

    def __init__(self, x_shape, w, b, geo, groups, chunk, dtype, xp, order=None):
        kh, kw, cg, O = w.shape
        self.groups, self.O, self.og, self.b, self.xp = groups, O, O // groups, b, xp
        K = kh * kw * cg
        self.cols = _per_slot(lambda: Im2col(x_shape, dtype, geo, groups, chunk, xp,
                                             ones=b is not None, order=order))
        self.ones = self.cols().ones
        if groups == 1:
            wm = w.reshape(K, O)
            if self.ones:
                wm = xp.concatenate([wm, b.reshape(1, O).astype(wm.dtype, copy=False)])
        else:
            wm = w.reshape(K, groups, self.og).transpose(1, 0, 2)
        self.wm = wm

    def staging(self, n, shape):
        """This thread's ``Im2col.staging`` view for an (n,) + ``shape`` chunk, or None."""
        return self.cols().staging(n, shape)

    def staged_rows(self, n):
        """This thread's whole staging buffer for n samples as rows (zero borders included),
        or None: sums over it equal sums over the staged chunk."""
        st = self.cols().stage
        return None if st is None else st[:n].reshape(-1, st.shape[-1])

    def __call__(self, xc, oc, relu=False, staged=False):
        """oc (n, Ho, Wo, O) = conv(xc) + b, then max(·, 0) if ``relu``; returns the im2col
        matrix (G, n·Ho·Wo, K [+ 1]), valid until this thread's next call. ``staged``: xc
        is this thread's ``staging`` view (see ``Im2col.staging``)."""
        xp, O = self.xp, self.O
        A = self.cols()(xc, staged)
        o = oc.reshape(-1, O)
        if self.groups == 1:
            xp.matmul(A[0], self.wm, out=o)
        else:
            o.reshape(-1, self.groups, self.og)[...] = xp.matmul(A, self.wm).transpose(1, 0, 2)
        if self.b is not None and not self.ones:
            o += self.b
        if relu:
            # Fused while the chunk is still in cache: one pass fewer over the output.
            relu_(o, xp)
        return A


def forward_chunk_size(x_shape, w_shape, geo, groups, dtype, xp):
    """(samples per chunk, bytes of work) of ``conv_forward``: a chunk's im2col matrix and
    output stay in cache."""
    kh, kw, cg, O = w_shape
    per = geo.Ho * geo.Wo * (kh * kw * cg * groups + O) * np.dtype(dtype).itemsize
    return chunk_size(x_shape[0], per, xp), x_shape[0] * per


def conv_forward(x, w, b, geo, groups, out=None, relu=False):
    """y = im2col(x) @ W + b (then max(·, 0) if ``relu``), in batch chunks on the thread pool.

    x (N, H, W, C), w (kh, kw, C/G, O) -> (N, Ho, Wo, O). Each chunk writes its own rows of
    y, so the result does not depend on the thread count.
    """
    xp = array_module(x)
    N = x.shape[0]
    O = w.shape[3]
    dtype = np.result_type(x.dtype, w.dtype)
    chunk, work = forward_chunk_size(x.shape, w.shape, geo, groups, dtype, xp)
    if out is None:
        out = xp.empty((N, geo.Ho, geo.Wo, O), dtype)
    if N == 0 or geo.Ho == 0 or geo.Wo == 0:
        if b is not None:
            out[...] = b
        return out
    conv = ConvChunk(x.shape, w, b, geo, groups, chunk, dtype, xp)
    spans = parallel.spans(N, chunk)

    def run(i):
        n0, n1 = spans[i]
        conv(x[n0:n1], out[n0:n1], relu)
    parallel.parallel_for(len(spans), run, work=work)
    return out


def _transposed_geometry(geo, kernel_shape):
    """For stride 1, the geometry of dL/dx = conv(dL/dy, flipped kernel); None otherwise.

    dL/dx[h] = Σ_i dL/dy[h + P_top − i·d] W[i] = Σ_i' dL/dy_pad[h + i'·d] W[kh − 1 − i'] with
    dL/dy padded by d·(kh − 1) − P_top at the top (likewise for the width).
    """
    kh, kw = kernel_shape[:2]
    top = geo.dh * (kh - 1) - geo.pt
    left = geo.dw * (kw - 1) - geo.pl
    if geo.sh != 1 or geo.sw != 1 or top < 0 or left < 0:
        return None
    return Geometry(geo.Ho, geo.Wo, kh, kw, (1, 1), (geo.dh, geo.dw), ((top, 0), (left, 0)),
                    out_hw=(geo.H, geo.W))
