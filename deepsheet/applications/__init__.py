"""Classic convolutional architectures for small images (28x28 and 32x32), as functional models.

Every builder is ``fn(input_shape=..., classes=10, ...)`` returning a ``deepsheet.Model``
whose ``summary()`` lists Keras-style layer names. ``MODELS`` maps the names that
``deepsheet train --model NAME`` accepts to their builders.
"""
from .alexnet import alexnet_small
from .inception import GOOGLENET_LAYOUT, googlenet, inception_module
from .lenet import lenet5
from .mobilenet import MOBILENET_LAYOUT, depthwise_separable_block, mobilenet
from .resnet import residual_block, resnet, resnet18
from .vgg import VGG_LAYOUTS, vgg, vgg_block

MODELS = {
    "lenet5": lenet5,
    "alexnet": alexnet_small,
    "vgg": vgg,
    "resnet": resnet,
    "resnet18": resnet18,
    "googlenet": googlenet,
    "mobilenet": mobilenet,
}

__all__ = ["MODELS", "lenet5", "alexnet_small", "vgg", "vgg_block", "VGG_LAYOUTS", "resnet",
           "resnet18", "residual_block", "inception_module", "googlenet", "GOOGLENET_LAYOUT",
           "mobilenet", "depthwise_separable_block", "MOBILENET_LAYOUT"]
