"""``deepsheet.ops``: Keras 3's ``keras.ops`` names over deepsheet's differentiable functions.

What people call inside a custom layer's ``call`` or a custom ``train_step``: each name is
the function of ``deepsheet.functional`` that computes it (same node, same gradient), under
Keras's name and argument names. Results are Tensors; ``shape`` gives a tuple,
``convert_to_numpy`` an array. Integer-valued results (``argmax``, ``one_hot``) carry no
gradient.

Examples
--------
>>> import deepsheet as ds
>>> from deepsheet import ops
>>> x = ds.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> ops.sum(ops.square(x), axis=-1).numpy()
array([ 5., 25.], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from . import backend
from . import functional as F
from .factories import arange as _arange
from .factories import full as _full
from .functional import (abs, broadcast_to, cast, clip, concatenate, exp, expand_dims,  # noqa: F401,A004
                         log, log_softmax, logsumexp, matmul, max, maximum, mean, min, minimum,
                         relu, reshape, sigmoid, softmax, softplus, split, sqrt, squeeze, stack,
                         std, sum, tanh, transpose, var, where)
from .tensor import Tensor

__all__ = ["abs", "add", "subtract", "multiply", "divide", "negative", "power", "square",
           "broadcast_to", "cast", "clip", "concatenate", "exp", "expand_dims", "log",
           "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum",
           "relu", "reshape", "sigmoid", "softmax", "softplus", "split", "sqrt", "squeeze",
           "stack", "std", "sum", "tanh", "transpose", "var", "where", "arange", "zeros",
           "ones", "full", "shape", "one_hot", "argmax", "argmin", "convert_to_tensor",
           "convert_to_numpy", "dot"]

add = F.add
subtract = F.sub
multiply = F.mul
divide = F.div
negative = F.neg
power = F.pow


def square(x):
    """x², elementwise."""
    x = convert_to_tensor(x)
    return x * x


def dot(x1, x2):
    """The matrix (or vector) product, as ``matmul``."""
    return F.matmul(x1, x2)


def arange(start, stop=None, step=1, dtype=None):
    """``start, start + step, ...`` below ``stop`` (Keras's argument names)."""
    return _arange(start, stop, step, dtype=dtype)


def zeros(shape, dtype=None):
    return _full(tuple(np.atleast_1d(shape)) if np.ndim(shape) else (int(shape),), 0,
                 dtype=dtype)


def ones(shape, dtype=None):
    return _full(tuple(np.atleast_1d(shape)) if np.ndim(shape) else (int(shape),), 1,
                 dtype=dtype)


def full(shape, fill_value, dtype=None):
    return _full(tuple(np.atleast_1d(shape)) if np.ndim(shape) else (int(shape),), fill_value,
                 dtype=dtype)


def shape(x):
    """The shape as a tuple of ints (Keras's ``ops.shape``)."""
    return tuple(getattr(x, "shape", np.shape(x)))


def convert_to_tensor(x, dtype=None):
    """``x`` as a Tensor (a Tensor stays itself unless ``dtype`` changes it)."""
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == np.dtype(dtype) else F.cast(x, dtype)
    return Tensor(backend.as_array(x, dtype))


def convert_to_numpy(x):
    """``x`` as a NumPy array (copied from the GPU when needed)."""
    return backend.to_numpy(x.data if isinstance(x, Tensor) else np.asarray(x))


def _data(x):
    return x.data if isinstance(x, Tensor) else backend.as_array(x)


def argmax(x, axis=-1, keepdims=False):
    """Index of the largest value along ``axis`` (int64; no gradient)."""
    xp = backend.array_module(_data(x))
    out = xp.argmax(_data(x), axis=axis)
    return Tensor(xp.expand_dims(out, axis) if keepdims and axis is not None else out)


def argmin(x, axis=-1, keepdims=False):
    """Index of the smallest value along ``axis`` (int64; no gradient)."""
    xp = backend.array_module(_data(x))
    out = xp.argmin(_data(x), axis=axis)
    return Tensor(xp.expand_dims(out, axis) if keepdims and axis is not None else out)


def one_hot(x, num_classes, axis=-1, dtype="float32"):
    """One-hot rows for integer labels ``x``: a new axis of length ``num_classes``.

    Formula
    -------
    out[..., c] = 1 if x[...] == c else 0      (labels outside [0, num_classes) give zeros)
    """
    labels = _data(x)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot expects integer labels, got dtype {labels.dtype}")
    xp = backend.array_module(labels)
    out = (labels[..., None] == xp.arange(int(num_classes))).astype(dtype)
    if axis != -1:
        out = xp.moveaxis(out, -1, axis)
    return Tensor(out)
