"""``ConditionalGAN``: the GAN whose generator and discriminator both see the class label."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..models.data_adapter import unpack_x_y_sample_weight
from .model import GAN, _positive_int

__all__ = ["ConditionalGAN"]


class ConditionalGAN(GAN):
    """A GAN whose two networks also see the class label (Mirza & Osindero 2014).

    Formula
    -------
        min_G max_D  E_{x,y}[log D(x | y)] + E_{z,y}[log(1 − D(G(z | y) | y))]

    The label is fed to both networks as a one-hot vector, which each network embeds with
    its first Dense layer on it (a Dense layer without bias on a one-hot vector is an
    embedding lookup: row y of its kernel). The generator is a two-input model
    ``[z (N, latent_dim), one_hot (N, classes)] -> sample``; the discriminator a two-input
    model ``[sample, one_hot] -> logit`` (``conditional_dcgan_generator`` and
    ``conditional_dcgan_discriminator`` build both). Generated samples get labels drawn
    uniformly from the classes. ``fit(x, y)`` takes integer labels.

    Parameters
    ----------
    generator, discriminator : Model (two inputs each)
    latent_dim : int
    num_classes : int
    """

    conditional = True

    def __init__(self, generator, discriminator, latent_dim, num_classes, name=None):
        self.num_classes = _positive_int("ConditionalGAN: num_classes", num_classes)
        super().__init__(generator, discriminator, latent_dim, name=name or "conditional_gan")

    def _one_hot(self, labels):
        xp = backend.array_module(labels)
        return xp.eye(self.num_classes, dtype=np.float32)[labels]

    def _generator_inputs(self, z, labels=None):
        return [z, labels]

    def _discriminator_inputs(self, x, labels=None):
        return [x, labels]

    def _probe_labels(self, n):
        return self._one_hot(np.zeros(n, np.int64))

    def _split(self, data):
        x, y, _ = unpack_x_y_sample_weight(data)
        if y is None:
            raise ValueError("ConditionalGAN.train_step: data must be (samples, labels)")
        y = backend.to_numpy(getattr(y, "data", y)).astype(np.int64).reshape(-1)
        return x, self._one_hot(y)

    def _fake_labels(self, n, labels):
        return self._one_hot(backend.rng().integers(0, self.num_classes, n))

    def _generate_labels(self, n, labels):
        if labels is None:
            return self._one_hot(backend.rng().integers(0, self.num_classes, n))
        labels = self._check_labels(labels, n, who="ConditionalGAN.generate")
        return self._one_hot(labels)

    def _check_labels(self, y, n, who="ConditionalGAN.fit"):
        if y is None:
            raise ValueError(f"{who}: a conditional GAN needs the labels y (integers in "
                             f"[0, {self.num_classes}))")
        y = np.asarray(backend.to_numpy(getattr(y, "data", y)))
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or len(y) != n:
            raise ValueError(f"{who}: y must be {n} integer labels (one per sample), got shape "
                             f"{y.shape}")
        if y.dtype.kind not in "iu" and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
            raise ValueError(f"{who}: y must hold integer class labels, got dtype {y.dtype}")
        y = y.astype(np.int64)
        if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
            raise ValueError(f"{who}: labels must lie in [0, {self.num_classes}) (num_classes="
                             f"{self.num_classes}), got values in [{y.min()}, {y.max()}]")
        return y
