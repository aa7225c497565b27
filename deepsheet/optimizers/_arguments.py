"""Argument checks shared by the optimizers (not public): hyperparameters, Keras's and PyTorch's
ways of passing the learning rate."""
from __future__ import annotations

import functools
import inspect
import math
import numbers

__all__ = ["check_hyper", "keras_or_torch_arguments"]


def _is_number(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_hyper(owner, name, value, low=0.0, high=None, high_open=False, optional=False):
    """``value`` as a Python float, or a ValueError naming ``owner`` and ``name``.

    Python floats keep float32 arrays float32 (a NumPy float64 scalar would upcast them
    under NumPy 2), so every hyperparameter is stored as ``float``.
    """
    if value is None and optional:
        return None
    if high is None:
        interval = f"[{low}, inf)"
    else:
        interval = f"[{low}, {high}{')' if high_open else ']'}"
    ok = _is_number(value) and math.isfinite(value) and value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        what = "None or a number" if optional else "a number"
        raise ValueError(f"{owner}: {name} must be {what} in {interval}, got {value!r}")
    return float(value)


# PyTorch's names of hyperparameters that Keras names otherwise (torch.optim -> ours).
_TORCH_NAMES = {"lr": "learning_rate", "eps": "epsilon", "alpha": "rho"}


def keras_or_torch_arguments(init):
    """Wrap an optimizer's ``__init__`` so that a number first is the learning rate (Keras's
    ``Adam(1e-3)``) and PyTorch's names work: ``lr``, ``eps``, ``alpha`` (RMSprop's ρ) and
    ``betas=(β₁, β₂)`` for ``learning_rate``, ``epsilon``, ``rho``, ``beta_1`` and ``beta_2``."""
    names = set(inspect.signature(init).parameters)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        owner = type(self).__name__
        for torch_name, ours in _TORCH_NAMES.items():
            if torch_name in kwargs and ours in names | {"learning_rate"}:
                if ours in kwargs:
                    raise ValueError(f"{owner}: give {torch_name}= or {ours}=, not both")
                kwargs[ours] = kwargs.pop(torch_name)
        if "betas" in kwargs and "beta_1" in names:
            betas = kwargs.pop("betas")
            if "beta_1" in kwargs or "beta_2" in kwargs:
                raise ValueError(f"{owner}: give betas= or beta_1=/beta_2=, not both")
            if not isinstance(betas, (tuple, list)) or len(betas) != 2:
                raise ValueError(f"{owner}: betas must be a pair (beta_1, beta_2), got "
                                 f"{betas!r}")
            kwargs["beta_1"], kwargs["beta_2"] = betas
        if args and _is_number(args[0]) and not isinstance(args[0], bool):
            if "learning_rate" in kwargs or len(args) > 1:
                given = kwargs.get("learning_rate", args[1] if len(args) > 1 else None)
                raise ValueError(f"{owner}: the learning rate was given twice, as the number "
                                 f"{args[0]!r} first and as learning_rate={given!r}; the first "
                                 "argument is the parameters or the learning rate, not both")
            kwargs["learning_rate"] = args[0]
            args = (None,)
        init(self, *args, **kwargs)
    return wrapper
