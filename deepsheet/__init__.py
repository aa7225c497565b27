"""deepsheet: the deep-learning cheat sheet made executable, on NumPy (and CuPy on a GPU).

Low level like PyTorch (``tensor``, ``.backward()``, ``.grad``, ``functional``), high level
like Keras (``Sequential``, ``Model``, ``compile``/``fit``), metrics and scalers like
scikit-learn. Submodules load on first use so ``import deepsheet`` stays fast.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .backend import (get_default_device, get_default_dtype, manual_seed,  # noqa: E402
                      set_default_device, set_default_dtype)
from .parallel import get_num_threads, set_num_threads  # noqa: E402
from .tensor import Tensor, is_tensor, tensor  # noqa: E402
from .autograd import enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from .factories import *  # noqa: E402,F401,F403  (zeros, ones, randn, arange, ...)
from .factories import __all__ as _FACTORIES  # noqa: E402
from . import backend, functional, parallel  # noqa: E402,F401
from .functional import cat, concatenate, stack  # noqa: E402  (torch.cat / numpy.stack at the top)

_SUBMODULES = {
    "autograd", "init", "layers", "models", "losses", "optimizers", "regularizers", "callbacks",
    "metrics", "preprocessing", "data", "datasets", "applications", "diagnostics", "testing",
    "plot", "cli", "saving", "recipes", "rl", "utils", "distributed", "ops", "random",
    "checkpoint",
    "text",  # attention issue
    "gan",
}
# Public names that live in submodules, loaded when first touched.
_LAZY = {
    "Input": "layers",
    "Model": "models",
    "Sequential": "models",
    "load_model": "models",
}

__all__ = ["Tensor", "tensor", "is_tensor", "no_grad", "enable_grad", "is_grad_enabled", "grad",
           "set_grad_enabled", "manual_seed", "get_default_device", "set_default_device",
           "get_default_dtype", "set_default_dtype", "get_num_threads", "set_num_threads",
           "functional", "backend", "parallel", "cat", "concatenate", "stack", *_FACTORIES, *_LAZY,
           *sorted(_SUBMODULES)]


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'deepsheet' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | set(_LAZY))
