"""The threaded optimizer update: the flat parameter set in fixed blocks on the pool (not public)."""
from __future__ import annotations

import numpy as np

from .. import parallel
from . import _axpby
from ._subnormals import ZERO_EVERY, zero_subnormals

__all__ = ["step_in_blocks", "BLOCK"]

# Elements per block of the threaded update, and the fewest elements worth threading. Each
# NumPy call hands Python's lock between the threads, which costs tens of microseconds on a
# virtual machine, so every call must be long (measured at 2 threads, Adam: over an
# LSTM(128)'s 82k parameters 172 us on one thread, 295-355 on two at any block size; over 1M
# elements 1,980 us on one, 1,809 on two in 32k blocks, 1,056 in 256k blocks; the reference
# CNN's 422k 621 -> 518 us, the MLP's 235k no gain). The update is elementwise, so neither
# number changes any result.
BLOCK = 1 << 18
MIN_ELEMENTS = 1 << 18


def _spans(n):
    """``BLOCK``-element blocks of a parameter of n elements. One of at least
    ``_axpby.MIN_SIZE`` elements is cut in blocks that are no smaller (the last one joined to
    the one before where needed), so each block takes the path (BLAS or NumPy) of the whole."""
    least = _axpby.MIN_SIZE
    spans = parallel.spans(n, BLOCK if n < least else max(BLOCK, least))
    if n >= least and len(spans) > 1 and spans[-1][1] - spans[-1][0] < least:
        spans[-2:] = [(spans[-2][0], n)]
    return spans


def step_in_blocks(opt, items, lr, zeroing):
    """The update over the flat parameter set in fixed blocks on the thread pool.

    Every update is elementwise, so a block of a parameter (with the same blocks of its
    gradient and state) updates exactly as the whole would: results do not depend on the
    thread count. Returns False (nothing done) where this does not apply: one thread,
    little work, GPU arrays, mixed dtypes, non-contiguous arrays, a subclass not declared
    ``_blockwise``, or state buffers still to be created by ``_update``.
    """
    if not opt._blockwise or not items or parallel.get_num_threads() == 1 \
            or parallel.in_blas_team():  # a team runs chunks on the caller: whole arrays
        return False
    dtype = items[0][0].dtype
    total = 0
    names = opt._buffer_names()
    for data, _, state in items:
        if (type(data) is not np.ndarray or data.dtype != dtype
                or not data.flags.c_contiguous or any(k not in state for k in names)):
            return False
        for k, v in state.items():
            if k != "step" and not (type(v) is np.ndarray and v.flags.c_contiguous):
                return False
        total += data.size
    if total < MIN_ELEMENTS:
        return False
    jobs, off = [], 0
    for data, g, state in items:
        flat = {k: (v if k == "step" else v.reshape(-1)) for k, v in state.items()}
        fp, fg = data.reshape(-1), g.reshape(-1)
        jobs += [(fp, fg, flat, a, b, off + a) for a, b in _spans(data.size)]
        off += data.size
    tmp = opt._pooled(np.empty(total, dtype), dtype, 2)
    masks = opt._pooled(np.empty(total, dtype), np.bool_, 2) if zeroing else None

    def run(i):
        fp, fg, flat, a, b, o = jobs[i]
        state = {k: (v if k == "step" else v[a:b]) for k, v in flat.items()}
        scratch = (tmp[0][o:o + b - a], tmp[1][o:o + b - a])
        opt._update(fp[a:b], fg[a:b], state, lr, np, scratch)
        if zeroing and state["step"] % ZERO_EVERY == 1 % ZERO_EVERY:
            zero_subnormals(state, scratch[0], masks[0][o:o + b - a],
                             masks[1][o:o + b - a])
    parallel.parallel_for(len(jobs), run)
    return True
