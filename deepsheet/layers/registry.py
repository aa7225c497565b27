"""The one registry of layer classes, Keras-style (de)serialization, and automatic names.

Every concrete ``Layer`` subclass is registered by class name; ``serialize`` /
``deserialize`` turn a layer into ``{"class_name": ..., "config": {...}}`` and back through
this registry (the model loader uses the same), rejecting unknown classes and keys.
"""
from __future__ import annotations

import re

_REGISTRY: dict[str, type] = {}
_NAME_COUNTS: dict[str, int] = {}


def register(cls):
    """Add ``cls`` to the registry under its class name (done automatically for subclasses)."""
    _REGISTRY[cls.__name__] = cls
    return cls


def registered():
    """Names of all registered layer classes."""
    return sorted(_REGISTRY)


def get_class(class_name):
    try:
        return _REGISTRY[class_name]
    except KeyError:
        raise ValueError(f"unknown layer class {class_name!r}; known classes: "
                         f"{', '.join(registered())}") from None


def serialize(layer):
    """``{"class_name": ..., "config": ...}`` for ``layer`` (JSON-able)."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(spec):
    """Rebuild a layer from ``serialize``'s output; unknown classes or config keys are refused."""
    if not isinstance(spec, dict) or set(spec) - {"class_name", "config", "module",
                                                  "registered_name", "build_config"}:
        raise ValueError(f"a layer spec must be {{'class_name': ..., 'config': ...}}, got {spec!r}")
    cls = get_class(spec.get("class_name"))
    return cls.from_config(dict(spec.get("config") or {}))


def _snake(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    # Keras's rule: no underscore after a digit (Conv2D -> conv2d, Conv2DTranspose -> conv2d_transpose).
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(prefix):
    """``prefix``, ``prefix_1``, ``prefix_2``, ... as Keras names layers."""
    n = _NAME_COUNTS.get(prefix, 0)
    _NAME_COUNTS[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset_names():
    """Forget the automatic name counters (Keras's ``clear_session`` for names)."""
    _NAME_COUNTS.clear()
