"""Training: ``compile``, ``fit``, ``evaluate``, ``predict``, ``train_on_batch``, ``test_on_batch``.

One training step is the whole of backpropagation on a batch:

    y_hat = model(x, training=True)                  forward, recording the graph
    L     = sum_k w_k * loss_k(y_k, y_hat_k) + sum(model.losses)   (weight penalties)
    dL/dtheta  by loss.backward()                     reverse mode, one pass
    theta <- optimizer update(theta, dL/dtheta)       in place

``fit`` repeats it over the batches of each epoch (``deepsheet.data``: batch GD, SGD or
mini-batch), keeps running sums for the loss and streaming metrics (nothing is recomputed
over the epoch), evaluates the validation data after each epoch and calls the callbacks'
hooks. The loss receives the output tensor of the last layer exactly as the layer made it,
so a probability loss after a softmax/sigmoid layer can use the logits the layer recorded
(stable and fused). A non-finite loss is never trained on: the step is skipped and
reported (``TerminateOnNaN`` stops training instead).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from .. import data as data_mod
from ..autograd import no_grad

__all__ = ["Trainer", "NaNLossWarning"]


class NaNLossWarning(UserWarning):
    """The loss of a training batch was NaN or infinite; that batch's update was skipped."""


def _resolve_verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose in (0, 1, 2) and not isinstance(verbose, float):
        return int(verbose)
    raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")


def _serialize(obj):
    """Compile arguments as JSON-able data (strings stay strings)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [_serialize(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _serialize(v) for k, v in obj.items()}
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    name = getattr(obj, "__name__", None)
    if name:
        return name
    raise ValueError(f"cannot describe {obj!r} in a compile config")


class _AccuracyFromShapes:
    """Stands for "accuracy" until the first batch shows which accuracy the targets need."""

    def __init__(self, name, threshold):
        self.name = name
        self.threshold = threshold
        self.inner = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.inner is None:
            from .. import metrics
            pred = getattr(y_pred, "data", y_pred)
            true = getattr(y_true, "data", y_true)
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
    from_logits = bool(getattr(loss, "from_logits", False))
    threshold = 0.0 if from_logits else 0.5
    if "sparse" in kind:
        return metrics.SparseCategoricalAccuracy(name=name)
    if "binary" in kind:
        return metrics.BinaryAccuracy(name=name, threshold=threshold)
    if "categorical" in kind:
        return metrics.CategoricalAccuracy(name=name)
    return _AccuracyFromShapes(name, threshold)


def mask_weights(mask, sample_weight):
    """Keras's masked loss as sample weights: masked steps weigh 0 and the others
    ``total / valid``, so the mean over all (batch, time) steps is the mean over the valid
    ones, Σ wᵢₜ·Lᵢₜ / #valid. Per-sample weights (N,) extend over time."""
    xp = backend.array_module(mask)
    m = xp.asarray(mask).astype(np.float32)
    valid = int(xp.count_nonzero(m))
    m *= (m.size / valid) if valid else 0.0
    if sample_weight is not None:
        sw = sample_weight.reshape(sample_weight.shape + (1,) * (m.ndim - sample_weight.ndim))
        m = m * sw
    return m


def masked_steps(y_true, y_pred):
    """``(y_true, y_pred)`` for the metrics: arrays, with masked time steps left out."""
    mask = y_pred._keras_mask
    if mask is None:
        return y_true, y_pred.data
    mask = backend.array_module(y_pred.data).asarray(mask).astype(bool)
    return y_true[mask], y_pred.data[mask]


class Trainer:
    """The Keras training API, mixed into ``Model`` (see the module docstring)."""

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self._compiled = False
        self.stop_training = False
        self.history = None
        self._loss_slots = []
        self._metric_slots = []
        self._compile_args = None
        self._current_epoch = None
        self._needs_bind = True
        self._penalty_sources = None
        self._nan_batches = 0

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None):
        """Configure training: optimizer, loss (per output), metrics and output loss weights.

        Parameters
        ----------
        optimizer : str or Optimizer
            "adam", "sgd", "rmsprop", ... or an (unbound) optimizer object.
        loss : str, Loss, callable, or a list/dict of them (one per output)
            e.g. "sparse_categorical_crossentropy", "mse", ``losses.BinaryCrossentropy()``.
            After a softmax/sigmoid output layer, a probability loss uses the layer's
            logits internally (numerically stable).
        metrics : list, or list/dict per output
            "accuracy"/"acc" picks the accuracy that fits the loss (sparse, categorical or
            binary; binary thresholds at 0.5 on probabilities, 0 when the loss is
            ``from_logits``); also "mse", "mae", metric objects or functions.
        loss_weights : list or dict, optional
            The total loss is ``sum_k loss_weights[k] * loss_k`` over outputs.
        """
        from .. import losses as losses_mod
        from .. import metrics as metrics_mod
        from .. import optimizers as optimizers_mod

        self._compile_args = {"optimizer": optimizer, "loss": loss, "metrics": metrics,
                              "loss_weights": loss_weights}
        self.optimizer = optimizers_mod.get(optimizer)
        self.loss = loss
        names = self.output_names
        n_out = len(names)

        def per_output(spec, what):
            if isinstance(spec, dict):
                unknown = set(spec) - set(names)
                if unknown:
                    raise ValueError(f"compile: {what} keys {sorted(unknown)} are not outputs "
                                     f"of model '{self.name}' ({names})")
                return [spec.get(n) for n in names]
            if isinstance(spec, (list, tuple)) and what != "metrics":
                if len(spec) != n_out:
                    raise ValueError(f"compile: {len(spec)} {what} given for {n_out} outputs "
                                     f"{names}")
                return list(spec)
            return [spec] * n_out

        loss_specs = per_output(loss, "losses")
        weights = per_output(loss_weights, "loss_weights") if loss_weights is not None \
            else [1.0] * n_out
        self._loss_slots = []
        for k, (name, spec, w) in enumerate(zip(names, loss_specs, weights)):
            fn = None if spec is None else losses_mod.get(spec)
            if fn is not None and not isinstance(fn, losses_mod.Loss):
                # A plain function gives per-sample losses; the wrapper weights and reduces.
                fn = losses_mod.LossFunctionWrapper(fn)
            self._loss_slots.append((k, name, fn, 1.0 if w is None else float(w)))

        if isinstance(metrics, dict):
            metric_specs = per_output(metrics, "metrics")
        elif isinstance(metrics, (list, tuple)) and metrics and \
                all(isinstance(m, (list, tuple)) or m is None for m in metrics):
            if len(metrics) != n_out:
                raise ValueError(f"compile: {len(metrics)} metric lists for {n_out} outputs")
            metric_specs = list(metrics)
        else:
            metric_specs = [metrics] * n_out
        self._metric_slots = []
        for k, (name, specs) in enumerate(zip(names, metric_specs)):
            if specs is None:
                continue
            if isinstance(specs, (str, dict)) or not isinstance(specs, (list, tuple)):
                specs = [specs]
            for spec in specs:
                m = self._make_metric(spec, self._loss_slots[k][2], n_out)
                log_name = m.name if n_out == 1 else f"{name}_{m.name}"
                self._metric_slots.append((log_name, k, m))
        self._compiled = True
        self.stop_training = False

    def _make_metric(self, spec, loss, n_out):
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
        elif isinstance(spec, str) and hasattr(m, "threshold") and \
                getattr(loss, "from_logits", False):
            m.threshold = 0.0  # precision/recall/F1/AUC by name decide on logits at 0
        return m

    def get_compile_config(self):
        """The compile arguments as JSON-able data (None if not compiled); saving uses it."""
        if not self._compiled:
            return None
        args = dict(self._compile_args)
        if not isinstance(args["optimizer"], str):
            args["optimizer"] = self.optimizer
        return {k: _serialize(v) for k, v in args.items()}

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

        unknown = set(config) - {"optimizer", "loss", "metrics", "loss_weights"}
        if unknown:
            raise ValueError(f"compile config: unknown keys {sorted(unknown)}")
        self.compile(optimizer=revive(config.get("optimizer", "rmsprop"), optimizers_mod),
                     loss=revive(config.get("loss"), losses_mod),
                     metrics=revive(config.get("metrics"), metrics_mod),
                     loss_weights=config.get("loss_weights"))

    @property
    def metrics(self):
        """The compiled metric objects, in log order."""
        return [m for _, _, m in self._metric_slots]

    @property
    def metrics_names(self):
        names = ["loss"]
        if len([s for s in self._loss_slots if s[2] is not None]) > 1:
            names += [f"{name}_loss" for _, name, fn, _ in self._loss_slots if fn is not None]
        return names + [n for n, _, _ in self._metric_slots]

    def _assert_compiled(self, what):
        if not self._compiled:
            raise RuntimeError(f"model '{self.name}' must be compiled before {what}(): call "
                               "model.compile(optimizer=..., loss=..., metrics=[...]) first")
        if what != "predict" and not any(fn is not None for _, _, fn, _ in self._loss_slots):
            raise ValueError(f"model '{self.name}' was compiled without a loss; "
                             f"compile(loss=...) before {what}()")

    # ------------------------------------------------------------ data preparation
    def _n_inputs(self):
        return len(self._inputs) if self._graph else 1

    def _prepare_x(self, x):
        if x is None:
            raise ValueError("x is None: pass the input data")
        n_in = self._n_inputs()
        if isinstance(x, dict):
            if not self._graph:
                raise ValueError(f"model '{self.name}' has no named inputs; pass an array")
            x = self._inputs_from_dict(x)
        if n_in == 1:
            if isinstance(x, (list, tuple)) and len(x) == 1 and hasattr(x[0], "shape"):
                x = x[0]
            xs = [data_mod.as_array(x, "x")]
        else:
            if not isinstance(x, (list, tuple)) or len(x) != n_in:
                raise ValueError(f"model '{self.name}' has {n_in} inputs "
                                 f"{[t.name for t in self._inputs]}; pass x as a list of "
                                 f"{n_in} arrays or a dict keyed by input name")
            xs = [data_mod.as_array(a, f"x[{i}]") for i, a in enumerate(x)]
        self._check_input_shapes(xs)
        return xs

    def _check_input_shapes(self, xs):
        if not self._graph:
            return
        n = len(xs[0])
        for t, a in zip(self._inputs, xs):
            if len(a) != n:
                raise ValueError(f"the model inputs have different numbers of samples "
                                 f"({[len(b) for b in xs]})")
            want, got = t.shape[1:], tuple(a.shape[1:])
            if len(want) == len(got) and all(w is None or w == g for w, g in zip(want, got)):
                continue
            msg = (f"model '{self.name}' expects input '{t.name}' with samples of shape "
                   f"{want}, got an array of shape {tuple(a.shape)}")
            if len(want) == 1 and len(got) > 1 and want[0] == int(np.prod(got)):
                msg += (f"; its first layer takes flat vectors: add layers.Flatten() before it "
                        f"(e.g. Flatten(input_shape={got})) or reshape x to "
                        f"({len(a)}, {want[0]})")
            raise ValueError(msg)

    def _prepare_y(self, y, n):
        names = self.output_names
        if y is None:
            raise ValueError(f"model '{self.name}' needs targets y to compute its loss "
                             "(or pass x as a generator of (x, y) batches)")
        if isinstance(y, dict):
            missing = [k for _, k, fn, _ in self._loss_slots if fn is not None and k not in y]
            if missing:
                raise ValueError(f"targets for outputs {missing} are missing from y "
                                 f"(keys: {sorted(y)})")
            ys = [None if k not in y else data_mod.as_array(y[k], f"y[{k!r}]") for k in names]
        elif len(names) > 1:
            if not isinstance(y, (list, tuple)) or len(y) != len(names):
                raise ValueError(f"model '{self.name}' has {len(names)} outputs {names}; pass y "
                                 f"as a list of {len(names)} arrays or a dict keyed by output")
            ys = [None if a is None else data_mod.as_array(a, f"y[{i}]")
                  for i, a in enumerate(y)]
        else:
            if isinstance(y, (list, tuple)) and len(y) == 1 and hasattr(y[0], "shape"):
                y = y[0]
            ys = [data_mod.as_array(y, "y")]
        for name, a in zip(names, ys):
            if a is not None and len(a) != n:
                raise ValueError(f"x and y have different numbers of samples: x has {n}, y"
                                 f"{'' if len(names) == 1 else f' for {name!r}'} has {len(a)}")
        return ys

    def _sample_weights(self, ys, n, sample_weight, class_weight):
        w = None
        if sample_weight is not None:
            w = data_mod.as_array(sample_weight, "sample_weight").astype(np.float32, copy=False)
            if w.ndim != 1 or len(w) != n:
                raise ValueError(f"sample_weight must have shape ({n},) (one weight per "
                                 f"sample), got {tuple(w.shape)}")
        if class_weight is not None:
            if len(ys) > 1:
                raise ValueError("class_weight is for single-output models; use sample_weight "
                                 "per output instead")
            cw = self._class_weights(ys[0], class_weight)
            w = cw if w is None else w * cw
        return w

    @staticmethod
    def _class_weights(y, class_weight):
        """Per-sample weights ``class_weight[label]`` (labels, one-hot rows or 0/1 targets)."""
        if not isinstance(class_weight, dict) or not class_weight:
            raise ValueError(f"class_weight must be a dict {{class index: weight}}, got "
                             f"{class_weight!r}")
        xp = backend.array_module(y)
        if y.ndim >= 2 and y.shape[-1] > 1:
            labels = y.argmax(axis=-1)
        else:
            labels = y.reshape(len(y), -1)[:, 0]
            labels = xp.rint(labels).astype(np.int64) if labels.dtype.kind == "f" \
                else labels.astype(np.int64)
        top = max(int(labels.max()) if labels.size else 0, max(int(k) for k in class_weight))
        table = np.ones(top + 1, dtype=np.float32)
        for k, v in class_weight.items():
            table[int(k)] = float(v)
        return xp.asarray(table)[labels].reshape(len(y), *labels.shape[1:])

    # ------------------------------------------------------------ one step
    def _bind_optimizer(self):
        """Bind the optimizer to every weight that can train (frozen ones get no gradient,
        so the optimizer skips them; unfreezing later needs no new binding). Runs after the
        first forward pass of a fit, when a lazily built model has its weights."""
        params = [w for w in self._ordered_weights() if w.trainable]
        bound = self.optimizer.params
        # bind() keeps the state of parameters it already holds; skip it when nothing changed.
        if not bound or len(bound) != len(params) or \
                any(a is not b for a, b in zip(bound, params)):
            self.optimizer.bind(params)
        self._needs_bind = False

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

    def _compute_loss(self, ys, out, w):
        """Total loss tensor and the per-output loss tensors (multi-output only)."""
        if len(self._loss_slots) == 1:
            if type(out) is list:
                out = out[0]
            _, _, fn, weight = self._loss_slots[0]
            wk = w if out._keras_mask is None else mask_weights(out._keras_mask, w)
            total = fn(ys[0], out) if wk is None else fn(ys[0], out, sample_weight=wk)
            if weight != 1.0:
                total = total * weight
            parts = None
        else:
            total, parts = None, []
            for k, _, fn, weight in self._loss_slots:
                if fn is None:
                    parts.append(None)
                    continue
                mask = out[k]._keras_mask
                wk = w if mask is None else mask_weights(mask, w)
                lk = fn(ys[k], out[k]) if wk is None else fn(ys[k], out[k], sample_weight=wk)
                parts.append(lk)
                term = lk if weight == 1.0 else lk * weight
                total = term if total is None else total + term
        for p in self._penalties():
            total = total + p
        return total, parts

    def _update_metrics(self, ys, out):
        if len(self._loss_slots) == 1:
            if type(out) is list:
                out = out[0]
            y_true, y_pred = masked_steps(ys[0], out)
            for _, _, m in self._metric_slots:
                m.update_state(y_true, y_pred)
        else:
            for _, k, m in self._metric_slots:
                m.update_state(*masked_steps(ys[k], out[k]))

    def _train_batch(self, xs, ys, w):
        """Forward, loss, backward, update on one batch; returns (loss, per-output losses)."""
        out = self(xs[0] if len(xs) == 1 else xs, training=True)
        total, parts = self._compute_loss(ys, out, w)
        value = float(total.data)
        if self._needs_bind:
            self._bind_optimizer()
        if math.isfinite(value):
            if total.requires_grad:  # False when every weight is frozen: nothing to update
                opt = self.optimizer
                opt.zero_grad()
                total.backward()
                opt.step()
        else:
            self._report_nan(value, xs)
        self._update_metrics(ys, out)
        return value, None if parts is None else [None if p is None else float(p.data)
                                                  for p in parts]

    def _test_batch(self, xs, ys, w):
        out = self(xs[0] if len(xs) == 1 else xs, training=False)
        total, parts = self._compute_loss(ys, out, w)
        self._update_metrics(ys, out)
        return float(total.data), None if parts is None else [
            None if p is None else float(p.data) for p in parts]

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
            "callbacks.TerminateOnNaN() to stop training instead."), stacklevel=4)

    # ------------------------------------------------------------ epochs
    def _batches(self, x, y, sample_weight, class_weight, batch_size, shuffle, steps,
                 need_y=True):
        """(iterable of (xs, ys, w) batches, number of steps or None)."""
        if data_mod.is_dataset(x):
            if y is not None or sample_weight is not None:
                raise ValueError("when x is a generator or iterable of batches, y and "
                                 "sample_weight come from it (pass y=None)")
            it = data_mod.IterableBatches(x, steps)
            try:
                n_steps = len(it)
            except TypeError:
                n_steps = None
            return self._iter_dataset(it, class_weight, need_y), n_steps
        xs, ys, w = self._prepare_batch(x, y, sample_weight, class_weight, need_y)
        return self._arrays_batches(xs, ys, w, batch_size, shuffle, steps)

    def _arrays_batches(self, xs, ys, w, batch_size, shuffle, steps):
        n = len(xs[0])
        b = data_mod.resolve_batch_size(batch_size, n)
        flat = data_mod.ArrayBatches(xs + ys + [w], b, shuffle, steps)
        nx, ny = len(xs), len(ys)
        move = self._device_mover()

        def gen():
            for parts in flat:
                if move is not None:
                    parts = [None if p is None else move(p) for p in parts]
                yield parts[:nx], parts[nx:nx + ny], parts[-1]
        return gen, len(flat)

    def _iter_dataset(self, it, class_weight, need_y):
        move = self._device_mover()

        def gen():
            for item in it:
                xb, yb, wb = data_mod.unpack_batch(item)
                yield self._prepare_batch(xb, yb, wb, class_weight, need_y, move)
        return gen

    def _prepare_batch(self, x, y, sample_weight, class_weight, need_y=True, move=None):
        """(inputs, targets, sample weights or None) of one batch or data set, as lists of
        checked arrays, moved to the weights' device by ``move`` when given."""
        xs = self._prepare_x(x)
        n = len(xs[0])
        ys = self._prepare_y(y, n) if need_y else []
        w = self._sample_weights(ys, n, sample_weight, class_weight) if need_y else None
        if move is not None:
            xs = [move(a) for a in xs]
            ys = [None if a is None else move(a) for a in ys]
            w = None if w is None else move(w)
        return xs, ys, w

    def _device_mover(self):
        weights = self._ordered_weights()
        device = backend.device_of(weights[0].data) if weights else backend.get_default_device()
        if device == "cpu":
            return None
        return lambda a: backend.to_device(a, device)

    def _reset_metrics(self):
        for _, _, m in self._metric_slots:
            m.reset_state()

    def _logs(self, loss_sum, part_sums, seen):
        logs = {"loss": loss_sum / seen if seen else float("nan")}
        if part_sums is not None:
            for (_, name, fn, _), s in zip(self._loss_slots, part_sums):
                if fn is not None:
                    logs[f"{name}_loss"] = s / seen if seen else float("nan")
        for name, _, m in self._metric_slots:
            logs[name] = float(m.result())
        return logs

    def _run_epoch(self, make_batches, train, cbl=None):
        """One pass over the batches; returns the epoch logs (sample-weighted means)."""
        self._reset_metrics()
        step_fn = self._train_batch if train else self._test_batch
        hooks = None
        if cbl is not None:
            hooks = cbl.train_batch if train else cbl.test_batch
            begin = cbl.on_train_batch_begin if train else cbl.on_test_batch_begin
            end = cbl.on_train_batch_end if train else cbl.on_test_batch_end
        loss_sum, part_sums, seen, step = 0.0, None, 0, 0
        for step, (xs, ys, w) in enumerate(make_batches()):
            if hooks:
                begin(step)
            value, parts = step_fn(xs, ys, w)
            bs = len(xs[0])
            loss_sum += value * bs
            if parts is not None:
                if part_sums is None:
                    part_sums = [0.0] * len(parts)
                for i, p in enumerate(parts):
                    if p is not None:
                        part_sums[i] += p * bs
            seen += bs
            if hooks:
                end(step, self._logs(loss_sum, part_sums, seen))
            if train and self.stop_training:
                break
        self._last_epoch_seen = seen
        return self._logs(loss_sum, part_sums, seen)

    # ------------------------------------------------------------ public API
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None):
        """Train for ``epochs`` passes over the data; returns a ``History``.

        Parameters
        ----------
        x, y : arrays (lists/dicts for several inputs/outputs), or ``x`` an iterable or
            generator of ``(x, y)`` / ``(x, y, sample_weight)`` batches with ``y=None``.
        batch_size : int, None or "full"
            None is 32 (Keras); "full" is batch gradient descent (one step per epoch);
            1 is stochastic gradient descent; b takes ``ceil(n / b)`` steps per epoch.
        epochs : int
            Index of the last epoch (training runs epochs ``initial_epoch .. epochs-1``).
        verbose : "auto", 0, 1 or 2
            0 silent; 1 a live bar on a terminal (one line per epoch otherwise); 2 one
            line per epoch.
        callbacks : list of Callback
        validation_split : float
            Hold out the last fraction of the arrays (before shuffling) for validation.
        validation_data : (x_val, y_val[, w_val]) or an iterable of batches
        shuffle : bool
            Reshuffle the arrays every epoch with the library RNG (reproducible).
        class_weight : dict, optional
            ``{class: weight}``; each sample's loss is scaled by its class's weight.
        sample_weight : array (n,), optional
            Per-sample loss weights (the loss divides the weighted sum by the batch size).
        initial_epoch : int
            Epoch to resume from. The first ``fit`` on a model from ``load_model`` whose
            checkpoint was written after ``initial_epoch`` epochs (``ModelCheckpoint``) first
            restores the library RNG and the state of the callbacks passed here (matched by
            class), so the run continues bit for bit like an uninterrupted one.
        steps_per_epoch : int, optional
            Batches per epoch (needed for endless generators).

        Examples
        --------
        >>> import numpy as np, deepsheet as ds
        >>> model = ds.Sequential([ds.layers.Dense(1, input_shape=(3,))])
        >>> model.compile("sgd", "mse")
        >>> history = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, verbose=0)
        >>> len(history.history["loss"]), model.optimizer.iterations   # 1 step per epoch
        (2, 2)
        """
        self._assert_compiled("fit")
        verbose = _resolve_verbose(verbose)
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative int, got {epochs!r}")
        if validation_split and validation_data is None:
            if data_mod.is_dataset(x):
                raise ValueError("validation_split needs arrays; with a generator pass "
                                 "validation_data")
            xs = self._prepare_x(x)
            n = len(xs[0])
            ys = self._prepare_y(y, n)
            w = self._sample_weights(ys, n, sample_weight, class_weight)
            (xs, ys, w), (vxs, vys, vw) = [
                (part[:len(xs)], part[len(xs):len(xs) + len(ys)], part[-1])
                for part in data_mod.split_tail(xs + ys + [w], validation_split)]
            train, steps = self._arrays_batches(xs, ys, w, batch_size, shuffle, steps_per_epoch)
            val = self._arrays_batches(vxs, vys, vw, validation_batch_size or batch_size,
                                       False, validation_steps)[0]
        else:
            train, steps = self._batches(x, y, sample_weight, class_weight, batch_size, shuffle,
                                         steps_per_epoch)
            val = None
            if validation_data is not None:
                val = self._validation_batches(validation_data, validation_batch_size or
                                               batch_size, validation_steps)
        if steps == 0:
            raise ValueError("fit got no training samples (x is empty)")

        cbl = self._callback_list(callbacks, add_history=True, verbose=verbose, epochs=epochs,
                                  steps=steps)
        self._fit_callbacks = cbl.callbacks  # ModelCheckpoint saves its siblings' state
        if initial_epoch:
            from ..saving import restore_training_state
            restore_training_state(self, cbl.callbacks, initial_epoch)
        self.stop_training = False
        self._nan_batches = 0
        self._needs_bind = True
        self._penalty_sources = None
        logs = {}
        cbl.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            self._current_epoch = epoch
            cbl.on_epoch_begin(epoch)
            logs = self._run_epoch(train, True, cbl)
            if self._last_epoch_seen == 0:
                warnings.warn("fit: the training data ran out (a generator is exhausted); "
                              "pass steps_per_epoch or a re-iterable loader", stacklevel=2)
                break
            if val is not None:
                with no_grad():
                    val_logs = self._run_epoch(val, False)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbl.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        self._current_epoch = None
        cbl.on_train_end(logs)
        return cbl.history

    def _validation_batches(self, validation_data, batch_size, steps):
        if data_mod.is_dataset(validation_data):
            return self._iter_dataset(data_mod.IterableBatches(validation_data, steps), None,
                                      True)
        if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be (x_val, y_val), (x_val, y_val, "
                             "sample_weight_val) or an iterable of batches")
        vx, vy = validation_data[0], validation_data[1]
        vw = validation_data[2] if len(validation_data) == 3 else None
        return self._batches(vx, vy, vw, None, batch_size, False, steps)[0]

    def _callback_list(self, callbacks, add_history, verbose, **params):
        from ..callbacks import CallbackList
        return CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0,
                            model=self, verbose=verbose, **params)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Loss and metrics on the given data (batched, no graph recorded).

        Returns the loss alone when nothing else is compiled, else ``[loss, *metrics]``
        in ``model.metrics_names`` order, or a dict with ``return_dict=True``.
        """
        self._assert_compiled("evaluate")
        verbose = _resolve_verbose(verbose)
        batches, n_steps = self._batches(x, y, sample_weight, None, batch_size, False, steps)
        cbl = self._callback_list(callbacks, add_history=False, verbose=verbose, steps=n_steps)
        self._penalty_sources = None
        cbl.on_test_begin()
        with no_grad():
            logs = self._run_epoch(batches, False, cbl)
        cbl.on_test_end(logs)
        return self._format_results(logs, return_dict)

    def _format_results(self, logs, return_dict):
        if return_dict:
            return dict(logs)
        values = [logs[k] for k in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for ``x`` as NumPy arrays, computed batch by batch under ``no_grad``.

        ``x`` may also be an iterable of batches (``x`` or ``(x, ...)`` items).
        """
        verbose = _resolve_verbose(verbose)
        if data_mod.is_dataset(x):
            batches, n_steps = self._batches(x, None, None, None, batch_size, False, steps,
                                             need_y=False)
        else:
            xs = self._prepare_x(x)
            batches, n_steps = self._arrays_batches(xs, [], None, batch_size, False, steps)
        cbl = self._callback_list(callbacks, add_history=False, verbose=verbose, steps=n_steps)
        hooks = cbl.predict_batch
        cbl.on_predict_begin()
        results, filled = None, 0
        with no_grad():
            for step, (xs, _, _) in enumerate(batches()):
                if hooks:
                    cbl.on_predict_batch_begin(step)
                out = self(xs[0] if len(xs) == 1 else xs, training=False)
                outs = [o.data for o in out] if isinstance(out, (list, tuple)) else [out.data]
                if results is None:
                    results = [[] for _ in outs]
                for r, o in zip(results, outs):
                    r.append(backend.to_numpy(o))
                filled += len(outs[0])
                if hooks:
                    cbl.on_predict_batch_end(step, {"outputs": outs})
        cbl.on_predict_end()
        if results is None:
            raise ValueError("predict got no samples")
        arrays = [r[0] if len(r) == 1 else np.concatenate(r) for r in results]
        nested = self._graph and self._nested_outputs
        return arrays if nested else arrays[0]

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One gradient step on one batch; returns its loss (and metrics)."""
        self._assert_compiled("train_on_batch")
        xs, ys, w = self._prepare_batch(x, y, sample_weight, class_weight,
                                        move=self._device_mover())
        self._needs_bind = True
        self._penalty_sources = None
        self._nan_batches = 0
        self._reset_metrics()
        value, parts = self._train_batch(xs, ys, w)
        return self._format_results(self._logs(value, parts, 1), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) on one batch without updating anything."""
        self._assert_compiled("test_on_batch")
        xs, ys, w = self._prepare_batch(x, y, sample_weight, None, move=self._device_mover())
        self._reset_metrics()
        self._penalty_sources = None
        with no_grad():
            value, parts = self._test_batch(xs, ys, w)
        return self._format_results(self._logs(value, parts, 1), return_dict)

    def predict_on_batch(self, x):
        """Outputs for one batch as NumPy arrays."""
        xs = self._prepare_x(x)
        with no_grad():
            out = self(xs[0] if len(xs) == 1 else xs, training=False)
        if isinstance(out, (list, tuple)):
            return [backend.to_numpy(o.data) for o in out]
        return backend.to_numpy(out.data)
