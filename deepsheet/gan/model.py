"""The two-player game: ``GAN`` (Goodfellow et al. 2014); its conditional form is in ``conditional``."""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from .. import functional as F
from ..autograd import no_grad
from ..callbacks import Callback
from ..metrics import Mean
from ..models import Model
from ..models.data_adapter import unpack_x_y_sample_weight
from ..tensor import Tensor

__all__ = ["GAN", "GANWarning"]

_GENERATOR_LOSSES = ("non_saturating", "minimax")
# Output activations of the generator -> the range its images lie in.
_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}
_SHAPE_ONLY = ("Reshape", "Flatten", "Identity", "Cropping2D", "ZeroPadding2D")


class GANWarning(UserWarning):
    """A training run shows a known GAN failure (the discriminator has won)."""


def _positive_int(what, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return int(value)


def _known_input_shape(model):
    """One sample's input shapes (list, one per input) where the model states them, else None."""
    inputs = getattr(model, "inputs", None) if getattr(model, "_graph", False) else None
    if not inputs:
        return None
    return [tuple(t.shape[1:]) for t in inputs]


def _output_range(generator):
    """(low, high) of the generator's last activation (tanh, sigmoid), or None when unbounded."""
    layers = getattr(generator, "layers", None) or []
    for layer in reversed(layers):
        if type(layer).__name__ in _SHAPE_ONLY:
            continue
        name = getattr(layer, "_activation_name", None)
        if name is None:
            act = getattr(layer, "activation", None)
            name = act if isinstance(act, str) else getattr(act, "__name__", None)
        return _RANGES.get(name), name
    return None, None


class GAN(Model):
    """Generative adversarial network: a generator G and a discriminator D trained against each other.

    Formula
    -------
    The two-player minimax game (Goodfellow et al. 2014)::

        min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))],   z ~ N(0, I)

    D(x) = σ(ℓ(x)) is the probability that x is real; the discriminator outputs the logit ℓ
    and every loss is the binary cross-entropy from logits,
    BCE(y, ℓ) = max(ℓ, 0) − ℓ y + log(1 + e^{−|ℓ|}) (stable for any ℓ). Each training step:

    1. discriminator (ascends V)::

           L_D = BCE(1 − s, ℓ(x)) + BCE(0, ℓ(G(z)))     (mean over the batch each)
               = −[log D(x) + log(1 − D(G(z)))]          when s = 0

       s is one-sided label smoothing (Salimans et al. 2016: real targets 1 − s, fake
       targets stay 0, so D is not rewarded for over-confidence on real data).
    2. generator, every ``d_steps``-th discriminator step, with the **non-saturating**
       loss::

           L_G = BCE(1, ℓ(G(z))) = −E_z[log D(G(z))]

       The minimax form would minimize E[log(1 − D(G(z)))], whose gradient
       ∂/∂ℓ log(1 − σ(ℓ)) = −σ(ℓ) vanishes exactly when D confidently rejects the fakes
       (σ(ℓ) → 0), which is the situation early in training; −log D(G(z)) has gradient
       −(1 − σ(ℓ)) → −1 there, strong where G needs it, with the same fixed point
       (``generator_loss="minimax"`` keeps the original, for comparison).

    As in PyTorch's DCGAN recipe, D sees the real and the generated batch separately (its
    batch norm never mixes them), and the generator step reuses the step's generated batch
    scored by the updated discriminator.

    Parameters
    ----------
    generator : Model
        Maps noise (N, latent_dim) to samples shaped like the data.
    discriminator : Model
        Maps samples to one logit each, (N, 1) (no sigmoid at the end).
    latent_dim : int
        Size of the noise vector z.

    Metrics (``fit``'s logs, means over the epoch)
    -----------------------------------------------
    ``d_loss``, ``g_loss``, ``real_accuracy`` (share of real samples D calls real,
    ℓ > 0) and ``fake_accuracy`` (share of generated samples D calls fake, ℓ < 0).

    Examples
    --------
    >>> import numpy as np, deepsheet as ds
    >>> from deepsheet import gan, optimizers
    >>> G = ds.Sequential([ds.Input((2,)), ds.layers.Dense(8, activation="relu"), ds.layers.Dense(2)])
    >>> D = ds.Sequential([ds.Input((2,)), ds.layers.Dense(8, activation="relu"), ds.layers.Dense(1)])
    >>> model = gan.GAN(G, D, latent_dim=2)
    >>> model.compile(d_optimizer=optimizers.Adam(learning_rate=1e-3),
    ...               g_optimizer=optimizers.Adam(learning_rate=1e-3))
    >>> history = model.fit(np.random.randn(64, 2), epochs=1, batch_size=32, verbose=0)
    >>> sorted(history.history)
    ['d_loss', 'fake_accuracy', 'g_loss', 'real_accuracy']
    >>> model.generate(5).shape
    (5, 2)
    """

    conditional = False

    def __init__(self, generator, discriminator, latent_dim, name=None):
        super().__init__(name=name or "gan")
        self.latent_dim = _positive_int(f"{type(self).__name__}: latent_dim", latent_dim)
        for what, net in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(net, Model):
                raise TypeError(f"{type(self).__name__}: {what} must be a deepsheet Model, got "
                                f"{type(net).__name__}")
        if generator is discriminator:
            raise ValueError(f"{type(self).__name__}: generator and discriminator must be two "
                             "different models")
        self.generator = generator
        self.discriminator = discriminator
        self._check_networks()
        self.d_loss_tracker = Mean(name="d_loss")
        self.g_loss_tracker = Mean(name="g_loss")
        self.real_accuracy_tracker = Mean(name="real_accuracy")
        self.fake_accuracy_tracker = Mean(name="fake_accuracy")
        self.d_optimizer = self.g_optimizer = None
        self.built = True

    # ------------------------------------------------------------ structure
    def _generator_inputs(self, z, labels=None):
        return z

    def _discriminator_inputs(self, x, labels=None):
        return x

    def _probe_labels(self, n):
        return None

    def _check_networks(self):
        """Run both networks on two samples: every shape disagreement becomes a clear error."""
        who = type(self).__name__
        g_in = _known_input_shape(self.generator)
        if g_in is not None and g_in[0] != (self.latent_dim,):
            raise ValueError(f"{who}: latent_dim is {self.latent_dim} but generator "
                             f"'{self.generator.name}' takes noise of shape {g_in[0]} per sample; "
                             f"pass latent_dim={g_in[0][-1]} or rebuild the generator")
        z = np.zeros((2, self.latent_dim), np.float32)
        labels = self._probe_labels(2)
        with no_grad():
            try:
                fake = self.generator(self._generator_inputs(z, labels), training=False)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{who}: generator '{self.generator.name}' does not accept "
                                 f"noise of shape (N, {self.latent_dim}) (latent_dim="
                                 f"{self.latent_dim}): {exc}") from None
            self.sample_shape = tuple(fake.shape[1:])
            d_in = _known_input_shape(self.discriminator)
            if d_in is not None and d_in[0] != self.sample_shape:
                raise ValueError(f"{who}: generator '{self.generator.name}' makes samples of "
                                 f"shape {self.sample_shape} but discriminator "
                                 f"'{self.discriminator.name}' takes {d_in[0]}")
            try:
                logits = self.discriminator(self._discriminator_inputs(fake, labels),
                                            training=False)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{who}: discriminator '{self.discriminator.name}' does not "
                                 f"accept the generator's samples of shape "
                                 f"{self.sample_shape}: {exc}") from None
        if tuple(logits.shape) not in ((2, 1), (2,)):
            raise ValueError(f"{who}: discriminator '{self.discriminator.name}' must output one "
                             f"logit per sample, (N, 1); it outputs {tuple(logits.shape[1:])} "
                             "per sample")

    def call(self, inputs, training=False):
        """Generated samples for noise ``inputs`` (N, latent_dim)."""
        return self.generator(inputs, training=training)

    # ------------------------------------------------------------ compile
    def compile(self, d_optimizer=None, g_optimizer=None, loss="binary_crossentropy",
                label_smoothing=0.0, d_steps=1, generator_loss="non_saturating", **kwargs):
        """Set the two optimizers and the game's options.

        Parameters
        ----------
        d_optimizer, g_optimizer : Optimizer or str
            Two distinct optimizers, for the discriminator's and the generator's weights
            (DCGAN: ``Adam(learning_rate=2e-4, beta_1=0.5)`` each).
        loss : "binary_crossentropy"
            The only loss: binary cross-entropy from the discriminator's logits.
        label_smoothing : float in [0, 1)
            One-sided: real targets become 1 − label_smoothing (0.1 is common).
        d_steps : int
            Discriminator steps per generator step (k in Goodfellow et al.'s Algorithm 1);
            each takes a fresh real batch.
        generator_loss : "non_saturating" or "minimax"
        """
        from .. import optimizers as optimizers_mod
        who = f"{type(self).__name__}.compile"
        if "optimizer" in kwargs:
            raise ValueError(f"{who}: a GAN trains two networks and needs two optimizers: pass "
                             "d_optimizer= and g_optimizer= (not optimizer=)")
        if kwargs:
            raise TypeError(f"{who}: unexpected argument(s) {sorted(kwargs)}")
        if d_optimizer is None or g_optimizer is None:
            raise ValueError(f"{who}: a GAN needs two optimizers, d_optimizer= for the "
                             "discriminator and g_optimizer= for the generator; got "
                             f"d_optimizer={d_optimizer!r}, g_optimizer={g_optimizer!r}")
        d_opt, g_opt = optimizers_mod.get(d_optimizer), optimizers_mod.get(g_optimizer)
        if d_opt is g_opt:
            raise ValueError(f"{who}: d_optimizer and g_optimizer are the same object; each "
                             "network needs its own optimizer (their states must not mix)")
        if loss not in ("binary_crossentropy", "bce"):
            raise ValueError(f"{who}: loss must be 'binary_crossentropy' (from the "
                             f"discriminator's logits), got {loss!r}")
        ls = label_smoothing
        if isinstance(ls, bool) or not isinstance(ls, (int, float, np.number)) or \
                not 0.0 <= float(ls) < 1.0:
            raise ValueError(f"{who}: label_smoothing must be a number in [0, 1), got {ls!r}")
        if generator_loss not in _GENERATOR_LOSSES:
            raise ValueError(f"{who}: generator_loss must be one of {_GENERATOR_LOSSES}, got "
                             f"{generator_loss!r}")
        self.d_steps = _positive_int(f"{who}: d_steps", d_steps)
        super().compile()            # no compiled loss: train_step computes the game's losses
        self.optimizer = None        # model.optimizers() lists d_optimizer and g_optimizer
        d_opt.bind(self.discriminator.trainable_weights)
        g_opt.bind(self.generator.trainable_weights)
        self.d_optimizer, self.g_optimizer = d_opt, g_opt
        self.loss = "binary_crossentropy"
        self.label_smoothing = float(ls)
        self.generator_loss = generator_loss

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.real_accuracy_tracker,
                self.fake_accuracy_tracker]

    # ------------------------------------------------------------ the game
    def sample_noise(self, n):
        """n noise vectors z ~ N(0, I), (n, latent_dim) float32, from the library RNG."""
        return backend.random_normal((int(n), self.latent_dim), dtype="float32")

    def discriminator_loss(self, real_logits, fake_logits):
        """L_D = BCE(1 − s, ℓ(x)) + BCE(0, ℓ(G(z))), each the batch mean (a scalar Tensor)."""
        xp = backend.array_module(real_logits.data)
        real_t = xp.full(real_logits.shape, 1.0 - self.label_smoothing, dtype=real_logits.dtype)
        fake_t = xp.zeros(fake_logits.shape, dtype=fake_logits.dtype)
        return (F.binary_crossentropy(real_t, real_logits, from_logits=True, reduction="mean")
                + F.binary_crossentropy(fake_t, fake_logits, from_logits=True, reduction="mean"))

    def generator_loss_value(self, fake_logits):
        """L_G: BCE(1, ℓ(G(z))) = −E log D(G(z)) (non-saturating) or E log(1 − D(G(z))) (minimax)."""
        xp = backend.array_module(fake_logits.data)
        if self.generator_loss == "minimax":
            zeros = xp.zeros(fake_logits.shape, dtype=fake_logits.dtype)
            return -F.binary_crossentropy(zeros, fake_logits, from_logits=True, reduction="mean")
        ones = xp.ones(fake_logits.shape, dtype=fake_logits.dtype)
        return F.binary_crossentropy(ones, fake_logits, from_logits=True, reduction="mean")

    def _split(self, data):
        x, y, _ = unpack_x_y_sample_weight(data)
        return x, None

    def _fake_labels(self, n, labels):
        return None

    def train_step(self, data):
        """One discriminator update, and a generator update every ``d_steps``-th call.

        ``data`` is a batch of real samples, as ``fit(x)`` passes it (for
        ``ConditionalGAN``, ``(samples, labels)``). Returns the running means of the metrics.
        """
        if self.d_optimizer is None:
            raise RuntimeError(f"{type(self).__name__}: call compile(d_optimizer=, g_optimizer=) "
                               "before training")
        real, labels = self._split(data)
        n = len(real)
        g_turn = (self.d_optimizer.iterations + 1) % self.d_steps == 0
        z = self.sample_noise(n)
        fake_labels = self._fake_labels(n, labels)
        g_in = self._generator_inputs(z, fake_labels)
        if g_turn:
            fake = self.generator(g_in, training=True)     # graph kept for the generator step
            fake_in = Tensor(fake.data)                    # detached: D's step stops here
        else:
            with no_grad():
                fake_in = self.generator(g_in, training=True)
        D = self.discriminator
        real_logits = D(self._discriminator_inputs(real, labels), training=True)
        fake_logits = D(self._discriminator_inputs(fake_in, fake_labels), training=True)
        d_loss = self.discriminator_loss(real_logits, fake_logits)
        d_value = float(d_loss.data)
        if math.isfinite(d_value):
            self.d_optimizer.zero_grad()
            d_loss.backward()
            self.d_optimizer.step()
        self.d_loss_tracker.update_state(d_value)
        self.real_accuracy_tracker.update_state(backend.to_numpy(real_logits.data) > 0)
        self.fake_accuracy_tracker.update_state(backend.to_numpy(fake_logits.data) < 0)
        if g_turn:
            d_weights = [w for w in D.trainable_weights if w.requires_grad]
            for w in d_weights:   # the generator step needs no gradient for D's weights
                w.requires_grad = False
            try:
                g_loss = self.generator_loss_value(
                    D(self._discriminator_inputs(fake, fake_labels), training=True))
                g_value = float(g_loss.data)
                if math.isfinite(g_value):
                    self.g_optimizer.zero_grad()
                    g_loss.backward()
                    self.g_optimizer.step()
            finally:
                for w in d_weights:
                    w.requires_grad = True
            self.g_loss_tracker.update_state(g_value)
        return {m.name: m.result() for m in self.metrics}

    # ------------------------------------------------------------ sampling
    def generate(self, n=None, z=None, labels=None, batch_size=500):
        """Generated samples as a host array: from ``n`` fresh noise vectors or the given ``z``."""
        if z is None:
            if n is None:
                raise ValueError(f"{type(self).__name__}.generate: pass n (how many) or z")
            z = backend.to_numpy(self.sample_noise(n))
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"{type(self).__name__}.generate: z must be (n, latent_dim="
                             f"{self.latent_dim}), got shape {z.shape}")
        labels = self._generate_labels(len(z), labels)
        out = []
        with no_grad():
            for i in range(0, len(z), batch_size):
                lab = None if labels is None else labels[i:i + batch_size]
                y = self.generator(self._generator_inputs(z[i:i + batch_size], lab),
                                   training=False)
                out.append(backend.to_numpy(y.data))
        return np.concatenate(out) if out else np.zeros((0,) + self.sample_shape, np.float32)

    def _generate_labels(self, n, labels):
        if labels is not None:
            raise ValueError("GAN.generate: an unconditional GAN takes no labels")
        return None

    # ------------------------------------------------------------ data checks
    def _check_data(self, x):
        who = f"{type(self).__name__}.fit"
        x = getattr(x, "data", x)
        if not hasattr(x, "shape") or not hasattr(x, "dtype"):
            x = np.asarray(x)
        if x.dtype.kind not in "uif":
            raise ValueError(f"{who}: x must be numeric samples, got dtype {x.dtype}")
        if x.ndim == len(self.sample_shape) and self.sample_shape[-1] == 1 and \
                tuple(x.shape[1:]) == self.sample_shape[:-1]:
            x = x[..., None]                    # (N, H, W) images: add the channel axis
        if tuple(x.shape[1:]) != self.sample_shape:
            raise ValueError(f"{who}: x must hold samples of shape {self.sample_shape} (the "
                             f"generator's output and the discriminator's input), got an array "
                             f"of shape {tuple(x.shape)}")
        if len(x) == 0:
            raise ValueError(f"{who}: x is empty")
        xp = backend.array_module(x)
        x = x.astype(np.float32) if x.dtype != np.float32 else x
        if not bool(xp.isfinite(x).all()):
            raise ValueError(f"{who}: x contains NaN or inf")
        bounds, name = _output_range(self.generator)
        if bounds is not None:
            low, high = bounds
            lo, hi = float(x.min()), float(x.max())
            if lo < low - 1e-3 or hi > high + 1e-3:
                hint = (" (deepsheet.gan.scale_images maps 8-bit pixels there: x / 127.5 - 1)"
                        if low == -1.0 else " (divide 8-bit pixels by 255)")
                raise ValueError(f"{who}: x has values in [{lo:g}, {hi:g}] but the generator's "
                                 f"output activation {name} produces [{low:g}, {high:g}]; scale "
                                 f"the real samples to [{low:g}, {high:g}]{hint}")
        return x

    def _check_labels(self, y, n):
        if y is not None:
            raise ValueError(f"{type(self).__name__}.fit: an unconditional GAN learns from "
                             "samples alone; pass y=None (use ConditionalGAN for labels)")
        return None

    # ------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose="auto", callbacks=None,
            shuffle=True, initial_epoch=0, steps_per_epoch=None):
        """Play the game for ``epochs`` passes over the real samples ``x``; returns a ``History``.

        ``Model.fit``'s loop (progress bar, callbacks, ``BackupAndRestore``) with one
        ``train_step`` per batch, after checking the samples against the networks.
        Shuffling and noise draw from the library RNG, so a seeded run is reproducible and a
        resumed run continues bit for bit. Warns (``GANWarning``) when an epoch ends with
        the discriminator having won (d_loss near 0, every fake rejected): the generator's
        gradient then vanishes.
        """
        who = f"{type(self).__name__}.fit"
        if self.d_optimizer is None:
            raise RuntimeError(f"{who}: call compile(d_optimizer=, g_optimizer=) first")
        if x is None:
            raise ValueError(f"{who}: pass the real samples x")
        x = self._check_data(x)
        y = self._check_labels(y, len(x))
        callbacks = list(callbacks or []) + [_FailureWatch()]
        return super().fit(x, y, batch_size=_positive_int(f"{who}: batch_size", batch_size),
                           epochs=epochs, verbose=verbose, callbacks=callbacks, shuffle=shuffle,
                           initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch)

    # ------------------------------------------------------------ checkpoints
    def save_checkpoint(self, filepath, epoch=None):
        """Write the weights and the whole training state (both optimizers, RNG, epoch).

        ``callbacks.BackupAndRestore`` does this at every epoch's end and resumes by itself;
        this is the same file for a hand-made save. Returns the path.
        """
        from ..checkpoint import TrainingState
        from ..saving import save_checkpoint
        state = TrainingState.capture(self, self.fit_callbacks, epoch=epoch)
        return save_checkpoint(self, filepath, state)

    def load_checkpoint(self, filepath):
        """Restore a ``save_checkpoint`` file into this compiled GAN; returns its epoch.

        Weights and both optimizers now; the RNG and the callbacks' state when the next
        ``fit(..., initial_epoch=<returned epoch>)`` starts, which then continues bit for bit.
        """
        from ..checkpoint import attach
        from ..saving import load_checkpoint
        if self.d_optimizer is None:
            raise ValueError(f"{type(self).__name__}.load_checkpoint: compile the GAN first "
                             "(its optimizers receive the saved state)")
        state = load_checkpoint(self, filepath)
        state.restore_model(self)
        metadata = {"epoch": state.epoch, "path": str(filepath)}
        attach(self, state, metadata)
        return 0 if state.epoch is None else int(state.epoch)

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} is saved with save_checkpoint() or "
                                  "callbacks.BackupAndRestore (both networks and both optimizers); "
                                  "save its generator alone with generator.save()")


class _FailureWatch(Callback):
    """Warns at an epoch's end when the discriminator has won (``GANWarning``)."""

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if logs.get("d_loss", 1.0) < 0.01 and logs.get("fake_accuracy", 0.0) > 0.99:
            warnings.warn(f"{type(self.model).__name__}: epoch {epoch + 1}: the discriminator "
                          f"has won (d_loss {logs['d_loss']:.2g}, fake_accuracy "
                          f"{logs['fake_accuracy']:.3f}); the generator's gradient vanishes. "
                          "Try label_smoothing=0.1, a smaller discriminator learning rate or "
                          "fewer d_steps", GANWarning, stacklevel=2)
