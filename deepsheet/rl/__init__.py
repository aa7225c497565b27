"""Reinforcement learning: MDPs and exact planning, model estimation, tabular and deep agents.

The CS229 sheet's last page made executable: the MDP (S, A, {P_sa}, γ, R), the value
function and Bellman equations, value and policy iteration, the maximum-likelihood model,
Q-learning, policy gradients (REINFORCE) and DQN, on the Gymnasium API (``reset(seed=)``
→ ``(obs, info)``, five-tuple ``step``; bootstrap on ``terminated``, not ``truncated``).

Gymnasium (the ``rl`` extra) is imported only by what needs it: ``GridWorld``,
``MDP.from_gymnasium`` on a Gymnasium environment, and the command line.
"""
from __future__ import annotations

import importlib

from .evaluation import Evaluation, evaluate
from .mdp import MDP
from .model_based import ModelBasedAgent, estimate_mdp
from .planning import (ConvergenceWarning, expected_return, greedy_policy, policy_evaluation,
                       policy_iteration, q_values, value_iteration)
from .schedules import ConstantSchedule, ExponentialSchedule, LinearSchedule
from .tabular import SARSA, ExpectedSARSA, QLearning

# Loaded on first use: GridWorld subclasses gymnasium.Env; the deep agents import the layers.
_LAZY = {"GridWorld": "gridworld", "LAYOUTS": "gridworld", "DQN": "dqn", "ReplayBuffer": "dqn",
         "REINFORCE": "reinforce"}

__all__ = ["MDP", "policy_evaluation", "value_iteration", "policy_iteration", "q_values",
           "greedy_policy", "expected_return", "ConvergenceWarning", "estimate_mdp",
           "ModelBasedAgent", "QLearning", "SARSA", "ExpectedSARSA", "ConstantSchedule",
           "LinearSchedule", "ExponentialSchedule", "evaluate", "Evaluation", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'deepsheet.rl' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
