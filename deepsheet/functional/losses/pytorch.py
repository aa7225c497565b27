"""The losses under PyTorch's names, order and defaults, over the same fused nodes.

``torch.nn.functional`` calls a loss ``f(input, target)`` — prediction first — with the
class axis second for ``(N, C, d1, ...)`` inputs and ``reduction="mean"``; Keras calls it
``f(y_true, y_pred)`` with classes last. A user guesses the convention from the name:
``cross_entropy``, ``nll_loss``, ``mse_loss``, ``l1_loss``, ``binary_cross_entropy`` and
``binary_cross_entropy_with_logits`` follow PyTorch, the Keras-named functions next to them
follow Keras. Each maps its arguments onto the fused node of the Keras-named function
(one graph node for the common calls) and reduces as PyTorch:

* ``"mean"``: the mean over every loss element (over the non-ignored ones; with class
  ``weight``: Σ wᵢ Lᵢ / Σ wᵢ, as PyTorch);
* ``"sum"``: Σ wᵢ Lᵢ;   ``"none"``: the per-element losses wᵢ Lᵢ.
"""
from __future__ import annotations

import numpy as np

from ... import backend
from ..math import abs as _abs
from ..reductions import mean as _mean
from ..reductions import sum as _sum
from ..shape import expand_dims
from ._inputs import _array_like, _pred
from .crossentropy import binary_crossentropy, categorical_crossentropy, \
    sparse_categorical_crossentropy
from .regression import mean_absolute_error, mean_squared_error

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]

_TORCH_REDUCTIONS = ("none", "mean", "sum")


def _reduction(name, reduction):
    if reduction not in _TORCH_REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'none', 'mean' or 'sum' (PyTorch's), got "
                         f"{reduction!r}")
    return reduction


def _class_axis(input):
    return 1 if input.ndim >= 2 else 0


def _index_targets(name, input, target, ignore_index):
    """Integer targets as an array of input's batch shape, and the mask of counted ones."""
    xp = backend.array_module(input.data)
    t = _array_like(target, input.data)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold class indices (integers) or class "
                        f"probabilities of the input's shape {tuple(input.shape)}, got dtype "
                        f"{t.dtype} and shape {tuple(t.shape)}")
    axis = _class_axis(input)
    want = tuple(input.shape[:axis]) + tuple(input.shape[axis + 1:])
    if tuple(t.shape) != want:
        raise ValueError(f"{name}: input of shape {tuple(input.shape)} (class axis {axis}) "
                         f"needs class indices of shape {want}, got {tuple(t.shape)}")
    keep = t != ignore_index
    n_classes = input.shape[axis]
    bad = keep & ((t < 0) | (t >= n_classes))
    if bool(xp.any(bad)):
        raise ValueError(f"{name}: class indices must lie in [0, {n_classes}) (or equal "
                         f"ignore_index={ignore_index}), got {int(t[bad][0])}")
    return t, keep


def _class_weights(name, weight, t, keep, input):
    w = _array_like(weight, input.data).astype(input.data.dtype)
    n_classes = input.shape[_class_axis(input)]
    if w.shape != (n_classes,):
        raise ValueError(f"{name}: weight must have one entry per class, shape ({n_classes},), "
                         f"got {tuple(w.shape)}")
    xp = backend.array_module(w)
    return w[xp.where(keep, t, 0)] * keep


def _weighted_mean(total, weights):
    denom = float(backend.array_module(weights).sum(weights))
    return total * (1.0 / denom) if denom else total * 0.0


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",  # noqa: A002
                  label_smoothing=0.0):
    """Cross-entropy of logits ``input`` against class indices or class probabilities.

    Formula
    -------
    class indices y:   Lᵢ = wᵧ (logsumexp(zᵢ) − zᵢ,ᵧ),   ∂Lᵢ/∂zᵢ = wᵧ (softmax(zᵢ) − onehot(y))
    probabilities y:   Lᵢ = −Σ_c y_c log softmax(zᵢ)_c
    label smoothing ε: the target becomes (1 − ε) onehot(y) + ε / C.

    Parameters
    ----------
    input : Tensor
        Logits, (N, C) or (N, C, d1, ...), or (C,) for one sample.
    target : array_like
        Class indices (N,) / (N, d1, ...) in [0, C), or probabilities of input's shape.
    weight : array_like (C,), optional
        Per-class weights; "mean" then divides by the summed weights of the targets.
    ignore_index : int
        Targets equal to it give no loss, no gradient and do not count.
    reduction : "mean", "sum" or "none"
    label_smoothing : float in [0, 1]

    Matches ``torch.nn.functional.cross_entropy``.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.cross_entropy(ds.tensor([[0.0, 0.0]]), [1]).item()
    0.6931471824645996
    """
    name = "cross_entropy"
    reduction = _reduction(name, reduction)
    input = _pred(input)
    axis = _class_axis(input)
    keras_reduction = {"mean": "sum_over_batch_size", "sum": "sum", "none": "none"}[reduction]
    t = _array_like(target, input.data)
    if t.dtype.kind == "f" and tuple(t.shape) == tuple(input.shape):
        if weight is not None:
            raise ValueError(f"{name}: weight= with probability targets is not supported")
        return categorical_crossentropy(t, input, from_logits=True, axis=axis,
                                        label_smoothing=label_smoothing,
                                        reduction=keras_reduction)
    t, keep = _index_targets(name, input, target, ignore_index)
    if label_smoothing:
        if weight is not None:
            raise ValueError(f"{name}: weight= together with label_smoothing= is not "
                             "supported")
        xp = backend.array_module(input.data)
        n_classes = input.shape[axis]
        onehot = (xp.where(keep, t, 0)[..., None] == xp.arange(n_classes)).astype(
            input.data.dtype)
        if axis != onehot.ndim - 1:
            onehot = xp.moveaxis(onehot, -1, axis)
        per = categorical_crossentropy(onehot, input, from_logits=True, axis=axis,
                                       label_smoothing=label_smoothing,
                                       sample_weight=keep.astype(input.data.dtype),
                                       reduction="none" if reduction == "none" else "sum")
        return per if reduction != "mean" else _weighted_mean(per, keep.astype(np.float64))
    if weight is None:
        return sparse_categorical_crossentropy(t, input, from_logits=True,
                                               ignore_class=ignore_index, axis=axis,
                                               reduction=keras_reduction)
    w = _class_weights(name, weight, t, keep, input)
    per = sparse_categorical_crossentropy(_drop_ignored(t, keep), input, from_logits=True,
                                          axis=axis, sample_weight=w,
                                          reduction="none" if reduction == "none" else "sum")
    return per if reduction != "mean" else _weighted_mean(per, w)


def _drop_ignored(t, keep):
    """Ignored targets replaced by class 0 (their weight is 0, so they add nothing)."""
    return backend.array_module(t).where(keep, t, 0)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):  # noqa: A002
    """Negative log-likelihood of log-probabilities ``input`` (e.g. from ``log_softmax``).

    Formula
    -------
    Lᵢ = −wᵧ input[i, y],   ∂Lᵢ/∂input[i, c] = −wᵧ [c = y]

    Parameters are those of ``cross_entropy`` (no smoothing). Matches
    ``torch.nn.functional.nll_loss``.
    """
    name = "nll_loss"
    reduction = _reduction(name, reduction)
    input = _pred(input)
    t, keep = _index_targets(name, input, target, ignore_index)
    xp = backend.array_module(input.data)
    axis = _class_axis(input)
    onehot = (xp.where(keep, t, 0)[..., None] == xp.arange(input.shape[axis])).astype(
        input.data.dtype)
    if axis != onehot.ndim - 1:
        onehot = xp.moveaxis(onehot, -1, axis)
    w = keep.astype(input.data.dtype) if weight is None else \
        _class_weights(name, weight, t, keep, input)
    per = -_sum(input * onehot, axis=axis) * w
    if reduction == "none":
        return per
    total = _sum(per)
    return total if reduction == "sum" else _weighted_mean(total, w)


def _elementwise(name, input, target):
    input = _pred(input)
    t = _array_like(target, input.data)
    if tuple(t.shape) != tuple(input.shape):
        raise ValueError(f"{name}: target of shape {tuple(t.shape)} must have input's shape "
                         f"{tuple(input.shape)}")
    if t.dtype != input.data.dtype:
        t = t.astype(input.data.dtype)
    return input, t


def mse_loss(input, target, reduction="mean"):  # noqa: A002
    """Squared error (x − y)², averaged over every element by default.

    Formula
    -------
    "mean": J = (1/n) Σ (xᵢ − yᵢ)²,   ∂J/∂xᵢ = 2 (xᵢ − yᵢ) / n

    Matches ``torch.nn.functional.mse_loss``.
    """
    name = "mse_loss"
    reduction = _reduction(name, reduction)
    input, t = _elementwise(name, input, target)
    if reduction == "none":
        d = input - t
        return d * d
    total = mean_squared_error(t, input, reduction="sum_over_batch_size")
    return total if reduction == "mean" else total * float(input.data.size)


def l1_loss(input, target, reduction="mean"):  # noqa: A002
    """Absolute error |x − y|, averaged over every element by default.

    Formula
    -------
    "mean": J = (1/n) Σ |xᵢ − yᵢ|,   ∂J/∂xᵢ = sign(xᵢ − yᵢ) / n

    Matches ``torch.nn.functional.l1_loss``.
    """
    name = "l1_loss"
    reduction = _reduction(name, reduction)
    input, t = _elementwise(name, input, target)
    if reduction == "none":
        return _abs(input - t)
    total = mean_absolute_error(t, input, reduction="sum_over_batch_size")
    return total if reduction == "mean" else total * float(input.data.size)


def _binary(name, input, target, weight, reduction, from_logits):
    reduction = _reduction(name, reduction)
    input, t = _elementwise(name, input, target)
    if weight is None and reduction != "none":
        total = binary_crossentropy(t, input, from_logits=from_logits,
                                    reduction="sum_over_batch_size")
        return total if reduction == "mean" else total * float(input.data.size)
    # one loss per element: the fused node over a trailing axis of length 1
    per = binary_crossentropy(t[..., None], expand_dims(input, -1), from_logits=from_logits,
                              reduction="none")
    if weight is not None:
        per = per * _array_like(weight, input.data).astype(input.data.dtype)
    if reduction == "none":
        return per
    return _mean(per) if reduction == "mean" else _sum(per)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):  # noqa: A002
    """Binary cross-entropy of probabilities ``input``.

    Formula
    -------
    Lᵢ = −wᵢ [yᵢ log xᵢ + (1 − yᵢ) log(1 − xᵢ)],   ∂Lᵢ/∂xᵢ = wᵢ (xᵢ − yᵢ) / (xᵢ (1 − xᵢ))

    Probabilities are clipped to [1e-7, 1 − 1e-7] (Keras's rule; PyTorch instead clamps
    each log at −100, so the two differ only for probabilities within 1e-7 of 0 or 1).
    ``weight`` rescales each element (broadcast to input's shape). Matches
    ``torch.nn.functional.binary_cross_entropy`` elsewhere.
    """
    return _binary("binary_cross_entropy", input, target, weight, reduction, False)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",  # noqa: A002
                                     pos_weight=None):
    """Binary cross-entropy of logits ``input``, stable for any logit.

    Formula
    -------
    Lᵢ = wᵢ [p yᵢ softplus(−zᵢ) + (1 − yᵢ) softplus(zᵢ)]   (p = pos_weight, 1 by default)
    without pos_weight:  ∂Lᵢ/∂zᵢ = wᵢ (σ(zᵢ) − yᵢ)

    Matches ``torch.nn.functional.binary_cross_entropy_with_logits``.
    """
    name = "binary_cross_entropy_with_logits"
    if pos_weight is None:
        return _binary(name, input, target, weight, reduction, True)
    from ..activations import softplus
    reduction = _reduction(name, reduction)
    input, t = _elementwise(name, input, target)
    p = _array_like(pos_weight, input.data).astype(input.data.dtype)
    per = softplus(-input) * (p * t) + softplus(input) * (1.0 - t)
    if weight is not None:
        per = per * _array_like(weight, input.data).astype(input.data.dtype)
    if reduction == "none":
        return per
    return _mean(per) if reduction == "mean" else _sum(per)
