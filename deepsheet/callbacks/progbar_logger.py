"""``ProgbarLogger``: a live bar on a terminal, one line per epoch elsewhere."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from .base import Callback

__all__ = ["ProgbarLogger", "format_logs", "wrap_logs"]


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
    """A terminal with a width: a pseudo-terminal that reports 0 columns (some CI runners,
    ``script`` without a size) gets plain lines, as a file would."""
    return _columns(stream) > 0


def _columns(stream):
    try:
        if not stream.isatty():
            return 0
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 0


def wrap_logs(logs, width, indent="  "):
    """``format_logs(logs)`` broken between metrics into lines of at most ``width`` columns
    (a single metric longer than that keeps its own line): nothing is ever cut off."""
    lines, line = [], ""
    for part in format_logs(logs).split(" - "):
        candidate = f"{line} - {part}" if line else indent + part
        if line and len(candidate) > width:
            lines.append(line)
            candidate = indent + part
        line = candidate
    return lines + ([line] if line else [])


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
            # The bar's postfix would be cut at the terminal's width, taking the validation
            # metrics with it: close the bar bare and print every metric, wrapped.
            self._close_bar(None)
            if logs:
                width = max(_columns(sys.stdout), 20)
                print("\n".join(wrap_logs(logs, width)), flush=True)
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
