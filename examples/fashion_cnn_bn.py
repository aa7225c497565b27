"""Fashion-MNIST with a small CNN and batch normalization: >= 0.925 test accuracy in 15 epochs.

Recipe (the Fashion-MNIST benchmark's "two convolutions + pooling + BatchNormalization"):

    [Conv 3x3 32 – BN – ReLU – MaxPool 2]  28 -> 14
    [Conv 3x3 64 – BN – ReLU – MaxPool 2]  14 -> 7
    Dropout 0.25 – Flatten – Dense 128 – BN – ReLU – Dropout 0.5 – Dense 10 (softmax)

Adam with a cosine-decayed learning rate (1e-3 -> 0 over all steps), batch 128, pixels
scaled to [0, 1] and standardized with the training mean and standard deviation, random
horizontal flips of the training images (clothes stay clothes in a mirror); the last
5,000 training images are held out for validation, the test set is touched once.

Run (see the printed per-epoch timings):

    python examples/fashion_cnn_bn.py                 # 15 epochs, prints test accuracy
    python examples/fashion_cnn_bn.py --epochs 1 --limit 5000   # a quick timing run

Measured (seed 0, shared 2-core machine under load, OPENBLAS_NUM_THREADS=1): test accuracy
0.9277 (validation 0.9304) after 15 epochs, 2019 s of training (73–211 s per epoch).

On a busy shared machine set OPENBLAS_NUM_THREADS=1: two BLAS threads that must wait
for each other when the cores are oversubscribed made the convolutions 5-10x slower.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import deepsheet as ds
from deepsheet import layers
from deepsheet.datasets import fashion_mnist


def build(input_shape=(28, 28, 1), classes=10):
    x = inputs = ds.Input(input_shape, name="image")
    for i, filters in enumerate((32, 64), start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"conv{i}_bn")(x)
        x = layers.Activation("relu", name=f"conv{i}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Dropout(0.25, name="dropout1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, use_bias=False, name="fc")(x)
    x = layers.BatchNormalization(name="fc_bn")(x)
    x = layers.Activation("relu", name="fc_relu")(x)
    x = layers.Dropout(0.5, name="dropout2")(x)
    outputs = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return ds.Model(inputs, outputs, name="fashion_cnn_bn")


class FlipBatches:
    """Shuffled mini-batches with each image mirrored left-right with probability 1/2.

    Re-iterable (a new shuffle and new flips every epoch) and sized, so ``fit`` can use it
    as a loader; shuffling and flips draw from the library RNG (reproducible with a seed).
    """

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        order = ds.backend.permutation(len(self.x))
        for i in range(0, len(order), self.batch_size):
            idx = order[i:i + self.batch_size]
            xb = self.x[idx]
            flip = ds.backend.random_uniform((len(idx),)) < 0.5
            xb[flip] = xb[flip, :, ::-1]
            yield xb, self.y[idx]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first N training images only (timing runs)")
    parser.add_argument("--no-flip", action="store_true", help="no flip augmentation")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    ds.manual_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    x_train = x_train.astype(np.float32)[..., None] / 255.0
    x_test = x_test.astype(np.float32)[..., None] / 255.0
    mean, std = float(x_train.mean()), float(x_train.std())
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    x_val, y_val = x_train[-5000:], y_train[-5000:]
    x_train, y_train = x_train[:-5000], y_train[:-5000]
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]

    model = build()
    model.summary()
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    schedule = ds.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=steps)
    model.compile(optimizer=ds.optimizers.Adam(learning_rate=schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    epoch_times = []
    timer = ds.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs=None: epoch_times.append(time.perf_counter()),
        on_epoch_end=lambda epoch, logs=None: epoch_times.__setitem__(
            -1, time.perf_counter() - epoch_times[-1]))
    start = time.perf_counter()
    if args.no_flip:
        data = dict(x=x_train, y=y_train, batch_size=args.batch_size)
    else:
        data = dict(x=FlipBatches(x_train, y_train, args.batch_size))
    model.fit(**data, epochs=args.epochs, validation_data=(x_val, y_val),
              validation_batch_size=500, callbacks=[timer], verbose=2)
    train_time = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    print(f"epoch times (s): {', '.join(f'{t:.1f}' for t in epoch_times)}")
    print(f"training time: {train_time:.1f} s for {args.epochs} epochs on "
          f"{len(x_train)} images ({len(x_train) * args.epochs / train_time:.0f} samples/s)")
    print(f"test loss {loss:.4f}  test accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
