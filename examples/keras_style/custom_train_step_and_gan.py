"""Custom training steps, written as Keras's "Customizing what happens in fit()" and "GAN
overriding Model.train_step" examples, with ``import deepsheet as keras``: a model whose
``train_step``/``test_step`` call ``compute_loss`` and apply the gradients themselves, and
a GAN whose own ``compile`` takes two optimizers. Gradients come from the engine:
``loss.backward()`` (PyTorch style) or ``keras.grad(loss, weights)`` where Keras on
TensorFlow would use a ``GradientTape``.

    python examples/keras_style/custom_train_step_and_gan.py [--samples N] [--epochs E]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepsheet as keras  # noqa: E402
from deepsheet import layers, ops  # noqa: E402
from _data import arguments, load_images  # noqa: E402


class CustomModel(keras.Model):
    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.grad for v in trainable_weights]
        self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class GAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def call(self, z):
        return self.generator(z)

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        # Decode random points to fake images and combine them with real ones
        random_latent_vectors = keras.random.normal(shape=(batch_size, self.latent_dim),
                                                    seed=self.seed_generator)
        generated_images = self.generator(random_latent_vectors)
        combined_images = ops.concatenate([generated_images, real_images], axis=0)
        labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))],
                                 axis=0)
        # Add random noise to the labels - important trick!
        labels = labels + 0.05 * keras.random.uniform(ops.shape(labels), seed=self.seed_generator)

        # Train the discriminator
        predictions = self.discriminator(combined_images)
        d_loss = self.loss_fn(labels, predictions)
        grads = keras.grad(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        # Train the generator (its gradient goes through the discriminator, not into it)
        random_latent_vectors = keras.random.normal(shape=(batch_size, self.latent_dim),
                                                    seed=self.seed_generator)
        misleading_labels = ops.zeros((batch_size, 1))
        predictions = self.discriminator(self.generator(random_latent_vectors))
        g_loss = self.loss_fn(misleading_labels, predictions)
        grads = keras.grad(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], epochs=3, argv=argv)
    keras.utils.set_random_seed(0)

    # A custom train_step/test_step on a functional model
    inputs = keras.Input(shape=(32,))
    outputs = layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x = np.random.random((args.samples or 1000, 32)).astype("float32")
    y = np.random.random((args.samples or 1000, 1)).astype("float32")
    history = model.fit(x, y, epochs=args.epochs, verbose=2)
    custom_logs = model.evaluate(x, y, verbose=0, return_dict=True)
    print("custom model:", custom_logs)

    # A GAN with two optimizers on images
    (x_train, _), _ = load_images(args.dataset, args.samples)
    all_digits = x_train.reshape(-1, 28 * 28).astype("float32") / 255.0
    latent_dim = 32
    discriminator = keras.Sequential([
        keras.Input(shape=(28 * 28,)),
        layers.Dense(128), layers.LeakyReLU(negative_slope=0.2),
        layers.Dense(64), layers.LeakyReLU(negative_slope=0.2),
        layers.Dense(1),
    ], name="discriminator")
    generator = keras.Sequential([
        keras.Input(shape=(latent_dim,)),
        layers.Dense(128), layers.LeakyReLU(negative_slope=0.2),
        layers.Dense(28 * 28, activation="sigmoid"),
    ], name="generator")
    gan = GAN(discriminator=discriminator, generator=generator, latent_dim=latent_dim)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
                g_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    gan_history = gan.fit(all_digits, epochs=args.epochs, batch_size=64, verbose=2)
    return history.history, custom_logs, gan_history.history


if __name__ == "__main__":
    main()
