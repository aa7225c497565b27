"""Argument checks shared by the optimizers (not public): hyperparameters, Keras's and PyTorch's
ways of passing the learning rate."""
from __future__ import annotations

import functools
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


def keras_or_torch_arguments(init):
    """Wrap an optimizer's ``__init__`` so that a number first is the learning rate (Keras's
    ``Adam(1e-3)``) and ``lr`` is an alias of ``learning_rate`` (PyTorch's name)."""
    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        owner = type(self).__name__
        if "lr" in kwargs:
            if "learning_rate" in kwargs:
                raise ValueError(f"{owner}: give lr= or learning_rate=, not both")
            kwargs["learning_rate"] = kwargs.pop("lr")
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
