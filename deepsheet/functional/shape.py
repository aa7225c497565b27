"""Shape operations: reshape, transpose, broadcast, join and split, padding.

These move values around without arithmetic, so each backward routes the gradient back to
where the value came from: a reshape reshapes it back, a transpose applies the inverse
permutation, a broadcast sums over the copies. Indexing (``getitem``) is in ``indexing.py``. Names and
signatures follow NumPy (``numpy.pad`` widths, ``numpy.split`` sections or indices).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function, unbroadcast
from ..tensor import Tensor
from ._util import normalize_axis, operand, torch_names

__all__ = ["reshape", "transpose", "permute", "swapaxes", "moveaxis", "broadcast_to", "squeeze",
           "unsqueeze", "expand_dims", "flatten", "concatenate", "cat", "stack", "split", "pad"]


def _xp(*arrays):
    return backend.array_module(*arrays)


def _tensorish(a):
    """Tensors pass; anything else becomes a backend array (so ``.shape`` exists)."""
    if isinstance(a, Tensor) or (hasattr(a, "shape") and hasattr(a, "dtype")
                                 and not isinstance(a, np.generic)):
        return a
    return backend.as_array(a)


def _axis(name, axis, ndim):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{name}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis} is out of bounds for a tensor of rank {ndim}")
    return int(axis) % ndim


# ---------------------------------------------------------------- reshape family

class ReshapeOp(Function):
    def forward(self, a):
        self.src = a.shape
        return a.reshape(self.shape)

    def backward(self, g):
        return g.reshape(self.src)


def reshape(a, shape):
    """Give new dimensions to the same values (``numpy.reshape``; one entry may be -1).

    Formula
    -------
    y = a viewed with ``shape`` (row-major order);   dL/da = reshape(g, a.shape)

    Examples
    --------
    >>> import deepsheet as ds, numpy as np
    >>> ds.functional.reshape(ds.tensor(np.arange(6.0)), (2, -1)).shape
    (2, 3)
    """
    a = _tensorish(a)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
    try:
        return ReshapeOp.apply(a, shape=shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} "
                         f"({int(np.prod(a.shape))} elements) into shape {shape}") from None


class Transpose(Function):
    def forward(self, a):
        return a.transpose(self.axes)

    def backward(self, g):
        return g.transpose(self.inverse)


def transpose(a, axes=None):
    """Permute the axes (``numpy.transpose``; ``axes=None`` reverses them).

    Formula
    -------
    y[i_{p(0)}, ..., i_{p(n-1)}] = a[i_0, ..., i_{n-1}] for the permutation p = axes;
    dL/da = transpose(g, p⁻¹)

    Examples
    --------
    >>> import deepsheet as ds, numpy as np
    >>> ds.functional.transpose(ds.tensor(np.ones((2, 3, 4))), (2, 0, 1)).shape
    (4, 2, 3)
    """
    a = _tensorish(a)
    ndim = a.ndim
    if axes is None:
        axes = tuple(range(ndim - 1, -1, -1))
    else:
        axes = tuple(axes)
        normalized = tuple(int(ax) % ndim if ndim and -ndim <= ax < ndim else None for ax in axes)
        if None in normalized or sorted(normalized) != list(range(ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {ndim} axes "
                             f"of a tensor of shape {a.shape}")
        axes = normalized
    inverse = tuple(int(i) for i in np.argsort(axes))
    return Transpose.apply(a, axes=axes, inverse=inverse)


def permute(a, *axes):
    """Reorder the axes like PyTorch's ``permute``: ``permute(x, 2, 0, 1)`` or ``(x, (2, 0, 1))``.

    Formula
    -------
    Same as ``transpose(a, axes)``;   dL/da = transpose(g, axes⁻¹)
    """
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return transpose(a, axes)


def swapaxes(a, axis1, axis2):
    """Exchange two axes (``numpy.swapaxes``); the gradient swaps them back."""
    a = _tensorish(a)
    perm = list(range(a.ndim))
    i, j = _axis("swapaxes", axis1, a.ndim), _axis("swapaxes", axis2, a.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


def moveaxis(a, source, destination):
    """Move one axis to a new position (``numpy.moveaxis``); the gradient moves it back."""
    a = _tensorish(a)
    src = _axis("moveaxis", source, a.ndim)
    dst = _axis("moveaxis", destination, a.ndim)
    perm = [i for i in range(a.ndim) if i != src]
    perm.insert(dst, src)
    return transpose(a, perm)


class BroadcastTo(Function):
    def forward(self, a):
        self.src = a.shape
        return _xp(a).broadcast_to(a, self.shape)

    def backward(self, g):
        return unbroadcast(g, self.src)


def broadcast_to(a, shape):
    """Repeat size-1 (and missing leading) axes to reach ``shape`` (``numpy.broadcast_to``).

    Formula
    -------
    y = a repeated along broadcast axes;   dL/da = Σ of g over the repeated axes

    The result is a read-only view, as in NumPy.
    """
    a = _tensorish(a)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
    try:
        if np.broadcast_shapes(a.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast a tensor of shape {a.shape} "
                         f"to shape {shape}") from None
    return BroadcastTo.apply(a, shape=shape)


def squeeze(a, axis=None):
    """Remove axes of length one (``numpy.squeeze``; ``axis=None`` removes all of them).

    Formula
    -------
    y = a without size-1 axes;   dL/da = reshape(g, a.shape)
    """
    a = _tensorish(a)
    shape = a.shape
    if axis is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
    else:
        axes = normalize_axis(axis, a.ndim) if a.ndim else ()
        bad = [shape[i] for i in axes if shape[i] != 1]
        if bad:
            raise ValueError(f"squeeze: axis {axis} of a tensor of shape {shape} has size "
                             f"{bad[0]}, expected 1")
    return ReshapeOp.apply(a, shape=tuple(n for i, n in enumerate(shape) if i not in axes))


def unsqueeze(a, axis):
    """Insert axes of length one at ``axis`` (an int or a tuple; ``numpy.expand_dims``).

    Formula
    -------
    y = a with new size-1 axes;   dL/da = reshape(g, a.shape)

    Examples
    --------
    >>> import deepsheet as ds, numpy as np
    >>> ds.functional.unsqueeze(ds.tensor(np.ones((2, 3))), -1).shape
    (2, 3, 1)
    """
    a = _tensorish(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_ndim = a.ndim + len(axes)
    for ax in axes:
        if not -out_ndim <= ax < out_ndim:
            raise ValueError(f"unsqueeze: axis {axis} is out of bounds for the result of rank "
                             f"{out_ndim} (input shape {a.shape})")
    new = sorted(int(ax) % out_ndim for ax in axes)
    if len(set(new)) != len(new):
        raise ValueError(f"unsqueeze: repeated axis in {axis}")
    dims = iter(a.shape)
    shape = tuple(1 if i in new else next(dims) for i in range(out_ndim))
    return ReshapeOp.apply(a, shape=shape)


expand_dims = unsqueeze


def flatten(a, start_axis=0, end_axis=-1):
    """Merge the axes ``start_axis`` .. ``end_axis`` (inclusive) into one (``torch.flatten``).

    Formula
    -------
    y = reshape(a, a.shape[:s] + (Π a.shape[s:e+1],) + a.shape[e+1:]);
    dL/da = reshape(g, a.shape)

    A 0-d input becomes shape (1,), as in NumPy and PyTorch.
    """
    a = _tensorish(a)
    if a.ndim == 0:
        return ReshapeOp.apply(a, shape=(1,))
    s = _axis("flatten", start_axis, a.ndim)
    e = _axis("flatten", end_axis, a.ndim)
    if s > e:
        raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis} "
                         f"for a tensor of shape {a.shape}")
    shape = a.shape
    merged = 1
    for n in shape[s:e + 1]:
        merged *= n
    return ReshapeOp.apply(a, shape=shape[:s] + (merged,) + shape[e + 1:])


# ---------------------------------------------------------------- join and split

class ConcatenateOp(Function):
    def forward(self, *arrays):
        self.bounds = np.cumsum([x.shape[self.axis] for x in arrays])[:-1].tolist()
        return _xp(*arrays).concatenate(arrays, axis=self.axis)

    def backward(self, g):
        pieces = _xp(g).split(g, self.bounds, axis=self.axis)
        return tuple(p if need else None for p, need in zip(pieces, self.needs_input_grad))


class Stack(Function):
    def forward(self, *arrays):
        self.n = len(arrays)
        return _xp(*arrays).stack(arrays, axis=self.axis)

    def backward(self, g):
        lead = (slice(None),) * self.axis
        # The trailing Ellipsis keeps a 0-d result an array, not a NumPy scalar.
        return tuple(g[lead + (i, Ellipsis)] if need else None
                     for i, need in enumerate(self.needs_input_grad))


def _sequence(name, tensors):
    if isinstance(tensors, (Tensor, np.ndarray)) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{name} expects a sequence of tensors, got {type(tensors).__name__}")
    tensors = [_tensorish(operand(t)) for t in tensors]
    if not tensors:
        raise ValueError(f"{name} needs at least one tensor")
    return tensors


@torch_names
def concatenate(tensors, axis=0):
    """Join tensors along an existing axis (``numpy.concatenate``; ``axis=None`` flattens first).

    Formula
    -------
    y = [a_1, a_2, ...] along ``axis``;   dL/da_k = the slice of g that a_k filled

    Examples
    --------
    >>> import deepsheet as ds, numpy as np
    >>> ds.functional.concatenate([ds.tensor(np.ones((2, 3))), ds.tensor(np.ones((1, 3)))]).shape
    (3, 3)
    """
    tensors = _sequence("concatenate", tensors)
    if axis is None:
        tensors = [reshape(t, (-1,)) for t in tensors]
        axis = 0
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated")
    ax = _axis("concatenate", axis, ndim)
    ref = tensors[0].shape
    for t in tensors[1:]:
        if t.ndim != ndim or t.shape[:ax] + t.shape[ax + 1:] != ref[:ax] + ref[ax + 1:]:
            raise ValueError(f"concatenate: shapes {ref} and {t.shape} differ outside axis {axis}")
    return ConcatenateOp.apply(*tensors, axis=ax)


cat = concatenate  # PyTorch's name: ``cat(tensors, dim=0)``


@torch_names
def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis (``numpy.stack``).

    Formula
    -------
    y[..., k, ...] = a_k;   dL/da_k = g[..., k, ...]
    """
    tensors = _sequence("stack", tensors)
    ref = tensors[0].shape
    for t in tensors[1:]:
        if t.shape != ref:
            raise ValueError(f"stack: all tensors need the same shape, got {ref} and {t.shape}")
    ax = _axis("stack", axis, len(ref) + 1)
    return Stack.apply(*tensors, axis=ax)


class Split(Function):
    def forward(self, a):
        self.shapes = None
        pieces = _xp(a).split(a, self.indices_or_sections, axis=self.axis)
        self.shapes = [p.shape for p in pieces]
        self.dtype = a.dtype
        return tuple(pieces)

    def backward(self, *grads):
        xp = _xp(*[g for g in grads if g is not None])
        # An unused piece contributes zeros (its slice of the input had no effect on L).
        full = [g if g is not None else xp.zeros(s, dtype=self.dtype)
                for g, s in zip(grads, self.shapes)]
        return xp.concatenate(full, axis=self.axis)


def split(a, indices_or_sections, axis=0):
    """Split into pieces along ``axis`` (``numpy.split``), returning a list of tensors.

    ``indices_or_sections`` is either N (N equal pieces; the axis length must divide) or a
    sorted list of split points, as in NumPy.

    Formula
    -------
    y_k = a[..., i_k:i_{k+1}, ...];   dL/da = concatenate(g_k) (zeros for unused pieces)
    """
    a = _tensorish(a)
    if a.ndim == 0:
        raise ValueError("split: cannot split a 0-d tensor")
    ax = _axis("split", axis, a.ndim)
    if isinstance(indices_or_sections, (int, np.integer)):
        n = int(indices_or_sections)
        if n <= 0 or a.shape[ax] % n:
            raise ValueError(f"split: axis {axis} of length {a.shape[ax]} cannot be split into "
                             f"{n} equal pieces (numpy.array_split semantics are not supported)")
        ios = n
    else:
        ios = [int(i) for i in indices_or_sections]
    return list(Split.apply(a, indices_or_sections=ios, axis=ax))


# ---------------------------------------------------------------- padding

_PAD_MODES = ("constant", "reflect", "symmetric", "edge", "wrap")


class Pad(Function):
    def forward(self, a):
        self.shape = a.shape
        xp = _xp(a)
        if not self.widths:  # a 0-d tensor has nothing to pad
            return a.copy()
        if self.mode == "constant":
            return xp.pad(a, self.widths, mode="constant", constant_values=self.constant_values)
        return xp.pad(a, self.widths, mode=self.mode)

    def backward(self, g):
        inner = tuple(slice(b, b + n) for (b, _), n in zip(self.widths, self.shape))
        if self.mode == "constant":
            return g[inner]
        # The other modes copy input positions into the border. Undo one axis at a time
        # (padding is separable): keep the centre, then add each border slice back onto the
        # input position it was copied from (found by padding the positions themselves).
        for ax in range(len(self.shape) - 1, -1, -1):
            before, after = self.widths[ax]
            if not before and not after:
                continue
            n = self.shape[ax]
            source = np.pad(np.arange(n), (before, after), mode=self.mode)
            lead = (slice(None),) * ax
            acc = g[lead + (slice(before, before + n),)].copy()
            for p in [*range(before), *range(before + n, before + n + after)]:
                acc[lead + (int(source[p]),)] += g[lead + (p,)]
            g = acc
        return g


def _pad_widths(pad_width, ndim):
    try:
        widths = np.broadcast_to(np.asarray(pad_width), (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor of rank {ndim}; "
                         "give an int, (before, after) or one (before, after) per axis") from None
    if widths.dtype.kind not in "iu" or (widths < 0).any():
        raise ValueError(f"pad: pad_width must hold non-negative integers, got {pad_width!r}")
    return tuple((int(b), int(e)) for b, e in widths)


def pad(a, pad_width, mode="constant", constant_values=0):
    """Pad with ``numpy.pad``'s widths: an int, (before, after), or one pair per axis.

    Modes: "constant" (fill with ``constant_values``), "reflect" (mirror without repeating
    the edge: 3 2 | 1 2 3 | 2 1), and also "symmetric" (mirror with the edge), "edge"
    (repeat the edge) and "wrap" (periodic).

    Formula
    -------
    constant: y = a in the centre, c in the border;   dL/da = the centre of g
    reflect/symmetric/edge/wrap: y_j = a_{s(j)} for a source index map s per axis;
    dL/da_i = Σ_{j : s(j) = i} g_j   (the border gradients fold back onto their sources)

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.pad(ds.tensor([1.0, 2.0, 3.0]), 2, mode="reflect")
    tensor([3., 2., 1., 2., 3., 2., 1.])
    """
    a = _tensorish(a)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {_PAD_MODES}, got {mode!r}")
    widths = _pad_widths(pad_width, a.ndim)
    if mode != "constant":
        for ax, ((b, e), n) in enumerate(zip(widths, a.shape)):
            if (b or e) and n == 0:
                raise ValueError(f"pad: mode {mode!r} cannot pad the empty axis {ax} of a "
                                 f"tensor of shape {a.shape}")
    if isinstance(constant_values, np.generic):
        constant_values = constant_values.item()  # a NumPy float64 would upcast float32 data
    return Pad.apply(a, widths=widths, mode=mode, constant_values=constant_values)

