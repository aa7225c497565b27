"""Tensor factories named and shaped as PyTorch's: ``zeros``, ``ones``, ``randn``, ``arange``...

Every factory makes a leaf tensor of the default float dtype (float32) unless told
otherwise, on the default device unless ``device=`` names one, with ``requires_grad=``
as PyTorch. Sizes are given as PyTorch allows: ``zeros(2, 3)`` or ``zeros((2, 3))``.
Random ones draw from the library RNG (``deepsheet.manual_seed`` makes them repeat).
"""
from __future__ import annotations

import numbers

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["zeros", "ones", "full", "empty", "arange", "linspace", "eye", "randn", "rand",
           "randint", "zeros_like", "ones_like", "full_like", "rand_like", "randn_like"]


def _size(name, size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for d in size:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 0:
            raise ValueError(f"{name}: sizes must be non-negative integers, got {size!r}")
    return tuple(int(d) for d in size)


def _leaf(name, array, requires_grad, device):
    if requires_grad and array.dtype.kind != "f":
        raise ValueError(f"{name}: only floating tensors can require gradients, got dtype "
                         f"{array.dtype}")
    array = backend.to_device(array, device if device is not None else
                              backend.get_default_device())
    return Tensor(array, requires_grad=bool(requires_grad))


def _dtype(dtype):
    return np.dtype(dtype) if dtype is not None else np.dtype(backend.get_default_dtype())


def zeros(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of zeros of shape ``size``.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.zeros(2, 3).shape, ds.zeros((2,)).dtype
    ((2, 3), dtype('float32'))
    """
    return _leaf("zeros", np.zeros(_size("zeros", size), _dtype(dtype)), requires_grad, device)


def ones(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of ones of shape ``size``."""
    return _leaf("ones", np.ones(_size("ones", size), _dtype(dtype)), requires_grad, device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    """A tensor of shape ``size`` filled with ``fill_value`` (float32 unless ``dtype``)."""
    return _leaf("full", np.full(_size("full", (size,)), fill_value, _dtype(dtype)),
                 requires_grad, device)


def empty(*size, dtype=None, requires_grad=False, device=None):
    """An uninitialised tensor of shape ``size`` (its values are whatever memory held)."""
    return _leaf("empty", np.empty(_size("empty", size), _dtype(dtype)), requires_grad, device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values ``start, start + step, ...`` below ``end`` (``arange(n)``: 0 .. n-1).

    As PyTorch: int64 when every bound is an integer, else the default float dtype.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.arange(4).numpy(), ds.arange(0, 1, 0.25).numpy()
    (array([0, 1, 2, 3]), array([0.  , 0.25, 0.5 , 0.75], dtype=float32))
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    ints = all(isinstance(v, (numbers.Integral, np.integer)) for v in (start, end, step))
    dt = np.dtype(dtype) if dtype is not None else (np.dtype(np.int64) if ints else
                                                   _dtype(None))
    if ints:
        out = np.arange(start, end, step).astype(dt)
    else:
        # as PyTorch: n = ceil((end - start) / step) values start + i * step
        n = max(int(np.ceil((end - start) / step)), 0)
        out = (start + np.arange(n, dtype=np.float64) * step).astype(dt)
    return _leaf("arange", out, requires_grad, device)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    return _leaf("linspace", np.linspace(start, end, int(steps)).astype(_dtype(dtype)),
                 requires_grad, device)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    """The identity matrix, ``n`` x ``m`` (square by default)."""
    return _leaf("eye", np.eye(n, m, dtype=_dtype(dtype)), requires_grad, device)


def randn(*size, dtype=None, requires_grad=False, device=None):
    """Standard normal draws N(0, 1) of shape ``size`` from the library RNG."""
    shape = _size("randn", size)
    data = backend.to_numpy(backend.random_normal(shape, dtype=_dtype(dtype), device="cpu"))
    return _leaf("randn", data, requires_grad, device)


def rand(*size, dtype=None, requires_grad=False, device=None):
    """Uniform draws on [0, 1) of shape ``size`` from the library RNG."""
    shape = _size("rand", size)
    data = backend.to_numpy(backend.random_uniform(shape, dtype=_dtype(dtype), device="cpu"))
    return _leaf("rand", data, requires_grad, device)


def randint(low, high=None, size=None, dtype=None, requires_grad=False, device=None):
    """Integers uniform on [low, high) (``randint(high, size)`` from 0), int64 by default."""
    if size is None:  # randint(high, size) as PyTorch allows
        if high is None:
            raise ValueError("randint needs size=, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    shape = _size("randint", (size,) if not isinstance(size, (tuple, list)) else (tuple(size),))
    out = backend.rng().integers(low, high, size=shape, dtype=np.int64)
    return _leaf("randint", out.astype(np.dtype(dtype) if dtype is not None else np.int64),
                 requires_grad, device)


def _like(x):
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    return data.shape, data.dtype, backend.device_of(data) if isinstance(x, Tensor) else None


def zeros_like(x, dtype=None, requires_grad=False, device=None):
    """Zeros with the shape (and dtype and device, unless given) of ``x``."""
    shape, dt, dev = _like(x)
    return _leaf("zeros_like", np.zeros(shape, dtype or dt), requires_grad, device or dev)


def ones_like(x, dtype=None, requires_grad=False, device=None):
    """Ones with the shape (and dtype and device, unless given) of ``x``."""
    shape, dt, dev = _like(x)
    return _leaf("ones_like", np.ones(shape, dtype or dt), requires_grad, device or dev)


def full_like(x, fill_value, dtype=None, requires_grad=False, device=None):
    """``fill_value`` with the shape (and dtype and device, unless given) of ``x``."""
    shape, dt, dev = _like(x)
    return _leaf("full_like", np.full(shape, fill_value, dtype or dt), requires_grad,
                 device or dev)


def rand_like(x, dtype=None, requires_grad=False, device=None):
    """Uniform draws on [0, 1) with the shape of ``x``."""
    shape, dt, dev = _like(x)
    return rand(*shape, dtype=dtype or dt, requires_grad=requires_grad, device=device or dev)


def randn_like(x, dtype=None, requires_grad=False, device=None):
    """Standard normal draws with the shape of ``x``."""
    shape, dt, dev = _like(x)
    return randn(*shape, dtype=dtype or dt, requires_grad=requires_grad, device=device or dev)
