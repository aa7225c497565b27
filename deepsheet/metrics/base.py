"""Streaming metrics (Keras's ``keras.metrics``): state updated batch by batch, read at any time.

``fit`` and ``evaluate`` report a metric over a whole epoch without keeping the epoch's
predictions: each batch adds to a running total and count (``update_state``), ``result``
divides, ``reset_state`` starts over. A sample weight ``w_i`` turns the plain mean into the
weighted mean

    result = sum_i w_i * v_i / sum_i w_i

where ``v_i`` is the per-sample value (1/0 for a hit/miss, a squared error, ...).

Every concrete subclass registers under its snake-cased class name (and its aliases), so
``metrics.get("sparse_categorical_accuracy")`` or ``get("mse")`` find it; precision,
recall, AUC and F1 (``metrics/streaming.py``) join the same registry by subclassing.
"""
from __future__ import annotations

import re

import numpy as np

from .. import backend

__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "SparseCategoricalAccuracy",
           "CategoricalAccuracy", "BinaryAccuracy", "MeanSquaredError", "MeanAbsoluteError",
           "get", "serialize"]

_REGISTRY: dict[str, type] = {}


def _snake(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _array(x):
    """The backend array inside ``x`` (Tensors are unwrapped; lists become NumPy arrays)."""
    data = getattr(x, "data", None)
    if data is not None and hasattr(data, "shape") and hasattr(data, "dtype"):
        return data
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return x
    return np.asarray(x)


class Metric:
    """Base of streaming metrics: ``update_state`` per batch, ``result`` any time, ``reset_state``.

    Subclasses keep their running state in Python numbers (double precision on the host,
    so long epochs do not lose counts to float32 rounding) and implement the three methods.
    Calling a metric, ``m(y_true, y_pred)``, updates it and returns the result, as in Keras.

    Parameters
    ----------
    name : str, optional
        Key of the metric in ``fit``'s logs; defaults to the snake-cased class name.
    """

    aliases: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            for key in (_snake(cls.__name__),) + tuple(cls.aliases):
                _REGISTRY[key] = cls

    def __init__(self, name=None, dtype="float32"):
        self.name = name or _snake(type(self).__name__)
        self.dtype = str(np.dtype(dtype))
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.update_state")

    def result(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.result")

    def reset_state(self):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.reset_state")

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight=sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """The (weighted) running mean of the values passed to ``update_state``.

    Formula
    -------
    mean = sum_i w_i * v_i / sum_i w_i   (w_i = 1 without weights)

    Examples
    --------
    >>> m = Mean()
    >>> m.update_state([1.0, 2.0]); m.update_state([6.0])
    >>> m.result()
    3.0
    """

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        if type(values) is float and (sample_weight is None or type(sample_weight) is int):
            # A loss tracker's batch loss weighted by the batch size: plain arithmetic.
            w = 1 if sample_weight is None else sample_weight
            self.total += values * w
            self.count += w
            return
        v = _array(values)
        if sample_weight is None:
            self.total += float(v.sum())
            self.count += v.size
            return
        xp = backend.array_module(v)
        w = xp.asarray(_array(sample_weight), dtype=v.dtype if v.dtype.kind == "f" else "float32")
        # Per-sample weights (N,) weight every value of sample i (Keras's broadcasting rule).
        if w.ndim < v.ndim:
            w = w.reshape(w.shape + (1,) * (v.ndim - w.ndim))
        w = xp.broadcast_to(w, v.shape)
        self.total += float((v * w).sum())
        self.count += float(w.sum())

    def result(self):
        return self.total / self.count if self.count else 0.0


class Sum(Metric):
    """The (weighted) running sum of the values passed to ``update_state``.

    Formula
    -------
    sum = sum_i w_i * v_i   (w_i = 1 without weights)

    Examples
    --------
    >>> m = Sum()
    >>> m.update_state([1.0, 2.0]); m.update_state([6.0], sample_weight=[0.5])
    >>> m.result()
    6.0
    """

    def reset_state(self):
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        v = _array(values)
        if sample_weight is None:
            self.total += float(v.sum())
            return
        xp = backend.array_module(v)
        w = xp.asarray(_array(sample_weight), dtype=v.dtype if v.dtype.kind == "f" else "float32")
        if w.ndim < v.ndim:
            w = w.reshape(w.shape + (1,) * (v.ndim - w.ndim))
        self.total += float((v * xp.broadcast_to(w, v.shape)).sum())

    def result(self):
        return self.total


class MeanMetricWrapper(Mean):
    """Weighted running mean of a per-sample function ``fn(y_true, y_pred) -> values``.

    Parameters
    ----------
    fn : callable
        Takes backend arrays, returns one value per sample (or per element).
    name : str, optional
    **fn_kwargs
        Extra keywords for ``fn`` (e.g. ``threshold``).
    """

    def __init__(self, fn, name=None, dtype="float32", **fn_kwargs):
        self._fn = fn
        self._fn_kwargs = fn_kwargs
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric"), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(_array(y_true), _array(y_pred), **self._fn_kwargs)
        mask = getattr(y_pred, "_keras_mask", None)
        if mask is not None:  # masked steps do not count (Keras 3 reads y_pred's mask too)
            xp = backend.array_module(values)
            m = xp.asarray(mask, dtype=values.dtype if values.dtype.kind == "f" else "float32")
            if sample_weight is not None:
                w = xp.asarray(_array(sample_weight), dtype=m.dtype)
                m = m * w.reshape(w.shape + (1,) * (m.ndim - w.ndim))
            sample_weight = m
        super().update_state(values, sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


# ---------------------------------------------------------------- per-sample functions

def _labels_like(y_true, shape):
    """Integer labels reshaped to ``shape`` ((N,) or (N, 1) labels for (N,) predictions)."""
    if y_true.shape != shape and y_true.size == int(np.prod(shape)):
        y_true = y_true.reshape(shape)
    if y_true.shape != shape:
        raise ValueError(f"labels of shape {y_true.shape} do not match predictions of "
                         f"shape {shape + ('classes',)}")
    return y_true


def accuracy(y_true, y_pred):
    """1 where the prediction equals the target exactly, else 0 (Keras's ``accuracy``)."""
    y_true = _labels_like(y_true, y_pred.shape)
    return (y_true == y_pred).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where ``argmax(y_pred)`` equals the integer label ``y_true``.

    Formula
    -------
    v_i = [argmax_c y_pred[i, c] == y_true[i]]
    """
    pred = y_pred.argmax(axis=-1)
    y_true = _labels_like(y_true, pred.shape)
    if y_true.dtype.kind == "f":
        y_true = y_true.astype(pred.dtype)
    return (pred == y_true).astype(np.float32)


def categorical_accuracy(y_true, y_pred):
    """1 where ``argmax(y_pred)`` equals ``argmax(y_true)`` (one-hot targets).

    Formula
    -------
    v_i = [argmax_c y_pred[i, c] == argmax_c y_true[i, c]]
    """
    if y_true.shape != y_pred.shape:
        raise ValueError(f"categorical accuracy needs one-hot targets of the predictions' shape "
                         f"{y_pred.shape}, got {y_true.shape} (integer labels: use "
                         "sparse_categorical_accuracy)")
    return (y_pred.argmax(axis=-1) == y_true.argmax(axis=-1)).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over the last axis of ``[(y_pred > threshold) == (y_true > 0.5)]``.

    Use ``threshold=0.5`` on probabilities (after a sigmoid) and ``threshold=0`` on logits.
    """
    y_true = _labels_like(y_true, y_pred.shape)
    hits = ((y_pred > threshold) == (y_true > 0.5)).astype(np.float32)
    return hits.mean(axis=-1) if hits.ndim > 1 else hits


def mean_squared_error(y_true, y_pred):
    """Per-sample mean over the last axis of ``(y_true - y_pred)**2``."""
    y_true = _labels_like(y_true, y_pred.shape)
    d = y_pred - y_true.astype(y_pred.dtype, copy=False)
    d = d * d
    return d.mean(axis=-1) if d.ndim > 1 else d


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean over the last axis of ``|y_true - y_pred|``."""
    y_true = _labels_like(y_true, y_pred.shape)
    d = abs(y_pred - y_true.astype(y_pred.dtype, copy=False))
    return d.mean(axis=-1) if d.ndim > 1 else d


# ---------------------------------------------------------------- classes

class Accuracy(MeanMetricWrapper):
    """How often predictions equal targets exactly (for class indices already decided)."""

    aliases = ("acc",)

    def __init__(self, name="accuracy", dtype="float32"):
        super().__init__(accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` equals the integer label.

    Examples
    --------
    >>> m = SparseCategoricalAccuracy()
    >>> m([1, 0], [[0.1, 0.9], [0.2, 0.8]])
    0.5
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype="float32"):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` equals ``argmax(y_true)`` (one-hot targets)."""

    def __init__(self, name="categorical_accuracy", dtype="float32"):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` agrees with the 0/1 target.

    Parameters
    ----------
    threshold : float
        0.5 for probabilities (sigmoid outputs), 0.0 for logits.
    """

    def __init__(self, name="binary_accuracy", dtype="float32", threshold=0.5):
        self.threshold = float(threshold)
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=self.threshold)


class MeanSquaredError(MeanMetricWrapper):
    """Running mean of ``(y_true - y_pred)**2``."""

    aliases = ("mse",)

    def __init__(self, name="mean_squared_error", dtype="float32"):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Running mean of ``|y_true - y_pred|``."""

    aliases = ("mae",)

    def __init__(self, name="mean_absolute_error", dtype="float32"):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


# ---------------------------------------------------------------- lookup

def serialize(metric):
    """``{"class_name": ..., "config": ...}`` for a registered metric."""
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def get(identifier):
    """A metric object from a name ("accuracy", "mse", ...), class, instance, config or function.

    A plain function ``fn(y_true, y_pred)`` returning per-sample values is wrapped in a
    running mean named after it. Strings keep their spelling as the metric's name (so
    ``fit`` logs "acc" when asked for "acc").
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        cls = _REGISTRY.get(identifier) or _REGISTRY.get(_snake(identifier))
        if cls is None:
            raise ValueError(f"unknown metric {identifier!r}; known metrics: "
                             f"{', '.join(sorted(_REGISTRY))}")
        return cls(name=identifier)
    if isinstance(identifier, dict):
        if set(identifier) - {"class_name", "config"}:
            raise ValueError(f"a metric spec must be {{'class_name': ..., 'config': ...}}, "
                             f"got {identifier!r}")
        name = identifier.get("class_name")
        cls = next((c for c in _REGISTRY.values() if c.__name__ == name), None)
        if cls is None:
            raise ValueError(f"unknown metric class {name!r}")
        return cls.from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"cannot interpret {identifier!r} as a metric")
