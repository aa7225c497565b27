"""Winograd's minimal filtering F(2x2, 3x3) for the fused 3x3 convolution + 2x2 max pooling.

A 3x3 "same" convolution with stride 1 computes each 2x2 block of outputs from a 4x4 tile of
the zero-bordered input (tiles overlap by 2). Winograd's algorithm (Lavin & Gray 2016) does
it with 16 products per input/output channel pair instead of 36:

    Y = Aᵀ [ (G W Gᵀ) ⊙ (Bᵀ D B) ] A

    Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]      (input tile D, 4x4)
    G  = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]        (kernel W, 3x3)
    Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]]                                  (output Y, 2x2)

Summed over input channels, each of the 16 positions ξ of the transformed tile is one
matrix product over all tiles: M[ξ] = V[ξ] · U[ξ] with V[ξ] (tiles, C) and U[ξ] (C, O).
For the reference CNN's 32 -> 64 layer that is 16 products of K = 32 instead of one of
K = 288: 2.25x fewer multiplications, at the price of the transforms (additions only).

Why the layout (measured, reference CNN, one thread, a batch of 128 at 14x14x32 -> 64):
every transform is a few whole-array additions, never a loop over tiles. The columns of
the zero-bordered input are stored de-interleaved (even columns, then odd ones): the
tiles' column stage then reads runs of Wo/2 · C contiguous values instead of runs of C
(2.1 -> 1.3 ms a batch), and the outputs are written pooling tap by pooling tap
((a, b, n, i, j, O) for output cell (2i + a, 2j + b)), which is the layout the fused
pooling reads as contiguous blocks.

Transform rows are kept in the order (0, 3, 1, 2): the two differences d0 − d2 and
d1 − d3 of the input transform are then one NumPy call on a strided view.
"""
from __future__ import annotations

import numpy as np

from .. import parallel
from ._conv_grads import _sum_in_order, flipped_kernel
from ._im2col import _per_slot
from ._kernels import relu_

# Switch for tests and benchmarks (the im2col path gives the same numbers up to rounding).
ENABLED = True
# With few channels the transforms cost more than the products they save. Measured (fused
# node, forward + backward, one thread, Winograd / im2col time): 14x14 images, 4 -> 16: 1.28,
# 8 -> 16: 1.20, 8 -> 32: 0.98, 16 -> 16: 1.01, 16 -> 32: 0.85, 32 -> 64: ~0.6; 28x28, 8 -> 16:
# 0.87, 16 -> 32: 0.80 (plain conv2d 0.89). Hence at least MIN_CHANNELS input channels and
# MIN_PAIRS input-output channel pairs.
MIN_CHANNELS = 8
MIN_PAIRS = 512

# A chunk's buffers (transformed tiles, products) stay near this size: ~8 samples of the
# reference CNN's 14x14x32 -> 64 layer (its fastest chunk, module notes of conv_pool), one
# sample of a large image.
CHUNK_BYTES = 4 << 20
# The forward keeps its transformed input for dL/dW (it saves transforming x again; 16 values
# per 4 input values, so 4x the input) only up to this size; above it the backward transforms
# x again chunk by chunk.
KEEP_BYTES = 64 << 20

_ORDER = (0, 3, 1, 2)  # storage position s holds transform row _ORDER[s]
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5],
               [0.0, 0.0, 1.0]])[list(_ORDER)]


def usable(x_shape, w_shape, geo, xp, dtype=np.float32):
    """True for a float32 or float64 host-array 3x3 convolution with stride 1, no dilation,
    one cell of zero padding on every side and an even output size, with at least
    MIN_CHANNELS input channels and MIN_PAIRS (input, output) channel pairs (the 2x2 output
    blocks are then the 2x2 pooling windows of a fused pooling)."""
    kh, kw, C, O = w_shape
    g = geo
    return (ENABLED and xp is np and np.dtype(dtype) in (np.float32, np.float64)
            and (kh, kw) == (3, 3) and (g.sh, g.sw, g.dh, g.dw) == (1, 1, 1, 1)
            and (g.pt, g.pl) == (1, 1) and (g.Ho, g.Wo) == tuple(x_shape[1:3])
            and g.Ho % 2 == 0 and g.Wo % 2 == 0 and C >= MIN_CHANNELS and C * O >= MIN_PAIRS)


def chunk_size(x_shape, out_channels, dtype, most):
    """Samples per chunk: at most ``most``, fewer where a sample's buffers pass CHUNK_BYTES."""
    _, H, W, C = x_shape
    per = (H // 2) * (W // 2) * (16 * C + 24 * out_channels) * np.dtype(dtype).itemsize
    return int(max(1, min(most, CHUNK_BYTES // max(per, 1))))


def work(x_shape, out_channels, dtype):
    """Bytes a whole batch's transforms touch (``parallel_for``'s ``work``): 16 transformed
    values per 2x2 block, of the input's and the output's channels."""
    N, H, W, C = x_shape
    return 4 * N * H * W * (C + out_channels) * np.dtype(dtype).itemsize


def keeps_transform(x_shape, dtype):
    """True when the forward keeps its transformed input (4x the input) for dL/dW."""
    N, H, W, C = x_shape
    return 4 * N * H * W * C * np.dtype(dtype).itemsize <= KEEP_BYTES


def kernel_transform(w, dtype):
    """U = G W Gᵀ for each channel pair: (16, C, O) in storage order, computed in float64."""
    u = np.einsum("ai,ijco,bj->abco", _G, np.asarray(w, np.float64), _G)
    return np.ascontiguousarray(u.reshape(16, w.shape[2], w.shape[3]), dtype=dtype)


class WinogradConv:
    """conv(x, W) + b of chunks of n images (n, H, W, C), written tap by tap of 2x2 pooling.

    ``__call__(xc, out)`` fills ``out`` of shape (2, 2, n, H/2, W/2, O): out[a, b, :, i, j]
    is the convolution at cell (2i + a, 2j + b). Buffers are per pool thread, made on first
    use, reused across chunks.
    """

    def __init__(self, x_shape, w, b, chunk, dtype):
        _, H, W, C = x_shape
        O = w.shape[3]
        self.shape = (H, W, C, O)
        self.U = kernel_transform(w, dtype)
        self.b = None if b is None else np.asarray(b, dtype)
        Th, Tw = H // 2, W // 2
        E = Tw + 1  # columns of each parity in the zero-bordered input

        def make():
            return (np.zeros((chunk, H + 2, 2 * E, C), dtype),      # de-interleaved input
                    np.empty((4, chunk, Th, 2 * E, C), dtype),       # after the row stage
                    np.empty((4, 4, chunk, Th, Tw, C), dtype),       # V
                    np.empty((16, chunk * Th * Tw, O), dtype),       # M
                    np.empty((2, 4, chunk, Th, Tw, O), dtype))       # after Aᵀ on the rows
        self.buffers = _per_slot(make)

    def __call__(self, xc, out, keep=None):
        """Fills ``out`` (see the class); ``keep``: where to leave the transformed input V
        (4, 4, n, H/2, W/2, C) for the weight gradient (else a per-thread buffer)."""
        H, W, C, O = self.shape
        n = xc.shape[0]
        Th, Tw = H // 2, W // 2
        pad, t, V, M, R = self.buffers()
        V = V[:, :, :n] if keep is None else keep
        R, M = R[:, :, :n], M[:, :n * Th * Tw]
        input_transform(xc, pad[:n], t[:, :n], V)
        np.matmul(V.reshape(16, n * Th * Tw, C), self.U, out=M)
        M = M.reshape(4, 4, n, Th, Tw, O)
        if self.b is not None:
            M[2, 2] += self.b  # transform entry (1, 1) reaches every output with weight 1
        output_transform(M, R, out)


# Aᵀ M A as one product: out (4, rest) = AA (4, 16) · M (16, rest), AA[(a, b), (sa, sb)] =
# Aᵀ[a, sa] Aᵀ[b, sb] in storage order (one call instead of eight whole-array passes; at two
# threads every call can hand Python's lock over).
GEMM_OUTPUT = True
_AT = np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]])[:, list(_ORDER)]
_AA = np.einsum("ai,bj->abij", _AT, _AT).reshape(4, 16)
_AA_CAST = {}


def output_transform(M, R, out):
    """out (2, 2, ...) = Aᵀ M A for M (4, 4, ...) in storage order; R (2, 4, ...) scratch.

    Rows, then columns: y0 = m0 + m1 + m2, y1 = m1 − m2 − m3, with m0, m3, m1, m2 at
    storage positions 0, 1, 2, 3 (or one product, ``GEMM_OUTPUT``, where ``out`` is
    contiguous).
    """
    if GEMM_OUTPUT and out.flags.c_contiguous:
        aa = _AA_CAST.get(out.dtype)
        if aa is None:
            aa = _AA_CAST[out.dtype] = _AA.astype(out.dtype)
        rest = out.size // 4
        m2 = M.reshape(16, rest) if M.flags.c_contiguous else _rows(M, rest)
        np.matmul(aa, m2, out=out.reshape(4, rest))
        return
    np.add(M[2], M[3], out=R[0])
    R[0] += M[0]
    np.subtract(M[2], M[3], out=R[1])
    R[1] -= M[1]
    np.add(R[:, 2], R[:, 3], out=out[:, 0])
    out[:, 0] += R[:, 0]
    np.subtract(R[:, 2], R[:, 3], out=out[:, 1])
    out[:, 1] -= R[:, 1]


def input_transform(xc, pad, t, V):
    """V (4, 4, n, H/2, W/2, C) = Bᵀ D B of every 4x4 tile D of the zero-bordered chunk
    ``xc`` (n, H, W, C); ``pad`` (n, H + 2, W + 2, C) has zero borders, ``t`` is scratch."""
    H, W = xc.shape[1:3]
    Th, Tw = H // 2, W // 2
    E = Tw + 1
    # Padded column 2m (input column 2m − 1) at position m, padded column 2m + 1 (input
    # column 2m) at E + m; the borders are never written.
    pad[:, 1:H + 1, 1:E] = xc[:, :, 1::2]
    pad[:, 1:H + 1, E:E + Tw] = xc[:, :, 0::2]
    _rows_stage(pad, t, Th)
    _cols_stage(t, V, Tw, E)
    return V


def _rows_stage(pad, t, Th):
    """t[s] = Bᵀ applied down the rows of every tile: rows k + 2i of ``pad`` are d_k."""
    s0, s1, s2, s3 = pad.strides
    n, _, Wp, C = pad.shape
    shape = (2, n, Th, Wp, C)
    strides = (s1, s0, 2 * s1, s2, s3)
    ast = np.lib.stride_tricks.as_strided
    d02 = ast(pad, shape, strides)                 # (d0, d1)
    d24 = ast(pad[:, 2:], shape, strides)          # (d2, d3)
    np.subtract(d02, d24, out=t[0:2])              # d0 − d2, d1 − d3
    d1, d2 = pad[:, 1:2 * Th:2], pad[:, 2:2 * Th + 1:2]
    np.add(d2, d1, out=t[2])
    np.subtract(d2, d1, out=t[3])


def _cols_stage(t, V, Tw, E):
    """V[:, s] = Bᵀ applied along the columns: column k of tile j is at position j, E + j,
    j + 1, E + j + 1 for k = 0, 1, 2, 3 (de-interleaved)."""
    s0, s1, s2, s3, s4 = t.strides
    _, n, Th, _, C = t.shape
    shape = (4, 2, n, Th, Tw, C)
    strides = (s0, E * s3, s1, s2, s3, s4)
    ast = np.lib.stride_tricks.as_strided
    e0 = ast(t, shape, strides)                    # (e0, e1)
    e2 = ast(t[:, :, :, 1:], shape, strides)       # (e2, e3)
    np.subtract(e0, e2, out=V[:, 0:2])
    e1, e2 = t[:, :, :, E:E + Tw], t[:, :, :, 1:1 + Tw]
    np.add(e2, e1, out=V[:, 2])
    np.subtract(e2, e1, out=V[:, 3])


class WinogradBackward:
    """dL/dx, dL/dW, dL/db of ``WinogradConv`` chunk by chunk, from dL/dz tap by tap.

    dL/dz comes as Z (2, 2, n, H/2, W/2, O): Z[a, b, :, i, j] = dL/dz at cell (2i + a, 2j + b),
    the layout the fused pooling's backward writes (into ``taps(n)``, the interior of a
    zero-bordered buffer). With U = G W Gᵀ, V the transformed input tiles (kept by the
    forward) and Ż = A Z Aᵀ the transformed output blocks (A = (Aᵀ)ᵀ, 4x2)::

        dL/dU[ξ] = Σ_tiles V[ξ]ᵀ Ż[ξ]           (16 products over the tiles, (C, O) each)
        dL/dW    = Gᵀ (dL/dU) G                (once, after the chunks are summed in order)
        dL/db    = Σ dL/dz
        dL/dx    = the "same" convolution of dL/dz with the flipped kernel
                   W'[i, j, o, c] = W[2 − i, 2 − j, c, o], by F(2x2, 3x3) as the forward

    Chunks write their own partial sums; ``total()`` adds them in chunk order, so the result
    does not depend on the thread count.
    """

    def __init__(self, x_shape, w, n_chunks, chunk, dtype, need_x, need_w, need_b,
                 kept=True):
        _, H, W, C = x_shape
        O = w.shape[3]
        self.shape, self.dtype = (H, W, C, O), dtype
        self.need_x, self.need_w, self.need_b = need_x, need_w, need_b
        if need_x:
            self.Uf = kernel_transform(flipped_kernel(w, np), dtype)
        self.gw = np.empty((n_chunks, 16, C, O), dtype) if need_w else None
        self.gb = np.empty((n_chunks, O), dtype) if need_b else None
        Th, Tw = H // 2, W // 2

        def make():
            # dL/dz with a border of zero tiles: the input gradient's tiles reach one tile
            # row and column past each side.
            bufs = {"Zb": np.zeros((2, 2, chunk, Th + 2, Tw + 2, O), dtype)}
            if need_w:
                bufs["Zd"] = np.empty((4, 4, chunk, Th, Tw, O), dtype)
            if need_w and not kept:  # the input transformed again, chunk by chunk
                bufs["pad"] = np.zeros((chunk, H + 2, 2 * (Tw + 1), C), dtype)
                bufs["t"] = np.empty((4, chunk, Th, 2 * (Tw + 1), C), dtype)
                bufs["V"] = np.empty((4, 4, chunk, Th, Tw, C), dtype)
            if need_x:
                bufs["tz"] = np.empty((4, 2, chunk, Th, Tw + 2, O), dtype)
                bufs["Vz"] = np.empty((4, 4, chunk, Th, Tw, O), dtype)
                bufs["M"] = np.empty((16, chunk * Th * Tw, C), dtype)
                bufs["R"] = np.empty((2, 4, chunk, Th, Tw, C), dtype)
                bufs["Y"] = np.empty(4 * chunk * Th * Tw * C, dtype)
            return bufs
        self.buffers = _per_slot(make)

    def taps(self, n):
        """Where this thread writes dL/dz of its next chunk of n samples: the four pooling
        taps' blocks (n, H/2, W/2, O), (a, b) in row-major order."""
        H, W = self.shape[:2]
        Zb = self.buffers()["Zb"]
        return [Zb[a, b, :n, 1:H // 2 + 1, 1:W // 2 + 1] for a in (0, 1) for b in (0, 1)]

    def interior(self, n):
        """This thread's dL/dz buffer for n samples as (2, 2, n, H/2, W/2, O), borders off."""
        H, W = self.shape[:2]
        return self.buffers()["Zb"][:, :, :n, 1:H // 2 + 1, 1:W // 2 + 1]

    def __call__(self, c, V, g, gxc, xc=None):
        """Chunk ``c`` of n samples, its dL/dz written into ``taps(n)`` by this thread: ``V``
        the forward's transformed input (4, 4, n, H/2, W/2, C) (for dL/dW), ``g`` the pooled
        gradient (n, H/2, W/2, O) or dL/dz itself (n, H, W, O) (for dL/db: its sum), dL/dx
        written into ``gxc`` (n, H, W, C). Without a kept V, the input chunk ``xc``."""
        H, W, C, O = self.shape
        Th, Tw = H // 2, W // 2
        n = g.shape[0]
        P = n * Th * Tw
        bufs = self.buffers()
        Zb = bufs["Zb"][:, :, :n]
        if self.need_b:  # every pooled gradient went to one cell of its window
            g.sum(axis=(0, 1, 2), out=self.gb[c])
        if self.need_w:
            if V is None:
                V = input_transform(xc, bufs["pad"][:n], bufs["t"][:, :n], bufs["V"][:, :, :n])
            Zd = _dz_transform(Zb[:, :, :, 1:Th + 1, 1:Tw + 1], bufs["Zd"][:, :, :n])
            np.matmul(V.reshape(16, P, C).transpose(0, 2, 1), Zd.reshape(16, P, O),
                      out=self.gw[c])
        if self.need_x:
            Vz = _shifted_transform(Zb, bufs["tz"][:, :, :n], bufs["Vz"][:, :, :n])
            M = bufs["M"][:, :P]
            np.matmul(Vz.reshape(16, P, O), self.Uf, out=M)
            Y = bufs["Y"][:4 * P * C].reshape(2, 2, n, Th, Tw, C)
            output_transform(M.reshape((4, 4) + Y.shape[2:]), bufs["R"][:, :, :n], Y)
            # gx[:, 2i + a, 2j + b] = Y[a, b, :, i, j]: one strided copy
            s0, s1, s2, s3 = gxc.strides
            view = np.lib.stride_tricks.as_strided(
                gxc, shape=Y.shape, strides=(s1, s2, s0, 2 * s1, 2 * s2, s3))
            view[...] = Y

    def total(self):
        """(dL/dW (3, 3, C, O) or None, dL/db (O,) or None): the chunks' sums in order."""
        gw = gb = None
        if self.need_w:
            acc = _sum_in_order(self.gw)
            _, _, C, O = self.shape
            # Ż was built from A with its row for storage position 1 negated (see
            # _dz_transform): fold that sign into G.
            g = _G * _SIGNS[:, None]
            gw = np.einsum("ai,abco,bj->ijco", g, acc.reshape(4, 4, C, O).astype(np.float64),
                           g).astype(self.dtype)
        if self.need_b:
            gb = _sum_in_order(self.gb)
        return gw, gb


# Ż = A Z Aᵀ uses A's rows in storage order: [1, 0], [0, −1], [1, 1], [1, −1]. The second is
# taken as [0, 1], so Ż carries a factor −1 at storage position 1 of each axis; total()
# multiplies G's row there by −1 to undo it.
_SIGNS = np.array([1.0, -1.0, 1.0, 1.0])


def _dz_transform(Z, Zd):
    """Zd (4, 4, n, Th, Tw, O) = Ż = A Z Aᵀ in storage order (position 1 of each axis with its
    sign flipped), from Z (2, 2, n, Th, Tw, O)."""
    Zd[0:2, 0:2] = Z
    np.add(Zd[0:2, 0], Zd[0:2, 1], out=Zd[0:2, 2])
    np.subtract(Zd[0:2, 0], Zd[0:2, 1], out=Zd[0:2, 3])
    np.add(Zd[0], Zd[1], out=Zd[2])
    np.subtract(Zd[0], Zd[1], out=Zd[3])
    return Zd


def _shifted_transform(Zb, t, V):
    """V = Bᵀ D B for the 4x4 tiles D of the zero-bordered dL/dz, from its tap layout with a
    border of zero tiles, Zb (2, 2, n, Th + 2, Tw + 2, O): padded row 2i + r is tap row
    a = 1, 0, 1, 0 of tile row i − 1, i, i, i + 1 for r = 0..3 (likewise the columns)."""
    Th = Zb.shape[3] - 2
    Tw = Zb.shape[4] - 2
    z0, z1 = Zb[0], Zb[1]                   # (b, n, i, j, O), bordered
    mid = slice(1, Th + 1)
    # storage rows: d0 − d2, d1 − d3, d1 + d2, d2 − d1 (all columns, borders included)
    np.subtract(z1[:, :, 0:Th], z1[:, :, mid], out=t[0])
    np.subtract(z0[:, :, mid], z0[:, :, 2:Th + 2], out=t[1])
    np.add(z0[:, :, mid], z1[:, :, mid], out=t[2])
    np.subtract(z1[:, :, mid], z0[:, :, mid], out=t[3])
    e0, e1 = t[:, 0], t[:, 1]               # (s, n, i, j, O), j bordered
    mid = slice(1, Tw + 1)
    np.subtract(e1[..., 0:Tw, :], e1[..., mid, :], out=V[:, 0])
    np.subtract(e0[..., mid, :], e0[..., 2:Tw + 2, :], out=V[:, 1])
    np.add(e0[..., mid, :], e1[..., mid, :], out=V[:, 2])
    np.subtract(e1[..., mid, :], e0[..., mid, :], out=V[:, 3])
    return V


def taps_view(a):
    """``a`` (n, H, W, K) as (2, 2, n, H/2, W/2, K): [p, q, :, i, j] = a[:, 2i + p, 2j + q]."""
    s0, s1, s2, s3 = a.strides
    n, H, W, K = a.shape
    return np.lib.stride_tricks.as_strided(a, shape=(2, 2, n, H // 2, W // 2, K),
                                           strides=(s1, s2, s0, 2 * s1, 2 * s2, s3))


def conv2d_forward(x, w, b, relu, keep, chunk):
    """y = conv(x, W) + b (then max(·, 0) if ``relu``) of a 3x3 "same" convolution by
    F(2x2, 3x3), chunk by chunk on the thread pool; (y (N, H, W, O), the transformed input V
    (4, 4, N, H/2, W/2, C) if ``keep`` else None). ``chunk``: at most that many samples."""
    N, H, W, C = x_shape = x.shape
    O = w.shape[3]
    dtype = np.result_type(x.dtype, w.dtype)
    y = np.empty((N, H, W, O), dtype)
    V = np.empty((4, 4, N, H // 2, W // 2, C), dtype) if keep else None
    if N == 0:
        return y, V
    chunk = chunk_size(x.shape, O, dtype, chunk)
    conv = WinogradConv(x.shape, w, b, chunk, dtype)
    spans = parallel.spans(N, chunk)

    def run(i):
        n0, n1 = spans[i]
        yc = y[n0:n1]
        conv(x[n0:n1], taps_view(yc), None if V is None else V[:, :, n0:n1])
        if relu:
            relu_(yc.reshape(-1, O), np)
    parallel.parallel_for(len(spans), run, work=work(x_shape, O, dtype))
    return y, V


def conv2d_backward(x, x_shape, w, gy, V, relu_out, need_x, need_w, need_b, chunk):
    """(dL/dx, dL/dW, dL/db), each None where not needed, of ``conv2d_forward`` from dL/dy
    (N, H, W, O), the kept V (or, for dL/dW without it, the input x) and, for a fused ReLU,
    its output."""
    N, H, W, C = x_shape
    O = w.shape[3]
    dtype = gy.dtype
    gx = np.empty(x_shape, dtype) if need_x else None
    if N == 0:
        return (gx, np.zeros(w.shape, dtype) if need_w else None,
                np.zeros((O,), dtype) if need_b else None)
    chunk = chunk_size(x_shape, O, dtype, chunk)
    spans = parallel.spans(N, chunk)
    back = WinogradBackward(x_shape, w, len(spans), chunk, dtype, need_x, need_w, need_b,
                            kept=V is not None)
    masked = _per_slot(lambda: np.empty((chunk, H, W, O), dtype))

    def run(c):
        n0, n1 = spans[c]
        g = gy[n0:n1]
        if relu_out is not None:
            g = np.multiply(g, relu_out[n0:n1] > 0, out=masked()[:n1 - n0])
        back.interior(n1 - n0)[...] = taps_view(g)
        back(c, None if V is None else V[:, :, n0:n1], g, None if gx is None else gx[n0:n1],
             None if x is None else x[n0:n1])
    parallel.parallel_for(len(spans), run, work=work(x_shape, O, dtype))
    gw, gb = back.total()
    return gx, gw, gb


def _rows(M, rest):
    """M (4, 4, n, ...) whose 16 entries are each contiguous, as a (16, rest) matrix view."""
    m = M.reshape((16,) + M.shape[2:])
    return np.lib.stride_tricks.as_strided(m, shape=(16, rest), strides=(m.strides[0], m.itemsize))
