"""``CallbackList``: calls one hook on every callback, batch hooks only where overridden."""
from __future__ import annotations

from .base import Callback
from .history import History
from .progbar_logger import ProgbarLogger

__all__ = ["CallbackList"]


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
