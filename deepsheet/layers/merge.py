"""Merge layers: combine several tensors into one (skip connections, multi-branch models).

Elementwise merges (``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
``Minimum``) take a list of tensors of the same shape (or shapes that broadcast, as NumPy
does) and apply the operation across them; ``Concatenate`` joins them along one axis. Their
gradients come from the elementwise ops of ``deepsheet.functional`` (broadcasting undone
there), so nothing here has a backward of its own.

Examples
--------
>>> import deepsheet as ds
>>> from deepsheet import layers
>>> x = ds.Input((16,))
>>> h = layers.Dense(16, activation="relu")(x)
>>> y = layers.Add()([x, h])          # a residual (skip) connection
>>> y.shape
(None, 16)
"""
from __future__ import annotations

from .. import backend
from .. import functional as F
from .base import Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]


def _broadcast_shapes(layer, shapes):
    """NumPy broadcasting of shapes with unknown (None) sizes; a clear error if impossible."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        dims = [s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"{type(layer).__name__} '{layer.name}' needs inputs of the same "
                             f"shape (or shapes that broadcast), got {[tuple(s) for s in shapes]}")
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


class _Merge(Layer):
    """Base of the elementwise merges: checks the input list and broadcasts shapes."""

    min_inputs = 2
    max_inputs = None

    def _check_inputs(self, shapes):
        if not isinstance(shapes, list):
            raise ValueError(f"{type(self).__name__} '{self.name}' takes a list of tensors, "
                             f"got a single input of shape {tuple(shapes)}")
        n = len(shapes)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            want = (f"exactly {self.min_inputs}" if self.max_inputs == self.min_inputs
                    else f"at least {self.min_inputs}")
            raise ValueError(f"{type(self).__name__} '{self.name}' takes {want} inputs, got {n}")

    def build(self, input_shape):
        self._check_inputs(input_shape)
        _broadcast_shapes(self, [tuple(s) for s in input_shape])
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_inputs(input_shape)
        return _broadcast_shapes(self, [tuple(s) for s in input_shape])

    def call(self, inputs, training=False):
        self._check_inputs(list(inputs) if isinstance(inputs, (list, tuple)) else inputs.shape)
        return self._merge(list(inputs))

    def _merge(self, xs):  # pragma: no cover - abstract
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        """Keras's rule: a step is real where it is real in every input that has a mask."""
        masks = _input_masks(inputs)
        if not any(m is not None for m in masks):
            return None
        out = None
        for m in masks:
            if m is not None:
                out = m if out is None else out & m
        return out


def _input_masks(inputs):
    items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    return [getattr(x, "_keras_mask", None) for x in items]


class Add(_Merge):
    """Elementwise sum of its inputs (residual connections).

    Formula
    -------
    y = x_1 + x_2 + ... + x_n;   dL/dx_i = dL/dy

    Shape
    -----
    list of (batch, ...) -> (batch, ...)
    """

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = F.add(out, x)
        return out


class Subtract(_Merge):
    """Difference of exactly two inputs.

    Formula
    -------
    y = x_1 - x_2;   dL/dx_1 = dL/dy,  dL/dx_2 = -dL/dy
    """

    max_inputs = 2

    def _merge(self, xs):
        return F.sub(xs[0], xs[1])


class Multiply(_Merge):
    """Elementwise product of its inputs (gating).

    Formula
    -------
    y = x_1 * x_2 * ... * x_n;   dL/dx_i = dL/dy * prod_{j != i} x_j
    """

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = F.mul(out, x)
        return out


class Average(_Merge):
    """Elementwise mean of its inputs.

    Formula
    -------
    y = (x_1 + ... + x_n) / n;   dL/dx_i = dL/dy / n
    """

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = F.add(out, x)
        return F.mul(out, 1.0 / len(xs))


class Maximum(_Merge):
    """Elementwise maximum of its inputs (the gradient goes to the larger input)."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = F.maximum(out, x)
        return out


class Minimum(_Merge):
    """Elementwise minimum of its inputs (the gradient goes to the smaller input)."""

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = F.minimum(out, x)
        return out


class Concatenate(_Merge):
    """Join its inputs along ``axis`` (all other sizes must agree).

    Formula
    -------
    y = [x_1 | x_2 | ... | x_n] along ``axis``; dL/dx_i is the slice of dL/dy that x_i filled.

    Parameters
    ----------
    axis : int
        Axis to join along; -1 (the features) by default. The batch axis (0) is refused.

    Shape
    -----
    list of (batch, ..., d_i, ...) -> (batch, ..., sum_i d_i, ...)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _axis(self, rank):
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 0 < axis < rank:
            raise ValueError(f"Concatenate '{self.name}': axis {self.axis} is not a feature axis "
                             f"of inputs of rank {rank} (the batch axis 0 cannot be joined)")
        return axis

    def compute_output_shape(self, input_shape):
        self._check_inputs(input_shape)
        shapes = [tuple(s) for s in input_shape]
        ranks = {len(s) for s in shapes}
        if len(ranks) > 1:
            raise ValueError(f"Concatenate '{self.name}' needs inputs of the same rank, got "
                             f"{shapes}")
        axis = self._axis(ranks.pop())
        out = list(shapes[0])
        for s in shapes[1:]:
            for i, (a, b) in enumerate(zip(out, s)):
                if i == axis or i == 0:
                    continue
                if a is not None and b is not None and a != b:
                    raise ValueError(f"Concatenate '{self.name}' (axis={self.axis}) needs "
                                     f"inputs whose other sizes agree, got {shapes}")
                if a is None:
                    out[i] = b
        sizes = [s[axis] for s in shapes]
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)
        self.built = True

    def _merge(self, xs):
        return F.concatenate(xs, axis=self._axis(xs[0].ndim))

    def compute_mask(self, inputs, mask=None):
        """Keras's rule: each input's mask (all True where it has none) spread over its
        shape, joined along ``axis``, then reduced over the last axis with "any"."""
        masks = _input_masks(inputs)
        if not any(m is not None for m in masks):
            return None
        xp = backend.array_module(inputs[0].data)
        full = []
        for x, m in zip(inputs, masks):
            if m is None:
                full.append(xp.ones(x.shape, dtype=bool))
            else:
                m = xp.asarray(m, dtype=bool)
                while m.ndim < x.ndim:
                    m = m[..., None]
                full.append(xp.broadcast_to(m, x.shape))
        return xp.concatenate(full, axis=self._axis(inputs[0].ndim)).any(axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
