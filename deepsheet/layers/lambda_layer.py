"""Keras's ``Lambda`` layer: a function of tensors as a layer, for the one-line steps of a
functional model (``Lambda(lambda t: t * 2)``)."""
from __future__ import annotations

import inspect

from .base import Layer

__all__ = ["Lambda"]


class Lambda(Layer):
    """Wraps ``function`` as a layer: y = function(x, **arguments) (Keras's ``Lambda``).

    The function works on Tensors (``deepsheet.ops`` / ``functional``), so gradients flow
    through it; it holds no weights. A model with a ``Lambda`` trains, predicts and saves
    its weights (``save_weights``), but ``save()`` refuses it: a function cannot be written
    into a config without pickling code, which loading never does. Write a ``Layer``
    subclass with ``get_config`` for a model you want to save whole.

    Parameters
    ----------
    function : callable
        ``function(inputs)``, or ``function(inputs, mask=...)`` when it takes ``mask``.
    output_shape : tuple, optional
        Accepted for Keras compatibility; shapes come from running the function.
    mask : callable or array, optional
        The output mask: ``mask(inputs, input_mask)`` or a fixed mask; default None (no
        mask passes through a Lambda, as in Keras).
    arguments : dict, optional
        Extra keyword arguments for ``function``.

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> ds.layers.Lambda(lambda t: t * 2)(np.ones((1, 2), np.float32)).numpy().tolist()
    [[2.0, 2.0]]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda '{self.name}': function must be callable, got "
                            f"{type(function).__name__}")
        self.function = function
        self.output_shape_arg = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
            params = {}
        self._takes_mask = "mask" in params

    def call(self, inputs, mask=None):
        kwargs = dict(self.arguments)
        if self._takes_mask:
            kwargs["mask"] = mask
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self):
        raise NotImplementedError(
            f"Lambda layer '{self.name}' wraps a Python function, which a config cannot hold "
            "without pickling code; replace it with a Layer subclass that has get_config")
