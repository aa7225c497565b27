"""Grids of pictures: images with their labels, convolution filters, feature maps, attention."""
from __future__ import annotations

import numpy as np

from ._base import axes, host, names_for, subplots

__all__ = ["images", "filters", "feature_maps", "attention"]


def _display(img):
    """An image as imshow wants it: (H, W) or (H, W, 3|4) with colour values in [0, 1]."""
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 3 and img.shape[-1] in (3, 4):
        img = img.astype(np.float64)
        lo, hi = img.min(), img.max()
        if lo < 0 or hi > 1:  # colour must be in [0, 1]: min-max scale this image
            img = (img - lo) / (hi - lo) if hi > lo else np.full_like(img, 0.5)
    return img


def grid(pictures, ncols, titles=None, cmap="gray", size=1.2, colours=None, suptitle=None):
    """One figure with the pictures in rows of ``ncols``, axes off, optional titles."""
    n = len(pictures)
    if n == 0:
        raise ValueError("nothing to draw: no images")
    ncols = max(1, min(int(ncols), n))
    nrows = -(-n // ncols)
    fig, panels = subplots(nrows, ncols, size)
    for i, panel in enumerate(panels.flat):
        panel.axis("off")
        if i < n:
            img = _display(np.asarray(pictures[i]))
            panel.imshow(img, cmap=None if img.ndim == 3 else cmap, interpolation="nearest")
            if titles is not None:
                panel.set_title(titles[i], fontsize=8,
                                color="black" if colours is None else colours[i])
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def images(x, y_true=None, y_pred=None, *, class_names=None, ncols=8, max_images=64,
           cmap="gray", size=1.2, title=None):
    """A grid of images titled with their labels; wrong predictions in red.

    Parameters
    ----------
    x : array (N, H, W), (N, H, W, 1) or (N, H, W, 3)
        Images, channels last (grey values are shown as they are; colour is min-max scaled
        into [0, 1] per image when outside it).
    y_true, y_pred : array (N,), optional
        Labels. With both, each title reads "true → predicted", red where they differ
        (e.g. ``images(x[wrong], y[wrong], pred[wrong])`` for the misclassified examples).
    class_names : list of str, optional
    max_images : int
        At most this many (the first ones).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per image, each holding one image.
    """
    x = host(x, "x")
    if x.ndim == 2:
        x = x[None]
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] not in (1, 3, 4)):
        raise ValueError(f"images expects (N, H, W) or channels-last (N, H, W, C) with C in "
                         f"1, 3, 4; got shape {x.shape}")
    n = min(len(x), int(max_images))
    labels = [None if y is None else host(y, name).ravel() for y, name in
              ((y_true, "y_true"), (y_pred, "y_pred"))]
    for y, name in zip(labels, ("y_true", "y_pred")):
        if y is not None and len(y) < n:
            raise ValueError(f"{name} has {len(y)} labels for {len(x)} images")
    k = 1 + int(max(int(np.max(y[:n])) if y is not None and n else 0 for y in labels))
    names = None if class_names is None else names_for(class_names, max(k, len(class_names)))

    def name(v):
        return names[int(v)] if names is not None else str(int(v)) if float(v).is_integer() \
            else f"{v:g}"

    titles, colours = None, None
    t, p = labels
    if t is not None and p is not None:
        titles = [f"{name(t[i])} → {name(p[i])}" for i in range(n)]
        colours = ["black" if t[i] == p[i] else "crimson" for i in range(n)]
    elif t is not None or p is not None:
        y = t if t is not None else p
        titles = [name(y[i]) for i in range(n)]
    return grid(x[:n], ncols, titles, cmap, size, colours, title)


def filters(filters, max_filters=64, ncols=8, channel=None, cmap="gray", size=1.0, *, layer=None):
    """The kernels of a convolution as a grid of small images.

    Parameters
    ----------
    filters : array (filters, kh, kw, in) or a model or layer
        The output of ``diagnostics.conv_filters``, or a convolution layer / model (then
        ``conv_filters(filters, layer)`` is taken: min-max scaled per filter).
    channel : int, optional
        Which input channel to show; by default RGB when there are 3, else the mean over
        input channels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if hasattr(filters, "get_layer") or hasattr(filters, "trainable_weights"):
        from ..diagnostics import conv_filters
        filters = conv_filters(filters, layer)
    filters = host(filters, "filters")
    if filters.ndim != 4:
        raise ValueError(f"plot_filters expects (filters, kh, kw, in) from conv_filters, "
                         f"got shape {filters.shape}")
    filters = filters[:max_filters]
    if filters.shape[-1] == 3 and channel is None:
        pictures = list(filters)
    elif channel is None:
        pictures = list(filters.mean(axis=-1))
    else:
        pictures = list(filters[..., channel])
    return grid(pictures, ncols, None, cmap, size)


def feature_maps(maps, sample=0, max_channels=32, ncols=8, cmap="viridis", size=1.5, *,
                 layer=None):
    """The channels of one sample's feature map as a grid: where each filter responded.

    Parameters
    ----------
    maps : array (N, H, W, C) or (N, T, C), or the dict from ``diagnostics.feature_maps``
        (then ``layer`` names the entry; optional when there is one).
    sample : int
        Which sample of the batch.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per channel, titled with its index.
    """
    if isinstance(maps, dict):
        if layer is None and len(maps) != 1:
            raise ValueError(f"feature_maps got maps of {len(maps)} layers; pass layer= one of "
                             f"{', '.join(maps)}")
        maps = maps[layer] if layer is not None else next(iter(maps.values()))
    maps = host(maps, "maps")
    if maps.ndim not in (3, 4):
        raise ValueError(f"plot_feature_maps expects (N, H, W, C) or (N, T, C) activations, "
                         f"got shape {maps.shape}")
    m = maps[sample]
    if m.ndim == 2:
        m = m[None]
    channels = min(m.shape[-1], max_channels)
    return grid([m[..., c] for c in range(channels)], ncols, [str(c) for c in range(channels)],
                cmap, size)


def attention(weights, *, x_labels=None, y_labels=None, sample=0, head=None, ax=None,
              cmap="viridis", size=3.5):
    """Attention weights as a heat map: rows are queries, columns the keys they attend to.

    Formula
    -------
        A = softmax(Q Kᵀ / √d_k)  (each row sums to 1)

    Parameters
    ----------
    weights : array (Tq, Tk), (heads, Tq, Tk) or (N, heads, Tq, Tk)
        E.g. ``MultiHeadAttention(..., return_attention_scores=True)``'s scores.
    x_labels, y_labels : list of str, optional
        Key and query tokens.
    sample : int
        Which sample of a 4-D batch.
    head : int, optional
        One head of a multi-head array; by default every head gets a panel.

    Returns
    -------
    matplotlib.figure.Figure
        One image per head drawn.
    """
    w = host(weights, "weights", np.float64)
    if w.ndim == 4:
        w = w[sample]
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3:
        raise ValueError(f"attention expects (Tq, Tk), (heads, Tq, Tk) or (N, heads, Tq, Tk) "
                         f"weights, got shape {np.shape(weights)}")
    heads = range(w.shape[0]) if head is None else [head]
    if ax is not None and len(heads) != 1:
        raise ValueError(f"ax= draws one head; these weights have {w.shape[0]}: pass head=")
    if ax is None and len(heads) > 1:
        ncols = min(4, len(heads))
        fig, panels = subplots(-(-len(heads) // ncols), ncols, size)
        panels = list(panels.flat)
    else:
        fig, panel = axes(ax, (size + 1.0, size))
        panels = [panel]
    for panel, h in zip(panels, heads):
        image = panel.imshow(w[h], cmap=cmap, vmin=0.0, vmax=max(float(w[h].max()), 1e-12),
                             aspect="auto", interpolation="nearest")
        tq, tk = w[h].shape
        if x_labels is not None:
            panel.set_xticks(range(tk))
            panel.set_xticklabels([str(s) for s in x_labels][:tk], rotation=90, fontsize=7)
        if y_labels is not None:
            panel.set_yticks(range(tq))
            panel.set_yticklabels([str(s) for s in y_labels][:tq], fontsize=7)
        panel.set_xlabel("key")
        panel.set_ylabel("query")
        panel.set_title("attention" if w.shape[0] == 1 else f"head {h}", fontsize=9)
        if len(panels) == 1:
            fig.colorbar(image, ax=panel, fraction=0.046, pad=0.04)
    for panel in panels[len(heads):]:
        panel.axis("off")
    if ax is None:
        fig.tight_layout()
    return fig
