"""Data-augmentation layers (Keras's preprocessing layers): random in training, identity at inference.

Put them first in a model (``Sequential([RandomFlip(), RandomTranslation(0.1, 0.1), ...])``)
and every training batch is a fresh random variant of the data while ``evaluate`` and
``predict`` see the images unchanged. Each layer calls the matching function of
``deepsheet.preprocessing.augmentation`` (where the formulas are); draws come from the
library RNG, or from a private generator when ``seed`` is given. Inputs are image batches
(N, H, W, C), except ``GaussianNoise``, which takes any shape. Gradients flow through them.
"""
from __future__ import annotations

import numpy as np

from ..preprocessing import augmentation as aug
from .base import Layer

__all__ = ["RandomFlip", "RandomTranslation", "RandomCrop", "RandomRotation", "GaussianNoise",
           "RandomErasing"]


def _check_seed(seed, who):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or seed < 0):
        raise ValueError(f"{who}: seed must be a non-negative int, got {seed!r}")
    return None if seed is None else int(seed)


def _factor(value):
    return list(value) if isinstance(value, (tuple, list)) else float(value)


class _Augmentation(Layer):
    """Shared plumbing: seed -> generator, identity when not training, shape-preserving."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = _check_seed(seed, f"{type(self).__name__} '{self.name}'")
        self._generator = None if seed is None else np.random.Generator(np.random.PCG64(seed))

    def build(self, input_shape):
        if self._images and len(input_shape) != 4:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects images (N, H, W, C), "
                             f"got input shape {tuple(input_shape)}")
        super().build(input_shape)

    _images = True

    def call(self, inputs, training=False):
        if not training:
            return inputs
        return self._augment(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class RandomFlip(_Augmentation):
    """Mirror each training image with probability 1/2 (``augmentation.random_flip``).

    Formula::

        horizontal: y[i, j] = x[i, W − 1 − j];  vertical: y[i, j] = x[H − 1 − i, j]
        (each applied with probability 1/2 in training; y = x at inference)

    Parameters
    ----------
    mode : {"horizontal", "vertical", "horizontal_and_vertical"}
    seed : int, optional

    Shape
    -----
    (N, H, W, C) -> (N, H, W, C)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    >>> bool((ds.layers.RandomFlip()(x).numpy() == x).all())   # inference: identity
    True
    """

    def __init__(self, mode="horizontal", seed=None, **kwargs):
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f'RandomFlip: mode must be "horizontal", "vertical" or '
                             f'"horizontal_and_vertical", got {mode!r}')
        self.mode = mode
        super().__init__(seed=seed, **kwargs)

    def _augment(self, x):
        return aug.random_flip(x, self.mode, generator=self._generator)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class RandomTranslation(_Augmentation):
    """Shift each training image by a random whole number of pixels (``random_translation``).

    Parameters
    ----------
    height_factor, width_factor : float or (low, high)
        Fractions of the height / width; f means a shift drawn in [−f, f].
    fill_mode : {"constant", "nearest", "wrap", "reflect"}
    fill_value : float
    seed : int, optional
    """

    def __init__(self, height_factor, width_factor, fill_mode="constant", fill_value=0.0,
                 seed=None, **kwargs):
        aug._check_fill(fill_mode)
        aug._range(height_factor, "height_factor")
        aug._range(width_factor, "width_factor")
        self.height_factor, self.width_factor = _factor(height_factor), _factor(width_factor)
        self.fill_mode, self.fill_value = fill_mode, float(fill_value)
        super().__init__(seed=seed, **kwargs)

    def _augment(self, x):
        return aug.random_translation(x, self.height_factor, self.width_factor,
                                      fill_mode=self.fill_mode, fill_value=self.fill_value,
                                      generator=self._generator)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value}


class RandomCrop(_Augmentation):
    """Pad by ``padding`` then crop a random window in training; a centred window at inference.

    With the default ``size=None`` the window has the input's size (the CIFAR "pad 4 and
    crop" recipe), so inference is the identity; with ``size=(h, w)`` inference takes the
    centre window, as Keras's ``RandomCrop`` does.

    Parameters
    ----------
    padding : int
    size : (h, w), optional
    fill_mode, fill_value : how the padding is filled
    seed : int, optional

    Shape
    -----
    (N, H, W, C) -> (N, h, w, C), h, w = ``size`` or (H, W)
    """

    def __init__(self, padding=4, size=None, fill_mode="constant", fill_value=0.0, seed=None,
                 **kwargs):
        if not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"RandomCrop: padding must be a non-negative int, got {padding!r}")
        aug._check_fill(fill_mode)
        self.padding = int(padding)
        self.size = None if size is None else [int(size[0]), int(size[1])]
        self.fill_mode, self.fill_value = fill_mode, float(fill_value)
        super().__init__(seed=seed, **kwargs)

    def build(self, input_shape):
        super().build(input_shape)
        if self.size is not None:
            h, w = input_shape[1], input_shape[2]
            if h is not None and not (0 < self.size[0] <= h + 2 * self.padding
                                      and 0 < self.size[1] <= w + 2 * self.padding):
                raise ValueError(f"RandomCrop '{self.name}': size {tuple(self.size)} does not fit "
                                 f"in the padded input {(h + 2 * self.padding, w + 2 * self.padding)}")

    def call(self, inputs, training=False):
        if training:
            return aug.random_crop(inputs, self.padding, self.size, fill_mode=self.fill_mode,
                                   fill_value=self.fill_value, generator=self._generator)
        if self.size is None:
            return inputs
        h, w = inputs.shape[1], inputs.shape[2]
        top = (h + 2 * self.padding - self.size[0]) // 2 - self.padding
        left = (w + 2 * self.padding - self.size[1]) // 2 - self.padding
        return aug.crop(inputs, (top, left), self.size, fill_mode=self.fill_mode,
                        fill_value=self.fill_value)

    def compute_output_shape(self, input_shape):
        if self.size is None:
            return tuple(input_shape)
        return (input_shape[0], self.size[0], self.size[1], input_shape[3])

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "size": self.size,
                "fill_mode": self.fill_mode, "fill_value": self.fill_value}


class RandomRotation(_Augmentation):
    """Rotate each training image by a small random angle (``augmentation.random_rotation``).

    Formula::

        y(p) = x(R(−θ) (p − c) + c),  θ ~ U[2π · low, 2π · high],  c the image centre
        (bilinear interpolation; y = x at inference)

    Parameters
    ----------
    factor : float or (low, high)
        Fraction of a full turn: 0.05 rotates by up to ±18°.
    fill_mode : {"constant", "nearest", "wrap", "reflect"}
    interpolation : {"bilinear", "nearest"}
    fill_value : float
    seed : int, optional
    """

    def __init__(self, factor, fill_mode="constant", interpolation="bilinear", fill_value=0.0,
                 seed=None, **kwargs):
        aug._check_fill(fill_mode)
        aug._range(factor, "factor")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f'RandomRotation: interpolation must be "bilinear" or "nearest", '
                             f"got {interpolation!r}")
        self.factor = _factor(factor)
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)
        super().__init__(seed=seed, **kwargs)

    def _augment(self, x):
        return aug.random_rotation(x, self.factor, fill_mode=self.fill_mode,
                                   fill_value=self.fill_value, interpolation=self.interpolation,
                                   generator=self._generator)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


class GaussianNoise(_Augmentation):
    """Add N(0, stddev²) noise in training (a regularizer; Keras's ``GaussianNoise``); any shape.

    Formula::

        training:  y = x + ε,  ε ~ N(0, stddev²)
        inference: y = x

    Parameters
    ----------
    stddev : float
    seed : int, optional
    """

    supports_masking = True  # masks pass through unchanged (Keras)

    _images = False

    def __init__(self, stddev, seed=None, **kwargs):
        if not stddev >= 0:
            raise ValueError(f"GaussianNoise: stddev must be >= 0, got {stddev!r}")
        self.stddev = float(stddev)
        super().__init__(seed=seed, **kwargs)

    def _augment(self, x):
        return aug.gaussian_noise(x, self.stddev, generator=self._generator)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


class RandomErasing(_Augmentation):
    """Blank a random rectangle of each training image with probability ``p`` (Zhong et al.).

    Parameters
    ----------
    p : float
    scale : (min, max) area fractions
    ratio : (min, max) aspect ratios
    value : float or "random"
    seed : int, optional
    """

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, seed=None,
                 **kwargs):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomErasing: p must be a probability in [0, 1], got {p!r}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f'RandomErasing: value must be a number or "random", got {value!r}')
        self.p = float(p)
        self.scale, self.ratio = [float(v) for v in scale], [float(v) for v in ratio]
        self.value = value if isinstance(value, str) else float(value)
        super().__init__(seed=seed, **kwargs)

    def _augment(self, x):
        return aug.random_erasing(x, self.p, self.scale, self.ratio, self.value,
                                  generator=self._generator)

    def get_config(self):
        return {**super().get_config(), "p": self.p, "scale": self.scale, "ratio": self.ratio,
                "value": self.value}
