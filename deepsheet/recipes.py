"""Training recipes behind ``deepsheet train``: data preparation, model builders, defaults.

Each piece is a line of the cheat sheet:

* data preparation: images as (N, H, W, 1) float32, pixels scaled to [0, 1] by the
  dataset's maximum value (1/16 for the 8x8 digits, 1/255 for 8-bit images); the scale is
  saved with the model so ``evaluate`` and ``predict`` prepare new data the same way;
* architectures: ``mlp`` (Flatten, Dense 256 ReLU, Dropout 0.2, Dense 128 ReLU, Dropout
  0.2, softmax), ``cnn`` (the reference CNN: Conv2D(32, 3, same, ReLU), MaxPool 2,
  Conv2D(64, 3, same, ReLU), MaxPool 2, Flatten, Dense 128 ReLU, Dropout 0.25, softmax) and
  every builder in ``deepsheet.applications.MODELS`` (``lenet5``, ``vgg``, ``resnet``, ...);
* loss and optimizer: sparse categorical cross-entropy (computed from the softmax layer's
  logits, the stable fused form) and Adam.

Examples
--------
>>> from deepsheet import recipes
>>> data = recipes.load_dataset("digits")
>>> data.x_train.shape, data.scale
((1437, 8, 8, 1), 0.0625)
>>> model = recipes.build_model("mlp", data.input_shape, data.classes)
>>> model.count_params()
50826
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "load_dataset", "prepare_images", "model_names", "build_model", "mlp",
           "cnn", "defaults"]

# Per-dataset defaults (epochs, batch size): the digits train in a couple of seconds; the
# 60,000 Fashion-MNIST images take larger batches (fewer, better-used matrix products).
_DEFAULTS = {"digits": {"epochs": 20, "batch_size": 32}}
_DEFAULT = {"epochs": 10, "batch_size": 128}


def defaults(dataset_name):
    """``{"epochs": ..., "batch_size": ...}`` for ``dataset_name``."""
    return dict(_DEFAULTS.get(dataset_name, _DEFAULT))


@dataclass
class Dataset:
    """A prepared classification data set (images (N, H, W, C) float32, integer labels)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    scale: float
    classes: int

    @property
    def input_shape(self):
        return tuple(self.x_train.shape[1:])


def _scale_for(name, x):
    if name == "digits":
        return 1.0 / 16.0
    if x.dtype == np.uint8:
        return 1.0 / 255.0
    return 1.0


def prepare_images(x, scale, input_shape=None, what="x"):
    """Raw images -> float32 (N, H, W, C) scaled by ``scale``.

    Adds the channel axis to (N, H, W) images, and a batch axis to a single image when
    ``input_shape`` (one sample's shape) says so; raises a ValueError naming ``what`` when
    the images do not fit ``input_shape``.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "uif":
        raise ValueError(f"{what}: expected numeric image data, got dtype {x.dtype}")
    if input_shape is not None:
        want, given = tuple(input_shape), x.shape
        if x.shape == want or (len(want) == 3 and want[-1] == 1 and x.shape == want[:-1]):
            x = x[None]                                   # one image
        if len(want) == 3 and x.ndim == 3 and want[-1] == 1:
            x = x[..., None]
        if tuple(x.shape[1:]) != want:
            raise ValueError(f"{what}: the model takes images of shape {want} (or "
                             f"{want[:-1]} without the channel axis), got an array of shape "
                             f"{given}")
    elif x.ndim == 3:
        x = x[..., None]
    return x.astype(np.float32) * np.float32(scale)


def load_dataset(name_or_path, scale=None):
    """Load a data set by name or IDX folder (``deepsheet.datasets.load``) and prepare it.

    ``scale`` multiplies the pixels (default: 1/16 for digits, 1/255 for 8-bit images).
    """
    from . import datasets
    (x, y), (xt, yt) = datasets.load(name_or_path)
    key = os.fspath(name_or_path)
    name = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist"}.get(
        key.lower(), key.lower())
    if name not in datasets.names():  # a folder: named after it
        name = os.path.basename(os.path.normpath(key)) or key
    scale = _scale_for(name, x) if scale is None else float(scale)
    y, yt = np.asarray(y).astype(np.int64), np.asarray(yt).astype(np.int64)
    classes = int(max(y.max(initial=0), yt.max(initial=0))) + 1
    return Dataset(name, prepare_images(x, scale), y, prepare_images(xt, scale), yt, scale,
                   classes)


# ------------------------------------------------------------------ models
def mlp(input_shape, classes=10, name="mlp"):
    """Flatten -> Dense 256 ReLU -> Dropout 0.2 -> Dense 128 ReLU -> Dropout 0.2 -> softmax."""
    from . import layers as L
    from .layers import Input
    from .models import Sequential
    return Sequential([Input(tuple(input_shape)), L.Flatten(),
                       L.Dense(256, activation="relu"), L.Dropout(0.2),
                       L.Dense(128, activation="relu"), L.Dropout(0.2),
                       L.Dense(classes, activation="softmax")], name=name)


def cnn(input_shape, classes=10, name="cnn"):
    """The reference CNN: two conv–pool stages (32 and 64 filters), Dense 128, Dropout 0.25."""
    from . import layers as L
    from .layers import Input
    from .models import Sequential
    return Sequential([Input(tuple(input_shape)),
                       L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
                       L.Conv2D(64, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
                       L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.25),
                       L.Dense(classes, activation="softmax")], name=name)


def _builders():
    from .applications import MODELS
    return {"mlp": mlp, "cnn": cnn, **MODELS}


def model_names():
    """Names ``build_model`` accepts: ``mlp``, ``cnn``, then ``deepsheet.applications.MODELS``."""
    return list(_builders())


def build_model(name, input_shape, classes, learning_rate=1e-3, dataset=None):
    """Build model ``name`` for images of ``input_shape`` and compile it (Adam, sparse CE, accuracy)."""
    from . import optimizers
    builders = _builders()
    if name not in builders:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(builders)}")
    try:
        model = builders[name](input_shape=tuple(input_shape), classes=int(classes))
    except ValueError as exc:
        of = f" of dataset {dataset!r}" if dataset else ""
        raise ValueError(f"model {name!r} does not fit the images{of} (shape "
                         f"{tuple(input_shape)}): {exc}") from None
    model.compile(optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
