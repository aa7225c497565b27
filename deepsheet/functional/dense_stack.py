"""A run of dense layers as one graph node (``dense_stack``): what ``Sequential`` runs for
consecutive ``Dense`` layers with ReLU or no activation (an MLP's hidden stack).

Per layer it does exactly what ``dense`` does (the same products in the same blocks, the bias
and ReLU in the product's epilogue, the same backward products and sums), so its numbers are
bit-identical to a chain of ``dense`` nodes; what it saves is the Python around each node
(a layer call, a graph node, an engine step: ~25 us a layer, ~7% of the reference MLP's
training step on two threads).
"""
from __future__ import annotations

from .. import backend
from ..autograd import Function
from ._kernels import matmul_rows, matmuls
from ._util import shape_of
from .dense import epilogue

__all__ = ["dense_stack"]


class DenseStackOp(Function):
    """h_0 = x,  h_l = act_l(h_{l−1} · W_l + b_l) for l = 1..L,  y = h_L.

    Inputs: x, then W_l and (where ``has_bias[l]``) b_l for each layer; ``relu[l]`` says
    whether layer l applies ReLU. Gradient, from G_L = dL/dy (rows: leading axes folded)::

        G_l ← G_l · [h_l > 0]   (after a ReLU)
        dL/dW_l = h_{l−1}ᵀ · G_l,   dL/db_l = Σ_rows G_l,   G_{l−1} = G_l · W_lᵀ

    G_{l−1} is computed only where something below layer l needs a gradient.
    """

    fresh_grads = True  # every gradient is a new array (products, sums)

    def forward(self, x, *params):
        relu, has_bias = self.relu, self.has_bias
        self.x_shape = x.shape
        h = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        xp = backend.array_module(h)
        hs, ws, k = [h], [], 0
        for l, act in enumerate(relu):
            w = params[k]
            b = params[k + 1] if has_bias[l] else None
            k += 2 if has_bias[l] else 1
            h = matmul_rows(h, w, epilogue=epilogue(b, act, xp))
            hs.append(h)
            ws.append(w)
        if any(self.needs_input_grad):  # under no_grad nothing is kept for a backward
            self.hs, self.ws = hs, ws
        return h if x.ndim == 2 else h.reshape(x.shape[:-1] + (h.shape[1],))

    def backward(self, g):
        relu, has_bias, needs = self.relu, self.has_bias, self.needs_input_grad
        # Input index of each layer's W (its b follows when it has one).
        at, k = [], 1
        for hb in has_bias:
            at.append(k)
            k += 2 if hb else 1
        # below[l]: some input before layer l (x or an earlier layer's W, b) needs a gradient.
        below, need = [], needs[0]
        for l in range(len(relu)):
            below.append(need)
            need = need or needs[at[l]] or (has_bias[l] and needs[at[l] + 1])
        grads = [None] * len(needs)
        g2 = g.reshape(-1, g.shape[-1])
        hs, ws = self.hs, self.ws
        top = len(relu) - 1
        for l in range(top, -1, -1):
            if relu[l] and l == top:
                g2 = g2 * (hs[l + 1] > 0)  # the caller's gradient: not ours to overwrite
            elif relu[l]:
                g2 *= hs[l + 1] > 0  # G_l = G_{l+1} · W_{l+1}ᵀ, a new array of ours
            nw = needs[at[l]]
            products = []
            if below[l]:
                products.append((g2, ws[l].T, None, None))
            if nw:
                products.append((hs[l].T, g2, None, None))
            res = matmuls(products) if products else []
            if nw:
                grads[at[l]] = res[-1]
            if has_bias[l] and needs[at[l] + 1]:
                grads[at[l] + 1] = g2.sum(axis=0)
            if not below[l]:
                break
            g2 = res[0]
        if needs[0]:
            grads[0] = g2.reshape(self.x_shape)
        return tuple(grads)


def dense_stack(x, kernels, biases=None, activations=None):
    """Several dense layers in one graph node (the hidden stack of an MLP).

    Formula::

        h_0 = x,   h_l = act_l(h_{l−1} · W_l + b_l)   (l = 1..L),   y = h_L
        dL/dW_l = h_{l−1}ᵀ · G_l,   dL/db_l = Σ_rows G_l,   G_{l−1} = G_l · W_lᵀ

    where G_l = dL/dh_l with the leading axes folded into rows, times [h_l > 0] after a
    ReLU. The numbers are those of ``dense`` applied layer by layer (bit for bit).

    Parameters
    ----------
    x : Tensor, shape (..., in)
    kernels : list of Tensor
        W_l of shape (in_l, out_l) (Keras's layout), out_l = in_{l+1}.
    biases : list of Tensor or None, optional
        b_l of shape (out_l,), or None for a layer without bias.
    activations : list of None, "linear" or "relu", optional
        Per layer; default none.

    Shape
    -----
    (..., in_1) -> (..., out_L)

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> x = ds.tensor(np.ones((2, 3), np.float32))
    >>> w1 = ds.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    >>> w2 = ds.tensor(np.ones((4, 5), np.float32), requires_grad=True)
    >>> ds.functional.dense_stack(x, [w1, w2], activations=["relu", None]).shape
    (2, 5)
    """
    n = len(kernels)
    biases = [None] * n if biases is None else list(biases)
    activations = [None] * n if activations is None else list(activations)
    if n == 0 or len(biases) != n or len(activations) != n:
        raise ValueError(f"dense_stack: needs one bias (or None) and one activation per "
                         f"kernel, got {n} kernels, {len(biases)} biases, "
                         f"{len(activations)} activations")
    n_in = shape_of(x)[-1] if len(shape_of(x)) else None
    for l, (w, b, act) in enumerate(zip(kernels, biases, activations)):
        if act not in (None, "linear", "relu"):
            raise ValueError(f"dense_stack: activation {l} must be None, 'linear' or 'relu', "
                             f"got {act!r}")
        sw = shape_of(w)
        if len(sw) != 2 or sw[0] != n_in:
            raise ValueError(f"dense_stack: kernel {l} of shape {sw} does not take inputs with "
                             f"last dimension {n_in}")
        if b is not None and tuple(shape_of(b)) != (sw[1],):
            raise ValueError(f"dense_stack: bias {l} must have shape ({sw[1]},), got "
                             f"{shape_of(b)}")
        n_in = sw[1]
    return _apply(x, kernels, biases, [a == "relu" for a in activations])


def _apply(x, kernels, biases, relu):
    """The node without argument checks (``Sequential`` checks its layers once)."""
    params = []
    for w, b in zip(kernels, biases):
        params.append(w)
        if b is not None:
            params.append(b)
    return DenseStackOp.apply(x, *params, relu=tuple(relu),
                              has_bias=tuple(b is not None for b in biases))
