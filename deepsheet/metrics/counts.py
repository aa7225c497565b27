"""Confusion counts as streaming metrics (Keras's ``TruePositives``, ``FalsePositives``,
``TrueNegatives``, ``FalseNegatives``): weighted counts accumulated over an epoch.

A prediction is positive when ``y_pred > threshold`` (0.5 by default), a target when it is
non-zero; every element counts (multi-label outputs count each label). With a list of
thresholds the result is one count per threshold.
"""
from __future__ import annotations

import numpy as np

from ._validation import to_host
from .base import Metric

__all__ = ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives"]


class _ConfusionCount(Metric):
    """Weighted count of one cell of the binary confusion matrix, per threshold."""

    # which cell: (target positive, prediction positive)
    cell = (True, True)

    def __init__(self, thresholds=None, name=None, dtype="float32"):
        single = thresholds is None or np.ndim(thresholds) == 0
        values = [0.5 if thresholds is None else thresholds] if single else list(thresholds)
        for t in values:
            if isinstance(t, bool) or not isinstance(t, (int, float, np.floating)) \
                    or not 0.0 <= float(t) <= 1.0:
                raise ValueError(f"{type(self).__name__}: thresholds must lie in [0, 1], got "
                                 f"{thresholds!r}")
        self._single = single
        self.thresholds = float(values[0]) if single else [float(t) for t in values]
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        n = 1 if self._single else len(self.thresholds)
        self.accumulator = np.zeros(n, dtype=np.float64)

    def update_state(self, y_true, y_pred, sample_weight=None):
        t = np.asarray(to_host(y_true, "y_true"))
        p = np.asarray(to_host(getattr(y_pred, "data", y_pred), "y_pred"))
        if t.size != p.size:
            raise ValueError(f"{self.name}: y_true has {t.size} values, y_pred {p.size}")
        t = t.reshape(p.shape) != 0
        if sample_weight is None:
            w = np.ones(p.shape)
        else:  # per-sample weights (N,) extend over the other axes
            w = np.asarray(to_host(sample_weight, "sample_weight"), np.float64)
            w = np.broadcast_to(w.reshape(w.shape + (1,) * (p.ndim - w.ndim)), p.shape)
        want_t, want_p = self.cell
        on_t = t if want_t else ~t
        thresholds = [self.thresholds] if self._single else self.thresholds
        for i, thr in enumerate(thresholds):
            pred = p > thr
            self.accumulator[i] += float(w[on_t & (pred if want_p else ~pred)].sum())

    def result(self):
        return float(self.accumulator[0]) if self._single else self.accumulator.copy()

    def get_config(self):
        return {**super().get_config(), "thresholds": self.thresholds}


class TruePositives(_ConfusionCount):
    """Σ w over elements with target 1 and prediction above the threshold."""

    cell = (True, True)


class FalsePositives(_ConfusionCount):
    """Σ w over elements with target 0 and prediction above the threshold."""

    cell = (False, True)


class TrueNegatives(_ConfusionCount):
    """Σ w over elements with target 0 and prediction at or below the threshold."""

    cell = (False, False)


class FalseNegatives(_ConfusionCount):
    """Σ w over elements with target 1 and prediction at or below the threshold."""

    cell = (True, False)
