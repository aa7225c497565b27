"""Deep Q-learning (Mnih et al. 2015) on deepsheet models: replay, target network, Huber loss, double DQN."""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ._common import check_number, discrete_actions, progress_bar
from ._networks import (check_hidden, check_model, clone, encoder, mlp, observation_size, seed_arg,
                        td_loss)
from .schedules import LinearSchedule, as_schedule

__all__ = ["DQN", "ReplayBuffer"]


class ReplayBuffer:
    """A ring buffer of transitions (s, a, r, s', terminated), sampled uniformly.

    Parameters
    ----------
    capacity : int
    observation_size : int
    seed : int, optional
    """

    def __init__(self, capacity, observation_size, seed=None):
        self.capacity = check_number("ReplayBuffer", "capacity", capacity, 1, integer=True)
        n = observation_size
        self.obs = np.zeros((self.capacity, n), np.float32)
        self.next_obs = np.zeros((self.capacity, n), np.float32)
        self.actions = np.zeros(self.capacity, np.int64)
        self.rewards = np.zeros(self.capacity, np.float32)
        self.terminated = np.zeros(self.capacity, np.float32)
        self.size = 0
        self.pos = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return self.size

    def add(self, obs, action, reward, next_obs, terminated):
        i = self.pos
        self.obs[i] = obs
        self.next_obs[i] = next_obs
        self.actions[i] = action
        self.rewards[i] = reward
        self.terminated[i] = terminated
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size):
        """(obs, actions, rewards, next_obs, terminated) of ``batch_size`` random transitions."""
        idx = self.rng.integers(0, self.size, batch_size)
        return (self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx],
                self.terminated[idx])


class DQN:
    """Deep Q-network agent: Q-learning with a neural Q, experience replay and a target network.

    Formula::

        y_i = r_i + γ (1 − terminated_i) max_a' Q_θ⁻(s'_i, a')                      (DQN)
        y_i = r_i + γ (1 − terminated_i) Q_θ⁻(s'_i, argmax_a' Q_θ(s'_i, a'))        (double DQN)
        L(θ) = (1/B) Σ_i huber(Q_θ(s_i, a_i) − y_i)        over a batch from the replay buffer
        θ⁻ ← θ every ``target_update`` steps (hard)  or  θ⁻ ← τ θ + (1 − τ) θ⁻ each update (soft)

    Actions are ε-greedy with ε from a schedule over environment steps. Episodes cut by a
    time limit (``truncated``) still bootstrap from s'; only ``terminated`` stops it.

    Parameters
    ----------
    model : deepsheet model, optional
        Maps a batch of observations (B, n) to Q-values (B, |A|). Default: an MLP with
        ``hidden`` ReLU layers, built at the first ``train``/``act`` from the environment.
    hidden : tuple of int
    learning_rate : float
        Adam's step size (``optimizer`` replaces Adam altogether).
    gamma : float in [0, 1]
    buffer_size, batch_size, learning_starts : int
        Replay capacity, batch size, and the number of steps collected before learning.
    train_freq, gradient_steps : int
        Do ``gradient_steps`` updates every ``train_freq`` environment steps.
    target_update : int
        Steps between hard copies θ⁻ ← θ (ignored when ``tau`` is set).
    tau : float in (0, 1], optional
        Soft (Polyak) update after every gradient step.
    double : bool
        Double DQN targets (van Hasselt et al. 2016).
    loss : {"huber", "mse"}
    epsilon : float or schedule
        ε over environment steps; default ``LinearSchedule(1.0, 0.05, 10_000)``.
    max_grad_norm : float, optional
        Clip the global gradient norm.
    optimizer : deepsheet optimizer, optional
        Bound to the model's weights by the agent.
    seed : int, optional
        Seeds the default network's weights, exploration and replay sampling.

    Examples
    --------
    >>> import gymnasium as gym
    >>> from deepsheet import rl
    >>> agent = rl.DQN(hidden=(32,), learning_starts=50, seed=0)
    >>> returns = agent.train(gym.make("CartPole-v1"), total_steps=200, seed=0)
    >>> agent.act(gym.make("CartPole-v1").reset(seed=0)[0]) in (0, 1)
    True
    """

    def __init__(self, model=None, *, hidden=(64, 64), learning_rate=5e-4, gamma=0.99,
                 buffer_size=50_000, batch_size=64, learning_starts=1_000, train_freq=1,
                 gradient_steps=1, target_update=500, tau=None, double=True, loss="huber",
                 epsilon=None, max_grad_norm=10.0, optimizer=None, seed=None):
        o = "DQN"
        self.model = model
        self.hidden = check_hidden(o, hidden)
        self.learning_rate = check_number(o, "learning_rate", learning_rate, 0, low_open=True)
        self.gamma = check_number(o, "gamma", gamma, 0, 1)
        self.buffer_size = check_number(o, "buffer_size", buffer_size, 1, integer=True)
        self.batch_size = check_number(o, "batch_size", batch_size, 1, integer=True)
        self.learning_starts = check_number(o, "learning_starts", learning_starts, 0, integer=True)
        self.train_freq = check_number(o, "train_freq", train_freq, 1, integer=True)
        self.gradient_steps = check_number(o, "gradient_steps", gradient_steps, 1, integer=True)
        self.target_update = check_number(o, "target_update", target_update, 1, integer=True)
        self.tau = None if tau is None else check_number(o, "tau", tau, 0, 1, low_open=True)
        self.double = bool(double)
        if loss not in ("huber", "mse"):
            raise ValueError(f"DQN: loss must be 'huber' or 'mse', got {loss!r}")
        self.loss = loss
        self.epsilon = as_schedule(LinearSchedule(1.0, 0.05, 10_000) if epsilon is None
                                   else epsilon, o)
        self.max_grad_norm = (None if max_grad_norm is None
                              else check_number(o, "max_grad_norm", max_grad_norm, 0, low_open=True))
        self.optimizer = optimizer
        self.seed = seed_arg(o, seed)
        self.rng = np.random.default_rng(seed)
        self.target = self.buffer = self._encode = None
        self.n_actions = None
        self.steps = 0
        self.updates = 0
        self.losses = []

    # ------------------------------------------------------------ set-up
    def _setup(self, env):
        n_in, n_discrete = observation_size(env, "DQN")
        n_act = discrete_actions(env, "DQN")
        if self.n_actions is not None:
            if n_act != self.n_actions or n_in != self._n_in:
                raise ValueError(f"DQN: the agent was set up for {self._n_in} inputs and "
                                 f"{self.n_actions} actions, the environment has {n_in} and {n_act}")
            return
        self.n_actions, self._n_in = n_act, n_in
        self._encode = encoder(n_discrete)
        if self.model is None:
            self.model = mlp(n_in, self.hidden, n_act, self.seed, "q_network")
        check_model("DQN", self.model, n_in, n_act, "model")
        self.target = clone(self.model)
        self.params = list(self.model.trainable_weights)
        if self.optimizer is None:
            from ..optimizers import Adam
            self.optimizer = Adam(self.params, learning_rate=self.learning_rate)
        else:
            self.optimizer.bind(self.params)
        self.buffer = ReplayBuffer(self.buffer_size, n_in,
                                   seed=None if self.seed is None else self.seed + 1)

    # ------------------------------------------------------------ acting
    def q_values(self, obs):
        """Q(obs, ·) for one observation (|A|,) or a batch (B, |A|), without a graph."""
        x = self._encode(obs)
        with no_grad():
            return self.model(x[None] if x.ndim == 1 else x).data.reshape(
                (-1, self.n_actions) if x.ndim > 1 else (self.n_actions,))

    def act(self, obs, greedy=True):
        """argmax_a Q(obs, a), or ε-greedy with the current ε when ``greedy=False``."""
        if self.n_actions is None:
            raise RuntimeError("DQN: call train(env, ...) (or setup(env)) before act")
        if not greedy and self.rng.random() < self.epsilon(self.steps):
            return int(self.rng.integers(self.n_actions))
        return int(self.q_values(obs).argmax())

    def setup(self, env):
        """Build the networks for ``env`` without training (e.g. before ``load``)."""
        self._setup(env)
        return self

    # ------------------------------------------------------------ learning
    def _update(self):
        obs, actions, rewards, next_obs, terminated = self.buffer.sample(self.batch_size)
        with no_grad():
            q_next = self.target(next_obs).data
            if self.double:
                best = self.model(next_obs).data.argmax(axis=1)
                v_next = q_next[np.arange(len(best)), best]
            else:
                v_next = q_next.max(axis=1)
            y = rewards + self.gamma * (1.0 - terminated) * v_next
        loss = td_loss(self.model(obs), actions, y, kind=self.loss)
        self.optimizer.zero_grad()
        loss.backward()
        if self.max_grad_norm is not None:
            from ..optimizers.clipping import clip_grad_norm
            clip_grad_norm(self.params, self.max_grad_norm)
        self.optimizer.step()
        self.updates += 1
        if self.tau is not None:
            self._soft_update()
        return float(loss.data)

    def _soft_update(self):
        tau = self.tau
        for t, p in zip(self.target.weights, self.model.weights):
            t.data *= 1.0 - tau
            t.data += tau * p.data

    def sync_target(self):
        """Hard update: θ⁻ ← θ."""
        for t, p in zip(self.target.weights, self.model.weights):
            t.data[...] = p.data

    def train(self, env, total_steps=None, episodes=None, seed=None, progress=False,
              target_return=None, window=20):
        """Interact with ``env`` and learn; returns the undiscounted return of each finished episode.

        Parameters
        ----------
        env : gymnasium.Env with a Box or Discrete observation space and Discrete actions
        total_steps, episodes : int
            Stop after this many environment steps or episodes (give one or both).
        seed : int, optional
            ``env.reset(seed=)`` on the first episode.
        progress : bool
            Show a progress bar.
        target_return : float, optional
            Also stop once the mean return of the last ``window`` episodes reaches it.
        """
        if total_steps is None and episodes is None:
            raise ValueError("DQN.train: give total_steps= or episodes=")
        if total_steps is not None:
            total_steps = check_number("DQN.train", "total_steps", total_steps, 1, integer=True)
        if episodes is not None:
            episodes = check_number("DQN.train", "episodes", episodes, 1, integer=True)
        self._setup(env)
        encode, buffer, rng, n_act = self._encode, self.buffer, self.rng, self.n_actions
        returns = []
        bar = progress_bar(total_steps or episodes, progress,
                           "DQN steps" if total_steps else "DQN episodes")
        obs, _ = env.reset(seed=seed)
        x = encode(obs)
        ep_return, step = 0.0, 0
        while True:
            if rng.random() < self.epsilon(self.steps):
                a = int(rng.integers(n_act))
            else:
                with no_grad():
                    a = int(self.model(x[None]).data.argmax())
            obs, r, terminated, truncated, _ = env.step(a)
            x2 = encode(obs)
            buffer.add(x, a, r, x2, terminated)
            ep_return += float(r)
            x = x2
            self.steps += 1
            step += 1
            if self.steps > self.learning_starts and self.steps % self.train_freq == 0:
                for _ in range(self.gradient_steps):
                    self.losses.append(self._update())
            if self.tau is None and self.steps % self.target_update == 0:
                self.sync_target()
            if bar is not None and total_steps:
                bar.update(1)
            if terminated or truncated:
                returns.append(ep_return)
                if bar is not None:
                    if not total_steps:
                        bar.update(1)
                    bar.set_postfix(ret=f"{np.mean(returns[-window:]):.1f}",
                                    eps=f"{self.epsilon(self.steps):.3f}")
                ep_return = 0.0
                obs, _ = env.reset()
                x = encode(obs)
                if episodes is not None and len(returns) >= episodes:
                    break
                if (target_return is not None and len(returns) >= window
                        and np.mean(returns[-window:]) >= target_return):
                    break
            if total_steps is not None and step >= total_steps:
                break
        if bar is not None:
            bar.close()
        return np.array(returns)

    # ------------------------------------------------------------ files
    def save(self, filepath, overwrite=True):
        """Save the Q-network (the library's model file: config and weights, written atomically)."""
        if self.model is None:
            raise RuntimeError("DQN.save: the agent has no network yet; train or setup first")
        self.model.save(filepath, overwrite=overwrite, include_optimizer=False)

    def load(self, filepath):
        """Load Q-network weights saved by ``save`` (or ``model.save_weights``) into this agent."""
        if self.model is None:
            raise RuntimeError("DQN.load: call setup(env) first so the network exists")
        from ..saving import load_model
        loaded = load_model(filepath, compile=False)
        self.model.set_weights(loaded.get_weights())
        if self.target is not None:
            self.sync_target()
        return self
