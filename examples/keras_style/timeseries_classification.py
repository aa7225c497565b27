"""Time-series classification from scratch, written as Keras's example of that name: a
Conv1D + BatchNormalization + ReLU stack, three callbacks (best-model checkpoint, learning
rate on plateau, early stopping) and ``load_model`` of the best model, with
``import deepsheet as keras``. FordA is not shipped: the series are synthetic (noisy sines
against noisy square waves of random phase and period).

    python examples/keras_style/timeseries_classification.py [--samples N] [--epochs E]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepsheet as keras  # noqa: E402
from _data import arguments  # noqa: E402


def readucr(n, length, rng):
    """``(x, y)``: n series of ``length`` steps; class 1 is a square wave, class 0 a sine."""
    y = rng.integers(0, 2, size=n)
    t = np.arange(length)[None, :]
    period = rng.uniform(12, 40, size=(n, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    wave = np.sin(2 * np.pi * t / period + phase)
    x = np.where(y[:, None] == 1, np.sign(wave), wave) + 0.6 * rng.normal(size=(n, length))
    return x.astype("float32"), y


def make_model(input_shape, num_classes):
    input_layer = keras.layers.Input(input_shape)

    conv1 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(input_layer)
    conv1 = keras.layers.BatchNormalization()(conv1)
    conv1 = keras.layers.ReLU()(conv1)

    conv2 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv1)
    conv2 = keras.layers.BatchNormalization()(conv2)
    conv2 = keras.layers.ReLU()(conv2)

    conv3 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv2)
    conv3 = keras.layers.BatchNormalization()(conv3)
    conv3 = keras.layers.ReLU()(conv3)

    gap = keras.layers.GlobalAveragePooling1D()(conv3)

    output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)

    return keras.models.Model(inputs=input_layer, outputs=output_layer)


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], epochs=500, argv=argv)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = args.samples or 3600
    x_train, y_train = readucr(n, 128, rng)
    x_test, y_test = readucr(max(n // 3, 16), 128, rng)
    x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
    x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))
    num_classes = len(np.unique(y_train))

    idx = np.random.permutation(len(x_train))
    x_train, y_train = x_train[idx], y_train[idx]

    model = make_model(input_shape=x_train.shape[1:], num_classes=num_classes)
    best = os.path.join(args.workdir, "best_model.keras")
    callbacks = [
        keras.callbacks.ModelCheckpoint(best, save_best_only=True, monitor="val_loss"),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=20,
                                          min_lr=0.0001),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=50, verbose=1),
    ]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, callbacks=callbacks,
              validation_split=0.2, verbose=2)

    model = keras.models.load_model(best)
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    print("Test accuracy", test_acc)
    print("Test loss", test_loss)
    return test_loss, test_acc


if __name__ == "__main__":
    main()
