"""Argument checks shared by the layers on images and sequences (not public).

Each raises a ``ValueError`` that names the layer, what it expects and what came.
"""
from __future__ import annotations

import numpy as np


def looks_channels_first(shape):
    """True for an (N, C, H, W) image batch handed to a channels-last layer.

    The tell: a 1-, 3- or 4-"row" image whose other two axes are equal and at least 8,
    like (N, 1, 28, 28) or (N, 3, 32, 32); a genuine channels-last image that thin is rare.
    """
    return (len(shape) == 4 and shape[1] in (1, 3, 4) and shape[2] is not None
            and shape[2] == shape[3] and shape[2] >= 8)


def channels_first_message(shape):
    h, w, c = shape[2], shape[3], shape[1]
    return (f"; shape {tuple(shape)} looks channels-first (N, C, H, W) but deepsheet layers "
            f"are channels-last (N, H, W, C) as in Keras: pass x.transpose(0, 2, 3, 1) "
            f"(shape (N, {h}, {w}, {c}))")


def check_data_format(layer, data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': only data_format="
                         f"'channels_last' is supported (images as (N, H, W, C)), got "
                         f"{data_format!r}; transpose channels-first arrays with "
                         f"x.transpose(0, 2, 3, 1)")
    return "channels_last"


def check_padding_arg(layer, padding, allowed):
    if isinstance(padding, str) and padding.lower() in allowed:
        return padding.lower()
    raise ValueError(f"{type(layer).__name__} '{layer.name}': padding must be one of "
                     f"{allowed}, got {padding!r}")


def positive_int(layer, value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': {what} must be a positive "
                         f"integer, got {value!r}")
    return int(value)
