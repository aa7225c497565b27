"""Array kernels shared by the activations, dense, convolution, pooling and recurrent
functions (not public).

* ``Geometry``: the shapes of a 2-D sliding window (kernel, strides, dilation, padding,
  output size) computed once per call, and the taps that touch the input.
* ``chunk_size``: how many samples a chunked kernel processes at once: on a CPU a piece
  whose working set stays in cache between the copy that writes it and the product that
  reads it, and several pieces per thread of the pool; on a GPU the whole batch.
* ``matmuls`` / ``matmul_rows``: matrix products in a few blocks on the thread pool;
  ``map_blocks``: an elementwise function in flat blocks on the thread pool.
* ``relu_``: ReLU in place. NumPy's ``maximum`` against a scalar takes a slow
  non-vectorized loop (6x slower than against an array of zeros here), so it compares
  with a block of zeros. ``tanh_`` and ``sigmoid_`` in place, for the recurrent kernels.
"""
from __future__ import annotations

import numpy as np

from .. import parallel
from . import _team
from ..backend import array_module
from ._conv_arithmetic import conv_output_size

# Bytes of working set (an im2col matrix and its output) per batch chunk: small enough to stay in a core's share
# of the cache between the copy that writes it and the product that reads it, and to give
# the thread pool several chunks per thread (the CNN's 14x14x32 -> 64 layer: 19 chunks of
# 7 samples at batch 128). BLAS is single-threaded inside a chunk (deepsheet.parallel).
# CPU time per fwd+bwd of that layer was the same or lower than with 8 MiB chunks.
CHUNK_BYTES = 2 << 20
_ZERO_BLOCK = 1 << 16
_zero_blocks = {}


def relu_(a, xp):
    """a = max(a, 0) in place, against a block of zeros on a contiguous host array (module notes)."""
    if xp is not np or not a.flags.c_contiguous:  # a strided view cannot be walked flat in place
        xp.maximum(a, 0, out=a)
        return a
    z = _zero_blocks.get(a.dtype)
    if z is None:
        z = _zero_blocks[a.dtype] = np.zeros(_ZERO_BLOCK, a.dtype)
    flat = a.reshape(-1)
    for s in range(0, flat.size, _ZERO_BLOCK):
        f = flat[s:s + _ZERO_BLOCK]
        np.maximum(f, z[:f.size], out=f)
    return a


def tanh_(a, xp):
    """a = tanh(a) in place."""
    xp.tanh(a, out=a)
    return a


def sigmoid_(a, xp):
    """a = σ(a) in place, as (1 + tanh(a/2)) / 2: one vectorized transcendental, no overflow."""
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


# Elements per block of an elementwise map on the thread pool (512 KiB of float32 per array):
# each NumPy call hands Python's lock between the threads, so calls must be long (measured at
# 2 threads, multiply-tanh-scale over 1M elements: 646 us in 32k blocks, 589 in 128k, 920 on
# one thread; over 4M: 3,107 / 2,665 / 4,971).
MAP_BLOCK = 1 << 17


def map_blocks(fn, *arrays):
    """``fn(*arrays)`` for an elementwise ``fn``, in fixed flat blocks on the thread pool.

    Used by the activations' forward and backward on large host arrays: every block computes
    exactly what the whole would, so the result does not depend on the thread count. Falls
    back to one call for small, non-contiguous, differently shaped or GPU arrays. ``fn`` may
    return one array or a tuple of arrays (each of the inputs' shape).
    """
    a0 = arrays[0]
    if (type(a0) is not np.ndarray or a0.size < 2 * MAP_BLOCK
            or a0.size * a0.itemsize * (len(arrays) + 1) < parallel.MIN_PARALLEL_WORK
            or any(type(a) is not np.ndarray or a.shape != a0.shape or not a.flags.c_contiguous
                   for a in arrays)):
        return fn(*arrays)
    flat = [a.reshape(-1) for a in arrays]
    spans = parallel.spans(a0.size, MAP_BLOCK)
    first = fn(*(f[:MAP_BLOCK] for f in flat))
    single = not isinstance(first, tuple)
    first = (first,) if single else first
    outs = [np.empty(a0.size, r.dtype) for r in first]
    for o, r in zip(outs, first):
        o[:MAP_BLOCK] = r

    def run(i):
        a, b = spans[i + 1]
        res = fn(*(f[a:b] for f in flat))
        for o, r in zip(outs, (res,) if single else res):
            o[a:b] = r
    parallel.parallel_for(len(spans) - 1, run)
    outs = [o.reshape(a0.shape) for o in outs]
    return outs[0] if single else tuple(outs)


# Matrix products are split into a few blocks that depend on the shapes only (so results
# never depend on the thread count; BLAS's small-matrix kernels round differently, so a
# thread-dependent split would not be bit-identical): none under MATMUL_MIN_FLOPS, else
# one per MATMUL_BLOCK_FLOPS, at least 2 and at most MATMUL_MAX_BLOCKS. Every block re-packs
# the operand it shares, so blocks stay few (measured, one thread: 8 row blocks of the MLP's
# 128x784 @ 784x256 took 1.42x the CPU time of the whole product, 2 blocks 1.03-1.06x).
MATMUL_MIN_ROWS = 16
MATMUL_MIN_FLOPS = 4e6
MATMUL_BLOCK_FLOPS = 100e6
MATMUL_MAX_BLOCKS = 8


# Inside a parallel.blas_team block products run whole on BLAS's threads. OpenBLAS's threaded
# and single-threaded drivers cut the inner dimension K into different blocks once K exceeds
# its GEMM_Q: 128x784 @ 784x256 came out different in the last bits with 1 and 2 threads. A
# longer K is therefore cut here, into equal pieces that fit (``_team.max_k``: probed, 448 for
# float32 on AVX-512 here), and the partial products added in order, so results do not depend
# on the team's size (2 pieces cost ~6% of that product's time at 2 threads, 3 pieces ~16%).
TEAM_MAX_K = 384  # where the probe found none (such machines' models do not use a team)


def _team_product(xp, a, b, out):
    """``out = a @ b`` in a BLAS team: the inner dimension in pieces of ``_team.max_k``."""
    K = a.shape[1]
    limit = (_team.max_k(out.dtype) or TEAM_MAX_K) if xp is np else K
    if K <= limit:
        xp.matmul(a, b, out=out)
        return
    pieces = parallel.spans(K, -(-K // -(-K // limit)))
    k0, k1 = pieces[0]
    xp.matmul(a[:, k0:k1], b[k0:k1], out=out)
    part = np.empty_like(out)
    for k0, k1 in pieces[1:]:
        xp.matmul(a[:, k0:k1], b[k0:k1], out=part)
        out += part


def _product_blocks(M, N, flops, rows_only):
    """(row slice, column slice) blocks of an (M, N) product of ``flops`` FLOPs.

    The longer side of the result is split, so the smaller operand is the one re-packed
    (``rows_only`` keeps the blocks contiguous for an epilogue).
    """
    if flops < MATMUL_MIN_FLOPS:
        return [(slice(0, M), slice(0, N))]
    n = int(min(MATMUL_MAX_BLOCKS, max(2, flops // MATMUL_BLOCK_FLOPS)))
    if M >= N or rows_only:
        return [(slice(a, b), slice(0, N))
                for a, b in parallel.spans(M, max(MATMUL_MIN_ROWS, -(-M // n)))]
    return [(slice(0, M), slice(a, b))
            for a, b in parallel.spans(N, max(MATMUL_MIN_ROWS, -(-N // n)))]


def matmuls(products):
    """Several independent 2-D matrix products at once, in blocks on the thread pool.

    ``products``: (a, b, out or None, epilogue or None) tuples; returns the results. Each
    product is split into a few blocks (``_product_blocks``) and all blocks of all products
    go to one ``parallel_for`` (a dense layer's two backward products share the threads).
    ``a`` or ``b`` may be transposed views (``x.T``, read in place by BLAS). Inside a
    ``parallel.blas_team`` block every product runs whole on BLAS's own threads (a long
    inner dimension in pieces, see TEAM_MAX_K).
    ``epilogue(block_of_out, rows, cols)``, if given, runs on each block right after its
    product, while it is in cache (a bias, a fused ReLU); its blocks are whole rows.
    """
    xp = array_module(products[0][0])
    parallel.ensure_blas()
    if xp is np and parallel.in_blas_team():  # BLAS's threads split them (blas_team)
        return _team_products(products)
    whole = xp is not np
    outs, jobs, total = [], [], 0.0
    for a, b, out, epilogue in products:
        M, K = a.shape
        N = b.shape[1]
        flops = 2.0 * M * K * N
        total += flops
        if out is None:
            out = xp.empty((M, N), np.result_type(a.dtype, b.dtype))
        outs.append(out)
        if flops < MATMUL_MIN_FLOPS or whole:
            jobs.append((a, b, out, epilogue, slice(0, M), slice(0, N)))
        else:
            jobs += [(a, b, out, epilogue, rs, cs)
                     for rs, cs in _product_blocks(M, N, flops, epilogue is not None)]

    def run(i):
        a, b, out, epilogue, rs, cs = jobs[i]
        # OpenBLAS's kernels can raise the CPU's "invalid" flag on finite inputs (lanes of
        # stale buffer contents; numpy/numpy#24067, OpenMathLib/OpenBLAS#1924), which NumPy
        # reports as a warning after the product. A real NaN still shows in the result (and
        # fit reports a non-finite loss), as in PyTorch, which never warns here. ~1 us a call.
        with np.errstate(invalid="ignore"):
            if whole:
                _team_product(xp, a, b, out)
                o = out
            elif rs.stop - rs.start == out.shape[0] and cs.stop - cs.start == out.shape[1]:
                xp.matmul(a, b, out=out)  # the whole product: no views to make
                o = out
            else:
                o = out[rs, cs]
                xp.matmul(a[rs], b[:, cs], out=o)
        if epilogue is not None:
            epilogue(o, rs, cs)
    if total < MATMUL_MIN_FLOPS or whole:  # tiny products: waking a thread costs more
        for i in range(len(jobs)):
            run(i)
    else:
        parallel.parallel_for(len(jobs), run)
    return outs


def _team_products(products):
    """``matmuls`` inside a ``blas_team`` block: each product whole on BLAS's threads, then its
    epilogue (an MLP's step makes eight: the job list and closures of the pool path cost)."""
    outs = []
    for a, b, out, epilogue in products:
        if out is None:
            dtype = a.dtype if a.dtype == b.dtype else np.result_type(a.dtype, b.dtype)
            out = np.empty((a.shape[0], b.shape[1]), dtype)
        with np.errstate(invalid="ignore"):  # see run() in matmuls
            _team_product(np, a, b, out)
        if epilogue is not None:
            epilogue(out, slice(0, out.shape[0]), slice(0, out.shape[1]))
        outs.append(out)
    return outs


def matmul_rows(a, b, out=None, epilogue=None):
    """``a @ b`` for 2-D arrays, in blocks on the thread pool (``matmuls`` of one product)."""
    return matmuls([(a, b, out, epilogue)])[0]


def valid_range(i, dilation, pad_before, stride, size_in, size_out):
    """Output positions o in [o0, o1) whose tap ``i`` lands inside the input, and the
    input index of the first one: 0 <= o·stride + i·dilation − pad_before < size_in."""
    off = i * dilation - pad_before
    o0 = max(0, -(off // stride)) if off < 0 else 0
    o1 = min(size_out, (size_in - 1 - off) // stride + 1) if size_in - 1 - off >= 0 else 0
    return o0, max(o0, o1), o0 * stride + off


class Geometry:
    """Everything a 2-D sliding-window operation needs about its shapes, computed once."""

    __slots__ = ("kh", "kw", "sh", "sw", "dh", "dw", "pt", "pb", "pl", "pr",
                 "H", "W", "Ho", "Wo")

    def __init__(self, H, W, kh, kw, strides, dilation, pads, out_hw=None):
        self.H, self.W, self.kh, self.kw = H, W, kh, kw
        self.sh, self.sw = strides
        self.dh, self.dw = dilation
        (self.pt, self.pb), (self.pl, self.pr) = pads
        if out_hw is None:
            self.Ho = conv_output_size(H, kh, (self.pt, self.pb), self.sh, self.dh)
            self.Wo = conv_output_size(W, kw, (self.pl, self.pr), self.sw, self.dw)
        else:
            self.Ho, self.Wo = out_hw

    def taps(self):
        """(i, j, output slices, input slices) for every tap that touches the input."""
        out = []
        for i in range(self.kh):
            a0, a1, ih = valid_range(i, self.dh, self.pt, self.sh, self.H, self.Ho)
            if a1 == a0:
                continue
            for j in range(self.kw):
                b0, b1, iw = valid_range(j, self.dw, self.pl, self.sw, self.W, self.Wo)
                if b1 == b0:
                    continue
                out.append((i, j, (slice(a0, a1), slice(b0, b1)),
                            (slice(ih, ih + (a1 - a0 - 1) * self.sh + 1, self.sh),
                             slice(iw, iw + (b1 - b0 - 1) * self.sw + 1, self.sw))))
        return out


def chunk_size(n, bytes_per_sample, xp):
    """Samples per chunk: the whole batch on a GPU, a cache-sized piece on a CPU."""
    if xp is not np:
        return max(n, 1)
    return int(max(1, min(n, CHUNK_BYTES // max(bytes_per_sample, 1))))
