"""Helpers shared by the functional families (not public)."""
from __future__ import annotations

import contextlib
import functools

import numpy as np

from .. import backend
from ..tensor import Tensor


def operand(x):
    """A binary operation's input: Tensors as they are, NumPy scalars as Python scalars.

    A NumPy float64 scalar would silently upcast float32 arrays under NumPy 2, while a
    Python float keeps them float32; lists and other array-likes become arrays.
    """
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (int, float, bool, complex)):
        return x
    if hasattr(x, "dtype") and hasattr(x, "shape"):
        return x
    return backend.as_array(x)


def as_tensor(x, floating=False):
    """A function's input as a Tensor: Tensors as they are, anything else wrapped.

    With ``floating``, integer and boolean data become the default float dtype (a sigmoid
    of integer labels is a float); otherwise the dtype is kept (``backend.as_array``).
    """
    if not isinstance(x, Tensor):
        x = Tensor._wrap(backend.as_array(x))
    if floating and x.data.dtype.kind not in "fc":
        x = Tensor._wrap(x.data.astype(backend.get_default_dtype()))
    return x


def normalize_axis(axis, ndim):
    """A tuple of non-negative axes for ``axis`` (None means all)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (list, tuple)):
        axes = tuple(a + ndim if a < 0 else a for a in axis)
    else:
        axes = (axis + ndim if axis < 0 else axis,)
    for a in axes:
        if not 0 <= a < max(ndim, 1) and not (ndim == 0 and a == 0):
            raise ValueError(f"axis {axis} is out of bounds for a tensor of rank {ndim}")
    return axes


def shape_of(x):
    return x.shape if hasattr(x, "shape") else ()


def quiet(xp):
    """Silence NumPy's divide/invalid warnings where inf/nan are the intended result."""
    if xp is np:
        return np.errstate(divide="ignore", invalid="ignore")
    return contextlib.nullcontext()


def check_image(x, fname, rank=4):
    """Raise unless ``x`` is a channels-last batch of rank ``rank``: (N, H, W, C) or (N, T, C)."""
    if x.ndim != rank:
        layout = "(N, H, W, C)" if rank == 4 else "(N, T, C)"
        raise ValueError(f"{fname}: input must have rank {rank} {layout}, got shape "
                         f"{tuple(x.shape)}")


_UNSET = object()
_TORCH_NAMES = {"dim": "axis", "keepdim": "keepdims"}


def torch_names(fn):
    """Let ``fn(..., axis=, keepdims=)`` also be called with PyTorch's ``dim=`` and ``keepdim=``.

    deepsheet's functions take NumPy's keywords (DESIGN: NumPy's names wherever NumPy has the
    function); PyTorch users type ``dim``. Both spellings of the same keyword at once is an
    error rather than a silent choice.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for torch_name, numpy_name in _TORCH_NAMES.items():
            value = kwargs.pop(torch_name, _UNSET)
            if value is _UNSET:
                continue
            given = kwargs.get(numpy_name)
            if given is not None and given is not False:
                raise TypeError(f"{fn.__name__}() got both {numpy_name}= and {torch_name}= "
                                f"(PyTorch's name for {numpy_name}); give one")
            kwargs[numpy_name] = value
        return fn(*args, **kwargs)
    wrapper.__doc__ = (fn.__doc__ or "").rstrip() + (
        "\n\n    Also takes PyTorch's keyword names: ``dim=`` for ``axis=``"
        + (", ``keepdim=`` for ``keepdims=``" if "keepdims" in fn.__code__.co_varnames else "")
        + ".\n")
    return wrapper
