"""The universal approximation theorem, watched: one hidden layer of growing width fitting a
1-D function, and the error falling as the layer widens."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["universal_approximation", "ApproximationResult"]


class ApproximationResult(NamedTuple):
    """What ``universal_approximation`` measured."""
    widths: list            # hidden units of each network
    errors: np.ndarray      # mean squared error on the evaluation grid, per width
    x: np.ndarray           # evaluation grid (n_eval,)
    target: np.ndarray      # f(x) on the grid
    predictions: np.ndarray  # (len(widths), n_eval): each network's fit

    def table(self):
        """Width against error, one line each."""
        lines = [f"{'width':>6}  {'MSE':>10}"]
        lines += [f"{w:>6}  {e:>10.2e}" for w, e in zip(self.widths, self.errors)]
        return "\n".join(lines)

    def plot(self, ax=None):
        """The target and each width's fit (a matplotlib Figure)."""
        from ..plot._base import axes
        fig, ax = axes(ax, (6.0, 4.0))
        ax.plot(self.x, self.target, "k", lw=3, alpha=0.4, label="f(x)")
        for w, p, e in zip(self.widths, self.predictions, self.errors):
            ax.plot(self.x, p, lw=1.2, label=f"{w} units (MSE {e:.1e})")
        ax.set_xlabel("x")
        ax.set_title("one hidden layer, growing width")
        ax.legend(fontsize=7)
        return fig


def universal_approximation(fn=None, widths=(1, 2, 4, 8, 16, 32), *, x_range=(-np.pi, np.pi),
                            n_train=128, n_eval=400, steps=1500, learning_rate=0.02,
                            activation="tanh", seed=0):
    """Fit ``fn`` on an interval with one hidden layer of each width; error against width.

    The theorem (Cybenko 1989; Hornik 1991) says a single hidden layer with enough units
    approximates any continuous function on a compact set as closely as wanted. Here each
    network is trained the same way (Adam, full batch, the same number of steps) and its
    mean squared error is measured on a finer grid than the training points: it falls as
    the layer widens.

    Formula
    -------
        f̂(x) = Σ_{j=1..N} v_j σ(w_j x + b_j) + c;   for every ε > 0 there is an N with
        sup_{x∈K} |f(x) − f̂(x)| < ε   (K compact, σ non-polynomial)

    Parameters
    ----------
    fn : callable, optional
        NumPy function of x to approximate; default sin(2x) + 0.3 x.
    widths : sequence of int
        Hidden units of each network.
    steps, learning_rate : int, float
        Full-batch Adam steps and rate, the same for every width.

    Returns
    -------
    ApproximationResult
        ``errors[i]`` is the evaluation MSE of the network with ``widths[i]`` units.

    Examples
    --------
    >>> r = universal_approximation(widths=(1, 16), steps=300)     # doctest: +SKIP
    >>> r.errors[1] < r.errors[0]                                    # doctest: +SKIP
    True
    """
    from .. import backend, layers, optimizers
    from ..autograd import no_grad
    from ..models import Sequential
    from ..tensor import Tensor
    fn = fn or (lambda x: np.sin(2 * x) + 0.3 * x)
    widths = [int(w) for w in widths]
    if not widths or min(widths) < 1:
        raise ValueError(f"widths must be positive integers, got {widths}")
    lo, hi = x_range
    x_train = np.linspace(lo, hi, n_train, dtype=np.float32)[:, None]
    y_train = np.asarray(fn(x_train.astype(np.float64)), dtype=np.float32).reshape(-1, 1)
    x_eval = np.linspace(lo, hi, n_eval, dtype=np.float32)[:, None]
    target = np.asarray(fn(x_eval.astype(np.float64)), dtype=np.float64).ravel()
    errors, predictions = [], []
    xt, yt = Tensor(x_train), Tensor(y_train)
    for width in widths:
        backend.manual_seed(seed)
        model = Sequential([layers.Dense(width, activation=activation, input_shape=(1,)),
                            layers.Dense(1)])
        opt = optimizers.Adam(model.trainable_weights, learning_rate=learning_rate)
        for _ in range(steps):
            opt.zero_grad()
            loss = ((model(xt) - yt) ** 2).mean()
            loss.backward()
            opt.step()
        with no_grad():
            pred = backend.to_numpy(model(x_eval).data).astype(np.float64).ravel()
        predictions.append(pred)
        errors.append(float(np.mean((pred - target) ** 2)))
    return ApproximationResult(widths, np.array(errors), x_eval.ravel().astype(np.float64),
                               target, np.array(predictions))
