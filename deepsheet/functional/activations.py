"""Activation functions: the non-linearities g(z) applied after each affine layer.

Each activation is one fused graph node (a ``Function`` with its forward and its backward
side by side) and a lowercase wrapper that carries the formula. All of them are stable for
inputs of any magnitude: no ``exp`` ever sees a large positive argument.

The logits contract: ``softmax`` and ``sigmoid`` record their input on their output
(``out._logits``, a Tensor) together with which activation made it (``logits_of``), so a
probability loss such as ``binary_crossentropy(y, sigmoid(z))`` can compute the stable
logits form on ``z`` instead, as Keras does. Layers that fuse a softmax or sigmoid into
their own node record it with ``mark_logits``. The record lives in ``_logits.py``, softmax
and log-softmax in ``_softmax.py``; all are public here.

``get_activation(name)`` turns Keras's activation strings ("relu", "softmax", ...) into
these functions.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._kernels import map_blocks
from ._logits import logits_of, mark_logits
from ._special import _INV_SQRT_2PI, _log1p_unit, _ndtr
from ._softmax import log_softmax, softmax
from ._util import as_tensor

__all__ = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softmax", "log_softmax", "gelu",
           "softplus", "swish", "silu", "get_activation", "ACTIVATIONS", "mark_logits",
           "logits_of"]
# ``linear`` (the identity) stays out of the star-export: in ``deepsheet.functional`` that
# name is the affine map, as ``torch.nn.functional.linear`` is.


def _stable_sigmoid(x, xp):
    """sigma(x) in the sign-split form, plus e = exp(-|x|) for callers that reuse it.

    sigma(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, with e = exp(-|x|) in (0, 1]:
    exp never overflows and the small tail keeps its relative accuracy (sigma(-30) ~ 9e-14).
    The two branches are blended with 0/1 masks: NumPy's ``where`` is several times slower
    than the arithmetic.
    """
    e = xp.asarray(xp.abs(x))  # asarray: a 0-d input gives a NumPy scalar, not an array
    xp.negative(e, out=e)
    xp.exp(e, out=e)
    y = e * (x < 0)
    y += x >= 0  # numerator: e for x < 0, 1 otherwise
    y /= 1.0 + e
    return y, e


# ----------------------------------------------------------------------------- sigmoid, tanh
class Sigmoid(Function):
    activation = "sigmoid"

    def forward(self, x):
        xp = backend.array_module(x)
        y = map_blocks(lambda a: _stable_sigmoid(a, xp)[0], x)
        self.y = y
        return y

    def backward(self, g):
        return map_blocks(lambda g, y: g * y * (1.0 - y), g, self.y)


def sigmoid(x):
    """Logistic sigmoid, squashing any real number into (0, 1).

    Formula
    -------
    y = 1 / (1 + exp(-x))      computed as 1/(1+e) for x >= 0, e/(1+e) for x < 0, e = exp(-|x|)
    dy/dx = y (1 - y)

    Its output remembers ``x`` (the logits contract: ``binary_crossentropy`` on it uses the
    stable logits form). Matches ``torch.sigmoid``.

    Shape: any; output has the shape of ``x``.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.sigmoid(ds.tensor([-1e4, 0.0, 1e4])).numpy()
    array([0. , 0.5, 1. ], dtype=float32)
    """
    x = as_tensor(x, floating=True)
    out = Sigmoid.apply(x)
    return mark_logits(out, x, "sigmoid")


class Tanh(Function):
    def forward(self, x):
        y = map_blocks(backend.array_module(x).tanh, x)
        self.y = y
        return y

    def backward(self, g):
        return map_blocks(lambda g, y: g * (1.0 - y * y), g, self.y)


def tanh(x):
    """Hyperbolic tangent, a zero-centred squashing into (-1, 1).

    Formula
    -------
    y = (exp(x) - exp(-x)) / (exp(x) + exp(-x)) = 2 sigma(2x) - 1
    dy/dx = 1 - y^2

    Matches ``torch.tanh``.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.tanh(ds.tensor([0.0, 1e4])).numpy()
    array([0., 1.], dtype=float32)
    """
    return Tanh.apply(as_tensor(x, floating=True))


# ----------------------------------------------------------------------------- ReLU family
class ReLU(Function):
    def forward(self, x):
        y = map_blocks(lambda a: backend.array_module(a).maximum(a, 0), x)
        self.y = y
        return y

    def backward(self, g):
        return map_blocks(lambda g, y: g * (y > 0), g, self.y)


def relu(x):
    """Rectified linear unit.

    Formula
    -------
    y = max(0, x)
    dy/dx = 1 if x > 0 else 0      (0 at x = 0, as PyTorch)

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.relu(ds.tensor([-2.0, 0.0, 3.0])).numpy()
    array([0., 0., 3.], dtype=float32)
    """
    return ReLU.apply(as_tensor(x, floating=True))


class LeakyReLU(Function):
    """y = slope·x with slope 1 where x > 0 and alpha elsewhere; dy/dx = slope."""

    def forward(self, x):
        alpha = self.alpha

        def leaky(x):
            # slope = 1 where x > 0, alpha elsewhere; y = slope * x and dy/dx = slope
            slope = (x > 0).astype(x.dtype)  # a bool mask times a Python float: float64
            slope *= 1.0 - alpha
            slope += alpha
            return x * slope, slope
        y, self.slope = map_blocks(leaky, x)
        return y

    def backward(self, g):
        return map_blocks(lambda g, s: g * s, g, self.slope)


def _check_alpha(name, alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)):
        raise ValueError(f"{name}: alpha must be a number, got {alpha!r}")
    if not math.isfinite(float(alpha)):
        raise ValueError(f"{name}: alpha must be finite, got {alpha!r}")
    return float(alpha)  # a Python float keeps float32 data float32


def leaky_relu(x, alpha=0.01):
    """Leaky ReLU: a small slope ``alpha`` for negative inputs keeps units from dying.

    Formula
    -------
    y = x if x > 0 else alpha * x      (= max(alpha·x, x) for 0 <= alpha < 1, as on the sheet)
    dy/dx = 1 if x > 0 else alpha

    ``alpha`` must be >= 0 (a negative slope is rejected, as Keras's ``LeakyReLU`` does).
    With alpha >= 1 the function is still "x above 0, alpha·x below": the negative side is
    then as steep as the positive one or steeper, and it is no longer max(alpha·x, x)
    (that would be alpha·x everywhere above 0).

    Matches ``torch.nn.functional.leaky_relu(x, negative_slope=alpha)`` (default 0.01).

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.leaky_relu(ds.tensor([-2.0, 3.0]), alpha=0.1).numpy()
    array([-0.2,  3. ], dtype=float32)
    """
    alpha = _check_alpha("leaky_relu", alpha)
    if alpha < 0:
        raise ValueError(f"leaky_relu: alpha (the negative slope) must be >= 0, got {alpha!r}")
    return LeakyReLU.apply(as_tensor(x, floating=True), alpha=alpha)


class ELU(Function):
    def forward(self, x):
        xp = backend.array_module(x)
        self.pos = (x > 0).astype(x.dtype)
        xn = xp.minimum(x, 0)  # exp of a large positive input would overflow
        # exp(x) - 1 = 2 tanh(x/2) / (1 - tanh(x/2)): accurate near 0 like expm1 (which is
        # several times slower in NumPy), and 1 - tanh >= 1 for x <= 0: no cancellation.
        t = xp.asarray(xp.tanh(xn * 0.5))
        neg = t * (2.0 * self.alpha)
        neg /= 1.0 - t
        self.neg = neg
        return xp.maximum(x, 0) + neg

    def backward(self, g):
        # 1 for x > 0, alpha exp(x) = neg + alpha otherwise (neg is 0 for x > 0)
        d = self.pos * (1.0 - self.alpha)
        d += self.neg
        d += self.alpha
        return g * d


def elu(x, alpha=1.0):
    """Exponential linear unit: smooth, saturating at -alpha for very negative inputs.

    Formula
    -------
    y = x if x > 0 else alpha (exp(x) - 1)
    dy/dx = 1 if x > 0 else alpha exp(x) = y + alpha

    Matches ``torch.nn.functional.elu`` and Keras's ``elu``.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.elu(ds.tensor([-1e4, 2.0])).numpy()
    array([-1.,  2.], dtype=float32)
    """
    return ELU.apply(as_tensor(x, floating=True), alpha=_check_alpha("elu", alpha))


# ----------------------------------------------------------------------------- GELU
_SQRT_2_OVER_PI = 0.7978845608028654


def _no_minus_inf(x, xp):
    """x with −inf replaced by the lowest finite value, so that x·Φ(x) and x·σ(x) (and their
    gradients) give their limit 0 there instead of −inf·0 = nan; one comparison pass."""
    low = x == -xp.inf
    if low.any():
        x = xp.where(low, xp.finfo(x.dtype).min, x)
    return x


class GELU(Function):
    def forward(self, x):
        xp = backend.array_module(x)
        x = _no_minus_inf(x, xp)
        self.x = x
        if self.approximate:
            # tanh is +-1 to working precision once |x| > 20; clipping keeps x^3 finite.
            xc = xp.clip(x, -20.0, 20.0)
            t = xp.tanh(_SQRT_2_OVER_PI * (xc + 0.044715 * xc * xc * xc))
            self.t, self.xc = t, xc
            return 0.5 * x * (1.0 + t)
        cdf, self.g = _ndtr(x, xp)
        self.cdf = cdf
        return x * cdf

    def backward(self, g):
        x = self.x
        if self.approximate:
            t, xc = self.t, self.xc
            inner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * xc * xc)
            return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner)
        # phi(x) = exp(-x^2/2) / sqrt(2 pi), the Gaussian kept from the forward
        return g * (self.cdf + x * (self.g * _INV_SQRT_2PI))


def gelu(x, approximate=False):
    """Gaussian error linear unit (Hendrycks & Gimpel 2016): x weighted by Phi(x).

    Formula
    -------
    exact:  y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2,    dy/dx = Phi(x) + x phi(x)
            with phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
    tanh:   y = x (1 + tanh(u)) / 2,  u = sqrt(2/pi) (x + 0.044715 x^3)
            dy/dx = (1 + tanh u) / 2 + x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2

    NumPy has no erf: Phi comes from a polynomial fit of erfc accurate to a few ulps in
    float32 and float64 (see ``functional._special``). At −inf the value and the gradient
    are their limit 0, not −inf·0 = nan.

    Parameters
    ----------
    approximate : bool or {"none", "tanh"}
        False / "none": the exact erf form (PyTorch's and Keras's default);
        True / "tanh": the tanh approximation.

    Matches ``torch.nn.functional.gelu(x, approximate=...)``.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.gelu(ds.tensor([-1.0, 0.0, 1.0])).numpy().round(4)
    array([-0.1587,  0.    ,  0.8413], dtype=float32)
    """
    if approximate in (False, "none"):
        approx = False
    elif approximate in (True, "tanh"):
        approx = True
    else:
        raise ValueError(f"gelu: approximate must be False/'none' or True/'tanh', got {approximate!r}")
    return GELU.apply(as_tensor(x, floating=True), approximate=approx)


# ----------------------------------------------------------------------------- softplus, swish
class Softplus(Function):
    def forward(self, x):
        xp = backend.array_module(x)
        e = xp.asarray(xp.abs(x))
        xp.negative(e, out=e)
        xp.exp(e, out=e)
        self.x, self.e = x, e
        return xp.maximum(x, 0) + _log1p_unit(e, xp)

    def backward(self, g):
        x, e = self.x, self.e
        s = e * (x < 0)
        s += x >= 0
        s /= 1.0 + e  # sigmoid(x) in the sign-split form
        return g * s


def softplus(x):
    """Softplus, a smooth ReLU.

    Formula
    -------
    y = log(1 + exp(x)) = max(x, 0) + log(1 + exp(-|x|))      (the second form never overflows)
    dy/dx = sigma(x)

    Matches ``torch.nn.functional.softplus`` (beta=1; PyTorch switches to y = x above 20,
    which differs by less than exp(-20)).

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.softplus(ds.tensor([-1e4, 0.0, 1e4])).tolist()
    [0.0, 0.6931471824645996, 10000.0]
    """
    return Softplus.apply(as_tensor(x, floating=True))


class Swish(Function):
    def forward(self, x):
        xp = backend.array_module(x)
        x = _no_minus_inf(x, xp)
        s, _ = _stable_sigmoid(x, xp)
        self.x, self.s = x, s
        return x * s

    def backward(self, g):
        s = self.s
        # d(x s)/dx = s + x s (1 - s) = s (1 + x (1 - s))
        return g * (s * (1.0 + self.x * (1.0 - s)))


def swish(x):
    """Swish / SiLU (Ramachandran et al. 2017; Elfwing et al. 2018): x gated by sigma(x).

    Formula
    -------
    y = x sigma(x)
    dy/dx = sigma(x) (1 + x (1 - sigma(x)))

    ``silu`` is the same function. Matches ``torch.nn.functional.silu``; at −inf the value
    and the gradient are their limit 0, not −inf·0 = nan.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.functional.swish(ds.tensor([-1e4, 0.0, 1e4])).numpy()
    array([   -0.,     0., 10000.], dtype=float32)
    """
    return Swish.apply(as_tensor(x, floating=True))


silu = swish


def linear(x):
    """The identity activation (Keras's "linear"): y = x, dy/dx = 1. Adds no graph node."""
    return x if isinstance(x, Tensor) else as_tensor(x, floating=True)


# ----------------------------------------------------------------------------- registry
ACTIVATIONS = {
    "linear": linear,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "gelu": gelu,
    "softplus": softplus,
    "swish": swish,
    "silu": silu,
}


def get_activation(identifier):
    """The activation function for a Keras-style identifier.

    Parameters
    ----------
    identifier : None, str or callable
        None or "linear": the identity; one of ``ACTIVATIONS``' names ("relu", "sigmoid",
        "softmax", "tanh", "elu", "leaky_relu", "gelu", "softplus", "swish", "silu",
        "log_softmax", "linear"); a callable is returned unchanged.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or another type.

    Examples
    --------
    >>> from deepsheet.functional import get_activation
    >>> get_activation("relu").__name__
    'relu'
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = ACTIVATIONS.get(identifier)
        if fn is None:
            fn = ACTIVATIONS.get(identifier.lower())
        if fn is None:
            raise ValueError(f"unknown activation {identifier!r}; valid names: "
                             f"{', '.join(sorted(ACTIVATIONS))}")
        return fn
    if callable(identifier):
        return identifier
    raise ValueError(f"activation must be None, a name ({', '.join(sorted(ACTIVATIONS))}) "
                     f"or a callable, got {type(identifier).__name__}")
