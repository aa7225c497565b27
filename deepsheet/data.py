"""Batch iteration: batch gradient descent, stochastic and mini-batch, over arrays or generators.

One epoch visits the data once, in steps of ``batch_size`` samples:

* ``batch_size="full"`` (batch gradient descent): one step over all ``n`` samples; smooth,
  steadily decreasing cost, needs all data in memory;
* ``batch_size=1`` (stochastic gradient descent): ``n`` steps of one sample; noisy, wanders
  around the minimum, works out of core;
* anything else (mini-batch): ``ceil(n / batch_size)`` steps, the last one possibly
  smaller; the usual compromise.

Shuffling draws one permutation per epoch from the library RNG (``backend.permutation``),
so ``manual_seed`` or a restored RNG state replays the same batches exactly. Each batch
is gathered with one fancy index per array; without shuffling, batches are views (no copy).

Besides arrays, ``fit``/``evaluate``/``predict`` accept any iterable of ``(x, y)`` or
``(x, y, sample_weight)`` batches (a generator, a list of tuples, a loader object);
``steps`` then bounds an epoch and a one-shot generator continues where it stopped.
"""
from __future__ import annotations

import math

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["batches", "ArrayBatches", "IterableBatches", "resolve_batch_size", "num_batches",
           "as_array", "is_dataset", "split_tail", "unpack_batch"]


def resolve_batch_size(batch_size, n):
    """The number of samples per step: None -> 32 (Keras's default), "full" -> n, else the int."""
    if batch_size is None:
        return 32
    if isinstance(batch_size, str):
        if batch_size.lower() in ("full", "all", "batch"):
            return max(int(n), 1)
        raise ValueError(f"batch_size must be a positive int, None or 'full', got {batch_size!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, None or 'full', got {batch_size!r}")
    return int(batch_size)


def num_batches(n, batch_size):
    """Steps per epoch over ``n`` samples: ``ceil(n / batch_size)`` (1 for full batch,
    n for SGD)."""
    return math.ceil(n / batch_size) if n else 0


def as_array(x, name="x"):
    """A NumPy/CuPy array for ``x``: Tensors unwrapped, lists converted, floats made float32.

    Integer arrays (labels, token ids) keep their dtype; float64 is cast once here so the
    training loop never upcasts (float32 is the library's default dtype).
    """
    if isinstance(x, Tensor):
        x = x.data
    if not (hasattr(x, "shape") and hasattr(x, "dtype")) or isinstance(x, np.generic):
        try:
            x = np.asarray(x)
        except ValueError as exc:
            if "inhomogeneous" not in str(exc):
                raise
            raise ValueError(f"{name} is a ragged list (its rows have different lengths); pad "
                             "it (deepsheet.utils.pad_sequences) or pass a numeric array") from None
    if x.dtype == object:
        raise TypeError(f"{name} holds Python objects (ragged lists?); pass a numeric array")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{name} holds {x.dtype} values; models take real numbers (float, "
                        "integer or bool arrays)")
    if x.dtype.kind == "f" and x.dtype != np.float32:
        x = x.astype(np.float32)
    elif x.dtype.kind == "b":
        x = x.astype(np.float32)
    if x.ndim == 0:
        raise ValueError(f"{name} must have a batch axis, got a scalar")
    return x


def is_dataset(x):
    """True for an iterable of batches (generator, loader) rather than an array or array list."""
    if x is None or isinstance(x, (Tensor, np.ndarray, list, tuple, dict, str, bytes)):
        return False
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return False  # CuPy and other array types
    return hasattr(x, "__iter__") or hasattr(x, "__next__")


def split_tail(arrays, fraction):
    """Split aligned arrays into (head, tail) with the last ``fraction`` of samples in the tail.

    Keras's ``validation_split``: the tail is taken before any shuffling.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction}")
    n = next(len(a) for a in arrays if a is not None)
    cut = int(math.floor(n * (1.0 - fraction)))
    if cut == 0 or cut == n:
        raise ValueError(f"validation_split={fraction} of {n} samples leaves an empty "
                         "training or validation set")
    head = [None if a is None else a[:cut] for a in arrays]
    tail = [None if a is None else a[cut:] for a in arrays]
    return head, tail


class ArrayBatches:
    """Epochs of aligned batches from a list of arrays (None entries stay None).

    Parameters
    ----------
    arrays : list of arrays or None
        Same first dimension (the samples).
    batch_size : int
    shuffle : bool
        A fresh permutation from the library RNG each epoch (each ``iter``).
    steps : int, optional
        At most this many batches per epoch.

    Examples
    --------
    >>> import numpy as np
    >>> b = ArrayBatches([np.arange(5), np.arange(5) * 10], batch_size=2)
    >>> [xb.tolist() for xb, _ in b]
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, arrays, batch_size=32, shuffle=False, steps=None, shard=None):
        self.arrays = list(arrays)
        lengths = {len(a) for a in self.arrays if a is not None}
        if len(lengths) > 1:
            raise ValueError(f"arrays of different lengths {sorted(lengths)} cannot be batched "
                             "together")
        self.n = lengths.pop() if lengths else 0
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        # Data-parallel training (deepsheet.distributed's FitShard): this rank reads its part
        # of every global batch of shard.size × batch_size samples.
        self.shard = shard
        self.steps = (num_batches(self.n, self.batch_size) if shard is None
                      else shard.steps(self.n, self.batch_size))
        if steps is not None:
            self.steps = min(self.steps, int(steps))

    def __len__(self):
        return self.steps

    def __iter__(self):
        arrays, b, n = self.arrays, self.batch_size, self.n
        if self.shard is not None:
            order = self.shard.permutation(n) if self.shuffle else None
            for i in range(self.steps):
                lo, hi = self.shard.part(n, b, i)
                idx = slice(lo, hi) if order is None else order[lo:hi]
                self.shard.count = hi - lo
                yield [None if a is None else a[idx] for a in arrays]
            return
        if self.shuffle:
            order = backend.permutation(n)
            for i in range(self.steps):
                idx = order[i * b:(i + 1) * b]
                yield [None if a is None else a[idx] for a in arrays]
        else:
            for i in range(self.steps):
                s = slice(i * b, min((i + 1) * b, n))
                yield [None if a is None else a[s] for a in arrays]


def unpack_batch(item):
    """``(x, y, sample_weight)`` from a batch ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, w)``."""
    if isinstance(item, tuple):
        if len(item) == 1:
            return item[0], None, None
        if len(item) == 2:
            return item[0], item[1], None
        if len(item) == 3:
            return item
        raise ValueError(f"a batch must be x, (x, y) or (x, y, sample_weight); got a tuple of "
                         f"{len(item)}")
    if isinstance(item, dict) and "x" in item:
        return item["x"], item.get("y"), item.get("sample_weight")
    return item, None, None


class IterableBatches:
    """Epochs over an iterable of batches; ``steps`` bounds an epoch.

    With ``steps``, one iterator is kept across epochs (a generator continues where the
    previous epoch stopped, as in Keras); without, each epoch starts a new ``iter(data)``
    (a re-iterable loader starts over; a spent generator yields nothing).
    """

    def __init__(self, data, steps=None):
        self.data = data
        self.steps = None if steps is None else int(steps)
        self._it = None
        self.exhausted = False

    def __len__(self):
        if self.steps is not None:
            return self.steps
        try:
            return len(self.data)
        except TypeError:
            raise TypeError("the number of batches of this generator is unknown; "
                            "pass steps_per_epoch") from None

    def __iter__(self):
        if self.steps is None:
            yield from iter(self.data)
            return
        if self._it is None:
            self._it = iter(self.data)
        for _ in range(self.steps):
            try:
                yield next(self._it)
            except StopIteration:
                self.exhausted = True
                self._it = None
                return


def batches(x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None):
    """Iterate over ``(x, y)`` (or ``(x, y, w)``) batches, epoch after epoch.

    Formula::

        B_t = { π(t·b), …, π(min((t + 1)·b, m) − 1) },  t = 0 … ⌈m / b⌉ − 1
        (π a fresh permutation per epoch when shuffle, else the identity;
         b = m: batch GD, b = 1: stochastic GD, 1 < b < m: mini-batch GD)

    Parameters
    ----------
    x : array, list of arrays (several inputs) or an iterable of batches
    y : array or list of arrays, optional
    sample_weight : array (n,), optional
    batch_size : int, None (32) or "full"
    shuffle : bool
        Reshuffle with the library RNG at each ``iter`` (each epoch).
    steps : int, optional
        Bound on batches per epoch.

    Returns
    -------
    An iterable (iterate it once per epoch); ``len()`` gives the steps per epoch.

    Examples
    --------
    >>> import numpy as np
    >>> import deepsheet as ds
    >>> x, y = np.zeros((10, 3)), np.arange(10)
    >>> len(ds.data.batches(x, y, batch_size=4)), len(ds.data.batches(x, y, batch_size="full"))
    (3, 1)
    >>> for xb, yb in ds.data.batches(x, y, batch_size=4, shuffle=True):
    ...     pass
    """
    if is_dataset(x):
        if y is not None:
            raise ValueError("y must be None when x is a generator or iterable of (x, y) batches")
        return IterableBatches(x, steps)
    xs = [as_array(a, "x") for a in x] if isinstance(x, (list, tuple)) else [as_array(x, "x")]
    ys = [] if y is None else ([as_array(a, "y") for a in y] if isinstance(y, (list, tuple))
                               else [as_array(y, "y")])
    arrays = xs + ys + ([] if sample_weight is None else [as_array(sample_weight,
                                                                    "sample_weight")])
    n = len(xs[0])
    return _Structured(ArrayBatches(arrays, resolve_batch_size(batch_size, n), shuffle, steps),
                       len(xs), len(ys), isinstance(x, (list, tuple)),
                       isinstance(y, (list, tuple)), sample_weight is not None)


class _Structured:
    """Regroups ArrayBatches' flat lists into (x, y[, w]) with the caller's nesting."""

    def __init__(self, flat, nx, ny, x_list, y_list, has_w):
        self.flat, self.nx, self.ny = flat, nx, ny
        self.x_list, self.y_list, self.has_w = x_list, y_list, has_w

    def __len__(self):
        return len(self.flat)

    def __iter__(self):
        nx, ny = self.nx, self.ny
        for parts in self.flat:
            xb = parts[:nx] if self.x_list else parts[0]
            if not ny:
                yield xb
                continue
            yb = parts[nx:nx + ny] if self.y_list else parts[nx]
            yield (xb, yb, parts[-1]) if self.has_w else (xb, yb)
