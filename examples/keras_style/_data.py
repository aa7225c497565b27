"""Data for the Keras-style examples: Fashion-MNIST when its files are installed, else (or
with ``--dataset digits``) the embedded 8x8 digits enlarged to 28x28, so every program runs
anywhere. ``--samples`` keeps the first n training and n/4 test images (quick runs)."""
import argparse

import numpy as np

import deepsheet as ds


def arguments(description, epochs, argv=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "digits"])
    parser.add_argument("--samples", type=int, default=None, help="training images to use")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--workdir", default=".", help="where checkpoints are written")
    return parser.parse_args(argv)


def load_images(dataset="fashion-mnist", samples=None):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (n, 28, 28), int labels."""
    try:
        (x_train, y_train), (x_test, y_test) = ds.datasets.load(dataset)
    except (FileNotFoundError, OSError):
        (x_train, y_train), (x_test, y_test) = ds.datasets.load("digits")
    if x_train.shape[1:] == (8, 8):  # 8x8 digits, values 0..16: enlarge to 28x28, 0..255
        def grow(x):
            x = np.kron(x, np.ones((3, 3), np.uint8)) * 15
            return np.pad(x, ((0, 0), (2, 2), (2, 2))).astype(np.uint8)
        x_train, x_test = grow(x_train), grow(x_test)
    if samples:
        x_train, y_train = x_train[:samples], y_train[:samples]
        x_test, y_test = x_test[:max(samples // 4, 16)], y_test[:max(samples // 4, 16)]
    return (x_train, y_train.astype(np.int64)), (x_test, y_test.astype(np.int64))
