"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""
from __future__ import annotations

from .. import backend
from ._axpby import axpby
from .base import Optimizer, check_hyper


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011): torch.optim.Adagrad's rule and defaults, Keras's names.

    Formula (torch.optim.Adagrad)::

        g_t = ∇θ L + λ θ_{t-1}                     (weight_decay λ)
        η'_t = η / (1 + (t − 1) · lr_decay)
        s_t = s_{t-1} + g_t²                       (s_0 = initial_accumulator_value)
        θ_t = θ_{t-1} − η'_t · g_t / (√s_t + ε)

    Parameters
    ----------
    params : iterable of Tensor, optional
    learning_rate : float or schedule
        η, default 1e-2 (PyTorch's default).
    initial_accumulator_value : float
        s_0, default 0 (PyTorch's; Keras uses 0.1).
    epsilon : float
        ε, added to √s outside the root, default 1e-10 (PyTorch's).
    lr_decay : float
        PyTorch's per-step decay of η, default 0.
    weight_decay, clipnorm, clipvalue, global_clipnorm, name
        See ``Optimizer``.

    Shape
    -----
    State per parameter: ``sum`` (s) of the parameter's shape.

    Examples
    --------
    >>> import deepsheet as ds
    >>> w = ds.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = ds.optimizers.Adagrad([w], learning_rate=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([ 0.9, -1.9], requires_grad=True)
    """

    _blockwise = True  # elementwise, in place: may run in blocks on several threads
    _config_keys = ("initial_accumulator_value", "epsilon", "lr_decay")

    def __init__(self, params=None, learning_rate=1e-2, initial_accumulator_value=0.0,
                 epsilon=1e-10, lr_decay=0.0, weight_decay=0.0, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None):
        super().__init__(params, learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name)
        self.initial_accumulator_value = check_hyper("Adagrad", "initial_accumulator_value",
                                                     initial_accumulator_value)
        self.epsilon = check_hyper("Adagrad", "epsilon", epsilon)
        self.lr_decay = check_hyper("Adagrad", "lr_decay", lr_decay)

    def _buffer_names(self):
        return ("sum",)

    def _init_state(self, p):
        xp = backend.array_module(p)
        return {"sum": xp.full_like(p, self.initial_accumulator_value)}

    def _update(self, p, g, state, lr, xp, scratch):
        wd_buf, tmp = scratch
        g = self._grad_with_decay(p, g, wd_buf)
        clr = lr / (1.0 + (state["step"] - 1) * self.lr_decay)
        s = state["sum"]
        xp.multiply(g, g, out=tmp)
        s += tmp
        xp.sqrt(s, out=tmp)
        tmp += self.epsilon
        xp.divide(g, tmp, out=tmp)
        axpby(-clr, tmp, 1.0, p, tmp)  # θ ← θ − η_t g / (√s + ε): one pass where BLAS has axpby
