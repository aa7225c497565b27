"""``ModelCheckpoint``: save the model during training, every epoch or only the best."""
from __future__ import annotations

import math
import os

import numpy as np

from ._monitor import _json_float, _monitored, _resolve_mode
from .base import Callback

__all__ = ["ModelCheckpoint"]


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
        from .. import saving
        from ..checkpoint import TrainingState
        callbacks = getattr(self.model, "fit_callbacks", None) or [self]
        completed = epoch if batch is not None else epoch + 1
        state = TrainingState.capture(self.model, callbacks, completed, batch, logs)
        saving.save_model(self.model, path, state=state)

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
