"""Training as Keras 3 does it: ``compile``, the overridable steps, and the loops around them.

One training step is the whole of backpropagation on a batch (``train_step``):

    y_hat = model(x, training=True)                  forward, recording the graph
    L     = compute_loss(x, y, y_hat, sample_weight)  Σ_k w_k loss_k + Σ model.losses
    dL/dtheta  by L.backward()                        reverse mode, one pass
    theta <- optimizer update(theta, dL/dtheta)       in place

``fit`` runs ``train_step(data)`` over the batches of each epoch (``deepsheet.data``: batch
GD, SGD or mini-batch), ``evaluate`` runs ``test_step`` and ``predict`` ``predict_step``;
a subclass overrides any of them (a GAN's two-optimizer step, a custom loss), and its step
returns the logs, usually ``{m.name: m.result() for m in self.metrics}``. Metrics are
streaming (``Model.metrics``: the loss tracker, the compiled metrics, metrics held in
attributes), reset at each epoch. The loss receives the output tensor of the last layer
exactly as the layer made it, so a probability loss after a softmax/sigmoid layer uses the
logits the layer recorded (stable and fused). A non-finite loss is never trained on: the
step is skipped and reported (``TerminateOnNaN`` stops training instead).
"""
from __future__ import annotations

import math
import warnings

from .. import backend
from .compile_utils import CompiledLoss, CompiledMetrics, compile_containers, serialize_arg
from .data_adapter import DataAdapter, unpack_x_y_sample_weight
from .loops import Loops, as_float

__all__ = ["Trainer", "NaNLossWarning"]


class NaNLossWarning(UserWarning):
    """The loss of a training batch was NaN or infinite; that batch's update was skipped."""


class Trainer(Loops, DataAdapter):
    """The Keras training API, mixed into ``Model`` (see the module docstring)."""

    def __init__(self):
        from ..metrics import Mean
        self.optimizer = None
        self.loss = None
        self._compiled = False
        self.stop_training = False
        self.history = None
        self.fit_callbacks = None  # the callbacks of the fit under way (checkpoints save them)
        self._compiled_loss = CompiledLoss([])
        self._compiled_metrics = CompiledMetrics([], 1)
        self._loss_tracker = Mean(name="loss")
        self._part_trackers = []
        self._compile_args = None
        self._current_epoch = None
        self._needs_bind = True
        self._penalty_sources = None
        self._nan_batches = 0

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=None,
                jit_compile=None, auto_scale_loss=None):
        """Configure training: optimizer, loss (per output), metrics and output loss weights.

        Parameters
        ----------
        optimizer : str or Optimizer
            "adam", "sgd", "rmsprop", ... or an (unbound) optimizer object.
        loss : str, Loss, callable, or a list/dict of them (one per output), optional
            e.g. "sparse_categorical_crossentropy", "mse", ``losses.BinaryCrossentropy()``.
            After a softmax/sigmoid output layer, a probability loss uses the layer's
            logits internally (numerically stable). May be left out when the model
            overrides ``train_step`` (the default step needs it).
        metrics, weighted_metrics : list, or list/dict per output
            "accuracy"/"acc" picks the accuracy that fits the loss (sparse, categorical or
            binary; binary thresholds at 0.5 on probabilities, 0 when the loss is
            ``from_logits``); also "mse", "mae", metric objects or functions.
            ``weighted_metrics`` are also weighted by ``sample_weight``/``class_weight``.
        loss_weights : list or dict, optional
            The total loss is ``sum_k loss_weights[k] * loss_k`` over outputs.
        run_eagerly, steps_per_execution, jit_compile, auto_scale_loss
            Accepted for Keras compatibility; deepsheet always runs eagerly, one step at
            a time.
        """
        from .. import optimizers as optimizers_mod
        self._compile_args = {"optimizer": optimizer, "loss": loss, "metrics": metrics,
                              "loss_weights": loss_weights}
        if weighted_metrics is not None:
            self._compile_args["weighted_metrics"] = weighted_metrics
        self.optimizer = optimizers_mod.get(optimizer)
        self.loss = loss
        names = self.output_names
        self._compiled_loss, self._compiled_metrics = compile_containers(
            self.name, names, loss, metrics, loss_weights, weighted_metrics)
        from ..metrics import Mean
        self._loss_tracker = Mean(name="loss")
        self._part_trackers = [Mean(name=n) for n in self._compiled_loss.part_names]
        self._compiled = True
        self.stop_training = False

    @property
    def compiled(self):
        return self._compiled

    def get_compile_config(self):
        """The compile arguments as JSON-able data (None if not compiled); saving uses it."""
        if not self._compiled:
            return None
        args = dict(self._compile_args)
        if not isinstance(args["optimizer"], str):
            args["optimizer"] = self.optimizer
        return {k: serialize_arg(v) for k, v in args.items()}

    def compile_from_config(self, config):
        """``compile`` from ``get_compile_config()`` output (classes found through each
        module's own lookup: nothing is imported or evaluated from the file)."""
        from .. import losses as losses_mod
        from .. import metrics as metrics_mod
        from .. import optimizers as optimizers_mod

        def revive(spec, module):
            if isinstance(spec, list):
                return [revive(s, module) for s in spec]
            if isinstance(spec, dict) and set(spec) == {"class_name", "config"}:
                return module.get(spec)  # each registry refuses unknown classes and keys
            if isinstance(spec, dict):
                return {k: revive(v, module) for k, v in spec.items()}
            return spec

        unknown = set(config) - {"optimizer", "loss", "metrics", "loss_weights",
                                 "weighted_metrics"}
        if unknown:
            raise ValueError(f"compile config: unknown keys {sorted(unknown)}")
        kwargs = {}
        if config.get("weighted_metrics") is not None:
            kwargs["weighted_metrics"] = revive(config["weighted_metrics"], metrics_mod)
        self.compile(optimizer=revive(config.get("optimizer", "rmsprop"), optimizers_mod),
                     loss=revive(config.get("loss"), losses_mod),
                     metrics=revive(config.get("metrics"), metrics_mod),
                     loss_weights=config.get("loss_weights"), **kwargs)

    # ------------------------------------------------------------ metrics
    @property
    def metrics(self):
        """Every tracked metric: the loss tracker(s) and compiled metrics (once compiled with
        a loss or metrics), then metrics held in attributes (``self.loss_tracker = Mean()``)."""
        out = []
        if self._compiled_loss:
            out.append(self._loss_tracker)
            out.extend(self._part_trackers)
        out.extend(self._compiled_metrics.metrics)
        seen = {id(m) for m in out}
        for m in self._attribute_metrics():
            if id(m) not in seen:
                seen.add(id(m))
                out.append(m)
        return out

    def _attribute_metrics(self):
        from ..metrics import Metric
        found = []
        for value in vars(self).values():
            items = value if isinstance(value, (list, tuple)) else \
                value.values() if isinstance(value, dict) else [value]
            found.extend(v for v in items if isinstance(v, Metric))
        return found

    @property
    def metrics_names(self):
        return [m.name for m in self._logged_metrics()]

    def _logged_metrics(self):
        """``self.metrics`` with the compiled ones under their log names (per output)."""
        names = {id(e.metric): e.name for e in self._compiled_metrics.entries}
        return [_Named(names[id(m)], m) if id(m) in names else m for m in self.metrics]

    def reset_metrics(self):
        """Reset every metric in ``self.metrics`` (fit does it at each epoch's start)."""
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self):
        """``{name: value}`` of every tracked metric, as Python floats."""
        logs = {}
        for m in self._logged_metrics():
            r = m.result()
            if isinstance(r, dict):
                logs.update({k: as_float(v) for k, v in r.items()})
            else:
                logs[m.name] = as_float(r)
        return logs

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics with a batch and return ``get_metrics_result()``."""
        self._compiled_metrics.update_state(self._target_list(y), y_pred, sample_weight)
        return self.get_metrics_result()

    # ------------------------------------------------------------ optimizers
    def optimizers(self):
        """``{attribute name: Optimizer}`` of every optimizer the model owns: ``optimizer``
        first, then any held in attributes (a GAN's ``d_optimizer``, ``g_optimizer``)."""
        from ..optimizers import Optimizer
        out = {}
        if isinstance(self.optimizer, Optimizer):
            out["optimizer"] = self.optimizer
        for key, value in vars(self).items():
            if isinstance(value, Optimizer) and key != "optimizer" and \
                    all(value is not o for o in out.values()):
                out[key] = value
        return out

    def _bind_optimizer(self):
        """Bind ``optimizer`` to every weight that can train (frozen ones get no gradient,
        so the optimizer skips them; unfreezing later needs no new binding). Runs after the
        first forward pass of a fit, when a lazily built model has its weights."""
        params = [w for w in self._ordered_weights() if w.trainable]
        bound = self.optimizer.params
        # bind() keeps the state of parameters it already holds; skip it when nothing changed.
        if not bound or len(bound) != len(params) or \
                any(a is not b for a, b in zip(bound, params)):
            self.optimizer.bind(params)
        self._needs_bind = False

    # ------------------------------------------------------------ the steps
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss of a batch: the compiled losses (masked steps excluded) plus the
        weight and activity penalties of ``model.losses``; a 0-d Tensor."""
        if not self._compiled_loss:
            raise ValueError(f"model '{self.name}' has no loss to compute: compile(loss=...) "
                             "or override compute_loss() / train_step()")
        total, parts = self._compiled_loss(self._target_list(y), y_pred, sample_weight)
        self._last_parts = parts
        for p in self._penalties():
            total = total + p
        return total

    def _target_list(self, y):
        n = len(self._compiled_loss.entries) or 1
        if n == 1:
            return [y[0] if isinstance(y, (list, tuple)) and len(y) == 1 else y]
        return list(y)

    def train_step(self, data):
        """One optimizer step on one batch (``data``: ``(x, y)`` or ``(x, y, sample_weight)``);
        returns the logs ``{metric name: value}``. Override it for a custom step."""
        x, y, w = unpack_x_y_sample_weight(data)
        xs = list(x) if isinstance(x, (list, tuple)) and self._n_inputs() > 1 else [x]
        self._train_batch(xs, self._target_list(y), w)
        return self.get_metrics_result()

    def test_step(self, data):
        """Loss and metrics of one batch without updating anything; returns the logs."""
        x, y, w = unpack_x_y_sample_weight(data)
        xs = list(x) if isinstance(x, (list, tuple)) and self._n_inputs() > 1 else [x]
        self._test_batch(xs, self._target_list(y), w)
        return self.get_metrics_result()

    def predict_step(self, data):
        """The model's output(s) for one batch (``data``: ``x`` or ``(x, ...)``)."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def _penalties(self):
        """``model.losses`` without walking the layer tree each step: weight penalties of
        every (nested, shared-once) layer, plus activity losses added during the forward."""
        sources = self._penalty_sources
        if sources is None:
            flat, seen = [], set()
            for layer in self._all_layers():
                if id(layer) not in seen:
                    seen.add(id(layer))
                    flat.append(layer)
            pairs = [pair for layer in flat for pair in layer._regularized]
            sources = self._penalty_sources = (pairs, flat)
        pairs, flat = sources
        pen = [reg(w) for w, reg in pairs]
        for layer in flat:
            if layer._extra_losses:
                pen.extend(layer._extra_losses)
        return pen

    def _dense_step(self, xs):
        """None: the forward pass records the graph (``Sequential`` may skip it, see there)."""
        return None

    def _track_loss(self, value, n):
        self._loss_tracker.update_state(value, sample_weight=n)
        for tracker, part in zip(self._part_trackers, self._last_parts or ()):
            tracker.update_state(float(part.data), sample_weight=n)

    def _train_batch(self, xs, ys, w):
        """The default ``train_step`` on lists of arrays: forward, loss, backward, update."""
        dense = self._dense_step(xs)  # a dense-only model: its layers make no graph nodes
        out = dense.out if dense is not None else self(xs[0] if len(xs) == 1 else xs,
                                                       training=True)
        total = self.compute_loss(xs, ys, out, w)
        value = float(total.data)
        if self._needs_bind:
            self._bind_optimizer()
        if math.isfinite(value):
            if total.requires_grad:
                opt = self.optimizer
                opt.zero_grad()
                if dense is None:
                    total.backward()
                else:
                    dense.backward(total)  # the loss's graph, then the dense stack
                opt.step()
            elif any(p.requires_grad for p in self.optimizer.params):
                raise ValueError(f"model '{self.name}': the loss does not depend on any "
                                 "trainable weight, so no gradient reaches them (was it "
                                 "computed outside the graph, e.g. on .numpy() values?)")
        else:
            self._report_nan(value, xs)
            skip = getattr(self.optimizer, "skip_step", None)
            if skip is not None:  # a distributed optimizer still meets the other ranks
                skip()
        self._track_loss(value, len(xs[0]))
        self._compiled_metrics.update_state(ys, out, w)

    def _test_batch(self, xs, ys, w):
        out = self(xs[0] if len(xs) == 1 else xs, training=False)
        total = self.compute_loss(xs, ys, out, w, training=False)
        self._track_loss(float(total.data), len(xs[0]))
        self._compiled_metrics.update_state(ys, out, w)

    def _report_nan(self, value, xs):
        self._nan_batches += 1
        if self._nan_batches > 1:
            return
        bad_input = any(a.dtype.kind == "f" and not bool(backend.array_module(a).isfinite(a).all())
                        for a in xs)
        cause = ("the input batch contains NaN or infinite values; clean the data "
                 "(e.g. np.isnan(x).any())" if bad_input else
                 "the inputs are finite, so training diverged: lower the learning rate or "
                 "scale the inputs")
        epoch = self._current_epoch
        where = f"epoch {epoch + 1}" if epoch is not None else "train_on_batch"
        warnings.warn(NaNLossWarning(
            f"model '{self.name}': the loss is {value} in {where}; that update was skipped "
            f"(the epoch's loss is reported as nan). Cause: {cause}. Add "
            "callbacks.TerminateOnNaN() to stop training instead."), stacklevel=5)

class _Named:
    """A metric seen under another (log) name: a compiled metric of one of several outputs."""

    __slots__ = ("name", "metric")

    def __init__(self, name, metric):
        self.name, self.metric = name, metric

    def result(self):
        return self.metric.result()

