"""The ``Callback`` base class: every hook a no-op, overridden as needed."""
from __future__ import annotations

__all__ = ["Callback"]

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
