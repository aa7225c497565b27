"""REINFORCE (Williams 1992): Monte-Carlo policy gradient with a learned baseline, on deepsheet models."""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..functional import mean_squared_error, sparse_categorical_crossentropy
from ._common import check_number, discrete_actions, progress_bar
from ._networks import check_hidden, check_model, encoder, mlp, observation_size, seed_arg

__all__ = ["REINFORCE", "discounted_returns"]


def discounted_returns(rewards, gamma):
    """G_t = Σ_{k≥t} γ^{k−t} r_k for one episode (float64)."""
    G = np.zeros(len(rewards))
    acc = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        acc = rewards[t] + gamma * acc
        G[t] = acc
    return G


class REINFORCE:
    """Monte-Carlo policy gradient with an optional learned baseline and normalised returns.

    Formula::

        ∇_θ J(θ) = E[ Σ_t ∇_θ log π_θ(a_t | s_t) (G_t − b(s_t)) ],   G_t = Σ_{k≥t} γ^{k−t} r_k
        policy loss    L(θ) = −(1/T) Σ_t A_t log π_θ(a_t | s_t)     (A_t held fixed)
        baseline loss  L(φ) = (1/T) Σ_t (b_φ(s_t) − Ĝ_t)²

    With ``normalize_returns`` the returns of a batch are standardised first,
    Ĝ_t = (G_t − mean G) / (std G + 1e-8), and the baseline learns Ĝ; then A_t = Ĝ_t − b(s_t)
    (A_t = Ĝ_t without a baseline). Standardising keeps the step size meaningful while
    episode lengths (and so returns) grow from 10 to 500 on CartPole; subtracting a
    function of the state alone leaves the gradient unbiased and lowers its variance.

    Parameters
    ----------
    model : deepsheet model, optional
        The policy: observations (B, n) -> action logits (B, |A|). Default: an MLP with
        ``hidden`` ReLU layers.
    baseline : bool or deepsheet model
        True builds a value MLP (B, n) -> (B, 1) with the same hidden sizes; False uses none.
    hidden : tuple of int
    learning_rate, baseline_learning_rate : float
        Adam step sizes of the policy and the baseline.
    gamma : float in [0, 1]
    normalize_returns : bool
    batch_episodes : int
        Episodes per gradient step.
    seed : int, optional
        Seeds the default networks' weights and the action sampling.
    """

    def __init__(self, model=None, *, baseline=True, hidden=(64,), learning_rate=1e-2,
                 baseline_learning_rate=1e-2, gamma=0.99, normalize_returns=True,
                 batch_episodes=1, seed=None):
        o = "REINFORCE"
        self.model = model
        self.baseline = baseline
        self.hidden = check_hidden(o, hidden)
        self.learning_rate = check_number(o, "learning_rate", learning_rate, 0, low_open=True)
        self.baseline_learning_rate = check_number(o, "baseline_learning_rate",
                                                   baseline_learning_rate, 0, low_open=True)
        self.gamma = check_number(o, "gamma", gamma, 0, 1)
        self.normalize_returns = bool(normalize_returns)
        self.batch_episodes = check_number(o, "batch_episodes", batch_episodes, 1, integer=True)
        self.seed = seed_arg(o, seed)
        self.rng = np.random.default_rng(seed)
        self.n_actions = None
        self.value_model = None
        self.updates = 0

    def _setup(self, env):
        n_in, n_discrete = observation_size(env, "REINFORCE")
        n_act = discrete_actions(env, "REINFORCE")
        if self.n_actions is not None:
            if (n_in, n_act) != (self._n_in, self.n_actions):
                raise ValueError(f"REINFORCE: the agent was set up for {self._n_in} inputs and "
                                 f"{self.n_actions} actions, the environment has {n_in} and {n_act}")
            return
        from ..optimizers import Adam
        self.n_actions, self._n_in = n_act, n_in
        self._encode = encoder(n_discrete)
        if self.model is None:
            self.model = mlp(n_in, self.hidden, n_act, self.seed, "policy")
        check_model("REINFORCE", self.model, n_in, n_act, "model")
        self.optimizer = Adam(self.model.trainable_weights, learning_rate=self.learning_rate)
        if self.baseline is True:
            seed = None if self.seed is None else self.seed + 1
            self.value_model = mlp(n_in, self.hidden, 1, seed, "baseline")
        elif self.baseline is not False and self.baseline is not None:
            self.value_model = self.baseline
        if self.value_model is not None:
            check_model("REINFORCE", self.value_model, n_in, 1, "baseline")
            self.value_optimizer = Adam(self.value_model.trainable_weights,
                                        learning_rate=self.baseline_learning_rate)

    def setup(self, env):
        """Build the networks for ``env`` without training (e.g. before ``load``)."""
        self._setup(env)
        return self

    def probabilities(self, obs):
        """π(· | obs) as an array (|A|,) for one observation, or (B, |A|)."""
        x = self._encode(obs)
        with no_grad():
            z = self.model(x[None] if x.ndim == 1 else x).data.astype(np.float64)
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        p = z / z.sum(axis=-1, keepdims=True)
        return p[0] if x.ndim == 1 else p

    def act(self, obs, greedy=True):
        """The most probable action, or a sample from π(· | obs) when ``greedy=False``."""
        if self.n_actions is None:
            raise RuntimeError("REINFORCE: call train(env, ...) (or setup(env)) before act")
        p = self.probabilities(obs)
        if greedy:
            return int(p.argmax())
        return int(min(np.searchsorted(np.cumsum(p), self.rng.random() * p.sum(), side="right"),
                       self.n_actions - 1))

    def _update(self, xs, actions, returns):
        x = np.asarray(xs, dtype=np.float32)
        G = np.concatenate(returns)
        if self.normalize_returns:
            G = (G - G.mean()) / (G.std() + 1e-8)
        adv = G
        if self.value_model is not None:
            target = G.astype(np.float32)[:, None]
            v = self.value_model(x)
            adv = G - v.data[:, 0].astype(np.float64)
            loss_v = mean_squared_error(target, v, reduction="sum_over_batch_size")
            self.value_optimizer.zero_grad()
            loss_v.backward()
            self.value_optimizer.step()
        logits = self.model(x)
        loss = sparse_categorical_crossentropy(np.asarray(actions), logits, from_logits=True,
                                               sample_weight=adv.astype(np.float32),
                                               reduction="sum_over_batch_size")
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        return float(loss.data)

    def train(self, env, episodes=None, total_steps=None, seed=None, progress=False,
              target_return=None, window=20):
        """Sample episodes with π, update after every ``batch_episodes``; returns each episode's return.

        Parameters
        ----------
        env : gymnasium.Env with Box (or Discrete) observations and Discrete actions
        episodes, total_steps : int
            Stop after this many episodes or environment steps (give one or both).
        seed : int, optional
            ``env.reset(seed=)`` on the first episode.
        target_return : float, optional
            Also stop once the mean return of the last ``window`` episodes reaches it.
        """
        if episodes is None and total_steps is None:
            raise ValueError("REINFORCE.train: give episodes= or total_steps=")
        if episodes is not None:
            episodes = check_number("REINFORCE.train", "episodes", episodes, 1, integer=True)
        if total_steps is not None:
            total_steps = check_number("REINFORCE.train", "total_steps", total_steps, 1,
                                       integer=True)
        self._setup(env)
        bar = progress_bar(episodes or total_steps, progress,
                           "REINFORCE episodes" if episodes else "REINFORCE steps")
        out, steps = [], 0
        xs, acts, rets = [], [], []
        first = True
        while True:
            obs, _ = env.reset(seed=seed if first else None)
            first = False
            rewards = []
            while True:
                x = self._encode(obs)
                a = self.act(obs, greedy=False)
                obs, r, terminated, truncated, _ = env.step(a)
                xs.append(x)
                acts.append(a)
                rewards.append(float(r))
                steps += 1
                if terminated or truncated:
                    break
            # A truncated episode's tail is cut off; its returns are what was observed.
            rets.append(discounted_returns(rewards, self.gamma))
            out.append(sum(rewards))
            if len(rets) == self.batch_episodes:
                self._update(xs, acts, rets)
                xs, acts, rets = [], [], []
            if bar is not None:
                bar.update(1 if episodes else len(rewards))
                bar.set_postfix(ret=f"{np.mean(out[-window:]):.1f}")
            if episodes is not None and len(out) >= episodes:
                break
            if total_steps is not None and steps >= total_steps:
                break
            if (target_return is not None and len(out) >= window
                    and np.mean(out[-window:]) >= target_return):
                break
        if bar is not None:
            bar.close()
        return np.array(out)

    def save(self, filepath, overwrite=True):
        """Save the policy network (the library's model file, written atomically)."""
        if self.model is None:
            raise RuntimeError("REINFORCE.save: the agent has no network yet; train or setup first")
        self.model.save(filepath, overwrite=overwrite, include_optimizer=False)

    def load(self, filepath):
        """Load policy weights saved by ``save`` into this agent's network."""
        if self.model is None:
            raise RuntimeError("REINFORCE.load: call setup(env) first so the network exists")
        from ..saving import load_model
        self.model.set_weights(load_model(filepath, compile=False).get_weights())
        return self
