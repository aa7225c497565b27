"""Weight initializers (Keras's ``keras.initializers``): zeros, ones, Glorot, He, LeCun, orthogonal.

An initializer is a callable ``init(shape, dtype=None)`` returning a backend array on the
default device. Random ones draw from the library RNG (``deepsheet.manual_seed`` makes
them reproducible) in float32 and cast afterwards, so a seed gives the same numbers for
any dtype and device. Given ``seed=``, an initializer draws from its own generator and
returns the same values at every call, as in Keras 3.

Fan-in and fan-out follow Keras for its weight layouts (the ones deepsheet uses):

    dense kernel (in, out)                     fan_in = in,            fan_out = out
    conv kernel  (k..., in, out), e.g. (kh, kw, in, out)
                                               fan_in = prod(k)·in,    fan_out = prod(k)·out
    1-D shape (n,)                             fan_in = fan_out = n

The variance-scaling family (Glorot/Xavier, He/Kaiming, LeCun) draws with variance

    Var(w) = scale / n,   n = fan_in | fan_out | (fan_in + fan_out)/2,

uniform on [-limit, limit] with limit = sqrt(3·scale/n), or normal. As in Keras, the
"normal" variants draw a normal truncated at two standard deviations whose stddev is
divided by 0.87962566 (the stddev of a standard normal truncated to [-2, 2]), so the
variance is still exactly scale/n while no weight lies far in the tails. (PyTorch's
``kaiming_normal_`` / ``xavier_normal_`` use an untruncated normal of the same variance.)

    glorot_uniform (xavier_uniform)  scale 1, n = (fan_in+fan_out)/2: limit = sqrt(6/(in+out))
    glorot_normal  (xavier_normal)   scale 1, n = (fan_in+fan_out)/2: Var = 2/(fan_in+fan_out)
    he_uniform     (kaiming_uniform) scale 2, n = fan_in:              limit = sqrt(6/fan_in)
    he_normal      (kaiming_normal)  scale 2, n = fan_in:              Var = 2/fan_in
    lecun_uniform                    scale 1, n = fan_in:              limit = sqrt(3/fan_in)
    lecun_normal                     scale 1, n = fan_in:              Var = 1/fan_in

Glorot & Bengio 2010 (keep activation and gradient variance across layers); He et al.
2015 (the factor 2 compensates ReLU zeroing half its inputs); LeCun et al. 1998; Saxe et
al. 2014 (orthogonal).

Examples
--------
>>> import deepsheet as ds
>>> w = ds.init.get("he_normal")((784, 256))
>>> w.shape, w.dtype
((784, 256), dtype('float32'))
"""
from __future__ import annotations

import math

import numpy as np

from . import _registry, backend

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform",
    "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal", "Identity",
    "zeros", "ones", "constant", "random_normal", "random_uniform", "truncated_normal",
    "variance_scaling", "glorot_uniform", "glorot_normal", "xavier_uniform", "xavier_normal",
    "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal", "lecun_uniform",
    "lecun_normal", "orthogonal", "identity", "compute_fans", "get", "serialize",
    "deserialize",
]

# stddev of a standard normal truncated to [-2, 2]; dividing by it restores unit variance.
_TRUNC_STD = 0.87962566103423978


def compute_fans(shape):
    """(fan_in, fan_out) of a weight of ``shape`` in Keras's layouts.

    Dense (in, out); convolution (k1, ..., kd, in, out) with the receptive field
    prod(k) multiplying both fans; a vector uses its length for both; a scalar 1.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _check_number(cls, name, value, positive=False, nonneg=False):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{cls}: {name} must be a number, got {value!r}") from None
    if not math.isfinite(value) or (positive and value <= 0) or (nonneg and value < 0):
        need = "a positive" if positive else "a non-negative" if nonneg else "a finite"
        raise ValueError(f"{cls}: {name} must be {need} number, got {value!r}")
    return value


class Initializer(_registry.Configurable):
    """Base class: ``__call__(shape, dtype=None)`` -> backend array; config for saving.

    Random subclasses take ``seed``: None draws from the library RNG (different values at
    each call, reproducible under ``manual_seed``); an integer draws from a private
    generator seeded with it, giving the same values at every call (Keras 3).
    """

    seed = None

    def __call__(self, shape, dtype=None):
        dtype = np.dtype(dtype or backend.get_default_dtype())
        shape = tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"{type(self).__name__}: negative dimension in shape {shape}")
        out = self._sample(shape)
        if out.dtype != dtype:
            out = out.astype(dtype)
        return backend.to_device(out, backend.get_default_device())

    def _sample(self, shape):  # pragma: no cover - abstract
        raise NotImplementedError

    def _rng(self):
        if self.seed is None:
            return backend.rng()
        return np.random.Generator(np.random.PCG64(int(self.seed)))


class Zeros(Initializer):
    """All zeros (Keras's default bias). Formula: w = 0."""

    def _sample(self, shape):
        return np.zeros(shape, np.float32)


class Ones(Initializer):
    """All ones (BatchNormalization's gamma). Formula: w = 1."""

    def _sample(self, shape):
        return np.ones(shape, np.float32)


class Constant(Initializer):
    """Every entry equal to ``value``. Formula: w = value."""

    def __init__(self, value=0.0):
        self.value = _check_number("Constant", "value", value)

    def _sample(self, shape):
        return np.full(shape, self.value, np.float32)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """Normal draws. Formula: w ~ N(mean, stddev^2)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = _check_number("RandomNormal", "mean", mean)
        self.stddev = _check_number("RandomNormal", "stddev", stddev, nonneg=True)
        self.seed = seed

    def _sample(self, shape):
        out = self._rng().standard_normal(shape, dtype=np.float32)
        out *= self.stddev
        out += self.mean
        return out

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform draws. Formula: w ~ U[minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = _check_number("RandomUniform", "minval", minval)
        self.maxval = _check_number("RandomUniform", "maxval", maxval)
        if self.maxval < self.minval:
            raise ValueError(f"RandomUniform: maxval ({maxval}) must be >= minval ({minval})")
        self.seed = seed

    def _sample(self, shape):
        return _uniform(self._rng(), shape, self.minval, self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(Initializer):
    """Normal draws, redrawn until within two standard deviations of the mean.

    Formula: w ~ N(mean, stddev^2) conditioned on |w - mean| <= 2·stddev
    (its variance is (0.87962566·stddev)^2).
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = _check_number("TruncatedNormal", "mean", mean)
        self.stddev = _check_number("TruncatedNormal", "stddev", stddev, nonneg=True)
        self.seed = seed

    def _sample(self, shape):
        out = _truncated_standard_normal(self._rng(), shape)
        out *= self.stddev
        out += self.mean
        return out

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _uniform(rng, shape, low, high):
    out = rng.random(shape, dtype=np.float32)
    out *= (high - low)
    out += low
    return out


def _truncated_standard_normal(rng, shape):
    out = rng.standard_normal(shape, dtype=np.float32)
    # Redraw only the rejected entries: about 4.6% per round, so a handful of rounds.
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()), dtype=np.float32)
        bad = np.abs(out) > 2.0
    return out


class VarianceScaling(Initializer):
    """Draws with variance scale / n, n chosen by ``mode`` from the fans (see module doc).

    Formula: n = fan_in ("fan_in"), fan_out ("fan_out") or (fan_in + fan_out)/2
    ("fan_avg"); "uniform": w ~ U[-sqrt(3·scale/n), sqrt(3·scale/n)];
    "truncated_normal": truncated N(0, (sqrt(scale/n)/0.87962566)^2), Var = scale/n;
    "untruncated_normal": N(0, scale/n).

    Parameters
    ----------
    scale : float > 0
    mode : "fan_in" | "fan_out" | "fan_avg"
    distribution : "truncated_normal" | "untruncated_normal" | "uniform"
    seed : int, optional
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        self.scale = _check_number(type(self).__name__, "scale", scale, positive=True)
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling: mode must be one of {self._MODES}, got {mode!r}")
        if distribution == "normal":  # Keras's legacy alias
            distribution = "truncated_normal"
        if distribution not in self._DISTS:
            raise ValueError(f"VarianceScaling: distribution must be one of {self._DISTS}, "
                             f"got {distribution!r}")
        self.mode, self.distribution, self.seed = mode, distribution, seed

    def _sample(self, shape):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        var = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            return _uniform(rng, shape, -limit, limit)
        if self.distribution == "truncated_normal":
            out = _truncated_standard_normal(rng, shape)
            out *= math.sqrt(var) / _TRUNC_STD
            return out
        out = rng.standard_normal(shape, dtype=np.float32)
        out *= math.sqrt(var)
        return out

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class _Preset(VarianceScaling):
    """A named VarianceScaling whose only argument is ``seed`` (Keras's presets)."""

    _preset = (1.0, "fan_avg", "uniform")

    def __init__(self, seed=None):
        super().__init__(*self._preset, seed=seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_Preset):
    """Glorot/Xavier uniform: w ~ U[-limit, limit], limit = sqrt(6 / (fan_in + fan_out)).

    Formula::

        w ~ U[−l, l],  l = sqrt(6 / (fan_in + fan_out))   (Var(w) = 2 / (fan_in + fan_out))
    """

    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Glorot/Xavier normal: truncated normal with Var(w) = 2 / (fan_in + fan_out)."""

    _preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """He/Kaiming uniform (for ReLU): w ~ U[-limit, limit], limit = sqrt(6 / fan_in)."""

    _preset = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """He/Kaiming normal (for ReLU): truncated normal with Var(w) = 2 / fan_in.

    Formula::

        w ~ N(0, σ²) truncated at ±2σ (rescaled),  Var(w) = 2 / fan_in
    """

    _preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """LeCun uniform (for SELU/tanh): w ~ U[-limit, limit], limit = sqrt(3 / fan_in)."""

    _preset = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """LeCun normal (for SELU): truncated normal with Var(w) = 1 / fan_in.

    Formula::

        w ~ N(0, σ²) truncated at ±2σ (rescaled),  Var(w) = 1 / fan_in
    """

    _preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014), e.g. recurrent kernels.

    Formula: the shape is viewed as a matrix (prod(shape[:-1]), shape[-1]); A ~ N(0, 1) of
    the taller orientation, A = QR, Q ← Q·diag(sign(diag R)) (makes the draw uniform over
    orthogonal matrices), transposed back if needed; w = gain · Q, so w^T w = gain^2 I
    (or w w^T = gain^2 I when there are fewer rows than columns).
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = _check_number("Orthogonal", "gain", gain)
        self.seed = seed

    def _sample(self, shape):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of rank >= 2, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)), dtype=np.float32)
        # QR in float64 so that the float32 result is orthogonal to float32 precision.
        q, r = np.linalg.qr(a.astype(np.float64))
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q).astype(np.float32).reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only; rectangular allowed)."""

    def __init__(self, gain=1.0):
        self.gain = _check_number("Identity", "gain", gain)

    def _sample(self, shape):
        if len(shape) != 2:
            raise ValueError(f"Identity needs a 2-D shape, got {shape}")
        return self.gain * np.eye(*shape, dtype=np.float32)

    def get_config(self):
        return {"gain": self.gain}


# Keras exposes each class under its snake-case name too; PyTorch users know xavier/kaiming.
zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
xavier_uniform, xavier_normal = GlorotUniform, GlorotNormal
he_uniform, he_normal = HeUniform, HeNormal
kaiming_uniform, kaiming_normal = HeUniform, HeNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal
orthogonal, identity = Orthogonal, Identity

_NAMES = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "random_normal": RandomNormal, "normal": RandomNormal,
    "random_uniform": RandomUniform, "uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "xavier_uniform": GlorotUniform, "xavier_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "kaiming_uniform": HeUniform, "kaiming_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity,
}
_CLASSES = {cls.__name__: cls for cls in set(_NAMES.values())}


def _lookup(name):
    return _registry.lookup("initializer", name, _NAMES, _CLASSES)


def get(identifier):
    """An initializer from a name, class, config dict, instance or callable.

    ``None`` gives ``None`` (as in Keras); an unknown name raises ValueError listing the
    valid ones. Returned objects are callables ``(shape, dtype=None) -> array``.

    Examples
    --------
    >>> import deepsheet as ds
    >>> ds.init.get("xavier_uniform")
    GlorotUniform(seed=None)
    """
    return _registry.get(identifier, Initializer, _lookup, deserialize, "initializer",
                         "a name (e.g. 'glorot_uniform'), an Initializer, a config dict or "
                         "a callable")


def serialize(initializer):
    """``{"class_name": ..., "config": ...}`` for an Initializer (JSON-able)."""
    if isinstance(initializer, str):
        initializer = get(initializer)
    if not isinstance(initializer, Initializer):
        raise ValueError(f"cannot serialize initializer {initializer!r}: only deepsheet.init "
                         "Initializer objects can be saved (pass a name or an Initializer)")
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config):
    """Inverse of ``serialize``; unknown classes are refused."""
    return _registry.from_spec("initializer", config, _lookup)
