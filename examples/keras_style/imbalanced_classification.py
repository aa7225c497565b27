"""Imbalanced binary classification, written as Keras's "credit card fraud detection"
example: class weights, the four confusion counts with precision and recall as metrics,
and a ModelCheckpoint per epoch, with ``import deepsheet as keras``. The fraud data set is
not shipped, so the transactions are synthetic (0.5 % positives, 30 features).

    python examples/keras_style/imbalanced_classification.py [--samples N] [--epochs E]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepsheet as keras  # noqa: E402
from deepsheet import layers  # noqa: E402
from _data import arguments  # noqa: E402


def transactions(n, rng):
    """30 features; frauds (0.5 %) are shifted along a few of them."""
    targets = (rng.random((n, 1)) < 0.005).astype("uint8")
    targets[:4] = 1  # a few positives even in tiny runs
    features = rng.normal(size=(n, 30)).astype("float32")
    features[:, :5] += 2.5 * targets
    return features, targets


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], epochs=30, argv=argv)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    features, targets = transactions(args.samples or 40000, rng)
    num_val_samples = int(len(features) * 0.2)
    train_features, train_targets = features[:-num_val_samples], targets[:-num_val_samples]
    val_features, val_targets = features[-num_val_samples:], targets[-num_val_samples:]

    counts = np.bincount(train_targets[:, 0])
    print(f"Number of positive samples in training data: {counts[1]} "
          f"({100 * float(counts[1]) / len(train_targets):.2f}% of total)")
    weight_for_0 = 1.0 / counts[0]
    weight_for_1 = 1.0 / counts[1]

    mean = np.mean(train_features, axis=0)
    train_features -= mean
    val_features -= mean
    std = np.std(train_features, axis=0)
    train_features /= std
    val_features /= std

    model = keras.Sequential([
        keras.Input(shape=train_features.shape[1:]),
        layers.Dense(256, activation="relu"),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.summary()

    metrics = [
        keras.metrics.FalseNegatives(name="fn"),
        keras.metrics.FalsePositives(name="fp"),
        keras.metrics.TrueNegatives(name="tn"),
        keras.metrics.TruePositives(name="tp"),
        keras.metrics.Precision(name="precision"),
        keras.metrics.Recall(name="recall"),
    ]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
                  metrics=metrics)
    callbacks = [keras.callbacks.ModelCheckpoint(
        os.path.join(args.workdir, "fraud_model_at_epoch_{epoch}.keras"))]
    class_weight = {0: weight_for_0, 1: weight_for_1}
    history = model.fit(train_features, train_targets, batch_size=2048, epochs=args.epochs,
                        verbose=2, callbacks=callbacks,
                        validation_data=(val_features, val_targets), class_weight=class_weight)
    logs = {k: v[-1] for k, v in history.history.items()}
    print(f"validation: {int(logs['val_tp'])} of {int(logs['val_tp'] + logs['val_fn'])} frauds "
          f"caught, {int(logs['val_fp'])} false alarms")
    return logs


if __name__ == "__main__":
    main()
