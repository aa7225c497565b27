"""Matrix products: the affine map of a dense layer as one graph node (``dense`` with Keras's
kernel layout, ``linear`` with PyTorch's), and ``matmul``."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function, unbroadcast
from ._kernels import matmul_rows, matmuls, relu_
from ._util import operand, shape_of

__all__ = ["dense", "linear", "matmul"]

_SMALL = 4096  # outputs up to this many values take the plain ReLU (see forward)


def epilogue(b, relu, xp):
    """A product's epilogue for ``matmuls``: + b, then ReLU, on each block while it is in
    cache; None when there is neither."""
    if b is None and not relu:
        return None

    def run(o, rows, cols):
        if b is not None:
            o += b[cols]
        if relu:
            if o.size > _SMALL:
                relu_(o, xp)
            else:  # relu_'s blocks cost more than they save on a few rows (batch-1)
                xp.maximum(o, 0, out=o)
    return run


class DenseOp(Function):
    """y = x·W + b (then ReLU if ``relu``), the leading axes of x folded into rows.

    Gradient (X, G: x and dL/dy folded into rows; G times [y > 0] after a fused ReLU)::

        dL/dx = G·Wᵀ,   dL/dW = Xᵀ·G,   dL/db = Σ_rows G

    Large products run in a few blocks on the thread pool (``_kernels.matmuls``), the
    bias and ReLU applied to each block while it is in cache. With ``transposed`` the weight
    comes in PyTorch's layout Wᵀ (out, in) and its gradient is returned in that layout, Gᵀ·X.
    """

    transposed = False
    fresh_grads = True  # dx, dW and db are new arrays (matmuls' outputs, a sum)

    def forward(self, x, w, b=None):
        nx, nw = self.needs_input_grad[:2]
        if self.transposed:
            w = w.T  # a view: the product reads it transposed, no copy
        self.x_shape = x.shape
        # One (rows, in) @ (in, out) GEMM whatever the rank: a batched matmul would make
        # the kernel gradient a sum of per-sample products instead of one large GEMM.
        flat = x.ndim == 2
        x2 = x if flat else x.reshape(-1, x.shape[-1])
        relu = self.relu
        out = matmul_rows(x2, w, epilogue=epilogue(b, relu, backend.array_module(x2)))
        if relu:
            self.out = out  # its sign is the ReLU mask; kept instead of a separate mask array
        self.x2 = x2 if nw else None
        self.w = w if nx else None
        return out if flat else out.reshape(x.shape[:-1] + (w.shape[1],))

    def backward(self, g):
        nx, nw = self.needs_input_grad[:2]
        nb = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        g2 = g.reshape(-1, g.shape[-1])
        if self.relu:
            g2 = g2 * (self.out > 0)
        # Both products in one parallel_for: on two threads they share the cores.
        products = []
        if nx:
            products.append((g2, self.w.T, None, None))
        if nw:
            products.append((g2.T, self.x2, None, None) if self.transposed
                            else (self.x2.T, g2, None, None))
        res = matmuls(products) if products else []
        dx = res[0].reshape(self.x_shape) if nx else None
        dw = res[-1] if nw else None
        db = g2.sum(axis=0) if nb else None
        return dx, dw, db


def dense(x, kernel, bias=None, activation=None):
    """Affine map of a dense layer on the last axis, with ReLU optionally fused in.

    Formula::

        y = x · W + b                 (x: (..., in), W: (in, out), b: (out,))
        dL/dx = G · Wᵀ,   dL/dW = Xᵀ · G,   dL/db = Σ_rows G

    where X and G are x and dL/dy with all leading axes folded into rows. With
    ``activation="relu"``: y = max(0, x·W + b) and G is first multiplied by [y > 0].
    The kernel layout is Keras's (in, out); ``torch.nn.functional.linear`` takes the
    transpose (out, in). No work is done for an input that needs no gradient (the data).

    Parameters
    ----------
    x : Tensor, shape (..., in)
    kernel : Tensor, shape (in, out)
    bias : Tensor, shape (out,), optional
    activation : None, "linear" or "relu"
        Other activations are applied by the caller on the result.

    Shape
    -----
    (..., in) -> (..., out)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = ds.tensor(np.ones((2, 3), np.float32))
    >>> w = ds.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    >>> ds.functional.dense(x, w, activation="relu").shape
    (2, 4)
    """
    if activation not in (None, "linear", "relu"):
        raise ValueError(f"dense: activation must be None, 'linear' or 'relu' (fused), got "
                         f"{activation!r}; apply other activations to the result")
    _check_shapes("dense", "kernel", "(in, out)", x, kernel, bias, transposed=False)
    relu = activation == "relu"
    if bias is None:
        return DenseOp.apply(x, kernel, relu=relu)
    return DenseOp.apply(x, kernel, bias, relu=relu)


def linear(x, weight, bias=None):
    """Affine map on the last axis with PyTorch's weight layout (``torch.nn.functional.linear``).

    Formula::

        y = x · Wᵀ + b                (x: (..., in), W: (out, in), b: (out,))
        dL/dx = G · W,   dL/dW = Gᵀ · X,   dL/db = Σ_rows G

    where X and G are x and dL/dy with all leading axes folded into rows. The same graph
    node as ``dense``, whose kernel is this weight transposed (Keras's (in, out)).

    Parameters
    ----------
    x : Tensor, shape (..., in)
    weight : Tensor, shape (out, in)
    bias : Tensor, shape (out,), optional

    Shape
    -----
    (..., in) -> (..., out)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = ds.tensor(np.ones((2, 3), np.float32))
    >>> w = ds.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    >>> ds.functional.linear(x, w).shape
    (2, 4)
    """
    _check_shapes("linear", "weight", "(out, in)", x, weight, bias, transposed=True)
    if bias is None:
        return DenseOp.apply(x, weight, relu=False, transposed=True)
    return DenseOp.apply(x, weight, bias, relu=False, transposed=True)


def _check_shapes(fname, wname, layout, x, w, bias, transposed):
    sx, sw = shape_of(x), shape_of(w)
    if len(sw) != 2:
        raise ValueError(f"{fname}: {wname} must be 2-D {layout}, got shape {sw}")
    n_in, n_out = (sw[1], sw[0]) if transposed else sw
    if len(sx) < 1 or sx[-1] != n_in:
        raise ValueError(f"{fname}: inputs of shape {sx} need a last dimension of {n_in} "
                         f"to match the {wname} of shape {sw}")
    if bias is not None and tuple(shape_of(bias)) != (n_out,):
        raise ValueError(f"{fname}: bias must have shape ({n_out},), got {shape_of(bias)}")


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

    Formula
    -------
    Y = A B;   dL/dA = G Bᵀ,  dL/dB = Aᵀ G   (batch axes unbroadcast)

    Shape
    -----
    (..., m, k) @ (..., k, n) -> (..., m, n); a 1-D left operand acts as (1, k), a 1-D
    right operand as (k, 1), and that axis is dropped from the result.

    Examples
    --------
    >>> import deepsheet as ds, numpy as np
    >>> ds.functional.matmul(ds.tensor(np.ones((2, 3))), ds.tensor(np.ones((3, 4)))).shape
    (2, 4)
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
        raise ValueError(
            f"matmul: batch axes of shapes {sa} and {sb} cannot be broadcast") from None
    return MatMul.apply(a, b)
