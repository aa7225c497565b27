"""Loss functions J(y, ŷ): how far the predictions are from the targets.

Every loss is called ``(y_true, y_pred)`` as in Keras and is ONE graph node: the per-sample
loss, the sample weights and the reduction are fused, so the gradient reaching the logits of
a softmax classifier is exactly (p − y)/m, computed in one pass.

Per-sample losses follow Keras: the mean over the last axis for the regression losses and
binary cross-entropy, the sum over the class axis for categorical cross-entropy. By default
the functions return these per-sample values (``reduction="none"``, Keras's functions);
``reduction="sum_over_batch_size"`` gives their weighted mean Σ wᵢ·Lᵢ / m over the m
per-sample losses (masked ones not counted) and ``"sum"`` the weighted sum. The classes in
``deepsheet.losses`` reduce with ``"sum_over_batch_size"`` by default.

Probabilities are clipped to [EPSILON, 1 − EPSILON] (Keras's 1e-7) before any log, so a
probability loss is never log(0). With ``from_logits=True`` the stable logits forms are used;
they are also used automatically when ``y_pred`` is the output of ``sigmoid`` (binary) or
``softmax`` (categorical, same axis): those record their input (see
``functional.activations.logits_of``) and the loss then runs on it, as Keras does, so the
gradient is the exact logits gradient even when the probabilities round to 0 or 1.
"""
from __future__ import annotations

from ._inputs import (EPSILON, REDUCTIONS, check_delta, check_label_smoothing,  # noqa: F401
                      check_reduction)
from .crossentropy import *  # noqa: F401,F403
from .crossentropy import __all__ as _ce_all
from .reduction import *  # noqa: F401,F403
from .reduction import __all__ as _red_all
from .regression import *  # noqa: F401,F403
from .regression import __all__ as _reg_all
from .pytorch import *  # noqa: F401,F403  (cross_entropy, nll_loss, mse_loss, ...: PyTorch's order)
from .pytorch import __all__ as _torch_all

__all__ = [*_reg_all, *_ce_all, *_red_all, *_torch_all]
