"""Curves over an axis: an activation and its derivative, a training history, gradient norms."""
from __future__ import annotations

import csv
import os
from collections.abc import Mapping

import numpy as np

from ._base import axes, host, pyplot

__all__ = ["activation", "history", "gradient_flow"]


def _derivative(fn, x):
    """f(x) and f'(x) of an element-wise ``fn``: by autograd when it takes Tensors, else by
    central differences."""
    from ..tensor import Tensor
    t = Tensor(x.copy(), requires_grad=True)
    try:
        y = fn(t)
    except TypeError:
        y = None
    if isinstance(y, Tensor):
        if y.shape != t.shape:
            raise ValueError(f"activation must be element-wise (output shape {y.shape} for input "
                             f"{t.shape}); softmax-like functions have no 1-D curve")
        y.sum().backward()
        return host(y), host(t.grad)
    f = np.asarray(fn(x), dtype=np.float64)
    if f.shape != x.shape:
        raise ValueError(f"activation must be element-wise (output shape {f.shape} for input "
                         f"{x.shape})")
    h = 1e-4
    d = (np.asarray(fn(x + h), np.float64) - np.asarray(fn(x - h), np.float64)) / (2 * h)
    return f, d


def activation(fn, x=None, *, derivative=True, ax=None, label=None):
    """Draw an activation function and (dashed) its derivative.

    Parameters
    ----------
    fn : str or callable
        A name known to ``deepsheet.functional.get_activation`` ("relu", "sigmoid", "tanh",
        "leaky_relu", "elu", "gelu", "softplus", "swish"), or an element-wise function of a
        Tensor (derivative by autograd) or of a NumPy array (central differences).
    x : array, optional
        Where to evaluate it; default 401 points on [-5, 5].
    derivative : bool
        Also draw f'(x).
    ax : matplotlib Axes, optional
    label : str, optional
        Legend name; default the function's name.

    Returns
    -------
    matplotlib.figure.Figure
        Lines: f(x) first, then f'(x) when ``derivative``.

    Examples
    --------
    >>> fig = activation("sigmoid")      # doctest: +SKIP   (f'(0) = 0.25 is the peak)
    """
    from ..functional import get_activation
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", "f")
    func = get_activation(fn) if isinstance(fn, str) else fn
    if not callable(func):
        raise TypeError(f"fn must be an activation name or a callable, got {type(fn).__name__}")
    x = np.linspace(-5.0, 5.0, 401) if x is None else host(x, "x", np.float64).ravel()
    f, d = _derivative(func, x.astype(np.float64))
    label = label or name
    fig, ax = axes(ax, (5.0, 3.5))
    ax.plot(x, f, label=f"{label}(x)", lw=2)
    if derivative:
        ax.plot(x, d, "--", label=f"{label}'(x)", lw=1.5)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.axvline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("x")
    ax.set_title(label)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return fig


# ---------------------------------------------------------------- history

def _read_history(history):
    """(epochs, {name: values}) from a History, a dict of lists, or a CSV file (CSVLogger)."""
    epochs = None
    if isinstance(history, (str, os.PathLike)):
        path = os.fspath(history)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no history file at {path!r}")
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            raise ValueError(f"history file {path!r} has no epochs")
        logs = {k: [float(r[k]) if r[k] not in ("", None) else np.nan for r in rows]
                for k in rows[0] if k != "epoch"}
        if "epoch" in rows[0]:
            epochs = [int(float(r["epoch"])) + 1 for r in rows]  # CSVLogger counts from 0
    elif hasattr(history, "history") and isinstance(history.history, Mapping):
        logs = dict(history.history)
        if getattr(history, "epoch", None):
            epochs = [e + 1 for e in history.epoch]
    elif isinstance(history, Mapping):
        logs = dict(history)
    else:
        raise TypeError(f"history must be a History (from fit), a dict of per-epoch lists or "
                        f"a CSV path, got {type(history).__name__}")
    logs = {k: np.asarray(v, dtype=np.float64).ravel() for k, v in logs.items()}
    if not logs or max(len(v) for v in logs.values()) == 0:
        raise ValueError("history has no epochs to draw")
    n = max(len(v) for v in logs.values())
    if epochs is None or len(epochs) != n:
        epochs = list(range(1, n + 1))
    return np.asarray(epochs), logs


def _integer_ticks():
    from matplotlib.ticker import MaxNLocator
    return MaxNLocator(integer=True)


def _lower_is_better(name):
    return any(word in name for word in ("loss", "error", "mse", "mae", "perplexity"))


def best_epoch(values, name):
    """Index of the best finite value (min for losses and errors, max for scores), or None."""
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).any():
        return None
    filled = np.where(np.isfinite(values), values, np.inf if _lower_is_better(name) else -np.inf)
    return int(np.argmin(filled) if _lower_is_better(name) else np.argmax(filled))


def history(history, metrics=None, *, ax=None, size=(4.5, 3.5)):
    """Learning curves: each metric per epoch, training against validation, best epoch marked.

    The gap between the two curves is the picture of over-fitting (validation turns up while
    training keeps falling) and under-fitting (both stay high). The best epoch is the lowest
    validation loss/error or the highest validation score (the training value when the run
    had no validation data).

    Parameters
    ----------
    history : History, dict or str
        ``model.fit(...)``'s return value, its ``.history`` dict, or a ``history.csv``
        written by ``CSVLogger`` (``deepsheet train`` writes one per run).
    metrics : str or list of str, optional
        Which to draw ("loss", "accuracy", ...); default every training metric, loss first.
    ax : Axes or list of Axes, optional
        One axes per metric.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per metric; in each, the training line, the validation line (when the
        history has ``val_<metric>``) and the best-epoch marker.
    """
    epochs, logs = _read_history(history)
    names = [k for k in logs if not k.startswith("val_")]
    names += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in logs]
    names = sorted(names, key=lambda k: k != "loss")  # stable: loss first, then fit's order
    if metrics is not None:
        wanted = [metrics] if isinstance(metrics, str) else list(metrics)
        unknown = [m for m in wanted if m not in logs and f"val_{m}" not in logs]
        if unknown:
            raise ValueError(f"history has no metric {unknown[0]!r}; it has "
                             f"{', '.join(names)}")
        names = wanted
    if ax is None:
        from ._base import subplots
        fig, grid = subplots(1, len(names), size)
        panels = list(grid.flat)
    else:
        panels = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
        if len(panels) != len(names):
            raise ValueError(f"history draws {len(names)} panels ({', '.join(names)}); got "
                             f"{len(panels)} axes (pass metrics= or one axes per metric)")
        fig = panels[0].figure
    for panel, name in zip(panels, names):
        train, val = logs.get(name), logs.get(f"val_{name}")
        if train is not None:
            panel.plot(epochs[:len(train)], train, "o-", ms=3, label="training")
        if val is not None:
            panel.plot(epochs[:len(val)], val, "s-", ms=3, label="validation")
        ref = val if val is not None else train
        # a logged learning rate (ReduceLROnPlateau, schedules) has no "best" epoch
        best = None if name in ("lr", "learning_rate") else best_epoch(ref, name)
        if best is not None:
            panel.axvline(epochs[best], color="0.5", ls=":", lw=1)
            panel.plot([epochs[best]], [ref[best]], "*", color="crimson", ms=12,
                       label=f"best epoch {epochs[best]} ({ref[best]:.4g})")
        panel.set_xlabel("epoch")
        panel.xaxis.set_major_locator(_integer_ticks())
        panel.set_ylabel(name)
        panel.set_title(name if val is not None else f"{name} (no validation data)")
        panel.grid(alpha=0.3)
        panel.legend(loc="best", fontsize=8)
    if ax is None:
        fig.tight_layout()
    return fig


# ---------------------------------------------------------------- gradient flow

def _norms_from(grads):
    """[(name, norm)] from a model (its weights' .grad), a mapping or a list of pairs."""
    if hasattr(grads, "trainable_weights"):
        pairs = []
        for i, w in enumerate(grads.trainable_weights):
            g = getattr(w, "grad", None)
            name = getattr(w, "path", None) or getattr(w, "name", None) or f"weight_{i}"
            pairs.append((str(name), np.nan if g is None else float(np.linalg.norm(host(g)))))
        if not pairs:
            raise ValueError("gradient_flow: the model has no trainable weights")
        return pairs
    items = grads.items() if isinstance(grads, Mapping) else grads
    try:
        return [(str(k), float(np.linalg.norm(host(v, f"gradient {k!r}", np.float64))))
                for k, v in items]
    except (TypeError, ValueError):
        raise TypeError("gradient_flow expects a model after backward(), a mapping "
                        "name -> gradient (or its norm), or a list of (name, value) pairs"
                        ) from None


def gradient_flow(grads, *, per_step=False, ax=None, log=True, xlabel=None):
    """Gradient norms per layer (bars) or per time step (lines): vanishing and exploding
    gradients made visible.

    Formula
    -------
        ‖g‖₂ = sqrt(Σ g_i²) of each weight's gradient ∂L/∂W (or of ∂L/∂h_t per step)

    Parameters
    ----------
    grads : Model, mapping or list
        A model whose weights hold ``.grad`` (after ``loss.backward()``), a mapping
        name -> gradient array or norm, or (name, value) pairs: one bar each. With
        ``per_step=True``: one 1-D series of norms per time step, or a mapping
        label -> series (e.g. {"SimpleRNN": ..., "LSTM": ...}) drawn as lines.
    log : bool
        Logarithmic y axis (norms span orders of magnitude when they vanish).

    Returns
    -------
    matplotlib.figure.Figure
        Bars (a ``BarContainer``) per layer, or one line per series; zero or missing
        gradients are marked with an ``x`` at the bottom.
    """
    fig, ax = axes(ax, (6.0, 3.5))
    if per_step:
        series = dict(grads) if isinstance(grads, Mapping) else {"‖∂L/∂h_t‖": grads}
        for label, values in series.items():
            v = host(values, f"gradient norms {label!r}", np.float64).ravel()
            ax.plot(np.arange(1, len(v) + 1), v, label=str(label))
        ax.set_xlabel(xlabel or "time step t")
        ax.legend(loc="best")
    else:
        pairs = _norms_from(grads)
        names = [p[0] for p in pairs]
        norms = np.array([p[1] for p in pairs])
        ok = np.isfinite(norms) & (norms > 0)
        shown = np.where(ok, norms, np.nan)
        ax.bar(np.flatnonzero(ok), norms[ok], color="tab:blue")
        if (~ok).any():
            floor = np.nanmin(shown) / 10 if ok.any() else 1e-12
            ax.plot(np.flatnonzero(~ok), np.full((~ok).sum(), floor), "x", color="crimson",
                    label="zero or missing gradient")
            ax.legend(loc="best")
        ax.set_xticks(np.arange(len(names)))
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
        ax.set_xlabel(xlabel or "weight")
    if log:
        ax.set_yscale("log")
    ax.set_ylabel("gradient norm")
    ax.set_title("gradient flow")
    ax.grid(alpha=0.3, axis="y")
    if fig.get_axes() == [ax]:
        fig.tight_layout()
    return fig
