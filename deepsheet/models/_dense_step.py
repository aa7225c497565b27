"""The training step of a model made of one run of plain ``Dense`` layers, without graph
nodes for its layers (what ``fit`` runs for an MLP such as the reference one).

The usual step records a graph: the model call makes a ``dense_stack`` node, the loss a node
on top of it, and the engine walks both. Here the stack's forward runs on bare arrays
(``DenseStackOp.forward``) and its output ŷ reaches the loss as a leaf tensor, so the loss, the
weight penalties and a custom ``compute_loss`` build their part of the graph as usual. The
loss's backward leaves dL/dŷ in ``ŷ.grad``, and ``DenseStep.backward`` pushes it through the
stack (``DenseStackOp.backward``) into each weight's ``.grad``::

    ŷ = h_L,  h_l = act_l(h_{l−1} · W_l + b_l),  h_0 = x          (no graph node)
    dL/dŷ  by the loss's backward (the only graph left)
    dL/dW_l = h_{l−1}ᵀ G_l,  dL/db_l = Σ_rows G_l,  G_{l−1} = G_l W_lᵀ   (added to .grad)

The kernels are the graph node's, called in the same order, so the numbers are the graph
path's bit for bit (tested). What goes is the Python of a layer call, a graph node and its
engine step: ~15 us of the reference MLP's ~2 ms step on one thread (in-process A/B), about
1% of a two-thread step.
"""
from __future__ import annotations

import numpy as np

from .. import autograd, backend
from ..functional.dense_stack import DenseStackOp
from ..layers.core import Dense
from ..tensor import Tensor

__all__ = ["DenseStep", "begin"]


class DenseStep:
    """A forward pass of a dense stack on bare arrays, waiting for the loss.

    ``out`` is the output ŷ as a leaf tensor that requires grad (give it to the loss);
    ``backward(loss)`` then adds dL/dW_l and dL/db_l to the trainable weights' ``.grad``, as
    ``loss.backward()`` through the graph would.
    """

    __slots__ = ("op", "params", "out")

    def __init__(self, op, params, out):
        self.op, self.params, self.out = op, params, out

    def backward(self, loss):
        """``loss.backward()`` (down to ŷ), then dL/dŷ through the stack into the weights'
        ``.grad``; frees the saved arrays."""
        op, out, self.op = self.op, self.out, None
        loss.backward()
        g = out.grad
        if op is None or g is None:  # run already, or the loss did not reach ŷ
            return
        grads = op.backward(g)
        for p, grad in zip(self.params, grads[1:]):
            if grad is None:
                continue
            if p.grad is None:
                p.grad = grad  # a new array of the weight's shape and dtype (fresh_grads)
            else:
                p.grad += grad  # a penalty or a custom loss reached the weight too


def dense_layers_end(seq, i, n_in):
    """End of the run of plain ``Dense`` layers from ``seq[i]`` that ``dense_stack`` computes as
    the layers would: built, neither subclassed nor patched, ReLU or no activation, float32
    kernels whose shapes chain from ``n_in`` input features (i itself when there is none)."""
    end = i
    for layer in seq[i:]:
        if type(layer) is not Dense or not layer.built or "call" in layer.__dict__ \
                or (layer.activation is not None and layer._fused is None) \
                or layer.kernel.data.dtype != np.float32 or layer.kernel.data.shape[0] != n_in:
            break
        n_in = layer.kernel.data.shape[1]
        end += 1
    return end


def begin(model, xs):
    """A ``DenseStep`` that has run ``model``'s forward pass on the batch ``xs``, or None
    where the usual step must run: a model other than one run of plain Dense layers, an input
    that is not one 2-D float32 NumPy array fitting the first kernel, gradients disabled, or
    no trainable weight (the usual step explains what is wrong)."""
    if len(xs) != 1 or not autograd.is_grad_enabled():
        return None
    x = xs[0]
    seq = model._seq
    if type(x) is not np.ndarray or x.dtype != np.float32 or x.ndim != 2 or not seq \
            or not model.built or backend.get_default_device() != "cpu" \
            or dense_layers_end(seq, 0, x.shape[1]) != len(seq):
        return None
    params, relu, has_bias = [], [], []
    for layer in seq:
        params.append(layer.kernel)
        if layer.bias is not None:
            params.append(layer.bias)
        relu.append(layer._fused is not None)
        has_bias.append(layer.bias is not None)
    needs = [p.requires_grad for p in params]
    if not any(needs):
        return None
    if model._extra_losses:  # what the model's __call__ does first
        model._extra_losses = []
    op = DenseStackOp.__new__(DenseStackOp)
    op.relu, op.has_bias = tuple(relu), tuple(has_bias)
    op.needs_input_grad = (False, *needs)
    out = Tensor._wrap(op.forward(x, *[p.data for p in params]), True)
    return DenseStep(op, params, out)

