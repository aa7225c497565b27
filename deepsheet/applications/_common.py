"""Shared pieces of the architectures: argument checks, conv–BN–ReLU, width scaling, heads."""
from __future__ import annotations

import numbers


def check_input_shape(input_shape, where, min_size=1):
    """``input_shape`` as an (H, W, C) tuple of positive ints, at least ``min_size`` pixels."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if (shape is None or len(shape) != 3
            or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1
                   for d in shape)):
        raise ValueError(f"{where}: input_shape must be (height, width, channels) of positive "
                         f"integers (channels last), got {input_shape!r}")
    if min(shape[:2]) < min_size:
        raise ValueError(f"{where}: input images must be at least {min_size}x{min_size} "
                         f"pixels, got input_shape={shape}")
    return tuple(int(d) for d in shape)


def check_classes(classes, where):
    if isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 1:
        raise ValueError(f"{where}: classes must be a positive integer, got {classes!r}")
    return int(classes)


def check_positive(value, name, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{where}: {name} must be a positive number, got {value!r}")
    return value


def scaled(filters, width):
    """Channel count ``filters·width`` rounded, at least 1 (a width multiplier)."""
    return max(1, int(round(filters * width)))


def conv_bn(x, filters, kernel_size, name, strides=1, padding="same", batch_norm=True,
            activation="relu"):
    """Conv2D -> BatchNormalization -> activation (or Conv2D with bias and activation).

    With batch norm the convolution has no bias: BN's beta would absorb it exactly.
    """
    from .. import layers
    if batch_norm:
        x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                          use_bias=False, name=f"{name}_conv")(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        if activation is not None:
            x = layers.Activation(activation, name=f"{name}_{activation}")(x)
        return x
    return layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                         activation=activation, name=name)(x)


def classifier(x, classes, classifier_activation, name="predictions"):
    """The last Dense layer: ``classes`` units, softmax by default (None gives logits)."""
    from .. import layers
    return layers.Dense(classes, activation=classifier_activation, name=name)(x)
