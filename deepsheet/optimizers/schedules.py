"""Learning-rate schedules: callables ``step -> learning rate``.

An optimizer accepts a schedule in place of a number for ``learning_rate`` and evaluates
it at its step count *before* each update (Keras's convention): the first update uses
``schedule(0)``. ``step`` counts optimizer updates (batches), not epochs. Each schedule
describes itself with ``get_config()``; ``serialize``/``deserialize`` turn it into
``{"class_name", "config"}`` JSON-able data and back.

Examples
--------
>>> from deepsheet.optimizers import Adam, schedules
>>> sched = schedules.WarmupCosineDecay(1e-3, warmup_steps=100, decay_steps=900)
>>> opt = Adam(learning_rate=sched)
>>> round(sched(50), 6), round(sched(100), 6), sched(1000)
(0.0005, 0.001, 0.0)
"""
from __future__ import annotations

import math
import numbers

from .._registry import Configurable

__all__ = ["LearningRateSchedule", "ConstantSchedule", "StepDecay", "ExponentialDecay",
           "PiecewiseConstantDecay", "CosineDecay", "WarmupCosineDecay", "serialize",
           "deserialize", "get"]


def _number(owner, name, value, low=0.0, positive=False):
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and math.isfinite(value) and (value > low if positive else value >= low))
    if not ok:
        op = ">" if positive else ">="
        raise ValueError(f"{owner}: {name} must be a finite number {op} {low}, got {value!r}")
    return float(value)


def _count(owner, name, value, low=1):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{owner}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


class LearningRateSchedule(Configurable):
    """Base class: ``__call__(step) -> float`` and ``get_config()``."""

    def __call__(self, step):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self):  # pragma: no cover - abstract
        raise NotImplementedError


class ConstantSchedule(LearningRateSchedule):
    """The same learning rate at every step.

    Formula: η_t = η
    """

    def __init__(self, learning_rate):
        self.learning_rate = _number("ConstantSchedule", "learning_rate", learning_rate)

    def __call__(self, step):
        return self.learning_rate

    def get_config(self):
        return {"learning_rate": self.learning_rate}


class StepDecay(LearningRateSchedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps (torch's StepLR).

    Formula: η_t = η₀ · γ^⌊t / step_size⌋

    Parameters
    ----------
    initial_learning_rate : float
    step_size : int
        Optimizer steps between decays (torch's StepLR counts ``scheduler.step()`` calls,
        usually epochs; here the count is of updates: use steps_per_epoch · epochs).
    gamma : float
        Decay factor, default 0.1.
    """

    def __init__(self, initial_learning_rate, step_size, gamma=0.1):
        self.initial_learning_rate = _number("StepDecay", "initial_learning_rate",
                                             initial_learning_rate)
        self.step_size = _count("StepDecay", "step_size", step_size)
        self.gamma = _number("StepDecay", "gamma", gamma)

    def __call__(self, step):
        return self.initial_learning_rate * self.gamma ** (int(step) // self.step_size)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "step_size": self.step_size, "gamma": self.gamma}


class ExponentialDecay(LearningRateSchedule):
    """Exponential decay with Keras's arguments.

    Formula: η_t = η₀ · r^(t / decay_steps), with ⌊t / decay_steps⌋ if ``staircase``

    Parameters
    ----------
    initial_learning_rate : float
    decay_steps : int
        Steps over which the rate is multiplied by ``decay_rate`` once.
    decay_rate : float
    staircase : bool
        Decay in discrete jumps every ``decay_steps``.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        owner = "ExponentialDecay"
        self.initial_learning_rate = _number(owner, "initial_learning_rate",
                                             initial_learning_rate)
        self.decay_steps = _count(owner, "decay_steps", decay_steps)
        self.decay_rate = _number(owner, "decay_rate", decay_rate, positive=True)
        self.staircase = bool(staircase)

    def __call__(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}


class PiecewiseConstantDecay(LearningRateSchedule):
    """Constant pieces: ``values[i]`` while ``boundaries[i-1] < t <= boundaries[i]`` (Keras).

    Formula: η_t = values[k], k = number of boundaries b with t > b
    """

    def __init__(self, boundaries, values):
        owner = "PiecewiseConstantDecay"
        self.boundaries = [_count(owner, "boundaries[]", b, low=0) for b in boundaries]
        self.values = [_number(owner, "values[]", v) for v in values]
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(f"{owner}: values must have one more entry than boundaries, got "
                             f"{len(self.values)} values and {len(self.boundaries)} boundaries")
        if any(b2 <= b1 for b1, b2 in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"{owner}: boundaries must increase, got {self.boundaries}")

    def __call__(self, step):
        k = sum(1 for b in self.boundaries if step > b)
        return self.values[k]

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values)}


class CosineDecay(LearningRateSchedule):
    """Cosine decay, optionally after a linear warm-up (Keras's ``CosineDecay``).

    Formula::

        without warm-up:  η_t = η₀ · ((1 − α) · ½(1 + cos(π · min(t, T) / T)) + α)
        with warm-up W to target η*:
            t < W:   η_t = η₀ + (η* − η₀) · t / W
            t ≥ W:   η_t = η* · ((1 − α) · ½(1 + cos(π · min(t − W, T) / T)) + α)

    (Loshchilov & Hutter 2017, SGDR, without restarts.)

    Parameters
    ----------
    initial_learning_rate : float
    decay_steps : int
        T, the length of the cosine part.
    alpha : float
        Final learning rate as a fraction of the rate the decay starts from.
    warmup_target : float, optional
        η*, the rate reached at the end of the warm-up (no warm-up when None).
    warmup_steps : int
        W, the length of the linear warm-up.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
                 warmup_steps=0):
        owner = type(self).__name__
        self.initial_learning_rate = _number(owner, "initial_learning_rate",
                                             initial_learning_rate)
        self.decay_steps = _count(owner, "decay_steps", decay_steps)
        self.alpha = _number(owner, "alpha", alpha)
        self.warmup_target = (None if warmup_target is None
                              else _number(owner, "warmup_target", warmup_target))
        self.warmup_steps = _count(owner, "warmup_steps", warmup_steps, low=0)

    def _cosine(self, t, start):
        t = min(t, self.decay_steps)
        cosine = 0.5 * (1.0 + math.cos(math.pi * t / self.decay_steps))
        return start * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        if self.warmup_target is None:
            return self._cosine(step, self.initial_learning_rate)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return self.initial_learning_rate + delta * (step / self.warmup_steps)
        return self._cosine(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class WarmupCosineDecay(CosineDecay):
    """Linear warm-up from ``initial_learning_rate`` to ``peak_learning_rate``, then cosine.

    Formula::

        t < W:   η_t = η₀ + (η_peak − η₀) · t / W
        t ≥ W:   η_t = η_peak · ((1 − α) · ½(1 + cos(π · min(t − W, T) / T)) + α)

    The same as ``CosineDecay(initial_learning_rate, decay_steps, alpha,
    warmup_target=peak_learning_rate, warmup_steps=warmup_steps)``, named by what it does.

    Parameters
    ----------
    peak_learning_rate : float
    warmup_steps : int
        W >= 1.
    decay_steps : int
        T, the cosine part after the warm-up.
    alpha : float
        Final rate as a fraction of the peak.
    initial_learning_rate : float
        Rate at step 0, default 0.
    """

    def __init__(self, peak_learning_rate, warmup_steps, decay_steps, alpha=0.0,
                 initial_learning_rate=0.0):
        peak = _number("WarmupCosineDecay", "peak_learning_rate", peak_learning_rate)
        super().__init__(initial_learning_rate, decay_steps, alpha=alpha, warmup_target=peak,
                         warmup_steps=_count("WarmupCosineDecay", "warmup_steps", warmup_steps))

    @property
    def peak_learning_rate(self):
        return self.warmup_target

    def get_config(self):
        return {"peak_learning_rate": self.warmup_target, "warmup_steps": self.warmup_steps,
                "decay_steps": self.decay_steps, "alpha": self.alpha,
                "initial_learning_rate": self.initial_learning_rate}


_CLASSES = {c.__name__: c for c in (ConstantSchedule, StepDecay, ExponentialDecay,
                                    PiecewiseConstantDecay, CosineDecay, WarmupCosineDecay)}


def serialize(schedule):
    """``{"class_name": ..., "config": ...}`` for a schedule of this module."""
    if not isinstance(schedule, LearningRateSchedule) or type(schedule).__name__ not in _CLASSES:
        raise ValueError(f"cannot save the learning-rate schedule {schedule!r}: only the "
                         f"schedules of deepsheet.optimizers.schedules ({', '.join(_CLASSES)}) "
                         "can be saved; a plain function cannot")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    """The schedule described by ``serialize``'s output; unknown classes are rejected."""
    if not isinstance(config, dict) or set(config) != {"class_name", "config"}:
        raise ValueError(f"a schedule description is {{'class_name': ..., 'config': ...}}, "
                         f"got {config!r}")
    cls = _CLASSES.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown schedule {config['class_name']!r}; expected one of "
                         f"{', '.join(_CLASSES)}")
    try:
        return cls.from_config(dict(config["config"]))
    except TypeError as exc:
        raise ValueError(f"bad config for {config['class_name']}: {exc}") from None


def get(identifier):
    """A schedule instance as is, or one rebuilt from ``serialize``'s output."""
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    return deserialize(identifier)
