"""Data augmentation on image batches (N, H, W, C): label-preserving random transformations.

Augmentation enlarges the training set with plausible variants of each image (mirrored,
shifted, slightly rotated, noisy, partly hidden), which lowers variance (over-fitting)
without collecting data. Each function draws its random parameters per image from the
library generator (``deepsheet.backend.rng()``, reseeded by ``deepsheet.manual_seed``), so a
seeded run is reproducible (or from ``generator=``, a private ``numpy.random.Generator``);
the work on pixels is vectorised over the batch and runs where the data lives (NumPy or
CuPy). Arrays come back as arrays with the input's dtype; Tensors come back as Tensors
built by differentiable gathers and products, so gradients flow through an augmentation
placed inside a network. The deterministic ``translate`` and ``rotate`` apply given
per-image shifts and angles. Layers applying these only in training live in
``deepsheet.layers.augmentation``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["random_flip", "translate", "random_translation", "crop", "random_crop", "rotate",
           "random_rotation", "gaussian_noise", "random_erasing"]

FILL_MODES = ("constant", "nearest", "wrap", "reflect")


def _images(x, who):
    """The batch (a Tensor stays a Tensor, so it remains differentiable), checked to be 4-D."""
    if not isinstance(x, Tensor) and not hasattr(x, "ndim"):
        x = np.asarray(x, dtype=backend.get_default_dtype())
    if x.ndim != 4:
        raise ValueError(f"{who} expects a batch of images (N, H, W, C), got shape "
                         f"{tuple(x.shape)}; add the batch axis with x[None] or the channel "
                         "axis with x[..., None]")
    return x


def _xp(x):
    return backend.array_module(x.data if isinstance(x, Tensor) else x)


def _to(xp, host):
    return host if xp is np else xp.asarray(host)


def _gen(generator):
    return backend.rng() if generator is None else generator


def _range(factor, name):
    """Keras's factor convention: a number f means [-f, f], a pair (lo, hi) is taken as is."""
    if isinstance(factor, (tuple, list)):
        lo, hi = float(factor[0]), float(factor[1])
    else:
        lo, hi = -abs(float(factor)), abs(float(factor))
    if lo > hi:
        raise ValueError(f"{name} must be a number or a (low, high) pair with low <= high, "
                         f"got {factor!r}")
    return lo, hi


def _check_fill(fill_mode):
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")


def _map_index(xp, i, size, fill_mode):
    """Source indices for possibly out-of-range integer coordinates, and where they are valid.

    constant: outside is invalid (filled later); nearest: clamp to the edge; wrap: periodic;
    reflect: mirror about the edge, repeating the edge pixel (d c b a | a b c d | d c b a).
    """
    if fill_mode == "constant":
        valid = (i >= 0) & (i < size)
        return xp.clip(i, 0, size - 1), valid
    if fill_mode == "nearest":
        return xp.clip(i, 0, size - 1), None
    if fill_mode == "wrap":
        return i % size, None
    m = i % (2 * size)
    return xp.where(m < size, m, 2 * size - 1 - m), None


def _gather(x, rows, cols, fill_mode, fill_value):
    """out[n, i, j] = x[n, rows[n, i, j], cols[n, i, j]], with the fill rule outside.

    One advanced-indexing gather; on a Tensor it is ``Tensor.__getitem__`` (its backward
    scatters the gradient back) and the constant fill a product with the validity mask.
    """
    xp = _xp(x)
    n, h, w = x.shape[:3]
    r, r_ok = _map_index(xp, rows, h, fill_mode)
    c, c_ok = _map_index(xp, cols, w, fill_mode)
    batch = xp.arange(rows.shape[0]).reshape(-1, 1, 1)
    out = x[batch, r, c]
    if fill_mode != "constant":
        return out
    valid = (r_ok & c_ok)[..., None]
    if isinstance(x, Tensor):
        keep = valid.astype(x.dtype)
        out = out * keep
        return out + fill_value * (1 - keep) if fill_value != 0 else out
    return xp.where(valid, out, xp.asarray(fill_value, dtype=x.dtype))


def _where(mask, a, b):
    """``mask ? a : b`` for arrays, or as a product for Tensors (differentiable in a and b)."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        dtype = (a if isinstance(a, Tensor) else b).dtype
        m = mask.astype(dtype)
        return a * m + b * (1 - m)
    return _xp(a).where(mask, a, b)


# ---------------------------------------------------------------- flips

def random_flip(x, mode="horizontal", *, generator=None):
    """Mirror each image with probability 1/2 (horizontally, vertically, or each independently).

    Formula
    -------
    horizontal: out[n, i, j] = x[n, i, W − 1 − j] when b_n = 1, b_n ~ Bernoulli(1/2);
    vertical: out[n, i, j] = x[n, H − 1 − i, j]; "horizontal_and_vertical" draws both.

    Parameters
    ----------
    x : (N, H, W, C) array or Tensor
    mode : {"horizontal", "vertical", "horizontal_and_vertical"}
    generator : numpy.random.Generator, optional
        Default: the library RNG (``deepsheet.backend.rng()``). The same holds for every
        ``random_*`` function here.

    Examples
    --------
    >>> import deepsheet as ds, numpy as np
    >>> ds.manual_seed(0)
    >>> random_flip(np.arange(4.0).reshape(1, 1, 4, 1))[0, 0, :, 0].tolist() in ([0, 1, 2, 3], [3, 2, 1, 0])
    True
    """
    if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
        raise ValueError(f'mode must be "horizontal", "vertical" or "horizontal_and_vertical", '
                         f"got {mode!r}")
    x = _images(x, "random_flip")
    xp, gen = _xp(x), _gen(generator)
    n, h, w = x.shape[:3]
    rows = xp.broadcast_to(xp.arange(h).reshape(1, -1, 1), (n, h, w))
    cols = xp.broadcast_to(xp.arange(w).reshape(1, 1, -1), (n, h, w))
    # a flip is a gather with mirrored indices: exact, and differentiable on Tensors
    if mode in ("horizontal", "horizontal_and_vertical"):
        flip = _to(xp, gen.random(n) < 0.5).reshape(-1, 1, 1)
        cols = xp.where(flip, w - 1 - cols, cols)
    if mode in ("vertical", "horizontal_and_vertical"):
        flip = _to(xp, gen.random(n) < 0.5).reshape(-1, 1, 1)
        rows = xp.where(flip, h - 1 - rows, rows)
    return _gather(x, rows, cols, "nearest", 0.0)


# ---------------------------------------------------------------- translations and crops

def translate(x, shifts, *, fill_mode="constant", fill_value=0.0):
    """Shift each image by whole pixels: ``shifts[n] = (dy, dx)`` moves content down and right.

    Formula
    -------
    out[n, i, j] = x[n, i − dy_n, j − dx_n], and ``fill_mode`` outside the image
    ("constant": ``fill_value``; "nearest": edge pixel; "wrap": periodic; "reflect":
    mirrored at the edge).

    Shape
    -----
    x (N, H, W, C); shifts (N, 2) integers (or one (dy, dx) for all) -> (N, H, W, C).

    Examples
    --------
    >>> import numpy as np
    >>> translate(np.arange(1.0, 5.0).reshape(1, 1, 4, 1), [(0, 1)])[0, 0, :, 0].tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    _check_fill(fill_mode)
    x = _images(x, "translate")
    xp = _xp(x)
    n, h, w = x.shape[:3]
    shifts = np.asarray(backend.to_numpy(shifts), dtype=np.int64)
    shifts = np.broadcast_to(shifts.reshape(-1, 2), (n, 2))
    dy, dx = _to(xp, shifts[:, 0]).reshape(-1, 1, 1), _to(xp, shifts[:, 1]).reshape(-1, 1, 1)
    rows = xp.arange(h).reshape(1, -1, 1) - dy
    cols = xp.arange(w).reshape(1, 1, -1) - dx
    rows, cols = xp.broadcast_to(rows, (n, h, w)), xp.broadcast_to(cols, (n, h, w))
    return _gather(x, rows, cols, fill_mode, fill_value)


def random_translation(x, height_factor, width_factor, *, fill_mode="constant", fill_value=0.0,
                       generator=None):
    """Shift each image by a random whole number of pixels (Keras's ``RandomTranslation`` factors).

    Formula
    -------
    dy_n = round(u · H), u ~ U(lo_h, hi_h); dx_n = round(v · W), v ~ U(lo_w, hi_w), where a
    factor f means (−f, f) as a fraction of the height or width; then ``translate``.

    Parameters
    ----------
    x : (N, H, W, C) array or Tensor
    height_factor, width_factor : float or (low, high)
    fill_mode : {"constant", "nearest", "wrap", "reflect"}
    fill_value : float
    """
    lo_h, hi_h = _range(height_factor, "height_factor")
    lo_w, hi_w = _range(width_factor, "width_factor")
    n, h, w = _images(x, "random_translation").shape[:3]
    gen = _gen(generator)
    dy = np.rint(gen.uniform(lo_h, hi_h, n) * h).astype(np.int64)
    dx = np.rint(gen.uniform(lo_w, hi_w, n) * w).astype(np.int64)
    return translate(x, np.stack([dy, dx], axis=1), fill_mode=fill_mode, fill_value=fill_value)


def random_crop(x, padding=4, size=None, *, fill_mode="constant", fill_value=0.0,
                generator=None):
    """Pad each image by ``padding`` pixels, then cut a random window (the CIFAR recipe).

    Formula
    -------
    With the padded image P (H + 2p, W + 2p) and a window of ``size`` (h, w) (default
    (H, W)) at offset (a_n, b_n) drawn uniformly from [0, H + 2p − h] × [0, W + 2p − w]:
    out[n, i, j] = P[n, a_n + i, b_n + j] = x[n, a_n + i − p, b_n + j − p].

    Parameters
    ----------
    x : (N, H, W, C) array or Tensor
    padding : int >= 0
    size : (h, w), optional
        Output size; at most the padded size.
    fill_mode, fill_value : how the padding is filled (zeros by default)

    Shape
    -----
    (N, H, W, C) -> (N, h, w, C)
    """
    _check_fill(fill_mode)
    x = _images(x, "random_crop")
    n, h, w = x.shape[:3]
    if not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    out_h, out_w = (h, w) if size is None else (int(size[0]), int(size[1]))
    if not (0 < out_h <= h + 2 * padding and 0 < out_w <= w + 2 * padding):
        raise ValueError(f"random_crop: size {(out_h, out_w)} must fit in the padded image "
                         f"{(h + 2 * padding, w + 2 * padding)}")
    gen = _gen(generator)
    a = gen.integers(0, h + 2 * padding - out_h + 1, n)
    b = gen.integers(0, w + 2 * padding - out_w + 1, n)
    return crop(x, np.stack([a - padding, b - padding], axis=1), (out_h, out_w),
                fill_mode=fill_mode, fill_value=fill_value)


def crop(x, offsets, size, *, fill_mode="constant", fill_value=0.0):
    """Cut an (h, w) window per image at ``offsets[n] = (top, left)``, which may lie outside.

    Formula
    -------
    out[n, i, j] = x[n, top_n + i, left_n + j], pixels outside the image following
    ``fill_mode`` (a negative offset reaches into the padding).

    Shape
    -----
    x (N, H, W, C); offsets (N, 2) integers (or one pair); size (h, w) -> (N, h, w, C).
    """
    _check_fill(fill_mode)
    x = _images(x, "crop")
    xp = _xp(x)
    n = x.shape[0]
    out_h, out_w = int(size[0]), int(size[1])
    offsets = np.broadcast_to(np.asarray(backend.to_numpy(offsets), dtype=np.int64).reshape(-1, 2),
                              (n, 2))
    rows = xp.arange(out_h).reshape(1, -1, 1) + _to(xp, offsets[:, 0]).reshape(-1, 1, 1)
    cols = xp.arange(out_w).reshape(1, 1, -1) + _to(xp, offsets[:, 1]).reshape(-1, 1, 1)
    rows, cols = xp.broadcast_to(rows, (n, out_h, out_w)), xp.broadcast_to(cols, (n, out_h, out_w))
    return _gather(x, rows, cols, fill_mode, fill_value)


# ---------------------------------------------------------------- rotations

def rotate(x, angles, *, fill_mode="constant", fill_value=0.0, interpolation="bilinear"):
    """Rotate each image about its centre by ``angles[n]`` radians (counter-clockwise).

    Formula
    -------
    Inverse mapping from output pixel (i, j) to the source point, with centre
    (c_y, c_x) = ((H − 1)/2, (W − 1)/2):
    y = c_y + (i − c_y) cos θ + (j − c_x) sin θ,  x = c_x − (i − c_y) sin θ + (j − c_x) cos θ,
    sampled bilinearly (or at the nearest pixel); points outside follow ``fill_mode``.

    Shape
    -----
    x (N, H, W, C); angles (N,) or a scalar -> (N, H, W, C).
    """
    _check_fill(fill_mode)
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f'interpolation must be "bilinear" or "nearest", got {interpolation!r}')
    x = _images(x, "rotate")
    xp = _xp(x)
    n, h, w = x.shape[:3]
    theta = np.broadcast_to(np.asarray(backend.to_numpy(angles), dtype=np.float64).reshape(-1), (n,))
    cos = _to(xp, np.cos(theta)).reshape(-1, 1, 1)
    sin = _to(xp, np.sin(theta)).reshape(-1, 1, 1)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    i = xp.arange(h, dtype=np.float64).reshape(1, -1, 1) - cy
    j = xp.arange(w, dtype=np.float64).reshape(1, 1, -1) - cx
    src_y = cy + i * cos + j * sin
    src_x = cx - i * sin + j * cos
    if interpolation == "nearest":
        rows = xp.rint(src_y).astype(np.int64)
        cols = xp.rint(src_x).astype(np.int64)
        return _gather(x, rows, cols, fill_mode, fill_value)
    y0, x0 = xp.floor(src_y), xp.floor(src_x)
    wy, wx = (src_y - y0)[..., None], (src_x - x0)[..., None]
    y0, x0 = y0.astype(np.int64), x0.astype(np.int64)
    if isinstance(x, Tensor):  # weights in the data's dtype: no float64 creeps in
        wy, wx = wy.astype(x.dtype), wx.astype(x.dtype)

    def at(r, c):
        g = _gather(x, r, c, fill_mode, fill_value)
        return g if isinstance(g, Tensor) else g.astype(np.float64)

    out = ((1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x0 + 1))
           + wy * ((1 - wx) * at(y0 + 1, x0) + wx * at(y0 + 1, x0 + 1)))
    return out if isinstance(out, Tensor) else out.astype(x.dtype)


def random_rotation(x, factor=0.05, *, fill_mode="constant", fill_value=0.0,
                    interpolation="bilinear", generator=None):
    """Rotate each image by a small random angle (Keras's ``RandomRotation`` factor).

    Formula
    -------
    θ_n ~ U(2π·lo, 2π·hi), where ``factor`` f means (−f, f) as a fraction of a full turn
    (0.05 is up to ±18°); then ``rotate``.
    """
    lo, hi = _range(factor, "factor")
    n = _images(x, "random_rotation").shape[0]
    angles = _gen(generator).uniform(2 * math.pi * lo, 2 * math.pi * hi, n)
    return rotate(x, angles, fill_mode=fill_mode, fill_value=fill_value,
                  interpolation=interpolation)


# ---------------------------------------------------------------- noise and erasing

def gaussian_noise(x, stddev, *, generator=None):
    """Add zero-mean Gaussian noise (Keras's ``GaussianNoise``); works on any shape.

    Formula
    -------
    out = x + ε, ε ~ N(0, stddev²) independently per element (drawn in float32).
    """
    if stddev < 0:
        raise ValueError(f"stddev must be >= 0, got {stddev!r}")
    if not isinstance(x, Tensor) and not hasattr(x, "dtype"):
        x = np.asarray(x, dtype=backend.get_default_dtype())
    xp = _xp(x)
    noise = _gen(generator).standard_normal(tuple(x.shape), dtype=np.float32)
    if stddev != 1:
        noise *= stddev
    return x + _to(xp, noise).astype(x.dtype, copy=False)


def random_erasing(x, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, *,
                   generator=None):
    """Blank a random rectangle in each image with probability p (Zhong et al. 2020).

    Formula
    -------
    With probability p: area s·H·W with s ~ U(scale), aspect r with log r ~ U(log ratio);
    h = min(H, round(√(s H W r))), w = min(W, round(√(s H W / r))); top-left corner uniform
    over the positions where the box fits; the box is set to ``value`` (a number, or
    "random" for standard-normal noise).

    Parameters
    ----------
    x : (N, H, W, C) array or Tensor
    p : float in [0, 1]
    scale : (min, max) area fractions
    ratio : (min, max) aspect ratios h / w
    value : float or "random"
    """
    if not 0 <= p <= 1:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    x = _images(x, "random_erasing")
    xp = _xp(x)
    n, h, w = x.shape[:3]
    gen = _gen(generator)
    apply = gen.random(n) < p
    area = gen.uniform(scale[0], scale[1], n) * h * w
    aspect = np.exp(gen.uniform(math.log(ratio[0]), math.log(ratio[1]), n))
    bh = np.clip(np.rint(np.sqrt(area * aspect)), 1, h).astype(np.int64)
    bw = np.clip(np.rint(np.sqrt(area / aspect)), 1, w).astype(np.int64)
    top = np.floor(gen.random(n) * (h - bh + 1)).astype(np.int64)
    left = np.floor(gen.random(n) * (w - bw + 1)).astype(np.int64)
    r = xp.arange(h).reshape(1, -1)
    c = xp.arange(w).reshape(1, -1)
    top, left = _to(xp, top).reshape(-1, 1), _to(xp, left).reshape(-1, 1)
    in_rows = (r >= top) & (r < top + _to(xp, bh).reshape(-1, 1))
    in_cols = (c >= left) & (c < left + _to(xp, bw).reshape(-1, 1))
    box = in_rows[:, :, None] & in_cols[:, None, :] & _to(xp, apply).reshape(-1, 1, 1)
    if isinstance(value, str):
        if value != "random":
            raise ValueError(f'value must be a number or "random", got {value!r}')
        fill = _to(xp, gen.standard_normal(tuple(x.shape), dtype=np.float32)).astype(x.dtype)
    else:
        fill = xp.full(tuple(x.shape), value, dtype=x.dtype)
    return _where(xp.broadcast_to(box[..., None], tuple(x.shape)), fill, x)
