"""``reduce_loss``: the weighting and reduction of the loss nodes, for per-sample losses
computed by any function (custom losses)."""
from __future__ import annotations

from ... import backend
from ._base import _Reduction
from ._inputs import _array_like, _fit, _pred, _weights, check_reduction

__all__ = ["reduce_loss"]


class _Reduce(_Reduction):
    """Weighting and reduction of per-sample losses computed elsewhere (custom loss functions).

    Gradient: dJ/dLᵢ = wᵢ · (1/m for "sum_over_batch_size", else 1), times the upstream g.
    """

    def forward(self, values):
        self.shape = values.shape
        return self._reduce(values)

    def backward(self, g):
        g = self._mean_grad(g)
        if self.weight is not None:
            g = g * self.weight
        xp = backend.array_module(g)
        return _fit(xp, xp.asarray(g), self.shape, materialize=True)


def reduce_loss(values, sample_weight=None, reduction="sum_over_batch_size", mask=None):
    """Weight and reduce per-sample losses computed by any function (one graph node).

    Formula
    -------
    "sum_over_batch_size": Σ wᵢ·Lᵢ / m  (m = number of losses, masked ones excluded)
    "sum": Σ wᵢ·Lᵢ;   "none": wᵢ·Lᵢ

    Parameters
    ----------
    values : Tensor
        Per-sample losses.
    sample_weight : array_like, optional
    reduction : {"sum_over_batch_size", "sum", "none"}
    mask : array_like of bool, optional
        False entries are dropped from the sum and from m.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.reduce_loss(ds.tensor([1.0, 3.0]), sample_weight=[1.0, 0.0]).item()
    0.5
    """
    reduction = check_reduction("reduce_loss", reduction)
    values = _pred(values)
    if mask is not None:
        mask = _array_like(mask, values.data).astype(bool)
    weight, count = _weights("reduce_loss", sample_weight, values.shape, values, mask)
    return _Reduce.apply(values, reduction=reduction, weight=weight, count=count)
