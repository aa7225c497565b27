"""Convolution layers (Keras names, defaults and weight layouts), channels-last.

Conv2D, Conv1D, DepthwiseConv2D, SeparableConv2D and Conv2DTranspose; each call is one
``deepsheet.functional`` node (plus the activation). Output shapes come from
``deepsheet.diagnostics.conv_output_size``, the sheet's

    N = floor((W − F_eff + P_before + P_after) / S) + 1,   F_eff = d·(F − 1) + 1
"""
from __future__ import annotations

from .. import functional as F
from .. import init, regularizers
from ..functional._conv_arithmetic import (conv_output_size, conv_transpose_output_size,
                                           normalize_tuple, resolve_padding)
from ._checks import channels_first_message, check_data_format, check_padding_arg, \
    looks_channels_first, positive_int
from ..functional import conv_pool
from .core import _as_float, _KernelLayer
from .pooling import MaxPooling2D

__all__ = ["Conv2D", "Conv1D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"]


class _Conv(_KernelLayer):
    """Shared parts of the convolution layers: hyperparameters, checks, shapes, config."""

    rank = 2
    allowed_padding = ("valid", "same")

    def __init__(self, filters, kernel_size, strides, padding, data_format, dilation_rate,
                 groups, activation, use_bias, kernel_initializer, bias_initializer,
                 kernel_regularizer, bias_regularizer, **kwargs):
        super().__init__(**kwargs)
        n, cls = self.rank, type(self).__name__
        self.filters = None if filters is None else positive_int(self, filters, "filters")
        where = f"{cls} '{self.name}'"
        self.kernel_size = normalize_tuple(kernel_size, n, f"{where}: kernel_size")
        self.strides = normalize_tuple(strides, n, f"{where}: strides")
        self.dilation_rate = normalize_tuple(dilation_rate, n, f"{where}: dilation_rate")
        self.padding = check_padding_arg(self, padding, self.allowed_padding)
        self.data_format = check_data_format(self, data_format)
        self.groups = positive_int(self, groups, "groups")
        if self.filters is not None and self.filters % self.groups:
            raise ValueError(f"{where}: filters={self.filters} must be divisible by "
                             f"groups={self.groups}")
        self._init_kernel_args(where, activation, use_bias, kernel_initializer, bias_initializer,
                               kernel_regularizer, bias_regularizer)

    # ------------------------------------------------------------ checks and shapes
    @property
    def _where(self):
        return f"{type(self).__name__} '{self.name}'"

    def _check_input(self, shape, built_channels=None):
        shape = tuple(shape)
        layout = "(batch, height, width, channels)" if self.rank == 2 else \
            "(batch, steps, channels)"
        if len(shape) != self.rank + 2:
            raise ValueError(f"{self._where} expects inputs of rank {self.rank + 2} {layout}, "
                             f"got shape {shape}")
        if self.rank == 2 and looks_channels_first(shape) and (
                built_channels is None or shape[-1] != built_channels):
            raise ValueError(f"{self._where} got input of shape {shape}"
                             f"{channels_first_message(shape)}")
        if shape[-1] is None:
            raise ValueError(f"{self._where} needs the channel axis (last) to be known, got "
                             f"input shape {shape}")
        if built_channels is not None and shape[-1] != built_channels:
            raise ValueError(f"{self._where} was built for inputs with {built_channels} "
                             f"channels (last axis), got input of shape {shape}")

    def _spatial_out(self, shape):
        spatial = tuple(shape[1:-1])
        pads = resolve_padding(self._padding_spec(), tuple(d or 1 for d in spatial),
                               self.kernel_size, self.strides, self.dilation_rate)
        out = []
        for d, f, p, s, r in zip(spatial, self.kernel_size, pads, self.strides, self.dilation_rate):
            if d is None:
                out.append(None)
                continue
            try:
                out.append(conv_output_size(d, f, p, s, r))
            except ValueError as exc:
                raise ValueError(f"{self._where}: kernel {self.kernel_size} does not fit input "
                                 f"of shape {tuple(shape)} with padding={self.padding!r}: "
                                 f"{exc}") from None
        return tuple(out)

    def _padding_spec(self):
        return self.padding

    def _out_channels(self):
        return self.filters

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape, self._built_channels())
        return (input_shape[0],) + self._spatial_out(input_shape) + (self._out_channels(),)

    def _built_channels(self):
        return None if self.kernel is None else self._in_channels()

    def _in_channels(self):
        return self.kernel.shape[-2] * self.groups

    def build(self, input_shape):
        self._check_input(input_shape)
        self._spatial_out(input_shape)  # a kernel larger than the padded input fails here
        channels = input_shape[-1]
        if channels % self.groups:
            raise ValueError(f"{self._where}: input channels {channels} must be divisible by "
                             f"groups={self.groups}")
        self._add_kernel(self.kernel_size + (channels // self.groups, self.filters))
        self._add_bias(self.filters)
        self.built = True

    def _activate(self, out):
        return out if self.activation is None else self.activation(out)

    # Conv2D and Conv1D fuse a ReLU into their node (one pass fewer over the output).
    _fuses_relu = False

    _checked_shape = None

    def call(self, inputs, training=False):
        sample_shape = tuple(inputs.shape[1:])
        if sample_shape != self._checked_shape:  # checks once per input size, not per batch
            self._check_input(inputs.shape, self._built_channels())
            self._spatial_out(inputs.shape)
            self._checked_shape = sample_shape
        x = _as_float(inputs, self.kernel.dtype)
        if self._fuses_relu and self._activation_name == "relu":
            return self._convolve(x, activation="relu")
        return self._activate(self._convolve(x))

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, kernel_size=list(self.kernel_size), strides=list(self.strides),
            padding=self.padding, data_format=self.data_format,
            dilation_rate=list(self.dilation_rate), groups=self.groups, **self._kernel_config())
        return config


class Conv2D(_Conv):
    """2-D convolution layer: ``activation(conv2d(x, kernel) + bias)`` (Keras's ``Conv2D``).

    Formula
    -------
        y[n, p, q, o] = g(b[o] + Σ_{i, j, c} x_pad[n, p·S_h + i·d_h, q·S_w + j·d_w, c]
                                            · K[i, j, c, o])
        H_out = floor((H + P_top + P_bottom − d_h·(kh − 1) − 1) / S_h) + 1

    One graph node (``functional.conv2d``: chunked im2col + one matrix product per chunk),
    then the activation. A 1x1 kernel mixes channels at every pixel (a per-pixel Dense).

    Parameters
    ----------
    filters : int
        Output channels.
    kernel_size : int or (int, int)
    strides : int or (int, int)
    padding : "valid" or "same"
        "same" keeps ceil(H / S) rows, the odd extra padding row/column at the bottom/right.
    data_format : "channels_last" (or None)
    dilation_rate : int or (int, int)
    groups : int
        Input channels split into ``groups`` blocks, each with filters / groups filters.
    activation : str or callable, optional
    use_bias : bool
    kernel_initializer, bias_initializer : Keras's "glorot_uniform" and "zeros" by default
    kernel_regularizer, bias_regularizer : optional penalties (``layer.losses``)

    Shape
    -----
    (N, H, W, C) -> (N, H_out, W_out, filters); kernel (kh, kw, C / groups, filters), bias
    (filters,).

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> layer = ds.layers.Conv2D(32, (1, 1), activation="relu", input_shape=(32, 32, 3))
    >>> layer(np.zeros((2, 32, 32, 3), np.float32)).shape
    (2, 32, 32, 32)
    >>> ds.layers.Conv2D(8, 3, strides=2, padding="same")(np.zeros((1, 7, 7, 3))).shape
    (1, 4, 4, 8)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, **kwargs)

    _fuses_relu = True

    def _convolve(self, x, activation=None):
        return F.conv2d(x, self.kernel, self.bias, strides=self.strides, padding=self.padding,
                        dilation_rate=self.dilation_rate, groups=self.groups,
                        activation=activation)

    def _call_pooled(self, x, pool):
        """This layer and the next MaxPooling2D as one node (``functional.conv_pool``) or None."""
        if not conv_pool.FUSE or type(pool) is not MaxPooling2D or type(self) is not Conv2D \
                or not pool.built or tuple(x.shape[1:]) != self._checked_shape \
                or x.data.dtype != self.kernel.dtype or self._activation_name not in \
                ("relu", "linear") or not conv_pool.fusable(
                    x.shape, self.kernel.shape, self.strides, self.padding, self.dilation_rate,
                    self.groups, pool.pool_size, pool.strides, pool.padding):
            return None
        return conv_pool.conv2d_max_pool2d(
            x, self.kernel, self.bias, padding=self.padding, dilation_rate=self.dilation_rate,
            activation=None if self.activation is None else "relu", pool_size=pool.pool_size)


class Conv1D(_Conv):
    """1-D convolution over time: ``activation(conv1d(x, kernel) + bias)`` (Keras's ``Conv1D``).

    Formula
    -------
        y[n, t, o] = g(b[o] + Σ_{i, c} x_pad[n, t·S + i·d, c] · K[i, c, o])

    Parameters
    ----------
    filters : int
    kernel_size, strides, dilation_rate : int
    padding : "valid", "same" or "causal"
        "causal" pads d·(k − 1) zeros on the left only: y[t] never sees x[t' > t].
    groups, activation, use_bias, initializers, regularizers : as ``Conv2D``

    Shape
    -----
    (N, T, C) -> (N, T_out, filters); kernel (k, C / groups, filters)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.Conv1D(4, 3, padding="causal")(np.zeros((2, 10, 3), np.float32)).shape
    (2, 10, 4)
    """

    rank = 1
    allowed_padding = ("valid", "same", "causal")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, **kwargs)

    def _padding_spec(self):
        if self.padding == "causal":
            return ((self.dilation_rate[0] * (self.kernel_size[0] - 1), 0),)
        return self.padding

    _fuses_relu = True

    def _convolve(self, x, activation=None):
        return F.conv1d(x, self.kernel, self.bias, strides=self.strides[0],
                        padding=self.padding, dilation_rate=self.dilation_rate[0],
                        groups=self.groups, activation=activation)


class DepthwiseConv2D(_Conv):
    """Depthwise 2-D convolution: each channel filtered on its own (Keras's ``DepthwiseConv2D``).

    Formula
    -------
        y[n, p, q, c·M + m] = g(b[c·M + m] + Σ_{i, j} x_pad[n, p·S_h + i·d_h, q·S_w + j·d_w, c]
                                                      · K[i, j, c, m])

    Computed as kh·kw shifted multiply-adds (``functional.depthwise_conv2d``).

    Parameters
    ----------
    kernel_size, strides, padding, data_format, dilation_rate : as ``Conv2D``
    depth_multiplier : int
        M, filters per input channel.
    activation, use_bias : as ``Conv2D``
    depthwise_initializer, bias_initializer : "glorot_uniform" and "zeros"
    depthwise_regularizer, bias_regularizer : optional

    Shape
    -----
    (N, H, W, C) -> (N, H_out, W_out, C·M); depthwise_kernel (kh, kw, C, M), bias (C·M,)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.DepthwiseConv2D(3, padding="same")(np.zeros((1, 8, 8, 4), np.float32)).shape
    (1, 8, 8, 4)
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(None, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, depthwise_initializer, bias_initializer,
                         depthwise_regularizer, bias_regularizer, **kwargs)
        self.depth_multiplier = positive_int(self, depth_multiplier, "depth_multiplier")

    def _in_channels(self):
        return self.kernel.shape[2]

    def _out_channels(self):
        if self.kernel is None:
            return None
        return self.kernel.shape[2] * self.depth_multiplier

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape, self._built_channels())
        return ((input_shape[0],) + self._spatial_out(input_shape)
                + (input_shape[-1] * self.depth_multiplier,))

    def build(self, input_shape):
        self._check_input(input_shape)
        self._spatial_out(input_shape)
        channels = input_shape[-1]
        self._add_kernel(self.kernel_size + (channels, self.depth_multiplier), "depthwise_kernel")
        self._add_bias(channels * self.depth_multiplier)
        self.built = True

    @property
    def depthwise_kernel(self):
        return self.kernel

    def _convolve(self, x):
        return F.depthwise_conv2d(x, self.kernel, self.bias, strides=self.strides,
                                  padding=self.padding, dilation_rate=self.dilation_rate)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "groups"):
            config.pop(key)
        config["depth_multiplier"] = self.depth_multiplier
        config["depthwise_initializer"] = config.pop("kernel_initializer")
        config["depthwise_regularizer"] = config.pop("kernel_regularizer")
        return config


class SeparableConv2D(_Conv):
    """Depthwise separable convolution: a depthwise then a 1x1 pointwise convolution.

    Formula
    -------
        z = depthwise_conv2d(x, K_dw)                 (N, H_out, W_out, C·M)
        y = g(conv2d(z, K_pw) + b)                    K_pw: (1, 1, C·M, filters)

    About kh·kw·C·M + C·M·filters weights instead of kh·kw·C·filters (MobileNet, Xception).

    Parameters
    ----------
    filters, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias :
        as ``Conv2D``
    depth_multiplier : int
    depthwise_initializer, pointwise_initializer, bias_initializer :
        "glorot_uniform", "glorot_uniform", "zeros"
    depthwise_regularizer, pointwise_regularizer, bias_regularizer : optional

    Shape
    -----
    (N, H, W, C) -> (N, H_out, W_out, filters); weights depthwise_kernel (kh, kw, C, M),
    pointwise_kernel (1, 1, C·M, filters), bias (filters,)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> layer = ds.layers.SeparableConv2D(8, 3, padding="same")
    >>> layer(np.zeros((1, 6, 6, 4), np.float32)).shape
    (1, 6, 6, 8)
    >>> [w.shape for w in layer.get_weights()]
    [(3, 3, 4, 1), (1, 1, 4, 8), (8,)]
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, depthwise_initializer, bias_initializer,
                         depthwise_regularizer, bias_regularizer, **kwargs)
        self.depth_multiplier = positive_int(self, depth_multiplier, "depth_multiplier")
        self.pointwise_initializer = init.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_kernel = None

    def _in_channels(self):
        return self.kernel.shape[2]

    def build(self, input_shape):
        self._check_input(input_shape)
        self._spatial_out(input_shape)
        channels = input_shape[-1]
        self._add_kernel(self.kernel_size + (channels, self.depth_multiplier), "depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1, 1, channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer, regularizer=self.pointwise_regularizer)
        self._add_bias(self.filters)
        self.built = True

    @property
    def depthwise_kernel(self):
        return self.kernel

    def _convolve(self, x):
        z = F.depthwise_conv2d(x, self.kernel, None, strides=self.strides, padding=self.padding,
                               dilation_rate=self.dilation_rate)
        return F.conv2d(z, self.pointwise_kernel, self.bias)

    def get_config(self):
        config = super().get_config()
        config.pop("groups")
        config["depth_multiplier"] = self.depth_multiplier
        config["depthwise_initializer"] = config.pop("kernel_initializer")
        config["depthwise_regularizer"] = config.pop("kernel_regularizer")
        config["pointwise_initializer"] = init.serialize(self.pointwise_initializer)
        config["pointwise_regularizer"] = regularizers.serialize(self.pointwise_regularizer)
        return config


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution (Keras's ``Conv2DTranspose``): upsampling with learned filters.

    Formula
    -------
        full[n, h·S_h + i·d_h, w·S_w + j·d_w, o] += x[n, h, w, c] · K[i, j, o, c]
        y = g(crop(full) + b)
        H_out = H·S_h ("same"),  (H − 1)·S_h + max(F_eff, S_h) ("valid"); with
        output_padding: (H − 1)·S_h + F_eff − 2·floor(F_eff / 2)·[same] + output_padding

    The gradient of ``Conv2D`` with respect to its input, run forward
    (``functional.conv2d_transpose``).

    Parameters
    ----------
    filters : int
    kernel_size, strides, padding, data_format, dilation_rate : as ``Conv2D``
    output_padding : int or (int, int), optional
        Extra rows/columns at the bottom/right, each smaller than the stride.
    activation, use_bias, initializers, regularizers : as ``Conv2D``

    Shape
    -----
    (N, H, W, C) -> (N, H_out, W_out, filters); kernel (kh, kw, filters, C) (Keras layout)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.Conv2DTranspose(4, 3, strides=2, padding="same")(np.zeros((1, 7, 7, 2))).shape
    (1, 14, 14, 4)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, **kwargs)
        self.output_padding = None if output_padding is None else normalize_tuple(
            output_padding, 2, f"{self._where}: output_padding", 0)
        if self.output_padding is not None:
            for op, s, d in zip(self.output_padding, self.strides, self.dilation_rate):
                if op >= max(s, d):
                    raise ValueError(f"{self._where}: output_padding {self.output_padding} must "
                                     f"be smaller than the strides {self.strides}")

    def _in_channels(self):
        return self.kernel.shape[3]

    def _spatial_out(self, shape):
        out = []
        for k, d in enumerate(shape[1:3]):
            op = None if self.output_padding is None else self.output_padding[k]
            out.append(None if d is None else conv_transpose_output_size(
                d, self.kernel_size[k], self.padding, self.strides[k], self.dilation_rate[k], op))
        return tuple(out)

    def build(self, input_shape):
        self._check_input(input_shape)
        self._add_kernel(self.kernel_size + (self.filters, input_shape[-1]))
        self._add_bias(self.filters)
        self.built = True

    def _convolve(self, x):
        return F.conv2d_transpose(x, self.kernel, self.bias, strides=self.strides,
                                  padding=self.padding, output_padding=self.output_padding,
                                  dilation_rate=self.dilation_rate)

    def get_config(self):
        config = super().get_config()
        config.pop("groups")
        config["output_padding"] = (None if self.output_padding is None
                                    else list(self.output_padding))
        return config
