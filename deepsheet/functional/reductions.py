"""Reductions: sum, mean, max, min, var, std and logsumexp over NumPy-style axes.

Each takes NumPy's ``axis=`` (an int, a tuple, or None for all axes; negative axes count
from the end) and ``keepdims=``; its backward broadcasts the gradient back over the reduced
axes. A 0-d input reduces over no axis.
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import normalize_axis, quiet as _quiet, torch_names

__all__ = ["sum", "mean", "max", "min", "var", "std", "logsumexp", "ValuesIndices"]

ValuesIndices = namedtuple("ValuesIndices", "values indices")
ValuesIndices.__doc__ = """What ``max``/``min`` give when called PyTorch's way (``dim=``): the
values (differentiable) and the positions along ``dim`` (int64, no gradient)."""

_xp = backend.array_module


def _reduce_axes(name, axis, ndim):
    """Reduction axes as a tuple of non-negative ints; a 0-d input reduces over ()."""
    if ndim == 0:
        if axis not in (None, 0, -1, ()) and axis != (0,) and axis != (-1,):
            raise ValueError(f"{name}: axis {axis} is out of bounds for a 0-d tensor")
        return ()
    try:
        axes = normalize_axis(axis, ndim)
    except ValueError:
        raise ValueError(
            f"{name}: axis {axis} is out of bounds for a tensor of rank {ndim}") from None
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: repeated axis in {axis}")
    return axes


def _count(shape, axes):
    n = 1
    for ax in axes:
        n *= shape[ax]
    return n


def _keep(xp, g, axes, keepdims):
    """Put the reduced axes back (size 1) so ``g`` broadcasts against the input."""
    return g if keepdims or not axes else xp.expand_dims(g, axes)


class SumOp(Function):
    def forward(self, a):
        self.shape = a.shape
        return _xp(a).sum(a, axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        xp = _xp(g)
        return xp.broadcast_to(_keep(xp, g, self.axes, self.keepdims), self.shape)


class MeanOp(Function):
    def forward(self, a):
        self.shape = a.shape
        self.n = _count(a.shape, self.axes)
        xp = _xp(a)
        with _quiet(xp):  # the mean of nothing is nan, as in NumPy and PyTorch
            if self.n == 0:
                return xp.sum(a, axis=self.axes, keepdims=self.keepdims) * float("nan")
            return xp.mean(a, axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        xp = _xp(g)
        g = _keep(xp, g, self.axes, self.keepdims)
        return xp.broadcast_to(g * (1.0 / builtins.max(self.n, 1)), self.shape)


class _ExtremumReduce(Function):
    """max / min over axes; ties share the gradient evenly (``torch.amax`` / ``amin``)."""

    def forward(self, a):
        xp = _xp(a)
        if a.size == 0 and _count(a.shape, self.axes) == 0 and a.ndim:
            raise ValueError(f"{self.name}: cannot reduce over an empty axis (shape {a.shape}, "
                             f"axis {self.axis})")
        out = getattr(xp, self.reduce)(a, axis=self.axes, keepdims=True)
        self.a, self.out = a, out
        return out if self.keepdims or not self.axes else xp.squeeze(out, axis=self.axes)

    def backward(self, g):
        xp = _xp(g)
        g = _keep(xp, g, self.axes, self.keepdims)
        hit = self.a == self.out
        count = hit.sum(axis=self.axes, keepdims=True, dtype=g.dtype)
        return xp.where(hit, g / count, 0)


class Max(_ExtremumReduce):
    reduce, name = "max", "max"


class Min(_ExtremumReduce):
    reduce, name = "min", "min"


class Var(Function):
    def forward(self, a):
        xp = _xp(a)
        n = _count(a.shape, self.axes)
        # As PyTorch: the divisor never goes below 0 (then the result is inf or nan).
        self.denom = denom = builtins.max(n - self.ddof, 0)
        with _quiet(xp):
            centered = a - xp.mean(a, axis=self.axes, keepdims=True) if n else a
            var = xp.sum(centered * centered, axis=self.axes, keepdims=True) / denom
        self.centered = centered
        if self.sqrt:
            var = xp.sqrt(var)
            self.out = var
        return var if self.keepdims or not self.axes else xp.squeeze(var, axis=self.axes)

    def backward(self, g):
        xp = _xp(g)
        g = _keep(xp, g, self.axes, self.keepdims)
        with _quiet(xp):
            if self.sqrt:
                # d std = d var / (2 std); PyTorch sets it to 0 where std = 0.
                g = xp.where(self.out == 0, 0, g / (2 * self.out))
            scale = 2.0 / self.denom if self.denom else float("inf")
            return g * scale * self.centered


class LogSumExp(Function):
    def forward(self, a):
        xp = _xp(a)
        if _count(a.shape, self.axes) == 0:  # log of an empty sum: -inf, as in PyTorch
            m = xp.zeros(xp.sum(a, axis=self.axes, keepdims=True).shape, dtype=a.dtype)
        else:
            m = xp.max(a, axis=self.axes, keepdims=True)
            # Shift by the max for stability; an all -inf slice keeps shift 0 (-inf, not nan).
            m = xp.where(xp.isfinite(m), m, 0)
        with _quiet(xp):
            out = xp.log(xp.sum(xp.exp(a - m), axis=self.axes, keepdims=True)) + m
        self.a, self.out = a, out
        return out if self.keepdims or not self.axes else xp.squeeze(out, axis=self.axes)

    def backward(self, g):
        xp = _xp(g)
        g = _keep(xp, g, self.axes, self.keepdims)
        return g * xp.exp(self.a - self.out)


def _values_indices(cls, name, arg_name, a, axis, dim, keepdim):
    """PyTorch's ``max``/``min`` over ``dim``: the values and where they are."""
    if axis is not None:
        raise TypeError(f"{name}() got both axis= and dim= (PyTorch's name for axis); give one")
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{name}: dim must be an int (PyTorch reduces one dim at a time), "
                        f"got {dim!r}")
    values = _reduce(cls, name, a, dim, keepdim)
    data = a.data if isinstance(a, Tensor) else a
    xp = _xp(data)
    if data.ndim == 0:                # a 0-d tensor's only element is at index 0, as in PyTorch
        return ValuesIndices(values, Tensor._wrap(xp.zeros((), dtype=np.int64)))
    indices = getattr(xp, arg_name)(data, axis=int(dim) % data.ndim, keepdims=bool(keepdim))
    return ValuesIndices(values, Tensor._wrap(indices.astype(np.int64)))


def _torch_var_keywords(name, axis, ddof, keepdims, kw):
    """NumPy's (axis, ddof, keepdims) from PyTorch's dim/keepdim/correction/unbiased."""
    unknown = set(kw) - {"dim", "keepdim", "correction", "unbiased"}
    if unknown:
        raise TypeError(f"{name}() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    if "dim" in kw:
        if axis is not None:
            raise TypeError(f"{name}() got both axis= and dim= (PyTorch's name for axis)")
        axis = kw["dim"]
    if "correction" in kw and "unbiased" in kw:
        raise TypeError(f"{name}() got both correction= and unbiased=; give one")
    if ddof != 0 and ("correction" in kw or "unbiased" in kw):
        raise TypeError(f"{name}() got both ddof= and PyTorch's correction/unbiased; give one")
    if ddof == 0:                     # PyTorch's default is the unbiased estimator
        ddof = int(kw.get("unbiased", True)) if "unbiased" in kw else kw.get("correction", 1)
    return axis, ddof, bool(kw.get("keepdim", keepdims))


def _reduce(cls, name, a, axis, keepdims, **params):
    if not isinstance(a, Tensor):
        a = backend.as_array(a)
    ndim = a.ndim
    axes = _reduce_axes(name, axis, ndim)
    return cls.apply(a, axis=axis, axes=axes, keepdims=keepdims, **params)


@torch_names
def sum(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Sum over ``axis`` (None: all axes).

    Formula
    -------
    y = Σ_i a_i;   dL/da_i = g   (broadcast back over the summed axes)

    Examples
    --------
    >>> import deepsheet as ds, numpy as np
    >>> ds.functional.sum(ds.tensor(np.ones((2, 3))), axis=-1)
    tensor([3., 3.], dtype=float64)
    """
    return _reduce(SumOp, "sum", a, axis, keepdims)


@torch_names
def mean(a, axis=None, keepdims=False):
    """Arithmetic mean over ``axis`` (None: all axes).

    Formula
    -------
    y = (1/n) Σ_i a_i;   dL/da_i = g / n
    """
    return _reduce(MeanOp, "mean", a, axis, keepdims)


def max(a, axis=None, keepdims=False, *, dim=None, keepdim=False):  # noqa: A001 - NumPy's name
    """Largest value over ``axis`` (``numpy.max``).

    Formula
    -------
    y = max_i a_i;   dL/da_i = g · [a_i = y] / #{j : a_j = y}

    Ties share the gradient evenly, as ``torch.amax`` does (``torch.max`` with a ``dim``
    would give it all to one index).

    Called PyTorch's way, ``max(a, dim=d, keepdim=False)`` gives ``(values, indices)`` as
    ``torch.max`` does (a ``ValuesIndices`` named tuple; the gradient of the values still
    shares ties). ``axis=`` keeps NumPy's meaning: the values alone.

    Examples
    --------
    >>> import deepsheet as ds
    >>> x = ds.tensor([1.0, 3.0, 3.0], requires_grad=True)
    >>> ds.functional.max(x).backward()
    >>> x.grad
    array([0. , 0.5, 0.5], dtype=float32)
    """
    if dim is not None:
        return _values_indices(Max, "max", "argmax", a, axis, dim, keepdim)
    return _reduce(Max, "max", a, axis, keepdims)


def min(a, axis=None, keepdims=False, *, dim=None, keepdim=False):  # noqa: A001 - NumPy's name
    """Smallest value over ``axis`` (``numpy.min``).

    Formula
    -------
    y = min_i a_i;   dL/da_i = g · [a_i = y] / #{j : a_j = y}   (ties share, as ``torch.amin``)

    ``min(a, dim=d)`` gives ``(values, indices)`` as ``torch.min`` does; see ``max``.
    """
    if dim is not None:
        return _values_indices(Min, "min", "argmin", a, axis, dim, keepdim)
    return _reduce(Min, "min", a, axis, keepdims)


def var(a, axis=None, ddof=0, keepdims=False, **torch_keywords):
    """Variance over ``axis`` (``numpy.var``; ``ddof=0`` is the biased, population variance).

    Formula
    -------
    y = Σ_i (a_i - ā)² / (n - ddof);   dL/da_i = g · 2 (a_i - ā) / (n - ddof)

    (The terms through ā cancel because Σ_i (a_i - ā) = 0.) ``ddof=1`` gives the unbiased
    estimator, ``torch.var``'s default. Called with any of PyTorch's keywords (``dim``,
    ``keepdim``, ``correction``, ``unbiased``) it follows PyTorch, default correction 1 included.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.var(ds.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor(1.25)
    """
    if torch_keywords:
        axis, ddof, keepdims = _torch_var_keywords("var", axis, ddof, keepdims, torch_keywords)
    return _reduce(Var, "var", a, axis, keepdims, ddof=ddof, sqrt=False)


def std(a, axis=None, ddof=0, keepdims=False, **torch_keywords):
    """Standard deviation over ``axis`` (``numpy.std``, ``ddof=0`` by default).

    Formula
    -------
    y = √var(a);   dL/da_i = g · (a_i - ā) / ((n - ddof) y)   (0 where y = 0, as PyTorch)
    """
    if torch_keywords:
        axis, ddof, keepdims = _torch_var_keywords("std", axis, ddof, keepdims, torch_keywords)
    return _reduce(Var, "std", a, axis, keepdims, ddof=ddof, sqrt=True)


@torch_names
def logsumexp(a, axis=None, keepdims=False):
    """log Σ exp over ``axis``, computed stably (``scipy.special.logsumexp``).

    Formula
    -------
    y = m + ln Σ_i e^(a_i - m)  with m = max_i a_i;
    dL/da_i = g · e^(a_i - y) = g · softmax(a)_i

    Subtracting m keeps every exponent <= 0, so nothing overflows.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.logsumexp(ds.tensor([1000.0, 1000.0]))
    tensor(1000.6932)
    """
    return _reduce(LogSumExp, "logsumexp", a, axis, keepdims)
