"""Elementwise arithmetic, matrix product and reductions.

Binary operations broadcast as NumPy does; their backward sums the gradient back to each
input's shape with ``autograd.unbroadcast``.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function, unbroadcast
from ..tensor import Tensor
from ._util import normalize_axis, operand, shape_of

__all__ = ["add", "sub", "mul", "div", "neg", "matmul", "sum", "mean", "to_device", "cast"]


def _check_broadcast(name, a, b):
    sa, sb = shape_of(a), shape_of(b)
    try:
        np.broadcast_shapes(sa, sb)
    except ValueError:
        raise ValueError(f"{name}: shapes {sa} and {sb} cannot be broadcast together") from None


class Add(Function):
    def forward(self, a, b):
        self.sa, self.sb = shape_of(a), shape_of(b)
        return a + b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (unbroadcast(g, self.sa) if na else None,
                unbroadcast(g, self.sb) if nb else None)


class Sub(Function):
    def forward(self, a, b):
        self.sa, self.sb = shape_of(a), shape_of(b)
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
        self.sa, self.sb = shape_of(a), shape_of(b)
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


def _binary(cls, name, a, b):
    a, b = operand(a), operand(b)
    _check_broadcast(name, a, b)
    return cls.apply(a, b)


def add(a, b):
    """Elementwise sum with broadcasting.

    Formula: y = a + b;  dL/da = unbroadcast(dL/dy), dL/db = unbroadcast(dL/dy).
    """
    return _binary(Add, "add", a, b)


def sub(a, b):
    """Elementwise difference: y = a - b;  dL/da = g, dL/db = -g (each unbroadcast)."""
    return _binary(Sub, "sub", a, b)


def mul(a, b):
    """Elementwise (Hadamard) product: y = a * b;  dL/da = g * b, dL/db = g * a."""
    return _binary(Mul, "mul", a, b)


def div(a, b):
    """Elementwise quotient: y = a / b;  dL/da = g / b, dL/db = -g * a / b**2 = -g * y / b."""
    return _binary(Div, "div", a, b)


def neg(a):
    """Negation: y = -a;  dL/da = -g."""
    return Neg.apply(a)


class MatMul(Function):
    def forward(self, a, b):
        na, nb = self.needs_input_grad
        self.a = a if nb else None
        self.b = b if na else None
        self.sa, self.sb = a.shape, b.shape
        return a @ b

    def backward(self, g):
        na, nb = self.needs_input_grad
        xp = backend.array_module(g)
        a, b = self.a, self.b
        sa, sb = self.sa, self.sb
        ga = gb = None
        if len(sa) == 1 and len(sb) == 1:  # dot product -> scalar
            return (g * b if na else None), (g * a if nb else None)
        if len(sa) == 1:  # (k) @ (..., k, n) -> (..., n)
            if na:
                ga = unbroadcast(xp.matmul(g[..., None, :], xp.swapaxes(b, -1, -2))[..., 0, :], sa)
            if nb:
                gb = unbroadcast(a[:, None] * g[..., None, :], sb)
            return ga, gb
        if len(sb) == 1:  # (..., m, k) @ (k) -> (..., m)
            if na:
                ga = unbroadcast(g[..., :, None] * b, sa)
            if nb:
                gb = unbroadcast(xp.matmul(xp.swapaxes(a, -1, -2), g[..., :, None])[..., 0], sb)
            return ga, gb
        if na:
            ga = unbroadcast(xp.matmul(g, xp.swapaxes(b, -1, -2)), sa)
        if nb:
            if a.ndim > 2 and len(sb) == 2:
                # Fold the batch axes into rows: one large GEMM instead of a batched one
                # followed by a sum (the Dense-on-sequences case).
                gb = a.reshape(-1, sa[-1]).T @ g.reshape(-1, g.shape[-1])
            else:
                gb = unbroadcast(xp.matmul(xp.swapaxes(a, -1, -2), g), sb)
        return ga, gb


def matmul(a, b):
    """Matrix product with NumPy's ``matmul`` rules (batched, broadcast, 1-D promoted).

    Formula: Y = A B;  dL/dA = G B^T, dL/dB = A^T G (batch axes unbroadcast).

    Shape: (..., m, k) @ (..., k, n) -> (..., m, n).
    """
    a, b = operand(a), operand(b)
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {sa} and {sb}")
    ka = sa[-1]
    kb = sb[-2] if len(sb) >= 2 else sb[0]
    if ka != kb:
        raise ValueError(f"matmul: inner dimensions differ, shapes {sa} and {sb} "
                         f"({ka} != {kb})")
    try:
        np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch axes of shapes {sa} and {sb} cannot be broadcast") from None
    return MatMul.apply(a, b)


class Sum(Function):
    def forward(self, a):
        self.shape = a.shape
        self.axes = normalize_axis(self.axis, a.ndim)
        xp = backend.array_module(a)
        return xp.sum(a, axis=self.axes if a.ndim else None, keepdims=self.keepdims)

    def backward(self, g):
        xp = backend.array_module(g)
        if not self.keepdims:
            g = xp.expand_dims(g, self.axes) if self.axes and g.ndim < len(self.shape) else g
        return xp.broadcast_to(g, self.shape)


class Mean(Function):
    def forward(self, a):
        self.shape = a.shape
        self.axes = normalize_axis(self.axis, a.ndim)
        n = 1
        for ax in self.axes:
            n *= a.shape[ax] if a.ndim else 1
        self.n = n
        xp = backend.array_module(a)
        return xp.mean(a, axis=self.axes if a.ndim else None, keepdims=self.keepdims)

    def backward(self, g):
        xp = backend.array_module(g)
        if not self.keepdims and self.axes and g.ndim < len(self.shape):
            g = xp.expand_dims(g, self.axes)
        return xp.broadcast_to(g * (1.0 / max(self.n, 1)), self.shape)


def sum(a, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Sum over ``axis`` (None: all axes): y = sum_i a_i;  dL/da_i = dL/dy (broadcast back)."""
    return Sum.apply(a, axis=axis, keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    """Mean over ``axis``: y = (1/n) sum_i a_i;  dL/da_i = (dL/dy) / n."""
    return Mean.apply(a, axis=axis, keepdims=keepdims)


class ToDevice(Function):
    def forward(self, a):
        self.src = backend.device_of(a)
        return backend.to_device(a, self.device)

    def backward(self, g):
        return backend.to_device(g, self.src)


def to_device(a, device):
    """Copy to ``device`` ("cpu" or "gpu"); the gradient flows back to the source device."""
    return ToDevice.apply(a, device=device)


class Cast(Function):
    def forward(self, a):
        self.src = a.dtype
        return a.astype(self.dtype)

    def backward(self, g):
        return g.astype(self.src)


def cast(a, dtype):
    """Convert to ``dtype``; the gradient is cast back to the input's dtype."""
    return Cast.apply(a, dtype=np.dtype(dtype))
