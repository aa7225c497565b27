"""The curse of dimensionality, measured: distances concentrate as the dimension grows.

As the dimension d increases, the volume of the space grows so fast that a fixed amount of
data becomes sparse, and distances lose their contrast: for points drawn uniformly in the
unit cube, the nearest and the farthest neighbour of a query end up at almost the same
distance, so "nearest" carries little information. The data needed for a reliable
estimate grows exponentially with d.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import backend

__all__ = ["DistanceConcentration", "curse_of_dimensionality"]


@dataclass
class DistanceConcentration:
    """Per dimension: mean and std (over queries) of d_min / d_max, and the relative contrast."""

    dims: np.ndarray
    ratio_mean: np.ndarray
    ratio_std: np.ndarray
    relative_contrast: np.ndarray

    def __str__(self):
        rows = [f"{'dim':>6} {'d_min/d_max':>12} {'(d_max-d_min)/d_min':>20}"]
        rows += [f"{d:>6} {m:>12.4f} {c:>20.4f}" for d, m, c in
                 zip(self.dims, self.ratio_mean, self.relative_contrast)]
        return "\n".join(rows)


def curse_of_dimensionality(dims=(1, 2, 5, 10, 50, 100, 500, 1000), n_points=200, n_queries=50,
                            seed=None):
    """Ratio of nearest to farthest distance from random queries to random points, per dimension.

    Formula
    -------
    Draw n_points points and n_queries queries uniformly in [0, 1]^d; for each query q,
    r(q) = min_i ‖q − x_i‖ / max_i ‖q − x_i‖. As d → ∞, r → 1 (Beyer et al. 1999): the
    relative contrast (d_max − d_min) / d_min shrinks roughly like 1/√d.

    Parameters
    ----------
    dims : iterable of int
    n_points, n_queries : int
    seed : int, optional (None: library RNG)

    Returns
    -------
    DistanceConcentration

    Examples
    --------
    >>> r = curse_of_dimensionality(dims=(2, 1000), seed=0)
    >>> bool(r.ratio_mean[0] < 0.1 < 0.7 < r.ratio_mean[1])
    True
    """
    gen = backend.rng() if seed is None else np.random.default_rng(seed)
    dims = np.asarray(list(dims), dtype=np.int64)
    if dims.size == 0 or dims.min() < 1:
        raise ValueError(f"dims must be positive integers, got {dims.tolist()}")
    if n_points < 2 or n_queries < 1:
        raise ValueError("need n_points >= 2 and n_queries >= 1")
    means, stds, contrast = [], [], []
    for d in dims:  # one vectorised distance matrix per dimension
        pts = gen.random((n_points, int(d)))
        qs = gen.random((n_queries, int(d)))
        sq = (qs * qs).sum(1)[:, None] + (pts * pts).sum(1)[None, :] - 2.0 * qs @ pts.T
        dist = np.sqrt(np.maximum(sq, 0.0))
        dmin, dmax = dist.min(axis=1), dist.max(axis=1)
        ratio = dmin / dmax
        means.append(ratio.mean())
        stds.append(ratio.std())
        contrast.append(np.mean((dmax - dmin) / np.maximum(dmin, np.finfo(np.float64).tiny)))
    return DistanceConcentration(dims, np.array(means), np.array(stds), np.array(contrast))
