"""MobileNet (Howard et al. 2017): depthwise-separable convolutions and a width multiplier.

A standard k x k convolution from C to F channels costs k²·C·F weights and multiplies per
pixel; MobileNet splits it into a depthwise k x k convolution (one filter per input
channel: k²·C) and a pointwise 1x1 convolution mixing channels (C·F), about
1/F + 1/k² of the cost. The width multiplier alpha thins every layer (channels ·alpha,
cost ·alpha²); the depth multiplier gives each input channel several depthwise filters.
"""
from __future__ import annotations

from ._common import (check_classes, check_input_shape, check_positive, classifier, conv_bn,
                      scaled)

__all__ = ["mobilenet", "depthwise_separable_block", "MOBILENET_LAYOUT"]

# (pointwise filters, depthwise stride) of the 13 blocks of MobileNet v1.
MOBILENET_LAYOUT = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def depthwise_separable_block(x, filters, strides=1, depth_multiplier=1, name="block",
                              activation="relu"):
    """Depthwise 3x3 conv – BN – ReLU, then pointwise 1x1 conv – BN – ReLU.

    Formula
    -------
        y = relu(BN(conv1x1(relu(BN(depthwise3x3_s(x))))))
        weights: 9·C·m (depthwise) + C·m·filters (pointwise) + 4 BN parameters per channel

    Parameters
    ----------
    x : KerasTensor
    filters : int
        Output channels of the pointwise convolution.
    strides : int
        Stride of the depthwise convolution.
    depth_multiplier : int
        Depthwise filters per input channel.
    name : str
    activation : str
        The paper uses ReLU6; plain ReLU here (same shape of nonlinearity below 6).
    """
    from .. import layers
    x = layers.DepthwiseConv2D(3, strides=strides, padding="same",
                               depth_multiplier=depth_multiplier, use_bias=False,
                               name=f"{name}_dw")(x)
    x = layers.BatchNormalization(name=f"{name}_dw_bn")(x)
    x = layers.Activation(activation, name=f"{name}_dw_{activation}")(x)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"{name}_pw")(x)
    x = layers.BatchNormalization(name=f"{name}_pw_bn")(x)
    return layers.Activation(activation, name=f"{name}_pw_{activation}")(x)


def mobilenet(input_shape=(32, 32, 3), classes=10, alpha=1.0, depth_multiplier=1,
              layout=MOBILENET_LAYOUT, stem_filters=32, stem_strides=1, dropout=1e-3,
              activation="relu", classifier_activation="softmax", name=None):
    """MobileNet (v1) as a functional ``Model``.

    Formula::

        separable block = DepthwiseConv(k×k) → BN → ReLU → Conv(1×1, N) → BN → ReLU
        cost / standard conv cost = 1/N + 1/k²   (N output channels, k×k kernel)

    Formula
    -------
        stem: conv 3x3 (stem_filters·alpha, stride stem_strides) – BN – ReLU
        blocks: depthwise-separable blocks (filters·alpha, stride) from ``layout``
        head: global average pooling → dropout → Dense(classes)

    Parameters
    ----------
    input_shape : (H, W, C)
    classes : int
    alpha : float
        Width multiplier (1.0, 0.75, 0.5, 0.25 in the paper).
    depth_multiplier : int
        Depthwise filters per channel ("resolution multiplier" is the input size itself).
    layout : sequence of (filters, strides)
        ``MOBILENET_LAYOUT`` is the paper's 13 blocks.
    stem_filters : int
    stem_strides : int
        1 by default for 28x28–32x32 images (the ImageNet model uses 2).
    dropout : float
    activation : str
    classifier_activation : str or None
    name : str, optional
        Defaults to "mobilenet_<alpha>".

    Examples
    --------
    >>> from deepsheet.applications import mobilenet
    >>> model = mobilenet((28, 28, 1), 10, alpha=0.25)     # doctest: +SKIP
    """
    from .. import layers
    from ..layers import Input
    from ..models import Model
    where = "mobilenet"
    input_shape = check_input_shape(input_shape, where)
    classes = check_classes(classes, where)
    check_positive(alpha, "alpha", where)
    if isinstance(depth_multiplier, bool) or not isinstance(depth_multiplier, int) \
            or depth_multiplier < 1:
        raise ValueError(f"{where}: depth_multiplier must be a positive integer, got "
                         f"{depth_multiplier!r}")

    inputs = Input(input_shape, name="input")
    x = conv_bn(inputs, scaled(stem_filters, alpha), 3, "conv1", strides=stem_strides,
                activation=activation)
    for i, item in enumerate(layout, start=1):
        try:
            filters, strides = item
        except (TypeError, ValueError):
            raise ValueError(f"{where}: layout entries are (filters, strides), "
                             f"got {item!r}") from None
        x = depthwise_separable_block(x, scaled(filters, alpha), strides, depth_multiplier,
                                      name=f"conv_dw_{i}", activation=activation)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = classifier(x, classes, classifier_activation)
    return Model(inputs, outputs, name=name or f"mobilenet_{alpha:g}")
