"""Array backend: which array module holds the data, default device and dtype, the library RNG.

Array math in deepsheet never hard-wires ``numpy``: it asks ``xp = array_module(x)`` and
gets NumPy for host arrays or CuPy for arrays on a GPU, so one code path serves both.
CuPy is an optional extra, imported the first time a GPU is asked for.

The library owns one random generator (NumPy's PCG64). Every random draw in the
library (initialization, dropout, shuffling, sampling) goes through it, so
``manual_seed(s)`` makes a run reproducible bit for bit, and ``get_rng_state()`` /
``set_rng_state()`` save and restore it as JSON-friendly data for exact resume.
Draws are made on the host in float32 and moved to the device of the caller, so a
seed gives the same numbers on CPU and GPU.
"""
from __future__ import annotations

import os
import sys
import threading

import numpy as np

DEVICES = ("cpu", "gpu")
_default_dtype = np.dtype(np.float32)
_default_device = None  # resolved lazily from DEEPSHEET_DEVICE
_cupy = None
_rng = None  # created on first use: numpy.random costs import time (NumPy 2 loads it lazily)


# ---------------------------------------------------------------- devices

def _check_device(device):
    if device in ("cuda", "gpu") or (isinstance(device, str) and device.startswith("cuda:")):
        return "gpu"
    if device == "cpu":
        return "cpu"
    raise ValueError(f"device must be one of {DEVICES}, got {device!r}")


def cupy():
    """Return the CuPy module, importing it on first use, with a clear error if missing."""
    global _cupy
    if _cupy is None:
        try:
            import cupy as cp  # noqa: PLC0415 - optional extra, imported only when asked for
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise ImportError(
                "the GPU backend needs CuPy: pip install 'deepsheet[gpu]' "
                "(or a cupy-cudaXXx wheel matching your CUDA)") from exc
        _cupy = cp
    return _cupy


def gpu_available():
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        return cupy().cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - any failure means no usable GPU
        return False


def get_default_device():
    """The device new tensors go to: ``DEEPSHEET_DEVICE`` (cpu|gpu) or ``set_default_device``."""
    global _default_device
    if _default_device is None:
        value = os.environ.get("DEEPSHEET_DEVICE", "cpu")
        try:
            _default_device = _check_device(value.lower())
        except ValueError:
            raise ValueError(f"environment variable DEEPSHEET_DEVICE={value!r}: expected "
                             f"one of {DEVICES} (or unset it for the CPU)") from None
    return _default_device


def set_default_device(device):
    """Send every tensor created from now on to ``device`` ("cpu" or "gpu")."""
    global _default_device
    device = _check_device(device)
    if device == "gpu":
        cupy()
    _default_device = device


def is_gpu_array(x):
    return type(x).__module__.startswith("cupy")


def array_module(*arrays):
    """NumPy, or CuPy if any of ``arrays`` lives on a GPU (Chainer's ``get_array_module``)."""
    for a in arrays:
        if type(a) is np.ndarray:
            continue  # the common case; its .data would build a memoryview for nothing
        if is_gpu_array(a):
            return _cupy
        data = getattr(a, "data", None)
        if data is not None and is_gpu_array(data):
            return _cupy
    return np


def device_of(x):
    return "gpu" if is_gpu_array(x) else "cpu"


def to_device(array, device):
    """Move ``array`` to ``device``; a no-op when it is already there."""
    device = _check_device(device)
    if device == "gpu":
        cp = cupy()
        return array if is_gpu_array(array) else cp.asarray(array)
    return array.get() if is_gpu_array(array) else array


def to_numpy(array):
    """A host NumPy array for ``array`` (copying from the GPU if needed)."""
    return array.get() if is_gpu_array(array) else np.asarray(array)


# ---------------------------------------------------------------- dtype

def get_default_dtype():
    return _default_dtype


def set_default_dtype(dtype):
    """Set the floating dtype of new parameters and of Python floats (float32 or float64)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"default dtype must be float32 or float64, got {dtype}")
    _default_dtype = dtype


def as_array(data, dtype=None, device=None):
    """A backend array for ``data``, by the library's dtype rules.

    Python floats (and lists of them) become the default float dtype (float32); float,
    integer and boolean arrays keep their dtype; an explicit ``dtype`` wins. The array is
    on ``device`` (default: the default device). A Tensor gives its ``.data``.

    Examples
    --------
    >>> from deepsheet import backend
    >>> backend.as_array([1.0, 2.0]).dtype, backend.as_array([1, 2]).dtype.kind
    (dtype('float32'), 'i')
    """
    if hasattr(data, "requires_grad"):  # a Tensor (this module sits below tensor.py)
        data = data.data
    on_gpu = is_gpu_array(data)
    if dtype is not None:
        dtype = np.dtype(dtype)
    if on_gpu:
        arr = data if dtype is None else data.astype(dtype, copy=False)
    else:
        from_python = not isinstance(data, (np.ndarray, np.generic))
        try:
            arr = np.asarray(data, dtype=dtype)
        except ValueError as exc:
            if "inhomogeneous" not in str(exc):
                raise
            raise ValueError(f"cannot make a tensor from a ragged {type(data).__name__}: its "
                             "rows have different lengths (pad them first, e.g. with "
                             "deepsheet.utils.pad_sequences)") from None
        if dtype is None and from_python and arr.dtype == np.float64:
            arr = arr.astype(get_default_dtype())
        if arr.dtype == object:
            raise TypeError(f"cannot make a tensor from {type(data).__name__} holding objects")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"cannot make a tensor from {type(data).__name__} of dtype "
                            f"{arr.dtype}: tensors hold real numbers (float, integer or bool)")
    return to_device(arr, device if device is not None else get_default_device())


# ---------------------------------------------------------------- randomness

def manual_seed(seed):
    """Reseed the library RNG: every later random draw in deepsheet becomes reproducible."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _rng = np.random.Generator(np.random.PCG64(int(seed)))


def rng():
    """The library's ``numpy.random.Generator`` (host side)."""
    global _rng
    if _rng is None:
        _rng = np.random.Generator(np.random.PCG64())
    return _rng


def get_rng_state():
    """The library RNG state as JSON-friendly data (a dict of str, int)."""
    state = rng().bit_generator.state
    return {"bit_generator": state["bit_generator"],
            "state": {"state": int(state["state"]["state"]), "inc": int(state["state"]["inc"])},
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


def set_rng_state(state):
    """Restore a state returned by ``get_rng_state`` (e.g. read back from JSON)."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError("rng state must be a dict from deepsheet.backend.get_rng_state()")
    rng().bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": int(state["state"]["state"]), "inc": int(state["state"]["inc"])},
        "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, device=None):
    """Normal draws from the library RNG, made in float32 on the host, then moved to ``device``."""
    dtype = np.dtype(dtype or _default_dtype)
    out = rng().standard_normal(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    if stddev != 1.0:
        out *= stddev
    if mean != 0.0:
        out += mean
    return to_device(out.astype(dtype, copy=False), device or get_default_device())


def random_uniform(shape, low=0.0, high=1.0, dtype=None, device=None):
    """Uniform draws on [low, high) from the library RNG, then moved to ``device``."""
    dtype = np.dtype(dtype or _default_dtype)
    out = rng().random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    if (low, high) != (0.0, 1.0):
        out *= (high - low)
        out += low
    return to_device(out.astype(dtype, copy=False), device or get_default_device())


def permutation(n):
    """A random permutation of range(n) (host int64) from the library RNG."""
    return rng().permutation(n)


# ---------------------------------------------------------------- denormals

class _FlushDenormal:
    """Flush-to-zero / denormals-are-zero on x86-64 glibc, set only around library work.

    Subnormal float32 values (below ~1.2e-38) make x86 arithmetic many times slower;
    Adam's second moments for never-updated weights decay into that range. Bits 15 (FTZ)
    and 6 (DAZ) of MXCSR remove that cost. glibc's ``fenv_t`` on x86-64 is 32 bytes and
    ends with MXCSR (offset 28), so ``fegetenv``/``fesetenv`` reach it without C code.
    The previous environment is always restored, leaving the user's floating point
    untouched. Where this is unavailable (other platforms) it is a no-op and callers fall
    back to zeroing tiny values explicitly.
    """

    _BITS = (1 << 15) | (1 << 6)

    def __init__(self):
        # Nothing is loaded here: ctypes and the C library are looked up on first use, so
        # ``import deepsheet`` pays nothing for a feature only optimizers need.
        self._available = None
        self._local = threading.local()

    @property
    def available(self):
        """True where the CPU flags can be set (x86-64 Linux with glibc's fenv functions)."""
        if self._available is None:
            self._available = self._load()
        return self._available

    def _load(self):
        if not sys.platform.startswith("linux") or os.uname().machine not in ("x86_64", "AMD64"):
            return False
        import ctypes  # noqa: PLC0415 - only when denormal flushing is first asked for
        # glibc exports fegetenv/fesetenv from libm (libc.so.6 lacks them up to at least 2.36).
        for name in ("libm.so.6", "libc.so.6"):
            try:
                lib = ctypes.CDLL(name)
                self._get, self._set = lib.fegetenv, lib.fesetenv
            except (OSError, AttributeError):
                continue
            self._ctypes = ctypes
            return True
        return False

    def clear_thread(self):
        """Clear FTZ/DAZ on this thread: a new thread inherits its creator's MXCSR, so the
        thread pool's workers (possibly started inside ``flush_denormal()``) call this first."""
        if not self.available:
            return
        ctypes = self._ctypes
        env = ctypes.create_string_buffer(32)
        self._get(env)
        mxcsr = int.from_bytes(env.raw[28:32], "little") & ~self._BITS
        ctypes.memmove(ctypes.addressof(env) + 28, mxcsr.to_bytes(4, "little"), 4)
        self._set(env)

    def active(self):
        """True inside ``flush_denormal()`` on this thread (the pool's workers then match it)."""
        return bool(getattr(self._local, "depth", 0))

    def __call__(self):
        """A context that sets FTZ/DAZ on this thread and restores the environment after
        (nested uses are no-ops)."""
        return _FlushScope(self)


class _FlushScope:
    """``with flush_denormal():`` (a class, not a generator: optimizers enter it every step).
    The thread's two 32-byte environment buffers are kept and the flushing environment is
    rebuilt only when the saved one changed."""

    __slots__ = ("owner", "on")

    def __init__(self, owner):
        self.owner, self.on = owner, False

    def __enter__(self):
        f = self.owner
        local = f._local
        if not f.available or getattr(local, "depth", 0):
            return self
        bufs = getattr(local, "bufs", None)
        if bufs is None:
            make = f._ctypes.create_string_buffer
            bufs = local.bufs = [make(32), make(32), None]
        saved, env, last = bufs
        f._get(saved)
        raw = saved.raw
        if raw != last:
            mxcsr = int.from_bytes(raw[28:32], "little") | f._BITS
            f._ctypes.memmove(env, raw[:28] + mxcsr.to_bytes(4, "little"), 32)
            bufs[2] = raw
        f._set(env)
        local.depth, self.on = 1, True
        return self

    def __exit__(self, *exc):
        if self.on:
            local = self.owner._local
            local.depth, self.on = 0, False
            self.owner._set(local.bufs[0])
        return False


flush_denormal = _FlushDenormal()


# ---------------------------------------------------------------- allocator

# glibc's malloc hands arrays above a threshold (128 KiB, raised dynamically up to 32 MiB)
# fresh pages from mmap, and gives freed memory back to the system: every large temporary
# of a training step is then zero-filled by the kernel page by page on first touch
# (measured: 15,000 page faults per DCGAN training step, ~3.5 us each on a 2-core VM, a third
# of the step's CPU time; 560 with the settings below).
MMAP_THRESHOLD = 32 << 20   # the largest glibc accepts on 64-bit systems
TRIM_THRESHOLD = 256 << 20  # freed heap kept for reuse before it goes back to the system
_GLIBC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
_malloc_kept = None


def keep_freed_memory():
    """Let glibc's malloc reuse freed arrays instead of returning them to the system (once).

    Sets ``M_MMAP_THRESHOLD`` to 32 MiB and ``M_TRIM_THRESHOLD`` to 256 MiB with
    ``mallopt``, so arrays up to 32 MiB come from (and go back to) the process's heap. The
    price: up to 256 MiB of freed memory stays with the process. Called when deepsheet
    first runs parallel work (``deepsheet.parallel``). Nothing happens where glibc is absent
    or when one of its own variables (``MALLOC_MMAP_THRESHOLD_``,
    ``MALLOC_TRIM_THRESHOLD_``, ``GLIBC_TUNABLES``) is set: the user chose. Returns True when
    the settings are in force.
    """
    global _malloc_kept
    if _malloc_kept is None:
        _malloc_kept = False
        if sys.platform.startswith("linux") and not any(v in os.environ for v in _GLIBC_VARIABLES):
            import ctypes  # noqa: PLC0415 - only on first parallel use
            try:
                mallopt = ctypes.CDLL("libc.so.6").mallopt
            except (OSError, AttributeError):  # not glibc (musl has no mallopt)
                return False
            # M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3 (malloc.h)
            _malloc_kept = bool(mallopt(-3, MMAP_THRESHOLD)) and bool(mallopt(-1, TRIM_THRESHOLD))
    return _malloc_kept
