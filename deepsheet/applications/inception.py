"""The Inception module and a small GoogLeNet (Szegedy et al. 2015).

An Inception module looks at the same input through several window sizes at once and
stacks the results along the channels: a 1x1 branch, a 3x3 and a 5x5 branch each behind
a 1x1 "bottleneck" that first shrinks the channels (the 1x1 convolution as cheap
dimensionality reduction), and a 3x3 max-pool branch followed by a 1x1 projection.
GoogLeNet stacks nine modules (3a–5b) with max pooling between groups and ends with
global average pooling instead of large fully-connected layers.
"""
from __future__ import annotations

from ._common import (check_classes, check_input_shape, check_positive, classifier, conv_bn,
                      scaled)

__all__ = ["inception_module", "googlenet", "GOOGLENET_LAYOUT"]

# (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection) per module, "pool" between groups.
GOOGLENET_LAYOUT = (
    ("3a", (64, 96, 128, 16, 32, 32)),
    ("3b", (128, 128, 192, 32, 96, 64)),
    "pool",
    ("4a", (192, 96, 208, 16, 48, 64)),
    ("4b", (160, 112, 224, 24, 64, 64)),
    ("4c", (128, 128, 256, 24, 64, 64)),
    ("4d", (112, 144, 288, 32, 64, 64)),
    ("4e", (256, 160, 320, 32, 128, 128)),
    "pool",
    ("5a", (256, 160, 320, 32, 128, 128)),
    ("5b", (384, 192, 384, 48, 128, 128)),
)


def inception_module(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj, name="inception",
                     batch_norm=False):
    """One Inception (v1) module: four parallel branches concatenated along channels.

    Formula
    -------
        b1 = relu(conv1x1(x))                         f1 channels
        b2 = relu(conv3x3(relu(conv1x1(x))))          f3 channels (after f3_reduce)
        b3 = relu(conv5x5(relu(conv1x1(x))))          f5 channels (after f5_reduce)
        b4 = relu(conv1x1(maxpool3x3_s1(x)))          pool_proj channels
        y  = concat([b1, b2, b3, b4], axis=-1)        f1 + f3 + f5 + pool_proj channels

    All windows pad "same" with stride 1, so H and W are unchanged.

    Parameters
    ----------
    x : KerasTensor
        (N, H, W, C) symbolic input.
    f1, f3_reduce, f3, f5_reduce, f5, pool_proj : int
        Filters of each convolution (the paper's table columns).
    name : str
        Prefix of the module's layer names.
    batch_norm : bool
        Conv–BN–ReLU in every branch (as in Inception v2), else conv + ReLU.
    """
    from .. import layers
    b1 = conv_bn(x, f1, 1, f"{name}_1x1", batch_norm=batch_norm)
    b2 = conv_bn(x, f3_reduce, 1, f"{name}_3x3_reduce", batch_norm=batch_norm)
    b2 = conv_bn(b2, f3, 3, f"{name}_3x3", batch_norm=batch_norm)
    b3 = conv_bn(x, f5_reduce, 1, f"{name}_5x5_reduce", batch_norm=batch_norm)
    b3 = conv_bn(b3, f5, 5, f"{name}_5x5", batch_norm=batch_norm)
    b4 = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    b4 = conv_bn(b4, pool_proj, 1, f"{name}_pool_proj", batch_norm=batch_norm)
    return layers.Concatenate(axis=-1, name=f"{name}_concat")([b1, b2, b3, b4])


def googlenet(input_shape=(32, 32, 3), classes=10, width=0.25, layout=GOOGLENET_LAYOUT,
              stem_filters=192, dropout=0.4, batch_norm=False, classifier_activation="softmax",
              name="googlenet"):
    """A small GoogLeNet as a functional ``Model``.

    Formula
    -------
        stem: conv 3x3 (stem_filters) + ReLU      (replaces the ImageNet 7x7/2 stem)
        modules 3a, 3b, max pool 3x3/2, 4a–4e, max pool 3x3/2, 5a, 5b   (sizes 32 → 16 → 8)
        head: global average pooling → dropout → Dense(classes)

    Parameters
    ----------
    input_shape : (H, W, C)
    classes : int
    width : float
        Multiplier on every module's filters and the stem (0.25 by default).
    layout : sequence
        ``("name", (f1, f3_reduce, f3, f5_reduce, f5, pool_proj))`` modules and "pool"
        markers; ``GOOGLENET_LAYOUT`` is the paper's table.
    stem_filters : int
    dropout : float
    batch_norm : bool
    classifier_activation : str or None
    name : str
    """
    from .. import layers
    from ..layers import Input
    from ..models import Model
    where = name
    input_shape = check_input_shape(input_shape, where)
    classes = check_classes(classes, where)
    check_positive(width, "width", where)

    inputs = Input(input_shape, name="input")
    x = conv_bn(inputs, scaled(stem_filters, width), 3, "stem", batch_norm=batch_norm)
    pools = 0
    for item in layout:
        if isinstance(item, str):
            if item != "pool":
                raise ValueError(f"{where}: layout entries are (name, 6 filter counts) or "
                                 f"'pool', got {item!r}")
            pools += 1
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{pools}")(x)
            continue
        try:
            label, filters = item
            filters = [scaled(int(f), width) for f in filters]
        except (TypeError, ValueError):
            raise ValueError(f"{where}: layout entries are (name, 6 filter counts) or 'pool', "
                             f"got {item!r}") from None
        if len(filters) != 6:
            raise ValueError(f"{where}: module {label!r} needs 6 filter counts, got {filters}")
        x = inception_module(x, *filters, name=f"inception_{label}", batch_norm=batch_norm)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = classifier(x, classes, classifier_activation)
    return Model(inputs, outputs, name=name)
