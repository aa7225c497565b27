"""``EarlyStopping``: stop when a monitored value stops improving."""
from __future__ import annotations

import math

from ._monitor import _json_float, _monitored, _resolve_mode
from .base import Callback

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stop training when a monitored quantity stops improving (early stopping regularizes).

    Formula::

        improved_t = (best − value_t > min_delta)  ("min"; value_t − best > min_delta for "max")
        stop after `patience` epochs in a row without an improvement

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
