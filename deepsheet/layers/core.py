"""Core layers: Dense, Activation, Flatten, Reshape, Dropout, Identity, RepeatVector."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import init, regularizers
from ..functional.dropout import check_rate
from ..functional.dense import DenseOp
from .base import Layer

__all__ = ["Dense", "Activation", "Flatten", "Reshape", "Dropout", "Identity", "RepeatVector"]


def _activation(identifier, where):
    """(callable or None, config name) for a Keras activation identifier."""
    from ..functional.activations import ACTIVATIONS, get_activation
    try:
        fn = get_activation(identifier)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if fn is ACTIVATIONS["linear"]:
        return None, "linear"
    if isinstance(identifier, str):
        return fn, next(k for k, v in ACTIVATIONS.items() if v is fn)
    name = next((k for k, v in ACTIVATIONS.items() if v is fn), None)
    return fn, name if name is not None else getattr(fn, "__name__", None)


def _serializable_activation(layer, name):
    from ..functional.activations import ACTIVATIONS
    if name not in ACTIVATIONS:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': its activation {name!r} is a "
                         "custom callable and cannot be saved in a config; use a name "
                         f"({', '.join(sorted(ACTIVATIONS))})")
    return name


def _as_float(x, dtype):
    # Integer or boolean data (pixel bytes, one-hot flags) would make x @ W float64.
    return x.astype(dtype) if x.dtype.kind in "iub" else x


class _KernelLayer(Layer):
    """What Dense and the convolutions share: an activation, a kernel and an optional bias
    with their initializers and regularizers, and the config entries describing them."""

    def _init_kernel_args(self, where, activation, use_bias, kernel_initializer,
                          bias_initializer, kernel_regularizer, bias_regularizer):
        self.activation, self._activation_name = _activation(activation, where)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = init.get(kernel_initializer)
        self.bias_initializer = init.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel = self.bias = None

    def _add_kernel(self, shape, name="kernel"):
        self.kernel = self.add_weight(name, shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)

    def _add_bias(self, size):
        if self.use_bias:
            self.bias = self.add_weight("bias", (size,), self.bias_initializer,
                                        regularizer=self.bias_regularizer)

    def _kernel_config(self):
        return dict(
            activation=_serializable_activation(self, self._activation_name),
            use_bias=self.use_bias,
            kernel_initializer=init.serialize(self.kernel_initializer),
            bias_initializer=init.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer))


class Dense(_KernelLayer):
    """Fully connected layer: ``activation(x · kernel + bias)`` on the last axis.

    Formula::

        y = g(x · W + b),   W: (in, units) (Keras's layout; PyTorch's Linear stores Wᵀ)

    The affine map is ONE graph node (``functional.dense``): its backward makes one GEMM
    for dL/dx (skipped for the data) and one for dL/dW, with all leading axes of a rank > 2
    input folded into rows. A ReLU activation is fused into the same node; softmax and
    sigmoid record their logits on the output for the stable loss forms.

    Parameters
    ----------
    units : int
        Output features.
    activation : str or callable, optional
        Keras name ("relu", "softmax", ...) or function; None is linear.
    use_bias : bool
    kernel_initializer, bias_initializer : str or Initializer
        Keras's defaults: "glorot_uniform" and "zeros".
    kernel_regularizer, bias_regularizer : str or Regularizer, optional
        Penalties reported in ``layer.losses``.
    **kwargs
        ``name``, ``trainable``, ``input_shape``, ``dtype`` (see ``Layer``).

    Shape
    -----
    (batch, ..., in) -> (batch, ..., units)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> layer = ds.layers.Dense(4, activation="relu")
    >>> layer(np.ones((2, 3), np.float32)).shape
    (2, 4)
    >>> [w.shape for w in layer.get_weights()]
    [(3, 4), (4,)]
    """

    _blas_team_ok = True  # products and light elementwise passes (Layer._blas_team_ok)

    supports_masking = True  # masks pass through unchanged (Keras)

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense '{self.name}': units must be a positive integer, "
                             f"got {units!r}")
        self.units = int(units)
        self._init_kernel_args(f"Dense '{self.name}'", activation, use_bias, kernel_initializer,
                               bias_initializer, kernel_regularizer, bias_regularizer)
        self._fused = "relu" if self._activation_name == "relu" else None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 2:
            raise ValueError(f"Dense '{self.name}' expects inputs of rank >= 2 (batch, ..., "
                             f"features), got shape {input_shape}")
        if input_shape[-1] is None:
            raise ValueError(f"Dense '{self.name}' needs a known last dimension, got shape "
                             f"{input_shape}")
        self._add_kernel((input_shape[-1], self.units))
        self._add_bias(self.units)
        self.built = True

    def _check(self, shape):
        shape = tuple(shape)
        n_in = self.kernel.shape[0]
        if len(shape) >= 2 and shape[-1] == n_in:
            return
        msg = (f"Dense '{self.name}' expects inputs with last dimension {n_in}, "
               f"got {shape}")
        if len(shape) > 2 and None not in shape[1:] and math.prod(shape[1:]) == n_in:
            dims = " x ".join(str(d) for d in shape[1:])
            msg += (f"; each sample has {dims} = {n_in} values: add a Flatten() layer before "
                    f"'{self.name}' to feed them as vectors")
        raise ValueError(msg)

    def call(self, inputs, training=False):
        shape = inputs.data.shape
        if len(shape) < 2 or shape[-1] != self.kernel.data.shape[0]:
            self._check(shape)  # raises the explanatory error
        if inputs.data.dtype.kind in "iub":
            inputs = _as_float(inputs, self.kernel.dtype)
        # The node of F.dense, without its argument checks: ours are done above.
        relu = self._fused is not None
        if self.bias is None:
            out = DenseOp.apply(inputs, self.kernel, relu=relu)
        else:
            out = DenseOp.apply(inputs, self.kernel, self.bias, relu=relu)
        if self.activation is not None and self._fused is None:
            out = self.activation(out)
        return out

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, **self._kernel_config())
        return config


class Activation(Layer):
    """Applies an activation function: y = g(x) (Keras's ``Activation``).

    Parameters
    ----------
    activation : str or callable
        e.g. "relu", "softmax" (over the last axis), or a function of a Tensor.

    Shape
    -----
    Any; the output has the input's shape.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.Activation("relu")(np.array([[-1.0, 2.0]], np.float32)).numpy().tolist()
    [[0.0, 2.0]]
    """

    _blas_team_ok = True  # products and light elementwise passes (Layer._blas_team_ok)

    supports_masking = True  # masks pass through unchanged (Keras)

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation, self._activation_name = _activation(activation,
                                                             f"Activation '{self.name}'")

    def call(self, inputs, training=False):
        x = _as_float(inputs, np.float32)
        return x if self.activation is None else self.activation(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["activation"] = _serializable_activation(self, self._activation_name)
        return config


class Flatten(Layer):
    """Flattens each sample into a vector, keeping the batch axis.

    Formula: (N, d1, ..., dk) -> (N, d1·...·dk), row-major (channels-last order, as Keras).

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.Flatten()(np.zeros((2, 28, 28, 1), np.float32)).shape
    (2, 784)
    """

    _blas_team_ok = True  # products and light elementwise passes (Layer._blas_team_ok)

    def call(self, inputs, training=False):
        if inputs.ndim == 0:
            raise ValueError(f"Flatten '{self.name}' needs inputs with a batch axis, got a scalar")
        # An explicit size, not -1: NumPy cannot infer -1 for an empty batch.
        return F.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape[1:])
        return (input_shape[0], None if None in rest else math.prod(rest))


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (batch axis kept; one entry may be -1).

    Parameters
    ----------
    target_shape : tuple of int
        Shape of one sample; -1 takes whatever size makes the count match.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.Reshape((-1, 4))(np.zeros((2, 12), np.float32)).shape
    (2, 3, 4)
    """

    _blas_team_ok = True  # products and light elementwise passes (Layer._blas_team_ok)

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, (int, np.integer)):
            target_shape = (target_shape,)
        try:
            target = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise ValueError(f"Reshape '{self.name}': target_shape must be a tuple of ints, "
                             f"got {target_shape!r}") from None
        if sum(d == -1 for d in target) > 1 or any(d < -1 or d == 0 for d in target):
            raise ValueError(f"Reshape '{self.name}': target_shape {target} may hold positive "
                             "sizes and at most one -1")
        self.target_shape = target

    def _resolve(self, sample_shape):
        known = math.prod(d for d in self.target_shape if d != -1)
        if None in sample_shape:
            if -1 in self.target_shape:
                return tuple(None if d == -1 else d for d in self.target_shape)
            return self.target_shape
        total = math.prod(sample_shape)
        if -1 in self.target_shape:
            ok = known > 0 and total % known == 0
            target = tuple(total // known if d == -1 and ok else d for d in self.target_shape)
        else:
            ok, target = total == known, self.target_shape
        if not ok:
            raise ValueError(f"Reshape '{self.name}' cannot reshape samples of shape "
                             f"{tuple(sample_shape)} ({total} values) to {self.target_shape}")
        return target

    def call(self, inputs, training=False):
        target = self._resolve(tuple(inputs.shape[1:]))
        return F.reshape(inputs, (inputs.shape[0],) + target)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape[1:]))

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


class Dropout(Layer):
    """Inverted dropout: in training drops units with probability ``rate`` and scales the
    kept ones by 1/(1 − rate); identity at inference (``functional.dropout``).

    Parameters
    ----------
    rate : float in [0, 1)
        Fraction of units dropped.
    noise_shape : tuple, optional
        Mask shape broadcast over the input (None entries take the input's size), e.g.
        ``(None, 1, 1, None)`` drops whole feature maps.
    seed : int, optional
        Draw masks from a private generator seeded with this (reproducible per layer);
        by default from the library RNG (reproducible under ``deepsheet.manual_seed``).

    Shape
    -----
    Any; the output has the input's shape.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> layer = ds.layers.Dropout(0.5)
    >>> x = np.ones((2, 3), np.float32)
    >>> bool((layer(x).numpy() == x).all())     # inference: identity
    True
    """

    _blas_team_ok = True  # products and light elementwise passes (Layer._blas_team_ok)

    supports_masking = True  # masks pass through unchanged (Keras)

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate, f"Dropout '{self.name}'")
        self.noise_shape = None if noise_shape is None else tuple(
            None if d is None else int(d) for d in noise_shape)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"Dropout '{self.name}': seed must be a non-negative int, "
                             f"got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self._generator = (None if seed is None
                           else np.random.Generator(np.random.PCG64(self.seed)))

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        return F.dropout(inputs, self.rate, training=True, noise_shape=self.noise_shape,
                         generator=self._generator)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate,
                      noise_shape=None if self.noise_shape is None else list(self.noise_shape),
                      seed=self.seed)
        return config


class Identity(Layer):
    """Passes its input through unchanged (a placeholder in architectures): y = x."""

    _blas_team_ok = True  # products and light elementwise passes (Layer._blas_team_ok)

    supports_masking = True  # masks pass through unchanged (Keras)

    def call(self, inputs, training=False):
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class RepeatVector(Layer):
    """Repeats each input vector ``n`` times: (N, F) -> (N, n, F) (encoder-decoder bridges).

    Formula: y[:, t, :] = x for t < n;  dL/dx = Σ_t dL/dy[:, t, :].
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"RepeatVector '{self.name}': n must be a positive int, got {n!r}")
        self.n = int(n)

    def call(self, inputs, training=False):
        if inputs.ndim != 2:
            raise ValueError(f"RepeatVector '{self.name}' expects inputs of shape "
                             f"(batch, features), got {tuple(inputs.shape)}")
        n, f = inputs.shape
        return F.broadcast_to(F.reshape(inputs, (n, 1, f)), (n, self.n, f))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config
