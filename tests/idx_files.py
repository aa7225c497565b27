"""A fake Fashion-MNIST folder of random IDX files, shared by the dataset tests."""
from __future__ import annotations

import os

import numpy as np

from deepsheet.datasets import idx
from deepsheet.datasets.idx import write_idx


def write_idx_folder(folder, n_train=6, n_test=3, gz=True, image_shape=(28, 28), seed=0):
    """Write the four Fashion-MNIST files (random uint8 images, labels 0-9) into ``folder``;
    returns the arrays by role ("train_images", "train_labels", "test_images", "test_labels")."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, *image_shape), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, *image_shape), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    os.makedirs(folder, exist_ok=True)
    for role, stem in idx.FILE_STEMS.items():
        write_idx(os.path.join(folder, stem + (".gz" if gz else "")), arrays[role])
    return arrays
