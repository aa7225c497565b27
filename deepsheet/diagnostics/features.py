"""Feature visualization: activation maps of any layer and the learned filters of a convolution.

A feature (activation) map is the output of one channel of a convolutional layer: where in
the image that filter found its pattern. ``feature_maps`` reads them from any layer of a
functional or Sequential model by building the sub-model ``Model(model.input,
[layer.output, ...])`` that shares the trained layers, and running it in inference mode
without recording a graph. ``conv_filters`` returns a convolution's kernels laid out one
filter per row, scaled to [0, 1] for display; ``plot_feature_maps`` and ``plot_filters``
draw them when matplotlib is installed (they are ``deepsheet.plot.feature_maps`` and
``deepsheet.plot.filters`` under their first names).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor

__all__ = ["feature_maps", "conv_filters", "plot_feature_maps", "plot_filters"]


def _get_layer(model, name):
    if not hasattr(model, "get_layer"):
        raise TypeError(f"expected a Model or Sequential, got {type(model).__name__}")
    if not isinstance(name, str):
        if any(name is layer for layer in model.layers):
            return name
        raise ValueError(f"layer {name!r} is not a layer of model '{model.name}'")
    return model.get_layer(name)


def feature_maps(model, x, layer_names=None, batch_size=256):
    """Activations of the named layers of ``model`` on the batch ``x``.

    Formula::

        A^{[l]} = g^{[l]}(z^{[l]}),  z^{[l]} = W^{[l]} * A^{[l−1]} + b^{[l]}
        feature map c of layer l on sample n: A^{[l]}[n, :, :, c]

    Builds ``Model(model.input, [layer.output for each name])``, which shares the trained
    layers and their weights, and runs it with ``training=False`` under ``no_grad`` (so
    dropout is off and batch normalization uses its moving statistics), ``batch_size``
    samples at a time.

    Parameters
    ----------
    model : Model or Sequential
        A model with a symbolic graph (from ``deepsheet.Input``, or a ``Sequential`` whose
        input shape is known).
    x : array or Tensor
        Input batch, e.g. (N, H, W, C) images.
    layer_names : str, Layer or list of them, optional
        Layers to read; by default every layer after the inputs.
    batch_size : int
        Samples per forward pass (bounds memory on big batches).

    Returns
    -------
    dict
        Layer name -> NumPy array of that layer's output, batch axis first: (N, H', W', C')
        for a convolution, (N, units) for a Dense layer.

    Examples
    --------
    >>> maps = feature_maps(model, x_test[:8], ["conv2d", "conv2d_1"])   # doctest: +SKIP
    >>> maps["conv2d"].shape                                              # doctest: +SKIP
    (8, 28, 28, 32)
    """
    from ..layers.symbolic import InputLayer
    from ..models import Model
    if getattr(model, "inputs", None) is None or not model.inputs:
        raise ValueError(f"feature_maps needs a model with a symbolic graph; "
                         f"'{getattr(model, 'name', model)}' has none (build it from "
                         f"deepsheet.Input or give its first layer input_shape=)")
    if layer_names is None:
        layers = [layer for layer in model.layers if not isinstance(layer, InputLayer)]
    else:
        names = [layer_names] if isinstance(layer_names, str) or not isinstance(
            layer_names, (list, tuple)) else list(layer_names)
        layers = [_get_layer(model, n) for n in names]
    if not layers:
        raise ValueError("feature_maps: no layers to read")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    outputs = []
    for layer in layers:
        out = layer.output
        outputs.append(out[0] if isinstance(out, list) else out)
    sub = Model(model.input, outputs, name=f"{model.name}_feature_maps")

    data = x.data if isinstance(x, Tensor) else x
    if isinstance(data, (list, tuple)):
        data = np.asarray(data)
    n = data.shape[0]
    chunks = [[] for _ in layers]
    with no_grad():
        for i in range(0, max(n, 1), batch_size):
            outs = sub(data[i:i + batch_size], training=False)
            for store, o in zip(chunks, outs):
                store.append(backend.to_numpy(o.data))
    return {layer.name: (np.concatenate(c, axis=0) if len(c) > 1 else c[0])
            for layer, c in zip(layers, chunks)}


def _kernel_layer(model_or_layer, name):
    if hasattr(model_or_layer, "get_layer"):
        if name is not None:
            return _get_layer(model_or_layer, name)
        for layer in model_or_layer.layers:
            if _own_kernel(layer) is not None:
                return layer
        raise ValueError(f"model '{model_or_layer.name}' has no convolution layer")
    if name is not None and name != getattr(model_or_layer, "name", None):
        raise ValueError(f"got the layer '{model_or_layer.name}' and name={name!r}; pass a "
                         f"model to look a layer up by name")
    return model_or_layer


def _own_kernel(layer):
    for attr in ("kernel", "depthwise_kernel"):
        w = getattr(layer, attr, None)
        if w is not None and hasattr(w, "data") and w.data.ndim in (3, 4):
            return attr, w
    return None


def conv_filters(model_or_layer, name=None, normalize="filter"):
    """The kernels of a convolution as images: (filters, kh, kw, in_channels) in [0, 1].

    Keras's layouts are turned into one filter per leading index:
    Conv2D (kh, kw, in, out) -> (out, kh, kw, in); DepthwiseConv2D and the depthwise part
    of SeparableConv2D (kh, kw, in, m) -> (in·m, kh, kw, 1); Conv2DTranspose
    (kh, kw, out, in) -> (out, kh, kw, in); Conv1D (k, in, out) -> (out, 1, k, in).

    Formula
    -------
        w' = (w − min w) / (max w − min w)   over each filter ("filter") or all ("global");
        a constant filter maps to 0.5.

    Parameters
    ----------
    model_or_layer : Model or Layer
        A convolution layer, or a model (then ``name`` picks the layer; by default its
        first convolution).
    name : str, optional
        Layer name inside the model.
    normalize : {"filter", "global", None}
        Min–max scaling per filter, over the whole array, or raw weights.

    Returns
    -------
    numpy.ndarray
        float32 array (filters, kh, kw, in_channels).

    Examples
    --------
    >>> w = conv_filters(model, "conv2d")     # doctest: +SKIP
    >>> w.shape, float(w.min()), float(w.max())   # doctest: +SKIP
    ((32, 3, 3, 1), 0.0, 1.0)
    """
    if normalize not in ("filter", "global", None):
        raise ValueError(f"normalize must be 'filter', 'global' or None, got {normalize!r}")
    layer = _kernel_layer(model_or_layer, name)
    found = _own_kernel(layer)
    if found is None:
        raise ValueError(f"layer '{getattr(layer, 'name', layer)}' "
                         f"({type(layer).__name__}) has no convolution kernel (built?)")
    attr, w = found
    w = backend.to_numpy(w.data).astype(np.float32)
    cls = type(layer).__name__
    if w.ndim == 3:  # Conv1D (k, in, out)
        w = w.transpose(2, 0, 1)[:, None]
    elif attr == "depthwise_kernel" or cls.startswith("Depthwise"):
        kh, kw, cin, mult = w.shape
        w = w.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[..., None]
    elif "Transpose" in cls:
        w = w.transpose(2, 0, 1, 3)
    else:
        w = w.transpose(3, 0, 1, 2)
    w = np.ascontiguousarray(w)
    if normalize is None:
        return w
    axes = tuple(range(1, w.ndim)) if normalize == "filter" else None
    lo = w.min(axis=axes, keepdims=True)
    span = w.max(axis=axes, keepdims=True) - lo
    # A constant filter has no contrast to show: mid-grey instead of a division by zero.
    out = np.where(span > 0, (w - lo) / np.where(span > 0, span, 1), np.float32(0.5))
    return out.astype(np.float32)


def plot_feature_maps(maps, sample=0, max_channels=32, ncols=8, cmap="viridis", size=1.5):
    """Draw one sample's feature map channels; the same as ``deepsheet.plot.feature_maps``
    (kept under this name, where it lived first)."""
    from ..plot import feature_maps as draw
    return draw(maps, sample, max_channels, ncols, cmap, size)


def plot_filters(filters, max_filters=64, ncols=8, channel=None, cmap="gray", size=1.0):
    """Draw ``conv_filters`` output as a grid; the same as ``deepsheet.plot.filters``
    (kept under this name, where it lived first)."""
    from ..plot import filters as draw
    return draw(filters, max_filters, ncols, channel, cmap, size)
