"""How a layer call reaches ``call``: the signature of each class's ``call``, read once.

Keras 3's rule: ``layer(*args, **kwargs)`` passes its arguments through to
``call(inputs, ..., training=None, mask=None, **kwargs)``; the layer passes ``training``
and ``mask`` only when ``call`` declares them, so ``def call(self, inputs)`` is a valid
layer. A keyword that ``call`` does not take is an error naming the layer.

``training`` not given by the caller comes from the enclosing layer call (Keras's call
context): a subclassed model's ``call`` that runs ``self.dropout(x)`` without
``training=`` still drops out while ``fit`` trains it.
"""
from __future__ import annotations

import inspect

# The training flag of the layer call under way (None outside any call). A one-item list,
# so reading it is one index on the fast path.
CALL_TRAINING = [None]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class CallSpec:
    """What ``cls.call`` accepts (read once per class, when the class is created).

    Attributes
    ----------
    training, mask : bool
        ``call`` declares a ``training`` / ``mask`` parameter (or takes ``**kwargs``).
    keywords : frozenset
        Names ``call`` accepts as keywords (besides ``training`` and ``mask``).
    var_keywords : bool
        ``call`` takes ``**kwargs``: any keyword is passed through.
    first : str or None
        Name of ``call``'s first parameter (Keras 3's inputs): ``mha(query=x, value=y)``
        passes ``query`` as the inputs.
    build_args : tuple of str
        Parameter names of ``build`` after ``self``: more than one means Keras 3's
        ``build(query_shape, value_shape, ...)``, one shape per call argument.
    """

    __slots__ = ("training", "mask", "keywords", "var_keywords", "build_args", "base_mask",
                 "first")

    def __init__(self, cls):
        params = list(inspect.signature(cls.call).parameters.values())[1:]  # self
        kinds = {p.kind for p in params}
        self.var_keywords = inspect.Parameter.VAR_KEYWORD in kinds
        names = {p.name for p in params
                 if p.kind in _POSITIONAL or p.kind == inspect.Parameter.KEYWORD_ONLY}
        self.first = params[0].name if params and params[0].kind in _POSITIONAL else None
        self.training = "training" in names
        self.mask = "mask" in names
        self.keywords = frozenset(names - {"training", "mask"})
        try:
            build = list(inspect.signature(cls.build).parameters.values())[1:]
        except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
            build = []
        self.build_args = tuple(p.name for p in build if p.kind in _POSITIONAL)
        from .base import Layer
        # With the base compute_mask, a call without an input mask makes no output mask
        # (supports_masking only passes masks through), so the fast path skips mask work.
        self.base_mask = getattr(cls, "compute_mask", None) is getattr(Layer, "compute_mask", 0)


def check_keywords(layer, kwargs):
    """Raise a TypeError naming ``layer`` for keywords its ``call`` does not take."""
    spec = type(layer)._call_spec
    if spec.var_keywords:
        return
    bad = sorted(k for k in kwargs if k not in spec.keywords)
    if bad:
        takes = sorted(spec.keywords | {k for k, on in (("training", spec.training),
                                                          ("mask", spec.mask)) if on})
        raise TypeError(f"layer '{layer.name}' ({type(layer).__name__}) got unexpected keyword "
                        f"argument(s) {bad}: its call() takes {takes or 'no keywords'}")


def shape_of(x):
    """The shape of a call argument for ``build`` (lists give lists of shapes, None stays)."""
    if isinstance(x, (list, tuple)):
        return [shape_of(v) for v in x]
    shape = getattr(x, "shape", None)
    return None if shape is None else tuple(shape)


def build_shapes(layer, args, kwargs):
    """``(args, kwargs)`` for ``layer.build``: the first argument's shape, or, when ``build``
    names several shapes (``build(query_shape, value_shape, key_shape=None)``), one per
    positional argument and per keyword argument named ``<name>_shape``."""
    names = type(layer)._call_spec.build_args
    if len(names) <= 1:
        return (shape_of(args[0]),), {}
    shapes = [shape_of(a) for a in args[:len(names)]]
    extra = {}
    for name in names[len(shapes):]:
        key = name[:-len("_shape")] if name.endswith("_shape") else name
        if key in kwargs:
            extra[name] = shape_of(kwargs[key])
    return tuple(shapes), extra
