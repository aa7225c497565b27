"""A model that owns two optimizers: a toy GAN on 2-D Gaussians trained through ``fit``."""
import numpy as np
import pytest

import deepsheet as ds
from deepsheet import callbacks as C
from deepsheet import layers

LATENT = 2
CENTRE = np.array([2.0, -1.0], np.float32)


class ToyGAN(ds.Model):
    """Keras's GAN example in miniature: its own compile, its own step, two optimizers."""

    def __init__(self, seed=0, **kwargs):
        super().__init__(**kwargs)
        ds.manual_seed(seed)
        self.generator = ds.Sequential([layers.Dense(16, activation="relu",
                                                     input_shape=(LATENT,)), layers.Dense(2)])
        self.discriminator = ds.Sequential([layers.Dense(16, activation="relu",
                                                         input_shape=(2,)),
                                            layers.Dropout(0.1), layers.Dense(1)])
        self.d_loss_tracker = ds.metrics.Mean(name="d_loss")
        self.g_loss_tracker = ds.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def call(self, z):
        return self.generator(z)

    def train_step(self, real):
        n = real.shape[0]            # fit(x) without y passes the batch itself, as Keras 3
        ones, zeros = np.ones((n, 1), np.float32), np.zeros((n, 1), np.float32)
        # Discriminator: Keras style, gradients from the engine, applied by the optimizer.
        fake = self.generator(ds.backend.random_normal((n, LATENT))).detach()
        d = self.discriminator
        d_loss = self.loss_fn(ones, d(real, training=True)) + \
            self.loss_fn(zeros, d(fake, training=True))
        weights = d.trainable_weights
        self.d_optimizer.apply(ds.grad(d_loss, weights), weights)
        # Generator: PyTorch style, .backward() and step() on its own parameters.
        self.g_optimizer.zero_grad()
        g_loss = self.loss_fn(ones, d(self.generator(ds.backend.random_normal((n, LATENT))),
                                      training=True))
        g_loss.backward()
        self.g_optimizer.step()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}


def make_gan(seed=0):
    gan = ToyGAN(seed)
    gan.compile(d_optimizer=ds.optimizers.Adam(5e-3, beta_1=0.5),
                g_optimizer=ds.optimizers.Adam(gan.generator.trainable_weights, lr=5e-3,
                                               beta_1=0.5),
                loss_fn=ds.losses.BinaryCrossentropy(from_logits=True))
    return gan


def real_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    return (CENTRE + 0.3 * rng.normal(size=(n, 2))).astype(np.float32)


def generated_mean(gan, n=512):
    z = np.random.default_rng(99).normal(size=(n, LATENT)).astype(np.float32)
    return gan.predict(z, verbose=0).mean(axis=0)


def test_toy_gan_trains_with_two_optimizers_through_fit():
    gan = make_gan()
    x = real_data()
    start = np.linalg.norm(generated_mean(gan) - CENTRE)
    stopper = C.EarlyStopping(monitor="g_loss", patience=100)
    history = gan.fit(x, batch_size=32, epochs=12, verbose=0, callbacks=[stopper])
    assert set(history.history) == {"d_loss", "g_loss"} and len(history.epoch) == 12
    assert gan.d_optimizer.iterations == gan.g_optimizer.iterations == 12 * 8
    assert set(gan.optimizers()) == {"optimizer", "d_optimizer", "g_optimizer"}
    end = np.linalg.norm(generated_mean(gan) - CENTRE)
    assert end < start / 4, (start, end)   # the generator moved to the data


class _Stop(Exception):
    pass


class _KillAt(C.Callback):
    """Stands for a crash at the start of epoch ``at`` (after the last backup)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise _Stop


def test_two_optimizer_gan_resumes_bit_for_bit(tmp_path):
    x = real_data()

    def run(gan, folder, extra=()):
        cbs = [C.EarlyStopping(monitor="g_loss", patience=50),
               C.BackupAndRestore(tmp_path / folder), *extra]
        return gan.fit(x, batch_size=32, epochs=5, verbose=0, callbacks=cbs)

    straight = make_gan()
    h_straight = run(straight, "a")
    with pytest.raises(_Stop):
        run(make_gan(), "b", [_KillAt(3)])
    assert (tmp_path / "b" / "backup.deepsheet").exists()
    resumed = make_gan(seed=1)             # another process: other weights, another RNG state
    ds.backend.random_normal((7,))
    h_resumed = run(resumed, "b")
    assert h_resumed.epoch == [3, 4]
    assert h_resumed.history["g_loss"] == h_straight.history["g_loss"][3:]
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        assert np.array_equal(a, b)
    for name in ("d_optimizer", "g_optimizer"):
        sa, sb = getattr(straight, name).state_dict(), getattr(resumed, name).state_dict()
        assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert resumed.d_optimizer.iterations == 5 * 8
    assert not (tmp_path / "b" / "backup.deepsheet").exists()   # deleted at the normal end


def test_training_state_round_trips_through_files():
    from deepsheet.checkpoint import TrainingState
    gan = make_gan()
    gan.fit(real_data(64), batch_size=32, epochs=1, verbose=0)
    state = TrainingState.capture(gan, epoch=1)
    assert set(state.optimizers) == {"optimizer", "d_optimizer", "g_optimizer"}
    n_gen = len(gan.generator.weights)
    assert state.optimizers["g_optimizer"]["params"] == list(range(n_gen))
    meta, arrays = state.to_files()
    back = TrainingState.from_files(meta, arrays)
    other = make_gan(seed=3)
    back.restore_model(other)
    for name in ("d_optimizer", "g_optimizer"):
        sa, sb = getattr(gan, name).state_dict(), getattr(other, name).state_dict()
        assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)
    plain = ds.Sequential([layers.Dense(1, input_shape=(2,))])
    plain.compile("adam", "mse")
    with pytest.raises(ValueError, match="optimizer 'd_optimizer'.*does not have"):
        back.restore_model(plain)
