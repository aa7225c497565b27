"""Stochastic gradient descent with optional momentum and Nesterov momentum."""
from __future__ import annotations

from ._axpby import axpby
from .base import Optimizer, check_hyper


class SGD(Optimizer):
    """Gradient descent, with (Nesterov) momentum: torch.optim.SGD's rule, Keras's names.

    Formula (torch.optim.SGD; buffer b starts as the first gradient)::

        g_t = ∇θ L + λ θ_{t-1}                          (weight_decay λ)
        b_t = μ b_{t-1} + (1 − τ) g_t                    (momentum μ, dampening τ; b_1 = g_1)
        d_t = g_t + μ b_t  if nesterov  else  b_t        (d_t = g_t when μ = 0)
        θ_t = θ_{t-1} − η d_t

    With μ = 0 this is the cheat sheet's w ← w − α ∂L/∂w.

    Parameters
    ----------
    params : iterable of Tensor, optional
        Parameters to update (or ``bind`` them later).
    learning_rate : float or schedule
        η, default 1e-3 (PyTorch's default).
    momentum : float
        μ >= 0, default 0.
    nesterov : bool
        Nesterov momentum (Sutskever et al. 2013); needs momentum > 0 and dampening 0.
    dampening : float
        τ, PyTorch's dampening of the gradient in the buffer, default 0.
    weight_decay, clipnorm, clipvalue, global_clipnorm, name
        See ``Optimizer``.

    Shape
    -----
    State per parameter: ``momentum_buffer`` of the parameter's shape (when μ > 0).

    Examples
    --------
    >>> import deepsheet as ds
    >>> w = ds.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = ds.optimizers.SGD([w], learning_rate=0.1, momentum=0.9)
    >>> (w * w).sum().backward(); opt.step(); opt.zero_grad()
    >>> w
    tensor([ 0.8, -1.6], requires_grad=True)
    """

    _blockwise = True  # elementwise, in place: may run in blocks on several threads
    _config_keys = ("momentum", "nesterov", "dampening")

    def __init__(self, params=None, learning_rate=1e-3, momentum=0.0, nesterov=False,
                 dampening=0.0, weight_decay=0.0, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None):
        super().__init__(params, learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name)
        self.momentum = check_hyper("SGD", "momentum", momentum)
        self.dampening = check_hyper("SGD", "dampening", dampening, high=1.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={momentum!r}, dampening={dampening!r}")

    def _buffer_names(self):
        return ("momentum_buffer",) if self.momentum else ()

    def _init_state(self, p):
        return {}  # the momentum buffer starts as the first gradient (torch.optim)

    def _update(self, p, g, state, lr, xp, scratch):
        wd_buf, tmp = scratch
        d = self._grad_with_decay(p, g, wd_buf)
        mu = self.momentum
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = d.copy()
            else:  # b ← μ b + (1 − dampening) d: one pass where BLAS has axpby
                axpby(1.0 - self.dampening, d, mu, buf, tmp)
            if self.nesterov:
                xp.multiply(buf, mu, out=tmp)
                tmp += d
                d = tmp
            else:
                d = buf
        axpby(-lr, d, 1.0, p, tmp)  # θ ← θ − η d
