"""Exact planning in a known MDP: policy evaluation, value and policy iteration, Q and greedy policies.

Everything works on the arrays of ``rl.MDP`` in float64 and is vectorised over states and
actions: one Bellman backup is one matrix product ``P @ V`` of shape (S, A).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from .mdp import MDP

__all__ = ["ConvergenceWarning", "as_stochastic_policy", "policy_evaluation", "value_iteration",
           "policy_iteration", "q_values", "greedy_policy", "expected_return"]


class ConvergenceWarning(UserWarning):
    """An iterative method stopped at ``max_iter`` before reaching ``tol``."""


def _check_mdp(mdp, owner):
    if not isinstance(mdp, MDP):
        raise TypeError(f"{owner}: mdp must be a deepsheet.rl.MDP, got {type(mdp).__name__}")


def _positive(owner, name, value, integer=False):
    kind = numbers.Integral if integer else numbers.Real
    if not isinstance(value, kind) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{owner}: {name} must be a positive {'integer' if integer else 'number'}"
                         f", got {value!r}")
    return value


def as_stochastic_policy(policy, n_states, n_actions, owner="policy"):
    """A policy as an (S, A) matrix π(a | s).

    Parameters
    ----------
    policy : array_like
        Deterministic: integer actions of shape (S,). Stochastic: probabilities of shape
        (S, A) whose rows sum to 1.
    """
    p = np.asarray(policy)
    if p.shape == (n_states,) and (np.issubdtype(p.dtype, np.integer)
                                   or (p.dtype.kind == "f" and np.all(p == np.round(p)))):
        a = p.astype(np.int64)
        if a.size and (a.min() < 0 or a.max() >= n_actions):
            raise ValueError(f"{owner}: actions must lie in [0, {n_actions}), got values from "
                             f"{a.min()} to {a.max()}")
        pi = np.zeros((n_states, n_actions))
        pi[np.arange(n_states), a] = 1.0
        return pi
    if p.shape == (n_states, n_actions):
        pi = p.astype(np.float64)
        if np.any(pi < 0) or np.any(np.abs(pi.sum(axis=1) - 1.0) > 1e-8):
            raise ValueError(f"{owner}: a stochastic policy must have non-negative rows that "
                             "sum to 1")
        return pi
    raise ValueError(f"{owner}: expected an int array of shape (S,) = ({n_states},) or a "
                     f"matrix of shape (S, A) = ({n_states}, {n_actions}), got shape {p.shape}")


def _policy_model(mdp, pi):
    """P_π (S, S) and r_π (S,) with terminal rows zeroed (their value is 0)."""
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    r_pi = (pi * mdp.r).sum(axis=1)
    P_pi[mdp.terminal] = 0.0
    return P_pi, r_pi


def policy_evaluation(mdp, policy, method="exact", tol=1e-10, max_iter=100_000):
    """The value V^π of a policy: the solution of the Bellman expectation equation.

    Formula::

        V^π(s) = r(s, π) + γ Σ_s' P_sπ(s') V^π(s'),   V^π(terminal) = 0
        exact:      V^π = (I − γ P_π)⁻¹ r_π           (one linear solve)
        iterative:  V_{k+1} = r_π + γ P_π V_k  from V_0 = 0, until max|V_{k+1} − V_k| < tol

    Parameters
    ----------
    mdp : MDP
    policy : int array (S,) or stochastic matrix (S, A)
    method : {"exact", "iterative"}
    tol, max_iter : stopping rule of the iterative method

    Returns
    -------
    V : ndarray (S,), float64

    Raises
    ------
    ValueError
        When the exact solve is not defined: γ = 1 and the policy does not reach a terminal
        state with probability 1 from every state (I − P_π is singular).
    """
    _check_mdp(mdp, "policy_evaluation")
    if method not in ("exact", "iterative"):
        raise ValueError(f"policy_evaluation: method must be 'exact' or 'iterative', got "
                         f"{method!r}")
    pi = as_stochastic_policy(policy, mdp.n_states, mdp.n_actions)
    P_pi, r_pi = _policy_model(mdp, pi)
    if method == "exact":
        A = np.eye(mdp.n_states) - mdp.gamma * P_pi
        try:
            V = np.linalg.solve(A, r_pi)
        except np.linalg.LinAlgError:
            V = None
        # A nearly singular system gives huge values instead of an exception.
        scale = 1e12 * (1.0 + np.abs(r_pi).max())
        if V is None or not np.all(np.isfinite(V)) or np.abs(V).max() > scale:
            why = ("gamma = 1 and the policy does not reach a terminal state from every state"
                   if mdp.gamma == 1.0 else "the system is singular")
            raise ValueError(f"policy_evaluation: the exact solve is not defined ({why}); "
                             "mark terminal states or use gamma < 1")
        return V
    _positive("policy_evaluation", "tol", tol)
    _positive("policy_evaluation", "max_iter", max_iter, integer=True)
    V = np.zeros(mdp.n_states)
    for _ in range(max_iter):
        V_new = r_pi + mdp.gamma * (P_pi @ V)
        if np.max(np.abs(V_new - V)) < tol:
            return V_new
        V = V_new
    warnings.warn(f"policy_evaluation: no convergence to tol={tol} in {max_iter} iterations",
                  ConvergenceWarning, stacklevel=2)
    return V


def q_values(mdp, V):
    """The action values of V: one Bellman backup without the max.

    Formula::

        Q(s, a) = r(s, a) + γ Σ_s' P_sa(s') V(s')          (0 in terminal states)

    With R(s) this is R(s) + γ Σ_s' P_sa(s') V(s'), so ``greedy_policy(q_values(mdp, V))``
    is the sheet's π(s) = argmax_a Σ_s' P_sa(s') V(s').

    Returns
    -------
    Q : ndarray (S, A), float64
    """
    _check_mdp(mdp, "q_values")
    V = np.asarray(V, dtype=np.float64)
    if V.shape != (mdp.n_states,):
        raise ValueError(f"q_values: V must have shape ({mdp.n_states},), got {V.shape}")
    V = np.where(mdp.terminal, 0.0, V)
    Q = mdp.r + mdp.gamma * (mdp.P @ V)
    Q[mdp.terminal] = 0.0
    return Q


def greedy_policy(Q, atol=1e-9):
    """π(s) = argmax_a Q(s, a), ties broken towards the lowest action index.

    Values within ``atol · (1 + |max|)`` of a row's maximum count as tied, so rounding
    noise in Q does not decide between equally good actions.

    Formula::

        π(s) = min { a : Q(s, a) >= max_a' Q(s, a') − atol · (1 + |max_a' Q(s, a')|) }

    Returns
    -------
    policy : ndarray (S,), int64
    """
    Q = np.asarray(Q, dtype=np.float64)
    if Q.ndim != 2:
        raise ValueError(f"greedy_policy: Q must have shape (S, A), got {Q.shape}")
    best = Q.max(axis=1, keepdims=True)
    return np.argmax(Q >= best - atol * (1.0 + np.abs(best)), axis=1).astype(np.int64)


def value_iteration(mdp, tol=1e-8, max_iter=100_000):
    """Value iteration in the sheet's two steps, then the greedy policy.

    Formula::

        1. initialise V_0(s) = 0 for every s
        2. repeat:  V_{i+1}(s) = R(s) + max_a γ Σ_s' P_sa(s') V_i(s')       (R(s) form)
                    V_{i+1}(s) = max_a [ r(s, a) + γ Σ_s' P_sa(s') V_i(s') ] (R(s,a), R(s,a,s'))
           until max_s |V_{i+1}(s) − V_i(s)| < tol;   V(terminal) = 0 throughout
        π*(s) = argmax_a Q(s, a)   (for R(s): argmax_a Σ_s' P_sa(s') V*(s'))

    The updates are synchronous (all states from V_i). For γ < 1 the error of the result is
    at most tol·γ/(1 − γ).

    Returns
    -------
    V : ndarray (S,), float64
    policy : ndarray (S,), int64
    """
    _check_mdp(mdp, "value_iteration")
    _positive("value_iteration", "tol", tol)
    _positive("value_iteration", "max_iter", max_iter, integer=True)
    live = ~mdp.terminal
    V = np.zeros(mdp.n_states)
    for _ in range(max_iter):
        if mdp.reward_form == "s":
            V_new = mdp.R + mdp.gamma * (mdp.P @ V).max(axis=1)
        else:
            V_new = (mdp.r + mdp.gamma * (mdp.P @ V)).max(axis=1)
        V_new = np.where(live, V_new, 0.0)
        done = np.max(np.abs(V_new - V)) < tol
        V = V_new
        if done:
            break
    else:
        warnings.warn(f"value_iteration: no convergence to tol={tol} in {max_iter} iterations",
                      ConvergenceWarning, stacklevel=2)
    return V, greedy_policy(q_values(mdp, V))


def policy_iteration(mdp, policy=None, max_iter=10_000):
    """Policy iteration: evaluate exactly, improve greedily, until the policy is stable.

    Formula::

        V^{π_k} = (I − γ P_{π_k})⁻¹ r_{π_k}
        π_{k+1}(s) = argmax_a [ r(s, a) + γ Σ_s' P_sa(s') V^{π_k}(s') ]

    An action changes only when it is better than the current one by more than a rounding
    margin, so ties cannot make the loop cycle. The default start is the equiprobable
    random policy, which reaches the terminal states of an episodic task whenever any
    policy can (the exact evaluation needs that when γ = 1).

    Returns
    -------
    V : ndarray (S,), float64
    policy : ndarray (S,), int64
    """
    _check_mdp(mdp, "policy_iteration")
    _positive("policy_iteration", "max_iter", max_iter, integer=True)
    S, A = mdp.n_states, mdp.n_actions
    pi = (np.full((S, A), 1.0 / A) if policy is None
          else as_stochastic_policy(policy, S, A))
    current = None
    for _ in range(max_iter):
        V = policy_evaluation(mdp, pi, method="exact")
        Q = q_values(mdp, V)
        new = greedy_policy(Q)
        if current is not None:
            keep = Q[np.arange(S), current] >= Q[np.arange(S), new] - 1e-9 * (1 + np.abs(V))
            new = np.where(keep, current, new)
            if np.array_equal(new, current):
                return V, current
        current = new
        pi = as_stochastic_policy(current, S, A)
    warnings.warn(f"policy_iteration: policy still changing after {max_iter} iterations",
                  ConvergenceWarning, stacklevel=2)
    return policy_evaluation(mdp, pi), current


def expected_return(mdp, policy, initial=None, horizon=None):
    """The exact expected (discounted) return of a policy from the start distribution.

    Formula::

        J(π) = Σ_s μ(s) V^π(s)                               (horizon = None)
        J_H(π) = Σ_s μ(s) V^π_H(s),  V^π_{k+1} = r_π + γ P_π V^π_k,  V^π_0 = 0   (horizon H)

    With ``horizon`` the value is that of episodes cut after H steps, exactly what a
    Gymnasium ``TimeLimit`` of H steps gives in expectation (FrozenLake 8×8: 200,
    Taxi: 200). For 0/1 rewards at a goal it is the success probability.

    Parameters
    ----------
    mdp : MDP
    policy : int array (S,) or stochastic matrix (S, A)
    initial : array_like (S,), optional
        Start distribution μ; defaults to ``mdp.initial``.
    horizon : int, optional
    """
    _check_mdp(mdp, "expected_return")
    mu = mdp.initial if initial is None else np.asarray(initial, dtype=np.float64)
    if mu is None:
        raise ValueError("expected_return: the MDP has no start distribution; pass initial=")
    if mu.shape != (mdp.n_states,):
        raise ValueError(f"expected_return: initial must have shape ({mdp.n_states},), got "
                         f"{mu.shape}")
    if horizon is None:
        return float(mu @ policy_evaluation(mdp, policy))
    _positive("expected_return", "horizon", horizon, integer=True)
    pi = as_stochastic_policy(policy, mdp.n_states, mdp.n_actions)
    P_pi, r_pi = _policy_model(mdp, pi)
    V = np.zeros(mdp.n_states)
    for _ in range(horizon):
        V = r_pi + mdp.gamma * (P_pi @ V)
    return float(mu @ V)
