"""``LambdaCallback``: a callback made of plain functions."""
from __future__ import annotations

from .base import _PREDICT_BATCH_HOOKS, _TEST_BATCH_HOOKS, _TRAIN_BATCH_HOOKS, Callback

__all__ = ["LambdaCallback"]


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
