"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""
from __future__ import annotations

import math

from ._axpby import axpby, lerp
from .base import Optimizer, check_hyper


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Alg. 1): torch.optim.Adam's rule and defaults, Keras's names.

    Formula (torch.optim.Adam; moments start at zero, t counts this parameter's updates)::

        g_t = ∇θ L + λ θ_{t-1}                              (weight_decay λ, L2 form)
        m_t = β₁ m_{t-1} + (1 − β₁) g_t
        v_t = β₂ v_{t-1} + (1 − β₂) g_t²
        amsgrad:  v̂_t = max(v̂_{t-1}, v_t)                  (else v̂_t = v_t)
        θ_t = θ_{t-1} − η / (1 − β₁ᵗ) · m_t / (√v̂_t / √(1 − β₂ᵗ) + ε)

    ε sits outside the root and after the bias correction, as in PyTorch.

    Parameters
    ----------
    params : iterable of Tensor, optional
    learning_rate : float or schedule
        η, default 1e-3.
    beta_1, beta_2 : float
        β₁, β₂ in [0, 1), defaults 0.9 and 0.999.
    epsilon : float
        ε, default 1e-8 (PyTorch's; Keras uses 1e-7).
    amsgrad : bool
        Use the running maximum of v (Reddi et al. 2018).
    weight_decay, clipnorm, clipvalue, global_clipnorm, name
        See ``Optimizer``.

    Shape
    -----
    State per parameter, each of the parameter's shape: ``exp_avg`` (m), ``exp_avg_sq``
    (v), ``max_exp_avg_sq`` (v̂, with amsgrad).

    Examples
    --------
    >>> import deepsheet as ds
    >>> w = ds.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = ds.optimizers.Adam([w], learning_rate=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([ 0.9, -1.9], requires_grad=True)
    """

    _blockwise = True  # elementwise, in place: may run in blocks on several threads
    _config_keys = ("beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(self, params=None, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 amsgrad=False, weight_decay=0.0, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None):
        super().__init__(params, learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name)
        owner = type(self).__name__
        self.beta_1 = check_hyper(owner, "beta_1", beta_1, high=1.0, high_open=True)
        self.beta_2 = check_hyper(owner, "beta_2", beta_2, high=1.0, high_open=True)
        self.epsilon = check_hyper(owner, "epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    def _buffer_names(self):
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.amsgrad else ())

    def _update(self, p, g, state, lr, xp, scratch):
        wd_buf, tmp = scratch
        if self._decoupled_weight_decay and self.weight_decay:
            p *= 1.0 - lr * self.weight_decay
        g = self._grad_with_decay(p, g, wd_buf)
        b1, b2 = self.beta_1, self.beta_2
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # m ← β₁ m + (1 − β₁) g (torch's m.lerp_(g, 1 − β₁)) and v ← β₂ v + (1 − β₂) g²:
        # one pass each where NumPy's BLAS has axpby, else three and four NumPy calls.
        lerp(m, g, 1.0 - b1, tmp)
        xp.multiply(g, g, out=tmp)
        axpby(1.0 - b2, tmp, b2, v, tmp)
        t = state["step"]
        step_size = lr / (1.0 - b1 ** t)
        bias2_sqrt = math.sqrt(1.0 - b2 ** t)
        if self.amsgrad:
            vmax = state["max_exp_avg_sq"]
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        # η/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε) with √(1−β₂ᵗ) moved into the two scalars: the
        # same value up to rounding, one pass over the parameters fewer.
        xp.sqrt(v, out=tmp)
        tmp += self.epsilon * bias2_sqrt
        xp.divide(m, tmp, out=tmp)
        axpby(-step_size * bias2_sqrt, tmp, 1.0, p, tmp)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): torch.optim.AdamW.

    Formula (torch.optim.AdamW)::

        θ'  = θ_{t-1} · (1 − η λ)                           (decay the weights, not g)
        m_t, v_t, v̂_t as in Adam with g_t = ∇θ L
        θ_t = θ' − η / (1 − β₁ᵗ) · m_t / (√v̂_t / √(1 − β₂ᵗ) + ε)

    Parameters
    ----------
    As ``Adam``; ``weight_decay`` λ defaults to 1e-2 (PyTorch's; Keras uses 0.004).

    Examples
    --------
    >>> import deepsheet as ds
    >>> w = ds.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = ds.optimizers.AdamW([w], learning_rate=0.1, weight_decay=0.5)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([ 0.85, -1.8 ], requires_grad=True)
    """

    _decoupled_weight_decay = True

    def __init__(self, params=None, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 amsgrad=False, weight_decay=1e-2, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None):
        super().__init__(params, learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name)
