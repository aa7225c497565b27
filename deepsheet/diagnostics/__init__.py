"""Diagnostics: convolution arithmetic, receptive fields, feature maps, bias-variance, learning curves,
and the teaching demos (universal approximation, gradient-descent variants, saturation and dead
ReLUs, saliency / Grad-CAM / activation maximization, transfer learning, continuous Bayes).

The convolution arithmetic is imported at once (every conv layer computes its output shape
with it); the other modules load on first use so ``import deepsheet`` stays fast.
"""
from __future__ import annotations

import importlib

from .conv_arithmetic import *  # noqa: F401,F403
from .conv_arithmetic import __all__ as _conv_all

# name -> submodule, for the modules loaded on first use
# (module names differ from the function names, so importing a submodule never shadows a function)
_LAZY_MODULES = ("bias_variance", "dimensionality", "receptive_fields", "features",
                 "approximation", "gd_variants", "saturation", "visualization", "transfer",
                 "bayes", "gradients")
_LAZY = {}


def _index():
    if not _LAZY:
        for mod in _LAZY_MODULES:
            for name in importlib.import_module(f".{mod}", __name__).__all__:
                _LAZY[name] = mod
    return _LAZY


def __getattr__(name):
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    mod = _index().get(name)
    if mod is None:
        raise AttributeError(f"module 'deepsheet.diagnostics' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_index()) | set(_LAZY_MODULES))


__all__ = list(_conv_all) + [  # noqa: PLE0604
    "BiasVarianceResult", "DistanceConcentration", "LearningCurve", "ReceptiveFieldTable",
    "Verdict", "bias_variance_decomposition", "bias_variance_verdict", "conv_filters",
    "curse_of_dimensionality", "feature_maps", "learning_curve", "plot_feature_maps",
    "plot_filters", "receptive_field", "receptive_field_from_specs",
    # the teaching demos
    "ApproximationResult", "BetaPosterior", "GDVariant", "GaussianClassConditional",
    "LayerStatistics", "TransferResult", "activation_maximization", "activation_statistics",
    "bar_images", "beta_binomial_posterior", "dead_relu_fraction", "grad_cam",
    "gradient_descent_variants", "saliency_map", "small_cnn_base", "transfer_learning",
    "universal_approximation",
    # gradient norms (recurrent issue)
    "gradient_norms", "sequence_gradient_norms"]
