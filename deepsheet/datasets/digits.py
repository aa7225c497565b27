"""The 1,797 real 8x8 handwritten digits, shipped inside the package: data that needs nothing.

Source: UCI Machine Learning Repository, "Optical Recognition of Handwritten Digits"
(E. Alpaydin and C. Kaynak, 1998, https://doi.org/10.24432/C50P49), licensed under
Creative Commons Attribution 4.0 (CC BY 4.0); taken from scikit-learn's copy
(``sklearn.datasets.load_digits``) at build time by ``scripts/make_digits.py``.

Each image is a 32x32 bitmap of a digit written by one of 43 people, reduced to 8x8 by
counting the set pixels in each 4x4 block, so pixel values are integers 0-16. The file
``data/digits.npz`` holds them already split into a fixed stratified partition (seed 0):
1,437 training and 360 test images, every class in the same proportion in both.

Examples
--------
>>> from deepsheet.datasets import digits
>>> (x_train, y_train), (x_test, y_test) = digits.load_data()
>>> x_train.shape, x_train.dtype, int(x_train.max()), x_test.shape
((1437, 8, 8), dtype('uint8'), 16, (360, 8, 8))
>>> x = x_train.reshape(len(x_train), -1).astype("float32") / 16.0  # scale to [0, 1]
"""
from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["load_data", "CLASS_NAMES", "MAX_VALUE", "IMAGE_SHAPE"]

CLASS_NAMES = tuple(str(d) for d in range(10))
MAX_VALUE = 16
IMAGE_SHAPE = (8, 8)
_RESOURCE = ("data", "digits.npz")
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_data():
    """Load the embedded digits as ``(x_train, y_train), (x_test, y_test)``.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x_train`` uint8 (1437, 8, 8) with values 0-16, ``y_train`` uint8 (1437,),
        ``x_test`` uint8 (360, 8, 8), ``y_test`` uint8 (360,); labels 0-9. Fresh arrays
        on every call, so changing them changes nothing for the next caller.

    Raises
    ------
    FileNotFoundError
        The package was installed without its data file.
    """
    source = resources.files(__package__).joinpath(_RESOURCE[0]).joinpath(_RESOURCE[1])
    try:
        with source.open("rb") as f, np.load(f, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in _KEYS}
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"the embedded digits file {'/'.join(_RESOURCE)} is missing from the deepsheet package "
            f"({source}); reinstall deepsheet (pip install --force-reinstall deepsheet)") from exc
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
