"""Weight penalties (Keras's ``keras.regularizers``): L1, L2 and L1L2.

A regularizer is a callable ``penalty(w) -> scalar tensor`` added to the training loss.
Attached to a layer (``Dense(..., kernel_regularizer=L2(1e-4))``) it appears in
``layer.losses``, recomputed from the current weights, and the training loop adds it.

Formula (Keras's, with no factor 1/2):

    L1:   Ω(w) = l1 · Σ |w|            dΩ/dw = l1 · sign(w)   (0 at w = 0)
    L2:   Ω(w) = l2 · Σ w²             dΩ/dw = 2 · l2 · w
    L1L2: Ω(w) = l1 · Σ |w| + l2 · Σ w²

The cheat sheet's L2 term (λ/2)·||w||² is ``L2(l2=λ/2)``. With plain SGD an L2 penalty
equals PyTorch's ``weight_decay = 2·l2``; with adaptive optimizers (Adam) it is not
decoupled decay (that is AdamW). L1 drives weights to exactly zero (sparse models); L2
shrinks them smoothly.

Examples
--------
>>> import deepsheet as ds
>>> w = ds.tensor([[1.0, -2.0]], requires_grad=True)
>>> ds.regularizers.L2(0.5)(w).item()   # 0.5 * (1 + 4)
2.5
"""
from __future__ import annotations

import math

from . import _registry, backend
from .autograd import Function

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize",
           "deserialize"]


class _Penalty(Function):
    """l1·Σ|w| + l2·Σw² as one graph node (a penalty per weight per step: keep it cheap)."""

    def forward(self, w):
        xp = backend.array_module(w)
        self.w = w
        total = 0.0
        if self.l1:
            total = self.l1 * xp.abs(w).sum()
        if self.l2:
            flat = w.reshape(-1)
            total = total + self.l2 * xp.vdot(flat, flat)
        return xp.asarray(total, dtype=w.dtype)

    def backward(self, g):
        xp = backend.array_module(self.w)
        grad = None
        if self.l1:
            grad = (g * self.l1) * xp.sign(self.w)
        if self.l2:
            term = (g * (2.0 * self.l2)) * self.w
            grad = term if grad is None else grad + term
        return grad.astype(self.w.dtype, copy=False) if grad is not None else xp.zeros_like(self.w)


def _factor(cls, name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{cls}: {name} must be a number, got {value!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{cls}: {name} must be a non-negative finite number, got {value!r}")
    return value


class Regularizer(_registry.Configurable):
    """Base class: ``__call__(w)`` returns a scalar penalty tensor; config for saving."""

    def __call__(self, w):  # pragma: no cover - abstract
        raise NotImplementedError


class L1L2(Regularizer):
    """Ω(w) = l1 · Σ|w| + l2 · Σw²  (elastic net). Keras's defaults: l1 = l2 = 0.

    Formula::

        Ω(w) = l1 · Σ_i |w_i| + l2 · Σ_i w_i²
    """

    def __init__(self, l1=0.0, l2=0.0):  # noqa: D107
        self.l1 = _factor(type(self).__name__, "l1", l1)
        self.l2 = _factor(type(self).__name__, "l2", l2)

    def __call__(self, w):
        return _Penalty.apply(w, l1=self.l1, l2=self.l2)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """Ω(w) = l1 · Σ|w| (lasso; gradient l1 · sign(w)). Keras's default l1 = 0.01.

    Formula::

        Ω(w) = l1 · Σ_i |w_i|,   ∂Ω/∂w = l1 · sign(w)   (0 at w = 0)
    """

    def __init__(self, l1=0.01):  # noqa: D107
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """Ω(w) = l2 · Σw² (ridge / weight decay; gradient 2 · l2 · w). Keras's default l2 = 0.01.

    Formula::

        Ω(w) = l2 · Σ_i w_i²,   ∂Ω/∂w = 2 · l2 · w
    """

    def __init__(self, l2=0.01):  # noqa: D107
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


# Keras's lowercase aliases.
l1, l2, l1_l2 = L1, L2, L1L2

_NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}
_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}


def _lookup(name):
    return _registry.lookup("regularizer", name, _NAMES, _CLASSES)


def get(identifier):
    """A regularizer from None, a name ("l1", "l2", "l1_l2"), a config, an object or a callable."""
    return _registry.get(identifier, Regularizer, _lookup, deserialize, "regularizer",
                         "None, a name ('l1', 'l2', 'l1_l2'), a Regularizer, a config dict or "
                         "a callable")


def serialize(regularizer):
    """``{"class_name": ..., "config": ...}`` for a Regularizer (None stays None)."""
    if regularizer is None:
        return None
    if isinstance(regularizer, str):
        regularizer = get(regularizer)
    if not isinstance(regularizer, Regularizer):
        raise ValueError(f"cannot serialize regularizer {regularizer!r}: only deepsheet."
                         "regularizers objects can be saved")
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def deserialize(config):
    """Inverse of ``serialize``; unknown classes are refused."""
    if config is None:
        return None
    return _registry.from_spec("regularizer", config, _lookup)
