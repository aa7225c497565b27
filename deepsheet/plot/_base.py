"""What every figure needs: matplotlib imported lazily (Agg when headless), new or given axes,
arrays brought to the host, and an atomic PNG save."""
from __future__ import annotations

import os
import sys

import numpy as np

__all__ = ["pyplot", "save"]

INSTALL_HINT = "pip install deepsheet[plot]"


def pyplot():
    """``matplotlib.pyplot``, imported on first use; the Agg backend when there is no display.

    Raises
    ------
    ImportError
        When matplotlib is not installed; the message says ``pip install deepsheet[plot]``.
    """
    if "matplotlib.pyplot" in sys.modules:
        return sys.modules["matplotlib.pyplot"]
    try:
        import matplotlib
    except ImportError:
        raise ImportError(f"deepsheet.plot draws with matplotlib, which is not installed: "
                          f"{INSTALL_HINT}") from None
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    # An explicit MPLBACKEND (or an interactive session's choice) wins; only pick Agg when
    # nothing could open a window anyway, so scripts and CI never fail on a missing display.
    if headless and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def axes(ax=None, figsize=(5.0, 4.0)):
    """``(figure, ax)``: the given axes and its figure, or a new figure with one axes."""
    if ax is not None:
        if not hasattr(ax, "figure") or not hasattr(ax, "plot"):
            raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
        return ax.figure, ax
    plt = pyplot()
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def subplots(nrows, ncols, size):
    """A new figure with an (nrows, ncols) grid of axes, each ``size`` inches wide and high."""
    plt = pyplot()
    w, h = size if isinstance(size, tuple) else (size, size)
    return plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False)


def host(x, name="x", dtype=None):
    """``x`` (a Tensor, CuPy or NumPy array, list) as a NumPy array."""
    data = getattr(x, "data", x) if type(x).__name__ == "Tensor" else x
    if hasattr(data, "get") and type(data).__module__.startswith("cupy"):
        data = data.get()
    try:
        return np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be array-like, got {type(x).__name__} ({exc})") from None


def names_for(names, n):
    """``n`` display names: the given ones (checked) or the class indices."""
    if names is None:
        return [str(i) for i in range(n)]
    names = [str(s) for s in names]
    if len(names) < n:
        raise ValueError(f"class_names has {len(names)} entries, need {n}")
    return names[:n]


def save(fig, path, dpi=100, close=True):
    """Write ``fig`` to ``path`` (format from the suffix) atomically; close it unless ``close=False``.

    Returns the path. A crash mid-write leaves no half-written image behind.
    """
    folder = os.path.dirname(os.path.abspath(path))
    base, ext = os.path.splitext(os.path.basename(path))
    tmp = os.path.join(folder, f".{base}.tmp{os.getpid()}{ext}")
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
        if close:
            pyplot().close(fig)
    return path
