"""What ``compile`` builds: the losses and metrics of each output, as small named objects.

``CompiledLoss`` holds one ``LossEntry`` per output (the loss, its weight in the total) and
computes

    L = Σ_k w_k · loss_k(y_k, ŷ_k) + Σ model.losses          (weight penalties)

with masked time steps of ``ŷ_k._keras_mask`` weighing nothing (the ``Loss`` classes apply
Keras's rule: the mean is over the valid steps). ``CompiledMetrics`` holds one ``MetricEntry`` per (output, metric),
updated with the same masks. ``"accuracy"`` resolves to the accuracy that fits the loss.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["LossEntry", "MetricEntry", "CompiledLoss", "CompiledMetrics", "compile_containers",
           "serialize_arg", "masked_steps"]


def _unwrap(x):
    return x.data if isinstance(x, Tensor) else x


def masked_steps(y_true, y_pred, sample_weight=None):
    """``(y_true, y_pred, sample_weight)`` for the metrics: arrays, masked steps left out."""
    mask = getattr(y_pred, "_keras_mask", None)
    pred = _unwrap(y_pred)
    if mask is None:
        return y_true, pred, sample_weight
    mask = backend.array_module(pred).asarray(mask).astype(bool)
    if sample_weight is not None:
        sample_weight = backend.array_module(pred).broadcast_to(
            sample_weight.reshape(sample_weight.shape + (1,) * (mask.ndim - sample_weight.ndim)),
            mask.shape)[mask]
    return y_true[mask], pred[mask], sample_weight


def serialize_arg(obj):
    """A compile argument as JSON-able data (strings stay strings)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_arg(o) for o in obj]
    if isinstance(obj, dict):
        return {k: serialize_arg(v) for k, v in obj.items()}
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    name = getattr(obj, "__name__", None)
    if name:
        return name
    raise ValueError(f"cannot describe {obj!r} in a compile config")


class LossEntry:
    """The loss of one output: ``weight · loss(y_true, y_pred)`` in the total."""

    __slots__ = ("index", "name", "loss", "weight")

    def __init__(self, index, name, loss, weight=1.0):
        self.index, self.name, self.loss, self.weight = index, name, loss, weight

    def __call__(self, y_true, y_pred, sample_weight=None):
        # the Loss itself honours y_pred's mask (Keras 3's Loss.__call__ does too)
        return self.loss(y_true, y_pred) if sample_weight is None else \
            self.loss(y_true, y_pred, sample_weight=sample_weight)

    def __repr__(self):
        return f"LossEntry({self.name!r}, {self.loss!r}, weight={self.weight})"


class MetricEntry:
    """One metric of one output, logged as ``name``; ``weighted`` ones get sample weights."""

    __slots__ = ("name", "index", "metric", "weighted")

    def __init__(self, name, index, metric, weighted=False):
        self.name, self.index, self.metric, self.weighted = name, index, metric, weighted

    def __repr__(self):
        return f"MetricEntry({self.name!r}, output {self.index}, {self.metric!r})"


class CompiledLoss:
    """The total loss of a model: one ``LossEntry`` per output (None where no loss)."""

    def __init__(self, entries):
        self.entries = list(entries)
        self.active = [e for e in self.entries if e.loss is not None]

    def __bool__(self):
        return bool(self.active)

    @property
    def part_names(self):
        """Log names of the per-output losses (only when several outputs have one)."""
        return [f"{e.name}_loss" for e in self.active] if len(self.active) > 1 else []

    def __call__(self, ys, y_pred, sample_weight=None):
        """``(total, parts)``: the weighted sum, and each output's loss (several outputs)."""
        if len(self.entries) == 1:
            if type(y_pred) is list:
                y_pred = y_pred[0]
            entry = self.entries[0]
            total = entry(ys[0], y_pred, sample_weight)
            return (total if entry.weight == 1.0 else total * entry.weight), None
        total, parts = None, []
        for e in self.active:
            part = e(ys[e.index], y_pred[e.index], sample_weight)
            parts.append(part)
            term = part if e.weight == 1.0 else part * e.weight
            total = term if total is None else total + term
        return total, (parts if len(parts) > 1 else None)


class CompiledMetrics:
    """The compiled metrics, in log order; updated with masks (and weights where asked)."""

    def __init__(self, entries, n_outputs):
        self.entries = list(entries)
        self.n_outputs = n_outputs

    @property
    def metrics(self):
        return [e.metric for e in self.entries]

    def update_state(self, ys, y_pred, sample_weight=None):
        if not self.entries:
            return
        outs = y_pred if type(y_pred) in (list, tuple) else [y_pred]
        for e in self.entries:
            t, p, w = masked_steps(ys[e.index], outs[e.index],
                                   sample_weight if e.weighted else None)
            if w is None:
                e.metric.update_state(t, p)
            else:
                e.metric.update_state(t, p, sample_weight=w)

    def results(self):
        return {e.name: float(e.metric.result()) for e in self.entries}


class _AccuracyFromShapes:
    """Stands for "accuracy" until the first batch shows which accuracy the targets need."""

    def __init__(self, name, threshold):
        self.name = name
        self.threshold = threshold
        self.inner = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.inner is None:
            from .. import metrics
            pred, true = _unwrap(y_pred), _unwrap(y_true)
            if pred.ndim == 1 or pred.shape[-1] == 1:
                self.inner = metrics.BinaryAccuracy(name=self.name, threshold=self.threshold)
            elif true.shape == pred.shape:
                self.inner = metrics.CategoricalAccuracy(name=self.name)
            else:
                self.inner = metrics.SparseCategoricalAccuracy(name=self.name)
        self.inner.update_state(y_true, y_pred, sample_weight)

    def result(self):
        return self.inner.result() if self.inner is not None else 0.0

    def reset_state(self):
        if self.inner is not None:
            self.inner.reset_state()


def _accuracy_for(name, loss):
    """The accuracy that matches ``loss`` (Keras resolves "accuracy" the same way)."""
    from .. import metrics
    wrapped = getattr(loss, "_wrapped", None)  # LossFunctionWrapper: the function's name
    kind = (getattr(wrapped, "__name__", "") if wrapped is not None
            else type(loss).__name__).lower()
    threshold = 0.0 if getattr(loss, "from_logits", False) else 0.5
    if "sparse" in kind:
        return metrics.SparseCategoricalAccuracy(name=name)
    if "binary" in kind:
        return metrics.BinaryAccuracy(name=name, threshold=threshold)
    if "categorical" in kind:
        return metrics.CategoricalAccuracy(name=name)
    return _AccuracyFromShapes(name, threshold)


def _make_metric(spec, loss, n_out):
    from .. import metrics as metrics_mod
    if isinstance(spec, str) and spec in ("accuracy", "acc"):
        return _accuracy_for(spec, loss)
    if n_out > 1 and isinstance(spec, metrics_mod.Metric):
        # One object per output: the same stateful metric cannot follow two outputs.
        spec = type(spec).from_config(spec.get_config())
    m = metrics_mod.get(spec)
    if isinstance(spec, str) and isinstance(m, metrics_mod.BinaryAccuracy) and \
            getattr(loss, "from_logits", False):
        m = metrics_mod.BinaryAccuracy(name=spec, threshold=0.0)
    elif isinstance(spec, str) and hasattr(m, "threshold") and getattr(loss, "from_logits", False):
        m.threshold = 0.0  # precision/recall/F1/AUC by name decide on logits at 0
    return m


def _per_output(spec, what, names, model_name):
    n_out = len(names)
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise ValueError(f"compile: {what} keys {sorted(unknown)} are not outputs of model "
                             f"'{model_name}' ({names})")
        return [spec.get(n) for n in names]
    if isinstance(spec, (list, tuple)) and what not in ("metrics", "weighted_metrics"):
        if len(spec) != n_out:
            raise ValueError(f"compile: {len(spec)} {what} given for {n_out} outputs {names}")
        return list(spec)
    return [spec] * n_out


def _metric_specs(metrics, what, names, model_name):
    n_out = len(names)
    if isinstance(metrics, dict):
        return _per_output(metrics, what, names, model_name)
    if isinstance(metrics, (list, tuple)) and metrics and \
            all(isinstance(m, (list, tuple)) or m is None for m in metrics):
        if len(metrics) != n_out:
            raise ValueError(f"compile: {len(metrics)} metric lists for {n_out} outputs")
        return list(metrics)
    return [metrics] * n_out


def compile_containers(model_name, names, loss, metrics, loss_weights, weighted_metrics=None):
    """``(CompiledLoss, CompiledMetrics)`` for a model with outputs ``names``."""
    from .. import losses as losses_mod
    n_out = len(names)
    loss_specs = _per_output(loss, "losses", names, model_name)
    weights = _per_output(loss_weights, "loss_weights", names, model_name) \
        if loss_weights is not None else [1.0] * n_out
    entries = []
    for k, (name, spec, w) in enumerate(zip(names, loss_specs, weights)):
        fn = None if spec is None else losses_mod.get(spec)
        if fn is not None and not isinstance(fn, losses_mod.Loss):
            # A plain function gives per-sample losses; the wrapper weights and reduces.
            fn = losses_mod.LossFunctionWrapper(fn)
        entries.append(LossEntry(k, name, fn, 1.0 if w is None else float(w)))
    compiled_loss = CompiledLoss(entries)

    metric_entries = []
    for group, weighted in ((metrics, False), (weighted_metrics, True)):
        what = "weighted_metrics" if weighted else "metrics"
        for k, (name, specs) in enumerate(zip(names, _metric_specs(group, what, names,
                                                                    model_name))):
            if specs is None:
                continue
            if isinstance(specs, (str, dict)) or not isinstance(specs, (list, tuple)):
                specs = [specs]
            for spec in specs:
                m = _make_metric(spec, entries[k].loss, n_out)
                log_name = m.name if n_out == 1 else f"{name}_{m.name}"
                if weighted and any(e.name == log_name for e in metric_entries):
                    log_name = f"weighted_{log_name}"
                metric_entries.append(MetricEntry(log_name, k, m, weighted))
    return compiled_loss, CompiledMetrics(metric_entries, n_out)
