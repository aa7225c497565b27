"""``y ← a·x + b·y`` in one pass over memory, for the optimizers' moving averages (not public).

An optimizer step is a few elementwise passes over every parameter, and each NumPy call is
one pass: β·m + (1 − β)·g takes three (scale, scale, add) and is bound by memory traffic
once the parameters outgrow the cache. BLAS's ``?axpby`` does it in one. The OpenBLAS that
NumPy's wheels bundle has it (``cblas_saxpby`` / ``cblas_daxpby``), so ``axpby`` calls it
through ctypes (``deepsheet._openblas``) where it is found and falls back to NumPy passes elsewhere. Adam's and
RMSprop's moving averages, SGD's momentum buffer and every optimizer's θ ← θ − η·u use it.

Measured on the reference MLP's 235k parameters, one thread: an Adam step 354 → 287 us (12
passes over a parameter → 7). A ctypes call costs ~3.5 us, so arrays under ``MIN_SIZE`` elements keep the NumPy passes; the
optimizers' threaded blocks are never smaller (``_blocks``), so a block of a parameter takes
the path the whole parameter takes. OpenBLAS runs ``?axpby`` on one thread whatever its
thread count, and its kernel computes every element with the same expression, so a block
updates exactly as the whole does (tested): results do not depend on the thread count.
"""
from __future__ import annotations

import ctypes

import numpy as np

from .._openblas import cblas

__all__ = ["axpby", "lerp", "available", "MIN_SIZE"]

MIN_SIZE = 1 << 14  # elements; below, three NumPy passes cost less than the ctypes call

_UNSET = object()
_funcs = _UNSET  # {dtype: ctypes function} once looked up; {} where there is none


def _lookup():
    """``cblas_?axpby`` of NumPy's own OpenBLAS (not another package's copy: the path must not
    depend on what else was imported), or {}."""
    return cblas({np.float32: "saxpby", np.float64: "daxpby"}, lambda int_t, real: [
        int_t, real, ctypes.c_void_p, int_t, real, ctypes.c_void_p, int_t],
        numpy_only=True) or {}


def _load():
    global _funcs
    if _funcs is _UNSET:
        _funcs = _lookup()
    return _funcs


def available(dtype):
    """True where ``axpby`` on host arrays of ``dtype`` is one BLAS pass."""
    return np.dtype(dtype) in _load()


def _blas(x, y):
    """The ``?axpby`` that updates y from x in one pass, or None (see ``axpby``)."""
    if type(y) is np.ndarray and y.size >= MIN_SIZE and y.flags.c_contiguous \
            and type(x) is np.ndarray and x.dtype == y.dtype:
        return (_funcs if _funcs is not _UNSET else _load()).get(y.dtype)
    return None


def axpby(a, x, b, y, scratch):
    """y = a·x + b·y, in place (y: an array; x: an array of y's shape and dtype).

    One BLAS pass where y is a contiguous host float32/float64 array of at least
    ``MIN_SIZE`` elements and NumPy's OpenBLAS has ``?axpby``; elsewhere NumPy passes that
    use ``scratch`` (an array of y's shape, which may be x itself: x is then overwritten).
    Returns y.
    """
    f = _blas(x, y)
    if f is not None:
        if not x.flags.c_contiguous:  # rare (a strided gradient): the path must not
            x = np.ascontiguousarray(x)  # depend on the layout, blocks are contiguous
        f(y.size, a, x.ctypes.data, 1, b, y.ctypes.data, 1)
        return y
    xp = np if type(y) is np.ndarray else _array_module(y)
    xp.multiply(x, a, out=scratch)
    if b != 1.0:
        y *= b
    y += scratch
    return y


def lerp(y, x, w, scratch):
    """y ← y + w·(x − y) = (1 − w)·y + w·x in place (torch's ``lerp_``); returns y.

    ``axpby`` where it is one BLAS pass; elsewhere torch's NumPy passes (x − y, times w,
    added), which ``scratch`` holds (it must not be x).
    """
    if _blas(x, y) is not None:
        return axpby(w, x, 1.0 - w, y, scratch)
    xp = np if type(y) is np.ndarray else _array_module(y)
    xp.subtract(x, y, out=scratch)
    scratch *= w
    y += scratch
    return y


def _array_module(a):
    from .. import backend  # noqa: PLC0415 - only GPU arrays come this way
    return backend.array_module(a)
