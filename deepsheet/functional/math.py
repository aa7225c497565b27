"""Elementwise arithmetic, elementwise functions and selection; dtype casts and device moves.

Binary operations broadcast as NumPy does; their backward sums the gradient back to each
input's shape with ``autograd.unbroadcast``. Python and NumPy scalars act as constants and
never change the dtype of a tensor. Reductions live in ``reductions.py``, the matrix
product in ``linear.py``.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function, unbroadcast
from ..tensor import Tensor
from ._util import operand, quiet as _quiet, shape_of

__all__ = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "clip",
           "maximum", "minimum", "where", "to_device", "cast"]


# ---------------------------------------------------------------- helpers

def _xp(*arrays):
    return backend.array_module(*arrays)


def _broadcast_error(name, a, b):
    sa, sb = shape_of(a), shape_of(b)
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        return ValueError(f"{name}: shapes {sa} and {sb} cannot be broadcast together")
    return None


def _binary(cls, name, a, b, **params):
    if type(a) is not Tensor:
        a = operand(a)
    if type(b) is not Tensor:
        b = operand(b)
    try:
        return cls.apply(a, b, **params)
    except ValueError:
        # Checked only on failure: the happy path pays nothing for the friendly message.
        err = _broadcast_error(name, a, b)
        if err is not None:
            raise err from None
        raise


# ---------------------------------------------------------------- arithmetic

class AddOp(Function):
    def forward(self, a, b):
        na, nb = self.needs_input_grad
        # Only an input that needs a gradient can be a constant without a shape.
        self.sa = a.shape if na else None
        self.sb = b.shape if nb else None
        return a + b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (unbroadcast(g, self.sa) if na else None,
                unbroadcast(g, self.sb) if nb else None)


class Sub(Function):
    def forward(self, a, b):
        na, nb = self.needs_input_grad
        self.sa = a.shape if na else None
        self.sb = b.shape if nb else None
        return a - b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (unbroadcast(g, self.sa) if na else None,
                unbroadcast(-g, self.sb) if nb else None)


class Mul(Function):
    def forward(self, a, b):
        na, nb = self.needs_input_grad
        self.a = a if nb else None
        self.b = b if na else None
        self.sa = a.shape if na else None
        self.sb = b.shape if nb else None
        return a * b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (unbroadcast(g * self.b, self.sa) if na else None,
                unbroadcast(g * self.a, self.sb) if nb else None)


class Div(Function):
    def forward(self, a, b):
        self.b = b
        out = a / b
        self.out = out if self.needs_input_grad[1] else None
        self.sa, self.sb = shape_of(a), shape_of(b)
        return out

    def backward(self, g):
        na, nb = self.needs_input_grad
        ga = unbroadcast(g / self.b, self.sa) if na else None
        gb = unbroadcast(-g * self.out / self.b, self.sb) if nb else None
        return ga, gb


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Pow(Function):
    def forward(self, a, b):
        na, nb = self.needs_input_grad
        self.sa, self.sb = shape_of(a), shape_of(b)
        out = a ** b
        self.a = a
        self.b = b if na else None
        self.out = out if nb else None
        return out

    def backward(self, g):
        na, nb = self.needs_input_grad
        xp = _xp(g)
        a, b = self.a, self.b
        ga = gb = None
        with _quiet(xp):
            if na:
                if isinstance(b, (int, float)):
                    # d/da a^0 = 0 everywhere, also at a = 0 where b * a^(b-1) is 0 * inf.
                    ga = g * (b * a ** (b - 1)) if b != 0 else xp.zeros_like(g)
                else:
                    ga = xp.where(b == 0, 0, g * (b * a ** (b - 1)))
                ga = unbroadcast(ga, self.sa)
            if nb:
                a_arr = xp.asarray(a, dtype=g.dtype)
                # As in PyTorch: 0^b has zero slope in b for b >= 0 (log 0 = -inf would give nan).
                gb = xp.where(a_arr == 0, 0, g * self.out * xp.log(a_arr))
                gb = unbroadcast(gb, self.sb)
        return ga, gb


def add(a, b):
    """Elementwise sum with broadcasting.

    Formula
    -------
    y = a + b;   dL/da = unbroadcast(g),  dL/db = unbroadcast(g)   (g = dL/dy)

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.add(ds.tensor([1.0, 2.0]), 1.0)
    tensor([2., 3.])
    """
    return _binary(AddOp, "add", a, b)


def sub(a, b):
    """Elementwise difference with broadcasting.

    Formula
    -------
    y = a - b;   dL/da = g,  dL/db = -g   (each unbroadcast to its input's shape)
    """
    return _binary(Sub, "sub", a, b)


def mul(a, b):
    """Elementwise (Hadamard) product with broadcasting.

    Formula
    -------
    y = a ⊙ b;   dL/da = g ⊙ b,  dL/db = g ⊙ a
    """
    return _binary(Mul, "mul", a, b)


def div(a, b):
    """Elementwise quotient with broadcasting.

    Formula
    -------
    y = a / b;   dL/da = g / b,  dL/db = -g a / b² = -g y / b
    """
    return _binary(Div, "div", a, b)


def neg(a):
    """Negation.

    Formula
    -------
    y = -a;   dL/da = -g
    """
    return Neg.apply(a)


def pow(a, b):  # noqa: A001 - NumPy's name (numpy.pow)
    """Elementwise power ``a ** b`` with broadcasting (either side may be a constant).

    Formula
    -------
    y = a^b;   dL/da = g b a^(b-1),   dL/db = g y ln a

    As in PyTorch, dL/da is 0 where b = 0 and dL/db is 0 where a = 0 (instead of nan).

    Examples
    --------
    >>> import deepsheet as ds
    >>> x = ds.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x ** 2).sum().backward()
    >>> x.grad
    array([2., 4., 6.], dtype=float32)
    """
    return _binary(Pow, "pow", a, b)


# ---------------------------------------------------------------- elementwise functions

class Exp(Function):
    def forward(self, a):
        out = _xp(a).exp(a)
        self.out = out
        return out

    def backward(self, g):
        return g * self.out


class Log(Function):
    def forward(self, a):
        self.a = a
        return _xp(a).log(a)

    def backward(self, g):
        return g / self.a


class Sqrt(Function):
    def forward(self, a):
        out = _xp(a).sqrt(a)
        self.out = out
        return out

    def backward(self, g):
        with _quiet(_xp(g)):
            return g * 0.5 / self.out


class Abs(Function):
    def forward(self, a):
        xp = _xp(a)
        self.sign = xp.sign(a)
        return xp.abs(a)

    def backward(self, g):
        return g * self.sign


class Clip(Function):
    def forward(self, a):
        xp = _xp(a)
        lo, hi = self.a_min, self.a_max
        self.sa = a.shape
        out = a
        inside = True
        if lo is not None:
            out = xp.maximum(out, lo)
            inside = a >= lo
        if hi is not None:
            out = xp.minimum(out, hi)
            inside = inside & (a <= hi)
        if lo is None and hi is None:
            out = a.copy()
        self.inside = inside
        return out

    def backward(self, g):
        if self.inside is True:
            return g
        return unbroadcast(g * self.inside, self.sa)


def exp(a):
    """Elementwise exponential.

    Formula
    -------
    y = e^a;   dL/da = g y
    """
    return Exp.apply(a)


def log(a):
    """Elementwise natural logarithm.

    Formula
    -------
    y = ln a;   dL/da = g / a
    """
    return Log.apply(a)


def sqrt(a):
    """Elementwise square root.

    Formula
    -------
    y = √a;   dL/da = g / (2y)
    """
    return Sqrt.apply(a)


def abs(a):  # noqa: A001 - NumPy's name
    """Elementwise absolute value.

    Formula
    -------
    y = |a|;   dL/da = g sign(a)   (0 at a = 0, as in PyTorch)
    """
    return Abs.apply(a)


def clip(a, a_min=None, a_max=None):
    """Limit values to [a_min, a_max] (``numpy.clip``); the bounds are constants.

    Formula
    -------
    y = min(max(a, a_min), a_max);   dL/da = g · [a_min <= a <= a_max]

    The gradient passes where a lies inside the closed interval (as ``torch.clamp``).

    Parameters
    ----------
    a : Tensor
    a_min, a_max : scalar, array or None
        Bounds (broadcast against ``a``); None leaves that side open.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.clip(ds.tensor([-2.0, 0.5, 3.0]), 0.0, 1.0)
    tensor([0. , 0.5, 1. ])
    """
    def bound(v):
        v = operand(v.data if isinstance(v, Tensor) else v) if v is not None else None
        return v
    a_min, a_max = bound(a_min), bound(a_max)
    return Clip.apply(a, a_min=a_min, a_max=a_max)


# ---------------------------------------------------------------- selection

class _Extremum(Function):
    """maximum / minimum: the winner takes the gradient; a tie splits it in two halves."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.sa, self.sb = shape_of(a), shape_of(b)
        xp = _xp(a, b)
        return xp.maximum(a, b) if self.largest else xp.minimum(a, b)

    def backward(self, g):
        xp = _xp(g)
        na, nb = self.needs_input_grad
        a, b = self.a, self.b
        a_wins = (a > b) if self.largest else (a < b)
        tie = a == b
        half = g * 0.5
        ga = unbroadcast(xp.where(a_wins, g, xp.where(tie, half, 0)), self.sa) if na else None
        # b wins exactly where a neither wins nor ties.
        gb = unbroadcast(xp.where(a_wins, 0, xp.where(tie, half, g)), self.sb) if nb else None
        return ga, gb


class MaximumOp(_Extremum):
    largest = True


class MinimumOp(_Extremum):
    largest = False


class Where(Function):
    def forward(self, x, y):
        self.sx, self.sy = shape_of(x), shape_of(y)
        return _xp(x, y, self.condition).where(self.condition, x, y)

    def backward(self, g):
        xp = _xp(g)
        nx, ny = self.needs_input_grad
        c = self.condition
        return (unbroadcast(xp.where(c, g, 0), self.sx) if nx else None,
                unbroadcast(xp.where(c, 0, g), self.sy) if ny else None)


def maximum(a, b):
    """Elementwise maximum with broadcasting (``numpy.maximum``).

    Formula
    -------
    y = max(a, b);   dL/da = g·[a > b] + ½g·[a = b],   dL/db = g·[b > a] + ½g·[a = b]

    Ties split the gradient evenly, as ``torch.maximum`` does.
    """
    return _binary(MaximumOp, "maximum", a, b)


def minimum(a, b):
    """Elementwise minimum with broadcasting (``numpy.minimum``).

    Formula
    -------
    y = min(a, b);   dL/da = g·[a < b] + ½g·[a = b],   dL/db = g·[b < a] + ½g·[a = b]
    """
    return _binary(MinimumOp, "minimum", a, b)


def where(condition, x, y):
    """Choose ``x`` where ``condition`` holds, else ``y`` (``numpy.where``, all broadcast).

    Formula
    -------
    out = c ? x : y;   dL/dx = g·[c],   dL/dy = g·[not c]   (``condition`` gets no gradient)

    Examples
    --------
    >>> import deepsheet as ds
    >>> x = ds.tensor([-1.0, 2.0])
    >>> ds.functional.where(x > 0, x, 0.0)
    tensor([0., 2.])
    """
    c = condition.data if isinstance(condition, Tensor) else condition
    x, y = operand(x), operand(y)
    xp = _xp(x, y)
    if not hasattr(c, "dtype") or (xp is not np and not backend.is_gpu_array(c)):
        c = xp.asarray(c)  # lists, and host masks for data on a GPU
    if c.dtype != bool:
        c = c.astype(bool)
    try:
        np.broadcast_shapes(c.shape, shape_of(x), shape_of(y))
    except ValueError:
        raise ValueError(f"where: shapes {c.shape} (condition), {shape_of(x)} (x) and "
                         f"{shape_of(y)} (y) cannot be broadcast together") from None
    if c.shape != np.broadcast_shapes(c.shape, shape_of(x), shape_of(y)):
        # Both branches' gradients take the full output shape, then unbroadcast.
        c = _xp(c).broadcast_to(c, np.broadcast_shapes(c.shape, shape_of(x), shape_of(y)))
    return Where.apply(x, y, condition=c)


# ---------------------------------------------------------------- device and dtype

class ToDevice(Function):
    def forward(self, a):
        self.src = backend.device_of(a)
        return backend.to_device(a, self.device)

    def backward(self, g):
        return backend.to_device(g, self.src)


def to_device(a, device):
    """Copy to ``device`` ("cpu" or "gpu"); the gradient flows back to the source device.

    Formula
    -------
    y = a (on another device);   dL/da = g (moved back)
    """
    return ToDevice.apply(a, device=device)


class Cast(Function):
    def forward(self, a):
        self.src = a.dtype
        return a.astype(self.dtype)

    def backward(self, g):
        return g.astype(self.src)


def cast(a, dtype):
    """Convert to ``dtype``; the gradient is cast back to the input's dtype.

    Formula
    -------
    y = a (as dtype);   dL/da = g (as a's dtype)
    """
    return Cast.apply(a, dtype=np.dtype(dtype))
