"""Gradient checking by central finite differences.

For a scalar function L(x) the analytic gradient from ``backward()`` is compared with

    dL/dx_i ≈ (L(x + h e_i) − L(x − h e_i)) / (2h)

computed in float64, for every element of every input. A function with several outputs
(or a non-scalar output) is reduced to a scalar L = Σ w ⊙ f(x) with fixed random
weights w, which checks the whole Jacobian-vector product.
"""
from __future__ import annotations

import numpy as np

from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by ``gradcheck`` when analytic and numeric gradients disagree."""


def _scalarize(out, weights, first=False):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = None
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor) or (first and not o.requires_grad) or (
                not first and i not in weights):
            continue
        if first:
            rng = np.random.default_rng(1234 + i)
            weights[i] = rng.standard_normal(o.shape) if o.ndim else np.asarray(rng.standard_normal())
        term = (o * weights[i]).sum()
        total = term if total is None else total + term
    if total is None:
        raise GradcheckError("the function returned no output that depends on its inputs")
    return total


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-4, raise_exception=True):
    """Compare ``fn``'s analytic gradients with central differences in float64.

    Parameters
    ----------
    fn : callable
        Takes tensors (one per entry of ``inputs``) and returns a tensor or a tuple of them.
    *inputs : array_like or Tensor
        Float inputs are converted to float64 tensors; only they are checked. Non-float
        inputs (integer labels, say) are passed through unchanged.
    eps : float
        Step h of the central difference.
    atol, rtol : float
        An element passes when |analytic − numeric| <= atol + rtol·|numeric|.

    Returns
    -------
    bool
        True when every element passes; otherwise a ``GradcheckError`` names the input,
        the worst element, both values and the error (or False if ``raise_exception=False``).

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.testing.gradcheck(lambda x: (x * x).sum(), [1.0, 2.0, 3.0])
    True
    """
    tensors, checked = [], []
    for x in inputs:
        arr = x.data if isinstance(x, Tensor) else x
        arr = np.asarray(arr)
        if arr.dtype.kind == "f":
            t = Tensor(np.array(arr, dtype=np.float64), requires_grad=True)
            checked.append(len(tensors))
        else:
            t = x if isinstance(x, Tensor) else Tensor(arr)
        tensors.append(t)
    if not checked:
        raise GradcheckError("gradcheck needs at least one floating-point input")
    weights = {}
    loss = _scalarize(fn(*tensors), weights, first=True)
    loss.backward()
    analytic = {i: (np.zeros_like(tensors[i].data) if tensors[i].grad is None
                    else np.array(tensors[i].grad)) for i in checked}

    from .autograd import no_grad
    worst = None
    with no_grad():
        for i in checked:
            data = tensors[i].data
            numeric = np.zeros_like(data)
            flat, nflat = data.reshape(-1), numeric.reshape(-1)
            for k in range(flat.size):
                orig = flat[k]
                flat[k] = orig + eps
                plus = _scalarize(fn(*tensors), weights).item()
                flat[k] = orig - eps
                minus = _scalarize(fn(*tensors), weights).item()
                flat[k] = orig
                nflat[k] = (plus - minus) / (2 * eps)
            err = np.abs(analytic[i] - numeric)
            bad = err > atol + rtol * np.abs(numeric)
            if bad.any():
                k = int(np.argmax(np.where(bad, err, -1)))
                idx = np.unravel_index(k, data.shape) if data.ndim else ()
                worst = (i, idx, analytic[i].reshape(-1)[k], numeric.reshape(-1)[k],
                         err.reshape(-1)[k], int(bad.sum()), data.size)
                break
    if worst is None:
        return True
    if not raise_exception:
        return False
    i, idx, a, n, e, nbad, size = worst
    raise GradcheckError(
        f"gradcheck failed for input {i} (shape {tensors[i].shape}): {nbad} of {size} elements "
        f"disagree; worst at index {tuple(int(j) for j in idx)}: analytic {a:.8g}, "
        f"numeric {n:.8g}, |error| {e:.3g} (atol {atol}, rtol {rtol})")
