"""Vanishing and exploding gradients in recurrent networks, measured on the adding problem.

The adding problem (Hochreiter & Schmidhuber 1997): each sequence has T steps of two
features, a random value in [0, 1) and a marker; exactly two steps are marked (one in each
half) and the target is the sum of their values. Predicting the mean (1.0) scores an MSE of
1/6 ≈ 0.167; beating it needs information from ~T steps back.

1. ‖∂L/∂h_t‖ per step at initialization (``diagnostics.sequence_gradient_norms``) for a
   SimpleRNN, an LSTM and a GRU;
2. training a SimpleRNN and an LSTM: which one gets below the 0.167 baseline, and the
   per-step gradient after training;
3. exploding gradients: a linear SimpleRNN whose recurrent matrix is orthogonal × 1.1
   multiplies ∂L/∂h_t by ~1.1 per step back; plain SGD diverges (NaN) and
   ``clipnorm=1.0`` tames it.

    python examples/rnn_vanishing_gradients.py [--steps 100] [--epochs 30] [--figure PATH]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import deepsheet as ds  # noqa: E402
from deepsheet import diagnostics as D  # noqa: E402
from deepsheet import layers as L  # noqa: E402


def adding_problem(n, steps, seed):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, steps, 2), np.float32)
    x[:, :, 0] = rng.uniform(0, 1, (n, steps))
    first = rng.integers(0, steps // 2, n)
    second = rng.integers(steps // 2, steps, n)
    rows = np.arange(n)
    x[rows, first, 1] = 1
    x[rows, second, 1] = 1
    y = x[rows, first, 0] + x[rows, second, 0]
    return x, y[:, None].astype(np.float32)


def model_with(rnn, optimizer="adam", seed=0):
    ds.manual_seed(seed)
    model = ds.Sequential([rnn, L.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def fmt(norms):
    return (f"t=1 {norms[0]:.1e}  t=T/2 {norms[len(norms) // 2]:.1e}  t=T {norms[-1]:.1e}  "
            f"first/last {norms[0] / norms[-1]:.1e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--figure", default=None, help="save the figure here (needs matplotlib)")
    args = parser.parse_args(argv)
    steps, units = args.steps, args.units
    x, y = adding_problem(10000, steps, 0)
    xv, yv = adding_problem(2000, steps, 1)
    probe_x, probe_y = xv[:256], yv[:256]

    print(f"1. ‖∂L/∂h_t‖ at initialization, T = {steps}, batch of 256:")
    init = {}
    for name, rnn in (("SimpleRNN", L.SimpleRNN(units)), ("LSTM", L.LSTM(units)),
                      ("GRU", L.GRU(units))):
        init[name] = D.sequence_gradient_norms(model_with(rnn), probe_x, probe_y)
        print(f"   {name:9s} {fmt(init[name])}")

    print(f"\n2. training {args.epochs} epochs (Adam 1e-2, batch 64) on 10,000 sequences; "
          "baseline MSE 0.167:")
    trained = {}
    for name, make in (("SimpleRNN", lambda: L.SimpleRNN(units)), ("LSTM", lambda: L.LSTM(units))):
        model = model_with(make(), ds.optimizers.Adam(learning_rate=1e-2))
        t = time.perf_counter()
        model.fit(x, y, epochs=args.epochs, batch_size=64, verbose=0)
        mse = model.evaluate(xv, yv, verbose=0)
        mse = mse[0] if isinstance(mse, (list, tuple)) else mse
        trained[name] = D.sequence_gradient_norms(model, probe_x, probe_y)
        print(f"   {name:9s} validation MSE {mse:.4f} ({time.perf_counter() - t:.0f}s); "
              f"after training {fmt(trained[name])}")

    print("\n3. exploding: linear SimpleRNN, recurrent kernel orthogonal × 1.1, SGD 0.01:")
    explode = {}
    for clip in (None, 1.0):
        rnn = L.SimpleRNN(units, activation="linear",
                          recurrent_initializer=ds.init.Orthogonal(gain=1.1))
        model = model_with(rnn, ds.optimizers.SGD(learning_rate=0.01, clipnorm=clip))
        if clip is None:
            explode["linear ×1.1"] = D.sequence_gradient_norms(model, probe_x, probe_y)
            print(f"   at init: {fmt(explode['linear ×1.1'])}; layer gradient norms "
                  + ", ".join(f"{k} {v:.1e}" for k, v in
                              D.gradient_norms(model, probe_x, probe_y).items()))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            hist = model.fit(x[:4096], y[:4096], epochs=3, batch_size=64, verbose=0)
        losses = ", ".join(f"{v:.3g}" for v in hist.history["loss"])
        print(f"   clipnorm={clip}: training loss per epoch {losses}")

    if args.figure:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        for name, v in init.items():
            axes[0].semilogy(np.arange(1, steps + 1), v, label=f"{name} (init)")
        for name, v in trained.items():
            axes[0].semilogy(np.arange(1, steps + 1), v, "--", label=f"{name} (trained)")
        axes[0].set_title("vanishing: ‖∂L/∂h_t‖ on the adding problem")
        axes[1].semilogy(np.arange(1, steps + 1), explode["linear ×1.1"], color="crimson")
        axes[1].set_title("exploding: linear RNN, ‖U‖ = 1.1")
        for ax in axes:
            ax.set_xlabel("time step t")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("‖∂L/∂h_t‖ (batch mean)")
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        os.makedirs(os.path.dirname(os.path.abspath(args.figure)), exist_ok=True)
        fig.savefig(args.figure, dpi=110)
        print(f"\nfigure saved to {args.figure}")


if __name__ == "__main__":
    main()
