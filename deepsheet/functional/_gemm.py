"""``c += a @ b`` in one BLAS call (GEMM with β = 1), for the kernels that accumulate
products (not public).

NumPy's ``matmul`` always overwrites its output, so an accumulating kernel writes each
product to scratch and adds it: a second NumPy call and a pass over the accumulator. The
recurrent kernels' weight gradients add one product per time step (an LSTM(128) at batch
64: a 512 x 157 accumulator, 28 steps), where that pass is ~7% of the product's time and
each extra call hands Python's lock to the other chunk thread. BLAS's GEMM computes
C ← α·A·B + β·C; with β = 1 the accumulation costs nothing extra.

NumPy does not expose β, so this calls the OpenBLAS that NumPy already loaded through
``ctypes`` (``deepsheet._openblas``), which releases the GIL for the call. Where that is not possible (another BLAS, a GPU array,
a dtype other than float32/float64, a layout BLAS cannot read in place) the two NumPy calls
run instead; with OpenBLAS, the result of one call is what ``a @ b`` then ``+=`` give
whenever the inner dimension fits one of OpenBLAS's blocks (checked in the tests).
"""
from __future__ import annotations

import ctypes

import numpy as np

from .._openblas import cblas

__all__ = ["gemm_acc", "available"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_UNSET = object()
_fns = _UNSET  # {dtype: cblas_?gemm function} or None when no usable BLAS


def _load():
    """The ``cblas_?gemm`` functions of the loaded OpenBLAS, or None."""
    return cblas({np.float32: "sgemm", np.float64: "dgemm"}, lambda int_t, real: [
        ctypes.c_int, ctypes.c_int, ctypes.c_int, int_t, int_t, int_t, real, ctypes.c_void_p,
        int_t, ctypes.c_void_p, int_t, real, ctypes.c_void_p, int_t])


def available():
    """True when ``gemm_acc`` runs as one BLAS call (for float32/float64 host arrays)."""
    global _fns
    if _fns is _UNSET:
        _fns = _load()
    return _fns is not None


def _operand(x, item):
    """(transpose flag, leading dimension) for reading 2-D ``x`` in place, or None.

    A row-major array with unit column stride reads as is (rows ``ld`` elements apart); a
    column-major one (a transposed view) reads as the transpose of a row-major array.
    """
    r, c = x.shape
    s0, s1 = x.strides
    if s1 == item and s0 % item == 0 and s0 // item >= max(1, c) and r > 1:
        return _NO_TRANS, s0 // item
    if s0 == item and s1 % item == 0 and s1 // item >= max(1, r) and c > 1:
        return _TRANS, s1 // item
    return None


def _plan(a, b, c):
    """(function, transA, transB, M, N, K, lda, ldb, ldc) of the one BLAS call that adds
    a @ b into c (shapes already agree), or None where it does not apply: no OpenBLAS, a
    GPU array, mixed or other dtypes, overlap, a layout BLAS cannot read in place."""
    if not available() or any(type(t) is not np.ndarray for t in (a, b, c)):
        return None
    dt = c.dtype
    fn = _fns.get(dt)
    if (fn is None or a.dtype != dt or b.dtype != dt or np.may_share_memory(c, a)
            or np.may_share_memory(c, b)):
        return None
    (M, K), N, item = a.shape, b.shape[1], dt.itemsize
    oa, ob = _operand(a, item), _operand(b, item)
    s0, s1 = c.strides
    if (oa is None or ob is None or M < 2 or N < 2 or K < 1 or s1 != item
            or s0 % item or s0 // item < N or not c.flags.writeable):
        return None
    return fn, oa[0], ob[0], M, N, K, oa[1], ob[1], s0 // item


def gemm_acc(a, b, c):
    """c += a @ b in place, for 2-D arrays a (M, K), b (K, N), c (M, N).

    Formula: C ← A·B + C (BLAS GEMM with α = β = 1). ``a`` and ``b`` may be transposed
    views (read in place); ``c`` must be row-major with unit column stride for the one-call
    path and must not overlap ``a`` or ``b``. Other cases run ``c += a @ b`` in NumPy (same
    value up to rounding).
    """
    M, K = a.shape
    N = b.shape[1]
    if b.shape[0] != K or c.shape != (M, N):
        raise ValueError(f"gemm_acc: shapes {a.shape} @ {b.shape} do not give {c.shape}")
    plan = _plan(a, b, c)
    if plan is None:
        c += a @ b
        return c
    fn, ta, tb, M, N, K, lda, ldb, ldc = plan
    fn(_ROW_MAJOR, ta, tb, M, N, K, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, 1.0,
       c.ctypes.data, ldc)
    return c


def stepped_acc(c, a_stack, b_stack, transpose_b=False):
    """``step(i, j)``: c += a_stack[i] @ B_j with B_j = b_stack[j] (or its transpose), one
    BLAS call each, for a time loop over stacks of same-layout matrices (axis 0 the step).

    The layout is checked once, so a step passes two addresses: ~2 us of Python a call
    instead of ``gemm_acc``'s ~7 (a 28-step loop pays it per row chunk). None where
    ``gemm_acc``'s one-call path does not apply (the caller then uses ``gemm_acc``).
    """
    if (any(type(t) is not np.ndarray for t in (c, a_stack, b_stack)) or a_stack.ndim != 3
            or b_stack.ndim != 3 or np.may_share_memory(c, a_stack)
            or np.may_share_memory(c, b_stack)):
        return None
    a0, b0 = a_stack[0], (b_stack[0].T if transpose_b else b_stack[0])
    if b0.shape[0] != a0.shape[1] or c.shape != (a0.shape[0], b0.shape[1]):
        return None
    plan = _plan(a0, b0, c)
    if plan is None:
        return None
    fn, ta, tb, M, N, K, lda, ldb, ldc = plan
    pa, sa = a_stack.ctypes.data, a_stack.strides[0]
    pb, sb = b_stack.ctypes.data, b_stack.strides[0]
    pc = c.ctypes.data

    def step(i, j):
        fn(_ROW_MAJOR, ta, tb, M, N, K, 1.0, pa + i * sa, lda, pb + j * sb, ldb, 1.0, pc, ldc)
    return step
