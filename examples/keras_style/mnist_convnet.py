"""Simple convnet, written as Keras's "Simple MNIST convnet" example (Sequential API,
``to_categorical`` targets), with ``import deepsheet as keras`` as the only change.

    python examples/keras_style/mnist_convnet.py [--dataset digits] [--samples N] [--epochs E]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepsheet as keras  # noqa: E402
from deepsheet import layers  # noqa: E402
from _data import arguments, load_images  # noqa: E402


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], epochs=15, argv=argv)
    keras.utils.set_random_seed(1337)
    num_classes = 10
    input_shape = (28, 28, 1)
    (x_train, y_train), (x_test, y_test) = load_images(args.dataset, args.samples)

    # Scale images to the [0, 1] range, make sure images have shape (28, 28, 1)
    x_train = np.expand_dims(x_train.astype("float32") / 255, -1)
    x_test = np.expand_dims(x_test.astype("float32") / 255, -1)
    print("x_train shape:", x_train.shape, x_train.shape[0], "train samples")

    # convert class vectors to binary class matrices
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)

    model = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ])
    model.summary()

    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, validation_split=0.1,
              verbose=2)

    score = model.evaluate(x_test, y_test, verbose=0)
    print("Test loss:", score[0])
    print("Test accuracy:", score[1])
    return score


if __name__ == "__main__":
    main()
