"""Transfer learning end to end on Fashion-MNIST: tops and trousers teach shoes and bags.

1. Pretrain a small CNN (``diagnostics.small_cnn_base`` + softmax) on classes 0-4
   (T-shirt/top, Trouser, Pullover, Dress, Coat).
2. Freeze its convolutional base and train a new softmax head on classes 5-9 (Sandal, Shirt,
   Sneaker, Bag, Ankle boot) from only a few images per class.
3. Train the same architecture from scratch on those few images.
Both are tested on every test image of classes 5-9. With little data the frozen base wins;
with plenty, scratch catches up (try --per-class 500).

Run:  python examples/transfer_learning.py [--per-class 10] [--source 10000] [--seeds 0 1 2]
(needs the Fashion-MNIST IDX files: see deepsheet.datasets.fashion_mnist)
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import deepsheet as ds
from deepsheet.diagnostics import transfer_learning


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, default=10, help="target images per class")
    parser.add_argument("--source", type=int, default=10000, help="source training images")
    parser.add_argument("--source-epochs", type=int, default=2)
    parser.add_argument("--target-epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    (x, y), (xt, yt) = ds.datasets.load("fashion-mnist")
    x, xt = x.astype(np.float32) / 255, xt.astype(np.float32) / 255
    test = yt >= 5
    rows = []
    for seed in args.seeds:
        start = time.perf_counter()
        rng = np.random.default_rng(seed)
        src = rng.choice(np.flatnonzero(y < 5), min(args.source, int((y < 5).sum())),
                         replace=False)
        tgt = np.concatenate([rng.choice(np.flatnonzero(y == c), args.per_class, replace=False)
                              for c in range(5, 10)])
        r = transfer_learning((x[src], y[src]), (x[tgt], y[tgt]), (xt[test], yt[test]),
                              source_test=(xt[~test], yt[~test]), seed=seed,
                              source_epochs=args.source_epochs,
                              target_epochs=args.target_epochs, batch_size=16)
        rows.append((r.frozen_accuracy, r.scratch_accuracy))
        print(f"seed {seed}: frozen base {r.frozen_accuracy:.4f}, scratch "
              f"{r.scratch_accuracy:.4f} (source classes: {r.source_accuracy:.4f}; "
              f"{time.perf_counter() - start:.0f} s)", flush=True)
    frozen, scratch = np.mean(rows, axis=0)
    print(f"\n{args.per_class} images per target class, {len(test.nonzero()[0])} test images, "
          f"mean of {len(rows)} seeds: frozen pretrained base {frozen:.4f}, from scratch "
          f"{scratch:.4f}")


if __name__ == "__main__":
    main()
