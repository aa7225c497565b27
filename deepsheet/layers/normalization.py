"""Normalization layers: BatchNormalization and LayerNormalization (Keras semantics)."""
from __future__ import annotations

from .. import functional as F
from .. import init, regularizers
from ..functional._util import normalize_axis
from .base import Layer

__all__ = ["BatchNormalization", "LayerNormalization"]


def _axes(layer, axis, input_shape):
    try:
        axes = normalize_axis(axis, len(input_shape))
    except ValueError:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': axis {axis} is out of range "
                         f"for inputs of shape {tuple(input_shape)}") from None
    if any(input_shape[a] is None for a in axes):
        raise ValueError(f"{type(layer).__name__} '{layer.name}' needs the size of axis {axis} "
                         f"to be known, got input shape {tuple(input_shape)}")
    return axes


def _axis_config(axis):
    return list(axis) if isinstance(axis, (list, tuple)) else int(axis)


class _Norm(Layer):
    """Shared parts: axis, epsilon, center/scale weights, initializers and regularizers."""

    supports_masking = True  # masks pass through unchanged (Keras)

    def __init__(self, axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                 beta_regularizer, gamma_regularizer, **kwargs):
        super().__init__(**kwargs)
        self.axis = tuple(int(a) for a in axis) if isinstance(axis, (list, tuple)) else int(axis)
        self.epsilon = float(epsilon)
        if not 0 < self.epsilon < float("inf"):
            raise ValueError(f"{type(self).__name__} '{self.name}': epsilon must be a positive "
                             f"finite number, "
                             f"got {epsilon!r}")
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = init.get(beta_initializer)
        self.gamma_initializer = init.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.gamma = self.beta = None

    def _build_affine(self, param_shape):
        # Keras's order: gamma before beta.
        if self.scale:
            self.gamma = self.add_weight("gamma", param_shape, self.gamma_initializer,
                                         regularizer=self.gamma_regularizer)
        if self.center:
            self.beta = self.add_weight("beta", param_shape, self.beta_initializer,
                                        regularizer=self.beta_regularizer)

    def _check(self, shape):
        if self._build_input_shape is None:
            return
        built = tuple(self._build_input_shape)
        axes = normalize_axis(self.axis, len(built))
        if len(shape) != len(built) or any(shape[a] != built[a] for a in axes):
            raise ValueError(f"{type(self).__name__} '{self.name}' was built for inputs of shape "
                             f"{built} (normalized axis {self.axis}), got {tuple(shape)}")

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            axis=_axis_config(self.axis), epsilon=self.epsilon, center=self.center,
            scale=self.scale, beta_initializer=init.serialize(self.beta_initializer),
            gamma_initializer=init.serialize(self.gamma_initializer),
            beta_regularizer=regularizers.serialize(self.beta_regularizer),
            gamma_regularizer=regularizers.serialize(self.gamma_regularizer))
        return config


class BatchNormalization(_Norm):
    """Batch normalization (Ioffe & Szegedy 2015) with Keras's semantics.

    Formula (per feature along ``axis``; see ``functional.batch_norm``)::

        training:  x̂ = (x − μ_B) / sqrt(σ²_B + ε),  y = γ x̂ + β     (batch statistics)
                   moving_mean ← momentum · moving_mean + (1 − momentum) · μ_B
                   moving_variance ← momentum · moving_variance + (1 − momentum) · σ²_B
        inference: x̂ = (x − moving_mean) / sqrt(moving_variance + ε)

    ``σ²_B`` is the biased batch variance, in normalization and in the moving average
    (Keras 3); PyTorch's ``running_var`` uses the unbiased one, and its ``momentum`` is
    1 − this one (0.99 here = 0.01 there). With ``trainable = False`` the layer runs in
    inference mode even when training (Keras's rule for fine-tuning). The whole training
    forward and backward is one graph node.

    Parameters
    ----------
    axis : int or list of int
        Feature axis: -1 for (N, F) and channels-last (N, H, W, C).
    momentum : float
        Weight of the OLD moving value (Keras: 0.99).
    epsilon : float
        Added to the variance (Keras: 1e-3; PyTorch: 1e-5).
    center, scale : bool
        Learn β and γ.
    beta_initializer, gamma_initializer, moving_mean_initializer,
    moving_variance_initializer : str or Initializer
        "zeros", "ones", "zeros", "ones" by default.
    beta_regularizer, gamma_regularizer : optional

    Weights (``get_weights`` order): gamma, beta (trainable), moving_mean, moving_variance
    (non-trainable).

    Shape
    -----
    Any rank >= 2; the output has the input's shape.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> bn = ds.layers.BatchNormalization()
    >>> y = bn(np.random.default_rng(0).normal(5, 2, (64, 3)).astype(np.float32), training=True)
    >>> bool(abs(y.numpy().mean()) < 1e-3)
    True
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, **kwargs)
        self.momentum = float(momentum)
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError(f"BatchNormalization '{self.name}': momentum must be in [0, 1] "
                             f"(the weight of the old moving value, Keras's 0.99), "
                             f"got {momentum!r}")
        self.moving_mean_initializer = init.get(moving_mean_initializer)
        self.moving_variance_initializer = init.get(moving_variance_initializer)
        self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        axes = _axes(self, self.axis, input_shape)
        param_shape = tuple(input_shape[a] for a in axes)
        self._build_affine(param_shape)
        self.moving_mean = self.add_weight("moving_mean", param_shape,
                                           self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", param_shape,
                                               self.moving_variance_initializer, trainable=False)
        self.built = True

    def call(self, inputs, training=False):
        self._check(inputs.shape)
        return F.batch_norm(inputs, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                            training=bool(training) and self.trainable, momentum=self.momentum,
                            epsilon=self.epsilon, axis=self.axis)

    def get_config(self):
        config = super().get_config()
        config.update(
            momentum=self.momentum,
            moving_mean_initializer=init.serialize(self.moving_mean_initializer),
            moving_variance_initializer=init.serialize(self.moving_variance_initializer))
        return config


class LayerNormalization(_Norm):
    """Layer normalization (Ba et al. 2016): each sample normalized over ``axis``.

    Formula (see ``functional.layer_norm``)::

        x̂ = (x − mean_axis(x)) / sqrt(var_axis(x) + ε),   y = γ ⊙ x̂ + β

    The same computation in training and inference (no batch statistics). One graph node.

    Parameters
    ----------
    axis : int or list of int
        Axes normalized over (default the last); γ and β have their shape.
    epsilon : float
        Keras's default 1e-3 (PyTorch's nn.LayerNorm: 1e-5).
    center, scale : bool
    beta_initializer, gamma_initializer : str or Initializer ("zeros", "ones")
    beta_regularizer, gamma_regularizer : optional

    Shape
    -----
    Any rank >= 2; the output has the input's shape.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ln = ds.layers.LayerNormalization()
    >>> [round(v, 4) for v in ln(np.array([[1.0, 3.0]], np.float32)).numpy()[0].tolist()]
    [-0.9995, 0.9995]
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, **kwargs)

    def build(self, input_shape):
        axes = _axes(self, self.axis, input_shape)
        self._build_affine(tuple(input_shape[a] for a in axes))
        self.built = True

    def call(self, inputs, training=False):
        self._check(inputs.shape)
        return F.layer_norm(inputs, self.gamma, self.beta, axis=self.axis, epsilon=self.epsilon)
