"""Ready-made generators and discriminators for 28×28 single-channel images.

* ``mlp_generator`` / ``mlp_discriminator``: the original GAN of Goodfellow et al. (2014)
  with fully connected layers.
* ``dcgan_generator`` / ``dcgan_discriminator``: the DCGAN recipe of Radford et al. (2016)
  scaled to 28×28: the generator projects the noise to a 7×7 map and doubles it twice with
  stride-2 transposed convolutions (batch norm and ReLU between, ``tanh`` at the end); the
  discriminator halves the image twice with stride-2 convolutions and LeakyReLU(0.2) and
  ends in one logit (no sigmoid: the losses take logits, the stable form).

Images for these builders are scaled to [-1, 1] (the range of ``tanh``): ``x / 127.5 - 1``
for 8-bit pixels (``scale_images``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["mlp_generator", "mlp_discriminator", "dcgan_generator", "dcgan_discriminator",
           "conditional_dcgan_generator", "conditional_dcgan_discriminator",
           "scale_images", "unscale_images"]


def _check_positive(what, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return int(value)


def _check_image_shape(image_shape, what):
    shape = tuple(image_shape)
    if len(shape) != 3 or shape[0] % 4 or shape[1] % 4 or min(shape) < 1:
        raise ValueError(f"{what}: image_shape must be (H, W, C) with H and W multiples of 4 "
                         f"(e.g. (28, 28, 1)), got {tuple(image_shape)}")
    return shape


def scale_images(x):
    """8-bit images (0..255) -> float32 in [-1, 1], the range of the builders' ``tanh`` output.

    Formula: x' = x / 127.5 − 1. A channel axis is added to (N, H, W) images.
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    return x.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def unscale_images(x):
    """Inverse of ``scale_images`` to [0, 1] floats (for plotting): (x + 1) / 2, clipped."""
    x = np.asarray(x, dtype=np.float32)
    return np.clip((x + 1.0) * 0.5, 0.0, 1.0)


def mlp_generator(latent_dim=64, image_shape=(28, 28, 1), units=256, name="mlp_generator"):
    """Noise z -> Dense(units) LeakyReLU(0.2) -> Dense(2·units) LeakyReLU(0.2) -> Dense(HWC) tanh -> image.

    Shape: (N, latent_dim) -> (N, H, W, C) in [-1, 1].
    """
    from .. import layers as L
    from ..layers import Input
    from ..models import Sequential
    latent_dim = _check_positive("mlp_generator: latent_dim", latent_dim)
    units = _check_positive("mlp_generator: units", units)
    shape = tuple(int(s) for s in image_shape)
    return Sequential([Input((latent_dim,)),
                       L.Dense(units), L.LeakyReLU(0.2),
                       L.Dense(2 * units), L.LeakyReLU(0.2),
                       L.Dense(int(np.prod(shape)), activation="tanh"),
                       L.Reshape(shape)], name=name)


def mlp_discriminator(image_shape=(28, 28, 1), units=256, name="mlp_discriminator"):
    """Image -> Flatten -> Dense(2·units) LeakyReLU(0.2) -> Dense(units) LeakyReLU(0.2) -> Dense(1) logit."""
    from .. import layers as L
    from ..layers import Input
    from ..models import Sequential
    units = _check_positive("mlp_discriminator: units", units)
    return Sequential([Input(tuple(int(s) for s in image_shape)), L.Flatten(),
                       L.Dense(2 * units), L.LeakyReLU(0.2),
                       L.Dense(units), L.LeakyReLU(0.2),
                       L.Dense(1)], name=name)


def dcgan_generator(latent_dim=100, filters=64, image_shape=(28, 28, 1), name="dcgan_generator"):
    """The DCGAN generator for (H, W, C) images, H and W multiples of 4.

    Layers: Dense(H/4·W/4·2f, no bias) -> BN -> ReLU -> Reshape(H/4, W/4, 2f)
    -> Conv2DTranspose(f, 4, stride 2, same, no bias) -> BN -> ReLU
    -> Conv2DTranspose(C, 4, stride 2, same) -> tanh.

    Batch norm uses momentum 0.9 and ε = 1e-5 (PyTorch's defaults, so a PyTorch twin uses
    the same numbers). Shape: (N, latent_dim) -> (N, H, W, C) in [-1, 1].
    """
    from .. import layers as L
    from ..layers import Input
    from ..models import Sequential
    latent_dim = _check_positive("dcgan_generator: latent_dim", latent_dim)
    f = _check_positive("dcgan_generator: filters", filters)
    h, w, c = _check_image_shape(image_shape, "dcgan_generator")
    bn = dict(momentum=0.9, epsilon=1e-5)
    return Sequential([Input((latent_dim,)),
                       L.Dense(h // 4 * w // 4 * 2 * f, use_bias=False),
                       L.BatchNormalization(**bn), L.Activation("relu"),
                       L.Reshape((h // 4, w // 4, 2 * f)),
                       L.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=False),
                       L.BatchNormalization(**bn), L.Activation("relu"),
                       L.Conv2DTranspose(c, 4, strides=2, padding="same", activation="tanh")],
                      name=name)


def dcgan_discriminator(filters=64, image_shape=(28, 28, 1), name="dcgan_discriminator"):
    """The DCGAN discriminator: Conv(f, 4, s2) LReLU -> Conv(2f, 4, s2) BN LReLU -> Dense(1) logit.

    LeakyReLU slope 0.2; no batch norm on the first layer (Radford et al.). Shape:
    (N, H, W, C) -> (N, 1) logits.
    """
    from .. import layers as L
    from ..layers import Input
    from ..models import Sequential
    f = _check_positive("dcgan_discriminator: filters", filters)
    shape = _check_image_shape(image_shape, "dcgan_discriminator")
    return Sequential([Input(shape),
                       L.Conv2D(f, 4, strides=2, padding="same"), L.LeakyReLU(0.2),
                       L.Conv2D(2 * f, 4, strides=2, padding="same", use_bias=False),
                       L.BatchNormalization(momentum=0.9, epsilon=1e-5), L.LeakyReLU(0.2),
                       L.Flatten(), L.Dense(1)], name=name)


def conditional_dcgan_generator(latent_dim=100, num_classes=10, filters=64,
                                image_shape=(28, 28, 1), embedding_dim=50,
                                name="conditional_dcgan_generator"):
    """The DCGAN generator conditioned on a class: inputs [z, one_hot(y)].

    The one-hot label is embedded by a Dense layer without bias (row y of its kernel, an
    embedding lookup), concatenated to z, and the result goes through the DCGAN body of
    ``dcgan_generator``. Shape: [(N, latent_dim), (N, num_classes)] -> (N, H, W, C).
    """
    from .. import layers as L
    from ..layers import Input
    from ..models import Model
    latent_dim = _check_positive("conditional_dcgan_generator: latent_dim", latent_dim)
    k = _check_positive("conditional_dcgan_generator: num_classes", num_classes)
    f = _check_positive("conditional_dcgan_generator: filters", filters)
    e = _check_positive("conditional_dcgan_generator: embedding_dim", embedding_dim)
    h, w, c = _check_image_shape(image_shape, "conditional_dcgan_generator")
    bn = dict(momentum=0.9, epsilon=1e-5)
    z, label = Input((latent_dim,), name="z"), Input((k,), name="label")
    x = L.Concatenate()([z, L.Dense(e, use_bias=False, name="label_embedding")(label)])
    x = L.Dense(h // 4 * w // 4 * 2 * f, use_bias=False)(x)
    x = L.Activation("relu")(L.BatchNormalization(**bn)(x))
    x = L.Reshape((h // 4, w // 4, 2 * f))(x)
    x = L.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=False)(x)
    x = L.Activation("relu")(L.BatchNormalization(**bn)(x))
    out = L.Conv2DTranspose(c, 4, strides=2, padding="same", activation="tanh")(x)
    return Model([z, label], out, name=name)


def conditional_dcgan_discriminator(num_classes=10, filters=64, image_shape=(28, 28, 1),
                                    name="conditional_dcgan_discriminator"):
    """The DCGAN discriminator conditioned on a class: inputs [image, one_hot(y)].

    The label is embedded as one extra image channel (a Dense layer without bias to H·W
    values, reshaped to (H, W, 1)) and concatenated to the image before the DCGAN body of
    ``dcgan_discriminator``. Shape: [(N, H, W, C), (N, num_classes)] -> (N, 1) logits.
    """
    from .. import layers as L
    from ..layers import Input
    from ..models import Model
    k = _check_positive("conditional_dcgan_discriminator: num_classes", num_classes)
    f = _check_positive("conditional_dcgan_discriminator: filters", filters)
    h, w, c = _check_image_shape(image_shape, "conditional_dcgan_discriminator")
    image, label = Input((h, w, c), name="image"), Input((k,), name="label")
    plane = L.Reshape((h, w, 1))(L.Dense(h * w, use_bias=False, name="label_embedding")(label))
    x = L.Concatenate()([image, plane])
    x = L.LeakyReLU(0.2)(L.Conv2D(f, 4, strides=2, padding="same")(x))
    x = L.Conv2D(2 * f, 4, strides=2, padding="same", use_bias=False)(x)
    x = L.LeakyReLU(0.2)(L.BatchNormalization(momentum=0.9, epsilon=1e-5)(x))
    out = L.Dense(1)(L.Flatten()(x))
    return Model([image, label], out, name=name)
