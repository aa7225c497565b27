"""Convolutional autoencoder for image denoising, written as Keras's example of that name
(functional API, Conv2DTranspose decoder), with ``import deepsheet as keras``.

    python examples/keras_style/conv_autoencoder.py [--dataset digits] [--samples N] [--epochs E]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepsheet as keras  # noqa: E402
from deepsheet import layers  # noqa: E402
from _data import arguments, load_images  # noqa: E402


def preprocess(array):
    """Normalizes the supplied array and reshapes it."""
    array = array.astype("float32") / 255.0
    return np.reshape(array, (len(array), 28, 28, 1))


def noise(array, rng):
    """Adds random noise to each image in the supplied array."""
    noisy_array = array + 0.4 * rng.normal(loc=0.0, scale=1.0, size=array.shape)
    return np.clip(noisy_array, 0.0, 1.0).astype("float32")


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], epochs=50, argv=argv)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    (train_data, _), (test_data, _) = load_images(args.dataset, args.samples)
    train_data, test_data = preprocess(train_data), preprocess(test_data)
    noisy_train_data, noisy_test_data = noise(train_data, rng), noise(test_data, rng)

    input = keras.Input(shape=(28, 28, 1))  # noqa: A001 - the example's name

    # Encoder
    x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(input)
    x = layers.MaxPooling2D((2, 2), padding="same")(x)
    x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(x)
    x = layers.MaxPooling2D((2, 2), padding="same")(x)

    # Decoder
    x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)

    # Autoencoder
    autoencoder = keras.Model(input, x)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    autoencoder.summary()

    before = autoencoder.evaluate(noisy_test_data, test_data, verbose=0)
    autoencoder.fit(x=noisy_train_data, y=train_data, epochs=args.epochs, batch_size=128,
                    shuffle=True, validation_data=(noisy_test_data, test_data), verbose=2)
    after = autoencoder.evaluate(noisy_test_data, test_data, verbose=0)
    predictions = autoencoder.predict(noisy_test_data, verbose=0)
    print(f"test reconstruction loss {before:.4f} -> {after:.4f}; "
          f"denoised images {predictions.shape}")
    return before, after


if __name__ == "__main__":
    main()
