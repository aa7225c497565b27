"""Exact planning against known solutions: the linear solve, Sutton & Barto's grids, Gymnasium's toy texts."""
import numpy as np
import pytest

from deepsheet import rl


def random_mdp(S=6, A=3, gamma=0.9, form="sas", seed=0):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) ** 3
    P /= P.sum(axis=2, keepdims=True)
    shape = {"s": (S,), "sa": (S, A), "sas": (S, A, S)}[form]
    return rl.MDP(P, rng.normal(size=shape), gamma)


def brute_force_optimum(mdp):
    """V* as the best of all deterministic policies, each solved exactly (tiny MDPs only)."""
    import itertools
    best = None
    for actions in itertools.product(range(mdp.n_actions), repeat=mdp.n_states):
        V = rl.policy_evaluation(mdp, np.array(actions))
        best = V if best is None else np.maximum(best, V)
    return best


@pytest.mark.parametrize("form", ["s", "sa", "sas"])
def test_value_iteration_matches_exact_linear_solve(form):
    mdp = random_mdp(form=form, S=5, A=2)
    V, pi = rl.value_iteration(mdp, tol=1e-10)
    # V* is the pointwise best over all 32 deterministic policies (each a linear solve), and
    # the greedy policy of value iteration is one that attains it.
    np.testing.assert_allclose(V, brute_force_optimum(mdp), atol=1e-6)
    np.testing.assert_allclose(rl.policy_evaluation(mdp, pi, method="exact"), V, atol=1e-6)


def test_value_iteration_is_the_sheets_update_for_R_of_s():
    # One step of the sheet's update from V_0 = 0 is R(s); two steps add γ max_a Σ P V_1.
    mdp = random_mdp(form="s")
    with pytest.warns(rl.ConvergenceWarning):
        V1, _ = rl.value_iteration(mdp, max_iter=1)
    np.testing.assert_allclose(V1, mdp.R)
    with pytest.warns(rl.ConvergenceWarning):
        V2, _ = rl.value_iteration(mdp, max_iter=2)
    np.testing.assert_allclose(V2, mdp.R + mdp.gamma * (mdp.P @ mdp.R).max(axis=1))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_policy_iteration_agrees_with_value_iteration(seed):
    mdp = random_mdp(S=20, A=4, gamma=0.95, seed=seed)
    V1, pi1 = rl.value_iteration(mdp, tol=1e-12)
    V2, pi2 = rl.policy_iteration(mdp)
    np.testing.assert_allclose(V1, V2, atol=1e-6)
    np.testing.assert_array_equal(pi1, pi2)


def test_iterative_and_exact_evaluation_agree_for_stochastic_policy():
    mdp = random_mdp(S=8, A=3)
    pi = np.random.default_rng(3).dirichlet(np.ones(3), size=8)
    V_exact = rl.policy_evaluation(mdp, pi, method="exact")
    V_iter = rl.policy_evaluation(mdp, pi, method="iterative", tol=1e-12)
    np.testing.assert_allclose(V_iter, V_exact, atol=1e-9)
    # The Bellman expectation equation holds for the exact solution.
    Q = rl.q_values(mdp, V_exact)
    np.testing.assert_allclose((pi * Q).sum(axis=1), V_exact, atol=1e-10)


def test_terminal_states_have_value_zero_and_allow_gamma_one():
    # A chain 0 -> 1 -> 2 (terminal), reward -1 per step, γ = 1: values -2, -1, 0.
    P = np.zeros((3, 1, 3))
    P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 2] = 1
    mdp = rl.MDP(P, R=-np.ones((3, 1)), gamma=1.0, terminal=[2])
    np.testing.assert_allclose(rl.policy_evaluation(mdp, [0, 0, 0]), [-2, -1, 0])
    np.testing.assert_allclose(rl.value_iteration(mdp)[0], [-2, -1, 0])
    assert rl.expected_return(mdp, [0, 0, 0], initial=[1, 0, 0], horizon=1) == -1


def test_greedy_policy_breaks_ties_towards_lowest_index():
    Q = np.array([[1.0, 1.0 + 1e-14, 0.0], [0.0, 2.0, 3.0]])
    np.testing.assert_array_equal(rl.greedy_policy(Q), [0, 2])


def test_sutton_barto_figure_4_1_random_policy_values():
    pytest.importorskip("gymnasium", reason="rl.GridWorld is a Gymnasium environment")
    env = rl.GridWorld("sutton-4x4")
    V = rl.policy_evaluation(env.mdp(), np.full((16, 4), 0.25)).reshape(4, 4)
    np.testing.assert_allclose(V[0], [0, -14, -20, -22], atol=1e-9)
    np.testing.assert_allclose(V, V[::-1, ::-1], atol=1e-9)  # the grid's point symmetry
    V_iter = rl.policy_evaluation(env.mdp(), np.full((16, 4), 0.25), method="iterative",
                                  tol=1e-12)
    np.testing.assert_allclose(V_iter.reshape(4, 4), V, atol=1e-8)


def test_sutton_barto_5x5_optimal_value_of_A():
    pytest.importorskip("gymnasium", reason="rl.GridWorld is a Gymnasium environment")
    env = rl.GridWorld("sutton-5x5")
    V, pi = rl.value_iteration(env.mdp(), tol=1e-10)
    V = V.reshape(5, 5)
    assert round(V[0, 1], 1) == 24.4  # Figure 3.5: v*(A) = 24.4
    np.testing.assert_allclose(V[0], [22.0, 24.4, 22.0, 19.4, 17.5], atol=0.05)
    # The random policy's values of Figure 3.2.
    V_rand = rl.policy_evaluation(env.mdp(), np.full((25, 4), 0.25)).reshape(5, 5)
    np.testing.assert_allclose(V_rand[0], [3.3, 8.8, 4.4, 5.3, 1.5], atol=0.05)


@pytest.fixture(scope="module")
def gym():
    return pytest.importorskip("gymnasium", reason="the toy-text environments come from Gymnasium")


def test_frozenlake_4x4_optimal_policy(gym):
    env = gym.make("FrozenLake-v1")
    mdp = rl.MDP.from_gymnasium(env, gamma=1.0)
    assert mdp.terminal.sum() == 5 and mdp.initial[0] == 1
    V, pi = rl.value_iteration(mdp)
    success = rl.expected_return(mdp, pi, horizon=100)  # exact, under the 100-step limit
    assert 0.735 < success < 0.745
    # Without the time limit the same policy succeeds with probability 0.8235.
    assert abs(V[0] - 0.8235) < 1e-3
    # Sampled through the real environment: 2,000 episodes scatter ±0.02 around 0.74.
    result = rl.evaluate(lambda s: int(pi[s]), env, episodes=2000, seed=0)
    assert result.success_rate >= 0.72
    assert result.mean == result.success_rate


def test_frozenlake_8x8_optimal_policy(gym):
    env = gym.make("FrozenLake8x8-v1")
    mdp = rl.MDP.from_gymnasium(env, gamma=1.0)
    _, pi = rl.value_iteration(mdp)
    assert rl.expected_return(mdp, pi, horizon=env.spec.max_episode_steps) >= 0.85


def test_taxi_and_cliff_walking(gym):
    taxi = rl.MDP.from_gymnasium(gym.make("Taxi-v4"), gamma=1.0)
    V, pi = rl.value_iteration(taxi)
    assert abs(rl.expected_return(taxi, pi, horizon=200) - 7.93) < 0.01
    cliff = rl.MDP.from_gymnasium(gym.make("CliffWalking-v1"), gamma=1.0)
    V, pi = rl.value_iteration(cliff)
    assert V[36] == -13  # the 13-step path along the cliff edge
    V2, pi2 = rl.policy_iteration(cliff)
    np.testing.assert_allclose(V2, V, atol=1e-9)


def test_bad_input_errors():
    P = np.full((2, 1, 2), 0.5)
    with pytest.raises(ValueError, match="sum to 1"):
        rl.MDP(np.full((2, 1, 2), 0.4), [0, 0], 0.9)
    bad = P.copy()
    bad[0, 0] = [1.5, -0.5]
    with pytest.raises(ValueError, match="non-negative"):
        rl.MDP(bad, [0, 0], 0.9)
    with pytest.raises(ValueError, match="gamma"):
        rl.MDP(P, [0, 0], 1.5)
    with pytest.raises(ValueError, match="R must have shape"):
        rl.MDP(P, [0, 0, 0], 0.9)
    with pytest.raises(ValueError, match="shape"):
        rl.MDP(np.ones((2, 2)), [0, 0], 0.9)
    mdp = rl.MDP(P, [1, 0], 1.0)  # γ = 1 with no terminal state: values are infinite
    with pytest.raises(ValueError, match="exact solve is not defined"):
        rl.policy_evaluation(mdp, [0, 0])
    mdp = rl.MDP(P, [1, 0], 0.9)
    with pytest.raises(ValueError, match="policy"):
        rl.policy_evaluation(mdp, [0, 0, 0])
    with pytest.raises(ValueError, match="actions must lie"):
        rl.policy_evaluation(mdp, [0, 3])
    with pytest.raises(ValueError, match="method"):
        rl.policy_evaluation(mdp, [0, 0], method="fast")
    with pytest.raises(TypeError, match="unwrapped.P"):
        rl.MDP.from_gymnasium(object(), 0.9)
