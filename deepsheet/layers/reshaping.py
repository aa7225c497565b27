"""Reshaping layers (Keras names): image padding, cropping, upsampling, and Permute.

ZeroPadding2D and ReflectionPadding2D (on ``functional.pad``), Cropping2D (a slice) and
UpSampling2D (``functional.upsample2d``), all channels-last and without weights; Permute
reorders the axes of any sample.
"""
from __future__ import annotations

import numbers

from .. import functional as F
from ..functional._conv_arithmetic import normalize_tuple
from .base import Layer
from ._checks import check_data_format

__all__ = ["ZeroPadding2D", "ReflectionPadding2D", "Cropping2D", "UpSampling2D", "Permute"]


def _two_pairs(layer, value, what):
    """Keras's 2-D padding/cropping spec: int, (sym_h, sym_w) or ((top, bottom), (left, right))."""
    where = f"{type(layer).__name__} '{layer.name}'"
    err = ValueError(f"{where}: {what} must be an int, (symmetric_height, symmetric_width) or "
                     f"((top, bottom), (left, right)) of non-negative ints, got {value!r}")
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pairs = ((value, value), (value, value))
    else:
        try:
            a, b = value
        except (TypeError, ValueError):
            raise err from None
        if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in (a, b)):
            pairs = ((a, a), (b, b))
        else:
            try:
                pairs = tuple((int(p[0]), int(p[1])) for p in (a, b) if len(p) == 2)
            except (TypeError, ValueError):
                raise err from None
            if len(pairs) != 2:
                raise err
    pairs = tuple((int(p), int(q)) for p, q in pairs)
    if any(v < 0 for pair in pairs for v in pair):
        raise err
    return pairs


def _check_image(layer, shape):
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(f"{type(layer).__name__} '{layer.name}' expects inputs of rank 4 "
                         f"(batch, height, width, channels), got shape {shape}")
    return shape


class _Padding2D(Layer):
    mode = "constant"

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _two_pairs(self, padding, "padding")
        self.data_format = check_data_format(self, data_format)

    def compute_output_shape(self, input_shape):
        n, h, w, c = _check_image(self, input_shape)
        (t, b), (l, r) = self.padding
        return (n, None if h is None else h + t + b, None if w is None else w + l + r, c)

    def call(self, inputs, training=False):
        _check_image(self, inputs.shape)
        (t, b), (l, r) = self.padding
        if self.mode == "reflect":
            h, w = inputs.shape[1:3]
            if t >= h or b >= h or l >= w or r >= w:
                raise ValueError(f"{type(self).__name__} '{self.name}': reflection padding "
                                 f"{self.padding} must be smaller than the image "
                                 f"{tuple(inputs.shape[1:3])} on each side")
        return F.pad(inputs, ((0, 0), (t, b), (l, r), (0, 0)), mode=self.mode)

    def get_config(self):
        config = super().get_config()
        config.update(padding=[list(p) for p in self.padding], data_format=self.data_format)
        return config


class ZeroPadding2D(_Padding2D):
    """Adds rows and columns of zeros around each image (Keras's ``ZeroPadding2D``).

    Formula
    -------
        y[n, t + h, l + w, c] = x[n, h, w, c], zeros elsewhere;  dL/dx = the centre of dL/dy

    Parameters
    ----------
    padding : int, (sym_h, sym_w) or ((top, bottom), (left, right)); default (1, 1)
    data_format : "channels_last" (or None)

    Shape
    -----
    (N, H, W, C) -> (N, H + top + bottom, W + left + right, C)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.ZeroPadding2D(((1, 0), (2, 3)))(np.ones((1, 4, 4, 2), np.float32)).shape
    (1, 5, 9, 2)
    """


class ReflectionPadding2D(_Padding2D):
    """Mirror padding without repeating the edge (PyTorch's ``ReflectionPad2d``).

    Formula
    -------
        along an axis: ... x2 x1 | x0 x1 x2 ... x_{n−1} | x_{n−2} ...
        the border gradients fold back onto the cells they copied.

    Avoids the dark frame zero padding paints around images (style transfer, CycleGAN).

    Parameters
    ----------
    padding : int, (sym_h, sym_w) or ((top, bottom), (left, right)); each < the image size
    data_format : "channels_last" (or None)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = np.arange(3, dtype=np.float32).reshape(1, 1, 3, 1)
    >>> ds.layers.ReflectionPadding2D(((0, 0), (2, 1)))(x).numpy()[0, 0, :, 0]
    array([2., 1., 0., 1., 2., 1.], dtype=float32)
    """

    mode = "reflect"


class Cropping2D(Layer):
    """Removes rows and columns at the image borders (Keras's ``Cropping2D``).

    Formula
    -------
        y[n, h, w, c] = x[n, top + h, left + w, c];  dL/dx is dL/dy placed back, zeros around

    Parameters
    ----------
    cropping : int, (sym_h, sym_w) or ((top, bottom), (left, right)); default ((0, 0), (0, 0))
    data_format : "channels_last" (or None)

    Shape
    -----
    (N, H, W, C) -> (N, H − top − bottom, W − left − right, C)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.Cropping2D(((2, 2), (4, 4)))(np.zeros((1, 28, 28, 3), np.float32)).shape
    (1, 24, 20, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _two_pairs(self, cropping, "cropping")
        self.data_format = check_data_format(self, data_format)

    def _out(self, shape):
        n, h, w, c = _check_image(self, shape)
        (t, b), (l, r) = self.cropping
        out = []
        for size, (p, q), axis in ((h, (t, b), "height"), (w, (l, r), "width")):
            if size is not None and p + q >= size:
                raise ValueError(f"{type(self).__name__} '{self.name}': cropping "
                                 f"{self.cropping} removes the whole {axis} of input "
                                 f"{tuple(shape)}")
            out.append(None if size is None else size - p - q)
        return (n, out[0], out[1], c)

    def compute_output_shape(self, input_shape):
        return self._out(input_shape)

    def call(self, inputs, training=False):
        _, h, w, _ = self._out(inputs.shape)
        (t, _), (l, _) = self.cropping
        return F.getitem(inputs, (slice(None), slice(t, t + h), slice(l, l + w), slice(None)))

    def get_config(self):
        config = super().get_config()
        config.update(cropping=[list(p) for p in self.cropping], data_format=self.data_format)
        return config


class UpSampling2D(Layer):
    """Repeats rows and columns (or interpolates) by integer factors (Keras's ``UpSampling2D``).

    Formula
    -------
        nearest:  y[n, p, q, c] = x[n, floor(p / s_h), floor(q / s_w), c]
        bilinear: PyTorch's ``align_corners=False`` interpolation (``functional.upsample2d``)

    Parameters
    ----------
    size : int or (int, int), default (2, 2)
    data_format : "channels_last" (or None)
    interpolation : "nearest" or "bilinear"

    Shape
    -----
    (N, H, W, C) -> (N, H·s_h, W·s_w, C)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.UpSampling2D()(np.zeros((1, 7, 7, 8), np.float32)).shape
    (1, 14, 14, 8)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 2, f"UpSampling2D '{self.name}': size")
        self.data_format = check_data_format(self, data_format)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"UpSampling2D '{self.name}': interpolation must be 'nearest' or "
                             f"'bilinear', got {interpolation!r}")
        self.interpolation = interpolation

    def compute_output_shape(self, input_shape):
        n, h, w, c = _check_image(self, input_shape)
        return (n, None if h is None else h * self.size[0],
                None if w is None else w * self.size[1], c)

    def call(self, inputs, training=False):
        _check_image(self, inputs.shape)
        return F.upsample2d(inputs, self.size, self.interpolation)

    def get_config(self):
        config = super().get_config()
        config.update(size=list(self.size), data_format=self.data_format,
                      interpolation=self.interpolation)
        return config


class Permute(Layer):
    """Reorders the axes of each sample (Keras's ``Permute``; the batch axis stays first).

    Formula: y[n, i_{d1}, ..., i_{dk}] = x[n, i_1, ..., i_k] for ``dims = (d1, ..., dk)``,
    a permutation of 1..k (axes counted from 1, after the batch axis, as Keras does).

    Shape
    -----
    (N, s_1, ..., s_k) -> (N, s_{d1}, ..., s_{dk})

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.Permute((2, 1))(np.zeros((4, 10, 64), np.float32)).shape
    (4, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(int(d) for d in dims)
        except (TypeError, ValueError):
            raise ValueError(f"Permute '{self.name}': dims must be a tuple of ints, "
                             f"got {dims!r}") from None
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Permute '{self.name}': dims must be a permutation of "
                             f"1..{len(dims)} (axes after the batch axis), got {dims}")
        self.dims = dims

    def _check(self, shape):
        if len(shape) != len(self.dims) + 1:
            raise ValueError(f"Permute '{self.name}' with dims {self.dims} expects inputs of rank "
                             f"{len(self.dims) + 1} (batch first), got shape {tuple(shape)}")

    def call(self, inputs, training=False):
        self._check(inputs.shape)
        return F.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = list(self.dims)
        return config
