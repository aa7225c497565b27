"""A convolution, its ReLU and the max pooling after it as one graph node (channels-last).

``Sequential`` runs a ``Conv2D(..., activation="relu")`` followed by a ``MaxPooling2D``
through this node (``Conv2D._call_pooled``); the result and the gradients are those of
the three operations one after the other.

Why fuse (measured on the reference CNN, 1 thread, CPU time): the separate nodes write
the full-resolution convolution output to memory, read it back for the pooling, write a
full-resolution gradient in the pooling's backward and read it again (with the output,
for the ReLU's mask) in the convolution's backward. Here each batch chunk is convolved
into a cache-sized scratch buffer and pooled right away; only the pooled output (a
quarter of the size for 2x2 windows) and the pooling's winner masks are kept. The ReLU
moves after the pooling, where it touches a quarter of the values:

    max over a window of relu(z) = relu(max over the window of z)     (relu is monotonic)

and the gradient is the same: the first maximum of z is the first maximum of relu(z)
when that maximum is positive, and both gradients are zero when it is not. The backward
pass rebuilds each chunk's dL/dz in cache from the pooled gradient and the winner masks
and feeds it straight to the weight-gradient and input-gradient products. Where no input
gradient is needed (a first layer, on the data) the product's rows come pooling tap by
pooling tap, so the pooling passes read and write contiguous blocks instead of runs of
one pixel's channels (the reference CNN's first stage: pooling 1.75 -> 0.71 ms a batch,
its backward 1.65 -> 1.13 ms, the tap-major im2col 0.33 -> 0.6 ms).

A 3x3 "same" convolution with enough channels (``_winograd.usable``), an even image size and
2x2 pooling (the reference CNN's second stage) runs Winograd's F(2x2, 3x3) instead of im2col
(``_winograd.py``): its 2x2 output blocks are exactly the pooling windows, 2.25x fewer
multiplications, the same results up to float rounding. Reference CNN step on one thread,
48.3 -> ~39 ms (that layer's forward 11.8 -> 8.9 ms, backward 24.6 -> 14.3 ms).
"""
from __future__ import annotations

import numpy as np

from .. import parallel
from ..autograd import Function
from ..backend import array_module
from ._conv_arithmetic import normalize_tuple
from . import _winograd
from ._conv_grads import WeightGrad, WeightGradFromInputGrad, dy_rows, flipped_kernel
from ._im2col import ConvChunk, _per_slot, _transposed_geometry, _view, forward_chunk_size
from ._kernels import Geometry, chunk_size, relu_
from .conv import _check_conv_inputs, _check_rank, _fused_relu, _geometry, conv2d
from .pooling import _tiles, max_pool2d, max_pool_chunk, unpool_chunk
from ._util import as_tensor

__all__ = ["conv2d_max_pool2d"]

# Layers fuse (``Conv2D._call_pooled``); tests and benchmarks switch it off to compare.
FUSE = True
# dL/dW from the input gradient's im2col matrix (WeightGradFromInputGrad); likewise.
SHARE_IM2COL = True


class Conv2dMaxPool2dOp(Function):
    """p = max_pool(relu(conv(x, W) + b)) chunk by chunk (see ``conv2d_max_pool2d``)."""

    def forward(self, x, w, b):
        self.geo, self.pgeo, self.taps = geo, pgeo, taps = _geometries(
            x.shape, w.shape, self.padding, self.dilation_rate, self.pool)
        xp = array_module(x)
        N, O = x.shape[0], w.shape[3]
        dtype = np.result_type(x.dtype, w.dtype)
        p = xp.empty((N, pgeo.Ho, pgeo.Wo, O), dtype)
        grad = any(self.needs_input_grad)
        beats = [xp.empty(p.shape, bool) for _ in taps[1:]] if grad else []
        self.x = x if self.needs_input_grad[1] else None
        self.w, self.has_bias, self.x_shape = w, b is not None, x.shape
        self.beats, self.p = beats, (p if self.relu else None)
        self.wino, self.V = False, None
        if N == 0:
            return p
        chunk, work = forward_chunk_size(x.shape, w.shape, geo, 1, dtype, xp)
        chunk = _at_least(chunk, N, geo, w.shape, xp, FORWARD_CHUNK_FLOPS)
        # Without an input gradient (a first layer) the product's rows come tap by tap
        # (``_im2col._row_axes``): the pooling then reads and writes contiguous blocks.
        self.order = order = (self.pool if _tiles(pgeo) and not self.needs_input_grad[0]
                              else None)
        wino = (self.pool == (2, 2) and _tiles(pgeo)
                and _winograd.usable(x.shape, w.shape, geo, xp, dtype))
        self.wino = wino
        if wino:
            # 3x3 "same": Winograd's F(2x2, 3x3), whose 2x2 output blocks are the pooling
            # windows; it writes the cells tap by tap as well.
            chunk = _winograd.chunk_size(x.shape, O, dtype, WINOGRAD_CHUNK)
            conv = _winograd.WinogradConv(x.shape, w, b, chunk, dtype)
            # The transformed input tiles, kept for dL/dW (saves transforming x again) where
            # they are not too large; then x itself is not needed.
            if self.needs_input_grad[1] and _winograd.keeps_transform(x.shape, dtype):
                self.V = xp.empty((4, 4, N, pgeo.Ho, pgeo.Wo, x.shape[3]), dtype)
                self.x = None
            order = self.pool
        else:
            conv = ConvChunk(x.shape, w, b, geo, 1, chunk, dtype, xp, order=order)
        scratch = _per_slot(lambda: xp.empty((chunk, geo.Ho, geo.Wo, O), dtype))
        spans = tapered_spans(N, chunk)

        def run(i):
            n0, n1 = spans[i]
            z = scratch()[:n1 - n0]
            if wino:
                conv(x[n0:n1], _view(z, (2, 2, n1 - n0, pgeo.Ho, pgeo.Wo, O)),
                     None if self.V is None else self.V[:, :, n0:n1])
            else:
                conv(x[n0:n1], z)
            pc = p[n0:n1]
            max_pool_chunk(z, pc, [bt[n0:n1] for bt in beats], taps, xp, _blocks(z, order))
            if self.relu:
                relu_(pc, xp)
        parallel.parallel_for(len(spans), run, work=work)
        return p

    def backward(self, gp):
        need_x, need_w = self.needs_input_grad[0], self.needs_input_grad[1]
        need_b = self.has_bias and self.needs_input_grad[2]
        xp = array_module(gp)
        geo, pgeo, taps, w, x = self.geo, self.pgeo, self.taps, self.w, self.x
        N, O, dtype = gp.shape[0], w.shape[3], gp.dtype
        kh, kw, C, _ = w.shape
        gx = xp.empty(self.x_shape, dtype) if need_x else None
        if N == 0:
            return (gx, xp.zeros(w.shape, dtype) if need_w else None,
                    xp.zeros((O,), dtype) if need_b else None)
        if self.wino:
            return self._winograd_backward(gp, gx, need_x, need_w, need_b)
        # Chunks sized as the unfused weight-gradient pass's (its im2col and dL/dz in cache).
        per = geo.Ho * geo.Wo * (kh * kw * C + O) * np.dtype(dtype).itemsize
        chunk = _at_least(chunk_size(N, per, xp), N, geo, w.shape, xp, MIN_CHUNK_FLOPS)
        spans = tapered_spans(N, chunk)
        back = None
        if need_x:
            tgeo = _transposed_geometry(geo, w.shape)
            back = ConvChunk((N, geo.Ho, geo.Wo, O), flipped_kernel(w, xp), None, tgeo, 1,
                             chunk, dtype, xp)
        # With an input gradient, dL/dW comes from its im2col matrix (no im2col of x: the
        # reference CNN's step 0.987x the time on one thread, WeightGradFromInputGrad).
        shared = SHARE_IM2COL and need_x and x is not None
        acc = None
        if shared:
            acc = WeightGradFromInputGrad(w.shape, len(spans), chunk * dy_rows(back, geo),
                                          dtype, xp, need_w, need_b)
        elif need_w or need_b:
            acc = WeightGrad(self.x_shape, w.shape, geo, 1, len(spans), chunk, dtype, xp,
                             need_w, need_b, order=self.order)
        # Cells in no window (an odd last row or column) get no gradient: zeros made once,
        # never written.
        gz = _per_slot(lambda: (xp.empty if _tiles(pgeo) else xp.zeros)(
            (chunk, geo.Ho, geo.Wo, O), dtype))
        gm = _per_slot(lambda: xp.empty((chunk,) + gp.shape[1:], dtype))
        beats = self.beats

        def run(c):
            n0, n1 = spans[c]
            g = self._masked(gp, n0, n1, gm, xp)
            # Shared: dL/dz goes straight into the input gradient's im2col staging buffer
            # (one copy of it fewer a chunk); its rows, zero borders included, give dL/db.
            z = back.staging(n1 - n0, (geo.Ho, geo.Wo, O)) if shared else None
            staged = z is not None
            if not staged:
                z = gz()[:n1 - n0]
            unpool_chunk(g, z, [bt[n0:n1] for bt in beats], pgeo, taps, xp,
                         _blocks(z, self.order))
            if shared:
                rows = back.staged_rows(n1 - n0) if staged else z.reshape(-1, O)
                acc(c, x[n0:n1], back(z, gx[n0:n1], staged=staged)[0], rows)
                return
            if acc is not None:
                acc(c, None if x is None else x[n0:n1], z.reshape(-1, O))
            if back is not None:
                back(z, gx[n0:n1])
        parallel.parallel_for(len(spans), run, work=N * per)
        gw, gb = acc.total() if acc is not None else (None, None)
        return gx, gw, gb

    def _winograd_backward(self, gp, gx, need_x, need_w, need_b):
        """The backward of a Winograd forward: dL/dz tap by tap, then F(2x2, 3x3) for dL/dx
        and the transformed products for dL/dW (``_winograd.WinogradBackward``)."""
        pgeo, taps, beats = self.pgeo, self.taps, self.beats
        N, Hp, Wp, O = gp.shape
        chunk = min(_winograd.chunk_size(self.x_shape, O, gp.dtype, WINOGRAD_BACKWARD_CHUNK), N)
        spans = tapered_spans(N, chunk)
        back = _winograd.WinogradBackward(self.x_shape, self.w, len(spans), chunk, gp.dtype,
                                          need_x, need_w, need_b, kept=self.V is not None)
        gm = _per_slot(lambda: np.empty((chunk, Hp, Wp, O), gp.dtype))
        V, x = self.V, self.x

        def run(c):
            n0, n1 = spans[c]
            g = self._masked(gp, n0, n1, gm, np)
            unpool_chunk(g, None, [bt[n0:n1] for bt in beats], pgeo, taps, np,
                         back.taps(n1 - n0))
            back(c, None if V is None else V[:, :, n0:n1], g,
                 None if gx is None else gx[n0:n1], None if x is None else x[n0:n1])
        parallel.parallel_for(len(spans), run, work=_winograd.work(self.x_shape, O, gp.dtype))
        return (gx,) + back.total()

    def _masked(self, gp, n0, n1, buf, xp):
        """dL/dp of samples n0:n1, times the ReLU's mask on the pooled values when fused."""
        g = gp[n0:n1]
        return g if self.p is None else xp.multiply(g, self.p[n0:n1] > 0, out=buf()[:n1 - n0])


def _blocks(z, order):
    """Each pooling tap's block of z (n, Ho, Wo, O) whose cells come tap by tap, or None."""
    if order is None:
        return None
    n, Ho, Wo, O = z.shape
    ph, pw = order
    return list(_view(z, (ph * pw, n, Ho // ph, Wo // pw, O)))


# Smallest product per batch chunk, in FLOPs. A chunk makes ~15 NumPy calls (im2col,
# product, pooling passes); on two threads every call may hand Python's lock to the other
# thread, which costs tens of microseconds on this VM, so calls must not be short. The
# reference CNN's first layer (1 -> 32 channels, 28x28, 0.45 MFLOP a sample) had
# cache-sized chunks of 16 samples (~30 us a call): forward + backward at 2 threads took
# 6.4 ms of wall time (16.4 ms at 2 samples a chunk), 5.1 ms at 36, against 7.3 ms on one
# thread (benchmarks/bench_cnn_layers.py stages, thread CPU time per call alike). The
# 32 -> 64 layer's cache-sized chunks (7 samples, 50 MFLOP) are far above it.
MIN_CHUNK_FLOPS = 16e6
# The forward pass keeps less per sample in cache (no gradient buffers), and its chunks
# gain from carrying more: the 32 -> 64 layer's forward at 13 samples a chunk instead of 7
# took 6.8-7.2 ms at 2 threads instead of 7.0-7.3 (12.1 vs 12.3 on one). Never fewer than
# 4 chunks a batch from this.
FORWARD_CHUNK_FLOPS = 96e6
# Samples per chunk of the Winograd forward and backward (reference CNN's 32 -> 64 layer, one
# thread, ms a batch: forward 9.9 / 9.2 / 8.9 / 9.6 at 4 / 6 / 8 / 13 samples; backward 21.6 /
# 18.7 / 20.1 / 20.5 / 23.0 at 4 / 8 / 12 / 16 / 32; at 2 threads 8 and 16 alike).
WINOGRAD_CHUNK = 8
WINOGRAD_BACKWARD_CHUNK = 8


def _at_least(chunk, n, geo, w_shape, xp, flops):
    """``chunk`` raised to at least ``flops`` of product per chunk (CPU only; not past a
    quarter of the batch unless the cache-sized chunk already was), then evened out."""
    if xp is not np:
        return chunk
    kh, kw, C, O = w_shape
    per = 2.0 * geo.Ho * geo.Wo * kh * kw * C * O
    want = min(-(-flops // max(per, 1)), -(-max(n, 1) // 4))
    chunk = int(min(max(n, 1), max(chunk, want)))
    # Equal chunks (128 samples in 36s would leave 20 for the last): two threads then end
    # together.
    return -(-max(n, 1) // -(-max(n, 1) // chunk))


def tapered_spans(n, size):
    """``parallel.spans`` whose last two chunks' worth of samples (when there are more)
    come in four smaller chunks: the thread that finishes first then waits for a
    quarter-sized chunk at most, not a full one (still fixed by the shapes alone)."""
    if n <= 2 * size:
        return parallel.spans(n, size)
    full = (n - 2 * size) // size * size
    step = -(-(n - full) // 4)
    return parallel.spans(full, size) + [(a, min(n, a + step)) for a in range(full, n, step)]


# Geometries and fusability per image size and arguments, computed once (their argument
# checks cost ~150 us a call, more than a small batch's work).
_CACHE = {}


def _cached(key, make):
    try:
        hit = _CACHE.get(key)
    except TypeError:  # an unhashable argument (a list): compute every time
        return make()
    if hit is None:
        hit = make()
        if len(_CACHE) < 512:
            _CACHE[key] = hit
    return hit


def _geometries(x_shape, w_shape, padding, dilation_rate, pool):
    """(convolution geometry, pooling geometry, pooling taps) for stride 1."""
    def make():
        geo = _geometry("conv2d", x_shape, w_shape[:2], 1, padding, dilation_rate)
        pgeo = Geometry(geo.Ho, geo.Wo, pool[0], pool[1], pool, (1, 1), ((0, 0), (0, 0)))
        return geo, pgeo, pgeo.taps()
    return _cached(("geo", tuple(x_shape[1:3]), tuple(w_shape[:2]), padding, dilation_rate,
                    tuple(pool)), make)


def fusable(x_shape, w_shape, strides, padding, dilation_rate, groups, pool_size,
            pool_strides, pool_padding):
    """True when ``conv2d_max_pool2d`` runs as one fused node for these arguments: a
    stride-1 convolution without groups whose input gradient is a convolution (any
    "valid"/"same" padding and dilation), and non-overlapping "valid" pooling windows."""
    return _cached(("fusable", tuple(x_shape[1:3]), tuple(w_shape), strides, padding,
                    dilation_rate, groups, pool_size, pool_strides, pool_padding),
                   lambda: _fusable(x_shape, w_shape, strides, padding, dilation_rate, groups,
                                    pool_size, pool_strides, pool_padding))


def _fusable(x_shape, w_shape, strides, padding, dilation_rate, groups, pool_size,
             pool_strides, pool_padding):
    pool = normalize_tuple(pool_size, 2, "pool_size")
    pstr = pool if pool_strides is None else normalize_tuple(pool_strides, 2, "pool strides")
    if normalize_tuple(strides, 2, "strides") != (1, 1) or groups != 1 or pstr != pool \
            or not isinstance(pool_padding, str) or pool_padding.lower() != "valid":
        return False
    try:
        geo = _geometry("conv2d", x_shape, w_shape[:2], 1, padding, dilation_rate)
    except ValueError:
        return False
    return (_transposed_geometry(geo, w_shape) is not None and geo.Ho >= pool[0]
            and geo.Wo >= pool[1])


def conv2d_max_pool2d(x, w, b=None, strides=1, padding="valid", dilation_rate=1, groups=1,
                      activation="relu", pool_size=2, pool_strides=None, pool_padding="valid"):
    """``max_pool2d(conv2d(x, w, b, ..., activation), pool_size, ...)`` as one graph node.

    Formula
    -------
        z = conv2d(x, W, b)                 (stride 1, as ``conv2d``)
        p[n, r, s, o] = g(max_{i < ph, j < pw} z[n, r·ph + i, s·pw + j, o])
        g = relu (``activation="relu"``) or the identity (None), applied after the
        maximum: max(relu(z)) = relu(max(z)), and the gradients agree (module notes)

        dL/dz = dL/dp · g'(p) at the first maximum of each window, 0 elsewhere
        dL/dW, dL/db, dL/dx from dL/dz as in ``conv2d``

    Arguments other than these (strides ≠ 1, groups, overlapping or padded pooling) run the
    two functions one after the other, with the same result.

    Shape
    -----
    x (N, H, W, C), w (kh, kw, C, O) -> (N, floor(H_conv / ph), floor(W_conv / pw), O)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> from deepsheet.functional.conv_pool import conv2d_max_pool2d
    >>> x = ds.tensor(np.ones((1, 4, 4, 1), np.float32))
    >>> w = ds.tensor(np.ones((3, 3, 1, 2), np.float32))
    >>> conv2d_max_pool2d(x, w, padding="same").shape
    (1, 2, 2, 2)
    """
    x, w = as_tensor(x), as_tensor(w)
    b = None if b is None else as_tensor(b)
    _check_rank(x, 4, "input", "conv2d")
    _check_conv_inputs("conv2d", x, w, b, groups)
    relu = _fused_relu("conv2d", activation)
    if not fusable(x.shape, w.shape, strides, padding, dilation_rate, groups, pool_size,
                   pool_strides, pool_padding):
        y = conv2d(x, w, b, strides=strides, padding=padding, dilation_rate=dilation_rate,
                   groups=groups, activation=activation)
        return max_pool2d(y, pool_size, pool_strides, pool_padding)
    return Conv2dMaxPool2dOp.apply(x, w, b, padding=padding, dilation_rate=dilation_rate,
                                   pool=normalize_tuple(pool_size, 2, "pool_size"), relu=relu)
