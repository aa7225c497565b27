"""The reference Fashion-MNIST classifier that scores generated images (GAN issue).

Trains the reference CNN recipe (``deepsheet.recipes.cnn``: two conv–pool stages with 32
and 64 filters, Dense 128 ReLU, Dropout 0.25, softmax; Adam 1e-3, batch 128, pixels in
[0, 1]) and saves it. ``deepsheet.gan.inception_score`` uses its class probabilities,
``deepsheet.gan.frechet_distance`` its penultimate (Dense 128) features, and
``deepsheet.gan.class_coverage`` its predicted classes. Generated images in [-1, 1] are
mapped to [0, 1] before they are classified (``deepsheet.gan.unscale_images``).

The saved model is not committed (1.7 MB); ``examples/fashion_dcgan.py`` runs this script
when the file is missing.

Run:

    OPENBLAS_NUM_THREADS=1 python examples/fashion_classifier.py            # 4 epochs
    python examples/fashion_classifier.py --out runs/fashion_classifier.deepsheet
"""
from __future__ import annotations

import argparse
import os
import time

import deepsheet as ds
from deepsheet import recipes

DEFAULT_PATH = os.path.join("runs", "fashion_classifier.deepsheet")


def train(out=DEFAULT_PATH, epochs=4, seed=0, verbose=2):
    """Train the reference CNN on Fashion-MNIST, save it to ``out``; returns (model, test accuracy)."""
    ds.manual_seed(seed)
    data = recipes.load_dataset("fashion-mnist")
    model = recipes.build_model("cnn", data.input_shape, data.classes)
    t = time.perf_counter()
    model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=128, verbose=verbose)
    print(f"trained in {time.perf_counter() - t:.0f} s")
    _, acc = model.evaluate(data.x_test, data.y_test, batch_size=1000, verbose=0)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    model.save(out)
    print(f"test accuracy {acc:.4f}; saved to {out}")
    return model, acc


def load_or_train(path=DEFAULT_PATH, epochs=4):
    """The saved classifier at ``path``, trained first when the file does not exist."""
    if not os.path.exists(path):
        print(f"{path} not found: training the reference classifier ({epochs} epochs)")
        return train(path, epochs)[0]
    return ds.saving.load_model(path)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_PATH)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    train(args.out, args.epochs, args.seed)
