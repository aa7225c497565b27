"""What the deep agents share: default MLPs, seeded construction, observation checks, copies, the TD loss."""
from __future__ import annotations

import copy
import numbers

import numpy as np

from .. import backend
from ..autograd import Function


def observation_size(env, owner):
    """Length of a flat Box observation (Discrete observations are one-hot encoded)."""
    space = env.observation_space
    kind = type(space).__name__
    if kind == "Discrete":
        return int(space.n), int(space.n)
    shape = getattr(space, "shape", None)
    if kind != "Box" or shape is None or len(shape) != 1:
        raise TypeError(f"{owner} needs a flat Box (or Discrete) observation space, got {space!r}; "
                        "flatten the observations with gymnasium.wrappers.FlattenObservation")
    return int(shape[0]), None


def encoder(n_discrete):
    """obs -> float32 row(s): one-hot for Discrete observations, a cast otherwise."""
    if n_discrete is None:
        def encode(obs):
            return np.asarray(obs, dtype=np.float32)
        return encode
    eye = np.eye(n_discrete, dtype=np.float32)

    def encode_discrete(obs):
        return eye[np.asarray(obs, dtype=np.int64)]
    return encode_discrete


def check_hidden(owner, hidden):
    if (not isinstance(hidden, (tuple, list)) or
            not all(isinstance(h, numbers.Integral) and h > 0 for h in hidden)):
        raise ValueError(f"{owner}: hidden must be a tuple of positive ints, got {hidden!r}")
    return tuple(int(h) for h in hidden)


def mlp(n_in, hidden, n_out, seed, name):
    """Dense(h, relu) per hidden size then a linear Dense(n_out), built with weights from ``seed``.

    The library RNG is seeded for the construction and restored afterwards, so a seeded agent
    is reproducible without changing the user's random stream.
    """
    from .. import layers
    from ..models import Sequential
    saved = backend.get_rng_state()
    if seed is not None:
        backend.manual_seed(int(seed))
    try:
        stack = [layers.Input((n_in,))]
        stack += [layers.Dense(h, activation="relu") for h in hidden]
        stack.append(layers.Dense(n_out))
        return Sequential(stack, name=name)
    finally:
        backend.set_rng_state(saved)


def check_model(owner, model, n_in, n_out, what):
    """A user's model must map (1, n_in) observations to (1, n_out) outputs."""
    out = model(np.zeros((1, n_in), np.float32))
    if tuple(out.shape) != (1, n_out):
        raise ValueError(f"{owner}: the {what} must map observations of shape (batch, {n_in}) to "
                         f"(batch, {n_out}), got output shape {tuple(out.shape)}")


def clone(model):
    """A copy with its own weights (from the config when the model has one, else a deep copy)."""
    try:
        twin = type(model).from_config(model.get_config())
        twin.set_weights(model.get_weights())
    except (NotImplementedError, TypeError, ValueError, KeyError, AttributeError):
        twin = copy.deepcopy(model)
    return twin


def seed_arg(owner, seed):
    if seed is not None and (not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"{owner}: seed must be a non-negative int or None, got {seed!r}")
    return seed


class TDLoss(Function):
    """Mean Huber (or squared) error of the chosen actions' values against fixed targets, one node.

    Formula::

        δ_i = Q(s_i, a_i) − y_i
        huber:  L = (1/B) Σ_i [ ½ δ_i²  if |δ_i| ≤ κ  else  κ (|δ_i| − ½ κ) ]
                dL/dQ(s_i, a) = [a = a_i] · clip(δ_i, −κ, κ) / B
        mse:    L = (1/B) Σ_i δ_i²,   dL/dQ(s_i, a) = [a = a_i] · 2 δ_i / B

    Matches ``torch.nn.functional.smooth_l1_loss(q.gather(1, a), y)`` (κ = 1, the
    ``beta`` of PyTorch) and ``mse_loss``; selecting and comparing in one node saves the
    gather node and its scatter on every DQN update.
    """

    def forward(self, q):
        xp = backend.array_module(q)
        rows = xp.arange(q.shape[0])
        d = q[rows, self.actions] - self.targets.astype(q.dtype, copy=False)
        self.rows, self.shape, self.dtype = rows, q.shape, q.dtype
        B = q.shape[0]
        if self.kind == "huber":
            k = self.delta
            a = xp.abs(d)
            per = xp.where(a <= k, 0.5 * d * d, k * (a - 0.5 * k))
            self.slope = xp.clip(d, -k, k) / B
        else:
            per = d * d
            self.slope = d * (2.0 / B)
        return xp.asarray(per.sum() / B, dtype=q.dtype)

    def backward(self, g):
        xp = backend.array_module(self.slope)
        gq = xp.zeros(self.shape, dtype=self.dtype)
        gq[self.rows, self.actions] = self.slope * g
        return gq


def td_loss(q, actions, targets, kind="huber", delta=1.0):
    """Scalar TD loss of Q (B, A) at ``actions`` (B,) against ``targets`` (B,); see ``TDLoss``."""
    if kind not in ("huber", "mse"):
        raise ValueError(f"td_loss: kind must be 'huber' or 'mse', got {kind!r}")
    return TDLoss.apply(q, actions=np.asarray(actions, dtype=np.int64),
                        targets=np.asarray(targets), kind=kind, delta=float(delta))
