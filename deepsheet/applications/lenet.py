"""LeNet-5 (LeCun et al. 1998), the first convolutional network on the sheet.

Layout on a 32x32 image (the paper's): C1 6@5x5 -> 28x28, S2 2x2 pooling -> 14x14,
C3 16@5x5 -> 10x10, S4 2x2 pooling -> 5x5, C5/F5 120 units, F6 84 units, output. On a
28x28 image (MNIST, Fashion-MNIST) C1 uses "same" padding, which is what the paper's
2-pixel border around MNIST digits did: the feature maps are then exactly the 32x32 ones.
"""
from __future__ import annotations

from ._common import check_classes, check_input_shape, classifier

__all__ = ["lenet5"]


def lenet5(input_shape=(28, 28, 1), classes=10, activation="tanh", pooling="avg",
           classifier_activation="softmax", name="lenet5"):
    """LeNet-5 as a functional ``Model``.

    Formula
    -------
        parameters: C1 (5·5·C + 1)·6, C3 (5·5·6 + 1)·16, F5 (5·5·16 + 1)·120,
        F6 (120 + 1)·84, output (84 + 1)·classes  (61,706 for 28x28x1 and 10 classes)

    Parameters
    ----------
    input_shape : (H, W, C)
        At least 28x28; below 32 pixels C1 pads "same" so the 32x32 layout is kept.
    classes : int
    activation : str
        Hidden activation ("tanh" as in the paper, "relu" trains faster).
    pooling : {"avg", "max"}
        The paper's subsampling is an average (with a trainable scale, left out here).
    classifier_activation : str or None
        "softmax" by default; None gives logits.
    name : str

    Shape
    -----
    Input (N, H, W, C), output (N, classes).

    Examples
    --------
    >>> from deepsheet.applications import lenet5
    >>> model = lenet5((28, 28, 1), classes=10)           # doctest: +SKIP
    >>> model.count_params()                               # doctest: +SKIP
    61706
    """
    from .. import layers
    from ..layers import Input
    from ..models import Model
    where = "lenet5"
    input_shape = check_input_shape(input_shape, where, min_size=28)
    classes = check_classes(classes, where)
    pools = {"avg": layers.AveragePooling2D, "max": layers.MaxPooling2D}
    if pooling not in pools:
        raise ValueError(f"{where}: pooling must be 'avg' or 'max', got {pooling!r}")
    Pool = pools[pooling]
    padding = "same" if min(input_shape[:2]) < 32 else "valid"

    inputs = Input(input_shape, name="input")
    x = layers.Conv2D(6, 5, padding=padding, activation=activation, name="c1")(inputs)
    x = Pool(2, name="s2")(x)
    x = layers.Conv2D(16, 5, activation=activation, name="c3")(x)
    x = Pool(2, name="s4")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation=activation, name="c5")(x)
    x = layers.Dense(84, activation=activation, name="f6")(x)
    outputs = classifier(x, classes, classifier_activation)
    return Model(inputs, outputs, name=name)
