"""Data sets as NumPy arrays: the embedded digits, Fashion-MNIST from local files, any IDX folder.

Every loader returns Keras's tuple ``(x_train, y_train), (x_test, y_test)`` of uint8
arrays, images as (n, height, width). ``load(name_or_path)`` picks one by name
(``"digits"``, ``"fashion-mnist"``) or reads a folder holding the four MNIST-style IDX
files (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``).

Examples
--------
>>> import deepsheet as ds
>>> (x_train, y_train), (x_test, y_test) = ds.datasets.load("digits")
>>> x_train.shape, y_test.shape
((1437, 8, 8), (360,))
"""
from __future__ import annotations

import os

from . import digits, fashion_mnist, idx, shakespeare, text

__all__ = ["load", "names", "digits", "fashion_mnist", "idx", "shakespeare", "text"]

# name -> module with load_data(); the names the command line offers.
_BY_NAME = {"digits": digits, "fashion-mnist": fashion_mnist}
_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist"}


def names():
    """The names ``load`` knows, e.g. ``["digits", "fashion-mnist"]``."""
    return list(_BY_NAME)


def load(name_or_path):
    """Load a data set by name, or from a folder of four IDX files.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        ``"digits"`` (embedded, 8x8), ``"fashion-mnist"`` (28x28, from local files, see
        ``fashion_mnist.load_data``), or a folder holding the four MNIST-style IDX files.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)

    Raises
    ------
    ValueError
        Neither a known name nor an existing folder; the message lists the known names.
    """
    key = os.fspath(name_or_path)
    name = _ALIASES.get(key.lower(), key.lower())
    if name in _BY_NAME:  # a name wins over a folder of that name; write ./digits for the folder
        return _BY_NAME[name].load_data()
    if os.path.isdir(key):
        return idx.load_folder(key)
    raise ValueError(f"unknown dataset {key!r}: not one of {', '.join(names())} and not a folder "
                     f"holding the 4 IDX files ({', '.join(s + '[.gz]' for s in idx.FILE_STEMS.values())})")
