"""What the monitoring callbacks share: the direction of a monitored value and reading it from the logs."""
from __future__ import annotations

import math
import warnings

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
