"""``deepsheet.random``: Keras 3's ``keras.random`` draws, as Tensors.

Without ``seed`` every draw comes from the library RNG (``deepsheet.manual_seed`` /
``utils.set_random_seed`` make a run repeat, and checkpoints save its state). ``seed=`` an
integer makes that one call reproducible on its own; ``seed=SeedGenerator(s)`` gives a
stream of different but reproducible draws, as Keras's ``SeedGenerator``.

Examples
--------
>>> import deepsheet as ds
>>> a = ds.random.normal((2,), seed=3)
>>> bool((a == ds.random.normal((2,), seed=3)).numpy().all())
True
"""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["normal", "uniform", "randint", "shuffle", "dropout", "SeedGenerator"]


class SeedGenerator:
    """A private, seeded stream of random draws (Keras's ``keras.random.SeedGenerator``)."""

    def __init__(self, seed=None):
        self.seed = seed
        self.generator = np.random.default_rng(seed)


def _generator(seed):
    if seed is None:
        return backend.rng()
    if isinstance(seed, SeedGenerator):
        return seed.generator
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ValueError(f"seed must be None, a non-negative int or a SeedGenerator, got {seed!r}")


def _shape(shape):
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(d) for d in shape)


def _out(array, dtype):
    dtype = np.dtype(dtype or backend.get_default_dtype())
    return Tensor(backend.to_device(array.astype(dtype, copy=False), backend.get_default_device()))


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws from N(mean, stddev²)."""
    gen = _generator(seed)
    out = gen.standard_normal(_shape(shape), dtype=np.float32)
    return _out(out * np.float32(stddev) + np.float32(mean), dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Draws uniform on [minval, maxval)."""
    gen = _generator(seed)
    out = gen.random(_shape(shape), dtype=np.float32)
    return _out(out * np.float32(maxval - minval) + np.float32(minval), dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers uniform on [minval, maxval)."""
    if maxval <= minval:
        raise ValueError(f"randint: maxval ({maxval}) must be greater than minval ({minval})")
    return _out(_generator(seed).integers(minval, maxval, size=_shape(shape)), dtype)


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` in a random order (differentiable: a gather)."""
    from .functional import getitem
    t = x if isinstance(x, Tensor) else Tensor(backend.as_array(x))
    order = _generator(seed).permutation(t.shape[axis])
    index = (slice(None),) * (axis % t.ndim) + (order,)
    return getitem(t, index)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Inverted dropout: zero each entry with probability ``rate``, scale the rest by
    1 / (1 − rate) (always applied: this is the training-time operation)."""
    from .functional import dropout as _dropout
    gen = None if seed is None else _generator(seed)
    t = inputs if isinstance(inputs, Tensor) else Tensor(backend.as_array(inputs))
    return _dropout(t, rate=rate, training=True, noise_shape=noise_shape, generator=gen)
