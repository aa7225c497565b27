"""Fashion-MNIST: 70,000 grayscale 28x28 images of clothing in 10 classes, from local IDX files.

Zalando Research's drop-in replacement for MNIST (Xiao, Rasul & Vollgraf 2017,
arXiv:1708.07747; MIT licence): 60,000 training and 10,000 test images, pixel values
0-255, one label 0-9 per image (names in ``CLASS_NAMES``). Nothing is downloaded: the
four standard files are read from the folder given as ``path``; without one, from the
first folder that holds them all, searched in this order:

1. ``$DEEPSHEET_DATA/fashion-mnist``;
2. ``/usr/share/datasets/fashion-mnist`` (``DEFAULT_DIR``; Debian/Ubuntu's
   ``apt-get install dataset-fashion-mnist`` puts them there).

Examples
--------
>>> from deepsheet.datasets import fashion_mnist
>>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()  # doctest: +SKIP
>>> x_train.shape, x_train.dtype, fashion_mnist.CLASS_NAMES[y_train[0]]  # doctest: +SKIP
((60000, 28, 28), dtype('uint8'), 'Ankle boot')
"""
from __future__ import annotations

import os

import numpy as np

from . import idx

__all__ = ["load_data", "CLASS_NAMES", "DEFAULT_DIR", "ENV_VAR", "search_paths"]

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "DEEPSHEET_DATA"
SUBDIR = "fashion-mnist"
IMAGE_SHAPE = (28, 28)


def search_paths(path=None):
    """The folders ``load_data`` tries, in order (``path``, then the environment, then the default)."""
    folders = []
    if path is not None:
        folders.append(os.fspath(path))
    root = os.environ.get(ENV_VAR)
    if root:
        folders.append(os.path.join(root, SUBDIR))
    folders.append(DEFAULT_DIR)
    return folders


def _not_found_message(folders):
    names = "\n".join(f"    {stem}.gz" for stem in idx.FILE_STEMS.values())
    tried = "\n".join(f"    {f}" for f in folders)
    return (
        "Fashion-MNIST files not found. Looked in:\n" + tried + "\n"
        "Get them in one of these ways:\n"
        "  - on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist\n"
        f"    (installs them into {DEFAULT_DIR});\n"
        "  - or put these 4 files (gzipped or not) from\n"
        "    https://github.com/zalandoresearch/fashion-mnist (data/fashion) into a folder:\n"
        + names + "\n"
        "    and pass it as load_data(path=FOLDER) (deepsheet train --dataset FOLDER), or put the\n"
        f"    folder at ${ENV_VAR}/{SUBDIR}.")


def load_data(path=None):
    """Load Fashion-MNIST as uint8 arrays in Keras's shapes.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A folder holding the four IDX files. When given, it is the only place looked at:
        a missing folder or file raises ``FileNotFoundError`` (the other places of the
        module docstring are searched only when ``path`` is None).

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x_train`` uint8 (60000, 28, 28), ``y_train`` uint8 (60000,),
        ``x_test`` uint8 (10000, 28, 28), ``y_test`` uint8 (10000,), labels 0-9.

    Raises
    ------
    FileNotFoundError
        No searched folder holds all four files; the message lists the folders and how
        to get the files.
    deepsheet.datasets.idx.IDXFormatError
        A file is broken, or holds something other than 28x28 uint8 images with labels 0-9.
    """
    if path is not None:
        # A folder the user names is used or refused, never silently swapped for another copy.
        folder = os.fspath(path)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"fashion_mnist.load_data(path={folder!r}): no such folder")
        files = idx.find_files(folder)
        missing = [role for role, found in files.items() if not found]
        if missing:
            names = ", ".join(f"{idx.FILE_STEMS[r]}[.gz]" for r in missing)
            raise FileNotFoundError(f"fashion_mnist.load_data(path={folder!r}): the folder lacks "
                                    f"{names}\n" + _not_found_message([folder]))
        return _load(folder, files)
    folders = search_paths(None)
    for folder in folders:
        files = idx.find_files(folder)
        if all(files.values()):
            break
    else:
        raise FileNotFoundError(_not_found_message(folders))
    return _load(folder, files)


def _load(folder, files):
    (x_train, y_train), (x_test, y_test) = idx.load_folder(folder)
    for x, y, role in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        _check(x, files[f"{role}_images"], y, files[f"{role}_labels"])
    return (x_train, y_train), (x_test, y_test)


def _check(x, x_path, y, y_path):
    if x.dtype != np.uint8 or x.shape[1:] != IMAGE_SHAPE:
        raise idx.IDXFormatError(f"{x_path!r} holds {x.dtype} images of shape {x.shape}; Fashion-MNIST "
                                 f"images are uint8 (n, 28, 28)")
    if y.dtype != np.uint8 or (y.size and y.max() >= len(CLASS_NAMES)):
        raise idx.IDXFormatError(f"{y_path!r} holds {y.dtype} labels up to {y.max() if y.size else None}; "
                                 f"Fashion-MNIST labels are uint8 in 0-{len(CLASS_NAMES) - 1}")
