"""CBLAS functions of the OpenBLAS that NumPy loaded, called through ``ctypes`` (not public).

NumPy exposes neither GEMM's β (``functional._gemm``) nor ``?axpby`` (``optimizers._axpby``),
so those kernels call OpenBLAS directly, found the way ``threadpoolctl`` (a hard dependency)
finds it to set its thread count. Builds name their symbols differently: NumPy's wheels
``scipy_cblas_sgemm64_`` (64-bit integers), a system OpenBLAS ``cblas_sgemm``; each
combination of prefix and suffix is tried. ``ctypes`` releases Python's lock for the call.
"""
from __future__ import annotations

import ctypes
import os

import numpy as np

__all__ = ["cblas"]

_PREFIXES = ("scipy_", "")
_SUFFIXES = (("64_", ctypes.c_int64), ("", ctypes.c_int))


def _in_numpy(path):
    """True for a library inside NumPy's own folder (``numpy.libs``, ``numpy/.libs``)."""
    home = os.path.dirname(os.path.dirname(os.path.realpath(np.__file__)))
    path = os.path.realpath(path)
    return os.path.basename(os.path.dirname(path)).startswith("numpy") and path.startswith(home)


def cblas(names, argtypes, numpy_only=False):
    """``{dtype: function}`` for ``names`` ({np.float32: "sgemm", np.float64: "dgemm"}), the
    CBLAS functions of one loaded OpenBLAS, or None where none has them all.

    ``argtypes(int_t, real)`` gives a function's ctypes argument types from the library's
    integer type and the dtype's C type. NumPy's own OpenBLAS is tried first; with
    ``numpy_only`` no other is (another package may have loaded a second copy).
    """
    try:
        import threadpoolctl  # noqa: PLC0415 - scans the loaded libraries once
        libs = [c.filepath for c in threadpoolctl.ThreadpoolController().select(
            internal_api="openblas").lib_controllers if c.filepath]
    except Exception:  # noqa: BLE001 - any failure means "use NumPy"
        return None
    libs.sort(key=lambda path: not _in_numpy(path))
    if numpy_only:
        libs = [path for path in libs if _in_numpy(path)]
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix, int_t in _SUFFIXES:
                fns = {}
                for dtype, name in names.items():
                    fn = getattr(lib, f"{prefix}cblas_{name}{suffix}", None)
                    if fn is None:
                        break
                    real = ctypes.c_float if dtype is np.float32 else ctypes.c_double
                    fn.argtypes = argtypes(int_t, real)
                    fn.restype = None
                    fns[np.dtype(dtype)] = fn
                if len(fns) == len(names):
                    return fns
    return None
