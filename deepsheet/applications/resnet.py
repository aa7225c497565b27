"""Residual networks (He et al. 2016) with basic blocks, sized for small images.

A residual block learns a correction F(x) added to its input, y = relu(F(x) + shortcut(x)),
so the identity is the easy default and gradients reach early layers through the
additions undiminished. The basic block (ResNet-18/34) is two 3x3 conv–BN layers; when a
block halves the resolution or changes the width, the shortcut becomes a projection
(1x1 convolution with stride 2, then BN) so the two terms have the same shape.
For 28x28–32x32 images the stem is one 3x3 convolution without the ImageNet
7x7/2 + max-pool downsampling (as in the paper's CIFAR experiments).
"""
from __future__ import annotations

from ._common import check_classes, check_input_shape, check_positive, classifier, conv_bn

__all__ = ["resnet", "resnet18", "residual_block"]


def residual_block(x, filters, strides=1, name="block"):
    """Basic residual block: two 3x3 conv–BN, a projection shortcut when the shape changes.

    Formula
    -------
        F(x)  = BN(conv3x3(relu(BN(conv3x3_s(x)))))
        s(x)  = x                              if strides == 1 and channels == filters
              = BN(conv1x1_s(x))               otherwise (projection)
        y     = relu(F(x) + s(x))

    Parameters
    ----------
    x : KerasTensor
        (N, H, W, C) symbolic input.
    filters : int
    strides : int
        2 halves H and W (first block of a stage).
    name : str
        Prefix of the block's layer names.
    """
    from .. import layers
    channels = x.shape[-1]
    y = conv_bn(x, filters, 3, f"{name}_1", strides=strides)
    y = conv_bn(y, filters, 3, f"{name}_2", activation=None)
    if strides != 1 or channels != filters:
        shortcut = conv_bn(x, filters, 1, f"{name}_0", strides=strides, activation=None)
    else:
        shortcut = x
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def resnet(input_shape=(32, 32, 3), classes=10, blocks_per_stage=(2, 2, 2, 2),
           widths=(16, 32, 64, 128), width=1.0, classifier_activation="softmax", name="resnet"):
    """A ResNet of basic blocks as a functional ``Model`` (ResNet-18 layout at 1/4 width).

    Formula::

        basic block:  y = ReLU(F(x) + s(x)),  F = Conv3×3 → BN → ReLU → Conv3×3 → BN,
                      s(x) = x (or a 1×1 convolution + BN where the shape changes)

    Formula
    -------
        stem: conv 3x3 (widths[0]) – BN – ReLU
        stage s: blocks_per_stage[s] residual blocks of widths[s] filters; the first block
                 of every stage after the first has stride 2 (size → ceil(size / 2))
        head: global average pooling → Dense(classes)

    Parameters
    ----------
    input_shape : (H, W, C)
    classes : int
    blocks_per_stage : tuple of int
        (2, 2, 2, 2) is ResNet-18's layout, (3, 4, 6, 3) ResNet-34's.
    widths : tuple of int
        Filters per stage (ResNet-18: 64, 128, 256, 512); one entry per stage.
    width : float
        Multiplier on ``widths``.
    classifier_activation : str or None
    name : str

    Examples
    --------
    >>> from deepsheet.applications import resnet
    >>> model = resnet((28, 28, 1), 10, blocks_per_stage=(1, 1), widths=(8, 16))  # doctest: +SKIP
    """
    from .. import layers
    from ..layers import Input
    from ..models import Model
    from ._common import scaled
    where = name
    input_shape = check_input_shape(input_shape, where)
    classes = check_classes(classes, where)
    check_positive(width, "width", where)
    blocks_per_stage, widths = tuple(blocks_per_stage), tuple(widths)
    if not blocks_per_stage or len(blocks_per_stage) != len(widths) \
            or any(int(n) < 1 for n in blocks_per_stage):
        raise ValueError(f"{where}: blocks_per_stage and widths need one entry (>= 1) per "
                         f"stage, got {blocks_per_stage} and {widths}")
    widths = [scaled(w, width) for w in widths]

    inputs = Input(input_shape, name="input")
    x = conv_bn(inputs, widths[0], 3, "conv1")
    for s, (n, filters) in enumerate(zip(blocks_per_stage, widths), start=2):
        for b in range(1, int(n) + 1):
            strides = 2 if (b == 1 and s > 2) else 1
            x = residual_block(x, filters, strides, name=f"conv{s}_block{b}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = classifier(x, classes, classifier_activation)
    return Model(inputs, outputs, name=name)


def resnet18(input_shape=(32, 32, 3), classes=10, widths=(64, 128, 256, 512), width=1.0,
             classifier_activation="softmax", name="resnet18"):
    """ResNet-18: ``resnet`` with two basic blocks per stage (full width by default)."""
    return resnet(input_shape, classes, blocks_per_stage=(2, 2, 2, 2), widths=widths,
                  width=width, classifier_activation=classifier_activation, name=name)
