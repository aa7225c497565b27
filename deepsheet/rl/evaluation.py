"""``evaluate``: run an agent's greedy policy for some episodes and summarise the returns."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._common import episodes_arg


class Evaluation(NamedTuple):
    """Result of ``evaluate``: mean and standard deviation of the returns, success rate, returns."""

    mean: float
    std: float
    success_rate: float
    returns: np.ndarray


def _default_success(reward, terminated, truncated, info):
    if "is_success" in info:
        return bool(info["is_success"])
    return bool(terminated and reward > 0)


def evaluate(agent, env, episodes=100, seed=None, greedy=True, success=None, max_steps=None,
             success_threshold=None):
    """Mean return, its standard deviation and the success rate of an agent over episodes.

    Formula::

        G_i = Σ_t r_t (undiscounted),   mean = (1/n) Σ_i G_i,   std = sqrt((1/n) Σ_i (G_i − mean)²)

    Parameters
    ----------
    agent : object with ``act(obs, greedy=...)``, or a callable ``obs -> action``
    env : gymnasium.Env
    episodes : int
    seed : int, optional
        Passed to the first ``reset``; later resets continue the environment's generator, so
        a seeded evaluation is reproducible.
    greedy : bool
        Act greedily (the default) or with the agent's exploration.
    success : callable ``(last_reward, terminated, truncated, info) -> bool``, optional
        What counts as a success. Default: ``info["is_success"]`` when the environment
        reports it, else an episode that terminated with a positive last reward (reaching
        FrozenLake's goal, Taxi's drop-off). Survival tasks such as CartPole, which also
        pay on the failing step, need ``success_threshold``.
    success_threshold : float, optional
        Count an episode as a success when its return reaches this (CartPole-v1: 475);
        replaces the default rule. Default, when ``success`` is not given either: the
        environment's ``spec.reward_threshold`` for continuous observations (CartPole's
        475; its failing step would pass the terminated-with-a-reward rule), none for
        discrete (tabular) ones.
    max_steps : int, optional
        Cut episodes after this many steps (besides the environment's own limit).

    Returns
    -------
    Evaluation
        ``(mean, std, success_rate, returns)``.
    """
    episodes = episodes_arg("evaluate", episodes)
    if hasattr(agent, "act"):
        def policy(o):
            return agent.act(o, greedy=greedy)
    elif callable(agent):
        policy = agent
    else:
        raise TypeError(f"evaluate: agent must have act(obs, greedy=) or be callable, got "
                        f"{type(agent).__name__}")
    if success is not None and success_threshold is not None:
        raise ValueError("evaluate: give success or success_threshold, not both")
    if success is None and success_threshold is None and \
            type(getattr(env, "observation_space", None)).__name__ != "Discrete":
        success_threshold = getattr(getattr(env, "spec", None), "reward_threshold", None)
    is_success = _default_success if success is None else success
    returns = np.zeros(episodes)
    wins = 0
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed if ep == 0 else None)
        total, t = 0.0, 0
        while True:
            obs, r, terminated, truncated, info = env.step(policy(obs))
            total += float(r)
            t += 1
            if terminated or truncated or (max_steps is not None and t >= max_steps):
                break
        returns[ep] = total
        if success_threshold is not None:
            wins += total >= success_threshold
        else:
            wins += bool(is_success(r, terminated, truncated, info))
    return Evaluation(float(returns.mean()), float(returns.std()), wins / episodes, returns)
