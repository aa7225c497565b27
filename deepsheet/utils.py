"""``deepsheet.utils``: the helpers Keras users reach for as ``keras.utils``.

``to_categorical`` and ``pad_sequences`` (from ``deepsheet.preprocessing``),
``set_random_seed`` (every generator a training run draws from) and
``unpack_x_y_sample_weight`` (for custom ``train_step`` methods).
"""
from __future__ import annotations

import random

import numpy as np

from .backend import manual_seed
from .models.data_adapter import unpack_x_y_sample_weight
from .preprocessing.encoding import to_categorical
from .preprocessing.padding import pad_sequences

__all__ = ["to_categorical", "pad_sequences", "set_random_seed", "unpack_x_y_sample_weight"]


def set_random_seed(seed):
    """Seed deepsheet's RNG, NumPy's global RNG and Python's ``random`` (Keras's
    ``keras.utils.set_random_seed``), so that a run repeats exactly.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.utils.set_random_seed(0); a = ds.randn(2)
    >>> ds.utils.set_random_seed(0); bool((ds.randn(2) == a).numpy().all())
    True
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed: seed must be a non-negative integer, got {seed!r}")
    manual_seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    random.seed(int(seed))
