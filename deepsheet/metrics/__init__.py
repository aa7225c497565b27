"""Metrics: streaming metrics used by ``fit``/``evaluate`` and scikit-learn-style functions on arrays."""
from .base import *  # noqa: F401,F403  (Metric base, Mean, accuracies, MSE/MAE)
from .classification import *  # noqa: F401,F403  (functions on arrays)
from .streaming import *  # noqa: F401,F403  (Precision, Recall, AUC, F1Score)
from .counts import *  # noqa: F401,F403  (TruePositives, FalsePositives, TrueNegatives, FalseNegatives)
