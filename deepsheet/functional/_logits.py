"""The logits record: which softmax or sigmoid output came from which logits (not public here).

``softmax`` and ``sigmoid`` record their input on their output (``out._logits``, a Tensor)
together with which activation made it, so that a probability loss such as
``binary_crossentropy(y, sigmoid(z))`` can compute the stable logits form on ``z`` instead,
as Keras does. ``mark_logits`` and ``logits_of`` are public as
``deepsheet.functional.mark_logits`` / ``logits_of``.
"""
from __future__ import annotations

import weakref

from ..tensor import Tensor
from ._util import as_tensor, normalize_axis

__all__ = ["mark_logits", "logits_of"]


class _ProducerRef(weakref.ref):
    """A weak reference to an activation output that remembers which activation made it."""

    __slots__ = ("key", "kind")


_PRODUCERS = {}  # id(output tensor) -> _ProducerRef


def _forget(ref):
    if _PRODUCERS.get(ref.key) is ref:
        del _PRODUCERS[ref.key]


def mark_logits(out, logits, activation, axis=-1):
    """Record that ``out = activation(logits)`` so probability losses can use ``logits``.

    Sets ``out._logits = logits`` and remembers the activation ("softmax" with its ``axis``,
    or "sigmoid"). Keyed weakly by the output tensor: the record disappears with it and
    costs nothing when no loss asks. A layer that fuses softmax/sigmoid into its own node
    calls this on its output.

    Parameters
    ----------
    out, logits : Tensor
        The activation's output and its pre-activation input (same shape).
    activation : {"softmax", "sigmoid"}
    axis : int
        The softmax axis (ignored for sigmoid).
    """
    if activation not in ("softmax", "sigmoid"):
        raise ValueError(f"mark_logits: activation must be 'softmax' or 'sigmoid', got {activation!r}")
    if not isinstance(logits, Tensor):
        logits = as_tensor(logits)
    out._logits = logits
    ref = _ProducerRef(out, _forget)
    ref.key = id(out)
    ref.kind = (activation, normalize_axis(axis, max(out.ndim, 1))[0]
                if activation == "softmax" else None)
    _PRODUCERS[ref.key] = ref
    return out


def logits_of(y_pred, activation, axis=-1):
    """The logits behind ``y_pred`` if ``activation`` (over ``axis``) produced it, else None.

    Used by the cross-entropy losses: ``logits_of(p, "softmax")`` is ``z`` when
    ``p = softmax(z, axis=-1)``. A tensor whose ``_logits`` was set by hand without
    ``mark_logits`` is recognised through its creating node's ``activation`` attribute.
    """
    if not isinstance(y_pred, Tensor) or y_pred._logits is None:
        return None
    ndim = max(y_pred.ndim, 1)
    ref = _PRODUCERS.get(id(y_pred))
    if ref is not None and ref() is y_pred:
        kind = ref.kind
    else:
        made_by = getattr(y_pred._ctx, "activation", None)
        made_axis = getattr(y_pred._ctx, "axis", -1)
        kind = (made_by, normalize_axis(made_axis, ndim)[0] if made_by == "softmax" else None)
    want = (activation, normalize_axis(axis, ndim)[0] if activation == "softmax" else None)
    return y_pred._logits if kind == want else None
