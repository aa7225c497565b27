"""Callbacks: code that ``fit``/``evaluate``/``predict`` run at named points (Keras's hook names).

``fit`` is one loop that calls, on a ``CallbackList``::

    on_train_begin
      on_epoch_begin(epoch)
        on_train_batch_begin(batch) ... on_train_batch_end(batch, logs)   (each step)
      on_epoch_end(epoch, logs)       logs: loss, metrics, val_loss, val_metrics
    on_train_end

and ``evaluate``/``predict`` the ``on_test_*`` / ``on_predict_*`` hooks. A callback stops
training by setting ``self.model.stop_training = True``. Per-batch hooks cost time on every
step, so the loop only calls (and only builds logs for) callbacks that override them.

Callbacks that carry state across epochs (``EarlyStopping``, ``ReduceLROnPlateau``) expose
``get_state()`` / ``set_state()`` as JSON-able dicts, so a saved run resumes exactly.
"""
from __future__ import annotations

import csv
import math
import os
import sys
import time
import warnings

import numpy as np

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN",
           "LambdaCallback", "ModelCheckpoint"]

_TRAIN_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin",
                      "on_batch_end")
_TEST_BATCH_HOOKS = ("on_test_batch_begin", "on_test_batch_end")
_PREDICT_BATCH_HOOKS = ("on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class: override the hooks you need; ``self.model`` and ``self.params`` are set by fit.

    ``params`` holds ``epochs``, ``steps`` and ``verbose``.
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def _overrides(self, names):
        return any(getattr(type(self), n) is not getattr(Callback, n) for n in names)

    def _implements_train_batch_hooks(self):
        return self._overrides(_TRAIN_BATCH_HOOKS)

    def _implements_test_batch_hooks(self):
        return self._overrides(_TEST_BATCH_HOOKS)

    def _implements_predict_batch_hooks(self):
        return self._overrides(_PREDICT_BATCH_HOOKS)

    # training
    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        """Alias of ``on_train_batch_begin`` (older Keras name)."""

    def on_batch_end(self, batch, logs=None):
        """Alias of ``on_train_batch_end`` (older Keras name)."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    # evaluation
    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    # prediction
    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


class CallbackList:
    """Calls a hook on every callback in order; batch hooks only on those that override them.

    Parameters
    ----------
    callbacks : list of Callback, optional
    add_history : bool
        Append a fresh ``History`` (``fit`` does).
    add_progbar : bool
        Append a ``ProgbarLogger`` (when ``verbose`` is not 0), unless one is given.
    model : Model, optional
    **params
        ``epochs``, ``steps``, ``verbose`` for the callbacks' ``params``.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be deepsheet.callbacks.Callback objects, got "
                                f"{type(cb).__name__}")
        self.history = None
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger(verbose=params.get("verbose", 1)))
        if add_history:
            self.history = History()
            self.callbacks.append(self.history)
        self.params = params
        # Checkpoints go last: they save the state the others reach at each epoch's end.
        self.callbacks.sort(key=lambda cb: bool(getattr(cb, "_runs_last", False)))
        for cb in self.callbacks:
            cb.set_params(params)
            if model is not None:
                cb.set_model(model)
        self._refresh_batch_hooks()

    def _refresh_batch_hooks(self):
        self.train_batch = [cb for cb in self.callbacks if cb._implements_train_batch_hooks()]
        self.test_batch = [cb for cb in self.callbacks if cb._implements_test_batch_hooks()]
        self.predict_batch = [cb for cb in self.callbacks
                              if cb._implements_predict_batch_hooks()]

    def append(self, callback):
        self.callbacks.append(callback)
        callback.set_params(self.params)
        self._refresh_batch_hooks()

    def __iter__(self):
        return iter(self.callbacks)

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        for cb in self.train_batch:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        for cb in self.train_batch:
            cb.on_train_batch_end(batch, logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        for cb in self.test_batch:
            cb.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        for cb in self.test_batch:
            cb.on_test_batch_end(batch, logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        for cb in self.predict_batch:
            cb.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        for cb in self.predict_batch:
            cb.on_predict_batch_end(batch, logs)


class History(Callback):
    """Records every epoch's logs: ``history.history["loss"]`` is the list of epoch losses.

    ``fit`` returns it and keeps it as ``model.history``.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self


def format_logs(logs):
    """``loss: 0.4321 - accuracy: 0.8812`` (4 decimals, scientific below 1e-3)."""
    parts = []
    for k, v in logs.items():
        if isinstance(v, (float, int, np.floating)) and not isinstance(v, bool):
            v = float(v)
            text = f"{v:.4e}" if v != 0 and abs(v) < 1e-3 else f"{v:.4f}"
        else:
            text = str(v)
        parts.append(f"{k}: {text}")
    return " - ".join(parts)


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ProgbarLogger(Callback):
    """Progress output: a live tqdm bar per epoch on a terminal, one line per epoch otherwise.

    Parameters
    ----------
    verbose : int
        1: a live bar (loss and metrics update as it runs) when stdout is a terminal, one
        line per epoch when it is not (logs and CI stay small); 2: one line per epoch always.
    """

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = verbose
        self._bar = None
        self._live = None

    def _implements_train_batch_hooks(self):
        return self._is_live()

    def _implements_test_batch_hooks(self):
        return self._is_live()

    def _implements_predict_batch_hooks(self):
        return self._is_live()

    def _is_live(self):
        if self._live is None:
            self._live = self.verbose == 1 and _is_terminal(sys.stdout)
        return self._live

    def _open_bar(self, total, desc):
        from tqdm.auto import tqdm  # noqa: PLC0415 - only for live bars
        self._bar = tqdm(total=total, desc=desc, unit="step", file=sys.stdout,
                         dynamic_ncols=True, mininterval=0.1, leave=True)
        self._last_postfix = 0.0

    def _advance(self, logs):
        bar = self._bar
        if bar is None:
            return
        bar.update(1)
        now = time.monotonic()
        # Formatting the postfix every step would cost more than a small step itself.
        if logs and now - self._last_postfix > 0.2:
            self._last_postfix = now
            bar.set_postfix_str(format_logs(logs), refresh=False)

    def _close_bar(self, logs):
        if self._bar is not None:
            if logs:
                self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.close()
            self._bar = None

    def _line(self, head, steps, seconds, logs):
        per_step = seconds / max(steps, 1)
        unit = f"{per_step * 1e3:.0f}ms/step" if per_step >= 1e-3 else \
            f"{per_step * 1e6:.0f}us/step"
        tail = f" - {format_logs(logs)}" if logs else ""
        print(f"{head}{steps}/{steps} - {seconds:.1f}s - {unit}{tail}", flush=True)

    # ---- fit
    def on_train_begin(self, logs=None):
        self._epochs = self.params.get("epochs", 1)

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()
        self._seen = 0
        if self._is_live():
            self._open_bar(self.params.get("steps"), f"Epoch {epoch + 1}/{self._epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._advance(logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._is_live():
            self._close_bar(logs)
            return
        steps = self.params.get("steps") or 0
        self._line(f"Epoch {epoch + 1}/{self._epochs} - ", steps,
                   time.perf_counter() - self._t0, logs)

    # ---- evaluate / predict (called by evaluate() and predict() directly, not inside fit)
    def on_test_begin(self, logs=None):
        self._t0 = time.perf_counter()
        if self._is_live():
            self._open_bar(self.params.get("steps"), "evaluate")

    def on_test_batch_end(self, batch, logs=None):
        self._advance(logs)

    def on_test_end(self, logs=None):
        if self._is_live():
            self._close_bar(logs)
            return
        self._line("", self.params.get("steps") or 0, time.perf_counter() - self._t0, logs)

    def on_predict_begin(self, logs=None):
        self._t0 = time.perf_counter()
        if self._is_live():
            self._open_bar(self.params.get("steps"), "predict")

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(None)

    def on_predict_end(self, logs=None):
        if self._is_live():
            self._close_bar(None)
            return
        self._line("", self.params.get("steps") or 0, time.perf_counter() - self._t0, None)


# ---------------------------------------------------------------- monitoring helpers

_MAX_WORDS = ("acc", "auc", "precision", "recall", "f1", "iou", "r2")


def _resolve_mode(mode, monitor, who):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        name = monitor.lower()
        return "max" if any(w in name for w in _MAX_WORDS) else "min"
    return mode


def _json_float(v):
    return None if v is None or not math.isfinite(v) else float(v)


def _monitored(logs, monitor, who):
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(f"{who} monitors {monitor!r}, which is not in the logs "
                      f"(available: {', '.join(sorted(logs or {})) or 'none'}); add "
                      "validation data or metrics, or monitor another key", stacklevel=3)
        return None
    return float(value)


class EarlyStopping(Callback):
    """Stop training when a monitored quantity stops improving (early stopping regularizes).

    After every epoch the monitored value is compared with the best so far; an improvement
    is a change beyond ``min_delta`` in the right direction. When ``patience`` epochs pass
    without one, training stops. With ``restore_best_weights`` the model ends with the
    weights of its best epoch, whether training stopped early or ran all its epochs.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs ("val_loss", "val_accuracy", "loss", ...).
    min_delta : float
        Smallest change counted as an improvement.
    patience : int
        Epochs without improvement before stopping.
    mode : {"auto", "min", "max"}
        "auto": "max" for accuracy-like names (acc, auc, precision, recall, f1), else "min".
    baseline : float, optional
        Training stops if the model does not beat this value within ``patience`` epochs.
    restore_best_weights : bool
    start_from_epoch : int
        Epochs of warm-up before improvements are tracked.

    Examples
    --------
    >>> from deepsheet.callbacks import EarlyStopping
    >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(float(min_delta))
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self.mode = _resolve_mode(mode, monitor, "EarlyStopping")
        self._restored = False
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.best_weights = None
        self._last_epoch = None

    def _is_improvement(self, current, reference):
        if reference is None:
            return True
        if self.mode == "min":
            return current < reference - self.min_delta
        return current > reference + self.min_delta

    def on_train_begin(self, logs=None):
        if self._restored:  # resumed with set_state: keep the counters
            self._restored = False
            return
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "EarlyStopping")
        self._last_epoch = epoch
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Until something improves, the first tracked epoch is the best there is.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping "
                  f"({self.monitor} did not improve for {self.patience} epochs)")
        if self.restore_best_weights and self.best_weights is not None:
            if self.best_epoch != self._last_epoch:
                if self.verbose > 0:
                    print(f"Restoring model weights from the end of the best epoch: "
                          f"{self.best_epoch + 1} ({self.monitor} = {self.best:.4f})")
                self.model.set_weights(self.best_weights)

    def get_state(self):
        """JSON-able counters for exact resume (the best weights themselves are
        ``self.best_weights``, a list of arrays, saved with the model by the caller)."""
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch,
                "best": _json_float(self.best), "best_epoch": self.best_epoch}

    def set_state(self, state):
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])
        best = state["best"]
        self.best = (math.inf if self.mode == "min" else -math.inf) if best is None else float(best)
        self.best_epoch = int(state["best_epoch"])
        self._restored = True


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from ``schedule(epoch, lr)``.

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, lr) -> new lr`` (``schedule(epoch)`` is accepted too); epochs
        count from 0.

    Examples
    --------
    >>> import math
    >>> from deepsheet.callbacks import LearningRateScheduler
    >>> decay = LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * math.exp(-0.1))
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        lr = float(opt.learning_rate)
        try:
            new = self.schedule(epoch, lr)
        except TypeError:
            new = self.schedule(epoch)
        new = float(new)
        if not math.isfinite(new):
            raise ValueError(f"LearningRateScheduler: schedule returned {new} at epoch {epoch}")
        opt.learning_rate = new
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {new:.6g}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when a monitored value stops improving.

    Formula
    -------
    after ``patience`` epochs without improvement: lr <- max(lr * factor, min_lr), then
    wait ``cooldown`` epochs before counting again.

    Parameters
    ----------
    monitor : str
    factor : float
        In (0, 1).
    patience : int
    mode : {"auto", "min", "max"}
    min_delta : float
        Threshold for an improvement.
    cooldown : int
    min_lr : float
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.min_delta = abs(float(min_delta))
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self.mode = _resolve_mode(mode, monitor, "ReduceLROnPlateau")
        self._restored = False
        self._reset()

    def _reset(self):
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def _is_improvement(self, current):
        if self.mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def on_train_begin(self, logs=None):
        if self._restored:
            self._restored = False
            return
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        opt = self.model.optimizer
        if logs is not None:
            logs["learning_rate"] = float(opt.learning_rate)
        current = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(opt.learning_rate)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    opt.learning_rate = new
                    if self.verbose > 0:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new:.6g}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def get_state(self):
        return {"wait": self.wait, "cooldown_counter": self.cooldown_counter,
                "best": _json_float(self.best)}

    def set_state(self, state):
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])
        best = state["best"]
        self.best = (math.inf if self.mode == "min" else -math.inf) if best is None else float(best)
        self._restored = True


class CSVLogger(Callback):
    """Append each epoch's logs as a CSV row (columns: epoch, then the log keys in order).

    Parameters
    ----------
    filename : str or path
    separator : str
    append : bool
        Continue an existing file (no second header) instead of overwriting it.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self._file = None
        self._writer = None
        self._keys = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and \
            os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer = None
        self._keys = None
        self._header_written = exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = list(logs)
        if self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.separator)
            if not self._header_written:
                self._writer.writerow(["epoch"] + self._keys)
        self._writer.writerow([epoch] + [logs.get(k, "NA") for k in self._keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class TerminateOnNaN(Callback):
    """Stop training as soon as the loss becomes NaN or infinite, with a message saying so."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            epoch = getattr(self.model, "_current_epoch", None)
            where = f"epoch {epoch + 1}, batch {batch + 1}" if epoch is not None \
                else f"batch {batch + 1}"
            print(f"TerminateOnNaN: invalid loss ({loss}) at {where}; terminating training. "
                  "Check the inputs for NaN/inf, scale them, or lower the learning rate.",
                  flush=True)
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``.

    Accepts any hook name as a keyword: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_batch_begin(batch, logs)``, ``on_batch_end(batch, logs)`` (training batches) and the
    ``on_test_*`` / ``on_predict_*`` hooks.
    """

    def __init__(self, **hooks):
        super().__init__()
        known = {n for n in dir(Callback) if n.startswith("on_")}
        unknown = set(hooks) - known
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hook(s) {sorted(unknown)}; known: "
                            f"{sorted(known)}")
        self._hooks = {k: v for k, v in hooks.items() if v is not None}
        for name, fn in self._hooks.items():
            setattr(self, name, fn)

    def _implements_train_batch_hooks(self):
        return any(h in self._hooks for h in _TRAIN_BATCH_HOOKS)

    def _implements_test_batch_hooks(self):
        return any(h in self._hooks for h in _TEST_BATCH_HOOKS)

    def _implements_predict_batch_hooks(self):
        return any(h in self._hooks for h in _PREDICT_BATCH_HOOKS)


class ModelCheckpoint(Callback):
    """Save the model (or its weights) during training: every epoch, or only the best one.

    Each save is a complete ``.deepsheet`` file written atomically, whose metadata holds
    what continuing needs: the number of epochs completed, the library RNG state at that
    moment, the state of every callback that has ``get_state`` (``EarlyStopping``'s best
    value and wait, ``ReduceLROnPlateau``'s, this callback's own best) and the history so
    far. ``deepsheet.load_model(path)`` then ``model.fit(..., initial_epoch=epoch,
    callbacks=[the same kinds of callbacks])`` continues bit for bit like an uninterrupted
    run (see ``deepsheet.saving``). Checkpoints run after the other callbacks at each
    epoch's end, so they record the state those callbacks reached in that epoch.

    Parameters
    ----------
    filepath : str or path
        May hold ``str.format`` fields filled from the epoch (counted from 1) and the logs:
        ``"ckpt/{epoch:02d}-{val_loss:.4f}.deepsheet"``. ``.deepsheet`` is added when the
        path has no extension (full models only).
    monitor : str
        Log key compared when ``save_best_only`` (e.g. "val_loss", "val_accuracy").
    verbose : int
        1 prints a line at each save.
    save_best_only : bool
        Save only when ``monitor`` improves on the best value so far.
    save_weights_only : bool
        Write ``model.save_weights`` files (no architecture, optimizer or resume state).
    mode : {"auto", "min", "max"}
        "auto": "max" for accuracy-like names, else "min".
    save_freq : "epoch" or int
        "epoch": at the end of every epoch; an int n: every n training batches (such
        checkpoints do not resume exactly, since they fall inside an epoch).
    initial_value_threshold : float, optional
        With ``save_best_only``, a value the monitored quantity must beat first.

    Examples
    --------
    >>> from deepsheet.callbacks import ModelCheckpoint
    >>> ckpt = ModelCheckpoint("runs/best.deepsheet", monitor="val_accuracy", save_best_only=True)
    """

    _runs_last = True  # CallbackList calls checkpoints after every other callback

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or
                                     not isinstance(save_freq, (int, np.integer)) or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive int "
                             f"(batches), got {save_freq!r}")
        self.save_freq = save_freq
        self.mode = _resolve_mode(mode, monitor, "ModelCheckpoint")
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None
        self._batches_seen = 0
        self._epoch = 0

    def _implements_train_batch_hooks(self):
        return self.save_freq != "epoch"

    def _path(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **(logs or {}))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"ModelCheckpoint: cannot fill filepath {self.filepath!r} ({exc!r}); "
                             f"available fields: epoch, {', '.join(sorted(logs or {}))}") from None

    def _improved(self, current):
        return current < self.best if self.mode == "min" else current > self.best

    def _save(self, epoch, logs, batch=None):
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if current is None:
                return
            if not self._improved(current):
                if self.verbose > 0:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}", flush=True)
                return
            previous, self.best, self.best_epoch = self.best, current, epoch
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {previous:.5f} to "
                      f"{current:.5f}, saving model to {self._path(epoch, logs)}", flush=True)
        elif self.verbose > 0:
            print(f"Epoch {epoch + 1}: saving model to {self._path(epoch, logs)}", flush=True)
        path = self._path(epoch, logs)
        if self.save_weights_only:
            self.model.save_weights(path)
            return
        from . import saving
        callbacks = getattr(self.model, "_fit_callbacks", None) or [self]
        completed = epoch if batch is not None else epoch + 1
        metadata, arrays = saving.training_state(self.model, callbacks, completed, batch, logs)
        saving.save_model(self.model, path, metadata=metadata, extra_arrays=arrays)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._epoch, logs, batch=batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def get_state(self):
        return {"best": _json_float(self.best), "best_epoch": self.best_epoch,
                "batches_seen": self._batches_seen}

    def set_state(self, state):
        best = state["best"]
        self.best = (math.inf if self.mode == "min" else -math.inf) if best is None else float(best)
        self.best_epoch = state["best_epoch"]
        self._batches_seen = int(state.get("batches_seen", 0))
