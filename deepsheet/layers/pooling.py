"""Pooling layers (Keras names and defaults), channels-last, no weights.

MaxPooling2D, AveragePooling2D, MaxPooling1D, AveragePooling1D and the global poolings.
Each call is one ``deepsheet.functional`` node; output sizes round down
(``deepsheet.diagnostics.conv_output_size``), padded cells never count.
"""
from __future__ import annotations

from .. import functional as F
from ..functional._conv_arithmetic import conv_output_size, normalize_tuple, resolve_padding
from .base import Layer
from ._checks import channels_first_message, check_data_format, check_padding_arg, \
    looks_channels_first

__all__ = ["MaxPooling2D", "AveragePooling2D", "MaxPooling1D", "AveragePooling1D",
           "GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
           "GlobalMaxPooling1D"]


def _check_rank(layer, shape, rank):
    shape = tuple(shape)
    if len(shape) != rank:
        layout = "(batch, height, width, channels)" if rank == 4 else "(batch, steps, channels)"
        raise ValueError(f"{type(layer).__name__} '{layer.name}' expects inputs of rank {rank} "
                         f"{layout}, got shape {shape}")


class _Pooling(Layer):
    rank = 2
    function = None

    def __init__(self, pool_size, strides, padding, data_format, **kwargs):
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        n = self.rank
        self.pool_size = normalize_tuple(pool_size, n, f"{where}: pool_size")
        self.strides = self.pool_size if strides is None else normalize_tuple(
            strides, n, f"{where}: strides")
        self.padding = check_padding_arg(self, padding, ("valid", "same"))
        self.data_format = check_data_format(self, data_format)

    def _out(self, shape):
        shape = tuple(shape)
        _check_rank(self, shape, self.rank + 2)
        spatial = shape[1:-1]
        pads = resolve_padding(self.padding, tuple(d or 1 for d in spatial), self.pool_size,
                               self.strides)
        out = []
        for d, f, p, s in zip(spatial, self.pool_size, pads, self.strides):
            if d is None:
                out.append(None)
                continue
            try:
                out.append(conv_output_size(d, f, p, s))
            except ValueError as exc:
                hint = channels_first_message(shape) if looks_channels_first(shape) else ""
                raise ValueError(f"{type(self).__name__} '{self.name}': pool_size "
                                 f"{self.pool_size} does not fit input of shape {shape}: "
                                 f"{exc}{hint}") from None
        return (shape[0],) + tuple(out) + (shape[-1],)

    def compute_output_shape(self, input_shape):
        return self._out(input_shape)

    def call(self, inputs, training=False):
        self._out(inputs.shape)
        size = self.pool_size if self.rank == 2 else self.pool_size[0]
        strides = self.strides if self.rank == 2 else self.strides[0]
        return self.function(inputs, size, strides, self.padding)

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=list(self.pool_size), strides=list(self.strides),
                      padding=self.padding, data_format=self.data_format)
        return config


class MaxPooling2D(_Pooling):
    """2-D max pooling (Keras's ``MaxPooling2D``): the largest value of each window.

    Formula
    -------
        y[n, p, q, c] = max_{i < ph, j < pw} x_pad[n, p·S_h + i, q·S_w + j, c]
        the gradient goes to the first maximum of each window (as PyTorch)

    Parameters
    ----------
    pool_size : int or (int, int), default (2, 2)
    strides : int or (int, int), optional (default ``pool_size``)
    padding : "valid" or "same"
    data_format : "channels_last" (or None)

    Shape
    -----
    (N, H, W, C) -> (N, floor((H + P − ph) / S_h) + 1, ..., C)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.MaxPooling2D()(np.zeros((2, 28, 28, 32), np.float32)).shape
    (2, 14, 14, 32)
    """

    function = staticmethod(F.max_pool2d)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(_Pooling):
    """2-D average pooling (Keras's ``AveragePooling2D``): the mean of each window.

    Formula
    -------
        y[n, p, q, c] = mean of the real (non-padded) cells of window (p, q)

    Parameters
    ----------
    pool_size, strides, padding, data_format : as ``MaxPooling2D``

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.AveragePooling2D(2, padding="same")(np.zeros((1, 5, 5, 3), np.float32)).shape
    (1, 3, 3, 3)
    """

    function = staticmethod(F.avg_pool2d)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling1D(_Pooling):
    """1-D max pooling over time (Keras's ``MaxPooling1D``): (N, T, C) -> (N, T_out, C).

    Formula
    -------
        y[n, t, c] = max_{i < k} x_pad[n, t·S + i, c]

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.MaxPooling1D()(np.zeros((2, 9, 3), np.float32)).shape
    (2, 4, 3)
    """

    rank = 1
    function = staticmethod(F.max_pool1d)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """1-D average pooling over time (Keras's ``AveragePooling1D``): (N, T, C) -> (N, T_out, C).

    Formula
    -------
        y[n, t, c] = mean of the real cells x[n, t·S + i − P_left, c], i < k

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.AveragePooling1D(3, strides=1, padding="same")(np.zeros((2, 9, 3))).shape
    (2, 9, 3)
    """

    rank = 1
    function = staticmethod(F.avg_pool1d)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    rank = 2
    function = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(self, data_format)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        _check_rank(self, shape, self.rank + 2)
        if self.keepdims:
            return (shape[0],) + (1,) * self.rank + (shape[-1],)
        return (shape[0], shape[-1])

    def call(self, inputs, training=False):
        _check_rank(self, inputs.shape, self.rank + 2)
        return self.function(inputs, keepdims=self.keepdims)

    def get_config(self):
        config = super().get_config()
        config.update(data_format=self.data_format, keepdims=self.keepdims)
        return config


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean of each channel over all positions (Keras's ``GlobalAveragePooling2D``).

    Formula
    -------
        y[n, c] = (1 / HW) Σ_{h, w} x[n, h, w, c]

    Parameters
    ----------
    data_format : "channels_last" (or None)
    keepdims : bool
        Keep the spatial axes as size 1: (N, 1, 1, C).

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.GlobalAveragePooling2D()(np.zeros((2, 7, 7, 64), np.float32)).shape
    (2, 64)
    """

    function = staticmethod(F.global_avg_pool2d)


class GlobalMaxPooling2D(_GlobalPooling):
    """Maximum of each channel over all positions (Keras's ``GlobalMaxPooling2D``).

    Formula
    -------
        y[n, c] = max_{h, w} x[n, h, w, c]   (gradient to the first maximum)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.GlobalMaxPooling2D(keepdims=True)(np.zeros((2, 7, 7, 64))).shape
    (2, 1, 1, 64)
    """

    function = staticmethod(F.global_max_pool2d)


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over time (Keras's ``GlobalAveragePooling1D``): (N, T, C) -> (N, C).

    Formula
    -------
        y[n, c] = (1 / T) Σ_t x[n, t, c]
        with a mask m (True = a real step): y[n, c] = Σ_t m[n, t] x[n, t, c] / Σ_t m[n, t]
        (padding takes no part; a row with no real step gives 0)
    """

    rank = 1
    supports_masking = True
    function = staticmethod(F.global_avg_pool1d)

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        _check_rank(self, inputs.shape, 3)
        m = (mask.data if hasattr(mask, "requires_grad") else mask).astype(inputs.data.dtype)
        m = m[:, :, None]
        count = m.sum(axis=1, keepdims=self.keepdims)
        count[count == 0] = 1.0
        total = F.sum(inputs * m, axis=1, keepdims=self.keepdims)
        return total * (1.0 / count)

    def compute_mask(self, inputs, mask=None):
        return None  # the time axis is gone


class GlobalMaxPooling1D(_GlobalPooling):
    """Maximum over time (Keras's ``GlobalMaxPooling1D``): (N, T, C) -> (N, C).

    Formula
    -------
        y[n, c] = max_t x[n, t, c]
    """

    rank = 1
    function = staticmethod(F.global_max_pool1d)
