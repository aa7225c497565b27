"""The path every loss node takes, defined here once (not public).

Forward, in ``_LossNode.forward``:
  1. y_true and y_pred are arrays of the same shape (or labels without the class axis); the
     reduced axis (the features, or the classes) is moved last.
  2. ``per_sample(t, p)`` returns one loss Lᵢ per sample: the reduced axis is gone.
  3. ``_reduce``: Lᵢ times the sample weight wᵢ, then "none" (wᵢLᵢ), "sum" (Σ wᵢLᵢ) or
     "sum_over_batch_size" (Σ wᵢLᵢ / m, m = number of unmasked losses; 0 when m = 0).
Backward runs the same path in reverse, in ``_LossNode.backward``: dJ/dLᵢ = g·wᵢ (times 1/m
for the mean), ``per_sample_grad`` turns it into dJ/dŷ (and dJ/dy when the targets need
one), and the reduced axis is moved back. Each node writes only step 2 and its gradient.
"""
from __future__ import annotations

from ... import backend
from ...autograd import Function
from ._inputs import _fit, _weights

__all__ = []


class _Reduction(Function):
    """Sample weights and the reduction of per-sample losses, shared by every loss node.

    Parameters from ``apply``: reduction, weight (array or None), count (the number of
    per-sample losses the mean divides by).
    """

    def _reduce(self, per):
        if self.weight is not None:
            per = per * self.weight
        if self.reduction == "none":
            return per
        total = per.sum()
        if self.reduction == "sum":
            return total
        return total / self.count if self.count else total * 0.0

    def _mean_grad(self, g):
        """dJ/dLᵢ before the weights: g/count for the mean, g otherwise."""
        if self.reduction == "sum_over_batch_size":
            return g * (1.0 / self.count) if self.count else g * 0.0
        return g


class _LossNode(_Reduction):
    """Per-sample loss + sample weights + reduction in one graph node.

    Subclasses write ``per_sample(y_true, y_pred)`` and ``per_sample_grad(g)`` (g: dJ/dLᵢ,
    broadcastable to the per-sample shape) on arrays whose reduced axis is last. Parameters
    from ``apply``: reduction, weight (array or None), count, axis (the reduced axis of
    y_pred), target_axis (whether y_true has that axis too).
    """

    target_axis = True

    def forward(self, y_true, y_pred):
        self.shapes = (y_true.shape, y_pred.shape)
        xp = backend.array_module(y_pred)
        last = y_pred.ndim - 1
        self.moved = y_pred.ndim > 0 and self.axis != last
        if self.moved:
            y_pred = xp.moveaxis(y_pred, self.axis, -1)
            if self.target_axis:
                y_true = xp.moveaxis(y_true, self.axis, -1)
        elif y_pred.ndim == 0:  # a single prediction is one sample with one output
            y_pred, y_true = y_pred.reshape(1), y_true.reshape(1)
        per = self.per_sample(y_true, y_pred)
        self.per_shape = per.shape
        return self._reduce(per)

    def backward(self, g):
        g = self._mean_grad(g)
        xp = backend.array_module(g)
        if self.weight is not None:
            g = _fit(xp, g * self.weight, self.per_shape)
        gt, gp = self.per_sample_grad(g)
        st, sp = self.shapes
        if self.moved:
            gp = xp.moveaxis(gp, -1, self.axis) if gp is not None else None
            if self.target_axis and gt is not None:
                gt = xp.moveaxis(gt, -1, self.axis)
        if gp is not None and gp.shape != sp:
            gp = gp.reshape(sp)
        if gt is not None and gt.shape != st:
            gt = gt.reshape(st)
        return gt, gp

    def per_sample(self, y_true, y_pred):  # pragma: no cover - abstract
        raise NotImplementedError

    def per_sample_grad(self, g):  # pragma: no cover - abstract
        raise NotImplementedError


def _apply(name, cls, y_true, y_pred, sample_weight, reduction, axis=-1, mask=None, **params):
    per_shape = tuple(y_pred.shape[:axis]) + tuple(y_pred.shape[axis + 1:]) if y_pred.ndim else ()
    weight, count = _weights(name, sample_weight, per_shape, y_pred, mask)
    return cls.apply(y_true, y_pred, reduction=reduction, weight=weight, count=count,
                     axis=axis, **params)
