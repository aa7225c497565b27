"""Small helpers shared by the agents: argument checks, spaces, progress bars, seeding."""
from __future__ import annotations

import numbers

import numpy as np

from .mdp import _discrete_size


def check_number(owner, name, value, low=None, high=None, low_open=False, integer=False):
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and np.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        lo = "(" if low_open else "["
        interval = f"{lo}{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(f"{owner}: {name} must be {'an integer' if integer else 'a number'} in "
                         f"{interval}, got {value!r}")
    return int(value) if integer else float(value)


def discrete_spaces(env, owner):
    """(n_states, n_actions) of an environment with Discrete observations and actions."""
    try:
        n_s = _discrete_size(env.observation_space, "observation_space")
    except TypeError:
        raise TypeError(f"{owner} is tabular and needs a Discrete observation space, got "
                        f"{env.observation_space!r}; use DQN or REINFORCE for continuous "
                        "observations") from None
    try:
        n_a = _discrete_size(env.action_space, "action_space")
    except TypeError:
        raise TypeError(f"{owner} needs a Discrete action space, got {env.action_space!r}") from None
    return n_s, n_a


def discrete_actions(env, owner):
    try:
        return _discrete_size(env.action_space, "action_space")
    except TypeError:
        raise TypeError(f"{owner} needs a Discrete action space, got {env.action_space!r}") from None


def progress_bar(total, enabled, desc):
    """A tqdm bar when ``enabled`` (tqdm is a hard dependency), else None."""
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="ep" if desc.endswith("episodes") else "step",
                dynamic_ncols=True)


def episodes_arg(owner, episodes):
    return check_number(owner, "episodes", episodes, low=1, integer=True)
