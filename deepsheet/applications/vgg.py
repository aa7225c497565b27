"""VGG-style networks (Simonyan & Zisserman 2015): stacks of 3x3 convolutions and 2x2 pooling.

Two 3x3 convolutions see a 5x5 patch and three see 7x7, with fewer weights and more
non-linearities than one big window; each block ends with 2x2/2 max pooling, halving the
resolution while the next block doubles the channels. The named layouts are the paper's
configurations A (VGG-11), B (13), D (16) and E (19) as (convolutions, filters) per block.
"""
from __future__ import annotations

from ._common import (check_classes, check_input_shape, check_positive, classifier, conv_bn,
                      scaled)

__all__ = ["vgg", "vgg_block", "VGG_LAYOUTS"]

VGG_LAYOUTS = {
    "vgg11": ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)),
    "vgg13": ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512)),
    "vgg16": ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)),
    "vgg19": ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512)),
}


def vgg_block(x, convs, filters, name, batch_norm=False):
    """``convs`` 3x3 "same" convolutions with ReLU (or conv–BN–ReLU), then 2x2/2 max pooling.

    Pooling pads "same", so odd sizes round up (7 → 4) and 28x28 inputs survive five blocks.
    """
    from .. import layers
    for i in range(convs):
        x = conv_bn(x, filters, 3, f"{name}_conv{i + 1}", batch_norm=batch_norm)
    return layers.MaxPooling2D(2, padding="same", name=f"{name}_pool")(x)


def vgg(input_shape=(32, 32, 3), classes=10, blocks="vgg11", width=0.25, dense_units=(256, 256),
        dropout=0.5, batch_norm=False, classifier_activation="softmax", name=None):
    """A VGG-style functional ``Model``: VGG blocks, then fully-connected layers.

    Formula::

        block(n, f) = [Conv2D(f, 3×3, same) → (BN) → ReLU] × n → MaxPool(2×2)
        VGG = blocks → Flatten → [Dense → ReLU → (Dropout)] × k → Dense(classes, softmax)

    Formula
    -------
        block b: [conv 3x3 (same) + ReLU] × n_b, max pool 2x2/2;   size → ceil(size / 2)
        head: flatten → [Dense + ReLU → dropout] per entry of dense_units → classes

    Parameters
    ----------
    input_shape : (H, W, C)
    classes : int
    blocks : str or list of (convolutions, filters)
        A key of ``VGG_LAYOUTS`` ("vgg11", "vgg13", "vgg16", "vgg19") or your own layout.
    width : float
        Multiplier on every block's filters (0.25: VGG-11 becomes 16/32/64/128/128).
    dense_units : tuple of int
        The hidden fully-connected layers (the paper's 4096, 4096), not scaled.
    dropout : float
    batch_norm : bool
        Conv–BN–ReLU in every block (the "VGG-BN" variant).
    classifier_activation : str or None
    name : str, optional
        Defaults to the layout's name, or "vgg".

    Examples
    --------
    >>> from deepsheet.applications import vgg
    >>> model = vgg((28, 28, 1), 10, blocks=[(2, 32), (2, 64)], width=1)   # doctest: +SKIP
    """
    from .. import layers
    from ..layers import Input
    from ..models import Model
    where = "vgg"
    input_shape = check_input_shape(input_shape, where)
    classes = check_classes(classes, where)
    check_positive(width, "width", where)
    if isinstance(blocks, str):
        if blocks not in VGG_LAYOUTS:
            raise ValueError(f"{where}: unknown layout {blocks!r}; known: {sorted(VGG_LAYOUTS)} "
                             f"or a list of (convolutions, filters)")
        name = name or blocks
        blocks = VGG_LAYOUTS[blocks]
    try:
        blocks = [(int(n), int(f)) for n, f in blocks]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: blocks must be a layout name or (convolutions, filters) "
                         f"pairs, got {blocks!r}") from None
    if not blocks or any(n < 1 or f < 1 for n, f in blocks):
        raise ValueError(f"{where}: blocks need at least one (convolutions >= 1, filters >= 1) "
                         f"pair, got {blocks}")

    inputs = Input(input_shape, name="input")
    x = inputs
    for b, (n, f) in enumerate(blocks, start=1):
        x = vgg_block(x, n, scaled(f, width), f"block{b}", batch_norm=batch_norm)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(dense_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"fc{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout{i}")(x)
    outputs = classifier(x, classes, classifier_activation)
    return Model(inputs, outputs, name=name or "vgg")
