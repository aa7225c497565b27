"""The Markov decision process (S, A, {P_sa}, γ, R) as arrays, and its models of Gymnasium's toy texts.

A finite MDP is five things: states S = {0, ..., S-1}, actions A = {0, ..., A-1}, the
transition probabilities P_sa(s') (an (S, A, S) array whose rows sum to one), a discount
γ ∈ [0, 1] and a reward R given as R(s), R(s, a) or R(s, a, s'). Terminal (absorbing)
states have value 0: nothing is collected in them or after them, which is what makes
γ = 1 episodic tasks (Sutton & Barto's grid worlds, FrozenLake, Taxi) well defined.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["MDP"]

_ATOL = 1e-8  # how far from 1 a row of P may sum (float64 sums of thirds, tenths, ...)


def _check_gamma(gamma, owner="MDP"):
    if (not isinstance(gamma, numbers.Real) or isinstance(gamma, bool)
            or not 0.0 <= float(gamma) <= 1.0):
        raise ValueError(f"{owner}: gamma must be a number in [0, 1], got {gamma!r}")
    return float(gamma)


class MDP:
    """A finite Markov decision process with its expected one-step rewards.

    Formula::

        P_sa(s') = P(s_{t+1} = s' | s_t = s, a_t = a),      Σ_s' P_sa(s') = 1
        r(s, a)  = R(s)  |  R(s, a)  |  Σ_s' P_sa(s') R(s, a, s')     (expected reward)
        V^π(s)   = r(s, π(s)) + γ Σ_s' P_sπ(s)(s') V^π(s'),   V(s) = 0 for terminal s

    Parameters
    ----------
    P : array_like, shape (S, A, S)
        Transition probabilities; every P[s, a] must be non-negative and sum to 1.
    R : array_like, shape (S,), (S, A) or (S, A, S)
        Reward on being in s (the sheet's R(s)), on taking a in s, or on the transition
        s -a-> s'.
    gamma : float in [0, 1]
        Discount factor. γ = 1 needs terminal states for values to be finite.
    terminal : array_like of bool (S,) or of state indices, optional
        Absorbing states whose value is 0. Their rows of P and R are ignored.
    initial : array_like, shape (S,), optional
        Start-state distribution (used by ``expected_return`` and the evaluators).

    Attributes
    ----------
    n_states, n_actions : int
    P : ndarray (S, A, S), float64
    R : ndarray as given, float64; ``reward_form`` says which ("s", "sa" or "sas")
    r : ndarray (S, A)
        The expected one-step reward r(s, a) (zero in terminal states).
    terminal : ndarray (S,) of bool

    Examples
    --------
    >>> import numpy as np
    >>> from deepsheet import rl
    >>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = 1; P[1, 0, 1] = 1
    >>> mdp = rl.MDP(P, R=[1.0, 0.0], gamma=1.0, terminal=[1])
    >>> rl.policy_evaluation(mdp, [0, 0])
    array([1., 0.])
    """

    def __init__(self, P, R, gamma, terminal=None, initial=None):
        P = np.array(P, dtype=np.float64)
        if P.ndim != 3 or P.shape[0] != P.shape[2] or P.shape[0] == 0 or P.shape[1] == 0:
            raise ValueError(f"MDP: P must have shape (S, A, S) with S, A >= 1, got {P.shape}")
        S, A = P.shape[:2]
        if not np.all(np.isfinite(P)):
            raise ValueError("MDP: P contains NaN or infinite values")
        if np.any(P < 0):
            s, a, t = np.argwhere(P < 0)[0]
            raise ValueError(f"MDP: P must be non-negative, got P[{s}, {a}, {t}] = {P[s, a, t]}")
        sums = P.sum(axis=2)
        bad = np.abs(sums - 1.0) > _ATOL
        if np.any(bad):
            s, a = np.argwhere(bad)[0]
            raise ValueError(f"MDP: each row P[s, a, :] must sum to 1, got P[{s}, {a}].sum() = "
                             f"{float(sums[s, a])!r} ({int(bad.sum())} bad rows)")
        R = np.array(R, dtype=np.float64)
        forms = {(S,): "s", (S, A): "sa", (S, A, S): "sas"}
        if R.shape not in forms:
            raise ValueError(f"MDP: R must have shape (S,) = ({S},), (S, A) = ({S}, {A}) or "
                             f"(S, A, S) = ({S}, {A}, {S}), got {R.shape}")
        if not np.all(np.isfinite(R)):
            raise ValueError("MDP: R contains NaN or infinite values")
        self.P, self.R, self.reward_form = P, R, forms[R.shape]
        self.gamma = _check_gamma(gamma)
        self.terminal = self._terminal_mask(terminal, S)
        if initial is not None:
            initial = np.array(initial, dtype=np.float64)
            if (initial.shape != (S,) or np.any(initial < 0)
                    or abs(initial.sum() - 1.0) > _ATOL):
                raise ValueError(f"MDP: initial must be a probability vector of shape ({S},), "
                                 f"got shape {initial.shape}")
        self.initial = initial
        if self.reward_form == "s":
            r = np.repeat(R[:, None], A, axis=1)
        elif self.reward_form == "sa":
            r = R.copy()
        else:
            r = np.einsum("ijk,ijk->ij", P, R)
        r[self.terminal] = 0.0
        self.r = r

    @staticmethod
    def _terminal_mask(terminal, S):
        mask = np.zeros(S, dtype=bool)
        if terminal is None:
            return mask
        t = np.asarray(terminal)
        if t.dtype == bool:
            if t.shape != (S,):
                raise ValueError(f"MDP: a boolean terminal mask must have shape ({S},), "
                                 f"got {t.shape}")
            return t.copy()
        t = t.ravel()
        if t.size and (not np.issubdtype(t.dtype, np.integer) or t.min() < 0 or t.max() >= S):
            raise ValueError(f"MDP: terminal must be a boolean mask or state indices in "
                             f"[0, {S}), got {terminal!r}")
        mask[t.astype(np.int64)] = True
        return mask

    @property
    def n_states(self):
        return self.P.shape[0]

    @property
    def n_actions(self):
        return self.P.shape[1]

    def __repr__(self):
        return (f"MDP(n_states={self.n_states}, n_actions={self.n_actions}, gamma={self.gamma}, "
                f"reward_form={self.reward_form!r}, terminal={int(self.terminal.sum())} states)")

    # ------------------------------------------------------------ Gymnasium
    @classmethod
    def from_gymnasium(cls, env, gamma):
        """The exact model of a tabular Gymnasium environment (FrozenLake, Taxi, CliffWalking).

        Reads ``env.unwrapped.P``, where ``P[s][a]`` lists ``(probability, s', reward,
        terminated)``. Rewards become R(s, a, s') (the probability-weighted mean where two
        listed outcomes share s'); a state entered with ``terminated=True`` is terminal.
        The start distribution comes from ``initial_state_distrib`` when the environment
        has one. The time limit (truncation) is not part of the model: see
        ``expected_return(..., horizon=)``.

        Parameters
        ----------
        env : gymnasium.Env with Discrete observation and action spaces
        gamma : float in [0, 1]
        """
        base = getattr(env, "unwrapped", env)
        table = getattr(base, "P", None)
        if not isinstance(table, dict):
            raise TypeError(f"MDP.from_gymnasium: env must expose its model as env.unwrapped.P "
                            f"(FrozenLake, Taxi, CliffWalking do), got {type(base).__name__}")
        S = _discrete_size(env.observation_space, "observation_space")
        A = _discrete_size(env.action_space, "action_space")
        P = np.zeros((S, A, S))
        Rw = np.zeros((S, A, S))
        done_into = []  # (s, s', terminated) of every listed outcome with probability > 0
        for s in range(S):
            for a in range(A):
                for prob, s2, reward, done in table[s][a]:
                    s2 = int(s2)
                    P[s, a, s2] += prob
                    Rw[s, a, s2] += prob * reward
                    if prob > 0:
                        done_into.append((s, s2, bool(done)))
        edges = np.array(done_into, dtype=np.int64).reshape(-1, 3)
        initial = getattr(base, "initial_state_distrib", None)
        if initial is not None:
            initial = np.asarray(initial, dtype=np.float64)
            initial = initial / initial.sum()
        terminal = np.zeros(S, dtype=bool)
        terminal[edges[edges[:, 2] == 1, 1]] = True
        reach = _reachable(edges, terminal, initial, S)
        live = edges[reach[edges[:, 0]] & ~terminal[edges[:, 0]]]
        mixed = live[(live[:, 2] == 0) & terminal[live[:, 1]], 1]
        if mixed.size:
            raise ValueError(f"MDP.from_gymnasium: state {mixed[0]} is entered both with and "
                             "without terminated=True; it cannot be a terminal state of an MDP")
        # States no episode can visit (Taxi's passenger-at-destination states, CliffWalking's
        # cliff cells) count as terminal: their value is unobservable, and left live, a policy
        # looping among them would make the exact evaluation singular for no visible reason.
        terminal |= ~reach
        R = np.divide(Rw, P, out=np.zeros_like(Rw), where=P > 0)
        return cls(P, R, gamma, terminal=terminal, initial=initial)


def _discrete_size(space, what):
    n = getattr(space, "n", None)
    if n is None or getattr(space, "shape", None) != () or type(space).__name__ != "Discrete":
        raise TypeError(f"{what} must be gymnasium.spaces.Discrete for a tabular method, got "
                        f"{space!r}")
    if int(getattr(space, "start", 0)) != 0:
        raise ValueError(f"{what}: Discrete spaces must start at 0, got start={space.start}")
    return int(n)


def _reachable(edges, terminal, initial, S):
    """States reachable from the start distribution (all states without one), not through terminals."""
    reach = np.zeros(S, dtype=bool)
    frontier = np.flatnonzero(initial > 0) if initial is not None else np.arange(S)
    reach[frontier] = True
    out = edges[~terminal[edges[:, 0]]]
    while frontier.size:
        step = out[np.isin(out[:, 0], frontier), 1]
        frontier = np.unique(step[~reach[step]])
        reach[frontier] = True
    return reach
