"""Callbacks for GAN training: a grid of generated samples every epoch."""
from __future__ import annotations

import os

import numpy as np

from ..callbacks import Callback

__all__ = ["sample_grid", "SampleGrid"]


def sample_grid(images, ncols=None, padding=2, pad_value=1.0):
    """Tile images (N, H, W[, C]) into one picture (rows·(H+p)+p, cols·(W+p)+p[, C]).

    ``ncols`` defaults to ⌈√N⌉; ``padding`` pixels of ``pad_value`` separate the tiles
    (as ``torchvision.utils.make_grid``). Single-channel images give a 2-D grid.
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (3, 4) or len(x) == 0:
        raise ValueError(f"sample_grid: expected images (N, H, W) or (N, H, W, C), got shape "
                         f"{np.shape(images)}")
    n, h, w = x.shape[:3]
    ncols = int(ncols or int(np.ceil(np.sqrt(n))))
    nrows = -(-n // ncols)
    p = int(padding)
    grid = np.full((nrows * (h + p) + p, ncols * (w + p) + p) + x.shape[3:], pad_value,
                   np.float32)
    for i in range(n):
        r, c = divmod(i, ncols)
        grid[p + r * (h + p):p + r * (h + p) + h, p + c * (w + p):p + c * (w + p) + w] = x[i]
    return grid


def _matplotlib_pyplot():
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


class SampleGrid(Callback):
    """Save a grid of generated samples at the end of every ``every``-th epoch.

    The same noise (and, for a ``ConditionalGAN``, labels: row r shows class r mod k) is
    used every epoch, so the pictures show one set of samples evolve. Samples in [-1, 1]
    (``tanh``) are mapped to [0, 1]. With matplotlib installed each grid is written as a
    PNG to ``filepath`` (formatted with ``epoch``, 1-based); without it, or with
    ``filepath=None``, the grids are only kept in ``self.grids`` (a list of arrays) — the
    last one always is.

    Parameters
    ----------
    filepath : str or None
        e.g. ``"runs/dcgan/samples_{epoch:03d}.png"``.
    n : int
        Number of samples (a square number makes a square grid).
    every : int
        Epoch interval.
    seed : int
        Seed of the fixed noise (a private generator: the library RNG is not touched, so
        training runs the same with or without this callback).
    keep : bool
        Keep every grid in ``self.grids`` (default) or only the last.
    """

    def __init__(self, filepath=None, n=64, every=1, seed=0, keep=True):
        super().__init__()
        self.filepath = None if filepath is None else os.fspath(filepath)
        self.n, self.every, self.seed, self.keep = int(n), int(every), int(seed), bool(keep)
        if self.n < 1 or self.every < 1:
            raise ValueError(f"SampleGrid: n and every must be positive, got n={n}, every={every}")
        self.grids = []
        self.written = []

    def _samples(self):
        gan = self.model
        rng = np.random.default_rng(self.seed)
        z = rng.standard_normal((self.n, gan.latent_dim)).astype(np.float32)
        labels = None
        if getattr(gan, "conditional", False):
            ncols = int(np.ceil(np.sqrt(self.n)))
            labels = (np.arange(self.n) // ncols) % gan.num_classes
        x = gan.generate(z=z, labels=labels)
        if x.min() < 0:        # tanh output -> [0, 1]
            x = (x + 1.0) * 0.5
        return np.clip(x, 0.0, 1.0)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        grid = sample_grid(self._samples())
        if self.keep:
            self.grids.append(grid)
        else:
            self.grids = [grid]
        if self.filepath is None:
            return
        plt = _matplotlib_pyplot()
        if plt is None:
            return
        path = self.filepath.format(epoch=epoch + 1)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        plt.imsave(path, grid, cmap="gray" if grid.ndim == 2 else None, vmin=0.0, vmax=1.0)
        self.written.append(path)
