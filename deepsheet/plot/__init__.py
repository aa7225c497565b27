"""Figures for learners: activations, learning curves, confusion matrices, ROC/PR curves, image
grids, filters and feature maps, gradient flow, attention maps, value functions, policies and
returns, decision boundaries.

matplotlib is the optional ``plot`` extra (``pip install deepsheet[plot]``); it is imported when
a figure is first drawn, never by ``import deepsheet`` or ``import deepsheet.plot``. On a machine
without a display the Agg backend is chosen, so figures render in scripts, tests and CI. Every
function returns the ``matplotlib.figure.Figure`` it drew on, and the single-panel ones take
``ax=`` to draw into an existing ``Axes`` (then the returned figure is ``ax.figure``).

Examples
--------
>>> import deepsheet as ds
>>> fig = ds.plot.activation("tanh")                # doctest: +SKIP
>>> fig.savefig("tanh.png")                         # doctest: +SKIP
"""
from __future__ import annotations

import importlib

# function -> submodule (one family per file); loaded on first use
_WHERE = {
    "activation": "curves", "history": "curves", "gradient_flow": "curves",
    "confusion_matrix": "classification", "roc_curve": "classification",
    "precision_recall_curve": "classification", "decision_boundary": "classification",
    "images": "grids", "filters": "grids", "feature_maps": "grids", "attention": "grids",
    "value_function": "rl", "policy": "rl", "returns": "rl",
}
# (module names differ from function names: importing a submodule never shadows a function)
_MODULES = ("curves", "classification", "grids", "rl")

__all__ = sorted(_WHERE) + ["pyplot", "save"]


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in ("pyplot", "save"):
        value = getattr(importlib.import_module("._base", __name__), name)
    elif name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'deepsheet.plot' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_MODULES))
