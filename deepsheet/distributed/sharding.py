"""Which samples each rank reads: every epoch's permutation, split between the ranks."""
from __future__ import annotations

import numpy as np

from .. import backend
from . import collectives as _c

__all__ = ["shard", "FitShard"]


def shard(n_samples, seed=0, epoch=0, shuffle=True, drop_last=False):
    """This rank's sample indices for one epoch (``torch.utils.data.DistributedSampler``'s rule).

    Every rank draws the same permutation of ``range(n_samples)`` from ``(seed, epoch)``
    and takes every ``size()``-th index starting at its rank, so the ranks' parts are
    disjoint and cover the epoch. When the ranks do not divide ``n_samples``, the
    permutation is padded with its own first indices so that every rank gets the same
    number (a few samples are read twice per epoch), or cut to a multiple of the rank count
    with ``drop_last=True``. Equal counts matter: a rank with fewer steps would leave the
    others waiting in a collective.

    Formula
    -------
        p = permutation_{seed, epoch}(n);   m = ceil(n / S) (or floor with drop_last)
        indices of rank r = (p ++ p[:S·m − n])[r :: S][:m]

    Parameters
    ----------
    n_samples : int
    seed : int
        The same on every rank.
    epoch : int
        A new permutation each epoch.
    shuffle : bool
        False keeps the order 0, 1, 2, ... before the split.
    drop_last : bool

    Examples
    --------
    >>> from deepsheet import distributed as dist
    >>> idx = dist.shard(10, seed=0, epoch=3)            # all 10 indices on a single process
    >>> sorted(idx.tolist()) == list(range(10))
    True
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 0:
        raise ValueError(f"shard: n_samples must be a non-negative integer, got {n_samples!r}")
    S, r = _c.size(), _c.rank()
    order = (np.random.default_rng([int(seed), int(epoch)]).permutation(n_samples) if shuffle
             else np.arange(n_samples))
    m = n_samples // S if drop_last else -(-n_samples // S)
    if S * m > n_samples:
        order = np.concatenate([order, np.resize(order, S * m - n_samples)])
    return order[r::S][:m]


class FitShard:
    """How ``fit`` splits each global batch between the ranks (see ``DistributedOptimizer``).

    Each epoch every rank uses rank 0's permutation (drawn from rank 0's library RNG, the
    draw a single-process ``fit`` makes, and broadcast), cuts it into global batches of
    ``size() × batch_size`` samples and reads its own consecutive part of each: the job
    trains on exactly the batches a single process would with the global batch size. The
    last global batch may be smaller; it is split as evenly as possible (the optimizer
    weights each rank's gradient by its sample count, so the average is exact), and skipped
    when it has fewer samples than there are ranks.
    """

    def __init__(self):
        self.rank, self.size = _c.rank(), _c.size()
        self.count = None  # samples of this rank's current batch (set by the batch iterator)

    def permutation(self, n):
        """Rank 0's permutation of range(n), on every rank."""
        p = backend.permutation(n)
        return _c.broadcast(p, root=0) if self.size > 1 else p

    def steps(self, n, batch_size):
        """Global batches per epoch (the same on every rank)."""
        g = batch_size * self.size
        full, rest = divmod(n, g)
        return full + (1 if rest >= self.size else 0)

    def part(self, n, batch_size, step):
        """(start, stop) of this rank's part of global batch ``step`` in the epoch's order."""
        g = batch_size * self.size
        start = step * g
        m = min(g, n - start)
        base, extra = divmod(m, self.size)
        lo = start + self.rank * base + min(self.rank, extra)
        return lo, lo + base + (1 if self.rank < extra else 0)
