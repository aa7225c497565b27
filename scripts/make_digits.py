"""Build deepsheet/datasets/data/digits.npz from scikit-learn's copy of the UCI digits.

Run once at build time (scikit-learn is not a dependency of deepsheet):

    python scripts/make_digits.py

It writes the 1,797 8x8 images (pixel values 0-16) as uint8, split once into a fixed
stratified partition of 1,437 training and 360 test images (seed 0), so every user and
every test sees the same split. Source: UCI Machine Learning Repository, "Optical
Recognition of Handwritten Digits" (Alpaydin & Kaynak, 1998), CC BY 4.0.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

OUT = os.path.join(os.path.dirname(__file__), os.pardir, "deepsheet", "datasets", "data", "digits.npz")
TEST_SIZE = 360
SEED = 0


def main():
    bunch = load_digits()
    images = bunch.images
    # The source values are small integers stored as floats; refuse anything else.
    if not (np.array_equal(images, np.round(images)) and images.min() >= 0 and images.max() <= 16):
        raise SystemExit("unexpected pixel values in sklearn's digits")
    x = images.astype(np.uint8)
    y = bunch.target.astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SIZE, stratify=y, random_state=SEED, shuffle=True)
    out = os.path.normpath(OUT)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    np.savez_compressed(out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    digest = hashlib.sha256(open(out, "rb").read()).hexdigest()
    print(f"wrote {out}: train {x_train.shape}, test {x_test.shape}, "
          f"{os.path.getsize(out)} bytes, sha256 {digest[:16]}")


if __name__ == "__main__":
    main()
