"""Vanishing and exploding signals made visible: activation and gradient statistics per layer
for sigmoid, tanh and ReLU under Xavier and He initialization, and dead-ReLU detection."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["activation_statistics", "dead_relu_fraction", "LayerStatistics"]


class LayerStatistics(NamedTuple):
    """Per-layer statistics of one deep stack (index 0 = the first hidden layer)."""
    activation: str
    initializer: str
    activation_std: np.ndarray   # std of a^{[l]} over samples and units
    saturated: np.ndarray        # fraction of units in the flat part of the activation
    gradient_std: np.ndarray     # std of dL/dz^{[l]} (the signal backprop carries)


def _saturated(name, a):
    # The flat parts where the derivative is (nearly) zero: σ' < 0.02·max, tanh' < 0.04, ReLU off.
    if name == "sigmoid":
        return float(np.mean((a < 0.02) | (a > 0.98)))
    if name == "tanh":
        return float(np.mean(np.abs(a) > 0.98))
    return float(np.mean(a <= 0))


def activation_statistics(activations=("sigmoid", "tanh", "relu"),
                          initializers=("glorot_normal", "he_normal"), *, depth=10, width=128,
                          n=256, seed=0):
    """Forward and backward statistics through a deep stack of ``Dense`` layers.

    For each activation and initializer, ``depth`` layers of ``width`` units process
    standard-normal inputs; the spread of each layer's activations and of the gradient
    reaching each layer's pre-activation are recorded. Xavier/Glorot (Var(w) = 2/(n_in +
    n_out)) keeps tanh's signal alive; with ReLU it halves the variance at every layer, and
    He (Var(w) = 2/n_in) restores it; sigmoid's derivative (at most 1/4) shrinks the
    gradient layer after layer (the vanishing gradient).

    Formula
    -------
        z^{[l]} = W^{[l]} a^{[l−1]},  a^{[l]} = g(z^{[l]});   Var(z^{[l]}) ≈ n_in Var(w) E[a^{[l−1]}²]
        ∂L/∂z^{[l]} = g'(z^{[l]}) ⊙ W^{[l+1]ᵀ} ∂L/∂z^{[l+1]}   (a product of l factors g'·W)

    Returns
    -------
    dict
        ``(activation, initializer) -> LayerStatistics``.

    Examples
    --------
    >>> s = activation_statistics(("relu",), ("glorot_normal", "he_normal"))   # doctest: +SKIP
    >>> he, glorot = s["relu", "he_normal"], s["relu", "glorot_normal"]     # doctest: +SKIP
    >>> he.activation_std[-1] > glorot.activation_std[-1]                   # doctest: +SKIP
    True
    """
    from .. import backend, layers
    from ..tensor import Tensor
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, width)).astype(np.float32)
    upstream = rng.normal(size=(n, width)).astype(np.float32)
    out = {}
    for act in activations:
        for init in initializers:
            backend.manual_seed(seed)
            stack = [layers.Dense(width, kernel_initializer=init, use_bias=False)
                     for _ in range(depth)]
            activation = layers.Activation(act)
            a = Tensor(x)
            zs, acts = [], []
            for dense in stack:
                z = dense(a).retain_grad()
                a = activation(z)
                zs.append(z)
                acts.append(a)
            (a * Tensor(upstream)).sum().backward()
            host = [backend.to_numpy(t.data) for t in acts]
            out[act, init] = LayerStatistics(
                act, init, np.array([h.std() for h in host]),
                np.array([_saturated(act, h) for h in host]),
                np.array([backend.to_numpy(z.grad).std() for z in zs]))
    return out


def dead_relu_fraction(model, x, layer_names=None, batch_size=256):
    """Fraction of ReLU units that are never active on the data ``x``, per layer.

    A unit (a Dense output or a convolution channel) is dead when its output is 0 for every
    sample (and every position): its gradient is then 0 too, so it cannot recover — the
    dying-ReLU problem that Leaky ReLU and ELU avoid.

    Formula
    -------
        dead_j = [ max_{samples, positions} ReLU(z_j) = 0 ];   fraction = (1/units) Σ_j dead_j

    Parameters
    ----------
    model : Model or Sequential
        With a symbolic graph (see ``feature_maps``).
    x : array
        The data set to check the units on.
    layer_names : list of str, optional
        Layers to check; default every layer whose activation is ReLU.

    Returns
    -------
    dict
        Layer name -> fraction of its units that are dead on ``x``.
    """
    from .features import feature_maps
    if layer_names is None:
        layer_names = [layer.name for layer in model.layers
                       if getattr(layer, "_activation_name", None) == "relu"
                       or type(layer).__name__ == "ReLU"]
        if not layer_names:
            raise ValueError(f"model '{model.name}' has no ReLU layer (pass layer_names=)")
    maps = feature_maps(model, x, list(layer_names), batch_size=batch_size)
    result = {}
    for name, a in maps.items():
        alive = (a.reshape(-1, a.shape[-1]) > 0).any(axis=0)
        result[name] = float(1.0 - alive.mean())
    return result
