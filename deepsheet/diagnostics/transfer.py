"""Transfer learning end to end: pretrain a base on some classes, reuse it frozen for new
classes with little data, and compare with the same network trained from scratch."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["transfer_learning", "TransferResult", "small_cnn_base"]


class TransferResult(NamedTuple):
    """Test accuracies on the target classes, and each run's training history."""
    frozen_accuracy: float      # pretrained base, frozen; only the new head trained
    scratch_accuracy: float     # the same architecture from random weights
    source_accuracy: float      # the pretrained classifier on its own (source) test data
    target_samples: int         # training images of the target task
    histories: dict             # "source", "frozen", "scratch" -> History.history

    def table(self):
        return (f"target task, {self.target_samples} training images:\n"
                f"  frozen pretrained base + new head: {self.frozen_accuracy:.4f}\n"
                f"  same network from scratch:         {self.scratch_accuracy:.4f}\n"
                f"(the base reached {self.source_accuracy:.4f} on its source classes)")


def small_cnn_base(input_shape, name="base"):
    """The default feature extractor: two 3x3 conv–ReLU–pool stages, flattened."""
    from .. import Input, layers
    from ..models import Model
    inp = Input(input_shape)
    x = inp if len(input_shape) == 3 else layers.Reshape((*input_shape, 1))(inp)
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Flatten()(x)
    return Model(inp, x, name=name)


def _classifier(base, classes, learning_rate, name):
    from .. import layers, optimizers
    from ..models import Sequential
    model = Sequential([base, layers.Dense(classes, activation="softmax")], name=name)
    model.compile(optimizer=optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _codes(y, name):
    classes, codes = np.unique(np.asarray(y).ravel(), return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"{name} needs at least 2 classes, got {classes.tolist()}")
    return classes, codes


def transfer_learning(source, target, target_test, *, source_test=None, build_base=None,
                      source_epochs=3, target_epochs=30, batch_size=32, learning_rate=1e-3,
                      target_learning_rate=1e-2,
                      seed=0, verbose=0):
    """Pretrain on ``source``, then learn ``target`` with the base frozen, and from scratch.

    1. A base network (``build_base(input_shape)``, by default ``small_cnn_base``) plus a
       softmax head is trained on the source classes.
    2. Transfer: the base is frozen (``trainable = False``, so batch-norm layers also stay
       in inference mode) and a new softmax head is trained on the target classes.
    3. Baseline: a fresh base built with the same seed, plus a head, is trained on the same
       target data from random weights.
    With little target data the frozen base generalizes better: its features were learnt
    from many more images.

    Formula
    -------
        f_target(x) = softmax(W h_θ*(x) + b),  θ* = argmin_θ L_source(θ) fixed;
        only (W, b) minimize L_target      vs   (θ, W, b) all from random on L_target

    Parameters
    ----------
    source, target, target_test : (x, y) pairs
        Images (N, H, W[, C]) scaled as the model should see them, and labels (any values;
        each task's labels are renumbered 0..k−1).
    source_test : (x, y), optional
        To report the pretrained classifier's accuracy.
    learning_rate, target_learning_rate : float
        Adam's rate for pretraining, and for both target runs (a new head starts from
        random weights and needs the larger steps; the scratch run gets the same).

    Returns
    -------
    TransferResult
    """
    from .. import backend
    (xs, ys), (xt, yt), (xv, yv) = source, target, target_test
    xs, xt, xv = (np.asarray(a, dtype=np.float32) for a in (xs, xt, xv))
    if xs.shape[1:] != xt.shape[1:] or xt.shape[1:] != xv.shape[1:]:
        raise ValueError(f"source, target and target_test images must have one shape; got "
                         f"{xs.shape[1:]}, {xt.shape[1:]}, {xv.shape[1:]}")
    build_base = build_base or small_cnn_base
    src_classes, ys = _codes(ys, "source")
    tgt_classes, yt = _codes(yt, "target")
    lookup = {c: i for i, c in enumerate(tgt_classes.tolist())}
    try:
        yv = np.array([lookup[c] for c in np.asarray(yv).ravel().tolist()])
    except KeyError as exc:
        raise ValueError(f"target_test has class {exc.args[0]!r}, which the target training "
                         f"data lacks") from None
    shape = xs.shape[1:]

    backend.manual_seed(seed)
    base = build_base(shape)
    pre = _classifier(base, len(src_classes), learning_rate, "source_classifier")
    h_src = pre.fit(xs, ys, epochs=source_epochs, batch_size=batch_size, verbose=verbose)
    src_acc = float("nan")
    if source_test is not None:
        xst = np.asarray(source_test[0], np.float32)
        code = {c: i for i, c in enumerate(src_classes.tolist())}
        yst = np.array([code[c] for c in np.asarray(source_test[1]).ravel().tolist()])
        src_acc = float(pre.evaluate(xst, yst, verbose=0)[1])

    base.trainable = False
    backend.manual_seed(seed + 1)
    frozen = _classifier(base, len(tgt_classes), target_learning_rate, "transfer_classifier")
    h_frozen = frozen.fit(xt, yt, epochs=target_epochs, batch_size=batch_size, verbose=verbose)
    frozen_acc = float(frozen.evaluate(xv, yv, verbose=0)[1])

    backend.manual_seed(seed)
    fresh = build_base(shape)
    backend.manual_seed(seed + 1)
    scratch = _classifier(fresh, len(tgt_classes), target_learning_rate,
                          "scratch_classifier")
    h_scratch = scratch.fit(xt, yt, epochs=target_epochs, batch_size=batch_size,
                            verbose=verbose)
    scratch_acc = float(scratch.evaluate(xv, yv, verbose=0)[1])
    return TransferResult(frozen_acc, scratch_acc, src_acc, len(xt),
                          {"source": h_src.history, "frozen": h_frozen.history,
                           "scratch": h_scratch.history})
