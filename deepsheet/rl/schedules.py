"""Exploration schedules: ε as a function of a step or episode count."""
from __future__ import annotations

import math
import numbers

__all__ = ["ConstantSchedule", "LinearSchedule", "ExponentialSchedule", "as_schedule"]


def _fraction(owner, name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"{owner}: {name} must be a number in [0, 1], got {value!r}")
    return float(value)


class ConstantSchedule:
    """ε(t) = value."""

    def __init__(self, value):
        self.value = _fraction("ConstantSchedule", "value", value)

    def __call__(self, t):
        return self.value

    def __repr__(self):
        return f"ConstantSchedule({self.value})"


class LinearSchedule:
    """ε(t) = start + (end − start) · min(t / duration, 1): a straight line, then flat.

    Parameters
    ----------
    start, end : float in [0, 1]
    duration : int
        Steps (or episodes, as the agent counts) to go from start to end.

    Examples
    --------
    >>> LinearSchedule(1.0, 0.1, 10)(5)
    0.55
    """

    def __init__(self, start, end, duration):
        self.start = _fraction("LinearSchedule", "start", start)
        self.end = _fraction("LinearSchedule", "end", end)
        if not isinstance(duration, numbers.Integral) or duration < 1:
            raise ValueError(f"LinearSchedule: duration must be a positive int, got {duration!r}")
        self.duration = int(duration)

    def __call__(self, t):
        return self.start + (self.end - self.start) * min(t / self.duration, 1.0)

    def __repr__(self):
        return f"LinearSchedule({self.start}, {self.end}, {self.duration})"


class ExponentialSchedule:
    """ε(t) = end + (start − end) · decay^t: geometric decay towards ``end``.

    Parameters
    ----------
    start, end : float in [0, 1]
    decay : float in (0, 1]
    """

    def __init__(self, start, end, decay):
        self.start = _fraction("ExponentialSchedule", "start", start)
        self.end = _fraction("ExponentialSchedule", "end", end)
        if not isinstance(decay, numbers.Real) or not 0 < decay <= 1:
            raise ValueError(f"ExponentialSchedule: decay must be in (0, 1], got {decay!r}")
        self.decay = float(decay)

    def __call__(self, t):
        return self.end + (self.start - self.end) * math.pow(self.decay, t)

    def __repr__(self):
        return f"ExponentialSchedule({self.start}, {self.end}, {self.decay})"


def as_schedule(value, owner, name="epsilon"):
    """A number becomes a constant schedule; a callable is used as it is."""
    if callable(value):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return ConstantSchedule(_fraction(owner, name, value))
    raise TypeError(f"{owner}: {name} must be a number in [0, 1] or a schedule t -> value, "
                    f"got {value!r}")
