"""Tabular temporal-difference control: Q-learning, SARSA and Expected SARSA with ε-greedy exploration."""
from __future__ import annotations

import numpy as np

from ._common import check_number, discrete_spaces, episodes_arg, progress_bar
from .planning import greedy_policy
from .schedules import as_schedule

__all__ = ["QLearning", "SARSA", "ExpectedSARSA"]


class _TabularAgent:
    """Shared machinery: the table, ε-greedy acting, the episode loop. Subclasses write ``_target``.

    Parameters
    ----------
    n_states, n_actions : int, optional
        Size of the table; taken from the environment's Discrete spaces at ``train`` when
        left out.
    learning_rate : float in (0, 1]
        α of the update.
    gamma : float in [0, 1]
        Discount.
    epsilon : float or schedule
        Exploration rate, or a schedule ``episode -> ε`` (``rl.LinearSchedule``, ...);
        counted in episodes across ``train`` calls.
    initial_q : float
        Initial value of every entry (optimistic values explore).
    seed : int, optional
        Seeds the agent's own random generator (exploration and tie-breaking).
    """

    def __init__(self, n_states=None, n_actions=None, *, learning_rate=0.1, gamma=0.99,
                 epsilon=0.1, initial_q=0.0, seed=None):
        owner = type(self).__name__
        self.learning_rate = check_number(owner, "learning_rate", learning_rate, 0, 1, True)
        self.gamma = check_number(owner, "gamma", gamma, 0, 1)
        self.epsilon = as_schedule(epsilon, owner)
        self.initial_q = check_number(owner, "initial_q", initial_q)
        self.rng = np.random.default_rng(seed)
        self.episodes_done = 0
        self.q = None
        if n_states is not None or n_actions is not None:
            n_s = check_number(owner, "n_states", n_states, 1, integer=True)
            n_a = check_number(owner, "n_actions", n_actions, 1, integer=True)
            self.q = np.full((n_s, n_a), self.initial_q)

    def _setup(self, env):
        n_s, n_a = discrete_spaces(env, type(self).__name__)
        if self.q is None:
            self.q = np.full((n_s, n_a), self.initial_q)
        elif self.q.shape != (n_s, n_a):
            raise ValueError(f"{type(self).__name__}: the table has shape {self.q.shape} but the "
                             f"environment has {n_s} states and {n_a} actions")

    def _greedy(self, s):
        row = self.q[s]
        best = np.flatnonzero(row == row.max())
        return int(best[0] if best.size == 1 else best[self.rng.integers(best.size)])

    def _behave(self, s, eps):
        if self.rng.random() < eps:
            return int(self.rng.integers(self.q.shape[1]))
        return self._greedy(s)

    def act(self, obs, greedy=True):
        """The greedy action argmax_a Q(obs, a) (lowest index on ties), or ε-greedy."""
        if self.q is None:
            raise RuntimeError(f"{type(self).__name__}: train the agent (or give n_states and "
                               "n_actions) before acting")
        s = int(obs)
        if greedy:
            return int(np.argmax(self.q[s]))
        return self._behave(s, self.epsilon(self.episodes_done))

    def policy(self):
        """The greedy policy of the table, an int array (S,)."""
        return greedy_policy(self.q)

    def train(self, env, episodes, seed=None, max_steps=None, progress=False):
        """Run ``episodes`` episodes, updating the table after every step.

        The environment is reset with ``seed`` on the first episode only (Gymnasium's
        convention: later resets continue its generator). Updates bootstrap from Q(s', ·)
        unless the step ``terminated``; a ``truncated`` episode still bootstraps.

        Returns
        -------
        returns : ndarray (episodes,), float64
            The undiscounted return of each episode.
        """
        owner = type(self).__name__
        episodes = episodes_arg(owner, episodes)
        if max_steps is not None:
            max_steps = check_number(owner, "max_steps", max_steps, 1, integer=True)
        self._setup(env)
        returns = np.zeros(episodes)
        bar = progress_bar(episodes, progress, f"{owner} episodes")
        alpha, q = self.learning_rate, self.q
        for ep in range(episodes):
            obs, _ = env.reset(seed=seed if ep == 0 else None)
            s = int(obs)
            eps = self.epsilon(self.episodes_done)
            a = self._behave(s, eps)
            total, t = 0.0, 0
            while True:
                obs, r, terminated, truncated, _ = env.step(a)
                s2 = int(obs)
                total += r
                t += 1
                a2 = self._behave(s2, eps)
                target = r if terminated else r + self.gamma * self._bootstrap(s2, a2, eps)
                q[s, a] += alpha * (target - q[s, a])
                if terminated or truncated or (max_steps is not None and t >= max_steps):
                    break
                s, a = s2, a2
            returns[ep] = total
            self.episodes_done += 1
            if bar is not None:
                bar.update(1)
                if ep % 50 == 0:
                    bar.set_postfix(ret=f"{returns[max(0, ep - 99):ep + 1].mean():.3g}",
                                    eps=f"{eps:.3f}")
        if bar is not None:
            bar.close()
        return returns

    def _bootstrap(self, s2, a2, eps):  # pragma: no cover - abstract
        raise NotImplementedError


class QLearning(_TabularAgent):
    """Q-learning (Watkins 1989): off-policy TD control towards the greedy value.

    Formula::

        Q(s, a) ← Q(s, a) + α [ r + γ max_a' Q(s', a') − Q(s, a) ]
        (the target is r alone when s' is terminal)

    Actions are ε-greedy in Q (ties broken at random while training).

    Examples
    --------
    >>> from deepsheet import rl
    >>> agent = rl.QLearning(learning_rate=0.5, gamma=1.0, epsilon=0.1, seed=0)
    >>> returns = agent.train(rl.GridWorld("sutton-4x4"), episodes=200, seed=0)
    >>> agent.q.shape
    (16, 4)
    """

    def _bootstrap(self, s2, a2, eps):
        return self.q[s2].max()


class SARSA(_TabularAgent):
    """SARSA (Rummery & Niranjan 1994): on-policy TD control with the next action actually taken.

    Formula::

        Q(s, a) ← Q(s, a) + α [ r + γ Q(s', a') − Q(s, a) ],   a' ~ ε-greedy(Q(s', ·))
    """

    def _bootstrap(self, s2, a2, eps):
        return self.q[s2, a2]


class ExpectedSARSA(_TabularAgent):
    """Expected SARSA (van Seijen et al. 2009): the SARSA target averaged over the ε-greedy policy.

    Formula::

        Q(s, a) ← Q(s, a) + α [ r + γ Σ_a' π(a'|s') Q(s', a') − Q(s, a) ]
        π(a'|s') = ε/|A| + (1 − ε)/|argmax| for the greedy actions, ε/|A| otherwise
    """

    def _bootstrap(self, s2, a2, eps):
        row = self.q[s2]
        best = row == row.max()
        return eps * row.mean() + (1.0 - eps) * row[best].mean()
