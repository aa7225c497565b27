"""Gradient clipping in place, as functions (torch.nn.utils.clip_grad_norm_ / clip_grad_value_).

The optimizers' ``clipnorm`` / ``global_clipnorm`` / ``clipvalue`` options clip copies inside
``step()``; these functions rewrite ``.grad`` itself, for hand-written loops::

    loss.backward()
    total = clip_grad_norm(model.trainable_weights, max_norm=1.0)
    opt.step()
"""
from __future__ import annotations

import math
import numbers

from .. import backend
from ..tensor import Tensor


def sq_norm(g):
    """Σ g² as a Python float (a BLAS dot product; no temporary array)."""
    flat = g.reshape(-1)
    return float(backend.array_module(g).dot(flat, flat))


def clipped(grads, clipvalue=None, clipnorm=None, global_clipnorm=None):
    """Clipped copies of the gradient arrays ``grads`` (the arrays themselves where nothing
    changes): the optimizers' ``clipvalue``, ``clipnorm`` (each gradient on its own) and
    ``global_clipnorm`` (all together), the first one given."""
    if clipvalue is not None:
        c = clipvalue
        return [backend.array_module(g).clip(g, -c, c) for g in grads]
    if clipnorm is not None:
        c = clipnorm
        out = []
        for g in grads:
            norm = math.sqrt(sq_norm(g))
            out.append(g * (c / norm) if norm > c else g)
        return out
    if global_clipnorm is not None and grads:
        # torch.nn.utils.clip_grad_norm_'s coefficient (with its 1e-6), so that this option
        # and clip_grad_norm before step() give the same numbers.
        total = math.sqrt(sum(sq_norm(g) for g in grads))
        coef = global_clipnorm / (total + 1e-6)
        if not coef >= 1.0:
            return [g * coef for g in grads]
    return grads


def _grads(params, fn):
    if isinstance(params, Tensor):
        params = [params]
    out = []
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: params[{i}] must be a deepsheet Tensor, got "
                            f"{type(p).__name__}")
        if p.grad is not None:
            out.append(p.grad)
    return out


def _limit(fn, name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0:
        raise ValueError(f"{fn}: {name} must be a number >= 0, got {value!r}")
    return float(value)


def clip_grad_norm(params, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Rescale all gradients together so that their global norm is at most ``max_norm``.

    Formula (torch.nn.utils.clip_grad_norm_)::

        n = ‖(g₁, …, g_k)‖_p          (p = norm_type: 2, any p >= 1, or inf = max |g|)
        g_i ← g_i · min(1, max_norm / (n + 1e-6))

    Parameters
    ----------
    params : Tensor or iterable of Tensor
        Tensors whose ``.grad`` is clipped in place (those without a gradient are skipped).
    max_norm : float
    norm_type : float
        2 by default; ``float("inf")`` for the largest absolute value.
    error_if_nonfinite : bool
        Raise RuntimeError when the norm is NaN or infinite (otherwise the gradients
        become NaN, as in PyTorch).

    Returns
    -------
    float
        The total norm before clipping.

    Examples
    --------
    >>> import deepsheet as ds
    >>> w = ds.tensor([3.0, 4.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> ds.optimizers.clip_grad_norm([w], max_norm=1.0)
    10.0
    """
    fn = "clip_grad_norm"
    max_norm = _limit(fn, "max_norm", max_norm)
    p = float(norm_type)
    if not (p >= 1.0):
        raise ValueError(f"{fn}: norm_type must be >= 1 or inf, got {norm_type!r}")
    grads = _grads(params, fn)
    if not grads:
        return 0.0
    if math.isinf(p):
        total = max((float(backend.array_module(g).abs(g).max()) for g in grads if g.size),
                    default=0.0)
    elif p == 2.0:
        total = math.sqrt(sum(sq_norm(g) for g in grads))
    else:
        total = sum(float((backend.array_module(g).abs(g) ** p).sum()) for g in grads) ** (1 / p)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"{fn}: the total norm of order {norm_type} of the gradients is "
                           f"{total}; set error_if_nonfinite=False to clip anyway")
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:  # NaN lands here too and spreads to the gradients, as in PyTorch
        for g in grads:
            g *= coef
    return total


def clip_grad_value(params, clip_value):
    """Clip every gradient element to ``[-clip_value, clip_value]`` in place.

    Formula::

        g_i ← min(max(g_i, −clip_value), clip_value)   for every element of every gradient

    Formula (torch.nn.utils.clip_grad_value_): g ← min(max(g, −c), c)

    Examples
    --------
    >>> import deepsheet as ds
    >>> w = ds.tensor([3.0, -0.1], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> ds.optimizers.clip_grad_value([w], 1.0); w.grad
    array([ 1. , -0.2], dtype=float32)
    """
    c = _limit("clip_grad_value", "clip_value", clip_value)
    for g in _grads(params, "clip_grad_value"):
        backend.array_module(g).clip(g, -c, c, out=g)
