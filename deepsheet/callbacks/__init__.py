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

from .backup_and_restore import BackupAndRestore
from .base import Callback
from .callback_list import CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .history import History
from .lambda_callback import LambdaCallback
from .learning_rate_scheduler import LearningRateScheduler
from .model_checkpoint import ModelCheckpoint
from .progbar_logger import ProgbarLogger, format_logs
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN",
           "LambdaCallback", "ModelCheckpoint", "BackupAndRestore"]
