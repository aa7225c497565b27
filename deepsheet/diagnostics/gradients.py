"""Vanishing and exploding gradients, measured: gradient norms per layer and per time step.

Backpropagation multiplies the gradient by one Jacobian per layer (or per time step of a
recurrent network). When those factors are mostly below 1 the gradient reaching early
layers/steps vanishes geometrically; above 1 it explodes. Two measurements show it:

* ``gradient_norms(model, x, y)``: ‖∂L/∂W‖₂ over each layer's trainable weights;
* ``sequence_gradient_norms(model, x, y)``: ‖∂L/∂h_t‖₂ for every time step t of a
  recurrent layer (SimpleRNN, LSTM, GRU), averaged over the batch. For a SimpleRNN,
  ∂L/∂h_{t-1} = (∂L/∂h_t ⊙ g'(·)) Uᵀ, so it shrinks like (‖U‖·max g')^(T-t); an LSTM's
  cell path c_{t-1} → c_t multiplies only by the forget gate and keeps it alive.

Both leave the model's weights and their ``.grad`` as they found them.
"""
from __future__ import annotations

import numpy as np

from .. import backend

__all__ = ["gradient_norms", "sequence_gradient_norms"]


def _loss_value(model, out, y, loss):
    import deepsheet as ds
    if isinstance(out, (list, tuple)):
        out = out[0]
    if y is None:
        if loss is not None:
            raise ValueError("sequence/gradient norms: loss= needs targets y")
        return out.sum()  # L = Σ outputs: the gradient of a unit change at the output
    if loss is None:
        compute = getattr(model, "compute_loss", None)
        if compute is None or not getattr(model, "_compiled_loss", None):
            raise ValueError("gradient norms: pass loss= (the model is not compiled with a "
                             "loss)")
        y = backend.to_device(np.asarray(y), backend.device_of(out.data))
        return compute(y=y, y_pred=out, training=False)  # the loss fit minimizes
    fn = ds.losses.get(loss)
    y = backend.to_device(np.asarray(y), backend.device_of(out.data))
    return fn(y, out)


class _SavedGrads:
    """Clear every weight's .grad for the measurement and put the old ones back after."""

    def __init__(self, weights):
        self.weights = list(weights)

    def __enter__(self):
        self.saved = [w.grad for w in self.weights]
        for w in self.weights:
            w.grad = None
        return self

    def __exit__(self, *exc):
        for w, g in zip(self.weights, self.saved):
            w.grad = g
        return False


def _build(model, x):
    """Run the model once without a graph if it has not seen data (so its weights exist)."""
    from ..autograd import no_grad
    if not getattr(model, "built", True) or not model.weights:
        with no_grad():
            _forward(model, x)


def _forward(model, x):
    import deepsheet as ds
    if isinstance(x, (list, tuple)):
        xs = [ds.layers.base.to_tensor_input(a) for a in x]
        return model(xs, training=False)
    return model(ds.layers.base.to_tensor_input(x), training=False)


def gradient_norms(model, x, y=None, loss=None):
    """‖∂L/∂W‖₂ of each layer's trainable weights for one batch (x, y).

    Formula::

        n_layer = sqrt(Σ_{W ∈ layer} Σ_i (∂L/∂W_i)²)

    Parameters
    ----------
    model : Model or Layer
    x, y : arrays
        One batch and its targets; without ``y`` the loss is the sum of the outputs.
    loss : str or Loss, optional
        The compiled loss by default.

    Returns
    -------
    dict
        layer name -> gradient norm (float), in layer order; layers without trainable
        weights are left out.
    """
    _build(model, x)
    layers = [l for l in getattr(model, "layers", [model]) if l.trainable_weights]
    weights = [w for l in layers for w in l.trainable_weights]
    with _SavedGrads(weights):
        out = _forward(model, x)
        _loss_value(model, out, y, loss).backward()
        result = {}
        for layer in layers:
            sq = 0.0
            for w in layer.trainable_weights:
                if w.grad is not None:
                    sq += float((backend.to_numpy(w.grad).astype(np.float64) ** 2).sum())
            result[layer.name] = float(np.sqrt(sq))
    return result


def _recurrent_kernels(model):
    from ..layers.recurrent import RNN
    found = []
    for layer in [model] + [s for l in getattr(model, "layers", []) for s in l._all_layers()]:
        if isinstance(layer, RNN) and all(layer is not f for f, _ in found):
            kernel = getattr(layer.cell, "kernel", None)
            if kernel is not None:
                found.append((layer, kernel))
    return found


def sequence_gradient_norms(model, x, y=None, loss=None, layer=None):
    """‖∂L/∂h_t‖₂ per time step of a recurrent layer, averaged over the batch.

    Formula::

        n_t = (1/N) Σ_n ‖∂L/∂h_t[n]‖₂,      t = 1..T (input order)

    where h_t is the layer's state after step t and the derivative is total (through the
    later steps and the output). Plotted on a log scale it shows the gradient vanishing
    (SimpleRNN) or surviving (LSTM) over long sequences.

    Parameters
    ----------
    model : Model or recurrent Layer
    x, y : arrays
        One batch and its targets; without ``y`` the loss is the sum of the outputs.
    loss : str or Loss, optional
        The compiled loss by default (needs ``y``).
    layer : Layer or str, optional
        Which recurrent layer (object or name); the first one the model runs by default.

    Returns
    -------
    ndarray of shape (T,), float64
    """
    from ..functional import _recurrent_kernels as R
    _build(model, x)
    kernels = _recurrent_kernels(model)
    if not kernels:
        raise ValueError("sequence_gradient_norms: the model has no built SimpleRNN, LSTM or "
                         "GRU layer (call it on data once first)")
    if layer is not None:
        name = layer if isinstance(layer, str) else layer.name
        kernels = [k for k in kernels if k[0].name == name]
        if not kernels:
            raise ValueError(f"sequence_gradient_norms: no recurrent layer named {name!r}")
    target, kernel = kernels[0]
    if not target.cell.fused_ok():
        raise ValueError(f"sequence_gradient_norms: layer '{target.name}' runs a custom cell; "
                         "only the fused SimpleRNN/LSTM/GRU kernels record ∂L/∂h_t")
    weights = [w for l in getattr(model, "layers", [model]) for w in l.trainable_weights]
    was = kernel.requires_grad
    kernel.requires_grad = True  # a frozen layer still shows its gradient flow
    R.DH_PROBE = {}
    try:
        with _SavedGrads(weights + [kernel]):
            out = _forward(model, x)
            _loss_value(model, out, y, loss).backward()
            rec = R.DH_PROBE.get(id(kernel))
    finally:
        R.DH_PROBE = None
        kernel.requires_grad = was
    if rec is None:
        raise ValueError(f"sequence_gradient_norms: no gradient reached layer '{target.name}'")
    rows, backwards = rec
    norms = backend.to_numpy(rows).mean(axis=1)
    return norms[::-1].copy() if backwards else norms
