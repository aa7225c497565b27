"""RMSprop: divide the gradient by a running root mean square of recent gradients."""
from __future__ import annotations

from ._axpby import axpby, lerp
from .base import Optimizer, check_hyper


class RMSprop(Optimizer):
    """RMSprop (Hinton, lecture 6e): torch.optim.RMSprop's rule and defaults, Keras's names.

    Formula (torch.optim.RMSprop; all state starts at zero)::

        g_t = ∇θ L + λ θ_{t-1}                          (weight_decay λ)
        v_t = ρ v_{t-1} + (1 − ρ) g_t²
        centered:  ḡ_t = ρ ḡ_{t-1} + (1 − ρ) g_t,   v'_t = v_t − ḡ_t²   (else v'_t = v_t)
        u_t = g_t / (√v'_t + ε)                         (ε outside the root)
        momentum μ > 0:  b_t = μ b_{t-1} + u_t,  θ_t = θ_{t-1} − η b_t
        otherwise:       θ_t = θ_{t-1} − η u_t

    Parameters
    ----------
    params : iterable of Tensor, optional
    learning_rate : float or schedule
        η, default 1e-2 (PyTorch's default).
    rho : float
        ρ, the decay of the running averages (PyTorch's ``alpha``), default 0.99.
    momentum : float
        μ, default 0.
    epsilon : float
        ε, default 1e-8 (PyTorch's).
    centered : bool
        Normalize by an estimate of the gradient's variance instead of its raw second
        moment (Graves 2013).
    weight_decay, clipnorm, clipvalue, global_clipnorm, name
        See ``Optimizer``.

    Shape
    -----
    State per parameter, each of the parameter's shape: ``square_avg`` (v),
    ``momentum_buffer`` (b, when μ > 0), ``grad_avg`` (ḡ, when centered).

    Examples
    --------
    >>> import deepsheet as ds
    >>> w = ds.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = ds.optimizers.RMSprop([w], learning_rate=0.01, centered=True)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.dtype
    dtype('float32')
    """

    _blockwise = True  # elementwise, in place: may run in blocks on several threads
    _config_keys = ("rho", "momentum", "epsilon", "centered")

    def __init__(self, params=None, learning_rate=1e-2, rho=0.99, momentum=0.0, epsilon=1e-8,
                 centered=False, weight_decay=0.0, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None):
        super().__init__(params, learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name)
        self.rho = check_hyper("RMSprop", "rho", rho, high=1.0)
        self.momentum = check_hyper("RMSprop", "momentum", momentum)
        self.epsilon = check_hyper("RMSprop", "epsilon", epsilon)
        self.centered = bool(centered)

    def _buffer_names(self):
        names = ("square_avg",)
        if self.momentum:
            names += ("momentum_buffer",)
        if self.centered:
            names += ("grad_avg",)
        return names

    def _update(self, p, g, state, lr, xp, scratch):
        wd_buf, tmp = scratch
        g = self._grad_with_decay(p, g, wd_buf)
        rho = self.rho
        v = state["square_avg"]
        # v ← ρ v + (1 − ρ) g² and ḡ ← ḡ + (1 − ρ)(g − ḡ): one pass each where BLAS has axpby
        xp.multiply(g, g, out=tmp)
        axpby(1.0 - rho, tmp, rho, v, tmp)
        if self.centered:
            ga = state["grad_avg"]
            lerp(ga, g, 1.0 - rho, tmp)
            xp.multiply(ga, ga, out=tmp)
            xp.subtract(v, tmp, out=tmp)
            # v − ḡ² >= 0 in exact arithmetic; rounding may dip below 0 and sqrt would give NaN.
            xp.maximum(tmp, 0.0, out=tmp)
            xp.sqrt(tmp, out=tmp)
        else:
            xp.sqrt(v, out=tmp)
        tmp += self.epsilon
        xp.divide(g, tmp, out=tmp)
        if self.momentum:
            buf = state["momentum_buffer"]
            axpby(1.0, tmp, self.momentum, buf, tmp)  # b ← μ b + g / (√v + ε)
            axpby(-lr, buf, 1.0, p, tmp)              # θ ← θ − η b
        else:
            axpby(-lr, tmp, 1.0, p, tmp)              # θ ← θ − η g / (√v + ε)
