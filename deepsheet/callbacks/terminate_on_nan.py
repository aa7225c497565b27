"""``TerminateOnNaN``: stop at the first non-finite loss."""
from __future__ import annotations

import math

from .base import Callback

__all__ = ["TerminateOnNaN"]


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
