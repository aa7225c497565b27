"""The teaching demos of deepsheet.diagnostics, run one after the other, with their figures.

Each demo prints what it measured and saves a small PNG (the README shows them):

* activations.png      sigmoid, tanh, ReLU, ELU and their derivatives   (ds.plot.activation)
* universal.png        one hidden layer of growing width fitting a curve (universal_approximation)
* gd_variants.png      batch vs mini-batch vs stochastic gradient descent (gradient_descent_variants)
* saturation.png       activation spread across 10 layers, Xavier vs He   (activation_statistics)
* saliency.png         saliency and Grad-CAM of a small CNN on bar images (saliency_map, grad_cam)
* gridworld.png        V* and π* of Sutton & Barto's 4x4 grid            (ds.plot.value_function, policy)
* bayes.png            Beta posterior of a test accuracy, 8/10 vs 80/100   (beta_binomial_posterior)

Run:  python examples/teaching_demos.py [--out docs/figures] [--dpi 60]
(about a minute on 2 cores; matplotlib needed: pip install deepsheet[plot])
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import deepsheet as ds
from deepsheet import diagnostics as dg
from deepsheet import plot


def activations(out, dpi):
    fig, axes = plot.pyplot().subplots(1, 4, figsize=(12, 2.8))
    for ax, name in zip(axes, ("sigmoid", "tanh", "relu", "elu")):
        plot.activation(name, ax=ax)
    fig.tight_layout()
    plot.save(fig, os.path.join(out, "activations.png"), dpi=dpi)


def universal(out, dpi):
    r = dg.universal_approximation(widths=(1, 2, 4, 16), steps=1500)
    print("universal approximation (one hidden tanh layer, 1500 Adam steps):")
    print(r.table())
    plot.save(r.plot(), os.path.join(out, "universal.png"), dpi=dpi)


def gd_variants(out, dpi):
    runs = dg.gradient_descent_variants(epochs=3)
    print("\ngradient-descent variants (linear regression, 256 samples, 3 epochs):")
    print(runs.table())
    plot.save(runs.plot(), os.path.join(out, "gd_variants.png"), dpi=dpi)


def saturation(out, dpi):
    stats = dg.activation_statistics(("sigmoid", "tanh", "relu"), ("glorot_normal", "he_normal"))
    fig, (a, g) = plot.pyplot().subplots(1, 2, figsize=(10, 3.5))
    for (act, init), s in stats.items():
        label = f"{act}, {init.split('_')[0]}"
        style = "-" if init.startswith("glorot") else "--"
        a.plot(np.arange(1, len(s.activation_std) + 1), s.activation_std, style, label=label)
        g.plot(np.arange(1, len(s.gradient_std) + 1), s.gradient_std, style, label=label)
    a.set(title="std of activations per layer", xlabel="layer", yscale="log")
    g.set(title="std of dL/dz per layer (backprop)", xlabel="layer", yscale="log")
    a.legend(fontsize=7)
    fig.tight_layout()
    plot.save(fig, os.path.join(out, "saturation.png"), dpi=dpi)
    print("\nlast-layer activation std (Xavier vs He):",
          {k: round(float(v.activation_std[-1]), 3) for k, v in stats.items()})


def saliency(out, dpi):
    x, y, _ = dg.bar_images(600)
    ds.manual_seed(0)
    inp = ds.Input((12, 12, 1))
    h = ds.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(inp)
    h = ds.layers.GlobalAveragePooling2D()(h)
    model = ds.Model(inp, ds.layers.Dense(3, activation="softmax")(h))
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:500], y[:500], epochs=6, batch_size=32, verbose=0)
    pick = [i for i in range(500, 600) if y[i] < 2][:4]
    sal = dg.saliency_map(model, x[pick])
    cam = dg.grad_cam(model, x[pick], "conv")
    image, _ = dg.activation_maximization(model, "conv", 3, steps=40)
    rows = [x[pick][..., 0], sal, cam]
    fig, axes = plot.pyplot().subplots(3, 5, figsize=(8, 5))
    for r, (title, maps) in enumerate(zip(("image", "saliency", "Grad-CAM"), rows)):
        for c in range(4):
            axes[r, c].imshow(maps[c], cmap="gray" if r == 0 else "magma")
            axes[r, c].axis("off")
        axes[r, 0].set_title(title, fontsize=9, loc="left")
        axes[r, 4].axis("off")
    axes[0, 4].imshow(image[..., 0], cmap="gray")
    axes[0, 4].set_title("filter 3, maximized", fontsize=8)
    fig.tight_layout()
    plot.save(fig, os.path.join(out, "saliency.png"), dpi=dpi)
    print(f"\nbar classifier test accuracy: {model.evaluate(x[500:], y[500:], verbose=0)[1]:.3f}")


def gridworld(out, dpi):
    from deepsheet import rl
    world = rl.GridWorld("sutton-4x4")
    V, pi = rl.value_iteration(world.mdp())
    fig, (a, b) = plot.pyplot().subplots(1, 2, figsize=(8, 3.6))
    plot.value_function(V, world, terminals=np.flatnonzero(world.terminal), ax=a)
    plot.policy(pi, world, actions=plot.rl.FROZEN_LAKE_ACTIONS, values=V,
                terminals=np.flatnonzero(world.terminal), ax=b)
    fig.tight_layout()
    plot.save(fig, os.path.join(out, "gridworld.png"), dpi=dpi)


def bayes(out, dpi):
    fig, ax = plot.pyplot().subplots(figsize=(5, 3))
    p = np.linspace(0, 1, 400)
    for k, n in ((8, 10), (80, 100)):
        post = dg.beta_binomial_posterior(k, n)
        lo, hi = post.interval(0.95)
        ax.plot(p, post.pdf(p), label=f"{k}/{n} correct: 95% in [{lo:.2f}, {hi:.2f}]")
        print(f"accuracy {k}/{n}: posterior mean {post.mean:.3f}, 95% interval [{lo:.3f}, {hi:.3f}]")
    ax.set(xlabel="accuracy p", ylabel="posterior density", title="Beta-Binomial posterior")
    ax.legend(fontsize=8)
    fig.tight_layout()
    plot.save(fig, os.path.join(out, "bayes.png"), dpi=dpi)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="docs/figures")
    parser.add_argument("--dpi", type=int, default=60)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for demo in (activations, universal, gd_variants, saturation, saliency, gridworld, bayes):
        demo(args.out, args.dpi)
    print(f"\nfigures in {args.out}")


if __name__ == "__main__":
    main()
