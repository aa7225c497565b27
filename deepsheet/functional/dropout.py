"""Dropout: randomly zero units during training (inverted scaling)."""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._util import operand

__all__ = ["dropout"]


class DropoutOp(Function):
    """y = x · m with a pre-scaled mask m ∈ {0, 1/(1-rate)} (kept for backward)."""

    def forward(self, x):
        return x * self.mask

    def backward(self, g):
        # The mask may have fewer axes set (noise_shape): broadcasting g · m gives x's shape.
        return g * self.mask


def check_rate(rate, where="dropout"):
    """``rate`` as a float in [0, 1), or ValueError naming ``where``."""
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: rate must be a number in [0, 1), got {rate!r}") from None
    if not (0.0 <= value < 1.0) or math.isnan(value):
        raise ValueError(f"{where}: rate must be in [0, 1) (the fraction of units dropped), "
                         f"got {rate!r}")
    return value


def _noise_shape(noise_shape, shape):
    if noise_shape is None:
        return tuple(shape)
    noise_shape = tuple(noise_shape)
    if len(noise_shape) != len(shape):
        raise ValueError(f"dropout: noise_shape {noise_shape} must have one entry per axis of "
                         f"the input of shape {tuple(shape)}")
    out = tuple(s if n is None else int(n) for n, s in zip(noise_shape, shape))
    for n, s in zip(out, shape):
        if n not in (1, s):
            raise ValueError(f"dropout: noise_shape {noise_shape} must broadcast to the input "
                             f"shape {tuple(shape)} (each entry 1, None or the input's size)")
    return out


def dropout(x, rate=0.5, training=True, noise_shape=None, generator=None):
    """Inverted dropout: drop each unit with probability ``rate``, scale the rest.

    Formula::

        training:  y = x · m / (1 − p),  m_i ~ Bernoulli(1 − p)   (p = rate; E[y] = x)
        inference: y = x
        dL/dx = dL/dy · m / (1 − p)

    Formula::

        m_i ~ Bernoulli(1 − rate),   y = x ⊙ m / (1 − rate)        (training)
        y = x                                                      (inference)
        dL/dx = dL/dy ⊙ m / (1 − rate)

    Scaling at training time keeps E[y] = x, so inference needs no rescaling
    (Srivastava et al. 2014, inverted form as in Keras and PyTorch).

    Parameters
    ----------
    x : Tensor
    rate : float in [0, 1)
        Fraction of units set to zero (PyTorch's ``p``).
    training : bool
        False (or ``rate == 0``) returns ``x`` unchanged.
    noise_shape : tuple, optional
        Shape of the mask, broadcast over x (entries 1 share one draw along that axis,
        None takes the input's size), e.g. ``(batch, 1, 1, channels)`` drops whole maps.
    generator : numpy.random.Generator, optional
        Source of the mask; the library RNG by default (reproducible under
        ``deepsheet.manual_seed``).

    Shape
    -----
    Any; the output has the input's shape.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> y = ds.functional.dropout(ds.tensor(np.ones((2, 4), np.float32)), rate=0.5)
    >>> sorted(set(y.numpy().ravel().tolist())) in ([0.0, 2.0], [0.0], [2.0])
    True
    """
    rate = check_rate(rate)
    x = operand(x)
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if not training or rate == 0.0:
        return x
    shape = _noise_shape(noise_shape, x.shape)
    rng = generator if generator is not None else backend.rng()
    keep = rng.random(shape, dtype=np.float32) >= rate
    # One pass builds the float32 mask with the 1/(1-rate) scale folded in.
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    mask = np.multiply(keep, 1.0 / (1.0 - rate), dtype=dtype)
    mask = backend.to_device(mask, backend.device_of(x.data))
    return DropoutOp.apply(x, mask=mask)
