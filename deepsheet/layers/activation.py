"""The sheet's activations as layers, under Keras's names: ReLU, LeakyReLU, PReLU, ELU, Softmax.

Each layer is its fused function of ``deepsheet.functional`` (one graph node) where the
arguments allow; masks pass through (``Softmax`` also uses them: masked entries get no
probability).
"""
from __future__ import annotations

from .. import functional as F
from .. import init, regularizers
from ..tensor import Tensor
from .base import Layer

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]


def _number(owner, name, value, low=0.0, optional=False):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= low:
        raise ValueError(f"{owner}: {name} must be a number >= {low}, got {value!r}")
    return float(value)


class ReLU(Layer):
    """Rectified linear unit with Keras's options.

    Formula
    -------
    f(x) = max_value                          for x >= max_value
    f(x) = x                                  for threshold <= x < max_value
    f(x) = negative_slope · (x − threshold)   otherwise
    Defaults (no cap, slope 0, threshold 0): f(x) = max(0, x), f'(x) = [x > 0].

    Parameters
    ----------
    max_value : float, optional
        Cap on the output (ReLU6: ``max_value=6``).
    negative_slope : float
        Slope below the threshold.
    threshold : float

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.layers.ReLU(max_value=6.0)(ds.tensor([[-1.0, 3.0, 9.0]])).numpy()
    array([[0., 3., 6.]], dtype=float32)
    """

    _blas_team_ok = True  # light elementwise passes (Layer._blas_team_ok)

    supports_masking = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _number("ReLU", "max_value", max_value, optional=True)
        self.negative_slope = _number("ReLU", "negative_slope", negative_slope)
        self.threshold = float(threshold)

    def call(self, inputs):
        if self.negative_slope == 0.0 and self.threshold == 0.0:
            out = F.relu(inputs)
        else:
            out = F.where(inputs.data >= self.threshold, inputs,
                          (inputs - self.threshold) * self.negative_slope)
        if self.max_value is not None:
            out = F.minimum(out, self.max_value)
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(Layer):
    """Leaky ReLU: a small slope for negative inputs, so no unit dies.

    Formula
    -------
    f(x) = max(α x, x)  (0 ≤ α < 1),   f'(x) = 1 for x > 0, α otherwise

    Parameters
    ----------
    negative_slope : float
        α, Keras's default 0.3 (PyTorch's is 0.01).
    """

    _blas_team_ok = True  # light elementwise passes (Layer._blas_team_ok)

    supports_masking = True

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 2's name
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = _number("LeakyReLU", "negative_slope", negative_slope)

    def call(self, inputs):
        return F.leaky_relu(inputs, self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """Parametric ReLU: the negative slope is learned (He et al. 2015).

    Formula
    -------
    f(x) = max(0, x) + α ⊙ min(0, x),   ∂f/∂α = min(0, x)

    Parameters
    ----------
    alpha_initializer : str or callable
        Initial α ("zeros" as Keras; PyTorch starts at 0.25: ``init.Constant(0.25)``).
    alpha_regularizer : optional
    shared_axes : list of int, optional
        Axes (1 = the first after the batch) sharing one α, e.g. ``[1, 2]`` for one α per
        channel of an image (PyTorch's ``num_parameters=C``).

    Shape
    -----
    α has the shape of one sample, with 1 on the shared axes.
    """

    supports_masking = True

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        if alpha_constraint is not None:
            raise ValueError("PReLU: alpha_constraint is not supported")
        self.alpha_initializer = init.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer) \
            if alpha_regularizer is not None else None
        if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
            shared_axes = [shared_axes]
        self.shared_axes = None if shared_axes is None else [int(a) for a in shared_axes]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or []:
            if not 1 <= a <= len(shape):
                raise ValueError(f"PReLU '{self.name}': shared axis {a} is not an axis of "
                                 f"inputs of shape {tuple(input_shape)} (1 .. {len(shape)})")
            shape[a - 1] = 1
        self.alpha = self.add_weight("alpha", shape, self.alpha_initializer,
                                     regularizer=self.alpha_regularizer)

    def call(self, inputs):
        return F.relu(inputs) - self.alpha * F.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": init.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "shared_axes": self.shared_axes}


class ELU(Layer):
    """Exponential linear unit.

    Formula
    -------
    f(x) = x for x > 0, α (eˣ − 1) otherwise;   f'(x) = 1 for x > 0, α eˣ otherwise
    """

    _blas_team_ok = True  # light elementwise passes (Layer._blas_team_ok)

    supports_masking = True

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number("ELU", "alpha", alpha)

    def call(self, inputs):
        return F.elu(inputs, self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Softmax along ``axis``: probabilities that sum to 1; masked entries get none.

    Formula
    -------
    p_i = exp(z_i − max z) / Σ_j exp(z_j − max z);   ∂p_i/∂z_j = p_i (δ_ij − p_j)
    With a boolean ``mask`` (True = keep), masked z_i are replaced by −1e9 first (Keras).
    """

    _blas_team_ok = True  # light elementwise passes (Layer._blas_team_ok)

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis if isinstance(axis, int) else [int(a) for a in axis]

    def call(self, inputs, mask=None):
        if mask is not None:
            keep = (mask.data if isinstance(mask, Tensor) else mask).astype(bool)
            while keep.ndim < inputs.ndim:
                keep = keep[..., None]
            inputs = F.where(keep, inputs, -1e9)
        if isinstance(self.axis, int):
            return F.softmax(inputs, self.axis)
        # several axes: the log-sum-exp over all of them
        return F.exp(inputs - F.logsumexp(inputs, axis=tuple(self.axis), keepdims=True))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
