"""Feature visualization: which pixels a prediction depends on (saliency), where a convolution
layer saw the class (Grad-CAM), and what a filter responds to most (activation maximization)."""
from __future__ import annotations

import numpy as np

from .. import backend

__all__ = ["saliency_map", "grad_cam", "activation_maximization", "bar_images"]


def _batch(x):
    from ..tensor import Tensor
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    data = np.asarray(data, dtype=np.float32)
    return data[None] if data.ndim == 3 else data


def _class_scores(out, class_index):
    """(score tensor summed over the batch, chosen classes): logits where recorded."""
    from ..functional.activations import logits_of
    from ..tensor import Tensor
    if isinstance(out, list):
        out = out[0]
    z = logits_of(out, "softmax")
    if z is None:
        z = logits_of(out, "sigmoid")
    z = out if z is None else z
    scores = backend.to_numpy(z.data)
    if scores.ndim != 2:
        raise ValueError(f"expected class scores of shape (N, classes), got {scores.shape}")
    n, k = scores.shape
    if class_index is None:
        chosen = scores.argmax(axis=1)
    else:
        chosen = np.broadcast_to(np.asarray(class_index, dtype=int), (n,))
        if chosen.min() < 0 or chosen.max() >= k:
            raise ValueError(f"class_index must be in [0, {k}), got {class_index!r}")
    onehot = np.zeros((n, k), np.float32)
    onehot[np.arange(n), chosen] = 1.0
    return (z * Tensor(backend.to_device(onehot, backend.device_of(z.data)))).sum(), chosen


def saliency_map(model, x, class_index=None):
    """Vanilla gradient saliency: how much each pixel moves the class score.

    The score is the class's logit (the input of the final softmax or sigmoid when the
    model records it, else the output); its gradient with respect to the image is taken
    in inference mode and reduced over channels by the largest magnitude (Simonyan et al.
    2014).

    Formula
    -------
        S_c(x) = logit of class c;   M_ij = max_channels |∂S_c / ∂x_ij|

    Parameters
    ----------
    model : callable Model
    x : array (N, H, W, C) or one image (H, W, C)
    class_index : int or array (N,), optional
        The class to explain; default each image's predicted class.

    Returns
    -------
    numpy.ndarray
        (N, H, W) non-negative saliency.
    """
    from ..tensor import Tensor
    data = _batch(x)
    xt = Tensor(data, requires_grad=True)
    score, _ = _class_scores(model(xt, training=False), class_index)
    score.backward()
    g = np.abs(backend.to_numpy(xt.grad))
    return g.max(axis=-1) if g.ndim == 4 else g


def _resize(maps, shape):
    """Bilinear resize of (N, h, w) maps to (N, H, W) (align-corners sampling)."""
    n, h, w = maps.shape
    H, W = shape
    if (h, w) == (H, W):
        return maps
    ys = np.linspace(0, h - 1, H)
    xs = np.linspace(0, w - 1, W)
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[None, :, None], (xs - x0)[None, None, :]
    top = maps[:, y0][:, :, x0] * (1 - fx) + maps[:, y0][:, :, x1] * fx
    bottom = maps[:, y1][:, :, x0] * (1 - fx) + maps[:, y1][:, :, x1] * fx
    return top * (1 - fy) + bottom * fy


def _submodel(model, layer_name, *extra):
    from ..models import Model
    from .features import _get_layer
    if getattr(model, "inputs", None) is None or not model.inputs:
        raise ValueError(f"model '{model.name}' has no symbolic graph (build it from "
                         f"deepsheet.Input or give its first layer input_shape=)")
    layer = _get_layer(model, layer_name)
    out = layer.output[0] if isinstance(layer.output, list) else layer.output
    return layer, Model(model.input, [out, *extra])


def grad_cam(model, x, layer_name, class_index=None):
    """Grad-CAM (Selvaraju et al. 2017): where a convolution layer found the class.

    Each channel k of the layer's output A is weighted by the mean gradient of the class
    score over its positions; the weighted sum, through a ReLU (only evidence for the
    class), is scaled to [0, 1] per image and resized to the input.

    Formula
    -------
        α_k = (1/Z) Σ_ij ∂S_c / ∂A^k_ij;   L_c = ReLU(Σ_k α_k A^k);   map = L_c / max L_c

    Returns
    -------
    numpy.ndarray
        (N, H, W) in [0, 1] at the input's resolution.
    """
    from ..tensor import Tensor
    data = _batch(x)
    out = model.output[0] if isinstance(model.output, list) else model.output
    layer, sub = _submodel(model, layer_name, out)
    a, y = sub(Tensor(data), training=False)
    if a.ndim != 4:
        raise ValueError(f"grad_cam needs a convolution layer's (N, H, W, C) output; "
                         f"'{layer.name}' gives {a.shape}")
    a.retain_grad()
    score, _ = _class_scores(y, class_index)
    score.backward()
    acts, grads = backend.to_numpy(a.data), backend.to_numpy(a.grad)
    weights = grads.mean(axis=(1, 2), keepdims=True)
    cam = np.maximum((weights * acts).sum(axis=-1), 0.0)
    peak = cam.max(axis=(1, 2), keepdims=True)
    cam = np.where(peak > 0, cam / np.where(peak > 0, peak, 1.0), 0.0)
    return _resize(cam, data.shape[1:3]).astype(np.float32)


def activation_maximization(model, layer_name, filter_index, *, steps=60, learning_rate=0.1,
                            l2=1e-3, seed=0, start=None):
    """Gradient ascent on the input: an image that makes one filter respond strongly.

    Starting from faint noise, the image moves along the normalized gradient of the
    filter's mean activation, minus a small L2 penalty that keeps pixel values bounded.

    Formula
    -------
        x ← x + η · g / (rms(g) + ε),   g = ∇_x [ mean_ij A^k_ij(x) − λ ‖x‖² ]

    Parameters
    ----------
    layer_name : str
        A layer with (N, H, W, C) or (N, units) output.
    filter_index : int
        The channel (or unit) to maximize.
    start : array (H, W, C), optional
        Starting image; default noise with std 0.1 (seeded).

    Returns
    -------
    (image, trace)
        The (H, W, C) image and the filter's mean activation before the first step and
        after each step.
    """
    from ..tensor import Tensor
    layer, sub = _submodel(model, layer_name)
    shape = tuple(model.input_shape[1:])
    if start is None:
        image = np.random.default_rng(seed).normal(0.0, 0.1, size=(1, *shape))
    else:
        image = np.asarray(start, dtype=np.float64).reshape(1, *shape)
    image = image.astype(np.float32)
    units = sub.output_shape[-1] if not isinstance(sub.output_shape, list) else \
        sub.output_shape[0][-1]
    if not 0 <= filter_index < units:
        raise ValueError(f"filter_index must be in [0, {units}) for layer '{layer.name}', "
                         f"got {filter_index}")
    trace = []
    for step in range(steps + 1):
        xt = Tensor(image, requires_grad=True)
        out = sub(xt, training=False)
        out = out[0] if isinstance(out, list) else out
        act = out[..., filter_index].mean()
        trace.append(float(act.item()))
        if step == steps:
            break
        (act - (xt * xt).sum() * l2).backward()
        g = backend.to_numpy(xt.grad)
        image = (image + learning_rate * g / (np.sqrt(np.mean(g ** 2)) + 1e-8)).astype(
            np.float32)
    return image[0], np.array(trace)


def bar_images(n, size=12, noise=0.1, seed=0):
    """A toy image set with known objects, to check what the maps above point at.

    Each (size, size, 1) image is Gaussian noise with, for class 0, a horizontal bar of 5
    pixels (+1.0), for class 1 a vertical one, and for class 2 nothing; the bar is placed at
    random. Returns ``(x, y, mask)`` with ``mask[i]`` True on image i's bar pixels.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(0, noise, size=(n, size, size, 1)).astype(np.float32)
    y = rng.integers(0, 3, n)
    mask = np.zeros((n, size, size), bool)
    for i in range(n):
        r, c = rng.integers(0, size - 5, 2)
        if y[i] == 0:
            mask[i, r + 2, c:c + 5] = True
        elif y[i] == 1:
            mask[i, r:r + 5, c + 2] = True
    x[mask] += 1.0
    return x, y, mask
