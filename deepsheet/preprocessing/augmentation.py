"""Data augmentation on image batches (N, H, W, C): label-preserving random transformations.

Augmentation enlarges the training set with plausible variants of each image (mirrored,
shifted, slightly rotated, noisy, partly hidden), which lowers variance (over-fitting)
without collecting data. Each function draws its random parameters per image from the
library generator (``deepsheet.backend.rng()``, reseeded by ``deepsheet.manual_seed``), so a
seeded run is reproducible; the work on pixels is vectorised over the batch and runs where
the data lives (NumPy or CuPy). Arrays come back as arrays, Tensors as Tensors, with the
input's dtype. The deterministic ``translate`` and ``rotate`` apply given per-image shifts
and angles. Layers applying these only in training live in ``deepsheet.layers.augmentation``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["random_flip", "translate", "random_translation", "random_crop", "rotate",
           "random_rotation", "gaussian_noise", "random_erasing"]

FILL_MODES = ("constant", "nearest", "wrap", "reflect")


def _images(x, who):
    """(backend array, was it a Tensor) for an image batch, checked to be (N, H, W, C)."""
    is_tensor = isinstance(x, Tensor)
    data = x.data if is_tensor else x
    if not hasattr(data, "ndim"):
        data = np.asarray(data, dtype=backend.get_default_dtype())
    if data.ndim != 4:
        raise ValueError(f"{who} expects a batch of images (N, H, W, C), got shape {data.shape}; "
                         "add the batch axis with x[None] or the channel axis with x[..., None]")
    return data, is_tensor


def _out(data, is_tensor):
    return Tensor(data) if is_tensor else data


def _to(xp, host):
    return host if xp is np else xp.asarray(host)


def _uniform(n, lo, hi):
    return backend.rng().uniform(lo, hi, n)


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


def _gather(data, rows, cols, fill_mode, fill_value):
    """out[n, i, j] = data[n, rows[n, i, j], cols[n, i, j]], with the fill rule outside."""
    xp = backend.array_module(data)
    n, h, w = data.shape[:3]
    r, r_ok = _map_index(xp, rows, h, fill_mode)
    c, c_ok = _map_index(xp, cols, w, fill_mode)
    batch = xp.arange(rows.shape[0]).reshape(-1, 1, 1)
    out = data[batch, r, c]
    if fill_mode == "constant":
        valid = r_ok & c_ok
        out = xp.where(valid[..., None], out, xp.asarray(fill_value, dtype=data.dtype))
    return out


# ---------------------------------------------------------------- flips

def random_flip(x, mode="horizontal"):
    """Mirror each image with probability 1/2 (horizontally, vertically, or each independently).

    Formula
    -------
    horizontal: out[n, i, j] = x[n, i, W − 1 − j] when b_n = 1, b_n ~ Bernoulli(1/2);
    vertical: out[n, i, j] = x[n, H − 1 − i, j]; "horizontal_and_vertical" draws both.

    Parameters
    ----------
    x : (N, H, W, C) array or Tensor
    mode : {"horizontal", "vertical", "horizontal_and_vertical"}

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
    data, is_tensor = _images(x, "random_flip")
    xp = backend.array_module(data)
    n = data.shape[0]
    out = data
    if mode in ("horizontal", "horizontal_and_vertical"):
        flip = _to(xp, backend.rng().random(n) < 0.5).reshape(-1, 1, 1, 1)
        out = xp.where(flip, out[:, :, ::-1], out)
    if mode in ("vertical", "horizontal_and_vertical"):
        flip = _to(xp, backend.rng().random(n) < 0.5).reshape(-1, 1, 1, 1)
        out = xp.where(flip, out[:, ::-1], out)
    return _out(out, is_tensor)


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
    data, is_tensor = _images(x, "translate")
    xp = backend.array_module(data)
    n, h, w = data.shape[:3]
    shifts = np.asarray(backend.to_numpy(shifts), dtype=np.int64)
    shifts = np.broadcast_to(shifts.reshape(-1, 2), (n, 2))
    dy, dx = _to(xp, shifts[:, 0]).reshape(-1, 1, 1), _to(xp, shifts[:, 1]).reshape(-1, 1, 1)
    rows = xp.arange(h).reshape(1, -1, 1) - dy
    cols = xp.arange(w).reshape(1, 1, -1) - dx
    rows, cols = xp.broadcast_to(rows, (n, h, w)), xp.broadcast_to(cols, (n, h, w))
    return _out(_gather(data, rows, cols, fill_mode, fill_value), is_tensor)


def random_translation(x, height_factor, width_factor, *, fill_mode="constant", fill_value=0.0):
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
    data, _ = _images(x, "random_translation")
    n, h, w = data.shape[:3]
    dy = np.rint(_uniform(n, lo_h, hi_h) * h).astype(np.int64)
    dx = np.rint(_uniform(n, lo_w, hi_w) * w).astype(np.int64)
    return translate(x, np.stack([dy, dx], axis=1), fill_mode=fill_mode, fill_value=fill_value)


def random_crop(x, padding=4, size=None, *, fill_mode="constant", fill_value=0.0):
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
    data, is_tensor = _images(x, "random_crop")
    xp = backend.array_module(data)
    n, h, w = data.shape[:3]
    if not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    out_h, out_w = (h, w) if size is None else (int(size[0]), int(size[1]))
    if not (0 < out_h <= h + 2 * padding and 0 < out_w <= w + 2 * padding):
        raise ValueError(f"random_crop: size {(out_h, out_w)} must fit in the padded image "
                         f"{(h + 2 * padding, w + 2 * padding)}")
    gen = backend.rng()
    a = gen.integers(0, h + 2 * padding - out_h + 1, n)
    b = gen.integers(0, w + 2 * padding - out_w + 1, n)
    rows = xp.arange(out_h).reshape(1, -1, 1) + _to(xp, a - padding).reshape(-1, 1, 1)
    cols = xp.arange(out_w).reshape(1, 1, -1) + _to(xp, b - padding).reshape(-1, 1, 1)
    rows, cols = xp.broadcast_to(rows, (n, out_h, out_w)), xp.broadcast_to(cols, (n, out_h, out_w))
    return _out(_gather(data, rows, cols, fill_mode, fill_value), is_tensor)


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
    data, is_tensor = _images(x, "rotate")
    xp = backend.array_module(data)
    n, h, w = data.shape[:3]
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
        return _out(_gather(data, rows, cols, fill_mode, fill_value), is_tensor)
    y0, x0 = xp.floor(src_y), xp.floor(src_x)
    wy, wx = (src_y - y0)[..., None], (src_x - x0)[..., None]
    y0, x0 = y0.astype(np.int64), x0.astype(np.int64)

    def at(r, c):
        return _gather(data, r, c, fill_mode, fill_value).astype(np.float64)

    out = ((1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x0 + 1))
           + wy * ((1 - wx) * at(y0 + 1, x0) + wx * at(y0 + 1, x0 + 1)))
    return _out(out.astype(data.dtype), is_tensor)


def random_rotation(x, factor=0.05, *, fill_mode="constant", fill_value=0.0,
                    interpolation="bilinear"):
    """Rotate each image by a small random angle (Keras's ``RandomRotation`` factor).

    Formula
    -------
    θ_n ~ U(2π·lo, 2π·hi), where ``factor`` f means (−f, f) as a fraction of a full turn
    (0.05 is up to ±18°); then ``rotate``.
    """
    lo, hi = _range(factor, "factor")
    data, _ = _images(x, "random_rotation")
    angles = _uniform(data.shape[0], 2 * math.pi * lo, 2 * math.pi * hi)
    return rotate(x, angles, fill_mode=fill_mode, fill_value=fill_value,
                  interpolation=interpolation)


# ---------------------------------------------------------------- noise and erasing

def gaussian_noise(x, stddev):
    """Add zero-mean Gaussian noise (Keras's ``GaussianNoise``); works on any shape.

    Formula
    -------
    out = x + ε, ε ~ N(0, stddev²) independently per element (drawn in float32).
    """
    if stddev < 0:
        raise ValueError(f"stddev must be >= 0, got {stddev!r}")
    is_tensor = isinstance(x, Tensor)
    data = x.data if is_tensor else x
    if not hasattr(data, "dtype"):
        data = np.asarray(data, dtype=backend.get_default_dtype())
    xp = backend.array_module(data)
    noise = backend.rng().standard_normal(data.shape, dtype=np.float32)
    if stddev != 1:
        noise *= stddev
    return _out(data + _to(xp, noise).astype(data.dtype, copy=False), is_tensor)


def random_erasing(x, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0):
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
    data, is_tensor = _images(x, "random_erasing")
    xp = backend.array_module(data)
    n, h, w = data.shape[:3]
    gen = backend.rng()
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
        fill = _to(xp, gen.standard_normal(data.shape, dtype=np.float32)).astype(data.dtype)
    else:
        fill = xp.asarray(value, dtype=data.dtype)
    return _out(xp.where(box[..., None], fill, data), is_tensor)
