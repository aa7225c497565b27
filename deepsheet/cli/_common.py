"""What the model subcommands share: argument types, finding and loading a model file, tables."""
from __future__ import annotations

import argparse
import os

import numpy as np  # already loaded by the package itself (backend), so free here

MODEL_FILE = "model.deepsheet"


def _number_arg(convert, ok, expected):
    """An argparse type: ``convert(text)`` checked by ``ok``; errors say what was expected."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value
    return parse


_positive_int = _number_arg(int, lambda v: v >= 1, "a positive integer")
_positive_float = _number_arg(float, lambda v: 0.0 < v < float("inf"), "a positive number")
_fraction = _number_arg(float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")


def _model_files_near(folder):
    """Up to 8 model files in ``folder`` and its run subfolders, for error messages."""
    found = []
    runs = os.path.join(folder, "runs")
    for where in (folder, runs) if os.path.isdir(runs) else (folder,):
        try:
            entries = sorted(os.listdir(where or "."))
        except OSError:
            continue
        for entry in entries:
            full = os.path.join(where, entry)
            if entry.startswith(".tmp-"):  # an interrupted save's leftover, never a model
                continue
            if entry.endswith(".deepsheet") and os.path.isfile(full):
                found.append(full)
            elif os.path.isfile(os.path.join(full, MODEL_FILE)):
                found.append(os.path.join(full, MODEL_FILE))
    return found[:8]


def _model_path(path):
    """The model file that ``path`` names: a ``.deepsheet`` file, the same without its
    extension, or a run folder holding ``model.deepsheet``."""
    if os.path.isdir(path):
        inside = os.path.join(path, MODEL_FILE)
        if os.path.isfile(inside):
            return inside
        near = _model_files_near(path)
        raise FileNotFoundError(f"{path!r} is a folder without a {MODEL_FILE}"
                                + (f"; model files there: {', '.join(near)}" if near else ""))
    if os.path.exists(path):
        return path
    if os.path.exists(path + ".deepsheet"):
        return path + ".deepsheet"
    folder = os.path.dirname(path)
    near = _model_files_near(folder)
    where = folder or "the current folder"
    raise FileNotFoundError(
        f"no model file at {path!r}; " + (f"model files in {where}: {', '.join(near)}" if near
                                          else f"none in {where} (train one with `deepsheet train`)"))


def _load_dataset(name_or_path, scale=None):
    """``recipes.load_dataset`` where an unknown name is a usage error (exit status 2)."""
    from .. import recipes
    from ._registry import UsageError
    try:
        return recipes.load_dataset(name_or_path, scale=scale)
    except ValueError as exc:
        if str(exc).startswith("unknown dataset") and not os.path.exists(name_or_path):
            raise UsageError(f"--dataset: {exc}") from None
        raise


def _load_model(path):
    from ..saving import load_model
    path = _model_path(path)
    return path, load_model(path)


def _preprocessing(model):
    meta = getattr(model, "checkpoint_metadata", None) or {}
    return meta.get("preprocessing") or {}, meta.get("run") or {}


def _class_predictions(outputs):
    outputs = outputs[0] if isinstance(outputs, list) else outputs
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return outputs.argmax(axis=1)
    return (outputs.reshape(len(outputs), -1)[:, 0] > 0.5).astype(np.int64)


def _accuracy_and_loss(model, x, y, batch_size, return_outputs=False):
    """(accuracy from the predicted classes, loss or None when the model is not compiled);
    with ``return_outputs`` also the model's outputs (for the per-class report and figures)."""
    loss = None
    if getattr(model, "_compiled", False):
        logs = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
        loss = logs["loss"]
    outputs = model.predict(x, batch_size=batch_size, verbose=0)
    pred = _class_predictions(outputs)
    acc = float((pred == y).mean()) if len(y) else float("nan")
    return (acc, loss, outputs) if return_outputs else (acc, loss)


def _table(rows, header=("", "loss", "accuracy")):
    def cell(v):
        return "-" if v is None else f"{v:.4f}"
    width = max(len(r[0]) for r in rows + [header])
    lines = [f"{header[0]:<{width}}  {header[1]:>8}  {header[2]:>8}"]
    lines += [f"{name:<{width}}  {cell(loss):>8}  {cell(acc):>8}" for name, loss, acc in rows]
    return "\n".join(lines)


def _new_run_folder(dataset, model_name):
    import time
    base = os.path.join("runs", f"{dataset}-{model_name}-{time.strftime('%Y%m%d-%H%M%S')}")
    folder, n = base, 1
    while os.path.exists(folder):
        folder, n = f"{base}-{n}", n + 1
    return folder


def _input_shape(model):
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, list):
        raise ValueError(f"model '{model.name}' has {len(shape)} inputs; the command line "
                         "handles single-input image models")
    return tuple(shape[1:])
