"""Learning the model: the sheet's maximum-likelihood estimate of P_sa, and a model-based agent."""
from __future__ import annotations

import numpy as np

from ._common import check_number, discrete_spaces, episodes_arg, progress_bar
from .mdp import MDP
from .planning import value_iteration
from .schedules import as_schedule

__all__ = ["estimate_mdp", "ModelBasedAgent"]


def _check_prior(prior, owner):
    if isinstance(prior, str):
        if prior != "uniform":
            raise ValueError(f"{owner}: prior must be 'uniform' or a Dirichlet α > 0, got {prior!r}")
        return None
    return check_number(owner, "prior", prior, 0, low_open=True)


def mdp_from_counts(counts, reward_sums, gamma, terminal=None, prior="uniform", initial=None):
    """The MLE (or Dirichlet posterior-mean) MDP from transition counts (S, A, S) and reward sums (S, A)."""
    alpha = _check_prior(prior, "estimate_mdp")
    S = counts.shape[0]
    n_sa = counts.sum(axis=2)
    if alpha is None:
        P = np.divide(counts, n_sa[..., None], out=np.full(counts.shape, 1.0 / S),
                      where=n_sa[..., None] > 0)
    else:
        P = (counts + alpha) / (n_sa[..., None] + alpha * S)
    R = np.divide(reward_sums, n_sa, out=np.zeros(reward_sums.shape), where=n_sa > 0)
    return MDP(P, R, gamma, terminal=terminal, initial=initial)


def estimate_mdp(transitions, n_states, n_actions, gamma, prior="uniform"):
    """The sheet's maximum-likelihood model of an MDP from observed transitions.

    Formula::

        P̂_sa(s') = #(s, a → s') / #(s, a)                (MLE, the sheet's estimate)
        R̂(s, a)  = mean of the rewards observed after taking a in s   (0 if never tried)

    Pairs (s, a) never tried have no MLE (0/0). ``prior="uniform"`` sets P̂_sa(s') = 1/|S|
    for them, as the CS229 notes do, and leaves tried pairs at their MLE; a number α > 0
    instead uses the posterior mean of a symmetric Dirichlet(α) prior for every pair,
    P̂_sa(s') = (#(s, a → s') + α) / (#(s, a) + α|S|), which is also 1/|S| for an untried pair.
    A state entered by a step with ``terminated=True`` is terminal.

    Parameters
    ----------
    transitions : iterable of tuples (s, a, r, s') or (s, a, r, s', terminated)
    n_states, n_actions : int
    gamma : float in [0, 1]
    prior : "uniform" or float > 0

    Returns
    -------
    MDP with R(s, a)

    Examples
    --------
    >>> from deepsheet import rl
    >>> mdp = rl.estimate_mdp([(0, 0, 1.0, 1), (0, 0, 0.0, 0), (0, 0, 1.0, 1)], 2, 1, 0.9)
    >>> mdp.P[0, 0].round(3).tolist(), float(mdp.R[0, 0].round(3))
    ([0.333, 0.667], 0.667)
    """
    S = check_number("estimate_mdp", "n_states", n_states, 1, integer=True)
    A = check_number("estimate_mdp", "n_actions", n_actions, 1, integer=True)
    rows = list(transitions)
    counts = np.zeros((S, A, S))
    rsum = np.zeros((S, A))
    terminal = np.zeros(S, dtype=bool)
    for i, row in enumerate(rows):
        if len(row) not in (4, 5):
            raise ValueError(f"estimate_mdp: transition {i} must be (s, a, r, s') or "
                             f"(s, a, r, s', terminated), got {row!r}")
        s, a, r, s2 = int(row[0]), int(row[1]), float(row[2]), int(row[3])
        if not (0 <= s < S and 0 <= s2 < S and 0 <= a < A):
            raise ValueError(f"estimate_mdp: transition {i} = {row!r} has a state outside "
                             f"[0, {S}) or an action outside [0, {A})")
        counts[s, a, s2] += 1
        rsum[s, a] += r
        if len(row) == 5 and row[4]:
            terminal[s2] = True
    return mdp_from_counts(counts, rsum, gamma, terminal=terminal, prior=prior)


class ModelBasedAgent:
    """Model-based RL: act, count transitions, re-estimate the MDP, re-plan by value iteration.

    Formula::

        repeat:  act ε-greedily with π;  #(s, a → s') += 1;  R̂ += r
                 every ``replan_every`` episodes:  P̂, R̂ ← estimate;  (V, π) ← value_iteration(P̂, R̂)

    Parameters
    ----------
    gamma : float in [0, 1]
        Discount of the planning (γ = 1 works when the goal is terminal).
    epsilon : float or schedule
        Exploration, per episode.
    prior : "uniform" or float
        Rule for untried pairs (see ``estimate_mdp``).
    replan_every : int
        Episodes between re-plans.
    seed : int, optional
    """

    def __init__(self, gamma=0.99, *, epsilon=0.1, prior="uniform", replan_every=1, seed=None):
        owner = "ModelBasedAgent"
        self.gamma = check_number(owner, "gamma", gamma, 0, 1)
        self.epsilon = as_schedule(epsilon, owner)
        _check_prior(prior, owner)
        self.prior = prior
        self.replan_every = check_number(owner, "replan_every", replan_every, 1, integer=True)
        self.rng = np.random.default_rng(seed)
        self.counts = self.reward_sums = self.terminal = None
        self.mdp = self.V = self.pi = None
        self.episodes_done = 0

    def replan(self):
        """Re-estimate the model from the counts and solve it by value iteration."""
        self.mdp = mdp_from_counts(self.counts, self.reward_sums, self.gamma,
                                   terminal=self.terminal, prior=self.prior)
        self.V, self.pi = value_iteration(self.mdp, tol=1e-6)
        return self.mdp

    def act(self, obs, greedy=True):
        s = int(obs)
        if self.pi is None:
            raise RuntimeError("ModelBasedAgent: train the agent before acting")
        if not greedy and self.rng.random() < self.epsilon(self.episodes_done):
            return int(self.rng.integers(self.counts.shape[1]))
        return int(self.pi[s])

    def policy(self):
        return self.pi.copy()

    def train(self, env, episodes, seed=None, progress=False):
        """Run ``episodes`` episodes; returns the undiscounted return of each."""
        episodes = episodes_arg("ModelBasedAgent", episodes)
        S, A = discrete_spaces(env, "ModelBasedAgent")
        if self.counts is None:
            self.counts = np.zeros((S, A, S))
            self.reward_sums = np.zeros((S, A))
            self.terminal = np.zeros(S, dtype=bool)
            self.replan()
        returns = np.zeros(episodes)
        bar = progress_bar(episodes, progress, "ModelBasedAgent episodes")
        for ep in range(episodes):
            obs, _ = env.reset(seed=seed if ep == 0 else None)
            s, total = int(obs), 0.0
            while True:
                a = self.act(s, greedy=False)
                obs, r, terminated, truncated, _ = env.step(a)
                s2 = int(obs)
                self.counts[s, a, s2] += 1
                self.reward_sums[s, a] += r
                if terminated:
                    self.terminal[s2] = True
                total += r
                s = s2
                if terminated or truncated:
                    break
            returns[ep] = total
            self.episodes_done += 1
            if self.episodes_done % self.replan_every == 0:
                self.replan()
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return returns
