"""Input handling shared by the losses (private): checks, targets, labels, sample weights.

Keras's conventions live here: a trailing axis of 1 dropped or added to match y_pred,
integer labels used as given, sample weights broadcast per sample, and the count m of
the weighted mean Σ wᵢ·Lᵢ / m that leaves masked entries out.
"""
from __future__ import annotations

import math

import numpy as np

from ... import backend
from ...autograd import unbroadcast
from ...tensor import Tensor
from .._util import as_tensor

EPSILON = 1e-7  # Keras's backend.epsilon(): probabilities are clipped to [EPSILON, 1 - EPSILON]
REDUCTIONS = ("sum_over_batch_size", "sum", "none")


def check_reduction(where, reduction):
    """The canonical reduction name ("mean" is "sum_over_batch_size", None is "none")."""
    if reduction is None:
        return "none"
    if reduction == "mean":
        return "sum_over_batch_size"
    if reduction not in REDUCTIONS:
        raise ValueError(f"{where}: reduction must be one of 'sum_over_batch_size', 'sum', "
                         f"'none', got {reduction!r}")
    return reduction


def check_label_smoothing(where, label_smoothing):
    ls = float(label_smoothing)
    if not 0.0 <= ls <= 1.0:
        raise ValueError(f"{where}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return ls


def check_delta(where, delta):
    d = float(delta)
    if not (d > 0 and math.isfinite(d)):
        raise ValueError(f"{where}: delta must be a positive finite number, got {delta!r}")
    return d


def _pred(y_pred):
    """y_pred as a floating Tensor (integer predictions become the default float dtype)."""
    return as_tensor(y_pred, floating=True)


def _array_like(x, like):
    """``x`` (array-like or Tensor data) as a backend array on ``like``'s device."""
    if isinstance(x, Tensor):
        x = x.data
    if not (hasattr(x, "dtype") and hasattr(x, "shape")) or isinstance(x, np.generic):
        x = np.asarray(x)
    return backend.to_device(x, backend.device_of(like))


def _target(name, y_true, y_pred):
    """Dense targets in y_pred's dtype and shape (Keras drops or adds one trailing axis of 1).

    A float Tensor target that requires grad stays a Tensor, so its gradient flows.
    """
    keep = isinstance(y_true, Tensor) and y_true.requires_grad and y_true.dtype == y_pred.dtype
    if keep:
        arr = y_true.data
    else:
        arr = _array_like(y_true, y_pred.data)
        if arr.dtype != y_pred.dtype:
            arr = arr.astype(y_pred.dtype)
    ts, ps = tuple(arr.shape), tuple(y_pred.shape)
    if ts != ps:
        if len(ts) == len(ps) + 1 and ts[-1] == 1 and ts[:-1] == ps:
            new = ps
        elif len(ts) + 1 == len(ps) and ps[-1] == 1 and ps[:-1] == ts:
            new = ps
        else:
            raise ValueError(f"{name}: y_true and y_pred must have the same shape, got y_true "
                             f"{ts} and y_pred {ps}")
        if keep:
            from ..shape import reshape
            return reshape(y_true, new)
        arr = arr.reshape(new)
    return y_true if keep else arr


def _class_axis(name, y_pred, axis):
    if y_pred.ndim == 0:
        raise ValueError(f"{name}: y_pred needs a class axis, got a scalar")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or \
            not -y_pred.ndim <= axis < y_pred.ndim:
        raise ValueError(f"{name}: axis {axis!r} is out of bounds for y_pred of shape {y_pred.shape}")
    return int(axis) % y_pred.ndim


def _labels(name, y_true, y_pred, axis, ignore_class):
    """Integer class labels (as given when already integers) and the mask of counted ones."""
    arr = _array_like(y_true, y_pred.data)
    xp = backend.array_module(arr)
    ps = tuple(y_pred.shape)
    want = ps[:axis] + ps[axis + 1:]
    ts = tuple(arr.shape)
    if ts != want:
        if len(ts) == len(ps) and ts[axis] == 1 and ts[:axis] + ts[axis + 1:] == want:
            arr = arr.reshape(want)
        else:
            raise ValueError(f"{name}: y_true of shape {ts} does not match y_pred of shape {ps}: "
                             f"expected integer labels of shape {want}")
    kind = arr.dtype.kind
    if kind == "b":
        arr = arr.astype(np.intp)
    elif kind == "f":
        if arr.size and not bool(xp.all(arr == xp.floor(arr))):
            raise ValueError(f"{name}: labels must be whole numbers (class indices), got "
                             f"non-integer values such as {float(arr[arr != xp.floor(arr)][0])!r}")
        arr = arr.astype(np.intp)
    elif kind not in "iu":
        raise ValueError(f"{name}: labels must be integers, got dtype {arr.dtype}")
    mask = None
    if ignore_class is not None:
        mask = arr != ignore_class
        arr = xp.where(mask, arr, 0)  # ignored labels may be any value (-1, 255): index 0
    n_classes = ps[axis]
    if arr.size:
        lo = 0 if arr.dtype.kind == "u" else int(arr.min())
        hi = int(arr.max())
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            extra = f" (or ignore_class={ignore_class})" if ignore_class is not None else ""
            raise ValueError(f"{name}: labels must be in [0, {n_classes}){extra} for y_pred of "
                             f"shape {ps} with {n_classes} classes, got {bad}")
    return arr, mask


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _weights(name, sample_weight, per_shape, like, mask=None):
    """(weights or None, count) for the reduction.

    Weights are in ``like``'s dtype and broadcast against the per-sample losses after Keras's
    rank fix-up (a trailing axis of 1 dropped; weights per sample, shape (N,), extended over
    further axes such as time). ``count`` is the number of per-sample losses, masked ones
    excluded: the m of Σ wᵢ·Lᵢ / m.
    """
    n = _prod(per_shape)
    if sample_weight is None:
        if mask is None:
            return None, n
        return mask.astype(like.dtype), int(backend.array_module(mask).count_nonzero(mask))
    w = _array_like(sample_weight, like.data)
    if w.dtype != like.dtype:
        w = w.astype(like.dtype)
    given = tuple(w.shape)
    if w.ndim == len(per_shape) + 1 and w.shape[-1] == 1:
        w = w.reshape(w.shape[:-1])
    if 0 < w.ndim < len(per_shape):
        w = w.reshape(w.shape + (1,) * (len(per_shape) - w.ndim))
    try:
        out_shape = np.broadcast_shapes(tuple(w.shape), tuple(per_shape))
    except ValueError:
        raise ValueError(f"{name}: sample_weight of shape {given} does not match the per-sample "
                         f"losses of shape {tuple(per_shape)}") from None
    count = _prod(out_shape)
    if mask is not None:
        w = w * mask
        valid = int(backend.array_module(mask).count_nonzero(mask))
        count = valid * (count // n) if n else 0
    return w, count


def _fit(xp, g, shape, materialize=False):
    """g summed down to ``shape`` where weights broadcast it past the per-sample losses.

    Without ``materialize`` a g that merely broadcasts against ``shape`` is left as it is
    (the kernels broadcast it); with it, g is expanded to exactly ``shape``.
    """
    full = np.broadcast_shapes(tuple(g.shape), tuple(shape))
    if full != tuple(shape):
        return unbroadcast(xp.broadcast_to(g, full), shape)
    if materialize and tuple(g.shape) != tuple(shape):
        return xp.broadcast_to(g, shape)
    return g


def _col(g):
    """g with a trailing axis to broadcast over the axis a per-sample loss reduced."""
    return g[..., None] if g.ndim else g
