"""Normalization layers: BatchNormalization, LayerNormalization and the adapted Normalization."""
from __future__ import annotations

import numpy as np

from .. import backend
from .. import functional as F
from .. import init, regularizers
from ..functional._util import normalize_axis
from ..tensor import Tensor
from .base import Layer

__all__ = ["BatchNormalization", "LayerNormalization", "Normalization"]


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


class Normalization(Layer):
    """Standardizes features with a mean and variance learned once from data (``adapt``).

    Keras's preprocessing layer: the statistics are computed by ``adapt(data)`` (or given),
    then fixed; they are weights that are not trained and are saved with the model.

    Formula
    -------
    μ_k = mean of x[..., k, ...] over every axis except ``axis``,
    σ²_k = the population variance (ddof 0) over the same axes,
    y = (x − μ) / max(σ, ε),   ε = 1e-7      (``invert=True``: y = μ + x · max(σ, ε))

    The max with ε, not a +ε under the root, keeps a constant feature finite (it becomes 0)
    without shrinking the others, as Keras does.

    Parameters
    ----------
    axis : int, tuple of int or None
        The axis (axes) that keep their own statistics, default the last (per feature);
        None gives one mean and variance for everything. Never the batch axis 0.
    mean, variance : array-like, optional
        Statistics to use instead of ``adapt`` (both or neither); broadcast to the kept axes.
    invert : bool
        Undo a normalization instead (map standardized values back).

    Shape
    -----
    Any; the output has the input's shape (float32).

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> norm = ds.layers.Normalization()
    >>> norm.adapt(np.array([[1.0, 10.0], [3.0, 30.0]], np.float32))
    >>> norm(np.array([[2.0, 30.0]], np.float32)).numpy()
    array([[0., 1.]], dtype=float32)
    """

    EPSILON = 1e-7

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        adapted = kwargs.pop("adapted", False)        # written by get_config once adapted
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        self.axis = (int(axis),) if isinstance(axis, (int, np.integer)) else tuple(int(a) for a in axis)
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization '{self.name}': give both mean and variance or "
                             "neither (then call adapt)")
        self.input_mean = None if mean is None else np.asarray(mean, np.float32)
        self.input_variance = None if variance is None else np.asarray(variance, np.float32)
        if self.input_variance is not None and (self.input_variance < 0).any():
            raise ValueError(f"Normalization '{self.name}': variance must be >= 0")
        self.invert = bool(invert)
        self.adapted = bool(adapted)
        self.mean = self.variance = None

    def _keep(self, input_shape):
        ndim = len(input_shape)
        if ndim <= 1:                   # a batch of scalars: one mean and variance, as Keras
            return ()
        try:
            keep = tuple(sorted(normalize_axis(self.axis, ndim))) if self.axis else ()
        except ValueError:
            raise ValueError(f"Normalization '{self.name}': axis {self.axis} is out of range for "
                             f"inputs of shape {tuple(input_shape)}") from None
        if 0 in keep:
            raise ValueError(f"Normalization '{self.name}': axis {self.axis} includes the batch "
                             "axis 0; statistics are over the batch")
        if any(input_shape[a] is None for a in keep):
            raise ValueError(f"Normalization '{self.name}' needs the size of axis {self.axis} "
                             f"known, got input shape {tuple(input_shape)}")
        return keep

    def build(self, input_shape):
        keep = self._keep(input_shape)
        self._broadcast = tuple(input_shape[d] if d in keep else 1 for d in range(len(input_shape)))
        stats_shape = tuple(input_shape[a] for a in keep)
        if self.input_mean is not None:
            try:
                self.mean = np.broadcast_to(self.input_mean, stats_shape).reshape(self._broadcast)
                self.variance = np.broadcast_to(self.input_variance,
                                                stats_shape).reshape(self._broadcast)
            except ValueError:
                raise ValueError(f"Normalization '{self.name}': mean/variance of shape "
                                 f"{self.input_mean.shape} do not fit the kept axes of inputs "
                                 f"{tuple(input_shape)} (sizes {stats_shape})") from None
        else:
            self.mean = self.add_weight("mean", stats_shape, "zeros", trainable=False)
            self.variance = self.add_weight("variance", stats_shape, "ones", trainable=False)
        self.built = True

    def adapt(self, data, batch_size=None, steps=None):
        """Learn μ and σ² from ``data``: an array (all of it) or an iterable of array batches.

        Batches are merged exactly (Chan et al.'s pairwise update of count, mean and the sum
        of squared deviations), in float64, so batching does not change the statistics.
        """
        if self.input_mean is not None:
            raise ValueError(f"Normalization '{self.name}' was given mean and variance; it "
                             "cannot also adapt")
        single = hasattr(data, "shape") or hasattr(data, "__array__") or \
            isinstance(data, (list, tuple))
        batches = [data] if single else data          # else an iterable of batches
        count, mean, m2, shape = 0, None, None, None
        for k, batch in enumerate(batches):
            if steps is not None and k >= steps:
                break
            if isinstance(batch, tuple) and not single:
                batch = batch[0]                       # a dataset's (x, y) batches
            if isinstance(batch, Tensor):
                batch = batch.data
            x = np.asarray(backend.to_numpy(batch) if hasattr(batch, "shape") else batch,
                           dtype=np.float64)
            if x.ndim == 0 or not x.size:
                raise ValueError(f"Normalization '{self.name}': adapt needs a non-empty batch "
                                 f"of samples, got shape {x.shape}")
            if shape is None:
                shape = (None,) + x.shape[1:]
                if self.built and tuple(self._build_input_shape[1:]) != shape[1:]:
                    raise ValueError(f"Normalization '{self.name}' was built for samples of "
                                     f"shape {self._build_input_shape[1:]}, adapt got {shape[1:]}")
                keep = self._keep(shape)
                reduce = tuple(d for d in range(x.ndim) if d not in keep)
            elif x.shape[1:] != shape[1:]:
                raise ValueError(f"Normalization '{self.name}': adapt batches differ in shape "
                                 f"({shape[1:]} and {x.shape[1:]})")
            n = x.size // int(np.prod([x.shape[a] for a in keep])) if keep else x.size
            b_mean = x.mean(axis=reduce, keepdims=True)
            b_m2 = ((x - b_mean) ** 2).sum(axis=reduce, keepdims=True)
            if mean is None:
                count, mean, m2 = n, b_mean, b_m2
            else:
                delta = b_mean - mean
                total = count + n
                mean = mean + delta * (n / total)
                m2 = m2 + b_m2 + delta ** 2 * (count * n / total)
                count = total
        if mean is None:
            raise ValueError(f"Normalization '{self.name}': adapt got no data")
        if not self.built:
            self._maybe_build(shape)
        stats = self.mean.shape
        self.mean.data = backend.to_device(mean.reshape(stats).astype(np.float32),
                                           backend.get_default_device())
        self.variance.data = backend.to_device((m2 / count).reshape(stats).astype(np.float32),
                                               backend.get_default_device())
        self.adapted = True

    def call(self, inputs, training=False):
        if self.input_mean is None and not self.adapted:
            raise RuntimeError(f"Normalization '{self.name}' has no statistics yet: call "
                               "adapt(data) or give mean= and variance=")
        if inputs.dtype.kind != "f":
            inputs = inputs.astype(np.float32)
        mean, var = self.mean, self.variance
        mean = mean if isinstance(mean, np.ndarray) else mean.data
        var = var if isinstance(var, np.ndarray) else var.data
        xp = backend.array_module(mean)
        mean = mean.reshape(self._broadcast)
        scale = xp.maximum(xp.sqrt(var), np.float32(self.EPSILON)).reshape(self._broadcast)
        if self.invert:
            return F.add(F.mul(inputs, scale), mean)
        return F.mul(F.sub(inputs, mean), (1.0 / scale).astype(np.float32))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(axis=None if not self.axis else
                      self.axis[0] if len(self.axis) == 1 else list(self.axis),
                      invert=self.invert,
                      mean=None if self.input_mean is None else self.input_mean.tolist(),
                      variance=None if self.input_variance is None else
                      self.input_variance.tolist())
        if self.adapted:
            config["adapted"] = True
        return config
