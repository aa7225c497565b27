"""Optimizers: SGD (momentum, Nesterov), Adagrad, RMSprop, Adam, AdamW; schedules; clipping.

Keras's argument names (``learning_rate``, ``beta_1``, ``epsilon``, ``rho``, ``momentum``,
``nesterov``) with PyTorch's ``torch.optim`` update rules and defaults. Two ways to use one::

    opt = Adam(model.trainable_weights, learning_rate=1e-3)   # hand-written loop
    loss.backward(); opt.step(); opt.zero_grad()

    model.compile(optimizer="adam")                           # unbound; the model binds it
    opt = Adam(learning_rate=1e-3); opt.bind(params)
"""
from __future__ import annotations

from . import schedules
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .base import Optimizer
from .clipping import clip_grad_norm, clip_grad_value
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "clip_grad_norm",
           "clip_grad_value", "schedules", "get", "serialize", "deserialize", "from_config"]

_BY_NAME = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}


def serialize(optimizer):
    """``{"class_name": "Adam", "config": optimizer.get_config()}`` (JSON-able)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"serialize expects an Optimizer, got {type(optimizer).__name__}")
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    """An unbound optimizer from ``serialize``'s output; unknown classes or keys are rejected."""
    if not isinstance(config, dict) or set(config) != {"class_name", "config"}:
        raise ValueError("an optimizer description is {'class_name': ..., 'config': ...}, "
                         f"got {config!r}")
    cls = _BY_CLASS.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown optimizer class {config['class_name']!r}; expected one of "
                         f"{', '.join(sorted(_BY_CLASS))}")
    return cls.from_config(config["config"])


from_config = deserialize


def get(identifier):
    """An optimizer from a Keras name ("adam", "sgd", ...), a description, or as is.

    Strings are case-insensitive and give an unbound optimizer with default arguments;
    instances pass through unchanged; dicts go through ``deserialize``.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; expected one of "
                             f"{', '.join(sorted(_BY_NAME))} or an Optimizer instance")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"optimizer must be a name ({', '.join(sorted(_BY_NAME))}), an Optimizer "
                    f"or a serialized description, got {type(identifier).__name__}")
