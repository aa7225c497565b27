"""Loss classes (Keras's): a configured loss, called ``loss(y_true, y_pred, sample_weight=None)``.

Each class wraps one fused function of ``deepsheet.functional.losses`` (same formula, same
gradient) and reduces with ``reduction``:

* ``"sum_over_batch_size"`` (default): Σ wᵢ·Lᵢ / m, m the number of per-sample losses
  (masked entries, e.g. ``ignore_class``, are not counted; zero weights are);
* ``"sum"``: Σ wᵢ·Lᵢ;
* ``"none"``: the weighted per-sample losses wᵢ·Lᵢ.

``get`` turns the strings of ``model.compile(loss="...")`` into instances; ``serialize`` /
``deserialize`` (and each class's ``get_config`` / ``from_config``) give the JSON form that
saved models store.

Examples
--------
>>> import deepsheet as ds
>>> loss = ds.losses.SparseCategoricalCrossentropy(from_logits=True)
>>> loss([1, 0], [[0.0, 0.0], [0.0, 0.0]]).item()
0.6931471824645996
"""
from __future__ import annotations

import numpy as np

from . import backend
from ._registry import Configurable
from .functional import losses as _fl
from .functional.losses import (binary_crossentropy, categorical_crossentropy, huber,  # noqa: F401
                                mae, mean_absolute_error, mean_squared_error, mse,
                                reduce_loss, sparse_categorical_crossentropy)

__all__ = ["Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "Huber",
           "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "get", "serialize", "deserialize", "mean_squared_error", "mse", "mean_absolute_error",
           "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "reduce_loss"]


def mask_weights(mask, sample_weight=None, reduction="sum_over_batch_size"):
    """Keras's masked loss as sample weights: masked steps weigh 0; for the mean the others
    weigh ``total / valid``, so Σ wᵢₜ·Lᵢₜ / (N·T) is the mean over the real steps only.
    Per-sample weights (N,) extend over time.

    Examples
    --------
    >>> import numpy as np
    >>> mask_weights(np.array([[True, True, False, False]])).tolist()
    [[2.0, 2.0, 0.0, 0.0]]
    """
    xp = backend.array_module(mask)
    m = xp.asarray(mask).astype(np.float32)
    if reduction == "sum_over_batch_size":
        valid = int(xp.count_nonzero(m))
        m *= (m.size / valid) if valid else 0.0
    if sample_weight is not None:
        sw = xp.asarray(sample_weight.data if hasattr(sample_weight, "requires_grad")
                        else sample_weight)
        if sw.ndim < m.ndim:
            sw = sw.reshape(sw.shape + (1,) * (m.ndim - sw.ndim))
        m = m * sw
    return m


class Loss(Configurable):
    """Base of the loss classes.

    Subclass it with ``call(y_true, y_pred)`` returning per-sample losses to write a custom
    loss: ``__call__`` then applies ``sample_weight`` and ``reduction``. The built-in
    subclasses instead hand everything to their fused function (``fn``), one graph node.

    Parameters
    ----------
    reduction : {"sum_over_batch_size", "sum", "none"}
    name : str, optional
    """

    fn = None            # the fused functional loss (a staticmethod), None for custom losses
    from_logits = False
    default_name = "loss"

    def __init__(self, reduction="sum_over_batch_size", name=None):
        self.reduction = _fl.check_reduction(type(self).__name__, reduction)
        self.name = name if name is not None else self.default_name

    def _fn_kwargs(self):
        """Keyword arguments of ``fn`` (also the class-specific part of the config)."""
        return {}

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The reduced loss (a 0-d Tensor unless ``reduction="none"``).

        Steps masked by ``y_pred._keras_mask`` (boolean (batch, time)) take no part: their
        weight is 0 and the mean is over the real steps (Keras's rule).
        """
        mask = getattr(y_pred, "_keras_mask", None)
        if mask is not None:
            sample_weight = mask_weights(mask, sample_weight, self.reduction)
        if self.fn is not None:
            return self.fn(y_true, y_pred, sample_weight=sample_weight, reduction=self.reduction,
                           **self._fn_kwargs())
        return reduce_loss(self.call(y_true, y_pred), sample_weight=sample_weight,
                           reduction=self.reduction)

    def call(self, y_true, y_pred):
        """Per-sample losses, unweighted and unreduced."""
        if self.fn is None:
            raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")
        return self.fn(y_true, y_pred, reduction="none", **self._fn_kwargs())

    def get_config(self):
        """JSON-able constructor arguments: ``type(self)(**loss.get_config())`` rebuilds it."""
        return {"name": self.name, "reduction": self.reduction, **self._fn_kwargs()}

    @classmethod
    def from_config(cls, config):
        try:
            return cls(**config)
        except TypeError as err:
            raise ValueError(f"{cls.__name__}: bad config {config!r} ({err})") from None


class MeanSquaredError(Loss):
    """Mean squared error: mean over the last axis of (ŷ − y)², then the weighted batch mean.

    Formula
    -------
    J = (1/m) Σᵢ wᵢ (1/d) Σⱼ (ŷᵢⱼ − yᵢⱼ)²           dJ/dŷ = 2 w (ŷ − y) / (m d)
    half=True (the cheat sheet's J = 1/(2m) Σ (ŷ − y)²):   dJ/dŷ = w (ŷ − y) / (m d)

    Parameters
    ----------
    reduction : {"sum_over_batch_size", "sum", "none"}
    name : str
    half : bool
        Multiply by 1/2, the 1/(2m) form of the sheet (not in Keras).

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.losses.MeanSquaredError()([[0.0], [0.0]], [[1.0], [3.0]]).item()
    5.0
    >>> ds.losses.MeanSquaredError(half=True)([[0.0], [0.0]], [[1.0], [3.0]]).item()
    2.5
    """

    fn = staticmethod(mean_squared_error)
    default_name = "mean_squared_error"

    def __init__(self, reduction="sum_over_batch_size", name=None, half=False):
        super().__init__(reduction, name)
        if not isinstance(half, bool):
            raise ValueError(f"MeanSquaredError: half must be True or False, got {half!r}")
        self.half = half

    def _fn_kwargs(self):
        return {"half": self.half}


class MeanAbsoluteError(Loss):
    """Mean absolute error: mean over the last axis of |ŷ − y|, then the weighted batch mean.

    Formula
    -------
    J = (1/m) Σᵢ wᵢ (1/d) Σⱼ |ŷᵢⱼ − yᵢⱼ|            dJ/dŷ = w sign(ŷ − y) / (m d)

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.losses.MeanAbsoluteError()([[0.0], [0.0]], [[1.0], [-3.0]]).item()
    2.0
    """

    fn = staticmethod(mean_absolute_error)
    default_name = "mean_absolute_error"


class Huber(Loss):
    """Huber loss: squared error below ``delta``, absolute error above it.

    Formula
    -------
    e = ŷ − y;  ℓ(e) = e²/2 if |e| <= delta else delta (|e| − delta/2)
    J = (1/m) Σᵢ wᵢ (1/d) Σⱼ ℓ(eᵢⱼ)                 dJ/dŷ = w clip(e, −delta, delta) / (m d)

    Parameters
    ----------
    delta : float > 0
    reduction, name : see ``Loss``

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.losses.Huber(delta=1.0)([[0.0], [0.0]], [[0.5], [3.0]]).item()
    1.3125
    """

    fn = staticmethod(huber)
    default_name = "huber_loss"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        self.delta = _fl.check_delta("Huber", delta)

    def _fn_kwargs(self):
        return {"delta": self.delta}


def _check_flag(where, what, value):
    if not isinstance(value, bool):
        raise ValueError(f"{where}: {what} must be True or False, got {value!r}")
    return value


def _check_axis(where, axis):
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"{where}: axis must be an int, got {axis!r}")
    return axis


class BinaryCrossentropy(Loss):
    """Binary cross-entropy for 0/1 (or soft) targets, per sample the mean over ``axis``.

    Formula
    -------
    probabilities p, clipped to [1e-7, 1 − 1e-7]:   L = −mean_j [y log p + (1 − y) log(1 − p)]
    logits z (from_logits=True, or y_pred = sigmoid(z)):
        L = mean_j [max(z, 0) − z y + log(1 + exp(−|z|))],   dL/dz = (σ(z) − y) / d
    label smoothing ε: y ← y (1 − ε) + ε/2.

    Parameters
    ----------
    from_logits : bool
        Whether y_pred holds logits. A ``sigmoid`` output is recognised either way.
    label_smoothing : float in [0, 1]
    axis : int
    reduction, name : see ``Loss``

    Examples
    --------
    >>> import deepsheet as ds
    >>> round(ds.losses.BinaryCrossentropy()([[1.0], [0.0]], [[0.9], [0.2]]).item(), 4)
    0.1643
    """

    fn = staticmethod(binary_crossentropy)
    default_name = "binary_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        self.from_logits = _check_flag("BinaryCrossentropy", "from_logits", from_logits)
        self.label_smoothing = _fl.check_label_smoothing("BinaryCrossentropy", label_smoothing)
        self.axis = _check_axis("BinaryCrossentropy", axis)

    def _fn_kwargs(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis}


class CategoricalCrossentropy(Loss):
    """Cross-entropy for one-hot (or soft) targets over the class ``axis``.

    Formula
    -------
    probabilities p (rows rescaled to sum 1, clipped):   L = −Σ_c y_c log p_c
    logits z (from_logits=True, or y_pred = softmax(z)), one fused node:
        L = Σ_c y_c (logsumexp(z) − z_c),   dJ/dz = (softmax(z) − y) / m for one-hot rows
    label smoothing ε: y ← y (1 − ε) + ε / C.

    Parameters
    ----------
    from_logits : bool
        Whether y_pred holds logits. A ``softmax`` output (same axis) is recognised either way.
    label_smoothing : float in [0, 1]
    axis : int
        The class axis.
    reduction, name : see ``Loss``

    Examples
    --------
    >>> import deepsheet as ds
    >>> round(ds.losses.CategoricalCrossentropy()([[0.0, 1.0]], [[0.5, 0.5]]).item(), 4)
    0.6931
    """

    fn = staticmethod(categorical_crossentropy)
    default_name = "categorical_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        self.from_logits = _check_flag("CategoricalCrossentropy", "from_logits", from_logits)
        self.label_smoothing = _fl.check_label_smoothing("CategoricalCrossentropy",
                                                         label_smoothing)
        self.axis = _check_axis("CategoricalCrossentropy", axis)

    def _fn_kwargs(self):
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis}


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy for integer class labels (no one-hot is built).

    Formula
    -------
    probabilities p (rows rescaled to sum 1, clipped):   L = −log p_y
    logits z (from_logits=True, or y_pred = softmax(z)), one fused node:
        L = logsumexp(z) − z_y,   dJ/dz = (softmax(z) − onehot(y)) / m

    Parameters
    ----------
    from_logits : bool
    ignore_class : int, optional
        A label (padding, say) whose entries get no loss and are not counted in m.
    axis : int
        The class axis of y_pred.
    reduction, name : see ``Loss``

    Examples
    --------
    >>> import deepsheet as ds
    >>> loss = ds.losses.SparseCategoricalCrossentropy(ignore_class=-1)
    >>> round(loss([1, -1], [[0.5, 0.5], [0.9, 0.1]]).item(), 4)
    0.6931
    """

    fn = staticmethod(sparse_categorical_crossentropy)
    default_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        self.from_logits = _check_flag("SparseCategoricalCrossentropy", "from_logits", from_logits)
        if ignore_class is not None and (isinstance(ignore_class, bool)
                                         or not isinstance(ignore_class, int)):
            raise ValueError(f"SparseCategoricalCrossentropy: ignore_class must be an int or "
                             f"None, got {ignore_class!r}")
        self.ignore_class = ignore_class
        self.axis = _check_axis("SparseCategoricalCrossentropy", axis)

    def _fn_kwargs(self):
        return {"from_logits": self.from_logits, "ignore_class": self.ignore_class,
                "axis": self.axis}


_FUNCTIONS = {
    "mean_squared_error": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "huber": huber,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}


class LossFunctionWrapper(Loss):
    """A loss class around any function ``fn(y_true, y_pred, **kwargs)`` of per-sample losses.

    ``sample_weight`` and ``reduction`` are applied by ``reduce_loss`` (one more node).
    Only wrappers of this module's functions can be serialized.

    Examples
    --------
    >>> import deepsheet as ds
    >>> loss = ds.losses.LossFunctionWrapper(lambda y, p: ((p - y) * (p - y)).sum(axis=-1))
    >>> loss(ds.tensor([[0.0, 0.0]]), ds.tensor([[1.0, 2.0]])).item()
    5.0
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, **kwargs):
        if not callable(fn):
            raise ValueError(f"LossFunctionWrapper: fn must be callable, got {fn!r}")
        super().__init__(reduction, name if name is not None else getattr(fn, "__name__", "loss"))
        self._wrapped = fn
        self._kwargs = kwargs

    def call(self, y_true, y_pred):
        return self._wrapped(y_true, y_pred, **self._kwargs)

    def get_config(self):
        fn_name = next((k for k, f in _FUNCTIONS.items() if f is self._wrapped), None)
        if fn_name is None:
            raise ValueError(f"LossFunctionWrapper '{self.name}': a custom function cannot be "
                             "serialized; use a Loss subclass registered by the caller")
        return {"fn": fn_name, "name": self.name, "reduction": self.reduction, **self._kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = _FUNCTIONS.get(config.pop("fn", None))
        if fn is None:
            raise ValueError(f"LossFunctionWrapper: unknown fn in config {config!r}; known: "
                             f"{', '.join(sorted(_FUNCTIONS))}")
        return cls(fn, **config)


_CLASSES = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossentropy,
                                    CategoricalCrossentropy, SparseCategoricalCrossentropy,
                                    LossFunctionWrapper)}

_NAMES = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber,
    "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier):
    """A loss for ``compile(loss=...)``: Keras's strings become instances.

    Parameters
    ----------
    identifier : None, str, Loss, Loss subclass, dict or callable
        A string ("mse", "mean_squared_error", "mae", "mean_absolute_error", "huber",
        "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
        or a class name such as "MeanSquaredError") gives a default-configured instance; a
        ``Loss`` instance or any other callable is returned as it is (a plain function is
        expected to return per-sample losses, wrap it in ``LossFunctionWrapper`` to reduce);
        a ``Loss`` subclass is instantiated; a ``{"class_name", "config"}`` dict is
        deserialized; None gives None.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or another type.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.losses.get("mse")
    MeanSquaredError(name='mean_squared_error', reduction='sum_over_batch_size', half=False)
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier) or _CLASSES.get(identifier)
        if cls is None or cls is LossFunctionWrapper:
            raise ValueError(f"unknown loss {identifier!r}; valid names: "
                             f"{', '.join(sorted(_NAMES))} (or a class name: "
                             f"{', '.join(sorted(set(_CLASSES) - {'LossFunctionWrapper'}))})")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"loss must be a name ({', '.join(sorted(_NAMES))}), a Loss, a callable "
                     f"or a config dict, got {type(identifier).__name__}")


def serialize(loss):
    """``{"class_name": ..., "config": {...}}`` for a loss (JSON-able)."""
    if not isinstance(loss, Loss):
        raise ValueError(f"serialize: expected a Loss instance, got {type(loss).__name__}")
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config, custom_objects=None):
    """The loss described by ``serialize``'s dict; unknown classes or keys are rejected."""
    if not isinstance(config, dict) or set(config) - {"class_name", "config"} or \
            "class_name" not in config:
        raise ValueError(f"deserialize: expected {{'class_name': ..., 'config': {{...}}}}, "
                         f"got {config!r}")
    classes = dict(_CLASSES)
    classes.update(custom_objects or {})
    cls = classes.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown loss class {config['class_name']!r}; known: "
                         f"{', '.join(sorted(classes))}")
    return cls.from_config(config.get("config", {}))
