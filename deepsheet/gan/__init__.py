"""Generative adversarial networks: the two-player game, DCGAN builders, sample-quality scores.

* ``GAN`` / ``ConditionalGAN``: models with two optimizers and an alternating ``train_step``;
* builders for 28×28 images: ``mlp_generator``, ``dcgan_generator`` (and discriminators,
  and conditional versions), ``scale_images`` to the generators' [-1, 1];
* scores: ``inception_score``, ``frechet_distance``, ``class_coverage``;
* ``SampleGrid``: a grid of samples every epoch (PNG with matplotlib). Checkpoints that
  resume bit for bit: ``callbacks.BackupAndRestore`` or ``GAN.save_checkpoint``.

Imported on first use (``deepsheet.gan`` is not loaded by ``import deepsheet``).
"""
from .builders import *  # noqa: F401,F403
from .conditional import ConditionalGAN  # noqa: F401
from .model import GAN, GANWarning  # noqa: F401
from .scores import *  # noqa: F401,F403
from .callbacks import SampleGrid, sample_grid  # noqa: F401
