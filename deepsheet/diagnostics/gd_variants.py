"""Batch, stochastic and mini-batch gradient descent on one problem: smooth against wiggling
loss curves, updates and epochs needed, and the sheet's trade-offs as a table."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["gradient_descent_variants", "GDVariant"]


class GDVariant(NamedTuple):
    """One variant's run."""
    name: str
    batch_size: int
    learning_rate: float
    updates_per_epoch: int
    losses: np.ndarray        # full-data loss before the first update and after each update
    epoch_losses: np.ndarray  # full-data loss at the end of each epoch
    total_variation: float    # Σ |L_{k+1} − L_k| over the per-update curve
    increases: float          # fraction of updates that raised the full-data loss
    updates_to_target: int    # first update with loss <= target (-1: never)
    epochs_to_target: float   # the same in epochs


_SHEET = {  # the cheat sheet's trade-offs, per variant
    "batch": ("smooth, strictly decreasing", "larger", "all data in RAM", "easy"),
    "mini-batch": ("slightly wiggling, typically decreasing", "medium", "out-of-core", "easy"),
    "stochastic": ("wiggling, not always decreasing", "smaller", "out-of-core", "hard"),
}


class GDVariants(dict):
    """name -> GDVariant, with the comparison table and a figure."""

    target = None

    def table(self):
        """The measured numbers next to the sheet's qualitative trade-offs."""
        head = (f"{'variant':<11} {'batch':>6} {'lr':>6} {'updates/epoch':>13} "
                f"{'epochs to target':>16} {'updates to target':>17} {'total variation':>15} "
                f"{'rising steps':>12}  curve (sheet) | learning rate | memory | parallel")
        rows = [head]
        for v in self.values():
            sheet = _SHEET.get(v.name, ("", "", "", ""))
            reach = "never" if v.updates_to_target < 0 else f"{v.epochs_to_target:.2f}"
            upd = "never" if v.updates_to_target < 0 else str(v.updates_to_target)
            rows.append(f"{v.name:<11} {v.batch_size:>6} {v.learning_rate:>6g} "
                        f"{v.updates_per_epoch:>13} {reach:>16} {upd:>17} "
                        f"{v.total_variation:>15.3f} {v.increases:>12.0%}  "
                        + " | ".join(sheet))
        return "\n".join(rows)

    def plot(self, ax=None):
        """Full-data loss against epochs (fractional for per-update points)."""
        from ..plot._base import axes
        fig, ax = axes(ax, (6.5, 4.0))
        for v in self.values():
            epochs = np.arange(len(v.losses)) / v.updates_per_epoch
            ax.plot(epochs, v.losses, lw=1, label=f"{v.name} (batch {v.batch_size})")
        if self.target is not None:
            ax.axhline(self.target, ls=":", color="0.4", label="target")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss (all data)")
        ax.set_title("batch vs mini-batch vs stochastic gradient descent")
        ax.legend(fontsize=8)
        return fig


def _problem(n, features, noise, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    w = rng.normal(size=(features, 1)).astype(np.float32)
    y = (x @ w + noise * rng.normal(size=(n, 1))).astype(np.float32)
    return x, y


def gradient_descent_variants(x=None, y=None, *, batch_sizes=None, learning_rates=None,
                              epochs=5, target=None, seed=0):
    """Train one linear model by batch, mini-batch and stochastic gradient descent.

    The same model (a ``Dense(1)`` on mean squared error), the same start, plain ``SGD``:
    only the batch size b (and a learning rate that suits it) changes. After every update
    the loss on all the data is recorded, so the curves compare like with like.

    Formula
    -------
        θ ← θ − α · (1/b) Σ_{i∈B} ∇_θ L(x_i, y_i)    b = m: batch GD,  b = 1: stochastic GD,
                                                      1 < b < m: mini-batch GD
        total variation of a loss curve = Σ_k |L_{k+1} − L_k|

    Parameters
    ----------
    x, y : arrays, optional
        Regression data (N, d) and (N, 1); default 256 noisy samples of a random
        linear function of 5 features.
    batch_sizes : dict, optional
        Variant name -> batch size; default batch = N, mini-batch = 32, stochastic = 1.
    learning_rates : dict, optional
        Variant name -> learning rate; default 0.5, 0.1 and 0.01 (larger batches
        average out noise and take larger steps, as the sheet says).
    target : float, optional
        The loss counted as "reached"; default 1.5 × the least-squares optimum's loss.

    Returns
    -------
    GDVariants
        A dict name -> ``GDVariant`` with ``.table()`` and ``.plot()``.

    Examples
    --------
    >>> runs = gradient_descent_variants(epochs=3)                        # doctest: +SKIP
    >>> runs["stochastic"].total_variation > runs["batch"].total_variation  # doctest: +SKIP
    True
    """
    from .. import backend, layers, optimizers
    from ..autograd import no_grad
    from ..data import batches
    from ..models import Sequential
    from ..tensor import Tensor
    if x is None:
        x, y = _problem(256, 5, 0.3, seed)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32).reshape(len(x), -1)
    m = len(x)
    batch_sizes = batch_sizes or {"batch": m, "mini-batch": 32, "stochastic": 1}
    learning_rates = learning_rates or {"batch": 0.5, "mini-batch": 0.1, "stochastic": 0.01}
    if target is None:
        best, *_ = np.linalg.lstsq(np.c_[x, np.ones(m)], y, rcond=None)
        target = 1.5 * float(np.mean((np.c_[x, np.ones(m)] @ best - y) ** 2))
    xt, yt = Tensor(x), Tensor(y)
    runs = GDVariants()
    runs.target = target
    for name, b in batch_sizes.items():
        b = min(int(b), m)
        lr = float(learning_rates[name])
        backend.manual_seed(seed)
        model = Sequential([layers.Dense(y.shape[1], input_shape=(x.shape[1],))])
        opt = optimizers.SGD(model.trainable_weights, learning_rate=lr)

        def full_loss():
            with no_grad():
                return float(((model(xt) - yt) ** 2).mean().item())

        losses, epoch_losses = [full_loss()], []
        for _ in range(epochs):
            for xb, yb in batches(x, y, batch_size=b, shuffle=b < m, steps=None):
                opt.zero_grad()
                loss = ((model(Tensor(xb)) - Tensor(yb)) ** 2).mean()
                loss.backward()
                opt.step()
                losses.append(full_loss())
            epoch_losses.append(losses[-1])
        losses = np.array(losses)
        steps = np.diff(losses)
        per_epoch = -(-m // b)
        hit = np.flatnonzero(losses <= target)
        first = int(hit[0]) if hit.size else -1
        runs[name] = GDVariant(name, b, lr, per_epoch, losses, np.array(epoch_losses),
                               float(np.abs(steps).sum()), float(np.mean(steps > 0)),
                               first, first / per_epoch if first >= 0 else float("nan"))
    return runs
