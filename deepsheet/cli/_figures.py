"""The pictures of a run: learning curves, confusion matrix, misclassified examples, ROC curves;
and the per-class report. Shared by ``train``, ``evaluate`` and ``report``."""
from __future__ import annotations

import importlib.util
import os

import numpy as np

PLOT_HINT = "pip install deepsheet[plot]"
RUN_FIGURES = ("history.png", "confusion_matrix.png", "misclassified.png")


def have_matplotlib():
    return importlib.util.find_spec("matplotlib") is not None


def class_names(dataset, k):
    """Display names of the k classes of a run's dataset."""
    if dataset == "fashion-mnist" and k == 10:
        from ..datasets.fashion_mnist import CLASS_NAMES
        return list(CLASS_NAMES)
    return [str(i) for i in range(k)]


def outputs_of(model, x, batch_size, out=None):
    """The model's (N, classes) outputs on x (a one-unit sigmoid becomes two columns);
    ``out`` when the caller already has them."""
    if out is None:
        out = model.predict(x, batch_size=batch_size, verbose=0)
    out = np.asarray(out[0] if isinstance(out, list) else out, dtype=np.float64)
    if out.ndim == 2 and out.shape[1] == 1:
        out = np.concatenate([1 - out, out], axis=1)
    return out


def per_class_report(y_true, outputs, names):
    """(text, dict) of scikit-learn's classification_report over all the model's classes."""
    from ..metrics import classification_report
    pred = outputs.argmax(axis=1)
    labels = list(range(outputs.shape[1]))
    kw = dict(labels=labels, target_names=names, digits=4, zero_division=0)
    return (classification_report(y_true, pred, **kw),
            classification_report(y_true, pred, output_dict=True, **kw))


def misclassified(x, y_true, outputs, n=24):
    """Indices of the worst-missed test images: wrong, most confident first."""
    pred = outputs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    confidence = outputs[wrong, pred[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:n]


def _images(x):
    x = np.asarray(x)
    return x[..., 0] if x.ndim == 4 and x.shape[-1] == 1 else x


def draw(kind, *, history_csv=None, y_true=None, outputs=None, x=None, names=None):
    """One figure of the run: "history", "confusion_matrix", "misclassified" or "roc"."""
    from .. import plot
    if kind == "history":
        return plot.history(history_csv)
    if kind == "confusion_matrix":
        return plot.confusion_matrix(y_true, outputs.argmax(axis=1),
                                     labels=list(range(outputs.shape[1])), class_names=names)
    if kind == "roc":
        return plot.roc_curve(y_true, outputs, class_names=names)
    if kind == "misclassified":
        idx = misclassified(x, y_true, outputs)
        if len(idx) == 0:
            return None
        return plot.images(_images(x[idx]), y_true[idx], outputs[idx].argmax(axis=1),
                           class_names=names, ncols=8,
                           title="misclassified test images (true → predicted), most "
                                 "confident first")
    raise ValueError(f"unknown figure {kind!r}")


def write_run_figures(folder, *, y_true, outputs, x, names):
    """history.png, confusion_matrix.png, misclassified.png into ``folder``; returns their
    names (empty, and a hint is the caller's to print, when matplotlib is missing)."""
    if not have_matplotlib():
        return []
    from ..plot import save
    written = []
    csv = os.path.join(folder, "history.csv")
    for kind in ("history", "confusion_matrix", "misclassified"):
        if kind == "history" and not os.path.isfile(csv):
            continue
        fig = draw(kind, history_csv=csv, y_true=y_true, outputs=outputs, x=x, names=names)
        if fig is not None:
            save(fig, os.path.join(folder, f"{kind}.png"))
            written.append(f"{kind}.png")
    return written
