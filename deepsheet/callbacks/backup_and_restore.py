"""``BackupAndRestore``: survive an interrupted ``fit`` of any model, subclassed ones too."""
from __future__ import annotations

import os

from .base import Callback

__all__ = ["BackupAndRestore"]


class BackupAndRestore(Callback):
    """Back the training up at each epoch's end; a later ``fit`` continues from the backup.

    The backup (``<backup_dir>/backup.deepsheet``, written atomically) holds the weights and
    the whole ``checkpoint.TrainingState``: every optimizer the model owns, the library and
    layer RNGs, the callbacks' state, the epoch. When ``fit`` starts and finds it, it
    restores all of it and resumes after the backed-up epoch, so a run that was killed and
    started again by the same script ends with the same weights, bit for bit, as one that
    never stopped. Unlike ``ModelCheckpoint`` + ``load_model`` it needs no config: the
    script rebuilds the model (a GAN with two optimizers, a custom ``train_step``).

    Parameters
    ----------
    backup_dir : str or path
        Folder of the backup (created when needed).
    save_freq : "epoch"
        Back up at the end of each epoch (Keras's default; batch-level backups would not
        resume exactly).
    delete_checkpoint : bool
        Remove the backup when training ends normally (True, as Keras).

    Examples
    --------
    >>> from deepsheet.callbacks import BackupAndRestore
    >>> backup = BackupAndRestore("runs/backup")
    """

    _runs_last = True  # back up the state the other callbacks reached this epoch

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch', got {save_freq!r} "
                             "(a mid-epoch backup cannot resume exactly)")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = bool(delete_checkpoint)

    @property
    def path(self):
        return os.path.join(self.backup_dir, "backup.deepsheet")

    def load_backup(self):
        """The backed-up ``TrainingState`` (weights already loaded), or None: ``fit`` calls
        it before training."""
        if not os.path.exists(self.path):
            return None
        from ..saving import load_checkpoint
        return load_checkpoint(self.model, self.path)

    def on_epoch_end(self, epoch, logs=None):
        from ..checkpoint import TrainingState
        from ..saving import save_checkpoint
        os.makedirs(self.backup_dir, exist_ok=True)
        callbacks = getattr(self.model, "fit_callbacks", None) or [self]
        state = TrainingState.capture(self.model, callbacks, epoch + 1, logs=logs)
        save_checkpoint(self.model, self.path, state)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
