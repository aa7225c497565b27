"""A small AlexNet-style network (Krizhevsky, Sutskever & Hinton 2012) for 28x28–32x32 images.

What makes it AlexNet: five convolutions (a big first window, then 3x3s) with ReLU,
overlapping 3x3/2 max pooling after the 1st, 2nd and 5th convolution, and two wide
fully-connected layers with dropout before the classifier. The 224x224 original starts
with an 11x11 stride-4 window; on small images a 5x5 stride-1 window plays its part.
"""
from __future__ import annotations

from ._common import (check_classes, check_input_shape, check_positive, classifier, conv_bn,
                      scaled)

__all__ = ["alexnet_small"]


def alexnet_small(input_shape=(32, 32, 3), classes=10, filters=(64, 192, 384, 256, 256),
                  dense_units=(512, 512), width=0.5, dropout=0.5, batch_norm=False,
                  classifier_activation="softmax", name="alexnet_small"):
    """AlexNet-style functional ``Model`` sized for small images.

    Formula
    -------
        conv1 5x5 → pool 3x3/2 → conv2 5x5 → pool 3x3/2 → conv3, conv4, conv5 3x3 →
        pool 3x3/2 → dropout → FC → dropout → FC → classes
        (all convolutions "same", ReLU; pooling "valid": 32 → 15 → 7 → 3, 28 → 13 → 6 → 2)

    Parameters
    ----------
    input_shape : (H, W, C)
        At least 15x15 (three overlapping poolings).
    classes : int
    filters : 5 ints
        Convolution widths before ``width`` scaling (the original's 96/256/384/384/256
        halved into two GPUs is close to the default).
    dense_units : 2 ints
        Fully-connected widths (the original's 4096) before ``width`` scaling.
    width : float
        Multiplier on every width (0.5 by default: 32/96/192/128/128 and 256/256).
    dropout : float
        Dropout rate before each fully-connected layer.
    batch_norm : bool
        Conv–BN–ReLU instead of conv+ReLU (the original used local response normalization).
    classifier_activation : str or None
    name : str
    """
    from .. import layers
    from ..layers import Input
    from ..models import Model
    where = "alexnet_small"
    input_shape = check_input_shape(input_shape, where, min_size=15)
    classes = check_classes(classes, where)
    check_positive(width, "width", where)
    if len(filters) != 5 or len(dense_units) != 2:
        raise ValueError(f"{where}: filters needs 5 widths and dense_units 2, got "
                         f"{tuple(filters)} and {tuple(dense_units)}")
    f = [scaled(n, width) for n in filters]
    d = [scaled(n, width) for n in dense_units]

    inputs = Input(input_shape, name="input")
    x = conv_bn(inputs, f[0], 5, "conv1", batch_norm=batch_norm)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = conv_bn(x, f[1], 5, "conv2", batch_norm=batch_norm)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = conv_bn(x, f[2], 3, "conv3", batch_norm=batch_norm)
    x = conv_bn(x, f[3], 3, "conv4", batch_norm=batch_norm)
    x = conv_bn(x, f[4], 3, "conv5", batch_norm=batch_norm)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout1")(x)
    x = layers.Dense(d[0], activation="relu", name="fc1")(x)
    x = layers.Dropout(dropout, name="dropout2")(x)
    x = layers.Dense(d[1], activation="relu", name="fc2")(x)
    outputs = classifier(x, classes, classifier_activation)
    return Model(inputs, outputs, name=name)
